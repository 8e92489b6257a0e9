// libFuzzer target: parse_json_strict (json.hpp). Never crashes; an error
// always has a code and a message; an accepted document serialises
// (to_json) to strict JSON that parses back to the same serialisation.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "base/json.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);

    rapidjson::Document doc;
    auto r = wa::parse_json_strict(text, doc);
    if (!r) {
        FUZZ_CHECK(r.error().code == "invalid_json");
        FUZZ_CHECK(!r.error().message.empty());
        FUZZ_CHECK(doc.IsNull());
        return 0;
    }

    std::string once = wa::to_json(doc);
    rapidjson::Document again;
    FUZZ_CHECK(wa::parse_json_strict(once, again).ok());
    FUZZ_CHECK(wa::to_json(again) == once);

    // A smaller depth limit must only ever reject, never crash.
    wa::JsonLimits shallow;
    shallow.max_depth = 2;
    rapidjson::Document bounded;
    (void)wa::parse_json_strict(text, bounded, shallow);
    return 0;
}

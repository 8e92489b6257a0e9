// libFuzzer target: decode_webhook (webhook.hpp) must never crash, leak or
// hang; a body it accepts must yield content_json that is itself a strict
// JSON object with a "type", and set_reaction_message_id must keep it one.
// Built and run by ./build.sh fuzz (CMake -DWA_FUZZ=ON, clang).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "base/json.hpp"
#include "meta/webhook.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view body(reinterpret_cast<const char*>(data), size);

    auto batch = wa::decode_webhook(body);
    if (!batch) {
        FUZZ_CHECK(!batch.error().code.empty());
        return 0;
    }
    for (const auto& change : batch->changes) {
        for (const auto& m : change.messages) {
            rapidjson::Document doc;
            FUZZ_CHECK(wa::parse_json_strict(m.content_json, doc).ok() && doc.IsObject());
            FUZZ_CHECK(wa::member(doc, "type") != nullptr);
            if (!m.reaction_to.empty()) {
                std::string set = wa::set_reaction_message_id(m.content_json, "im_x");
                rapidjson::Document after;
                FUZZ_CHECK(wa::parse_json_strict(set, after).ok() && after.IsObject());
            }
        }
    }
    // Arbitrary text as content_json: returned unchanged or still JSON.
    std::string set = wa::set_reaction_message_id(body, "im_x");
    if (set != body) {
        rapidjson::Document after;
        FUZZ_CHECK(wa::parse_json_strict(set, after).ok());
    }
    return 0;
}

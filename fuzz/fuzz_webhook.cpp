// libFuzzer target: decode_webhook must never crash, leak or hang, and a
// body it accepts must yield content_json that is itself strict JSON.
//   clang++ -std=c++20 -g -O1 -fsanitize=fuzzer,address,undefined -Isrc/core \
//       fuzz/fuzz_webhook.cpp src/core/json.cpp src/core/webhook.cpp -o fuzz_webhook

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "json.hpp"
#include "webhook.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    std::string_view body(reinterpret_cast<const char*>(data), size);

    auto batch = wa::decode_webhook(body);
    if (!batch) {
        return 0;
    }
    for (const auto& change : batch->changes) {
        for (const auto& m : change.messages) {
            rapidjson::Document doc;
            if (!wa::parse_json_strict(m.content_json, doc) || !doc.IsObject()) {
                std::abort();
            }
            if (!m.reaction_to.empty()) {
                (void) wa::set_reaction_message_id(m.content_json, "im_x");
            }
        }
    }
    return 0;
}

// libFuzzer target: parse_graph_response (graph_message.hpp), Meta's answer
// to a send. Input: 2 bytes of HTTP status (mod 600), then the body.
// The result is consistent (accepted <=> 200 with a wamid and no code;
// otherwise a 4xx/5xx with a code and message; Retry-After only when rate
// limited), and the error body the client would get is strict JSON.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "meta/graph_message.hpp"
#include "base/json.hpp"
#include "api/prelude.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    int status = (data[0] << 8 | data[1]) % 600;
    std::string_view body(reinterpret_cast<const char*>(data) + 2, size - 2);

    wa::GraphResult g = wa::parse_graph_response(status, body);
    if (g.accepted()) {
        FUZZ_CHECK(g.http_status == 200);
        FUZZ_CHECK(!g.wamid.empty());
        FUZZ_CHECK(g.code.empty());
        FUZZ_CHECK(status >= 200 && status < 300);
        return 0;
    }
    FUZZ_CHECK(g.wamid.empty());
    FUZZ_CHECK(!g.code.empty() && !g.message.empty());
    FUZZ_CHECK(g.http_status >= 400 && g.http_status < 600);
    FUZZ_CHECK((g.retry_after_s > 0) == (g.outcome == wa::GraphOutcome::rate_limited));
    FUZZ_CHECK(g.close_window == (g.outcome == wa::GraphOutcome::window_expired));
    if (status == 0) {
        FUZZ_CHECK(g.outcome == wa::GraphOutcome::upstream_error);
    }

    wa::ReplyError e = wa::reply_error_from_graph(g);
    FUZZ_CHECK(e.http_status == g.http_status && e.code == g.code);
    rapidjson::Document doc;
    FUZZ_CHECK(wa::parse_json_strict(wa::reply_error_json(e, "req_1"), doc).ok());
    FUZZ_CHECK(doc.IsObject());
    return 0;
}

// libFuzzer target: parse_graph_response (graph_message.hpp), Meta's answer
// to a send. Input: 2 bytes of HTTP status (1..599), then the body.
// The result is consistent (accepted <=> a 2xx with a wamid; Retry-After
// only when throttled), the outcome of the exchange follows from it, and the
// error the Prelude client would get is a 4xx/5xx with a code, as strict JSON.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/prelude.hpp"
#include "base/json.hpp"
#include "domain/send.hpp"
#include "fuzz_check.hpp"
#include "meta/graph_message.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    int status = (data[0] << 8 | data[1]) % 599 + 1;  // an answer came
    std::string_view body(reinterpret_cast<const char*>(data) + 2, size - 2);

    wa::GraphResult g = wa::parse_graph_response(status, body);
    wa::SendOutcome outcome = wa::send_outcome(status, true, g);
    if (g.accepted()) {
        FUZZ_CHECK(!g.wamid.empty());
        FUZZ_CHECK(status >= 200 && status < 300);
        FUZZ_CHECK(outcome == wa::SendOutcome::accepted);
        return 0;
    }
    FUZZ_CHECK(g.wamid.empty());
    FUZZ_CHECK(outcome == wa::SendOutcome::not_sent);
    FUZZ_CHECK((g.retry_after_s > 0) == (g.outcome == wa::GraphOutcome::throttled));

    wa::ReplyError e = wa::reply_error_from_graph(g);
    FUZZ_CHECK(!e.code.empty() && !e.message.empty());
    FUZZ_CHECK(e.http_status >= 400 && e.http_status < 600);
    FUZZ_CHECK((e.retry_after_s > 0) == (g.outcome == wa::GraphOutcome::throttled));
    rapidjson::Document doc;
    FUZZ_CHECK(wa::parse_json_strict(wa::reply_error_json(e, "req_1"), doc).ok());
    FUZZ_CHECK(doc.IsObject());
    return 0;
}

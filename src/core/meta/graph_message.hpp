// Sending one message through the Graph API: the request body we post and
// what Meta's answer means for our client (SPEC §6.3, WHATSAPP.md §5, §6).
// Dialect-neutral: the reply, inbox and realtime sends all use it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace wa {

// {"messaging_product":"whatsapp","recipient_type":"individual","to":..,
//  "type":"text","text":{"body":..},"context":{"message_id":..}}: a native
// quoted reply. "context" is left out when context_wamid is empty.
std::string graph_text_reply_body(std::string_view to, std::string_view text,
                                  std::string_view context_wamid);

enum class GraphOutcome {
    accepted,        // 200, messages[0].id present
    window_expired,  // 422 window_expired; the conversation window must close
    rate_limited,    // 429 rate_limited with Retry-After
    refused,         // 400 invalid_request: Meta refused this message's content or recipient
    upstream_error,  // 502 upstream_error: nothing the client can fix
};

// Meta's error object as received, for logs and support tickets.
struct GraphError {
    std::int64_t code = 0;     // error.code; 0 when there was none
    std::int64_t subcode = 0;  // error.error_subcode (deprecated, still sent)
    std::string message;       // error.message, "(#131047) Re-engagement message"
    std::string details;       // error.error_data.details
    std::string fbtrace_id;
};

struct GraphResult {
    GraphOutcome outcome = GraphOutcome::upstream_error;
    std::string wamid;          // accepted only
    int http_status = 502;      // our answer to the client
    std::string code;           // our error code; empty when accepted
    std::string message;        // our error message for the client
    int retry_after_s = 0;      // rate_limited only
    bool close_window = false;  // window_expired: Meta is authoritative
    GraphError meta;

    bool accepted() const { return outcome == GraphOutcome::accepted; }
};

// http_status is the Graph subrequest's status, 0 for a transport failure
// (connect error, timeout, no response). Branches on error.code whenever
// the body carries one (throttling arrives as 400 as well as 429); the
// HTTP status decides only when there is no parsable error object.
//
// Mapping by error.code:
//   131047                          -> window_expired 422, close_window
//   130429 (throughput)             -> rate_limited 429, retry after 1 s
//   131056 (pair limit, 1 msg/6 s)  -> rate_limited 429, retry after 6 s
//   80007 (WABA), 4 (app calls),
//   131048 (spam limit)             -> rate_limited 429, retry after 60 s
//   100, 131008, 131009, 131021, 131026, 131030, 131051
//                                   -> refused 400 invalid_request, with
//                                      Meta's details (the content or the
//                                      recipient is at fault; retrying the
//                                      same request cannot succeed)
//   anything else (190 and 0 tokens, 3/10/200-299/368/131005/131031/133010
//   permissions and account state, 1/2/131000/131016/131057 Meta outages,
//   unknown codes)                 -> upstream_error 502; the client sees
//                                      only Meta's code, since the detail
//                                      is about the gateway's credentials
// Without an error object: 2xx with messages[0].id -> accepted; anything
// else (status 0, 5xx, unparsable body, 2xx without an id) -> upstream_error.
GraphResult parse_graph_response(int http_status, std::string_view body);

}  // namespace wa

// Sending one message through the Graph API: the request body we post and
// what Meta's answer says (SPEC §6.3, WHATSAPP.md §5, §6). Dialect-neutral:
// the reply, inbox and realtime sends all use it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wa {

// What a message says, in Meta's terms (WHATSAPP.md §5.2, §5.4, §5.5).
struct GraphContent {
    enum class Kind { text, template_message, media } kind = Kind::text;
    std::string text;  // text: the body; media: the caption (none for audio, sticker)
    // template_message: an approved template, its language, and its body
    // parameters in order, named (parameter_name) unless positional.
    std::string template_name;
    std::string language;
    std::vector<std::pair<std::string, std::string>> parameters;  // (name, text)
    bool positional = false;
    std::string header_image_link;  // optional media header
    // media: image, video, audio, document or sticker, by Meta's media id or
    // a public https link.
    std::string media_type;
    std::string media_id;
    std::string media_link;
    std::string filename;  // document only
};

// The whole send body for any content: {"messaging_product","recipient_type",
// "to","type",<type>:{...},"context"?,"biz_opaque_callback_data"?}. A
// context_wamid makes it a native quoted reply ("context" left out when
// empty). callback_data is our tx_ id: Meta echoes it in the status
// webhooks, which is how a send whose answer was lost is found.
std::string graph_message_body(std::string_view to, const GraphContent& content,
                               std::string_view context_wamid, std::string_view callback_data);

// What Meta's answer says, in Meta's terms; each dialect decides what its
// client is told (api/).
enum class GraphOutcome {
    accepted,       // 200, messages[0].id present
    window_closed,  // 131047: the customer-service window is closed at Meta
    throttled,      // a rate limit; retry_after_s is Meta's pacing for it
    refused,        // Meta refused this message's content or recipient
    failed,         // anything else: our credentials, Meta's state, an outage
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
    GraphOutcome outcome = GraphOutcome::failed;
    std::string wamid;      // accepted only
    int retry_after_s = 0;  // throttled only
    // refused: Meta's reason, safe to show the client (tokens redacted);
    // failed: what went wrong, for logs.
    std::string reason;
    GraphError meta;

    bool accepted() const { return outcome == GraphOutcome::accepted; }
};

// Meta's answer to a send that reached it (http_status > 0). Branches on
// error.code whenever the body carries one (throttling arrives as 400 as
// well as 429); the HTTP status decides only when there is no parsable
// error object.
//
// By error.code:
//   131047                          -> window_closed
//   130429 (throughput)             -> throttled, retry after 1 s
//   131056 (pair limit, 1 msg/6 s)  -> throttled, retry after 6 s
//   80007 (WABA), 4 (app calls),
//   131048 (spam limit)             -> throttled, retry after 60 s
//   100, 131008, 131009, 131021, 131026, 131030, 131051, 131053 (media
//   that could not be fetched or processed: a MIME type not the file's)
//                                   -> refused, with Meta's details (the
//                                      content or the recipient is at
//                                      fault; the same request cannot succeed)
//   anything else (190 and 0 tokens, 3/10/200-299/368/131005/131031/133010
//   permissions and account state, 1/2/131000/131016/131057 Meta outages,
//   unknown codes)                 -> failed; Meta's detail is about the
//                                      gateway's credentials, not the client's
// Without an error object: 2xx with messages[0].id -> accepted; anything
// else (5xx, unparsable body, 2xx without an id) -> failed.
GraphResult parse_graph_response(int http_status, std::string_view body);

}  // namespace wa

// The one driver of a send to the Graph API, for every dialect: an
// in-memory POST subrequest to whatsapp_graph/{phone_number_id}/messages
// whose headers are built from nothing (the number's token, JSON), and what
// nginx's upstream saw of it, which decides the outcome of SPEC §6.3; and
// the same exchange for the media endpoints (graph_call).
#pragma once

#include "ngx.hpp"

#include "domain/numbers.hpp"
#include "domain/send.hpp"
#include "meta/graph_message.hpp"

namespace wa::ngx {

struct GraphExchange {
    bool done = false;
    int status = 0;        // what Meta answered; 0: no answer at all
    int local_status = 0;  // no answer: what nginx answered itself (502, 504 a timeout)
    bool written = false;  // nginx wrote the request to Meta (or began to)
    std::string body;      // Meta's answer, read in memory
    std::int64_t started_ns = 0;

    GraphResult result() const { return parse_graph_response(status, body); }
    SendOutcome outcome(const GraphResult& g) const { return send_outcome(status, written, g); }
};

// Starts the exchange as a subrequest of r; when it has ended, on_done runs
// as r's write event handler (exchange->done then holds). false: nothing
// was started (the caller answers).
bool graph_send(ngx_http_request_t* r, const NumberConfig& number, std::string_view body,
                GraphExchange* exchange, ngx_http_event_handler_pt on_done);

// The same exchange for the Graph API's other calls, with the number's
// token: a GET of whatsapp_graph/path?args when body is empty, else a POST
// of body (not copied: it must outlive the exchange) with content_type.
// Not counted in the send latency histogram.
bool graph_call(ngx_http_request_t* r, const NumberConfig& number, std::string_view path,
                std::string_view args, std::string_view body, std::string_view content_type,
                GraphExchange* exchange, ngx_http_event_handler_pt on_done);

}  // namespace wa::ngx

// The one driver of a send to the Graph API, for every dialect: an
// in-memory POST subrequest to whatsapp_graph/{phone_number_id}/messages
// whose headers are built from nothing (the number's token, JSON), and what
// nginx's upstream saw of it, which decides the outcome of SPEC §6.3.
#pragma once

#include "ngx.hpp"

#include "domain/numbers.hpp"
#include "domain/send.hpp"
#include "meta/graph_message.hpp"

namespace wa::ngx {

struct GraphExchange {
    bool done = false;
    int status = 0;        // what Meta answered; 0: no answer at all
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

}  // namespace wa::ngx

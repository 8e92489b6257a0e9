// Event delivery: each attempt is a POST subrequest to the whatsapp_callback
// location, issued from a request of our own (no client connection), so that
// nginx's upstream machinery (proxy_pass, TLS, timeouts, resolver) does the HTTP.
#pragma once

#include "ngx.hpp"
#include "domain/outbox.hpp"

namespace wa::ngx {

ngx_int_t delivery_init_filters(ngx_conf_t* cf);  // postconfiguration
ngx_int_t delivery_init_process(ngx_cycle_t* cycle);

// Sends one leased event; the result is recorded in the outbox, and the
// conversation's next event (if any) is sent when this one is settled.
void deliver(Delivery d);

}  // namespace wa::ngx

// $whatsapp_* variables, read from the request's context.
#pragma once

#include "ngx.hpp"

namespace wa::ngx {

// Plain data in the request pool (no destructor needed).
struct RequestCtx {
    ngx_str_t tenant;
    ngx_str_t conversation_id;
    ngx_str_t message_id;
    ngx_str_t window_expires_at;
    ngx_str_t error;
    ngx_str_t callback_url;   // on delivery subrequests
    ngx_str_t callback_host;  // on delivery subrequests: Host and TLS name
    bool discard_output;      // delivery subrequests: the callback's answer body
    void* handler_state;      // the handler's own state (pool-owned), e.g. a reply's
};

RequestCtx* request_ctx(ngx_http_request_t* r);  // creates on first use; nullptr on OOM

ngx_int_t add_variables(ngx_conf_t* cf);

}  // namespace wa::ngx

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
    ngx_str_t fetch_url;      // on media fetch subrequests: the file's URL (checked, pinned)
    ngx_str_t fetch_host;     // on media fetch subrequests: Host and TLS name
    bool discard_output;      // delivery subrequests: the callback's answer body
    void* handler_state;      // the handler's own state (pool-owned), e.g. a download's
    // A send's state (send_api.cpp's, pool-owned): its own field, since a
    // request of another handler (guard mode's, holding handler_state) may
    // answer through the send path's error words.
    void* send_state;
    void* media_fetch;   // media fetch subrequests: the download they serve (media_api.cpp)
    void* media_upload;  // the upload_media in flight (media_upload.cpp)
    ngx_str_t log_id;    // what the request's log lines end with (request_id: ...)
    // tag_request_log's: log_id is to be r's $request_id, read when first
    // needed (it costs OpenSSL random bytes; most requests never log).
    bool request_id_pending;
    ngx_http_log_handler_pt nginx_log_handler;  // the one tag_log wrapped
};

RequestCtx* request_ctx(ngx_http_request_t* r);  // creates on first use; nullptr on OOM

// Every error_log line about r ends with ", request_id: <id>" from now on
// (SPEC §10.3): its $request_id for a client's request (tag_request_log),
// the evt_/tx_ id its work is about for the module's own (tag_log).
void tag_request_log(ngx_http_request_t* r);
void tag_log(ngx_http_request_t* r, std::string_view id);
// The $request_id tag_request_log gave r (empty before), or tag_log's id.
std::string_view log_id(ngx_http_request_t* r);

ngx_int_t add_variables(ngx_conf_t* cf);

}  // namespace wa::ngx

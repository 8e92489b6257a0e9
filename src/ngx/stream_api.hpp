// whatsapp_stream: the realtime stream on a WebSocket or as server-sent
// events (SPEC §8.1-8.2).
#pragma once

#include "ngx.hpp"

#include "domain/api_keys.hpp"

namespace wa::ngx {

// whatsapp_stream [ping=TIME] [max_output=SIZE]; 0 means the default
// (the location conf is zeroed memory).
struct StreamSettings {
    ngx_msec_t ping;         // 30 s: WebSocket ping; SSE comments every half of it
    std::size_t max_output;  // 1 MiB: unsent output that closes a client with 1013
};
inline constexpr ngx_msec_t kDefaultStreamPing = 30000;
inline constexpr std::size_t kDefaultStreamMaxOutput = 1024 * 1024;

char* stream_directive(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;

// The request's key from Authorization: Bearer, else from ?apiKey= (what
// browsers can set on a WebSocket).
KeyAuth authorize_stream(ngx_http_request_t* r, Scope needed);

}  // namespace wa::ngx

// http-level directive handlers (whatsapp_store, whatsapp_number { }, ...).
#pragma once

#include "ngx.hpp"

namespace wa::ngx {

char* conf_store(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;
char* conf_window(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;
char* conf_uri(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;
char* conf_delivery(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;
char* conf_number(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;
char* conf_api_keys(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;
char* conf_callback_allow(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;

// Records the server of a whatsapp_* handler location as the context in
// which delivery subrequests are created.
void conf_note_dispatch_server(ngx_conf_t* cf);

// From merge: notes whether this location serves whatsapp_callback's URI in
// the dispatch server, and which servers can reach whatsapp_graph, so a
// missing internal location fails `nginx -t`.
bool conf_check_internal_locations(ngx_conf_t* cf, ngx_http_core_loc_conf_t* clcf);

}  // namespace wa::ngx

// http-level directive handlers (whatsapp_store, whatsapp_number { }, ...).
#pragma once

#include "ngx.hpp"

namespace wa::ngx {

char* conf_store(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;
char* conf_seconds(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;  // time_t at offset
char* conf_uri(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;
char* conf_delivery(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;
char* conf_number(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;
char* conf_template(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;
char* conf_api_keys(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;
char* conf_callback_allow(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;

// A secret file (up to 64 KiB, relative to nginx.conf's directory) into out,
// trailing blanks stripped; empty is an error. Errors name the directive.
char* conf_read_secret(ngx_conf_t* cf, std::string_view directive, ngx_str_t* path,
                       std::string* out);

// Records the server of a whatsapp_* handler location as the context in
// which delivery subrequests are created.
void conf_note_dispatch_server(ngx_conf_t* cf);

// From merge: notes whether this location serves whatsapp_callback's URI in
// the dispatch server, and which servers can reach whatsapp_graph, so a
// missing internal location fails `nginx -t`.
bool conf_check_internal_locations(ngx_conf_t* cf, ngx_http_core_loc_conf_t* clcf);

struct MainConf;
// The location serving whatsapp_fetch in a server (ngx_http_core_srv_conf_t*),
// as nginx would pick it for the fetch subrequest; nullptr when none.
ngx_http_core_loc_conf_t* conf_fetch_location(MainConf* mcf, void* server);

// From postconfiguration, once every location is merged: the checks that
// cross directives. Numbers need a whatsapp_webhook location, its server a
// location for the whatsapp_callback URI, every whatsapp_reply location's
// server one for whatsapp_graph, and every whatsapp_media location's server
// one for whatsapp_graph and an internal one for whatsapp_fetch. NGX_ERROR
// (logged) fails nginx -t.
ngx_int_t conf_check_cross_directive(ngx_conf_t* cf);

}  // namespace wa::ngx

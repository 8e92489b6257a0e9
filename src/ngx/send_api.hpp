// The sends of every dialect, through one pipeline: the Prelude dialect's
// locations (SPEC §6: whatsapp_reply; whatsapp_notify, a prefix: send,
// /batch, /reply) and the inbox's sends (§7.3), started by messaging_api.cpp.
#pragma once

#include "api/prelude.hpp"
#include "domain/api_keys.hpp"
#include "ngx.hpp"

namespace wa::ngx {

char* reply_directive(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;
char* notify_directive(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;
// What every sending location's directive does after setting its handler.
char* send_location_directive(ngx_conf_t* cf, void* conf) noexcept;

// The Prelude dialect's error answer (body, x-should-retry, Retry-After), as
// the reply API gives it; counted in whatsapp_replies_total. Returns what a
// content handler returns.
ngx_int_t send_prelude_error(ngx_http_request_t* r, const ReplyError& e);

// Rows 7-9 of §6.2 for a reply, as its pipeline checks them (no credit
// held), with $whatsapp_conversation_id and $whatsapp_window_expires_at set
// once row 7 passed; the error is the reply API's answer.
std::optional<ReplyError> check_reply(ngx_http_request_t* r, const SendRequest& send);

// An inbox send by key (already checked for messaging:messages:send): a
// text in *conversation, or with nullptr a template (POST messages/template).
// May throw; returns what a content handler returns.
ngx_int_t inbox_send(ngx_http_request_t* r, const ApiKey& key, const Uuid* conversation);

}  // namespace wa::ngx

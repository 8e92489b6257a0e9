// The sends of every dialect, through one pipeline: the Prelude dialect's
// locations (SPEC §6: whatsapp_reply; whatsapp_notify, a prefix: send,
// /batch, /reply), Pipes' REST send (§8.3: whatsapp_send), the inbox's
// sends (§7.3), started by messaging_api.cpp, and a socket's replies (§8.1).
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "api/prelude.hpp"
#include "domain/api_keys.hpp"
#include "ngx.hpp"

namespace wa::ngx {

char* reply_directive(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;
char* notify_directive(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;
// whatsapp_send: Pipes.bot's REST send (SPEC §8.3), POST with
// {conversationId, text | media...}; its client_max_body_size is lifted to
// the body a 16 MiB base64 file needs, unless set.
char* rest_send_directive(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;
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

// A reply over a socket (SPEC §8.1 whatsapp_reply), through the same
// pipeline in a request of its own: done gets the reply_status frame
// (success or Pipes' code), exactly once, possibly before this returns.
// conversation_named is the client's conversationId, echoed in the frame;
// keys keep key alive. false: nothing started (out of memory or
// connections, the worker exiting), done is not called.
using SocketAnswer = std::function<void(std::string frame)>;
bool socket_send(std::shared_ptr<const ApiKeys> keys, const ApiKey& key, SendRequest send,
                 std::string conversation_named, SocketAnswer done);

}  // namespace wa::ngx

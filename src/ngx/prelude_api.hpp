// The Prelude dialect (SPEC §6): whatsapp_reply (POST /v2/notify/reply) and
// whatsapp_notify (a prefix location: send, /reply).
#pragma once

#include "ngx.hpp"

namespace wa::ngx {

char* reply_directive(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;
char* notify_directive(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;

}  // namespace wa::ngx

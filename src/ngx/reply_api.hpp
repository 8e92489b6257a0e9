// whatsapp_reply: POST /v2/notify/reply, Prelude's reply API (SPEC §6).
#pragma once

#include "ngx.hpp"

namespace wa::ngx {

char* reply_directive(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;

}  // namespace wa::ngx

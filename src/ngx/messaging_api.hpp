// The inbox API (SPEC §7): whatsapp_messaging, a prefix location.
#pragma once

#include "ngx.hpp"

namespace wa::ngx {

char* messaging_directive(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;

}  // namespace wa::ngx

// Guard mode (SPEC §9): whatsapp_guard, an access-phase check in front of an
// application's own sender.
#pragma once

#include "ngx.hpp"

namespace wa::ngx {

char* guard_directive(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;

// Called from postconfiguration: adds the access-phase handler.
ngx_int_t guard_init(ngx_conf_t* cf);

}  // namespace wa::ngx

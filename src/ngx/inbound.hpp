// whatsapp_webhook: Meta's GET verification and signed POST events (SPEC §4).
#pragma once

#include "ngx.hpp"

namespace wa::ngx {

char* webhook_directive(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;

}  // namespace wa::ngx

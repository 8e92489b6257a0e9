// Media download (SPEC §8.4): whatsapp_media, a prefix location such as
// /v1/media/ answering GET <prefix><mediaId> with the file, streamed from
// Meta through the whatsapp_fetch location.
#pragma once

#include "ngx.hpp"

namespace wa::ngx {

char* media_directive(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;

// From postconfiguration: the header filter that turns a fetch
// subrequest's answer into the client's response headers.
ngx_int_t media_init_filters(ngx_conf_t* cf);

}  // namespace wa::ngx

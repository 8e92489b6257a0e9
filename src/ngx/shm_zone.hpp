// A shared-memory zone of the module holding one object that every worker
// sees (counters, credit holds). The object lives across reloads while the
// zone keeps its name and size: nginx hands the old cycle's object back.
#pragma once

#include "ngx.hpp"

#include <cstddef>

namespace wa::ngx {

// Called from the zone's init with the object's address: zeroed the first
// time, the previous cycle's on a reload that reuses the zone.
using ShmPublish = void (*)(void* object);

// Adds the zone `name`, sized for object_bytes (so a different size is a
// fresh zone, never an old object of another layout). From
// postconfiguration; NGX_ERROR when nginx refuses the zone.
ngx_int_t shm_zone_add(ngx_conf_t* cf, ngx_str_t* name, std::size_t object_bytes,
                       ShmPublish publish);

}  // namespace wa::ngx

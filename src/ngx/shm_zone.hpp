// A shared-memory zone of the module holding one object that every worker
// sees (counters, credit holds). The object lives across reloads while the
// zone keeps its name and size: nginx hands the old cycle's object back.
#pragma once

#include "ngx.hpp"

#include <cstddef>

namespace wa::ngx {

// Called from the zone's init with the object's address (zeroed the first
// time, the previous cycle's on a reload that reuses the zone) and the
// zone's lock, for an object changed in more than one atomic step. The lock
// is the slab pool's: nginx's master frees it when a worker dies holding it.
using ShmPublish = void (*)(void* object, ngx_shmtx_t* lock);

// Adds the zone `name`, sized for object_bytes (so a different size is a
// fresh zone, never an old object of another layout). From
// postconfiguration; NGX_ERROR when nginx refuses the zone.
ngx_int_t shm_zone_add(ngx_conf_t* cf, ngx_str_t* name, std::size_t object_bytes,
                       ShmPublish publish);

}  // namespace wa::ngx

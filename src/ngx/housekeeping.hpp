// Per-worker upkeep of the store on a timer: expired Idempotency-Key
// records (24 h) are pruned in bounded batches, so no write transaction
// holds the lock long. (Retention of messages and events joins it, §3.1.)
#pragma once

#include "ngx.hpp"

namespace wa::ngx {

ngx_int_t housekeeping_init_process(ngx_cycle_t* cycle);

}  // namespace wa::ngx

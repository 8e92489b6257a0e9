// Scheduled sends (SPEC §6.4 schedule_at): a per-worker timer claims the
// due ones from the store and makes each through the one Graph driver on a
// request of its own; Meta's answer decides what the store records.
#pragma once

#include "ngx.hpp"

namespace wa::ngx {

ngx_int_t scheduled_sends_init_process(ngx_cycle_t* cycle);

}  // namespace wa::ngx

// The worker's side of group commit: work queued during an event-loop turn
// is handed to the writer thread when the turn ends; the writer's eventfd
// brings completions back into the loop.
#pragma once

#include "module.hpp"

namespace wa::ngx {

ngx_int_t commit_init_process(ngx_cycle_t* cycle, Worker& w);
void commit_exit_process(Worker& w);

// Queues work; done runs in the event loop once it is durable (or failed).
// Only delivery bookkeeping may use the store's reserve (GroupCommit::Room).
void submit(GroupCommit::Work work, GroupCommit::Done done,
            GroupCommit::Room room = GroupCommit::Room::leave_reserve);

}  // namespace wa::ngx

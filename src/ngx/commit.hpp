// The worker's side of group commit: work queued during an event-loop turn
// is handed to the writer thread when the turn ends; the writer's eventfd
// brings completions back into the loop.
#pragma once

#include "state.hpp"

#include <functional>
#include <memory>

namespace wa::ngx {

ngx_int_t commit_init_process(ngx_cycle_t* cycle, Worker& w);
void commit_exit_process(Worker& w);

// Queues work; done runs in the event loop once it is durable (or failed).
// Only delivery bookkeeping may use the store's reserve (GroupCommit::Room).
void submit(GroupCommit::Work work, GroupCommit::Done done,
            GroupCommit::Room room = GroupCommit::Room::leave_reserve);

// Queues work that computes a T the completion needs: done gets the commit's
// result and the T (default-constructed when the work failed).
template <class T>
void submit_for(std::function<Result<T>(Txn&)> work,
                std::function<void(const Result<void>&, T&)> done,
                GroupCommit::Room room = GroupCommit::Room::leave_reserve) {
    auto out = std::make_shared<T>();
    submit(
        [work = std::move(work), out](Txn& txn) -> Result<void> {
            auto r = work(txn);
            if (!r) return r.error();
            *out = std::move(r.value());
            return {};
        },
        [done = std::move(done), out](const Result<void>& committed) { done(committed, *out); },
        room);
}

}  // namespace wa::ngx

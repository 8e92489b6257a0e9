// The worker's side of group commit: work queued during an event-loop turn
// is handed to the writer thread when the turn ends; the writer's eventfd
// brings completions back into the loop.
#pragma once

#include "state.hpp"

#include <functional>
#include <memory>
#include <type_traits>

namespace wa::ngx {

ngx_int_t commit_init_process(ngx_cycle_t* cycle, Worker& w);
void commit_exit_process(Worker& w);

// Queues work; done runs in the event loop once it is durable (or failed).
// Only delivery bookkeeping may use the store's reserve (GroupCommit::Room).
void submit(GroupCommit::Work work, GroupCommit::Done done,
            GroupCommit::Room room = GroupCommit::Room::leave_reserve);

// Queues work that computes a T the completion needs: done gets the commit's
// result and the T (default-constructed when the work failed). The two
// closures and the T live in one allocation; what the group commit holds is
// a shared pointer to it, small enough for std::function's own storage.
// (work: Result<T>(Txn&); done: void(const Result<void>&, T&).)
template <class T, class Work, class Done>
void submit_for(Work work, Done done, GroupCommit::Room room = GroupCommit::Room::leave_reserve) {
    static_assert(std::is_invocable_r_v<Result<T>, Work&, Txn&>);
    static_assert(std::is_invocable_v<Done&, const Result<void>&, T&>);
    struct Job {
        Work work;
        Done done;
        T out{};
    };
    auto job = std::make_shared<Job>(Job{std::move(work), std::move(done)});
    submit(
        [job](Txn& txn) -> Result<void> {
            auto r = job->work(txn);
            if (!r) return r.error();
            job->out = std::move(r.value());
            return {};
        },
        [job](const Result<void>& committed) { job->done(committed, job->out); }, room);
}

}  // namespace wa::ngx

// Group commit: the writes of one event-loop turn are queued and applied in
// one LMDB write transaction at the end of the turn, each in its own nested
// transaction so a failing request leaves nothing behind; completions run
// after the commit. The write lock (shared by all workers) is held only for
// apply + commit, never while requests are being read and parsed.
#pragma once

#include <functional>
#include <vector>

#include "result.hpp"
#include "store.hpp"

namespace wa {

class GroupCommit {
public:
    // Work owns what it needs (it runs later, from flush()).
    using Work = std::function<Result<void>(Txn&)>;
    using Done = std::function<void(const Result<void>&)>;

    explicit GroupCommit(Store& store) : store_(store) {}

    void submit(Work work, Done done);
    bool pending() const { return !queue_.empty(); }

    // Applies every queued work in one transaction, commits, then runs every
    // completion: ok when durable, else the work's error or the commit's.
    // Work whose nested transaction fails is dropped alone. Completions may
    // submit again: that goes into the next batch.
    void flush();

    struct Stats { unsigned long long batches = 0, items = 0, failed = 0; };
    const Stats& stats() const { return stats_; }

private:
    struct Item {
        Work work;
        Done done;
        Result<void> result;
    };
    Result<void> apply(Txn& batch, Item& item);

    Store& store_;
    std::vector<Item> queue_;
    Stats stats_;
};

}  // namespace wa

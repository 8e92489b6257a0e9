// Group commit: every write of one event-loop turn goes into one LMDB write
// transaction; each piece of work runs in its own nested transaction so a
// failing request leaves nothing behind; completions run after the commit.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "result.hpp"
#include "store.hpp"

namespace wa {

class GroupCommit {
public:
    using Work = std::function<Result<void>(Txn&)>;
    using Done = std::function<void(const Result<void>&)>;

    explicit GroupCommit(Store& store) : store_(store) {}
    ~GroupCommit();

    // Runs work now inside a nested transaction of this turn's batch. Its
    // writes are kept only if it returns ok. done runs from flush(): with ok
    // once the batch is durable, else with work's error or the commit's.
    void submit(const Work& work, Done done);

    bool pending() const { return !done_.empty(); }

    // Commits the batch and runs every completion. Safe to call when empty.
    void flush();

    struct Stats { unsigned long long batches = 0, items = 0, failed = 0; };
    const Stats& stats() const { return stats_; }

private:
    Store& store_;
    std::optional<Txn> batch_;
    std::vector<std::pair<Done, Result<void>>> done_;
    Stats stats_;
};

}  // namespace wa

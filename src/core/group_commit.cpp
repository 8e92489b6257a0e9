#include "group_commit.hpp"

namespace wa {

GroupCommit::~GroupCommit() {
    // Nothing acknowledged may depend on an uncommitted batch: callers flush
    // before destruction; an unflushed batch is aborted, never half kept.
    batch_.reset();
}

void GroupCommit::submit(const Work& work, Done done) {
    if (!batch_) {
        auto txn = store_.begin_write();
        if (!txn) {
            done_.emplace_back(std::move(done), txn.error());
            return;
        }
        batch_.emplace(std::move(txn.value()));
    }
    auto child = store_.begin_write(&*batch_);
    if (!child) {
        done_.emplace_back(std::move(done), child.error());
        return;
    }
    Result<void> r = work(*child);
    if (r) r = child->commit();
    else child->abort();
    if (!r) stats_.failed++;
    done_.emplace_back(std::move(done), std::move(r));
}

void GroupCommit::flush() {
    if (done_.empty() && !batch_) return;
    Result<void> committed;
    if (batch_) {
        committed = batch_->commit();
        batch_.reset();
        stats_.batches++;
    }
    // Completions may submit new work (e.g. the next delivery): they go
    // into the next batch, so take the list first.
    auto done = std::move(done_);
    done_.clear();
    stats_.items += done.size();
    for (auto& [fn, r] : done) {
        fn(r.ok() && !committed.ok() ? Result<void>(committed.error()) : r);
    }
}

}  // namespace wa

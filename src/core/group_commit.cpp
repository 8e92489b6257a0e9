#include "group_commit.hpp"

namespace wa {

void GroupCommit::submit(Work work, Done done) {
    queue_.push_back(Item{std::move(work), std::move(done), {}});
}

Result<void> GroupCommit::apply(Txn& batch, Item& item) {
    auto child = store_.begin_write(&batch);
    if (!child) return child.error();
    Result<void> r = item.work(*child);
    if (!r) return r;  // child aborts on destruction: nothing of it is kept
    return child->commit();
}

void GroupCommit::flush() {
    if (queue_.empty()) return;
    std::vector<Item> items = std::move(queue_);
    queue_.clear();

    Result<void> committed;
    if (auto batch = store_.begin_write(); !batch) {
        committed = batch.error();
    } else {
        for (Item& item : items) {
            item.result = apply(*batch, item);
            if (!item.result) stats_.failed++;
        }
        committed = batch->commit();
    }
    stats_.batches++;
    stats_.items += items.size();
    for (Item& item : items) {
        item.done(item.result && !committed ? Result<void>(committed.error()) : item.result);
    }
}

}  // namespace wa

// Group commit: writes are queued and applied in one LMDB write transaction;
// completions run after the commit, on the caller's thread. Each item is
// applied straight into the batch's transaction (a nested transaction per
// item copies every page it touches: 20 % of the writer's time); when one
// fails, the batch is aborted and applied again with each item in its own
// nested transaction, so a failing item leaves nothing behind and the others
// still commit. Work may therefore run twice: it must not consume what it
// captured.
//
// Two ways to run it:
//  - synchronous: flush() applies and commits the queue, then completes it;
//  - with a writer thread (start()): flush() hands the queue to the thread,
//    which commits whatever has accumulated meanwhile; the event loop is never
//    blocked by the writer lock or fsync, and calls complete() when notified.
//    The writer commits without the final flush and goes on to the next
//    batch while a syncer thread makes the committed batches durable, one
//    Store::sync() for every batch committed since the last: completions
//    run only after that sync.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "base/result.hpp"
#include "store/store.hpp"

namespace wa {

class GroupCommit {
public:
    // Work owns what it needs: it runs later, possibly on the writer thread,
    // so it must touch nothing but its captures and the transaction.
    using Work = std::function<Result<void>(Txn&)>;
    using Done = std::function<void(const Result<void>&)>;

    // Writes that add to the store must leave the reserve free: the
    // bookkeeping of deliveries (claims, attempt results) may use it, so
    // events already accepted are still delivered on a full store.
    enum class Room { leave_reserve, may_use_reserve };

    explicit GroupCommit(Store& store) : store_(store) {}

    // Bytes a leave_reserve write must leave free (0: none).
    void set_reserve(std::size_t bytes) { reserve_ = bytes; }
    // The reserve for a map of map_size bytes: an eighth, at least 256 KiB,
    // at most 64 MiB, never more than half the map.
    static std::size_t reserve_for(std::size_t map_size);
    ~GroupCommit();  // stops the writer thread after it committed what it has

    // Starts the writer thread; notify is called from it after each batch
    // (it must only wake the owner's loop, e.g. write an eventfd).
    void start(std::function<void()> notify);
    void stop();

    void submit(Work work, Done done, Room room = Room::leave_reserve);
    bool pending() const { return !queue_.empty(); }

    // Synchronous mode: applies, commits and completes the queue.
    // Thread mode: hands the queue to the writer.
    void flush();

    // Thread mode: runs the completions of every committed batch.
    void complete();

    // syncs: device flushes that made batches durable (thread mode: one may
    // cover several batches). reapplied: batches applied again item by item
    // because one of their items failed.
    //
    // Where an item's time goes, summed over items (thread mode; the
    // synchronous mode has no queue and no separate sync):
    //   queued      submit -> flush (the rest of the event-loop turn)
    //   waiting     flush -> the writer takes the batch (previous batch busy)
    //   applying    the writer runs the batch's work
    //   committing  mdb_txn_commit: page writes and the data flush
    //   syncing     committed -> the syncer's flush of the meta page is done
    //   completing  synced -> the owner runs the completion
    // busy_ns: time the writer spent applying and committing and the syncer
    // syncing, once per batch (how loaded each thread is).
    enum Stage : unsigned { queued, waiting, applying, committing, syncing, completing, stages_ };
    // Batches by size: bucket i counts batches of at most 2^i items (the
    // last, any size), for a histogram.
    static constexpr unsigned size_buckets_ = 12;  // 1, 2, 4, ..., 1024, more
    static unsigned size_bucket(std::size_t items);

    struct Stats {
        unsigned long long batches = 0, items = 0, failed = 0, syncs = 0, reapplied = 0;
        unsigned long long batch_sizes[size_buckets_] = {};
        unsigned long long item_ns[stages_] = {};
        unsigned long long apply_busy_ns = 0, commit_busy_ns = 0, sync_busy_ns = 0;

        Stats since(const Stats& before) const;  // what happened after before
    };
    Stats stats() const;

private:
    struct Item {
        Work work;
        Done done;
        Room room = Room::leave_reserve;
        Result<void> result;
        std::int64_t submitted_ns = 0, flushed_ns = 0;
    };
    // The times of a batch's stages (steady clock), for Stats.
    struct Batch {
        std::vector<Item> items;
        std::int64_t taken_ns = 0, applied_ns = 0, committed_ns = 0, synced_ns = 0;
    };

    void commit(Batch& batch, bool sync);     // apply + commit, sets each result
    bool apply_all(Txn& txn, Batch& batch);   // straight into txn; false at a failure
    void apply_each(Txn& txn, Batch& batch);  // each item in its own nested transaction
    // room: txn.room() as last measured, while nothing has written since.
    Result<void> apply(Txn& txn, Item& item, bool nested, std::optional<std::size_t>& room);
    void finish(Batch& batch);  // runs completions, accounts the batch's times
    void writer_loop();
    void syncer_loop();

    Store& store_;
    std::size_t reserve_ = 0;
    std::vector<Item> queue_;  // owner thread only

    mutable std::mutex mu_;
    std::condition_variable wake_;
    std::vector<Item> incoming_;  // owner -> writer
    std::condition_variable sync_wake_;
    std::vector<Batch> unsynced_;   // writer -> syncer
    std::vector<Batch> committed_;  // syncer -> owner
    std::function<void()> notify_;
    std::thread writer_;
    std::thread syncer_;
    bool stopping_ = false;
    bool writer_done_ = false;
    Stats stats_;
};

}  // namespace wa

// Group commit: writes are queued and applied in one LMDB write transaction,
// each in its own nested transaction so a failing request leaves nothing
// behind; completions run after the commit, on the caller's thread.
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
#include <functional>
#include <mutex>
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
    // cover several batches).
    struct Stats {
        unsigned long long batches = 0, items = 0, failed = 0, syncs = 0;
    };
    Stats stats() const;

private:
    struct Item {
        Work work;
        Done done;
        Room room = Room::leave_reserve;
        Result<void> result;
    };
    using Batch = std::vector<Item>;

    void commit(Batch& items, bool sync);  // apply + commit, sets each result
    Result<void> apply(Txn& batch, Item& item);
    static void finish(Batch& items);  // run completions
    void writer_loop();
    void syncer_loop();

    Store& store_;
    std::size_t reserve_ = 0;
    Batch queue_;  // owner thread only

    mutable std::mutex mu_;
    std::condition_variable wake_;
    Batch incoming_;  // owner -> writer
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

// GroupCommit with its writer thread: work runs off the owner's thread,
// completions run only in complete(), on the owner's thread.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "store/group_commit.hpp"
#include "store_fixture.hpp"

namespace wa::unit {
namespace {

class GroupCommitThread : public StoreFixture {
protected:
    // The notify callback as the event loop sees it: a counter to wait on.
    void start(GroupCommit& gc) {
        gc.start([this] {
            std::lock_guard lock(mu_);
            notified_++;
            cv_.notify_all();
        });
    }
    bool wait_notified(int n) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, std::chrono::seconds(10), [&] { return notified_ >= n; });
    }

    std::mutex mu_;
    std::condition_variable cv_;
    int notified_ = 0;
};

TEST_F(GroupCommitThread, WorkRunsOnWriterAndDoneOnOwner) {
    GroupCommit gc(*store_);
    start(gc);
    std::thread::id work_thread, done_thread;
    bool done = false;
    gc.submit(
        [&](Txn& t) -> Result<void> {
            work_thread = std::this_thread::get_id();
            return t.put(Db::meta, "k", "v");
        },
        [&](const Result<void>& r) {
            EXPECT_TRUE(r.ok());
            done_thread = std::this_thread::get_id();
            done = true;
        });
    gc.flush();
    ASSERT_TRUE(wait_notified(1));
    EXPECT_FALSE(done);  // not before complete()
    gc.complete();
    EXPECT_TRUE(done);
    EXPECT_NE(work_thread, std::this_thread::get_id());
    EXPECT_EQ(done_thread, std::this_thread::get_id());

    auto t = read();
    auto v = t.get(Db::meta, "k");
    ASSERT_TRUE(v.ok());
    ASSERT_TRUE(v->has_value());
    EXPECT_EQ(**v, "v");
}

TEST_F(GroupCommitThread, StopCommitsWhatIsQueuedAndCompletesIt) {
    int done = 0;
    {
        GroupCommit gc(*store_);
        start(gc);
        for (int i = 0; i < 100; i++) {
            gc.submit([i](Txn& t) { return t.put(Db::meta, "k" + std::to_string(i), "v"); },
                      [&](const Result<void>& r) { done += r.ok(); });
        }
        gc.stop();  // also flushes the queue
    }
    EXPECT_EQ(done, 100);
    auto t = read();
    for (int i = 0; i < 100; i++) {
        auto v = t.get(Db::meta, "k" + std::to_string(i));
        ASSERT_TRUE(v.ok());
        EXPECT_TRUE(v->has_value()) << i;
    }
}

TEST_F(GroupCommitThread, ItemsSubmittedDuringACommitAreBatchedTogether) {
    GroupCommit gc(*store_);
    start(gc);
    std::atomic<bool> started{false}, release{false};
    // The first batch blocks in its work until we have queued more.
    gc.submit(
        [&](Txn& t) -> Result<void> {
            started = true;
            while (!release)
                std::this_thread::yield();
            return t.put(Db::meta, "first", "1");
        },
        [](const Result<void>&) {});
    gc.flush();
    while (!started)
        std::this_thread::yield();
    for (int i = 0; i < 10; i++) {
        gc.submit([i](Txn& t) { return t.put(Db::meta, "n" + std::to_string(i), "1"); },
                  [](const Result<void>&) {});
        gc.flush();
    }
    release = true;
    gc.stop();
    // One batch for the first item, then the ten flushed during it.
    EXPECT_EQ(gc.stats().batches, 2u);
    EXPECT_EQ(gc.stats().items, 11u);
}

}  // namespace
}  // namespace wa::unit

namespace wa::unit {
namespace {

// The writer does not wait for the flush: batches handed over while one is
// syncing are committed meanwhile and made durable together. Every
// completion still runs, after a sync, with the data visible.
TEST_F(GroupCommitThread, SyncerCoversBatchesCommittedMeanwhile) {
    GroupCommit gc(*store_);
    start(gc);
    constexpr int kBatches = 200;
    int done = 0;
    for (int i = 0; i < kBatches; i++) {
        std::string key = "k" + std::to_string(i);
        gc.submit([key](Txn& t) -> Result<void> { return t.put(Db::meta, key, "v"); },
                  [&done](const Result<void>& r) {
                      EXPECT_TRUE(r.ok());
                      done++;
                  });
        gc.flush();  // one batch each
    }
    // One notification per sync; each complete() runs every synced batch.
    for (int seen = 1; done < kBatches; seen++) {
        ASSERT_TRUE(wait_notified(seen)) << done << " of " << kBatches << " completed";
        gc.complete();
    }
    ASSERT_EQ(done, kBatches);
    GroupCommit::Stats st = gc.stats();
    EXPECT_EQ(st.items, static_cast<unsigned long long>(kBatches));
    EXPECT_GE(st.syncs, 1u);
    EXPECT_LE(st.syncs, st.batches);
    Txn txn = read();
    auto got = txn.get(Db::meta, "k199");
    ASSERT_TRUE(got.ok() && *got);
}

// Each item's time is split into the pipeline's stages, and their sum is the
// time from submit to completion.
TEST_F(GroupCommitThread, StageTimesAddUpToEachItemsLatency) {
    GroupCommit gc(*store_);
    start(gc);
    using Clock = std::chrono::steady_clock;
    constexpr int kItems = 50;
    Clock::duration total{};
    int done = 0;
    for (int i = 0; i < kItems; i++) {
        auto submitted = Clock::now();
        gc.submit([i](Txn& t) { return t.put(Db::meta, "s" + std::to_string(i), "v"); },
                  [&, submitted](const Result<void>& r) {
                      EXPECT_TRUE(r.ok());
                      total += Clock::now() - submitted;
                      done++;
                  });
        if (i % 10 == 9) gc.flush();
    }
    for (int seen = 1; done < kItems; seen++) {
        ASSERT_TRUE(wait_notified(seen));
        gc.complete();
    }
    GroupCommit::Stats st = gc.stats();
    unsigned long long sum = 0;
    for (unsigned long long ns : st.item_ns)
        sum += ns;
    auto measured = static_cast<unsigned long long>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(total).count());
    EXPECT_GT(st.item_ns[GroupCommit::committing], 0u);
    EXPECT_GT(st.item_ns[GroupCommit::syncing], 0u);
    EXPECT_GT(st.item_ns[GroupCommit::queued], 0u);  // items waited for their flush
    EXPECT_GT(st.apply_busy_ns + st.commit_busy_ns, 0u);
    EXPECT_GT(st.sync_busy_ns, 0u);
    // The stages cover each item's life, up to the clock reads around them.
    EXPECT_LE(sum, measured);
    EXPECT_GE(sum, measured - measured / 10);
}

}  // namespace
}  // namespace wa::unit

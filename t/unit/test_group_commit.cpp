// GroupCommit: work runs only at flush, one transaction per batch, a failing
// item is dropped alone, completions run after the commit.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "store/group_commit.hpp"
#include "store_fixture.hpp"

namespace {

using namespace wa;

class GroupCommitTest : public wa::unit::StoreFixture {
protected:
    // The value of key in meta as seen by a fresh read transaction.
    std::optional<std::string> stored(std::string_view key) {
        Txn t = read();
        auto got = t.get(Db::meta, key);
        EXPECT_TRUE(got.ok()) << got.error().message;
        if (!got.ok() || !*got) return std::nullopt;
        return std::string(**got);
    }

    static GroupCommit::Work put(std::string key, std::string value) {
        return [key = std::move(key), value = std::move(value)](Txn& t) {
            return t.put(Db::meta, key, value);
        };
    }

    // Records each completion's result into results[i].
    GroupCommit::Done record(std::size_t i) {
        return [this, i](const Result<void>& r) {
            if (results_.size() <= i) results_.resize(i + 1);
            results_[i] = r;
        };
    }

    std::vector<std::optional<Result<void>>> results_;
};

TEST_F(GroupCommitTest, WorkRunsOnlyAtFlush) {
    GroupCommit gc(*store_);
    int runs = 0, dones = 0;
    gc.submit(
        [&](Txn& t) {
            runs++;
            return t.put(Db::meta, "k", "v");
        },
        [&](const Result<void>& r) {
            EXPECT_TRUE(r.ok()) << r.error().message;
            EXPECT_EQ(runs, 1);
            dones++;
        });
    EXPECT_TRUE(gc.pending());
    EXPECT_EQ(runs, 0);
    EXPECT_EQ(dones, 0);
    EXPECT_FALSE(stored("k"));

    gc.flush();
    EXPECT_FALSE(gc.pending());
    EXPECT_EQ(runs, 1);
    EXPECT_EQ(dones, 1);

    gc.flush();  // nothing queued: no work runs again, no empty batch
    EXPECT_EQ(runs, 1);
    EXPECT_EQ(dones, 1);
    EXPECT_EQ(gc.stats().batches, 1u);
}

TEST_F(GroupCommitTest, DoneRunsAfterCommitAndDataIsVisible) {
    GroupCommit gc(*store_);
    bool checked = false;
    gc.submit(put("a", "1"), [&](const Result<void>& r) {
        ASSERT_TRUE(r.ok()) << r.error().message;
        // The batch is committed by now: a new read transaction sees it.
        EXPECT_EQ(stored("a"), "1");
        checked = true;
    });
    gc.submit(put("b", "2"), record(1));
    gc.flush();
    EXPECT_TRUE(checked);
    ASSERT_TRUE(results_.at(1).has_value());
    EXPECT_TRUE(results_[1]->ok());
    EXPECT_EQ(stored("a"), "1");
    EXPECT_EQ(stored("b"), "2");
}

TEST_F(GroupCommitTest, DurableAcrossReopen) {
    {
        GroupCommit gc(*store_);
        gc.submit(put("durable", "yes"), record(0));
        gc.flush();
        ASSERT_TRUE(results_.at(0) && results_[0]->ok());
    }
    ASSERT_NO_FATAL_FAILURE(reopen());
    EXPECT_EQ(stored("durable"), "yes");
}

TEST_F(GroupCommitTest, FailingItemIsDroppedAlone) {
    GroupCommit gc(*store_);
    gc.submit(put("before", "1"), record(0));
    gc.submit(
        [](Txn& t) -> Result<void> {
            // Writes first, then fails: none of it may survive.
            if (auto r = t.put(Db::meta, "bad1", "x"); !r) return r;
            if (auto r = t.put(Db::meta, "before", "overwritten"); !r) return r;
            return make_error("bad_request", "rejected after writing");
        },
        record(1));
    gc.submit(put("after", "3"), record(2));
    gc.flush();

    ASSERT_EQ(results_.size(), 3u);
    ASSERT_TRUE(results_[0] && results_[1] && results_[2]);
    EXPECT_TRUE(results_[0]->ok());
    ASSERT_FALSE(results_[1]->ok());
    EXPECT_EQ(results_[1]->error().code, "bad_request");
    EXPECT_EQ(results_[1]->error().message, "rejected after writing");
    EXPECT_TRUE(results_[2]->ok());

    EXPECT_EQ(stored("before"), "1");
    EXPECT_EQ(stored("after"), "3");
    EXPECT_FALSE(stored("bad1"));

    EXPECT_EQ(gc.stats().batches, 1u);
    EXPECT_EQ(gc.stats().items, 3u);
    EXPECT_EQ(gc.stats().failed, 1u);
    EXPECT_EQ(gc.stats().reapplied, 1u);
}

// Items go straight into the batch's transaction; only a batch with a
// failing item is applied again (item by item), so its other items' work
// runs twice and each completion still runs once.
TEST_F(GroupCommitTest, OnlyABatchWithAFailureIsAppliedAgain) {
    GroupCommit gc(*store_);
    int runs = 0, dones = 0;
    auto counted = [&](std::string key) -> GroupCommit::Work {
        return [&runs, key](Txn& t) {
            runs++;
            return t.put(Db::meta, key, "v");
        };
    };
    auto done = [&](const Result<void>&) { dones++; };
    gc.submit(counted("a"), done);
    gc.submit(counted("b"), done);
    gc.flush();
    EXPECT_EQ(runs, 2);
    EXPECT_EQ(gc.stats().reapplied, 0u);

    runs = 0;
    gc.submit(counted("c"), done);
    gc.submit([](Txn&) -> Result<void> { return make_error("x", "no"); }, done);
    gc.submit(counted("d"), done);
    gc.flush();
    // c ran, the failure aborted the batch, then c and d ran nested.
    EXPECT_EQ(runs, 3);
    EXPECT_EQ(dones, 5);
    EXPECT_EQ(gc.stats().reapplied, 1u);
    EXPECT_EQ(stored("c"), "v");
    EXPECT_EQ(stored("d"), "v");
}

TEST_F(GroupCommitTest, LaterItemsSeeEarlierItemsOfTheSameBatch) {
    GroupCommit gc(*store_);
    gc.submit(put("seq", "1"), record(0));
    gc.submit(
        [](Txn& t) -> Result<void> {
            auto got = t.get(Db::meta, "seq");
            if (!got) return got.error();
            if (!*got || **got != "1") return make_error("test", "earlier write not visible");
            return t.put(Db::meta, "seq", "2");
        },
        record(1));
    gc.flush();
    ASSERT_TRUE(results_.at(1).has_value());
    EXPECT_TRUE(results_[1]->ok()) << results_[1]->error().message;
    EXPECT_EQ(stored("seq"), "2");
}

TEST_F(GroupCommitTest, CompletionSubmittingGoesToTheNextBatch) {
    GroupCommit gc(*store_);
    int second_runs = 0;
    bool second_done = false;
    gc.submit(put("first", "1"), [&](const Result<void>& r) {
        ASSERT_TRUE(r.ok());
        gc.submit(
            [&](Txn& t) {
                second_runs++;
                return t.put(Db::meta, "second", "2");
            },
            [&](const Result<void>& r2) {
                EXPECT_TRUE(r2.ok());
                second_done = true;
            });
    });
    gc.flush();
    EXPECT_EQ(second_runs, 0);
    EXPECT_FALSE(second_done);
    EXPECT_TRUE(gc.pending());
    EXPECT_EQ(stored("first"), "1");
    EXPECT_FALSE(stored("second"));
    EXPECT_EQ(gc.stats().batches, 1u);
    EXPECT_EQ(gc.stats().items, 1u);

    gc.flush();
    EXPECT_EQ(second_runs, 1);
    EXPECT_TRUE(second_done);
    EXPECT_FALSE(gc.pending());
    EXPECT_EQ(stored("second"), "2");
    EXPECT_EQ(gc.stats().batches, 2u);
    EXPECT_EQ(gc.stats().items, 2u);
    EXPECT_EQ(gc.stats().failed, 0u);
}

TEST_F(GroupCommitTest, StatsCountBatchesItemsAndFailures) {
    GroupCommit gc(*store_);
    for (int batch = 0; batch < 3; batch++) {
        for (int i = 0; i < 4; i++) {
            std::string key = "k" + std::to_string(batch) + "_" + std::to_string(i);
            if (i == 3) {
                gc.submit([](Txn&) -> Result<void> { return make_error("x", "no"); },
                          [](const Result<void>& r) { EXPECT_FALSE(r.ok()); });
            } else {
                gc.submit(put(key, "v"), [](const Result<void>& r) { EXPECT_TRUE(r.ok()); });
            }
        }
        gc.flush();
    }
    EXPECT_EQ(gc.stats().batches, 3u);
    EXPECT_EQ(gc.stats().items, 12u);
    EXPECT_EQ(gc.stats().failed, 3u);
    EXPECT_EQ(stored("k2_2"), "v");
}

// A 64 KiB map: a few pages only.
class GroupCommitFull : public GroupCommitTest {
protected:
    std::size_t map_size() const override { return std::size_t{64} << 10; }
};

TEST_F(GroupCommitFull, MapFullFailsTheItemAloneAndLaterWorkSucceeds) {
    GroupCommit gc(*store_);
    gc.submit(put("small1", "s"), record(0));
    gc.submit(
        [](Txn& t) -> Result<void> {
            // Far more than the map holds: many overflow pages.
            std::string big(4096, 'x');
            for (int i = 0; i < 64; i++) {
                if (auto r = t.put(Db::messages, "big" + std::to_string(i), big); !r) return r;
            }
            return {};
        },
        record(1));
    gc.submit(put("small2", "s"), record(2));
    gc.flush();

    ASSERT_EQ(results_.size(), 3u);
    ASSERT_TRUE(results_[0] && results_[1] && results_[2]);
    ASSERT_FALSE(results_[1]->ok());
    EXPECT_EQ(results_[1]->error().code, "store_full") << results_[1]->error().message;
    EXPECT_TRUE(results_[0]->ok()) << results_[0]->error().message;
    EXPECT_TRUE(results_[2]->ok()) << results_[2]->error().message;
    EXPECT_EQ(gc.stats().failed, 1u);

    {
        Txn t = read();
        std::size_t n = 0;
        auto r = t.scan(Db::messages, {}, [&](const Txn::Entry&) {
            n++;
            return true;
        });
        ASSERT_TRUE(r.ok());
        EXPECT_EQ(n, 0u) << "nothing of the failed item may be stored";
    }
    EXPECT_EQ(stored("small1"), "s");
    EXPECT_EQ(stored("small2"), "s");

    // The store keeps working after a map-full failure.
    results_.clear();
    gc.submit(put("small3", std::string(100, 'y')), record(0));
    gc.flush();
    ASSERT_TRUE(results_.at(0).has_value());
    EXPECT_TRUE(results_[0]->ok()) << results_[0]->error().message;
    EXPECT_EQ(stored("small3"), std::string(100, 'y'));
}

TEST_F(GroupCommitFull, MapFullAloneThenSmallerItemSucceeds) {
    GroupCommit gc(*store_);
    gc.submit([](Txn& t) { return t.put(Db::messages, "huge", std::string(128 << 10, 'z')); },
              record(0));
    gc.flush();
    ASSERT_TRUE(results_.at(0).has_value());
    ASSERT_FALSE(results_[0]->ok());
    EXPECT_EQ(results_[0]->error().code, "store_full");
    EXPECT_FALSE(stored("huge"));

    results_.clear();
    gc.submit([](Txn& t) { return t.put(Db::messages, "small", std::string(1000, 'z')); },
              record(0));
    gc.flush();
    ASSERT_TRUE(results_.at(0).has_value());
    EXPECT_TRUE(results_[0]->ok()) << results_[0]->error().message;
    Txn t = read();
    auto got = t.get(Db::messages, "small");
    ASSERT_TRUE(got.ok() && *got);
    EXPECT_EQ((*got)->size(), 1000u);
}

}  // namespace

// The store at its limits: keys from outside input longer than LMDB's, the
// room left in a transaction, and the reserve group commit keeps for
// delivery bookkeeping on a full map.
#include <gtest/gtest.h>

#include <cerrno>
#include <set>
#include <string>

#include "store/group_commit.hpp"
#include "outbox_fixture.hpp"
#include "store/records.hpp"
#include "store_fixture.hpp"

namespace {

using namespace wa;

TEST(BoundedKey, ShortInputIsUsedAsIs) {
    EXPECT_EQ(bounded_key("wamid.HBgL123"), "wamid.HBgL123");
    std::string at_limit(kMaxInputKey, 'w');
    EXPECT_EQ(bounded_key(at_limit), at_limit);
    EXPECT_EQ(wamid_key("wamid.x"), "wamid.x");
}

TEST(BoundedKey, LongInputBecomesADigestNoShortKeyCanEqual) {
    std::string long_a(600, 'a'), long_b(600, 'a');
    long_b.back() = 'b';
    std::string ka = bounded_key(long_a), kb = bounded_key(long_b);
    EXPECT_EQ(ka.size(), 33u);
    EXPECT_EQ(ka.front(), '\0');
    EXPECT_NE(ka, kb);
    EXPECT_EQ(ka, bounded_key(long_a));  // stable: dedupe works
    // A short input that looks like a digest is digested too.
    EXPECT_NE(bounded_key(ka), ka);
    EXPECT_EQ(bounded_key(ka).size(), 33u);
    std::string over(kMaxInputKey + 1, 'w');
    EXPECT_EQ(bounded_key(over).size(), 33u);
}

TEST(BoundedKey, PairKeyOfALongCustomerFits) {
    std::string customer(700, '9');
    std::string k = pair_key("+14155551234", customer);
    EXPECT_LE(k.size(), 511u);
    EXPECT_NE(k, pair_key("+14155551234", customer + "0"));
    EXPECT_EQ(pair_key("+1", "+2"), std::string("+1\0+2", 5));
}

class StoreLimits : public wa::unit::StoreFixture {};

TEST_F(StoreLimits, AKeyLmdbCannotHoldIsBadInputNotAStoreFailure) {
    Txn t = write();
    std::string key(600, 'k');
    for (auto r : {t.put(Db::wamids, key, "v"), t.put(Db::wamids, "", "v")}) {
        ASSERT_FALSE(r.ok());
        EXPECT_EQ(r.error().code, "invalid_key");
        EXPECT_FALSE(is_store_failure(r.error()));
    }
    // A read of such a key finds nothing (LMDB does not check it there).
    auto got = t.get(Db::wamids, key);
    EXPECT_TRUE(got.ok() ? !*got : !is_store_failure(got.error()));
}

TEST_F(StoreLimits, RoomShrinksAsTheStoreFillsAndComesBackWhenFreed) {
    std::size_t before;
    {
        Txn t = write();
        before = t.room();
        EXPECT_GT(before, map_size() - 64 * 4096);
        for (int i = 0; i < 200; i++) {
            ASSERT_TRUE(t.put(Db::messages, "m" + std::to_string(i), std::string(3000, 'x')));
        }
        EXPECT_LT(t.room(), before - 200 * 3000);
        ASSERT_TRUE(t.commit());
    }
    {
        Txn t = write();
        for (int i = 0; i < 200; i++)
            ASSERT_TRUE(t.del(Db::messages, "m" + std::to_string(i)));
        ASSERT_TRUE(t.commit());
    }
    Txn t = write();
    EXPECT_GT(t.room(), before - 16 * 4096);  // freed pages count as room again
}

TEST(Reserve, AnEighthOfTheMapWithinBounds) {
    EXPECT_EQ(GroupCommit::reserve_for(std::size_t{1} << 30), std::size_t{64} << 20);
    EXPECT_EQ(GroupCommit::reserve_for(std::size_t{64} << 20), std::size_t{8} << 20);
    EXPECT_EQ(GroupCommit::reserve_for(std::size_t{1} << 20), std::size_t{256} << 10);
    EXPECT_EQ(GroupCommit::reserve_for(std::size_t{256} << 10), std::size_t{128} << 10);
}

class ReserveTest : public wa::unit::StoreFixture {
protected:
    std::size_t map_size() const override { return std::size_t{1} << 20; }

    // Submits one leave_reserve write of n bytes; returns its result.
    Result<void> grow(GroupCommit& gc, int i, std::size_t n,
                      GroupCommit::Room room = GroupCommit::Room::leave_reserve) {
        Result<void> out = make_error("not_run", "");
        gc.submit(
            [i, n](Txn& t) {
                return t.put(Db::messages, "g" + std::to_string(i), std::string(n, 'x'));
            },
            [&out](const Result<void>& r) { out = r; }, room);
        gc.flush();
        return out;
    }
};

TEST_F(ReserveTest, GrowingWritesLeaveTheReserveAndBookkeepingMayUseIt) {
    GroupCommit gc(*store_);
    std::size_t reserve = GroupCommit::reserve_for(map_size());
    gc.set_reserve(reserve);
    int i = 0;
    Result<void> r;
    while ((r = grow(gc, i, 2000)).ok())
        i++;
    EXPECT_EQ(r.error().code, "store_full");
    EXPECT_TRUE(is_store_failure(r.error()));
    EXPECT_GT(i, 100);
    {
        Txn t = write();
        EXPECT_GE(t.room() + 4 * 4096, reserve);  // the reserve is still there
    }
    // Delivery bookkeeping still gets in (here: many small writes).
    for (int k = 0; k < 20; k++) {
        EXPECT_TRUE(grow(gc, 100000 + k, 500, GroupCommit::Room::may_use_reserve).ok()) << k;
    }
    // And a growing write still does not.
    EXPECT_FALSE(grow(gc, i + 1, 2000).ok());
}

TEST_F(ReserveTest, WithoutAReserveTheMapFillsToItsEnd) {
    GroupCommit gc(*store_);
    int i = 0;
    Result<void> r;
    while ((r = grow(gc, i, 2000)).ok())
        i++;
    EXPECT_EQ(r.error().code, "store_full");
    Txn t = write();
    EXPECT_LT(t.room(), GroupCommit::reserve_for(map_size()) / 2);
}

class OutboxRoom : public wa::unit::OutboxFixture {};

TEST_F(OutboxRoom, ADeliveredEventDropsItsBodyAndADeliveryCarriesItsLease) {
    auto txn = write();
    Uuid conv = uuid_v7_now();
    auto e = make_event(conv, 0);
    e.body = std::string(5000, 'b');
    auto d = enqueue(txn, e);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->lease_until_ns, wa::unit::kT0 + policy_.lease_ns);
    attempt(txn, e.id, 200, wa::unit::kT0 + 1);
    Event stored = load(txn, e.id);
    EXPECT_EQ(stored.state, EventState::delivered);
    EXPECT_TRUE(stored.body.empty());
}

TEST_F(OutboxRoom, ADeadEventKeepsItsBodyForReplay) {
    auto txn = write();
    auto e = make_event(uuid_v7_now(), 0);
    ASSERT_TRUE(enqueue(txn, e));
    attempt(txn, e.id, 410, wa::unit::kT0 + 1);
    Event stored = load(txn, e.id);
    EXPECT_EQ(stored.state, EventState::dead);
    EXPECT_EQ(stored.body, e.body);
}

}  // namespace

namespace {

class StoreErrors : public wa::unit::StoreFixture {};

TEST_F(StoreErrors, AFullFileSystemIsNamedAsSuch) {
    auto e = store_->io_error(ENOSPC, "commit");
    EXPECT_NE(e.message.find("no space left on device"), std::string::npos) << e.message;
    EXPECT_TRUE(wa::is_store_failure(e));
    // EIO on a file system with room is LMDB's plain I/O error
    auto io = store_->io_error(EIO, "commit");
    EXPECT_EQ(io.message.find("no space left"), std::string::npos) << io.message;
    EXPECT_EQ(io.code, "store_error");
}

}  // namespace

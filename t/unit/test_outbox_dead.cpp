// Outbox dead letters: listing, replay (one, all), order and the counter.
#include <gtest/gtest.h>

#include <algorithm>

#include "base/clock.hpp"
#include "domain/outbox.hpp"
#include "outbox_fixture.hpp"

namespace {

using namespace wa;

using wa::unit::kT0;

class OutboxDead : public wa::unit::OutboxFixture {
protected:
    std::vector<Event> dead(Txn& txn, std::size_t limit = 100) {
        auto r = outbox_dead(txn, limit);
        EXPECT_TRUE(r.ok()) << r.error().message;
        return r.ok() ? *r : std::vector<Event>{};
    }

    bool replay(Txn& txn, const Uuid& id, std::int64_t now) {
        auto r = outbox_replay(txn, id, policy_, now);
        EXPECT_TRUE(r.ok()) << r.error().message;
        return r.ok() && *r;
    }

    OutboxStats stats(Txn& txn) {
        auto st = outbox_stats(txn);
        EXPECT_TRUE(st.ok()) << st.error().message;
        return st.ok() ? *st : OutboxStats{};
    }

    // An event of its own conversation, dead on its first (4xx) attempt.
    Event kill_one(Txn& txn, std::int64_t now = kT0) {
        Event e = make_event(uuid_v7_now(), 0);
        EXPECT_TRUE(enqueue(txn, e, now));
        EXPECT_EQ(attempt(txn, e.id, 400, now + 1, "bad request").verdict, AttemptVerdict::dead);
        return e;
    }
};

TEST_F(OutboxDead, FinalFailureIsListed) {
    auto txn = write();
    EXPECT_TRUE(dead(txn).empty());
    Event e = kill_one(txn);

    auto list = dead(txn);
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0].id, e.id);
    EXPECT_EQ(list[0].state, EventState::dead);
    EXPECT_EQ(list[0].attempts, 1u);
    EXPECT_EQ(list[0].last_status, 400);
    EXPECT_EQ(list[0].last_error, "bad request");
    EXPECT_EQ(list[0].callback_url, e.callback_url);
    EXPECT_EQ(list[0].created_at_ns, kT0);
    EXPECT_EQ(stats(txn).dead, 1u);
    EXPECT_EQ(count(txn, Db::outbox_dead), 1u);
}

TEST_F(OutboxDead, ListIsOldestFirstAndLimited) {
    auto txn = write();
    std::vector<Uuid> ids;
    for (int i = 0; i < 5; i++)
        ids.push_back(kill_one(txn).id);
    auto all = dead(txn);
    ASSERT_EQ(all.size(), 5u);
    for (std::size_t i = 0; i < all.size(); i++)
        EXPECT_EQ(all[i].id, ids[i]) << i;
    auto two = dead(txn, 2);
    ASSERT_EQ(two.size(), 2u);
    EXPECT_EQ(two[0].id, ids[0]);
    EXPECT_EQ(two[1].id, ids[1]);
    EXPECT_TRUE(dead(txn, 0).empty());
}

TEST_F(OutboxDead, MaxAgeDeathIsListedToo) {
    auto txn = write();
    Event e = make_event(uuid_v7_now(), 0);
    ASSERT_TRUE(enqueue(txn, e));
    // 503 past the horizon: dead without a 4xx.
    auto out = attempt(txn, e.id, 503, kT0 + policy_.max_age_ns);
    EXPECT_EQ(out.verdict, AttemptVerdict::dead);
    auto list = dead(txn);
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0].id, e.id);
}

TEST_F(OutboxDead, ReplayMakesItPendingAndDueNow) {
    Event e;
    {
        auto txn = write();
        e = kill_one(txn);
        ASSERT_TRUE(txn.commit().ok());
    }
    const std::int64_t now = kT0 + 3600 * kNsPerSec;
    {
        auto txn = write();
        EXPECT_TRUE(replay(txn, e.id, now));
        ASSERT_TRUE(txn.commit().ok());
    }
    {
        auto txn = read();
        Event st = load(txn, e.id);
        EXPECT_EQ(st.state, EventState::pending);
        EXPECT_EQ(st.attempts, 0u);
        EXPECT_EQ(st.created_at_ns, now);  // the retry horizon restarts
        EXPECT_EQ(st.next_attempt_ns, now);
        EXPECT_EQ(st.lease_until_ns, 0);
        EXPECT_EQ(st.body, e.body);  // the same bytes, the same evt_ id
        EXPECT_TRUE(dead(txn).empty());
        auto s = stats(txn);
        EXPECT_EQ(s.dead, 0u);
        EXPECT_EQ(s.pending, 1u);
        auto next = outbox_next_due(txn);
        ASSERT_TRUE(next.ok());
        ASSERT_TRUE(*next);
        EXPECT_EQ(**next, now);
    }
    auto txn = write();
    EXPECT_TRUE(claim(txn, now - 1).empty());  // not before it is due
    auto got = claim(txn, now);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].event_id, e.id);
    EXPECT_EQ(got[0].event_id_text, typeid_encode("evt", e.id));
    EXPECT_EQ(got[0].attempt, 1u);
    EXPECT_EQ(got[0].body, e.body);

    // Delivered this time: settled for good, not dead again.
    EXPECT_EQ(attempt(txn, e.id, 200, now + 1).verdict, AttemptVerdict::delivered);
    EXPECT_EQ(load(txn, e.id).state, EventState::delivered);
    EXPECT_EQ(stats(txn).pending, 0u);
    EXPECT_EQ(count(txn, Db::outbox_due), 0u);
}

TEST_F(OutboxDead, ReplayedEventGetsAFreshRetryHorizon) {
    auto txn = write();
    Event e = kill_one(txn);
    const std::int64_t now = kT0 + 2 * policy_.max_age_ns;  // long past the first horizon
    ASSERT_TRUE(replay(txn, e.id, now));
    ASSERT_EQ(claim(txn, now).size(), 1u);
    auto out = attempt(txn, e.id, 503, now + 1);
    EXPECT_EQ(out.verdict, AttemptVerdict::retry);
    EXPECT_TRUE(dead(txn).empty());
}

TEST_F(OutboxDead, ReplayOfANonDeadEventIsFalse) {
    auto txn = write();
    Uuid conv = uuid_v7_now();
    Event pending = make_event(conv, 0);
    ASSERT_TRUE(enqueue(txn, pending));
    Event delivered = make_event(uuid_v7_now(), 0);
    ASSERT_TRUE(enqueue(txn, delivered));
    attempt(txn, delivered.id, 204, kT0 + 1);
    Event dead_one = kill_one(txn);

    EXPECT_FALSE(replay(txn, uuid_v7_now(), kT0));  // unknown
    EXPECT_FALSE(replay(txn, pending.id, kT0));     // pending
    EXPECT_FALSE(replay(txn, delivered.id, kT0));   // delivered
    EXPECT_EQ(load(txn, pending.id).state, EventState::pending);
    EXPECT_EQ(load(txn, delivered.id).state, EventState::delivered);
    EXPECT_EQ(stats(txn).dead, 1u);

    EXPECT_TRUE(replay(txn, dead_one.id, kT0 + 2));
    EXPECT_FALSE(replay(txn, dead_one.id, kT0 + 3));  // already replayed
    EXPECT_EQ(stats(txn).dead, 0u);
}

TEST_F(OutboxDead, ReplayedEventGoesBeforeItsConversationsPendingEvents) {
    auto txn = write();
    Uuid conv = uuid_v7_now();
    Event e1 = make_event(conv, 0);
    Event e2 = make_event(conv, 1);
    Event e3 = make_event(conv, 2);
    ASSERT_TRUE(enqueue(txn, e1));
    EXPECT_FALSE(enqueue(txn, e2));
    EXPECT_FALSE(enqueue(txn, e3));

    // e1 dies: e2 is released and leased (in flight).
    auto out = attempt(txn, e1.id, 410, kT0 + 1);
    ASSERT_EQ(out.verdict, AttemptVerdict::dead);
    ASSERT_TRUE(out.next);
    EXPECT_EQ(out.next->event_id, e2.id);

    const std::int64_t now = kT0 + 10 * kNsPerSec;
    ASSERT_TRUE(replay(txn, e1.id, now));

    // e1 is the head again; e2 waits without lease or due entry.
    Event s2 = load(txn, e2.id);
    EXPECT_EQ(s2.state, EventState::pending);
    EXPECT_EQ(s2.lease_until_ns, 0);
    EXPECT_EQ(s2.next_attempt_ns, 0);
    EXPECT_EQ(count(txn, Db::outbox_due), 1u);
    EXPECT_EQ(stats(txn).pending, 3u);

    // e2's sender reports late: ignored, e2 is not the head any more.
    auto late = attempt(txn, e2.id, 200, now + 1);
    EXPECT_FALSE(late.next);
    EXPECT_EQ(load(txn, e2.id).state, EventState::pending);

    // Only e1 is claimable, even long after e2's lease would have run out.
    auto got = claim(txn, now + policy_.lease_ns * 10);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].event_id, e1.id);

    // Then the conversation goes on in order: e2, then e3.
    out = attempt(txn, e1.id, 200, now + 2);
    ASSERT_TRUE(out.next);
    EXPECT_EQ(out.next->event_id, e2.id);
    out = attempt(txn, e2.id, 200, now + 3);
    ASSERT_TRUE(out.next);
    EXPECT_EQ(out.next->event_id, e3.id);
    out = attempt(txn, e3.id, 200, now + 4);
    EXPECT_FALSE(out.next);
    EXPECT_EQ(stats(txn).pending, 0u);
    EXPECT_EQ(count(txn, Db::outbox_due), 0u);
}

TEST_F(OutboxDead, ReplayOfAnEarlierEventDisplacesAReplayedHead) {
    auto txn = write();
    Uuid conv = uuid_v7_now();
    Event e1 = make_event(conv, 0);
    Event e2 = make_event(conv, 1);
    ASSERT_TRUE(enqueue(txn, e1));
    EXPECT_FALSE(enqueue(txn, e2));
    attempt(txn, e1.id, 400, kT0 + 1);             // e1 dead, e2 released
    auto out = attempt(txn, e2.id, 400, kT0 + 2);  // e2 dead
    EXPECT_FALSE(out.next);
    ASSERT_EQ(dead(txn).size(), 2u);

    // e2 first: the queue is empty, so it is the head and due.
    const std::int64_t now = kT0 + kNsPerSec;
    ASSERT_TRUE(replay(txn, e2.id, now));
    EXPECT_EQ(load(txn, e2.id).next_attempt_ns, now);
    // then e1: it goes in front, e2 waits again.
    ASSERT_TRUE(replay(txn, e1.id, now));
    EXPECT_EQ(load(txn, e2.id).next_attempt_ns, 0);
    EXPECT_EQ(count(txn, Db::outbox_due), 1u);
    auto got = claim(txn, now);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].event_id, e1.id);
    out = attempt(txn, e1.id, 200, now + 1);
    ASSERT_TRUE(out.next);
    EXPECT_EQ(out.next->event_id, e2.id);
}

TEST_F(OutboxDead, ReplayAllQueuesEveryDeadEvent) {
    std::vector<Uuid> ids;
    {
        auto txn = write();
        for (int i = 0; i < 4; i++)
            ids.push_back(kill_one(txn).id);
        EXPECT_EQ(stats(txn).dead, 4u);
        ASSERT_TRUE(txn.commit().ok());
    }
    const std::int64_t now = kT0 + kNsPerSec;
    {
        auto txn = write();
        auto n = outbox_replay_all(txn, policy_, now, 3);  // a batch
        ASSERT_TRUE(n.ok()) << n.error().message;
        EXPECT_EQ(*n, 3u);
        EXPECT_EQ(stats(txn).dead, 1u);
        auto left = dead(txn);
        ASSERT_EQ(left.size(), 1u);
        EXPECT_EQ(left[0].id, ids[3]);  // oldest first
        n = outbox_replay_all(txn, policy_, now);
        ASSERT_TRUE(n.ok());
        EXPECT_EQ(*n, 1u);
        n = outbox_replay_all(txn, policy_, now);
        ASSERT_TRUE(n.ok());
        EXPECT_EQ(*n, 0u);
        ASSERT_TRUE(txn.commit().ok());
    }
    auto txn = write();
    auto s = stats(txn);
    EXPECT_EQ(s.dead, 0u);
    EXPECT_EQ(s.pending, 4u);
    EXPECT_EQ(s.oldest_pending_ns, now);
    EXPECT_TRUE(dead(txn).empty());
    auto got = claim(txn, now);
    ASSERT_EQ(got.size(), 4u);
    for (const auto& d : got) {
        EXPECT_NE(std::find(ids.begin(), ids.end(), d.event_id), ids.end());
    }
}

TEST_F(OutboxDead, DeadAgainAfterReplayIsCountedAgain) {
    auto txn = write();
    Event e = kill_one(txn);
    EXPECT_EQ(stats(txn).dead, 1u);
    const std::int64_t now = kT0 + kNsPerSec;
    ASSERT_TRUE(replay(txn, e.id, now));
    EXPECT_EQ(stats(txn).dead, 0u);
    ASSERT_EQ(claim(txn, now).size(), 1u);
    EXPECT_EQ(attempt(txn, e.id, 404, now + 1).verdict, AttemptVerdict::dead);
    EXPECT_EQ(stats(txn).dead, 1u);
    auto list = dead(txn);
    ASSERT_EQ(list.size(), 1u);
    EXPECT_EQ(list[0].attempts, 1u);
    EXPECT_EQ(list[0].last_status, 404);
}

TEST_F(OutboxDead, DeadCountNeverGoesBelowZero) {
    // A counter that lags the index (e.g. reset by hand) is not wrapped around.
    auto txn = write();
    Event e = kill_one(txn);
    ASSERT_TRUE(txn.del(Db::meta, "dead_count").ok());
    ASSERT_TRUE(replay(txn, e.id, kT0 + 1));
    EXPECT_EQ(stats(txn).dead, 0u);
}

TEST_F(OutboxDead, SurvivesReopen) {
    Event e;
    {
        auto txn = write();
        e = kill_one(txn);
        ASSERT_TRUE(txn.commit().ok());
    }
    store_.reset();
    Store::Options opts = options(true);
    opts.map_size = 0;  // the file's own map size
    auto s = Store::open(opts);
    ASSERT_TRUE(s.ok()) << s.error().message;
    auto txn = (*s)->begin_read();
    ASSERT_TRUE(txn.ok());
    auto list = outbox_dead(*txn, 10);
    ASSERT_TRUE(list.ok()) << list.error().message;
    ASSERT_EQ(list->size(), 1u);
    EXPECT_EQ((*list)[0].id, e.id);
}

}  // namespace

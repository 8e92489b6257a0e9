// Outbox: per-conversation order, leases, backoff, dead letters, due scans.
#include <gtest/gtest.h>

#include "base/clock.hpp"
#include "domain/outbox.hpp"
#include "outbox_fixture.hpp"

namespace {

using namespace wa;

using wa::unit::kT0;

class Outbox : public wa::unit::OutboxFixture {
protected:
    std::size_t due_entries(Txn& txn) { return count(txn, Db::outbox_due); }
};

TEST_F(Outbox, HeadIsLeasedAndReturned) {
    auto txn = write();
    Uuid conv = uuid_v7_now();
    auto e = make_event(conv, 0);
    auto d = enqueue(txn, e);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->event_id, e.id);
    EXPECT_EQ(d->event_id_text, typeid_encode("evt", e.id));
    EXPECT_EQ(d->attempt, 1u);
    EXPECT_EQ(d->url, e.callback_url);
    EXPECT_EQ(d->body, e.body);
    EXPECT_EQ(d->number, e.number);
    EXPECT_EQ(d->created_at_ns, kT0);

    auto stored = load(txn, e.id);
    EXPECT_EQ(stored.state, EventState::pending);
    EXPECT_EQ(stored.lease_until_ns, kT0 + policy_.lease_ns);
    auto due = txn.get(Db::outbox_due, due_key(kT0 + policy_.lease_ns, e.id));
    ASSERT_TRUE(due.ok());
    EXPECT_TRUE(*due);
    EXPECT_EQ(due_entries(txn), 1u);
}

TEST_F(Outbox, SecondEventWaitsForFirst) {
    auto txn = write();
    Uuid conv = uuid_v7_now();
    auto e1 = make_event(conv, 0), e2 = make_event(conv, 1);
    ASSERT_TRUE(enqueue(txn, e1));
    EXPECT_FALSE(enqueue(txn, e2));
    EXPECT_EQ(due_entries(txn), 1u);  // only the head

    // Nothing of e2 is claimable, even long after everything is due.
    auto claimed = claim(txn, kT0 + 3600 * kNsPerSec);
    ASSERT_EQ(claimed.size(), 1u);
    EXPECT_EQ(claimed[0].event_id, e1.id);  // the expired lease
    EXPECT_EQ(claimed[0].attempt, 1u);

    std::int64_t t = kT0 + 3600 * kNsPerSec + 1;
    auto out = attempt(txn, e1.id, 200, t);
    EXPECT_EQ(out.verdict, AttemptVerdict::delivered);
    ASSERT_TRUE(out.next);
    EXPECT_EQ(out.next->event_id, e2.id);
    EXPECT_EQ(out.next->attempt, 1u);
    EXPECT_EQ(load(txn, e1.id).state, EventState::delivered);
    EXPECT_EQ(load(txn, e2.id).lease_until_ns, t + policy_.lease_ns);
    EXPECT_EQ(due_entries(txn), 1u);

    auto last = attempt(txn, e2.id, 204, t + 1);
    EXPECT_EQ(last.verdict, AttemptVerdict::delivered);
    EXPECT_FALSE(last.next);
    EXPECT_EQ(due_entries(txn), 0u);

    auto stats = outbox_stats(txn);
    ASSERT_TRUE(stats.ok());
    EXPECT_EQ(stats->pending, 0u);
    EXPECT_EQ(stats->dead, 0u);
}

TEST_F(Outbox, ConversationsAreIndependent) {
    auto txn = write();
    Uuid a = uuid_v7_now(), b = uuid_v7_now();
    auto a0 = make_event(a, 0), a1 = make_event(a, 1), b0 = make_event(b, 0);
    EXPECT_TRUE(enqueue(txn, a0));
    EXPECT_FALSE(enqueue(txn, a1));
    auto d = enqueue(txn, b0);
    ASSERT_TRUE(d);
    EXPECT_EQ(d->event_id, b0.id);

    auto stats = outbox_stats(txn);
    ASSERT_TRUE(stats.ok());
    EXPECT_EQ(stats->pending, 3u);
    EXPECT_EQ(stats->oldest_pending_ns, kT0);

    // b's delivery does not release a's second event.
    auto out = attempt(txn, b0.id, 200, kT0 + 1);
    EXPECT_FALSE(out.next);
}

TEST_F(Outbox, Classify) {
    EXPECT_EQ(classify_attempt(200), AttemptVerdict::delivered);
    EXPECT_EQ(classify_attempt(204), AttemptVerdict::delivered);
    EXPECT_EQ(classify_attempt(299), AttemptVerdict::delivered);
    for (int s : {400, 401, 403, 404, 410, 422, 499}) {
        EXPECT_EQ(classify_attempt(s), AttemptVerdict::dead) << s;
    }
    for (int s : {0, 408, 429, 500, 502, 503, 301, 302, 100, 600}) {
        EXPECT_EQ(classify_attempt(s), AttemptVerdict::retry) << s;
    }
}

TEST_F(Outbox, RetryIsScheduledWithinJitterBounds) {
    for (int status : {408, 429, 500, 502, 0}) {
        auto txn = write();
        auto e = make_event(uuid_v7_now(), 0);
        ASSERT_TRUE(enqueue(txn, e));
        std::int64_t now = kT0;
        // attempt n waits in [i/2, i] with i = min(1s * 2^(n-1), 1h)
        for (std::uint32_t n = 1; n <= 16; n++) {
            auto out = attempt(txn, e.id, status, now);
            ASSERT_EQ(out.verdict, AttemptVerdict::retry) << status;
            EXPECT_FALSE(out.next);
            auto st = load(txn, e.id);
            EXPECT_EQ(st.attempts, n);
            EXPECT_EQ(st.last_status, status);
            EXPECT_EQ(st.last_error, "x");
            EXPECT_EQ(st.lease_until_ns, 0);
            std::int64_t interval = std::min<std::int64_t>(
                kNsPerSec << std::min<std::uint32_t>(n - 1, 40), 3600 * kNsPerSec);
            EXPECT_GE(st.next_attempt_ns - now, interval / 2) << n;
            EXPECT_LE(st.next_attempt_ns - now, interval) << n;
            EXPECT_EQ(due_entries(txn), 1u);

            // Not due before its time; due (and leased again) at it.
            EXPECT_TRUE(claim(txn, st.next_attempt_ns - 1).empty());
            auto c = claim(txn, st.next_attempt_ns);
            ASSERT_EQ(c.size(), 1u);
            EXPECT_EQ(c[0].attempt, n + 1);
            now = st.next_attempt_ns;
        }
        txn.abort();
    }
}

TEST_F(Outbox, ClientErrorsAreFinal) {
    for (int status : {400, 404}) {
        auto txn = write();
        Uuid conv = uuid_v7_now();
        auto e1 = make_event(conv, 0), e2 = make_event(conv, 1);
        ASSERT_TRUE(enqueue(txn, e1));
        EXPECT_FALSE(enqueue(txn, e2));
        auto out = attempt(txn, e1.id, status, kT0 + 1);
        EXPECT_EQ(out.verdict, AttemptVerdict::dead);
        ASSERT_TRUE(out.next);
        EXPECT_EQ(out.next->event_id, e2.id);
        auto st = load(txn, e1.id);  // kept: dead letters are listable
        EXPECT_EQ(st.state, EventState::dead);
        EXPECT_EQ(st.last_status, status);
        auto stats = outbox_stats(txn);
        ASSERT_TRUE(stats.ok());
        EXPECT_EQ(stats->dead, 1u);
        EXPECT_EQ(stats->pending, 1u);
        txn.abort();
    }
}

TEST_F(Outbox, MaxAgeMakesItDeadAndReleasesNext) {
    policy_.max_age_ns = 10 * kNsPerSec;
    auto txn = write();
    Uuid conv = uuid_v7_now();
    auto e1 = make_event(conv, 0), e2 = make_event(conv, 1);
    ASSERT_TRUE(enqueue(txn, e1));
    EXPECT_FALSE(enqueue(txn, e2));
    auto out = attempt(txn, e1.id, 503, kT0 + 5 * kNsPerSec);
    EXPECT_EQ(out.verdict, AttemptVerdict::retry);
    out = attempt(txn, e1.id, 503, kT0 + 10 * kNsPerSec);  // any backoff passes max_age
    EXPECT_EQ(out.verdict, AttemptVerdict::dead);
    ASSERT_TRUE(out.next);
    EXPECT_EQ(out.next->event_id, e2.id);
    EXPECT_EQ(load(txn, e1.id).state, EventState::dead);
    EXPECT_EQ(due_entries(txn), 1u);
    auto stats = outbox_stats(txn);
    ASSERT_TRUE(stats.ok());
    EXPECT_EQ(stats->dead, 1u);
    EXPECT_EQ(stats->pending, 1u);
}

TEST_F(Outbox, ExpiredLeaseIsClaimableAgain) {
    Uuid conv = uuid_v7_now();
    auto e = make_event(conv, 0);
    {
        auto txn = write();
        ASSERT_TRUE(enqueue(txn, e));
        ASSERT_TRUE(txn.commit().ok());
    }
    // The worker that got the lease crashed; nothing is reported.
    auto txn = write();
    std::int64_t lease_end = kT0 + policy_.lease_ns;
    EXPECT_TRUE(claim(txn, lease_end - 1).empty());
    auto c = claim(txn, lease_end);
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].event_id, e.id);
    EXPECT_EQ(c[0].attempt, 1u);
    EXPECT_EQ(load(txn, e.id).lease_until_ns, lease_end + policy_.lease_ns);
    EXPECT_TRUE(claim(txn, lease_end).empty());  // leased again
    EXPECT_EQ(due_entries(txn), 1u);
}

TEST_F(Outbox, ClaimRespectsLimitAndOrder) {
    auto txn = write();
    std::vector<Uuid> ids;
    for (int i = 0; i < 5; i++) {
        auto e = make_event(uuid_v7_now(), 0);
        ASSERT_TRUE(enqueue(txn, e, kT0 + i));
        ids.push_back(e.id);
    }
    std::int64_t late = kT0 + policy_.lease_ns + 10;
    auto c = claim(txn, late, 2);
    ASSERT_EQ(c.size(), 2u);
    EXPECT_EQ(c[0].event_id, ids[0]);
    EXPECT_EQ(c[1].event_id, ids[1]);
    c = claim(txn, late, 10);
    ASSERT_EQ(c.size(), 3u);
    EXPECT_EQ(c[2].event_id, ids[4]);
}

TEST_F(Outbox, StaleDueKeysAreRemoved) {
    auto txn = write();
    auto e = make_event(uuid_v7_now(), 0);
    ASSERT_TRUE(enqueue(txn, e));
    // A due key for an event that does not exist, and one for a settled one.
    Uuid ghost = uuid_v7_now();
    ASSERT_TRUE(txn.put(Db::outbox_due, due_key(kT0, ghost), {}).ok());
    auto done = make_event(uuid_v7_now(), 0);
    ASSERT_TRUE(enqueue(txn, done));
    attempt(txn, done.id, 200, kT0);
    ASSERT_TRUE(txn.put(Db::outbox_due, due_key(kT0, done.id), {}).ok());

    auto c = claim(txn, kT0, 1);
    ASSERT_EQ(c.size(), 0u);
    EXPECT_EQ(due_entries(txn), 1u);  // only e's lease is left
    c = claim(txn, kT0 + policy_.lease_ns, 1);
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].event_id, e.id);
}

TEST_F(Outbox, LateResultOfSettledEventIsIgnored) {
    auto txn = write();
    Uuid conv = uuid_v7_now();
    auto e1 = make_event(conv, 0), e2 = make_event(conv, 1);
    ASSERT_TRUE(enqueue(txn, e1));
    EXPECT_FALSE(enqueue(txn, e2));
    auto out = attempt(txn, e1.id, 200, kT0 + 1);
    ASSERT_TRUE(out.next);

    // A second sender (whose lease had run out) reports afterwards.
    auto late = attempt(txn, e1.id, 500, kT0 + 2);
    EXPECT_EQ(late.verdict, AttemptVerdict::retry);
    EXPECT_FALSE(late.next);
    auto st = load(txn, e1.id);
    EXPECT_EQ(st.state, EventState::delivered);
    EXPECT_EQ(st.attempts, 1u);
    EXPECT_EQ(due_entries(txn), 1u);  // e2's lease only

    auto unknown = attempt(txn, uuid_v7_now(), 200, kT0 + 3);
    EXPECT_EQ(unknown.verdict, AttemptVerdict::delivered);
    EXPECT_FALSE(unknown.next);
}

TEST_F(Outbox, ResultForAWaitingEventIsIgnored) {
    auto txn = write();
    Uuid conv = uuid_v7_now();
    auto e1 = make_event(conv, 0), e2 = make_event(conv, 1);
    ASSERT_TRUE(enqueue(txn, e1));
    EXPECT_FALSE(enqueue(txn, e2));
    auto out = attempt(txn, e2.id, 200, kT0 + 1);
    EXPECT_FALSE(out.next);
    EXPECT_EQ(load(txn, e2.id).state, EventState::pending);
    EXPECT_EQ(load(txn, e2.id).attempts, 0u);
    EXPECT_EQ(due_entries(txn), 1u);
    auto stats = outbox_stats(txn);
    ASSERT_TRUE(stats.ok());
    EXPECT_EQ(stats->pending, 2u);
}

TEST_F(Outbox, DuplicateSeqIsAnError) {
    auto txn = write();
    Uuid conv = uuid_v7_now();
    ASSERT_TRUE(enqueue(txn, make_event(conv, 0)));
    auto r = outbox_enqueue(txn, make_event(conv, 0), policy_, kT0);
    ASSERT_FALSE(r.ok());
}

TEST_F(Outbox, SurvivesCommitAndReopen) {
    Uuid conv = uuid_v7_now();
    auto e1 = make_event(conv, 0), e2 = make_event(conv, 1);
    {
        auto txn = write();
        ASSERT_TRUE(enqueue(txn, e1));
        EXPECT_FALSE(enqueue(txn, e2));
        ASSERT_TRUE(attempt(txn, e1.id, 0, kT0 + 1).verdict == AttemptVerdict::retry);
        ASSERT_TRUE(txn.commit().ok());
    }
    ASSERT_NO_FATAL_FAILURE(reopen());

    auto txn = write();
    auto c = claim(txn, kT0 + 10 * kNsPerSec);
    ASSERT_EQ(c.size(), 1u);
    EXPECT_EQ(c[0].event_id, e1.id);
    EXPECT_EQ(c[0].attempt, 2u);
    auto out = attempt(txn, e1.id, 200, kT0 + 11 * kNsPerSec);
    ASSERT_TRUE(out.next);
    EXPECT_EQ(out.next->event_id, e2.id);
}

// The oldest-age gauge (metrics) and whatsapp-admin stats read one figure.
TEST(OutboxAge, SecondsSinceTheOldestPendingEvent) {
    OutboxStats st;
    st.pending = 2;
    st.oldest_pending_ns = kT0;
    EXPECT_DOUBLE_EQ(outbox_oldest_age_seconds(st, kT0 + 2'500'000'000), 2.5);
    EXPECT_EQ(static_cast<unsigned long long>(outbox_oldest_age_seconds(st, kT0 + 2'999'999'999)),
              2u);  // the gauge's whole seconds round down
    EXPECT_EQ(outbox_oldest_age_seconds(st, kT0), 0);
    EXPECT_EQ(outbox_oldest_age_seconds(st, kT0 - kNsPerSec), 0);  // clock stepped back
}

TEST(OutboxAge, ZeroWhenNothingIsPending) {
    OutboxStats st;
    EXPECT_EQ(outbox_oldest_age_seconds(st, kT0), 0);
    st.oldest_pending_ns = kT0;  // pending 0 wins
    EXPECT_EQ(outbox_oldest_age_seconds(st, kT0 + kNsPerSec), 0);
}

}  // namespace

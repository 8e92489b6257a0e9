// Scheduled sends (SPEC §6.4 schedule_at): stored with the request, claimed
// once due and leased to one worker, then completed as a send, failed with
// an event, or retried later.
#include <gtest/gtest.h>

#include "base/clock.hpp"
#include "domain/conversations.hpp"
#include "domain/scheduled.hpp"
#include "store_fixture.hpp"
#include "test_numbers.hpp"

namespace {

using namespace wa;

constexpr std::int64_t kNow = 1'750'000'000 * kNsPerSec;
constexpr std::int64_t kMin = 60 * kNsPerSec;
constexpr std::int64_t kLease = 30 * kNsPerSec;

class ScheduledTest : public wa::unit::StoreFixture {
protected:
    void SetUp() override {
        StoreFixture::SetUp();
        wa::unit::add_test_numbers(numbers_);
    }

    // A template to a new customer, due at kNow + 1 min, expiring at + 1 h.
    Uuid schedule(std::int64_t expires = kNow + 60 * kMin) {
        SendRequest s;
        s.scope.tenant = "acme";
        s.sender = numbers_.by_e164("+14155551234");
        s.to = "+33612345678";
        s.content.kind = GraphContent::Kind::template_message;
        s.content.template_name = "t";
        s.content.language = "en";
        s.correlation_id = "c1";
        SendTarget t;
        t.number = s.sender;
        t.to = s.to;
        PreparedSend p = prepare_send(s, t);
        Txn txn = write();
        auto r = schedule_send(txn, t, s, p, kNow + kMin, expires, kNow);
        EXPECT_TRUE(r.ok()) << r.error().message;
        EXPECT_TRUE(txn.commit().ok());
        EXPECT_EQ(r->message_id, p.message_id);
        return p.id;
    }

    std::vector<DueSend> claim(std::int64_t now) {
        Txn txn = write();
        auto r = claim_scheduled(txn, now, 10, kLease);
        EXPECT_TRUE(r.ok()) << r.error().message;
        EXPECT_TRUE(txn.commit().ok());
        return r.ok() ? *r : std::vector<DueSend>{};
    }

    Message message(const Uuid& id) {
        Txn txn = read();
        auto bytes = txn.get(Db::messages, key_of(id));
        EXPECT_TRUE(bytes.ok() && *bytes);
        return *decode_message(**bytes);
    }

    std::optional<std::int64_t> next() {
        Txn txn = read();
        return *next_scheduled(txn);
    }

    NumberDirectory numbers_;
};

TEST_F(ScheduledTest, StoredThenClaimedOnceDueAndLeased) {
    Uuid id = schedule();
    EXPECT_EQ(message(id).status, "scheduled");
    EXPECT_EQ(next(), kNow + kMin);
    EXPECT_TRUE(claim(kNow).empty());  // not yet

    auto due = claim(kNow + kMin);
    ASSERT_EQ(due.size(), 1u);
    EXPECT_EQ(due[0].id, id);
    EXPECT_EQ(due[0].number_e164, "+14155551234");
    EXPECT_NE(due[0].graph_body.find("\"type\":\"template\""), std::string::npos);
    EXPECT_FALSE(due[0].expired);
    EXPECT_TRUE(claim(kNow + kMin + kLease - 1).empty());  // leased
    EXPECT_EQ(claim(kNow + kMin + kLease).size(), 1u);     // its worker died: again

    Txn txn = write();
    auto done =
        complete_scheduled(txn, id, "wamid.S1", numbers_, DeliveryPolicy{}, kNow + 2 * kMin);
    ASSERT_TRUE(done.ok()) << done.error().message;
    ASSERT_TRUE(txn.commit().ok());
    EXPECT_EQ(done->deliveries.size(), 1u);  // transactional.message.created
    EXPECT_EQ(message(id).status, "created");
    EXPECT_EQ(message(id).wamid, "wamid.S1");
    EXPECT_FALSE(next().has_value());
    EXPECT_TRUE(claim(kNow + 10 * kMin).empty());

    // Completing again (another worker's late answer) changes nothing.
    Txn again = write();
    auto twice = complete_scheduled(again, id, "wamid.S2", numbers_, DeliveryPolicy{}, kNow);
    ASSERT_TRUE(twice.ok());
    EXPECT_TRUE(twice->deliveries.empty());
    EXPECT_TRUE(again.commit().ok());
    EXPECT_EQ(message(id).wamid, "wamid.S1");
}

TEST_F(ScheduledTest, ExpiredIsDroppedWithAFailedEvent) {
    Uuid id = schedule(kNow + kMin / 2);  // expires before it is due
    auto due = claim(kNow + kMin);
    ASSERT_EQ(due.size(), 1u);
    EXPECT_TRUE(due[0].expired);
    Txn txn = write();
    auto failed = fail_scheduled(txn, id, 0, "expired", "expires_at passed", numbers_,
                                 DeliveryPolicy{}, kNow + kMin);
    ASSERT_TRUE(failed.ok()) << failed.error().message;
    ASSERT_TRUE(txn.commit().ok());
    ASSERT_EQ(failed->size(), 1u);
    Message m = message(id);
    EXPECT_EQ(m.status, "failed");
    EXPECT_EQ(m.error_title, "expired");
    EXPECT_FALSE(next().has_value());
}

TEST_F(ScheduledTest, RetryMovesItsTime) {
    Uuid id = schedule();
    ASSERT_EQ(claim(kNow + kMin).size(), 1u);
    Txn txn = write();
    ASSERT_TRUE(retry_scheduled(txn, id, kNow + 5 * kMin).ok());
    ASSERT_TRUE(txn.commit().ok());
    EXPECT_EQ(next(), kNow + 5 * kMin);
    EXPECT_TRUE(claim(kNow + 4 * kMin).empty());
    EXPECT_EQ(claim(kNow + 5 * kMin).size(), 1u);
}

}  // namespace

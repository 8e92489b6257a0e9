// Retention (domain/retention): what is older than the cutoff leaves, with
// its wamid and index entries; what must stay stays; steps are bounded.
#include <gtest/gtest.h>

#include "base/clock.hpp"
#include "domain/inbox.hpp"
#include "domain/retention.hpp"
#include "history.hpp"
#include "store_fixture.hpp"

namespace wa::unit {
namespace {

constexpr std::int64_t kHour = 3600 * kNsPerSec;

// A UUIDv7-shaped id made at ms (uuid_v7 itself never goes back in time
// within a process), n telling ids of one ms apart.
Uuid id_at(std::int64_t ms, std::uint8_t n = 0) {
    Uuid u = uuid_v7_now();
    for (int i = 0; i < 6; i++)
        u[i] = static_cast<std::uint8_t>(ms >> (8 * (5 - i)));
    u[15] = n;
    return u;
}

class Retention : public StoreFixture {
protected:
    void SetUp() override {
        StoreFixture::SetUp();
        conv_.id = uuid_v7_now();
        conv_.tenant = "acme";
        conv_.customer = "+1";
        conv_.created_at_ns = now_ns();
        Txn t = write();
        ASSERT_TRUE(save_conversation(t, conv_).ok());
        ASSERT_TRUE(t.commit().ok());
    }

    // A message created at ms (its UUIDv7 says when), with a wamid.
    Uuid message(std::int64_t ms, std::string status = "delivered") {
        Message m;
        m.id = id_at(ms, next_++);
        m.conversation_id = conv_.id;
        m.direction = Direction::outbound;
        m.status = std::move(status);
        m.wamid = "wamid." + uuid_to_string(m.id);
        Txn t = write();
        m.created_at_ns = ms * kNsPerMs;
        EXPECT_TRUE(add_to_history(t, m).ok());
        EXPECT_TRUE(t.put(Db::wamids, wamid_key(m.wamid), key_of(m.id)).ok());
        EXPECT_TRUE(t.commit().ok());
        return m.id;
    }

    Uuid event(std::int64_t ms, EventState state) {
        Event e;
        e.id = id_at(ms, next_++);
        e.conversation_id = conv_.id;
        e.type = "inbound.message.received";
        e.state = state;
        Txn t = write();
        EXPECT_TRUE(t.put(Db::outbox, key_of(e.id), encode(e)).ok());
        EXPECT_TRUE(t.commit().ok());
        return e.id;
    }

    bool has(Db db, const Uuid& id) {
        Txn t = read();
        auto v = t.get(db, key_of(id));
        return v.ok() && v->has_value();
    }

    std::size_t entries(Db db) {
        Txn t = read();
        return *t.entries(db);
    }

    PruneStep prune(std::int64_t cutoff_ns, std::size_t limit, PrunePosition& pos) {
        Txn t = write();
        auto s = prune_before(t, cutoff_ns, limit, pos);
        EXPECT_TRUE(s.ok()) << s.error().message;
        EXPECT_TRUE(t.commit().ok());
        return s.ok() ? *s : PruneStep{};
    }

    Conversation conv_;
    std::uint8_t next_ = 0;
};

TEST_F(Retention, OldMessagesGoWithTheirWamidAndLeaveTheHistory) {
    std::int64_t now_ms = now_ns() / kNsPerMs;
    Uuid old = message(now_ms - 2 * 3600 * 1000);
    Uuid fresh = message(now_ms);
    PrunePosition pos;
    PruneStep s = prune(now_ns() - kHour, 100, pos);
    EXPECT_EQ(s.messages, 1u);
    EXPECT_TRUE(s.done);
    EXPECT_FALSE(has(Db::messages, old));
    EXPECT_TRUE(has(Db::messages, fresh));
    EXPECT_EQ(entries(Db::wamids), 1u);
    EXPECT_EQ(entries(Db::conversations), 1u);  // conversations stay
    Txn t = read();
    auto history = conversation_messages(t, conv_.id, 10, std::nullopt);
    ASSERT_TRUE(history.ok());
    ASSERT_EQ(history->size(), 1u);  // the chain ends where retention cut it
    EXPECT_EQ((*history)[0].id, fresh);
}

TEST_F(Retention, ScheduledMessagesAndUndeliveredEventsStay) {
    std::int64_t old_ms = now_ns() / kNsPerMs - 2 * 3600 * 1000;
    Uuid later = message(old_ms, "scheduled");
    Uuid delivered = event(old_ms, EventState::delivered);
    Uuid pending = event(old_ms + 1, EventState::pending);
    Uuid dead = event(old_ms + 2, EventState::dead);
    PrunePosition pos;
    PruneStep s = prune(now_ns() - kHour, 100, pos);
    EXPECT_EQ(s.messages, 0u);
    EXPECT_EQ(s.events, 1u);
    EXPECT_TRUE(has(Db::messages, later));
    EXPECT_FALSE(has(Db::outbox, delivered));
    EXPECT_TRUE(has(Db::outbox, pending));
    EXPECT_TRUE(has(Db::outbox, dead));
}

TEST_F(Retention, StepsAreBoundedAndGoOnWhereTheyStopped) {
    std::int64_t old_ms = now_ns() / kNsPerMs - 2 * 3600 * 1000;
    for (int i = 0; i < 25; i++)
        message(old_ms + i);
    PrunePosition pos;
    std::size_t removed = 0;
    int steps = 0;
    for (PruneStep s; !s.done; steps++) {
        s = prune(now_ns() - kHour, 10, pos);
        removed += s.messages;
        ASSERT_LE(s.messages, 10u);
        ASSERT_LT(steps, 10);
    }
    EXPECT_EQ(removed, 25u);
    EXPECT_EQ(steps, 3);
    EXPECT_EQ(entries(Db::messages), 0u);
    // Later, what has grown old since is found from the same position.
    message(now_ns() / kNsPerMs - 2 * 3600 * 1000 + 100);
    EXPECT_EQ(prune(now_ns() - kHour, 10, pos).messages, 1u);
}

}  // namespace
}  // namespace wa::unit

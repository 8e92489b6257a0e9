// The realtime stream (domain/stream): entries per tenant in stamp order,
// ranges that never cross tenants, cursors, and pruning across tenants.
#include <gtest/gtest.h>

#include "base/clock.hpp"
#include "domain/inbox.hpp"
#include "domain/stream.hpp"
#include "history.hpp"
#include "store_fixture.hpp"

namespace wa::unit {
namespace {

class Stream : public StoreFixture {
protected:
    Conversation conversation(const std::string& tenant) {
        Conversation c;
        c.id = uuid_v7_now();
        c.tenant = tenant;
        c.customer = "+14155550100";
        c.created_at_ns = now_ns();
        Txn t = write();
        EXPECT_TRUE(save_conversation(t, c).ok());
        EXPECT_TRUE(t.commit().ok());
        return c;
    }

    // An inbound message streamed; returns its stamp.
    std::int64_t inbound(const Conversation& c, std::int64_t at_ns, const std::string& text) {
        Message m;
        m.id = uuid_v7_now();
        m.conversation_id = c.id;
        m.text = text;
        m.created_at_ns = at_ns;
        Txn t = write();
        EXPECT_TRUE(add_to_history(t, m).ok());
        auto s = stream_inbound(t, c, m);
        EXPECT_TRUE(s.ok());
        EXPECT_TRUE(t.commit().ok());
        return s.ok() ? *s : 0;
    }

    std::vector<StreamItem> range(const std::string& tenant, std::int64_t after,
                                  std::int64_t upto = INT64_MAX, std::size_t limit = 1000) {
        Txn t = read();
        auto r = stream_range(t, tenant, after, upto, limit);
        EXPECT_TRUE(r.ok());
        return r.ok() ? *r : std::vector<StreamItem>{};
    }
};

TEST_F(Stream, EntriesComeInStampOrderPerTenantOnly) {
    Conversation a = conversation("acme");
    Conversation b = conversation("acme2");  // a tenant whose name extends another's
    std::int64_t now = now_ns();
    std::int64_t s1 = inbound(a, now, "one");
    std::int64_t s2 = inbound(b, now, "other tenant");
    // An earlier wall time still stamps after what was streamed before.
    std::int64_t s3 = inbound(a, now - 1000, "two");
    EXPECT_LT(s1, s2);
    EXPECT_LT(s2, s3);

    auto items = range("acme", 0);
    ASSERT_EQ(items.size(), 2u);
    EXPECT_EQ(items[0].stamp, s1);
    EXPECT_EQ(items[1].stamp, s3);
    EXPECT_EQ(items[0].entry.conversation, a.id);
    ASSERT_EQ(range("acme2", 0).size(), 1u);
    EXPECT_TRUE(range("acm", 0).empty());

    // after is exclusive, upto inclusive, limit bounds.
    EXPECT_EQ(range("acme", s1).size(), 1u);
    EXPECT_EQ(range("acme", 0, s1).size(), 1u);
    EXPECT_EQ(range("acme", 0, INT64_MAX, 1).size(), 1u);
    EXPECT_TRUE(range("acme", s3).empty());
}

TEST_F(Stream, LoadsTheMessageAndConversationAndSkipsPrunedOnes) {
    Conversation a = conversation("acme");
    std::int64_t s = inbound(a, now_ns(), "hello");
    auto items = range("acme", 0);
    ASSERT_EQ(items.size(), 1u);
    {
        Txn t = read();
        auto ev = load_stream_event(t, items[0]);
        ASSERT_TRUE(ev.ok());
        ASSERT_TRUE(ev->has_value());
        EXPECT_EQ((*ev)->message.text, "hello");
        EXPECT_EQ((*ev)->conversation.tenant, "acme");
        EXPECT_EQ((*ev)->stamp, s);
    }
    Txn t = write();
    ASSERT_TRUE(t.del(Db::messages, key_of(items[0].entry.message)).ok());
    auto ev = load_stream_event(t, items[0]);
    ASSERT_TRUE(ev.ok());
    EXPECT_FALSE(ev->has_value());
}

TEST_F(Stream, StatusEntriesCarryTheStatusOfTheirTime) {
    Conversation a = conversation("acme");
    Message m;
    m.id = uuid_v7_now();
    m.direction = Direction::outbound;
    m.conversation_id = a.id;
    m.status = "failed";
    m.error_code = 131026;
    m.error_title = "Message undeliverable";
    Txn t = write();
    ASSERT_TRUE(add_to_history(t, m).ok());
    auto s = stream_status(t, a, m, now_ns());
    ASSERT_TRUE(s.ok());
    ASSERT_TRUE(t.commit().ok());
    auto items = range("acme", 0);
    ASSERT_EQ(items.size(), 1u);
    EXPECT_EQ(items[0].entry.kind, StreamKind::status);
    EXPECT_EQ(items[0].entry.status, "failed");
    EXPECT_EQ(items[0].entry.error_code, 131026);
    EXPECT_EQ(items[0].entry.error_title, "Message undeliverable");
}

TEST_F(Stream, EventIdsRoundTripAndRejectAnythingElse) {
    EXPECT_EQ(stream_event_id(255), "se_00000000000000ff");
    EXPECT_EQ(parse_stream_event_id(stream_event_id(1764600000123456789)), 1764600000123456789);
    EXPECT_LT(stream_event_id(9), stream_event_id(10));
    for (const char* bad :
         {"", "se_", "se_00000000000000FF", "se_0000000000000ff", "se_000000000000000ff",
          "ev_00000000000000ff", "se_ffffffffffffffff", "se_00000000000000fg"}) {
        EXPECT_FALSE(parse_stream_event_id(bad)) << bad;
    }
}

TEST_F(Stream, HasOnlyTheTenantsOwnStamps) {
    Conversation a = conversation("acme");
    std::int64_t s = inbound(a, now_ns(), "x");
    Txn t = read();
    EXPECT_TRUE(*stream_has(t, "acme", s));
    EXPECT_FALSE(*stream_has(t, "other", s));
    EXPECT_FALSE(*stream_has(t, "acme", s + 1));
}

TEST_F(Stream, PruneRemovesOldEntriesOfEveryTenantInBoundedSteps) {
    Conversation a = conversation("acme");
    Conversation b = conversation("beta");
    std::int64_t base = now_ns();
    for (int i = 0; i < 5; i++) {
        inbound(a, base + i, "old a");
        inbound(b, base + i, "old b");
    }
    Txn last = read();
    std::int64_t cutoff = *last_stamp(last) + 1;
    last.abort();
    std::int64_t keep_a = inbound(a, cutoff + 10, "new a");
    std::int64_t keep_b = inbound(b, cutoff + 10, "new b");

    std::string pos;
    std::size_t removed = 0;
    int steps = 0;
    for (bool done = false; !done && steps < 20; steps++) {
        Txn t = write();
        auto step = prune_stream_before(t, cutoff, 3, pos);
        ASSERT_TRUE(step.ok());
        EXPECT_LE(step->removed, 3u);
        removed += step->removed;
        done = step->done;
        ASSERT_TRUE(t.commit().ok());
    }
    EXPECT_EQ(removed, 10u);
    EXPECT_GT(steps, 3);
    auto left_a = range("acme", 0);
    auto left_b = range("beta", 0);
    ASSERT_EQ(left_a.size(), 1u);
    ASSERT_EQ(left_b.size(), 1u);
    EXPECT_EQ(left_a[0].stamp, keep_a);
    EXPECT_EQ(left_b[0].stamp, keep_b);
}

}  // namespace
}  // namespace wa::unit

// Inbound ingest: dedupe, conversations, windows, messages and their events.
#include <gtest/gtest.h>

#include "base/clock.hpp"
#include "domain/ingest.hpp"
#include "base/json.hpp"
#include "store_fixture.hpp"
#include "test_numbers.hpp"

namespace {

using namespace wa;

constexpr std::int64_t kNow = 1'750'000'000 * kNsPerSec;
constexpr std::int64_t kTs = 1'749'999'990;  // Meta's timestamp (s)
constexpr std::int64_t kDay = 24 * 3600 * kNsPerSec;

InboundMessage text_message(std::string wamid, std::int64_t ts = kTs,
                            std::string from = "16505551234") {
    InboundMessage m;
    m.wamid = std::move(wamid);
    m.from = std::move(from);
    m.timestamp = ts;
    m.type = "text";
    m.text = "Does it come in another colour? ✓";
    m.content_json = R"({"type":"text","text":"Does it come in another colour? ✓"})";
    m.contact_name = "Sheena Nelson";
    return m;
}

WebhookChange change_for(std::string phone_number_id, std::vector<InboundMessage> msgs) {
    WebhookChange c;
    c.phone_number_id = std::move(phone_number_id);
    c.messages = std::move(msgs);
    return c;
}

WebhookBatch batch_of(std::vector<WebhookChange> changes) {
    WebhookBatch b;
    b.changes = std::move(changes);
    return b;
}

class IngestTest : public wa::unit::StoreFixture {
protected:
    void SetUp() override {
        StoreFixture::SetUp();
        wa::unit::add_test_numbers(numbers_);
    }

    Result<IngestOutcome> ingest(Txn& txn, const WebhookBatch& batch, std::int64_t now = kNow) {
        return ingest_webhook(txn, batch, numbers_, signed_, options_, now);
    }

    IngestOutcome ingest_ok(Txn& txn, const WebhookBatch& batch, std::int64_t now = kNow) {
        auto r = ingest(txn, batch, now);
        EXPECT_TRUE(r.ok()) << r.error().code << ": " << r.error().message;
        return r.ok() ? *r : IngestOutcome{};
    }

    std::size_t count(Txn& txn, Db db) {
        auto n = txn.entries(db);
        EXPECT_TRUE(n.ok());
        return n.ok() ? *n : 0;
    }

    void expect_empty(Txn& txn) {
        for (Db db : {Db::conversations, Db::conversation_pair, Db::messages, Db::wamids,
                      Db::outbox, Db::outbox_queue, Db::outbox_due}) {
            EXPECT_EQ(count(txn, db), 0u) << static_cast<unsigned>(db);
        }
    }

    Conversation conversation(Txn& txn, std::string_view business, std::string_view customer) {
        auto ref = txn.get(Db::conversation_pair, pair_key(business, customer));
        EXPECT_TRUE(ref.ok() && *ref);
        if (!ref.ok() || !*ref) return {};
        auto bytes = txn.get(Db::conversations, **ref);
        EXPECT_TRUE(bytes.ok() && *bytes);
        auto c = decode_conversation(**bytes);
        EXPECT_TRUE(c.ok());
        return *c;
    }

    Message message_by_wamid(Txn& txn, std::string_view wamid) {
        auto ref = txn.get(Db::wamids, wamid_key(wamid));
        EXPECT_TRUE(ref.ok() && *ref);
        auto bytes = txn.get(Db::messages, **ref);
        EXPECT_TRUE(bytes.ok() && *bytes);
        auto m = decode_message(**bytes);
        EXPECT_TRUE(m.ok());
        return *m;
    }

    std::vector<Event> events(Txn& txn) {
        std::vector<Event> out;
        auto r = txn.scan(Db::outbox, {}, [&](const Txn::Entry& e) {
            auto ev = decode_event(e.value);
            EXPECT_TRUE(ev.ok());
            if (ev.ok()) out.push_back(*ev);
            return true;
        });
        EXPECT_TRUE(r.ok());
        return out;
    }

    NumberDirectory numbers_;
    std::vector<bool> signed_{true, true};
    IngestOptions options_;
};

TEST_F(IngestTest, NewMessageCreatesConversationMessageAndEvent) {
    auto txn = write();
    auto out = ingest_ok(txn, batch_of({change_for("111", {text_message("wamid.A")})}));
    EXPECT_EQ(out.received, 1u);
    EXPECT_EQ(out.duplicates, 0u);
    EXPECT_EQ(out.last_tenant, "acme");
    EXPECT_EQ(out.last_window_expires_at_ns, kTs * kNsPerSec + kDay);
    ASSERT_EQ(out.deliveries.size(), 1u);

    auto c = conversation(txn, "+14155551234", "+16505551234");
    EXPECT_EQ(typeid_encode("conv", c.id), out.last_conversation_id);
    EXPECT_EQ(c.tenant, "acme");
    EXPECT_EQ(c.phone_number_id, "111");
    EXPECT_EQ(c.customer_name, "Sheena Nelson");
    EXPECT_EQ(c.created_at_ns, kNow);
    EXPECT_EQ(c.last_inbound_ts, kTs);
    EXPECT_GE(c.last_inbound_at_ns, kNow);  // stamped: unique, never earlier
    EXPECT_LT(c.last_inbound_at_ns, kNow + 100);
    EXPECT_EQ(c.window_expires_at_ns, kTs * kNsPerSec + kDay);
    EXPECT_EQ(c.unread_count, 1u);
    EXPECT_EQ(c.next_event_seq, 1u);

    auto m = message_by_wamid(txn, "wamid.A");
    EXPECT_EQ(typeid_encode("im", m.id), out.last_message_id);
    EXPECT_EQ(m.direction, Direction::inbound);
    EXPECT_EQ(m.conversation_id, c.id);
    EXPECT_EQ(m.type, "text");
    EXPECT_EQ(m.text, "Does it come in another colour? ✓");
    EXPECT_EQ(m.meta_timestamp, kTs);
    EXPECT_EQ(m.created_at_ns, kNow);
    EXPECT_TRUE(m.reply_to.empty());

    auto evs = events(txn);
    ASSERT_EQ(evs.size(), 1u);
    const Event& e = evs[0];
    EXPECT_EQ(e.state, EventState::pending);
    EXPECT_EQ(e.type, "inbound.message.received");
    EXPECT_EQ(e.number, "+14155551234");
    EXPECT_EQ(e.callback_url, "https://acme.example.com/hook");
    EXPECT_EQ(e.seq, 0u);
    EXPECT_EQ(e.conversation_id, c.id);
    EXPECT_EQ(e.lease_until_ns, kNow + options_.lease_ns);

    const Delivery& d = out.deliveries[0];
    EXPECT_EQ(d.event_id, e.id);
    EXPECT_EQ(d.url, e.callback_url);
    EXPECT_EQ(d.body, e.body);
    EXPECT_EQ(d.attempt, 1u);

    rapidjson::Document doc;
    ASSERT_TRUE(parse_json_strict(e.body, doc).ok()) << e.body;
    EXPECT_EQ(std::string(doc["id"].GetString()), d.event_id_text);
    EXPECT_EQ(std::string(doc["type"].GetString()), "inbound.message.received");
    EXPECT_EQ(std::string(doc["created_at"].GetString()), rfc3339_ns(kNow));
    const auto& p = doc["payload"];
    EXPECT_EQ(std::string(p["message_id"].GetString()), out.last_message_id);
    EXPECT_EQ(std::string(p["channel"].GetString()), "whatsapp");
    EXPECT_EQ(std::string(p["from"].GetString()), "+16505551234");
    EXPECT_EQ(std::string(p["to"].GetString()), "+14155551234");
    EXPECT_EQ(std::string(p["content"]["text"].GetString()), "Does it come in another colour? ✓");
    EXPECT_EQ(std::string(p["content"]["type"].GetString()), "text");
    EXPECT_EQ(std::string(p["conversation"]["id"].GetString()), out.last_conversation_id);
    EXPECT_EQ(std::string(p["conversation"]["window_expires_at"].GetString()),
              rfc3339_ns(kTs * kNsPerSec + kDay));
    EXPECT_EQ(std::string(p["contact"]["name"].GetString()), "Sheena Nelson");
    EXPECT_FALSE(p.HasMember("reply_to"));
}

TEST_F(IngestTest, SameWamidTwiceIsStoredOnce) {
    {
        auto txn = write();
        auto out = ingest_ok(
            txn, batch_of({change_for("111", {text_message("wamid.A"), text_message("wamid.A")})}));
        EXPECT_EQ(out.received, 1u);
        EXPECT_EQ(out.duplicates, 1u);
        ASSERT_TRUE(txn.commit().ok());
    }
    // Meta redelivers the whole webhook later.
    auto txn = write();
    auto out = ingest_ok(txn, batch_of({change_for("111", {text_message("wamid.A")})}));
    EXPECT_EQ(out.received, 0u);
    EXPECT_EQ(out.duplicates, 1u);
    EXPECT_TRUE(out.deliveries.empty());
    EXPECT_EQ(count(txn, Db::messages), 1u);
    EXPECT_EQ(count(txn, Db::outbox), 1u);
    EXPECT_EQ(conversation(txn, "+14155551234", "+16505551234").unread_count, 1u);
}

TEST_F(IngestTest, AWamidLongerThanLmdbKeysIsStoredAndDeduplicated) {
    std::string long_wamid = "wamid." + std::string(600, 'L');
    {
        auto txn = write();
        auto out = ingest_ok(
            txn,
            batch_of({change_for("111", {text_message(long_wamid), text_message("wamid.B")})}));
        EXPECT_EQ(out.received, 2u);
        EXPECT_EQ(message_by_wamid(txn, long_wamid).wamid, long_wamid);
        ASSERT_TRUE(txn.commit().ok());
    }
    auto txn = write();
    auto out = ingest_ok(txn, batch_of({change_for("111", {text_message(long_wamid)})}));
    EXPECT_EQ(out.received, 0u);
    EXPECT_EQ(out.duplicates, 1u);
}

TEST_F(IngestTest, TwoMessagesOneConversationInOrder) {
    auto txn = write();
    auto out = ingest_ok(txn, batch_of({change_for("111", {text_message("wamid.A", kTs),
                                                           text_message("wamid.B", kTs + 1)})}));
    EXPECT_EQ(out.received, 2u);
    EXPECT_EQ(count(txn, Db::conversations), 1u);
    auto c = conversation(txn, "+14155551234", "+16505551234");
    EXPECT_EQ(c.next_event_seq, 2u);
    EXPECT_EQ(c.unread_count, 2u);

    auto a = message_by_wamid(txn, "wamid.A");
    auto b = message_by_wamid(txn, "wamid.B");
    EXPECT_EQ(out.last_message_id, typeid_encode("im", b.id));
    // Only the first is handed out; the second waits for it.
    ASSERT_EQ(out.deliveries.size(), 1u);
    rapidjson::Document doc;
    ASSERT_TRUE(parse_json_strict(out.deliveries[0].body, doc).ok());
    EXPECT_EQ(std::string(doc["payload"]["message_id"].GetString()), typeid_encode("im", a.id));

    auto evs = events(txn);
    ASSERT_EQ(evs.size(), 2u);
    EXPECT_EQ(evs[0].seq, 0u);  // ids are UUIDv7: scan order is creation order
    EXPECT_EQ(evs[1].seq, 1u);
    EXPECT_EQ(evs[0].id, out.deliveries[0].event_id);

    auto next =
        outbox_record_attempt(txn, evs[0].id, AttemptResult{200, {}}, DeliveryPolicy{}, kNow + 1);
    ASSERT_TRUE(next.ok());
    ASSERT_TRUE(next->next);
    EXPECT_EQ(next->next->event_id, evs[1].id);
}

TEST_F(IngestTest, DifferentNumbersAndCustomersAreDifferentConversations) {
    signed_ = {true, true};
    auto txn = write();
    auto out =
        ingest_ok(txn, batch_of({change_for("111", {text_message("wamid.A"),
                                                    text_message("wamid.B", kTs, "+33612345678")}),
                                 change_for("222", {text_message("wamid.C")})}));
    EXPECT_EQ(out.received, 3u);
    EXPECT_EQ(count(txn, Db::conversations), 3u);
    EXPECT_EQ(out.deliveries.size(), 3u);
    EXPECT_EQ(out.last_tenant, "globex");
    EXPECT_EQ(conversation(txn, "+442071234567", "+16505551234").tenant, "globex");
    EXPECT_EQ(conversation(txn, "+14155551234", "+33612345678").customer, "+33612345678");
}

TEST_F(IngestTest, WindowMovesOnlyForward) {
    auto txn = write();
    ingest_ok(txn, batch_of({change_for("111", {text_message("wamid.A", kTs)})}));
    // A late message with an older timestamp must not shorten (or extend) it.
    auto out = ingest_ok(txn, batch_of({change_for("111", {text_message("wamid.old", kTs - 600)})}),
                         kNow + 5);
    EXPECT_EQ(out.last_window_expires_at_ns, kTs * kNsPerSec + kDay);
    auto c = conversation(txn, "+14155551234", "+16505551234");
    EXPECT_EQ(c.window_expires_at_ns, kTs * kNsPerSec + kDay);
    EXPECT_EQ(c.last_inbound_ts, kTs);
    EXPECT_GE(c.last_inbound_at_ns, kNow + 5);  // stamped: unique, never earlier
    EXPECT_LT(c.last_inbound_at_ns, kNow + 100);

    ingest_ok(txn, batch_of({change_for("111", {text_message("wamid.new", kTs + 3600)})}));
    c = conversation(txn, "+14155551234", "+16505551234");
    EXPECT_EQ(c.window_expires_at_ns, (kTs + 3600) * kNsPerSec + kDay);
    EXPECT_EQ(c.last_inbound_ts, kTs + 3600);
    EXPECT_EQ(c.unread_count, 3u);
}

TEST_F(IngestTest, CustomWindowLength) {
    options_.window_ns = 3600 * kNsPerSec;
    auto txn = write();
    auto out = ingest_ok(txn, batch_of({change_for("111", {text_message("wamid.A")})}));
    EXPECT_EQ(out.last_window_expires_at_ns, kTs * kNsPerSec + 3600 * kNsPerSec);
}

TEST_F(IngestTest, UnknownPhoneNumberIdIsUnrouted) {
    auto txn = write();
    auto out = ingest_ok(txn, batch_of({change_for("999", {text_message("wamid.A")})}));
    EXPECT_EQ(out.unrouted, 1u);
    ASSERT_EQ(out.unrouted_ids.size(), 1u);
    EXPECT_EQ(out.unrouted_ids[0], "999");
    EXPECT_EQ(out.received, 0u);
    expect_empty(txn);
}

TEST_F(IngestTest, NumberWhoseSecretDidNotSignIsSkipped) {
    signed_ = {true, false};
    auto txn = write();
    auto out = ingest_ok(txn, batch_of({change_for("222", {text_message("wamid.A")})}));
    EXPECT_EQ(out.unsigned_changes, 1u);
    EXPECT_EQ(out.received, 0u);
    expect_empty(txn);

    // The other number in the same body is still applied.
    out = ingest_ok(txn, batch_of({change_for("222", {text_message("wamid.B")}),
                                   change_for("111", {text_message("wamid.C")})}));
    EXPECT_EQ(out.unsigned_changes, 1u);
    EXPECT_EQ(out.received, 1u);
    EXPECT_EQ(count(txn, Db::messages), 1u);
}

// Status rules proper: test_ingest_statuses.cpp.
TEST_F(IngestTest, StatusesOfUnknownMessagesChangeNothing) {
    auto txn = write();
    WebhookChange c = change_for("111", {});
    c.statuses.resize(3);
    c.statuses[1].wamid = "wamid.unknown";
    c.statuses[1].status = "delivered";
    auto out = ingest_ok(txn, batch_of({c}));
    EXPECT_EQ(out.statuses, 3u);
    EXPECT_EQ(out.statuses_unknown, 3u);
    expect_empty(txn);
}

TEST_F(IngestTest, BsuidCustomerWithoutFrom) {
    auto txn = write();
    auto m = text_message("wamid.A", kTs, "");
    m.from_user_id = "US.13491208655302741918";
    auto out = ingest_ok(txn, batch_of({change_for("111", {m})}));
    EXPECT_EQ(out.received, 1u);
    auto c = conversation(txn, "+14155551234", "US.13491208655302741918");
    EXPECT_EQ(c.customer, "US.13491208655302741918");
    rapidjson::Document doc;
    ASSERT_TRUE(parse_json_strict(out.deliveries[0].body, doc).ok());
    EXPECT_EQ(std::string(doc["payload"]["from"].GetString()), "US.13491208655302741918");
}

TEST_F(IngestTest, InvalidFromIsAnError) {
    auto txn = write();
    auto r = ingest(txn, batch_of({change_for("111", {text_message("wamid.A", kTs, "abc")})}));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "invalid_phone_number");
}

TEST_F(IngestTest, ReplyToResolvesInboundAndOutbound) {
    auto txn = write();
    ingest_ok(txn, batch_of({change_for("111", {text_message("wamid.A")})}));
    auto a = message_by_wamid(txn, "wamid.A");

    // An outbound message of ours, as the reply API stores it.
    Message tx;
    tx.id = uuid_v7_now();
    tx.direction = Direction::outbound;
    tx.wamid = "wamid.TX";
    ASSERT_TRUE(txn.put(Db::messages, key_of(tx.id), encode(tx)).ok());
    ASSERT_TRUE(txn.put(Db::wamids, tx.wamid, key_of(tx.id)).ok());

    auto quote_in = text_message("wamid.B", kTs + 1);
    quote_in.context_id = "wamid.A";
    auto quote_tx = text_message("wamid.C", kTs + 2);
    quote_tx.context_id = "wamid.TX";
    auto quote_unknown = text_message("wamid.D", kTs + 3);
    quote_unknown.context_id = "wamid.unknown";
    ingest_ok(txn, batch_of({change_for("111", {quote_in, quote_tx, quote_unknown})}));

    EXPECT_EQ(message_by_wamid(txn, "wamid.B").reply_to, typeid_encode("im", a.id));
    EXPECT_EQ(message_by_wamid(txn, "wamid.C").reply_to, typeid_encode("tx", tx.id));
    EXPECT_EQ(message_by_wamid(txn, "wamid.D").reply_to, "");

    auto evs = events(txn);
    ASSERT_EQ(evs.size(), 4u);
    rapidjson::Document doc;
    ASSERT_TRUE(parse_json_strict(evs[1].body, doc).ok());
    EXPECT_EQ(std::string(doc["payload"]["reply_to"].GetString()), typeid_encode("im", a.id));
    ASSERT_TRUE(parse_json_strict(evs[3].body, doc).ok());
    EXPECT_FALSE(doc["payload"].HasMember("reply_to"));
}

TEST_F(IngestTest, ReactionPointsAtOurMessageId) {
    auto txn = write();
    ingest_ok(txn, batch_of({change_for("111", {text_message("wamid.A")})}));
    auto a = message_by_wamid(txn, "wamid.A");

    InboundMessage r = text_message("wamid.R", kTs + 1);
    r.type = "reaction";
    r.text = "👍";
    r.reaction_to = "wamid.A";
    r.content_json = R"({"type":"reaction","reaction":{"message_id":"wamid.A","emoji":"👍"}})";
    ingest_ok(txn, batch_of({change_for("111", {r})}));

    auto stored = message_by_wamid(txn, "wamid.R");
    rapidjson::Document doc;
    ASSERT_TRUE(parse_json_strict(stored.content_json, doc).ok());
    EXPECT_EQ(std::string(doc["reaction"]["message_id"].GetString()), typeid_encode("im", a.id));

    auto evs = events(txn);
    ASSERT_EQ(evs.size(), 2u);
    ASSERT_TRUE(parse_json_strict(evs[1].body, doc).ok());
    EXPECT_EQ(std::string(doc["payload"]["content"]["reaction"]["message_id"].GetString()),
              typeid_encode("im", a.id));
    EXPECT_EQ(std::string(doc["payload"]["content"]["reaction"]["emoji"].GetString()), "👍");
}

class IngestMapFull : public IngestTest {
protected:
    std::size_t map_size() const override { return std::size_t{1} << 20; }
};

TEST_F(IngestMapFull, ErrorLeavesNothingAfterAbort) {
    auto parent = write();
    // Enough messages (each stored twice: record and event body) to
    // overflow the 1 MB map inside one webhook.
    std::vector<InboundMessage> msgs;
    std::string big(8000, 'x');
    for (int i = 0; i < 300; i++) {
        auto m = text_message("wamid." + std::to_string(i), kTs + i);
        m.text = big;
        m.content_json = R"({"type":"text","text":")" + big + R"("})";
        msgs.push_back(std::move(m));
    }
    auto child = store_->begin_write(&parent);
    ASSERT_TRUE(child.ok()) << child.error().message;
    auto r = ingest(*child, batch_of({change_for("111", msgs)}));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "store_full");
    child->abort();
    ASSERT_TRUE(parent.commit().ok());

    auto txn = read();
    expect_empty(txn);
    EXPECT_EQ(count(txn, Db::meta), 0u);

    // The store is still usable for a webhook that fits.
    auto w = write();
    auto out = ingest_ok(w, batch_of({change_for("111", {text_message("wamid.ok")})}));
    EXPECT_EQ(out.received, 1u);
    EXPECT_TRUE(w.commit().ok());
}

}  // namespace

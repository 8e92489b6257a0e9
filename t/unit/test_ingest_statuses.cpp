// Status webhooks of outbound (tx_) messages: forward-only, failed terminal,
// one transactional.message.<status> event per change (SPEC §4.5, §5.2).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "domain/ingest.hpp"
#include "base/json.hpp"
#include "store_fixture.hpp"
#include "test_numbers.hpp"

namespace {

using namespace wa;

constexpr std::int64_t kNow = 1'750'000'000 * kNsPerSec;
constexpr std::int64_t kTs = 1'749'999'990;  // Meta's timestamp (s)
constexpr std::int64_t kHour = 3600 * kNsPerSec;
constexpr std::string_view kBusiness = "+14155551234";
constexpr std::string_view kCustomer = "+16505551234";

StatusUpdate status_of(std::string wamid, std::string status, std::int64_t ts) {
    StatusUpdate s;
    s.wamid = std::move(wamid);
    s.status = std::move(status);
    s.timestamp = ts;
    s.recipient_id = "16505551234";
    return s;
}

StatusUpdate failed_with(std::string wamid, std::int64_t code, std::int64_t ts) {
    StatusUpdate s = status_of(std::move(wamid), "failed", ts);
    MetaError e;
    e.code = code;
    e.title = "Re-engagement message";
    e.message = e.title;
    e.details = "Message failed to send because more than 24 hours have passed";
    s.errors.push_back(e);
    return s;
}

WebhookBatch statuses_batch(std::string phone_number_id, std::vector<StatusUpdate> statuses) {
    WebhookChange c;
    c.phone_number_id = std::move(phone_number_id);
    c.statuses = std::move(statuses);
    WebhookBatch b;
    b.changes.push_back(std::move(c));
    return b;
}

rapidjson::Document parse(const std::string& json) {
    rapidjson::Document doc;
    auto r = parse_json_strict(json, doc);
    EXPECT_TRUE(r.ok()) << json;
    return doc;
}

std::string str(const rapidjson::Value& v) { return {v.GetString(), v.GetStringLength()}; }

std::vector<std::string> keys(const rapidjson::Value& obj) {
    std::vector<std::string> out;
    for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it)
        out.push_back(str(it->name));
    return out;
}

class StatusTest : public wa::unit::StoreFixture {
protected:
    void SetUp() override {
        StoreFixture::SetUp();
        wa::unit::add_test_numbers(numbers_);
    }

    // A conversation of number 111 whose window is open for another 10 h.
    Conversation make_conversation(Txn& txn) {
        Conversation c;
        c.id = uuid_v7_now();
        c.business_number = std::string(kBusiness);
        c.phone_number_id = "111";
        c.tenant = "acme";
        c.customer = std::string(kCustomer);
        c.created_at_ns = kNow - kHour;
        c.last_inbound_ts = kTs - 14 * 3600;
        c.window_expires_at_ns = kNow + 10 * kHour;
        EXPECT_TRUE(txn.put(Db::conversations, key_of(c.id), encode(c)).ok());
        EXPECT_TRUE(
            txn.put(Db::conversation_pair, pair_key(c.business_number, c.customer), key_of(c.id))
                .ok());
        return c;
    }

    // An outbound message as the reply API stores it, with its wamid entry.
    Message make_outbound(Txn& txn, const Conversation& c, std::string wamid,
                          std::string callback_url = {}, std::string correlation_id = {}) {
        Message m;
        m.id = uuid_v7_now();
        m.direction = Direction::outbound;
        m.conversation_id = c.id;
        m.wamid = std::move(wamid);
        m.type = "text";
        m.text = "It comes in blue too.";
        m.created_at_ns = kNow - kHour;
        m.status = "created";
        m.to = c.customer;
        m.callback_url = std::move(callback_url);
        m.correlation_id = std::move(correlation_id);
        EXPECT_TRUE(txn.put(Db::messages, key_of(m.id), encode(m)).ok());
        EXPECT_TRUE(txn.put(Db::wamids, m.wamid, key_of(m.id)).ok());
        return m;
    }

    IngestOutcome ingest_ok(Txn& txn, const WebhookBatch& batch, std::int64_t now = kNow) {
        auto r = ingest_webhook(txn, batch, numbers_, signed_, options_, now);
        EXPECT_TRUE(r.ok()) << r.error().code << ": " << r.error().message;
        return r.ok() ? *r : IngestOutcome{};
    }

    Message message(Txn& txn, const Uuid& id) {
        auto bytes = txn.get(Db::messages, key_of(id));
        EXPECT_TRUE(bytes.ok() && *bytes);
        auto m = decode_message(**bytes);
        EXPECT_TRUE(m.ok());
        return m.ok() ? *m : Message{};
    }

    Conversation conversation(Txn& txn, const Uuid& id) {
        auto bytes = txn.get(Db::conversations, key_of(id));
        EXPECT_TRUE(bytes.ok() && *bytes);
        auto c = decode_conversation(**bytes);
        EXPECT_TRUE(c.ok());
        return c.ok() ? *c : Conversation{};
    }

    // Every stored event, in queue order.
    std::vector<Event> events(Txn& txn) {
        std::vector<Event> out;
        auto r = txn.scan(Db::outbox, {}, [&](const Txn::Entry& e) {
            auto ev = decode_event(e.value);
            EXPECT_TRUE(ev.ok());
            if (ev.ok()) out.push_back(*ev);
            return true;
        });
        EXPECT_TRUE(r.ok());
        std::sort(out.begin(), out.end(),
                  [](const Event& a, const Event& b) { return a.seq < b.seq; });
        return out;
    }

    NumberDirectory numbers_;
    std::vector<bool> signed_{true, true};
    IngestOptions options_;
};

TEST_F(StatusTest, SentDeliveredReadEmitThreeEventsInOrder) {
    auto txn = write();
    auto c = make_conversation(txn);
    auto m = make_outbound(txn, c, "wamid.TX");

    auto out = ingest_ok(txn, statuses_batch("111", {status_of("wamid.TX", "sent", kTs)}));
    EXPECT_EQ(out.statuses, 1u);
    EXPECT_EQ(out.statuses_applied, 1u);
    ASSERT_EQ(out.deliveries.size(), 1u);  // the queue's head, leased to us
    EXPECT_EQ(out.deliveries[0].url, "https://acme.example.com/hook");
    EXPECT_EQ(out.deliveries[0].number, kBusiness);

    out = ingest_ok(txn, statuses_batch("111", {status_of("wamid.TX", "delivered", kTs + 1),
                                                status_of("wamid.TX", "read", kTs + 2)}));
    EXPECT_EQ(out.statuses_applied, 2u);
    EXPECT_TRUE(out.deliveries.empty());  // they wait behind the first

    auto evs = events(txn);
    ASSERT_EQ(evs.size(), 3u);
    const char* expected[] = {"sent", "delivered", "read"};
    for (std::size_t i = 0; i < 3; i++) {
        EXPECT_EQ(evs[i].type, std::string("transactional.message.") + expected[i]);
        EXPECT_EQ(evs[i].conversation_id, c.id);
        EXPECT_EQ(evs[i].seq, i);
        auto doc = parse(evs[i].body);
        EXPECT_EQ(str(doc["type"]), evs[i].type);
        EXPECT_EQ(str(doc["id"]), typeid_encode("evt", evs[i].id));
        EXPECT_EQ(str(doc["payload"]["status"]), expected[i]);
        EXPECT_EQ(str(doc["payload"]["message_id"]), typeid_encode("tx", m.id));
        EXPECT_EQ(str(doc["payload"]["created_at"]),
                  rfc3339_ns((kTs + static_cast<std::int64_t>(i)) * kNsPerSec));
    }
    EXPECT_EQ(out.deliveries.size(), 0u);

    auto stored = message(txn, m.id);
    EXPECT_EQ(stored.status, "read");
    EXPECT_EQ(stored.status_ts, kTs + 2);
    EXPECT_EQ(conversation(txn, c.id).next_event_seq, 3u);
}

TEST_F(StatusTest, EnvelopeAndPayloadShape) {
    auto txn = write();
    auto c = make_conversation(txn);
    auto m = make_outbound(txn, c, "wamid.TX", {}, "order-42");
    auto out = ingest_ok(txn, statuses_batch("111", {status_of("wamid.TX", "delivered", kTs)}));
    ASSERT_EQ(out.deliveries.size(), 1u);

    auto doc = parse(out.deliveries[0].body);
    ASSERT_TRUE(doc.IsObject());
    EXPECT_EQ(keys(doc), (std::vector<std::string>{"id", "type", "payload", "created_at"}));
    EXPECT_EQ(str(doc["type"]), "transactional.message.delivered");
    EXPECT_EQ(str(doc["id"]), out.deliveries[0].event_id_text);
    EXPECT_EQ(str(doc["created_at"]), rfc3339_ns(kNow));
    const auto& p = doc["payload"];
    EXPECT_EQ(keys(p), (std::vector<std::string>{"message_id", "status", "to", "correlation_id",
                                                 "created_at"}));
    EXPECT_EQ(str(p["message_id"]), typeid_encode("tx", m.id));
    EXPECT_EQ(str(p["to"]), kCustomer);
    EXPECT_EQ(str(p["correlation_id"]), "order-42");
    EXPECT_EQ(str(p["created_at"]), rfc3339_ns(kTs * kNsPerSec));
}

TEST_F(StatusTest, ReadThenLateDeliveredStaysRead) {
    auto txn = write();
    auto c = make_conversation(txn);
    auto m = make_outbound(txn, c, "wamid.TX");
    ingest_ok(txn, statuses_batch("111", {status_of("wamid.TX", "read", kTs + 5)}));
    ASSERT_EQ(events(txn).size(), 1u);

    // Older, and (Meta's clocks disagree) newer: both are behind read.
    auto out = ingest_ok(txn, statuses_batch("111", {status_of("wamid.TX", "delivered", kTs + 3),
                                                     status_of("wamid.TX", "sent", kTs + 1),
                                                     status_of("wamid.TX", "delivered", kTs + 9)}));
    EXPECT_EQ(out.statuses_applied, 0u);
    EXPECT_EQ(out.statuses_ignored, 3u);
    EXPECT_TRUE(out.deliveries.empty());
    EXPECT_EQ(events(txn).size(), 1u);
    auto stored = message(txn, m.id);
    EXPECT_EQ(stored.status, "read");
    EXPECT_EQ(stored.status_ts, kTs + 5);
}

TEST_F(StatusTest, RedeliveredStatusChangesNothing) {
    auto txn = write();
    auto c = make_conversation(txn);
    auto m = make_outbound(txn, c, "wamid.TX");
    auto batch = statuses_batch("111", {status_of("wamid.TX", "delivered", kTs)});
    EXPECT_EQ(ingest_ok(txn, batch).statuses_applied, 1u);
    auto before = message(txn, m.id);

    auto out = ingest_ok(txn, batch);
    EXPECT_EQ(out.statuses_applied, 0u);
    EXPECT_EQ(out.statuses_ignored, 1u);
    EXPECT_EQ(events(txn).size(), 1u);
    EXPECT_EQ(encode(message(txn, m.id)), encode(before));
    EXPECT_EQ(conversation(txn, c.id).next_event_seq, 1u);
}

TEST_F(StatusTest, ReadWithoutDeliveredSkipsAhead) {
    // Meta sends no delivered when delivery and reading coincide.
    auto txn = write();
    auto c = make_conversation(txn);
    make_outbound(txn, c, "wamid.TX");
    ingest_ok(txn, statuses_batch("111", {status_of("wamid.TX", "sent", kTs),
                                          status_of("wamid.TX", "read", kTs + 1)}));
    auto evs = events(txn);
    ASSERT_EQ(evs.size(), 2u);
    EXPECT_EQ(evs[1].type, "transactional.message.read");
}

TEST_F(StatusTest, PlayedCountsAsRead) {
    auto txn = write();
    auto c = make_conversation(txn);
    auto m = make_outbound(txn, c, "wamid.TX");
    auto out = ingest_ok(txn, statuses_batch("111", {status_of("wamid.TX", "played", kTs),
                                                     status_of("wamid.TX", "read", kTs + 1)}));
    EXPECT_EQ(out.statuses_applied, 1u);
    EXPECT_EQ(out.statuses_ignored, 1u);
    auto evs = events(txn);
    ASSERT_EQ(evs.size(), 1u);
    EXPECT_EQ(evs[0].type, "transactional.message.read");
    EXPECT_EQ(str(parse(evs[0].body)["payload"]["status"]), "read");
    EXPECT_EQ(message(txn, m.id).status, "read");
}

TEST_F(StatusTest, UnknownStatusWordIsIgnored) {
    auto txn = write();
    auto c = make_conversation(txn);
    auto m = make_outbound(txn, c, "wamid.TX");
    auto out = ingest_ok(txn, statuses_batch("111", {status_of("wamid.TX", "deleted", kTs)}));
    EXPECT_EQ(out.statuses_ignored, 1u);
    EXPECT_TRUE(events(txn).empty());
    EXPECT_EQ(message(txn, m.id).status, "created");
}

TEST_F(StatusTest, FailedCarriesMetaErrorAndIsTerminal) {
    auto txn = write();
    auto c = make_conversation(txn);
    auto m = make_outbound(txn, c, "wamid.TX", {}, "order-42");
    ingest_ok(txn, statuses_batch("111", {status_of("wamid.TX", "delivered", kTs)}));
    auto out = ingest_ok(txn, statuses_batch("111", {failed_with("wamid.TX", 131026, kTs + 1)}));
    EXPECT_EQ(out.statuses_applied, 1u);

    auto evs = events(txn);
    ASSERT_EQ(evs.size(), 2u);
    EXPECT_EQ(evs[1].type, "transactional.message.failed");
    auto doc = parse(evs[1].body);
    const auto& p = doc["payload"];
    EXPECT_EQ(keys(p), (std::vector<std::string>{"message_id", "status", "to", "correlation_id",
                                                 "error", "created_at"}));
    EXPECT_EQ(str(p["status"]), "failed");
    EXPECT_EQ(keys(p["error"]), (std::vector<std::string>{"code", "title", "details"}));
    ASSERT_TRUE(p["error"]["code"].IsInt64());
    EXPECT_EQ(p["error"]["code"].GetInt64(), 131026);
    EXPECT_EQ(str(p["error"]["title"]), "Re-engagement message");
    EXPECT_EQ(str(p["error"]["details"]),
              "Message failed to send because more than 24 hours have passed");

    auto stored = message(txn, m.id);
    EXPECT_EQ(stored.status, "failed");
    EXPECT_EQ(stored.error_code, 131026);
    EXPECT_EQ(stored.error_title, "Re-engagement message");

    // Terminal: nothing moves it, not even another failure.
    out = ingest_ok(txn, statuses_batch("111", {status_of("wamid.TX", "read", kTs + 2),
                                                failed_with("wamid.TX", 131000, kTs + 3)}));
    EXPECT_EQ(out.statuses_applied, 0u);
    EXPECT_EQ(out.statuses_ignored, 2u);
    EXPECT_EQ(events(txn).size(), 2u);
    EXPECT_EQ(message(txn, m.id).error_code, 131026);
    // Another code: the window stays open.
    EXPECT_EQ(conversation(txn, c.id).window_expires_at_ns, kNow + 10 * kHour);
}

TEST_F(StatusTest, FailedAfterReadStillApplies) {
    auto txn = write();
    auto c = make_conversation(txn);
    make_outbound(txn, c, "wamid.TX");
    ingest_ok(txn, statuses_batch("111", {status_of("wamid.TX", "read", kTs)}));
    auto out = ingest_ok(txn, statuses_batch("111", {failed_with("wamid.TX", 131000, kTs - 1)}));
    EXPECT_EQ(out.statuses_applied, 1u);
    EXPECT_EQ(events(txn).back().type, "transactional.message.failed");
}

TEST_F(StatusTest, FailedWithoutErrorsHasNoErrorObject) {
    auto txn = write();
    auto c = make_conversation(txn);
    make_outbound(txn, c, "wamid.TX");
    auto out = ingest_ok(txn, statuses_batch("111", {status_of("wamid.TX", "failed", kTs)}));
    ASSERT_EQ(out.deliveries.size(), 1u);
    auto doc = parse(out.deliveries[0].body);
    EXPECT_EQ(str(doc["payload"]["status"]), "failed");
    EXPECT_FALSE(doc["payload"].HasMember("error"));
}

TEST_F(StatusTest, Failed131047ClosesTheWindow) {
    auto txn = write();
    auto c = make_conversation(txn);
    make_outbound(txn, c, "wamid.TX");
    auto out = ingest_ok(txn, statuses_batch("111", {failed_with("wamid.TX", 131047, kTs)}));
    EXPECT_EQ(out.statuses_applied, 1u);
    EXPECT_EQ(conversation(txn, c.id).window_expires_at_ns, kNow);

    // A later customer message reopens it by the normal rule.
    InboundMessage in;
    in.wamid = "wamid.IN";
    in.from = "16505551234";
    in.timestamp = kTs + 60;
    in.type = "text";
    in.text = "hello again";
    in.content_json = R"({"type":"text","text":"hello again"})";
    WebhookChange change;
    change.phone_number_id = "111";
    change.messages.push_back(in);
    WebhookBatch batch;
    batch.changes.push_back(change);
    out = ingest_ok(txn, batch, kNow + 60 * kNsPerSec);
    EXPECT_EQ(out.received, 1u);
    EXPECT_EQ(conversation(txn, c.id).window_expires_at_ns,
              (kTs + 60) * kNsPerSec + options_.window_ns);
}

TEST_F(StatusTest, Failed131047NeverExtendsOrUndoesANewerInbound) {
    auto txn = write();
    auto c = make_conversation(txn);
    make_outbound(txn, c, "wamid.A");
    make_outbound(txn, c, "wamid.B");

    // Already expired an hour ago: closing it must not move it to now.
    c.window_expires_at_ns = kNow - kHour;
    ASSERT_TRUE(txn.put(Db::conversations, key_of(c.id), encode(c)).ok());
    ingest_ok(txn, statuses_batch("111", {failed_with("wamid.A", 131047, kTs)}));
    EXPECT_EQ(conversation(txn, c.id).window_expires_at_ns, kNow - kHour);

    // The customer wrote after the failure: the window Meta closed reopened.
    c = conversation(txn, c.id);
    c.last_inbound_ts = kTs + 10;
    c.window_expires_at_ns = kNow + 20 * kHour;
    ASSERT_TRUE(txn.put(Db::conversations, key_of(c.id), encode(c)).ok());
    auto out = ingest_ok(txn, statuses_batch("111", {failed_with("wamid.B", 131047, kTs + 5)}));
    EXPECT_EQ(out.statuses_applied, 1u);
    EXPECT_EQ(conversation(txn, c.id).window_expires_at_ns, kNow + 20 * kHour);
}

TEST_F(StatusTest, UnknownWamidIsIgnored) {
    auto txn = write();
    auto c = make_conversation(txn);
    auto out = ingest_ok(txn, statuses_batch("111", {status_of("wamid.nope", "read", kTs)}));
    EXPECT_EQ(out.statuses, 1u);
    EXPECT_EQ(out.statuses_unknown, 1u);
    EXPECT_EQ(out.statuses_applied, 0u);
    EXPECT_TRUE(events(txn).empty());
    EXPECT_EQ(conversation(txn, c.id).next_event_seq, 0u);
}

TEST_F(StatusTest, WamidWithoutMessageRecordIsIgnored) {
    // A send maps its wamid before the message record exists.
    auto txn = write();
    Uuid id = uuid_v7_now();
    ASSERT_TRUE(txn.put(Db::wamids, "wamid.TX", key_of(id)).ok());
    auto out = ingest_ok(txn, statuses_batch("111", {status_of("wamid.TX", "sent", kTs)}));
    EXPECT_EQ(out.statuses_unknown, 1u);
    EXPECT_TRUE(events(txn).empty());
}

TEST_F(StatusTest, InboundWamidIsIgnored) {
    auto txn = write();
    InboundMessage in;
    in.wamid = "wamid.IN";
    in.from = "16505551234";
    in.timestamp = kTs;
    in.type = "text";
    in.content_json = R"({"type":"text","text":"hi"})";
    WebhookChange change;
    change.phone_number_id = "111";
    change.messages.push_back(in);
    WebhookBatch batch;
    batch.changes.push_back(change);
    ingest_ok(txn, batch);
    ASSERT_EQ(events(txn).size(), 1u);

    auto out = ingest_ok(txn, statuses_batch("111", {status_of("wamid.IN", "read", kTs + 1)}));
    EXPECT_EQ(out.statuses_unknown, 1u);
    EXPECT_EQ(events(txn).size(), 1u);
    auto ref = txn.get(Db::wamids, "wamid.IN");
    ASSERT_TRUE(ref.ok() && *ref);
    EXPECT_EQ(message(txn, uuid_from_key(**ref)).status, "");
}

TEST_F(StatusTest, AnotherNumbersMessageIsIgnored) {
    // Signed by number 222's secret: it must not move 111's messages.
    auto txn = write();
    auto c = make_conversation(txn);
    auto m = make_outbound(txn, c, "wamid.TX");
    auto out = ingest_ok(txn, statuses_batch("222", {status_of("wamid.TX", "read", kTs)}));
    EXPECT_EQ(out.statuses_unknown, 1u);
    EXPECT_TRUE(events(txn).empty());
    EXPECT_EQ(message(txn, m.id).status, "created");
}

TEST_F(StatusTest, UnsignedChangeIsNotApplied) {
    signed_ = {false, true};
    auto txn = write();
    auto c = make_conversation(txn);
    make_outbound(txn, c, "wamid.TX");
    auto out = ingest_ok(txn, statuses_batch("111", {status_of("wamid.TX", "read", kTs)}));
    EXPECT_EQ(out.unsigned_changes, 1u);
    EXPECT_EQ(out.statuses, 0u);
    EXPECT_TRUE(events(txn).empty());
}

TEST_F(StatusTest, CallbackUrlFallsBackToTheNumbersCallback) {
    auto txn = write();
    auto c = make_conversation(txn);
    make_outbound(txn, c, "wamid.OWN", "https://app.example.com/status");
    make_outbound(txn, c, "wamid.DEFAULT");
    ingest_ok(txn, statuses_batch("111", {status_of("wamid.OWN", "sent", kTs),
                                          status_of("wamid.DEFAULT", "sent", kTs)}));
    auto evs = events(txn);
    ASSERT_EQ(evs.size(), 2u);
    EXPECT_EQ(evs[0].callback_url, "https://app.example.com/status");
    EXPECT_EQ(evs[1].callback_url, "https://acme.example.com/hook");
    // Only the client's URL is re-checked by the SSRF guard on delivery.
    EXPECT_TRUE(evs[0].callback_guarded);
    EXPECT_FALSE(evs[1].callback_guarded);
    EXPECT_EQ(evs[0].number, kBusiness);
    EXPECT_EQ(evs[1].number, kBusiness);
}

TEST_F(StatusTest, CorrelationIdOnlyWhenSet) {
    auto txn = write();
    auto c = make_conversation(txn);
    make_outbound(txn, c, "wamid.WITH", {}, "cör-1 \"quoted\"");
    make_outbound(txn, c, "wamid.WITHOUT");
    ingest_ok(txn, statuses_batch("111", {status_of("wamid.WITH", "sent", kTs),
                                          status_of("wamid.WITHOUT", "sent", kTs)}));
    auto evs = events(txn);
    ASSERT_EQ(evs.size(), 2u);
    auto with = parse(evs[0].body);
    EXPECT_EQ(str(with["payload"]["correlation_id"]), "cör-1 \"quoted\"");
    auto without = parse(evs[1].body);
    EXPECT_FALSE(without["payload"].HasMember("correlation_id"));
    EXPECT_EQ(keys(without["payload"]),
              (std::vector<std::string>{"message_id", "status", "to", "created_at"}));
}

TEST_F(StatusTest, StatusEventsShareTheInboundQueue) {
    // One queue per conversation: a status waits behind an undelivered
    // inbound event of the same conversation.
    auto txn = write();
    InboundMessage in;
    in.wamid = "wamid.IN";
    in.from = "16505551234";
    in.timestamp = kTs;
    in.type = "text";
    in.content_json = R"({"type":"text","text":"hi"})";
    WebhookChange change;
    change.phone_number_id = "111";
    change.messages.push_back(in);
    WebhookBatch batch;
    batch.changes.push_back(change);
    ASSERT_EQ(ingest_ok(txn, batch).deliveries.size(), 1u);

    auto ref = txn.get(Db::conversation_pair, pair_key(kBusiness, kCustomer));
    ASSERT_TRUE(ref.ok() && *ref);
    auto c = conversation(txn, uuid_from_key(**ref));
    make_outbound(txn, c, "wamid.TX");
    auto out = ingest_ok(txn, statuses_batch("111", {status_of("wamid.TX", "sent", kTs + 1)}));
    EXPECT_EQ(out.statuses_applied, 1u);
    EXPECT_TRUE(out.deliveries.empty());
    auto evs = events(txn);
    ASSERT_EQ(evs.size(), 2u);
    EXPECT_EQ(evs[0].type, "inbound.message.received");
    EXPECT_EQ(evs[1].type, "transactional.message.sent");
    EXPECT_EQ(evs[1].seq, 1u);
}

TEST_F(StatusTest, WholeWebhookAbortsCleanly) {
    // Statuses share the caller's transaction: aborting it keeps nothing.
    {
        auto txn = write();
        auto c = make_conversation(txn);
        make_outbound(txn, c, "wamid.TX");
        ASSERT_TRUE(txn.commit().ok());
    }
    {
        auto txn = write();
        ingest_ok(txn, statuses_batch("111", {status_of("wamid.TX", "read", kTs)}));
        txn.abort();
    }
    auto txn = read();
    EXPECT_TRUE(events(txn).empty());
    auto ref = txn.get(Db::wamids, "wamid.TX");
    ASSERT_TRUE(ref.ok() && *ref);
    EXPECT_EQ(message(txn, uuid_from_key(**ref)).status, "created");
}

}  // namespace

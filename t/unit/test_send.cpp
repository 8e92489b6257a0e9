// Replies against the store (SPEC §6.2 rows 7-10, §6.3): the checks before
// the Graph call, the record of an accepted send, its created event, the
// statuses that follow, credits, and the window a 131047 closes.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "domain/ingest.hpp"
#include "domain/media.hpp"
#include "base/json.hpp"
#include "api/prelude.hpp"
#include "domain/send.hpp"
#include "store_fixture.hpp"
#include "test_numbers.hpp"

namespace {

using namespace wa;

constexpr std::int64_t kNow = 1'750'000'000 * kNsPerSec;
constexpr std::int64_t kTs = 1'749'999'990;  // Meta's timestamp (s)
constexpr std::int64_t kHour = 3600 * kNsPerSec;

ApiKey key_for(std::string tenant) {
    ApiKey k;
    k.name = "k";
    k.tenant = std::move(tenant);
    k.scopes = kAllScopes;
    return k;
}

rapidjson::Document parse(const std::string& json) {
    rapidjson::Document doc;
    EXPECT_TRUE(parse_json_strict(json, doc).ok()) << json;
    return doc;
}

std::string str(const rapidjson::Value& v) { return {v.GetString(), v.GetStringLength()}; }

bool is_typeid(const std::string& s, std::string_view prefix) {
    auto id = typeid_decode_as(prefix, s);
    return id.ok();
}

class OutboundTest : public wa::unit::StoreFixture {
protected:
    void SetUp() override {
        StoreFixture::SetUp();
        wa::unit::add_test_numbers(numbers_);
    }

    // An inbound text from customer to number 111 ("acme"); returns its im_ id.
    std::string receive(std::string wamid, std::string customer = "16505551234",
                        std::int64_t ts = kTs, std::string phone_number_id = "111") {
        InboundMessage m;
        m.wamid = std::move(wamid);
        m.from = std::move(customer);
        m.timestamp = ts;
        m.type = "text";
        m.text = "hello";
        m.content_json = R"({"type":"text","text":"hello"})";
        WebhookChange c;
        c.phone_number_id = std::move(phone_number_id);
        c.messages.push_back(std::move(m));
        WebhookBatch b;
        b.changes.push_back(std::move(c));
        Txn txn = write();
        auto out = ingest_webhook(txn, b, numbers_, {true, true}, IngestOptions{}, kNow);
        EXPECT_TRUE(out.ok());
        EXPECT_TRUE(txn.commit().ok());
        return out.ok() ? out->last_message_id : std::string();
    }

    ReplyRequest request(std::string reply_to, std::string to = "+16505551234") {
        ReplyRequest r;
        r.to = std::move(to);
        r.text = "It comes in blue too.";
        r.reply_to = reply_to;
        if (auto id = typeid_decode_as("im", reply_to); id) r.reply_to_id = *id;
        return r;
    }

    // With the optional fields: a correlation_id and the client's callback.
    ReplyRequest request_with_callback(std::string reply_to) {
        ReplyRequest r = request(std::move(reply_to));
        r.correlation_id = "order-42";
        r.has_correlation_id = true;
        r.callback_url = "https://app.example.com/status";
        r.has_callback_url = true;
        return r;
    }

    // check_send's verdict in the reply's codes (api/prelude).
    struct Checked {
        std::optional<ReplyFailure> failure;
        SendTarget target;
        bool ok() const { return !failure; }
    };

    static SendRequest send_of(const ReplyRequest& req, const ApiKey& key) {
        SendRequest s = send_request_of(req);
        s.scope = SendScope::of(key);
        return s;
    }

    Checked check(const ReplyRequest& req, const ApiKey& key, std::int64_t now = kNow) {
        Txn txn = read();
        auto r = check_send(txn, send_of(req, key), numbers_, now);
        EXPECT_TRUE(r.ok()) << r.error().message;
        Checked c{ReplyFailure::invalid_reply_context, {}};
        if (!r.ok()) return c;
        c.target = r->target;
        c.failure.reset();
        if (r->refusal) c.failure = reply_failure(*r->refusal);
        return c;
    }

    // A recorded send and its id; an empty wamid records an unknown outcome.
    struct Sent : RecordedSend {
        Uuid id{};
    };
    Sent record(const SendTarget& t, const ReplyRequest& req, std::string wamid) {
        SendRequest s = send_of(req, key_for("acme"));
        PreparedSend p = prepare_send(s, t);
        Txn txn = write();
        auto r = record_send(txn, t, s, p, wamid, DeliveryPolicy{}, kNow);
        EXPECT_TRUE(r.ok()) << r.error().message;
        EXPECT_TRUE(txn.commit().ok());
        Sent out;
        if (r.ok()) static_cast<RecordedSend&>(out) = *r;
        out.id = p.id;
        EXPECT_EQ(out.message_id, typeid_encode("tx", p.id));
        return out;
    }

    Message stored(const Uuid& id) {
        Txn txn = read();
        auto bytes = txn.get(Db::messages, key_of(id));
        EXPECT_TRUE(bytes.ok() && *bytes);
        auto m = decode_message(**bytes);
        EXPECT_TRUE(m.ok());
        return *m;
    }

    // A status webhook for number 111, committed; returns what ingest did.
    IngestOutcome status_webhook(std::string wamid, std::string status, std::string callback_data,
                                 std::int64_t now) {
        StatusUpdate st;
        st.wamid = std::move(wamid);
        st.status = std::move(status);
        st.timestamp = kTs + 5;
        st.biz_opaque_callback_data = std::move(callback_data);
        WebhookChange ch;
        ch.phone_number_id = "111";
        ch.statuses.push_back(st);
        WebhookBatch b;
        b.changes.push_back(ch);
        Txn txn = write();
        auto out = ingest_webhook(txn, b, numbers_, {true, true}, IngestOptions{}, now);
        EXPECT_TRUE(out.ok()) << out.error().message;
        EXPECT_TRUE(txn.commit().ok());
        return out.ok() ? *out : IngestOutcome{};
    }

    // The test number with credits.
    void limit_credits(std::int64_t credits) {
        NumberDirectory limited;
        NumberConfig n = numbers_.all().front();
        n.credits = credits;
        ASSERT_TRUE(limited.add(n).ok());
        numbers_ = limited;
    }

    NumberDirectory numbers_;
};

TEST_F(OutboundTest, OpenWindowOwnedContextPasses) {
    std::string im = receive("wamid.IN1");
    auto c = check(request(im), key_for("acme"));
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c.target.number->e164, "+14155551234");
    EXPECT_EQ(c.target.context_wamid, "wamid.IN1");
    EXPECT_EQ(c.target.window_expires_at_ns, kTs * kNsPerSec + 24 * kHour);
    EXPECT_TRUE(is_typeid(c.target.conversation_id, "conv"));
}

TEST_F(OutboundTest, Row7SameAnswerForMalformedUnknownForeignAndOutbound) {
    std::string im = receive("wamid.IN1");
    // Not an im_ id at all.
    EXPECT_EQ(check(request("tx_01h455vb4pex5vsknk084sn02q"), key_for("acme")).failure,
              ReplyFailure::invalid_reply_context);
    // Well formed, unknown.
    EXPECT_EQ(check(request(typeid_encode("im", uuid_v7_now())), key_for("acme")).failure,
              ReplyFailure::invalid_reply_context);
    // Another tenant's message.
    EXPECT_EQ(check(request(im), key_for("globex")).failure, ReplyFailure::invalid_reply_context);
    // A key limited to another conversation.
    ApiKey limited = key_for("acme");
    limited.conversation = uuid_v7_now();
    EXPECT_EQ(check(request(im), limited).failure, ReplyFailure::invalid_reply_context);
    // The im_ id of one of our own outbound messages is not a reply context.
    auto ok = check(request(im), key_for("acme"));
    ASSERT_TRUE(ok.ok());
    Sent sent = record(ok.target, request(im), "wamid.OUT1");
    auto as_im = request(typeid_encode("im", sent.id));
    EXPECT_EQ(check(as_im, key_for("acme")).failure, ReplyFailure::invalid_reply_context);
}

TEST_F(OutboundTest, KeyLimitedToThisConversationPasses) {
    std::string im = receive("wamid.IN1");
    auto c = check(request(im), key_for("acme"));
    ASSERT_TRUE(c.ok());
    ApiKey limited = key_for("acme");
    limited.conversation = c.target.conversation;
    EXPECT_TRUE(check(request(im), limited).ok());
}

TEST_F(OutboundTest, Row8ToMustBeTheSender) {
    std::string im = receive("wamid.IN1");
    auto c = check(request(im, "+16505550000"), key_for("acme"));
    EXPECT_EQ(c.failure, ReplyFailure::phone_number_mismatch);
    // Past row 7 the conversation is known, for logs.
    EXPECT_TRUE(is_typeid(c.target.conversation_id, "conv"));
}

TEST_F(OutboundTest, Row7BeforeRow8) {
    std::string im = receive("wamid.IN1");
    EXPECT_EQ(check(request(im, "+16505550000"), key_for("globex")).failure,
              ReplyFailure::invalid_reply_context);
}

TEST_F(OutboundTest, Row9ClosedWindow) {
    std::string im = receive("wamid.IN1");
    std::int64_t end = kTs * kNsPerSec + 24 * kHour;
    EXPECT_TRUE(check(request(im), key_for("acme"), end - 1).ok());
    EXPECT_EQ(check(request(im), key_for("acme"), end).failure, ReplyFailure::window_expired);
}

TEST_F(OutboundTest, RecordStoresMessageWamidAndCreatedEvent) {
    std::string im = receive("wamid.IN1");
    ReplyRequest req = request_with_callback(im);
    auto c = check(req, key_for("acme"));
    ASSERT_TRUE(c.ok());
    Sent sent = record(c.target, req, "wamid.OUT1");
    EXPECT_TRUE(is_typeid(sent.message_id, "tx"));
    EXPECT_GE(sent.created_at_ns, kNow);  // stamped: unique, never earlier
    EXPECT_LT(sent.created_at_ns, kNow + 100);

    Txn txn = read();
    auto bytes = txn.get(Db::messages, key_of(sent.id));
    ASSERT_TRUE(bytes.ok() && *bytes);
    auto msg = decode_message(**bytes);
    ASSERT_TRUE(msg.ok());
    EXPECT_EQ(msg->direction, Direction::outbound);
    EXPECT_EQ(msg->status, "created");
    EXPECT_EQ(msg->wamid, "wamid.OUT1");
    EXPECT_EQ(msg->to, "+16505551234");
    EXPECT_EQ(msg->text, "It comes in blue too.");
    EXPECT_EQ(msg->reply_to, im);
    EXPECT_EQ(msg->correlation_id, "order-42");
    EXPECT_EQ(msg->callback_url, "https://app.example.com/status");
    auto ref = txn.get(Db::wamids, "wamid.OUT1");
    ASSERT_TRUE(ref.ok() && *ref);
    EXPECT_EQ(uuid_from_key(**ref), sent.id);

    // The inbound event is still undelivered, so created waits behind it.
    EXPECT_TRUE(sent.deliveries.empty());
}

TEST_F(OutboundTest, CreatedEventGoesToTheReplysCallbackWithCorrelationId) {
    std::string im = receive("wamid.IN1");
    // Deliver the inbound event first, so created heads the queue.
    {
        Txn txn = write();
        auto claimed = outbox_claim_due(txn, kNow + 100 * kHour, 10, DeliveryPolicy{});
        ASSERT_TRUE(claimed.ok());
        for (const Delivery& d : *claimed) {
            ASSERT_TRUE(outbox_record_attempt(txn, d.event_id, AttemptResult{200, ""},
                                              DeliveryPolicy{}, kNow)
                            .ok());
        }
        ASSERT_TRUE(txn.commit().ok());
    }
    ReplyRequest req = request_with_callback(im);
    auto c = check(req, key_for("acme"));
    ASSERT_TRUE(c.ok());
    Sent sent = record(c.target, req, "wamid.OUT1");
    ASSERT_EQ(sent.deliveries.size(), 1u);
    const Delivery& d = sent.deliveries.front();
    EXPECT_EQ(d.url, "https://app.example.com/status");
    EXPECT_TRUE(d.url_guarded);  // the client's URL: checked again on every delivery
    EXPECT_EQ(d.number, "+14155551234");
    auto doc = parse(d.body);
    EXPECT_EQ(str(doc["type"]), "transactional.message.created");
    EXPECT_EQ(str(doc["id"]), d.event_id_text);
    const auto& p = doc["payload"];
    EXPECT_EQ(str(p["message_id"]), sent.message_id);
    EXPECT_EQ(str(p["status"]), "created");
    EXPECT_EQ(str(p["to"]), "+16505551234");
    EXPECT_EQ(str(p["correlation_id"]), "order-42");
    EXPECT_FALSE(p.HasMember("error"));
}

TEST_F(OutboundTest, StatusWebhookMovesTheRecordedReplyForward) {
    std::string im = receive("wamid.IN1");
    auto c = check(request(im), key_for("acme"));
    ASSERT_TRUE(c.ok());
    Sent sent = record(c.target, request(im), "wamid.OUT1");

    StatusUpdate s;
    s.wamid = "wamid.OUT1";
    s.status = "delivered";
    s.timestamp = kTs + 5;
    s.recipient_id = "16505551234";
    WebhookChange ch;
    ch.phone_number_id = "111";
    ch.statuses.push_back(s);
    WebhookBatch b;
    b.changes.push_back(ch);
    Txn txn = write();
    auto out = ingest_webhook(txn, b, numbers_, {true, true}, IngestOptions{}, kNow);
    ASSERT_TRUE(out.ok());
    EXPECT_EQ(out->statuses_applied, 1u);
    EXPECT_EQ(out->statuses_unknown, 0u);
}

TEST_F(OutboundTest, AnUploadedMediaIdIsTheSendersToDownloadANamedOneIsNot) {
    std::string im = receive("wamid.IN1");
    auto c = check(request(im), key_for("acme"));
    ASSERT_TRUE(c.ok());
    auto media_send = [&](std::string media_id, std::string_view uploaded) {
        SendRequest s = send_of(request(im), key_for("acme"));
        s.content.kind = GraphContent::Kind::media;
        s.content.media_type = "image";
        s.content.media_id = std::move(media_id);
        s.content.text = "a cat";
        PreparedSend p = prepare_send(s, c.target);
        Txn txn = write();
        auto r = record_send(txn, c.target, s, p, "wamid.OUT" + s.content.media_id,
                             DeliveryPolicy{}, kNow, uploaded);
        EXPECT_TRUE(r.ok()) << r.error().message;
        EXPECT_TRUE(txn.commit().ok());
        return p.id;
    };
    Uuid uploaded = media_send("8001", "8001");
    media_send("8002", {});  // an id the client named: not made downloadable
    Txn txn = read();
    auto owner = media_owner(txn, "8001", "acme");
    ASSERT_TRUE(owner.ok() && owner->has_value());
    EXPECT_EQ((*owner)->id, c.target.conversation);
    EXPECT_FALSE(media_owner(txn, "8001", "globex")->has_value());
    EXPECT_FALSE(media_owner(txn, "8002", "acme")->has_value());
    // Stored as the media message it is: its type, caption and media id.
    txn.abort();
    Message m = stored(uploaded);
    EXPECT_EQ(m.type, "image");
    EXPECT_EQ(m.text, "a cat");
    EXPECT_EQ(media_id_of(m), "8001");
}

TEST_F(OutboundTest, CreditsCountOnlyRecordedSends) {
    limit_credits(2);
    std::string im = receive("wamid.IN1");

    auto c = check(request(im), key_for("acme"));
    ASSERT_TRUE(c.ok());
    {
        Txn txn = read();
        EXPECT_EQ(*credits_used(txn, "+14155551234"), 0u);
    }
    EXPECT_TRUE(credit_available(*c.target.number, 0, 1));
    EXPECT_FALSE(credit_available(*c.target.number, 0, 2));  // in flight counts
    record(c.target, request(im), "wamid.OUT1");
    record(check(request(im), key_for("acme")).target, request(im), "wamid.OUT2");

    auto after = check(request(im), key_for("acme"));
    ASSERT_TRUE(after.ok());
    Txn txn = read();
    auto used = credits_used(txn, "+14155551234");
    ASSERT_TRUE(used.ok());
    EXPECT_EQ(*used, 2u);
    EXPECT_FALSE(credit_available(*after.target.number, *used, 0));

    NumberConfig unlimited = *after.target.number;
    unlimited.credits = -1;
    EXPECT_TRUE(credit_available(unlimited, 1'000'000, 1'000'000));
}

// Holds in a test: records what take_credit did, and can let "another
// process" commit a send and drop its hold when the holds are counted.
class TestHolds final : public CreditHolds {
public:
    void lock() override {
        EXPECT_FALSE(locked);
        locked = true;
    }
    void unlock() override {
        EXPECT_TRUE(locked);
        locked = false;
    }
    std::uint64_t in_flight() override {
        EXPECT_TRUE(locked);
        if (while_counting) while_counting();
        return held;
    }
    void hold() override {
        EXPECT_TRUE(locked);
        held++;
    }

    bool locked = false;
    std::uint64_t held = 0;
    std::function<void()> while_counting;
};

TEST_F(OutboundTest, TakeCreditHoldsUntilStoreAndHoldsUseThemAll) {
    limit_credits(2);
    const NumberConfig& number = numbers_.all().front();
    TestHolds holds;
    EXPECT_TRUE(*take_credit(*store_, number, holds));
    EXPECT_TRUE(*take_credit(*store_, number, holds));
    EXPECT_FALSE(*take_credit(*store_, number, holds));  // both held
    EXPECT_EQ(holds.held, 2u);
    EXPECT_FALSE(holds.locked);

    // One committed (its credit counted) and dropped: still none free.
    Txn txn = write();
    ASSERT_TRUE(count_credit(txn, number).ok());
    ASSERT_TRUE(txn.commit().ok());
    holds.held = 1;
    EXPECT_FALSE(*take_credit(*store_, number, holds));
    holds.held = 0;  // the other failed, uncounted: its credit is free again
    EXPECT_TRUE(*take_credit(*store_, number, holds));
}

TEST_F(OutboundTest, TakeCreditSeesASendThatCommitsWhileHoldsAreCounted) {
    limit_credits(1);
    const NumberConfig& number = numbers_.all().front();
    TestHolds holds;
    holds.held = 1;  // another process's send, in flight
    holds.while_counting = [&] {
        // ... which commits and drops its hold just as they are counted: the
        // store read after the count must see it, or the credit is spent twice.
        Txn txn = write();
        ASSERT_TRUE(count_credit(txn, number).ok());
        ASSERT_TRUE(txn.commit().ok());
        holds.held = 0;
        holds.while_counting = nullptr;
    };
    auto taken = take_credit(*store_, number, holds);
    ASSERT_TRUE(taken.ok()) << taken.error().message;
    EXPECT_FALSE(*taken);
    EXPECT_EQ(holds.held, 0u);
}

TEST_F(OutboundTest, CreditsAreNotCountedForNumbersWithout) {
    std::string im = receive("wamid.IN1");
    auto c = check(request(im), key_for("acme"));
    ASSERT_TRUE(c.ok());
    record(c.target, request(im), "wamid.OUT1");
    Txn txn = read();
    auto used = credits_used(txn, "+14155551234");
    ASSERT_TRUE(used.ok());
    EXPECT_EQ(*used, 0u);
}

TEST_F(OutboundTest, GraphReEngagementErrorClosesTheWindow) {
    std::string im = receive("wamid.IN1");
    auto c = check(request(im), key_for("acme"));
    ASSERT_TRUE(c.ok());
    {
        Txn txn = write();
        auto end = close_window_after_send(txn, c.target.conversation, kNow);
        ASSERT_TRUE(end.ok());
        EXPECT_EQ(*end, kNow);
        ASSERT_TRUE(txn.commit().ok());
    }
    EXPECT_EQ(check(request(im), key_for("acme")).failure, ReplyFailure::window_expired);
    // A newer inbound message reopens it.
    std::string im2 = receive("wamid.IN2", "16505551234", kNow / kNsPerSec + 1);
    EXPECT_TRUE(check(request(im2), key_for("acme")).ok());
}

TEST_F(OutboundTest, AnUnknownSendHoldsItsCreditAndEmitsNothingUntilMetaNamesIt) {
    limit_credits(5);
    std::string im = receive("wamid.IN1");
    auto c = check(request(im), key_for("acme"));
    ASSERT_TRUE(c.ok());
    Sent sent = record(c.target, request(im), "");
    EXPECT_TRUE(sent.deliveries.empty());
    Message m = stored(sent.id);
    EXPECT_EQ(m.status, "unknown");
    EXPECT_TRUE(m.wamid.empty());
    {
        Txn txn = read();
        EXPECT_EQ(*credits_used(txn, "+14155551234"), 1u);
        EXPECT_EQ(*txn.entries(Db::outbox), 1u);  // the inbound message's event only
    }

    // Meta's status webhook names it by the tx_ id we sent as biz_opaque_callback_data.
    IngestOutcome out = status_webhook("wamid.LATE", "sent", sent.message_id, kNow + kHour);
    EXPECT_EQ(out.unknown_sends_linked, 1u);
    EXPECT_EQ(out.statuses_applied, 1u);

    Message linked = stored(sent.id);
    EXPECT_EQ(linked.wamid, "wamid.LATE");
    EXPECT_EQ(linked.status, "sent");
    Txn r = read();
    auto ref = r.get(Db::wamids, wamid_key("wamid.LATE"));
    ASSERT_TRUE(ref.ok() && *ref);
    EXPECT_EQ(uuid_from_key(**ref), sent.id);
    EXPECT_EQ(*credits_used(r, "+14155551234"), 1u);  // kept, counted once
    // created, then sent: both events, in that order, in the conversation's queue
    std::vector<std::string> types;
    auto scanned = r.scan(Db::outbox, {}, [&](const Txn::Entry& e) {
        auto ev = decode_event(e.value);
        if (ev.ok() && ev->type != "inbound.message.received") types.push_back(ev->type);
        return true;
    });
    ASSERT_TRUE(scanned.ok());
    EXPECT_EQ(types, (std::vector<std::string>{"transactional.message.created",
                                               "transactional.message.sent"}));
}

TEST_F(OutboundTest, ACallbackDataThatNamesNoUnknownSendLinksNothing) {
    std::string im = receive("wamid.IN1");
    auto c = check(request(im), key_for("acme"));
    Sent accepted = record(c.target, request(im), "wamid.OUT1");
    for (std::string data : {accepted.message_id, std::string("tx_garbage"), im}) {
        IngestOutcome out = status_webhook("wamid.OTHER", "sent", data, kNow);
        EXPECT_EQ(out.unknown_sends_linked, 0u) << data;
        EXPECT_EQ(out.statuses_unknown, 1u) << data;
    }
}

TEST_F(OutboundTest, UnknownSendsListsWhatMetaHasNotNamedYet) {
    std::string im = receive("wamid.IN1");
    auto c = check(request(im), key_for("acme"));
    ASSERT_TRUE(c.ok());
    record(c.target, request(im), "wamid.OUT1");  // accepted: not listed
    Sent first = record(c.target, request(im), "");
    Sent second = record(c.target, request(im), "");
    // Created at kNow (stamped a few ns later: unique store-wide).
    constexpr std::int64_t kLater = kNow + 1000;
    auto ids = [&](std::int64_t before, std::size_t limit) {
        Txn txn = read();
        auto got = unknown_sends(txn, before, limit);
        EXPECT_TRUE(got.ok()) << got.error().message;
        std::vector<Uuid> out;
        for (const Message& m : got.ok() ? *got : std::vector<Message>{})
            out.push_back(m.id);
        return out;
    };
    EXPECT_EQ(ids(kLater, 10), (std::vector<Uuid>{first.id, second.id}));  // oldest first
    EXPECT_EQ(ids(kLater, 1), (std::vector<Uuid>{first.id}));
    EXPECT_TRUE(ids(kNow, 10).empty());  // none created before kNow
    EXPECT_TRUE(ids(kLater, 0).empty());
    {
        Txn txn = read();
        auto got = unknown_sends(txn, kLater, 10);
        ASSERT_TRUE(got.ok());
        EXPECT_EQ(got->front().to, "+16505551234");
        EXPECT_EQ(got->front().conversation_id, stored(first.id).conversation_id);
        EXPECT_EQ(got->front().status, "unknown");
    }

    // Meta names the first: it is an accepted send now.
    status_webhook("wamid.LATE", "sent", first.message_id, kNow + kHour);
    EXPECT_EQ(ids(kLater, 10), (std::vector<Uuid>{second.id}));
}

}  // namespace

// Record encoding round trips, corruption detection, and key layouts.
#include <gtest/gtest.h>

#include "store/records.hpp"

namespace {

using namespace wa;

Uuid make_uuid(std::uint8_t seed) {
    Uuid u{};
    for (std::size_t i = 0; i < u.size(); i++)
        u[i] = static_cast<std::uint8_t>(seed + i);
    return u;
}

Conversation sample_conversation() {
    Conversation c;
    c.id = make_uuid(1);
    c.business_number = "+14155551234";
    c.phone_number_id = "106540352242922";
    c.tenant = "acme";
    c.customer = "+33612345678";
    c.customer_name = "Zoë Ünicode 👍";
    c.created_at_ns = 1729760350736925502LL;
    c.window_expires_at_ns = 1729846750000000000LL;
    c.last_inbound_ts = 1729760350;
    c.last_inbound_at_ns = 1729760350736925502LL;
    c.last_outbound_at_ns = -5;
    c.next_event_seq = 0xfffffffffffffffeULL;
    c.unread_count = 7;
    c.status = "pending_customer";
    c.mode = "human";
    c.assignee = "agent@example.com";
    c.newest_message = make_uuid(7);
    return c;
}

Message sample_message() {
    Message m;
    m.id = make_uuid(2);
    m.direction = Direction::outbound;
    m.conversation_id = make_uuid(3);
    m.wamid = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUFERjg0NDEzNDdFODU3MUMxMAA=";
    m.type = "text";
    m.text = "héllo\nwörld";
    m.content_json = R"({"type":"text","text":"héllo"})";
    m.meta_timestamp = 1729760350;
    m.created_at_ns = 42;
    m.status = "delivered";
    m.reply_to = "im_01h455vb4pex5vsknk084sn02q";
    m.to = "+16505551234";
    m.callback_url = "https://app.example.com/status?x=é";
    m.correlation_id = "order-42";
    m.status_ts = 1729760399;
    m.error_code = 131047;
    m.error_title = "Re-engagement message";
    m.error_details = "Message failed to send because more than 24 hours have passed";
    m.previous = make_uuid(8);
    return m;
}

// The bytes a version 2 store holds: the version 3 layout without the
// link version 3 appended (previous, zero here).
std::string version2_bytes(Message m) {
    m.previous = Uuid{};
    std::string b = encode(m);
    b.resize(b.size() - 16);
    b[0] = 2;
    return b;
}

// The bytes a version 1 store holds: the version 2 layout without the
// fields version 2 appended (to .. error_details, all empty or 0 here).
std::string version1_bytes(Message m) {
    m.to.clear();
    m.callback_url.clear();
    m.correlation_id.clear();
    m.status_ts = m.error_code = 0;
    m.error_title.clear();
    m.error_details.clear();
    std::string b = version2_bytes(m);
    constexpr std::size_t appended = 3 * 4 + 8 + 8 + 2 * 4;
    b.resize(b.size() - appended);
    b[0] = 1;
    return b;
}

// A version 1 conversation: version 2 without the chain's head.
std::string conversation_version1_bytes(Conversation c) {
    c.newest_message = Uuid{};
    std::string b = encode(c);
    b.resize(b.size() - 16);
    b[0] = 1;
    return b;
}

Event sample_event() {
    Event e;
    e.id = make_uuid(4);
    e.conversation_id = make_uuid(5);
    e.seq = 3;
    e.type = "inbound.message.received";
    e.number = "+14155551234";
    e.callback_url = "https://app.example.com/hook";
    e.body = std::string("{\"a\":1}\0binary", 14);
    e.state = EventState::dead;
    e.attempts = 12;
    e.created_at_ns = 100;
    e.next_attempt_ns = 200;
    e.lease_until_ns = 300;
    e.last_status = -1;
    e.last_error = "timeout";
    e.callback_guarded = true;
    return e;
}

void expect_eq(const Conversation& a, const Conversation& b) {
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.business_number, b.business_number);
    EXPECT_EQ(a.phone_number_id, b.phone_number_id);
    EXPECT_EQ(a.tenant, b.tenant);
    EXPECT_EQ(a.customer, b.customer);
    EXPECT_EQ(a.customer_name, b.customer_name);
    EXPECT_EQ(a.created_at_ns, b.created_at_ns);
    EXPECT_EQ(a.window_expires_at_ns, b.window_expires_at_ns);
    EXPECT_EQ(a.last_inbound_ts, b.last_inbound_ts);
    EXPECT_EQ(a.last_inbound_at_ns, b.last_inbound_at_ns);
    EXPECT_EQ(a.last_outbound_at_ns, b.last_outbound_at_ns);
    EXPECT_EQ(a.next_event_seq, b.next_event_seq);
    EXPECT_EQ(a.unread_count, b.unread_count);
    EXPECT_EQ(a.status, b.status);
    EXPECT_EQ(a.mode, b.mode);
    EXPECT_EQ(a.assignee, b.assignee);
    EXPECT_EQ(a.newest_message, b.newest_message);
}

void expect_eq(const Message& a, const Message& b) {
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.direction, b.direction);
    EXPECT_EQ(a.conversation_id, b.conversation_id);
    EXPECT_EQ(a.wamid, b.wamid);
    EXPECT_EQ(a.type, b.type);
    EXPECT_EQ(a.text, b.text);
    EXPECT_EQ(a.content_json, b.content_json);
    EXPECT_EQ(a.meta_timestamp, b.meta_timestamp);
    EXPECT_EQ(a.created_at_ns, b.created_at_ns);
    EXPECT_EQ(a.status, b.status);
    EXPECT_EQ(a.reply_to, b.reply_to);
    EXPECT_EQ(a.to, b.to);
    EXPECT_EQ(a.callback_url, b.callback_url);
    EXPECT_EQ(a.correlation_id, b.correlation_id);
    EXPECT_EQ(a.status_ts, b.status_ts);
    EXPECT_EQ(a.error_code, b.error_code);
    EXPECT_EQ(a.error_title, b.error_title);
    EXPECT_EQ(a.error_details, b.error_details);
    EXPECT_EQ(a.previous, b.previous);
}

void expect_eq(const Event& a, const Event& b) {
    EXPECT_EQ(a.id, b.id);
    EXPECT_EQ(a.conversation_id, b.conversation_id);
    EXPECT_EQ(a.seq, b.seq);
    EXPECT_EQ(a.type, b.type);
    EXPECT_EQ(a.number, b.number);
    EXPECT_EQ(a.callback_url, b.callback_url);
    EXPECT_EQ(a.body, b.body);
    EXPECT_EQ(a.state, b.state);
    EXPECT_EQ(a.attempts, b.attempts);
    EXPECT_EQ(a.created_at_ns, b.created_at_ns);
    EXPECT_EQ(a.next_attempt_ns, b.next_attempt_ns);
    EXPECT_EQ(a.lease_until_ns, b.lease_until_ns);
    EXPECT_EQ(a.last_status, b.last_status);
    EXPECT_EQ(a.last_error, b.last_error);
    EXPECT_EQ(a.callback_guarded, b.callback_guarded);
}

TEST(Records, ConversationRoundTrip) {
    auto c = sample_conversation();
    auto d = decode_conversation(encode(c));
    ASSERT_TRUE(d.ok()) << d.error().message;
    expect_eq(c, *d);
}

TEST(Records, ConversationDefaultsRoundTrip) {
    Conversation c;  // every string empty except the defaults
    c.status.clear();
    auto d = decode_conversation(encode(c));
    ASSERT_TRUE(d.ok());
    expect_eq(c, *d);
}

TEST(Records, MessageRoundTrip) {
    auto m = sample_message();
    auto d = decode_message(encode(m));
    ASSERT_TRUE(d.ok()) << d.error().message;
    expect_eq(m, *d);

    Message empty;
    auto e = decode_message(encode(empty));
    ASSERT_TRUE(e.ok());
    expect_eq(empty, *e);
}

TEST(Records, CurrentVersions) {
    auto b = encode(sample_message());
    EXPECT_EQ(b[0], 3);
    EXPECT_EQ(encode(sample_conversation())[0], 2);
    EXPECT_EQ(encode(sample_event())[0], 2);
}

TEST(Records, MessageVersion1StillDecodes) {
    auto m = sample_message();
    auto d = decode_message(version1_bytes(m));
    ASSERT_TRUE(d.ok()) << d.error().message;
    EXPECT_EQ(d->id, m.id);
    EXPECT_EQ(d->direction, m.direction);
    EXPECT_EQ(d->wamid, m.wamid);
    EXPECT_EQ(d->status, m.status);
    EXPECT_EQ(d->reply_to, m.reply_to);
    EXPECT_EQ(d->to, "");
    EXPECT_EQ(d->callback_url, "");
    EXPECT_EQ(d->correlation_id, "");
    EXPECT_EQ(d->status_ts, 0);
    EXPECT_EQ(d->error_code, 0);
    EXPECT_EQ(d->error_title, "");
    EXPECT_EQ(d->previous, Uuid{});

    // Re-encoding upgrades it to the current version.
    auto again = decode_message(encode(*d));
    ASSERT_TRUE(again.ok());
    expect_eq(*d, *again);
}

TEST(Records, MessageVersion2StillDecodes) {
    auto m = sample_message();
    auto d = decode_message(version2_bytes(m));
    ASSERT_TRUE(d.ok()) << d.error().message;
    m.previous = Uuid{};
    expect_eq(m, *d);
}

TEST(Records, ConversationVersion1StillDecodes) {
    auto c = sample_conversation();
    auto d = decode_conversation(conversation_version1_bytes(c));
    ASSERT_TRUE(d.ok()) << d.error().message;
    c.newest_message = Uuid{};
    expect_eq(c, *d);
}

TEST(Records, MessageVersionMismatchesAreCorrupt) {
    // An older version byte on newer fields: trailing bytes.
    auto v3 = encode(sample_message());
    auto b = v3;
    b[0] = 2;
    auto r = decode_message(b);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "store_corrupt");
    b = version2_bytes(sample_message());
    b[0] = 1;
    EXPECT_FALSE(decode_message(b).ok());
    // A newer version byte without its fields: truncated.
    b = version2_bytes(sample_message());
    b[0] = 3;
    EXPECT_FALSE(decode_message(b).ok());
    auto v1 = version1_bytes(sample_message());
    v1[0] = 2;
    EXPECT_FALSE(decode_message(v1).ok());
    // Version 0 and version 4 are unknown; so are conversations of version 3.
    b = v3;
    b[0] = 0;
    EXPECT_FALSE(decode_message(b).ok());
    b[0] = 4;
    EXPECT_FALSE(decode_message(b).ok());
    auto c = encode(sample_conversation());
    c[0] = 3;
    EXPECT_FALSE(decode_conversation(c).ok());
    c[0] = 1;
    EXPECT_FALSE(decode_conversation(c).ok());
    c = conversation_version1_bytes(sample_conversation());
    c[0] = 2;
    EXPECT_FALSE(decode_conversation(c).ok());
}

// Events stored before version 2 decode with callback_guarded false;
// version 1 with the version 2 byte, or 2 without it, is corrupt.
TEST(Records, EventVersion1StillDecodes) {
    Event ev = sample_event();
    ev.callback_guarded = false;
    std::string v2 = encode(ev);
    std::string v1 = v2.substr(0, v2.size() - 1);
    v1[0] = 1;
    auto d = decode_event(v1);
    ASSERT_TRUE(d.ok()) << d.error().message;
    expect_eq(ev, *d);
    std::string bad = v2;
    bad[0] = 1;
    EXPECT_FALSE(decode_event(bad).ok());
    std::string short2 = v1;
    short2[0] = 2;
    EXPECT_FALSE(decode_event(short2).ok());
    bad = v2;
    bad[0] = 3;
    EXPECT_FALSE(decode_event(bad).ok());
}

TEST(Records, EventRoundTrip) {
    auto ev = sample_event();
    auto d = decode_event(encode(ev));
    ASSERT_TRUE(d.ok()) << d.error().message;
    expect_eq(ev, *d);

    Event empty;
    auto e = decode_event(encode(empty));
    ASSERT_TRUE(e.ok());
    expect_eq(empty, *e);
}

TEST(Records, MessageHeadIsTheMessagesFirstFieldsInEveryVersion) {
    auto m = sample_message();
    for (const std::string& bytes : {encode(m), version1_bytes(m), version2_bytes(m)}) {
        auto head = decode_message_head(bytes);
        ASSERT_TRUE(head.ok()) << head.error().message;
        EXPECT_EQ(head->id, m.id);
        EXPECT_EQ(head->direction, m.direction);
        EXPECT_EQ(head->conversation_id, m.conversation_id);
        EXPECT_EQ(head->wamid, m.wamid);
    }
    // What it reads is checked as decode_message checks it; what follows
    // is not read.
    std::string b = encode(m);
    std::size_t head_size = 1 + 16 + 1 + 16 + 4 + m.wamid.size();
    EXPECT_TRUE(decode_message_head(b.substr(0, head_size)).ok());
    for (std::size_t n = 0; n < head_size; n++) {
        auto r = decode_message_head(std::string_view(b).substr(0, n));
        ASSERT_FALSE(r.ok()) << n;
        EXPECT_EQ(r.error().code, "store_corrupt");
    }
    std::string bad_direction = b;
    bad_direction[17] = 9;
    EXPECT_FALSE(decode_message_head(bad_direction).ok());
    std::string bad_version = b;
    bad_version[0] = 99;
    EXPECT_FALSE(decode_message_head(bad_version).ok());
}

TEST(Records, EveryTruncationIsCorrupt) {
    std::string bytes[] = {encode(sample_conversation()), encode(sample_message()),
                           encode(sample_event())};
    for (std::size_t n = 0; n < bytes[0].size(); n++) {
        auto r = decode_conversation(std::string_view(bytes[0]).substr(0, n));
        ASSERT_FALSE(r.ok()) << n;
        EXPECT_EQ(r.error().code, "store_corrupt");
    }
    for (std::size_t n = 0; n < bytes[1].size(); n++) {
        auto r = decode_message(std::string_view(bytes[1]).substr(0, n));
        ASSERT_FALSE(r.ok()) << n;
        EXPECT_EQ(r.error().code, "store_corrupt");
    }
    for (std::size_t n = 0; n < bytes[2].size(); n++) {
        auto r = decode_event(std::string_view(bytes[2]).substr(0, n));
        ASSERT_FALSE(r.ok()) << n;
        EXPECT_EQ(r.error().code, "store_corrupt");
    }
}

TEST(Records, TrailingBytesAreCorrupt) {
    auto b = encode(sample_event()) + "x";
    auto r = decode_event(b);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "store_corrupt");
    EXPECT_FALSE(decode_conversation(encode(sample_conversation()) + '\0').ok());
    EXPECT_FALSE(decode_message(encode(sample_message()) + '\0').ok());
}

TEST(Records, UnknownVersionIsCorrupt) {
    auto b = encode(sample_message());
    b[0] = 99;
    auto r = decode_message(b);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "store_corrupt");
    EXPECT_NE(r.error().message.find("version"), std::string::npos);
}

TEST(Records, HugeLengthIsCorruptNotACrash) {
    auto b = encode(sample_conversation());
    // The first string length follows the version byte and the 16-byte id.
    b[17] = b[18] = b[19] = b[20] = '\xff';
    auto r = decode_conversation(b);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "store_corrupt");
}

TEST(Records, BadEnumsAreCorrupt) {
    auto m = encode(sample_message());
    m[17] = 9;  // direction follows version + id
    EXPECT_FALSE(decode_message(m).ok());

    Event e;
    e.type = "t";
    auto b = encode(e);
    // state sits after version, 2 ids, seq and four empty-or-short strings.
    std::size_t state_at = 1 + 16 + 16 + 8 + (4 + 1) + 4 + 4 + 4;
    ASSERT_EQ(static_cast<std::uint8_t>(b[state_at]), 1);
    b[state_at] = 0;
    EXPECT_FALSE(decode_event(b).ok());
    b[state_at] = 4;
    EXPECT_FALSE(decode_event(b).ok());
}

// A boolean byte other than 0 or 1 would decode and then encode
// differently (found by fuzz_records): it is corrupt.
TEST(Records, NonCanonicalBooleanIsCorrupt) {
    auto b = encode(sample_event());  // callback_guarded is the last byte
    ASSERT_EQ(static_cast<std::uint8_t>(b.back()), 1);
    b.back() = 4;
    auto r = decode_event(b);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "store_corrupt");
    b.back() = 0;
    EXPECT_TRUE(decode_event(b).ok());
}

TEST(Records, PairKey) {
    auto k = pair_key("+14155551234", "+33612345678");
    EXPECT_EQ(k, std::string("+14155551234\0+33612345678", 25));
    EXPECT_NE(pair_key("+1", "23"), pair_key("+12", "3"));
}

TEST(Records, QueueKeyOrdersBySeq) {
    Uuid c = make_uuid(9);
    auto k1 = queue_key(c, 1);
    auto k2 = queue_key(c, 2);
    auto k256 = queue_key(c, 256);
    ASSERT_EQ(k1.size(), 24u);
    EXPECT_LT(k1, k2);
    EXPECT_LT(k2, k256);
    EXPECT_EQ(k256.substr(16), std::string("\0\0\0\0\0\0\x01\0", 8));
    EXPECT_EQ(uuid_from_key(k1), c);
}

TEST(Records, DueKeyOrdersByTime) {
    Uuid a = make_uuid(200), b = make_uuid(1);
    auto k1 = due_key(1000, a);
    auto k2 = due_key(1001, b);
    ASSERT_EQ(k1.size(), 24u);
    EXPECT_LT(k1, k2);
    EXPECT_EQ(uuid_from_key(std::string_view(k1).substr(8)), a);
    EXPECT_LT(due_key(1LL << 40, a), due_key(1LL << 41, a));
}

}  // namespace

namespace {

wa::IdempotencyRecord sample_idempotency() {
    wa::IdempotencyRecord r;
    r.state = wa::IdempotencyState::done;
    r.fingerprint = std::string(32, '\x7f');
    r.created_at_ns = 1'750'000'000'000'000'000;
    r.owner = 0;
    r.status = 429;
    r.body = R"({"code":"rate_limited"})";
    r.headers = {{"Retry-After", "6"}, {"x-should-retry", "true"}};
    return r;
}

TEST(Records, IdempotencyRoundTripTruncationAndBadState) {
    auto r = sample_idempotency();
    std::string bytes = wa::encode(r);
    auto back = wa::decode_idempotency(bytes);
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->state, r.state);
    EXPECT_EQ(back->fingerprint, r.fingerprint);
    EXPECT_EQ(back->created_at_ns, r.created_at_ns);
    EXPECT_EQ(back->status, 429);
    EXPECT_EQ(back->body, r.body);
    EXPECT_EQ(back->headers, r.headers);
    for (std::size_t n = 0; n < bytes.size(); n++) {
        EXPECT_FALSE(wa::decode_idempotency(std::string_view(bytes).substr(0, n)).ok()) << n;
    }
    std::string bad_state = bytes;
    bad_state[1] = 7;
    EXPECT_EQ(wa::decode_idempotency(bad_state).error().code, "store_corrupt");
    // a header count no record of this size can hold
    wa::IdempotencyRecord empty;
    std::string huge = wa::encode(empty);
    huge.replace(huge.size() - 4, 4, std::string("\xff\xff\xff\x7f", 4));
    EXPECT_EQ(wa::decode_idempotency(huge).error().code, "store_corrupt");
}

}  // namespace

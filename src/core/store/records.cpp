// Record encoding: a version byte, then every field in declaration order.
// Integers are little-endian, fixed width; strings are a u32 length then
// the bytes. Decoding rejects anything that is not exactly one record.
#include "store/records.hpp"

#include <cstring>
#include <type_traits>

#include "base/crypto.hpp"

namespace wa {

namespace {

// Conversations: version 2 appended newest_message. Messages: version 2
// appended the outbound fields (to .. error_details), version 3 previous.
// Stores written by earlier versions exist, so every version decodes.
constexpr std::uint8_t kConversationVersion = 2;
constexpr std::uint8_t kEventVersion = 2;  // 2 added callback_guarded
constexpr std::uint8_t kMessageVersion = 3;
constexpr std::uint8_t kIdempotencyVersion = 1;
constexpr std::uint8_t kScheduledVersion = 1;
constexpr std::uint8_t kStreamVersion = 1;

// Counts the bytes a Writer would append: records are sized before they are
// written, so that each takes one allocation rather than one per doubling.
struct ByteCount {
    std::size_t bytes = 0;
    void reserve(std::size_t) {}
    void push_back(char) { bytes++; }
    void append(std::string_view s) { bytes += s.size(); }
};

// Both directions walk the same field list (the *_fields templates below):
// Writer::field writes a value, Reader::field reads into it.
template <class Out>
class Writer {
public:
    explicit Writer(std::uint8_t version, std::size_t reserve = 0) : version_(version) {
        out_.reserve(reserve);
        u8(version);
    }
    std::uint8_t version() const { return version_; }

    void field(const std::string& s) { str(s); }
    void field(const Uuid& u) { uuid(u); }
    void field(bool b) { u8(b ? 1 : 0); }
    void field(std::uint8_t v) { u8(v); }
    void field(std::uint32_t v) { u32(v); }
    void field(std::uint64_t v) { u64(v); }
    void field(std::int32_t v) { i32(v); }
    void field(std::int64_t v) { i64(v); }
    template <class E>
    requires std::is_enum_v<E>
    void field(E e) { u8(static_cast<std::uint8_t>(e)); }
    void field(const std::vector<std::pair<std::string, std::string>>& pairs) {
        u32(static_cast<std::uint32_t>(pairs.size()));
        for (const auto& [a, b] : pairs) {
            str(a);
            str(b);
        }
    }

    void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }

    void u32(std::uint32_t v) { le(v, 4); }
    void u64(std::uint64_t v) { le(v, 8); }
    void i32(std::int32_t v) { le(static_cast<std::uint32_t>(v), 4); }
    void i64(std::int64_t v) { le(static_cast<std::uint64_t>(v), 8); }

    void str(std::string_view s) {
        u32(static_cast<std::uint32_t>(s.size()));
        out_.append(s);
    }

    void uuid(const Uuid& u) { out_.append(key_of(u)); }

    Out take() { return std::move(out_); }

private:
    void le(std::uint64_t v, int n) {
        for (int i = 0; i < n; i++) {
            out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
        }
    }

    std::uint8_t version_;
    Out out_;
};

// Reads fields in order; after the first short read every call is a no-op
// and finish() reports the record as corrupt.
class Reader {
public:
    Reader(std::string_view in, const char* what) : in_(in), what_(what) {}

    // Reads the version byte; false (the record is corrupt) unless 1..newest.
    bool open(std::uint8_t newest) { return (version_ = version(newest)) != 0; }
    std::uint8_t version() const { return version_; }

    // Into the string's own buffer: no temporary per field.
    void field(std::string& s) {
        std::string_view v = bytes();
        s.assign(v.data(), v.size());
    }
    void field(Uuid& u) { u = uuid(); }
    // Only 0 and 1 are booleans: anything else is corrupt, so that every
    // record that decodes encodes back to the same bytes.
    void field(bool& b) {
        std::uint8_t v = u8();
        if (v > 1) failed_ = true;
        b = v == 1;
    }
    void field(std::uint8_t& v) { v = u8(); }
    void field(std::uint32_t& v) { v = u32(); }
    void field(std::uint64_t& v) { v = u64(); }
    void field(std::int32_t& v) { v = i32(); }
    void field(std::int64_t& v) { v = i64(); }
    // Any byte is a value of a uint8_t-based enum; callers check the range.
    template <class E>
    requires std::is_enum_v<E>
    void field(E& e) { e = static_cast<E>(u8()); }
    void field(std::vector<std::pair<std::string, std::string>>& pairs) {
        std::uint32_t n = u32();
        // Each pair takes at least 8 bytes: a larger count is corrupt.
        if (n > (in_.size() - pos_) / 8) {
            failed_ = true;
            return;
        }
        for (std::uint32_t i = 0; i < n; i++) {
            std::string a = str();
            std::string b = str();
            pairs.emplace_back(std::move(a), std::move(b));
        }
    }

    std::uint8_t u8() { return static_cast<std::uint8_t>(le(1)); }
    std::uint32_t u32() { return static_cast<std::uint32_t>(le(4)); }
    std::uint64_t u64() { return le(8); }
    std::int32_t i32() { return static_cast<std::int32_t>(static_cast<std::uint32_t>(le(4))); }
    std::int64_t i64() { return static_cast<std::int64_t>(le(8)); }

    std::string str() { return std::string(bytes()); }

    std::string_view bytes() {
        std::uint32_t n = u32();
        if (!take(n)) return {};
        return in_.substr(pos_ - n, n);
    }

    Uuid uuid() {
        Uuid u{};
        if (take(u.size())) std::memcpy(u.data(), in_.data() + pos_ - u.size(), u.size());
        return u;
    }

    // The record's version when it is 1..newest; 0 (and the record is
    // corrupt) otherwise.
    std::uint8_t version(std::uint8_t newest) {
        std::uint8_t v = u8();
        if (failed_) return 0;
        if (v == 0 || v > newest) {
            bad_version_ = true;
            failed_ = true;
            return 0;
        }
        return v;
    }

    Result<void> finish() {
        if (auto r = finish_prefix(); !r) return r;
        if (pos_ != in_.size()) return corrupt("trailing bytes in record");
        return {};
    }

    // For a record's first fields alone: the rest is not read.
    Result<void> finish_prefix() {
        if (bad_version_) return corrupt("unknown record version");
        if (failed_) return corrupt("truncated record");
        return {};
    }

private:
    bool take(std::size_t n) {
        if (failed_ || in_.size() - pos_ < n) {
            failed_ = true;
            return false;
        }
        pos_ += n;
        return true;
    }

    std::uint64_t le(int n) {
        if (!take(static_cast<std::size_t>(n))) return 0;
        std::uint64_t v = 0;
        const char* p = in_.data() + pos_ - n;
        for (int i = 0; i < n; i++) {
            v |= std::uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
        }
        return v;
    }

    Error corrupt(const char* why) const {
        return make_error("store_corrupt", std::string(what_) + ": " + why);
    }

    std::string_view in_;
    const char* what_;
    std::uint8_t version_ = 0;
    std::size_t pos_ = 0;
    bool failed_ = false;
    bool bad_version_ = false;
};

// Big-endian so LMDB's bytewise order is numeric order.
void put_be64_at(char* out, std::uint64_t v) {
    for (int i = 0; i < 8; i++)
        out[i] = static_cast<char>((v >> (8 * (7 - i))) & 0xff);
}

void put_be64(std::string& out, std::uint64_t v) {
    char bytes[8];
    put_be64_at(bytes, v);
    out.append(bytes, sizeof(bytes));
}

// Times before the epoch never occur; clamp so the key order stays numeric.
std::uint64_t key_time(std::int64_t ns) { return static_cast<std::uint64_t>(ns < 0 ? 0 : ns); }

// The fields of each record, in their stored order, once for both
// directions (R is the record, const when writing).
template <class IO, class R>
void conversation_fields(IO& io, R& c) {
    io.field(c.id);
    io.field(c.business_number);
    io.field(c.phone_number_id);
    io.field(c.tenant);
    io.field(c.customer);
    io.field(c.customer_name);
    io.field(c.created_at_ns);
    io.field(c.window_expires_at_ns);
    io.field(c.last_inbound_ts);
    io.field(c.last_inbound_at_ns);
    io.field(c.last_outbound_at_ns);
    io.field(c.next_event_seq);
    io.field(c.unread_count);
    io.field(c.status);
    io.field(c.mode);
    io.field(c.assignee);
    if (io.version() < 2) return;
    io.field(c.newest_message);
}

// A message's first fields, the same in every version (MessageHead).
template <class IO, class R>
void message_head_fields(IO& io, R& m) {
    io.field(m.id);
    io.field(m.direction);
    io.field(m.conversation_id);
    io.field(m.wamid);
}

template <class IO, class R>
void message_fields(IO& io, R& m) {
    message_head_fields(io, m);
    io.field(m.type);
    io.field(m.text);
    io.field(m.content_json);
    io.field(m.meta_timestamp);
    io.field(m.created_at_ns);
    io.field(m.status);
    io.field(m.reply_to);
    if (io.version() < 2) return;
    io.field(m.to);
    io.field(m.callback_url);
    io.field(m.correlation_id);
    io.field(m.status_ts);
    io.field(m.error_code);
    io.field(m.error_title);
    io.field(m.error_details);
    if (io.version() < 3) return;
    io.field(m.previous);
}

template <class IO, class R>
void event_fields(IO& io, R& e) {
    io.field(e.id);
    io.field(e.conversation_id);
    io.field(e.seq);
    io.field(e.type);
    io.field(e.number);
    io.field(e.callback_url);
    io.field(e.body);
    io.field(e.state);
    io.field(e.attempts);
    io.field(e.created_at_ns);
    io.field(e.next_attempt_ns);
    io.field(e.lease_until_ns);
    io.field(e.last_status);
    io.field(e.last_error);
    if (io.version() < 2) return;
    io.field(e.callback_guarded);
}

template <class IO, class R>
void idempotency_fields(IO& io, R& rec) {
    io.field(rec.state);
    io.field(rec.fingerprint);
    io.field(rec.created_at_ns);
    io.field(rec.owner);
    io.field(rec.status);
    io.field(rec.body);
    io.field(rec.headers);
}

template <class IO, class R>
void scheduled_fields(IO& io, R& s) {
    io.field(s.graph_body);
    io.field(s.due_ns);
    io.field(s.expires_at_ns);
    io.field(s.attempts);
}

template <class IO, class R>
void stream_fields(IO& io, R& e) {
    io.field(e.kind);
    io.field(e.message);
    io.field(e.conversation);
    io.field(e.status);
    io.field(e.error_code);
    io.field(e.error_title);
}

template <class R, class Fields>
std::string encode_with(std::uint8_t version, const R& record, Fields fields) {
    Writer<ByteCount> size(version);
    fields(size, record);
    Writer<std::string> w(version, size.take().bytes);
    fields(w, record);
    return w.take();
}

// prefix: fields are the record's first ones, and the rest is not read.
template <class R, class Fields>
Result<R> decode_with(std::string_view bytes, const char* what, std::uint8_t newest, Fields fields,
                      bool prefix = false) {
    Reader r(bytes, what);
    R record;
    if (r.open(newest)) fields(r, record);
    if (auto done = prefix ? r.finish_prefix() : r.finish(); !done) return done.error();
    return record;
}

template <class E>
bool in_range(E e, E first, E last) {
    return static_cast<std::uint8_t>(e) >= static_cast<std::uint8_t>(first) &&
           static_cast<std::uint8_t>(e) <= static_cast<std::uint8_t>(last);
}

// One lambda per record kind, so each template is named once.
constexpr auto kConversation = [](auto& io, auto& r) { conversation_fields(io, r); };
constexpr auto kMessage = [](auto& io, auto& r) { message_fields(io, r); };
constexpr auto kMessageHead = [](auto& io, auto& r) { message_head_fields(io, r); };
constexpr auto kEvent = [](auto& io, auto& r) { event_fields(io, r); };
constexpr auto kIdempotency = [](auto& io, auto& r) { idempotency_fields(io, r); };
constexpr auto kScheduled = [](auto& io, auto& r) { scheduled_fields(io, r); };
constexpr auto kStream = [](auto& io, auto& r) { stream_fields(io, r); };

}  // namespace

std::string encode(const Conversation& c) {
    return encode_with(kConversationVersion, c, kConversation);
}
std::string encode(const Message& m) { return encode_with(kMessageVersion, m, kMessage); }
std::string encode(const Event& e) { return encode_with(kEventVersion, e, kEvent); }
std::string encode(const IdempotencyRecord& r) {
    return encode_with(kIdempotencyVersion, r, kIdempotency);
}

std::string encode(const ScheduledSend& s) { return encode_with(kScheduledVersion, s, kScheduled); }

std::string encode(const StreamEntry& e) { return encode_with(kStreamVersion, e, kStream); }

Result<StreamEntry> decode_stream_entry(std::string_view bytes) {
    auto e = decode_with<StreamEntry>(bytes, "stream entry", kStreamVersion, kStream);
    if (e && !in_range(e->kind, StreamKind::message, StreamKind::status)) {
        return make_error("store_corrupt", "stream entry: unknown kind");
    }
    return e;
}

Result<ScheduledSend> decode_scheduled(std::string_view bytes) {
    return decode_with<ScheduledSend>(bytes, "scheduled send", kScheduledVersion, kScheduled);
}

Result<Conversation> decode_conversation(std::string_view bytes) {
    return decode_with<Conversation>(bytes, "conversation", kConversationVersion, kConversation);
}

template <class M>
Result<M> known_direction(Result<M> m) {
    if (m && !in_range(m->direction, Direction::inbound, Direction::outbound)) {
        return make_error("store_corrupt", "message: unknown direction");
    }
    return m;
}

Result<MessageHead> decode_message_head(std::string_view bytes) {
    return known_direction(
        decode_with<MessageHead>(bytes, "message", kMessageVersion, kMessageHead, true));
}

Result<Message> decode_message(std::string_view bytes) {
    return known_direction(decode_with<Message>(bytes, "message", kMessageVersion, kMessage));
}

Result<Event> decode_event(std::string_view bytes) {
    auto e = decode_with<Event>(bytes, "event", kEventVersion, kEvent);
    if (e && !in_range(e->state, EventState::pending, EventState::dead)) {
        return make_error("store_corrupt", "event: unknown state");
    }
    return e;
}

Result<IdempotencyRecord> decode_idempotency(std::string_view bytes) {
    auto r = decode_with<IdempotencyRecord>(bytes, "idempotency record", kIdempotencyVersion,
                                            kIdempotency);
    if (r && !in_range(r->state, IdempotencyState::in_flight, IdempotencyState::done)) {
        return make_error("store_corrupt", "idempotency record: unknown state");
    }
    return r;
}

std::string bounded_key(std::string_view input) {
    if (input.size() <= kMaxInputKey && (input.empty() || input.front() != '\0')) {
        return std::string(input);
    }
    return std::string(1, '\0') + sha256(input);
}

std::string wamid_key(std::string_view wamid) { return bounded_key(wamid); }

std::string pair_key(std::string_view business_number, std::string_view customer) {
    std::string k;
    k.reserve(business_number.size() + 1 + customer.size());
    k.append(business_number);
    k.push_back('\0');
    k.append(customer);
    return bounded_key(k);
}

OutboxKey queue_key(const Uuid& conversation, std::uint64_t seq) {
    OutboxKey k;
    std::memcpy(k.bytes.data(), conversation.data(), 16);
    put_be64_at(k.bytes.data() + 16, seq);
    return k;
}

OutboxKey due_key(std::int64_t next_attempt_ns, const Uuid& event) {
    OutboxKey k;
    put_be64_at(k.bytes.data(), key_time(next_attempt_ns));
    std::memcpy(k.bytes.data() + 8, event.data(), 16);
    return k;
}

std::string time_key(std::int64_t ns, std::string_view rest) {
    std::string k;
    put_be64(k, key_time(ns));
    k.append(rest);
    return k;
}

std::int64_t time_of_key(std::string_view key) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8 && i < key.size(); i++) {
        v = (v << 8) | static_cast<unsigned char>(key[i]);
    }
    return static_cast<std::int64_t>(v);
}

Uuid uuid_from_key(std::string_view key) {
    Uuid u{};
    std::memcpy(u.data(), key.data(), key.size() < u.size() ? key.size() : u.size());
    return u;
}

}  // namespace wa

// Record encoding: a version byte, then every field in declaration order.
// Integers are little-endian, fixed width; strings are a u32 length then
// the bytes. Decoding rejects anything that is not exactly one record.
#include "store/records.hpp"

#include <cstring>

#include "base/crypto.hpp"

namespace wa {

namespace {

constexpr std::uint8_t kRecordVersion = 1;   // conversations
constexpr std::uint8_t kEventVersion = 2;    // 2 added callback_guarded
// Messages: version 2 appended the outbound fields (to .. error_details).
// Stores written by version 1 exist, so both decode.
constexpr std::uint8_t kMessageVersion = 2;
constexpr std::uint8_t kIdempotencyVersion = 1;

class Writer {
public:
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

    std::string take() { return std::move(out_); }

private:
    void le(std::uint64_t v, int n) {
        for (int i = 0; i < n; i++) {
            out_.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
        }
    }

    std::string out_;
};

// Reads fields in order; after the first short read every call is a no-op
// and finish() reports the record as corrupt.
class Reader {
public:
    Reader(std::string_view in, const char* what) : in_(in), what_(what) {}

    std::uint8_t u8() { return static_cast<std::uint8_t>(le(1)); }
    std::uint32_t u32() { return static_cast<std::uint32_t>(le(4)); }
    std::uint64_t u64() { return le(8); }
    std::int32_t i32() { return static_cast<std::int32_t>(static_cast<std::uint32_t>(le(4))); }
    std::int64_t i64() { return static_cast<std::int64_t>(le(8)); }

    std::string str() {
        std::uint32_t n = u32();
        if (!take(n)) return {};
        std::string s(in_.substr(pos_ - n, n));
        return s;
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

    bool version_ok() { return version(kRecordVersion) != 0; }

    Result<void> finish() {
        if (bad_version_) return corrupt("unknown record version");
        if (failed_) return corrupt("truncated record");
        if (pos_ != in_.size()) return corrupt("trailing bytes in record");
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
    std::size_t pos_ = 0;
    bool failed_ = false;
    bool bad_version_ = false;
};

void put_be64(std::string& out, std::uint64_t v) {
    for (int i = 7; i >= 0; i--) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

}  // namespace

std::string encode(const Conversation& c) {
    Writer w;
    w.u8(kRecordVersion);
    w.uuid(c.id);
    w.str(c.business_number);
    w.str(c.phone_number_id);
    w.str(c.tenant);
    w.str(c.customer);
    w.str(c.customer_name);
    w.i64(c.created_at_ns);
    w.i64(c.window_expires_at_ns);
    w.i64(c.last_inbound_ts);
    w.i64(c.last_inbound_at_ns);
    w.i64(c.last_outbound_at_ns);
    w.u64(c.next_event_seq);
    w.u32(c.unread_count);
    w.str(c.status);
    w.str(c.mode);
    w.str(c.assignee);
    return w.take();
}

Result<Conversation> decode_conversation(std::string_view bytes) {
    Reader r(bytes, "conversation");
    Conversation c;
    if (r.version_ok()) {
        c.id = r.uuid();
        c.business_number = r.str();
        c.phone_number_id = r.str();
        c.tenant = r.str();
        c.customer = r.str();
        c.customer_name = r.str();
        c.created_at_ns = r.i64();
        c.window_expires_at_ns = r.i64();
        c.last_inbound_ts = r.i64();
        c.last_inbound_at_ns = r.i64();
        c.last_outbound_at_ns = r.i64();
        c.next_event_seq = r.u64();
        c.unread_count = r.u32();
        c.status = r.str();
        c.mode = r.str();
        c.assignee = r.str();
    }
    if (auto done = r.finish(); !done) return done.error();
    return c;
}

std::string encode(const Message& m) {
    Writer w;
    w.u8(kMessageVersion);
    w.uuid(m.id);
    w.u8(static_cast<std::uint8_t>(m.direction));
    w.uuid(m.conversation_id);
    w.str(m.wamid);
    w.str(m.type);
    w.str(m.text);
    w.str(m.content_json);
    w.i64(m.meta_timestamp);
    w.i64(m.created_at_ns);
    w.str(m.status);
    w.str(m.reply_to);
    w.str(m.to);
    w.str(m.callback_url);
    w.str(m.correlation_id);
    w.i64(m.status_ts);
    w.i64(m.error_code);
    w.str(m.error_title);
    w.str(m.error_details);
    return w.take();
}

Result<Message> decode_message(std::string_view bytes) {
    Reader r(bytes, "message");
    Message m;
    std::uint8_t direction = 0;
    std::uint8_t version = r.version(kMessageVersion);
    if (version != 0) {
        m.id = r.uuid();
        direction = r.u8();
        m.conversation_id = r.uuid();
        m.wamid = r.str();
        m.type = r.str();
        m.text = r.str();
        m.content_json = r.str();
        m.meta_timestamp = r.i64();
        m.created_at_ns = r.i64();
        m.status = r.str();
        m.reply_to = r.str();
    }
    if (version >= 2) {
        m.to = r.str();
        m.callback_url = r.str();
        m.correlation_id = r.str();
        m.status_ts = r.i64();
        m.error_code = r.i64();
        m.error_title = r.str();
        m.error_details = r.str();
    }
    if (auto done = r.finish(); !done) return done.error();
    if (direction != static_cast<std::uint8_t>(Direction::inbound)
        && direction != static_cast<std::uint8_t>(Direction::outbound)) {
        return make_error("store_corrupt", "message: unknown direction");
    }
    m.direction = static_cast<Direction>(direction);
    return m;
}

std::string encode(const Event& e) {
    Writer w;
    w.u8(kEventVersion);
    w.uuid(e.id);
    w.uuid(e.conversation_id);
    w.u64(e.seq);
    w.str(e.type);
    w.str(e.number);
    w.str(e.callback_url);
    w.str(e.body);
    w.u8(static_cast<std::uint8_t>(e.state));
    w.u32(e.attempts);
    w.i64(e.created_at_ns);
    w.i64(e.next_attempt_ns);
    w.i64(e.lease_until_ns);
    w.i32(e.last_status);
    w.str(e.last_error);
    w.u8(e.callback_guarded ? 1 : 0);
    return w.take();
}

Result<Event> decode_event(std::string_view bytes) {
    Reader r(bytes, "event");
    Event e;
    std::uint8_t state = 0;
    std::uint8_t version = r.version(kEventVersion);
    if (version != 0) {
        e.id = r.uuid();
        e.conversation_id = r.uuid();
        e.seq = r.u64();
        e.type = r.str();
        e.number = r.str();
        e.callback_url = r.str();
        e.body = r.str();
        state = r.u8();
        e.attempts = r.u32();
        e.created_at_ns = r.i64();
        e.next_attempt_ns = r.i64();
        e.lease_until_ns = r.i64();
        e.last_status = r.i32();
        e.last_error = r.str();
    }
    if (version >= 2) e.callback_guarded = r.u8() != 0;
    if (auto done = r.finish(); !done) return done.error();
    if (state < static_cast<std::uint8_t>(EventState::pending)
        || state > static_cast<std::uint8_t>(EventState::dead)) {
        return make_error("store_corrupt", "event: unknown state");
    }
    e.state = static_cast<EventState>(state);
    return e;
}

std::string bounded_key(std::string_view input) {
    if (input.size() <= kMaxInputKey && (input.empty() || input.front() != '\0')) {
        return std::string(input);
    }
    return std::string(1, '\0') + sha256(input);
}

std::string wamid_key(std::string_view wamid) { return bounded_key(wamid); }

std::string encode(const IdempotencyRecord& rec) {
    Writer w;
    w.u8(kIdempotencyVersion);
    w.u8(static_cast<std::uint8_t>(rec.state));
    w.str(rec.fingerprint);
    w.i64(rec.created_at_ns);
    w.u64(rec.owner);
    w.i32(rec.status);
    w.str(rec.body);
    w.u32(static_cast<std::uint32_t>(rec.headers.size()));
    for (const auto& [name, value] : rec.headers) {
        w.str(name);
        w.str(value);
    }
    return w.take();
}

Result<IdempotencyRecord> decode_idempotency(std::string_view bytes) {
    Reader r(bytes, "idempotency record");
    IdempotencyRecord rec;
    r.version(kIdempotencyVersion);
    std::uint8_t state = r.u8();
    rec.fingerprint = r.str();
    rec.created_at_ns = r.i64();
    rec.owner = r.u64();
    rec.status = r.i32();
    rec.body = r.str();
    std::uint32_t n = r.u32();
    // Each header takes at least 8 bytes: a count beyond that is corrupt.
    if (n > bytes.size() / 8) return make_error("store_corrupt", "idempotency record: headers");
    for (std::uint32_t i = 0; i < n; i++) {
        std::string name = r.str();
        std::string value = r.str();
        rec.headers.emplace_back(std::move(name), std::move(value));
    }
    if (auto done = r.finish(); !done) return done.error();
    if (state != static_cast<std::uint8_t>(IdempotencyState::in_flight) &&
        state != static_cast<std::uint8_t>(IdempotencyState::done)) {
        return make_error("store_corrupt", "idempotency record: unknown state");
    }
    rec.state = static_cast<IdempotencyState>(state);
    return rec;
}

std::string pair_key(std::string_view business_number, std::string_view customer) {
    std::string k;
    k.reserve(business_number.size() + 1 + customer.size());
    k.append(business_number);
    k.push_back('\0');
    k.append(customer);
    return bounded_key(k);
}

// Big-endian so LMDB's bytewise order is numeric order.
std::string queue_key(const Uuid& conversation, std::uint64_t seq) {
    std::string k(key_of(conversation));
    put_be64(k, seq);
    return k;
}

// Times before the epoch never occur; clamp so the key order stays numeric.
std::string due_key(std::int64_t next_attempt_ns, const Uuid& event) {
    std::string k;
    put_be64(k, static_cast<std::uint64_t>(next_attempt_ns < 0 ? 0 : next_attempt_ns));
    k.append(key_of(event));
    return k;
}

std::string time_key(std::int64_t ns, std::string_view rest) {
    std::string k;
    put_be64(k, static_cast<std::uint64_t>(ns < 0 ? 0 : ns));
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

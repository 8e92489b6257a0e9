// What the store keeps, and its byte encoding (versioned, length-prefixed).
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/ids.hpp"
#include "base/result.hpp"

namespace wa {

struct Conversation {
    Uuid id{};
    std::string business_number;  // E.164 of our number
    std::string phone_number_id;
    std::string tenant;
    std::string customer;  // E.164 with + (or BSUID)
    std::string customer_name;
    std::int64_t created_at_ns = 0;
    std::int64_t window_expires_at_ns = 0;  // 0: never opened
    std::int64_t last_inbound_ts = 0;       // Meta timestamp (s) of newest inbound
    std::int64_t last_inbound_at_ns = 0;
    std::int64_t last_outbound_at_ns = 0;
    std::uint64_t next_event_seq = 0;  // per-conversation event order
    std::uint32_t unread_count = 0;
    std::string status = "open";  // open | pending_customer | closed
    std::string mode = "human";   // ai | human
    std::string assignee;
    // Record version 2: the head of its messages' chain (Message::previous),
    // newest first; zero when it has none or was written before the chain.
    Uuid newest_message{};

    // Not encoded: what the inbox's indexes hold for this conversation, set
    // when it is loaded and after every save (domain/inbox.hpp), so that a
    // save moves only the index entries that changed.
    struct Indexed {
        bool stored = false;
        std::int64_t activity_ns = 0;
        std::string status, mode, assignee, customer_name;
    } indexed;
};

enum class Direction : std::uint8_t { inbound = 1, outbound = 2 };

struct Message {
    Uuid id{};
    Direction direction = Direction::inbound;
    Uuid conversation_id{};
    std::string wamid;
    std::string type;
    std::string text;
    std::string content_json;
    std::int64_t meta_timestamp = 0;  // Meta's timestamp (s)
    std::int64_t created_at_ns = 0;
    std::string status;    // outbound: created|sent|delivered|read|failed
    std::string reply_to;  // im_/tx_ id quoted, when known
    // Record version 2 (version 1 records decode with these empty/0).
    std::string to;               // outbound: recipient, E.164 with + (or BSUID)
    std::string callback_url;     // outbound: the reply's; empty: the number's callback
    std::string correlation_id;   // outbound: echoed in status events; empty: none
    std::int64_t status_ts = 0;   // Meta's timestamp (s) of the current status
    std::int64_t error_code = 0;  // failed: Meta's errors[0]
    std::string error_title;
    std::string error_details;
    // Record version 3: the conversation's message before this one (zero:
    // none). A conversation's history is this chain from its newest message,
    // so adding a message writes no index page of its own (domain/inbox.hpp).
    Uuid previous{};
};

enum class EventState : std::uint8_t { pending = 1, delivered = 2, dead = 3 };

struct Event {
    Uuid id{};
    Uuid conversation_id{};
    std::uint64_t seq = 0;
    std::string type;    // inbound.message.received, ...
    std::string number;  // business E.164 (whose signing key signs it)
    std::string callback_url;
    // callback_url came from an API client (a reply's callback_url), not
    // from the configuration: every delivery re-checks it with the SSRF
    // guard after resolving it, and connects to the address it checked.
    bool callback_guarded = false;  // record version 2
    std::string body;               // exact bytes delivered on every attempt
    EventState state = EventState::pending;
    std::uint32_t attempts = 0;
    std::int64_t created_at_ns = 0;
    std::int64_t next_attempt_ns = 0;
    std::int64_t lease_until_ns = 0;  // in flight until then (one sender at a time)
    std::int32_t last_status = 0;     // HTTP status of the last attempt (0: transport)
    std::string last_error;
};

// An Idempotency-Key's request (SPEC §7.3): in flight while its first
// request runs, then the answer that request got, replayed on retries.
enum class IdempotencyState : std::uint8_t { in_flight = 1, done = 2 };

struct IdempotencyRecord {
    IdempotencyState state = IdempotencyState::in_flight;
    std::string fingerprint;  // SHA-256 of what was asked
    std::int64_t created_at_ns = 0;
    std::uint64_t owner = 0;  // in flight: the request holding the key
    std::int32_t status = 0;  // done: the answer
    std::string body;
    std::vector<std::pair<std::string, std::string>> headers;
};

// A send stored to be made later (SPEC §6.4 schedule_at): its message
// (status "scheduled") holds what the inbox shows; this, what the send needs.
struct ScheduledSend {
    std::string graph_body;          // prepared at request time (tx_ id inside)
    std::int64_t due_ns = 0;         // its key in Db::scheduled_due: schedule_at, or a lease
    std::int64_t expires_at_ns = 0;  // not made by then: dropped, with a failed event
    std::uint32_t attempts = 0;      // claims so far
};

// What a tenant's sockets see (SPEC §8.1), one entry per inbound message
// or status change, keyed by its stamp (domain/stream.hpp). The frame is
// built when read, from the message and conversation records.
enum class StreamKind : std::uint8_t { message = 1, status = 2 };

struct StreamEntry {
    StreamKind kind = StreamKind::message;
    Uuid message{};
    Uuid conversation{};
    std::string status;  // status: the status it moved to (sent|delivered|read|failed)
    std::int64_t error_code = 0;
    std::string error_title;
};

std::string encode(const Conversation& c);
std::string encode(const StreamEntry& e);
Result<StreamEntry> decode_stream_entry(std::string_view bytes);
std::string encode(const ScheduledSend& s);
Result<ScheduledSend> decode_scheduled(std::string_view bytes);
std::string encode(const IdempotencyRecord& r);
Result<IdempotencyRecord> decode_idempotency(std::string_view bytes);
std::string encode(const Message& m);
std::string encode(const Event& e);
Result<Conversation> decode_conversation(std::string_view bytes);
Result<Message> decode_message(std::string_view bytes);
// What finding a message's conversation needs, without its content.
struct MessageHead {
    Uuid id{};
    Direction direction = Direction::inbound;
    Uuid conversation_id{};
    std::string wamid;
};
Result<MessageHead> decode_message_head(std::string_view bytes);
Result<Event> decode_event(std::string_view bytes);

// Keys.
inline std::string_view key_of(const Uuid& u) {
    return {reinterpret_cast<const char*>(u.data()), u.size()};
}
// Keys built from outside input (a wamid, a customer id) are used as they
// are up to kMaxInputKey bytes; a longer one (LMDB refuses keys over 511
// bytes) or one starting with NUL is stored as NUL + SHA-256 of it, which no
// key used as is can equal.
constexpr std::size_t kMaxInputKey = 256;
std::string bounded_key(std::string_view input);
std::string wamid_key(std::string_view wamid);
std::string pair_key(std::string_view business_number, std::string_view customer);
// An outbox key: 16 bytes of uuid and 8 of big-endian number, in either
// order, built on the stack (several are built for every event).
struct OutboxKey {
    std::array<char, 24> bytes{};
    std::string_view view() const { return {bytes.data(), bytes.size()}; }
    operator std::string_view() const { return view(); }  // NOLINT: a key is its bytes
    std::size_t size() const { return bytes.size(); }
    std::string_view substr(std::size_t pos, std::size_t n = std::string_view::npos) const {
        return view().substr(pos, n);
    }
    friend bool operator==(const OutboxKey&, const OutboxKey&) = default;
    friend auto operator<=>(const OutboxKey& a, const OutboxKey& b) {
        return a.view() <=> b.view();
    }
};
OutboxKey queue_key(const Uuid& conversation, std::uint64_t seq);
OutboxKey due_key(std::int64_t next_attempt_ns, const Uuid& event);
// A time-ordered index key: BE64(ns) + rest.
std::string time_key(std::int64_t ns, std::string_view rest);
std::int64_t time_of_key(std::string_view key);
Uuid uuid_from_key(std::string_view key);  // first 16 bytes

}  // namespace wa

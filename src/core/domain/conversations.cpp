#include "domain/conversations.hpp"

#include <limits>

#include "base/clock.hpp"
#include "domain/events.hpp"
#include "domain/inbox.hpp"
#include "base/ids.hpp"

namespace wa {

namespace {

// Meta's seconds as ns, saturating; now when Meta sent none.
std::int64_t meta_time_ns(std::int64_t ts, std::int64_t now_ns) {
    if (ts <= 0) return now_ns;
    if (ts > std::numeric_limits<std::int64_t>::max() / kNsPerSec) {
        return std::numeric_limits<std::int64_t>::max();
    }
    return ts * kNsPerSec;
}

}  // namespace

Result<std::optional<Conversation>> conversation_by_id(Txn& txn, const Uuid& id) {
    auto bytes = txn.get(Db::conversations, key_of(id));
    if (!bytes) return bytes.error();
    if (!*bytes) return std::optional<Conversation>();
    auto c = decode_conversation(**bytes);
    if (!c) return c.error();
    note_stored(*c);
    return std::optional<Conversation>(std::move(*c));
}

Result<std::optional<Message>> message_by_id(Txn& txn, const Uuid& id) {
    auto bytes = txn.get(Db::messages, key_of(id));
    if (!bytes) return bytes.error();
    if (!*bytes) return std::optional<Message>();
    auto m = decode_message(**bytes);
    if (!m) return m.error();
    return std::optional<Message>(std::move(*m));
}

Result<Conversation> load_conversation(Txn& txn, const Uuid& id, const char* referrer) {
    auto c = conversation_by_id(txn, id);
    if (!c) return c.error();
    if (!*c) return make_error("store_corrupt", std::string(referrer) + " without conversation");
    return std::move(**c);
}

Result<std::optional<Conversation>> find_conversation(Txn& txn, std::string_view number_e164,
                                                      std::string_view customer) {
    auto ref = txn.get(Db::conversation_pair, pair_key(number_e164, customer));
    if (!ref) return ref.error();
    if (!*ref) return std::optional<Conversation>();
    auto c = load_conversation(txn, uuid_from_key(**ref), "conversation pair");
    if (!c) return c.error();
    return std::optional<Conversation>(std::move(*c));
}

Result<Conversation> conversation_for(Txn& txn, const NumberConfig& number,
                                      const std::string& customer, std::int64_t now_ns) {
    auto found = find_conversation(txn, number.e164, customer);
    if (!found) return found.error();
    if (*found) return std::move(**found);
    Conversation c;
    c.id = uuid_v7_now();
    c.business_number = number.e164;
    c.phone_number_id = number.phone_number_id;
    c.tenant = number.tenant;
    c.customer = customer;
    c.created_at_ns = now_ns;
    auto pk = pair_key(number.e164, customer);
    if (auto r = txn.put(Db::conversation_pair, pk, key_of(c.id)); !r) return r.error();
    return c;
}

Event next_event(Conversation& c, std::string_view type, std::string_view number_e164,
                 std::string callback_url, std::int64_t now_ns) {
    Event ev;
    ev.id = uuid_v7_now();
    ev.conversation_id = c.id;
    ev.seq = c.next_event_seq++;
    ev.type = type;
    ev.number = number_e164;
    ev.callback_url = std::move(callback_url);
    ev.created_at_ns = now_ns;
    return ev;
}

void close_window(Conversation& c, std::int64_t failure_ts, std::int64_t now_ns) {
    if (c.last_inbound_ts > failure_ts) return;
    if (c.window_expires_at_ns > now_ns) c.window_expires_at_ns = now_ns;
}

std::string status_event_body(const Event& ev, const Message& msg, bool with_error,
                              std::int64_t now_ns) {
    StatusEvent body;
    body.event_id = typeid_encode("evt", ev.id);
    body.created_at_ns = now_ns;
    body.status = msg.status;
    body.message_id = typeid_encode("tx", msg.id);
    body.to = msg.to;
    body.correlation_id = msg.correlation_id;
    body.status_at_ns = meta_time_ns(msg.status_ts, now_ns);
    body.has_error = with_error;
    body.error_code = msg.error_code;
    body.error_title = msg.error_title;
    body.error_details = msg.error_details;
    return encode_status_event(body);
}

}  // namespace wa

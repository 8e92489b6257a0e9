#include "domain/outbound.hpp"

#include "base/clock.hpp"
#include "domain/conversations.hpp"
#include "domain/events.hpp"
#include "base/json.hpp"
#include "store/records.hpp"

namespace wa {

namespace {

constexpr std::string_view kCreated = "created";

std::string credits_key(std::string_view number_e164) {
    return "credits_used/" + std::string(number_e164);
}

// The inbound message a reply quotes; nullopt when it is not one.
Result<std::optional<Message>> quoted_message(Txn& txn, const Uuid& id) {
    auto bytes = txn.get(Db::messages, key_of(id));
    if (!bytes) return bytes.error();
    if (!*bytes) return std::optional<Message>();
    auto msg = decode_message(**bytes);
    if (!msg) return msg.error();
    if (msg->direction != Direction::inbound || msg->wamid.empty()) {
        return std::optional<Message>();
    }
    return std::optional<Message>(std::move(*msg));
}

std::string text_content_json(std::string_view text) {
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    json_put(w, "type", "text");
    json_put(w, "text", text);
    w.EndObject();
    return {buf.GetString(), buf.GetSize()};
}

}  // namespace

Result<ReplyCheck> check_reply_target(Txn& txn, const ReplyRequest& request, const ApiKey& key,
                                      const NumberDirectory& numbers, std::int64_t now_ns) {
    ReplyCheck out;
    out.failure = ReplyFailure::invalid_reply_context;
    if (!request.reply_to_id) return out;
    auto quoted = quoted_message(txn, *request.reply_to_id);
    if (!quoted) return quoted.error();
    if (!*quoted) return out;
    auto conv = load_conversation(txn, (*quoted)->conversation_id, "message");
    if (!conv) return conv.error();
    const NumberConfig* number = numbers.by_e164(conv->business_number);
    // The number's configured tenant owns its conversations (SPEC §3.2).
    if (number == nullptr || number->tenant != key.tenant ||
        !key.allows_conversation(conv->id)) {
        return out;
    }

    ReplyTarget& t = out.target;
    t.number = number;
    t.conversation = conv->id;
    t.conversation_id = typeid_encode("conv", conv->id);
    t.context_wamid = (*quoted)->wamid;
    t.window_expires_at_ns = conv->window_expires_at_ns;
    if (request.to != conv->customer) {
        out.failure = ReplyFailure::phone_number_mismatch;
        return out;
    }
    if (conv->window_expires_at_ns <= now_ns) {
        out.failure = ReplyFailure::window_expired;
        return out;
    }
    out.failure.reset();
    if (number->credits >= 0) {
        auto used = credits_used(txn, number->e164);
        if (!used) return used.error();
        t.credits_used = *used;
    }
    return out;
}

bool credit_available(const NumberConfig& number, std::uint64_t used, std::uint64_t in_flight) {
    if (number.credits < 0) return true;
    return used + in_flight < static_cast<std::uint64_t>(number.credits);
}

Result<std::uint64_t> credits_used(Txn& txn, std::string_view number_e164) {
    return read_counter(txn, credits_key(number_e164));
}

Result<RecordedReply> record_reply(Txn& txn, const ReplyTarget& target,
                                   const ReplyRequest& request, std::string_view wamid,
                                   const DeliveryPolicy& policy, std::int64_t now_ns) {
    if (wamid.empty()) return make_error("invalid_wamid", "accepted send without a wamid");
    auto conv = load_conversation(txn, target.conversation, "reply");
    if (!conv) return conv.error();
    Conversation& c = *conv;
    const NumberConfig& number = *target.number;

    Message msg;
    msg.id = uuid_v7_now();
    msg.direction = Direction::outbound;
    msg.conversation_id = c.id;
    msg.wamid = wamid;
    msg.type = "text";
    msg.text = request.text;
    msg.content_json = text_content_json(request.text);
    msg.created_at_ns = now_ns;
    msg.status = kCreated;
    msg.reply_to = request.reply_to;
    msg.to = request.to;
    if (request.has_callback_url) msg.callback_url = request.callback_url;
    if (request.has_correlation_id) msg.correlation_id = request.correlation_id;
    if (auto r = txn.put(Db::messages, key_of(msg.id), encode(msg)); !r) return r.error();
    // Meta's wamids are unique; the mapping is what statuses find us by.
    if (auto r = txn.put(Db::wamids, wamid_key(wamid), key_of(msg.id)); !r) return r.error();
    if (number.credits >= 0) {
        if (auto r = add_counter(txn, credits_key(number.e164), 1); !r) return r.error();
    }

    c.last_outbound_at_ns = now_ns;
    std::string callback = msg.callback_url.empty() ? number.callback : msg.callback_url;
    Event ev = next_event(c, status_event_type(kCreated), number.e164, std::move(callback), now_ns);
    ev.callback_guarded = !msg.callback_url.empty();
    ev.body = status_event_body(ev, msg, false, now_ns);
    if (auto r = txn.put(Db::conversations, key_of(c.id), encode(c)); !r) return r.error();

    RecordedReply out;
    out.id = msg.id;
    out.message_id = typeid_encode("tx", msg.id);
    out.created_at_ns = now_ns;
    out.window_expires_at_ns = c.window_expires_at_ns;
    auto delivery = outbox_enqueue(txn, std::move(ev), policy, now_ns);
    if (!delivery) return delivery.error();
    if (*delivery) out.deliveries.push_back(std::move(**delivery));
    return out;
}

Result<std::int64_t> close_window_after_send(Txn& txn, const Uuid& conversation,
                                             std::int64_t now_ns) {
    auto conv = load_conversation(txn, conversation, "reply");
    if (!conv) return conv.error();
    close_window(*conv, now_ns / kNsPerSec, now_ns);
    if (auto r = txn.put(Db::conversations, key_of(conv->id), encode(*conv)); !r) {
        return r.error();
    }
    return conv->window_expires_at_ns;
}

}  // namespace wa

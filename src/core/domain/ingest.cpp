// Inbound webhook -> conversations, messages and outbox events (SPEC §4.3-4.4).
// Everything happens in the caller's write transaction; on any error the
// caller aborts it, so a webhook is applied entirely or not at all.
#include "domain/ingest.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <string_view>

#include "base/clock.hpp"
#include "domain/conversations.hpp"
#include "domain/events.hpp"
#include "domain/inbox.hpp"
#include "domain/media.hpp"
#include "domain/send.hpp"
#include "domain/stream.hpp"
#include "base/phone.hpp"
#include "store/records.hpp"

namespace wa {

namespace {

constexpr std::string_view kInboundReceived = "inbound.message.received";

// Meta's timestamp is untrusted input: saturate instead of overflowing.
std::int64_t window_end(std::int64_t ts, std::int64_t window_ns) {
    constexpr std::int64_t max = std::numeric_limits<std::int64_t>::max();
    if (ts <= 0) return window_ns;
    if (ts > (max - window_ns) / kNsPerSec) return max;
    return ts * kNsPerSec + window_ns;
}

Result<std::string> customer_of(const InboundMessage& m) {
    if (!m.from.empty()) return normalize_wa_id(m.from);
    if (!m.from_user_id.empty()) return m.from_user_id;
    return make_error("invalid_payload",
                      "message " + m.wamid + " has neither from nor from_user_id");
}

// The im_/tx_ id of one of our messages, by its wamid; empty when unknown.
Result<std::string> our_message_id(Txn& txn, std::string_view wamid) {
    if (wamid.empty()) return std::string();
    auto ref = txn.get(Db::wamids, wamid_key(wamid));
    if (!ref) return ref.error();
    if (!*ref || (*ref)->size() != 16) return std::string();
    Uuid id = uuid_from_key(**ref);
    auto bytes = txn.get(Db::messages, key_of(id));
    if (!bytes) return bytes.error();
    // Outbound sends may map a wamid before their message record exists.
    if (!*bytes) return std::string();
    auto msg = decode_message(**bytes);
    if (!msg) return msg.error();
    return typeid_encode(msg->direction == Direction::inbound ? "im" : "tx", id);
}

// Only a newer message moves the window: a late, older one must neither
// shorten nor extend it.
void apply_inbound(Conversation& c, const InboundMessage& m, const IngestOptions& options,
                   std::int64_t now_ns) {
    if (m.timestamp > c.last_inbound_ts) {
        c.last_inbound_ts = m.timestamp;
        c.window_expires_at_ns = window_end(m.timestamp, options.window_ns);
    }
    if (!m.contact_name.empty()) c.customer_name = m.contact_name;
    c.last_inbound_at_ns = now_ns;
    c.unread_count++;
    reopen_on_inbound(c);
}

// Queues ev; a queue head comes back leased, for the caller to send now.
Result<void> enqueue(Txn& txn, Event ev, const IngestOptions& options, std::int64_t now_ns,
                     IngestOutcome& out) {
    DeliveryPolicy policy;
    policy.lease_ns = options.lease_ns;
    auto delivery = outbox_enqueue(txn, std::move(ev), policy, now_ns);
    if (!delivery) return delivery.error();
    if (*delivery) out.deliveries.push_back(std::move(**delivery));
    return {};
}

Result<void> ingest_message(Txn& txn, const NumberConfig& number, const InboundMessage& m,
                            const IngestOptions& options, std::int64_t now_ns, IngestOutcome& out) {
    if (m.wamid.empty()) return make_error("invalid_payload", "message without id");
    Message msg;
    msg.id = uuid_v7_now();

    // Dedupe first: a redelivered wamid changes nothing and emits nothing.
    auto fresh = txn.insert(Db::wamids, wamid_key(m.wamid), key_of(msg.id));
    if (!fresh) return fresh.error();
    if (!*fresh) {
        out.duplicates++;
        return {};
    }

    auto customer = customer_of(m);
    if (!customer) return customer.error();
    auto conv = conversation_for(txn, number, *customer, now_ns);
    if (!conv) return conv.error();
    Conversation& c = *conv;
    apply_inbound(c, m, options, now_ns);

    auto reply_to = our_message_id(txn, m.context_id);
    if (!reply_to) return reply_to.error();
    std::string content = m.content_json;
    if (!m.reaction_to.empty()) {
        auto reacted = our_message_id(txn, m.reaction_to);
        if (!reacted) return reacted.error();
        if (!reacted->empty()) content = set_reaction_message_id(content, *reacted);
    }
    if (is_media_type(m.type)) content = with_media_url(content, options.media_prefix);

    msg.direction = Direction::inbound;
    msg.conversation_id = c.id;
    msg.wamid = m.wamid;
    msg.type = m.type;
    msg.text = m.text;
    msg.content_json = content;
    msg.meta_timestamp = m.timestamp;
    msg.created_at_ns = now_ns;
    msg.reply_to = *reply_to;
    if (auto r = add_message(txn, c, msg); !r) return r.error();
    if (auto r = note_media(txn, c, msg); !r) return r.error();

    Event ev = next_event(c, kInboundReceived, number.e164, number.callback, now_ns);

    InboundEvent body;
    body.event_id = typeid_encode("evt", ev.id);
    body.created_at_ns = now_ns;
    body.message_id = typeid_encode("im", msg.id);
    body.conversation_id = typeid_encode("conv", c.id);
    body.from = c.customer;
    body.to = number.e164;
    body.content_json = std::move(content);
    body.contact_name = m.contact_name;
    body.reply_to = msg.reply_to;
    body.window_expires_at_ns = c.window_expires_at_ns;
    ev.body = encode_inbound_event(body);

    if (auto r = save_conversation(txn, c); !r) return r.error();
    if (auto r = enqueue(txn, std::move(ev), options, now_ns, out); !r) return r.error();
    auto streamed = stream_inbound(txn, c, msg);
    if (!streamed) return streamed.error();
    out.stream_stamp = std::max(out.stream_stamp, *streamed);

    out.received++;
    out.last_tenant = c.tenant;
    out.last_conversation_id = std::move(body.conversation_id);
    out.last_message_id = std::move(body.message_id);
    out.last_window_expires_at_ns = c.window_expires_at_ns;
    return {};
}

constexpr std::int64_t kReEngagementRequired = 131047;  // the window had closed

// Forward-only order (SPEC §4.5); failed ranks highest, so it is terminal.
// 0: nothing to move to (created, or a word we do not know).
int status_rank(std::string_view status) {
    if (status == "sent") return 1;
    if (status == "delivered") return 2;
    if (status == "read") return 3;
    if (status == "failed") return 4;
    return 0;
}

// A played voice note was read; consumers see the statuses of §5.2 only.
std::string_view normalized_status(std::string_view status) {
    return status == "played" ? std::string_view("read") : status;
}

bool moves_forward(std::string_view from, std::string_view to) {
    int rank = status_rank(to);
    return rank > 0 && rank > status_rank(from);
}

// The outbound message a wamid maps to; nullopt for inbound or unknown ones.
Result<std::optional<Message>> outbound_message(Txn& txn, std::string_view wamid) {
    if (wamid.empty()) return std::optional<Message>();  // LMDB refuses empty keys
    auto ref = txn.get(Db::wamids, wamid_key(wamid));
    if (!ref) return ref.error();
    if (!*ref || (*ref)->size() != 16) return std::optional<Message>();
    auto bytes = txn.get(Db::messages, key_of(uuid_from_key(**ref)));
    if (!bytes) return bytes.error();
    // A send may map its wamid before its message record exists.
    if (!*bytes) return std::optional<Message>();
    auto msg = decode_message(**bytes);
    if (!msg) return msg.error();
    if (msg->direction != Direction::outbound) return std::optional<Message>();
    return std::optional<Message>(std::move(*msg));
}

bool is_re_engagement_failure(const StatusUpdate& s) {
    for (const auto& e : s.errors) {
        if (e.code == kReEngagementRequired) return true;
    }
    return false;
}

void apply_status(Message& msg, std::string_view status, const StatusUpdate& s) {
    msg.status = status;
    msg.status_ts = s.timestamp;
    if (status == "failed" && !s.errors.empty()) {
        msg.error_code = s.errors.front().code;
        msg.error_title = s.errors.front().title;
        msg.error_details = s.errors.front().details;
    }
}

Result<void> ingest_status(Txn& txn, const NumberConfig& number, const StatusUpdate& s,
                           const IngestOptions& options, std::int64_t now_ns, IngestOutcome& out) {
    auto found = outbound_message(txn, s.wamid);
    if (!found) return found.error();
    if (!*found && !s.biz_opaque_callback_data.empty()) {
        // A send whose answer was lost (§6.3): Meta had it after all.
        DeliveryPolicy policy;
        policy.lease_ns = options.lease_ns;
        auto linked = link_unknown_send(txn, s.biz_opaque_callback_data, s.wamid, number, policy,
                                        now_ns, out.deliveries);
        if (!linked) return linked.error();
        found = std::move(linked);
        if (*found) out.unknown_sends_linked++;
    }
    if (!*found) {
        out.statuses_unknown++;
        return {};
    }
    Message& msg = **found;
    auto conv = load_conversation(txn, msg.conversation_id, "message");
    if (!conv) return conv.error();
    Conversation& c = *conv;
    // Signed by this number's app secret: it may only touch its own messages.
    if (c.business_number != number.e164) {
        out.statuses_unknown++;
        return {};
    }

    std::string_view status = normalized_status(s.status);
    if (!moves_forward(msg.status, status)) {
        out.statuses_ignored++;
        return {};
    }
    apply_status(msg, status, s);
    if (status == "failed" && is_re_engagement_failure(s)) close_window(c, s.timestamp, now_ns);
    if (auto r = txn.put(Db::messages, key_of(msg.id), encode(msg)); !r) return r.error();
    auto streamed = stream_status(txn, c, msg, now_ns);
    if (!streamed) return streamed.error();
    out.stream_stamp = std::max(out.stream_stamp, *streamed);

    DeliveryPolicy policy;
    policy.lease_ns = options.lease_ns;
    auto delivery = enqueue_status_event(txn, c, msg, number,
                                         status == "failed" && !s.errors.empty(), policy, now_ns);
    if (!delivery) return delivery.error();
    if (*delivery) out.deliveries.push_back(std::move(**delivery));
    out.statuses_applied++;
    return {};
}

}  // namespace

Result<IngestOutcome> ingest_webhook(Txn& txn, const WebhookBatch& batch,
                                     const NumberDirectory& numbers,
                                     const std::vector<bool>& signed_by,
                                     const IngestOptions& options, std::int64_t now_ns) {
    IngestOutcome out;
    for (const auto& change : batch.changes) {
        const NumberConfig* number = numbers.by_phone_number_id(change.phone_number_id);
        if (number == nullptr) {
            out.unrouted++;
            out.unrouted_ids.push_back(change.phone_number_id);
            continue;
        }
        // A body signed with another tenant's secret must not write here.
        auto index = static_cast<std::size_t>(number - numbers.all().data());
        if (index >= signed_by.size() || !signed_by[index]) {
            out.unsigned_changes++;
            continue;
        }
        out.statuses += static_cast<std::uint32_t>(change.statuses.size());
        for (const auto& m : change.messages) {
            if (auto r = ingest_message(txn, *number, m, options, now_ns, out); !r) {
                return r.error();
            }
        }
        for (const auto& st : change.statuses) {
            if (auto r = ingest_status(txn, *number, st, options, now_ns, out); !r) {
                return r.error();
            }
        }
    }
    return out;
}

}  // namespace wa

#include "domain/scheduled.hpp"

#include "domain/conversations.hpp"
#include "domain/inbox.hpp"
#include "store/records.hpp"

namespace wa {

namespace {

constexpr std::string_view kScheduled = "scheduled";

Result<std::optional<ScheduledSend>> load_scheduled(Txn& txn, const Uuid& id) {
    auto bytes = txn.get(Db::scheduled, key_of(id));
    if (!bytes) return bytes.error();
    if (!*bytes) return std::optional<ScheduledSend>();
    auto s = decode_scheduled(**bytes);
    if (!s) return s.error();
    return std::optional<ScheduledSend>(std::move(*s));
}

// The send at due_ns from now on (its index key moved with it).
Result<void> move_due(Txn& txn, const Uuid& id, ScheduledSend& s, std::int64_t due_ns) {
    if (auto r = txn.del(Db::scheduled_due, time_key(s.due_ns, key_of(id))); !r) return r.error();
    s.due_ns = due_ns;
    if (auto r = txn.put(Db::scheduled_due, time_key(due_ns, key_of(id)), ""); !r) {
        return r.error();
    }
    return txn.put(Db::scheduled, key_of(id), encode(s));
}

Result<void> forget(Txn& txn, const Uuid& id, const ScheduledSend& s) {
    if (auto r = txn.del(Db::scheduled_due, time_key(s.due_ns, key_of(id))); !r) return r.error();
    if (auto r = txn.del(Db::scheduled, key_of(id)); !r) return r.error();
    return {};
}

Result<Message> load_message(Txn& txn, const Uuid& id) {
    auto bytes = txn.get(Db::messages, key_of(id));
    if (!bytes) return bytes.error();
    if (!*bytes) return make_error("store_corrupt", "scheduled send without message");
    return decode_message(**bytes);
}

// The scheduled send's message, conversation and number; nullopt when it is
// no longer scheduled.
struct Loaded {
    ScheduledSend send;
    Message msg;
    Conversation conv;
    const NumberConfig* number = nullptr;
};
Result<std::optional<Loaded>> load_all(Txn& txn, const Uuid& id, const NumberDirectory& numbers) {
    auto s = load_scheduled(txn, id);
    if (!s) return s.error();
    if (!*s) return std::optional<Loaded>();
    Loaded l;
    l.send = std::move(**s);
    auto msg = load_message(txn, id);
    if (!msg) return msg.error();
    l.msg = std::move(*msg);
    auto conv = load_conversation(txn, l.msg.conversation_id, "message");
    if (!conv) return conv.error();
    l.conv = std::move(*conv);
    l.number = numbers.by_e164(l.conv.business_number);
    if (l.number == nullptr) {
        return make_error("unknown_number", "scheduled send from " + l.conv.business_number +
                                                ", a number no longer configured");
    }
    return std::optional<Loaded>(std::move(l));
}

}  // namespace

Result<RecordedSend> schedule_send(Txn& txn, const SendTarget& target, const SendRequest& request,
                                   const PreparedSend& prepared, std::int64_t schedule_at_ns,
                                   std::int64_t expires_at_ns, std::int64_t now_ns) {
    auto conv = send_conversation(txn, target, request, now_ns);
    if (!conv) return conv.error();
    Message msg = outbound_message(*conv, request, prepared, kScheduled, now_ns);
    if (auto r = add_message(txn, *conv, msg); !r) return r.error();
    if (auto r = save_conversation(txn, *conv); !r) return r.error();
    ScheduledSend s;
    s.graph_body = prepared.graph_body;
    s.due_ns = schedule_at_ns;
    s.expires_at_ns = expires_at_ns;
    if (auto r = txn.put(Db::scheduled, key_of(msg.id), encode(s)); !r) return r.error();
    if (auto r = txn.put(Db::scheduled_due, time_key(schedule_at_ns, key_of(msg.id)), ""); !r) {
        return r.error();
    }
    RecordedSend out;
    out.message_id = prepared.message_id;
    out.conversation_id = typeid_encode("conv", conv->id);
    out.created_at_ns = now_ns;
    out.window_expires_at_ns = conv->window_expires_at_ns;
    return out;
}

Result<std::vector<DueSend>> claim_scheduled(Txn& txn, std::int64_t now_ns, std::size_t limit,
                                             std::int64_t lease_ns) {
    std::vector<Uuid> due;
    auto scanned = txn.scan(Db::scheduled_due, {}, [&](const Txn::Entry& e) {
        if (due.size() >= limit || time_of_key(e.key) > now_ns) return false;
        due.push_back(uuid_from_key(e.key.substr(8)));
        return true;
    });
    if (!scanned) return scanned.error();
    std::vector<DueSend> out;
    for (const Uuid& id : due) {
        auto s = load_scheduled(txn, id);
        if (!s) return s.error();
        if (!*s) return make_error("store_corrupt", "scheduled_due entry without its send");
        ScheduledSend& send = **s;
        send.attempts++;
        if (auto r = move_due(txn, id, send, now_ns + lease_ns); !r) return r.error();
        auto msg = load_message(txn, id);
        if (!msg) return msg.error();
        auto conv = load_conversation(txn, msg->conversation_id, "message");
        if (!conv) return conv.error();
        DueSend d;
        d.id = id;
        d.message_id = typeid_encode("tx", id);
        d.number_e164 = conv->business_number;
        d.graph_body = std::move(send.graph_body);
        d.expired = send.expires_at_ns <= now_ns;
        out.push_back(std::move(d));
    }
    return out;
}

Result<std::optional<std::int64_t>> next_scheduled(Txn& txn) {
    auto first = txn.first_with_prefix(Db::scheduled_due, {});
    if (!first) return first.error();
    if (!*first) return std::optional<std::int64_t>();
    return std::optional<std::int64_t>(time_of_key((*first)->key));
}

Result<RecordedSend> complete_scheduled(Txn& txn, const Uuid& id, std::string_view wamid,
                                        const NumberDirectory& numbers,
                                        const DeliveryPolicy& policy, std::int64_t now_ns) {
    auto loaded = load_all(txn, id, numbers);
    if (!loaded) return loaded.error();
    if (!*loaded) return RecordedSend{};
    Loaded& l = **loaded;
    if (auto r = forget(txn, id, l.send); !r) return r.error();
    return record_outcome(txn, l.conv, l.msg, false, *l.number, wamid, policy, now_ns);
}

Result<std::vector<Delivery>> fail_scheduled(Txn& txn, const Uuid& id, std::int64_t code,
                                             std::string title, std::string details,
                                             const NumberDirectory& numbers,
                                             const DeliveryPolicy& policy, std::int64_t now_ns) {
    std::vector<Delivery> out;
    auto loaded = load_all(txn, id, numbers);
    if (!loaded) return loaded.error();
    if (!*loaded) return out;
    Loaded& l = **loaded;
    l.msg.status = "failed";
    l.msg.error_code = code;
    l.msg.error_title = std::move(title);
    l.msg.error_details = std::move(details);
    if (auto r = txn.put(Db::messages, key_of(id), encode(l.msg)); !r) return r.error();
    if (auto r = forget(txn, id, l.send); !r) return r.error();
    auto delivery = enqueue_status_event(txn, l.conv, l.msg, *l.number, true, policy, now_ns);
    if (!delivery) return delivery.error();
    if (*delivery) out.push_back(std::move(**delivery));
    return out;
}

Result<void> retry_scheduled(Txn& txn, const Uuid& id, std::int64_t due_ns) {
    auto s = load_scheduled(txn, id);
    if (!s) return s.error();
    if (!*s) return {};
    return move_due(txn, id, **s, due_ns);
}

}  // namespace wa

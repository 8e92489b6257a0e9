#include "domain/send.hpp"

#include "base/clock.hpp"
#include "domain/conversations.hpp"
#include "domain/events.hpp"
#include "domain/inbox.hpp"
#include "domain/media.hpp"
#include "base/json.hpp"
#include "store/records.hpp"

namespace wa {

namespace {

constexpr std::string_view kCreated = "created";
constexpr std::string_view kUnknown = "unknown";

std::string credits_key(std::string_view number_e164) {
    return "credits_used/" + std::string(number_e164);
}

// The inbound message a reply quotes; nullopt when it is not one. Only its
// first fields are read: its content is not needed.
Result<std::optional<MessageHead>> quoted_message(Txn& txn, const Uuid& id) {
    std::optional<MessageHead> none;
    auto bytes = txn.get(Db::messages, key_of(id));
    if (!bytes) return bytes.error();
    if (!*bytes) return none;
    auto head = decode_message_head(**bytes);
    if (!head) return head.error();
    if (head->direction != Direction::inbound || head->wamid.empty()) return none;
    return std::optional<MessageHead>(std::move(*head));
}

// The message's "content" as the inbox and events show it.
std::string content_json_of(const GraphContent& c) {
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.StartObject();
    switch (c.kind) {
        case GraphContent::Kind::text:
            json_put(w, "type", "text");
            json_put(w, "text", c.text);
            break;
        case GraphContent::Kind::template_message:
            json_put(w, "type", "template");
            w.Key("template");
            w.StartObject();
            json_put(w, "name", c.template_name);
            json_put(w, "language", c.language);
            w.Key("parameters");
            w.StartArray();
            for (const auto& [name, text] : c.parameters) {
                w.StartObject();
                if (!c.positional) json_put(w, "name", name);
                json_put(w, "text", text);
                w.EndObject();
            }
            w.EndArray();
            w.EndObject();
            break;
        case GraphContent::Kind::media:
            json_put(w, "type", c.media_type);
            w.Key("media");
            w.StartObject();
            if (!c.media_id.empty()) json_put(w, "id", c.media_id);
            if (!c.media_link.empty()) json_put(w, "link", c.media_link);
            if (!c.text.empty()) json_put(w, "caption", c.text);
            if (!c.filename.empty()) json_put(w, "filename", c.filename);
            w.EndObject();
            break;
    }
    w.EndObject();
    return {buf.GetString(), buf.GetSize()};
}

std::string_view type_of(const GraphContent& c) {
    switch (c.kind) {
        case GraphContent::Kind::text: return "text";
        case GraphContent::Kind::template_message: return "template";
        case GraphContent::Kind::media: return c.media_type;
    }
    return "text";
}

}  // namespace

Result<Conversation> send_conversation(Txn& txn, const SendTarget& target,
                                       const SendRequest& request, std::int64_t now_ns) {
    // A new message's conversation may have begun since the check (an
    // inbound message): conversation_for finds it then.
    if (target.conversation == Uuid{}) {
        auto c = conversation_for(txn, *target.number, request.to, now_ns);
        if (c && c->customer_name.empty()) c->customer_name = request.customer_name;
        return c;
    }
    return load_conversation(txn, target.conversation, "send");
}

Message outbound_message(const Conversation& c, const SendRequest& request,
                         const PreparedSend& prepared, std::string_view status,
                         std::int64_t now_ns) {
    Message msg;
    msg.id = prepared.id;
    msg.direction = Direction::outbound;
    msg.conversation_id = c.id;
    msg.type = type_of(request.content);
    msg.text = request.content.text;
    msg.content_json = content_json_of(request.content);
    msg.created_at_ns = now_ns;
    msg.status = status;
    msg.reply_to = request.reply_to_text;
    msg.to = c.customer;
    msg.callback_url = request.callback_url;
    msg.correlation_id = request.correlation_id;
    return msg;
}

Result<std::optional<Delivery>> enqueue_status_event(Txn& txn, Conversation& c, const Message& msg,
                                                     const NumberConfig& number, bool with_error,
                                                     const DeliveryPolicy& policy,
                                                     std::int64_t now_ns) {
    std::string callback = msg.callback_url.empty() ? number.callback : msg.callback_url;
    Event ev =
        next_event(c, status_event_type(msg.status), number.e164, std::move(callback), now_ns);
    ev.callback_guarded = !msg.callback_url.empty();
    ev.body = status_event_body(ev, msg, with_error, now_ns);
    if (auto r = save_conversation(txn, c); !r) return r.error();
    return outbox_enqueue(txn, std::move(ev), policy, now_ns);
}

SendScope SendScope::of(const ApiKey& key) {
    SendScope s;
    s.tenant = key.tenant;
    s.conversation = key.conversation;
    return s;
}

bool SendScope::allows(const Conversation& c) const {
    return conversation_allowed(conversation, c.id);
}

// A new message from request.sender to request.to.
Result<SendCheck> check_new_message(Txn& txn, const SendRequest& request, std::int64_t now_ns) {
    SendCheck out;
    SendTarget& t = out.target;
    t.number = request.sender;
    t.to = request.to;
    auto conv = find_conversation(txn, t.number->e164, request.to);
    if (!conv) return conv.error();
    if (*conv) {
        t.conversation = (*conv)->id;
        t.conversation_id = typeid_encode("conv", t.conversation);
        t.window_expires_at_ns = (*conv)->window_expires_at_ns;
    }
    if (t.number->tenant != request.scope.tenant ||
        (request.scope.conversation && !(*conv && request.scope.allows(**conv)))) {
        out.refusal = SendRefusal::outside_scope;
        return out;
    }
    if (request.content.kind != GraphContent::Kind::template_message &&
        t.window_expires_at_ns <= now_ns) {
        out.refusal = SendRefusal::window_closed;
        return out;
    }
    return out;
}

// The same customer, with or without the + of E.164.
bool same_recipient(std::string_view named, std::string_view customer) {
    if (!named.empty() && named.front() == '+') named.remove_prefix(1);
    if (!customer.empty() && customer.front() == '+') customer.remove_prefix(1);
    return named == customer;
}

// A message in request.conversation, to its customer.
Result<SendCheck> check_conversation_message(Txn& txn, const SendRequest& request,
                                             const NumberDirectory& numbers, std::int64_t now_ns) {
    SendCheck out;
    out.refusal = SendRefusal::no_such_message;
    auto conv = tenant_conversation(txn, *request.conversation, request.scope.tenant,
                                    request.scope.conversation);
    if (!conv) return conv.error();
    if (!*conv) return out;
    const NumberConfig* number = numbers.by_e164((*conv)->business_number);
    if (number == nullptr || number->tenant != request.scope.tenant) return out;
    SendTarget& t = out.target;
    t.number = number;
    t.conversation = (*conv)->id;
    t.conversation_id = typeid_encode("conv", t.conversation);
    t.to = (*conv)->customer;
    t.window_expires_at_ns = (*conv)->window_expires_at_ns;
    // A client that names the recipient or the number (the realtime
    // dialect's toNumber, poolNumberId) must name this conversation's.
    if ((!request.to.empty() && !same_recipient(request.to, t.to)) ||
        (!request.phone_number_id.empty() && request.phone_number_id != number->phone_number_id)) {
        out.refusal = SendRefusal::recipient_mismatch;
        return out;
    }
    if (request.content.kind != GraphContent::Kind::template_message &&
        t.window_expires_at_ns <= now_ns) {
        out.refusal = SendRefusal::window_closed;
        return out;
    }
    out.refusal.reset();
    return out;
}

Result<SendCheck> check_send(Txn& txn, const SendRequest& request, const NumberDirectory& numbers,
                             std::int64_t now_ns) {
    if (request.conversation) return check_conversation_message(txn, request, numbers, now_ns);
    if (request.sender != nullptr && !request.reply_to) {
        return check_new_message(txn, request, now_ns);
    }
    SendCheck out;
    out.refusal = SendRefusal::no_such_message;
    if (!request.reply_to) return out;
    auto quoted = quoted_message(txn, *request.reply_to);
    if (!quoted) return quoted.error();
    if (!*quoted) return out;
    auto conv = load_conversation(txn, (*quoted)->conversation_id, "message");
    if (!conv) return conv.error();
    const NumberConfig* number = numbers.by_e164(conv->business_number);
    // The number's configured tenant owns its conversations (SPEC §3.2).
    if (number == nullptr || number->tenant != request.scope.tenant ||
        !request.scope.allows(*conv)) {
        return out;
    }

    SendTarget& t = out.target;
    t.number = number;
    t.conversation = conv->id;
    t.conversation_id = typeid_encode("conv", conv->id);
    t.context_wamid = (*quoted)->wamid;
    t.to = conv->customer;
    t.window_expires_at_ns = conv->window_expires_at_ns;
    if (request.to != conv->customer) {
        out.refusal = SendRefusal::recipient_mismatch;
        return out;
    }
    if (conv->window_expires_at_ns <= now_ns) {
        out.refusal = SendRefusal::window_closed;
        return out;
    }
    out.refusal.reset();
    return out;
}

const NumberConfig* choose_sender(const NumberDirectory& numbers, std::string_view tenant,
                                  std::string_view from) {
    if (!from.empty()) {
        const NumberConfig* n = numbers.by_e164(from);
        return n != nullptr && n->tenant == tenant ? n : nullptr;
    }
    const NumberConfig* only = nullptr;
    for (const NumberConfig& n : numbers.all()) {
        if (n.tenant != tenant) continue;
        if (only != nullptr) return nullptr;  // several: the caller must choose
        only = &n;
    }
    return only;
}

bool credit_available(const NumberConfig& number, std::uint64_t used, std::uint64_t in_flight) {
    if (number.credits < 0) return true;
    return used + in_flight < static_cast<std::uint64_t>(number.credits);
}

Result<std::uint64_t> credits_used(Txn& txn, std::string_view number_e164) {
    return read_counter(txn, credits_key(number_e164));
}

Result<bool> take_credit(Store& store, const NumberConfig& number, CreditHolds& holds) {
    struct Locked {
        CreditHolds& h;
        explicit Locked(CreditHolds& holds) : h(holds) { h.lock(); }
        ~Locked() { h.unlock(); }
    } locked(holds);
    std::uint64_t in_flight = holds.in_flight();
    auto txn = store.begin_read();
    if (!txn) return txn.error();
    auto used = credits_used(*txn, number.e164);
    txn->abort();
    if (!used) return used.error();
    if (!credit_available(number, *used, in_flight)) return false;
    holds.hold();
    return true;
}

Result<void> count_credit(Txn& txn, const NumberConfig& number) {
    if (number.credits < 0) return {};
    if (auto r = add_counter(txn, credits_key(number.e164), 1); !r) return r.error();
    return {};
}

SendOutcome send_outcome(int status, bool written, const GraphResult& graph) {
    if (status == 0) return written ? SendOutcome::unknown : SendOutcome::not_sent;
    return graph.accepted() ? SendOutcome::accepted : SendOutcome::not_sent;
}

PreparedSend prepare_send(const SendRequest& request, const SendTarget& target) {
    PreparedSend p;
    p.id = uuid_v7_now();
    p.message_id = typeid_encode("tx", p.id);
    p.graph_body =
        graph_message_body(target.to, request.content, target.context_wamid, p.message_id);
    return p;
}

Result<RecordedSend> record_outcome(Txn& txn, Conversation& c, Message& msg, bool fresh,
                                    const NumberConfig& number, std::string_view wamid,
                                    const DeliveryPolicy& policy, std::int64_t now_ns) {
    bool accepted = !wamid.empty();
    msg.wamid = wamid;
    msg.status = accepted ? kCreated : kUnknown;
    // A scheduled send's message is in the store already, in its place.
    if (fresh) {
        if (auto r = add_message(txn, c, msg); !r) return r.error();
    } else if (auto r = txn.put(Db::messages, key_of(msg.id), encode(msg)); !r) {
        return r.error();
    }
    // Meta's wamids are unique; the mapping is what statuses find us by.
    if (accepted) {
        if (auto r = txn.put(Db::wamids, wamid_key(wamid), key_of(msg.id)); !r) return r.error();
    }
    // An unknown send holds its credit: Meta may well have it.
    if (auto r = count_credit(txn, number); !r) return r.error();

    c.last_outbound_at_ns = now_ns;
    await_customer(c);
    RecordedSend out;
    out.message_id = typeid_encode("tx", msg.id);
    out.conversation_id = typeid_encode("conv", c.id);
    out.created_at_ns = msg.created_at_ns;
    out.window_expires_at_ns = c.window_expires_at_ns;
    if (!accepted) {
        if (auto r = save_conversation(txn, c); !r) return r.error();
        return out;
    }
    auto delivery = enqueue_status_event(txn, c, msg, number, false, policy, now_ns);
    if (!delivery) return delivery.error();
    if (*delivery) out.deliveries.push_back(std::move(**delivery));
    return out;
}

Result<RecordedSend> record_send(Txn& txn, const SendTarget& target, const SendRequest& request,
                                 const PreparedSend& prepared, std::string_view wamid,
                                 const DeliveryPolicy& policy, std::int64_t now_ns,
                                 std::string_view uploaded_media_id) {
    auto conv = send_conversation(txn, target, request, now_ns);
    if (!conv) return conv.error();
    Message msg = outbound_message(*conv, request, prepared, {}, now_ns);
    if (!uploaded_media_id.empty()) {
        if (auto noted = note_sent_media(txn, *conv, msg, uploaded_media_id); !noted) {
            return noted.error();
        }
    }
    return record_outcome(txn, *conv, msg, true, *target.number, wamid, policy, now_ns);
}

Result<std::int64_t> close_window_after_send(Txn& txn, const Uuid& conversation,
                                             std::int64_t now_ns) {
    auto conv = load_conversation(txn, conversation, "send");
    if (!conv) return conv.error();
    close_window(*conv, now_ns / kNsPerSec, now_ns);
    if (auto r = save_conversation(txn, *conv); !r) return r.error();
    return conv->window_expires_at_ns;
}

Result<std::optional<Message>> link_unknown_send(Txn& txn, std::string_view callback_data,
                                                 std::string_view wamid, const NumberConfig& number,
                                                 const DeliveryPolicy& policy, std::int64_t now_ns,
                                                 std::vector<Delivery>& deliveries) {
    std::optional<Message> none;
    auto id = typeid_decode_as("tx", callback_data);
    if (!id || wamid.empty()) return none;
    auto bytes = txn.get(Db::messages, key_of(*id));
    if (!bytes) return bytes.error();
    if (!*bytes) return none;
    auto msg = decode_message(**bytes);
    if (!msg) return msg.error();
    if (msg->direction != Direction::outbound || msg->status != kUnknown) return none;
    auto conv = load_conversation(txn, msg->conversation_id, "message");
    if (!conv) return conv.error();
    // Signed by this number's app secret: it may only touch its own sends.
    if (conv->business_number != number.e164) return none;

    msg->wamid = wamid;
    msg->status = kCreated;
    if (auto r = txn.put(Db::messages, key_of(msg->id), encode(*msg)); !r) return r.error();
    if (auto r = txn.put(Db::wamids, wamid_key(wamid), key_of(msg->id)); !r) return r.error();
    auto delivery = enqueue_status_event(txn, *conv, *msg, number, false, policy, now_ns);
    if (!delivery) return delivery.error();
    if (*delivery) deliveries.push_back(std::move(**delivery));
    return std::optional<Message>(std::move(*msg));
}

Result<std::vector<Message>> unknown_sends(Txn& txn, std::int64_t created_before_ns,
                                           std::size_t limit) {
    std::vector<Message> out;
    if (limit == 0) return out;
    std::optional<Error> failed;
    auto r = txn.scan(Db::messages, {}, [&](const Txn::Entry& e) {
        auto m = decode_message(e.value);
        if (!m) {
            failed = m.error();
            return false;
        }
        if (m->direction != Direction::outbound || m->status != kUnknown ||
            m->created_at_ns >= created_before_ns) {
            return true;
        }
        out.push_back(std::move(*m));
        return out.size() < limit;
    });
    if (!r) return r.error();
    if (failed) return *failed;
    return out;
}

}  // namespace wa

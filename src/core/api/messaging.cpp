#include "api/messaging.hpp"

#include <algorithm>
#include <utility>

#include <rapidjson/document.h>

#include "base/chars.hpp"
#include "base/clock.hpp"
#include "base/crypto.hpp"
#include "base/json.hpp"
#include "base/phone.hpp"
#include "base/text.hpp"

namespace wa {

namespace {

using rapidjson::Value;

ReplyError invalid(std::string message, std::string param = {}) {
    return ReplyError(400, "invalid_request", std::move(message), std::move(param));
}

// -- routes ----------------------------------------------------------------------------------

std::vector<std::string_view> split_path(std::string_view rest) {
    std::vector<std::string_view> parts;
    while (!rest.empty() && rest.front() == '/')
        rest.remove_prefix(1);
    while (!rest.empty()) {
        std::size_t slash = rest.find('/');
        parts.push_back(rest.substr(0, slash));
        if (slash == std::string_view::npos) break;
        rest.remove_prefix(slash + 1);
    }
    return parts;
}

InboxPath at(InboxRoute route, bool allowed, std::string allow) {
    InboxPath p;
    p.route = route;
    p.method_allowed = allowed;
    if (!allowed) p.allow = std::move(allow);
    return p;
}

// -- query strings ---------------------------------------------------------------------------

using Params = std::vector<std::pair<std::string, std::string>>;

bool has_control(std::string_view s) {
    return std::any_of(s.begin(), s.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u < 0x20 || u == 0x7f;
    });
}

Outcome<Params, ReplyError> split_query(std::string_view args,
                                        std::initializer_list<std::string_view> known) {
    Params out;
    while (!args.empty()) {
        std::size_t amp = args.find('&');
        std::string_view pair = args.substr(0, amp);
        args = amp == std::string_view::npos ? std::string_view() : args.substr(amp + 1);
        if (pair.empty()) continue;
        std::size_t eq = pair.find('=');
        auto name = percent_decode(pair.substr(0, eq));
        auto value =
            percent_decode(eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1));
        if (!name || !value) return invalid("the query string has a bad %-escape");
        if (std::find(known.begin(), known.end(), *name) == known.end()) {
            return invalid("unknown query parameter \"" + log_escape(*name, 64) + "\"",
                           log_escape(*name, 64));
        }
        for (const auto& [seen, unused] : out) {
            if (seen == *name) return invalid(*name + " is given twice", *name);
        }
        if (has_control(*value)) return invalid(*name + " has a control character", *name);
        out.emplace_back(std::move(*name), std::move(*value));
    }
    return out;
}

std::optional<ReplyError> read_limit(std::string_view v, std::size_t& limit) {
    if (!all_digits(v) || v.size() > 3) {
        return invalid("limit must be a whole number from 1 to 100", "limit");
    }
    std::size_t n = 0;
    for (char c : v)
        n = n * 10 + static_cast<std::size_t>(c - '0');
    if (n < 1 || n > kMaxInboxLimit) {
        return invalid("limit must be a whole number from 1 to 100", "limit");
    }
    limit = n;
    return std::nullopt;
}

// -- cursors ---------------------------------------------------------------------------------

constexpr char kCursorVersion = 1;
constexpr std::size_t kCursorMacBytes = 12;
constexpr std::size_t kCursorBodyBytes = 1 + 8 + 8 + 16 + 1;

void put_be64(std::string& out, std::uint64_t v) {
    for (int i = 7; i >= 0; i--)
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint64_t get_be64(std::string_view s) {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | static_cast<unsigned char>(s[i]);
    return v;
}

// What a cursor is bound to besides the key: the filters of its listing.
std::string cursor_mac(std::string_view body, const ApiKey& key, const ConversationFilter& f) {
    std::string data(body);
    for (std::string_view part : {std::string_view(f.status), std::string_view(f.mode),
                                  std::string_view(f.assignee ? "1" : "0"),
                                  f.assignee ? std::string_view(*f.assignee) : std::string_view(),
                                  std::string_view(f.search)}) {
        data.push_back('\0');
        data.append(part);
    }
    std::string_view k(reinterpret_cast<const char*>(key.hash.data()), key.hash.size());
    return hmac_sha256(k, data).substr(0, kCursorMacBytes);
}

ReplyError invalid_cursor() {
    return ReplyError(400, "invalid_cursor",
                      "cursor is not one this API gave for these filters; start again without it",
                      "cursor");
}

// -- bodies ----------------------------------------------------------------------------------

std::optional<ReplyError> read_body(std::string_view body, rapidjson::Document& doc,
                                    std::initializer_list<std::string_view> fields,
                                    std::initializer_list<std::string_view> strings,
                                    std::initializer_list<std::string_view> required) {
    if (auto e = parse_prelude_body(body, doc)) return e;
    if (auto e = check_known_fields(doc, fields)) return e;
    return check_prelude_fields(doc, strings, required);
}

// -- answers ---------------------------------------------------------------------------------

void put_time_or_null(JsonWriter& w, std::string_view key, std::int64_t ns) {
    w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    if (ns <= 0) {
        w.Null();
    } else {
        std::string t = rfc3339_ns(ns);
        w.String(t.data(), static_cast<rapidjson::SizeType>(t.size()));
    }
}

void put_string_or_null(JsonWriter& w, std::string_view key, std::string_view v) {
    if (v.empty()) {
        w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
        w.Null();
    } else {
        json_put(w, key, v);
    }
}

std::string message_id_of(const Message& m) {
    return typeid_encode(m.direction == Direction::inbound ? "im" : "tx", m.id);
}

std::string_view direction_name(const Message& m) {
    return m.direction == Direction::inbound ? "inbound" : "outbound";
}

// content_json's media part, as the inbox shows it.
void put_media(JsonWriter& w, const Message& m) {
    JsonDocument doc;
    const Value* media = nullptr;
    if (parse_json_strict(m.content_json, doc) && doc.IsObject()) media = member(doc, "media");
    if (media == nullptr || !media->IsObject()) return;
    w.Key("media");
    w.StartObject();
    for (auto [ours, theirs] : {std::pair<const char*, const char*>{"id", "id"},
                                {"mimeType", "mime_type"},
                                {"fileName", "filename"},
                                {"caption", "caption"}}) {
        const Value* v = member(*media, theirs);
        if (v && v->IsString()) json_put(w, ours, {v->GetString(), v->GetStringLength()});
    }
    w.EndObject();
}

void put_message(JsonWriter& w, const Message& m) {
    w.StartObject();
    json_put(w, "id", message_id_of(m));
    json_put(w, "conversationId", typeid_encode("conv", m.conversation_id));
    json_put(w, "direction", direction_name(m));
    json_put(w, "messageType", m.type);
    put_string_or_null(w, "text", m.text);
    json_put(w, "deliveryStatus", delivery_status(m));
    put_time_or_null(w, "createdAt", m.created_at_ns);
    put_media(w, m);
    put_string_or_null(w, "replyTo", m.reply_to);
    if (m.status == "failed" || m.error_code != 0) {
        w.Key("error");
        w.StartObject();
        w.Key("code");
        w.Int64(m.error_code);
        json_put(w, "title", m.error_title);
        w.EndObject();
    }
    w.EndObject();
}

void put_conversation(JsonWriter& w, const ConversationView& v) {
    const Conversation& c = v.conversation;
    json_put(w, "id", typeid_encode("conv", c.id));
    json_put(w, "businessId", c.tenant);
    json_put(w, "businessWhatsappNumberId", c.phone_number_id);
    json_put(w, "businessPhone", c.business_number);
    json_put(w, "customerPhone", c.customer);
    put_string_or_null(w, "customerName", c.customer_name);
    json_put(w, "status", c.status);
    json_put(w, "mode", c.mode);
    put_string_or_null(w, "assignee", c.assignee);
    w.Key("unreadCount");
    w.Uint(c.unread_count);
    put_time_or_null(w, "windowExpiresAt", c.window_expires_at_ns);
    put_time_or_null(w, "lastInboundAt", c.last_inbound_at_ns);
    put_time_or_null(w, "lastOutboundAt", c.last_outbound_at_ns);
    w.Key("lastMessage");
    if (!v.last_message) {
        w.Null();
    } else {
        w.StartObject();
        json_put(w, "id", message_id_of(*v.last_message));
        json_put(w, "direction", direction_name(*v.last_message));
        put_string_or_null(w, "text", v.last_message->text);
        w.EndObject();
    }
}

std::string done(rapidjson::StringBuffer& sb) { return {sb.GetString(), sb.GetSize()}; }

}  // namespace

InboxPath route_inbox(std::string_view rest, std::string_view method) {
    std::vector<std::string_view> p = split_path(rest);
    bool get = method == "GET" || method == "HEAD";
    if (p.size() == 1 && p[0] == "conversations") return at(InboxRoute::list, get, "GET");
    if (p.size() == 2 && p[0] == "messages" && p[1] == "template") {
        return at(InboxRoute::send_template, method == "POST", "POST");
    }
    if (p.size() >= 2 && p.size() <= 3 && p[0] == "conversations") {
        InboxPath out;
        if (p.size() == 3) {
            if (p[2] != "messages") return InboxPath{};
            out = at(InboxRoute::send_text, method == "POST", "POST");
        } else if (method == "PATCH") {
            out = at(InboxRoute::patch, true, {});
        } else {
            out = at(InboxRoute::get, get, "GET, PATCH");
        }
        if (auto id = typeid_decode_as("conv", p[1])) out.conversation = *id;
        return out;
    }
    return InboxPath{};
}

Outcome<ListParams, ReplyError> parse_list_query(std::string_view args) {
    auto params = split_query(args, {"status", "mode", "assigned", "search", "limit", "cursor"});
    if (!params) return params.error();
    ListParams out;
    for (auto& [name, value] : *params) {
        if (name == "status") {
            if (!valid_conversation_status(value)) {
                return invalid("status must be open, pending_customer or closed", "status");
            }
            out.filter.status = std::move(value);
        } else if (name == "mode") {
            if (!valid_conversation_mode(value)) return invalid("mode must be ai or human", "mode");
            out.filter.mode = std::move(value);
        } else if (name == "assigned") {
            if (value == "me") {
                out.assigned_me = true;
            } else if (value == "unassigned") {
                out.filter.assignee = std::string();
            } else {
                return invalid("assigned must be me or unassigned", "assigned");
            }
        } else if (name == "search") {
            if (utf8_length(value) > kMaxSearchChars) {
                return invalid("search is longer than 100 characters", "search");
            }
            out.filter.search = std::move(value);
        } else if (name == "limit") {
            if (auto e = read_limit(value, out.limit)) return std::move(*e);
        } else {
            if (value.empty()) return invalid_cursor();
            out.cursor = std::move(value);
        }
    }
    return out;
}

Outcome<GetParams, ReplyError> parse_get_query(std::string_view args) {
    auto params = split_query(args, {"limit", "before"});
    if (!params) return params.error();
    GetParams out;
    for (auto& [name, value] : *params) {
        if (name == "limit") {
            if (auto e = read_limit(value, out.limit)) return std::move(*e);
            continue;
        }
        auto id = typeid_decode(value);
        if (!id || (id->prefix != "im" && id->prefix != "tx")) {
            return invalid("before must be a message id (im_... or tx_...)", "before");
        }
        out.before = id->uuid;
    }
    return out;
}

std::string encode_cursor(const ListPosition& pos, const ApiKey& key,
                          const ConversationFilter& filter) {
    std::string body;
    body.push_back(kCursorVersion);
    put_be64(body, static_cast<std::uint64_t>(pos.seen_ns));
    put_be64(body, static_cast<std::uint64_t>(pos.below_ns));
    body.append(reinterpret_cast<const char*>(pos.below_id.data()), pos.below_id.size());
    body.push_back(pos.done ? 1 : 0);
    return base64url_encode(body + cursor_mac(body, key, filter));
}

Outcome<ListPosition, ReplyError> decode_cursor(std::string_view cursor, const ApiKey& key,
                                                const ConversationFilter& filter) {
    if (cursor.size() > 128) return invalid_cursor();
    auto raw = base64url_decode(cursor);
    if (!raw || raw->size() != kCursorBodyBytes + kCursorMacBytes) return invalid_cursor();
    std::string_view all(*raw);
    std::string_view body = all.substr(0, kCursorBodyBytes);
    if (!constant_time_equal(all.substr(kCursorBodyBytes), cursor_mac(body, key, filter))) {
        return invalid_cursor();
    }
    if (body[0] != kCursorVersion || static_cast<unsigned char>(body[33]) > 1) {
        return invalid_cursor();
    }
    ListPosition pos;
    pos.seen_ns = static_cast<std::int64_t>(get_be64(body.substr(1)));
    pos.below_ns = static_cast<std::int64_t>(get_be64(body.substr(9)));
    std::copy(body.begin() + 17, body.begin() + 33, pos.below_id.begin());
    pos.done = body[33] == 1;
    if (pos.seen_ns < 0 || pos.below_ns < 0) return invalid_cursor();
    return pos;
}

Outcome<ConversationPatch, ReplyError> parse_patch_body(std::string_view body) {
    JsonDocument doc;
    if (auto e = read_body(body, doc, {"status", "mode", "assignee"}, {"status", "mode"}, {})) {
        return std::move(*e);
    }
    ConversationPatch patch;
    if (const Value* v = member(doc, "status")) {
        std::string s(v->GetString(), v->GetStringLength());
        if (!valid_conversation_status(s)) {
            return invalid("status must be open, pending_customer or closed", "status");
        }
        patch.status = std::move(s);
    }
    if (const Value* v = member(doc, "mode")) {
        std::string s(v->GetString(), v->GetStringLength());
        if (!valid_conversation_mode(s)) return invalid("mode must be ai or human", "mode");
        patch.mode = std::move(s);
    }
    if (const Value* v = member(doc, "assignee")) {
        patch.set_assignee = true;
        if (v->IsString()) {
            patch.assignee.assign(v->GetString(), v->GetStringLength());
            if (!valid_assignee(patch.assignee)) {
                return invalid("assignee must be 1-128 printable ASCII characters, or null",
                               "assignee");
            }
        } else if (!v->IsNull()) {
            return invalid("assignee must be a string or null", "assignee");
        }
    }
    if (!patch.status && !patch.mode && !patch.set_assignee) {
        return invalid("nothing to change: give status, mode or assignee");
    }
    return patch;
}

Outcome<SendRequest, ReplyError> parse_text_send(std::string_view body, const Uuid& conversation) {
    JsonDocument doc;
    if (auto e = read_body(body, doc, {"text"}, {"text"}, {"text"})) return std::move(*e);
    SendRequest s;
    s.conversation = conversation;
    s.content.kind = GraphContent::Kind::text;
    s.content.text = prelude_string(doc, "text");
    if (is_blank(s.content.text)) {
        return ReplyError(400, "missing_text", "text must not be empty", "text");
    }
    if (utf8_length(s.content.text) > kMaxReplyTextChars) {
        return invalid("text is longer than " + std::to_string(kMaxReplyTextChars) + " characters",
                       "text");
    }
    return s;
}

Outcome<TemplateSendBody, ReplyError> parse_template_send(std::string_view body) {
    JsonDocument doc;
    if (auto e = read_body(
            body, doc,
            {"business_whatsapp_number_id", "phone", "template_key", "customer_name", "variables"},
            {"business_whatsapp_number_id", "phone", "template_key", "customer_name"},
            {"business_whatsapp_number_id", "phone", "template_key"})) {
        return std::move(*e);
    }
    if (auto e = check_template_variables(doc)) return std::move(*e);
    TemplateSendBody out;
    out.number_id = prelude_string(doc, "business_whatsapp_number_id");
    out.phone = prelude_string(doc, "phone");
    out.template_key = prelude_string(doc, "template_key");
    out.customer_name = prelude_string(doc, "customer_name");
    out.variables = template_variables_of(doc);
    if (!is_possible_e164(out.phone)) {
        return ReplyError(400, "invalid_phone_number",
                          "phone must be a phone number in E.164 format (+, country code, digits)",
                          "phone");
    }
    if (utf8_length(out.customer_name) > 256) {
        return invalid("customer_name is longer than 256 characters", "customer_name");
    }
    return out;
}

Outcome<SendRequest, ReplyError> template_send_request(const TemplateSendBody& body,
                                                       const TemplateDirectory& templates,
                                                       const NumberDirectory& numbers,
                                                       std::string_view tenant) {
    const NumberConfig* number = numbers.by_phone_number_id(body.number_id);
    if (number == nullptr) number = numbers.by_e164(body.number_id);
    if (number == nullptr || number->tenant != tenant) {
        return inbox_not_found("no such business_whatsapp_number_id");
    }
    const TemplateDef* def = templates.find(body.template_key, tenant);
    if (def == nullptr) return inbox_not_found("no template \"" + body.template_key + "\"");
    auto content = render_template(*def, body.variables, {});
    if (!content) {
        return ReplyError(400, "invalid_variables", content.error().message(), "variables");
    }
    SendRequest s;
    s.sender = number;
    s.to = body.phone;
    s.customer_name = body.customer_name;
    s.content = std::move(*content);
    return s;
}

ReplyError inbox_not_found(std::string message) {
    return ReplyError(404, "not_found", std::move(message));
}

ReplyError inbox_unauthorized(KeyCheck check) {
    if (check == KeyCheck::forbidden) {
        return ReplyError(403, "forbidden", "the API key lacks the scope this endpoint needs");
    }
    return ReplyError(401, "unauthorized",
                      check == KeyCheck::missing ? "Authorization: Bearer <API key> is required"
                                                 : "unknown API key");
}

ReplyError inbox_refusal(SendRefusal refusal) {
    switch (refusal) {
        case SendRefusal::no_such_message:
        case SendRefusal::outside_scope: return inbox_not_found();
        case SendRefusal::recipient_mismatch: return invalid("phone is not the conversation's");
        case SendRefusal::window_closed:
            return ReplyError(422, "window_expired",
                              "the 24-hour customer service window is closed; send a template");
        case SendRefusal::no_credit:
            return ReplyError(402, "insufficient_balance", "the number's credits are used up");
    }
    return inbox_not_found();
}

std::string inbox_error_json(const ReplyError& error) {
    rapidjson::StringBuffer sb;
    JsonWriter w(sb);
    w.StartObject();
    json_put(w, "message", error.message);
    json_put(w, "code", error.code);
    if (!error.message_id.empty()) json_put(w, "messageId", error.message_id);
    w.EndObject();
    return done(sb);
}

std::string list_json(const std::vector<ConversationView>& page, std::string_view next_cursor) {
    rapidjson::StringBuffer sb;
    JsonWriter w(sb);
    w.StartObject();
    json_put(w, "message", "Conversations retrieved");
    w.Key("data");
    w.StartArray();
    for (const ConversationView& v : page)
        write_conversation(w, v, nullptr);
    w.EndArray();
    w.Key("nextCursor");
    if (next_cursor.empty()) {
        w.Null();
    } else {
        w.String(next_cursor.data(), static_cast<rapidjson::SizeType>(next_cursor.size()));
    }
    w.EndObject();
    return done(sb);
}

std::string conversation_json(const ConversationView& view, const std::vector<Message>* messages,
                              std::string_view what) {
    rapidjson::StringBuffer sb;
    JsonWriter w(sb);
    w.StartObject();
    json_put(w, "message", what);
    w.Key("data");
    write_conversation(w, view, messages);
    w.EndObject();
    return done(sb);
}

void write_conversation(JsonWriter& w, const ConversationView& view,
                        const std::vector<Message>* messages) {
    w.StartObject();
    put_conversation(w, view);
    if (messages) {
        w.Key("messages");
        w.StartArray();
        for (const Message& m : *messages)
            put_message(w, m);
        w.EndArray();
    }
    w.EndObject();
}

Result<ConversationView> conversation_view(Txn& txn, Conversation c) {
    auto last = newest_message(txn, c);
    if (!last) return last.error();
    return ConversationView{std::move(c), std::move(*last)};
}

std::string sent_json(std::string_view message_id, std::string_view conversation_id,
                      const SendRequest& send, std::int64_t created_at_ns) {
    rapidjson::StringBuffer sb;
    JsonWriter w(sb);
    w.StartObject();
    bool is_template = send.content.kind == GraphContent::Kind::template_message;
    json_put(w, "message", is_template ? "Template sent" : "Message sent");
    w.Key("data");
    w.StartObject();
    json_put(w, "id", message_id);
    json_put(w, "conversationId", conversation_id);
    json_put(w, "direction", "outbound");
    json_put(w, "messageType", is_template ? "template" : "text");
    put_string_or_null(w, "text", send.content.text);
    if (is_template) json_put(w, "templateName", send.content.template_name);
    json_put(w, "deliveryStatus", "accepted");
    put_time_or_null(w, "createdAt", created_at_ns);
    w.EndObject();
    w.EndObject();
    return done(sb);
}

std::string_view delivery_status(const Message& m) {
    if (m.direction == Direction::inbound) return "received";
    if (m.status == "created") return "accepted";
    return m.status;
}

}  // namespace wa

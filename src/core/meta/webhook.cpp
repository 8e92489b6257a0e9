// Meta webhook body -> WebhookBatch. The whole body is validated before
// anything is returned: one bad field anywhere rejects it, naming the path.

#include "meta/webhook.hpp"

#include <charconv>
#include <utility>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "base/json.hpp"
#include "base/phone.hpp"

namespace wa {

namespace {

using rapidjson::SizeType;
using rapidjson::Value;
using Writer = JsonWriter;

constexpr std::size_t kMaxTimestampDigits = 19;

enum class Kind { object, array, string, number, integer, boolean };
enum class Need { optional, required };

struct Contact {  // value.contacts[]
    std::string wa_id;
    std::string user_id;
    std::string name;
};

// The type-specific part of content: "key": <json>, plus the short text.
struct Part {
    std::string key;
    std::string json;
    std::string text;
};

Error bad(const std::string& path, std::string_view problem)
{
    return make_error("invalid_payload", path + " " + std::string(problem));
}

std::string join(const std::string& path, std::string_view key)
{
    return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string at(const std::string& path, std::size_t i)
{
    return path + "[" + std::to_string(i) + "]";
}

bool is_kind(const Value& v, Kind k)
{
    switch (k) {
    case Kind::object: return v.IsObject();
    case Kind::array: return v.IsArray();
    case Kind::string: return v.IsString();
    case Kind::number: return v.IsNumber();
    case Kind::integer: return v.IsInt64();
    case Kind::boolean: return v.IsBool();
    }
    return false;
}

const char* kind_problem(Kind k)
{
    switch (k) {
    case Kind::object: return "must be an object";
    case Kind::array: return "must be an array";
    case Kind::string: return "must be a string";
    case Kind::number: return "must be a number";
    case Kind::integer: return "must be an integer";
    case Kind::boolean: return "must be a boolean";
    }
    return "has the wrong type";
}

std::string_view sv(const Value& v)
{
    return {v.GetString(), v.GetStringLength()};
}

// The member of the wanted kind; nullptr when absent and optional.
Result<const Value*> get(const Value& obj, const std::string& path,
                         std::string_view key, Kind kind, Need need)
{
    const Value* v = member(obj, key);
    if (v == nullptr) {
        if (need == Need::required) {
            return bad(join(path, key), "is required");
        }
        return nullptr;
    }
    if (!is_kind(*v, kind)) {
        return bad(join(path, key), kind_problem(kind));
    }
    return v;
}

// A string member copied to out ("" when absent and optional).
Result<void> get_string(const Value& obj, const std::string& path,
                        std::string_view key, Need need, std::string& out)
{
    auto v = get(obj, path, key, Kind::string, need);
    if (!v) {
        return v.error();
    }
    if (*v != nullptr) {
        out.assign(sv(**v));
    }
    return {};
}

Result<void> get_nonempty(const Value& obj, const std::string& path,
                          std::string_view key, std::string& out)
{
    auto r = get_string(obj, path, key, Need::required, out);
    if (!r) {
        return r;
    }
    if (out.empty()) {
        return bad(join(path, key), "must not be empty");
    }
    return {};
}

// Meta sends Unix seconds as a string of digits.
Result<void> get_timestamp(const Value& obj, const std::string& path,
                           std::int64_t& out)
{
    std::string s;
    auto r = get_string(obj, path, "timestamp", Need::required, s);
    if (!r) {
        return r;
    }
    std::string p = join(path, "timestamp");
    if (s.empty() || s.size() > kMaxTimestampDigits
        || s.find_first_not_of("0123456789") != std::string::npos)
    {
        return bad(p, "must be a string of 1-19 digits");
    }
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec != std::errc{} || end != s.data() + s.size()) {
        return bad(p, "is out of range");
    }
    return {};
}

std::string_view without_plus(std::string_view s)
{
    if (!s.empty() && s.front() == '+') {
        s.remove_prefix(1);
    }
    return s;
}

void put_raw(Writer& w, std::string_view key, const std::string& json)
{
    w.Key(key.data(), static_cast<SizeType>(key.size()));
    w.RawValue(json.data(), json.size(), rapidjson::kObjectType);
}

std::string take(const rapidjson::StringBuffer& buf)
{
    return std::string(buf.GetString(), buf.GetSize());
}

// {code, title, message, error_data{details}, href}
Result<void> decode_error(const Value& v, const std::string& path, MetaError& out)
{
    if (!v.IsObject()) {
        return bad(path, "must be an object");
    }
    auto code = get(v, path, "code", Kind::integer, Need::required);
    if (!code) {
        return code.error();
    }
    out.code = (*code)->GetInt64();

    auto r = get_string(v, path, "title", Need::optional, out.title);
    if (r) {
        r = get_string(v, path, "message", Need::optional, out.message);
    }
    if (!r) {
        return r;
    }
    auto data = get(v, path, "error_data", Kind::object, Need::optional);
    if (!data) {
        return data.error();
    }
    if (*data != nullptr) {
        return get_string(**data, join(path, "error_data"), "details",
                          Need::optional, out.details);
    }
    return {};
}

Result<void> decode_errors(const Value& obj, const std::string& path,
                           std::vector<MetaError>& out)
{
    auto arr = get(obj, path, "errors", Kind::array, Need::optional);
    if (!arr) {
        return arr.error();
    }
    if (*arr == nullptr) {
        return {};
    }
    std::string base = join(path, "errors");
    for (SizeType i = 0; i < (*arr)->Size(); i++) {
        MetaError e;
        auto r = decode_error((**arr)[i], at(base, i), e);
        if (!r) {
            return r;
        }
        out.push_back(std::move(e));
    }
    return {};
}

// --- content: one builder per message type -------------------------------

using ContentFn = Result<void> (*)(const Value& msg, const std::string& path,
                                   std::string_view type, Part& part,
                                   InboundMessage& m);

Result<void> content_text(const Value& msg, const std::string& path,
                          std::string_view type, Part& part, InboundMessage& m)
{
    auto text = get(msg, path, "text", Kind::object, Need::required);
    if (!text) {
        return text.error();
    }
    return get_string(**text, join(path, "text"), "body", Need::required,
                      part.text);
}

// image, video, audio, document, sticker share one shape.
Result<void> content_media(const Value& msg, const std::string& path,
                           std::string_view type, Part& part, InboundMessage& m)
{
    auto obj = get(msg, path, type, Kind::object, Need::required);
    if (!obj) {
        return obj.error();
    }
    const Value& media = **obj;
    std::string p = join(path, type);

    std::string id, mime, sha;
    auto r = get_string(media, p, "id", Need::required, id);
    if (r) {
        r = get_string(media, p, "mime_type", Need::optional, mime);
    }
    if (r) {
        r = get_string(media, p, "sha256", Need::optional, sha);
    }
    if (!r) {
        return r;
    }

    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    json_put(w, "id", id);
    json_put(w, "mime_type", mime);
    json_put(w, "sha256", sha);

    for (const char* key : {"caption", "filename", "url"}) {
        auto v = get(media, p, key, Kind::string, Need::optional);
        if (!v) {
            return v.error();
        }
        if (*v != nullptr) {
            json_put(w, key, sv(**v));
        }
    }
    for (const char* key : {"voice", "animated"}) {
        auto v = get(media, p, key, Kind::boolean, Need::optional);
        if (!v) {
            return v.error();
        }
        if (*v != nullptr) {
            w.Key(key);
            w.Bool((*v)->GetBool());
        }
    }
    w.EndObject();

    if (const Value* caption = member(media, "caption")) {
        part.text.assign(sv(*caption));
    }
    part.key = "media";
    part.json = take(buf);
    return {};
}

Result<void> content_location(const Value& msg, const std::string& path,
                              std::string_view type, Part& part,
                              InboundMessage& m)
{
    auto obj = get(msg, path, "location", Kind::object, Need::required);
    if (!obj) {
        return obj.error();
    }
    const Value& loc = **obj;
    std::string p = join(path, "location");

    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    for (const char* key : {"latitude", "longitude"}) {
        auto v = get(loc, p, key, Kind::number, Need::required);
        if (!v) {
            return v.error();
        }
        w.Key(key);
        (*v)->Accept(w);  // as parsed: full precision, int stays int
    }
    for (const char* key : {"name", "address", "url"}) {
        auto v = get(loc, p, key, Kind::string, Need::optional);
        if (!v) {
            return v.error();
        }
        if (*v != nullptr) {
            json_put(w, key, sv(**v));
        }
    }
    w.EndObject();

    part.key = "location";
    part.json = take(buf);
    return {};
}

// Message-level "contacts" (shared vCards), not value.contacts.
Result<void> content_contacts(const Value& msg, const std::string& path,
                              std::string_view type, Part& part,
                              InboundMessage& m)
{
    auto arr = get(msg, path, "contacts", Kind::array, Need::required);
    if (!arr) {
        return arr.error();
    }
    const Value& cards = **arr;
    if (!cards.Empty()) {
        const Value* name = member(cards[0], "name");
        const Value* formatted = name ? member(*name, "formatted_name") : nullptr;
        if (formatted != nullptr && formatted->IsString()) {
            part.text.assign(sv(*formatted));
        }
    }
    part.key = "contacts";
    part.json = to_json(cards);
    return {};
}

Result<void> content_interactive(const Value& msg, const std::string& path,
                                 std::string_view type, Part& part,
                                 InboundMessage& m)
{
    auto obj = get(msg, path, "interactive", Kind::object, Need::required);
    if (!obj) {
        return obj.error();
    }
    const Value& ia = **obj;
    std::string p = join(path, "interactive");

    std::string sub;
    auto r = get_nonempty(ia, p, "type", sub);
    if (!r) {
        return r;
    }

    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    json_put(w, "type", sub);

    if (sub == "button_reply" || sub == "list_reply") {
        auto reply = get(ia, p, sub, Kind::object, Need::required);
        if (!reply) {
            return reply.error();
        }
        std::string rp = join(p, sub);
        std::string id, title, description;
        r = get_string(**reply, rp, "id", Need::required, id);
        if (r) {
            r = get_string(**reply, rp, "title", Need::required, title);
        }
        if (r) {
            r = get_string(**reply, rp, "description", Need::optional,
                           description);
        }
        if (!r) {
            return r;
        }
        json_put(w, "id", id);
        json_put(w, "title", title);
        if (sub == "list_reply" && member(**reply, "description") != nullptr) {
            json_put(w, "description", description);
        }
        part.text = title;
    } else {
        // nfm_reply (Flows) and future subtypes: pass the data through.
        w.Key("data");
        const Value* data = member(ia, sub);
        if (data != nullptr) {
            data->Accept(w);
        } else {
            w.Null();
        }
    }
    w.EndObject();

    part.key = "interactive";
    part.json = take(buf);
    return {};
}

// A template quick-reply tap, presented like an interactive reply.
Result<void> content_button(const Value& msg, const std::string& path,
                            std::string_view type, Part& part, InboundMessage& m)
{
    auto obj = get(msg, path, "button", Kind::object, Need::required);
    if (!obj) {
        return obj.error();
    }
    std::string p = join(path, "button");
    std::string payload;
    auto r = get_string(**obj, p, "payload", Need::optional, payload);
    if (r) {
        r = get_string(**obj, p, "text", Need::optional, part.text);
    }
    if (!r) {
        return r;
    }

    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    json_put(w, "type", "button");
    json_put(w, "id", payload);
    json_put(w, "title", part.text);
    w.EndObject();

    part.key = "interactive";
    part.json = take(buf);
    return {};
}

Result<void> content_reaction(const Value& msg, const std::string& path,
                              std::string_view type, Part& part,
                              InboundMessage& m)
{
    auto obj = get(msg, path, "reaction", Kind::object, Need::required);
    if (!obj) {
        return obj.error();
    }
    std::string p = join(path, "reaction");
    auto r = get_string(**obj, p, "message_id", Need::required, m.reaction_to);
    if (r) {
        // Absent emoji: the customer removed the reaction.
        r = get_string(**obj, p, "emoji", Need::optional, part.text);
    }
    if (!r) {
        return r;
    }

    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    json_put(w, "message_id", m.reaction_to);
    json_put(w, "emoji", part.text);
    w.EndObject();

    part.key = "reaction";
    part.json = take(buf);
    return {};
}

Result<void> content_system(const Value& msg, const std::string& path,
                            std::string_view type, Part& part, InboundMessage& m)
{
    auto obj = get(msg, path, "system", Kind::object, Need::required);
    if (!obj) {
        return obj.error();
    }
    auto r = get_string(**obj, join(path, "system"), "body", Need::optional,
                        part.text);
    if (!r) {
        return r;
    }
    part.key = "system";
    part.json = to_json(**obj);
    return {};
}

// unsupported and any type we do not know: the type's object verbatim.
Result<void> content_verbatim(const Value& msg, const std::string& path,
                              std::string_view type, Part& part,
                              InboundMessage& m)
{
    // These keys are written by build_content itself.
    for (std::string_view own : {"type", "text", "errors", "forwarded",
                                 "referral"})
    {
        if (type == own) {
            return {};
        }
    }
    if (const Value* v = member(msg, type)) {
        part.key = type;
        part.json = to_json(*v);
    }
    return {};
}

struct ContentType {
    std::string_view name;
    ContentFn fn;
};

constexpr ContentType kContentTypes[] = {
    {"text", content_text},
    {"image", content_media},
    {"video", content_media},
    {"audio", content_media},
    {"document", content_media},
    {"sticker", content_media},
    {"location", content_location},
    {"contacts", content_contacts},
    {"interactive", content_interactive},
    {"button", content_button},
    {"reaction", content_reaction},
    {"system", content_system},
};

ContentFn content_fn(std::string_view type)
{
    for (const auto& t : kContentTypes) {
        if (t.name == type) {
            return t.fn;
        }
    }
    return content_verbatim;
}

void put_errors(Writer& w, const std::vector<MetaError>& errors)
{
    w.Key("errors");
    w.StartArray();
    for (const auto& e : errors) {
        w.StartObject();
        w.Key("code");
        w.Int64(e.code);
        json_put(w, "title", e.title);
        json_put(w, "message", e.message);
        json_put(w, "details", e.details);
        w.EndObject();
    }
    w.EndArray();
}

// content_json: {"type", "text", <type part>, errors?, forwarded?, referral?}
Result<void> build_content(const Value& msg, const std::string& path,
                           const std::vector<MetaError>& errors,
                           InboundMessage& m)
{
    Part part;
    auto r = content_fn(m.type)(msg, path, m.type, part, m);
    if (!r) {
        return r;
    }

    rapidjson::StringBuffer buf;
    Writer w(buf);
    w.StartObject();
    json_put(w, "type", m.type);
    json_put(w, "text", part.text);
    if (!part.key.empty()) {
        put_raw(w, part.key, part.json);
    }
    if (!errors.empty()) {
        put_errors(w, errors);
    }
    if (m.forwarded) {
        w.Key("forwarded");
        w.Bool(true);
    }
    if (const Value* referral = member(msg, "referral")) {
        w.Key("referral");
        referral->Accept(w);
    }
    w.EndObject();

    m.text = std::move(part.text);
    m.content_json = take(buf);
    return {};
}

// --- messages, statuses, contacts ------------------------------------------

Result<void> decode_context(const Value& msg, const std::string& path,
                            InboundMessage& m)
{
    auto ctx = get(msg, path, "context", Kind::object, Need::optional);
    if (!ctx) {
        return ctx.error();
    }
    if (*ctx == nullptr) {
        return {};
    }
    std::string p = join(path, "context");
    auto r = get_string(**ctx, p, "id", Need::optional, m.context_id);
    if (!r) {
        return r;
    }
    for (const char* key : {"forwarded", "frequently_forwarded"}) {
        auto v = get(**ctx, p, key, Kind::boolean, Need::optional);
        if (!v) {
            return v.error();
        }
        if (*v != nullptr && (*v)->GetBool()) {
            m.forwarded = true;
        }
    }
    return {};
}

// Key on wa_id/from when present, else on user_id/from_user_id (BSUID).
std::string contact_name_for(const InboundMessage& m,
                             const std::vector<Contact>& contacts)
{
    for (const auto& c : contacts) {
        if (!m.from.empty() && !c.wa_id.empty()
            && without_plus(m.from) == without_plus(c.wa_id))
        {
            return c.name;
        }
        if (!m.from_user_id.empty() && m.from_user_id == c.user_id) {
            return c.name;
        }
    }
    return contacts.size() == 1 ? contacts[0].name : std::string();
}

Result<void> decode_message(const Value& msg, const std::string& path,
                            const std::vector<Contact>& contacts,
                            InboundMessage& m)
{
    if (!msg.IsObject()) {
        return bad(path, "must be an object");
    }
    auto r = get_nonempty(msg, path, "id", m.wamid);
    if (r) {
        r = get_timestamp(msg, path, m.timestamp);
    }
    if (r) {
        r = get_nonempty(msg, path, "type", m.type);
    }
    if (r) {
        r = get_string(msg, path, "from", Need::optional, m.from);
    }
    if (r) {
        r = get_string(msg, path, "from_user_id", Need::optional,
                       m.from_user_id);
    }
    if (!r) {
        return r;
    }
    // Checked here, with the rule ingest applies, so that a signed message
    // that can never be stored is a 400, not a 503 Meta retries for a week.
    if (member(msg, "from") != nullptr && !normalize_wa_id(m.from)) {
        return bad(join(path, "from"),
                   "must be a phone number: 1-15 digits, not starting with 0, "
                   "with an optional leading +");
    }
    if (m.from.empty() && m.from_user_id.empty()) {
        return bad(path, "must have from or from_user_id");
    }

    r = decode_context(msg, path, m);
    if (!r) {
        return r;
    }
    std::vector<MetaError> errors;
    r = decode_errors(msg, path, errors);
    if (!r) {
        return r;
    }
    m.contact_name = contact_name_for(m, contacts);
    return build_content(msg, path, errors, m);
}

Result<void> decode_status(const Value& v, const std::string& path,
                           StatusUpdate& s)
{
    if (!v.IsObject()) {
        return bad(path, "must be an object");
    }
    auto r = get_nonempty(v, path, "id", s.wamid);
    if (r) {
        r = get_nonempty(v, path, "status", s.status);
    }
    if (r) {
        r = get_timestamp(v, path, s.timestamp);
    }
    if (r) {
        r = get_string(v, path, "recipient_id", Need::optional, s.recipient_id);
    }
    if (r) {
        r = get_string(v, path, "biz_opaque_callback_data", Need::optional,
                       s.biz_opaque_callback_data);
    }
    if (r) {
        r = decode_errors(v, path, s.errors);
    }
    return r;
}

Result<void> decode_contact(const Value& v, const std::string& path, Contact& c)
{
    if (!v.IsObject()) {
        return bad(path, "must be an object");
    }
    auto r = get_string(v, path, "wa_id", Need::optional, c.wa_id);
    if (r) {
        r = get_string(v, path, "user_id", Need::optional, c.user_id);
    }
    if (!r) {
        return r;
    }
    auto profile = get(v, path, "profile", Kind::object, Need::optional);
    if (!profile) {
        return profile.error();
    }
    if (*profile != nullptr) {
        return get_string(**profile, join(path, "profile"), "name",
                          Need::optional, c.name);
    }
    return {};
}

// An optional array member, each element decoded by fn into out.
template <class T, class Fn>
Result<void> decode_list(const Value& obj, const std::string& path,
                         std::string_view key, std::vector<T>& out, Fn fn)
{
    auto arr = get(obj, path, key, Kind::array, Need::optional);
    if (!arr) {
        return arr.error();
    }
    if (*arr == nullptr) {
        return {};
    }
    std::string base = join(path, key);
    out.reserve((*arr)->Size());
    for (SizeType i = 0; i < (*arr)->Size(); i++) {
        T item;
        auto r = fn((**arr)[i], at(base, i), item);
        if (!r) {
            return r;
        }
        out.push_back(std::move(item));
    }
    return {};
}

Result<void> decode_metadata(const Value& value, const std::string& path,
                             WebhookChange& out)
{
    auto meta = get(value, path, "metadata", Kind::object, Need::required);
    if (!meta) {
        return meta.error();
    }
    std::string p = join(path, "metadata");
    auto r = get_nonempty(**meta, p, "phone_number_id", out.phone_number_id);
    if (r) {
        r = get_string(**meta, p, "display_phone_number", Need::optional,
                       out.display_phone_number);
    }
    return r;
}

Result<void> decode_change(const Value& change, const std::string& path,
                           WebhookChange& out)
{
    auto value = get(change, path, "value", Kind::object, Need::required);
    if (!value) {
        return value.error();
    }
    const Value& v = **value;
    std::string p = join(path, "value");

    auto r = decode_metadata(v, p, out);
    if (!r) {
        return r;
    }

    std::vector<Contact> contacts;
    r = decode_list(v, p, "contacts", contacts, decode_contact);
    if (r) {
        r = decode_list(v, p, "messages", out.messages,
            [&contacts](const Value& msg, const std::string& mp,
                        InboundMessage& m) {
                return decode_message(msg, mp, contacts, m);
            });
    }
    if (r) {
        r = decode_list(v, p, "statuses", out.statuses, decode_status);
    }
    if (r) {
        r = decode_list(v, p, "errors", out.errors, decode_error);
    }
    return r;
}

Result<void> decode_entry(const Value& entry, const std::string& path,
                          WebhookBatch& batch)
{
    if (!entry.IsObject()) {
        return bad(path, "must be an object");
    }
    std::string waba_id;
    auto r = get_string(entry, path, "id", Need::optional, waba_id);
    if (!r) {
        return r;
    }
    auto changes = get(entry, path, "changes", Kind::array, Need::required);
    if (!changes) {
        return changes.error();
    }
    std::string base = join(path, "changes");

    for (SizeType i = 0; i < (*changes)->Size(); i++) {
        const Value& change = (**changes)[i];
        std::string p = at(base, i);
        if (!change.IsObject()) {
            return bad(p, "must be an object");
        }
        std::string field;
        r = get_string(change, p, "field", Need::required, field);
        if (!r) {
            return r;
        }
        // account_update, template status, ...: not ours to interpret.
        if (field != "messages") {
            batch.ignored_changes++;
            continue;
        }
        WebhookChange out;
        r = decode_change(change, p, out);
        if (!r) {
            return r;
        }
        batch.changes.push_back(std::move(out));
    }
    return {};
}

}  // namespace

Result<WebhookBatch> decode_webhook(std::string_view body)
{
    rapidjson::Document doc;
    auto parsed = parse_json_strict(body, doc);
    if (!parsed) {
        return parsed.error();
    }
    if (!doc.IsObject()) {
        return bad("body", "must be an object");
    }

    std::string object;
    auto r = get_string(doc, "", "object", Need::optional, object);
    if (!r) {
        return r.error();
    }
    if (member(doc, "object") != nullptr && object != "whatsapp_business_account") {
        return bad("object", "must be \"whatsapp_business_account\"");
    }

    auto entries = get(doc, "", "entry", Kind::array, Need::required);
    if (!entries) {
        return entries.error();
    }

    WebhookBatch batch;
    for (SizeType i = 0; i < (*entries)->Size(); i++) {
        r = decode_entry((**entries)[i], at("entry", i), batch);
        if (!r) {
            return r.error();
        }
    }
    return batch;
}

std::string set_reaction_message_id(std::string_view content_json,
                                    std::string_view id)
{
    rapidjson::Document doc;
    if (!parse_json_strict(content_json, doc)) {
        return std::string(content_json);
    }
    // HasMember/operator[]: rapidjson 1.1's mutable iterators compare
    // ambiguously under C++20.
    if (!doc.IsObject() || !doc.HasMember("reaction")
        || !doc["reaction"].IsObject())
    {
        return std::string(content_json);
    }
    Value& reaction = doc["reaction"];
    auto& alloc = doc.GetAllocator();
    Value idv(id.data(), static_cast<SizeType>(id.size()), alloc);
    if (reaction.HasMember("message_id")) {
        reaction["message_id"] = idv;
    } else {
        reaction.AddMember("message_id", idv, alloc);
    }
    return to_json(doc);
}

}  // namespace wa

// Meta webhook body -> WebhookBatch. The whole body is validated before
// anything is returned: one bad field anywhere rejects it, naming the path.
// Here: the envelope, the entry/change walk, messages, statuses, contacts
// and errors; each message's content is built in webhook_content.cpp.

#include "meta/webhook.hpp"

#include <utility>

#include "base/json.hpp"
#include "base/phone.hpp"
#include "meta/webhook_content.hpp"
#include "meta/webhook_fields.hpp"

namespace wa {

namespace {

using namespace webhook_detail;

struct Contact {  // value.contacts[]
    std::string wa_id;
    std::string user_id;
    std::string name;
};

std::string_view without_plus(std::string_view s) {
    if (!s.empty() && s.front() == '+') {
        s.remove_prefix(1);
    }
    return s;
}

// {code, title, message, error_data{details}, href}
Result<void> decode_error(const Value& v, const std::string& path, MetaError& out) {
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
        return get_string(**data, join(path, "error_data"), "details", Need::optional, out.details);
    }
    return {};
}

// An optional array member, each element decoded by fn into out.
template <class T, class Fn>
Result<void> decode_list(const Value& obj, const std::string& path, std::string_view key,
                         std::vector<T>& out, Fn fn) {
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

Result<void> decode_errors(const Value& obj, const std::string& path, std::vector<MetaError>& out) {
    return decode_list(obj, path, "errors", out, decode_error);
}

// --- messages, statuses, contacts ------------------------------------------

Result<void> decode_context(const Value& msg, const std::string& path, InboundMessage& m) {
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
std::string contact_name_for(const InboundMessage& m, const std::vector<Contact>& contacts) {
    for (const auto& c : contacts) {
        if (!m.from.empty() && !c.wa_id.empty() && without_plus(m.from) == without_plus(c.wa_id)) {
            return c.name;
        }
        if (!m.from_user_id.empty() && m.from_user_id == c.user_id) {
            return c.name;
        }
    }
    return contacts.size() == 1 ? contacts[0].name : std::string();
}

Result<void> decode_message(const Value& msg, const std::string& path,
                            const std::vector<Contact>& contacts, InboundMessage& m) {
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
        r = get_string(msg, path, "from_user_id", Need::optional, m.from_user_id);
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

Result<void> decode_status(const Value& v, const std::string& path, StatusUpdate& s) {
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

Result<void> decode_contact(const Value& v, const std::string& path, Contact& c) {
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
        return get_string(**profile, join(path, "profile"), "name", Need::optional, c.name);
    }
    return {};
}

Result<void> decode_metadata(const Value& value, const std::string& path, WebhookChange& out) {
    auto meta = get(value, path, "metadata", Kind::object, Need::required);
    if (!meta) {
        return meta.error();
    }
    std::string p = join(path, "metadata");
    auto r = get_nonempty(**meta, p, "phone_number_id", out.phone_number_id);
    if (r) {
        r = get_string(**meta, p, "display_phone_number", Need::optional, out.display_phone_number);
    }
    return r;
}

Result<void> decode_change(const Value& change, const std::string& path, WebhookChange& out) {
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
                        [&contacts](const Value& msg, const std::string& mp, InboundMessage& m) {
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

Result<void> decode_entry(const Value& entry, const std::string& path, WebhookBatch& batch) {
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

Result<WebhookBatch> decode_webhook(std::string_view body) {
    JsonDocument doc;
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

}  // namespace wa

// A webhook message's "content": one decoder per Meta message type (text,
// media, location, contacts, interactive, button, reaction, system, and any
// other type verbatim), and the reaction id rewrite of set_reaction_message_id.
#include "meta/webhook_content.hpp"

#include <utility>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

namespace wa::webhook_detail {

namespace {

// The type-specific part of content: "key": <json>, plus the short text.
struct Part {
    std::string key;
    std::string json;
    std::string text;
};

void put_raw(Writer& w, std::string_view key, const std::string& json) {
    w.Key(key.data(), static_cast<SizeType>(key.size()));
    w.RawValue(json.data(), json.size(), rapidjson::kObjectType);
}

std::string take(const rapidjson::StringBuffer& buf) {
    return std::string(buf.GetString(), buf.GetSize());
}

using ContentFn = Result<void> (*)(const Value& msg, const std::string& path, std::string_view type,
                                   Part& part, InboundMessage& m);

Result<void> content_text(const Value& msg, const std::string& path, std::string_view type,
                          Part& part, InboundMessage& m) {
    auto text = get(msg, path, "text", Kind::object, Need::required);
    if (!text) {
        return text.error();
    }
    return get_string(**text, join(path, "text"), "body", Need::required, part.text);
}

// image, video, audio, document, sticker share one shape.
Result<void> content_media(const Value& msg, const std::string& path, std::string_view type,
                           Part& part, InboundMessage& m) {
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

Result<void> content_location(const Value& msg, const std::string& path, std::string_view type,
                              Part& part, InboundMessage& m) {
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
Result<void> content_contacts(const Value& msg, const std::string& path, std::string_view type,
                              Part& part, InboundMessage& m) {
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

Result<void> content_interactive(const Value& msg, const std::string& path, std::string_view type,
                                 Part& part, InboundMessage& m) {
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
            r = get_string(**reply, rp, "description", Need::optional, description);
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
Result<void> content_button(const Value& msg, const std::string& path, std::string_view type,
                            Part& part, InboundMessage& m) {
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

Result<void> content_reaction(const Value& msg, const std::string& path, std::string_view type,
                              Part& part, InboundMessage& m) {
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

Result<void> content_system(const Value& msg, const std::string& path, std::string_view type,
                            Part& part, InboundMessage& m) {
    auto obj = get(msg, path, "system", Kind::object, Need::required);
    if (!obj) {
        return obj.error();
    }
    auto r = get_string(**obj, join(path, "system"), "body", Need::optional, part.text);
    if (!r) {
        return r;
    }
    part.key = "system";
    part.json = to_json(**obj);
    return {};
}

// unsupported and any type we do not know: the type's object verbatim.
Result<void> content_verbatim(const Value& msg, const std::string& path, std::string_view type,
                              Part& part, InboundMessage& m) {
    // These keys are written by build_content itself.
    for (std::string_view own : {"type", "text", "errors", "forwarded", "referral"}) {
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

ContentFn content_fn(std::string_view type) {
    for (const auto& t : kContentTypes) {
        if (t.name == type) {
            return t.fn;
        }
    }
    return content_verbatim;
}

void put_errors(Writer& w, const std::vector<MetaError>& errors) {
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

}  // namespace

Result<void> build_content(const Value& msg, const std::string& path,
                           const std::vector<MetaError>& errors, InboundMessage& m) {
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

}  // namespace wa::webhook_detail

namespace wa {

std::string set_reaction_message_id(std::string_view content_json, std::string_view id) {
    JsonDocument doc;
    if (!parse_json_strict(content_json, doc)) {
        return std::string(content_json);
    }
    // HasMember/operator[]: rapidjson 1.1's mutable iterators compare
    // ambiguously under C++20.
    if (!doc.IsObject() || !doc.HasMember("reaction") || !doc["reaction"].IsObject()) {
        return std::string(content_json);
    }
    set_string_member(doc["reaction"], "message_id", id, doc.GetAllocator());
    return to_json(doc);
}

}  // namespace wa

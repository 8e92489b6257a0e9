#include "meta/graph_message.hpp"

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "base/json.hpp"
#include "base/text.hpp"

namespace wa {

namespace {

using rapidjson::Value;
using Writer = JsonWriter;

// Meta's answers are small; anything near this is not a Graph answer.
constexpr std::size_t kMaxGraphBody = 1024 * 1024;

std::string string_member(const Value& obj, std::string_view key) {
    const Value* v = member(obj, key);
    return v && v->IsString() ? std::string(v->GetString(), v->GetStringLength()) : std::string();
}

std::int64_t int_member(const Value& obj, std::string_view key) {
    const Value* v = member(obj, key);
    return v && v->IsInt64() ? v->GetInt64() : 0;
}

GraphResult failed(std::string reason) {
    GraphResult r;
    r.outcome = GraphOutcome::failed;
    r.reason = std::move(reason);
    return r;
}

GraphResult throttled(int retry_after_s) {
    GraphResult r;
    r.outcome = GraphOutcome::throttled;
    r.retry_after_s = retry_after_s;
    return r;
}

bool is_refusal(std::int64_t code) {
    switch (code) {
        case 100:
        case 131008:
        case 131009:
        case 131021:
        case 131026:
        case 131030:
        case 131051:
        case 131053: return true;
        default: return false;
    }
}

GraphResult classify(const GraphError& e) {
    switch (e.code) {
        case 131047: {
            GraphResult r;
            r.outcome = GraphOutcome::window_closed;
            return r;
        }
        case 130429: return throttled(1);
        case 131056: return throttled(6);
        case 80007:
        case 4:
        case 131048: return throttled(60);
        default: break;
    }
    if (is_refusal(e.code)) {
        GraphResult r;
        r.outcome = GraphOutcome::refused;
        // Meta's text reaches the API client: never a token it echoed.
        r.reason = redact_tokens(e.details.empty() ? e.message : e.details);
        return r;
    }
    return failed("Meta error " + std::to_string(e.code));
}

GraphError read_error(const Value& err) {
    GraphError e;
    e.code = int_member(err, "code");
    e.subcode = int_member(err, "error_subcode");
    e.message = string_member(err, "message");
    e.fbtrace_id = string_member(err, "fbtrace_id");
    if (const Value* data = member(err, "error_data"); data && data->IsObject()) {
        e.details = string_member(*data, "details");
    }
    return e;
}

// messages[0].id, or empty.
std::string first_message_id(const Value& doc) {
    const Value* msgs = member(doc, "messages");
    if (!msgs || !msgs->IsArray() || msgs->Empty()) {
        return {};
    }
    return string_member((*msgs)[0], "id");
}

}  // namespace

namespace {

void put_template(Writer& w, const GraphContent& c) {
    w.Key("template");
    w.StartObject();
    json_put(w, "name", c.template_name);
    w.Key("language");
    w.StartObject();
    json_put(w, "code", c.language);
    w.EndObject();
    w.Key("components");
    w.StartArray();
    if (!c.header_image_link.empty()) {
        w.StartObject();
        json_put(w, "type", "header");
        w.Key("parameters");
        w.StartArray();
        w.StartObject();
        json_put(w, "type", "image");
        w.Key("image");
        w.StartObject();
        json_put(w, "link", c.header_image_link);
        w.EndObject();
        w.EndObject();
        w.EndArray();
        w.EndObject();
    }
    if (!c.parameters.empty()) {
        w.StartObject();
        json_put(w, "type", "body");
        w.Key("parameters");
        w.StartArray();
        for (const auto& [name, text] : c.parameters) {
            w.StartObject();
            json_put(w, "type", "text");
            json_put(w, "text", text);
            if (!c.positional) json_put(w, "parameter_name", name);
            w.EndObject();
        }
        w.EndArray();
        w.EndObject();
    }
    w.EndArray();
    w.EndObject();
}

void put_media(Writer& w, const GraphContent& c) {
    w.Key(c.media_type.c_str(), static_cast<rapidjson::SizeType>(c.media_type.size()));
    w.StartObject();
    if (!c.media_id.empty()) {
        json_put(w, "id", c.media_id);
    } else {
        json_put(w, "link", c.media_link);
    }
    bool captioned = c.media_type != "audio" && c.media_type != "sticker";
    if (captioned && !c.text.empty()) json_put(w, "caption", c.text);
    if (c.media_type == "document" && !c.filename.empty()) json_put(w, "filename", c.filename);
    w.EndObject();
}

}  // namespace

std::string graph_message_body(std::string_view to, const GraphContent& content,
                               std::string_view context_wamid, std::string_view callback_data) {
    rapidjson::StringBuffer sb;
    Writer w(sb);
    w.StartObject();
    json_put(w, "messaging_product", "whatsapp");
    json_put(w, "recipient_type", "individual");
    json_put(w, "to", to);
    switch (content.kind) {
        case GraphContent::Kind::text:
            json_put(w, "type", "text");
            w.Key("text");
            w.StartObject();
            json_put(w, "body", content.text);
            w.EndObject();
            break;
        case GraphContent::Kind::template_message:
            json_put(w, "type", "template");
            put_template(w, content);
            break;
        case GraphContent::Kind::media:
            json_put(w, "type", content.media_type);
            put_media(w, content);
            break;
    }
    if (!context_wamid.empty()) {
        w.Key("context");
        w.StartObject();
        json_put(w, "message_id", context_wamid);
        w.EndObject();
    }
    if (!callback_data.empty()) json_put(w, "biz_opaque_callback_data", callback_data);
    w.EndObject();
    return {sb.GetString(), sb.GetSize()};
}

GraphResult parse_graph_response(int http_status, std::string_view body) {
    JsonDocument doc;
    JsonLimits limits;
    limits.max_bytes = kMaxGraphBody;
    bool parsed = parse_json_strict(body, doc, limits).ok() && doc.IsObject();

    const Value* err = parsed ? member(doc, "error") : nullptr;
    const Value* code = err ? member(*err, "code") : nullptr;
    if (code && code->IsInt64()) {
        GraphError e = read_error(*err);
        GraphResult r = classify(e);
        r.meta = std::move(e);
        return r;
    }
    if (parsed && http_status >= 200 && http_status < 300) {
        std::string wamid = first_message_id(doc);
        if (wamid.empty()) return failed("accepted without a message id");
        GraphResult r;
        r.outcome = GraphOutcome::accepted;
        r.wamid = std::move(wamid);
        return r;
    }
    return failed("HTTP " + std::to_string(http_status) + " without a usable error");
}

}  // namespace wa

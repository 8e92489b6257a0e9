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

GraphResult fail(GraphOutcome outcome, int status, std::string code, std::string message) {
    GraphResult r;
    r.outcome = outcome;
    r.http_status = status;
    r.code = std::move(code);
    r.message = std::move(message);
    return r;
}

GraphResult upstream(std::string message) {
    return fail(GraphOutcome::upstream_error, 502, "upstream_error", std::move(message));
}

GraphResult rate_limited(std::int64_t code, int retry_after_s) {
    GraphResult r = fail(GraphOutcome::rate_limited, 429, "rate_limited",
                         "WhatsApp rate limit reached (Meta error " + std::to_string(code)
                             + "); retry after " + std::to_string(retry_after_s) + " s");
    r.retry_after_s = retry_after_s;
    return r;
}

bool is_refusal(std::int64_t code) {
    switch (code) {
    case 100: case 131008: case 131009: case 131021: case 131026: case 131030: case 131051:
        return true;
    default:
        return false;
    }
}

GraphResult classify(const GraphError& e) {
    switch (e.code) {
    case 131047: {
        GraphResult r = fail(GraphOutcome::window_expired, 422, "window_expired",
                             "the 24-hour conversation window has closed");
        r.close_window = true;
        return r;
    }
    case 130429: return rate_limited(e.code, 1);
    case 131056: return rate_limited(e.code, 6);
    case 80007: case 4: case 131048: return rate_limited(e.code, 60);
    default: break;
    }
    if (is_refusal(e.code)) {
        // Meta's text reaches the API client: never a token it echoed.
        std::string why = redact_tokens(e.details.empty() ? e.message : e.details);
        return fail(GraphOutcome::refused, 400, "invalid_request",
                    "WhatsApp refused the message: " + why);
    }
    return upstream("the WhatsApp API failed (Meta error " + std::to_string(e.code) + ")");
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

std::string graph_text_reply_body(std::string_view to, std::string_view text,
                                  std::string_view context_wamid) {
    rapidjson::StringBuffer sb;
    Writer w(sb);
    w.StartObject();
    json_put(w, "messaging_product", "whatsapp");
    json_put(w, "recipient_type", "individual");
    json_put(w, "to", to);
    json_put(w, "type", "text");
    w.Key("text");
    w.StartObject();
    json_put(w, "body", text);
    w.EndObject();
    if (!context_wamid.empty()) {
        w.Key("context");
        w.StartObject();
        json_put(w, "message_id", context_wamid);
        w.EndObject();
    }
    w.EndObject();
    return {sb.GetString(), sb.GetSize()};
}

GraphResult parse_graph_response(int http_status, std::string_view body) {
    if (http_status == 0) {
        return upstream("the WhatsApp API could not be reached");
    }
    rapidjson::Document doc;
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
        if (!wamid.empty()) {
            GraphResult r;
            r.outcome = GraphOutcome::accepted;
            r.http_status = 200;
            r.wamid = std::move(wamid);
            return r;
        }
        return upstream("the WhatsApp API accepted without a message id");
    }
    return upstream("the WhatsApp API answered HTTP " + std::to_string(http_status)
                    + " without a usable error");
}

}  // namespace wa

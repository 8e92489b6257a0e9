#include "api/prelude.hpp"

#include <algorithm>
#include <array>
#include <utility>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "base/clock.hpp"
#include "base/json.hpp"
#include "base/phone.hpp"
#include "base/text.hpp"

namespace wa {

namespace {

using rapidjson::Value;
using Writer = JsonWriter;

ReplyError error(int status, std::string code, std::string message, std::string param = {}) {
    return ReplyError(status, std::move(code), std::move(message), std::move(param));
}

ReplyError invalid_request(std::string message, std::string param = {}) {
    return error(400, "invalid_request", std::move(message), std::move(param));
}

// Row 2: the body is a JSON object whose known fields (in the order their
// type errors are reported) are strings, with
// the required to and reply_to present.
std::optional<ReplyError> check_shape(std::string_view body, rapidjson::Document& doc) {
    if (auto e = parse_prelude_body(body, doc)) return e;
    return check_prelude_fields(doc, {"to", "text", "reply_to", "callback_url", "correlation_id"},
                                {"to", "reply_to"});
}

ReplyRequest read_fields(const Value& doc) {
    ReplyRequest req;
    req.to = prelude_string(doc, "to");
    req.text = prelude_string(doc, "text");
    req.reply_to = prelude_string(doc, "reply_to");
    req.callback_url = prelude_string(doc, "callback_url", &req.has_callback_url);
    req.correlation_id = prelude_string(doc, "correlation_id", &req.has_correlation_id);
    return req;
}

// Rows 3-6 on fields already known to be strings.
std::optional<ReplyError> check_fields(ReplyRequest& req, const CallbackGuard& guard) {
    if (is_blank(req.text)) {
        return error(400, "missing_text", "text must not be empty", "text");
    }
    if (utf8_length(req.text) > kMaxReplyTextChars) {
        return invalid_request(
            "text is longer than " + std::to_string(kMaxReplyTextChars) + " characters", "text");
    }
    if (!is_possible_e164(req.to)) return invalid_phone_number();
    return check_correlation_and_callback(req.has_correlation_id, req.correlation_id,
                                          req.has_callback_url, req.callback_url, guard,
                                          req.callback);
}

}  // namespace

std::optional<ReplyError> check_template_variables(const rapidjson::Value& doc) {
    const Value* v = member(doc, "variables");
    if (v == nullptr) return std::nullopt;
    if (!v->IsObject()) return invalid_request("variables must be an object", "variables");
    for (const auto& m : v->GetObject()) {
        if (!m.value.IsString()) {
            return invalid_request(
                "variables." + std::string(m.name.GetString()) + " must be a string", "variables");
        }
    }
    return std::nullopt;
}

TemplateVariables template_variables_of(const rapidjson::Value& doc) {
    TemplateVariables out;
    if (const Value* v = member(doc, "variables")) {
        for (const auto& m : v->GetObject()) {
            out.emplace_back(std::string(m.name.GetString(), m.name.GetStringLength()),
                             std::string(m.value.GetString(), m.value.GetStringLength()));
        }
    }
    return out;
}

ReplyError invalid_phone_number() {
    return error(400, "invalid_phone_number",
                 "to must be a phone number in E.164 format (+, country code, digits)", "to");
}

std::optional<ReplyError> check_correlation_and_callback(
    bool has_correlation_id, std::string_view correlation_id, bool has_callback_url,
    std::string_view callback_url, const CallbackGuard& guard, CallbackTarget& callback) {
    if (has_correlation_id && utf8_length(correlation_id) > kMaxCorrelationIdChars) {
        return error(400, "invalid_correlation_id",
                     "correlation_id is longer than " + std::to_string(kMaxCorrelationIdChars) +
                         " characters",
                     "correlation_id");
    }
    if (has_callback_url) {
        auto target = guard.check_url(callback_url);
        if (!target) {
            return error(400, "invalid_callback_url", "callback_url: " + target.error().message,
                         "callback_url");
        }
        callback = std::move(*target);
    }
    return std::nullopt;
}

std::optional<ReplyError> check_prelude_fields(const rapidjson::Value& doc,
                                               std::initializer_list<std::string_view> strings,
                                               std::initializer_list<std::string_view> required) {
    for (std::string_view field : strings) {
        const Value* v = member(doc, field);
        if (v && !v->IsString()) {
            return invalid_request(std::string(field) + " must be a string", std::string(field));
        }
    }
    for (std::string_view field : required) {
        if (!member(doc, field)) {
            return invalid_request(std::string(field) + " is required", std::string(field));
        }
    }
    return std::nullopt;
}

std::optional<ReplyError> check_known_fields(const rapidjson::Value& doc,
                                             std::initializer_list<std::string_view> fields) {
    for (const auto& m : doc.GetObject()) {
        std::string_view name(m.name.GetString(), m.name.GetStringLength());
        if (std::find(fields.begin(), fields.end(), name) == fields.end()) {
            return invalid_request("unknown field \"" + log_escape(name, 64) + "\"",
                                   log_escape(name, 64));
        }
    }
    return std::nullopt;
}

std::string prelude_string(const rapidjson::Value& doc, std::string_view key, bool* present) {
    const Value* v = member(doc, key);
    if (present) *present = v != nullptr;
    return v && v->IsString() ? std::string(v->GetString(), v->GetStringLength()) : std::string();
}

std::optional<ReplyError> parse_prelude_body(std::string_view body, rapidjson::Document& doc) {
    if (body.size() > kMaxReplyBodyBytes) {
        return invalid_request("request body larger than " + std::to_string(kMaxReplyBodyBytes) +
                               " bytes");
    }
    JsonLimits limits;
    limits.max_bytes = kMaxReplyBodyBytes;
    if (auto r = parse_json_strict(body, doc, limits); !r) {
        return invalid_request("request body is not valid JSON: " + r.error().message);
    }
    if (!doc.IsObject()) {
        return invalid_request("request body must be a JSON object");
    }
    return std::nullopt;
}

ReplyResult parse_reply_request(std::string_view body, const CallbackGuard& guard) {
    JsonDocument doc;
    if (auto e = check_shape(body, doc)) {
        return std::move(*e);
    }
    ReplyRequest req = read_fields(doc);
    if (auto e = check_fields(req, guard)) {
        return std::move(*e);
    }
    if (auto id = typeid_decode_as("im", req.reply_to)) {
        req.reply_to_id = *id;
    }
    return req;
}

ReplyError reply_error(ReplyFailure failure) {
    switch (failure) {
        case ReplyFailure::missing_api_token:
            return error(401, "missing_api_token",
                         "an API key is required (Authorization: Bearer)");
        case ReplyFailure::invalid_api_token:
            return error(401, "invalid_api_token", "the API key is not valid");
        case ReplyFailure::forbidden:
            return error(403, "forbidden", "the API key may not send messages");
        case ReplyFailure::invalid_reply_context:
            return error(404, "invalid_reply_context", "reply_to does not name an inbound message",
                         "reply_to");
        case ReplyFailure::phone_number_mismatch:
            return error(400, "phone_number_mismatch",
                         "to does not match the sender of the inbound message", "to");
        case ReplyFailure::window_expired:
            return error(422, "window_expired", "the 24-hour conversation window has closed");
        case ReplyFailure::insufficient_balance:
            return error(402, "insufficient_balance", "the number's credits are used up");
        case ReplyFailure::outside_scope:
            return error(403, "forbidden", "the API key may only send in its one conversation");
    }
    return error(500, "internal_error", "unknown failure");
}

ReplyFailure reply_failure(SendRefusal refusal) {
    switch (refusal) {
        case SendRefusal::no_such_message: return ReplyFailure::invalid_reply_context;
        case SendRefusal::recipient_mismatch: return ReplyFailure::phone_number_mismatch;
        case SendRefusal::window_closed: return ReplyFailure::window_expired;
        case SendRefusal::no_credit: return ReplyFailure::insufficient_balance;
        case SendRefusal::outside_scope: return ReplyFailure::outside_scope;
    }
    return ReplyFailure::invalid_reply_context;
}

ReplyError reply_error_from_graph(const GraphResult& graph) {
    std::string meta_code = std::to_string(graph.meta.code);
    switch (graph.outcome) {
        case GraphOutcome::window_closed: return reply_error(ReplyFailure::window_expired);
        case GraphOutcome::throttled: {
            ReplyError e =
                error(429, "rate_limited",
                      "WhatsApp rate limit reached (Meta error " + meta_code + "); retry after " +
                          std::to_string(graph.retry_after_s) + " s");
            e.retry_after_s = graph.retry_after_s;
            return e;
        }
        case GraphOutcome::refused:
            return invalid_request("WhatsApp refused the message: " + graph.reason);
        case GraphOutcome::accepted:
        case GraphOutcome::failed: break;
    }
    if (graph.meta.code != 0) {
        return error(502, "upstream_error",
                     "the WhatsApp API failed (Meta error " + meta_code + ")");
    }
    return error(502, "upstream_error", "the WhatsApp API failed (" + graph.reason + ")");
}

ReplyError reply_error(KeyCheck check) {
    return reply_error(check == KeyCheck::missing   ? ReplyFailure::missing_api_token
                       : check == KeyCheck::invalid ? ReplyFailure::invalid_api_token
                                                    : ReplyFailure::forbidden);
}

ReplyError reply_paced(int retry_after_s) {
    ReplyError e = error(429, "rate_limited",
                         "the number's send rate (its whatsapp_number rate) is used up; retry "
                         "after Retry-After seconds");
    e.retry_after_s = retry_after_s;
    return e;
}

ReplyError reply_not_sent() {
    return error(502, "upstream_error", "the WhatsApp API could not be reached");
}

ReplyError reply_unknown(std::string_view message_id) {
    ReplyError e = error(504, "upstream_timeout",
                         "the WhatsApp API did not answer: the message may have been sent; "
                         "it is tracked as message_id, do not send it again");
    e.message_id = message_id;
    return e;
}

bool ReplyError::should_retry() const {
    return http_status == 409 || http_status == 429 || http_status == 502 || http_status == 503;
}

SendRequest send_request_of(const ReplyRequest& request) {
    SendRequest s;
    s.reply_to = request.reply_to_id;
    s.reply_to_text = request.reply_to;
    s.to = request.to;
    s.content.text = request.text;
    if (request.has_callback_url) s.callback_url = request.callback_url;
    if (request.has_correlation_id) s.correlation_id = request.correlation_id;
    return s;
}

std::string reply_error_json(const ReplyError& error, std::string_view request_id) {
    rapidjson::StringBuffer sb;
    Writer w(sb);
    w.StartObject();
    json_put(w, "code", error.code);
    json_put(w, "message", error.message);
    if (!error.param.empty()) {
        json_put(w, "param", error.param);
    }
    if (!error.message_id.empty()) {
        json_put(w, "message_id", error.message_id);
    }
    json_put(w, "request_id", request_id);
    w.EndObject();
    return {sb.GetString(), sb.GetSize()};
}

std::string reply_response_json(std::string_view id, const ReplyRequest& request,
                                std::int64_t created_at_ns) {
    rapidjson::StringBuffer sb;
    Writer w(sb);
    w.StartObject();
    json_put(w, "id", id);
    json_put(w, "to", request.to);
    json_put(w, "text", request.text);
    json_put(w, "reply_to", request.reply_to);
    json_put(w, "created_at", rfc3339_ns(created_at_ns));
    if (request.has_callback_url) {
        json_put(w, "callback_url", request.callback_url);
    }
    if (request.has_correlation_id) {
        json_put(w, "correlation_id", request.correlation_id);
    }
    w.EndObject();
    return {sb.GetString(), sb.GetSize()};
}

}  // namespace wa

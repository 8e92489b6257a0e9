#include "api/prelude_notify.hpp"

#include <rapidjson/document.h>

#include "base/clock.hpp"
#include "base/json.hpp"
#include "base/phone.hpp"

namespace wa {

namespace {

using rapidjson::Value;

ReplyError invalid(std::string message, std::string param = {}) {
    return ReplyError(400, "invalid_request", std::move(message), std::move(param));
}

// A batch's `to`: 1-1000 strings.
std::optional<ReplyError> read_recipients(const Value& doc, NotifyRequest& req) {
    const Value* to = member(doc, "to");
    if (to == nullptr) return invalid("to is required", "to");
    if (!to->IsArray() || to->Empty() || to->Size() > kMaxBatchRecipients) {
        return invalid(
            "to must be an array of 1 to " + std::to_string(kMaxBatchRecipients) + " phone numbers",
            "to");
    }
    for (const Value& v : to->GetArray()) {
        if (!v.IsString()) return invalid("to must hold strings only", "to");
        req.recipients.emplace_back(v.GetString(), v.GetStringLength());
    }
    return std::nullopt;
}

// Both endpoints; a batch reads `to` as an array, a send as one number.
NotifyResult parse_notify(std::string_view body, const CallbackGuard& guard, std::int64_t now_ns,
                          bool batch) {
    JsonDocument doc;
    if (auto e = parse_prelude_body(body, doc)) return std::move(*e);
    NotifyRequest req;
    // `to`: a batch's array of numbers, a send's one number.
    auto to_error = batch ? read_recipients(doc, req) : check_prelude_fields(doc, {"to"}, {"to"});
    if (to_error) return std::move(*to_error);
    if (batch) req.to = req.recipients.front();
    if (auto e =
            check_prelude_fields(doc,
                                 {"template_id", "from", "locale", "callback_url", "correlation_id",
                                  "expires_at", "schedule_at", "preferred_channel"},
                                 {"template_id"})) {
        return std::move(*e);
    }
    if (auto e = check_template_variables(doc)) return std::move(*e);

    req.template_id = prelude_string(doc, "template_id");
    if (!batch) req.to = prelude_string(doc, "to");
    req.from = prelude_string(doc, "from");
    req.locale = prelude_string(doc, "locale");
    req.callback_url = prelude_string(doc, "callback_url", &req.has_callback_url);
    req.correlation_id = prelude_string(doc, "correlation_id", &req.has_correlation_id);
    req.variables = template_variables_of(doc);

    bool has_expiry = false;
    std::string expires_at = prelude_string(doc, "expires_at", &has_expiry);
    if (has_expiry) {
        auto t = parse_rfc3339(expires_at);
        if (!t) return invalid("expires_at must be an RFC 3339 date-time", "expires_at");
        if (*t <= now_ns) return invalid("expires_at has already passed", "expires_at");
        req.expires_at_ns = *t;
    }
    bool has_schedule = false;
    std::string schedule_at = prelude_string(doc, "schedule_at", &has_schedule);
    if (has_schedule) {
        auto t = parse_rfc3339(schedule_at);
        if (!t) return invalid("schedule_at must be an RFC 3339 date-time", "schedule_at");
        if (req.expires_at_ns && req.expires_at_ns <= *t) {
            return invalid("expires_at must be after schedule_at", "expires_at");
        }
        req.schedule_at_ns = *t;
    }
    bool has_channel = false;
    std::string channel = prelude_string(doc, "preferred_channel", &has_channel);
    if (has_channel && channel != "whatsapp") {
        return ReplyError(400, "invalid_channel", "this gateway sends on whatsapp only",
                          "preferred_channel");
    }
    if (!batch && !is_possible_e164(req.to)) return invalid_phone_number();
    if (auto e = check_correlation_and_callback(req.has_correlation_id, req.correlation_id,
                                                req.has_callback_url, req.callback_url, guard,
                                                req.callback)) {
        return std::move(*e);
    }
    return req;
}

void put_variables(JsonWriter& w, const TemplateVariables& variables) {
    w.Key("variables");
    w.StartObject();
    for (const auto& [name, value] : variables)
        json_put(w, name, value);
    w.EndObject();
}

}  // namespace

NotifyResult parse_notify_request(std::string_view body, const CallbackGuard& guard,
                                  std::int64_t now_ns) {
    return parse_notify(body, guard, now_ns, false);
}

NotifyResult parse_notify_batch_request(std::string_view body, const CallbackGuard& guard,
                                        std::int64_t now_ns) {
    return parse_notify(body, guard, now_ns, true);
}

Outcome<SendRequest, ReplyError> notify_send_request(const NotifyRequest& request,
                                                     const TemplateDirectory& templates,
                                                     const NumberDirectory& numbers,
                                                     std::string_view tenant) {
    const TemplateDef* def = templates.find(request.template_id, tenant);
    if (def == nullptr) {
        return ReplyError(400, "invalid_template_id", "no template \"" + request.template_id + "\"",
                          "template_id");
    }
    auto content = render_template(*def, request.variables, request.locale);
    if (!content) {
        if (content.error().kind == TemplateRefusal::Kind::unknown_locale) {
            return invalid(content.error().message(), "locale");
        }
        return ReplyError(400, "invalid_variables", content.error().message(), "variables");
    }
    const NumberConfig* sender = choose_sender(numbers, tenant, request.from);
    if (sender == nullptr) {
        return ReplyError(400, "invalid_sender",
                          request.from.empty()
                              ? "from is required: the API key's tenant has several numbers"
                              : "from is not one of the API key's numbers",
                          "from");
    }
    SendRequest s;
    s.sender = sender;
    s.to = request.to;
    s.content = std::move(*content);
    if (request.has_callback_url) s.callback_url = request.callback_url;
    if (request.has_correlation_id) s.correlation_id = request.correlation_id;
    return s;
}

std::int64_t notify_expires_at(const NotifyRequest& request, std::int64_t created_at_ns) {
    if (request.expires_at_ns) return request.expires_at_ns;
    return (request.scheduled() ? request.schedule_at_ns : created_at_ns) + kDefaultNotifyLifeNs;
}

std::string notify_response_json(std::string_view id, const NotifyRequest& request,
                                 std::string_view from, std::int64_t created_at_ns) {
    rapidjson::StringBuffer sb;
    JsonWriter w(sb);
    w.StartObject();
    json_put(w, "id", id);
    json_put(w, "to", request.to);
    json_put(w, "template_id", request.template_id);
    put_variables(w, request.variables);
    json_put(w, "created_at", rfc3339_ns(created_at_ns));
    json_put(w, "expires_at", rfc3339_ns(notify_expires_at(request, created_at_ns)));
    json_put(w, "from", from);
    if (request.has_callback_url) json_put(w, "callback_url", request.callback_url);
    if (request.has_correlation_id) json_put(w, "correlation_id", request.correlation_id);
    if (request.scheduled()) json_put(w, "schedule_at", rfc3339_ns(request.schedule_at_ns));
    w.EndObject();
    return {sb.GetString(), sb.GetSize()};
}

std::string notify_batch_response_json(const NotifyRequest& request,
                                       const std::vector<BatchResult>& results,
                                       std::string_view request_id) {
    std::size_t sent = 0;
    for (const BatchResult& r : results)
        sent += r.success ? 1 : 0;
    rapidjson::StringBuffer sb;
    JsonWriter w(sb);
    w.StartObject();
    w.Key("total_count");
    w.Uint64(results.size());
    w.Key("success_count");
    w.Uint64(sent);
    w.Key("error_count");
    w.Uint64(results.size() - sent);
    w.Key("results");
    w.StartArray();
    for (const BatchResult& r : results) {
        w.StartObject();
        json_put(w, "phone_number", r.phone_number);
        w.Key("success");
        w.Bool(r.success);
        if (r.success) {
            w.Key("message");
            w.StartObject();
            json_put(w, "id", r.message_id);
            json_put(w, "to", r.phone_number);
            json_put(w, "from", r.from);
            json_put(w, "created_at", rfc3339_ns(r.created_at_ns));
            json_put(w, "expires_at", rfc3339_ns(notify_expires_at(request, r.created_at_ns)));
            if (!request.locale.empty()) json_put(w, "locale", request.locale);
            if (request.has_correlation_id) json_put(w, "correlation_id", request.correlation_id);
            if (request.scheduled()) json_put(w, "schedule_at", rfc3339_ns(request.schedule_at_ns));
            w.EndObject();
        } else {
            w.Key("error");
            w.StartObject();
            json_put(w, "code", r.error.code);
            json_put(w, "message", r.error.message);
            w.EndObject();
        }
        w.EndObject();
    }
    w.EndArray();
    json_put(w, "template_id", request.template_id);
    put_variables(w, request.variables);
    if (request.has_callback_url) json_put(w, "callback_url", request.callback_url);
    json_put(w, "request_id", request_id);
    w.EndObject();
    return {sb.GetString(), sb.GetSize()};
}

}  // namespace wa

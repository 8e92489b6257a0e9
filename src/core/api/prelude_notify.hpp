// Prelude's send (SPEC §6.4): POST /v2/notify, the SDK's notify.send. The
// request checks that need no store or configuration, the template and
// sender choices made against the configuration, and the 200 body. Errors
// are the reply's (api/prelude.hpp): the same dialect, the same shapes.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/prelude.hpp"
#include "base/clock.hpp"
#include "domain/templates.hpp"

namespace wa {

// A send's default life when the client gives no expires_at.
constexpr std::int64_t kDefaultNotifyLifeNs = std::int64_t{24} * 3600 * kNsPerSec;

constexpr std::size_t kMaxBatchRecipients = 1000;

struct NotifyRequest {
    std::string template_id, to, from, locale, callback_url, correlation_id;
    std::vector<std::string> recipients;  // a batch's `to`, as sent (each checked on its own)
    TemplateVariables variables;          // in the order sent
    bool has_callback_url = false, has_correlation_id = false;
    std::int64_t expires_at_ns = 0;   // 0: not given
    std::int64_t schedule_at_ns = 0;  // 0: not given; a time passed means now
    bool scheduled() const { return schedule_at_ns != 0; }
    // check_url's verdict, as for a reply (ReplyRequest::callback).
    CallbackTarget callback;
};

using NotifyResult = Outcome<NotifyRequest, ReplyError>;

// In order, the first failing check answers:
//   invalid_request 400: body over 64 KB, not a JSON object, template_id or
//     to missing, a known field of the wrong type (strings; variables an
//     object of strings; param = the field), expires_at or schedule_at not
//     RFC 3339, expires_at already passed or not after schedule_at.
//   invalid_channel 400: preferred_channel other than "whatsapp".
//   invalid_phone_number 400 (param to), invalid_correlation_id 400,
//   invalid_callback_url 400: as for a reply.
NotifyResult parse_notify_request(std::string_view body, const CallbackGuard& guard,
                                  std::int64_t now_ns);

// POST /v2/notify/batch: the same checks, but `to` is an array of 1-1000
// strings (invalid_request otherwise). Each recipient's number is judged
// when it is sent (a bad one fails alone), so `to` is not checked here.
NotifyResult parse_notify_batch_request(std::string_view body, const CallbackGuard& guard,
                                        std::int64_t now_ns);

// The template and the sender, against the configuration, in this order:
//   invalid_template_id 400: no such template for the key's tenant;
//   invalid_variables 400 (param variables): a variable missing, unknown or
//     empty; invalid_request 400 (param locale): a locale it lacks;
//   invalid_sender 400 (param from): from is not one of the tenant's
//     numbers, or the tenant has several and from is missing.
// On success, the send (scope filled by the caller).
Outcome<SendRequest, ReplyError> notify_send_request(const NotifyRequest& request,
                                                     const TemplateDirectory& templates,
                                                     const NumberDirectory& numbers,
                                                     std::string_view tenant);

// When a send expires: expires_at, else a day after schedule_at (a
// scheduled send) or after created_at.
std::int64_t notify_expires_at(const NotifyRequest& request, std::int64_t created_at_ns);

// Prelude's 200 body: {id, to, template_id, variables, created_at,
// expires_at, from, callback_url?, correlation_id?, schedule_at?}.
std::string notify_response_json(std::string_view id, const NotifyRequest& request,
                                 std::string_view from, std::int64_t created_at_ns);

// One recipient of a batch: sent (message_id, created_at, from) or not
// (error).
struct BatchResult {
    std::string phone_number;
    bool success = false;
    std::string message_id, from;
    std::int64_t created_at_ns = 0;
    ReplyError error;
};

// The batch's 200 body: {total_count, success_count, error_count,
// results:[{phone_number, success, message?{id, to, from, created_at,
// expires_at, correlation_id?, schedule_at?}, error?{code, message}}], template_id,
// variables, callback_url?, request_id}.
std::string notify_batch_response_json(const NotifyRequest& request,
                                       const std::vector<BatchResult>& results,
                                       std::string_view request_id);

}  // namespace wa

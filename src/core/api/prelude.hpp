// Reply API (Prelude dialect, SPEC §6): POST /v2/notify/reply. The request
// checks that need no store (rows 2-6 of §6.2), the error and response
// bodies, and the errors of the rows the caller checks against the store.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <rapidjson/document.h>

#include "domain/callback_guard.hpp"
#include "domain/send.hpp"
#include "domain/templates.hpp"
#include "meta/graph_message.hpp"
#include "base/ids.hpp"
#include "base/result.hpp"

namespace wa {

constexpr std::size_t kMaxReplyBodyBytes = 64 * 1024;
constexpr std::size_t kMaxReplyTextChars = 4096;  // code points, as Meta's text.body
constexpr std::size_t kMaxCorrelationIdChars = 80;

struct ReplyRequest {
    std::string to, text, reply_to, callback_url, correlation_id;
    bool has_callback_url = false;
    bool has_correlation_id = false;
    // reply_to decoded when it is a well-formed im_ TypeID. nullopt means
    // row 7 (invalid_reply_context), answered by the caller after rows
    // 2-6 so the order of §6.2 holds; the same answer as an unknown id.
    std::optional<Uuid> reply_to_id;
    // check_url's verdict; when !callback.is_literal the caller resolves
    // callback.host and applies CallbackGuard::address_allowed.
    CallbackTarget callback;
};

struct ReplyError {
    ReplyError() = default;
    ReplyError(int status, std::string code_, std::string message_, std::string param_ = {},
               int retry_after = 0)
        : http_status(status),
          code(std::move(code_)),
          message(std::move(message_)),
          param(std::move(param_)),
          retry_after_s(retry_after) {}

    int http_status = 400;
    std::string code;
    std::string message;
    std::string param;       // the offending field; empty when none
    int retry_after_s = 0;   // > 0: send a Retry-After header (rate_limited)
    std::string message_id;  // upstream_timeout: the tx_ id of the unknown send
    // x-should-retry (what Prelude's SDK obeys): true only where the same
    // request can succeed later; false where it cannot, or could send twice.
    bool should_retry() const;
};

using ReplyResult = Outcome<ReplyRequest, ReplyError>;

// SPEC §6.2 rows 2-6, in order; the first failing row answers:
//   2 invalid_request 400: body over 64 KB, not JSON, not an object, a
//     field of to/text/reply_to/callback_url/correlation_id present but
//     not a string (null included; param = that field), `to` or
//     `reply_to` missing (both required by Prelude's schema; param = the
//     field). Unknown fields are ignored.
//   3 missing_text 400 (param text): text missing or blank (text.hpp).
//   4 invalid_request 400 (param text): over 4096 code points.
//   5 invalid_phone_number 400 (param to): not canonical or not possible.
//   6 invalid_correlation_id 400 (over 80 code points), then
//     invalid_callback_url 400 (CallbackGuard::check_url).
// Text is kept as sent (not trimmed): it is what the customer receives.
ReplyResult parse_reply_request(std::string_view body, const CallbackGuard& guard);

// Shared by the dialect's endpoints (reply, send):
// Row 2's first half: at most 64 KB of strict JSON, an object.
std::optional<ReplyError> parse_prelude_body(std::string_view body, rapidjson::Document& doc);
// Row 2's second half: each of strings is a string when present (param:
// the field), then each of required is present.
std::optional<ReplyError> check_prelude_fields(const rapidjson::Value& doc,
                                               std::initializer_list<std::string_view> strings,
                                               std::initializer_list<std::string_view> required);
// Only these fields: another one is invalid_request (param: its name,
// log-escaped).
std::optional<ReplyError> check_known_fields(const rapidjson::Value& doc,
                                             std::initializer_list<std::string_view> fields);
// A string member ("" when absent); *present says whether it was there.
std::string prelude_string(const rapidjson::Value& doc, std::string_view key,
                           bool* present = nullptr);
// A template send's variables (absent: none): an object of strings
// (invalid_request, param variables), in the order sent.
std::optional<ReplyError> check_template_variables(const rapidjson::Value& doc);
TemplateVariables template_variables_of(const rapidjson::Value& doc);
// Row 5: `to` is not a possible E.164 number.
ReplyError invalid_phone_number();
// Row 6: correlation_id's length, then callback_url (check_url's verdict
// into callback).
std::optional<ReplyError> check_correlation_and_callback(
    bool has_correlation_id, std::string_view correlation_id, bool has_callback_url,
    std::string_view callback_url, const CallbackGuard& guard, CallbackTarget& callback);

// Errors of the rows answered outside parse_reply_request.
enum class ReplyFailure {
    missing_api_token,      // 1: 401
    invalid_api_token,      // 1: 401
    forbidden,              // 1: 403, key lacks messaging:messages:send
    invalid_reply_context,  // 7: 404, param reply_to
    phone_number_mismatch,  // 8: 400, param to
    window_expired,         // 9: 422
    insufficient_balance,   // 10: 402
    outside_scope,          // 403: a conversation= key sending elsewhere
};
ReplyError reply_error(ReplyFailure failure);

// Row 1 as the key check refused it (not for KeyCheck::ok).
ReplyError reply_error(KeyCheck check);

// Rows 7-10 as the store refused them (domain/send.hpp).
ReplyFailure reply_failure(SendRefusal refusal);

// §6.3, a send certainly not made: what Meta answered, as Prelude's codes.
//   window_closed -> 422 window_expired; throttled -> 429 rate_limited with
//   Retry-After; refused -> 400 invalid_request with Meta's reason;
//   failed -> 502 upstream_error with Meta's code only.
// Not for accepted results.
ReplyError reply_error_from_graph(const GraphResult& graph);

// The number's own pacing (SPEC §3.2 rate) holds the send back: 429
// rate_limited, never sent, Retry-After when the next send may go.
ReplyError reply_paced(int retry_after_s);

// §6.3: the request was never written to Meta (refused, unreachable).
ReplyError reply_not_sent();

// §6.3: written, and no answer came: 504 upstream_timeout naming the tx_ id.
ReplyError reply_unknown(std::string_view message_id);

// {"code","message","param"?,"message_id"?,"request_id"}; param and
// message_id left out when empty.
std::string reply_error_json(const ReplyError& error, std::string_view request_id);

// The dialect-neutral send of a checked reply (the key's scope added by
// the caller).
SendRequest send_request_of(const ReplyRequest& request);

// Prelude's 200 body: {id, to, text, reply_to, created_at,
// callback_url?, correlation_id?}; created_at as RFC 3339 (UTC).
std::string reply_response_json(std::string_view id, const ReplyRequest& request,
                                std::int64_t created_at_ns);

}  // namespace wa

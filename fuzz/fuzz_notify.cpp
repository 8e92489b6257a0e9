// libFuzzer target: parse_notify_request and notify_send_request
// (api/prelude_notify.hpp), the body of POST /v2/notify, with a
// CallbackGuard that allows 127.0.0.0/8 and one template. Never crashes;
// every error is a 400 with a known code and message, its param (if any)
// names a request field, and its JSON body is strict JSON. An accepted
// request holds §6.4's checks, and its send and 200 body are well formed.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "api/prelude_notify.hpp"
#include "base/json.hpp"
#include "base/phone.hpp"
#include "base/text.hpp"
#include "fuzz_check.hpp"
#include "fuzz_prelude.hpp"

namespace {

constexpr std::int64_t kNow = 1'750'000'000'000'000'000;

void check_error(const wa::ReplyError& e) {
    FUZZ_CHECK(!e.message.empty());
    FUZZ_CHECK(e.http_status == 400);
    FUZZ_CHECK(e.code == "invalid_request" || e.code == "invalid_channel" ||
               e.code == "invalid_phone_number" || e.code == "invalid_correlation_id" ||
               e.code == "invalid_callback_url" || e.code == "invalid_template_id" ||
               e.code == "invalid_variables" || e.code == "invalid_sender");
    bool known = false;
    for (std::string_view p :
         {"", "template_id", "to", "from", "locale", "callback_url", "correlation_id", "expires_at",
          "schedule_at", "preferred_channel", "variables"}) {
        known |= e.param == p;
    }
    FUZZ_CHECK(known);
    FUZZ_CHECK(strict_json_object(wa::reply_error_json(e, "r")));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view body(reinterpret_cast<const char*>(data), size);
    // A batch: the same checks, `to` an array of 1-1000 strings.
    if (auto b = wa::parse_notify_batch_request(body, guard(), kNow); b) {
        FUZZ_CHECK(!b->recipients.empty() && b->recipients.size() <= wa::kMaxBatchRecipients);
        FUZZ_CHECK(b->to == b->recipients.front());
        std::vector<wa::BatchResult> results(b->recipients.size());
        FUZZ_CHECK(strict_json_object(wa::notify_batch_response_json(*b, results, "r")));
    } else {
        check_error(b.error());
    }
    auto r = wa::parse_notify_request(body, guard(), kNow);
    if (!r) {
        check_error(r.error());
        return 0;
    }
    const wa::NotifyRequest& req = *r;
    FUZZ_CHECK(body.size() <= wa::kMaxReplyBodyBytes);
    FUZZ_CHECK(wa::is_possible_e164(req.to));
    FUZZ_CHECK(req.expires_at_ns == 0 || req.expires_at_ns > kNow);
    if (req.has_correlation_id) {
        FUZZ_CHECK(wa::utf8_length(req.correlation_id) <= wa::kMaxCorrelationIdChars);
    }
    if (req.has_callback_url) FUZZ_CHECK(guard().check_url(req.callback_url).ok());

    auto send = wa::notify_send_request(req, templates(), numbers(), "acme");
    if (!send) {
        check_error(send.error());
        return 0;
    }
    FUZZ_CHECK(send->sender != nullptr && !send->reply_to);
    FUZZ_CHECK(send->content.kind == wa::GraphContent::Kind::template_message);
    FUZZ_CHECK(send->content.parameters.size() == 2);
    FUZZ_CHECK(strict_json_object(wa::graph_message_body(send->to, send->content, "", "tx_1")));
    FUZZ_CHECK(strict_json_object(wa::notify_response_json("tx_1", req, send->sender->e164, kNow)));
    return 0;
}

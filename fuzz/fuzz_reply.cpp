// libFuzzer target: parse_reply_request (reply.hpp), the body of POST
// /v2/notify/reply, with a CallbackGuard that allows 127.0.0.0/8.
// Never crashes; every error is a 400 with a known non-empty code and a
// message, its param (if any) names a request field, and its JSON body is
// strict JSON. An accepted request holds the checks of SPEC §6.2 rows 2-6
// and its 200 body is strict JSON.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "domain/callback_guard.hpp"
#include "fuzz_check.hpp"
#include "fuzz_prelude.hpp"
#include "base/ids.hpp"
#include "base/json.hpp"
#include "base/phone.hpp"
#include "api/prelude.hpp"
#include "base/text.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view body(reinterpret_cast<const char*>(data), size);

    auto r = wa::parse_reply_request(body, guard());
    if (!r) {
        const wa::ReplyError& e = r.error();
        FUZZ_CHECK(!e.code.empty());
        FUZZ_CHECK(!e.message.empty());
        FUZZ_CHECK(e.http_status == 400);
        FUZZ_CHECK(e.retry_after_s == 0);
        FUZZ_CHECK(e.code == "invalid_request" || e.code == "missing_text" ||
                   e.code == "invalid_phone_number" || e.code == "invalid_correlation_id" ||
                   e.code == "invalid_callback_url");
        FUZZ_CHECK(e.param.empty() || e.param == "to" || e.param == "text" ||
                   e.param == "reply_to" || e.param == "callback_url" ||
                   e.param == "correlation_id");
        FUZZ_CHECK(strict_json_object(wa::reply_error_json(e, "req_1")));
        return 0;
    }

    const wa::ReplyRequest& req = *r;
    FUZZ_CHECK(body.size() <= wa::kMaxReplyBodyBytes);
    FUZZ_CHECK(wa::is_possible_e164(req.to));
    FUZZ_CHECK(!wa::is_blank(req.text));
    FUZZ_CHECK(wa::utf8_length(req.text) <= wa::kMaxReplyTextChars);
    if (req.has_correlation_id) {
        FUZZ_CHECK(wa::utf8_length(req.correlation_id) <= wa::kMaxCorrelationIdChars);
    } else {
        FUZZ_CHECK(req.correlation_id.empty());
    }
    if (req.has_callback_url) {
        FUZZ_CHECK(guard().check_url(req.callback_url).ok());
        FUZZ_CHECK(!req.callback.host.empty());
    } else {
        FUZZ_CHECK(req.callback_url.empty());
    }
    if (req.reply_to_id) {
        FUZZ_CHECK(wa::typeid_encode("im", *req.reply_to_id) == req.reply_to);
    } else {
        FUZZ_CHECK(!wa::typeid_decode_as("im", req.reply_to).ok());
    }
    FUZZ_CHECK(strict_json_object(
        wa::reply_response_json("tx_01h455vb4pex5vsknk084sn02q", req, 1750030073000000000)));
    return 0;
}

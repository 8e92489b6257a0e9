// libFuzzer target: the Pipes.bot codec (api/pipes.hpp). The first byte
// picks: a WebSocket client message (decode_client_message), a REST send
// body (parse_rest_send), or the frame encoders and the error mapping on
// fields cut from the input. Never crashes; errors carry a known code with
// its status and a message; an accepted message or body holds the checks
// it promises; everything written is a strict JSON object.
#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/pipes.hpp"
#include "base/chars.hpp"
#include "base/json.hpp"
#include "base/text.hpp"
#include "fuzz_check.hpp"
#include "fuzz_prelude.hpp"

namespace {

// Pipes' codes and the status each is answered with.
int status_of(std::string_view code) {
    static constexpr std::pair<std::string_view, int> kCodes[] = {
        {"INVALID_REQUEST", 400},
        {"INVALID_CURSOR", 400},
        {"UNAUTHORIZED", 401},
        {"INSUFFICIENT_BALANCE", 402},
        {"FORBIDDEN", 403},
        {"CONVERSATION_SCOPE_VIOLATION", 403},
        {"SERVICE_WINDOW_EXPIRED", 403},
        {"CONVERSATION_NOT_FOUND", 404},
        {"METHOD_NOT_ALLOWED", 405},
        {"IDEMPOTENCY_KEY_IN_USE", 409},
        {"IDEMPOTENCY_KEY_REUSED", 422},
        {"RATE_LIMITED", 429},
        {"INTERNAL_ERROR", 500},
        {"UPSTREAM_ERROR", 502},
        {"SERVICE_UNAVAILABLE", 503},
        {"UPSTREAM_TIMEOUT", 504},
    };
    for (auto [c, s] : kCodes) {
        if (c == code) return s;
    }
    return 0;
}

void check_error(const wa::PipesError& e) {
    FUZZ_CHECK(status_of(e.code) == e.http_status);
    FUZZ_CHECK(!e.message.empty());
    FUZZ_CHECK(strict_json_object(wa::pipes_error_json(e)));
}

void client_message(std::string_view in) {
    auto m = wa::decode_client_message(in);
    if (!m) {
        FUZZ_CHECK(m.error().code == "INVALID_REQUEST");
        check_error(m.error());
        FUZZ_CHECK(strict_json_object(wa::reply_status_error(m.error())));
        return;
    }
    if (m->kind == wa::PipesClientMessage::Kind::ping) return;
    FUZZ_CHECK(!wa::is_blank(m->text));
    FUZZ_CHECK(wa::utf8_length(m->text) <= wa::kMaxPipesTextChars);
    FUZZ_CHECK(m->conversation.has_value() ==
               wa::typeid_decode_as("conv", m->conversation_id).ok());
    FUZZ_CHECK(strict_json_object(wa::reply_status_ok(m->conversation_id, "tx_1")));
    if (m->conversation) {
        FUZZ_CHECK(wa::pipes_reply_request(*m).content.text == m->text);
    }
}

void rest_send(std::string_view in) {
    auto s = wa::parse_rest_send(in);
    if (!s) {
        FUZZ_CHECK(s.error().code == "INVALID_REQUEST" ||
                   s.error().code == "CONVERSATION_NOT_FOUND");
        return check_error(s.error());
    }
    FUZZ_CHECK(wa::typeid_encode("conv", s->conversation) == s->conversation_id);
    FUZZ_CHECK(strict_json_object(wa::rest_send_ok_json("tx_1", s->conversation_id)));
    wa::GraphContent c = wa::pipes_content(*s, "1");
    if (s->media == wa::PipesMediaSource::none) {
        FUZZ_CHECK(!wa::is_blank(s->text));
        FUZZ_CHECK(wa::utf8_length(s->text) <= wa::kMaxPipesTextChars);
        FUZZ_CHECK(c.kind == wa::GraphContent::Kind::text);
        return;
    }
    FUZZ_CHECK(c.kind == wa::GraphContent::Kind::media);
    FUZZ_CHECK(s->media_type == "image" || s->media_type == "video" || s->media_type == "audio" ||
               s->media_type == "document");
    FUZZ_CHECK(wa::utf8_length(s->text) <= wa::kMaxPipesCaptionChars);
    if (s->media_type == "audio") FUZZ_CHECK(s->text.empty());
    if (s->media_type != "document") FUZZ_CHECK(s->file_name.empty());
    switch (s->media) {
        case wa::PipesMediaSource::link:
            FUZZ_CHECK(fuzz_lower(s->media_link.substr(0, 8)) == "https://");
            FUZZ_CHECK(c.media_link == s->media_link);
            break;
        case wa::PipesMediaSource::id:
            FUZZ_CHECK(wa::all_digits(s->media_id) && s->media_id.size() <= 64);
            FUZZ_CHECK(c.media_id == s->media_id);
            break;
        case wa::PipesMediaSource::upload:
            FUZZ_CHECK(!s->mime_type.empty());
            FUZZ_CHECK(s->media_bytes.size() <= wa::kMaxPipesMediaBytes);
            FUZZ_CHECK(c.media_id == "1");
            break;
        case wa::PipesMediaSource::none: break;
    }
}

// The input cut at NUL bytes into fields; those that are not UTF-8 (the
// store only holds valid text) become "?".
std::vector<std::string> fields_of(std::string_view in, std::size_t n) {
    std::vector<std::string> out;
    while (out.size() < n) {
        std::size_t end = in.find('\0');
        std::string f(in.substr(0, end));
        out.push_back(wa::utf8_valid(f) ? f : "?");
        in = end == std::string_view::npos ? std::string_view() : in.substr(end + 1);
    }
    return out;
}

void encoders(std::string_view in) {
    auto f = fields_of(in, 16);
    const std::uint8_t bits = in.empty() ? 0 : static_cast<std::uint8_t>(in[0]);
    const std::int64_t number = static_cast<std::int64_t>(std::hash<std::string_view>{}(in));

    wa::PipesMessage m{f[0], f[1], f[2],  f[3],  f[4],  f[5], f[6], f[7], number, (bits & 1) != 0,
                       f[8], f[9], f[10], f[11], f[12], f[13]};
    FUZZ_CHECK(strict_json_object(wa::whatsapp_message_frame(m)));
    wa::PipesStatus st{f[0], f[1], f[2], (bits & 2) != 0, number, f[3], f[4]};
    FUZZ_CHECK(strict_json_object(wa::message_status_frame(st)));
    std::optional<std::string> conv;
    if (bits & 4) conv = f[2];
    FUZZ_CHECK(strict_json_object(wa::connected_frame(f[0], f[1], conv)));
    FUZZ_CHECK(strict_json_object(wa::reply_status_ok(f[0], f[1])));
    FUZZ_CHECK(strict_json_object(wa::reply_status_error(f[0], f[1], f[2])));
    FUZZ_CHECK(strict_json_object(wa::error_frame(f[0], f[1])));
    FUZZ_CHECK(strict_json_object(wa::rest_send_ok_json(f[0], f[1])));

    // The send path's errors, known codes or not, map to a Pipes code.
    wa::ReplyError r(
        static_cast<int>(static_cast<std::uint8_t>(f[14].empty() ? 0 : f[14][0])) + 300,
        f[15].empty() ? "x" : f[15], f[1].empty() ? "m" : f[1]);
    r.retry_after_s = bits;
    r.message_id = f[2];
    wa::PipesError e = wa::pipes_error_of(r);
    check_error(e);
    if (e.code == "RATE_LIMITED") FUZZ_CHECK(e.retry_after_s == r.retry_after_s);
    FUZZ_CHECK(strict_json_object(wa::reply_status_error(e)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 3) {
        case 0: client_message(in); break;
        case 1: rest_send(in); break;
        default: encoders(in); break;
    }
    return 0;
}

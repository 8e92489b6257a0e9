// Reply API (SPEC §6): request checks rows 2-6 and their order, bodies,
// and what Graph answers mean.
#include <initializer_list>
#include <string>
#include <utility>

#include <gtest/gtest.h>
#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "api/prelude.hpp"
#include "base/text.hpp"

namespace {

constexpr const char* kImId = "im_01k8aq2zggeyssvt53zgvpx63a";
constexpr const char* kGoodTo = "+33612345678";
const std::string kEmoji = "\xF0\x9F\x98\x80";  // U+1F600, 4 bytes

using Fields = std::initializer_list<std::pair<const char*, std::string>>;

// A JSON object of string fields, escaped properly.
std::string body(Fields fields) {
    rapidjson::StringBuffer sb;
    rapidjson::Writer<rapidjson::StringBuffer> w(sb);
    w.StartObject();
    for (const auto& [k, v] : fields) {
        w.Key(k);
        w.String(v.data(), static_cast<rapidjson::SizeType>(v.size()));
    }
    w.EndObject();
    return {sb.GetString(), sb.GetSize()};
}

std::string repeat(const std::string& s, std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; i++) {
        out += s;
    }
    return out;
}

wa::ReplyResult parse(std::string_view b) {
    static const wa::CallbackGuard guard;
    return wa::parse_reply_request(b, guard);
}

void expect_error(std::string_view b, int status, const char* code, const char* param) {
    auto r = parse(b);
    ASSERT_FALSE(r.ok()) << b;
    EXPECT_EQ(r.error().http_status, status) << b;
    EXPECT_EQ(r.error().code, code) << b << " -> " << r.error().message;
    EXPECT_EQ(r.error().param, param) << b;
    EXPECT_FALSE(r.error().message.empty());
}

TEST(ReplyRequest, Minimal) {
    auto r = parse(body({{"to", kGoodTo}, {"text", " Thanks! "}, {"reply_to", kImId}}));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->to, kGoodTo);
    EXPECT_EQ(r->text, " Thanks! ");  // sent as written
    EXPECT_EQ(r->reply_to, kImId);
    EXPECT_FALSE(r->has_callback_url);
    EXPECT_FALSE(r->has_correlation_id);
    ASSERT_TRUE(r->reply_to_id.has_value());
    EXPECT_EQ(wa::typeid_encode("im", *r->reply_to_id), kImId);
}

TEST(ReplyRequest, AllFieldsAndUnknownIgnored) {
    std::string b = R"({"to":"+14155552671","text":"hi","reply_to":")" + std::string(kImId) +
                    R"(","callback_url":"https://your-app.com/webhooks/notify",)" +
                    R"("correlation_id":"support-ticket-42","extra":{"x":[1,null]},"n":3})";
    auto r = parse(b);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_TRUE(r->has_callback_url);
    EXPECT_EQ(r->callback_url, "https://your-app.com/webhooks/notify");
    EXPECT_EQ(r->callback.host, "your-app.com");
    EXPECT_FALSE(r->callback.is_literal);
    EXPECT_TRUE(r->has_correlation_id);
    EXPECT_EQ(r->correlation_id, "support-ticket-42");
}

TEST(ReplyRequest, Row2NotJson) {
    for (const char* b : {"", "{", "[]", "\"x\"", "null", "42", "{\"to\":}", "{} {}",
                          "{\"to\":\"+33612345678\",\"to\":\"+33612345678\"}"}) {
        expect_error(b, 400, "invalid_request", "");
    }
    expect_error("{\"text\":\"\xff\"}", 400, "invalid_request", "");  // bad UTF-8
}

TEST(ReplyRequest, Row2TooLarge) {
    std::string big = body({{"to", kGoodTo},
                            {"text", "hi"},
                            {"reply_to", kImId},
                            {"pad", std::string(64 * 1024, 'a')}});
    expect_error(big, 400, "invalid_request", "");

    // Exactly 64 KB is still read.
    std::string fits = body({{"to", kGoodTo}, {"text", "hi"}, {"reply_to", kImId}, {"pad", ""}});
    fits.insert(fits.size() - 2, std::string(64 * 1024 - fits.size(), 'a'));
    ASSERT_EQ(fits.size(), 64u * 1024);
    EXPECT_TRUE(parse(fits).ok());
}

TEST(ReplyRequest, Row2WrongTypes) {
    for (const char* field : {"to", "text", "reply_to", "callback_url", "correlation_id"}) {
        for (const char* value : {"1", "null", "true", "{}", "[\"x\"]"}) {
            std::string b = body({{"to", kGoodTo}, {"text", "hi"}, {"reply_to", kImId}});
            // Replace or add the field with a non-string value.
            rapidjson::Document d;
            d.Parse(b.c_str());
            d.RemoveMember(field);
            rapidjson::Document v;
            v.Parse(value);
            d.AddMember(rapidjson::Value(field, d.GetAllocator()), v, d.GetAllocator());
            rapidjson::StringBuffer sb;
            rapidjson::Writer<rapidjson::StringBuffer> w(sb);
            d.Accept(w);
            expect_error(sb.GetString(), 400, "invalid_request", field);
        }
    }
}

TEST(ReplyRequest, Row2MissingRequired) {
    expect_error(body({{"text", "hi"}, {"reply_to", kImId}}), 400, "invalid_request", "to");
    expect_error(body({{"to", kGoodTo}, {"text", "hi"}}), 400, "invalid_request", "reply_to");
    expect_error("{}", 400, "invalid_request", "to");
}

TEST(ReplyRequest, Row2BeforeRow3) {
    expect_error(R"({"to":1,"text":"","reply_to":"x"})", 400, "invalid_request", "to");
    expect_error(body({{"to", "bad"}, {"text", ""}}), 400, "invalid_request", "reply_to");
}

TEST(ReplyRequest, Row3MissingOrBlankText) {
    expect_error(body({{"to", kGoodTo}, {"reply_to", kImId}}), 400, "missing_text", "text");
    for (const char* blank : {"", " ", "\t\n\r\v\f", "\xC2\xA0", "\xE3\x80\x80", "\xE2\x80\x8B",
                              " \xC2\xA0\xE2\x80\xAF\xEF\xBB\xBF ",
                              "\xE2\x80\x8C\xE2\x80\x8D",  // U+200C U+200D
                              " \xC2\xAD\xCD\x8F\xE2\x81\xA1\xE1\xA0\x8E "}) {
        expect_error(body({{"to", kGoodTo}, {"text", blank}, {"reply_to", kImId}}), 400,
                     "missing_text", "text");
    }
    std::string nul_text(1, '\0');
    auto r = parse(body({{"to", kGoodTo}, {"text", nul_text}, {"reply_to", kImId}}));
    EXPECT_TRUE(r.ok());  // a NUL is not whitespace: Meta judges it
}

TEST(ReplyRequest, Row3BeforeRow5) {
    expect_error(body({{"to", "33612345678"}, {"text", "  "}, {"reply_to", kImId}}), 400,
                 "missing_text", "text");
}

TEST(ReplyRequest, Row4TextLengthInCodePoints) {
    auto ok = [](const std::string& text) {
        return parse(body({{"to", kGoodTo}, {"text", text}, {"reply_to", kImId}}));
    };
    std::string emoji4096 = repeat(kEmoji, 4096);
    ASSERT_EQ(emoji4096.size(), 4u * 4096);
    EXPECT_TRUE(ok(emoji4096).ok());
    EXPECT_TRUE(ok(std::string(4096, 'a')).ok());
    EXPECT_TRUE(ok(repeat("\xC3\xA9", 4096)).ok());  // é: 8192 bytes

    for (const std::string& t :
         {repeat(kEmoji, 4097), std::string(4097, 'a'), repeat("\xC3\xA9", 4097)}) {
        expect_error(body({{"to", kGoodTo}, {"text", t}, {"reply_to", kImId}}), 400,
                     "invalid_request", "text");
    }
}

TEST(ReplyRequest, Row4BeforeRow5) {
    expect_error(body({{"to", "+33abc"}, {"text", std::string(5000, 'a')}, {"reply_to", kImId}}),
                 400, "invalid_request", "text");
}

TEST(ReplyRequest, Row5Phone) {
    for (const char* to : {"+33612345678", "+14155552671", "+2348012345678", "+15550783881"}) {
        auto r = parse(body({{"to", to}, {"text", "hi"}, {"reply_to", kImId}}));
        EXPECT_TRUE(r.ok()) << to << ": " << (r.ok() ? "" : r.error().message);
    }
    for (const char* to : {"+3361234", "+999123456789", "33612345678", "+33 6 12 34 56 78",
                           "+33abc", "", "+", "+0612345678", "+33612345678 "}) {
        expect_error(body({{"to", to}, {"text", "hi"}, {"reply_to", kImId}}), 400,
                     "invalid_phone_number", "to");
    }
}

TEST(ReplyRequest, Row5BeforeRow6) {
    expect_error(body({{"to", "+3361234"},
                       {"text", "hi"},
                       {"reply_to", kImId},
                       {"correlation_id", std::string(81, 'c')},
                       {"callback_url", "http://localhost/"}}),
                 400, "invalid_phone_number", "to");
}

TEST(ReplyRequest, Row6CorrelationId) {
    auto with = [](const std::string& id) {
        return body({{"to", kGoodTo}, {"text", "hi"}, {"reply_to", kImId}, {"correlation_id", id}});
    };
    EXPECT_TRUE(parse(with(std::string(80, 'c'))).ok());
    EXPECT_TRUE(parse(with(repeat(kEmoji, 80))).ok());
    EXPECT_TRUE(parse(with("")).ok());
    expect_error(with(std::string(81, 'c')), 400, "invalid_correlation_id", "correlation_id");
    expect_error(with(repeat(kEmoji, 81)), 400, "invalid_correlation_id", "correlation_id");
}

TEST(ReplyRequest, Row6CallbackUrl) {
    auto with = [](const char* url) {
        return body({{"to", kGoodTo}, {"text", "hi"}, {"reply_to", kImId}, {"callback_url", url}});
    };
    for (const char* url :
         {"http://example.com/hook", "https://127.0.0.1/", "https://10.0.0.1/",
          "https://169.254.169.254/", "https://[::1]/", "https://localhost/", "", "not a url"}) {
        expect_error(with(url), 400, "invalid_callback_url", "callback_url");
    }
    // Allowed by a configured range.
    wa::CallbackGuard guard;
    ASSERT_TRUE(guard.allow_cidr("127.0.0.0/8").ok());
    auto r = wa::parse_reply_request(with("http://127.0.0.1:8080/x"), guard);
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_TRUE(r->callback.is_literal);
    EXPECT_EQ(r->callback.port, 8080);
}

TEST(ReplyRequest, Row6CorrelationBeforeCallback) {
    expect_error(body({{"to", kGoodTo},
                       {"text", "hi"},
                       {"reply_to", kImId},
                       {"correlation_id", std::string(81, 'c')},
                       {"callback_url", "http://localhost/"}}),
                 400, "invalid_correlation_id", "correlation_id");
}

TEST(ReplyRequest, Row7LeftToCaller) {
    for (const char* reply_to : {"", "tx_01k8aq2zggeyssvt53zgvpx63a", "im_123", "hello",
                                 "IM_01K8AQ2ZGGEYSSVT53ZGVPX63A"}) {
        auto r = parse(body({{"to", kGoodTo}, {"text", "hi"}, {"reply_to", reply_to}}));
        ASSERT_TRUE(r.ok()) << reply_to;
        EXPECT_FALSE(r->reply_to_id.has_value()) << reply_to;
    }
    auto e = wa::reply_error(wa::ReplyFailure::invalid_reply_context);
    EXPECT_EQ(e.http_status, 404);
    EXPECT_EQ(e.code, "invalid_reply_context");
    EXPECT_EQ(e.param, "reply_to");
}

TEST(ReplyRequest, CallerRowErrors) {
    struct Case {
        wa::ReplyFailure f;
        int status;
        const char* code;
    };
    for (const Case& c :
         {Case{wa::ReplyFailure::missing_api_token, 401, "missing_api_token"},
          Case{wa::ReplyFailure::invalid_api_token, 401, "invalid_api_token"},
          Case{wa::ReplyFailure::forbidden, 403, "forbidden"},
          Case{wa::ReplyFailure::phone_number_mismatch, 400, "phone_number_mismatch"},
          Case{wa::ReplyFailure::window_expired, 422, "window_expired"},
          Case{wa::ReplyFailure::insufficient_balance, 402, "insufficient_balance"}}) {
        auto e = wa::reply_error(c.f);
        EXPECT_EQ(e.http_status, c.status);
        EXPECT_EQ(e.code, c.code);
        EXPECT_FALSE(e.message.empty());
    }
}

TEST(ReplyJson, ErrorBody) {
    wa::ReplyError e{400, "missing_text", "text must not be empty", "text", 0};
    EXPECT_EQ(
        wa::reply_error_json(e, "req_1"),
        R"({"code":"missing_text","message":"text must not be empty","param":"text","request_id":"req_1"})");
    e.param.clear();
    EXPECT_EQ(wa::reply_error_json(e, "r\"2"),
              R"({"code":"missing_text","message":"text must not be empty","request_id":"r\"2"})");
}

TEST(ReplyJson, Response) {
    auto r = parse(body({{"to", kGoodTo}, {"text", "Thanks \xC3\xA9"}, {"reply_to", kImId}}));
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(
        wa::reply_response_json("tx_01k8ap1btqf5r9fq2c8ax5fhc9", *r, 1761307200'000000000),
        R"({"id":"tx_01k8ap1btqf5r9fq2c8ax5fhc9","to":"+33612345678","text":"Thanks )"
        "\xC3\xA9"
        R"(","reply_to":"im_01k8aq2zggeyssvt53zgvpx63a","created_at":"2025-10-24T12:00:00.000000000Z"})");

    auto full = parse(body({{"to", kGoodTo},
                            {"text", "hi"},
                            {"reply_to", kImId},
                            {"callback_url", "https://your-app.com/hook"},
                            {"correlation_id", ""}}));
    ASSERT_TRUE(full.ok());
    std::string json = wa::reply_response_json("tx_x", *full, 0);
    EXPECT_NE(json.find(R"("callback_url":"https://your-app.com/hook","correlation_id":""})"),
              std::string::npos)
        << json;
}

std::string graph_text_body(std::string_view to, std::string_view text,
                            std::string_view context_wamid, std::string_view callback_data) {
    wa::GraphContent c;
    c.text = text;
    return wa::graph_message_body(to, c, context_wamid, callback_data);
}

TEST(Graph, TextBody) {
    EXPECT_EQ(
        graph_text_body("+33612345678", "Hi \"you\"\n", "wamid.ABC==", "tx_01x"),
        R"({"messaging_product":"whatsapp","recipient_type":"individual","to":"+33612345678",)"
        R"("type":"text","text":{"body":"Hi \"you\"\n"},"context":{"message_id":"wamid.ABC=="},)"
        R"("biz_opaque_callback_data":"tx_01x"})");
    EXPECT_EQ(graph_text_body("+1", "x", "", ""),
              R"({"messaging_product":"whatsapp","recipient_type":"individual","to":"+1",)"
              R"("type":"text","text":{"body":"x"}})");
}

std::string graph_error(long long code, const char* message, const char* details = "d") {
    return "{\"error\":{\"message\":\"" + std::string(message) +
           "\",\"type\":\"OAuthException\","
           "\"code\":" +
           std::to_string(code) +
           ",\"error_data\":{\"messaging_product\":\"whatsapp\","
           "\"details\":\"" +
           details + "\"},\"error_subcode\":2494055,\"fbtrace_id\":\"AULEz\"}}";
}

TEST(Graph, Accepted) {
    auto r = wa::parse_graph_response(200, R"({"messaging_product":"whatsapp",
        "contacts":[{"input":"+16505551234","wa_id":"16505551234"}],
        "messages":[{"id":"wamid.HBgLMTY0NjcwNDM1OTUVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA"}]})");
    ASSERT_TRUE(r.accepted()) << r.reason;
    EXPECT_EQ(r.outcome, wa::GraphOutcome::accepted);
    EXPECT_EQ(r.wamid, "wamid.HBgLMTY0NjcwNDM1OTUVAgARGBI1RjQyNUE3NEYxMzAzMzQ5MkEA");
}

TEST(Graph, WindowClosed) {
    auto r = wa::parse_graph_response(400, graph_error(131047, "(#131047) Re-engagement message",
                                                       "More than 24 hours have passed"));
    EXPECT_EQ(r.outcome, wa::GraphOutcome::window_closed);
    EXPECT_EQ(r.meta.code, 131047);
    EXPECT_EQ(r.meta.subcode, 2494055);
    EXPECT_EQ(r.meta.message, "(#131047) Re-engagement message");
    EXPECT_EQ(r.meta.details, "More than 24 hours have passed");
    EXPECT_EQ(r.meta.fbtrace_id, "AULEz");
    auto e = wa::reply_error_from_graph(r);
    EXPECT_EQ(e.http_status, 422);
    EXPECT_EQ(e.code, "window_expired");
    EXPECT_FALSE(e.should_retry());
}

TEST(Graph, Throttled) {
    struct Case {
        long long code;
        int http;
        int retry;
    };
    for (const Case& c : {Case{130429, 400, 1}, Case{130429, 429, 1}, Case{131056, 400, 6},
                          Case{80007, 429, 60}, Case{4, 403, 60}, Case{131048, 400, 60}}) {
        auto r = wa::parse_graph_response(c.http, graph_error(c.code, "(#x) limit"));
        EXPECT_EQ(r.outcome, wa::GraphOutcome::throttled) << c.code;
        EXPECT_EQ(r.retry_after_s, c.retry) << c.code;
        auto e = wa::reply_error_from_graph(r);
        EXPECT_EQ(e.http_status, 429);
        EXPECT_EQ(e.code, "rate_limited") << c.code;
        EXPECT_EQ(e.retry_after_s, c.retry);
        EXPECT_TRUE(e.should_retry());
    }
}

TEST(Graph, RefusedContent) {
    for (long long code :
         {100LL, 131008LL, 131009LL, 131021LL, 131026LL, 131030LL, 131051LL, 131053LL}) {
        auto r = wa::parse_graph_response(400, graph_error(code, "(#x) title", "why it failed"));
        EXPECT_EQ(r.outcome, wa::GraphOutcome::refused) << code;
        auto e = wa::reply_error_from_graph(r);
        EXPECT_EQ(e.http_status, 400) << code;
        EXPECT_EQ(e.code, "invalid_request") << code;
        EXPECT_NE(e.message.find("why it failed"), std::string::npos) << e.message;
        EXPECT_FALSE(e.should_retry());
    }
    // Without details the title is used.
    auto r = wa::parse_graph_response(
        400, R"({"error":{"code":100,"message":"(#100) Invalid parameter"}})");
    EXPECT_NE(wa::reply_error_from_graph(r).message.find("(#100) Invalid parameter"),
              std::string::npos);
    // A token Meta echoed never reaches the API client.
    auto echoed = wa::parse_graph_response(
        400, graph_error(100, "(#100) bad", "param EAAGm0PX4ZCpsBAKZAabcdefghij12345 invalid"));
    std::string shown = wa::reply_error_from_graph(echoed).message;
    EXPECT_EQ(shown.find("EAAGm0PX4"), std::string::npos) << shown;
    EXPECT_NE(shown.find("[redacted]"), std::string::npos) << shown;
}

TEST(Graph, Failed) {
    // Token, permission, account and outage codes: the client can't fix them,
    // and Meta's text about our token is not theirs to read.
    for (long long code :
         {190LL, 0LL, 3LL, 10LL, 200LL, 368LL, 131000LL, 131016LL, 131057LL, 999999LL}) {
        auto r = wa::parse_graph_response(401, graph_error(code, "(#190) token expired", "secret"));
        EXPECT_EQ(r.outcome, wa::GraphOutcome::failed) << code;
        EXPECT_EQ(r.meta.code, code);
        EXPECT_EQ(r.meta.details, "secret");
        auto e = wa::reply_error_from_graph(r);
        EXPECT_EQ(e.http_status, 502) << code;
        EXPECT_EQ(e.code, "upstream_error") << code;
        EXPECT_EQ(e.message.find("secret"), std::string::npos) << e.message;
        EXPECT_TRUE(e.should_retry());
    }
    for (auto [status, b] :
         {std::pair{502, "<html>Bad Gateway</html>"}, std::pair{503, ""},
          std::pair{500, "{\"error\":\"x\"}"}, std::pair{400, "not json"}, std::pair{429, ""},
          std::pair{200, "{\"messages\":[]}"}, std::pair{200, "{}"},
          std::pair{200, "{\"messages\":[{\"id\":\"\"}]}"},
          std::pair{200, "{\"messages\":[{\"id\":7}]}"}, std::pair{200, "[]"},
          std::pair{200, "garbage"}, std::pair{400, "{\"error\":{\"code\":\"131047\"}}"}}) {
        auto r = wa::parse_graph_response(status, b);
        EXPECT_EQ(r.outcome, wa::GraphOutcome::failed) << status << " " << b;
        EXPECT_EQ(wa::reply_error_from_graph(r).http_status, 502) << status << " " << b;
    }
}

TEST(Graph, BranchesOnCodeNotStatus) {
    // An error object wins even under a 2xx or 5xx status.
    auto a = wa::parse_graph_response(200, graph_error(131047, "(#131047) Re-engagement"));
    EXPECT_EQ(a.outcome, wa::GraphOutcome::window_closed);
    auto b = wa::parse_graph_response(500, graph_error(130429, "(#130429) Rate limit hit"));
    EXPECT_EQ(b.outcome, wa::GraphOutcome::throttled);
}

TEST(Graph, OutcomeOfTheExchange) {
    auto accepted = wa::parse_graph_response(200, R"({"messages":[{"id":"wamid.A"}]})");
    auto refused = wa::parse_graph_response(400, graph_error(131026, "(#131026) undeliverable"));
    EXPECT_EQ(wa::send_outcome(200, true, accepted), wa::SendOutcome::accepted);
    EXPECT_EQ(wa::send_outcome(400, true, refused), wa::SendOutcome::not_sent);
    // No answer: whether the request was written decides.
    EXPECT_EQ(wa::send_outcome(0, false, {}), wa::SendOutcome::not_sent);
    EXPECT_EQ(wa::send_outcome(0, true, {}), wa::SendOutcome::unknown);
    auto unknown = wa::reply_unknown("tx_01abc");
    EXPECT_EQ(unknown.http_status, 504);
    EXPECT_EQ(unknown.code, "upstream_timeout");
    EXPECT_FALSE(unknown.should_retry());
    std::string json = wa::reply_error_json(unknown, "req1");
    EXPECT_NE(json.find(R"("message_id":"tx_01abc")"), std::string::npos) << json;
    EXPECT_TRUE(wa::reply_not_sent().should_retry());
    EXPECT_EQ(wa::reply_not_sent().http_status, 502);
}

TEST(Text, LengthAndBlank) {
    EXPECT_EQ(wa::utf8_length(""), 0u);
    EXPECT_EQ(wa::utf8_length("abc"), 3u);
    EXPECT_EQ(wa::utf8_length(kEmoji + "\xC3\xA9" + "a"), 3u);
    EXPECT_TRUE(wa::is_blank(""));
    EXPECT_TRUE(wa::is_blank("\xE2\x80\xA8\xE2\x81\x9F"));  // U+2028, U+205F
    EXPECT_FALSE(wa::is_blank(" a "));
    EXPECT_FALSE(wa::is_blank("\xC2"));      // truncated sequence
    EXPECT_FALSE(wa::is_blank("\xE2\x80"));  // truncated sequence
    EXPECT_FALSE(wa::is_blank("\x80"));      // stray continuation
    EXPECT_FALSE(wa::is_blank(kEmoji));
}

}  // namespace

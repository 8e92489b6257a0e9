// Prelude's send (SPEC §6.4): the request checks, the template and sender
// choices, and a new message through the one send path — to a customer
// never seen (the conversation created by the record), outside the window
// for a template only, within a conversation= key's scope.
#include <gtest/gtest.h>

#include "api/prelude_notify.hpp"
#include "base/clock.hpp"
#include "base/json.hpp"
#include "domain/conversations.hpp"
#include "domain/send.hpp"
#include "store_fixture.hpp"
#include "test_numbers.hpp"

namespace {

using namespace wa;

constexpr std::int64_t kNow = 1'750'000'000 * kNsPerSec;

TemplateDirectory templates() {
    TemplateDirectory dir;
    TemplateDef d;
    d.key = "order_shipped";
    EXPECT_TRUE(template_field(d, "name", {"order_shipped_v2"}).ok());
    EXPECT_TRUE(template_field(d, "languages", {"en_US", "fr_FR"}).ok());
    EXPECT_TRUE(template_field(d, "parameters", {"order_id"}).ok());
    EXPECT_TRUE(dir.add(d).ok());
    return dir;
}

NotifyResult parse(std::string_view body) {
    static const CallbackGuard guard;
    return parse_notify_request(body, guard, kNow);
}

void expect_error(const NotifyResult& r, int status, std::string_view code,
                  std::string_view param) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().http_status, status);
    EXPECT_EQ(r.error().code, code) << r.error().message;
    EXPECT_EQ(r.error().param, param);
}

TEST(NotifyRequest, Parses) {
    auto r = parse(R"({"template_id":"order_shipped","to":"+33612345678",)"
                   R"("variables":{"order_id":"42"},"locale":"fr-FR","from":"+14155551234",)"
                   R"("correlation_id":"c1","expires_at":"2030-01-01T00:00:00Z",)"
                   R"("preferred_channel":"whatsapp"})");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->template_id, "order_shipped");
    EXPECT_EQ(r->to, "+33612345678");
    EXPECT_EQ(r->variables, (TemplateVariables{{"order_id", "42"}}));
    EXPECT_EQ(r->locale, "fr-FR");
    EXPECT_EQ(r->from, "+14155551234");
    EXPECT_TRUE(r->has_correlation_id);
    EXPECT_EQ(r->expires_at_ns, *parse_rfc3339("2030-01-01T00:00:00Z"));
}

TEST(NotifyRequest, ErrorsInOrder) {
    expect_error(parse("[]"), 400, "invalid_request", "");
    expect_error(parse(R"({"to":"+33612345678"})"), 400, "invalid_request", "template_id");
    expect_error(parse(R"({"template_id":1,"to":"+33612345678"})"), 400, "invalid_request",
                 "template_id");
    expect_error(parse(R"({"template_id":"t","to":"+33612345678","variables":[]})"), 400,
                 "invalid_request", "variables");
    expect_error(parse(R"({"template_id":"t","to":"+33612345678","variables":{"a":null}})"), 400,
                 "invalid_request", "variables");
    expect_error(parse(R"({"template_id":"t","to":"+33612345678","expires_at":"soon"})"), 400,
                 "invalid_request", "expires_at");
    expect_error(
        parse(R"({"template_id":"t","to":"+33612345678","expires_at":"2020-01-01T00:00:00Z"})"),
        400, "invalid_request", "expires_at");
    expect_error(parse(R"({"template_id":"t","to":"+33612345678","schedule_at":"later"})"), 400,
                 "invalid_request", "schedule_at");
    expect_error(parse(R"({"template_id":"t","to":"+33612345678","schedule_at":)"
                       R"("2030-01-02T00:00:00Z","expires_at":"2030-01-01T00:00:00Z"})"),
                 400, "invalid_request", "expires_at");
    expect_error(parse(R"({"template_id":"t","to":"+33612345678","preferred_channel":"sms"})"), 400,
                 "invalid_channel", "preferred_channel");
    expect_error(parse(R"({"template_id":"t","to":"33612345678"})"), 400, "invalid_phone_number",
                 "to");
    expect_error(parse(R"({"template_id":"t","to":"+33612345678","callback_url":"ftp://x"})"), 400,
                 "invalid_callback_url", "callback_url");
}

TEST(NotifyRequest, ScheduleAt) {
    auto r =
        parse(R"({"template_id":"t","to":"+33612345678","schedule_at":"2030-01-01T00:00:00Z"})");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_TRUE(r->scheduled());
    EXPECT_EQ(r->schedule_at_ns, *parse_rfc3339("2030-01-01T00:00:00Z"));
    rapidjson::Document d;
    ASSERT_TRUE(parse_json_strict(notify_response_json("tx_1", *r, "+1", kNow), d));
    EXPECT_STREQ(d["schedule_at"].GetString(), "2030-01-01T00:00:00.000000000Z");
    static const CallbackGuard guard;
    auto batch = parse_notify_batch_request(
        R"({"template_id":"t","to":["+33612345678"],"schedule_at":"2030-01-01T00:00:00Z"})", guard,
        kNow);
    ASSERT_TRUE(batch.ok());
    EXPECT_EQ(batch->schedule_at_ns, *parse_rfc3339("2030-01-01T00:00:00Z"));
    std::vector<BatchResult> results(1);
    results[0].success = true;
    results[0].phone_number = "+33612345678";
    rapidjson::Document b;
    ASSERT_TRUE(parse_json_strict(notify_batch_response_json(*batch, results, "r"), b).ok());
    EXPECT_STREQ(b["results"][0]["message"]["schedule_at"].GetString(),
                 "2030-01-01T00:00:00.000000000Z");
}

TEST(NotifyBatch, RecipientsAreAnArrayOfOneTo1000) {
    static const CallbackGuard guard;
    auto ok = parse_notify_batch_request(
        R"({"template_id":"order_shipped","to":["+33612345678","0612"],"variables":{}})", guard,
        kNow);
    ASSERT_TRUE(ok.ok()) << ok.error().message;
    EXPECT_EQ(ok->recipients, (std::vector<std::string>{"+33612345678", "0612"}));
    for (const char* to : {R"("+33612345678")", "[]", "[1]", "null"}) {
        std::string body = std::string(R"({"template_id":"t","to":)") + to + "}";
        auto r = parse_notify_batch_request(body, guard, kNow);
        ASSERT_FALSE(r.ok()) << body;
        EXPECT_EQ(r.error().param, "to") << body;
    }
    std::string many = R"({"template_id":"t","to":[)";
    for (int i = 0; i < 1001; i++)
        many += std::string(i ? "," : "") + "\"+33612345678\"";
    many += "]}";
    EXPECT_FALSE(parse_notify_batch_request(many, guard, kNow).ok());
}

TEST(NotifyBatch, ResponseBody) {
    static const CallbackGuard guard;
    auto req = parse_notify_batch_request(
        R"({"template_id":"order_shipped","to":["+33612345678","0612"],"variables":{"a":"1"}})",
        guard, kNow);
    ASSERT_TRUE(req.ok());
    std::vector<BatchResult> results(2);
    results[0].phone_number = "+33612345678";
    results[0].success = true;
    results[0].message_id = "tx_1";
    results[0].from = "+14155551234";
    results[0].created_at_ns = kNow;
    results[1].phone_number = "0612";
    results[1].error = invalid_phone_number();
    rapidjson::Document d;
    ASSERT_TRUE(parse_json_strict(notify_batch_response_json(*req, results, "req-1"), d));
    EXPECT_EQ(d["total_count"].GetInt(), 2);
    EXPECT_EQ(d["success_count"].GetInt(), 1);
    EXPECT_EQ(d["error_count"].GetInt(), 1);
    EXPECT_STREQ(d["results"][0]["message"]["id"].GetString(), "tx_1");
    EXPECT_FALSE(d["results"][0].HasMember("error"));
    EXPECT_STREQ(d["results"][1]["error"]["code"].GetString(), "invalid_phone_number");
    EXPECT_FALSE(d["results"][1]["success"].GetBool());
    EXPECT_STREQ(d["request_id"].GetString(), "req-1");
    EXPECT_STREQ(d["variables"]["a"].GetString(), "1");
}

TEST(NotifyRequest, TemplateAndSender) {
    NumberDirectory numbers;
    wa::unit::add_test_numbers(numbers);
    TemplateDirectory dir = templates();
    auto req = parse(R"({"template_id":"order_shipped","to":"+33612345678",)"
                     R"("variables":{"order_id":"42"}})");
    ASSERT_TRUE(req.ok());
    auto send = notify_send_request(*req, dir, numbers, "acme");
    ASSERT_TRUE(send.ok()) << send.error().message;
    ASSERT_NE(send->sender, nullptr);
    EXPECT_EQ(send->sender->e164, "+14155551234");  // the tenant's only number
    EXPECT_FALSE(send->reply_to.has_value());
    EXPECT_EQ(send->content.kind, GraphContent::Kind::template_message);
    EXPECT_EQ(send->content.language, "en_US");

    NotifyRequest r = *req;
    r.template_id = "nope";
    EXPECT_EQ(notify_send_request(r, dir, numbers, "acme").error().code, "invalid_template_id");
    r = *req;
    r.variables.clear();
    auto missing = notify_send_request(r, dir, numbers, "acme");
    EXPECT_EQ(missing.error().code, "invalid_variables");
    EXPECT_NE(missing.error().message.find("order_id"), std::string::npos);
    r = *req;
    r.locale = "de";
    EXPECT_EQ(notify_send_request(r, dir, numbers, "acme").error().param, "locale");
    r = *req;
    r.from = "+442071234567";  // globex's number
    EXPECT_EQ(notify_send_request(r, dir, numbers, "acme").error().code, "invalid_sender");
}

TEST(NotifyRequest, ChooseSender) {
    NumberDirectory numbers;
    wa::unit::add_test_numbers(numbers);
    EXPECT_EQ(choose_sender(numbers, "acme", "")->e164, "+14155551234");
    EXPECT_EQ(choose_sender(numbers, "acme", "+14155551234")->e164, "+14155551234");
    EXPECT_EQ(choose_sender(numbers, "acme", "+442071234567"), nullptr);
    EXPECT_EQ(choose_sender(numbers, "nobody", ""), nullptr);
    NumberConfig second;
    second.e164 = "+14155559999";
    second.phone_number_id = "333";
    second.tenant = "acme";
    ASSERT_TRUE(numbers.add(second).ok());
    EXPECT_EQ(choose_sender(numbers, "acme", ""), nullptr);  // several: from is required
    EXPECT_EQ(choose_sender(numbers, "acme", "+14155559999")->e164, "+14155559999");
}

TEST(NotifyRequest, ResponseBody) {
    auto req = parse(R"({"template_id":"order_shipped","to":"+33612345678",)"
                     R"("variables":{"order_id":"42"},"correlation_id":"c1"})");
    ASSERT_TRUE(req.ok());
    rapidjson::Document d;
    ASSERT_TRUE(parse_json_strict(notify_response_json("tx_1", *req, "+14155551234", kNow), d));
    EXPECT_STREQ(d["id"].GetString(), "tx_1");
    EXPECT_STREQ(d["variables"]["order_id"].GetString(), "42");
    EXPECT_STREQ(d["from"].GetString(), "+14155551234");
    EXPECT_EQ(*parse_rfc3339(d["expires_at"].GetString()), kNow + kDefaultNotifyLifeNs);
    EXPECT_STREQ(d["correlation_id"].GetString(), "c1");
    EXPECT_FALSE(d.HasMember("callback_url"));
}

class NewMessageTest : public wa::unit::StoreFixture {
protected:
    void SetUp() override {
        StoreFixture::SetUp();
        wa::unit::add_test_numbers(numbers_);
    }

    SendRequest template_send(std::string to = "+33612345678") {
        SendRequest s;
        s.scope.tenant = "acme";
        s.sender = numbers_.by_e164("+14155551234");
        s.to = std::move(to);
        s.content.kind = GraphContent::Kind::template_message;
        s.content.template_name = "order_shipped_v2";
        s.content.language = "en_US";
        return s;
    }

    SendCheck check(const SendRequest& s) {
        Txn txn = read();
        auto r = check_send(txn, s, numbers_, kNow);
        EXPECT_TRUE(r.ok()) << r.error().message;
        return r.ok() ? *r : SendCheck{};
    }

    NumberDirectory numbers_;
};

TEST_F(NewMessageTest, ATemplateToACustomerNeverSeenCreatesTheConversation) {
    SendRequest s = template_send();
    SendCheck c = check(s);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c.target.conversation, Uuid{});  // none yet
    PreparedSend p = prepare_send(s, c.target);
    Txn txn = write();
    auto rec = record_send(txn, c.target, s, p, "wamid.T1", DeliveryPolicy{}, kNow);
    ASSERT_TRUE(rec.ok()) << rec.error().message;
    ASSERT_TRUE(txn.commit().ok());
    EXPECT_EQ(rec->deliveries.size(), 1u);    // transactional.message.created
    EXPECT_EQ(rec->window_expires_at_ns, 0);  // a template does not open the window

    Txn r = read();
    auto conv = find_conversation(r, "+14155551234", "+33612345678");
    ASSERT_TRUE(conv.ok() && conv->has_value());
    EXPECT_EQ(typeid_encode("conv", (*conv)->id), rec->conversation_id);
    EXPECT_EQ((*conv)->tenant, "acme");
    EXPECT_GE((*conv)->last_outbound_at_ns, kNow);  // stamped: unique, never earlier
    EXPECT_LT((*conv)->last_outbound_at_ns, kNow + 100);

    // The second send finds it.
    SendCheck again = check(template_send());
    EXPECT_EQ(again.target.conversation, (*conv)->id);
}

TEST_F(NewMessageTest, OnlyATemplateGoesOutsideTheWindow) {
    SendRequest text = template_send();
    text.content = GraphContent{};
    text.content.text = "hello";
    SendCheck c = check(text);
    ASSERT_TRUE(c.refusal.has_value());
    EXPECT_EQ(*c.refusal, SendRefusal::window_closed);
}

TEST_F(NewMessageTest, AConversationKeySendsOnlyInItsConversation) {
    SendRequest s = template_send();
    s.scope.conversation = uuid_v7_now();  // some other conversation
    SendCheck c = check(s);
    ASSERT_TRUE(c.refusal.has_value());
    EXPECT_EQ(*c.refusal, SendRefusal::outside_scope);

    SendRequest other_tenant = template_send();
    other_tenant.scope.tenant = "globex";
    SendCheck g = check(other_tenant);
    ASSERT_TRUE(g.refusal.has_value());
    EXPECT_EQ(*g.refusal, SendRefusal::outside_scope);
}

}  // namespace

// The inbox codec (api/messaging): routes, query strings, cursors and bodies.
#include <gtest/gtest.h>

#include "api/messaging.hpp"
#include "test_numbers.hpp"

namespace wa::unit {
namespace {

TEST(InboxRoutes, EveryEndpointAndItsMethods) {
    Uuid id = uuid_v7_now();
    std::string conv = typeid_encode("conv", id);
    EXPECT_EQ(route_inbox("conversations", "GET").route, InboxRoute::list);
    EXPECT_EQ(route_inbox("/conversations", "HEAD").route, InboxRoute::list);
    auto get = route_inbox("conversations/" + conv, "GET");
    EXPECT_EQ(get.route, InboxRoute::get);
    EXPECT_EQ(get.conversation, id);
    EXPECT_EQ(route_inbox("conversations/" + conv, "PATCH").route, InboxRoute::patch);
    EXPECT_EQ(route_inbox("conversations/" + conv + "/messages", "POST").route,
              InboxRoute::send_text);
    EXPECT_EQ(route_inbox("messages/template", "POST").route, InboxRoute::send_template);
    EXPECT_FALSE(route_inbox("conversations/" + conv + "/other", "POST").route);
    EXPECT_FALSE(route_inbox("", "GET").route);
    auto wrong = route_inbox("conversations", "POST");
    EXPECT_FALSE(wrong.method_allowed);
    EXPECT_EQ(wrong.allow, "GET");
    EXPECT_FALSE(route_inbox("conversations/im_x", "GET").conversation);
}

TEST(InboxQuery, ListParameters) {
    auto p = parse_list_query("status=open&mode=ai&assigned=me&search=Ada+L%C3%B3&limit=7");
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->filter.status, "open");
    EXPECT_EQ(p->filter.mode, "ai");
    EXPECT_TRUE(p->assigned_me);
    EXPECT_EQ(p->filter.search, "Ada L\xc3\xb3");
    EXPECT_EQ(p->limit, 7u);
    auto u = parse_list_query("assigned=unassigned");
    ASSERT_TRUE(u.ok());
    EXPECT_EQ(u->filter.assignee, std::string());
    EXPECT_EQ(parse_list_query("")->limit, kDefaultInboxLimit);
}

TEST(InboxQuery, BadParametersAre400NamingThem) {
    for (const char* q : {"limit=0", "limit=101", "limit=x", "limit=", "limit=0100", "status=x",
                          "mode=", "assigned=bob", "other=1", "limit=1&limit=1", "search=%4",
                          "search=%zz", "search=a%0Ab", "cursor="}) {
        auto p = parse_list_query(q);
        EXPECT_FALSE(p.ok()) << q;
        if (!p.ok()) {
            EXPECT_EQ(p.error().http_status, 400) << q;
        }
    }
    EXPECT_EQ(parse_list_query("limit=0").error().param, "limit");
    EXPECT_FALSE(parse_get_query("before=conv_01h455vb4pex5vsknk084sn02q").ok());
    EXPECT_TRUE(parse_get_query("before=" + typeid_encode("im", uuid_v7_now())).ok());
    EXPECT_FALSE(parse_get_query("search=x").ok());
}

class InboxCursor : public ::testing::Test {
protected:
    void SetUp() override {
        key.name = "ada";
        key.tenant = "acme";
        key.hash.fill(7);
        pos.seen_ns = 123456789;
        pos.below_ns = 99;
        pos.below_id = uuid_v7_now();
        pos.done = false;
    }
    ApiKey key;
    ListPosition pos;
    ConversationFilter filter;
};

TEST_F(InboxCursor, RoundTrips) {
    std::string c = encode_cursor(pos, key, filter);
    auto back = decode_cursor(c, key, filter);
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(back->seen_ns, pos.seen_ns);
    EXPECT_EQ(back->below_ns, pos.below_ns);
    EXPECT_EQ(back->below_id, pos.below_id);
    EXPECT_EQ(back->done, pos.done);
}

TEST_F(InboxCursor, AnyChangeIsInvalid) {
    std::string c = encode_cursor(pos, key, filter);
    for (std::size_t i = 0; i < c.size(); i++) {
        std::string bad = c;
        bad[i] = bad[i] == 'A' ? 'B' : 'A';
        auto r = decode_cursor(bad, key, filter);
        EXPECT_FALSE(r.ok()) << i;
        if (!r.ok()) {
            EXPECT_EQ(r.error().code, "invalid_cursor");
        }
    }
    EXPECT_FALSE(decode_cursor(c.substr(1), key, filter).ok());
    EXPECT_FALSE(decode_cursor(c + "A", key, filter).ok());
    EXPECT_FALSE(decode_cursor("", key, filter).ok());
    ConversationFilter other;
    other.mode = "ai";
    EXPECT_FALSE(decode_cursor(c, key, other).ok());
    ApiKey another = key;
    another.hash.fill(8);
    EXPECT_FALSE(decode_cursor(c, another, filter).ok());
}

TEST(InboxBodies, Patch) {
    auto p = parse_patch_body(R"({"status":"closed","assignee":null})");
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(p->status, "closed");
    EXPECT_TRUE(p->set_assignee);
    EXPECT_EQ(p->assignee, "");
    for (const char* bad : {R"({})", R"({"status":"archived"})", R"({"mode":1})",
                            R"({"assignee":""})", R"({"assignee":[]})", R"({"x":1})", "[]", "{",
                            R"({"status":"open","status":"closed"})"}) {
        EXPECT_FALSE(parse_patch_body(bad).ok()) << bad;
    }
}

TEST(InboxBodies, TextSend) {
    Uuid id = uuid_v7_now();
    auto s = parse_text_send(R"({"text":"hi"})", id);
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(s->conversation, id);
    EXPECT_EQ(s->content.text, "hi");
    EXPECT_EQ(parse_text_send(R"({"text":" "})", id).error().code, "missing_text");
    std::string long_text = R"({"text":")" + std::string(4097, 'x') + R"("})";
    EXPECT_EQ(parse_text_send(long_text, id).error().param, "text");
    EXPECT_FALSE(parse_text_send(R"({"text":"hi","to":"+1"})", id).ok());
}

TEST(InboxBodies, TemplateSendAgainstTheConfiguration) {
    NumberDirectory numbers;
    add_test_numbers(numbers);
    TemplateDirectory templates;
    TemplateDef def;
    def.key = "order_shipped";
    def.name = "order_shipped_v2";
    def.languages = {"en_US"};
    def.parameters = {"order_id", "eta"};
    ASSERT_TRUE(templates.add(def).ok());
    auto body =
        parse_template_send(R"({"business_whatsapp_number_id":"111","phone":"+33612345678",)"
                            R"("template_key":"order_shipped","customer_name":"Ada",)"
                            R"("variables":{"order_id":"1","eta":"Fri"}})");
    ASSERT_TRUE(body.ok());
    auto send = template_send_request(*body, templates, numbers, "acme");
    ASSERT_TRUE(send.ok());
    EXPECT_EQ(send->sender->e164, "+14155551234");
    EXPECT_EQ(send->customer_name, "Ada");
    EXPECT_EQ(send->content.template_name, "order_shipped_v2");
    // Another tenant's number is not found, like an unknown one.
    EXPECT_EQ(template_send_request(*body, templates, numbers, "globex").error().http_status, 404);
    body->number_id = "+14155551234";
    EXPECT_TRUE(template_send_request(*body, templates, numbers, "acme").ok());
    body->variables.pop_back();
    auto missing = template_send_request(*body, templates, numbers, "acme");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().code, "invalid_variables");
    EXPECT_NE(missing.error().message.find("eta"), std::string::npos);
    EXPECT_EQ(parse_template_send(R"({"business_whatsapp_number_id":"111","phone":"06",)"
                                  R"("template_key":"k"})")
                  .error()
                  .code,
              "invalid_phone_number");
}

TEST(InboxErrors, Envelope) {
    EXPECT_EQ(inbox_error_json(inbox_not_found()),
              R"({"message":"conversation not found","code":"not_found"})");
    EXPECT_EQ(inbox_refusal(SendRefusal::outside_scope).http_status, 404);
    EXPECT_EQ(inbox_refusal(SendRefusal::window_closed).code, "window_expired");
    EXPECT_EQ(inbox_unauthorized(KeyCheck::forbidden).http_status, 403);
    EXPECT_EQ(inbox_unauthorized(KeyCheck::invalid).code, "unauthorized");
}

}  // namespace
}  // namespace wa::unit

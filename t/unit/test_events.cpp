// encode_inbound_event: Prelude's envelope, exactly.

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "base/clock.hpp"
#include "domain/events.hpp"
#include "base/json.hpp"

namespace {

wa::InboundEvent sample_event() {
    wa::InboundEvent e;
    e.event_id = "evt_01htjex3pre54tywgzsdg1jnbn";
    e.created_at_ns = 1712164081368813970;
    e.message_id = "im_01htjex3p4e54rgd63kcyrq0eg";
    e.conversation_id = "conv_01htjet67afxhta23j7dtekneh";
    e.from = "+16505551234";
    e.to = "+15550783881";
    e.content_json = R"({"type":"text","text":"caf\u00e9"})";
    e.contact_name = "Sheena Nelson";
    e.reply_to = "tx_01htjet67afxhta23j7dtekneh";
    e.window_expires_at_ns = 1712250481000000000;
    return e;
}

rapidjson::Document parse(const std::string& json) {
    rapidjson::Document doc;
    auto r = wa::parse_json_strict(json, doc);
    EXPECT_TRUE(r.ok()) << json;
    return doc;
}

std::vector<std::string> keys(const rapidjson::Value& obj) {
    std::vector<std::string> out;
    for (auto it = obj.MemberBegin(); it != obj.MemberEnd(); ++it) {
        out.emplace_back(it->name.GetString(), it->name.GetStringLength());
    }
    return out;
}

std::string str(const rapidjson::Value& v) {
    return std::string(v.GetString(), v.GetStringLength());
}

TEST(Events, EnvelopeKeys) {
    auto doc = parse(wa::encode_inbound_event(sample_event()));
    ASSERT_TRUE(doc.IsObject());
    EXPECT_EQ(keys(doc), (std::vector<std::string>{"id", "type", "payload", "created_at"}));
    EXPECT_EQ(str(doc["id"]), "evt_01htjex3pre54tywgzsdg1jnbn");
    EXPECT_EQ(str(doc["type"]), "inbound.message.received");
    EXPECT_EQ(str(doc["created_at"]), wa::rfc3339_ns(1712164081368813970));
}

TEST(Events, PayloadKeys) {
    auto doc = parse(wa::encode_inbound_event(sample_event()));
    const auto& p = doc["payload"];
    EXPECT_EQ(keys(p), (std::vector<std::string>{"message_id", "channel", "from", "to", "content",
                                                 "conversation", "contact", "reply_to"}));
    EXPECT_EQ(str(p["message_id"]), "im_01htjex3p4e54rgd63kcyrq0eg");
    EXPECT_EQ(str(p["channel"]), "whatsapp");
    EXPECT_EQ(str(p["from"]), "+16505551234");
    EXPECT_EQ(str(p["to"]), "+15550783881");
    EXPECT_EQ(str(p["contact"]["name"]), "Sheena Nelson");
    EXPECT_EQ(str(p["reply_to"]), "tx_01htjet67afxhta23j7dtekneh");
}

TEST(Events, ContentIsAnObject) {
    auto doc = parse(wa::encode_inbound_event(sample_event()));
    const auto& c = doc["payload"]["content"];
    ASSERT_TRUE(c.IsObject());
    EXPECT_EQ(str(c["type"]), "text");
    EXPECT_EQ(str(c["text"]), "caf\xC3\xA9");
}

TEST(Events, Conversation) {
    auto doc = parse(wa::encode_inbound_event(sample_event()));
    const auto& conv = doc["payload"]["conversation"];
    EXPECT_EQ(keys(conv), (std::vector<std::string>{"id", "window_expires_at"}));
    EXPECT_EQ(str(conv["id"]), "conv_01htjet67afxhta23j7dtekneh");
    EXPECT_EQ(str(conv["window_expires_at"]), wa::rfc3339_ns(1712250481000000000));
}

TEST(Events, ContactAndReplyToOmittedWhenEmpty) {
    auto e = sample_event();
    e.contact_name.clear();
    e.reply_to.clear();
    auto doc = parse(wa::encode_inbound_event(e));
    EXPECT_EQ(keys(doc["payload"]), (std::vector<std::string>{"message_id", "channel", "from", "to",
                                                              "content", "conversation"}));
}

TEST(Events, ExactText) {
    auto e = sample_event();
    e.contact_name.clear();
    e.reply_to.clear();
    EXPECT_EQ(wa::encode_inbound_event(e),
              R"({"id":"evt_01htjex3pre54tywgzsdg1jnbn","type":"inbound.message.received",)"
              R"("payload":{"message_id":"im_01htjex3p4e54rgd63kcyrq0eg","channel":"whatsapp",)"
              R"("from":"+16505551234","to":"+15550783881",)"
              R"("content":{"type":"text","text":"caf\u00e9"},)"
              R"("conversation":{"id":"conv_01htjet67afxhta23j7dtekneh","window_expires_at":")" +
                  wa::rfc3339_ns(1712250481000000000) + R"("}},"created_at":")" +
                  wa::rfc3339_ns(1712164081368813970) + R"("})");
}

TEST(Events, StringsAreEscaped) {
    auto e = sample_event();
    e.contact_name = "A \"quoted\"\nname";
    auto doc = parse(wa::encode_inbound_event(e));
    EXPECT_EQ(str(doc["payload"]["contact"]["name"]), "A \"quoted\"\nname");
}

TEST(Events, EmptyContentStillValid) {
    auto e = sample_event();
    e.content_json.clear();
    auto doc = parse(wa::encode_inbound_event(e));
    EXPECT_TRUE(doc["payload"]["content"].IsObject());
}

wa::StatusEvent sample_status() {
    wa::StatusEvent e;
    e.event_id = "evt_01htjex3pre54tywgzsdg1jnbn";
    e.created_at_ns = 1712164081368813970;
    e.status = "failed";
    e.message_id = "tx_01htjet67afxhta23j7dtekneh";
    e.to = "+16505551234";
    e.correlation_id = "order-42";
    e.status_at_ns = 1712164080000000000;
    e.has_error = true;
    e.error_code = 131047;
    e.error_title = "Re-engagement message";
    e.error_details = "More than 24 hours have passed";
    return e;
}

TEST(Events, StatusEventExactBytes) {
    EXPECT_EQ(wa::encode_status_event(sample_status()),
              R"({"id":"evt_01htjex3pre54tywgzsdg1jnbn","type":"transactional.message.failed",)"
              R"("payload":{"message_id":"tx_01htjet67afxhta23j7dtekneh","status":"failed",)"
              R"("to":"+16505551234","correlation_id":"order-42",)"
              R"("error":{"code":131047,"title":"Re-engagement message",)"
              R"("details":"More than 24 hours have passed"},"created_at":")" +
                  wa::rfc3339_ns(1712164080000000000) + R"("},"created_at":")" +
                  wa::rfc3339_ns(1712164081368813970) + R"("})");
}

TEST(Events, StatusEventOptionalFieldsLeftOut) {
    auto e = sample_status();
    e.status = "delivered";
    e.has_error = false;
    e.correlation_id.clear();
    auto doc = parse(wa::encode_status_event(e));
    EXPECT_EQ(str(doc["type"]), "transactional.message.delivered");
    EXPECT_EQ(keys(doc["payload"]),
              (std::vector<std::string>{"message_id", "status", "to", "created_at"}));
    EXPECT_EQ(wa::status_event_type("read"), "transactional.message.read");
}

}  // namespace

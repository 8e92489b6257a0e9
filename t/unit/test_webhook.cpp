// decode_webhook: real-shaped Meta payloads (WHATSAPP.md §2) and the ways
// a body can be wrong.

#include <string>

#include <gtest/gtest.h>

#include "base/json.hpp"
#include "meta/webhook.hpp"

namespace {

const char* const kContacts = R"([{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}])";

// One entry, one "messages" change, with the given value members.
std::string envelope(const std::string& value_members) {
    return R"({"object":"whatsapp_business_account","entry":[{"id":"102290129340398",)"
           R"("changes":[{"field":"messages","value":{"messaging_product":"whatsapp",)"
           R"("metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"})" +
           (value_members.empty() ? "" : "," + value_members) + "}}]}]}";
}

// One inbound message from 16505551234 with the type's members.
std::string one_message(const std::string& type, const std::string& members,
                        const char* contacts = kContacts) {
    std::string msg = R"({"from":"16505551234","id":"wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQ3",)"
                      R"("timestamp":"1750030073","type":")" +
                      type + "\"";
    if (!members.empty()) {
        msg += "," + members;
    }
    msg += "}";
    std::string value;
    if (contacts != nullptr) {
        value = std::string(R"("contacts":)") + contacts + ",";
    }
    return envelope(value + R"("messages":[)" + msg + "]");
}

// Decodes a body expected to hold exactly one message.
wa::InboundMessage decode_one(const std::string& body) {
    auto r = wa::decode_webhook(body);
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    if (!r.ok() || r->changes.size() != 1 || r->changes[0].messages.size() != 1) {
        ADD_FAILURE() << "expected one message";
        return {};
    }
    return r->changes[0].messages[0];
}

void expect_rejected(const std::string& body, const std::string& code, const std::string& message) {
    auto r = wa::decode_webhook(body);
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.error().code, code);
    EXPECT_EQ(r.error().message, message);
}

void expect_payload_error(const std::string& body, const std::string& message) {
    expect_rejected(body, "invalid_payload", message);
}

// content_json must itself be strict JSON with "type" and "text".
rapidjson::Document content_of(const wa::InboundMessage& m) {
    rapidjson::Document doc;
    auto r = wa::parse_json_strict(m.content_json, doc);
    EXPECT_TRUE(r.ok()) << m.content_json;
    EXPECT_TRUE(doc.IsObject());
    EXPECT_TRUE(doc.HasMember("type") && doc["type"].IsString()) << m.content_json;
    EXPECT_TRUE(doc.HasMember("text") && doc["text"].IsString()) << m.content_json;
    return doc;
}

const std::string kMsgPath = "entry[0].changes[0].value.messages[0]";

// --- message types (§2.4) --------------------------------------------------

TEST(Webhook, Text) {
    auto m = decode_one(one_message("text", R"("text":{"body":"Does it come in another color?"})"));
    EXPECT_EQ(m.wamid, "wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQ3");
    EXPECT_EQ(m.from, "16505551234");
    EXPECT_EQ(m.timestamp, 1750030073);
    EXPECT_EQ(m.type, "text");
    EXPECT_EQ(m.text, "Does it come in another color?");
    EXPECT_EQ(m.contact_name, "Sheena Nelson");
    EXPECT_FALSE(m.forwarded);
    EXPECT_EQ(m.content_json, R"({"type":"text","text":"Does it come in another color?"})");
}

TEST(Webhook, EscapedUnicodeTextDecodesToUtf8) {
    auto m = decode_one(one_message("text", R"("text":{"body":"caf\u00e9 \ud83d\udc4d"})"));
    EXPECT_EQ(m.text, "caf\xC3\xA9 \xF0\x9F\x91\x8D");
    EXPECT_EQ(m.content_json, "{\"type\":\"text\",\"text\":\"caf\xC3\xA9 \xF0\x9F\x91\x8D\"}");
}

TEST(Webhook, Image) {
    auto m = decode_one(one_message(
        "image",
        R"("image":{"caption":"Taj Mahal","mime_type":"image/jpeg",)"
        R"("sha256":"SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=","id":"1003383421387256",)"
        R"("url":"https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1"})"));
    EXPECT_EQ(m.type, "image");
    EXPECT_EQ(m.text, "Taj Mahal");
    EXPECT_EQ(
        m.content_json,
        R"({"type":"image","text":"Taj Mahal","media":{"id":"1003383421387256",)"
        R"("mime_type":"image/jpeg","sha256":"SfInY0gGKTsJlUWbwxC1k+FAD0FZHvzwfpvO0zX0GUI=",)"
        R"("caption":"Taj Mahal","url":"https://lookaside.fbsbx.com/whatsapp_business/attachments/?mid=1"}})");
}

TEST(Webhook, VideoWithoutCaptionOrUrl) {
    auto m = decode_one(
        one_message("video", R"("video":{"mime_type":"video/mp4","sha256":"0a1b2c","id":"555"})"));
    EXPECT_EQ(m.text, "");
    EXPECT_EQ(
        m.content_json,
        R"({"type":"video","text":"","media":{"id":"555","mime_type":"video/mp4","sha256":"0a1b2c"}})");
}

TEST(Webhook, AudioVoiceNote) {
    auto m = decode_one(one_message(
        "audio", R"("audio":{"mime_type":"audio/ogg; codecs=opus","sha256":"abc=","id":"777",)"
                 R"("url":"https://x/","voice":true})"));
    EXPECT_EQ(m.text, "");
    auto c = content_of(m);
    EXPECT_EQ(std::string(c["type"].GetString()), "audio");
    EXPECT_EQ(std::string(c["media"]["mime_type"].GetString()), "audio/ogg; codecs=opus");
    EXPECT_TRUE(c["media"]["voice"].GetBool());
    EXPECT_FALSE(c["media"].HasMember("caption"));
    EXPECT_FALSE(c["media"].HasMember("animated"));
}

TEST(Webhook, DocumentWithFilename) {
    auto m = decode_one(one_message(
        "document",
        R"("document":{"caption":"my receipt","filename":"receipt.pdf",)"
        R"("mime_type":"application/pdf","sha256":"xyz","id":"622684793477189","url":"u"})"));
    EXPECT_EQ(m.text, "my receipt");
    auto c = content_of(m);
    EXPECT_EQ(std::string(c["media"]["filename"].GetString()), "receipt.pdf");
    EXPECT_EQ(std::string(c["media"]["caption"].GetString()), "my receipt");
    EXPECT_EQ(std::string(c["media"]["id"].GetString()), "622684793477189");
}

TEST(Webhook, AnimatedSticker) {
    auto m = decode_one(one_message(
        "sticker",
        R"("sticker":{"mime_type":"image/webp","sha256":"s","id":"9","url":"u","animated":true})"));
    auto c = content_of(m);
    EXPECT_EQ(std::string(c["type"].GetString()), "sticker");
    EXPECT_TRUE(c["media"]["animated"].GetBool());
    EXPECT_EQ(std::string(c["media"]["id"].GetString()), "9");
    EXPECT_EQ(m.text, "");
}

TEST(Webhook, Location) {
    auto m = decode_one(one_message(
        "location", R"("location":{"latitude":37.44221496582,"longitude":-122.16165924072,)"
                    R"("name":"Philz Coffee","address":"101 Forest Ave, Palo Alto, CA 94301",)"
                    R"("url":"https://philzcoffee.com/"})"));
    EXPECT_EQ(m.text, "");
    EXPECT_EQ(
        m.content_json,
        R"({"type":"location","text":"","location":{"latitude":37.44221496582,)"
        R"("longitude":-122.16165924072,"name":"Philz Coffee",)"
        R"("address":"101 Forest Ave, Palo Alto, CA 94301","url":"https://philzcoffee.com/"}})");
}

// Coordinates are numbers, not text: an integer stays an integer, any
// other number is re-serialised at full double precision (README).
TEST(Webhook, LocationCoordinatesReserialised) {
    auto location_of = [](const std::string& latitude, const std::string& longitude) {
        auto m = decode_one(one_message("location", R"("location":{"latitude":)" + latitude +
                                                        R"(,"longitude":)" + longitude + "}"));
        return m.content_json;
    };
    auto expected = [](const std::string& latitude, const std::string& longitude) {
        return R"({"type":"location","text":"","location":{"latitude":)" + latitude +
               R"(,"longitude":)" + longitude + "}}";
    };
    EXPECT_EQ(location_of("48", "-2"), expected("48", "-2"));
    EXPECT_EQ(location_of("-0", "0"), expected("0", "0"));
    EXPECT_EQ(location_of("1e2", "-1E-2"), expected("100.0", "-0.01"));
    EXPECT_EQ(location_of("48.8566000", "2.35220"), expected("48.8566", "2.3522"));
    EXPECT_EQ(location_of("-0.0", "90.0"), expected("-0.0", "90.0"));
    EXPECT_EQ(location_of("0.1000000000000000055511151231257827", "-122.161659240722656250000"),
              expected("0.1", "-122.16165924072266"));
}

TEST(Webhook, SharedContacts) {
    const std::string cards =
        R"([{"name":{"formatted_name":"Barbara J. Johnson","first_name":"Barbara",)"
        R"("last_name":"Johnson"},"phones":[{"phone":"+1 (415) 555-0829",)"
        R"("wa_id":"14125550829","type":"MOBILE"}],"birthday":"1999-01-23"}])";
    auto m = decode_one(one_message("contacts", R"("contacts":)" + cards));
    EXPECT_EQ(m.text, "Barbara J. Johnson");
    EXPECT_EQ(m.contact_name, "Sheena Nelson");  // value.contacts, not the card
    EXPECT_EQ(m.content_json,
              R"({"type":"contacts","text":"Barbara J. Johnson","contacts":)" + cards + "}");
}

TEST(Webhook, InteractiveButtonReply) {
    auto m = decode_one(one_message(
        "interactive",
        R"("context":{"from":"15550783881","id":"wamid.biz1"},)"
        R"("interactive":{"type":"button_reply","button_reply":{"id":"cancel-button","title":"Cancel"}})"));
    EXPECT_EQ(m.text, "Cancel");
    EXPECT_EQ(m.context_id, "wamid.biz1");
    EXPECT_EQ(m.content_json, R"({"type":"interactive","text":"Cancel","interactive":)"
                              R"({"type":"button_reply","id":"cancel-button","title":"Cancel"}})");
}

TEST(Webhook, InteractiveListReply) {
    auto m = decode_one(
        one_message("interactive",
                    R"("context":{"from":"15550783881","id":"wamid.biz2"},)"
                    R"("interactive":{"type":"list_reply","list_reply":{"id":"priority_express",)"
                    R"("title":"Priority Mail Express","description":"Next Day to 2 Days"}})"));
    EXPECT_EQ(m.text, "Priority Mail Express");
    EXPECT_EQ(m.content_json,
              R"({"type":"interactive","text":"Priority Mail Express","interactive":)"
              R"({"type":"list_reply","id":"priority_express","title":"Priority Mail Express",)"
              R"("description":"Next Day to 2 Days"}})");
}

TEST(Webhook, InteractiveOtherSubtypeKeepsData) {
    auto m = decode_one(
        one_message("interactive",
                    R"("interactive":{"type":"nfm_reply","nfm_reply":{"response_json":"{\"a\":1}",)"
                    R"("body":"Sent","name":"flow"}})"));
    EXPECT_EQ(m.text, "");
    EXPECT_EQ(m.content_json,
              R"({"type":"interactive","text":"","interactive":{"type":"nfm_reply",)"
              R"("data":{"response_json":"{\"a\":1}","body":"Sent","name":"flow"}}})");
}

TEST(Webhook, TemplateQuickReplyButton) {
    auto m = decode_one(
        one_message("button", R"("context":{"from":"15550783881","id":"wamid.tpl"},)"
                              R"("button":{"payload":"Unsubscribe-42","text":"Unsubscribe"})"));
    EXPECT_EQ(m.text, "Unsubscribe");
    EXPECT_EQ(m.context_id, "wamid.tpl");
    EXPECT_EQ(m.content_json, R"({"type":"button","text":"Unsubscribe","interactive":)"
                              R"({"type":"button","id":"Unsubscribe-42","title":"Unsubscribe"}})");
}

TEST(Webhook, ReactionWithEmoji) {
    auto m = decode_one(one_message(
        "reaction", R"("reaction":{"message_id":"wamid.reacted","emoji":"\ud83d\udc4d"})"));
    EXPECT_EQ(m.text, "\xF0\x9F\x91\x8D");
    EXPECT_EQ(m.reaction_to, "wamid.reacted");
    EXPECT_EQ(m.content_json,
              "{\"type\":\"reaction\",\"text\":\"\xF0\x9F\x91\x8D\",\"reaction\":"
              "{\"message_id\":\"wamid.reacted\",\"emoji\":\"\xF0\x9F\x91\x8D\"}}");
}

TEST(Webhook, ReactionRemovedHasEmptyEmoji) {
    auto m = decode_one(one_message("reaction", R"("reaction":{"message_id":"wamid.reacted"})"));
    EXPECT_EQ(m.text, "");
    EXPECT_EQ(m.reaction_to, "wamid.reacted");
    EXPECT_EQ(
        m.content_json,
        R"({"type":"reaction","text":"","reaction":{"message_id":"wamid.reacted","emoji":""}})");
}

TEST(Webhook, UnsupportedWithErrors) {
    auto m = decode_one(one_message("unsupported",
                                    R"("errors":[{"code":131051,"title":"Message type unknown",)"
                                    R"("message":"Message type unknown","error_data":)"
                                    R"({"details":"Message type is currently not supported."}}],)"
                                    R"("unsupported":{"type":"edit"})"));
    EXPECT_EQ(m.text, "");
    EXPECT_EQ(
        m.content_json,
        R"({"type":"unsupported","text":"","unsupported":{"type":"edit"},)"
        R"("errors":[{"code":131051,"title":"Message type unknown",)"
        R"("message":"Message type unknown","details":"Message type is currently not supported."}]})");
}

TEST(Webhook, SystemUserChangedNumber) {
    auto m = decode_one(one_message(
        "system",
        R"("system":{"body":"User Sheena Nelson changed from 16505551234 to 12195555358",)"
        R"("wa_id":"12195555358","type":"user_changed_number"})",
        nullptr));
    EXPECT_EQ(m.text, "User Sheena Nelson changed from 16505551234 to 12195555358");
    EXPECT_EQ(m.contact_name, "");  // system messages carry no contacts
    EXPECT_EQ(
        m.content_json,
        R"({"type":"system","text":"User Sheena Nelson changed from 16505551234 to 12195555358",)"
        R"("system":{"body":"User Sheena Nelson changed from 16505551234 to 12195555358",)"
        R"("wa_id":"12195555358","type":"user_changed_number"}})");
}

TEST(Webhook, UnknownTypeKeptVerbatim) {
    auto m = decode_one(one_message(
        "order", R"("order":{"catalog_id":"c1","product_items":[{"product_retailer_id":"p",)"
                 R"("quantity":2,"item_price":9.5,"currency":"EUR"}]})"));
    EXPECT_EQ(m.type, "order");
    EXPECT_EQ(m.text, "");
    EXPECT_EQ(m.content_json,
              R"({"type":"order","text":"","order":{"catalog_id":"c1","product_items":)"
              R"([{"product_retailer_id":"p","quantity":2,"item_price":9.5,"currency":"EUR"}]}})");
}

TEST(Webhook, UnknownTypeWithoutObject) {
    auto m = decode_one(one_message("ephemeral", ""));
    EXPECT_EQ(m.content_json, R"({"type":"ephemeral","text":""})");
}

TEST(Webhook, UnknownTypeCannotClobberOwnKeys) {
    auto m = decode_one(one_message("referral", R"("referral":{"source_type":"ad"})"));
    EXPECT_EQ(m.content_json, R"({"type":"referral","text":"","referral":{"source_type":"ad"}})");
}

// --- common fields (§2.3) --------------------------------------------------

TEST(Webhook, ForwardedAndReferral) {
    auto m = decode_one(one_message(
        "text", R"("context":{"frequently_forwarded":true},"text":{"body":"hi"},)"
                R"("referral":{"source_url":"https://fb.me/x","source_id":"1","source_type":"ad",)"
                R"("ctwa_clid":"abc"})"));
    EXPECT_TRUE(m.forwarded);
    EXPECT_EQ(m.context_id, "");
    EXPECT_EQ(
        m.content_json,
        R"({"type":"text","text":"hi","forwarded":true,"referral":)"
        R"({"source_url":"https://fb.me/x","source_id":"1","source_type":"ad","ctwa_clid":"abc"}})");
}

TEST(Webhook, FromWithPlusMatchesContact) {
    std::string body =
        one_message("text", R"("text":{"body":"x"})",
                    R"([{"profile":{"name":"Other"},"wa_id":"33600000000"},)"
                    R"({"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}])");
    body.replace(body.find("\"from\":\"16505551234\""), 20, "\"from\":\"+16505551234\"");
    auto m = decode_one(body);
    EXPECT_EQ(m.from, "+16505551234");
    EXPECT_EQ(m.contact_name, "Sheena Nelson");
}

TEST(Webhook, UsernameUserMatchedByBsuid) {
    auto m = decode_one(
        envelope(R"("contacts":[{"profile":{"name":"A"},"user_id":"US.111"},)"
                 R"({"profile":{"name":"B","username":"bee"},"user_id":"US.222"}],)"
                 R"("messages":[{"from_user_id":"US.222","id":"wamid.b","timestamp":"1",)"
                 R"("type":"text","text":{"body":"yo"}}])"));
    EXPECT_EQ(m.from, "");
    EXPECT_EQ(m.from_user_id, "US.222");
    EXPECT_EQ(m.contact_name, "B");
}

TEST(Webhook, SingleUnmatchedContactIsUsed) {
    auto m = decode_one(one_message("text", R"("text":{"body":"x"})",
                                    R"([{"profile":{"name":"Solo"},"wa_id":"999"}])"));
    EXPECT_EQ(m.contact_name, "Solo");
}

TEST(Webhook, BatchDecodedInOrder) {
    auto msg = [](const std::string& id) {
        return R"({"from":"15550001234","id":"wamid.)" + id +
               R"(","timestamp":"1700000000",)"
               R"("type":"text","text":{"body":")" +
               id + R"("}})";
    };
    auto change = [&](const std::string& pn, const std::string& a, const std::string& b) {
        return R"({"field":"messages","value":{"messaging_product":"whatsapp",)"
               R"("metadata":{"display_phone_number":"1555","phone_number_id":")" +
               pn + R"("},"messages":[)" + msg(a) + "," + msg(b) + "]}}";
    };
    std::string body = R"({"object":"whatsapp_business_account","entry":[)"
                       R"({"id":"1","changes":[)" +
                       change("pn1", "e0c0m0", "e0c0m1") + "," + change("pn2", "e0c1m0", "e0c1m1") +
                       "]},"
                       R"({"id":"2","changes":[)" +
                       change("pn3", "e1c0m0", "e1c0m1") + "," + change("pn4", "e1c1m0", "e1c1m1") +
                       "]}]}";

    auto r = wa::decode_webhook(body);
    ASSERT_TRUE(r.ok()) << r.error().message;
    ASSERT_EQ(r->changes.size(), 4u);
    EXPECT_EQ(r->ignored_changes, 0u);
    const char* pns[] = {"pn1", "pn2", "pn3", "pn4"};
    const char* ids[] = {"e0c0", "e0c1", "e1c0", "e1c1"};
    for (std::size_t c = 0; c < 4; c++) {
        EXPECT_EQ(r->changes[c].phone_number_id, pns[c]);
        ASSERT_EQ(r->changes[c].messages.size(), 2u);
        for (std::size_t i = 0; i < 2; i++) {
            std::string id = std::string(ids[c]) + "m" + std::to_string(i);
            EXPECT_EQ(r->changes[c].messages[i].wamid, "wamid." + id);
            EXPECT_EQ(r->changes[c].messages[i].text, id);
        }
    }
}

TEST(Webhook, StatusesDecoded) {
    auto r = wa::decode_webhook(envelope(
        R"("statuses":[{"id":"wamid.s1","status":"sent","timestamp":"1750030073",)"
        R"("recipient_id":"16505551234","conversation":{"id":"c","origin":{"type":"service"}},)"
        R"("pricing":{"billable":true,"pricing_model":"PMP","category":"service"}},)"
        R"({"id":"wamid.s2","status":"failed","timestamp":"1750030080",)"
        R"("recipient_id":"16505551234","errors":[{"code":131049,"title":"Not delivered",)"
        R"("message":"Not delivered","error_data":{"details":"healthy ecosystem"},)"
        R"("href":"/documentation"}]}])"));
    ASSERT_TRUE(r.ok()) << r.error().message;
    const auto& st = r->changes[0].statuses;
    ASSERT_EQ(st.size(), 2u);
    EXPECT_EQ(r->changes[0].display_phone_number, "15550783881");
    EXPECT_EQ(st[0].wamid, "wamid.s1");
    EXPECT_EQ(st[0].status, "sent");
    EXPECT_EQ(st[0].timestamp, 1750030073);
    EXPECT_EQ(st[0].recipient_id, "16505551234");
    EXPECT_TRUE(st[0].errors.empty());
    EXPECT_EQ(st[1].status, "failed");
    ASSERT_EQ(st[1].errors.size(), 1u);
    EXPECT_EQ(st[1].errors[0].code, 131049);
    EXPECT_EQ(st[1].errors[0].title, "Not delivered");
    EXPECT_EQ(st[1].errors[0].message, "Not delivered");
    EXPECT_EQ(st[1].errors[0].details, "healthy ecosystem");
}

TEST(Webhook, ValueErrorsDecoded) {
    auto r = wa::decode_webhook(
        envelope(R"("errors":[{"code":130429,"title":"Rate limit hit","message":"Rate limit hit",)"
                 R"("error_data":{"details":"Cloud API message throughput has been reached."}}])"));
    ASSERT_TRUE(r.ok()) << r.error().message;
    const auto& errs = r->changes[0].errors;
    ASSERT_EQ(errs.size(), 1u);
    EXPECT_EQ(errs[0].code, 130429);
    EXPECT_EQ(errs[0].title, "Rate limit hit");
    EXPECT_EQ(errs[0].details, "Cloud API message throughput has been reached.");
}

TEST(Webhook, NonMessagesFieldIgnored) {
    auto r = wa::decode_webhook(
        R"({"object":"whatsapp_business_account","entry":[{"id":"1","time":1700000000,)"
        R"("changes":[{"field":"account_update","value":{"event":"VERIFIED_ACCOUNT","phone_number":123}},)"
        R"({"field":"message_template_status_update","value":42}]}]})");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_TRUE(r->changes.empty());
    EXPECT_EQ(r->ignored_changes, 2u);
}

TEST(Webhook, EmptyEntryIsFine) {
    auto r = wa::decode_webhook(R"({"object":"whatsapp_business_account","entry":[]})");
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->changes.empty());
}

// --- rejections ------------------------------------------------------------

TEST(Webhook, RejectsNonJson) {
    auto r = wa::decode_webhook("not json");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "invalid_json");
    EXPECT_EQ(r.error().message.rfind("invalid JSON at byte ", 0), 0u);
}

TEST(Webhook, RejectsArrayRoot) { expect_payload_error("[]", "body must be an object"); }

TEST(Webhook, RejectsEntryNotArray) {
    expect_payload_error(R"({"object":"whatsapp_business_account","entry":{}})",
                         "entry must be an array");
}

TEST(Webhook, RejectsMissingEntry) {
    expect_payload_error(R"({"object":"whatsapp_business_account"})", "entry is required");
}

TEST(Webhook, RejectsWrongObject) {
    expect_payload_error(R"({"object":"page","entry":[]})",
                         "object must be \"whatsapp_business_account\"");
}

TEST(Webhook, RejectsMissingMetadata) {
    expect_payload_error(
        R"({"entry":[{"changes":[{"field":"messages","value":{"messages":[]}}]}]})",
        "entry[0].changes[0].value.metadata is required");
}

TEST(Webhook, RejectsPhoneNumberIdAsNumber) {
    std::string body = envelope("");
    body.replace(body.find("\"106540352242922\""), 17, "106540352242922");
    expect_payload_error(body,
                         "entry[0].changes[0].value.metadata.phone_number_id must be a string");
}

TEST(Webhook, RejectsErrorInLaterChange) {
    std::string good = R"({"field":"messages","value":{"metadata":{"phone_number_id":"1"}}})";
    std::string bad = R"({"field":"messages","value":{"metadata":{"phone_number_id":2}}})";
    expect_payload_error(R"({"entry":[{"changes":[)" + good + "," + bad + "]}]}",
                         "entry[0].changes[1].value.metadata.phone_number_id must be a string");
}

TEST(Webhook, RejectsMessageIdAsNumber) {
    std::string body = one_message("text", R"("text":{"body":"x"})");
    body.replace(body.find("\"wamid.HBgLMTY1MDU1NTEyMzQVAgASGBQ3\""), 36, "123");
    expect_payload_error(body, kMsgPath + ".id must be a string");
}

TEST(Webhook, RejectsTimestampAsNumber) {
    std::string body = one_message("text", R"("text":{"body":"x"})");
    body.replace(body.find("\"1750030073\""), 12, "1750030073");
    expect_payload_error(body, kMsgPath + ".timestamp must be a string");
}

TEST(Webhook, RejectsNonDigitTimestamp) {
    std::string body = one_message("text", R"("text":{"body":"x"})");
    body.replace(body.find("\"1750030073\""), 12, "\"17500x0073\"");
    expect_payload_error(body, kMsgPath + ".timestamp must be a string of 1-19 digits");
}

const std::string kFromRule =
    "must be a phone number: 1-15 digits, not starting with 0, with an optional leading +";

TEST(Webhook, RejectsBadFrom) {
    std::string body = one_message("text", R"("text":{"body":"x"})");
    body.replace(body.find("\"16505551234\","), 14, "\"1650-5551\",");
    expect_payload_error(body, kMsgPath + ".from " + kFromRule);
}

// 16 digits and a leading 0 pass a digits-only check but can never be
// stored: they must be rejected when decoding (400), not at commit (503).
TEST(Webhook, RejectsFromTooLongOrWithLeadingZero) {
    for (const char* from : {"1234567890123456", "0612345678", "+"}) {
        std::string body = one_message("text", R"("text":{"body":"x"})");
        body.replace(body.find("\"16505551234\","), 14, std::string("\"") + from + "\",");
        expect_payload_error(body, kMsgPath + ".from " + kFromRule);
    }
}

TEST(Webhook, RejectsMessageWithoutSender) {
    expect_payload_error(
        envelope(
            R"("messages":[{"id":"wamid.x","timestamp":"1","type":"text","text":{"body":"x"}}])"),
        kMsgPath + " must have from or from_user_id");
}

TEST(Webhook, RejectsContextIdAsNumber) {
    expect_payload_error(one_message("text", R"("context":{"id":5},"text":{"body":"x"})"),
                         kMsgPath + ".context.id must be a string");
}

TEST(Webhook, RejectsTextWithoutBody) {
    expect_payload_error(one_message("text", R"("text":{})"), kMsgPath + ".text.body is required");
}

TEST(Webhook, RejectsMediaIdAsNumber) {
    expect_payload_error(one_message("image", R"("image":{"id":1003383421387256})"),
                         kMsgPath + ".image.id must be a string");
}

TEST(Webhook, RejectsLocationAsStrings) {
    expect_payload_error(
        one_message("location", R"("location":{"latitude":"37.4","longitude":-122.1})"),
        kMsgPath + ".location.latitude must be a number");
}

TEST(Webhook, RejectsStatusIdAsNumber) {
    expect_payload_error(envelope(R"("statuses":[{"id":7,"status":"sent","timestamp":"1"}])"),
                         "entry[0].changes[0].value.statuses[0].id must be a string");
}

TEST(Webhook, RejectsErrorCodeAsString) {
    expect_payload_error(envelope(R"("errors":[{"code":"130429"}])"),
                         "entry[0].changes[0].value.errors[0].code must be an integer");
}

TEST(Webhook, RejectsContactWaIdAsNumber) {
    expect_payload_error(
        one_message("text", R"("text":{"body":"x"})", R"([{"wa_id":16505551234}])"),
        "entry[0].changes[0].value.contacts[0].wa_id must be a string");
}

TEST(Webhook, RejectsDuplicateKeys) {
    auto r = wa::decode_webhook(R"({"object":"whatsapp_business_account","entry":[],"entry":[]})");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "invalid_json");
    EXPECT_EQ(r.error().message, "duplicate key \"entry\"");
}

TEST(Webhook, RejectsTrailingData) {
    auto r = wa::decode_webhook(envelope("") + "x");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "invalid_json");
}

TEST(Webhook, RejectsLoneSurrogate) {
    auto r = wa::decode_webhook(one_message("text", R"("text":{"body":"\ud83d"})"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "invalid_json");
}

TEST(Webhook, RejectsInvalidUtf8) {
    auto r = wa::decode_webhook(one_message("text", "\"text\":{\"body\":\"caf\xE9\"}"));
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "invalid_json");
}

// --- set_reaction_message_id -----------------------------------------------

TEST(Webhook, SetReactionMessageId) {
    auto m = decode_one(
        one_message("reaction", R"("reaction":{"message_id":"wamid.reacted","emoji":"\u2764"})"));
    EXPECT_EQ(wa::set_reaction_message_id(m.content_json, "tx_01h455vb4pex5vsknk084sn02q"),
              "{\"type\":\"reaction\",\"text\":\"\xE2\x9D\xA4\",\"reaction\":"
              "{\"message_id\":\"tx_01h455vb4pex5vsknk084sn02q\",\"emoji\":\"\xE2\x9D\xA4\"}}");
}

TEST(Webhook, SetReactionMessageIdWithoutReactionIsUnchanged) {
    const std::string text = R"({"type":"text","text":"hi"})";
    EXPECT_EQ(wa::set_reaction_message_id(text, "im_x"), text);
    EXPECT_EQ(wa::set_reaction_message_id("not json", "im_x"), "not json");
}

}  // namespace

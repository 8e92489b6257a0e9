// The Pipes.bot dialect (api/pipes): the WebSocket client's messages, the
// stream's frames as exact JSON, the REST send body with its media forms,
// and every error of the send path in Pipes' codes.
#include <string>

#include <gtest/gtest.h>

#include "api/messaging.hpp"
#include "api/pipes.hpp"
#include "base/crypto.hpp"

namespace wa::unit {
namespace {

std::string conv_id() {
    static const std::string id = typeid_encode("conv", uuid_v7_now());
    return id;
}

std::string reply_json(std::string_view data) {
    return R"({"type":"whatsapp_reply","data":)" + std::string(data) + "}";
}

void expect_invalid(const Outcome<PipesClientMessage, PipesError>& r, std::string_view conv = {}) {
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "INVALID_REQUEST");
    EXPECT_EQ(r.error().http_status, 400);
    EXPECT_FALSE(r.error().message.empty());
    EXPECT_EQ(r.error().conversation_id, conv);
}

// A REST body's refusal: its status, code and a word of its message.
void expect_rest_error(std::string_view body, int status, std::string_view code,
                       std::string_view says) {
    auto r = parse_rest_send(body);
    ASSERT_FALSE(r.ok()) << body.substr(0, 200);
    EXPECT_EQ(r.error().http_status, status) << body.substr(0, 200);
    EXPECT_EQ(r.error().code, code) << body.substr(0, 200);
    EXPECT_NE(r.error().message.find(says), std::string::npos)
        << r.error().message << " / " << body.substr(0, 200);
}

void expect_rest_invalid(std::string_view body, std::string_view says) {
    expect_rest_error(body, 400, "INVALID_REQUEST", says);
}

std::string rest_body(std::string_view fields) {
    return R"({"conversationId":")" + conv_id() + "\"," + std::string(fields) + "}";
}

PipesSend rest_ok(std::string_view fields) {
    auto r = parse_rest_send(rest_body(fields));
    EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error().message);
    return r.ok() ? *r : PipesSend{};
}

// -- client messages ------------------------------------------------------------------------

TEST(PipesClient, Reply) {
    auto r = decode_client_message(reply_json(R"({"conversationId":")" + conv_id() +
                                              R"(","poolNumberId":"106540352242922",)"
                                              R"("toNumber":"+15559876543","text":"Thanks!"})"));
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(r->kind, PipesClientMessage::Kind::reply);
    EXPECT_EQ(r->conversation_id, conv_id());
    ASSERT_TRUE(r->conversation);
    EXPECT_EQ(typeid_encode("conv", *r->conversation), conv_id());
    EXPECT_TRUE(r->has_pool_number_id);
    EXPECT_EQ(r->pool_number_id, "106540352242922");
    EXPECT_TRUE(r->has_to_number);
    EXPECT_EQ(r->to_number, "+15559876543");
    EXPECT_EQ(r->text, "Thanks!");

    SendRequest s = pipes_reply_request(*r);
    EXPECT_EQ(s.conversation, r->conversation);
    EXPECT_EQ(s.content.kind, GraphContent::Kind::text);
    EXPECT_EQ(s.content.text, "Thanks!");
    EXPECT_FALSE(s.reply_to);
}

TEST(PipesClient, OptionalFieldsAndUnknownOnes) {
    auto r = decode_client_message(R"({"type":"whatsapp_reply","id":7,"data":{"conversationId":")" +
                                   conv_id() + R"(","text":"  hi  ","extra":[1]}})");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_FALSE(r->has_pool_number_id);
    EXPECT_FALSE(r->has_to_number);
    EXPECT_EQ(r->text, "  hi  ");  // as sent
}

TEST(PipesClient, ConversationThatIsNoConvId) {
    // Decodes; the caller answers CONVERSATION_NOT_FOUND as for an unknown one.
    for (const char* id : {"conv_xyz789", "im_01h455vb4pex5vsknk084sn02q", ""}) {
        auto r = decode_client_message(
            reply_json(std::string(R"({"conversationId":")") + id + R"(","text":"hi"})"));
        ASSERT_TRUE(r.ok()) << id;
        EXPECT_EQ(r->conversation_id, id);
        EXPECT_FALSE(r->conversation) << id;
    }
}

TEST(PipesClient, Ping) {
    auto r = decode_client_message(R"({"type":"ping"})");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(r->kind, PipesClientMessage::Kind::ping);
    EXPECT_EQ(pong_frame(), R"({"type":"pong"})");
}

TEST(PipesClient, MalformedMessages) {
    expect_invalid(decode_client_message(""));
    expect_invalid(decode_client_message("not json"));
    expect_invalid(decode_client_message("[1,2]"));
    expect_invalid(decode_client_message(R"("whatsapp_reply")"));
    expect_invalid(decode_client_message(R"({"data":{}})"));
    expect_invalid(decode_client_message(R"({"type":7})"));
    expect_invalid(decode_client_message(R"({"type":"whatsapp_message","data":{}})"));
    expect_invalid(decode_client_message(R"({"type":"whatsapp_reply"})"));
    expect_invalid(decode_client_message(R"({"type":"whatsapp_reply","data":[]})"));
    expect_invalid(decode_client_message(R"({"type":"ping","type":"ping"})"));  // duplicate key
    expect_invalid(decode_client_message(reply_json(R"({"text":"hi"})")));
    expect_invalid(decode_client_message(reply_json(R"({"conversationId":5,"text":"hi"})")));
    auto unknown = decode_client_message(R"({"type":"subscribe"})");
    expect_invalid(unknown);
    EXPECT_NE(unknown.error().message.find("subscribe"), std::string::npos);
}

TEST(PipesClient, ErrorsNameTheConversation) {
    std::string c = R"({"conversationId":")" + conv_id() + "\",";
    expect_invalid(decode_client_message(reply_json(c + R"("poolNumberId":1,"text":"hi"})")),
                   conv_id());
    expect_invalid(decode_client_message(reply_json(c + R"("toNumber":null,"text":"hi"})")),
                   conv_id());
    expect_invalid(decode_client_message(reply_json(c + R"("toNumber":"+1"})")), conv_id());
    expect_invalid(decode_client_message(reply_json(c + R"("text":42})")), conv_id());
    expect_invalid(decode_client_message(reply_json(c + R"("text":" \u00a0\u200b "})")), conv_id());
    auto empty = decode_client_message(reply_json(c + R"("text":""})"));
    expect_invalid(empty, conv_id());
    EXPECT_EQ(empty.error().message, "text must not be empty");
}

TEST(PipesClient, TextUpTo4096CodePoints) {
    std::string c = R"({"conversationId":")" + conv_id() + R"(","text":")";
    std::string ok;
    for (int i = 0; i < 4096; i++)
        ok += "\xC3\xA9";  // 2 bytes, 1 code point
    auto r = decode_client_message(reply_json(c + ok + "\"}"));
    ASSERT_TRUE(r.ok()) << r.error().message;
    auto over = decode_client_message(reply_json(c + ok + "e\"}"));
    expect_invalid(over, conv_id());
    EXPECT_NE(over.error().message.find("4096"), std::string::npos);
}

TEST(PipesClient, AtMostOneMiB) {
    std::string pad(kMaxPipesClientMessageBytes, ' ');
    std::string ping = R"({"type":"ping"})";
    EXPECT_TRUE(decode_client_message(ping + pad.substr(ping.size())).ok());
    expect_invalid(decode_client_message(ping + pad.substr(ping.size() - 1)));
}

// -- frames ---------------------------------------------------------------------------------

TEST(PipesFrames, Connected) {
    EXPECT_EQ(connected_frame("acme", "c1", std::nullopt),
              R"({"type":"connected","userId":"acme","connectionId":"c1","scope":"user"})");
    EXPECT_EQ(connected_frame("acme", "c2", std::string("conv_1")),
              R"({"type":"connected","userId":"acme","connectionId":"c2",)"
              R"("scope":"conversation","conversationId":"conv_1"})");
}

PipesMessage sample_message() {
    PipesMessage m;
    m.message_id = "im_1";
    m.conversation_id = "conv_1";
    m.pool_number_id = "106540352242922";
    m.pool_number_phone = "+15550001111";
    m.from_number = "+33612345678";
    m.from_name = "Marie \"Curie\"";
    m.text = "Bonjour\n\xC3\xA0 vous";
    m.type = "text";
    m.timestamp_s = 1729760350;
    m.event_id = "evt_1";
    return m;
}

TEST(PipesFrames, WhatsappMessageText) {
    EXPECT_EQ(whatsapp_message_frame(sample_message()),
              R"({"type":"whatsapp_message","data":{"messageId":"im_1","conversationId":"conv_1",)"
              R"("poolNumberId":"106540352242922","poolNumberPhoneNumber":"+15550001111",)"
              R"("fromNumber":"+33612345678","fromName":"Marie \"Curie\"",)"
              R"("text":"Bonjour\n)"
              "\xC3\xA0"
              R"( vous","body":"Bonjour\n)"
              "\xC3\xA0"
              R"( vous","type":"text","timestamp":"2024-10-24T08:59:10Z","eventId":"evt_1"}})");
}

TEST(PipesFrames, WhatsappMessageWithMediaAndReply) {
    PipesMessage m = sample_message();
    m.from_name.clear();
    m.text = "caption";
    m.type = "document";
    m.has_media = true;
    m.media_id = "1013859600285441";
    m.download_url = "/media/1013859600285441";
    m.mime_type = "application/pdf";
    m.file_name = "invoice.pdf";
    m.reply_to = "tx_9";
    EXPECT_EQ(whatsapp_message_frame(m),
              R"({"type":"whatsapp_message","data":{"messageId":"im_1","conversationId":"conv_1",)"
              R"("poolNumberId":"106540352242922","poolNumberPhoneNumber":"+15550001111",)"
              R"("fromNumber":"+33612345678","fromName":"","text":"caption","body":"caption",)"
              R"("type":"document","timestamp":"2024-10-24T08:59:10Z",)"
              R"("media":{"mediaId":"1013859600285441","downloadUrl":"/media/1013859600285441",)"
              R"("mimeType":"application/pdf","fileName":"invoice.pdf"},"replyTo":"tx_9",)"
              R"("eventId":"evt_1"}})");
}

TEST(PipesFrames, MessageStatus) {
    PipesStatus s;
    s.message_id = "tx_1";
    s.conversation_id = "conv_1";
    s.status = "delivered";
    s.event_id = "evt_2";
    EXPECT_EQ(message_status_frame(s),
              R"({"type":"message_status","data":{"messageId":"tx_1","conversationId":"conv_1",)"
              R"("status":"delivered","eventId":"evt_2"}})");
    s.status = "failed";
    s.has_error = true;
    s.error_code = 131047;
    s.error_title = "Re-engagement message";
    EXPECT_EQ(message_status_frame(s),
              R"({"type":"message_status","data":{"messageId":"tx_1","conversationId":"conv_1",)"
              R"("status":"failed","error":{"code":131047,"title":"Re-engagement message"},)"
              R"("eventId":"evt_2"}})");
}

TEST(PipesFrames, ReplyStatus) {
    EXPECT_EQ(reply_status_ok("conv_xyz789", "tx_abc"),
              R"({"type":"reply_status","data":{"conversationId":"conv_xyz789","success":true,)"
              R"("messageId":"tx_abc"}})");
    EXPECT_EQ(reply_status_error("conv_xyz789", "window closed", "SERVICE_WINDOW_EXPIRED"),
              R"({"type":"reply_status","data":{"conversationId":"conv_xyz789","success":false,)"
              R"("error":"window closed","code":"SERVICE_WINDOW_EXPIRED"}})");
    PipesError e = pipes_error_of(reply_unknown("tx_7"));
    e.conversation_id = "conv_1";
    EXPECT_EQ(reply_status_error(e),
              R"({"type":"reply_status","data":{"conversationId":"conv_1","success":false,)"
              R"("error":")" +
                  e.message + R"(","code":"UPSTREAM_TIMEOUT","messageId":"tx_7"}})");
}

TEST(PipesFrames, Error) {
    EXPECT_EQ(error_frame("INVALID_CURSOR", "unknown or pruned eventId"),
              R"({"type":"error","code":"INVALID_CURSOR","message":"unknown or pruned eventId"})");
}

TEST(PipesRest, Answers) {
    EXPECT_EQ(rest_send_ok_json("tx_1", "conv_1"),
              R"({"success":true,"messageId":"tx_1","conversationId":"conv_1"})");
    EXPECT_EQ(pipes_error_json(pipes_refusal(SendRefusal::window_closed)),
              R"({"success":false,"error":"Service window expired — last inbound message is )"
              R"(older than 24 hours.","code":"SERVICE_WINDOW_EXPIRED"})");
    PipesError t = pipes_error_of(reply_unknown("tx_7"));
    EXPECT_EQ(pipes_error_json(t), R"({"success":false,"error":")" + t.message +
                                       R"(","code":"UPSTREAM_TIMEOUT","messageId":"tx_7"})");
}

// -- REST send ------------------------------------------------------------------------------

TEST(PipesRest, Text) {
    PipesSend s = rest_ok(R"("text":"Here's the info you requested")");
    EXPECT_EQ(typeid_encode("conv", s.conversation), conv_id());
    EXPECT_EQ(s.conversation_id, conv_id());
    EXPECT_EQ(s.media, PipesMediaSource::none);
    EXPECT_EQ(s.text, "Here's the info you requested");
    SendRequest r = pipes_send_request(s);
    EXPECT_EQ(r.conversation, s.conversation);
    EXPECT_EQ(r.content.kind, GraphContent::Kind::text);
    EXPECT_EQ(r.content.text, s.text);
}

TEST(PipesRest, MalformedBodies) {
    expect_rest_invalid("", "JSON");
    expect_rest_invalid("[]", "object");
    expect_rest_invalid(rest_body(R"("text":"hi","extra":1)"), "unknown field");
    expect_rest_invalid(rest_body(R"("text":5)"), "text must be a string");
    expect_rest_invalid(rest_body(R"("media":null)"), "media must be a string");
    expect_rest_invalid(rest_body(R"("text":"hi","caption":[])"), "caption must be a string");
    expect_rest_invalid(R"({"text":"hi"})", "conversationId is required");
    expect_rest_invalid(R"({"conversationId":1,"text":"hi"})", "conversationId must be a string");
    expect_rest_invalid(rest_body(R"("text":"hi","media":"123")"), "exactly one");
    expect_rest_invalid(R"({"conversationId":"conv_x"})", "exactly one");
    expect_rest_invalid(rest_body(R"("text":" ")"), "empty");
    expect_rest_invalid(rest_body(R"("text":"hi","caption":"c")"), "go with media");
    expect_rest_invalid(rest_body(R"("text":"hi","mimeType":"image/png")"), "go with media");
    expect_rest_invalid(rest_body(R"("text":"hi","fileName":"a.pdf")"), "go with media");
    expect_rest_invalid(rest_body("\"text\":\"" + std::string(4097, 'x') + "\""), "4096");
    EXPECT_TRUE(parse_rest_send(rest_body("\"text\":\"" + std::string(4096, 'x') + "\"")).ok());
    std::string big(kMaxPipesSendBodyBytes + 1, ' ');
    expect_rest_invalid(big, "larger than");
}

TEST(PipesRest, ConversationNotConvIsNotFoundAfterTheOtherChecks) {
    for (const char* id : {"conv_xyz789", "im_01h455vb4pex5vsknk084sn02q", "", "conv"}) {
        std::string body = std::string(R"({"conversationId":")") + id + R"(","text":"hi"})";
        expect_rest_error(body, 404, "CONVERSATION_NOT_FOUND", "not found");
        EXPECT_EQ(parse_rest_send(body).error().message,
                  pipes_refusal(SendRefusal::no_such_message).message);
        // A body that is wrong besides is answered as wrong first.
        expect_rest_invalid(std::string(R"({"conversationId":")") + id + R"(","text":""})",
                            "empty");
    }
}

TEST(PipesRest, MediaLink) {
    PipesSend s =
        rest_ok(R"("media":"https://cdn.example.com/a/cat.JPG?x=1.pdf#y","caption":"a cat")");
    EXPECT_EQ(s.media, PipesMediaSource::link);
    EXPECT_EQ(s.media_link, "https://cdn.example.com/a/cat.JPG?x=1.pdf#y");
    EXPECT_EQ(s.media_type, "image");  // the path's extension
    EXPECT_EQ(s.text, "a cat");
    GraphContent c = pipes_content(s);
    EXPECT_EQ(c.kind, GraphContent::Kind::media);
    EXPECT_EQ(c.media_type, "image");
    EXPECT_EQ(c.media_link, s.media_link);
    EXPECT_EQ(c.text, "a cat");
    EXPECT_TRUE(c.media_id.empty());

    // fileName's extension before the path's; the file name kept for a document.
    s = rest_ok(R"("media":"HTTPS://cdn.example.com/x.jpg","fileName":"report.pdf")");
    EXPECT_EQ(s.media_type, "document");
    EXPECT_EQ(s.file_name, "report.pdf");
    EXPECT_EQ(pipes_content(s).filename, "report.pdf");
    s = rest_ok(R"("media":"https://cdn.example.com/x","fileName":"clip.MP4")");
    EXPECT_EQ(s.media_type, "video");
    EXPECT_TRUE(s.file_name.empty());  // not a document
    s = rest_ok(R"("media":"https://cdn.example.com/voice.opus")");
    EXPECT_EQ(s.media_type, "audio");
    s = rest_ok(R"("media":"https://cdn.example.com/download")");
    EXPECT_EQ(s.media_type, "document");
    // The MIME type decides when given.
    s = rest_ok(R"("media":"https://cdn.example.com/x.jpg","mimeType":"Video/MP4")");
    EXPECT_EQ(s.media_type, "video");
}

TEST(PipesRest, MediaLinkThroughTheSsrfGuard) {
    CallbackGuard guard;
    auto ok = check_media_link("https://cdn.example.com/a/cat.jpg?v=2", guard);
    ASSERT_TRUE(ok.ok());
    EXPECT_FALSE(ok->is_literal);  // a name: the caller resolves it
    EXPECT_EQ(ok->host, "cdn.example.com");
    auto pub = check_media_link("https://93.184.216.34/cat.jpg", guard);
    ASSERT_TRUE(pub.ok());
    EXPECT_TRUE(pub->is_literal);
    // Private, loopback and local names are refused by default, naming why.
    for (std::string_view url : {"https://127.0.0.1/cat.jpg", "https://10.0.0.7/cat.jpg",
                                 "https://[::1]/cat.jpg", "https://169.254.169.254/latest",
                                 "https://printer.local/x.pdf", "https://localhost/x.jpg"}) {
        auto refused = check_media_link(url, guard);
        ASSERT_FALSE(refused.ok()) << url;
        EXPECT_EQ(refused.error().http_status, 400);
        EXPECT_EQ(refused.error().code, "INVALID_REQUEST");
        EXPECT_EQ(refused.error().message.rfind("media URL: ", 0), 0u) << refused.error().message;
    }
    EXPECT_NE(check_media_link("https://127.0.0.1/cat.jpg", guard).error().message.find("public"),
              std::string::npos);
    // Listed in whatsapp_callback_allow: accepted.
    ASSERT_TRUE(guard.allow_cidr("127.0.0.0/8").ok());
    EXPECT_TRUE(check_media_link("https://127.0.0.1:8443/cat.jpg", guard).ok());
}

TEST(PipesRest, MediaUrlsOtherThanHttps) {
    for (const char* m : {"http://cdn.example.com/a.jpg", "ftp://x/y", "file:///etc/passwd",
                          "javascript:alert(1)", "https://", "https:/x", "mailto:a@b"}) {
        expect_rest_invalid(rest_body(std::string(R"("media":")") + m + "\""), "https");
    }
    expect_rest_invalid(rest_body(R"("media":"https://x/)" + std::string(2048, 'a') + "\""),
                        "longer than");
}

TEST(PipesRest, MediaId) {
    PipesSend s = rest_ok(R"("media":"1013859600285441","caption":"x")");
    EXPECT_EQ(s.media, PipesMediaSource::id);
    EXPECT_EQ(s.media_id, "1013859600285441");
    EXPECT_EQ(s.media_type, "document");
    EXPECT_EQ(pipes_content(s).media_id, "1013859600285441");
    s = rest_ok(R"("media":"1013859600285441","mimeType":"image/jpeg")");
    EXPECT_EQ(s.media_type, "image");
    s = rest_ok("\"media\":\"" + std::string(64, '7') + "\"");
    EXPECT_EQ(s.media, PipesMediaSource::id);
    // 65 digits are no id: base64, which needs a MIME type.
    expect_rest_invalid(rest_body("\"media\":\"" + std::string(65, '7') + "\""), "mimeType");
}

TEST(PipesRest, MediaBase64) {
    std::string png = std::string("\x89PNG\r\n\x1a\n", 8) + std::string("\xfb\xff\xfe", 3);
    std::string b64 = base64_encode(png);
    ASSERT_NE(b64.find_first_of("+/"), std::string::npos);
    PipesSend s = rest_ok(R"("media":")" + b64 + R"(","mimeType":"image/png","caption":"c")");
    EXPECT_EQ(s.media, PipesMediaSource::upload);
    EXPECT_EQ(s.media_bytes, png);
    EXPECT_EQ(s.mime_type, "image/png");
    EXPECT_EQ(s.media_type, "image");
    GraphContent c = pipes_content(s, "555");
    EXPECT_EQ(c.media_id, "555");
    EXPECT_TRUE(c.media_link.empty());
    EXPECT_EQ(pipes_send_request(s, "555").content.media_id, "555");

    // The URL alphabet, unpadded.
    s = rest_ok(R"("media":")" + base64url_encode(png) + R"(","mimeType":"image/png")");
    EXPECT_EQ(s.media_bytes, png);
    // Mixed alphabets, bad characters, a misplaced pad.
    expect_rest_invalid(rest_body(R"("media":"ab+_","mimeType":"image/png")"), "alphabets");
    expect_rest_invalid(rest_body(R"("media":"ab*d","mimeType":"image/png")"), "base64");
    expect_rest_invalid(rest_body(R"("media":"abc=d","mimeType":"image/png")"), "base64");
    expect_rest_invalid(rest_body(R"("media":"a","mimeType":"image/png")"), "base64");
    // No MIME type for bytes.
    expect_rest_invalid(rest_body(R"("media":")" + b64 + "\""), "mimeType is required");
    expect_rest_invalid(rest_body(R"("media":"")"), "empty");
}

TEST(PipesRest, MediaDataUrl) {
    std::string b64 = base64_encode("%PDF-1.7 ...");
    PipesSend s =
        rest_ok(R"("media":"data:application/pdf;base64,)" + b64 + R"(","fileName":"a.pdf")");
    EXPECT_EQ(s.media, PipesMediaSource::upload);
    EXPECT_EQ(s.media_bytes, "%PDF-1.7 ...");
    EXPECT_EQ(s.mime_type, "application/pdf");
    EXPECT_EQ(s.media_type, "document");
    EXPECT_EQ(s.file_name, "a.pdf");
    // mimeType wins over the data: URL's.
    s = rest_ok(R"("media":"DATA:application/pdf;BASE64,)" + b64 + R"(","mimeType":"image/webp")");
    EXPECT_EQ(s.mime_type, "image/webp");
    EXPECT_EQ(s.media_type, "image");
    // Without a MIME type anywhere.
    expect_rest_invalid(rest_body(R"("media":"data:;base64,)" + b64 + "\""),
                        "mimeType is required");
    expect_rest_invalid(rest_body(R"("media":"data:text/plain,hello")"), "base64");
    expect_rest_invalid(rest_body(R"("media":"data:text/plain;base64")"), "no ','");
    expect_rest_invalid(rest_body(R"("media":"data:image/png;base64,")"), "no base64 data");
}

TEST(PipesRest, MediaAtMost16MiB) {
    std::string exact(kMaxPipesMediaBytes, 'z');
    PipesSend s = rest_ok(R"("media":")" + base64_encode(exact) + R"(","mimeType":"video/mp4")");
    EXPECT_EQ(s.media_bytes.size(), kMaxPipesMediaBytes);
    EXPECT_EQ(s.media_type, "video");
    std::string over = base64_encode(exact + "z");
    std::string body = rest_body(R"("media":")" + over + R"(","mimeType":"video/mp4")");
    ASSERT_LE(body.size(), kMaxPipesSendBodyBytes);
    expect_rest_invalid(body, "larger than 16777216 bytes");
}

TEST(PipesRest, MimeTypesAndCaptions) {
    PipesSend s = rest_ok(R"("media":"1","mimeType":"audio/ogg; codecs=opus")");
    EXPECT_EQ(s.media_type, "audio");
    expect_rest_invalid(rest_body(R"("media":"1","mimeType":"audio/ogg","caption":"no")"),
                        "audio takes no caption");
    s = rest_ok(R"("media":"1","mimeType":"audio/ogg","caption":"")");  // empty is none
    EXPECT_TRUE(s.text.empty());
    s = rest_ok(R"("media":"1","mimeType":"application/zip","fileName":"a.zip")");
    EXPECT_EQ(s.media_type, "document");
    EXPECT_EQ(s.file_name, "a.zip");
    s = rest_ok(R"("media":"1","mimeType":"image/png","fileName":"a.png")");
    EXPECT_TRUE(s.file_name.empty());
    for (const char* m : {"png", "image/", "/png", "image/p ng", "im age/png", ""}) {
        expect_rest_invalid(rest_body(std::string(R"("media":"1","mimeType":")") + m + "\""),
                            "mimeType");
    }
    std::string cap;
    for (int i = 0; i < 1024; i++)
        cap += "\xE2\x82\xAC";
    s = rest_ok(R"("media":"1","caption":")" + cap + "\"");
    EXPECT_EQ(s.text, cap);
    expect_rest_invalid(rest_body(R"("media":"1","caption":")" + cap + "x\""), "1024");
    expect_rest_invalid(rest_body(R"("media":"1","fileName":")" + std::string(256, 'f') + "\""),
                        "fileName");
}

// -- errors ---------------------------------------------------------------------------------

void expect_pipes(const PipesError& e, int status, std::string_view code) {
    EXPECT_EQ(e.http_status, status) << code << ": " << e.message;
    EXPECT_EQ(e.code, code);
    EXPECT_FALSE(e.message.empty()) << code;
}

TEST(PipesErrors, Refusals) {
    expect_pipes(pipes_refusal(SendRefusal::no_such_message), 404, "CONVERSATION_NOT_FOUND");
    expect_pipes(pipes_refusal(SendRefusal::recipient_mismatch), 400, "INVALID_REQUEST");
    expect_pipes(pipes_refusal(SendRefusal::window_closed), 403, "SERVICE_WINDOW_EXPIRED");
    expect_pipes(pipes_refusal(SendRefusal::no_credit), 402, "INSUFFICIENT_BALANCE");
    expect_pipes(pipes_refusal(SendRefusal::outside_scope), 403, "CONVERSATION_SCOPE_VIOLATION");
    EXPECT_EQ(pipes_refusal(SendRefusal::window_closed).message,
              "Service window expired — last inbound message is older than 24 hours.");
    EXPECT_EQ(
        pipes_invalid_request("poolNumberId is not the conversation's", "conv_1").conversation_id,
        "conv_1");
}

TEST(PipesErrors, EveryPreludeFailure) {
    expect_pipes(pipes_error_of(reply_error(ReplyFailure::missing_api_token)), 401, "UNAUTHORIZED");
    expect_pipes(pipes_error_of(reply_error(ReplyFailure::invalid_api_token)), 401, "UNAUTHORIZED");
    expect_pipes(pipes_error_of(reply_error(ReplyFailure::forbidden)), 403, "FORBIDDEN");
    expect_pipes(pipes_error_of(reply_error(ReplyFailure::invalid_reply_context)), 404,
                 "CONVERSATION_NOT_FOUND");
    expect_pipes(pipes_error_of(reply_error(ReplyFailure::phone_number_mismatch)), 400,
                 "INVALID_REQUEST");
    expect_pipes(pipes_error_of(reply_error(ReplyFailure::window_expired)), 403,
                 "SERVICE_WINDOW_EXPIRED");
    expect_pipes(pipes_error_of(reply_error(ReplyFailure::insufficient_balance)), 402,
                 "INSUFFICIENT_BALANCE");
    expect_pipes(pipes_error_of(reply_error(ReplyFailure::outside_scope)), 403,
                 "CONVERSATION_SCOPE_VIOLATION");
    expect_pipes(pipes_error_of(reply_error(KeyCheck::missing)), 401, "UNAUTHORIZED");
    expect_pipes(pipes_error_of(reply_error(KeyCheck::forbidden)), 403, "FORBIDDEN");
    // The refusals through Prelude's words land where pipes_refusal puts them.
    for (SendRefusal r :
         {SendRefusal::no_such_message, SendRefusal::recipient_mismatch, SendRefusal::window_closed,
          SendRefusal::no_credit, SendRefusal::outside_scope}) {
        PipesError via = pipes_error_of(reply_error(reply_failure(r)));
        PipesError direct = pipes_refusal(r);
        EXPECT_EQ(via.code, direct.code);
        EXPECT_EQ(via.http_status, direct.http_status);
        EXPECT_EQ(via.message, direct.message);
    }
}

TEST(PipesErrors, SendOutcomes) {
    PipesError paced = pipes_error_of(reply_paced(7));
    expect_pipes(paced, 429, "RATE_LIMITED");
    EXPECT_EQ(paced.retry_after_s, 7);
    expect_pipes(pipes_error_of(reply_not_sent()), 502, "UPSTREAM_ERROR");
    PipesError unknown = pipes_error_of(reply_unknown("tx_01h455vb4pex5vsknk084sn02q"));
    expect_pipes(unknown, 504, "UPSTREAM_TIMEOUT");
    EXPECT_EQ(unknown.message_id, "tx_01h455vb4pex5vsknk084sn02q");
    EXPECT_NE(unknown.message.find("tx_01h455vb4pex5vsknk084sn02q"), std::string::npos);

    GraphResult g;
    g.outcome = GraphOutcome::window_closed;
    expect_pipes(pipes_error_of(reply_error_from_graph(g)), 403, "SERVICE_WINDOW_EXPIRED");
    g.outcome = GraphOutcome::throttled;
    g.retry_after_s = 6;
    g.meta.code = 131056;
    PipesError t = pipes_error_of(reply_error_from_graph(g));
    expect_pipes(t, 429, "RATE_LIMITED");
    EXPECT_EQ(t.retry_after_s, 6);
    g.outcome = GraphOutcome::refused;
    g.reason = "recipient cannot be reached";
    PipesError refused = pipes_error_of(reply_error_from_graph(g));
    expect_pipes(refused, 400, "INVALID_REQUEST");
    EXPECT_NE(refused.message.find("recipient cannot be reached"), std::string::npos);
    g.outcome = GraphOutcome::failed;
    g.meta.code = 190;
    expect_pipes(pipes_error_of(reply_error_from_graph(g)), 502, "UPSTREAM_ERROR");
}

TEST(PipesErrors, InboxAndGatewayCodes) {
    expect_pipes(pipes_error_of(inbox_not_found()), 404, "CONVERSATION_NOT_FOUND");
    expect_pipes(pipes_error_of(inbox_unauthorized(KeyCheck::invalid)), 401, "UNAUTHORIZED");
    expect_pipes(pipes_error_of(inbox_unauthorized(KeyCheck::forbidden)), 403, "FORBIDDEN");
    expect_pipes(pipes_error_of(inbox_refusal(SendRefusal::window_closed)), 403,
                 "SERVICE_WINDOW_EXPIRED");
    expect_pipes(pipes_error_of(inbox_refusal(SendRefusal::no_credit)), 402,
                 "INSUFFICIENT_BALANCE");
    expect_pipes(pipes_error_of(inbox_refusal(SendRefusal::recipient_mismatch)), 400,
                 "INVALID_REQUEST");
    expect_pipes(pipes_error_of(ReplyError(400, "invalid_cursor", "bad cursor")), 400,
                 "INVALID_CURSOR");
    expect_pipes(pipes_error_of(ReplyError(400, "missing_text", "text must not be empty")), 400,
                 "INVALID_REQUEST");
    expect_pipes(pipes_error_of(ReplyError(400, "invalid_variables", "x")), 400, "INVALID_REQUEST");
    expect_pipes(pipes_error_of(ReplyError(409, "idempotency_key_in_use", "x")), 409,
                 "IDEMPOTENCY_KEY_IN_USE");
    expect_pipes(pipes_error_of(ReplyError(422, "idempotency_key_reused", "x")), 422,
                 "IDEMPOTENCY_KEY_REUSED");
    expect_pipes(pipes_error_of(ReplyError(405, "method_not_allowed", "use POST")), 405,
                 "METHOD_NOT_ALLOWED");
    expect_pipes(pipes_error_of(ReplyError(503, "store_unavailable", "retry")), 503,
                 "SERVICE_UNAVAILABLE");
    expect_pipes(pipes_error_of(ReplyError(500, "internal_error", "x")), 500, "INTERNAL_ERROR");
    // Unknown codes by their status.
    expect_pipes(pipes_error_of(ReplyError(413, "something_new", "x")), 400, "INVALID_REQUEST");
    expect_pipes(pipes_error_of(ReplyError(418, "teapot", "x")), 400, "INVALID_REQUEST");
    expect_pipes(pipes_error_of(ReplyError(404, "gone", "x")), 404, "CONVERSATION_NOT_FOUND");
    expect_pipes(pipes_error_of(ReplyError(507, "full", "x")), 500, "INTERNAL_ERROR");
    // A forbidden that is not the scope's.
    expect_pipes(pipes_error_of(ReplyError(403, "forbidden", "the API key may not send messages")),
                 403, "FORBIDDEN");
}

TEST(PipesErrors, CodecRefusalsRoundTripThroughTheSendPath) {
    // parse_rest_send's and check_media_link's refusals travel the pipeline
    // as ReplyErrors and come back to the client as they were.
    for (const PipesError& e :
         {pipes_invalid_request("caption is longer than 1024 characters"),
          parse_rest_send(R"({"conversationId":"im_01h455vb4pex5vsknk084sn02q","text":"x"})")
              .error(),
          check_media_link("https://10.1.2.3/a.jpg", CallbackGuard{}).error()}) {
        ReplyError r = reply_error_of(e);
        PipesError back = pipes_error_of(r);
        EXPECT_EQ(back.code, e.code);
        EXPECT_EQ(back.http_status, e.http_status);
        EXPECT_EQ(back.message, e.message);
    }
    EXPECT_EQ(reply_error_of(pipes_invalid_request("x")).code, "invalid_request");
    ReplyError nf = reply_error_of(pipes_refusal(SendRefusal::no_such_message));
    EXPECT_EQ(nf.http_status, 404);
    EXPECT_EQ(nf.code, "not_found");
    // Any other code keeps its status and what it carries.
    PipesError paced;
    paced.http_status = 429;
    paced.code = "RATE_LIMITED";
    paced.message = "slow down";
    paced.retry_after_s = 3;
    ReplyError rl = reply_error_of(paced);
    EXPECT_EQ(rl.code, "rate_limited");
    EXPECT_EQ(rl.retry_after_s, 3);
    expect_pipes(pipes_error_of(rl), 429, "RATE_LIMITED");
}

}  // namespace
}  // namespace wa::unit

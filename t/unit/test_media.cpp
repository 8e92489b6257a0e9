// Media (SPEC §8.4): ownership in the store (domain/media), what ingest and
// retention do with it, Graph's media bodies (meta/graph_media) and the
// download's answers (api/media).
#include <gtest/gtest.h>

#include <string>

#include "api/media.hpp"
#include "base/clock.hpp"
#include "base/crypto.hpp"
#include "base/json.hpp"
#include "base/text.hpp"
#include "domain/inbox.hpp"
#include "domain/ingest.hpp"
#include "domain/media.hpp"
#include "domain/retention.hpp"
#include "meta/graph_media.hpp"
#include "store_fixture.hpp"
#include "test_numbers.hpp"

namespace wa::unit {
namespace {

constexpr std::int64_t kNow = 1'750'000'000 * kNsPerSec;

std::string image_content(std::string_view id, std::string_view extra = "") {
    return std::string(R"({"type":"image","text":"","media":{"id":")") + std::string(id) +
           R"(","mime_type":"image/jpeg","sha256":"x")" + std::string(extra) + "}}";
}

// -- ids and URLs ------------------------------------------------------------------------------

TEST(MediaId, Valid) {
    for (std::string_view ok : {"1003383421387256", "a", "A-b_c.d", "9.9"}) {
        EXPECT_TRUE(valid_media_id(ok)) << ok;
    }
    for (std::string_view bad :
         {"", ".", "..", ".x", "-x", "_x", "a/b", "a b", "a%2F", "é", "a?b", "a\nb"}) {
        EXPECT_FALSE(valid_media_id(bad)) << bad;
    }
    EXPECT_TRUE(valid_media_id(std::string(128, '7')));
    EXPECT_FALSE(valid_media_id(std::string(129, '7')));
}

TEST(MediaId, OfAMessage) {
    Message m;
    m.type = "image";
    m.content_json = image_content("123");
    EXPECT_EQ(media_id_of(m), "123");
    m.type = "text";  // only media types
    EXPECT_EQ(media_id_of(m), "");
    m.type = "document";
    m.content_json = image_content("../x");
    EXPECT_EQ(media_id_of(m), "");
    m.content_json = R"({"type":"document","media":{"id":7}})";
    EXPECT_EQ(media_id_of(m), "");
    m.content_json = "not json";
    EXPECT_EQ(media_id_of(m), "");
}

TEST(MediaUrl, PrefixAndId) {
    EXPECT_EQ(media_download_url("/v1/media/", "123"), "/v1/media/123");
    EXPECT_EQ(media_download_url("/v1/media", "123"), "/v1/media/123");
    EXPECT_EQ(media_download_url("", "123"), "");
    EXPECT_EQ(media_download_url("/v1/media/", "a/b"), "");
}

TEST(MediaUrl, ContentGetsOurUrl) {
    std::string with = with_media_url(image_content("55"), "/v1/media/");
    rapidjson::Document doc;
    ASSERT_TRUE(parse_json_strict(with, doc).ok());
    EXPECT_STREQ(doc["media"]["url"].GetString(), "/v1/media/55");
    EXPECT_STREQ(doc["media"]["mime_type"].GetString(), "image/jpeg");

    // Meta's url is replaced in place.
    std::string metas = image_content("55", R"(,"url":"https://lookaside.fbsbx.com/x?mid=1")");
    EXPECT_EQ(with_media_url(metas, "/m/"), image_content("55", R"(,"url":"/m/55")"));

    // Nothing to point at: unchanged.
    EXPECT_EQ(with_media_url(metas, ""), metas);
    EXPECT_EQ(with_media_url(image_content("bad id"), "/m/"), image_content("bad id"));
    std::string text = R"({"type":"text","text":"hi"})";
    EXPECT_EQ(with_media_url(text, "/m/"), text);
    EXPECT_EQ(with_media_url("{", "/m/"), "{");
}

// -- ownership ---------------------------------------------------------------------------------

class MediaStore : public StoreFixture {
protected:
    Conversation conversation(std::string tenant, std::string customer) {
        Conversation c;
        c.id = uuid_v7_now();
        c.tenant = std::move(tenant);
        c.business_number = "+14155551234";
        c.customer = std::move(customer);
        c.created_at_ns = kNow;
        Txn t = write();
        EXPECT_TRUE(save_conversation(t, c).ok());
        EXPECT_TRUE(t.commit().ok());
        return c;
    }

    Message media_message(const Conversation& c, std::string_view id) {
        Message m;
        m.id = uuid_v7_now();
        m.conversation_id = c.id;
        m.type = "image";
        m.content_json = image_content(id);
        m.created_at_ns = kNow;
        return m;
    }

    void note(const Conversation& c, const Message& m) {
        Txn t = write();
        auto r = note_media(t, c, m);
        EXPECT_TRUE(r.ok()) << r.error().message;
        EXPECT_TRUE(t.commit().ok());
    }

    std::optional<Uuid> owner(std::string_view id, std::string_view tenant) {
        Txn t = read();
        auto o = media_owner(t, id, tenant);
        EXPECT_TRUE(o.ok()) << o.error().message;
        if (!o.ok() || !*o) return std::nullopt;
        return (*o)->id;
    }

    std::string entry(std::string_view id) {
        Txn t = read();
        auto v = t.get(Db::media, bounded_key(id));
        EXPECT_TRUE(v.ok());
        return v.ok() && *v ? std::string(**v) : std::string();
    }
};

TEST_F(MediaStore, AnInboundMediaIsItsConversationsTenants) {
    Conversation acme = conversation("acme", "+1");
    Message m = media_message(acme, "1001");
    note(acme, m);
    EXPECT_EQ(owner("1001", "acme"), acme.id);
    EXPECT_EQ(owner("1001", "globex"), std::nullopt);  // another tenant's
    EXPECT_EQ(owner("1002", "acme"), std::nullopt);    // unknown
    EXPECT_EQ(owner("../1001", "acme"), std::nullopt);
    // The entry: conversation uuid + message uuid.
    EXPECT_EQ(entry("1001"), std::string(key_of(acme.id)) + std::string(key_of(m.id)));
}

TEST_F(MediaStore, OtherMessagesRecordNothing) {
    Conversation acme = conversation("acme", "+1");
    Message m = media_message(acme, "1001");
    m.type = "text";
    note(acme, m);
    Txn t = read();
    EXPECT_EQ(*t.entries(Db::media), 0u);
}

TEST_F(MediaStore, TheFirstTenantKeepsItsMedia) {
    Conversation acme = conversation("acme", "+1");
    Conversation globex = conversation("globex", "+2");
    note(acme, media_message(acme, "1001"));
    note(globex, media_message(globex, "1001"));  // the same id, another tenant
    EXPECT_EQ(owner("1001", "acme"), acme.id);
    EXPECT_EQ(owner("1001", "globex"), std::nullopt);
}

TEST_F(MediaStore, TheSameTenantsLaterMessageTakesIt) {
    Conversation one = conversation("acme", "+1");
    Conversation two = conversation("acme", "+2");
    Message first = media_message(one, "1001");
    Message second = media_message(two, "1001");
    note(one, first);
    note(two, second);
    EXPECT_EQ(owner("1001", "acme"), two.id);
    // Forgetting the first message leaves the entry that names the second.
    {
        Txn t = write();
        ASSERT_TRUE(forget_media(t, first).ok());
        ASSERT_TRUE(t.commit().ok());
    }
    EXPECT_EQ(owner("1001", "acme"), two.id);
    {
        Txn t = write();
        ASSERT_TRUE(forget_media(t, second).ok());
        ASSERT_TRUE(t.commit().ok());
    }
    EXPECT_EQ(owner("1001", "acme"), std::nullopt);
}

TEST_F(MediaStore, ASentUploadIsTheSendersTenants) {
    Conversation acme = conversation("acme", "+1");
    Message sent = media_message(acme, "");
    sent.direction = Direction::outbound;
    Txn t = write();
    ASSERT_TRUE(note_sent_media(t, acme, sent, "5005").ok());
    auto bad = note_sent_media(t, acme, sent, "a/b");
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.error().code, "invalid_media_id");
    ASSERT_TRUE(t.commit().ok());
    EXPECT_EQ(owner("5005", "acme"), acme.id);
}

TEST_F(MediaStore, ASentMediaCannotTakeAnotherTenantsId) {
    Conversation acme = conversation("acme", "+1");
    Conversation globex = conversation("globex", "+2");
    note(acme, media_message(acme, "1001"));
    Txn t = write();
    ASSERT_TRUE(note_sent_media(t, globex, media_message(globex, "1001"), "1001").ok());
    ASSERT_TRUE(t.commit().ok());
    EXPECT_EQ(owner("1001", "acme"), acme.id);
    EXPECT_EQ(owner("1001", "globex"), std::nullopt);
}

TEST_F(MediaStore, ACorruptEntryIsAnError) {
    Txn t = write();
    ASSERT_TRUE(t.put(Db::media, bounded_key("1001"), "short").ok());
    auto o = media_owner(t, "1001", "acme");
    ASSERT_FALSE(o.ok());
    EXPECT_EQ(o.error().code, "store_corrupt");
}

// -- ingest and retention ----------------------------------------------------------------------

class MediaIngest : public StoreFixture {
protected:
    void SetUp() override {
        StoreFixture::SetUp();
        add_test_numbers(numbers_);
    }

    IngestOutcome ingest(InboundMessage m, const IngestOptions& options) {
        WebhookChange change;
        change.phone_number_id = "111";  // acme
        change.messages.push_back(std::move(m));
        WebhookBatch batch;
        batch.changes.push_back(std::move(change));
        Txn t = write();
        auto out = ingest_webhook(t, batch, numbers_, {true, true}, options, kNow);
        EXPECT_TRUE(out.ok()) << out.error().message;
        EXPECT_TRUE(t.commit().ok());
        return out.ok() ? *out : IngestOutcome{};
    }

    static InboundMessage image(std::string wamid, std::string id, std::string extra = "") {
        InboundMessage m;
        m.wamid = std::move(wamid);
        m.from = "16505551234";
        m.timestamp = kNow / kNsPerSec;
        m.type = "image";
        m.content_json = image_content(id, extra);
        return m;
    }

    std::string event_content(const IngestOutcome& out) {
        EXPECT_EQ(out.deliveries.size(), 1u);
        if (out.deliveries.empty()) return {};
        rapidjson::Document doc;
        EXPECT_TRUE(parse_json_strict(out.deliveries[0].body, doc).ok());
        return to_json(doc["payload"]["content"]);
    }

    NumberDirectory numbers_;
};

TEST_F(MediaIngest, AnInboundImageIsOwnedAndItsEventPointsAtTheMediaLocation) {
    IngestOptions options;
    options.media_prefix = "/v1/media/";
    IngestOutcome out = ingest(image("wamid.1", "777", R"(,"url":"https://lookaside/x")"), options);
    EXPECT_EQ(event_content(out), image_content("777", R"(,"url":"/v1/media/777")"));
    Txn t = read();
    auto o = media_owner(t, "777", "acme");
    ASSERT_TRUE(o.ok());
    ASSERT_TRUE(o->has_value());
    EXPECT_EQ(typeid_encode("conv", (*o)->id), out.last_conversation_id);
    EXPECT_FALSE(media_owner(t, "777", "globex")->has_value());
}

TEST_F(MediaIngest, WithoutAMediaLocationMetasUrlStays) {
    std::string metas = R"(,"url":"https://lookaside/x")";
    IngestOutcome out = ingest(image("wamid.1", "777", metas), IngestOptions{});
    EXPECT_EQ(event_content(out), image_content("777", metas));
    Txn t = read();
    EXPECT_TRUE(media_owner(t, "777", "acme")->has_value());  // downloadable all the same
}

TEST_F(MediaIngest, RetentionTakesTheMediaWithTheMessage) {
    ingest(image("wamid.1", "777"), IngestOptions{});
    PrunePosition pos;
    {
        Txn t = write();
        auto step = prune_before(t, now_ns() + kNsPerSec, 100, pos);
        ASSERT_TRUE(step.ok()) << step.error().message;
        EXPECT_EQ(step->messages, 1u);
        ASSERT_TRUE(t.commit().ok());
    }
    Txn t = read();
    EXPECT_EQ(*t.entries(Db::media), 0u);
    EXPECT_FALSE(media_owner(t, "777", "acme")->has_value());
}

// -- Graph's bodies ----------------------------------------------------------------------------

TEST(GraphMedia, InfoAnswer) {
    auto info = parse_media_info(
        200, R"({"messaging_product":"whatsapp","url":"https://lookaside.fbsbx.com/a?b=1",)"
             R"("mime_type":"image/jpeg","sha256":"abc=","file_size":"303833","id":"1003"})");
    ASSERT_TRUE(info.ok());
    EXPECT_EQ(info->url, "https://lookaside.fbsbx.com/a?b=1");
    EXPECT_EQ(info->mime_type, "image/jpeg");
    EXPECT_EQ(info->sha256, "abc=");
    EXPECT_EQ(info->file_size, 303833);
    EXPECT_EQ(info->id, "1003");
    EXPECT_EQ(parse_media_info(200, R"({"url":"u","file_size":42})")->file_size, 42);
    EXPECT_EQ(parse_media_info(200, R"({"url":"u","file_size":"4x"})")->file_size, -1);
    EXPECT_EQ(parse_media_info(200, R"({"url":"u"})")->file_size, -1);
}

TEST(GraphMedia, InfoWithoutAUrlFails) {
    for (std::string_view body :
         {R"({"id":"1"})", R"({"url":""})", R"({"url":7})", "[]", "", "<html>"}) {
        auto info = parse_media_info(200, body);
        ASSERT_FALSE(info.ok()) << body;
        EXPECT_EQ(info.error().outcome, GraphOutcome::failed) << body;
    }
    // A message answer is no media answer.
    auto info = parse_media_info(200, R"({"messages":[{"id":"wamid.1"}]})");
    ASSERT_FALSE(info.ok());
    EXPECT_EQ(info.error().outcome, GraphOutcome::failed);
}

TEST(GraphMedia, InfoErrorsAreGraphErrors) {
    auto unknown = parse_media_info(
        400,
        R"({"error":{"message":"(#100) Unsupported get request","type":"GraphMethodException",)"
        R"("code":100,"error_subcode":33,"fbtrace_id":"Ab"}})");
    ASSERT_FALSE(unknown.ok());
    EXPECT_EQ(unknown.error().meta.code, 100);
    EXPECT_EQ(unknown.error().meta.subcode, 33);
    EXPECT_EQ(unknown.error().meta.fbtrace_id, "Ab");
    auto token = parse_media_info(401, R"({"error":{"code":190,"message":"bad token"}})");
    ASSERT_FALSE(token.ok());
    EXPECT_EQ(token.error().outcome, GraphOutcome::failed);
    auto limited = parse_media_info(400, R"({"error":{"code":130429,"message":"limit"}})");
    ASSERT_FALSE(limited.ok());
    EXPECT_EQ(limited.error().outcome, GraphOutcome::throttled);
    // An error object wins over a 2xx.
    EXPECT_FALSE(parse_media_info(200, R"({"url":"u","error":{"code":1}})").ok());
    EXPECT_FALSE(parse_media_info(500, R"({"url":"u"})").ok());
}

TEST(GraphMedia, UploadAnswer) {
    EXPECT_EQ(*parse_media_upload(200, R"({"id":"1166846181421424"})"), "1166846181421424");
    EXPECT_FALSE(parse_media_upload(200, R"({"id":""})").ok());
    EXPECT_FALSE(parse_media_upload(200, R"({})").ok());
    auto refused = parse_media_upload(
        400, R"({"error":{"code":131053,"message":"(#131053) Media upload error"}})");
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(refused.error().meta.code, 131053);
    EXPECT_EQ(refused.error().meta.message, "(#131053) Media upload error");
    EXPECT_EQ(refused.error().outcome, GraphOutcome::refused);  // the file is at fault
    auto failed = parse_media_upload(500, R"({"error":{"code":131000,"message":"(#131000) x"}})");
    ASSERT_FALSE(failed.ok());
    EXPECT_EQ(failed.error().outcome, GraphOutcome::failed);
}

TEST(GraphMedia, UploadBody) {
    std::string bytes("\x89PNG\r\n\x00\x01--", 10);
    auto b = media_upload_body(bytes, "image/png", "photo.png");
    ASSERT_TRUE(b.ok()) << b.error().message;
    const std::string prefix = "multipart/form-data; boundary=";
    ASSERT_EQ(b->content_type.rfind(prefix, 0), 0u);
    std::string boundary = b->content_type.substr(prefix.size());
    EXPECT_GE(boundary.size(), 40u);
    std::string d = "--" + boundary;
    EXPECT_EQ(b->body,
              d +
                  "\r\nContent-Disposition: form-data; name=\"messaging_product\"\r\n\r\n"
                  "whatsapp\r\n" +
                  d + "\r\nContent-Disposition: form-data; name=\"type\"\r\n\r\nimage/png\r\n" + d +
                  "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"photo.png\"\r\n"
                  "Content-Type: image/png\r\n\r\n" +
                  bytes + "\r\n" + d + "--\r\n");
    // Boundaries are random.
    EXPECT_NE(media_upload_body(bytes, "image/png", "")->content_type, b->content_type);
}

TEST(GraphMedia, TheBoundaryIsNotInTheFile) {
    // A file that looks like our boundaries (their fixed prefix, a delimiter) never holds the
    // one chosen: each body has its boundary only where the format puts it.
    for (int i = 0; i < 50; i++) {
        auto b = media_upload_body("ngx_whatsapp_0123 --ngx_whatsapp_", "text/plain", "a.txt");
        ASSERT_TRUE(b.ok());
        std::string boundary = b->content_type.substr(b->content_type.find('=') + 1);
        std::size_t count = 0;
        for (std::size_t at = b->body.find(boundary); at != std::string::npos;
             at = b->body.find(boundary, at + 1)) {
            count++;
        }
        EXPECT_EQ(count, 4u);  // three parts and the close
    }
}

TEST(GraphMedia, UploadFilenamesAndTypes) {
    auto b = media_upload_body("x", "application/pdf", "my \"re\\ceipt\"\r\n.pdf");
    ASSERT_TRUE(b.ok());
    EXPECT_NE(b->body.find("filename=\"my _re_ceipt___.pdf\""), std::string::npos);
    auto utf8 = media_upload_body("x", "application/pdf", "reçu.pdf");
    ASSERT_TRUE(utf8.ok());
    EXPECT_NE(utf8->body.find("filename=\"reçu.pdf\""), std::string::npos);
    EXPECT_NE(media_upload_body("x", "image/jpeg", "")->body.find("filename=\"file\""),
              std::string::npos);
    EXPECT_TRUE(media_upload_body("x", "audio/ogg; codecs=opus", "v.ogg").ok());
    for (std::string_view bad :
         {"", "image", "/png", "image/", "ima ge/png", "image/png\r\nX: y", "image/pngé", ";a/b"}) {
        auto r = media_upload_body("x", bad, "f");
        ASSERT_FALSE(r.ok()) << bad;
        EXPECT_EQ(r.error().code, "invalid_mime_type") << bad;
    }
    auto longname = media_upload_body("x", "image/png", std::string(256, 'a'));
    ASSERT_FALSE(longname.ok());
    EXPECT_EQ(longname.error().code, "invalid_filename");
}

// -- the download's answers --------------------------------------------------------------------

ApiKeys keys_of(const std::string& text) {
    auto k = parse_api_keys(text);
    EXPECT_TRUE(k.ok()) << k.error().message;
    return k.ok() ? std::move(*k) : ApiKeys{};
}

std::string key_line(std::string_view name, std::string_view secret, std::string_view scopes) {
    return std::string(name) + " acme " + hex_lower(sha256(secret)) + " " + std::string(scopes) +
           "\n";
}

TEST(MediaApi, WhoMayDownload) {
    ApiKeys keys = keys_of(key_line("r", "read", "messaging:messages:read") +
                           key_line("s", "stream", "events:stream") +
                           key_line("x", "send", "messaging:messages:send") +
                           key_line("c", "convs", "messaging:conversations:read"));
    EXPECT_EQ(authorize_media(keys, "Bearer read", "").check, KeyCheck::ok);
    EXPECT_EQ(authorize_media(keys, "Bearer stream", "").check, KeyCheck::ok);
    EXPECT_EQ(authorize_media(keys, "Bearer send", "").check, KeyCheck::forbidden);
    EXPECT_EQ(authorize_media(keys, "Bearer convs", "").check, KeyCheck::forbidden);
    EXPECT_EQ(authorize_media(keys, "Bearer nope", "").check, KeyCheck::invalid);
    EXPECT_EQ(authorize_media(keys, "", "").check, KeyCheck::missing);
    // ?apiKey= when there is no Authorization.
    EXPECT_EQ(authorize_media(keys, "", "apiKey=stream").check, KeyCheck::ok);
    EXPECT_EQ(authorize_media(keys, "", "a=1&apiKey=re%61d").check, KeyCheck::ok);
    EXPECT_EQ(authorize_media(keys, "", "apiKey=").check, KeyCheck::missing);
    EXPECT_EQ(authorize_media(keys, "", "apiKey=nope").check, KeyCheck::invalid);
    EXPECT_EQ(authorize_media(keys, "", "apikey=read").check, KeyCheck::missing);
    // The header wins.
    EXPECT_EQ(authorize_media(keys, "Bearer send", "apiKey=read").check, KeyCheck::forbidden);
}

TEST(MediaApi, PathIds) {
    EXPECT_EQ(media_path_id("/v1/media/", "/v1/media/123"), "123");
    EXPECT_EQ(media_path_id("/v1/media", "/v1/media/123"), "123");
    EXPECT_EQ(media_path_id("/v1/media", "/v1/media123"), std::nullopt);
    EXPECT_EQ(media_path_id("/v1/media/", "/v1/media/"), std::nullopt);
    EXPECT_EQ(media_path_id("/v1/media/", "/v1/media/1/2"), std::nullopt);
    EXPECT_EQ(media_path_id("/v1/media/", "/v1/media/.."), std::nullopt);
    EXPECT_EQ(media_path_id("/v1/media/", "/other/1"), std::nullopt);
}

TEST(MediaApi, GraphAnswersToClientAnswers) {
    GraphResult none;
    EXPECT_EQ(media_info_error(0, 502, none).code, "UPSTREAM_ERROR");
    EXPECT_EQ(media_info_error(0, 502, none).http_status, 502);
    EXPECT_EQ(media_info_error(0, 504, none).code, "UPSTREAM_TIMEOUT");
    EXPECT_EQ(media_info_error(404, 404, none).code, "MEDIA_NOT_FOUND");
    GraphResult g = parse_media_info(400, R"({"error":{"code":100,"message":"no"}})").error();
    EXPECT_EQ(media_info_error(400, 400, g).http_status, 404);
    g = parse_media_info(500, R"({"error":{"code":131000,"message":"x"}})").error();
    EXPECT_EQ(media_info_error(500, 500, g).code, "UPSTREAM_ERROR");
    g = parse_media_info(429, R"({"error":{"code":130429,"message":"x"}})").error();
    ReplyError limited = media_info_error(429, 429, g);
    EXPECT_EQ(limited.http_status, 429);
    EXPECT_EQ(limited.code, "RATE_LIMITED");
    EXPECT_GT(limited.retry_after_s, 0);

    EXPECT_TRUE(media_fetch_streams(200));
    EXPECT_FALSE(media_fetch_streams(206));
    EXPECT_FALSE(media_fetch_streams(0));
    EXPECT_EQ(media_fetch_error(404, 404).code, "MEDIA_NOT_FOUND");
    EXPECT_EQ(media_fetch_error(410, 410).code, "MEDIA_NOT_FOUND");
    EXPECT_EQ(media_fetch_error(500, 500).code, "UPSTREAM_ERROR");
    EXPECT_EQ(media_fetch_error(0, 504).code, "UPSTREAM_TIMEOUT");
    EXPECT_EQ(media_fetch_error(0, 502).code, "UPSTREAM_ERROR");
}

TEST(MediaApi, ErrorsArePipesShaped) {
    EXPECT_EQ(media_error_json(media_not_found()),
              R"({"success":false,"error":"media not found","code":"MEDIA_NOT_FOUND"})");
    EXPECT_EQ(media_unauthorized(KeyCheck::missing).http_status, 401);
    EXPECT_EQ(media_unauthorized(KeyCheck::invalid).code, "UNAUTHORIZED");
    EXPECT_EQ(media_unauthorized(KeyCheck::forbidden).http_status, 403);
    EXPECT_EQ(media_unauthorized(KeyCheck::forbidden).code, "FORBIDDEN");
    EXPECT_EQ(media_method_not_allowed().http_status, 405);
    EXPECT_EQ(media_unavailable().http_status, 503);
}

// -- query strings (base/text) -----------------------------------------------------------------

TEST(QueryParam, FirstDecodedMatch) {
    EXPECT_EQ(query_param("a=1&apiKey=k%2Bx+y&apiKey=2", "apiKey"), "k+x y");
    EXPECT_EQ(query_param("flag&b=2", "flag"), "");
    EXPECT_EQ(query_param("a%70iKey=v", "apiKey"), "v");
    EXPECT_EQ(query_param("a=1", "apiKey"), std::nullopt);
    EXPECT_EQ(query_param("apiKey=%zz", "apiKey"), std::nullopt);
    EXPECT_EQ(query_param("", "apiKey"), std::nullopt);
    EXPECT_EQ(percent_decode("%41%4"), std::nullopt);
}

}  // namespace
}  // namespace wa::unit

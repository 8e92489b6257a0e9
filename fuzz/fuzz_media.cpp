// libFuzzer target: the media parsers and builders (meta/graph_media.hpp,
// domain/media.hpp, api/media.hpp). Input: 2 bytes of HTTP status (1..599),
// then a body; the body is also read as a media answer, as an upload's
// answer, as a message's content, as an upload's bytes with a MIME type and
// a file name cut from it, and as a download path.
// Invariants: an accepted answer is a 2xx with its url / id; a rejected one
// never says accepted, and the client's answer for it is 404, 429, 502 or
// 504 with a Pipes error body in strict JSON; an upload body is
// multipart/form-data whose boundary occurs only where the format puts it;
// content keeps parsing, and its media.url is ours exactly when its id is
// valid; a path's media id is always a valid one.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/media.hpp"
#include "base/json.hpp"
#include "domain/media.hpp"
#include "fuzz_check.hpp"
#include "meta/graph_media.hpp"

namespace {

void check_client_answer(const wa::ReplyError& e) {
    FUZZ_CHECK(e.http_status == 404 || e.http_status == 429 || e.http_status == 502 ||
               e.http_status == 504);
    FUZZ_CHECK((e.retry_after_s > 0) == (e.http_status == 429));
    rapidjson::Document doc;
    FUZZ_CHECK(wa::parse_json_strict(wa::media_error_json(e), doc).ok());
    FUZZ_CHECK(doc.IsObject() && doc["success"].IsFalse());
}

std::size_t occurrences(std::string_view hay, std::string_view needle) {
    std::size_t n = 0;
    for (std::size_t at = hay.find(needle); at != std::string_view::npos;
         at = hay.find(needle, at + 1)) {
        n++;
    }
    return n;
}

void check_upload_body(std::string_view body) {
    // bytes | mime | filename, split at the first two 0xff bytes.
    std::size_t a = body.find('\xff');
    std::size_t b = a == std::string_view::npos ? a : body.find('\xff', a + 1);
    std::string_view bytes = body.substr(0, a);
    std::string_view mime =
        a == std::string_view::npos ? "image/jpeg" : body.substr(a + 1, b - a - 1);
    std::string_view name = b == std::string_view::npos ? "" : body.substr(b + 1);
    auto r = wa::media_upload_body(bytes, mime, name);
    if (!r) {
        FUZZ_CHECK(r.error().code == "invalid_mime_type" || r.error().code == "invalid_filename");
        return;
    }
    const std::string prefix = "multipart/form-data; boundary=";
    FUZZ_CHECK(r->content_type.rfind(prefix, 0) == 0);
    std::string boundary = r->content_type.substr(prefix.size());
    FUZZ_CHECK(!boundary.empty());
    FUZZ_CHECK(occurrences(bytes, boundary) == 0);
    FUZZ_CHECK(occurrences(r->body, boundary) == 4);
    FUZZ_CHECK(r->body.rfind("--" + boundary + "\r\n", 0) == 0);
    std::string close = "\r\n--" + boundary + "--\r\n";
    FUZZ_CHECK(r->body.size() >= close.size() + bytes.size());
    FUZZ_CHECK(r->body.compare(r->body.size() - close.size(), close.size(), close) == 0);
    FUZZ_CHECK(r->body.compare(r->body.size() - close.size() - bytes.size(), bytes.size(), bytes) ==
               0);
}

void check_content(std::string_view content) {
    std::string out = wa::with_media_url(content, "/v1/media/");
    rapidjson::Document in;
    if (!wa::parse_json_strict(content, in).ok()) {
        FUZZ_CHECK(out == content);
        return;
    }
    rapidjson::Document doc;
    FUZZ_CHECK(wa::parse_json_strict(out, doc).ok());
    wa::Message m;
    m.type = "image";
    m.content_json = out;
    std::string id = wa::media_id_of(m);
    if (id.empty()) {
        FUZZ_CHECK(out == content);
    } else {
        FUZZ_CHECK(wa::valid_media_id(id));
        FUZZ_CHECK(doc["media"]["url"].IsString());
        FUZZ_CHECK(std::string_view(doc["media"]["url"].GetString()) == "/v1/media/" + id);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 2) {
        return 0;
    }
    int status = (data[0] << 8 | data[1]) % 599 + 1;  // an answer came
    std::string_view body(reinterpret_cast<const char*>(data) + 2, size - 2);

    auto info = wa::parse_media_info(status, body);
    if (info) {
        FUZZ_CHECK(status >= 200 && status < 300);
        FUZZ_CHECK(!info->url.empty());
        FUZZ_CHECK(info->file_size >= -1);
    } else {
        FUZZ_CHECK(!info.error().accepted());
        check_client_answer(wa::media_info_error(status, status, info.error()));
    }
    auto upload = wa::parse_media_upload(status, body);
    if (upload) {
        FUZZ_CHECK(status >= 200 && status < 300);
        FUZZ_CHECK(!upload->empty());
    } else {
        FUZZ_CHECK(!upload.error().accepted());
    }
    if (!wa::media_fetch_streams(status)) check_client_answer(wa::media_fetch_error(status, 0));

    check_upload_body(body);
    check_content(body);
    if (auto id = wa::media_path_id("/v1/media/", "/v1/media/" + std::string(body))) {
        FUZZ_CHECK(wa::valid_media_id(*id) && *id == body);
    }
    return 0;
}

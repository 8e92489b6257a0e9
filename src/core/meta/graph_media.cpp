#include "meta/graph_media.hpp"

#include <rapidjson/document.h>

#include "base/chars.hpp"
#include "base/crypto.hpp"
#include "base/ids.hpp"
#include "base/json.hpp"

namespace wa {

namespace {

using rapidjson::Value;

// Meta's answers are small; anything near this is not a Graph answer.
constexpr std::size_t kMaxGraphBody = 1024 * 1024;
constexpr std::size_t kMaxHeaderValue = 255;

GraphResult failed(std::string reason) {
    GraphResult r;
    r.outcome = GraphOutcome::failed;
    r.reason = std::move(reason);
    return r;
}

std::string string_member(const Value& obj, std::string_view key) {
    const Value* v = member(obj, key);
    return v && v->IsString() ? std::string(v->GetString(), v->GetStringLength()) : std::string();
}

// "303833" or 303833; -1 for anything else.
std::int64_t size_member(const Value& obj, std::string_view key) {
    const Value* v = member(obj, key);
    if (v == nullptr) return -1;
    if (v->IsInt64()) return v->GetInt64() >= 0 ? v->GetInt64() : -1;
    if (!v->IsString()) return -1;
    std::string_view s(v->GetString(), v->GetStringLength());
    if (s.empty() || s.size() > 18 || !all_digits(s)) return -1;
    std::int64_t n = 0;
    for (char c : s)
        n = n * 10 + (c - '0');
    return n;
}

// A 2xx object without an error: the caller reads it; otherwise the
// error, as a send's answer would be read.
template <class T, class Read>
Outcome<T, GraphResult> parse_answer(int http_status, std::string_view body, Read read) {
    JsonDocument doc;
    JsonLimits limits;
    limits.max_bytes = kMaxGraphBody;
    bool parsed = parse_json_strict(body, doc, limits).ok() && doc.IsObject();
    if (parsed && http_status >= 200 && http_status < 300 && member(doc, "error") == nullptr) {
        return read(doc);
    }
    GraphResult g = parse_graph_response(http_status, body);
    if (g.accepted()) return failed("a message answer, not a media one");
    return g;
}

bool is_tchar(char c) {
    return is_alnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool valid_mime_type(std::string_view m) {
    if (m.empty() || m.size() > kMaxHeaderValue) return false;
    std::size_t slash = m.find('/');
    std::size_t end = m.find(';');
    if (slash == std::string_view::npos || slash == 0 ||
        (end != std::string_view::npos && end < slash)) {
        return false;
    }
    std::string_view essence = m.substr(0, end);
    while (!essence.empty() && essence.back() == ' ')
        essence.remove_suffix(1);
    if (essence.size() == slash + 1) return false;
    for (std::size_t i = 0; i < essence.size(); i++) {
        if (i != slash && !is_tchar(essence[i])) return false;
    }
    for (char c : m) {
        if (!is_printable(c)) return false;
    }
    return true;
}

std::string safe_filename(std::string_view name) {
    if (name.empty()) return "file";
    std::string out(name);
    for (char& c : out) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f || c == '"' || c == '\\') c = '_';
    }
    return out;
}

std::string random_boundary() {
    std::string raw;
    for (int i = 0; i < 2; i++) {
        Uuid u = uuid_v7_now();
        raw.append(reinterpret_cast<const char*>(u.data()) + 6, u.size() - 6);  // random bits
    }
    return "ngx_whatsapp_" + hex_lower(raw);
}

void add_field(std::string& out, std::string_view boundary, std::string_view name,
               std::string_view value) {
    out.append("--").append(boundary).append("\r\n");
    out.append("Content-Disposition: form-data; name=\"").append(name).append("\"\r\n\r\n");
    out.append(value).append("\r\n");
}

}  // namespace

Outcome<GraphMediaInfo, GraphResult> parse_media_info(int http_status, std::string_view body) {
    return parse_answer<GraphMediaInfo>(
        http_status, body, [](const Value& doc) -> Outcome<GraphMediaInfo, GraphResult> {
            GraphMediaInfo info;
            info.url = string_member(doc, "url");
            if (info.url.empty()) return failed("media answer without a url");
            info.mime_type = string_member(doc, "mime_type");
            info.sha256 = string_member(doc, "sha256");
            info.file_size = size_member(doc, "file_size");
            info.id = string_member(doc, "id");
            return info;
        });
}

Outcome<std::string, GraphResult> parse_media_upload(int http_status, std::string_view body) {
    return parse_answer<std::string>(http_status, body,
                                     [](const Value& doc) -> Outcome<std::string, GraphResult> {
                                         std::string id = string_member(doc, "id");
                                         if (id.empty())
                                             return failed("upload answer without an id");
                                         return id;
                                     });
}

Result<MultipartBody> media_upload_body(std::string_view bytes, std::string_view mime_type,
                                        std::string_view filename) {
    if (!valid_mime_type(mime_type)) {
        return make_error("invalid_mime_type", "a MIME type (type/subtype) is expected");
    }
    if (filename.size() > kMaxHeaderValue) {
        return make_error("invalid_filename", "the file name is longer than 255 bytes");
    }
    std::string name = safe_filename(filename);
    std::string boundary = random_boundary();
    while (bytes.find(boundary) != std::string_view::npos ||
           mime_type.find(boundary) != std::string_view::npos ||
           name.find(boundary) != std::string::npos) {
        boundary = random_boundary();
    }
    MultipartBody out;
    out.content_type = "multipart/form-data; boundary=" + boundary;
    std::string& b = out.body;
    b.reserve(bytes.size() + mime_type.size() * 2 + name.size() + 6 * boundary.size() + 256);
    add_field(b, boundary, "messaging_product", "whatsapp");
    add_field(b, boundary, "type", mime_type);
    b.append("--").append(boundary).append("\r\n");
    b.append("Content-Disposition: form-data; name=\"file\"; filename=\"").append(name);
    b.append("\"\r\nContent-Type: ").append(mime_type).append("\r\n\r\n");
    b.append(bytes).append("\r\n");
    b.append("--").append(boundary).append("--\r\n");
    return out;
}

}  // namespace wa

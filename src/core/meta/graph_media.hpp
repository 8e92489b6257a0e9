// The Graph API's media endpoints (WHATSAPP.md §5.4, §8): what
// GET /{media-id} answers, the multipart/form-data body of
// POST /{phone-number-id}/media, and what that answers. Dialect-neutral.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "meta/graph_message.hpp"

namespace wa {

// GET /{media-id}: {"messaging_product","url","mime_type","sha256",
// "file_size","id"}.
struct GraphMediaInfo {
    std::string url;  // the file, for a GET with the same token; expires after 5 minutes
    std::string mime_type;
    std::string sha256;
    std::int64_t file_size = -1;  // -1: not given (Meta sends a string or a number)
    std::string id;
};

// Meta's answer to GET /{media-id} that reached it (http_status > 0): a 2xx
// object with a non-empty "url" string; otherwise what parse_graph_response
// makes of it (refused, failed or throttled, with Meta's error when the body
// has one; never accepted).
Outcome<GraphMediaInfo, GraphResult> parse_media_info(int http_status, std::string_view body);

// Meta's answer to POST /{phone-number-id}/media: a 2xx object with a
// non-empty "id" string, the new media id; otherwise as parse_media_info.
Outcome<std::string, GraphResult> parse_media_upload(int http_status, std::string_view body);

struct MultipartBody {
    std::string content_type;  // "multipart/form-data; boundary=<boundary>"
    std::string body;
};

// The body of POST /{phone-number-id}/media, fields in this order:
// messaging_product=whatsapp, type=<mime_type>, and file (filename, its
// Content-Type mime_type, the bytes). The boundary is random and occurs in
// neither the bytes nor the other fields. The filename keeps its UTF-8;
// quotes, backslashes and control characters become '_'; empty is "file".
// Errors: "invalid_mime_type" (not type/subtype[;parameters] of printable
// ASCII, at most 255 bytes), "invalid_filename" (over 255 bytes).
Result<MultipartBody> media_upload_body(std::string_view bytes, std::string_view mime_type,
                                        std::string_view filename);

}  // namespace wa

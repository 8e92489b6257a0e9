// Media download (SPEC §8.4) in the Pipes.bot dialect, under a
// whatsapp_media prefix: which keys may download, the media id of a path,
// and every answer that is not the file itself, worded
// {"success":false,"error":"<message>","code":"<CODE>"}. Errors are
// ReplyError values (status, code, message, Retry-After).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "api/prelude.hpp"
#include "domain/api_keys.hpp"
#include "meta/graph_message.hpp"

namespace wa {

// The key of a download: Authorization: Bearer <key>, else ?apiKey=<key>
// (browsers cannot set headers; the query string lands in access logs, so
// prefer the header). Either scope downloads: messaging:messages:read (the
// inbox shows the media) or events:stream (stream frames carry
// downloadUrl); ok otherwise forbidden.
KeyAuth authorize_media(const ApiKeys& keys, std::string_view authorization,
                        std::string_view query_args);

// The media id of a request's URI (decoded) under the location's prefix:
// what follows it ("/v1/media/" + "123456"; a prefix without its trailing
// slash, "/v1/media", needs one: "/v1/media/123456"), when it is one
// (domain/media.hpp valid_media_id); nullopt answers media_not_found().
std::optional<std::string> media_path_id(std::string_view location, std::string_view uri);

// 401 UNAUTHORIZED (missing or unknown key), 403 FORBIDDEN (no scope).
ReplyError media_unauthorized(KeyCheck check);
// 404 MEDIA_NOT_FOUND: unknown, another tenant's, another conversation's
// (a conversation= key), or gone at Meta; always the same answer.
ReplyError media_not_found();
// 405 METHOD_NOT_ALLOWED: only GET (HEAD too is refused: the file is
// fetched from Meta only to be sent).
ReplyError media_method_not_allowed();
// 503 SERVICE_UNAVAILABLE: the store cannot be read.
ReplyError media_unavailable();

// Graph's answer to GET /{media-id} when it gave no usable URL. status 0:
// no answer (local_status: what nginx answered itself, 504 a timeout).
// Meta's 404, or its error 100 (what Graph says of an id it does not know
// or that is not this number's) -> media_not_found(); its rate limits ->
// 429 RATE_LIMITED with Retry-After; a timeout -> 504 UPSTREAM_TIMEOUT;
// anything else -> 502 UPSTREAM_ERROR.
ReplyError media_info_error(int status, int local_status, const GraphResult& g);

// The URL Graph gave is refused by the SSRF guard: 502 UPSTREAM_ERROR.
ReplyError media_url_refused();

// Whether the file answer (the status the fetch URL's server answered)
// streams to the client: 200 only.
bool media_fetch_streams(int status);

// Any other fetch answer: 404 and 410 -> media_not_found() (the URL
// expired or the file is gone); no answer within the timeout (local 504)
// -> 504 UPSTREAM_TIMEOUT; anything else -> 502 UPSTREAM_ERROR.
ReplyError media_fetch_error(int status, int local_status);

// The body of every error answer.
std::string media_error_json(const ReplyError& e);

}  // namespace wa

// Uploading a file to Meta for a media send (SPEC §8.3: media given as
// base64 is uploaded first, then sent by id): an in-memory POST subrequest
// of r through the whatsapp_graph location to {phone_number_id}/media,
// with the number's token and a multipart/form-data body
// (meta/graph_media.hpp), answered with Meta's new media id.
#pragma once

#include "ngx.hpp"

#include <functional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "domain/numbers.hpp"

namespace wa::ngx {

// The error codes of an upload that gave no media id.
// Nothing reached Meta: an invalid MIME type or file name (the message says
// which), no connection to the Graph API, out of memory, another upload of
// r still in flight.
inline constexpr std::string_view kUploadNotSent = "upload_not_sent";
// Meta refused the file itself (an error meta/graph_message.hpp calls
// refused: 100, 131053 media upload error, ...): the message is Meta's
// reason ("(#131053) ...", tokens redacted); the same file cannot succeed.
inline constexpr std::string_view kUploadRefused = "upload_refused";
// Meta answered without a media id for another reason: its throttling, the
// gateway's credentials or Meta's state (190, 5xx, ...), or an answer that
// lacked the id. The message says which, for logs; a retry may succeed.
inline constexpr std::string_view kUploadFailed = "upload_failed";
// The request was written and no answer came (a timeout, the connection
// lost): Meta may keep an unused copy; uploading again is harmless.
inline constexpr std::string_view kUploadNoAnswer = "upload_no_answer";

using UploadDone = std::function<void(ngx_http_request_t* r, Result<std::string> media_id)>;

// Uploads bytes (mime: its MIME type, also the form's "type"; filename: as
// the file is named at Meta, may be empty) for number. done runs once, with
// Meta's media id or an error of the codes above, as r's write event
// handler once the subrequest has ended (also when it could not start: it
// is posted then, never run inside upload_media); r's write handler is then
// back to what it was before the call. done must answer r or go on (a
// graph_send, another upload). If r is terminated first (the client left),
// done never runs: it and the body are freed with r's pool.
//
// Call it as graph_send is called: from one of r's event handlers, with r's
// count held by the caller (a handler that read the body and returned
// NGX_DONE), and nginx's posted requests run after it returns (they do in
// nginx's own handlers; a completion of the module's, such as a commit's,
// calls ngx_http_run_posted_requests). One upload per request at a time.
// The whatsapp_graph location bounds it (proxy_read_timeout: a 100 MB
// document takes a while); the module lifts its client_max_body_size when
// it is internal.
void upload_media(ngx_http_request_t* r, const NumberConfig& number, std::string bytes,
                  std::string mime, std::string filename, UploadDone done);

}  // namespace wa::ngx

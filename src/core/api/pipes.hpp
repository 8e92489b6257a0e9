// The realtime stream and REST send in Pipes.bot's dialect (SPEC §8.1,
// §8.3): what a WebSocket client sends, the JSON frames the server sends,
// the body of POST /v1/messages/send and its answers, and the send path's
// errors (ReplyError, SendRefusal) in Pipes' codes. No I/O: the WebSocket
// framing is api/websocket.hpp, the handlers live in src/ngx.
//
// Frames are compact JSON objects whose fields come in the order SPEC §8.1
// lists them. A string field of an object is always present (possibly
// empty: fromName of a customer without a profile name, fileName of a
// photo); only the optional parts are left out: media and replyTo of a
// message, error of a status, conversationId of a user-scoped connection.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "api/prelude.hpp"
#include "base/ids.hpp"
#include "base/result.hpp"
#include "domain/callback_guard.hpp"
#include "domain/send.hpp"
#include "meta/graph_message.hpp"

namespace wa {

constexpr std::size_t kMaxPipesClientMessageBytes = 1024 * 1024;  // one WebSocket message
constexpr std::size_t kMaxPipesTextChars = 4096;               // code points, as Meta's text.body
constexpr std::size_t kMaxPipesCaptionChars = 1024;            // code points
constexpr std::size_t kMaxPipesMediaBytes = 16 * 1024 * 1024;  // decoded base64 media
// base64 of 16 MiB is 21.3 MiB; the rest leaves room for the other fields
// and for "\/" escapes of the alphabet's slashes.
constexpr std::size_t kMaxPipesSendBodyBytes = 22 * 1024 * 1024;
constexpr std::size_t kMaxPipesMediaIdChars = 64;  // a Meta media id: digits only

// Pipes' error codes (SPEC §8.1), with the HTTP status REST answers them with.
//   INVALID_REQUEST 400, UNAUTHORIZED 401, INSUFFICIENT_BALANCE 402,
//   FORBIDDEN 403, CONVERSATION_SCOPE_VIOLATION 403,
//   SERVICE_WINDOW_EXPIRED 403, CONVERSATION_NOT_FOUND 404,
//   RATE_LIMITED 429 (retry_after_s), UPSTREAM_ERROR 502,
//   UPSTREAM_TIMEOUT 504 (message_id), and for the gateway's own states:
//   INVALID_CURSOR 400, METHOD_NOT_ALLOWED 405, IDEMPOTENCY_KEY_IN_USE 409,
//   IDEMPOTENCY_KEY_REUSED 422, INTERNAL_ERROR 500, SERVICE_UNAVAILABLE 503.
struct PipesError {
    int http_status = 400;
    std::string code;
    std::string message;
    std::string conversation_id;  // as the client named it, when it did ("" otherwise)
    int retry_after_s = 0;        // RATE_LIMITED: > 0 gives a Retry-After header
    std::string message_id;       // UPSTREAM_TIMEOUT: the tx_ id of the send Meta may have
};

// -- client -> server (WebSocket) ---------------------------------------------------------

// {"type":"whatsapp_reply","data":{conversationId, poolNumberId?,
// toNumber?, text}}, or {"type":"ping"}: the caller answers a ping with
// pong_frame(), nothing else.
struct PipesClientMessage {
    enum class Kind { reply, ping } kind = Kind::reply;
    std::string conversation_id;  // as sent
    // conversation_id decoded when it is a conv_ TypeID; nullopt: the
    // caller answers CONVERSATION_NOT_FOUND, as for an unknown one.
    std::optional<Uuid> conversation;
    // Optional; the caller checks them against the conversation (its
    // number's phone_number_id, its customer).
    std::string pool_number_id, to_number;
    bool has_pool_number_id = false, has_to_number = false;
    std::string text;  // as sent (not trimmed)
};

// INVALID_REQUEST (http_status 400) for: more than 1 MiB, not strict JSON,
// not an object, type missing or not a string, a type other than
// whatsapp_reply and ping, data not an object, conversationId missing or
// not a string, poolNumberId or toNumber present but not strings, text
// missing, not a string, blank (base/text.hpp is_blank) or over 4096 code
// points. Other members (at either level) are ignored. When data carries
// a string conversationId the error names it (conversation_id), so that
// the reply_status can.
Outcome<PipesClientMessage, PipesError> decode_client_message(std::string_view json);

// The send of a checked reply: a conversation message with its text (the
// key's scope added by the caller). Only for a reply whose conversation
// decoded.
SendRequest pipes_reply_request(const PipesClientMessage& reply);

// -- server -> client frames --------------------------------------------------------------

// {"type":"connected","userId":tenant,"connectionId":...,"scope":"user"}, or
// with "scope":"conversation","conversationId":... for a connection
// narrowed to one conversation.
std::string connected_frame(std::string_view tenant, std::string_view connection_id,
                            const std::optional<std::string>& conversation_id);

// An inbound message as the stream shows it.
struct PipesMessage {
    std::string message_id;         // im_...
    std::string conversation_id;    // conv_...
    std::string pool_number_id;     // the business number's phone_number_id
    std::string pool_number_phone;  // its E.164
    std::string from_number;        // the customer's E.164
    std::string from_name;          // their profile name; "" when Meta sent none
    std::string text;               // the text, or a media caption
    std::string type;               // text, image, audio, ... (Meta's message type)
    std::int64_t timestamp_s = 0;   // Meta's timestamp, Unix seconds
    bool has_media = false;
    std::string media_id, download_url, mime_type, file_name;
    std::string reply_to;  // the message it quotes; "" when none
    std::string event_id;  // evt_...: the resume cursor (?since=)
};

// {"type":"whatsapp_message","data":{messageId, conversationId,
// poolNumberId, poolNumberPhoneNumber, fromNumber, fromName, text, body
// (= text), type, timestamp (RFC 3339 UTC, whole seconds),
// media?{mediaId, downloadUrl, mimeType, fileName}, replyTo?, eventId}}.
std::string whatsapp_message_frame(const PipesMessage& m);

// A status change of an outbound message.
struct PipesStatus {
    std::string message_id;  // tx_...
    std::string conversation_id;
    std::string status;  // sent, delivered, read, failed
    bool has_error = false;
    std::int64_t error_code = 0;  // Meta's
    std::string error_title;
    std::string event_id;
};

// {"type":"message_status","data":{messageId, conversationId, status,
// error?{code (a number), title}, eventId}}.
std::string message_status_frame(const PipesStatus& s);

// {"type":"reply_status","data":{conversationId, success:true, messageId}}.
std::string reply_status_ok(std::string_view conversation_id, std::string_view message_id);
// {"type":"reply_status","data":{conversationId, success:false, error, code}}.
std::string reply_status_error(std::string_view conversation_id, std::string_view error_text,
                               std::string_view code);
// The same for e (its conversation_id), with "messageId" after code when
// e names one (UPSTREAM_TIMEOUT).
std::string reply_status_error(const PipesError& e);

// {"type":"error","code":...,"message":...}, e.g. INVALID_CURSOR before a
// 1008 close.
std::string error_frame(std::string_view code, std::string_view message);

// {"type":"pong"}: the answer to a client's {"type":"ping"}.
std::string pong_frame();

// -- REST send (POST /v1/messages/send) ---------------------------------------------------

// Where a media message's file comes from.
enum class PipesMediaSource {
    none,    // a text message
    link,    // an https URL: sent to Meta as link, after the SSRF guard (caller)
    id,      // a Meta media id: sent as id
    upload,  // base64 bytes: uploaded to Meta's media endpoint first (caller)
};

struct PipesSend {
    Uuid conversation{};
    std::string conversation_id;  // conv_..., as sent
    std::string text;             // the text, or the media's caption ("" for none)
    PipesMediaSource media = PipesMediaSource::none;
    std::string media_type;   // image, video, audio or document (media only)
    std::string media_link;   // link
    std::string media_id;     // id
    std::string media_bytes;  // upload: the decoded file
    std::string mime_type;    // mimeType, else a data: URL's; "" when neither gave one
    std::string file_name;    // document only
};

// The body {conversationId, text?, media?, mimeType?, fileName?, caption?},
// checked in this order; every refusal but the last is INVALID_REQUEST 400:
//   - more than kMaxPipesSendBodyBytes, not strict JSON, not an object, an
//     unknown field, a field not a string, conversationId missing;
//   - neither or both of text and media; text blank or over 4096 code
//     points; caption, mimeType or fileName without media;
//   - mimeType not type/subtype (parameters after ';' allowed); caption
//     over 1024 code points; fileName over 255;
//   - media: "data:<mime>;base64,<data>" or base64 (standard or URL
//     alphabet, not mixed, padding optional) is an upload (its mimeType, or
//     the data: URL's, is required; decoded at most 16 MiB); digits only,
//     1-64 of them, a Meta media id; an https:// URL (at most 2048
//     bytes; the SSRF guard is the caller's) a link; any other
//     text with a ':' (http://, ftp:, ...) is refused, as is empty media;
//   - a caption on audio;
//   - last, conversationId not a conv_ TypeID: 404 CONVERSATION_NOT_FOUND,
//     the answer an unknown or another tenant's conversation gets, in the
//     place the caller's store check would give it.
// The media type: image/*, video/*, audio/* by the MIME type (any case),
// every other MIME type a document. A link or id without a MIME type: by
// the extension of fileName, else of the link's path (jpg jpeg png webp
// -> image, mp4 3gp -> video, aac amr mp3 m4a ogg opus -> audio), else a
// document. fileName is kept for documents only; an empty caption is none.
Outcome<PipesSend, PipesError> parse_rest_send(std::string_view body);

// What Meta is sent for s: a text, or a media message by link or id with
// its caption and (documents) file name. For an upload, uploaded_media_id
// is the id Meta's media endpoint returned.
GraphContent pipes_content(const PipesSend& s, std::string_view uploaded_media_id = {});

// The send of a checked body: a conversation message (the key's scope added
// by the caller).
SendRequest pipes_send_request(const PipesSend& s, std::string_view uploaded_media_id = {});

// The SSRF guard on a link's URL (SPEC §8.3, as a client's callback_url in
// §3.1 whatsapp_callback_allow): guard.check_url's target, whose host the
// caller still resolves and judges when it is a name (is_literal false).
// Refused: INVALID_REQUEST 400 naming why ("media URL: address is not
// public"). Meta is sent the link as the client wrote it: it fetches the
// file itself, not the gateway.
Outcome<CallbackTarget, PipesError> check_media_link(std::string_view link,
                                                     const CallbackGuard& guard);

// 200: {"success":true,"messageId":...,"conversationId":...}.
std::string rest_send_ok_json(std::string_view message_id, std::string_view conversation_id);
// {"success":false,"error":message,"code":code}, with "messageId" when e
// names one (UPSTREAM_TIMEOUT); the status is e.http_status.
std::string pipes_error_json(const PipesError& e);

// -- errors of the shared send path -------------------------------------------------------

// An INVALID_REQUEST 400 with this message (e.g. a poolNumberId that is
// not the conversation's number).
PipesError pipes_invalid_request(std::string message, std::string conversation_id = {});

// The store's refusals: no_such_message -> CONVERSATION_NOT_FOUND 404,
// recipient_mismatch -> INVALID_REQUEST 400, window_closed ->
// SERVICE_WINDOW_EXPIRED 403, no_credit -> INSUFFICIENT_BALANCE 402,
// outside_scope -> CONVERSATION_SCOPE_VIOLATION 403.
PipesError pipes_refusal(SendRefusal refusal);

// Any ReplyError of the send path (api/prelude.hpp, api/messaging.hpp,
// src/ngx). First the codes whose status does not decide:
//   forbidden as reply_error(ReplyFailure::outside_scope) words it ->
//     CONVERSATION_SCOPE_VIOLATION 403
//   window_expired (422) -> SERVICE_WINDOW_EXPIRED 403
//   phone_number_mismatch -> INVALID_REQUEST 400 (toNumber)
//   invalid_cursor -> INVALID_CURSOR 400, method_not_allowed ->
//   METHOD_NOT_ALLOWED 405, idempotency_key_in_use -> IDEMPOTENCY_KEY_IN_USE
//   409, idempotency_key_reused -> IDEMPOTENCY_KEY_REUSED 422,
//   internal_error -> INTERNAL_ERROR 500, store_unavailable ->
//   SERVICE_UNAVAILABLE 503
// then the status (the codes that have it today in brackets):
//   401 -> UNAUTHORIZED (missing_api_token, invalid_api_token, unauthorized)
//   402 -> INSUFFICIENT_BALANCE (insufficient_balance)
//   403 -> FORBIDDEN (forbidden: the key lacks the scope)
//   404 -> CONVERSATION_NOT_FOUND (invalid_reply_context, not_found)
//   429 -> RATE_LIMITED, retry_after_s kept (rate_limited)
//   502 -> UPSTREAM_ERROR (upstream_error)
//   504 -> UPSTREAM_TIMEOUT, message_id kept and named in the message
//          (upstream_timeout)
//   any other 4xx -> INVALID_REQUEST 400, message kept (invalid_request,
//          missing_text, invalid_phone_number, invalid_variables, ...)
//   anything else -> INTERNAL_ERROR 500.
PipesError pipes_error_of(const ReplyError& e);

// The send path's ReplyError for a refusal of this codec (parse_rest_send,
// check_media_link), which pipes_error_of turns back into e's code, status
// and message: INVALID_REQUEST -> invalid_request 400,
// CONVERSATION_NOT_FOUND -> not_found 404; any other code lowercased, with
// its status.
ReplyError reply_error_of(const PipesError& e);

}  // namespace wa

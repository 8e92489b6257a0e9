#include "api/pipes.hpp"

#include <utility>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>

#include "base/chars.hpp"
#include "base/clock.hpp"
#include "base/crypto.hpp"
#include "base/json.hpp"
#include "base/text.hpp"

namespace wa {

namespace {

using rapidjson::Value;

constexpr std::string_view kInvalidRequest = "INVALID_REQUEST";
constexpr std::size_t kMaxFileNameChars = 255;
constexpr std::size_t kMaxLinkBytes = 2048;
constexpr std::size_t kMaxMimeBytes = 255;
// The longest base64 (padded) of kMaxPipesMediaBytes.
constexpr std::size_t kMaxMediaBase64 = (kMaxPipesMediaBytes + 2) / 3 * 4;

PipesError pipes_error(int status, std::string_view code, std::string message,
                       std::string conversation_id = {}) {
    PipesError e;
    e.http_status = status;
    e.code = code;
    e.message = std::move(message);
    e.conversation_id = std::move(conversation_id);
    return e;
}

PipesError invalid(std::string message, std::string conversation_id = {}) {
    return pipes_error(400, kInvalidRequest, std::move(message), std::move(conversation_id));
}

PipesError not_found() {
    return pipes_error(404, "CONVERSATION_NOT_FOUND", "conversation not found");
}

PipesError window_expired() {
    // Pipes.bot's own wording (shared/reference/pipes-bot-sending-replies.txt).
    return pipes_error(403, "SERVICE_WINDOW_EXPIRED",
                       "Service window expired — last inbound message is older than 24 hours.");
}

PipesError scope_violation() {
    return pipes_error(403, "CONVERSATION_SCOPE_VIOLATION",
                       "this connection is scoped to another conversation");
}

PipesError recipient_mismatch() { return invalid("toNumber is not the conversation's customer"); }

std::string string_of(const Value& v) { return {v.GetString(), v.GetStringLength()}; }

bool starts_with_nocase(std::string_view s, std::string_view prefix) {
    if (s.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); i++) {
        if (ascii_lower(s[i]) != prefix[i]) return false;
    }
    return true;
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        c = ascii_lower(c);
    return out;
}

// At most max_bytes of strict JSON, an object.
std::optional<PipesError> parse_object(std::string_view json, std::size_t max_bytes,
                                       rapidjson::Document& doc, std::string_view what) {
    if (json.size() > max_bytes) {
        return invalid(std::string(what) + " larger than " + std::to_string(max_bytes) + " bytes");
    }
    JsonLimits limits;
    limits.max_bytes = max_bytes;
    if (auto r = parse_json_strict(json, doc, limits); !r) {
        return invalid(std::string(what) + " is not valid JSON: " + r.error().message);
    }
    if (!doc.IsObject()) return invalid(std::string(what) + " must be a JSON object");
    return std::nullopt;
}

// The text of a message: not blank, at most 4096 code points.
std::optional<PipesError> check_text(std::string_view text, const std::string& conversation_id) {
    if (is_blank(text)) return invalid("text must not be empty", conversation_id);
    if (utf8_length(text) > kMaxPipesTextChars) {
        return invalid("text is longer than " + std::to_string(kMaxPipesTextChars) + " characters",
                       conversation_id);
    }
    return std::nullopt;
}

// -- REST media ---------------------------------------------------------------------------

// RFC 9110 token characters.
bool is_tchar(char c) {
    return is_alnum(c) || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
        if (!is_tchar(c)) return false;
    }
    return true;
}

// type/subtype, optionally followed by ";" parameters of printable ASCII.
bool valid_mime(std::string_view mime) {
    if (mime.size() > kMaxMimeBytes) return false;
    for (char c : mime) {
        if (!is_printable(c)) return false;
    }
    std::string_view essence = mime.substr(0, mime.find(';'));
    std::size_t slash = essence.find('/');
    return slash != std::string_view::npos && is_token(essence.substr(0, slash)) &&
           is_token(trim_space(essence.substr(slash + 1)));
}

// Meta's media type for a MIME type (any case).
std::string media_type_of_mime(std::string_view mime) {
    for (std::string_view t : {"image", "video", "audio"}) {
        if (starts_with_nocase(mime, std::string(t) + "/")) return std::string(t);
    }
    return "document";
}

// The lowercase extension of the last path segment of name ("" for none).
std::string extension(std::string_view name) {
    name = name.substr(0, name.find_first_of("?#"));
    std::size_t slash = name.rfind('/');
    if (slash != std::string_view::npos) name.remove_prefix(slash + 1);
    std::size_t dot = name.rfind('.');
    return dot == std::string_view::npos ? std::string() : lower(name.substr(dot + 1));
}

std::string media_type_of_extension(std::string_view ext) {
    static constexpr std::pair<std::string_view, std::string_view> kTypes[] = {
        {"jpg", "image"}, {"jpeg", "image"}, {"png", "image"}, {"webp", "image"},
        {"mp4", "video"}, {"3gp", "video"},  {"aac", "audio"}, {"amr", "audio"},
        {"mp3", "audio"}, {"m4a", "audio"},  {"ogg", "audio"}, {"opus", "audio"},
    };
    for (auto [e, type] : kTypes) {
        if (ext == e) return std::string(type);
    }
    return "document";
}

// base64 in the standard or the URL alphabet (not both), padding optional,
// decoded to at most kMaxPipesMediaBytes.
Outcome<std::string, PipesError> decode_media_base64(std::string_view b64) {
    if (b64.empty()) return invalid("media has no base64 data");
    if (b64.size() > kMaxMediaBase64) {
        return invalid("media is larger than " + std::to_string(kMaxPipesMediaBytes) + " bytes");
    }
    const bool standard = b64.find_first_of("+/") != std::string_view::npos;
    const bool url = b64.find_first_of("-_") != std::string_view::npos;
    if (standard && url) return invalid("media mixes the base64 and base64url alphabets");
    Result<std::string> bytes = [&] {
        if (!url) return base64_decode(b64);
        std::string translated(b64);
        for (char& c : translated) {
            c = c == '-' ? '+' : c == '_' ? '/' : c;
        }
        return base64_decode(translated);
    }();
    if (!bytes) {
        return invalid("media is neither an https URL, a media id nor base64 (" +
                       bytes.error().message + ")");
    }
    if (bytes->size() > kMaxPipesMediaBytes) {
        return invalid("media is larger than " + std::to_string(kMaxPipesMediaBytes) + " bytes");
    }
    return std::move(*bytes);
}

// media as a link, an id or an upload, into s (mime_type: mimeType as given).
std::optional<PipesError> classify_media(std::string_view media, PipesSend& s) {
    if (media.empty()) return invalid("media must not be empty");
    std::string_view b64 = media;
    if (starts_with_nocase(media, "data:")) {
        std::size_t comma = media.find(',');
        if (comma == std::string_view::npos) return invalid("media data: URL has no ','");
        std::string_view meta = media.substr(5, comma - 5);
        constexpr std::string_view kBase64 = ";base64";
        if (meta.size() < kBase64.size() ||
            lower(meta.substr(meta.size() - kBase64.size())) != kBase64) {
            return invalid("media data: URL must be base64 (data:<mime>;base64,...)");
        }
        std::string_view mime = meta.substr(0, meta.find(';'));
        if (s.mime_type.empty() && !mime.empty()) {
            if (!valid_mime(mime)) return invalid("media data: URL has an invalid MIME type");
            s.mime_type = mime;
        }
        b64 = media.substr(comma + 1);
    } else if (media.find(':') != std::string_view::npos) {
        // No base64 or media id has a ':': this is a URL.
        if (!starts_with_nocase(media, "https://") || media.size() == 8) {
            return invalid("media URL must be https");
        }
        if (media.size() > kMaxLinkBytes) {
            return invalid("media URL longer than " + std::to_string(kMaxLinkBytes) + " bytes");
        }
        s.media = PipesMediaSource::link;
        s.media_link = media;
        return std::nullopt;
    } else if (all_digits(media) && media.size() <= kMaxPipesMediaIdChars) {
        s.media = PipesMediaSource::id;
        s.media_id = media;
        return std::nullopt;
    }
    if (s.mime_type.empty()) return invalid("mimeType is required for base64 media");
    auto bytes = decode_media_base64(b64);
    if (!bytes) return bytes.error();
    s.media = PipesMediaSource::upload;
    s.media_bytes = std::move(*bytes);
    return std::nullopt;
}

// Every REST check but the conversation's, on a parsed object.
std::optional<PipesError> check_rest_send(const Value& doc, PipesSend& s) {
    const std::initializer_list<std::string_view> fields = {
        "conversationId", "text", "media", "mimeType", "fileName", "caption"};
    if (auto e = check_known_fields(doc, fields)) return pipes_error_of(*e);
    if (auto e = check_prelude_fields(doc, fields, {"conversationId"})) return pipes_error_of(*e);
    s.conversation_id = prelude_string(doc, "conversationId");
    bool has_text = false, has_media = false, has_mime = false, has_name = false,
         has_caption = false;
    std::string text = prelude_string(doc, "text", &has_text);
    std::string media = prelude_string(doc, "media", &has_media);
    s.mime_type = prelude_string(doc, "mimeType", &has_mime);
    s.file_name = prelude_string(doc, "fileName", &has_name);
    std::string caption = prelude_string(doc, "caption", &has_caption);
    if (has_text == has_media) return invalid("exactly one of text and media is required");
    if (has_text) {
        if (has_caption || has_mime || has_name) {
            return invalid("caption, mimeType and fileName go with media, not text");
        }
        if (auto e = check_text(text, s.conversation_id)) return e;
        s.text = std::move(text);
        return std::nullopt;
    }
    if (has_mime && !valid_mime(s.mime_type)) return invalid("mimeType must be type/subtype");
    if (utf8_length(caption) > kMaxPipesCaptionChars) {
        return invalid("caption is longer than " + std::to_string(kMaxPipesCaptionChars) +
                       " characters");
    }
    if (utf8_length(s.file_name) > kMaxFileNameChars) {
        return invalid("fileName is longer than " + std::to_string(kMaxFileNameChars) +
                       " characters");
    }
    if (auto e = classify_media(media, s)) return e;
    if (!s.mime_type.empty()) {
        s.media_type = media_type_of_mime(s.mime_type);
    } else {
        std::string ext = extension(s.file_name);
        if (ext.empty() && s.media == PipesMediaSource::link) ext = extension(s.media_link);
        s.media_type = media_type_of_extension(ext);
    }
    if (s.media_type == "audio" && !caption.empty()) {
        return invalid("audio takes no caption");
    }
    if (s.media_type != "document") s.file_name.clear();
    s.text = std::move(caption);
    return std::nullopt;
}

// Writes one JSON object, fields() writing its members.
template <class Fields>
std::string json_object(Fields fields) {
    rapidjson::StringBuffer sb;
    JsonWriter w(sb);
    w.StartObject();
    fields(w);
    w.EndObject();
    return {sb.GetString(), sb.GetSize()};
}

// {"type":type,"data":{...}} with fields() writing data's members.
template <class Fields>
std::string typed_frame(std::string_view type, Fields fields) {
    return json_object([&](JsonWriter& w) {
        json_put(w, "type", type);
        w.Key("data");
        w.StartObject();
        fields(w);
        w.EndObject();
    });
}

void put_bool(JsonWriter& w, const char* key, bool value) {
    w.Key(key);
    w.Bool(value);
}

}  // namespace

// -- client -> server ---------------------------------------------------------------------

Outcome<PipesClientMessage, PipesError> decode_client_message(std::string_view json) {
    JsonDocument doc;
    if (auto e = parse_object(json, kMaxPipesClientMessageBytes, doc, "message")) {
        return std::move(*e);
    }
    const Value* type = member(doc, "type");
    if (type == nullptr || !type->IsString()) return invalid("type must be a string");
    PipesClientMessage out;
    std::string_view t(type->GetString(), type->GetStringLength());
    if (t == "ping") {
        out.kind = PipesClientMessage::Kind::ping;
        return out;
    }
    if (t != "whatsapp_reply") {
        return invalid("unknown message type \"" + log_escape(t, 64) +
                       "\"; expected whatsapp_reply or ping");
    }
    const Value* data = member(doc, "data");
    if (data == nullptr || !data->IsObject()) return invalid("data must be an object");
    const Value* conv = member(*data, "conversationId");
    if (conv != nullptr && conv->IsString()) out.conversation_id = string_of(*conv);
    if (auto e = check_prelude_fields(*data, {"conversationId", "poolNumberId", "toNumber", "text"},
                                      {"conversationId", "text"})) {
        return invalid(std::move(e->message), out.conversation_id);
    }
    out.pool_number_id = prelude_string(*data, "poolNumberId", &out.has_pool_number_id);
    out.to_number = prelude_string(*data, "toNumber", &out.has_to_number);
    out.text = prelude_string(*data, "text");
    if (auto e = check_text(out.text, out.conversation_id)) return std::move(*e);
    if (auto id = typeid_decode_as("conv", out.conversation_id)) out.conversation = *id;
    return out;
}

SendRequest pipes_reply_request(const PipesClientMessage& reply) {
    SendRequest s;
    s.conversation = reply.conversation;
    s.to = reply.to_number;
    s.content.kind = GraphContent::Kind::text;
    s.content.text = reply.text;
    return s;
}

// -- server -> client ---------------------------------------------------------------------

std::string connected_frame(std::string_view tenant, std::string_view connection_id,
                            const std::optional<std::string>& conversation_id) {
    return json_object([&](JsonWriter& w) {
        json_put(w, "type", "connected");
        json_put(w, "userId", tenant);
        json_put(w, "connectionId", connection_id);
        json_put(w, "scope", conversation_id ? "conversation" : "user");
        if (conversation_id) json_put(w, "conversationId", *conversation_id);
    });
}

std::string whatsapp_message_frame(const PipesMessage& m) {
    return typed_frame("whatsapp_message", [&](JsonWriter& w) {
        json_put(w, "messageId", m.message_id);
        json_put(w, "conversationId", m.conversation_id);
        json_put(w, "poolNumberId", m.pool_number_id);
        json_put(w, "poolNumberPhoneNumber", m.pool_number_phone);
        json_put(w, "fromNumber", m.from_number);
        json_put(w, "fromName", m.from_name);
        json_put(w, "text", m.text);
        json_put(w, "body", m.text);
        json_put(w, "type", m.type);
        json_put(w, "timestamp", rfc3339_s(m.timestamp_s));
        if (m.has_media) {
            w.Key("media");
            w.StartObject();
            json_put(w, "mediaId", m.media_id);
            json_put(w, "downloadUrl", m.download_url);
            json_put(w, "mimeType", m.mime_type);
            json_put(w, "fileName", m.file_name);
            w.EndObject();
        }
        if (!m.reply_to.empty()) json_put(w, "replyTo", m.reply_to);
        json_put(w, "eventId", m.event_id);
    });
}

std::string message_status_frame(const PipesStatus& s) {
    return typed_frame("message_status", [&](JsonWriter& w) {
        json_put(w, "messageId", s.message_id);
        json_put(w, "conversationId", s.conversation_id);
        json_put(w, "status", s.status);
        if (s.has_error) {
            w.Key("error");
            w.StartObject();
            w.Key("code");
            w.Int64(s.error_code);
            json_put(w, "title", s.error_title);
            w.EndObject();
        }
        json_put(w, "eventId", s.event_id);
    });
}

std::string reply_status_ok(std::string_view conversation_id, std::string_view message_id) {
    return typed_frame("reply_status", [&](JsonWriter& w) {
        json_put(w, "conversationId", conversation_id);
        put_bool(w, "success", true);
        json_put(w, "messageId", message_id);
    });
}

namespace {

std::string reply_status_failed(std::string_view conversation_id, std::string_view error_text,
                                std::string_view code, std::string_view message_id) {
    return typed_frame("reply_status", [&](JsonWriter& w) {
        json_put(w, "conversationId", conversation_id);
        put_bool(w, "success", false);
        json_put(w, "error", error_text);
        json_put(w, "code", code);
        if (!message_id.empty()) json_put(w, "messageId", message_id);
    });
}

}  // namespace

std::string reply_status_error(std::string_view conversation_id, std::string_view error_text,
                               std::string_view code) {
    return reply_status_failed(conversation_id, error_text, code, {});
}

std::string reply_status_error(const PipesError& e) {
    return reply_status_failed(e.conversation_id, e.message, e.code, e.message_id);
}

std::string error_frame(std::string_view code, std::string_view message) {
    return json_object([&](JsonWriter& w) {
        json_put(w, "type", "error");
        json_put(w, "code", code);
        json_put(w, "message", message);
    });
}

std::string pong_frame() { return R"({"type":"pong"})"; }

// -- REST send ----------------------------------------------------------------------------

Outcome<PipesSend, PipesError> parse_rest_send(std::string_view body) {
    JsonDocument doc;
    if (auto e = parse_object(body, kMaxPipesSendBodyBytes, doc, "request body")) {
        return std::move(*e);
    }
    PipesSend s;
    if (auto e = check_rest_send(doc, s)) {
        e->conversation_id = s.conversation_id;
        return std::move(*e);
    }
    auto id = typeid_decode_as("conv", s.conversation_id);
    if (!id) {
        PipesError e = not_found();
        e.conversation_id = s.conversation_id;
        return e;
    }
    s.conversation = *id;
    return s;
}

GraphContent pipes_content(const PipesSend& s, std::string_view uploaded_media_id) {
    GraphContent c;
    c.text = s.text;
    if (s.media == PipesMediaSource::none) {
        c.kind = GraphContent::Kind::text;
        return c;
    }
    c.kind = GraphContent::Kind::media;
    c.media_type = s.media_type;
    c.media_link = s.media_link;
    c.media_id = s.media == PipesMediaSource::upload ? std::string(uploaded_media_id) : s.media_id;
    c.filename = s.file_name;
    return c;
}

SendRequest pipes_send_request(const PipesSend& s, std::string_view uploaded_media_id) {
    SendRequest r;
    r.conversation = s.conversation;
    r.content = pipes_content(s, uploaded_media_id);
    return r;
}

Outcome<CallbackTarget, PipesError> check_media_link(std::string_view link,
                                                     const CallbackGuard& guard) {
    auto target = guard.check_url(link);
    if (!target) return invalid("media URL: " + target.error().message);
    return std::move(*target);
}

std::string rest_send_ok_json(std::string_view message_id, std::string_view conversation_id) {
    return json_object([&](JsonWriter& w) {
        put_bool(w, "success", true);
        json_put(w, "messageId", message_id);
        json_put(w, "conversationId", conversation_id);
    });
}

std::string pipes_error_json(const PipesError& e) {
    return json_object([&](JsonWriter& w) {
        put_bool(w, "success", false);
        json_put(w, "error", e.message);
        json_put(w, "code", e.code);
        if (!e.message_id.empty()) json_put(w, "messageId", e.message_id);
    });
}

// -- errors -------------------------------------------------------------------------------

PipesError pipes_invalid_request(std::string message, std::string conversation_id) {
    return invalid(std::move(message), std::move(conversation_id));
}

PipesError pipes_refusal(SendRefusal refusal) {
    switch (refusal) {
        case SendRefusal::no_such_message: return not_found();
        case SendRefusal::recipient_mismatch: return recipient_mismatch();
        case SendRefusal::window_closed: return window_expired();
        case SendRefusal::no_credit:
            return pipes_error(402, "INSUFFICIENT_BALANCE", "the number's credits are used up");
        case SendRefusal::outside_scope: return scope_violation();
    }
    return not_found();
}

PipesError pipes_error_of(const ReplyError& e) {
    const std::string& c = e.code;
    // The codes Pipes answers otherwise than their status says.
    if (c == "forbidden" && e.message == reply_error(ReplyFailure::outside_scope).message) {
        return scope_violation();
    }
    if (c == "window_expired") return window_expired();
    if (c == "phone_number_mismatch") return recipient_mismatch();
    static constexpr std::pair<std::string_view, std::pair<int, std::string_view>> kOwn[] = {
        {"invalid_cursor", {400, "INVALID_CURSOR"}},
        {"method_not_allowed", {405, "METHOD_NOT_ALLOWED"}},
        {"idempotency_key_in_use", {409, "IDEMPOTENCY_KEY_IN_USE"}},
        {"idempotency_key_reused", {422, "IDEMPOTENCY_KEY_REUSED"}},
        {"internal_error", {500, "INTERNAL_ERROR"}},
        {"store_unavailable", {503, "SERVICE_UNAVAILABLE"}},
    };
    for (const auto& [code, target] : kOwn) {
        if (c == code) return pipes_error(target.first, target.second, e.message);
    }
    // The rest by status: each of these has one Pipes code.
    switch (e.http_status) {
        case 401: return pipes_error(401, "UNAUTHORIZED", e.message);
        case 402: return pipes_refusal(SendRefusal::no_credit);
        case 403: return pipes_error(403, "FORBIDDEN", e.message);
        case 404: return not_found();
        case 429: {
            PipesError p = pipes_error(429, "RATE_LIMITED", e.message);
            p.retry_after_s = e.retry_after_s;
            return p;
        }
        case 502: return pipes_error(502, "UPSTREAM_ERROR", e.message);
        case 504: {
            PipesError p = pipes_error(
                504, "UPSTREAM_TIMEOUT",
                "the WhatsApp API did not answer: the message may have been sent; it is tracked "
                "as " +
                    (e.message_id.empty() ? std::string("its message id") : e.message_id) +
                    ", do not send it again");
            p.message_id = e.message_id;
            return p;
        }
        default: break;
    }
    if (e.http_status >= 400 && e.http_status < 500) return invalid(e.message);
    return pipes_error(500, "INTERNAL_ERROR", e.message);
}

ReplyError reply_error_of(const PipesError& e) {
    if (e.code == kInvalidRequest) return ReplyError{400, "invalid_request", e.message};
    if (e.code == "CONVERSATION_NOT_FOUND") return ReplyError{404, "not_found", e.message};
    std::string code;
    for (char c : e.code)
        code += ascii_lower(c);
    ReplyError r{e.http_status, std::move(code), e.message};
    r.retry_after_s = e.retry_after_s;
    r.message_id = e.message_id;
    return r;
}

}  // namespace wa

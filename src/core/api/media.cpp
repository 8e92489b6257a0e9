#include "api/media.hpp"

#include "base/json.hpp"
#include "base/text.hpp"
#include "domain/media.hpp"

namespace wa {

namespace {

constexpr int kGraphInvalidParameter = 100;  // what Graph answers for an id it will not give

ReplyError upstream_error() {
    return ReplyError(502, "UPSTREAM_ERROR", "WhatsApp did not give the media; retry later");
}

ReplyError upstream_timeout() {
    return ReplyError(504, "UPSTREAM_TIMEOUT", "WhatsApp did not answer in time; retry later");
}

}  // namespace

KeyAuth authorize_media(const ApiKeys& keys, std::string_view authorization,
                        std::string_view query_args) {
    std::string header(authorization);
    if (header.empty()) {
        auto key = query_param(query_args, "apiKey");
        if (key && !key->empty()) header = "Bearer " + *key;
    }
    KeyAuth auth = keys.authorize(header, Scope::messages_read);
    if (auth.check == KeyCheck::forbidden && auth.key->allows(Scope::events_stream)) {
        auth.check = KeyCheck::ok;
    }
    return auth;
}

std::optional<std::string> media_path_id(std::string_view location, std::string_view uri) {
    if (!uri.starts_with(location)) return std::nullopt;
    std::string_view rest = uri.substr(location.size());
    if (location.empty() || location.back() != '/') {
        if (rest.empty() || rest.front() != '/') return std::nullopt;
        rest.remove_prefix(1);
    }
    if (!valid_media_id(rest)) return std::nullopt;
    return std::string(rest);
}

ReplyError media_unauthorized(KeyCheck check) {
    if (check == KeyCheck::forbidden) {
        return ReplyError(403, "FORBIDDEN",
                          "the API key needs the messaging:messages:read or events:stream scope");
    }
    return ReplyError(401, "UNAUTHORIZED",
                      check == KeyCheck::missing
                          ? "an API key is required: Authorization: Bearer <key> or ?apiKey=<key>"
                          : "unknown API key");
}

ReplyError media_not_found() { return ReplyError(404, "MEDIA_NOT_FOUND", "media not found"); }

ReplyError media_method_not_allowed() { return ReplyError(405, "METHOD_NOT_ALLOWED", "use GET"); }

ReplyError media_unavailable() {
    return ReplyError(503, "SERVICE_UNAVAILABLE", "the store is unavailable; retry later");
}

ReplyError media_info_error(int status, int local_status, const GraphResult& g) {
    if (status == 0) return local_status == 504 ? upstream_timeout() : upstream_error();
    if (status == 404 || g.meta.code == kGraphInvalidParameter) return media_not_found();
    if (g.outcome == GraphOutcome::throttled) {
        return ReplyError(429, "RATE_LIMITED", "WhatsApp is rate limiting; retry later", {},
                          g.retry_after_s);
    }
    return upstream_error();
}

ReplyError media_url_refused() { return upstream_error(); }

bool media_fetch_streams(int status) { return status == 200; }

ReplyError media_fetch_error(int status, int local_status) {
    if (status == 404 || status == 410) return media_not_found();
    if (status == 0 && local_status == 504) return upstream_timeout();
    return upstream_error();
}

std::string media_error_json(const ReplyError& e) {
    rapidjson::StringBuffer sb;
    JsonWriter w(sb);
    w.StartObject();
    w.Key("success");
    w.Bool(false);
    json_put(w, "error", e.message);
    json_put(w, "code", e.code);
    w.EndObject();
    return {sb.GetString(), sb.GetSize()};
}

}  // namespace wa

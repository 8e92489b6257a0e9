#include "domain/media.hpp"

#include <array>

#include "base/chars.hpp"
#include "base/json.hpp"
#include "domain/conversations.hpp"

namespace wa {

namespace {

constexpr std::size_t kMaxMediaId = 128;
constexpr std::size_t kUuidBytes = 16;

constexpr std::array<std::string_view, 5> kMediaTypes{"image", "video", "audio", "document",
                                                      "sticker"};

std::string entry_of(const Conversation& conv, const Message& msg) {
    std::string v(key_of(conv.id));
    v.append(key_of(msg.id));
    return v;
}

// Writes id -> (conv, msg) unless another tenant owns id already.
Result<void> note(Txn& txn, const Conversation& conv, const Message& msg, std::string_view id) {
    std::string key = bounded_key(id);
    auto existing = txn.get(Db::media, key);
    if (!existing) return existing.error();
    if (*existing && (*existing)->size() >= kUuidBytes) {
        auto owner = conversation_by_id(txn, uuid_from_key(**existing));
        if (!owner) return owner.error();
        if (*owner && (*owner)->tenant != conv.tenant) return {};
    }
    return txn.put(Db::media, key, entry_of(conv, msg));
}

// content's media.id when it is a valid media id; "" otherwise.
std::string valid_id_in(const rapidjson::Value& content) {
    const rapidjson::Value* media = content.IsObject() ? member(content, "media") : nullptr;
    const rapidjson::Value* id = media && media->IsObject() ? member(*media, "id") : nullptr;
    if (id == nullptr || !id->IsString()) return {};
    std::string out(id->GetString(), id->GetStringLength());
    return valid_media_id(out) ? out : std::string();
}

}  // namespace

bool valid_media_id(std::string_view id) {
    if (id.empty() || id.size() > kMaxMediaId || !is_alnum(id.front())) return false;
    for (char c : id) {
        if (!is_alnum(c) && c != '_' && c != '.' && c != '-') return false;
    }
    return true;
}

bool is_media_type(std::string_view type) {
    for (std::string_view t : kMediaTypes) {
        if (t == type) return true;
    }
    return false;
}

std::string media_id_of(const Message& m) {
    if (!is_media_type(m.type)) return {};
    JsonDocument doc;
    if (!parse_json_strict(m.content_json, doc)) return {};
    return valid_id_in(doc);
}

Result<void> note_media(Txn& txn, const Conversation& conv, const Message& msg) {
    std::string id = media_id_of(msg);
    if (id.empty()) return {};
    return note(txn, conv, msg, id);
}

Result<void> note_sent_media(Txn& txn, const Conversation& conv, const Message& sent,
                             std::string_view media_id) {
    if (!valid_media_id(media_id)) {
        return make_error("invalid_media_id", "not a media id: 1-128 of [A-Za-z0-9_.-] expected");
    }
    return note(txn, conv, sent, media_id);
}

Result<std::optional<Conversation>> media_owner(Txn& txn, std::string_view media_id,
                                                std::string_view tenant) {
    if (!valid_media_id(media_id)) return std::optional<Conversation>();
    auto entry = txn.get(Db::media, bounded_key(media_id));
    if (!entry) return entry.error();
    if (!*entry) return std::optional<Conversation>();
    if ((*entry)->size() != 2 * kUuidBytes) {
        return make_error("store_corrupt",
                          "media entry of " + std::to_string((*entry)->size()) + " bytes");
    }
    auto conv = conversation_by_id(txn, uuid_from_key(**entry));
    if (!conv) return conv.error();
    if (!*conv || (*conv)->tenant != tenant) return std::optional<Conversation>();
    return conv;
}

Result<void> forget_media(Txn& txn, const Message& msg) {
    std::string id = media_id_of(msg);
    if (id.empty()) return {};
    std::string key = bounded_key(id);
    auto entry = txn.get(Db::media, key);
    if (!entry) return entry.error();
    if (!*entry || (*entry)->size() != 2 * kUuidBytes ||
        (*entry)->substr(kUuidBytes) != key_of(msg.id)) {
        return {};
    }
    auto gone = txn.del(Db::media, key);
    if (!gone) return gone.error();
    return {};
}

std::string media_download_url(std::string_view prefix, std::string_view media_id) {
    if (prefix.empty() || !valid_media_id(media_id)) return {};
    std::string url(prefix);
    if (url.back() != '/') url.push_back('/');
    url.append(media_id);  // a valid id has nothing to escape in a path
    return url;
}

std::string with_media_url(std::string_view content_json, std::string_view prefix) {
    JsonDocument doc;
    if (prefix.empty() || !parse_json_strict(content_json, doc)) return std::string(content_json);
    std::string id = valid_id_in(doc);
    if (id.empty()) return std::string(content_json);
    // HasMember/operator[]: rapidjson 1.1's mutable iterators compare
    // ambiguously under C++20 (valid_id_in found media an object).
    set_string_member(doc["media"], "url", media_download_url(prefix, id), doc.GetAllocator());
    return to_json(doc);
}

}  // namespace wa

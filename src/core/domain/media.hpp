// Media ownership (SPEC §8.4): which conversation's message carried a media
// id, so that a download is served to that conversation's tenant only, and
// where events point their media (content.media.url).
//
// Db::media, one entry per media id:
//   key   bounded_key(media id)
//   value conversation uuid (16 bytes) + message uuid (16 bytes): the
//         latest message of the owning tenant that carried the id.
// The first tenant to carry an id owns it: a later message of another
// tenant with the same id (Meta's ids are unique; a forged webhook signed
// with another tenant's own app secret could repeat one) changes nothing,
// so no tenant can take another's media away. A later message of the same
// tenant moves the entry to itself. Retention drops the entry with the
// message it names (forget_media); a pruned message that is not the one
// named leaves it alone.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "store/records.hpp"
#include "store/store.hpp"

namespace wa {

// 1-128 of [A-Za-z0-9_.-], the first a letter or digit. Meta's ids are
// digits; this is what may travel in a URI path segment (ours and Graph's)
// unescaped and never names "." or "..". Other ids are not recorded, and a
// download of one is 404.
bool valid_media_id(std::string_view id);

// image, video, audio, document, sticker: the types whose content has
// media {id, ...} (meta/webhook_content.cpp).
bool is_media_type(std::string_view type);

// The media.id of a message's content_json when its type is a media type
// and the id is valid; "" otherwise.
std::string media_id_of(const Message& m);

// An inbound media message (already added to the store): its media id ->
// its conversation (no-op for other messages). Ingest calls it for every
// message it stores.
Result<void> note_media(Txn& txn, const Conversation& conv, const Message& msg);

// An outbound media message that sent a media id the gateway uploaded
// itself (upload_media's answer): media_id -> conv, so the sender's tenant
// can download what it sent. Call it in the transaction that records the
// send, and only for ids Meta returned to our own upload: an id a client
// merely names must not become downloadable by it. Give the message a media
// type (image, video, audio, document, sticker) and keep media_id in its
// content_json as media.id, the inbound shape ({"type":"image","media":
// {"id":"..."}}), so that retention forgets it with the message. An invalid
// id is refused ("invalid_media_id").
Result<void> note_sent_media(Txn& txn, const Conversation& conv, const Message& sent,
                             std::string_view media_id);

// The conversation whose message carried media_id, when it is tenant's;
// nullopt for an unknown, pruned, invalid or another tenant's id. The
// caller still checks a conversation= key against it.
Result<std::optional<Conversation>> media_owner(Txn& txn, std::string_view media_id,
                                                std::string_view tenant);

// Retention: msg leaves the store, and so does its media id's entry when
// it names msg.
Result<void> forget_media(Txn& txn, const Message& msg);

// Where a media id is downloaded: prefix (the whatsapp_media location, e.g.
// "/v1/media/") + media id, with one '/' between them; "" when prefix is
// empty (no whatsapp_media location) or the id is not valid. For
// content.media.url in events and downloadUrl in stream frames.
std::string media_download_url(std::string_view prefix, std::string_view media_id);

// content_json (a message's content) with media.url set to
// media_download_url(prefix, media.id), replacing Meta's url; unchanged
// when it has no valid media id or prefix is empty.
std::string with_media_url(std::string_view content_json, std::string_view prefix);

}  // namespace wa

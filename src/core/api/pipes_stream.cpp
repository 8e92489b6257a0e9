#include "api/pipes_stream.hpp"

#include <rapidjson/document.h>

#include "base/json.hpp"
#include "domain/media.hpp"

namespace wa {

namespace {

// The media object of an inbound message's content ({"media":{id,
// mime_type, filename}}, meta/webhook_content).
void media_of(const Message& m, std::string_view prefix, PipesMessage& out) {
    if (m.content_json.empty()) return;
    JsonDocument doc;
    doc.Parse(m.content_json.data(), m.content_json.size());
    if (doc.HasParseError() || !doc.IsObject()) return;
    const rapidjson::Value* media = member(doc, "media");
    if (media == nullptr || !media->IsObject()) return;
    auto str = [&](std::string_view key) {
        const rapidjson::Value* v = member(*media, key);
        return v != nullptr && v->IsString() ? std::string(v->GetString(), v->GetStringLength())
                                             : std::string();
    };
    out.media_id = str("id");
    if (out.media_id.empty()) return;
    out.has_media = true;
    out.mime_type = str("mime_type");
    out.file_name = str("filename");
    out.download_url = media_download_url(prefix, out.media_id);
}

}  // namespace

PipesFrame pipes_stream_frame(const StreamEvent& ev, std::string_view media_prefix) {
    PipesFrame f;
    f.event_id = stream_event_id(ev.stamp);
    const Conversation& c = ev.conversation;
    const Message& m = ev.message;
    if (ev.entry.kind == StreamKind::status) {
        PipesStatus s;
        s.message_id = typeid_encode("tx", m.id);
        s.conversation_id = typeid_encode("conv", c.id);
        s.status = ev.entry.status;
        s.has_error = ev.entry.status == "failed" && ev.entry.error_code != 0;
        s.error_code = ev.entry.error_code;
        s.error_title = ev.entry.error_title;
        s.event_id = f.event_id;
        f.type = "message_status";
        f.json = message_status_frame(s);
        return f;
    }
    PipesMessage p;
    p.message_id = typeid_encode("im", m.id);
    p.conversation_id = typeid_encode("conv", c.id);
    p.pool_number_id = c.phone_number_id;
    p.pool_number_phone = c.business_number;
    p.from_number = c.customer;
    p.from_name = c.customer_name;
    p.text = m.text;
    p.type = m.type;
    p.timestamp_s = m.meta_timestamp;
    media_of(m, media_prefix, p);
    p.reply_to = m.reply_to;
    p.event_id = f.event_id;
    f.type = "whatsapp_message";
    f.json = whatsapp_message_frame(p);
    return f;
}

Outcome<SendRequest, PipesError> socket_reply_request(const PipesClientMessage& reply,
                                                      const std::optional<Uuid>& scope) {
    if (!reply.conversation) return pipes_refusal(SendRefusal::no_such_message);
    if (scope && *scope != *reply.conversation) {
        PipesError e = pipes_refusal(SendRefusal::outside_scope);
        e.conversation_id = reply.conversation_id;
        return e;
    }
    SendRequest send = pipes_reply_request(reply);
    send.phone_number_id = reply.pool_number_id;
    return send;
}

}  // namespace wa

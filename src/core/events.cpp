// Prelude-shaped event envelopes, written with RapidJSON's Writer so every
// string is escaped the same way.

#include "events.hpp"

#include <string_view>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "clock.hpp"

namespace wa {

namespace {

using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

void put(Writer& w, std::string_view key, std::string_view s)
{
    w.Key(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

}  // namespace

std::string encode_inbound_event(const InboundEvent& e)
{
    rapidjson::StringBuffer buf;
    Writer w(buf);

    w.StartObject();
    put(w, "id", e.event_id);
    put(w, "type", "inbound.message.received");

    w.Key("payload");
    w.StartObject();
    put(w, "message_id", e.message_id);
    put(w, "channel", "whatsapp");
    put(w, "from", e.from);
    put(w, "to", e.to);

    // content_json comes from decode_webhook, already a compact object;
    // embedded as is so applications get an object, not a string.
    std::string_view content = e.content_json;
    if (content.empty()) {
        content = "{}";
    }
    w.Key("content");
    w.RawValue(content.data(), content.size(), rapidjson::kObjectType);

    w.Key("conversation");
    w.StartObject();
    put(w, "id", e.conversation_id);
    put(w, "window_expires_at", rfc3339_ns(e.window_expires_at_ns));
    w.EndObject();

    if (!e.contact_name.empty()) {
        w.Key("contact");
        w.StartObject();
        put(w, "name", e.contact_name);
        w.EndObject();
    }
    if (!e.reply_to.empty()) {
        put(w, "reply_to", e.reply_to);
    }
    w.EndObject();

    put(w, "created_at", rfc3339_ns(e.created_at_ns));
    w.EndObject();

    return std::string(buf.GetString(), buf.GetSize());
}

std::string status_event_type(std::string_view status)
{
    std::string type = "transactional.message.";
    type.append(status);
    return type;
}

std::string encode_status_event(const StatusEvent& e)
{
    rapidjson::StringBuffer buf;
    Writer w(buf);

    w.StartObject();
    put(w, "id", e.event_id);
    put(w, "type", status_event_type(e.status));

    w.Key("payload");
    w.StartObject();
    put(w, "message_id", e.message_id);
    put(w, "status", e.status);
    put(w, "to", e.to);
    if (!e.correlation_id.empty()) {
        put(w, "correlation_id", e.correlation_id);
    }
    if (e.has_error) {
        w.Key("error");
        w.StartObject();
        w.Key("code");
        w.Int64(e.error_code);
        put(w, "title", e.error_title);
        put(w, "details", e.error_details);
        w.EndObject();
    }
    put(w, "created_at", rfc3339_ns(e.status_at_ns));
    w.EndObject();

    put(w, "created_at", rfc3339_ns(e.created_at_ns));
    w.EndObject();

    return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace wa

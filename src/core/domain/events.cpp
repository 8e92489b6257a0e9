// Prelude-shaped event envelopes, written with RapidJSON's Writer so every
// string is escaped the same way.

#include "domain/events.hpp"

#include "base/json.hpp"

#include <string_view>

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "base/clock.hpp"

namespace wa {

namespace {

using Writer = JsonWriter;

}  // namespace

std::string encode_inbound_event(const InboundEvent& e) {
    rapidjson::StringBuffer buf;
    Writer w(buf);

    w.StartObject();
    json_put(w, "id", e.event_id);
    json_put(w, "type", "inbound.message.received");

    w.Key("payload");
    w.StartObject();
    json_put(w, "message_id", e.message_id);
    json_put(w, "channel", "whatsapp");
    json_put(w, "from", e.from);
    json_put(w, "to", e.to);

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
    json_put(w, "id", e.conversation_id);
    json_put(w, "window_expires_at", rfc3339_ns(e.window_expires_at_ns));
    w.EndObject();

    if (!e.contact_name.empty()) {
        w.Key("contact");
        w.StartObject();
        json_put(w, "name", e.contact_name);
        w.EndObject();
    }
    if (!e.reply_to.empty()) {
        json_put(w, "reply_to", e.reply_to);
    }
    w.EndObject();

    json_put(w, "created_at", rfc3339_ns(e.created_at_ns));
    w.EndObject();

    return std::string(buf.GetString(), buf.GetSize());
}

std::string status_event_type(std::string_view status) {
    std::string type = "transactional.message.";
    type.append(status);
    return type;
}

std::string encode_status_event(const StatusEvent& e) {
    rapidjson::StringBuffer buf;
    Writer w(buf);

    w.StartObject();
    json_put(w, "id", e.event_id);
    json_put(w, "type", status_event_type(e.status));

    w.Key("payload");
    w.StartObject();
    json_put(w, "message_id", e.message_id);
    json_put(w, "status", e.status);
    json_put(w, "to", e.to);
    if (!e.correlation_id.empty()) {
        json_put(w, "correlation_id", e.correlation_id);
    }
    if (e.has_error) {
        w.Key("error");
        w.StartObject();
        w.Key("code");
        w.Int64(e.error_code);
        json_put(w, "title", e.error_title);
        json_put(w, "details", e.error_details);
        w.EndObject();
    }
    json_put(w, "created_at", rfc3339_ns(e.status_at_ns));
    w.EndObject();

    json_put(w, "created_at", rfc3339_ns(e.created_at_ns));
    w.EndObject();

    return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace wa

// Event envelopes delivered to applications (Prelude's shape, SPEC §5.1-5.2).
#pragma once

#include <cstdint>
#include <string>

namespace wa {

struct InboundEvent {
    std::string event_id;         // evt_...
    std::int64_t created_at_ns = 0;
    std::string message_id;       // im_...
    std::string conversation_id;  // conv_...
    std::string from;             // customer, E.164 with + (or BSUID)
    std::string to;               // business number, E.164 with +
    std::string content_json;     // InboundMessage::content_json (has "type" and "text")
    std::string contact_name;     // omitted when empty
    std::string reply_to;         // im_/tx_ id the customer quoted; omitted when empty
    std::int64_t window_expires_at_ns = 0;
};

// {"id","type":"inbound.message.received","payload":{message_id, channel,
//  from, to, content, conversation{id, window_expires_at}, contact?, reply_to?},
//  "created_at"}
std::string encode_inbound_event(const InboundEvent& e);

}  // namespace wa

// Event envelopes delivered to applications (Prelude's shape, SPEC §5.1-5.2).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace wa {

struct InboundEvent {
    std::string event_id;  // evt_...
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

// A status change of a message sent through the gateway (SPEC §5.2).
struct StatusEvent {
    std::string event_id;            // evt_...
    std::int64_t created_at_ns = 0;  // envelope: when the gateway made the event
    std::string status;              // sent|delivered|read|failed
    std::string message_id;          // tx_...
    std::string to;                  // recipient, E.164 with + (or BSUID)
    std::string correlation_id;      // omitted when empty
    std::int64_t status_at_ns = 0;   // payload created_at: when Meta saw the status
    bool has_error = false;          // failed with Meta's error
    std::int64_t error_code = 0;
    std::string error_title;
    std::string error_details;
};

// "transactional.message." + status.
std::string status_event_type(std::string_view status);

// {"id","type":"transactional.message.<status>","payload":{message_id,
//  status, to, correlation_id?, error{code,title,details}?, created_at},
//  "created_at"}
std::string encode_status_event(const StatusEvent& e);

}  // namespace wa

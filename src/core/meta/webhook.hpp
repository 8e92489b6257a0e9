// Meta's WhatsApp webhook (POST body) decoded into plain structs.
// Every entry x change x message/status/error is kept, in order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"

namespace wa {

struct MetaError {  // {code,title,message,error_data.details,href}
    std::int64_t code = 0;
    std::string title;
    std::string message;
    std::string details;
};

struct InboundMessage {
    std::string wamid;           // messages[].id
    std::string from;            // as Meta sent it (digits or +digits); may be empty
    std::string from_user_id;    // BSUID when Meta sends it
    std::int64_t timestamp = 0;  // Unix seconds (Meta sends a string)
    std::string type;            // text, image, ..., or an unknown type verbatim
    std::string context_id;      // context.id: the wamid the customer quoted
    std::string reaction_to;     // reaction.message_id: the wamid reacted to
    bool forwarded = false;      // context.forwarded or frequently_forwarded
    std::string contact_name;    // value.contacts[] profile.name matching from/wa_id
    // The event's "content" object as compact JSON, built from the type's
    // fields (see webhook.cpp for the mapping); always has "type".
    std::string content_json;
    // A short human text: text body, caption, button/interactive title,
    // system body, reaction emoji. Empty when the type has none.
    std::string text;
};

struct StatusUpdate {  // value.statuses[]
    std::string wamid;
    std::string status;  // sent|delivered|read|failed|played|...
    std::int64_t timestamp = 0;
    std::string recipient_id;
    // What we sent as biz_opaque_callback_data: our tx_ id, which links a
    // send whose outcome was unknown (SPEC §6.3) to its wamid.
    std::string biz_opaque_callback_data;
    std::vector<MetaError> errors;
};

struct WebhookChange {                 // one entry[].changes[] with field "messages"
    std::string phone_number_id;       // value.metadata.phone_number_id
    std::string display_phone_number;  // value.metadata.display_phone_number
    std::vector<InboundMessage> messages;
    std::vector<StatusUpdate> statuses;
    std::vector<MetaError> errors;  // value.errors[]
};

struct WebhookBatch {
    std::vector<WebhookChange> changes;  // only field == "messages"
    std::size_t ignored_changes = 0;     // other fields (account_update, ...)
};

// Decodes a parsed-and-signature-verified body. Whole-body validation: any
// shape error anywhere rejects the body (code "invalid_payload", message
// naming the JSON path, e.g. "entry[0].changes[1].value.metadata.phone_number_id
// must be a string"). Never reads only index 0.
Result<WebhookBatch> decode_webhook(std::string_view body);

// content_json with content.reaction.message_id replaced by id (the im_/tx_
// id the reacted-to wamid maps to). Returned unchanged when it has no
// reaction object or is not valid JSON.
std::string set_reaction_message_id(std::string_view content_json, std::string_view id);

}  // namespace wa

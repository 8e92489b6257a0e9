// The Pipes dialect's stream (SPEC §8.1): a stored stream entry as the
// frame every client of its tenant receives, and a socket's reply checked
// against the connection's scope. The frames' JSON is api/pipes.hpp's.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "api/pipes.hpp"
#include "base/ids.hpp"
#include "domain/send.hpp"
#include "domain/stream.hpp"

namespace wa {

struct PipesFrame {
    std::string event_id;  // se_...
    std::string type;      // whatsapp_message | message_status
    std::string json;      // the whole frame
};

// An inbound message as whatsapp_message (its media's downloadUrl under
// media_prefix, the whatsapp_media location; left out without one), a
// status change as message_status.
PipesFrame pipes_stream_frame(const StreamEvent& ev, std::string_view media_prefix);

// A whatsapp_reply on a connection limited to `scope` (a conversation=
// key, or ?conversationId=): another conversation is
// CONVERSATION_SCOPE_VIOLATION, a conversationId that is no conv_ id
// CONVERSATION_NOT_FOUND (as an unknown one is, later).
Outcome<SendRequest, PipesError> socket_reply_request(const PipesClientMessage& reply,
                                                      const std::optional<Uuid>& scope);

}  // namespace wa

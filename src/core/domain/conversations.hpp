// Conversation rules shared by inbound messages, statuses and sends:
// loading a referenced conversation, its event order, closing its window.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"
#include "domain/numbers.hpp"
#include "store/records.hpp"
#include "store/store.hpp"

namespace wa {

// The conversation with that id, of any tenant (whatsapp-admin; requests
// ask tenant_conversation); nullopt when there is none.
Result<std::optional<Conversation>> conversation_by_id(Txn& txn, const Uuid& id);
// The message with that id; nullopt when there is none.
Result<std::optional<Message>> message_by_id(Txn& txn, const Uuid& id);

// A conversation another record points to; missing means a broken store
// ("store_corrupt", naming the referrer).
Result<Conversation> load_conversation(Txn& txn, const Uuid& id, const char* referrer);

// The (business number, customer) conversation; nullopt when they never
// spoke.
Result<std::optional<Conversation>> find_conversation(Txn& txn, std::string_view number_e164,
                                                      std::string_view customer);

// The same, created on first contact (its pair index written; the caller
// writes the conversation).
Result<Conversation> conversation_for(Txn& txn, const NumberConfig& number,
                                      const std::string& customer, std::int64_t now_ns);

// The next event of c's queue, in the one per-conversation order of inbound
// and status events; the caller writes c back.
Event next_event(Conversation& c, std::string_view type, std::string_view number_e164,
                 std::string callback_url, std::int64_t now_ns);

// Meta said the window is closed (error 131047) as of failure_ts (Meta's
// seconds): Meta's clock wins, but only up to the failure, since an inbound
// message newer than it reopened the window. Never extends a window.
void close_window(Conversation& c, std::int64_t failure_ts, std::int64_t now_ns);

// The transactional.message.<msg.status> event of an outbound message
// (SPEC §5.2); with_error adds Meta's error fields stored on msg.
std::string status_event_body(const Event& ev, const Message& msg, bool with_error,
                              std::int64_t now_ns);

}  // namespace wa

// Sending a reply (SPEC §6.2 rows 7-10, §6.3): what the store must say
// before the Graph call, and what an accepted send leaves in the store.
// Dialect-neutral apart from the Prelude request it is given.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/api_keys.hpp"
#include "domain/numbers.hpp"
#include "domain/outbox.hpp"
#include "api/prelude.hpp"
#include "base/result.hpp"
#include "store/store.hpp"

namespace wa {

// Where a reply goes, as the store saw it before the send.
struct ReplyTarget {
    const NumberConfig* number = nullptr;  // the conversation's business number
    Uuid conversation{};
    std::string conversation_id;           // conv_...
    std::string context_wamid;             // the quoted inbound message's wamid
    std::int64_t window_expires_at_ns = 0;
    std::uint64_t credits_used = 0;        // accepted sends counted against credits
};

// Rows 7-9 of §6.2, in order, in a read (or write) transaction:
//   7 invalid_reply_context: reply_to is not an im_ id (request.reply_to_id
//     empty), no such message, not inbound, its conversation's number is no
//     longer configured, the number's tenant is not the key's, or the key is
//     limited to another conversation. One answer for all: no existence leak.
//   8 phone_number_mismatch: request.to is not the conversation's customer.
//   9 window_expired: the window closed at or before now.
// Row 10 needs the sends in flight, known only to the caller: see
// credit_available. Store failures come back as the Error side of Result.
// Once row 7 passed, target describes the conversation even when a later
// row fails (for logs and $whatsapp_* variables).
struct ReplyCheck {
    std::optional<ReplyFailure> failure;
    ReplyTarget target;
    bool ok() const { return !failure; }
};
Result<ReplyCheck> check_reply_target(Txn& txn, const ReplyRequest& request, const ApiKey& key,
                                      const NumberDirectory& numbers, std::int64_t now_ns);

// Row 10: a number without credits is unlimited; otherwise the accepted sends
// plus those in flight must stay below its credits.
bool credit_available(const NumberConfig& number, std::uint64_t used, std::uint64_t in_flight);

// Accepted sends of a number so far (Db::meta "credits_used/<e164>").
Result<std::uint64_t> credits_used(Txn& txn, std::string_view number_e164);

struct RecordedReply {
    Uuid id{};
    std::string message_id;  // tx_...
    std::int64_t created_at_ns = 0;
    std::int64_t window_expires_at_ns = 0;
    // transactional.message.created when it heads its conversation's queue,
    // leased to the caller to send now.
    std::vector<Delivery> deliveries;
};

// Meta accepted the send with wamid: stores the outbound message (status
// "created", tx_ <-> wamid), counts a credit when the number has credits,
// and enqueues transactional.message.created for the request's callback_url,
// else the number's callback.
Result<RecordedReply> record_reply(Txn& txn, const ReplyTarget& target,
                                   const ReplyRequest& request, std::string_view wamid,
                                   const DeliveryPolicy& policy, std::int64_t now_ns);

// Meta refused the send with 131047: the window is closed as of now.
// Returns the window's new end.
Result<std::int64_t> close_window_after_send(Txn& txn, const Uuid& conversation,
                                             std::int64_t now_ns);

}  // namespace wa

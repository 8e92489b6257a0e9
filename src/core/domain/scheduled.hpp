// Sends made later (SPEC §6.4 schedule_at): stored with the request, made
// by a worker's timer once due, dropped with a transactional.message.failed
// event when their expires_at passes first. A due send is leased to the
// worker that claims it (its due time moved to the lease's end), so one
// whose worker died is claimed again, and never sent twice at once.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "domain/send.hpp"

namespace wa {

// The conversation (created if none), the message with status "scheduled"
// and the send itself. Nothing goes to Meta and no credit is counted now.
Result<RecordedSend> schedule_send(Txn& txn, const SendTarget& target, const SendRequest& request,
                                   const PreparedSend& prepared, std::int64_t schedule_at_ns,
                                   std::int64_t expires_at_ns, std::int64_t now_ns);

// A scheduled send whose time has come, leased to the caller.
struct DueSend {
    Uuid id{};
    std::string message_id;   // tx_...
    std::string number_e164;  // the number it goes from
    std::string graph_body;
    bool expired = false;  // expires_at passed: drop it (fail_scheduled)
};

// Up to limit sends due at now, in due order, each leased until now + lease_ns.
Result<std::vector<DueSend>> claim_scheduled(Txn& txn, std::int64_t now_ns, std::size_t limit,
                                             std::int64_t lease_ns);

// The earliest due time (a send's time or a lease's end); nullopt when none.
Result<std::optional<std::int64_t>> next_scheduled(Txn& txn);

// Meta took it (wamid) or may have (empty wamid): the message becomes
// "created" (its wamid mapped, a credit counted, transactional.message.created
// queued) or "unknown" (the credit held), as record_send leaves a send.
// Nothing when the send is no longer scheduled (another worker finished it).
Result<RecordedSend> complete_scheduled(Txn& txn, const Uuid& id, std::string_view wamid,
                                        const NumberDirectory& numbers,
                                        const DeliveryPolicy& policy, std::int64_t now_ns);

// Not made, for good: the message "failed" with the reason (Meta's error
// code, or 0 for ours: expired, no credit), transactional.message.failed
// queued.
Result<std::vector<Delivery>> fail_scheduled(Txn& txn, const Uuid& id, std::int64_t code,
                                             std::string title, std::string details,
                                             const NumberDirectory& numbers,
                                             const DeliveryPolicy& policy, std::int64_t now_ns);

// Not made yet (Meta throttled it, or the request was never written): due
// again at due_ns.
Result<void> retry_scheduled(Txn& txn, const Uuid& id, std::int64_t due_ns);

}  // namespace wa

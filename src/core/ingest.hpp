// Inbound domain rules (SPEC §4.3-4.4): dedupe, conversations, windows,
// messages and their inbound.message.received events, in one transaction.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "numbers.hpp"
#include "outbox.hpp"
#include "result.hpp"
#include "store.hpp"
#include "webhook.hpp"

namespace wa {

struct IngestOptions {
    std::int64_t window_ns = 24 * 3600 * std::int64_t{1'000'000'000};
    std::int64_t lease_ns = 30 * std::int64_t{1'000'000'000};  // first attempt's lease
};

struct IngestOutcome {
    std::uint32_t received = 0;     // new messages stored
    std::uint32_t duplicates = 0;   // wamid already stored
    std::uint32_t unrouted = 0;     // changes whose phone_number_id is not configured
    std::uint32_t unsigned_changes = 0;  // routed, but the number's app secret did not sign
    std::uint32_t statuses = 0;     // status updates seen (handled by the reply issue)
    std::vector<std::string> unrouted_ids;
    // Events that head their conversation's queue, leased to this caller:
    // send them now (first attempt). Others wait for their predecessors.
    std::vector<Delivery> deliveries;
    // For $whatsapp_* variables / logs: the last stored message.
    std::string last_tenant, last_conversation_id, last_message_id;
    std::int64_t last_window_expires_at_ns = 0;
};

// Applies a decoded, verified webhook. signed_by is NumberDirectory::signed_by.
// On error nothing must be kept: the caller aborts txn.
Result<IngestOutcome> ingest_webhook(Txn& txn, const WebhookBatch& batch,
                                     const NumberDirectory& numbers,
                                     const std::vector<bool>& signed_by,
                                     const IngestOptions& options, std::int64_t now_ns);

}  // namespace wa

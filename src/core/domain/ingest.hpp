// Inbound domain rules (SPEC §4.3-4.4): dedupe, conversations, windows,
// messages and their inbound.message.received events, in one transaction.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "domain/numbers.hpp"
#include "domain/outbox.hpp"
#include "base/result.hpp"
#include "store/store.hpp"
#include "meta/webhook.hpp"

namespace wa {

struct IngestOptions {
    std::int64_t window_ns = 24 * 3600 * std::int64_t{1'000'000'000};
    std::int64_t lease_ns = 30 * std::int64_t{1'000'000'000};  // first attempt's lease
    // The whatsapp_media location ("/v1/media/"): media content points
    // there (content.media.url, domain/media.hpp); empty: Meta's url is kept.
    std::string media_prefix;
};

struct IngestOutcome {
    std::uint32_t received = 0;              // new messages stored
    std::uint32_t duplicates = 0;            // wamid already stored
    std::uint32_t unrouted = 0;              // changes whose phone_number_id is not configured
    std::uint32_t unsigned_changes = 0;      // routed, but the number's app secret did not sign
    std::uint32_t statuses = 0;              // status updates of routed, signed changes
    std::uint32_t statuses_applied = 0;      // moved a message forward (one event each)
    std::uint32_t statuses_unknown = 0;      // wamid not one of this number's outbound messages
    std::uint32_t statuses_ignored = 0;      // not forward (late, redelivered) or an unknown word
    std::uint32_t unknown_sends_linked = 0;  // sends of unknown outcome Meta turned out to have
    std::vector<std::string> unrouted_ids;
    // Events that head their conversation's queue, leased to this caller:
    // send them now (first attempt). Others wait for their predecessors.
    std::vector<Delivery> deliveries;
    // For $whatsapp_* variables / logs: the last stored message.
    std::string last_tenant, last_conversation_id, last_message_id;
    std::int64_t last_window_expires_at_ns = 0;
    // The largest stamp written to the realtime stream (0: none), published
    // once the commit is durable (domain/stream.hpp).
    std::int64_t stream_stamp = 0;
};

// Statuses (SPEC §4.5) of outbound messages move forward only, by rank:
// sent < delivered < read < failed. failed is terminal (nothing outranks
// it); played (voice notes) counts as read, stored and emitted as "read".
// A status of equal or lower rank changes nothing and emits nothing, even
// with a newer timestamp: Meta does not order its webhooks, and a
// redelivery is thereby a no-op. Each applied status stores Meta's
// timestamp (status_ts; failed also errors[0]) and enqueues
// transactional.message.<status> on the message's conversation, for the
// message's callback_url, else the number's callback. A failed with code
// 131047 closes the window (window_expires_at_ns = now, never later than
// it was) unless an inbound message newer than the failure reopened it.

// Applies a decoded, verified webhook. signed_by is NumberDirectory::signed_by.
// On error nothing must be kept: the caller aborts txn.
Result<IngestOutcome> ingest_webhook(Txn& txn, const WebhookBatch& batch,
                                     const NumberDirectory& numbers,
                                     const std::vector<bool>& signed_by,
                                     const IngestOptions& options, std::int64_t now_ns);

}  // namespace wa

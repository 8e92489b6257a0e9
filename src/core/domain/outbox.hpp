// The event outbox: durable, ordered per conversation, leased to one sender.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/ids.hpp"
#include "store/records.hpp"
#include "base/result.hpp"
#include "store/store.hpp"

namespace wa {

// What the nginx layer needs to make one delivery attempt.
struct Delivery {
    Uuid event_id{};
    std::string event_id_text;  // evt_...
    std::string number;         // business E.164 (signing key lookup)
    std::string url;
    bool url_guarded = false;  // Event::callback_guarded: check after resolving
    std::string body;
    std::int64_t created_at_ns = 0;
    std::uint32_t attempt = 0;        // 1 for the first
    std::int64_t lease_until_ns = 0;  // the sender must be done by then
};

struct DeliveryPolicy {
    std::int64_t max_age_ns = 48 * 3600 * std::int64_t{1'000'000'000};
    std::int64_t max_interval_ns = 3600 * std::int64_t{1'000'000'000};
    std::int64_t first_interval_ns = std::int64_t{1'000'000'000};
    std::int64_t lease_ns = 30 * std::int64_t{1'000'000'000};
};

// Appends an event to its conversation's queue. When it is the head of the
// queue it is leased to the caller and returned for immediate sending.
Result<std::optional<Delivery>> outbox_enqueue(Txn& txn, Event event, const DeliveryPolicy& policy,
                                               std::int64_t now_ns);

struct AttemptResult {
    int http_status = 0;  // 0: transport failure / timeout
    std::string error;    // short reason for logs and last_error
};

// delivered: 2xx. final failure: 4xx other than 408/429. otherwise retry.
enum class AttemptVerdict { delivered, retry, dead };
AttemptVerdict classify_attempt(int http_status);

// Records an attempt. A delivered event keeps its record without its body
// (nothing sends it again; the message keeps the content), which is what
// frees room on a full store. On delivered/dead, the next event of the conversation
// (if any) is leased and returned for immediate sending. On retry the event
// goes back to the due index with backoff (jittered), or dead past max_age.
struct AttemptOutcome {
    AttemptVerdict verdict = AttemptVerdict::retry;
    std::optional<Delivery> next;
};
Result<AttemptOutcome> outbox_record_attempt(Txn& txn, const Uuid& event_id,
                                             const AttemptResult& result,
                                             const DeliveryPolicy& policy, std::int64_t now_ns);

// For the retry timer: leases up to limit queue heads whose due time is
// <= now (failed attempts whose backoff has passed, and in-flight events
// whose sender's lease ran out, e.g. a crashed worker). Stale due entries
// met on the way are removed.
Result<std::vector<Delivery>> outbox_claim_due(Txn& txn, std::int64_t now_ns, std::size_t limit,
                                               const DeliveryPolicy& policy);

// pending: queued events; dead: the "dead_count" meta counter (u64 LE);
// oldest_pending_ns: created_at of the oldest pending event (0: none; a
// replayed event counts from its replay, see outbox_replay).
// When the earliest pending head is due (a read-only peek, so an idle timer
// costs no write transaction); nullopt when nothing is pending.
Result<std::optional<std::int64_t>> outbox_next_due(Txn& txn);

// Dead letters (§5.4): an event whose last try failed keeps its record with
// state dead and an outbox_dead index entry, and counts in "dead_count".
// Lists up to limit dead events, oldest first (UUIDv7 order).
Result<std::vector<Event>> outbox_dead(Txn& txn, std::size_t limit);

// Puts a dead event back in its conversation's queue, at its original seq,
// so it is sent before the events of its conversation still pending (they
// wait for it, as they would have had it not died; events delivered meanwhile
// are not taken back). It restarts as new: attempts 0, and created_at_ns set
// to now_ns so the retry horizon (max_age) counts from the replay (the
// delivered body keeps its original created_at and evt_ id, so receivers
// still dedupe). last_status/last_error are kept for inspection. If it
// becomes its queue's head it is due at now_ns (no lease: each worker's retry
// timer claims due heads, so a separate process such as whatsapp-admin can
// replay); a head it displaces loses its due entry and lease (a result still
// in flight for it is then ignored, and it is sent again later: at least
// once). dead_count goes down by one.
// false (and no change) when the event is unknown or not dead.
Result<bool> outbox_replay(Txn& txn, const Uuid& event_id, const DeliveryPolicy& policy,
                           std::int64_t now_ns);

// Replays up to limit dead events, oldest first; returns how many. Callers
// with many dead letters call it in batches, one transaction each, until 0.
Result<std::size_t> outbox_replay_all(Txn& txn, const DeliveryPolicy& policy, std::int64_t now_ns,
                                      std::size_t limit = static_cast<std::size_t>(-1));

struct OutboxStats {
    std::uint64_t pending = 0;
    std::uint64_t dead = 0;
    std::int64_t oldest_pending_ns = 0;
};
Result<OutboxStats> outbox_stats(Txn& txn);

// How long the oldest pending event has waited at now_ns, in seconds (the
// whatsapp_outbox_oldest_age_seconds gauge, whatsapp-admin stats): 0 when
// nothing is pending, and never negative (a clock that stepped back).
double outbox_oldest_age_seconds(const OutboxStats& st, std::int64_t now_ns);

}  // namespace wa

// Retention (SPEC §3.1 whatsapp_retention): messages and delivered events
// older than a cutoff leave the store, in bounded steps so that no write
// transaction holds the writer long. Conversations stay (their last
// activity, window, status; lastMessage shows what is left).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/result.hpp"
#include "store/store.hpp"

namespace wa {

// Where a prune goes on from: both scans run oldest first (UUIDv7 keys),
// skipping what must stay (a scheduled message, an undelivered event).
struct PrunePosition {
    std::string message;  // the last messages key looked at; empty: the start
    std::string event;    // the same for the outbox
};

struct PruneStep {
    std::size_t messages = 0;  // messages removed (with their wamid and index entries)
    std::size_t events = 0;    // delivered events removed
    bool done = false;         // nothing older than the cutoff is left to look at
};

// One step: looks at up to `limit` records of each kind created before
// cutoff_ns, from pos (updated), and removes those that may go. A message
// takes its wamid mapping (a redelivery of it older than the retention
// would be stored again: keep the retention above Meta's 7 days of
// retries), its conversation's index entry and its media id's entry
// (domain/media.hpp) with it.
Result<PruneStep> prune_before(Txn& txn, std::int64_t cutoff_ns, std::size_t limit,
                               PrunePosition& pos);

}  // namespace wa

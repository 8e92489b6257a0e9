// The realtime stream (SPEC §8.1-8.2): per tenant, every inbound message
// and every status change of an outbound one, in commit order, kept in the
// store like everything else. An entry's key is the tenant and a stamp of
// the store-wide clock (domain/inbox.hpp): unique, increasing in commit
// order whichever worker wrote, so a reader that has seen every entry up
// to a stamp has missed none below it. A socket's position is that stamp
// (its eventId); resuming reads forward from it. Workers learn of new
// entries from a durable watermark (the largest stamp whose commit was
// synced) and read them from the store: the store is the only source of
// truth, and nothing is streamed before it is durable.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "store/records.hpp"
#include "store/store.hpp"

namespace wa {

// An inbound message just added (add_message stamped its created_at, which
// is the entry's stamp: no second clock write).
Result<std::int64_t> stream_inbound(Txn& txn, const Conversation& c, const Message& m);
// A status change of an outbound message, stamped now.
Result<std::int64_t> stream_status(Txn& txn, const Conversation& c, const Message& m,
                                   std::int64_t now_ns);

// The eventId of a stamp ("se_" + 16 hex digits, so that string order is
// stream order), and back (nullopt unless exactly that form).
std::string stream_event_id(std::int64_t stamp);
std::optional<std::int64_t> parse_stream_event_id(std::string_view id);

// Whether the tenant's stream holds an entry at stamp (a resume cursor
// that was pruned or never existed does not).
Result<bool> stream_has(Txn& txn, std::string_view tenant, std::int64_t stamp);

struct StreamItem {
    std::int64_t stamp = 0;
    StreamEntry entry;
};

// Up to limit of the tenant's entries with after < stamp <= upto, in order.
Result<std::vector<StreamItem>> stream_range(Txn& txn, std::string_view tenant, std::int64_t after,
                                             std::int64_t upto, std::size_t limit);

// What a frame shows of an entry: its message and conversation as stored
// now (the status is the entry's, as it was then). nullopt when retention
// took the message meanwhile.
struct StreamEvent {
    std::int64_t stamp = 0;
    StreamEntry entry;
    Message message;
    Conversation conversation;
};
Result<std::optional<StreamEvent>> load_stream_event(Txn& txn, const StreamItem& item);

// Retention: removes up to limit entries stamped before cutoff_ns, across
// tenants, from pos (the last key looked at; updated). done: nothing older
// is left.
struct StreamPruneStep {
    std::size_t removed = 0;
    bool done = false;
};
Result<StreamPruneStep> prune_stream_before(Txn& txn, std::int64_t cutoff_ns, std::size_t limit,
                                            std::string& pos);

}  // namespace wa

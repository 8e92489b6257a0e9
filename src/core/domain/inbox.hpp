// The inbox (SPEC §7.2): a tenant's conversations by activity, and a
// conversation's messages newest first. Both indexes are written in the
// transaction that moves them (save_conversation, add_message). An
// activity entry carries what every filter needs (status, mode, assignee,
// name, phone), so a page loads only what it shows; a filter that matches
// few walks more entries (bounded per page), which costs less than an index
// per filter rewritten on every message did.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/ids.hpp"
#include "base/result.hpp"
#include "store/records.hpp"
#include "store/store.hpp"

namespace wa {

constexpr std::size_t kMaxAssigneeChars = 128;
// Index entries one page may look at (a search, a rare filter): bounds the
// time a page holds the event loop; the page then ends early with a cursor.
constexpr std::size_t kMaxExaminedPerPage = 20000;

bool valid_conversation_status(std::string_view s);  // open | pending_customer | closed
bool valid_conversation_mode(std::string_view s);    // ai | human
// 1-128 printable ASCII characters: an operator's name or address.
bool valid_assignee(std::string_view s);

// The SPEC §7.2 status rules. An inbound message (re)opens its
// conversation; a send from the business waits for the customer, unless
// the conversation was closed.
void reopen_on_inbound(Conversation& c);
void await_customer(Conversation& c);

// The later of last inbound and last outbound (creation before either).
std::int64_t activity_of(const Conversation& c);

// The store-wide clock: want, or just after the last stamp given, so that
// stamps are unique and follow the commit order whichever worker wrote
// (the write lock orders them). Activity, message creation and the
// realtime stream take their stamps from it.
Result<std::int64_t> next_stamp(Txn& txn, std::int64_t want);
// The last stamp given (0: none yet).
Result<std::int64_t> last_stamp(Txn& txn);

// Writes c and moves its index entries to match it. A changed activity is
// first made unique and increasing store-wide (the later of it and the
// last one given + 1 ns), so that activity order is commit order and a
// listing can tell what moved since it began; the field it came from takes
// the stamped value.
Result<void> save_conversation(Txn& txn, Conversation& c);

// Marks c as the store holds it (after decoding it).
void note_stored(Conversation& c);

// A new message of c: its created_at stamped by the store-wide clock
// (unique, in commit order: two workers' UUIDv7 ids of one millisecond are
// not), then the record, linked after c's newest message. c becomes its
// head: the caller saves c in the same transaction (every writer of a
// message changes its conversation anyway). A chain instead of an index
// keyed by conversation: that index put one more randomly placed B-tree
// page per message into every commit (the write path's main cost, README
// "Benchmarks").
Result<void> add_message(Txn& txn, Conversation& c, Message& m);

// The indexes of a store written before they existed, built once (a
// marker in Db::meta); returns the conversations indexed, nullopt when
// they were built before (nothing written).
Result<std::optional<std::size_t>> build_inbox_indexes(Txn& txn);
// Then, once: the message chains of a store that kept a conversation's
// messages in Db::conversation_messages, built from it (which is emptied);
// returns the messages linked, nullopt when built before.
Result<std::optional<std::size_t>> build_message_chains(Txn& txn);

struct ConversationFilter {
    std::string status, mode;             // empty: any
    std::optional<std::string> assignee;  // "": unassigned
    std::string search;  // substring of the customer's name or phone, ASCII letters folded
};

// Where a listing stands between pages (the content of its cursor). A page
// first takes what became active since the listing last looked (above
// seen_ns, oldest first), then continues below the last entry it returned:
// a conversation that moves during the listing may show twice, never not at all.
struct ListPosition {
    std::int64_t seen_ns = 0;   // activity up to which the top has been looked at
    std::int64_t below_ns = 0;  // the continuation: entries below (below_ns, below_id)
    Uuid below_id{};
    bool done = false;  // the continuation reached the end
};

struct ListQuery {
    std::string tenant;
    std::optional<Uuid> only;  // a conversation= key's conversation
    ConversationFilter filter;
    std::size_t limit = 20;
    std::optional<ListPosition> after;  // nullopt: the first page
};

struct ConversationPage {
    std::vector<Conversation> conversations;
    std::optional<ListPosition> next;  // nullopt: nothing more
};

Result<ConversationPage> list_conversations(Txn& txn, const ListQuery& query);

// A tenant's conversation; nullopt when it is unknown, another tenant's or
// outside the key's limit (all three answer alike).
Result<std::optional<Conversation>> tenant_conversation(Txn& txn, const Uuid& id,
                                                        std::string_view tenant,
                                                        const std::optional<Uuid>& only);

// Up to limit of a conversation's messages, newest first, older than
// `before` when given: the chain from its newest message, which ends at
// the first message retention pruned.
Result<std::vector<Message>> conversation_messages(Txn& txn, const Uuid& conversation,
                                                   std::size_t limit,
                                                   const std::optional<Uuid>& before);
// The newest of c's messages (c as loaded: no second read of it); nullopt
// when it has none, or retention pruned it.
Result<std::optional<Message>> newest_message(Txn& txn, const Conversation& c);

struct ConversationPatch {
    std::optional<std::string> status, mode;
    bool set_assignee = false;
    std::string assignee;  // "": unassigned
};

// Applies a checked patch; nullopt as tenant_conversation.
Result<std::optional<Conversation>> patch_conversation(Txn& txn, const Uuid& id,
                                                       std::string_view tenant,
                                                       const std::optional<Uuid>& only,
                                                       const ConversationPatch& patch);

// A read showed `seen` unread messages: they are read now (ones that came
// since stay unread).
Result<void> mark_read(Txn& txn, const Uuid& id, std::uint32_t seen);

}  // namespace wa

#include "domain/inbox.hpp"

#include <algorithm>
#include <limits>

#include "base/chars.hpp"
#include "domain/api_keys.hpp"
#include "domain/conversations.hpp"

namespace wa {

namespace {

constexpr std::string_view kActivityClock = "inbox/activity_clock";
constexpr std::string_view kIndexesBuilt = "inbox/indexes_built";
constexpr std::string_view kChainsBuilt = "inbox/chains_built";

// -- keys and summaries --------------------------------------------------------------------

std::string tenant_prefix(std::string_view tenant) {
    std::string p(tenant);
    p.push_back('\0');
    return p;
}

std::string entry_key(std::string prefix, std::int64_t activity_ns, const Uuid& id) {
    return prefix + time_key(activity_ns, key_of(id));
}

// What every index entry holds, so that a filter is judged without loading
// the conversation: status and mode (one letter each), the assignee and
// the customer's name (ASCII folded), each length-prefixed, then the phone.
void put_u16(std::string& out, std::size_t n) {
    out.push_back(static_cast<char>((n >> 8) & 0xff));
    out.push_back(static_cast<char>(n & 0xff));
}

void put_short(std::string& out, std::string_view s, bool fold) {
    s = s.substr(0, 0xffff);
    put_u16(out, s.size());
    for (char c : s)
        out.push_back(fold ? ascii_lower(c) : c);
}

std::string summary_of(std::string_view status, std::string_view mode, std::string_view assignee,
                       std::string_view name, std::string_view customer) {
    std::string s;
    s.push_back(status.empty() ? '?' : status[0]);
    s.push_back(mode.empty() ? '?' : mode[0]);
    put_short(s, assignee, false);
    put_short(s, name, true);
    for (char c : customer)
        s.push_back(ascii_lower(c));
    return s;
}

std::string summary_of(const Conversation& c) {
    return summary_of(c.status, c.mode, c.assignee, c.customer_name, c.customer);
}

struct Summary {
    char status = 0, mode = 0;
    std::string_view assignee, name, customer;
};

std::optional<Summary> read_summary(std::string_view v) {
    Summary s;
    auto take = [&v](std::string_view& out) {
        if (v.size() < 2) return false;
        std::size_t n = (static_cast<unsigned char>(v[0]) << 8) | static_cast<unsigned char>(v[1]);
        if (v.size() < 2 + n) return false;
        out = v.substr(2, n);
        v.remove_prefix(2 + n);
        return true;
    };
    if (v.size() < 2) return std::nullopt;
    s.status = v[0];
    s.mode = v[1];
    v.remove_prefix(2);
    if (!take(s.assignee) || !take(s.name)) return std::nullopt;
    s.customer = v;
    return s;
}

// needle is folded already.
bool contains_folded(std::string_view hay, std::string_view needle) {
    return hay.find(needle) != std::string_view::npos;
}

bool matches(const Summary& s, const ConversationFilter& f, std::string_view folded_search) {
    if (!f.status.empty() && s.status != f.status[0]) return false;
    if (!f.mode.empty() && s.mode != f.mode[0]) return false;
    if (f.assignee && s.assignee != *f.assignee) return false;
    if (!folded_search.empty() && !contains_folded(s.name, folded_search) &&
        !contains_folded(s.customer, folded_search)) {
        return false;
    }
    return true;
}

// -- writing the indexes -------------------------------------------------------------------

Result<void> put_entry(Txn& txn, const std::string& tenant, std::int64_t activity, const Uuid& id,
                       std::string_view summary) {
    return txn.put(Db::inbox_activity, entry_key(tenant_prefix(tenant), activity, id), summary);
}

Result<void> delete_entry(Txn& txn, const Conversation& c) {
    auto r = txn.del(Db::inbox_activity,
                     entry_key(tenant_prefix(c.tenant), c.indexed.activity_ns, c.id));
    if (!r) return r.error();
    return {};
}

// The stamped activity, written back into the field it came from.
Result<void> stamp_activity(Txn& txn, Conversation& c) {
    std::int64_t want = activity_of(c);
    auto next = next_stamp(txn, want);
    if (!next) return next.error();
    std::int64_t stamped = *next;
    if (c.last_inbound_at_ns == want) {
        c.last_inbound_at_ns = stamped;
    } else if (c.last_outbound_at_ns == want) {
        c.last_outbound_at_ns = stamped;
    } else {
        c.created_at_ns = stamped;
    }
    return {};
}

bool index_changed(const Conversation& c) {
    const Conversation::Indexed& i = c.indexed;
    return !i.stored || i.activity_ns != activity_of(c) || i.status != c.status ||
           i.mode != c.mode || i.assignee != c.assignee || i.customer_name != c.customer_name;
}

// The key of Db::conversation_messages, which stores before the chains had.
std::string message_index_key(const Message& m) {
    return std::string(key_of(m.conversation_id)) + time_key(m.created_at_ns, key_of(m.id));
}

// Links one conversation's messages (ids oldest first) and makes the last
// its head; returns how many it linked.
Result<std::size_t> link_chain(Txn& txn, const Uuid& conversation, const std::vector<Uuid>& ids) {
    Uuid previous{};
    std::size_t n = 0;
    for (const Uuid& id : ids) {
        auto m = message_by_id(txn, id);
        if (!m) return m.error();
        if (!*m) continue;  // an index entry without its message links nothing
        (*m)->previous = previous;
        if (auto r = txn.put(Db::messages, key_of(id), encode(**m)); !r) return r.error();
        previous = id;
        n++;
    }
    auto c = conversation_by_id(txn, conversation);
    if (!c) return c.error();
    if (!*c) return n;
    (*c)->newest_message = previous;
    if (auto r = txn.put(Db::conversations, key_of(conversation), encode(**c)); !r) {
        return r.error();
    }
    return n;
}

// -- reading the indexes -------------------------------------------------------------------

Result<Conversation> load(Txn& txn, std::string_view entry_key) {
    Uuid id = uuid_from_key(entry_key.substr(entry_key.size() - 16));
    auto bytes = txn.get(Db::conversations, key_of(id));
    if (!bytes) return bytes.error();
    if (!*bytes) return make_error("store_corrupt", "inbox index without conversation");
    auto c = decode_conversation(**bytes);
    if (!c) return c.error();
    note_stored(*c);
    return std::move(*c);
}

// An entry's activity and id, after its prefix.
std::int64_t entry_activity(std::string_view key, std::size_t prefix) {
    return time_of_key(key.substr(prefix));
}

Result<ConversationPage> list_one(Txn& txn, const ListQuery& q) {
    ConversationPage page;
    auto c = tenant_conversation(txn, *q.only, q.tenant, q.only);
    if (!c) return c.error();
    if (!*c || q.after) return page;
    std::string folded;
    for (char ch : q.filter.search)
        folded.push_back(ascii_lower(ch));
    auto s = read_summary(summary_of(**c));
    if (s && matches(*s, q.filter, folded)) page.conversations.push_back(std::move(**c));
    return page;
}

}  // namespace

Result<std::int64_t> next_stamp(Txn& txn, std::int64_t want) {
    auto last = read_counter(txn, kActivityClock);
    if (!last) return last.error();
    auto floor = static_cast<std::int64_t>(std::min<std::uint64_t>(
        *last, static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max() - 1)));
    std::int64_t stamped = std::max(want, floor + 1);
    if (auto r = write_counter(txn, kActivityClock, static_cast<std::uint64_t>(stamped)); !r) {
        return r.error();
    }
    return stamped;
}

Result<std::int64_t> last_stamp(Txn& txn) {
    auto last = read_counter(txn, kActivityClock);
    if (!last) return last.error();
    return static_cast<std::int64_t>(std::min<std::uint64_t>(
        *last, static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())));
}

bool valid_conversation_status(std::string_view s) {
    return s == "open" || s == "pending_customer" || s == "closed";
}

bool valid_conversation_mode(std::string_view s) { return s == "ai" || s == "human"; }

bool valid_assignee(std::string_view s) {
    if (s.empty() || s.size() > kMaxAssigneeChars) return false;
    return std::all_of(s.begin(), s.end(), is_printable);
}

void reopen_on_inbound(Conversation& c) { c.status = "open"; }

void await_customer(Conversation& c) {
    if (c.status != "closed") c.status = "pending_customer";
}

std::int64_t activity_of(const Conversation& c) {
    std::int64_t a = std::max(c.last_inbound_at_ns, c.last_outbound_at_ns);
    return a > 0 ? a : c.created_at_ns;
}

void note_stored(Conversation& c) {
    c.indexed.stored = true;
    c.indexed.activity_ns = activity_of(c);
    c.indexed.status = c.status;
    c.indexed.mode = c.mode;
    c.indexed.assignee = c.assignee;
    c.indexed.customer_name = c.customer_name;
}

Result<void> save_conversation(Txn& txn, Conversation& c) {
    if (index_changed(c)) {
        if (!c.indexed.stored || c.indexed.activity_ns != activity_of(c)) {
            if (auto r = stamp_activity(txn, c); !r) return r;
        }
        // Same activity: the entry stays where it is, its summary rewritten.
        if (c.indexed.stored && c.indexed.activity_ns != activity_of(c)) {
            if (auto r = delete_entry(txn, c); !r) return r;
        }
        if (auto r = put_entry(txn, c.tenant, activity_of(c), c.id, summary_of(c)); !r) return r;
    }
    if (auto r = txn.put(Db::conversations, key_of(c.id), encode(c)); !r) return r;
    note_stored(c);
    return {};
}

Result<void> add_message(Txn& txn, Conversation& c, Message& m) {
    auto stamped = next_stamp(txn, m.created_at_ns);
    if (!stamped) return stamped.error();
    m.created_at_ns = *stamped;
    m.previous = c.newest_message;
    if (auto r = txn.put(Db::messages, key_of(m.id), encode(m)); !r) return r;
    c.newest_message = m.id;
    return {};
}

Result<std::optional<std::size_t>> build_inbox_indexes(Txn& txn) {
    auto built = read_counter(txn, kIndexesBuilt);
    if (!built) return built.error();
    if (*built) return std::optional<std::size_t>();
    std::size_t n = 0;
    std::int64_t newest = 0;
    std::optional<Error> failed;
    auto fail = [&failed](Error e) {
        failed = std::move(e);
        return false;
    };
    auto r = txn.scan(Db::conversations, {}, [&](const Txn::Entry& e) {
        auto c = decode_conversation(e.value);
        if (!c) return fail(c.error());
        std::int64_t a = activity_of(*c);
        if (auto w = put_entry(txn, c->tenant, a, c->id, summary_of(*c)); !w) {
            return fail(w.error());
        }
        newest = std::max(newest, a);
        n++;
        return true;
    });
    if (!r) return r.error();
    if (failed) return *failed;
    r = txn.scan(Db::messages, {}, [&](const Txn::Entry& e) {
        auto m = decode_message(e.value);
        if (!m) return fail(m.error());
        if (auto w = txn.put(Db::conversation_messages, message_index_key(*m), ""); !w) {
            return fail(w.error());
        }
        return true;
    });
    if (!r) return r.error();
    if (failed) return *failed;
    auto clock = read_counter(txn, kActivityClock);
    if (!clock) return clock.error();
    if (static_cast<std::uint64_t>(newest) > *clock) {
        if (auto w = write_counter(txn, kActivityClock, static_cast<std::uint64_t>(newest)); !w) {
            return w.error();
        }
    }
    if (auto w = write_counter(txn, kIndexesBuilt, 1); !w) return w.error();
    return std::optional<std::size_t>(n);
}

Result<std::optional<std::size_t>> build_message_chains(Txn& txn) {
    auto built = read_counter(txn, kChainsBuilt);
    if (!built) return built.error();
    if (*built) return std::optional<std::size_t>();
    std::size_t n = 0;
    Uuid conversation{};
    std::vector<Uuid> ids;
    std::optional<Error> failed;
    auto flush = [&]() {
        if (ids.empty()) return true;
        auto linked = link_chain(txn, conversation, ids);
        if (!linked) {
            failed = linked.error();
            return false;
        }
        n += *linked;
        ids.clear();
        return true;
    };
    auto r = txn.scan(Db::conversation_messages, {}, [&](const Txn::Entry& e) {
        if (e.key.size() < 32) return true;
        Uuid of = uuid_from_key(e.key.substr(0, 16));
        if (of != conversation) {
            if (!flush()) return false;
            conversation = of;
        }
        ids.push_back(uuid_from_key(e.key.substr(e.key.size() - 16)));
        return true;
    });
    if (!r) return r.error();
    if (failed || !flush()) return *failed;
    for (;;) {
        auto first = txn.first_with_prefix(Db::conversation_messages, {});
        if (!first) return first.error();
        if (!*first) break;
        if (auto d = txn.del(Db::conversation_messages, std::string((*first)->key)); !d) {
            return d.error();
        }
    }
    if (auto w = write_counter(txn, kChainsBuilt, 1); !w) return w.error();
    return std::optional<std::size_t>(n);
}

Result<std::optional<Conversation>> tenant_conversation(Txn& txn, const Uuid& id,
                                                        std::string_view tenant,
                                                        const std::optional<Uuid>& only) {
    std::optional<Conversation> none;
    if (!conversation_allowed(only, id)) return none;
    auto c = conversation_by_id(txn, id);
    if (!c || !*c || (*c)->tenant == tenant) return c;
    return none;
}

Result<ConversationPage> list_conversations(Txn& txn, const ListQuery& q) {
    if (q.only) return list_one(txn, q);
    constexpr Db db = Db::inbox_activity;
    const std::string prefix = tenant_prefix(q.tenant);
    std::string folded;
    for (char ch : q.filter.search)
        folded.push_back(ascii_lower(ch));

    ConversationPage page;
    ListPosition pos;
    if (q.after) {
        pos = *q.after;
    } else {
        auto clock = read_counter(txn, kActivityClock);
        if (!clock) return clock.error();
        pos.seen_ns = static_cast<std::int64_t>(
            std::min<std::uint64_t>(*clock, std::numeric_limits<std::int64_t>::max()));
        pos.below_ns = std::numeric_limits<std::int64_t>::max();
        pos.below_id.fill(0xff);
    }
    std::size_t examined = 0;
    std::optional<Error> failed;
    bool top_reached_end = true;
    std::vector<Conversation> moved;
    // One index entry: judged by its summary, loaded when it matches.
    auto consider = [&](const Txn::Entry& e, std::vector<Conversation>& into) {
        examined++;
        auto s = read_summary(e.value);
        if (!s) {
            failed = make_error("store_corrupt", "inbox index entry");
            return false;
        }
        if (!matches(*s, q.filter, folded)) return true;
        auto c = load(txn, e.key);
        if (!c) {
            failed = c.error();
            return false;
        }
        into.push_back(std::move(*c));
        return true;
    };

    // What became active since the listing last looked, oldest first.
    if (pos.seen_ns < std::numeric_limits<std::int64_t>::max()) {
        std::string from = prefix + time_key(pos.seen_ns + 1, {});
        auto r = txn.scan(db, from, [&](const Txn::Entry& e) {
            if (e.key.substr(0, prefix.size()) != prefix) return false;
            if (moved.size() >= q.limit || examined >= kMaxExaminedPerPage) {
                top_reached_end = false;
                return false;
            }
            pos.seen_ns = entry_activity(e.key, prefix.size());
            return consider(e, moved);
        });
        if (!r) return r.error();
        if (failed) return *failed;
    }
    std::reverse(moved.begin(), moved.end());
    page.conversations = std::move(moved);

    // Then on below where the previous page ended.
    if (!pos.done && page.conversations.size() < q.limit && examined < kMaxExaminedPerPage) {
        pos.done = true;
        std::string below = prefix + time_key(pos.below_ns, key_of(pos.below_id));
        auto r = txn.scan_back(db, below, [&](const Txn::Entry& e) {
            if (e.key.substr(0, prefix.size()) != prefix) return false;
            if (page.conversations.size() >= q.limit || examined >= kMaxExaminedPerPage) {
                pos.done = false;
                return false;
            }
            pos.below_ns = entry_activity(e.key, prefix.size());
            pos.below_id = uuid_from_key(e.key.substr(e.key.size() - 16));
            return consider(e, page.conversations);
        });
        if (!r) return r.error();
        if (failed) return *failed;
    }
    if (!pos.done || !top_reached_end) page.next = pos;
    return page;
}

namespace {

// Up to limit messages of a conversation's chain, from `next` back.
Result<std::vector<Message>> walk_chain(Txn& txn, const Uuid& conversation, Uuid next,
                                        std::size_t limit) {
    std::vector<Message> out;
    for (; out.size() < limit && next != Uuid{};) {
        auto m = message_by_id(txn, next);
        if (!m) return m.error();
        if (!*m) break;  // pruned: what came before it is gone too
        if ((*m)->conversation_id != conversation) {
            return make_error("store_corrupt", "message chain leaves its conversation");
        }
        next = (*m)->previous;
        out.push_back(std::move(**m));
    }
    return out;
}

}  // namespace

Result<std::vector<Message>> conversation_messages(Txn& txn, const Uuid& conversation,
                                                   std::size_t limit,
                                                   const std::optional<Uuid>& before) {
    if (!before) {
        auto c = conversation_by_id(txn, conversation);
        if (!c) return c.error();
        if (!*c) return std::vector<Message>();
        return walk_chain(txn, conversation, (*c)->newest_message, limit);
    }
    // Older than a message of this conversation; any other id shows nothing.
    auto m = message_by_id(txn, *before);
    if (!m) return m.error();
    if (!*m || (*m)->conversation_id != conversation) return std::vector<Message>();
    return walk_chain(txn, conversation, (*m)->previous, limit);
}

Result<std::optional<Message>> newest_message(Txn& txn, const Conversation& c) {
    auto newest = walk_chain(txn, c.id, c.newest_message, 1);
    if (!newest) return newest.error();
    if (newest->empty()) return std::optional<Message>();
    return std::optional<Message>(std::move(newest->front()));
}

Result<std::optional<Conversation>> patch_conversation(Txn& txn, const Uuid& id,
                                                       std::string_view tenant,
                                                       const std::optional<Uuid>& only,
                                                       const ConversationPatch& patch) {
    auto c = tenant_conversation(txn, id, tenant, only);
    if (!c || !*c) return c;
    Conversation& conv = **c;
    if (patch.status) conv.status = *patch.status;
    if (patch.mode) conv.mode = *patch.mode;
    if (patch.set_assignee) conv.assignee = patch.assignee;
    if (auto r = save_conversation(txn, conv); !r) return r.error();
    return c;
}

Result<void> mark_read(Txn& txn, const Uuid& id, std::uint32_t seen) {
    auto bytes = txn.get(Db::conversations, key_of(id));
    if (!bytes) return bytes.error();
    if (!*bytes) return {};
    auto c = decode_conversation(**bytes);
    if (!c) return c.error();
    note_stored(*c);
    c->unread_count = c->unread_count > seen ? c->unread_count - seen : 0;
    return save_conversation(txn, *c);
}

}  // namespace wa

#include "domain/retention.hpp"

#include "base/clock.hpp"
#include "domain/inbox.hpp"
#include "domain/media.hpp"
#include "store/records.hpp"

namespace wa {

namespace {

// A UUIDv7 key's creation time (its first 48 bits, Unix ms).
std::int64_t created_ms(std::string_view key) {
    std::int64_t ms = 0;
    for (std::size_t i = 0; i < 6 && i < key.size(); i++)
        ms = (ms << 8) | static_cast<unsigned char>(key[i]);
    return ms;
}

// The keys of db created before cutoff_ms, from `from` (exclusive), up to
// limit; `from` moves to the last one seen, and done says the scan reached
// cutoff_ms or the end.
Result<std::vector<std::string>> older_keys(Txn& txn, Db db, std::int64_t cutoff_ms,
                                            std::size_t limit, std::string& from, bool& done) {
    std::vector<std::string> keys;
    done = true;
    std::string start = from.empty() ? std::string() : from + std::string(1, '\0');
    auto r = txn.scan(db, start, [&](const Txn::Entry& e) {
        if (created_ms(e.key) >= cutoff_ms) return false;
        if (keys.size() >= limit) {
            done = false;
            return false;
        }
        keys.emplace_back(e.key);
        return true;
    });
    if (!r) return r.error();
    if (!keys.empty()) from = keys.back();
    return keys;
}

Result<bool> prune_message(Txn& txn, std::string_view key) {
    auto bytes = txn.get(Db::messages, key);
    if (!bytes) return bytes.error();
    if (!*bytes) return false;
    auto m = decode_message(**bytes);
    if (!m) return m.error();
    if (m->status == "scheduled") return false;  // still to be made
    if (!m->wamid.empty()) {
        if (auto r = txn.del(Db::wamids, wamid_key(m->wamid)); !r) return r.error();
    }
    if (auto r = forget_media(txn, *m); !r) return r.error();
    if (auto r = txn.del(Db::messages, key); !r) return r.error();
    return true;
}

Result<bool> prune_event(Txn& txn, std::string_view key) {
    auto bytes = txn.get(Db::outbox, key);
    if (!bytes) return bytes.error();
    if (!*bytes) return false;
    auto e = decode_event(**bytes);
    if (!e) return e.error();
    if (e->state != EventState::delivered) return false;  // pending or dead: kept
    if (auto r = txn.del(Db::outbox, key); !r) return r.error();
    return true;
}

}  // namespace

Result<PruneStep> prune_before(Txn& txn, std::int64_t cutoff_ns, std::size_t limit,
                               PrunePosition& pos) {
    PruneStep step;
    std::int64_t cutoff_ms = cutoff_ns / kNsPerMs;
    bool messages_done = false, events_done = false;
    auto messages = older_keys(txn, Db::messages, cutoff_ms, limit, pos.message, messages_done);
    if (!messages) return messages.error();
    for (const std::string& k : *messages) {
        auto gone = prune_message(txn, k);
        if (!gone) return gone.error();
        step.messages += *gone ? 1 : 0;
    }
    auto events = older_keys(txn, Db::outbox, cutoff_ms, limit, pos.event, events_done);
    if (!events) return events.error();
    for (const std::string& k : *events) {
        auto gone = prune_event(txn, k);
        if (!gone) return gone.error();
        step.events += *gone ? 1 : 0;
    }
    step.done = messages_done && events_done;
    return step;
}

}  // namespace wa

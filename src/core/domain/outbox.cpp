// The outbox. Invariants (kept inside every write transaction):
//  - each pending event has an outbox_queue entry (conv + seq -> evt uuid);
//  - only the head of a conversation's queue is ever sent, so event n+1 is
//    never sent before event n is delivered or dead;
//  - the head, and only the head, has one outbox_due entry, keyed by the
//    time it is next due: lease_until while in flight (a crashed sender's
//    lease runs out and the event becomes due again), else next_attempt.
//  - a dead event keeps its outbox record (state dead) and has one
//    outbox_dead entry; "dead_count" in meta counts them.
#include "domain/outbox.hpp"

#include <algorithm>
#include <cstring>
#include <random>

#include "base/clock.hpp"

namespace wa {

namespace {

constexpr std::string_view kDeadCountKey = "dead_count";
constexpr std::size_t kDueTimeLen = 8;

std::int64_t due_time(const Event& e) {
    return e.lease_until_ns != 0 ? e.lease_until_ns : e.next_attempt_ns;
}

std::int64_t due_key_time(std::string_view key) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < kDueTimeLen && i < key.size(); i++) {
        v = (v << 8) | static_cast<unsigned char>(key[i]);
    }
    return static_cast<std::int64_t>(v);
}

Result<std::optional<Event>> load_event(Txn& txn, const Uuid& id) {
    auto got = txn.get(Db::outbox, key_of(id));
    if (!got) return got.error();
    if (!*got) return std::optional<Event>{};
    auto e = decode_event(**got);
    if (!e) return e.error();
    return std::optional<Event>{std::move(*e)};
}

Result<void> save_event(Txn& txn, const Event& e) {
    return txn.put(Db::outbox, key_of(e.id), encode(e));
}

Result<void> remove_due(Txn& txn, const Event& e) {
    std::int64_t t = due_time(e);
    if (t == 0) return {};
    auto r = txn.del(Db::outbox_due, due_key(t, e.id));
    if (!r) return r.error();
    return {};
}

// Is this event the smallest seq still queued for its conversation?
Result<bool> is_head(Txn& txn, const Event& e) {
    auto first = txn.first_with_prefix(Db::outbox_queue, key_of(e.conversation_id));
    if (!first) return first.error();
    return *first && (*first)->key == queue_key(e.conversation_id, e.seq);
}

Delivery make_delivery(const Event& e) {
    Delivery d;
    d.event_id = e.id;
    d.event_id_text = typeid_encode("evt", e.id);
    d.number = e.number;
    d.url = e.callback_url;
    d.url_guarded = e.callback_guarded;
    d.body = e.body;
    d.created_at_ns = e.created_at_ns;
    d.attempt = e.attempts + 1;
    d.lease_until_ns = e.lease_until_ns;
    return d;
}

// Hands the (head) event to the caller until now + lease; its due entry
// moves to the lease's end so it is retried if the caller never reports.
// The caller has already removed any previous due entry.
Result<Delivery> lease(Txn& txn, Event& e, const DeliveryPolicy& policy, std::int64_t now_ns) {
    e.lease_until_ns = now_ns + std::max<std::int64_t>(policy.lease_ns, 1);
    if (auto r = txn.put(Db::outbox_due, due_key(e.lease_until_ns, e.id), {}); !r) {
        return r.error();
    }
    if (auto r = save_event(txn, e); !r) return r.error();
    return make_delivery(e);
}

// first * 2^(attempts-1), capped, then uniform in [interval/2, interval]
// so a callback coming back is not hit by every event at once.
std::int64_t backoff(std::uint32_t attempts, const DeliveryPolicy& policy) {
    std::int64_t cap = std::max<std::int64_t>(policy.max_interval_ns, 1);
    std::int64_t interval = std::clamp<std::int64_t>(policy.first_interval_ns, 1, cap);
    for (std::uint32_t i = 1; i < attempts && interval < cap; i++) {
        interval = interval > cap / 2 ? cap : interval * 2;
    }
    thread_local std::mt19937_64 rng{std::random_device{}()};
    std::uniform_int_distribution<std::int64_t> jitter(interval / 2, interval);
    return jitter(rng);
}

// After the head settles, the next queued event (if any) becomes head.
Result<std::optional<Delivery>> release_next(Txn& txn, const Uuid& conversation,
                                             const DeliveryPolicy& policy, std::int64_t now_ns) {
    auto first = txn.first_with_prefix(Db::outbox_queue, key_of(conversation));
    if (!first) return first.error();
    if (!*first) return std::optional<Delivery>{};
    Uuid next_id = uuid_from_key((*first)->value);
    auto next = load_event(txn, next_id);
    if (!next) return next.error();
    if (!*next) return make_error("store_corrupt", "outbox queue entry without event");
    Event& e = **next;
    if (auto r = remove_due(txn, e); !r) return r.error();
    auto d = lease(txn, e, policy, now_ns);
    if (!d) return d.error();
    return std::optional<Delivery>{std::move(*d)};
}

}  // namespace

Result<std::optional<Delivery>> outbox_enqueue(Txn& txn, Event event, const DeliveryPolicy& policy,
                                               std::int64_t now_ns) {
    event.state = EventState::pending;
    event.next_attempt_ns = 0;
    event.lease_until_ns = 0;

    auto qk = queue_key(event.conversation_id, event.seq);
    auto ins = txn.insert(Db::outbox_queue, qk, key_of(event.id));
    if (!ins) return ins.error();
    if (!*ins) return make_error("store_corrupt", "outbox event seq already queued");

    auto head = is_head(txn, event);
    if (!head) return head.error();
    if (!*head) {
        if (auto r = save_event(txn, event); !r) return r.error();
        return std::optional<Delivery>{};
    }
    auto d = lease(txn, event, policy, now_ns);
    if (!d) return d.error();
    return std::optional<Delivery>{std::move(*d)};
}

AttemptVerdict classify_attempt(int http_status) {
    if (http_status >= 200 && http_status < 300) return AttemptVerdict::delivered;
    if (http_status == 408 || http_status == 429) return AttemptVerdict::retry;
    if (http_status >= 400 && http_status < 500) return AttemptVerdict::dead;
    return AttemptVerdict::retry;
}

Result<AttemptOutcome> outbox_record_attempt(Txn& txn, const Uuid& event_id,
                                             const AttemptResult& result,
                                             const DeliveryPolicy& policy, std::int64_t now_ns) {
    AttemptOutcome out;
    out.verdict = classify_attempt(result.http_status);

    auto loaded = load_event(txn, event_id);
    if (!loaded) return loaded.error();
    // Already settled (e.g. by a sender whose lease had been taken over).
    if (!*loaded || (*loaded)->state != EventState::pending) return out;
    Event& e = **loaded;
    // Never handed out, so this cannot be a real result: ignore it rather
    // than let it release (and double-send) its conversation's head.
    auto head = is_head(txn, e);
    if (!head) return head.error();
    if (!*head) return out;

    if (auto r = remove_due(txn, e); !r) return r.error();
    e.attempts++;
    e.last_status = result.http_status;
    e.last_error = result.error;
    e.lease_until_ns = 0;

    if (out.verdict == AttemptVerdict::retry) {
        std::int64_t next = now_ns + backoff(e.attempts, policy);
        if (next - e.created_at_ns > policy.max_age_ns) {
            out.verdict = AttemptVerdict::dead;
        } else {
            e.next_attempt_ns = next;
            if (auto r = txn.put(Db::outbox_due, due_key(next, e.id), {}); !r) return r.error();
            if (auto r = save_event(txn, e); !r) return r.error();
            return out;
        }
    }

    e.next_attempt_ns = 0;
    e.state = out.verdict == AttemptVerdict::delivered ? EventState::delivered : EventState::dead;
    if (auto r = txn.del(Db::outbox_queue, queue_key(e.conversation_id, e.seq)); !r) {
        return r.error();
    }
    // Dead letters keep their record so they can be listed and replayed.
    if (e.state == EventState::delivered) e.body.clear();
    if (e.state == EventState::dead) {
        if (auto r = txn.put(Db::outbox_dead, key_of(e.id), {}); !r) return r.error();
        if (auto r = add_counter(txn, kDeadCountKey, 1); !r) return r.error();
    }
    if (auto r = save_event(txn, e); !r) return r.error();

    auto next = release_next(txn, e.conversation_id, policy, now_ns);
    if (!next) return next.error();
    out.next = std::move(*next);
    return out;
}

Result<std::vector<Delivery>> outbox_claim_due(Txn& txn, std::int64_t now_ns, std::size_t limit,
                                               const DeliveryPolicy& policy) {
    std::vector<Delivery> out;
    std::string from;
    // Collect keys first: the due index is rewritten while claiming. Stale
    // keys do not count against the limit, hence the outer loop.
    while (out.size() < limit) {
        std::vector<std::string> keys;
        std::size_t want = limit - out.size();
        auto scanned = txn.scan(Db::outbox_due, from, [&](const Txn::Entry& en) {
            if (en.key.size() != kDueTimeLen + 16 || due_key_time(en.key) > now_ns) return false;
            keys.emplace_back(en.key);
            return keys.size() < want;
        });
        if (!scanned) return scanned.error();
        if (keys.empty()) break;
        from = keys.back();
        from.push_back('\0');

        for (const auto& k : keys) {
            Uuid id = uuid_from_key(std::string_view(k).substr(kDueTimeLen));
            auto loaded = load_event(txn, id);
            if (!loaded) return loaded.error();
            if (auto r = txn.del(Db::outbox_due, k); !r) return r.error();
            if (!*loaded || (*loaded)->state != EventState::pending) continue;
            Event& e = **loaded;
            auto head = is_head(txn, e);
            if (!head) return head.error();
            if (!*head) continue;
            if (auto r = remove_due(txn, e); !r) return r.error();
            auto d = lease(txn, e, policy, now_ns);
            if (!d) return d.error();
            out.push_back(std::move(*d));
        }
        if (keys.size() < want) break;
    }
    return out;
}

Result<std::optional<std::int64_t>> outbox_next_due(Txn& txn) {
    std::optional<std::int64_t> when;
    auto scanned = txn.scan(Db::outbox_due, {}, [&](const Txn::Entry& en) {
        when = due_key_time(en.key);
        return false;
    });
    if (!scanned) return scanned.error();
    return when;
}

Result<std::vector<Event>> outbox_dead(Txn& txn, std::size_t limit) {
    std::vector<Uuid> ids;
    if (limit == 0) return std::vector<Event>{};
    auto scanned = txn.scan(Db::outbox_dead, {}, [&](const Txn::Entry& en) {
        if (en.key.size() != 16) return true;
        ids.push_back(uuid_from_key(en.key));
        return ids.size() < limit;
    });
    if (!scanned) return scanned.error();
    std::vector<Event> out;
    out.reserve(ids.size());
    for (const auto& id : ids) {
        auto e = load_event(txn, id);
        if (!e) return e.error();
        if (!*e || (*e)->state != EventState::dead) {
            return make_error("store_corrupt", "outbox_dead entry without a dead event");
        }
        out.push_back(std::move(**e));
    }
    return out;
}

Result<bool> outbox_replay(Txn& txn, const Uuid& event_id, const DeliveryPolicy& policy,
                           std::int64_t now_ns) {
    auto loaded = load_event(txn, event_id);
    if (!loaded) return loaded.error();
    if (!*loaded || (*loaded)->state != EventState::dead) return false;
    Event& e = **loaded;

    // The head it may displace: the smallest seq queued now.
    auto first = txn.first_with_prefix(Db::outbox_queue, key_of(e.conversation_id));
    if (!first) return first.error();
    auto qk = queue_key(e.conversation_id, e.seq);
    // Read before the insert: a write may invalidate what LMDB returned.
    std::optional<Uuid> old_head;
    if (*first) old_head = uuid_from_key((*first)->value);
    bool head = !*first || qk < (*first)->key;

    auto ins = txn.insert(Db::outbox_queue, qk, key_of(e.id));
    if (!ins) return ins.error();
    if (!*ins) return make_error("store_corrupt", "outbox event seq already queued");

    e.state = EventState::pending;
    e.attempts = 0;
    e.created_at_ns = now_ns;
    e.next_attempt_ns = 0;
    e.lease_until_ns = 0;

    if (head) {
        if (old_head) {
            // Only the head has a due entry: the displaced one waits, unleased.
            auto prev = load_event(txn, *old_head);
            if (!prev) return prev.error();
            if (!*prev) return make_error("store_corrupt", "outbox queue entry without event");
            Event& p = **prev;
            if (auto r = remove_due(txn, p); !r) return r.error();
            p.next_attempt_ns = 0;
            p.lease_until_ns = 0;
            if (auto r = save_event(txn, p); !r) return r.error();
        }
        e.next_attempt_ns = now_ns;
        if (auto r = txn.put(Db::outbox_due, due_key(now_ns, e.id), {}); !r) return r.error();
    }
    if (auto r = save_event(txn, e); !r) return r.error();
    if (auto r = txn.del(Db::outbox_dead, key_of(e.id)); !r) return r.error();
    if (auto r = add_counter(txn, kDeadCountKey, -1); !r) return r.error();
    return true;
}

Result<std::size_t> outbox_replay_all(Txn& txn, const DeliveryPolicy& policy, std::int64_t now_ns,
                                      std::size_t limit) {
    // Ids first: replaying rewrites the index being scanned.
    std::vector<Uuid> ids;
    if (limit == 0) return std::size_t{0};
    auto scanned = txn.scan(Db::outbox_dead, {}, [&](const Txn::Entry& en) {
        if (en.key.size() != 16) return true;
        ids.push_back(uuid_from_key(en.key));
        return ids.size() < limit;
    });
    if (!scanned) return scanned.error();
    std::size_t n = 0;
    for (const auto& id : ids) {
        auto r = outbox_replay(txn, id, policy, now_ns);
        if (!r) return r.error();
        if (!*r) return make_error("store_corrupt", "outbox_dead entry without a dead event");
        n++;
    }
    return n;
}

Result<OutboxStats> outbox_stats(Txn& txn) {
    OutboxStats st;
    // Within a conversation seq follows creation, so the oldest pending
    // event is one of the queue heads: only those are loaded.
    std::vector<Uuid> heads;
    std::string last_conv;
    bool have_oldest = false;
    auto scanned = txn.scan(Db::outbox_queue, {}, [&](const Txn::Entry& en) {
        st.pending++;
        std::string_view conv = en.key.substr(0, 16);
        if (heads.empty() || conv != last_conv) {
            last_conv.assign(conv);
            heads.push_back(uuid_from_key(en.value));
        }
        return true;
    });
    if (!scanned) return scanned.error();
    for (const auto& id : heads) {
        auto e = load_event(txn, id);
        if (!e) return e.error();
        if (!*e) return make_error("store_corrupt", "outbox queue entry without event");
        std::int64_t t = (*e)->created_at_ns;
        if (!have_oldest || t < st.oldest_pending_ns) st.oldest_pending_ns = t;
        have_oldest = true;
    }
    auto dead = read_counter(txn, kDeadCountKey);
    if (!dead) return dead.error();
    st.dead = *dead;
    return st;
}

double outbox_oldest_age_seconds(const OutboxStats& st, std::int64_t now_ns) {
    if (st.pending == 0 || st.oldest_pending_ns == 0) return 0;
    std::int64_t waited = now_ns - st.oldest_pending_ns;
    return waited > 0 ? static_cast<double>(waited) / kNsPerSec : 0;
}

}  // namespace wa

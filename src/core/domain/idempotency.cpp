#include "domain/idempotency.hpp"

#include "base/crypto.hpp"

namespace wa {

namespace {

std::string storage_key(std::string_view tenant, std::string_view key) {
    std::string k(tenant);
    k.push_back('\0');
    k.append(key);
    return bounded_key(k);
}

std::string expiry_key(const IdempotencyRecord& rec, std::string_view storage) {
    return time_key(rec.created_at_ns + kIdempotencyTtlNs, storage);
}

Result<std::optional<IdempotencyRecord>> load(Txn& txn, std::string_view storage) {
    auto got = txn.get(Db::idempotency, storage);
    if (!got) return got.error();
    if (!*got) return std::optional<IdempotencyRecord>();
    auto rec = decode_idempotency(**got);
    if (!rec) return rec.error();
    return std::optional<IdempotencyRecord>(std::move(*rec));
}

Result<void> remove(Txn& txn, const IdempotencyRecord& rec, std::string_view storage) {
    if (auto r = txn.del(Db::idempotency, storage); !r) return r.error();
    if (auto r = txn.del(Db::idempotency_expiry, expiry_key(rec, storage)); !r) return r.error();
    return {};
}

bool expired(const IdempotencyRecord& rec, std::int64_t now_ns) {
    if (rec.created_at_ns + kIdempotencyTtlNs <= now_ns) return true;
    return rec.state == IdempotencyState::in_flight &&
           rec.created_at_ns + kIdempotencyAbandonedNs <= now_ns;
}

// The record held by owner, still in flight; nullopt otherwise.
Result<std::optional<IdempotencyRecord>> held(Txn& txn, std::string_view storage,
                                              std::uint64_t owner) {
    auto rec = load(txn, storage);
    if (!rec) return rec.error();
    if (!*rec || (*rec)->state != IdempotencyState::in_flight || (*rec)->owner != owner) {
        return std::optional<IdempotencyRecord>();
    }
    return rec;
}

}  // namespace

bool valid_idempotency_key(std::string_view key) {
    if (key.empty() || key.size() > kMaxIdempotencyKey) return false;
    for (char c : key) {
        if (c < 0x21 || c > 0x7e) return false;
    }
    return true;
}

std::string idempotency_fingerprint(std::string_view endpoint, std::string_view body) {
    std::string in(endpoint);
    in.push_back('\0');
    in.append(body);
    return sha256(in);
}

Result<IdempotencyClaim> idempotency_claim(Txn& txn, std::string_view tenant, std::string_view key,
                                           std::string_view fingerprint, std::uint64_t owner,
                                           std::int64_t now_ns) {
    std::string storage = storage_key(tenant, key);
    auto existing = load(txn, storage);
    if (!existing) return existing.error();
    IdempotencyClaim claim;
    if (*existing && !expired(**existing, now_ns)) {
        const IdempotencyRecord& rec = **existing;
        if (rec.fingerprint != fingerprint) {
            claim.kind = IdempotencyClaim::Kind::reused;
        } else if (rec.state == IdempotencyState::in_flight) {
            claim.kind = IdempotencyClaim::Kind::in_use;
        } else {
            claim.kind = IdempotencyClaim::Kind::replay;
            claim.status = rec.status;
            claim.body = rec.body;
            claim.headers = rec.headers;
        }
        return claim;
    }
    if (*existing) {
        if (auto r = remove(txn, **existing, storage); !r) return r.error();
    }
    IdempotencyRecord rec;
    rec.state = IdempotencyState::in_flight;
    rec.fingerprint = fingerprint;
    rec.created_at_ns = now_ns;
    rec.owner = owner;
    if (auto r = txn.put(Db::idempotency, storage, encode(rec)); !r) return r.error();
    if (auto r = txn.put(Db::idempotency_expiry, expiry_key(rec, storage), {}); !r) {
        return r.error();
    }
    return claim;
}

Result<void> idempotency_complete(Txn& txn, std::string_view tenant, std::string_view key,
                                  std::uint64_t owner, int status, std::string_view body,
                                  const AnswerHeaders& headers) {
    std::string storage = storage_key(tenant, key);
    auto rec = held(txn, storage, owner);
    if (!rec) return rec.error();
    if (!*rec) return {};  // taken over as abandoned: the newer request answers
    IdempotencyRecord& r = **rec;
    r.state = IdempotencyState::done;
    r.owner = 0;
    r.status = status;
    r.body = body;
    r.headers = headers;
    return txn.put(Db::idempotency, storage, encode(r));
}

Result<void> idempotency_release(Txn& txn, std::string_view tenant, std::string_view key,
                                 std::uint64_t owner) {
    std::string storage = storage_key(tenant, key);
    auto rec = held(txn, storage, owner);
    if (!rec) return rec.error();
    if (!*rec) return {};
    return remove(txn, **rec, storage);
}

Result<std::size_t> idempotency_prune(Txn& txn, std::int64_t now_ns, std::size_t limit) {
    // Keys first: deleting while scanning would invalidate the cursor.
    std::vector<std::string> due;
    auto scanned = txn.scan(Db::idempotency_expiry, {}, [&](const Txn::Entry& en) {
        if (time_of_key(en.key) > now_ns) return false;
        due.emplace_back(en.key);
        return due.size() < limit;
    });
    if (!scanned) return scanned.error();
    for (const auto& k : due) {
        std::string_view storage = std::string_view(k).substr(8);
        auto rec = load(txn, storage);
        if (!rec) return rec.error();
        // A record claimed again since has its own, later entry.
        if (*rec && expiry_key(**rec, storage) == k) {
            if (auto r = txn.del(Db::idempotency, storage); !r) return r.error();
        }
        if (auto r = txn.del(Db::idempotency_expiry, k); !r) return r.error();
    }
    return due.size();
}

}  // namespace wa

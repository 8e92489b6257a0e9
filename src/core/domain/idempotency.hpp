// Idempotency-Key (SPEC §7.3, the IETF httpapi draft) for every send
// endpoint of every dialect: the first answer to a key is kept 24 h in the
// store and replayed on retries, so a client that retries never sends twice.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"
#include "store/records.hpp"
#include "store/store.hpp"

namespace wa {

constexpr std::int64_t kIdempotencyTtlNs = 24 * 3600 * std::int64_t{1'000'000'000};
// A key still in flight after this is taken to be abandoned (its worker
// died): a retry may claim it again.
constexpr std::int64_t kIdempotencyAbandonedNs = 5 * 60 * std::int64_t{1'000'000'000};
constexpr std::size_t kMaxIdempotencyKey = 255;

// 1-255 visible ASCII characters (0x21-0x7e).
bool valid_idempotency_key(std::string_view key);

// What identifies "the same request": the endpoint and the exact body.
std::string idempotency_fingerprint(std::string_view endpoint, std::string_view body);

using AnswerHeaders = std::vector<std::pair<std::string, std::string>>;

struct IdempotencyClaim {
    enum class Kind {
        claimed,  // first use (or expired, or abandoned): the caller runs the request
        replay,   // done before with the same request: answer status/body/headers again
        in_use,   // the first request with this key is still running: 409
        reused,   // the key was used for another request: 422
    } kind = Kind::claimed;
    int status = 0;
    std::string body;
    AnswerHeaders headers;
};

// Scoped to the tenant. owner identifies the claiming request (complete and
// release only act for it).
Result<IdempotencyClaim> idempotency_claim(Txn& txn, std::string_view tenant, std::string_view key,
                                           std::string_view fingerprint, std::uint64_t owner,
                                           std::int64_t now_ns);

// The claimed request's answer, kept for replays.
Result<void> idempotency_complete(Txn& txn, std::string_view tenant, std::string_view key,
                                  std::uint64_t owner, int status, std::string_view body,
                                  const AnswerHeaders& headers);

// The claimed request ended without an answer worth keeping (the store
// failed, the client left): the key is free again.
Result<void> idempotency_release(Txn& txn, std::string_view tenant, std::string_view key,
                                 std::uint64_t owner);

// Removes up to limit records past their 24 h; returns how many.
Result<std::size_t> idempotency_prune(Txn& txn, std::int64_t now_ns, std::size_t limit);

}  // namespace wa

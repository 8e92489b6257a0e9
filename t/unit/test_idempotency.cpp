// Idempotency-Key (SPEC §7.3): claim, replay, in use, reused, scoped to the
// tenant, expiry after 24 h, abandoned claims, release, pruning.
#include <gtest/gtest.h>

#include <string>

#include "base/clock.hpp"
#include "domain/idempotency.hpp"
#include "store_fixture.hpp"

namespace {

using namespace wa;
using Kind = IdempotencyClaim::Kind;

constexpr std::int64_t kT0 = 1'750'000'000 * kNsPerSec;

class Idempotency : public wa::unit::StoreFixture {
protected:
    IdempotencyClaim claim(std::string_view tenant, std::string_view key, std::string_view body,
                           std::uint64_t owner, std::int64_t now = kT0) {
        Txn t = write();
        auto c =
            idempotency_claim(t, tenant, key, idempotency_fingerprint("reply", body), owner, now);
        EXPECT_TRUE(c.ok()) << c.error().message;
        EXPECT_TRUE(t.commit().ok());
        return c.ok() ? *c : IdempotencyClaim{};
    }

    void complete(std::string_view tenant, std::string_view key, std::uint64_t owner, int status,
                  std::string body) {
        Txn t = write();
        ASSERT_TRUE(
            idempotency_complete(t, tenant, key, owner, status, body, {{"Retry-After", "6"}}).ok());
        ASSERT_TRUE(t.commit().ok());
    }
};

TEST(IdempotencyKey, VisibleAsciiOf1To255) {
    EXPECT_TRUE(valid_idempotency_key("a"));
    EXPECT_TRUE(valid_idempotency_key("8e03978e-40d5-43e8-bc93-6894a57f9324"));
    EXPECT_TRUE(valid_idempotency_key(std::string(255, 'k')));
    EXPECT_FALSE(valid_idempotency_key(""));
    EXPECT_FALSE(valid_idempotency_key(std::string(256, 'k')));
    EXPECT_FALSE(valid_idempotency_key("has space"));
    EXPECT_FALSE(valid_idempotency_key("tab\there"));
    EXPECT_FALSE(valid_idempotency_key("nl\n"));
    EXPECT_FALSE(valid_idempotency_key("del\x7f"));
    EXPECT_FALSE(valid_idempotency_key("caf\xc3\xa9"));
}

TEST(IdempotencyKey, FingerprintIsTheEndpointAndTheExactBody) {
    EXPECT_EQ(idempotency_fingerprint("reply", "{}"), idempotency_fingerprint("reply", "{}"));
    EXPECT_NE(idempotency_fingerprint("reply", "{}"), idempotency_fingerprint("reply", "{ }"));
    EXPECT_NE(idempotency_fingerprint("reply", "{}"), idempotency_fingerprint("send", "{}"));
}

TEST_F(Idempotency, FirstClaimsThenInUseThenReplayOfTheStoredAnswer) {
    EXPECT_EQ(claim("acme", "k1", "body", 7).kind, Kind::claimed);
    EXPECT_EQ(claim("acme", "k1", "body", 8).kind, Kind::in_use);
    complete("acme", "k1", 7, 422, R"({"code":"window_expired"})");
    auto again = claim("acme", "k1", "body", 9);
    EXPECT_EQ(again.kind, Kind::replay);
    EXPECT_EQ(again.status, 422);
    EXPECT_EQ(again.body, R"({"code":"window_expired"})");
    ASSERT_EQ(again.headers.size(), 1u);
    EXPECT_EQ(again.headers[0].first, "Retry-After");
    // It survives a restart.
    reopen();
    EXPECT_EQ(claim("acme", "k1", "body", 10).kind, Kind::replay);
}

TEST_F(Idempotency, AnotherBodyIsReusedInFlightOrDone) {
    EXPECT_EQ(claim("acme", "k1", "body", 7).kind, Kind::claimed);
    EXPECT_EQ(claim("acme", "k1", "other", 8).kind, Kind::reused);
    complete("acme", "k1", 7, 200, "{}");
    EXPECT_EQ(claim("acme", "k1", "other", 8).kind, Kind::reused);
}

TEST_F(Idempotency, ScopedToTheTenant) {
    EXPECT_EQ(claim("acme", "k1", "body", 7).kind, Kind::claimed);
    EXPECT_EQ(claim("globex", "k1", "other", 8).kind, Kind::claimed);
    // a tenant name and key that concatenate alike do not collide
    EXPECT_EQ(claim("acm", "ek1", "body", 9).kind, Kind::claimed);
}

TEST_F(Idempotency, OnlyItsOwnerCompletesOrReleases) {
    EXPECT_EQ(claim("acme", "k1", "body", 7).kind, Kind::claimed);
    complete("acme", "k1", 99, 500, "not mine");
    EXPECT_EQ(claim("acme", "k1", "body", 8).kind, Kind::in_use);
    {
        Txn t = write();
        ASSERT_TRUE(idempotency_release(t, "acme", "k1", 99).ok());
        ASSERT_TRUE(t.commit().ok());
    }
    EXPECT_EQ(claim("acme", "k1", "body", 8).kind, Kind::in_use);
    {
        Txn t = write();
        ASSERT_TRUE(idempotency_release(t, "acme", "k1", 7).ok());
        ASSERT_TRUE(t.commit().ok());
    }
    EXPECT_EQ(claim("acme", "k1", "other body now", 8).kind, Kind::claimed);
}

TEST_F(Idempotency, ExpiresAfter24HoursAndAnAbandonedClaimAfterFiveMinutes) {
    EXPECT_EQ(claim("acme", "done", "body", 1).kind, Kind::claimed);
    complete("acme", "done", 1, 200, "{}");
    EXPECT_EQ(claim("acme", "done", "body", 2, kT0 + kIdempotencyTtlNs - 1).kind, Kind::replay);
    EXPECT_EQ(claim("acme", "done", "new", 2, kT0 + kIdempotencyTtlNs).kind, Kind::claimed);

    EXPECT_EQ(claim("acme", "stuck", "body", 3).kind, Kind::claimed);
    EXPECT_EQ(claim("acme", "stuck", "body", 4, kT0 + kIdempotencyAbandonedNs - 1).kind,
              Kind::in_use);
    EXPECT_EQ(claim("acme", "stuck", "body", 4, kT0 + kIdempotencyAbandonedNs).kind, Kind::claimed);
}

TEST_F(Idempotency, PruneRemovesExpiredRecordsInBatches) {
    for (int i = 0; i < 5; i++)
        claim("acme", "k" + std::to_string(i), "b", 1, kT0 + i);
    // k0 claimed again later: its old expiry entry must not remove the new record
    claim("acme", "k0", "b2", 2, kT0 + kIdempotencyTtlNs + 10);
    Txn t = write();
    auto n = idempotency_prune(t, kT0 + kIdempotencyTtlNs + 2, 2);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 2u);  // k1, k2 (k0's old entry went when it was claimed again)
    n = idempotency_prune(t, kT0 + kIdempotencyTtlNs + 100, 100);
    ASSERT_TRUE(n.ok());
    EXPECT_EQ(*n, 2u);  // k3, k4
    EXPECT_EQ(*t.entries(Db::idempotency), 1u);
    EXPECT_EQ(*t.entries(Db::idempotency_expiry), 1u);
    ASSERT_TRUE(t.commit().ok());
    EXPECT_EQ(claim("acme", "k0", "b2", 3, kT0 + kIdempotencyTtlNs + 200).kind, Kind::in_use);
}

}  // namespace

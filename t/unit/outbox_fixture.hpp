// A store with outbox helpers shared by the outbox test files.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "domain/outbox.hpp"
#include "store/records.hpp"
#include "store_fixture.hpp"

namespace wa::unit {

constexpr std::int64_t kT0 = 1'700'000'000 * kNsPerSec;

class OutboxFixture : public StoreFixture {
protected:
    Event make_event(const Uuid& conv, std::uint64_t seq, std::int64_t created = kT0) {
        Event e;
        e.id = uuid_v7_now();
        e.conversation_id = conv;
        e.seq = seq;
        e.type = "inbound.message.received";
        e.number = "+14155551234";
        e.callback_url = "https://app.example.com/hook";
        e.body = "{\"seq\":" + std::to_string(seq) + "}";
        e.created_at_ns = created;
        return e;
    }

    std::optional<Delivery> enqueue(Txn& txn, const Event& e, std::int64_t now = kT0) {
        auto r = outbox_enqueue(txn, e, policy_, now);
        EXPECT_TRUE(r.ok()) << r.error().message;
        return r.ok() ? *r : std::nullopt;
    }

    AttemptOutcome attempt(Txn& txn, const Uuid& id, int status, std::int64_t now,
                           const char* why = "x") {
        auto r = outbox_record_attempt(txn, id, AttemptResult{status, why}, policy_, now);
        EXPECT_TRUE(r.ok()) << r.error().message;
        return r.ok() ? *r : AttemptOutcome{};
    }

    std::vector<Delivery> claim(Txn& txn, std::int64_t now, std::size_t limit = 100) {
        auto r = outbox_claim_due(txn, now, limit, policy_);
        EXPECT_TRUE(r.ok()) << r.error().message;
        return r.ok() ? *r : std::vector<Delivery>{};
    }

    Event load(Txn& txn, const Uuid& id) {
        auto got = txn.get(Db::outbox, key_of(id));
        EXPECT_TRUE(got.ok() && *got);
        auto e = decode_event(**got);
        EXPECT_TRUE(e.ok());
        return *e;
    }

    std::size_t count(Txn& txn, Db db) {
        std::size_t n = 0;
        auto r = txn.scan(db, {}, [&](const Txn::Entry&) {
            n++;
            return true;
        });
        EXPECT_TRUE(r.ok());
        return n;
    }

    DeliveryPolicy policy_;
};

}  // namespace wa::unit

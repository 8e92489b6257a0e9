// Outbound pacing (domain/pacing): one send per 1/rate s, never more.
#include <gtest/gtest.h>

#include "base/clock.hpp"
#include "domain/pacing.hpp"

namespace wa::unit {
namespace {

TEST(Pacing, OneSendPerIntervalAndNoBurst) {
    std::int64_t tat = 0, now = 1'000 * kNsPerSec;
    PaceDecision first = pace(tat, now, 5);
    ASSERT_TRUE(first.allowed);
    EXPECT_EQ(first.tat_ns, now + kNsPerSec / 5);
    PaceDecision second = pace(first.tat_ns, now + 1, 5);
    EXPECT_FALSE(second.allowed);
    EXPECT_EQ(second.wait_ns, kNsPerSec / 5 - 1);
    EXPECT_TRUE(pace(first.tat_ns, now + kNsPerSec / 5, 5).allowed);
}

TEST(Pacing, NoSecondHoldsMoreThanTheRate) {
    // Try every millisecond for 3 s: count what is allowed in each second.
    std::int64_t tat = 0;
    int per_second[3] = {};
    for (std::int64_t ms = 0; ms < 3000; ms++) {
        PaceDecision d = pace(tat, ms * kNsPerMs, 80);
        if (!d.allowed) continue;
        tat = d.tat_ns;
        per_second[ms / 1000]++;
    }
    // Tries land on whole ms, so a send may wait up to 1 ms past its slot.
    for (int n : per_second) {
        EXPECT_LE(n, 80);
        EXPECT_GE(n, 76);
    }
}

TEST(Pacing, AnIdleNumberDoesNotSaveUpSends) {
    PaceDecision d = pace(5 * kNsPerSec, 100 * kNsPerSec, 2);
    ASSERT_TRUE(d.allowed);
    EXPECT_FALSE(pace(d.tat_ns, 100 * kNsPerSec + 1, 2).allowed);
}

TEST(Pacing, RetryAfterRoundsUp) {
    EXPECT_EQ(retry_after_seconds(1), 1);
    EXPECT_EQ(retry_after_seconds(kNsPerSec), 1);
    EXPECT_EQ(retry_after_seconds(kNsPerSec + 1), 2);
    EXPECT_EQ(retry_after_seconds(0), 1);
}

}  // namespace
}  // namespace wa::unit

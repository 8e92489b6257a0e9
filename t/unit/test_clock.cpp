// Clock: RFC 3339 formatting with fixed inputs, and a sane now_ns().
#include <gtest/gtest.h>

#include "base/clock.hpp"

namespace {

TEST(Clock, Rfc3339Epoch) { EXPECT_EQ(wa::rfc3339_ns(0), "1970-01-01T00:00:00.000000000Z"); }

TEST(Clock, Rfc3339KnownValue) {
    // date -u -d @1729760350 -> Thu Oct 24 08:59:10 UTC 2024
    EXPECT_EQ(wa::rfc3339_ns(1729760350736925502LL), "2024-10-24T08:59:10.736925502Z");
}

TEST(Clock, Rfc3339AlwaysNineFractionDigits) {
    EXPECT_EQ(wa::rfc3339_ns(1729760350LL * wa::kNsPerSec), "2024-10-24T08:59:10.000000000Z");
    EXPECT_EQ(wa::rfc3339_ns(1), "1970-01-01T00:00:00.000000001Z");
    EXPECT_EQ(wa::rfc3339_ns(wa::kNsPerSec - 1), "1970-01-01T00:00:00.999999999Z");
}

TEST(Clock, Rfc3339NegativeClampsToEpoch) {
    EXPECT_EQ(wa::rfc3339_ns(-1), "1970-01-01T00:00:00.000000000Z");
    EXPECT_EQ(wa::rfc3339_ns(INT64_MIN), "1970-01-01T00:00:00.000000000Z");
}

TEST(Clock, Rfc3339LeapDay) {
    // 2024-02-29T23:59:59Z
    EXPECT_EQ(wa::rfc3339_ns(1709251199LL * wa::kNsPerSec + 500), "2024-02-29T23:59:59.000000500Z");
}

TEST(Clock, NowIsRecentAndMonotonicEnough) {
    std::int64_t a = wa::now_ns();
    std::int64_t b = wa::now_ns();
    EXPECT_GT(a, 1700000000LL * wa::kNsPerSec);  // after Nov 2023
    EXPECT_GE(b, a - wa::kNsPerSec);             // no wild jumps
}

}  // namespace

// Clock: RFC 3339 formatting with fixed inputs, a sane now_ns(), and durations.
#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <random>
#include <string>
#include <vector>

#include "base/clock.hpp"

namespace {

// The snprintf/gmtime_r formatter rfc3339_ns replaced, as the reference.
std::string reference_rfc3339_ns(std::int64_t unix_ns) {
    if (unix_ns < 0) {
        unix_ns = 0;
    }
    time_t secs = static_cast<time_t>(unix_ns / wa::kNsPerSec);
    long frac = static_cast<long>(unix_ns % wa::kNsPerSec);
    struct tm tm;
    if (gmtime_r(&secs, &tm) == nullptr) {
        return "1970-01-01T00:00:00.000000000Z";
    }
    char buf[64];
    int n =
        std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900,
                      tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    if (n < 0 || static_cast<size_t>(n) >= sizeof(buf)) {
        return "1970-01-01T00:00:00.000000000Z";
    }
    return std::string(buf, static_cast<size_t>(n));
}

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

TEST(Clock, Rfc3339CenturyLeapRules) {
    // 2000 is a leap year (divisible by 400), 2100 is not (by 100).
    EXPECT_EQ(wa::rfc3339_ns(951782400LL * wa::kNsPerSec), "2000-02-29T00:00:00.000000000Z");
    EXPECT_EQ(wa::rfc3339_ns(951868800LL * wa::kNsPerSec - 1), "2000-02-29T23:59:59.999999999Z");
    EXPECT_EQ(wa::rfc3339_ns(951868800LL * wa::kNsPerSec), "2000-03-01T00:00:00.000000000Z");
    EXPECT_EQ(wa::rfc3339_ns(4107542400LL * wa::kNsPerSec - 1), "2100-02-28T23:59:59.999999999Z");
    EXPECT_EQ(wa::rfc3339_ns(4107542400LL * wa::kNsPerSec), "2100-03-01T00:00:00.000000000Z");
    EXPECT_EQ(wa::rfc3339_ns(946684799LL * wa::kNsPerSec), "1999-12-31T23:59:59.000000000Z");
}

TEST(Clock, Rfc3339Seconds) {
    EXPECT_EQ(wa::rfc3339_s(0), "1970-01-01T00:00:00Z");
    EXPECT_EQ(wa::rfc3339_s(1729760350), "2024-10-24T08:59:10Z");
    EXPECT_EQ(wa::rfc3339_s(1709251199), "2024-02-29T23:59:59Z");
    EXPECT_EQ(wa::rfc3339_s(-5), "1970-01-01T00:00:00Z");
    EXPECT_EQ(wa::rfc3339_s(253402300799), "9999-12-31T23:59:59Z");
    EXPECT_EQ(wa::rfc3339_s(INT64_MAX), "9999-12-31T23:59:59Z");
    // The same date and time as the nanosecond form, without its fraction.
    EXPECT_EQ(wa::rfc3339_s(9223372036), wa::rfc3339_ns(INT64_MAX).substr(0, 19) + "Z");
}

TEST(Clock, Rfc3339LargestInput) {
    // INT64_MAX ns is the latest time there is (year 9999 is out of reach).
    EXPECT_EQ(wa::rfc3339_ns(INT64_MAX), "2262-04-11T23:47:16.854775807Z");
    EXPECT_EQ(wa::rfc3339_ns(INT64_MAX), reference_rfc3339_ns(INT64_MAX));
}

TEST(Clock, Rfc3339MatchesReferenceAtEdges) {
    std::vector<std::int64_t> secs = {0,          1,          59,         60,         3599,
                                      3600,       86399,      86400,      68169599,   68169600,
                                      946684799,  946684800,  951782399,  951782400,  951868799,
                                      951868800,  1709251199, 1709251200, 4107542399, 4107542400,
                                      4133980799, 4133980800, 9223372035, 9223372036};
    for (std::int64_t s : secs) {
        for (std::int64_t frac : {0LL, 1LL, 10LL, 1000LL, 120000000LL, 999999999LL}) {
            if (s > (INT64_MAX - frac) / wa::kNsPerSec) {
                continue;
            }
            std::int64_t ns = s * wa::kNsPerSec + frac;
            ASSERT_EQ(wa::rfc3339_ns(ns), reference_rfc3339_ns(ns)) << ns;
        }
    }
    // Both sides of every midnight that int64 ns reach (1970..2262: the
    // 400-year rule in 2000, the 100-year rule in 2100 and 2200).
    const std::int64_t ns_per_day = 86400 * wa::kNsPerSec;
    for (std::int64_t d = 1; d <= INT64_MAX / ns_per_day; d++) {
        std::int64_t midnight = d * ns_per_day;
        ASSERT_EQ(wa::rfc3339_ns(midnight), reference_rfc3339_ns(midnight)) << midnight;
        ASSERT_EQ(wa::rfc3339_ns(midnight - 1), reference_rfc3339_ns(midnight - 1)) << midnight;
    }
    for (std::int64_t ns :
         {INT64_MIN, INT64_MIN + 1, -wa::kNsPerSec, std::int64_t{-1}, INT64_MAX - 1}) {
        ASSERT_EQ(wa::rfc3339_ns(ns), reference_rfc3339_ns(ns)) << ns;
    }
}

TEST(Clock, Rfc3339MatchesReferenceOnRandomValues) {
    std::mt19937_64 rng(20261201);
    // Uniform over all int64 (half of them negative, so clamped), over the
    // years we meet (1970..2100), and whole seconds/ms (trailing zeros).
    std::uniform_int_distribution<std::int64_t> any(INT64_MIN, INT64_MAX);
    std::uniform_int_distribution<std::int64_t> recent(0, 4102444800LL * wa::kNsPerSec);
    for (int i = 0; i < 100000; i++) {
        std::int64_t ns;
        switch (i % 4) {
            case 0: ns = any(rng); break;
            case 1: ns = recent(rng); break;
            case 2: ns = recent(rng) / wa::kNsPerSec * wa::kNsPerSec; break;
            default: ns = recent(rng) / wa::kNsPerMs * wa::kNsPerMs; break;
        }
        ASSERT_EQ(wa::rfc3339_ns(ns), reference_rfc3339_ns(ns)) << ns;
    }
}

TEST(Clock, NowIsRecentAndMonotonicEnough) {
    std::int64_t a = wa::now_ns();
    std::int64_t b = wa::now_ns();
    EXPECT_GT(a, 1700000000LL * wa::kNsPerSec);  // after Nov 2023
    EXPECT_GE(b, a - wa::kNsPerSec);             // no wild jumps
}

}  // namespace

namespace {

TEST(Rfc3339Parse, ReadsWhatRfc3339Writes) {
    for (std::int64_t ns : {std::int64_t{0}, std::int64_t{1761296350736925502},
                            std::int64_t{951782400} * wa::kNsPerSec,  // 2000-02-29
                            std::int64_t{4107542400} * wa::kNsPerSec + 5}) {
        auto back = wa::parse_rfc3339(wa::rfc3339_ns(ns));
        ASSERT_TRUE(back.has_value()) << wa::rfc3339_ns(ns);
        EXPECT_EQ(*back, ns);
    }
}

TEST(Rfc3339Parse, OffsetsAndFractions) {
    EXPECT_EQ(wa::parse_rfc3339("2025-10-24T10:59:10+02:00"),
              wa::parse_rfc3339("2025-10-24T08:59:10Z"));
    EXPECT_EQ(wa::parse_rfc3339("2025-10-24t08:59:10z"), wa::parse_rfc3339("2025-10-24T08:59:10Z"));
    EXPECT_EQ(*wa::parse_rfc3339("1970-01-01T00:00:01.5Z"), 1'500'000'000);
    EXPECT_EQ(*wa::parse_rfc3339("1970-01-01T01:00:00-01:00"), 2 * 3600 * wa::kNsPerSec);
}

TEST(Rfc3339Parse, RefusesWhatIsNotOne) {
    for (const char* bad :
         {"", "2025-10-24", "2025-10-24T08:59:10", "2025-10-24 08:59:10Z", "2025-13-01T00:00:00Z",
          "2025-02-29T00:00:00Z", "2025-10-32T00:00:00Z", "2025-10-24T24:00:00Z",
          "2025-10-24T08:60:00Z", "2025-10-24T08:59:10.Z", "2025-10-24T08:59:10.1234567890Z",
          "2025-10-24T08:59:10+0200", "2025-10-24T08:59:10Zjunk", "1969-12-31T23:59:59Z",
          "3000-01-01T00:00:00Z", "+025-10-24T08:59:10Z"}) {
        EXPECT_FALSE(wa::parse_rfc3339(bad).has_value()) << bad;
    }
}

TEST(DurationParse, UnitsAndSums) {
    constexpr std::int64_t s = wa::kNsPerSec;
    EXPECT_EQ(wa::parse_duration_ns("30d"), 30 * 86400 * s);
    EXPECT_EQ(wa::parse_duration_ns("12h"), 12 * 3600 * s);
    EXPECT_EQ(wa::parse_duration_ns("90m"), 90 * 60 * s);
    EXPECT_EQ(wa::parse_duration_ns("45s"), 45 * s);
    EXPECT_EQ(wa::parse_duration_ns("0s"), 0);
    EXPECT_EQ(wa::parse_duration_ns("1d12h30m5s"), ((24 + 12) * 3600 + 30 * 60 + 5) * s);
    EXPECT_EQ(wa::parse_duration_ns("106751d"),
              std::int64_t{106751} * 86400 * s);  // about INT64_MAX ns
}

TEST(DurationParse, RefusesWhatIsNotOne) {
    for (const char* bad : {"", "d", "30", "30x", "-1d", "1.5h", "1h1d", "1h1h", "1d 2h", "30D",
                            "106752d", "99999999999999999999s", "1h30"}) {
        EXPECT_FALSE(wa::parse_duration_ns(bad).has_value()) << bad;
    }
}

}  // namespace

// Wall-clock time as Unix nanoseconds, and RFC 3339 text.
#include "base/clock.hpp"

#include <ctime>

namespace wa {

namespace {

constexpr std::uint64_t kSecsPerDay = 86400;

struct Civil {
    unsigned year, month, day;
};

// Days since 1970-01-01 (>= 0) to a proleptic Gregorian date: Howard
// Hinnant's civil_from_days, in unsigned arithmetic as days are never negative.
Civil civil_from_days(std::uint64_t days) {
    const std::uint64_t z = days + 719468;  // days since 0000-03-01
    const std::uint64_t era = z / 146097;
    const unsigned doe = static_cast<unsigned>(z - era * 146097);                // [0, 146096]
    const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
    const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
    const unsigned mp = (5 * doy + 2) / 153;  // [0, 11], March = 0
    const unsigned month = mp < 10 ? mp + 3 : mp - 9;
    const unsigned year = static_cast<unsigned>(era * 400 + yoe) + (month <= 2 ? 1 : 0);
    return Civil{year, month, doy - (153 * mp + 2) / 5 + 1};
}

// v as exactly n decimal digits at p (zero-padded).
void put_digits(char* p, std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; i--) {
        p[i] = static_cast<char>('0' + v % 10);
        v /= 10;
    }
}

}  // namespace

std::int64_t now_ns() {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * kNsPerSec + ts.tv_nsec;
}

std::string rfc3339_ns(std::int64_t unix_ns) {
    // Times before the epoch never occur in our data; clamp rather than
    // print a negative fraction.
    if (unix_ns < 0) {
        unix_ns = 0;
    }

    // Written by hand: snprintf showed in reply profiles. INT64_MAX ns is in
    // 2262, so the year always has four digits.
    const std::uint64_t ns = static_cast<std::uint64_t>(unix_ns);
    const std::uint64_t secs = ns / kNsPerSec;
    const std::uint64_t sod = secs % kSecsPerDay;
    const Civil c = civil_from_days(secs / kSecsPerDay);

    char buf[30];  // 2025-10-24T08:59:10.736925502Z
    put_digits(buf, c.year, 4);
    buf[4] = '-';
    put_digits(buf + 5, c.month, 2);
    buf[7] = '-';
    put_digits(buf + 8, c.day, 2);
    buf[10] = 'T';
    put_digits(buf + 11, sod / 3600, 2);
    buf[13] = ':';
    put_digits(buf + 14, sod / 60 % 60, 2);
    buf[16] = ':';
    put_digits(buf + 17, sod % 60, 2);
    buf[19] = '.';
    put_digits(buf + 20, ns % kNsPerSec, 9);
    buf[29] = 'Z';
    return std::string(buf, sizeof(buf));
}

}  // namespace wa

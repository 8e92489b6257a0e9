// Wall-clock time as Unix nanoseconds, RFC 3339 text, and durations.
#include "base/clock.hpp"

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <iterator>

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

// Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's
// days_from_civil); year >= 1970.
std::int64_t days_from_civil(unsigned year, unsigned month, unsigned day) {
    const unsigned y = year - (month <= 2 ? 1 : 0);
    const unsigned era = y / 400;
    const unsigned yoe = y - era * 400;
    const unsigned mp = month > 2 ? month - 3 : month + 9;
    const unsigned doy = (153 * mp + 2) / 5 + day - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return static_cast<std::int64_t>(era) * 146097 + doe - 719468;
}

bool leap_year(unsigned y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned days_in_month(unsigned year, unsigned month) {
    static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return month == 2 && leap_year(year) ? 29 : kDays[month - 1];
}

// n digits at s[at], or -1.
long digits_at(std::string_view s, std::size_t at, std::size_t n) {
    if (at + n > s.size()) return -1;
    long v = 0;
    for (std::size_t i = at; i < at + n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

// v as exactly n decimal digits at p (zero-padded).
void put_digits(char* p, std::uint64_t v, int n) {
    for (int i = n - 1; i >= 0; i--) {
        p[i] = static_cast<char>('0' + v % 10);
        v /= 10;
    }
}

// "YYYY-MM-DDTHH:MM:SS" (19 characters) at p; secs within years 1970-9999.
// Written by hand: snprintf showed in reply profiles.
void put_date_time(char* p, std::uint64_t secs) {
    const std::uint64_t sod = secs % kSecsPerDay;
    const Civil c = civil_from_days(secs / kSecsPerDay);
    put_digits(p, c.year, 4);
    p[4] = '-';
    put_digits(p + 5, c.month, 2);
    p[7] = '-';
    put_digits(p + 8, c.day, 2);
    p[10] = 'T';
    put_digits(p + 11, sod / 3600, 2);
    p[13] = ':';
    put_digits(p + 14, sod / 60 % 60, 2);
    p[16] = ':';
    put_digits(p + 17, sod % 60, 2);
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
    // INT64_MAX ns is in 2262, so the year always has four digits.
    const std::uint64_t ns = static_cast<std::uint64_t>(unix_ns);
    char buf[30];  // 2025-10-24T08:59:10.736925502Z
    put_date_time(buf, ns / kNsPerSec);
    buf[19] = '.';
    put_digits(buf + 20, ns % kNsPerSec, 9);
    buf[29] = 'Z';
    return std::string(buf, sizeof(buf));
}

std::string rfc3339_s(std::int64_t unix_s) {
    constexpr std::int64_t kMax = 253402300799;  // 9999-12-31T23:59:59Z
    char buf[20];                                // 2025-10-24T08:59:10Z
    put_date_time(buf, static_cast<std::uint64_t>(unix_s < 0 ? 0 : std::min(unix_s, kMax)));
    buf[19] = 'Z';
    return std::string(buf, sizeof(buf));
}

std::optional<std::int64_t> parse_rfc3339(std::string_view s) {
    // YYYY-MM-DDTHH:MM:SS
    if (s.size() < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
        s[13] != ':' || s[16] != ':') {
        return std::nullopt;
    }
    long year = digits_at(s, 0, 4), month = digits_at(s, 5, 2), day = digits_at(s, 8, 2);
    long hour = digits_at(s, 11, 2), minute = digits_at(s, 14, 2), second = digits_at(s, 17, 2);
    if (year < 1970 || month < 1 || month > 12 || day < 1 ||
        day > static_cast<long>(
                  days_in_month(static_cast<unsigned>(year), static_cast<unsigned>(month))) ||
        hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60) {
        return std::nullopt;
    }
    std::size_t at = 19;
    std::int64_t frac_ns = 0;
    if (at < s.size() && s[at] == '.') {
        std::size_t n = 0;
        std::int64_t scale = kNsPerSec;
        while (at + 1 + n < s.size() && s[at + 1 + n] >= '0' && s[at + 1 + n] <= '9') {
            if (++n > 9) return std::nullopt;
            scale /= 10;
            frac_ns += (s[at + n] - '0') * scale;
        }
        if (n == 0) return std::nullopt;
        at += 1 + n;
    }
    std::int64_t offset_s = 0;
    if (at + 1 == s.size() && (s[at] == 'Z' || s[at] == 'z')) {
        at++;
    } else if (at + 6 == s.size() && (s[at] == '+' || s[at] == '-') && s[at + 3] == ':') {
        long oh = digits_at(s, at + 1, 2), om = digits_at(s, at + 4, 2);
        if (oh < 0 || oh > 23 || om < 0 || om > 59) return std::nullopt;
        offset_s = (oh * 3600 + om * 60) * (s[at] == '+' ? 1 : -1);
        at += 6;
    }
    if (at != s.size()) return std::nullopt;
    // A leap second is read as the next second.
    std::int64_t secs = days_from_civil(static_cast<unsigned>(year), static_cast<unsigned>(month),
                                        static_cast<unsigned>(day)) *
                            86400 +
                        hour * 3600 + minute * 60 + second - offset_s;
    constexpr std::int64_t kMaxSecs = INT64_MAX / kNsPerSec - 1;
    if (secs < 0 || secs > kMaxSecs) return std::nullopt;
    return secs * kNsPerSec + frac_ns;
}

std::optional<std::int64_t> parse_duration_ns(std::string_view s) {
    struct Unit {
        char name;
        std::int64_t ns;
    };
    static constexpr Unit kUnits[] = {
        {'d', 86400 * kNsPerSec}, {'h', 3600 * kNsPerSec}, {'m', 60 * kNsPerSec}, {'s', kNsPerSec}};
    if (s.empty()) return std::nullopt;
    std::int64_t total = 0;
    std::size_t next_unit = 0;  // units go largest first, each once
    while (!s.empty()) {
        std::size_t n = 0;
        std::int64_t v = 0;
        while (n < s.size() && s[n] >= '0' && s[n] <= '9') {
            if (v > (INT64_MAX - 9) / 10) return std::nullopt;
            v = v * 10 + (s[n++] - '0');
        }
        if (n == 0 || n == s.size()) return std::nullopt;
        std::size_t u = next_unit;
        while (u < std::size(kUnits) && kUnits[u].name != s[n])
            u++;
        if (u == std::size(kUnits) || v > (INT64_MAX - total) / kUnits[u].ns) return std::nullopt;
        total += v * kUnits[u].ns;
        next_unit = u + 1;
        s.remove_prefix(n + 1);
    }
    return total;
}

}  // namespace wa

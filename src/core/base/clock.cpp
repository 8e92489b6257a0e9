// Wall-clock time as Unix nanoseconds, and RFC 3339 text.
#include "base/clock.hpp"

#include <cstdio>
#include <ctime>

namespace wa {

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

    time_t secs = static_cast<time_t>(unix_ns / kNsPerSec);
    long frac = static_cast<long>(unix_ns % kNsPerSec);

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

}  // namespace wa

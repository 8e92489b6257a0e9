// Wall-clock time as Unix nanoseconds, RFC 3339 text, and durations.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace wa {

constexpr std::int64_t kNsPerSec = 1'000'000'000;
constexpr std::int64_t kNsPerMs = 1'000'000;

std::int64_t now_ns();  // CLOCK_REALTIME

// "2025-10-24T08:59:10.736925502Z" (always nine fraction digits, UTC).
std::string rfc3339_ns(std::int64_t unix_ns);

// "2025-10-24T08:59:10Z" (whole seconds, UTC), for times known to the
// second (Meta's webhook timestamps); clamped to 1970-01-01T00:00:00Z ..
// 9999-12-31T23:59:59Z.
std::string rfc3339_s(std::int64_t unix_s);

// RFC 3339 date-time ("2025-10-24T08:59:10Z", "...10.5+02:00", 't' and 'z'
// accepted, up to nine fraction digits) to Unix nanoseconds; nullopt when it
// is not one, or before 1970 or after 2262 (what an int64 of ns holds).
std::optional<std::int64_t> parse_rfc3339(std::string_view text);

// "30d", "12h", "90m", "45s", "1d12h" (days, hours, minutes, seconds, each
// at most once and in that order, as an operator writes nginx times) to
// nanoseconds; nullopt for anything else or more than an int64 of ns holds.
std::optional<std::int64_t> parse_duration_ns(std::string_view text);

}  // namespace wa

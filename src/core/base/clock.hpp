// Wall-clock time as Unix nanoseconds, and RFC 3339 text.
#pragma once

#include <cstdint>
#include <string>

namespace wa {

constexpr std::int64_t kNsPerSec = 1'000'000'000;
constexpr std::int64_t kNsPerMs = 1'000'000;

std::int64_t now_ns();  // CLOCK_REALTIME

// "2025-10-24T08:59:10.736925502Z" (always nine fraction digits, UTC).
std::string rfc3339_ns(std::int64_t unix_ns);

}  // namespace wa

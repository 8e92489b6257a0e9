// Outbound pacing (SPEC §3.2 `rate Nr/s`): a number may send once per 1/N
// s, as GCRA with no burst, so that no second ever holds more than N of its
// sends. The state is one theoretical arrival time per number (TAT), kept
// by the caller where every worker sees it.
#pragma once

#include <cstdint>

namespace wa {

struct PaceDecision {
    bool allowed = false;
    std::int64_t tat_ns = 0;   // allowed: the number's new TAT
    std::int64_t wait_ns = 0;  // refused: until a send is allowed again
};

// rate_per_sec > 0.
PaceDecision pace(std::int64_t tat_ns, std::int64_t now_ns, std::uint32_t rate_per_sec);

// Retry-After for a wait: whole seconds, rounded up, at least 1.
int retry_after_seconds(std::int64_t wait_ns);

}  // namespace wa

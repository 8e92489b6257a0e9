#include "domain/pacing.hpp"

#include <algorithm>

#include "base/clock.hpp"

namespace wa {

PaceDecision pace(std::int64_t tat_ns, std::int64_t now_ns, std::uint32_t rate_per_sec) {
    PaceDecision d;
    std::int64_t interval = kNsPerSec / std::max<std::uint32_t>(rate_per_sec, 1);
    if (tat_ns > now_ns) {
        d.wait_ns = tat_ns - now_ns;
        return d;
    }
    d.allowed = true;
    d.tat_ns = now_ns + interval;
    return d;
}

int retry_after_seconds(std::int64_t wait_ns) {
    std::int64_t s = (wait_ns + kNsPerSec - 1) / kNsPerSec;
    return static_cast<int>(std::clamp<std::int64_t>(s, 1, 3600));
}

}  // namespace wa

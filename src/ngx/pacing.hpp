// Outbound pacing across workers (SPEC §3.2 `rate`): each paced number's
// theoretical arrival time in shared memory, taken with compare-and-swap,
// so no lock is ever held, least of all across a subrequest.
#pragma once

#include "ngx.hpp"

#include <cstdint>
#include <optional>

#include "domain/numbers.hpp"

namespace wa::ngx {

// From postconfiguration, when a number has a rate.
ngx_int_t pacing_add_zone(ngx_conf_t* cf);

// A send of number may go now (nullopt, its slot taken) or after the wait
// returned, in ns. Unpaced numbers always go.
std::optional<std::int64_t> pacing_take(const NumberConfig& number, std::size_t number_index);

}  // namespace wa::ngx

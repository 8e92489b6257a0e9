// Small JSON bodies the gateway answers with (errors, acknowledgements).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace wa {

// {"error":{"code":"...","message":"..."}}
std::string error_json(std::string_view code, std::string_view message);

// {"received":N,"duplicates":N,"unrouted":N}: what a webhook POST did.
std::string webhook_ack_json(std::uint32_t received, std::uint32_t duplicates,
                             std::uint32_t unrouted);

}  // namespace wa

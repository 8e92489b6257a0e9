// IP addresses and CIDR ranges as bytes, for the callback SSRF guard.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <sys/socket.h>

#include "base/result.hpp"

namespace wa {

// v4 addresses use bytes[0..3]; the rest stays zero so == works.
struct IpAddress {
    bool v6 = false;
    std::array<std::uint8_t, 16> bytes{};

    friend bool operator==(const IpAddress&, const IpAddress&) = default;
};

// Strict text forms only (inet_pton): dotted-quad v4 ("127.1" and
// "0x7f.0.0.1" are not addresses), v6 without brackets or zone.
std::optional<IpAddress> parse_ip(std::string_view text);

// inet_ntop's text: "10.0.0.1", "2001:db8::1" (no brackets).
std::string ip_to_string(const IpAddress& ip);

// AF_INET / AF_INET6 socket addresses; nullopt for any other family.
std::optional<IpAddress> ip_from_sockaddr(const sockaddr* sa);

// ::ffff:a.b.c.d becomes a.b.c.d, so one v4 rule covers both spellings.
IpAddress unmap_v4(const IpAddress& ip);

struct Cidr {
    IpAddress base;       // host bits cleared
    unsigned prefix = 0;  // 0-32 (v4) or 0-128 (v6)
};

// "a.b.c.d/n", "x:y::/n", or a bare address (a /32 or /128). Host bits
// below the prefix are cleared, as nginx's allow/deny do. An
// IPv4-mapped v6 range of /96 or longer becomes the v4 range.
// Error code "invalid_cidr".
Result<Cidr> parse_cidr(std::string_view text);

// Same family and the first `prefix` bits equal.
bool cidr_contains(const Cidr& c, const IpAddress& ip);

}  // namespace wa

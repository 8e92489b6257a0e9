#include "base/ip.hpp"

#include <charconv>
#include <cstring>
#include <string>

#include <arpa/inet.h>
#include <netinet/in.h>

namespace wa {

namespace {

constexpr std::array<std::uint8_t, 12> kMappedPrefix{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool is_mapped_v4(const IpAddress& ip) {
    return ip.v6 && std::memcmp(ip.bytes.data(), kMappedPrefix.data(), kMappedPrefix.size()) == 0;
}

void clear_host_bits(IpAddress& ip, unsigned prefix) {
    for (unsigned i = 0; i < ip.bytes.size(); i++) {
        unsigned first_bit = i * 8;
        if (first_bit >= prefix) {
            ip.bytes[i] = 0;
        } else if (prefix - first_bit < 8) {
            ip.bytes[i] &= static_cast<std::uint8_t>(0xff << (8 - (prefix - first_bit)));
        }
    }
}

std::optional<unsigned> parse_prefix(std::string_view s, unsigned max) {
    unsigned n = 0;
    if (s.empty() || s.size() > 3) {
        return std::nullopt;
    }
    auto r = std::from_chars(s.data(), s.data() + s.size(), n);
    if (r.ec != std::errc{} || r.ptr != s.data() + s.size() || n > max) {
        return std::nullopt;
    }
    return n;
}

}  // namespace

std::string ip_to_string(const IpAddress& ip) {
    char buf[INET6_ADDRSTRLEN] = {};
    inet_ntop(ip.v6 ? AF_INET6 : AF_INET, ip.bytes.data(), buf, sizeof(buf));
    return buf;
}

std::optional<IpAddress> parse_ip(std::string_view text) {
    // inet_pton needs a NUL-terminated string; an embedded NUL must not
    // cut the text short, so refuse it first.
    if (text.empty() || text.size() > INET6_ADDRSTRLEN ||
        text.find('\0') != std::string_view::npos) {
        return std::nullopt;
    }
    std::string s(text);
    IpAddress ip;
    if (inet_pton(AF_INET, s.c_str(), ip.bytes.data()) == 1) {
        return ip;
    }
    if (inet_pton(AF_INET6, s.c_str(), ip.bytes.data()) == 1) {
        ip.v6 = true;
        return ip;
    }
    return std::nullopt;
}

std::optional<IpAddress> ip_from_sockaddr(const sockaddr* sa) {
    IpAddress ip;
    if (sa == nullptr) {
        return std::nullopt;
    }
    if (sa->sa_family == AF_INET) {
        const auto* in = reinterpret_cast<const sockaddr_in*>(sa);
        std::memcpy(ip.bytes.data(), &in->sin_addr, 4);
        return ip;
    }
    if (sa->sa_family == AF_INET6) {
        const auto* in6 = reinterpret_cast<const sockaddr_in6*>(sa);
        std::memcpy(ip.bytes.data(), &in6->sin6_addr, 16);
        ip.v6 = true;
        return ip;
    }
    return std::nullopt;
}

IpAddress unmap_v4(const IpAddress& ip) {
    if (!is_mapped_v4(ip)) {
        return ip;
    }
    IpAddress v4;
    std::memcpy(v4.bytes.data(), ip.bytes.data() + 12, 4);
    return v4;
}

Result<Cidr> parse_cidr(std::string_view text) {
    std::size_t slash = text.find('/');
    auto ip = parse_ip(text.substr(0, slash));
    if (!ip) {
        return make_error("invalid_cidr", "not an IPv4 or IPv6 address");
    }
    unsigned max = ip->v6 ? 128 : 32;
    unsigned prefix = max;
    if (slash != std::string_view::npos) {
        auto p = parse_prefix(text.substr(slash + 1), max);
        if (!p) {
            return make_error("invalid_cidr", "prefix length must be 0-" + std::to_string(max));
        }
        prefix = *p;
    }
    if (is_mapped_v4(*ip) && prefix >= 96) {
        ip = unmap_v4(*ip);
        prefix -= 96;
    }
    clear_host_bits(*ip, prefix);
    return Cidr{*ip, prefix};
}

bool cidr_contains(const Cidr& c, const IpAddress& ip) {
    if (c.base.v6 != ip.v6) {
        return false;
    }
    IpAddress masked = ip;
    clear_host_bits(masked, c.prefix);
    return masked == c.base;
}

}  // namespace wa

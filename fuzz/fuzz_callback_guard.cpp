// libFuzzer target: the callback URL SSRF guard (callback_guard.hpp) and
// its address parsers parse_ip / parse_cidr (ip.hpp). The input is tried as
// a URL, an address and a CIDR.
//   check_url never accepts a URL whose literal host is a refused address
//   (checked here against an independent list of the ranges that matter
//   most: loopback, private, link-local, CGNAT, multicast, ULA, and v6
//   forms that carry such a v4 address), nor a host name that the C
//   library would read as an IPv4 address (inet_aton: "127.1",
//   "0x7f000001"); plain http only reaches an allowed range.
//   parse_ip / parse_cidr results print and parse back to themselves.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "domain/callback_guard.hpp"
#include "fuzz_check.hpp"
#include "base/ip.hpp"

namespace {

bool refused_v4(const std::uint8_t* a) {
    return a[0] == 0 || a[0] == 10 || a[0] == 127 || a[0] >= 224 || (a[0] == 169 && a[1] == 254) ||
           (a[0] == 172 && (a[1] & 0xf0) == 16) || (a[0] == 192 && a[1] == 168) ||
           (a[0] == 100 && (a[1] & 0xc0) == 64);
}

bool refused(const wa::IpAddress& ip) {
    const std::uint8_t* b = ip.bytes.data();
    if (!ip.v6) {
        return refused_v4(b);
    }
    static const std::uint8_t zeros[12] = {};
    static const std::uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    static const std::uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b};
    if (std::memcmp(b, zeros, 12) == 0) {
        return true;  // ::, ::1, v4-compatible
    }
    if (std::memcmp(b, mapped, 12) == 0 || std::memcmp(b, nat64, 12) == 0) {
        return refused_v4(b + 12);
    }
    if (b[0] == 0x20 && b[1] == 0x02) {
        return refused_v4(b + 2);  // 6to4
    }
    return (b[0] & 0xfe) == 0xfc || b[0] == 0xff || (b[0] == 0xfe && (b[1] & 0xc0) == 0x80);
}

// The v4 address a NAT64 or 6to4 address carries (the guard judges those
// by it, listed ranges included); null for any other.
const std::uint8_t* carried_v4(const wa::IpAddress& ip) {
    static const std::uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b};
    const std::uint8_t* b = ip.bytes.data();
    if (!ip.v6) return nullptr;
    if (std::memcmp(b, nat64, 12) == 0) return b + 12;
    if (b[0] == 0x20 && b[1] == 0x02) return b + 2;
    return nullptr;
}

std::string to_text(const wa::IpAddress& ip) {
    char buf[INET6_ADDRSTRLEN];
    FUZZ_CHECK(inet_ntop(ip.v6 ? AF_INET6 : AF_INET, ip.bytes.data(), buf, sizeof(buf)) != nullptr);
    return buf;
}

void check_target(const wa::CallbackTarget& t) {
    FUZZ_CHECK(!t.host.empty());
    FUZZ_CHECK(t.port != 0);
    FUZZ_CHECK(t.path.starts_with('/'));
    auto ip = wa::parse_ip(t.host);
    FUZZ_CHECK(ip.has_value() == t.is_literal);
    if (!t.is_literal) {
        FUZZ_CHECK(t.https);
        struct in_addr a;
        FUZZ_CHECK(inet_aton(t.host.c_str(), &a) == 0);
        FUZZ_CHECK(t.host.find('.') != std::string::npos);
        FUZZ_CHECK(t.host != "localhost" && !t.host.ends_with(".localhost"));
    }
    for (char c : t.host) {
        FUZZ_CHECK(!(c >= 'A' && c <= 'Z'));
    }
}

const wa::CallbackGuard& allowing_guard() {
    static const wa::CallbackGuard guard = [] {
        wa::CallbackGuard g;
        FUZZ_CHECK(g.allow_cidr("10.1.0.0/16").ok());
        FUZZ_CHECK(g.allow_cidr("fd00:1::/32").ok());
        return g;
    }();
    return guard;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view s(reinterpret_cast<const char*>(data), size);

    static const wa::CallbackGuard strict;
    auto t = strict.check_url(s);
    if (t) {
        check_target(*t);
        if (t->is_literal) {
            auto ip = wa::parse_ip(t->host);
            FUZZ_CHECK(!refused(*ip));
            FUZZ_CHECK(strict.address_allowed(*ip));
        }
        FUZZ_CHECK(t->https);  // http needs an allowed range; there is none
    } else {
        FUZZ_CHECK(t.error().code == "invalid_callback_url");
    }

    const wa::CallbackGuard& guard = allowing_guard();
    auto ta = guard.check_url(s);
    if (ta) {
        check_target(*ta);
        if (ta->is_literal) {
            wa::IpAddress ip = wa::unmap_v4(*wa::parse_ip(ta->host));
            const std::uint8_t* v4 = ip.v6 ? carried_v4(ip) : ip.bytes.data();
            bool in10 = v4 && v4[0] == 10 && v4[1] == 1;
            bool infd = ip.v6 && ip.bytes[0] == 0xfd && ip.bytes[1] == 0 && ip.bytes[2] == 0 &&
                        ip.bytes[3] == 1;
            FUZZ_CHECK(in10 || infd || (ta->https && !refused(ip)));
        } else {
            FUZZ_CHECK(ta->https);
        }
    }
    // Everything the strict guard accepts, a guard with more allowed accepts.
    if (t) {
        FUZZ_CHECK(ta.ok());
    }

    auto ip = wa::parse_ip(s);
    if (ip) {
        auto again = wa::parse_ip(to_text(*ip));
        FUZZ_CHECK(again && *again == *ip);
        if (refused(*ip)) {
            FUZZ_CHECK(!strict.address_allowed(*ip));
        }
    }

    auto c = wa::parse_cidr(s);
    if (c) {
        FUZZ_CHECK(c->prefix <= (c->base.v6 ? 128u : 32u));
        FUZZ_CHECK(wa::cidr_contains(*c, c->base));
        std::string text = to_text(c->base) + "/" + std::to_string(c->prefix);
        auto again = wa::parse_cidr(text);
        FUZZ_CHECK(again && again->base == c->base && again->prefix == c->prefix);
    } else {
        FUZZ_CHECK(c.error().code == "invalid_cidr");
    }
    return 0;
}

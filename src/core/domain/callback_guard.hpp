// SSRF guard for user-supplied callback URLs (SPEC §3.1
// whatsapp_callback_allow). Refused by default: every address that reaches
// the gateway's own host or network rather than the public internet.
// A range listed with allow_cidr() is accepted, also over plain http.
//
// Two steps, because hostnames resolve later (nginx's resolver):
//   1. check_url() at request time: syntax, scheme, and for an address
//      literal the final verdict; a hostname comes back with
//      is_literal == false and must be resolved;
//   2. address_allowed() on every resolved address before connecting.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <sys/socket.h>

#include "base/ip.hpp"
#include "base/result.hpp"

namespace wa {

struct CallbackTarget {
    bool https = true;
    std::string host;  // lowercase name, or the address without brackets
    std::uint16_t port = 443;
    std::string path;         // from the first '/' or '?', "/" when absent
    bool is_literal = false;  // host is an IP address, already checked
};

// target's URL with its host replaced by ip (brackets for v6) and the port
// always written: the address the guard judged is the one connected to.
std::string pinned_url(const CallbackTarget& target, const IpAddress& ip);

// The host of an http(s) URL: lowercase, without port or brackets; empty
// when there is none. No judgement: for operator-configured callbacks.
std::string url_host(std::string_view url);

class CallbackGuard {
public:
    // "127.0.0.0/8", "fd00::/8", "10.1.2.3" (one host). Error "invalid_cidr".
    Result<void> allow_cidr(std::string_view cidr);

    // Accepted: https://HOST[:PORT][/path][?query] where HOST is a
    // public-looking DNS name (two labels or more, letters/digits/hyphens,
    // not localhost, *.localhost, *.local, *.internal, *.localdomain,
    // *.home.arpa, *.invalid, *.lan; last label not numeric) or an allowed
    // address literal; http:// only with an address literal inside an
    // allowed range. Refused: userinfo, fragments, empty ports, bytes
    // that are controls, spaces, backslashes or non-ASCII, bad %-escapes,
    // URLs over 2048 bytes. Error code "invalid_callback_url".
    Result<CallbackTarget> check_url(std::string_view url) const;

    // Listed ranges first, then the built-in refusals (see the .cpp).
    // IPv4-mapped v6 is judged as the v4 address; NAT64 and 6to4 by the
    // v4 address they carry.
    bool address_allowed(const IpAddress& ip) const;
    bool address_allowed(const sockaddr* sa) const;  // false for non-IP families

private:
    bool listed(const IpAddress& ip) const;

    std::vector<Cidr> allowed_;
};

}  // namespace wa

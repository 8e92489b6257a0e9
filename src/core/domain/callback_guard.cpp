#include "domain/callback_guard.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstring>

#include "base/chars.hpp"

namespace wa {

namespace {

constexpr std::size_t kMaxUrlBytes = 2048;
constexpr std::size_t kMaxHostBytes = 253;
constexpr std::size_t kMaxLabelBytes = 63;

// Addresses that reach this host, its networks or nothing routable.
// Documentation and benchmark ranges are here too: nothing legitimate
// listens there, so a callback pointing at one is a probe.
constexpr std::array kRefused{
    "0.0.0.0/8",        // "this network", unspecified
    "10.0.0.0/8",       // private
    "100.64.0.0/10",    // CGNAT
    "127.0.0.0/8",      // loopback
    "169.254.0.0/16",   // link-local, cloud metadata
    "172.16.0.0/12",    // private
    "192.0.0.0/24",     // IETF protocol assignments
    "192.0.2.0/24",     // documentation
    "192.168.0.0/16",   // private
    "198.18.0.0/15",    // benchmarking
    "198.51.100.0/24",  // documentation
    "203.0.113.0/24",   // documentation
    "224.0.0.0/4",      // multicast
    "240.0.0.0/4",      // reserved, and 255.255.255.255 broadcast
    "::/96",            // unspecified, loopback, v4-compatible
    "::ffff:0:0:0/96",  // SIIT v4-translated
    "64:ff9b:1::/48",   // local-use NAT64
    "100::/64",         // discard
    "2001::/32",        // Teredo: tunnels to an arbitrary v4 address
    "2001:db8::/32",    // documentation
    "fc00::/7",         // unique local
    "fe80::/10",        // link-local
    "fec0::/10",        // site-local (deprecated)
    "ff00::/8",         // multicast
};

// Names that only ever resolve to the local host or network.
constexpr std::array<std::string_view, 7> kLocalSuffixes{
    "localhost", "local", "localdomain", "internal", "home.arpa", "invalid", "lan",
};

const std::vector<Cidr>& refused_ranges() {
    static const std::vector<Cidr> ranges = [] {
        std::vector<Cidr> v;
        for (const char* text : kRefused) {
            v.push_back(parse_cidr(text).value());
        }
        return v;
    }();
    return ranges;
}

bool refused(const IpAddress& ip) {
    for (const Cidr& c : refused_ranges()) {
        if (cidr_contains(c, ip)) {
            return true;
        }
    }
    return false;
}

// NAT64 (64:ff9b::/96) and 6to4 (2002::/16) reach the v4 address they carry.
std::optional<IpAddress> embedded_v4(const IpAddress& ip) {
    static const Cidr nat64 = parse_cidr("64:ff9b::/96").value();
    static const Cidr six_to_four = parse_cidr("2002::/16").value();
    IpAddress v4;
    if (cidr_contains(nat64, ip)) {
        std::memcpy(v4.bytes.data(), ip.bytes.data() + 12, 4);
        return v4;
    }
    if (cidr_contains(six_to_four, ip)) {
        std::memcpy(v4.bytes.data(), ip.bytes.data() + 2, 4);
        return v4;
    }
    return std::nullopt;
}

Error bad_url(std::string_view why) { return make_error("invalid_callback_url", std::string(why)); }

bool is_hex(char c) { return hex_value(c) >= 0; }

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// Printable ASCII without backslash: parsers disagree on '\' and on
// anything non-ASCII, and a disagreement is how guards get bypassed.
bool plain_ascii(std::string_view s) {
    for (char c : s) {
        if (c <= 0x20 || c >= 0x7f || c == '\\') {
            return false;
        }
    }
    return true;
}

bool escapes_well_formed(std::string_view s) {
    for (std::size_t i = 0; i < s.size(); i++) {
        if (s[i] == '%') {
            if (i + 2 >= s.size() || !is_hex(s[i + 1]) || !is_hex(s[i + 2])) {
                return false;
            }
        }
    }
    return true;
}

bool ends_with_label(std::string_view host, std::string_view suffix) {
    if (host == suffix) {
        return true;
    }
    return host.size() > suffix.size() && host.ends_with(suffix) &&
           host[host.size() - suffix.size() - 1] == '.';
}

bool valid_label(std::string_view label) {
    if (label.empty() || label.size() > kMaxLabelBytes || label.front() == '-' ||
        label.back() == '-') {
        return false;
    }
    for (char c : label) {
        if (!(is_digit(c) || (c >= 'a' && c <= 'z') || c == '-')) {
            return false;
        }
    }
    return true;
}

// Resolvers read "127.1" or "0x7f000001" as an address (so does the URL
// standard when the last label is numeric): such names are refused.
bool numeric_label(std::string_view label) {
    if (label.starts_with("0x")) {
        return true;
    }
    for (char c : label) {
        if (!is_digit(c)) {
            return false;
        }
    }
    return true;
}

Result<void> check_hostname(std::string_view host) {
    if (host.size() > kMaxHostBytes) {
        return bad_url("host name too long");
    }
    std::size_t dot = host.rfind('.');
    if (dot == std::string_view::npos) {
        return bad_url("host must be a fully qualified public name");
    }
    for (std::size_t start = 0; start <= host.size();) {
        std::size_t end = std::min(host.find('.', start), host.size());
        if (!valid_label(host.substr(start, end - start))) {
            return bad_url("host is not a valid DNS name");
        }
        start = end + 1;
    }
    if (numeric_label(host.substr(dot + 1))) {
        return bad_url("host is neither a DNS name nor a dotted-quad address");
    }
    for (std::string_view suffix : kLocalSuffixes) {
        if (ends_with_label(host, suffix)) {
            return bad_url("host is a local name");
        }
    }
    return {};
}

Result<std::uint16_t> parse_port(std::string_view s) {
    unsigned n = 0;
    auto r = std::from_chars(s.data(), s.data() + s.size(), n);
    if (s.empty() || s.size() > 5 || r.ec != std::errc{} || r.ptr != s.data() + s.size() ||
        n == 0 || n > 65535) {
        return bad_url("port must be 1-65535");
    }
    return static_cast<std::uint16_t>(n);
}

// Splits "host[:port]" or "[v6][:port]"; the host keeps no brackets.
Result<void> split_authority(std::string_view auth, CallbackTarget& t, bool& bracketed) {
    std::string_view port;
    bracketed = !auth.empty() && auth.front() == '[';
    if (bracketed) {
        std::size_t close = auth.find(']');
        if (close == std::string_view::npos) {
            return bad_url("unterminated IPv6 literal");
        }
        t.host = auth.substr(1, close - 1);
        std::string_view rest = auth.substr(close + 1);
        if (!rest.empty() && rest.front() != ':') {
            return bad_url("junk after IPv6 literal");
        }
        port = rest.empty() ? rest : rest.substr(1);
        if (rest.empty()) {
            return {};
        }
    } else {
        std::size_t colon = auth.find(':');
        t.host = auth.substr(0, colon);
        if (colon == std::string_view::npos) {
            return {};
        }
        port = auth.substr(colon + 1);
    }
    auto p = parse_port(port);
    if (!p) {
        return p.error();
    }
    t.port = *p;
    return {};
}

}  // namespace

Result<void> CallbackGuard::allow_cidr(std::string_view cidr) {
    auto c = parse_cidr(cidr);
    if (!c) {
        return c.error();
    }
    allowed_.push_back(*c);
    return {};
}

bool CallbackGuard::listed(const IpAddress& ip) const {
    for (const Cidr& c : allowed_) {
        if (cidr_contains(c, ip)) {
            return true;
        }
    }
    return false;
}

bool CallbackGuard::address_allowed(const IpAddress& ip) const {
    IpAddress a = unmap_v4(ip);
    if (listed(a)) {
        return true;
    }
    if (refused(a)) {
        return false;
    }
    auto v4 = a.v6 ? embedded_v4(a) : std::nullopt;
    return !v4 || listed(*v4) || !refused(*v4);
}

bool CallbackGuard::address_allowed(const sockaddr* sa) const {
    auto ip = ip_from_sockaddr(sa);
    return ip && address_allowed(*ip);
}

Result<CallbackTarget> CallbackGuard::check_url(std::string_view url) const {
    if (url.size() > kMaxUrlBytes) {
        return bad_url("URL longer than 2048 bytes");
    }
    if (!plain_ascii(url)) {
        return bad_url("URL must be printable ASCII without spaces or backslashes");
    }
    if (url.find('#') != std::string_view::npos) {
        return bad_url("URL must not have a fragment");
    }
    std::size_t sep = url.find("://");
    if (sep == std::string_view::npos) {
        return bad_url("URL must be absolute (https://host/path)");
    }
    std::string scheme;
    for (char c : url.substr(0, sep)) {
        scheme += lower(c);
    }
    if (scheme != "https" && scheme != "http") {
        return bad_url("scheme must be https");
    }

    CallbackTarget t;
    t.https = scheme == "https";
    t.port = t.https ? 443 : 80;
    std::string_view rest = url.substr(sep + 3);
    std::size_t auth_end = std::min(rest.find_first_of("/?"), rest.size());
    std::string_view auth = rest.substr(0, auth_end);
    std::string_view tail = rest.substr(auth_end);
    if (auth.find('@') != std::string_view::npos) {
        return bad_url("URL must not carry credentials");
    }
    if (!escapes_well_formed(tail)) {
        return bad_url("malformed %-escape");
    }
    t.path = tail.empty() ? "/" : tail.front() == '?' ? "/" + std::string(tail) : std::string(tail);

    bool bracketed = false;
    if (auto r = split_authority(auth, t, bracketed); !r) {
        return r.error();
    }
    for (char& c : t.host) {
        c = lower(c);
    }
    if (t.host.empty()) {
        return bad_url("URL has no host");
    }

    auto ip = parse_ip(t.host);
    if (bracketed && (!ip || !ip->v6)) {
        return bad_url("invalid IPv6 literal");
    }
    if (ip && ip->v6 && !bracketed) {
        return bad_url("IPv6 literal must be in brackets");
    }
    if (ip) {
        t.is_literal = true;
        if (!t.https && !listed(unmap_v4(*ip))) {
            return bad_url("http is allowed only to an address in whatsapp_callback_allow");
        }
        if (!address_allowed(*ip)) {
            return bad_url("address is not public");
        }
        return t;
    }
    if (!t.https) {
        return bad_url("scheme must be https (http needs an allowed address literal)");
    }
    if (auto r = check_hostname(t.host); !r) {
        return r.error();
    }
    return t;
}

std::string pinned_url(const CallbackTarget& target, const IpAddress& ip) {
    std::string url = target.https ? "https://" : "http://";
    url += ip.v6 ? "[" + ip_to_string(ip) + "]" : ip_to_string(ip);
    url += ':';
    url += std::to_string(target.port);
    url += target.path;
    return url;
}

std::string url_host(std::string_view url) {
    std::size_t sep = url.find("://");
    if (sep == std::string_view::npos) return {};
    std::string_view rest = url.substr(sep + 3);
    std::string_view auth = rest.substr(0, std::min(rest.find_first_of("/?#"), rest.size()));
    if (std::size_t at = auth.rfind('@'); at != std::string_view::npos) auth.remove_prefix(at + 1);
    std::string_view host;
    if (!auth.empty() && auth.front() == '[') {
        std::size_t close = auth.find(']');
        if (close == std::string_view::npos) return {};
        host = auth.substr(1, close - 1);
    } else {
        host = auth.substr(0, std::min(auth.find(':'), auth.size()));
    }
    std::string out;
    for (char c : host)
        out += lower(c);
    return out;
}

}  // namespace wa

// The SSRF guard on callback_url (SPEC §3.1 whatsapp_callback_allow).
#include <gtest/gtest.h>

#include <netinet/in.h>

#include "domain/callback_guard.hpp"
#include "base/ip.hpp"

namespace {

wa::IpAddress ip(const char* text) {
    auto a = wa::parse_ip(text);
    EXPECT_TRUE(a.has_value()) << text;
    return a.value_or(wa::IpAddress{});
}

void expect_refused(const wa::CallbackGuard& g, const char* url) {
    auto r = g.check_url(url);
    ASSERT_FALSE(r.ok()) << url << " accepted";
    EXPECT_EQ(r.error().code, "invalid_callback_url") << url;
}

TEST(CallbackGuard, RefusedByDefault) {
    wa::CallbackGuard g;
    for (const char* url : {
             "http://example.com/hook",  // https only
             "https://127.0.0.1/hook",
             "https://10.0.0.1/",
             "https://169.254.169.254/latest",
             "https://100.64.0.1/",
             "https://[::1]/",
             "https://[::1]:8443/x",
             "http://localhost/",
             "https://localhost/",
             "https://api.localhost/",
             "https://LOCALHOST/",
             "https://printer.local/",
             "https://db.internal/",
             "https://172.16.0.1/",
             "https://172.31.255.255/",
             "https://192.168.1.1/",
             "https://0.0.0.0/",
             "https://224.0.0.1/",
             "https://255.255.255.255/",
             "https://[fe80::1]/",
             "https://[fc00::1]/",
             "https://[fd12:3456::1]/",
             "https://[ff02::1]/",
             "https://[::]/",
             "https://[::ffff:127.0.0.1]/",
             "https://[::ffff:10.0.0.1]/",
             "https://[64:ff9b::a9fe:a9fe]/",
             "https://[2002:7f00:1::]/",
             "https://[::127.0.0.1]/",
         }) {
        expect_refused(g, url);
    }
}

TEST(CallbackGuard, RefusesBadSyntax) {
    wa::CallbackGuard g;
    for (const char* url : {
             "",
             "example.com/hook",
             "ftp://example.com/",
             "https:example.com",
             "https://",
             "https:///path",
             "https://user:pw@example.com/",
             "https://example.com@evil.example/",
             "https://example.com/#frag",
             "https://example.com:/",
             "https://example.com:0/",
             "https://example.com:65536/",
             "https://example.com:8a/",
             "https://exa mple.com/",
             "https://example.com/a b",
             "https://example.com\\@evil.example/",
             "https://ex\xc3\xa9mple.com/",
             "https://example.com/%zz",
             "https://example.com/%4",
             "https://-bad.example/",
             "https://bad-.example/",
             "https://a..example/",
             "https://example.com./",
             "https://intranet/",
             "https://127.1/",
             "https://0x7f.0.0.1/",
             "https://2130706433/",
             "https://1.2.3.4.5/",
             "https://[1.2.3.4]/",
             "https://[::1/",
             "https://[::1]x/",
             "https://::1/",
             "https://[fe80::1%25eth0]/",
         }) {
        expect_refused(g, url);
    }
    std::string long_url = "https://example.com/" + std::string(2100, 'a');
    expect_refused(g, long_url.c_str());
    EXPECT_FALSE(g.check_url(std::string_view("https://example.com/\0", 21)).ok());
}

TEST(CallbackGuard, HostnameNeedsResolution) {
    wa::CallbackGuard g;
    auto r = g.check_url("https://example.com/hook");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_TRUE(r->https);
    EXPECT_EQ(r->host, "example.com");
    EXPECT_EQ(r->port, 443);
    EXPECT_EQ(r->path, "/hook");
    EXPECT_FALSE(r->is_literal);

    auto q = g.check_url("HTTPS://Hooks.Example.COM:8443?x=1&y=%2F");
    ASSERT_TRUE(q.ok()) << q.error().message;
    EXPECT_EQ(q->host, "hooks.example.com");
    EXPECT_EQ(q->port, 8443);
    EXPECT_EQ(q->path, "/?x=1&y=%2F");

    auto bare = g.check_url("https://xn--bcher-kva.example");
    ASSERT_TRUE(bare.ok());
    EXPECT_EQ(bare->path, "/");
}

TEST(CallbackGuard, PublicLiterals) {
    wa::CallbackGuard g;
    auto v4 = g.check_url("https://93.184.216.34/hook");
    ASSERT_TRUE(v4.ok()) << v4.error().message;
    EXPECT_TRUE(v4->is_literal);
    EXPECT_EQ(v4->host, "93.184.216.34");

    auto v6 = g.check_url("https://[2606:2800:220:1:248:1893:25c8:1946]:444/x");
    ASSERT_TRUE(v6.ok()) << v6.error().message;
    EXPECT_TRUE(v6->is_literal);
    EXPECT_EQ(v6->host, "2606:2800:220:1:248:1893:25c8:1946");
    EXPECT_EQ(v6->port, 444);

    // http to a public literal is still refused: http needs a listed range.
    expect_refused(g, "http://93.184.216.34/hook");
}

TEST(CallbackGuard, AllowedRangeMayUseHttp) {
    wa::CallbackGuard g;
    ASSERT_TRUE(g.allow_cidr("127.0.0.0/8").ok());
    auto r = g.check_url("http://127.0.0.1:8080/x");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_FALSE(r->https);
    EXPECT_EQ(r->port, 8080);
    EXPECT_EQ(r->path, "/x");
    EXPECT_TRUE(r->is_literal);

    EXPECT_TRUE(g.check_url("https://127.0.0.2/").ok());
    EXPECT_TRUE(g.check_url("http://[::ffff:127.0.0.1]/").ok());  // mapped: judged as v4
    expect_refused(g, "http://10.0.0.1/");
    expect_refused(g, "http://localhost:8080/");  // names are never local, listed or not
    expect_refused(g, "https://[::1]/");          // v6 loopback is another range
}

TEST(CallbackGuard, AllowV6AndHostRanges) {
    wa::CallbackGuard g;
    ASSERT_TRUE(g.allow_cidr("::1").ok());
    ASSERT_TRUE(g.allow_cidr("fd00::/8").ok());
    ASSERT_TRUE(g.allow_cidr("10.1.2.3").ok());
    EXPECT_TRUE(g.check_url("http://[::1]:9000/").ok());
    EXPECT_TRUE(g.check_url("http://[fd12::5]/").ok());
    EXPECT_TRUE(g.check_url("http://10.1.2.3/").ok());
    expect_refused(g, "http://10.1.2.4/");
    expect_refused(g, "https://[fc00::1]/");
}

TEST(CallbackGuard, AllowCidrSyntax) {
    wa::CallbackGuard g;
    for (const char* bad : {"", "/8", "127.0.0.0/", "127.0.0.0/33", "::/129", "127.0.0.0/-1",
                            "127.0.0.0/8x", "localhost", "10.0.0.0/0008", "1.2.3/8"}) {
        auto r = g.allow_cidr(bad);
        ASSERT_FALSE(r.ok()) << bad;
        EXPECT_EQ(r.error().code, "invalid_cidr");
    }
    // Host bits are cleared, as nginx's allow/deny do.
    ASSERT_TRUE(g.allow_cidr("192.168.1.77/24").ok());
    EXPECT_TRUE(g.address_allowed(ip("192.168.1.200")));
    EXPECT_FALSE(g.address_allowed(ip("192.168.2.1")));
}

TEST(CallbackGuard, AddressAfterResolution) {
    wa::CallbackGuard g;
    for (const char* a : {"8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "172.32.0.1", "100.128.0.1",
                          "::ffff:8.8.8.8", "64:ff9b::808:808"}) {
        EXPECT_TRUE(g.address_allowed(ip(a))) << a;
    }
    for (const char* a : {"127.0.0.1",
                          "127.255.255.254",
                          "10.255.255.255",
                          "172.16.0.1",
                          "192.168.0.1",
                          "169.254.169.254",
                          "100.64.0.1",
                          "100.127.255.255",
                          "0.0.0.0",
                          "0.1.2.3",
                          "224.0.0.251",
                          "239.255.255.250",
                          "255.255.255.255",
                          "::",
                          "::1",
                          "fe80::1",
                          "febf::1",
                          "fc00::1",
                          "fdff::1",
                          "ff02::1",
                          "::ffff:127.0.0.1",
                          "::ffff:169.254.169.254",
                          "64:ff9b::7f00:1",
                          "2002:0a00:0001::1",
                          "2001:db8::1",
                          "192.0.2.1",
                          "198.51.100.7",
                          "203.0.113.9",
                          "198.18.0.1"}) {
        EXPECT_FALSE(g.address_allowed(ip(a))) << a;
    }
}

TEST(CallbackGuard, Sockaddr) {
    wa::CallbackGuard g;
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(0x7f000001);
    EXPECT_FALSE(g.address_allowed(reinterpret_cast<const sockaddr*>(&in)));
    in.sin_addr.s_addr = htonl(0x08080808);
    EXPECT_TRUE(g.address_allowed(reinterpret_cast<const sockaddr*>(&in)));

    sockaddr_in6 in6{};
    in6.sin6_family = AF_INET6;
    in6.sin6_addr = in6addr_loopback;
    EXPECT_FALSE(g.address_allowed(reinterpret_cast<const sockaddr*>(&in6)));

    sockaddr un{};
    un.sa_family = AF_UNIX;
    EXPECT_FALSE(g.address_allowed(&un));
    EXPECT_FALSE(g.address_allowed(static_cast<const sockaddr*>(nullptr)));
}

}  // namespace

TEST(CallbackPinning, PinnedUrlNamesTheCheckedAddress) {
    wa::CallbackGuard guard;
    auto t = guard.check_url("https://Hooks.Example.com/status?x=1");
    ASSERT_TRUE(t.ok());
    auto v4 = wa::parse_ip("93.184.216.34");
    auto v6 = wa::parse_ip("2606:2800:220:1::1");
    ASSERT_TRUE(v4 && v6);
    EXPECT_EQ(wa::pinned_url(*t, *v4), "https://93.184.216.34:443/status?x=1");
    EXPECT_EQ(wa::pinned_url(*t, *v6), "https://[2606:2800:220:1::1]:443/status?x=1");
    auto p = guard.check_url("https://hooks.example.com:8443");
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(wa::pinned_url(*p, *v4), "https://93.184.216.34:8443/");
}

TEST(CallbackPinning, UrlHost) {
    EXPECT_EQ(wa::url_host("https://Hooks.Example.com:8443/x"), "hooks.example.com");
    EXPECT_EQ(wa::url_host("http://bench_callback/events"), "bench_callback");
    EXPECT_EQ(wa::url_host("http://[::1]:80/"), "::1");
    EXPECT_EQ(wa::url_host("https://u:p@h.example.com?q"), "h.example.com");
    EXPECT_EQ(wa::url_host("no-scheme"), "");
}

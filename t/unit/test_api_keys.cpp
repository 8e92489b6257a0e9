// The whatsapp_api_keys file, key matching, authorization and new secrets.
#include <gtest/gtest.h>

#include <cctype>
#include <set>
#include <string>

#include "domain/api_keys.hpp"
#include "base/crypto.hpp"
#include "base/ids.hpp"

namespace {

using wa::KeyCheck;
using wa::Scope;

constexpr char kConv[] = "conv_01h455vb4pex5vsknk084sn02q";

std::string hash_of(const std::string& secret) { return wa::hex_lower(wa::sha256(secret)); }

wa::ApiKeys parse_ok(const std::string& text) {
    auto r = wa::parse_api_keys(text);
    EXPECT_TRUE(r.ok()) << r.error().message;
    return r.ok() ? *r : wa::ApiKeys{};
}

// The error message of a file that must not parse.
std::string parse_error(const std::string& text) {
    auto r = wa::parse_api_keys(text);
    if (r.ok()) return "(parsed)";
    EXPECT_EQ(r.error().code, "invalid_api_keys");
    return r.error().message;
}

std::string line(const std::string& name, const std::string& secret, const std::string& rest) {
    return name + " acme " + hash_of(secret) + " " + rest + "\n";
}

TEST(ApiKeys, Sha256KnownValue) {
    EXPECT_EQ(hash_of("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(hash_of(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(ApiKeys, ParsesLinesCommentsAndBlankLines) {
    std::string text =
        "# keys for acme\n"
        "\n"
        "   \t \n"
        "reader\tacme  " +
        hash_of("s1") +
        "  messaging:conversations:read,"
        "messaging:messages:read   # the dashboard\n"
        "  # indented comment\n"
        "sender acme " +
        hash_of("s2") + " messaging:messages:send conversation=" + kConv +
        "\r\n"
        "all other.tenant-1 " +
        hash_of("s3") + " *";  // no final newline
    auto keys = parse_ok(text);
    ASSERT_EQ(keys.keys().size(), 3u);

    const auto& r = keys.keys()[0];
    EXPECT_EQ(r.name, "reader");
    EXPECT_EQ(r.tenant, "acme");
    EXPECT_EQ(wa::hex_lower(std::string(r.hash.begin(), r.hash.end())), hash_of("s1"));
    EXPECT_TRUE(r.allows(Scope::conversations_read));
    EXPECT_TRUE(r.allows(Scope::messages_read));
    EXPECT_FALSE(r.allows(Scope::messages_send));
    EXPECT_FALSE(r.allows(Scope::events_stream));
    EXPECT_FALSE(r.conversation.has_value());

    const auto& s = keys.keys()[1];
    EXPECT_EQ(s.name, "sender");
    ASSERT_TRUE(s.conversation.has_value());
    EXPECT_EQ(wa::typeid_encode("conv", *s.conversation), kConv);
    EXPECT_TRUE(s.allows(Scope::messages_send));
    EXPECT_FALSE(s.allows(Scope::messages_read));

    const auto& a = keys.keys()[2];
    EXPECT_EQ(a.tenant, "other.tenant-1");
    EXPECT_EQ(a.scopes, wa::kAllScopes);
    for (Scope sc : {Scope::conversations_read, Scope::messages_read, Scope::messages_send,
                     Scope::events_stream}) {
        EXPECT_TRUE(a.allows(sc));
    }
}

TEST(ApiKeys, EmptyAndCommentOnlyFiles) {
    EXPECT_TRUE(parse_ok("").keys().empty());
    EXPECT_TRUE(parse_ok("# nothing yet\n\n#\n").keys().empty());
}

TEST(ApiKeys, ErrorsNameTheLine) {
    std::string good = line("a", "s1", "*");
    EXPECT_EQ(parse_error("# header\n\n" + line("a", "s1", "events:stream,bogus")),
              "line 3: unknown scope \"bogus\"");
    EXPECT_EQ(parse_error(good + "b acme " + hash_of("s2") + "\n"),
              "line 2: expected \"name tenant sha256hex scope[,scope...] [conversation=ID]\", "
              "got 3 field(s)");
    EXPECT_EQ(parse_error(good + "b acme " + hash_of("s2") + " * conversation=" + kConv + " x\n"),
              "line 2: unexpected field \"x\"");
    EXPECT_EQ(parse_error(good + line("a", "s2", "*")), "line 2: duplicate name \"a\"");
    EXPECT_NE(parse_error(good + line("b", "s1", "*")).find("line 2: duplicate hash"),
              std::string::npos);
}

TEST(ApiKeys, RejectsBadFields) {
    std::string h = hash_of("s");
    std::string upper = h;
    for (char& c : upper)
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    struct Case {
        std::string text;
        std::string want;  // start of the message
    };
    const Case cases[] = {
        {"a acme " + upper + " *", "line 1: invalid hash"},
        {"a acme " + h.substr(1) + " *", "line 1: invalid hash"},
        {"a acme " + h + "0 *", "line 1: invalid hash"},
        {"a acme " + h.substr(1) + "g *", "line 1: invalid hash"},
        {"a ac/me " + h + " *", "line 1: invalid tenant \"ac/me\""},
        {"a " + std::string(65, 't') + " " + h + " *", "line 1: invalid tenant"},
        {"a:b acme " + h + " *", "line 1: invalid name \"a:b\""},
        {"a acme " + h + " messaging:messages:send,", "line 1: empty scope"},
        {"a acme " + h + " ,*", "line 1: empty scope"},
        {"a acme " + h + " Messaging:messages:send", "line 1: unknown scope"},
        {"a acme " + h + " * conversation=im_01h455vb4pex5vsknk084sn02q",
         "line 1: invalid conversation \"im_01h455vb4pex5vsknk084sn02q\""},
        {"a acme " + h + " * conversation=conv_nope", "line 1: invalid conversation"},
        {"a acme " + h + " * conversation=", "line 1: invalid conversation"},
        {"a acme " + h + " * conv=" + kConv, "line 1: unexpected field"},
        {"a acme " + h + " *#not-a-comment", "line 1: unknown scope"},
        {"a acme " + h + " " + std::string(500, 'x'),
         "line 1: unknown scope \"" + std::string(80, 'x') + "...\""},
    };
    for (const auto& c : cases) {
        std::string msg = parse_error(c.text);
        EXPECT_EQ(msg.substr(0, c.want.size()), c.want) << c.text << " -> " << msg;
    }
}

TEST(ApiKeys, TenantAndScopeRules) {
    EXPECT_TRUE(wa::valid_tenant_name("a"));
    EXPECT_TRUE(wa::valid_tenant_name("Acme_Corp-1.eu"));
    EXPECT_TRUE(wa::valid_tenant_name(std::string(64, 'x')));
    EXPECT_FALSE(wa::valid_tenant_name(""));
    EXPECT_FALSE(wa::valid_tenant_name(std::string(65, 'x')));
    EXPECT_FALSE(wa::valid_tenant_name("a b"));
    EXPECT_FALSE(wa::valid_tenant_name("caf\xc3\xa9"));

    auto s = wa::parse_scopes("messaging:messages:send,events:stream,events:stream");
    ASSERT_TRUE(s.ok());
    EXPECT_EQ(*s, static_cast<unsigned>(Scope::messages_send) |
                      static_cast<unsigned>(Scope::events_stream));
    EXPECT_EQ(wa::scopes_string(*s), "messaging:messages:send,events:stream");
    EXPECT_EQ(wa::scopes_string(*wa::parse_scopes("*")), "*");
    EXPECT_EQ(*wa::parse_scopes("events:stream,*"), wa::kAllScopes);
    EXPECT_EQ(wa::parse_scopes("").error().code, "invalid_scope");
    EXPECT_EQ(wa::scope_name(Scope::conversations_read), "messaging:conversations:read");
}

TEST(ApiKeys, MatchFindsEachKeyAndNothingElse) {
    auto keys = parse_ok(line("k1", "secret-1", "*") + line("k2", "secret-2", "*") +
                         line("k3", "secret-3", "*"));
    for (int i = 1; i <= 3; i++) {
        const wa::ApiKey* k = keys.match("secret-" + std::to_string(i));
        ASSERT_NE(k, nullptr);
        EXPECT_EQ(k->name, "k" + std::to_string(i));
        EXPECT_EQ(k, &keys.keys()[static_cast<std::size_t>(i - 1)]);
    }
    EXPECT_EQ(keys.match("secret-4"), nullptr);
    EXPECT_EQ(keys.match(""), nullptr);
    EXPECT_EQ(keys.match("secret-1 "), nullptr);
    EXPECT_EQ(keys.match(hash_of("secret-1")), nullptr);  // the hash is not the key
    EXPECT_EQ(wa::ApiKeys{}.match("secret-1"), nullptr);
}

TEST(ApiKeys, Authorize) {
    auto keys = parse_ok(line("reader", "r-secret", "messaging:messages:read") +
                         line("sender", "s-secret", "messaging:messages:send"));
    auto check = [&](const std::string& header, Scope need) {
        return keys.authorize(header, need);
    };
    auto ok = check("Bearer s-secret", Scope::messages_send);
    EXPECT_EQ(ok.check, KeyCheck::ok);
    ASSERT_NE(ok.key, nullptr);
    EXPECT_EQ(ok.key->name, "sender");

    // The scheme is case-insensitive; surrounding blanks are not part of the token.
    EXPECT_EQ(check("bearer s-secret", Scope::messages_send).check, KeyCheck::ok);
    EXPECT_EQ(check("BEARER \t s-secret  ", Scope::messages_send).check, KeyCheck::ok);

    auto forbidden = check("Bearer r-secret", Scope::messages_send);
    EXPECT_EQ(forbidden.check, KeyCheck::forbidden);
    ASSERT_NE(forbidden.key, nullptr);
    EXPECT_EQ(forbidden.key->name, "reader");

    auto invalid = check("Bearer nope", Scope::messages_read);
    EXPECT_EQ(invalid.check, KeyCheck::invalid);
    EXPECT_EQ(invalid.key, nullptr);

    for (const char* h : {"", "Bearer", "Bearer ", "Bearer   ", "Bearers-secret", "Basic czpz",
                          "s-secret", "Token s-secret"}) {
        auto r = check(h, Scope::messages_send);
        EXPECT_EQ(r.check, KeyCheck::missing) << '"' << h << '"';
        EXPECT_EQ(r.key, nullptr);
    }
}

TEST(ApiKeys, ConversationScopedKey) {
    auto conv = wa::typeid_decode_as("conv", kConv);
    ASSERT_TRUE(conv.ok());
    auto keys = parse_ok(line("one", "one-secret", std::string("* conversation=") + kConv) +
                         line("any", "any-secret", "*"));
    const wa::ApiKey* one = keys.match("one-secret");
    const wa::ApiKey* any = keys.match("any-secret");
    ASSERT_NE(one, nullptr);
    ASSERT_NE(any, nullptr);
    wa::Uuid other = wa::uuid_v7_now();
    EXPECT_TRUE(one->allows_conversation(*conv));
    EXPECT_FALSE(one->allows_conversation(other));
    EXPECT_TRUE(any->allows_conversation(*conv));
    EXPECT_TRUE(any->allows_conversation(other));
}

TEST(ApiKeys, GeneratedSecretsHaveTheDocumentedShape) {
    std::set<std::string> seen;
    for (int i = 0; i < 100; i++) {
        auto s = wa::generate_api_secret();
        ASSERT_TRUE(s.ok());
        ASSERT_EQ(s->size(), 46u) << *s;
        EXPECT_EQ(s->substr(0, 3), "wa_");
        for (char c : s->substr(3)) {
            EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << *s;
        }
        EXPECT_TRUE(seen.insert(*s).second);
    }
}

TEST(ApiKeys, GeneratedLineParsesBackAndMatchesItsSecret) {
    auto secret = wa::generate_api_secret();
    ASSERT_TRUE(secret.ok());
    auto conv = wa::typeid_decode_as("conv", kConv);
    ASSERT_TRUE(conv.ok());
    unsigned scopes = *wa::parse_scopes("messaging:messages:read,messaging:messages:send");
    std::string l = wa::api_key_line("bot-1", "acme", *secret, scopes, *conv);
    EXPECT_EQ(l, "bot-1 acme " + hash_of(*secret) +
                     " messaging:messages:read,messaging:messages:send conversation=" + kConv);
    EXPECT_EQ(l.find(*secret), std::string::npos);  // never in clear

    auto keys = parse_ok("# earlier\n" + line("other", "x", "*") + l + "\n");
    auto auth = keys.authorize("Bearer " + *secret, Scope::messages_send);
    EXPECT_EQ(auth.check, KeyCheck::ok);
    ASSERT_NE(auth.key, nullptr);
    EXPECT_EQ(auth.key->name, "bot-1");
    EXPECT_EQ(auth.key->scopes, scopes);
    EXPECT_TRUE(auth.key->allows_conversation(*conv));

    std::string all = wa::api_key_line("k", "t", *secret, wa::kAllScopes, std::nullopt);
    EXPECT_EQ(all, "k t " + hash_of(*secret) + " *");
    EXPECT_EQ(parse_ok(all).match(*secret)->scopes, wa::kAllScopes);
}

TEST(ApiKeys, WithoutKeyDropsOnlyItsLine) {
    std::string a = line("a", "sa", "*");
    std::string b = "\tb  acme " + hash_of("sb") + " events:stream # rotated in May\r\n";
    std::string c = line("c", "sc", "messaging:messages:read");
    std::string text = "# keys\n\n" + a + b + "  # b's successor:\n" + c.substr(0, c.size() - 1);

    auto r = wa::without_api_key(text, "b");
    ASSERT_TRUE(r.ok()) << r.error().message;
    EXPECT_EQ(*r, "# keys\n\n" + a + "  # b's successor:\n" + c.substr(0, c.size() - 1));
    auto keys = parse_ok(*r);
    ASSERT_EQ(keys.keys().size(), 2u);
    EXPECT_EQ(keys.match("sb"), nullptr);

    // The last line, without its newline.
    r = wa::without_api_key(text, "c");
    ASSERT_TRUE(r.ok());
    EXPECT_EQ(*r, "# keys\n\n" + a + b + "  # b's successor:\n");
}

TEST(ApiKeys, WithoutKeyRefusesAnUnknownNameAndABadFile) {
    std::string text = line("a", "sa", "*") + "# b acme " + hash_of("sb") + " *\n";
    auto r = wa::without_api_key(text, "b");  // commented out: not a key
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "key_not_found");
    r = wa::without_api_key(text + "c acme nothex *\n", "a");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.error().code, "invalid_api_keys");
    EXPECT_NE(r.error().message.find("line 3"), std::string::npos) << r.error().message;
}

}  // namespace

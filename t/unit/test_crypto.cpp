// HMAC-SHA256, encodings and Meta's X-Hub-Signature-256 check.
#include <gtest/gtest.h>

#include <cctype>
#include <random>
#include <string>
#include <thread>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "base/crypto.hpp"

namespace {

const std::string kSecret = "app-secret";
const std::string kBody = R"({"object":"whatsapp_business_account","entry":[]})";

// OpenSSL's one-shot calls, as hmac_sha256 and sha256 made them before
// they kept fetched algorithms: the reference for byte-identical output.
std::string reference_hmac(const std::string& key, const std::string& data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    static const unsigned char empty = 0;
    const unsigned char* k =
        key.empty() ? &empty : reinterpret_cast<const unsigned char*>(key.data());
    const unsigned char* d =
        data.empty() ? &empty : reinterpret_cast<const unsigned char*>(data.data());
    if (HMAC(EVP_sha256(), k, static_cast<int>(key.size()), d, data.size(), md, &len) == nullptr) {
        return "<HMAC failed>";
    }
    return std::string(reinterpret_cast<const char*>(md), len);
}

std::string reference_sha256(const std::string& data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr) != 1) {
        return "<EVP_Digest failed>";
    }
    return std::string(reinterpret_cast<const char*>(md), len);
}

std::string random_bytes(std::mt19937& rng, size_t n) {
    std::string s(n, '\0');
    for (char& c : s) {
        c = static_cast<char>(rng() & 0xff);
    }
    return s;
}

TEST(Crypto, HmacSha256Rfc4231Case1) {
    std::string mac = wa::hmac_sha256(std::string(20, '\x0b'), "Hi There");
    ASSERT_EQ(mac.size(), 32u);
    EXPECT_EQ(wa::hex_lower(mac),
              "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST(Crypto, HmacSha256Rfc4231Case3And6) {
    EXPECT_EQ(wa::hex_lower(wa::hmac_sha256(std::string(20, '\xaa'), std::string(50, '\xdd'))),
              "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
    // Key longer than the block: hashed first.
    EXPECT_EQ(
        wa::hex_lower(wa::hmac_sha256(std::string(131, '\xaa'),
                                      "Test Using Larger Than Block-Size Key - Hash Key First")),
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
}

TEST(Crypto, Sha256KnownAnswers) {
    // FIPS 180-2 examples.
    EXPECT_EQ(wa::hex_lower(wa::sha256("abc")),
              "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(wa::hex_lower(wa::sha256("")),
              "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(wa::hex_lower(wa::sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(wa::sha256(std::string("a\0b", 3)).size(), 32u);
}

TEST(Crypto, Sha1KnownAnswers) {
    // FIPS 180-1 examples.
    EXPECT_EQ(wa::hex_lower(wa::sha1("abc")), "a9993e364706816aba3e25717850c26c9cd0d89d");
    EXPECT_EQ(wa::hex_lower(wa::sha1("")), "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    EXPECT_EQ(wa::hex_lower(wa::sha1("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
              "84983e441c3bd26ebaae4aa1f95129e5e54670f1");
}

TEST(Crypto, MatchesOpenSslOneShotCalls) {
    // Interleaved, with keys of every length class (empty, short, one block,
    // longer than a block) so a reused context must be fully re-keyed.
    std::mt19937 rng(4231);
    for (int i = 0; i < 2000; i++) {
        std::string key = random_bytes(rng, rng() % 3 == 0 ? rng() % 200 : rng() % 65);
        std::string data = random_bytes(rng, rng() % 1000);
        ASSERT_EQ(wa::hmac_sha256(key, data), reference_hmac(key, data)) << i;
        ASSERT_EQ(wa::sha256(data), reference_sha256(data)) << i;
    }
}

TEST(Crypto, SameResultsOnOtherThreads) {
    // Each thread has its own contexts; all must agree.
    const std::string key = "k";
    const std::string data(300, 'x');
    const std::string mac = reference_hmac(key, data);
    const std::string digest = reference_sha256(data);
    bool ok[4] = {};
    std::thread threads[4];
    for (int t = 0; t < 4; t++) {
        threads[t] = std::thread([&, t] {
            bool good = true;
            for (int i = 0; i < 500; i++) {
                good = good && wa::hmac_sha256(key, data) == mac && wa::sha256(data) == digest;
            }
            ok[t] = good;
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    for (bool b : ok) {
        EXPECT_TRUE(b);
    }
}

TEST(Crypto, HmacSha256Rfc4231Case2) {
    std::string mac = wa::hmac_sha256("Jefe", "what do ya want for nothing?");
    ASSERT_EQ(mac.size(), 32u);
    EXPECT_EQ(wa::hex_lower(mac),
              "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(Crypto, HmacSha256EmptyKeyAndData) {
    // Known value: HMAC-SHA256("", "").
    EXPECT_EQ(wa::hex_lower(wa::hmac_sha256("", "")),
              "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad");
}

TEST(Crypto, HexLower) {
    EXPECT_EQ(wa::hex_lower(""), "");
    EXPECT_EQ(wa::hex_lower(std::string("\x00\x0f\xab\xff", 4)), "000fabff");
}

TEST(Crypto, Base64Rfc4648Vectors) {
    const char* in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char* std_out[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    const char* url_out[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        EXPECT_EQ(wa::base64_encode(in[i]), std_out[i]);
        EXPECT_EQ(wa::base64url_encode(in[i]), url_out[i]);
        auto d = wa::base64_decode(std_out[i]);
        ASSERT_TRUE(d.ok()) << std_out[i];
        EXPECT_EQ(*d, in[i]);
        // Padding is optional on input.
        auto d2 = wa::base64_decode(url_out[i]);
        ASSERT_TRUE(d2.ok()) << url_out[i];
        EXPECT_EQ(*d2, in[i]);
    }
}

TEST(Crypto, Base64UrlAlphabet) {
    std::string bytes("\xfb\xff\xbf", 3);
    EXPECT_EQ(wa::base64_encode(bytes), "+/+/");
    EXPECT_EQ(wa::base64url_encode(bytes), "-_-_");
}

TEST(Crypto, Base64RoundTripAllBytes) {
    std::string all;
    for (int i = 0; i < 256; i++) {
        all.push_back(static_cast<char>(i));
    }
    auto d = wa::base64_decode(wa::base64_encode(all));
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, all);
}

TEST(Crypto, Base64DecodeRejectsInvalid) {
    for (const char* s : {"Zm9v!", "Zm 9v", "Zm9v\n", "-_-_", "Z", "Zm9vY", "Zm=v",
                          "Zg=", "Zg===", "=", "====", "Zm9vYg==="}) {
        auto d = wa::base64_decode(s);
        EXPECT_FALSE(d.ok()) << s;
        if (!d.ok()) {
            EXPECT_FALSE(d.error().code.empty());
        }
    }
}

TEST(Crypto, ConstantTimeEqual) {
    EXPECT_TRUE(wa::constant_time_equal("", ""));
    EXPECT_TRUE(wa::constant_time_equal("abc", "abc"));
    EXPECT_FALSE(wa::constant_time_equal("abc", "abd"));
    EXPECT_FALSE(wa::constant_time_equal("abc", "abcd"));
    EXPECT_FALSE(wa::constant_time_equal("", "a"));
}

TEST(HubSignature, FormatAndRoundTrip) {
    std::string sig = wa::hub_signature(kSecret, kBody);
    ASSERT_EQ(sig.size(), 7u + 64u);
    EXPECT_EQ(sig.substr(0, 7), "sha256=");
    EXPECT_EQ(sig.substr(7), wa::hex_lower(wa::hmac_sha256(kSecret, kBody)));
    EXPECT_TRUE(wa::verify_hub_signature(kSecret, kBody, sig));
}

TEST(HubSignature, AcceptsUppercaseHex) {
    std::string sig = wa::hub_signature(kSecret, kBody);
    std::string upper = "sha256=";
    for (char c : sig.substr(7)) {
        upper.push_back(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
    }
    EXPECT_TRUE(wa::verify_hub_signature(kSecret, kBody, upper));
}

TEST(HubSignature, RejectsWrongDigest) {
    std::string sig = wa::hub_signature(kSecret, kBody);
    std::string flipped = sig;
    flipped.back() = flipped.back() == '0' ? '1' : '0';
    EXPECT_FALSE(wa::verify_hub_signature(kSecret, kBody, flipped));
    EXPECT_FALSE(wa::verify_hub_signature("other-secret", kBody, sig));
    EXPECT_FALSE(wa::verify_hub_signature(kSecret, kBody + " ", sig));
}

TEST(HubSignature, RejectsMalformedHeaders) {
    std::string sig = wa::hub_signature(kSecret, kBody);
    std::string hex = sig.substr(7);
    EXPECT_FALSE(wa::verify_hub_signature(kSecret, kBody, ""));
    EXPECT_FALSE(wa::verify_hub_signature(kSecret, kBody, hex));              // missing prefix
    EXPECT_FALSE(wa::verify_hub_signature(kSecret, kBody, "sha1=" + hex));    // wrong prefix
    EXPECT_FALSE(wa::verify_hub_signature(kSecret, kBody, "sha256:" + hex));  // wrong separator
    EXPECT_FALSE(
        wa::verify_hub_signature(kSecret, kBody, "SHA256=" + hex));  // prefix is case-sensitive
    EXPECT_FALSE(wa::verify_hub_signature(kSecret, kBody, "sha256=" + hex.substr(0, 63)));  // short
    EXPECT_FALSE(wa::verify_hub_signature(kSecret, kBody, "sha256=" + hex.substr(0, 62)));
    EXPECT_FALSE(wa::verify_hub_signature(kSecret, kBody, sig + "0"));  // long
    EXPECT_FALSE(wa::verify_hub_signature(kSecret, kBody, " " + sig));
    EXPECT_FALSE(wa::verify_hub_signature(kSecret, kBody, sig + " "));
    EXPECT_FALSE(wa::verify_hub_signature(kSecret, kBody, "sha256="));
    std::string bad_hex = sig;
    bad_hex[10] = 'g';
    EXPECT_FALSE(wa::verify_hub_signature(kSecret, kBody, bad_hex));
}

TEST(HubSignature, SignsRawBytesNotDecodedJson) {
    // Meta signs the body as sent, with \u escapes; re-serialized JSON with
    // the decoded character must not verify.
    std::string escaped = R"({"text":"caf\u00e9"})";
    std::string decoded = "{\"text\":\"caf\xc3\xa9\"}";
    std::string sig_escaped = wa::hub_signature(kSecret, escaped);
    std::string sig_decoded = wa::hub_signature(kSecret, decoded);
    EXPECT_NE(sig_escaped, sig_decoded);
    EXPECT_TRUE(wa::verify_hub_signature(kSecret, escaped, sig_escaped));
    EXPECT_FALSE(wa::verify_hub_signature(kSecret, decoded, sig_escaped));
}

TEST(HubSignature, BodyWithNulBytes) {
    std::string body("a\0b", 3);
    std::string sig = wa::hub_signature(kSecret, body);
    EXPECT_TRUE(wa::verify_hub_signature(kSecret, body, sig));
    EXPECT_FALSE(wa::verify_hub_signature(kSecret, std::string("a"), sig));
}

}  // namespace

// Event signing (SPEC §5.3), checked against the openssl command line.
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "base/crypto.hpp"
#include "domain/signing.hpp"

namespace {

namespace fs = std::filesystem;

struct Cmd {
    int status = -1;  // exit code, or -1 if it did not exit normally
    std::string out;  // stdout and stderr
};

Cmd run(const std::string& cmd) {
    Cmd r;
    FILE* p = popen((cmd + " 2>&1").c_str(), "r");
    if (p == nullptr) {
        return r;
    }
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0) {
        r.out.append(buf, n);
    }
    int st = pclose(p);
    r.status = (st != -1 && WIFEXITED(st)) ? WEXITSTATUS(st) : -1;
    return r;
}

void write_file(const fs::path& path, const std::string& bytes) {
    std::ofstream f(path, std::ios::binary | std::ios::trunc);
    f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    ASSERT_TRUE(f.good()) << path;
}

std::string read_file(const fs::path& path) {
    std::ifstream f(path, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// The body delivered to callbacks: JSON with non-ASCII text (UTF-8), and a
// few raw bytes that are not UTF-8 at all, so nothing is re-encoded on the way.
const std::string kBody =
    std::string(
        "{\"id\":\"evt_01htjex3pre54tywgzsdg1jnbn\",\"type\":\"inbound.message.received\","
        "\"payload\":{\"content\":{\"text\":\"Olá, ça va? Привет 👋 日本語\"}}}") +
    std::string("\x00\xff\xfe\x80\n", 5);

class Signing : public ::testing::Test {
protected:
    static void SetUpTestSuite() {
        if (run("openssl version").status != 0) {
            return;  // tests skip
        }
        const char* tmp = std::getenv("TMPDIR");
        std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/wa_signing_XXXXXX";
        if (mkdtemp(tmpl.data()) == nullptr) {
            return;
        }
        dir_ = new fs::path(tmpl);
        Cmd g = run("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out " +
                    (*dir_ / "k.pem").string());
        Cmd p = run("openssl pkey -in " + (*dir_ / "k.pem").string() + " -pubout -out " +
                    (*dir_ / "pub.pem").string());
        if (g.status == 0 && p.status == 0) {
            pem_ = new std::string(read_file(*dir_ / "k.pem"));
        }
    }

    static void TearDownTestSuite() {
        if (dir_ != nullptr) {
            std::error_code ec;
            fs::remove_all(*dir_, ec);
        }
        delete dir_;
        delete pem_;
        dir_ = nullptr;
        pem_ = nullptr;
    }

    void SetUp() override {
        if (pem_ == nullptr) {
            GTEST_SKIP() << "openssl command line unavailable or key generation failed";
        }
    }

    static fs::path path(const std::string& name) { return *dir_ / name; }

    // Decodes the header's base64url signature with the openssl tool (not our
    // decoder) into sig.bin, writes body.bin and runs openssl's PSS verifier.
    static Cmd openssl_verify(const std::string& header, const std::string& body,
                              const std::string& saltlen = "32") {
        const std::string prefix = "rsassa-pss-sha256=";
        if (header.compare(0, prefix.size(), prefix) != 0) {
            return Cmd{};
        }
        std::string b64 = header.substr(prefix.size());
        for (char& c : b64) {
            if (c == '-') c = '+';
            if (c == '_') c = '/';
        }
        while (b64.size() % 4 != 0)
            b64.push_back('=');
        write_file(path("sig.b64"), b64 + "\n");
        write_file(path("body.bin"), body);
        Cmd d = run("openssl base64 -d -A -in " + path("sig.b64").string() + " -out " +
                    path("sig.bin").string());
        if (d.status != 0) {
            return d;
        }
        return run("openssl dgst -sha256 -sigopt rsa_padding_mode:pss -sigopt rsa_pss_saltlen:" +
                   saltlen + " -sigopt rsa_mgf1_md:sha256 -verify " + path("pub.pem").string() +
                   " -signature " + path("sig.bin").string() + " " + path("body.bin").string());
    }

    static std::shared_ptr<wa::SigningKey> key() {
        auto k = wa::load_signing_key(*pem_);
        EXPECT_TRUE(k.ok()) << (k.ok() ? "" : k.error().message);
        return k.ok() ? *k : nullptr;
    }

    static inline fs::path* dir_ = nullptr;
    static inline std::string* pem_ = nullptr;
};

TEST_F(Signing, RsaPssVerifiedByOpenssl) {
    auto k = key();
    ASSERT_TRUE(k);
    EXPECT_EQ(k->bits(), 2048);
    auto h = wa::rsa_pss_signature_header(*k, kBody);
    ASSERT_TRUE(h.ok()) << h.error().message;

    Cmd v = openssl_verify(*h, kBody);
    EXPECT_EQ(v.status, 0) << v.out;
    EXPECT_NE(v.out.find("Verified OK"), std::string::npos) << v.out;

    // Verifiers that let OpenSSL recover the salt length (Node's and Python's
    // AUTO) accept it too.
    Cmd a = openssl_verify(*h, kBody, "auto");
    EXPECT_EQ(a.status, 0) << a.out;
}

TEST_F(Signing, RsaPssFlippedBodyByteFails) {
    auto k = key();
    ASSERT_TRUE(k);
    auto h = wa::rsa_pss_signature_header(*k, kBody);
    ASSERT_TRUE(h.ok());
    for (size_t at : {size_t{0}, kBody.size() / 2, kBody.size() - 1}) {
        std::string tampered = kBody;
        tampered[at] = static_cast<char>(tampered[at] ^ 0x01);
        Cmd v = openssl_verify(*h, tampered);
        EXPECT_NE(v.status, 0) << "byte " << at << ": " << v.out;
        EXPECT_EQ(v.out.find("Verified OK"), std::string::npos) << v.out;
    }
    // A truncated body fails as well.
    Cmd t = openssl_verify(*h, kBody.substr(0, kBody.size() - 1));
    EXPECT_NE(t.status, 0) << t.out;
}

TEST_F(Signing, RsaPssHeaderShape) {
    auto k = key();
    ASSERT_TRUE(k);
    auto h = wa::rsa_pss_signature_header(*k, kBody);
    ASSERT_TRUE(h.ok());
    const std::string prefix = "rsassa-pss-sha256=";
    ASSERT_EQ(h->compare(0, prefix.size(), prefix), 0) << *h;
    std::string sig = h->substr(prefix.size());
    EXPECT_EQ(sig.size(), 342u);  // 256 bytes, base64url without padding
    for (char c : sig) {
        bool url = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                   c == '-' || c == '_';
        EXPECT_TRUE(url) << "unexpected character '" << c << "' in " << sig;
    }
}

TEST_F(Signing, RsaPssIsRandomizedAndEachVerifies) {
    auto k = key();
    ASSERT_TRUE(k);
    auto a = wa::rsa_pss_signature_header(*k, kBody);
    auto b = wa::rsa_pss_signature_header(*k, kBody);
    ASSERT_TRUE(a.ok() && b.ok());
    EXPECT_NE(*a, *b);  // a fresh 32-byte salt each time
    EXPECT_EQ(openssl_verify(*b, kBody).status, 0);
}

TEST_F(Signing, RsaPssEmptyBody) {
    auto k = key();
    ASSERT_TRUE(k);
    auto h = wa::rsa_pss_signature_header(*k, "");
    ASSERT_TRUE(h.ok());
    Cmd v = openssl_verify(*h, "");
    EXPECT_EQ(v.status, 0) << v.out;
}

TEST_F(Signing, RsaPssConcurrentSigningWithOneKey) {
    auto k = key();
    ASSERT_TRUE(k);
    constexpr int kThreads = 4;
    constexpr int kEach = 10;
    std::vector<std::string> last(kThreads);
    std::vector<int> failures(kThreads, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; t++) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < kEach; i++) {
                auto h = wa::rsa_pss_signature_header(*k, kBody + std::to_string(t));
                if (!h.ok()) {
                    failures[t]++;
                } else {
                    last[t] = *h;
                }
            }
        });
    }
    for (auto& th : threads)
        th.join();
    for (int t = 0; t < kThreads; t++) {
        EXPECT_EQ(failures[t], 0);
        EXPECT_EQ(openssl_verify(last[t], kBody + std::to_string(t)).status, 0) << t;
    }
}

TEST_F(Signing, LoadsPkcs1RsaPrivateKey) {
    Cmd c = run("openssl pkey -in " + path("k.pem").string() + " -traditional -out " +
                path("k1.pem").string());
    ASSERT_EQ(c.status, 0) << c.out;
    std::string pkcs1 = read_file(path("k1.pem"));
    ASSERT_NE(pkcs1.find("BEGIN RSA PRIVATE KEY"), std::string::npos) << pkcs1;
    auto k = wa::load_signing_key(pkcs1);
    ASSERT_TRUE(k.ok()) << k.error().message;
    auto h = wa::rsa_pss_signature_header(**k, kBody);
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(openssl_verify(*h, kBody).status, 0);
}

TEST_F(Signing, LoadKeyKeepsWorkingAfterPemIsGone) {
    std::string copy = *pem_;
    auto k = wa::load_signing_key(copy);
    ASSERT_TRUE(k.ok());
    std::shared_ptr<wa::SigningKey> held = *k;
    copy.assign(copy.size(), 'x');
    auto h = wa::rsa_pss_signature_header(*held, kBody);
    ASSERT_TRUE(h.ok());
    EXPECT_EQ(openssl_verify(*h, kBody).status, 0);
}

void expect_bad_key(const std::string& pem, const char* what) {
    auto k = wa::load_signing_key(pem);
    ASSERT_FALSE(k.ok()) << what;
    EXPECT_EQ(k.error().code, "invalid_signing_key") << what;
    EXPECT_FALSE(k.error().message.empty()) << what;
}

TEST_F(Signing, BadKeysAreRejected) {
    expect_bad_key("", "empty");
    expect_bad_key("not a pem at all", "garbage");
    expect_bad_key("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n", "bad DER");
    expect_bad_key(pem_->substr(0, pem_->size() / 2), "truncated");
    expect_bad_key(read_file(path("pub.pem")), "public key");

    // A corrupted modulus still parses, but its signatures cannot verify:
    // the load-time sign/verify self-test rejects it. The second base64 line
    // of a PKCS#8 RSA key lies inside the modulus.
    std::string corrupt = *pem_;
    size_t line2 = corrupt.find('\n', corrupt.find('\n') + 1) + 1;
    size_t at = line2 + 32;
    ASSERT_LT(at, corrupt.size());
    corrupt[at] = corrupt[at] == 'A' ? 'B' : 'A';
    expect_bad_key(corrupt, "corrupted modulus");
}

TEST_F(Signing, CorruptedPrivatePartsNeverYieldBadSignatures) {
    // Corruption in the private half (a prime, d, a CRT value) is either
    // rejected, or OpenSSL's CRT fault check recomputes the signature, which
    // then verifies under the original public key. Never a wrong signature.
    for (size_t frac : {40u, 50u, 60u, 70u, 80u, 90u}) {
        std::string corrupt = *pem_;
        size_t at = corrupt.size() * frac / 100;
        if (corrupt[at] == '\n' || corrupt[at] == '-') at++;
        corrupt[at] = corrupt[at] == 'A' ? 'B' : 'A';
        auto k = wa::load_signing_key(corrupt);
        if (!k.ok()) {
            EXPECT_EQ(k.error().code, "invalid_signing_key");
            continue;
        }
        auto h = wa::rsa_pss_signature_header(**k, kBody);
        ASSERT_TRUE(h.ok());
        Cmd v = openssl_verify(*h, kBody);
        EXPECT_EQ(v.status, 0) << "corruption at " << frac << "%: " << v.out;
    }
}

TEST_F(Signing, NonRsaShortAndEncryptedKeysAreRejected) {
    Cmd ec = run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out " +
                 path("ec.pem").string());
    ASSERT_EQ(ec.status, 0) << ec.out;
    expect_bad_key(read_file(path("ec.pem")), "EC key");

    Cmd ed = run("openssl genpkey -algorithm ED25519 -out " + path("ed.pem").string());
    ASSERT_EQ(ed.status, 0) << ed.out;
    expect_bad_key(read_file(path("ed.pem")), "Ed25519 key");

    Cmd small = run("openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:1024 -out " +
                    path("small.pem").string());
    ASSERT_EQ(small.status, 0) << small.out;
    expect_bad_key(read_file(path("small.pem")), "1024-bit RSA key");

    // Encrypted: fails without prompting for a passphrase.
    Cmd enc = run("openssl pkey -in " + path("k.pem").string() +
                  " -aes256 -passout pass:secret -out " + path("enc.pem").string());
    ASSERT_EQ(enc.status, 0) << enc.out;
    std::string encrypted = read_file(path("enc.pem"));
    ASSERT_NE(encrypted.find("ENCRYPTED"), std::string::npos);
    expect_bad_key(encrypted, "encrypted key");
}

// ---- Standard Webhooks ----

TEST(StandardWebhooks, PublishedExample) {
    // The Standard Webhooks / Svix reference vector.
    auto key = wa::decode_whsec("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    ASSERT_TRUE(key.ok());
    auto h = wa::standard_webhook_headers(*key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                                          R"({"test": 2432232314})");
    EXPECT_EQ(h.id, "msg_p5jXN8AQM9LWM0D4loKWxJek");
    EXPECT_EQ(h.timestamp, "1614265330");
    EXPECT_EQ(h.signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
}

TEST_F(Signing, StandardWebhooksMatchesOpensslHmac) {
    // A key with bytes that are not text, and a body with non-ASCII bytes.
    const std::string key("\x00\x01\x7f\x80\xfe\xff secret key bytes \xc3\xa9", 24);
    const std::string id = "evt_01htjex3pre54tywgzsdg1jnbn";
    const std::int64_t ts = 1712163681;
    auto h = wa::standard_webhook_headers(key, id, ts, kBody);
    EXPECT_EQ(h.id, id);
    EXPECT_EQ(h.timestamp, "1712163681");

    write_file(path("signed.bin"), id + "." + "1712163681" + "." + kBody);
    Cmd r = run("openssl dgst -sha256 -mac HMAC -macopt hexkey:" + wa::hex_lower(key) +
                " -binary " + path("signed.bin").string() + " | openssl base64 -A");
    ASSERT_EQ(r.status, 0) << r.out;
    std::string expected = r.out;
    while (!expected.empty() && (expected.back() == '\n' || expected.back() == '\r')) {
        expected.pop_back();
    }
    ASSERT_EQ(expected.size(), 44u) << expected;
    EXPECT_EQ(h.signature, "v1," + expected);
}

TEST(StandardWebhooks, TimestampIsPlainDecimal) {
    auto h = wa::standard_webhook_headers("k", "evt_x", 0, "");
    EXPECT_EQ(h.timestamp, "0");
    h = wa::standard_webhook_headers("k", "evt_x", 4102444800, "{}");
    EXPECT_EQ(h.timestamp, "4102444800");
    EXPECT_EQ(h.signature.compare(0, 3, "v1,"), 0);
    EXPECT_EQ(h.signature.size(), 3u + 44u);
}

TEST(StandardWebhooks, DifferentPartsGiveDifferentSignatures) {
    auto base = wa::standard_webhook_headers("key", "evt_a", 100, "{}");
    EXPECT_NE(base.signature, wa::standard_webhook_headers("kez", "evt_a", 100, "{}").signature);
    EXPECT_NE(base.signature, wa::standard_webhook_headers("key", "evt_b", 100, "{}").signature);
    EXPECT_NE(base.signature, wa::standard_webhook_headers("key", "evt_a", 101, "{}").signature);
    EXPECT_NE(base.signature, wa::standard_webhook_headers("key", "evt_a", 100, "{ }").signature);
}

TEST(DecodeWhsec, Valid) {
    auto k = wa::decode_whsec("whsec_c2VjcmV0LWtleS1ieXRlcw==");
    ASSERT_TRUE(k.ok());
    EXPECT_EQ(*k, "secret-key-bytes");

    auto unpadded = wa::decode_whsec("whsec_c2VjcmV0LWtleS1ieXRlcw");
    ASSERT_TRUE(unpadded.ok());
    EXPECT_EQ(*unpadded, "secret-key-bytes");

    auto spaced = wa::decode_whsec("  whsec_c2VjcmV0LWtleS1ieXRlcw==\r\n");
    ASSERT_TRUE(spaced.ok());
    EXPECT_EQ(*spaced, "secret-key-bytes");

    auto binary = wa::decode_whsec("whsec_AP+A");
    ASSERT_TRUE(binary.ok());
    EXPECT_EQ(*binary, std::string("\x00\xff\x80", 3));
}

TEST(DecodeWhsec, Invalid) {
    for (const char* bad :
         {"", "whsec_", "   ", "c2VjcmV0", "WHSEC_c2VjcmV0", "whsec c2VjcmV0", "whsec_c2Vj*mV0",
          "whsec_c2VjcmV0LWtleS1ieXRlcw=x", "whsec_c2Vj cmV0"}) {
        auto k = wa::decode_whsec(bad);
        ASSERT_FALSE(k.ok()) << '"' << bad << '"';
        EXPECT_EQ(k.error().code, "invalid_signing_secret") << bad;
    }
}

}  // namespace

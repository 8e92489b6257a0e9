// Signatures (OpenSSL): Meta's X-Hub-Signature-256 in, our event signatures out.
#include "base/crypto.hpp"

#include <memory>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "base/chars.hpp"

namespace wa {

namespace {

constexpr char kB64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr char kB64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::string_view kHubPrefix = "sha256=";
constexpr size_t kSha256Len = 32;

// string_view::data() may be null for empty views; OpenSSL wants a pointer.
const unsigned char* bytes_of(std::string_view s) {
    static const unsigned char empty = 0;
    return s.empty() ? &empty : reinterpret_cast<const unsigned char*>(s.data());
}

std::string b64_encode(std::string_view in, const char* alphabet, bool pad) {
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        unsigned n = (static_cast<unsigned char>(in[i]) << 16) |
                     (static_cast<unsigned char>(in[i + 1]) << 8) |
                     static_cast<unsigned char>(in[i + 2]);
        out.push_back(alphabet[(n >> 18) & 0x3f]);
        out.push_back(alphabet[(n >> 12) & 0x3f]);
        out.push_back(alphabet[(n >> 6) & 0x3f]);
        out.push_back(alphabet[n & 0x3f]);
    }
    size_t rest = in.size() - i;
    if (rest == 0) {
        return out;
    }
    unsigned n = static_cast<unsigned char>(in[i]) << 16;
    if (rest == 2) {
        n |= static_cast<unsigned char>(in[i + 1]) << 8;
    }
    out.push_back(alphabet[(n >> 18) & 0x3f]);
    out.push_back(alphabet[(n >> 12) & 0x3f]);
    if (rest == 2) {
        out.push_back(alphabet[(n >> 6) & 0x3f]);
    }
    if (pad) {
        out.append(rest == 1 ? "==" : "=");
    }
    return out;
}

int b64_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

Error bad_base64(const char* msg) { return make_error("invalid_base64", msg); }

// HMAC() and EVP_sha256() look the algorithm up by name on every call (an
// OpenSSL 3 fetch, under a lock). Fetch once; never freed, as freeing after
// OPENSSL_cleanup at exit would be unsafe.
EVP_MAC* hmac_alg() {
    static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    return mac;
}

const EVP_MD* sha256_alg() {
    static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    return md;
}

const EVP_MD* sha1_alg() {
    static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA1", nullptr);
    return md;
}

struct MacCtxFree {
    void operator()(EVP_MAC_CTX* c) const { EVP_MAC_CTX_free(c); }
};
struct MdCtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};

// One HMAC context per thread with SHA-256 set once (setting it per call
// would fetch SHA-256 again); EVP_MAC_init with a key re-keys it. Null on
// failure.
EVP_MAC_CTX* hmac_ctx() {
    thread_local std::unique_ptr<EVP_MAC_CTX, MacCtxFree> ctx;
    if (!ctx && hmac_alg() != nullptr) {
        std::unique_ptr<EVP_MAC_CTX, MacCtxFree> c(EVP_MAC_CTX_new(hmac_alg()));
        char digest[] = "SHA256";
        OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                               OSSL_PARAM_construct_end()};
        if (c && EVP_MAC_CTX_set_params(c.get(), params) == 1) {
            ctx = std::move(c);
        }
    }
    return ctx.get();
}

// One digest context per thread, re-initialized per call. Null on failure.
EVP_MD_CTX* md_ctx() {
    thread_local std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    return ctx.get();
}

// The raw digest of data, or empty (only on allocation failure; an empty
// digest matches no real one).
std::string digest(const EVP_MD* alg, std::string_view data) {
    EVP_MD_CTX* ctx = md_ctx();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (ctx == nullptr || alg == nullptr || EVP_DigestInit_ex2(ctx, alg, nullptr) != 1 ||
        EVP_DigestUpdate(ctx, bytes_of(data), data.size()) != 1 ||
        EVP_DigestFinal_ex(ctx, md, &len) != 1) {
        return std::string();
    }
    return std::string(reinterpret_cast<const char*>(md), len);
}

}  // namespace

std::string hmac_sha256(std::string_view key, std::string_view data) {
    EVP_MAC_CTX* ctx = hmac_ctx();
    unsigned char md[EVP_MAX_MD_SIZE];
    size_t len = 0;
    if (ctx == nullptr || EVP_MAC_init(ctx, bytes_of(key), key.size(), nullptr) != 1 ||
        EVP_MAC_update(ctx, bytes_of(data), data.size()) != 1 ||
        EVP_MAC_final(ctx, md, &len, sizeof(md)) != 1) {
        // Only on allocation failure; an empty digest never verifies.
        return std::string();
    }
    return std::string(reinterpret_cast<const char*>(md), len);
}

std::string sha256(std::string_view data) { return digest(sha256_alg(), data); }

std::string sha1(std::string_view data) { return digest(sha1_alg(), data); }

std::string hex_lower(std::string_view bytes) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (char c : bytes) {
        unsigned char b = static_cast<unsigned char>(c);
        out.push_back(hex[b >> 4]);
        out.push_back(hex[b & 0x0f]);
    }
    return out;
}

std::string base64_encode(std::string_view bytes) { return b64_encode(bytes, kB64, true); }

std::string base64url_encode(std::string_view bytes) { return b64_encode(bytes, kB64Url, false); }

Result<std::string> base64_decode(std::string_view text) {
    // Padding is optional, but when present it must complete the last quad.
    size_t pads = 0;
    while (pads < 2 && pads < text.size() && text[text.size() - 1 - pads] == '=') {
        pads++;
    }
    if (pads > 0 && text.size() % 4 != 0) {
        return bad_base64("base64 padding is misplaced");
    }
    std::string_view body = text.substr(0, text.size() - pads);
    if (body.size() % 4 == 1) {
        return bad_base64("base64 length is invalid");
    }

    std::string out;
    out.reserve(body.size() / 4 * 3 + 2);
    unsigned acc = 0;
    int bits = 0;
    for (char c : body) {
        int v = b64_value(c);
        if (v < 0) {
            return bad_base64("base64 has an invalid character");
        }
        acc = (acc << 6) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out.push_back(static_cast<char>((acc >> bits) & 0xff));
        }
    }
    return out;
}

Result<std::string> base64url_decode(std::string_view text) {
    std::string std_alphabet(text);
    for (char& c : std_alphabet) {
        if (c == '+' || c == '/' || c == '=')
            return bad_base64("base64url has an invalid character");
        if (c == '-') c = '+';
        if (c == '_') c = '/';
    }
    auto out = base64_decode(std_alphabet);
    // One text per byte string: unused low bits of the last character set
    // would be a second spelling of the same bytes.
    if (out && base64url_encode(*out) != text) return bad_base64("base64url is not canonical");
    return out;
}

bool constant_time_equal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    if (a.empty()) {
        return true;
    }
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

bool verify_hub_signature(std::string_view secret, std::string_view body, std::string_view header) {
    if (header.size() != kHubPrefix.size() + 2 * kSha256Len ||
        header.substr(0, kHubPrefix.size()) != kHubPrefix) {
        return false;
    }

    // Compare raw digests so hex case does not matter.
    std::string_view hex = header.substr(kHubPrefix.size());
    std::string given(kSha256Len, '\0');
    for (size_t i = 0; i < kSha256Len; i++) {
        int hi = hex_value(hex[2 * i]);
        int lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        given[i] = static_cast<char>((hi << 4) | lo);
    }

    std::string expected = hmac_sha256(secret, body);
    return expected.size() == kSha256Len && constant_time_equal(given, expected);
}

std::string hub_signature(std::string_view secret, std::string_view body) {
    return std::string(kHubPrefix) + hex_lower(hmac_sha256(secret, body));
}

}  // namespace wa

// Event signing (SPEC §5.3): Prelude's RSASSA-PSS header or Standard Webhooks HMAC headers.
#include "domain/signing.hpp"

#include <climits>
#include <memory>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "base/chars.hpp"
#include "base/crypto.hpp"

namespace wa {

namespace {

constexpr std::string_view kPssPrefix = "rsassa-pss-sha256=";
constexpr std::string_view kWhsecPrefix = "whsec_";
constexpr int kPssSaltLen = 32;
constexpr int kMinKeyBits = 2048;

struct BioFree {
    void operator()(BIO* b) const { BIO_free(b); }
};
struct PkeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct MdCtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// string_view::data() may be null for empty views; OpenSSL wants a pointer.
const unsigned char* bytes_of(std::string_view s) {
    static const unsigned char empty = 0;
    return s.empty() ? &empty : reinterpret_cast<const unsigned char*>(s.data());
}

// Never prompt for a passphrase (nginx -t must not block on a terminal):
// an encrypted key simply fails to load.
int no_passphrase(char*, int, int, void*) { return -1; }

Error bad_key(std::string message) {
    ERR_clear_error();  // leave nothing in OpenSSL's queue for nginx's SSL code to misreport
    return make_error("invalid_signing_key", std::move(message));
}

Error sign_failed(std::string message) {
    ERR_clear_error();
    return make_error("signing_failed", std::move(message));
}

// PSS parameters of SPEC §5.3 on a digest-sign or digest-verify context.
bool set_pss(EVP_PKEY_CTX* pctx) {
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, kPssSaltLen) > 0 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, EVP_sha256()) > 0;
}

Result<std::string> pss_sign(EVP_PKEY* pkey, std::string_view body) {
    MdCtxPtr ctx(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
    if (!ctx || EVP_DigestSignInit(ctx.get(), &pctx, EVP_sha256(), nullptr, pkey) != 1 ||
        !set_pss(pctx)) {
        return sign_failed("cannot set up RSASSA-PSS signing");
    }
    size_t len = 0;
    if (EVP_DigestSign(ctx.get(), nullptr, &len, bytes_of(body), body.size()) != 1) {
        return sign_failed("cannot size the RSASSA-PSS signature");
    }
    std::string sig(len, '\0');
    if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                       bytes_of(body), body.size()) != 1) {
        return sign_failed("RSASSA-PSS signing failed");
    }
    sig.resize(len);
    return sig;
}

bool pss_verify(EVP_PKEY* pkey, std::string_view body, std::string_view sig) {
    MdCtxPtr ctx(EVP_MD_CTX_new());
    EVP_PKEY_CTX* pctx = nullptr;  // owned by ctx
    return ctx && EVP_DigestVerifyInit(ctx.get(), &pctx, EVP_sha256(), nullptr, pkey) == 1 &&
           set_pss(pctx) &&
           EVP_DigestVerify(ctx.get(), bytes_of(sig), sig.size(), bytes_of(body), body.size()) == 1;
}

}  // namespace

SigningKey::~SigningKey() { EVP_PKEY_free(pkey_); }

int SigningKey::bits() const { return EVP_PKEY_get_bits(pkey_); }

Result<std::shared_ptr<SigningKey>> load_signing_key(std::string_view pem) {
    if (pem.empty() || pem.size() > static_cast<size_t>(INT_MAX)) {
        return bad_key("signing key PEM is empty or too large");
    }
    BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    if (!bio) {
        return bad_key("cannot read the signing key");
    }
    PkeyPtr pkey(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
    if (!pkey) {
        return bad_key("signing key is not an unencrypted PEM private key");
    }
    if (EVP_PKEY_get_base_id(pkey.get()) != EVP_PKEY_RSA) {
        return bad_key("signing key is not an RSA private key");
    }
    if (EVP_PKEY_get_bits(pkey.get()) < kMinKeyBits) {
        return bad_key("signing key is shorter than 2048 bits");
    }

    // Sign and verify once, so a key whose parts do not match fails at
    // configuration time rather than on every delivery.
    static constexpr std::string_view probe = "ngx_whatsapp signing key check";
    auto sig = pss_sign(pkey.get(), probe);
    if (!sig || !pss_verify(pkey.get(), probe, *sig)) {
        return bad_key("signing key failed a sign/verify self-test");
    }
    ERR_clear_error();

    return std::shared_ptr<SigningKey>(new SigningKey(pkey.release()));
}

Result<std::string> rsa_pss_signature_header(const SigningKey& key, std::string_view body) {
    auto sig = pss_sign(key.pkey_, body);
    if (!sig) {
        return sig.error();
    }
    return std::string(kPssPrefix) + base64url_encode(*sig);
}

StandardWebhookHeaders standard_webhook_headers(std::string_view key, std::string_view event_id,
                                                std::int64_t unix_seconds, std::string_view body) {
    StandardWebhookHeaders h;
    h.id = std::string(event_id);
    h.timestamp = std::to_string(unix_seconds);

    std::string signed_content;
    signed_content.reserve(h.id.size() + h.timestamp.size() + body.size() + 2);
    signed_content.append(h.id).append(1, '.').append(h.timestamp).append(1, '.').append(body);
    h.signature = "v1," + base64_encode(hmac_sha256(key, signed_content));
    return h;
}

Result<std::string> decode_whsec(std::string_view text) {
    text = trim_space(text);
    if (!text.starts_with(kWhsecPrefix)) {
        return make_error("invalid_signing_secret", "signing secret must be \"whsec_<base64>\"");
    }
    auto key = base64_decode(text.substr(kWhsecPrefix.size()));
    if (!key) {
        return make_error("invalid_signing_secret",
                          "signing secret after \"whsec_\" is not valid base64");
    }
    if (key->empty()) {
        return make_error("invalid_signing_secret", "signing secret is empty");
    }
    return std::move(key).value();
}

Result<std::vector<Header>> event_signature_headers(const SigningKey* key, std::string_view secret,
                                                    std::string_view event_id,
                                                    std::int64_t unix_seconds,
                                                    std::string_view body) {
    std::vector<Header> out;
    if (key != nullptr) {
        auto value = rsa_pss_signature_header(*key, body);
        if (!value) return value.error();
        out.emplace_back("X-Webhook-Signature", std::move(value.value()));
    } else if (!secret.empty()) {
        StandardWebhookHeaders h = standard_webhook_headers(secret, event_id, unix_seconds, body);
        out.emplace_back("webhook-id", std::move(h.id));
        out.emplace_back("webhook-timestamp", std::move(h.timestamp));
        out.emplace_back("webhook-signature", std::move(h.signature));
    }
    return out;
}

}  // namespace wa

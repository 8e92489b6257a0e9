// Event signing (SPEC §5.3): Prelude's RSASSA-PSS header or Standard Webhooks HMAC headers.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.hpp"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY, kept out of this header

namespace wa {

// An RSA private key, parsed once (at configuration time) and shared by
// every signature made with it. Immutable after loading; OpenSSL 3 allows
// concurrent signing with one key, each call using its own context.
class SigningKey {
public:
    ~SigningKey();
    SigningKey(const SigningKey&) = delete;
    SigningKey& operator=(const SigningKey&) = delete;

    int bits() const;  // modulus size

private:
    friend Result<std::shared_ptr<SigningKey>> load_signing_key(std::string_view pem);
    friend Result<std::string> rsa_pss_signature_header(const SigningKey& key,
                                                        std::string_view body);
    explicit SigningKey(evp_pkey_st* pkey) : pkey_(pkey) {}

    evp_pkey_st* pkey_;
};

// Parses PEM text holding an unencrypted RSA private key (PKCS#8 "PRIVATE KEY"
// or PKCS#1 "RSA PRIVATE KEY") of at least 2048 bits. Anything else —
// unreadable text, a public key, an EC key, an encrypted key (never prompts
// for a passphrase), a short key — is "invalid_signing_key".
Result<std::shared_ptr<SigningKey>> load_signing_key(std::string_view pem);

// The exact X-Webhook-Signature header value:
// "rsassa-pss-sha256=<base64url, no padding>" of RSASSA-PSS (SHA-256,
// MGF1-SHA-256, salt length 32) over the raw body bytes.
// Fails ("signing_failed") only if OpenSSL does.
Result<std::string> rsa_pss_signature_header(const SigningKey& key, std::string_view body);

// Standard Webhooks headers: webhook-id, webhook-timestamp, webhook-signature.
struct StandardWebhookHeaders {
    std::string id;         // the event id (evt_…)
    std::string timestamp;  // Unix seconds, decimal
    std::string signature;  // "v1," + base64(HMAC-SHA256(key, id "." timestamp "." body))
};

// key: the decoded bytes of "whsec_<base64>" (see decode_whsec).
StandardWebhookHeaders standard_webhook_headers(std::string_view key, std::string_view event_id,
                                                std::int64_t unix_seconds, std::string_view body);

// The signature headers of one delivery (SPEC §5.3): RSASSA-PSS when a key
// is given, else Standard Webhooks when a secret is (one of the two is
// required by the configuration), as (name, value) pairs.
using Header = std::pair<std::string, std::string>;
Result<std::vector<Header>> event_signature_headers(const SigningKey* key, std::string_view secret,
                                                    std::string_view event_id,
                                                    std::int64_t unix_seconds,
                                                    std::string_view body);

// "whsec_<base64>" (surrounding whitespace ignored) → the key bytes.
// Missing prefix, bad base64 or an empty key → "invalid_signing_secret".
Result<std::string> decode_whsec(std::string_view text);

}  // namespace wa

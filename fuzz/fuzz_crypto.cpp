// libFuzzer target: the text parsers of crypto.hpp and signing.hpp:
// base64_decode, decode_whsec and the X-Hub-Signature-256 header check.
//   base64: what decodes re-encodes to text that decodes to the same bytes
//           (padding optional); every encode() output decodes back.
//   whsec:  an accepted secret is non-empty and survives whsec_ re-encoding.
//   header: verify_hub_signature accepts exactly hub_signature's value,
//           hex in any case, and nothing else.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/crypto.hpp"
#include "fuzz_check.hpp"
#include "domain/signing.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view s(reinterpret_cast<const char*>(data), size);

    auto d = wa::base64_decode(s);
    if (d) {
        std::string_view body = s.substr(0, s.find_last_not_of('=') + 1);
        FUZZ_CHECK(d->size() == body.size() * 3 / 4);
        std::string enc = wa::base64_encode(*d);
        auto again = wa::base64_decode(enc);
        FUZZ_CHECK(again.ok() && *again == *d);
    } else {
        FUZZ_CHECK(!d.error().code.empty());
    }

    std::string enc = wa::base64_encode(s);
    auto back = wa::base64_decode(enc);
    FUZZ_CHECK(back.ok() && *back == s);
    std::string url = wa::base64url_encode(s);
    FUZZ_CHECK(url.find_first_of("+/=") == std::string::npos);

    auto key = wa::decode_whsec(s);
    if (key) {
        FUZZ_CHECK(!key->empty());
        auto again = wa::decode_whsec("whsec_" + wa::base64_encode(*key));
        FUZZ_CHECK(again.ok() && *again == *key);
    } else {
        FUZZ_CHECK(key.error().code == "invalid_signing_secret");
    }

    const std::string_view secret = "app-secret";
    const std::string_view payload = "{\"object\":\"whatsapp_business_account\"}";
    std::string good = wa::hub_signature(secret, payload);
    bool ok = wa::verify_hub_signature(secret, payload, s);
    bool prefixed = s.starts_with("sha256=");
    FUZZ_CHECK(ok == (prefixed && fuzz_lower(s) == good));
    FUZZ_CHECK(wa::verify_hub_signature(secret, payload, good));
    return 0;
}

// libFuzzer target: parse_api_keys (the keys file) and ApiKeys::authorize
// (the Authorization header), api_keys.hpp.
//   file:   an error is "invalid_api_keys" naming a line; an accepted file
//           has valid, unique names and unique hashes, and writing its keys
//           back as lines parses to the same keys.
//   header: only "Bearer <the secret>" (scheme in any case, blanks around
//           the token) authorizes, and a key comes back exactly for ok and
//           forbidden.
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "domain/api_keys.hpp"
#include "base/crypto.hpp"
#include "fuzz_check.hpp"
#include "base/ids.hpp"

namespace {

std::string line_of(const wa::ApiKey& k) {
    std::string hash(reinterpret_cast<const char*>(k.hash.data()), k.hash.size());
    std::string line =
        k.name + "\t" + k.tenant + " " + wa::hex_lower(hash) + " " + wa::scopes_string(k.scopes);
    if (k.conversation) {
        line += " conversation=" + wa::typeid_encode("conv", *k.conversation);
    }
    return line;
}

bool same(const wa::ApiKey& a, const wa::ApiKey& b) {
    return a.name == b.name && a.tenant == b.tenant && a.hash == b.hash && a.scopes == b.scopes &&
           a.conversation == b.conversation;
}

const wa::ApiKeys& fixed_keys() {
    static const wa::ApiKeys keys = [] {
        std::string file =
            wa::api_key_line("sender", "acme", "s3cret",
                             static_cast<unsigned>(wa::Scope::messages_send), std::nullopt) +
            "\n" +
            wa::api_key_line("reader", "acme", "r3ad",
                             static_cast<unsigned>(wa::Scope::messages_read), std::nullopt) +
            "\n";
        return wa::parse_api_keys(file).value();
    }();
    return keys;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);

    auto keys = wa::parse_api_keys(text);
    if (!keys) {
        FUZZ_CHECK(keys.error().code == "invalid_api_keys");
        FUZZ_CHECK(keys.error().message.starts_with("line "));
    } else {
        std::set<std::string> names;
        std::set<std::array<unsigned char, 32>> hashes;
        std::string file = "# written back\n";
        for (const auto& k : keys->keys()) {
            FUZZ_CHECK(wa::valid_key_name(k.name));
            FUZZ_CHECK(wa::valid_tenant_name(k.tenant));
            FUZZ_CHECK(k.scopes != 0);
            FUZZ_CHECK(names.insert(k.name).second);
            FUZZ_CHECK(hashes.insert(k.hash).second);
            file += line_of(k) + "\n";
        }
        auto again = wa::parse_api_keys(file);
        FUZZ_CHECK(again.ok());
        FUZZ_CHECK(again->keys().size() == keys->keys().size());
        for (std::size_t i = 0; i < keys->keys().size(); i++) {
            FUZZ_CHECK(same(again->keys()[i], keys->keys()[i]));
        }
    }

    auto auth = fixed_keys().authorize(text, wa::Scope::messages_send);
    switch (auth.check) {
        case wa::KeyCheck::ok:
            FUZZ_CHECK(auth.key != nullptr && auth.key->name == "sender");
            FUZZ_CHECK(text.find("s3cret") != std::string_view::npos);
            break;
        case wa::KeyCheck::forbidden:
            FUZZ_CHECK(auth.key != nullptr && auth.key->name == "reader");
            FUZZ_CHECK(text.find("r3ad") != std::string_view::npos);
            break;
        case wa::KeyCheck::missing:
        case wa::KeyCheck::invalid: FUZZ_CHECK(auth.key == nullptr); break;
    }
    return 0;
}

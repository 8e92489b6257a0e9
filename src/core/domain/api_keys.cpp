// API keys: the whatsapp_api_keys file, SHA-256 matching, new secrets.
#include "domain/api_keys.hpp"

#include <cstddef>
#include <unordered_set>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "base/chars.hpp"
#include "base/crypto.hpp"

namespace wa {

namespace {

struct ScopeName {
    Scope scope;
    std::string_view name;
};

constexpr ScopeName kScopes[] = {
    {Scope::conversations_read, "messaging:conversations:read"},
    {Scope::messages_read, "messaging:messages:read"},
    {Scope::messages_send, "messaging:messages:send"},
    {Scope::events_stream, "events:stream"},
};

constexpr std::size_t kSecretBytes = 32;
constexpr std::string_view kSecretPrefix = "wa_";
constexpr std::string_view kConversationPrefix = "conversation=";
constexpr std::string_view kBearer = "bearer";

// Fields of one line, up to a '#' that starts a field.
std::vector<std::string_view> split_fields(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && is_space(line[i]))
            i++;
        if (i == line.size() || line[i] == '#') break;
        std::size_t start = i;
        while (i < line.size() && !is_space(line[i]))
            i++;
        out.push_back(line.substr(start, i - start));
    }
    return out;
}

// The next line of text (without its '\n'); text moves past it.
std::string_view take_line(std::string_view& text) {
    std::size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    return line;
}

int hex_digit(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;  // uppercase too: the file has one spelling per hash
}

bool parse_hash(std::string_view hex, std::array<unsigned char, 32>& out) {
    if (hex.size() != 2 * out.size()) return false;
    for (std::size_t i = 0; i < out.size(); i++) {
        int hi = hex_digit(hex[2 * i]);
        int lo = hex_digit(hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return false;
        out[i] = static_cast<unsigned char>((hi << 4) | lo);
    }
    return true;
}

// A field for an error message, cut short so a garbage line stays readable.
std::string quoted(std::string_view s) {
    constexpr std::size_t kMax = 80;
    if (s.size() > kMax) return "\"" + std::string(s.substr(0, kMax)) + "...\"";
    return "\"" + std::string(s) + "\"";
}

// A problem with one line; parse_api_keys adds the line number.
Error bad(std::string problem) { return make_error("invalid_api_keys", std::move(problem)); }

Error line_error(std::size_t line_no, const std::string& problem) {
    return make_error("invalid_api_keys", "line " + std::to_string(line_no) + ": " + problem);
}

// One non-empty line's fields -> a key.
Result<ApiKey> parse_key(const std::vector<std::string_view>& f) {
    if (f.size() < 4) {
        return bad(
            "expected \"name tenant sha256hex scope[,scope...] "
            "[conversation=ID]\", got " +
            std::to_string(f.size()) + " field(s)");
    }
    if (f.size() > 5) return bad("unexpected field " + quoted(f[5]));
    ApiKey k;
    if (!valid_key_name(f[0])) {
        return bad("invalid name " + quoted(f[0]) + ": 1-64 of [A-Za-z0-9_.-] expected");
    }
    k.name = f[0];
    if (!valid_tenant_name(f[1])) {
        return bad("invalid tenant " + quoted(f[1]) + ": 1-64 of [A-Za-z0-9_.-] expected");
    }
    k.tenant = f[1];
    if (!parse_hash(f[2], k.hash)) {
        return bad("invalid hash " + quoted(f[2]) + ": 64 lowercase hex expected");
    }
    auto scopes = parse_scopes(f[3]);
    if (!scopes) return scopes.error();
    k.scopes = *scopes;
    if (f.size() == 5) {
        if (!f[4].starts_with(kConversationPrefix)) {
            return bad("unexpected field " + quoted(f[4]) + ": conversation=ID expected");
        }
        auto conv = typeid_decode_as("conv", f[4].substr(kConversationPrefix.size()));
        if (!conv) {
            return bad("invalid conversation " + quoted(f[4].substr(kConversationPrefix.size())) +
                       ": conv_ id expected");
        }
        k.conversation = *conv;
    }
    return k;
}

std::string_view hash_view(const std::array<unsigned char, 32>& h) {
    return std::string_view(reinterpret_cast<const char*>(h.data()), h.size());
}

bool ascii_iequal(std::string_view a, std::string_view lower) {
    if (a.size() != lower.size()) return false;
    for (std::size_t i = 0; i < a.size(); i++) {
        char c = a[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        if (c != lower[i]) return false;
    }
    return true;
}

// The token of "Bearer <token>" (spaces around it trimmed), or empty.
std::string_view bearer_token(std::string_view header) {
    if (header.size() <= kBearer.size() ||
        !ascii_iequal(header.substr(0, kBearer.size()), kBearer) ||
        (header[kBearer.size()] != ' ' && header[kBearer.size()] != '\t')) {
        return {};
    }
    std::string_view t = header.substr(kBearer.size());
    t = trim_space(t);
    return t;
}

}  // namespace

std::string_view scope_name(Scope s) {
    for (const auto& e : kScopes) {
        if (e.scope == s) return e.name;
    }
    return "";
}

Result<unsigned> parse_scopes(std::string_view list) {
    unsigned bits = 0;
    for (;;) {
        std::size_t comma = list.find(',');
        std::string_view one = list.substr(0, comma);
        unsigned bit = 0;
        if (one == "*") bit = kAllScopes;
        for (const auto& e : kScopes) {
            if (one == e.name) bit = static_cast<unsigned>(e.scope);
        }
        if (bit == 0) {
            return make_error("invalid_scope", one.empty()
                                                   ? std::string("empty scope in ") + quoted(list)
                                                   : "unknown scope " + quoted(one));
        }
        bits |= bit;
        if (comma == std::string_view::npos) return bits;
        list.remove_prefix(comma + 1);
    }
}

std::string scopes_string(unsigned scopes) {
    if (scopes == kAllScopes) return "*";
    std::string out;
    for (const auto& e : kScopes) {
        if ((scopes & static_cast<unsigned>(e.scope)) == 0) continue;
        if (!out.empty()) out.push_back(',');
        out.append(e.name);
    }
    return out;
}

bool valid_tenant_name(std::string_view s) {
    if (s.empty() || s.size() > 64) return false;
    for (char c : s) {
        if (!is_alnum(c) && c != '_' && c != '-' && c != '.') return false;
    }
    return true;
}

bool valid_key_name(std::string_view s) { return valid_tenant_name(s); }

Result<ApiKeys> parse_api_keys(std::string_view text) {
    ApiKeys out;
    std::unordered_set<std::string> names;
    std::unordered_set<std::string> hashes;
    std::size_t line_no = 0;
    while (!text.empty()) {
        line_no++;
        auto fields = split_fields(take_line(text));
        if (fields.empty()) continue;
        auto key = parse_key(fields);
        if (!key) return line_error(line_no, key.error().message);
        if (!names.insert(key->name).second) {
            return line_error(line_no, "duplicate name " + quoted(key->name));
        }
        // One secret, two keys: which tenant would it be? Refuse.
        if (!hashes.insert(std::string(hash_view(key->hash))).second) {
            return line_error(line_no, "duplicate hash (key " + quoted(key->name) +
                                           " has the same secret as an earlier key)");
        }
        out.keys_.push_back(std::move(*key));
    }
    return out;
}

Result<std::string> without_api_key(std::string_view text, std::string_view name) {
    if (auto keys = parse_api_keys(text); !keys) return keys.error();
    std::string out;
    bool found = false;
    while (!text.empty()) {
        std::string_view rest = text;
        auto fields = split_fields(take_line(text));
        if (!fields.empty() && fields[0] == name) {
            found = true;  // names are unique: the one line
        } else {
            out.append(rest.substr(0, rest.size() - text.size()));
        }
    }
    if (!found) return make_error("key_not_found", "no key named " + quoted(name));
    return out;
}

const ApiKey* ApiKeys::match(std::string_view presented_secret) const {
    std::string digest = sha256(presented_secret);
    if (digest.size() != 32) return nullptr;
    // Branch-free select of the (at most one, hashes are unique) hit.
    std::size_t hit = keys_.size();
    for (std::size_t i = 0; i < keys_.size(); i++) {
        std::size_t eq = CRYPTO_memcmp(digest.data(), keys_[i].hash.data(), 32) == 0;
        std::size_t mask = 0 - eq;
        hit = (i & mask) | (hit & ~mask);
    }
    return hit < keys_.size() ? &keys_[hit] : nullptr;
}

KeyAuth ApiKeys::authorize(std::string_view authorization_header, Scope needed) const {
    std::string_view token = bearer_token(authorization_header);
    if (token.empty()) return {KeyCheck::missing, nullptr};
    const ApiKey* key = match(token);
    if (key == nullptr) return {KeyCheck::invalid, nullptr};
    if (!key->allows(needed)) return {KeyCheck::forbidden, key};
    return {KeyCheck::ok, key};
}

Result<std::string> generate_api_secret() {
    unsigned char bytes[kSecretBytes];
    if (RAND_bytes(bytes, sizeof(bytes)) != 1) {
        return make_error("random_failed", "RAND_bytes failed: no secret generated");
    }
    std::string secret =
        std::string(kSecretPrefix) +
        base64url_encode(std::string_view(reinterpret_cast<const char*>(bytes), sizeof(bytes)));
    OPENSSL_cleanse(bytes, sizeof(bytes));
    return secret;
}

std::string api_key_line(std::string_view name, std::string_view tenant, std::string_view secret,
                         unsigned scopes, const std::optional<Uuid>& conversation) {
    std::string line = std::string(name) + " " + std::string(tenant) + " " +
                       hex_lower(sha256(secret)) + " " + scopes_string(scopes);
    if (conversation) {
        line += " " + std::string(kConversationPrefix) + typeid_encode("conv", *conversation);
    }
    return line;
}

}  // namespace wa

// API keys (SPEC §3.1 whatsapp_api_keys, §6.2 row 1, §7 scopes): the keys
// file, matching a presented bearer token by SHA-256, and new secrets for
// whatsapp-admin. Keys are never held in clear, only their digests.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/ids.hpp"
#include "base/result.hpp"

namespace wa {

// One bit each; a key's scopes are a bit set of these.
enum class Scope : unsigned {
    conversations_read = 1u << 0,  // messaging:conversations:read
    messages_read = 1u << 1,       // messaging:messages:read
    messages_send = 1u << 2,       // messaging:messages:send (every send, every dialect)
    events_stream = 1u << 3,       // events:stream (WebSocket/SSE)
};

// "*": every scope, also ones added later.
constexpr unsigned kAllScopes = ~0u;

// "messaging:messages:send" etc.
std::string_view scope_name(Scope s);

// "a,b,..." (or "*") -> bit set. Unknown or empty entries are errors
// ("invalid_scope"); repeating a scope is harmless.
Result<unsigned> parse_scopes(std::string_view list);

// Canonical text of a bit set: "*" for kAllScopes, else the names in a fixed
// order, comma-separated.
std::string scopes_string(unsigned scopes);

// 1-64 of [A-Za-z0-9_.-]: a tenant as whatsapp_number's tenant= and the keys
// file spell it.
bool valid_tenant_name(std::string_view s);

// Key names follow the same rule, so a line always splits on whitespace.
bool valid_key_name(std::string_view s);

// A conversation= limit (a key's, or a send's made with it): nullopt allows
// every conversation, else only that one.
inline bool conversation_allowed(const std::optional<Uuid>& limit, const Uuid& conv) {
    return !limit || *limit == conv;
}

struct ApiKey {
    std::string name;
    std::string tenant;
    std::array<unsigned char, 32> hash{};  // SHA-256 of the secret
    unsigned scopes = 0;                   // bit set of Scope
    std::optional<Uuid> conversation;      // conversation=conv_…: only that one

    bool allows(Scope s) const { return (scopes & static_cast<unsigned>(s)) != 0; }
    // True unless the key is limited to another conversation.
    bool allows_conversation(const Uuid& conv) const {
        return conversation_allowed(conversation, conv);
    }
};

// §6.2 row 1: missing_api_token 401 / invalid_api_token 401 / forbidden 403.
enum class KeyCheck { ok, missing, invalid, forbidden };

struct KeyAuth {
    KeyCheck check;
    const ApiKey* key;  // set for ok and forbidden (to name the key in logs)
};

// The parsed file; immutable, so the pointers it hands out live as long as it.
class ApiKeys {
public:
    const std::vector<ApiKey>& keys() const { return keys_; }

    // The key whose hash is SHA-256(secret), or null. Every configured hash is
    // compared in constant time with no early exit, so the time taken tells
    // neither whether nor where a key matched.
    const ApiKey* match(std::string_view presented_secret) const;

    // From an Authorization header value: missing when empty or not
    // "Bearer <token>" (scheme case-insensitive), invalid when no key
    // matches, forbidden when the key lacks `needed`, else ok.
    KeyAuth authorize(std::string_view authorization_header, Scope needed) const;

private:
    friend Result<ApiKeys> parse_api_keys(std::string_view text);
    std::vector<ApiKey> keys_;
};

// The file's text: one key per line
//   name tenant sha256hex scope[,scope...] [conversation=conv_ID]
// fields separated by spaces/tabs; blank lines and '#' comments (a field that
// starts with '#' comments out the rest of its line) are ignored. Any fault is
// Error{"invalid_api_keys", "line N: <problem>"}: missing or extra fields, a
// bad name or tenant, a hash that is not 64 lowercase hex, an unknown scope, a
// conversation that is not a conv_ TypeID, a repeated name or hash.
Result<ApiKeys> parse_api_keys(std::string_view text);

// The file's text without the line of the key named `name` (key revoke);
// every other line, comments and blank ones included, stays as it was. The
// text must parse (its error otherwise); "key_not_found" when no key has
// that name.
Result<std::string> without_api_key(std::string_view text, std::string_view name);

// A new secret: "wa_" + base64url (no padding) of 32 bytes from RAND_bytes,
// 46 characters. 256 bits make guessing hopeless, so one unsalted SHA-256 is
// enough to store it; the prefix makes leaked keys easy to grep and scan for,
// and base64url needs no quoting in headers or shells. Fails
// ("random_failed") only if OpenSSL's generator does: never a weak secret.
Result<std::string> generate_api_secret();

// The line for the keys file (no newline). Arguments are not checked here:
// validate with valid_key_name / valid_tenant_name / parse_scopes first.
std::string api_key_line(std::string_view name, std::string_view tenant, std::string_view secret,
                         unsigned scopes, const std::optional<Uuid>& conversation);

}  // namespace wa

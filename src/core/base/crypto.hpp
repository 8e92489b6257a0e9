// Signatures (OpenSSL): Meta's X-Hub-Signature-256 in, our event signatures out.
#pragma once

#include <string>
#include <string_view>

#include "base/result.hpp"

namespace wa {

// Raw 32-byte HMAC-SHA256.
std::string hmac_sha256(std::string_view key, std::string_view data);

// Raw 32-byte SHA-256 digest.
std::string sha256(std::string_view data);

// Raw 20-byte SHA-1 digest: only where a protocol fixes it (the WebSocket
// handshake's Sec-WebSocket-Accept, RFC 6455), never for security.
std::string sha1(std::string_view data);

std::string hex_lower(std::string_view bytes);
std::string base64_encode(std::string_view bytes);         // standard, padded
std::string base64url_encode(std::string_view bytes);      // URL alphabet, no padding
Result<std::string> base64_decode(std::string_view text);  // standard alphabet, padding optional
// URL alphabet, no padding, canonical (unused bits zero).
Result<std::string> base64url_decode(std::string_view text);

// Constant-time equality of two byte strings (length is not secret).
bool constant_time_equal(std::string_view a, std::string_view b);

// True when header is exactly "sha256=<64 hex>" (hex case-insensitive) and
// equals HMAC-SHA256(secret, body). Constant-time in the digest comparison.
bool verify_hub_signature(std::string_view secret, std::string_view body, std::string_view header);

// "sha256=<hex>" as Meta sends it (used by tools and tests).
std::string hub_signature(std::string_view secret, std::string_view body);

}  // namespace wa

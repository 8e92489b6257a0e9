// User text as Unicode: limits count code points, not bytes (SPEC §6.2);
// and input-derived text made safe for a log line.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace wa {

// True when s is well-formed UTF-8 (RFC 3629: no overlong forms, no
// surrogates, nothing beyond U+10FFFF, no truncated sequence).
bool utf8_valid(std::string_view s);

// Checks UTF-8 that arrives in pieces (a WebSocket text message, frame by
// frame): it fails at the first byte that no valid text can continue, so
// an invalid message is refused before the rest of it arrives.
class Utf8Validator {
public:
    // False from the first offending byte on (and for good).
    bool feed(std::string_view bytes);
    // Valid so far and not inside a sequence: the text may end here.
    bool complete() const { return ok_ && need_ == 0; }
    void reset() { *this = Utf8Validator(); }

private:
    int need_ = 0;                         // continuation bytes still expected
    unsigned char lo_ = 0x80, hi_ = 0xBF;  // the range of the next continuation byte
    bool ok_ = true;
};

// The longest prefix of s of at most max_bytes that does not cut a UTF-8
// sequence (s is expected to be valid).
std::string_view utf8_clip(std::string_view s, std::size_t max_bytes);

// Code points in UTF-8 text. Input is expected to be valid (the strict JSON
// parser guarantees it); a stray continuation byte counts as nothing.
std::size_t utf8_length(std::string_view s);

// True when s has nothing visible: every code point has Unicode's
// White_Space or Default_Ignorable_Code_Point property (ICU), e.g. spaces,
// NBSP, U+3000, and the invisible U+00AD, U+034F, U+180E, U+200B-200D,
// U+2060-2064, U+FEFF, variation selectors: sending those would deliver an
// empty-looking message. Empty is blank; malformed UTF-8 is not.
bool is_blank(std::string_view s);

// s for a log line: printable ASCII is kept, except \ and " which become
// \\ and \"; every other byte (controls, NUL, DEL, >= 0x80) becomes \xHH,
// so input can neither forge a line nor cut one short. Only the first
// max_bytes of s are written, then "...".
std::string log_escape(std::string_view s, std::size_t max_bytes = 256);

// s with anything token-shaped replaced by "[redacted]": a Meta access
// token ("EAA" and 20 or more letters and digits) and the credential
// after "Bearer " (kept: "Bearer [redacted]"). For text from outside, such
// as a Graph error message, that may echo a credential.
std::string redact_tokens(std::string_view s);

// application/x-www-form-urlencoded: + is a space, %XX a byte; nullopt
// for a bad %-escape.
std::optional<std::string> percent_decode(std::string_view s);

// The decoded value of the first pair of a query string ("a=1&b=2", no
// '?') whose decoded name is name; nullopt when there is none or its
// escapes are bad. A name without '=' has the value "".
std::optional<std::string> query_param(std::string_view args, std::string_view name);

}  // namespace wa

#include "text.hpp"

#include <cstdint>

namespace wa {

namespace {

bool is_continuation(unsigned char c) {
    return (c & 0xC0) == 0x80;
}

// Decodes the code point at s[i] and advances i. A malformed sequence
// yields U+FFFD for its first byte, which is not blank.
char32_t next_code_point(std::string_view s, std::size_t& i) {
    auto c = static_cast<unsigned char>(s[i++]);
    int extra = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
    if (c >= 0x80 && extra == 0) {
        return 0xFFFD;
    }
    char32_t cp = extra == 0 ? c : c & (0x3F >> extra);
    for (int k = 0; k < extra; k++) {
        if (i >= s.size() || !is_continuation(static_cast<unsigned char>(s[i]))) {
            return 0xFFFD;
        }
        cp = (cp << 6) | (static_cast<unsigned char>(s[i++]) & 0x3F);
    }
    return cp;
}

bool is_blank_code_point(char32_t c) {
    return (c >= 0x09 && c <= 0x0D) || c == 0x20 || c == 0x85 || c == 0xA0 || c == 0x1680
           || (c >= 0x2000 && c <= 0x200B) || c == 0x2028 || c == 0x2029 || c == 0x202F
           || c == 0x205F || c == 0x2060 || c == 0x3000 || c == 0xFEFF;
}

}  // namespace

std::size_t utf8_length(std::string_view s) {
    std::size_t n = 0;
    for (char c : s) {
        n += is_continuation(static_cast<unsigned char>(c)) ? 0 : 1;
    }
    return n;
}

bool is_blank(std::string_view s) {
    for (std::size_t i = 0; i < s.size();) {
        if (!is_blank_code_point(next_code_point(s, i))) {
            return false;
        }
    }
    return true;
}

}  // namespace wa

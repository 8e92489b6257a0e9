// ASCII character classes for protocol text (hex digests, ids, config
// fields): locale-free, unlike <cctype>, and the one definition of each.
#pragma once

#include <string_view>

namespace wa {

constexpr bool is_digit(char c) { return c >= '0' && c <= '9'; }

constexpr bool is_alnum(char c) {
    return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

constexpr char ascii_lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; }
// Printable ASCII, space included.
constexpr bool is_printable(char c) { return c >= 0x20 && c < 0x7f; }
// Non-empty and nothing but ASCII digits.
constexpr bool all_digits(std::string_view s) {
    if (s.empty()) return false;
    for (char c : s) {
        if (!is_digit(c)) return false;
    }
    return true;
}

// The value of a hex digit (either case), or -1.
constexpr int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

// Space, tab, CR, LF: the blanks around fields of a line or a file.
constexpr bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

// C's isspace() in the "C" locale: is_space plus vertical tab and form
// feed, for text from outside where any of them separates words.
constexpr bool is_c_space(char c) { return is_space(c) || c == '\v' || c == '\f'; }

// s without the is_space characters at its end.
constexpr std::string_view trim_trailing_space(std::string_view s) {
    while (!s.empty() && is_space(s.back()))
        s.remove_suffix(1);
    return s;
}

// s without the is_space characters at either end.
constexpr std::string_view trim_space(std::string_view s) {
    while (!s.empty() && is_space(s.front()))
        s.remove_prefix(1);
    return trim_trailing_space(s);
}

}  // namespace wa

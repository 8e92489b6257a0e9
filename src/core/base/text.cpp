#include "base/text.hpp"

#include <cstdint>

#include <unicode/uchar.h>

#include "base/chars.hpp"

namespace wa {

namespace {

constexpr char32_t kMalformed = 0xFFFD;  // not blank

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Decodes the code point at s[i] and advances i. A malformed sequence
// (truncated, overlong, a surrogate, beyond U+10FFFF) yields U+FFFD, so an
// overlong space cannot pass for blank.
char32_t next_code_point(std::string_view s, std::size_t& i) {
    static constexpr char32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    auto c = static_cast<unsigned char>(s[i++]);
    if (c < 0x80) {
        return c;
    }
    int extra = c >= 0xF8 ? 0 : c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
    if (extra == 0) {
        return kMalformed;
    }
    char32_t cp = c & (0x3F >> extra);
    for (int k = 0; k < extra; k++) {
        if (i >= s.size() || !is_continuation(static_cast<unsigned char>(s[i]))) {
            return kMalformed;
        }
        cp = (cp << 6) | (static_cast<unsigned char>(s[i++]) & 0x3F);
    }
    if (cp < kMin[extra] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return kMalformed;
    }
    return cp;
}

bool is_blank_code_point(char32_t c) {
    auto u = static_cast<UChar32>(c);
    return u_hasBinaryProperty(u, UCHAR_WHITE_SPACE) ||
           u_hasBinaryProperty(u, UCHAR_DEFAULT_IGNORABLE_CODE_POINT);
}

// Length of the Meta access token at s[i] ("EAA" + 20 or more
// alphanumerics), or 0.
std::size_t meta_token_at(std::string_view s, std::size_t i) {
    if (s.compare(i, 3, "EAA") != 0) {
        return 0;
    }
    std::size_t end = i + 3;
    while (end < s.size() && is_alnum(s[end])) {
        end++;
    }
    return end - i - 3 >= 20 ? end - i : 0;
}

// At a word "Bearer" (any case) followed by white space and a credential:
// where the credential starts and ends.
bool bearer_at(std::string_view s, std::size_t i, std::size_t& start, std::size_t& end) {
    constexpr std::string_view kWord = "bearer";
    if (i > 0 && is_alnum(s[i - 1])) {
        return false;
    }
    if (s.size() - i <= kWord.size()) {
        return false;
    }
    for (std::size_t k = 0; k < kWord.size(); k++) {
        if ((s[i + k] | 0x20) != kWord[k]) {
            return false;
        }
    }
    start = i + kWord.size();
    if (!is_c_space(s[start])) {
        return false;
    }
    while (start < s.size() && is_c_space(s[start])) {
        start++;
    }
    end = start;
    while (end < s.size() && !is_c_space(s[end])) {
        end++;
    }
    return end > start;
}

}  // namespace

bool Utf8Validator::feed(std::string_view bytes) {
    for (char ch : bytes) {
        if (!ok_) return false;
        auto c = static_cast<unsigned char>(ch);
        if (need_ > 0) {
            ok_ = c >= lo_ && c <= hi_;
            lo_ = 0x80;
            hi_ = 0xBF;
            need_--;
            continue;
        }
        if (c < 0x80) continue;
        // The lead byte says how many follow and, for E0, ED, F0 and F4, the
        // range of the first that keeps the code point minimal, below
        // U+10FFFF and outside the surrogates (RFC 3629 section 4).
        if (c >= 0xC2 && c <= 0xDF) {
            need_ = 1;
        } else if (c >= 0xE0 && c <= 0xEF) {
            need_ = 2;
            if (c == 0xE0) lo_ = 0xA0;
            if (c == 0xED) hi_ = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            need_ = 3;
            if (c == 0xF0) lo_ = 0x90;
            if (c == 0xF4) hi_ = 0x8F;
        } else {
            ok_ = false;
        }
    }
    return ok_;
}

bool utf8_valid(std::string_view s) {
    Utf8Validator v;
    return v.feed(s) && v.complete();
}

std::string_view utf8_clip(std::string_view s, std::size_t max_bytes) {
    if (s.size() <= max_bytes) {
        return s;
    }
    std::size_t n = max_bytes;
    while (n > 0 && is_continuation(static_cast<unsigned char>(s[n]))) {
        n--;
    }
    return s.substr(0, n);
}

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

std::string log_escape(std::string_view s, std::size_t max_bytes) {
    static constexpr char kHex[] = "0123456789abcdef";
    bool cut = s.size() > max_bytes;
    if (cut) {
        s = s.substr(0, max_bytes);
    }
    std::string out;
    out.reserve(s.size() + 3);
    for (char ch : s) {
        auto c = static_cast<unsigned char>(ch);
        if (c == '\\' || c == '"') {
            out += '\\';
            out += ch;
        } else if (c >= 0x20 && c <= 0x7E) {
            out += ch;
        } else {
            out += "\\x";
            out += kHex[c >> 4];
            out += kHex[c & 0x0F];
        }
    }
    if (cut) {
        out += "...";
    }
    return out;
}

std::string redact_tokens(std::string_view s) {
    constexpr std::string_view kRedacted = "[redacted]";
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size();) {
        std::size_t start = 0;
        std::size_t end = 0;
        if (std::size_t n = meta_token_at(s, i)) {
            out += kRedacted;
            i += n;
        } else if (bearer_at(s, i, start, end)) {
            out.append(s.substr(i, start - i));
            out += kRedacted;
            i = end;
        } else {
            out += s[i++];
        }
    }
    return out;
}

std::optional<std::string> percent_decode(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); i++) {
        char c = s[i];
        if (c == '+') {
            out.push_back(' ');
        } else if (c == '%') {
            if (i + 2 >= s.size()) return std::nullopt;
            int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            out.push_back(static_cast<char>(hi * 16 + lo));
            i += 2;
        } else {
            out.push_back(c);
        }
    }
    return out;
}

std::optional<std::string> query_param(std::string_view args, std::string_view name) {
    while (!args.empty()) {
        std::size_t amp = args.find('&');
        std::string_view pair = args.substr(0, amp);
        args = amp == std::string_view::npos ? std::string_view() : args.substr(amp + 1);
        std::size_t eq = pair.find('=');
        auto key = percent_decode(pair.substr(0, eq));
        if (!key || *key != name) continue;
        return percent_decode(eq == std::string_view::npos ? std::string_view()
                                                           : pair.substr(eq + 1));
    }
    return std::nullopt;
}

}  // namespace wa

// text.hpp: blank text by Unicode's properties (SPEC §6.2 row 3), and the
// escaping and redaction that keep input from shaping log lines.
#include <string>

#include <gtest/gtest.h>

#include "base/text.hpp"

namespace {

using namespace std::string_literals;

// The invisible code points a hand list missed: each alone is blank.
TEST(Blank, DefaultIgnorableCodePoints) {
    for (const char* s : {"\xC2\xAD",           // U+00AD soft hyphen
                          "\xCD\x8F",           // U+034F combining grapheme joiner
                          "\xE1\xA0\x8E",       // U+180E Mongolian vowel separator
                          "\xE2\x80\x8C",       // U+200C zero width non-joiner
                          "\xE2\x80\x8D",       // U+200D zero width joiner
                          "\xE2\x81\xA1",       // U+2061 function application
                          "\xE2\x80\x8B",       // U+200B zero width space
                          "\xE2\x81\xA0",       // U+2060 word joiner
                          "\xEF\xBB\xBF",       // U+FEFF
                          "\xEF\xB8\x8F",       // U+FE0F variation selector-16
                          "\xE3\x85\xA4",       // U+3164 Hangul filler
                          "\xF3\xA0\x80\x81"})  // U+E0001 language tag
    {
        EXPECT_TRUE(wa::is_blank(s)) << s;
    }
}

TEST(Blank, WhiteSpace) {
    for (const char* s : {"", " ", "\t\n\v\f\r", "\xC2\x85", "\xC2\xA0", "\xE1\x9A\x80",
                          "\xE2\x80\x80", "\xE2\x80\x8A", "\xE2\x80\xA8\xE2\x80\xA9",
                          "\xE2\x80\xAF", "\xE2\x81\x9F", "\xE3\x80\x80"}) {
        EXPECT_TRUE(wa::is_blank(s)) << s;
    }
}

TEST(Blank, MixesOfSpacesAndIgnorables) {
    EXPECT_TRUE(wa::is_blank("\xE2\x80\x8C\xE2\x80\x8D"));
    EXPECT_TRUE(wa::is_blank(" \xE2\x80\x8C \xC2\xAD\t\xCD\x8F\n"));
    EXPECT_TRUE(wa::is_blank("\xC2\xA0\xE2\x81\xA1\xE3\x80\x80\xE1\xA0\x8E "));
}

TEST(Blank, VisibleTextIsNot) {
    EXPECT_FALSE(wa::is_blank("a"));
    EXPECT_FALSE(
        wa::is_blank(" \xE2\x80\x8D"
                     "a\xE2\x80\x8C "));
    EXPECT_FALSE(wa::is_blank("\xE2\x9D\xA4\xEF\xB8\x8F"));      // ❤️ = U+2764 U+FE0F
    EXPECT_FALSE(wa::is_blank("\xE2\x80\x8D\xF0\x9F\x98\x80"));  // ZWJ, U+1F600
    // ZWJ sequence 👩‍💻: the joiner is ignorable, the people are not.
    EXPECT_FALSE(wa::is_blank("\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB"));
    EXPECT_FALSE(wa::is_blank("\xC3\xA9"));      // é
    EXPECT_FALSE(wa::is_blank("\xE3\x81\x82"));  // あ
    EXPECT_FALSE(wa::is_blank("."));
    EXPECT_FALSE(wa::is_blank("\x00"s));  // a control, neither space nor ignorable
    EXPECT_FALSE(wa::is_blank("\x1F"));
}

TEST(Blank, MalformedUtf8IsNot) {
    EXPECT_FALSE(wa::is_blank("\xC2"));              // truncated
    EXPECT_FALSE(wa::is_blank("\xE2\x80"));          // truncated U+200x
    EXPECT_FALSE(wa::is_blank("\x80"));              // stray continuation
    EXPECT_FALSE(wa::is_blank("\xC0\xA0"));          // overlong U+0020
    EXPECT_FALSE(wa::is_blank("\xE0\x80\xA0"));      // overlong U+0020
    EXPECT_FALSE(wa::is_blank("\xF0\x80\x80\xA0"));  // overlong U+0020
    EXPECT_FALSE(wa::is_blank("\xED\xA0\x80"));      // surrogate U+D800
    EXPECT_FALSE(wa::is_blank("\xF4\x90\x80\x80"));  // beyond U+10FFFF
    EXPECT_FALSE(wa::is_blank("\xF8\x88\x80\x80\x80"));
    EXPECT_FALSE(wa::is_blank("\xFF"));
    EXPECT_FALSE(wa::is_blank(" \xE2\x80\x8C\xC2"));  // blank, then truncated
}

TEST(LogEscape, PrintableAsciiKept) {
    EXPECT_EQ(wa::log_escape(""), "");
    EXPECT_EQ(wa::log_escape("106540352242922"), "106540352242922");
    EXPECT_EQ(wa::log_escape(" azAZ09~!#$%&'()*+,-./:;<=>?@[]^_`{|}"),
              " azAZ09~!#$%&'()*+,-./:;<=>?@[]^_`{|}");
}

TEST(LogEscape, BackslashAndQuoteEscaped) {
    EXPECT_EQ(wa::log_escape("a\\b\"c"), "a\\\\b\\\"c");
    // Already escaped-looking input stays distinguishable from an escape.
    EXPECT_EQ(wa::log_escape("\\x0a"), "\\\\x0a");
}

TEST(LogEscape, EveryOtherByteAsHex) {
    EXPECT_EQ(wa::log_escape("999\n2026/12/01 00:00:00 [alert] 1#1: forged"),
              "999\\x0a2026/12/01 00:00:00 [alert] 1#1: forged");
    EXPECT_EQ(wa::log_escape("999\0tail"s), "999\\x00tail");
    EXPECT_EQ(wa::log_escape("\r\t\x1f\x7f"), "\\x0d\\x09\\x1f\\x7f");
    EXPECT_EQ(wa::log_escape("\xC3\xA9\xFF"), "\\xc3\\xa9\\xff");
}

TEST(LogEscape, LongInputCut) {
    EXPECT_EQ(wa::log_escape(std::string(256, 'a')), std::string(256, 'a'));
    EXPECT_EQ(wa::log_escape(std::string(257, 'a')), std::string(256, 'a') + "...");
    EXPECT_EQ(wa::log_escape("abcdef", 3), "abc...");
    EXPECT_EQ(wa::log_escape("\n\n\n\n", 2), "\\x0a\\x0a...");
    EXPECT_EQ(wa::log_escape("abc", 0), "...");
}

TEST(RedactTokens, MetaAccessTokens) {
    const std::string token = "EAAGm0PX4ZCpsBAK7ZBZAx5ZBd3s2ZAqpZCqZA3Qx";
    EXPECT_EQ(wa::redact_tokens("Invalid OAuth access token " + token + "."),
              "Invalid OAuth access token [redacted].");
    EXPECT_EQ(wa::redact_tokens("token=" + token + "&x=1"), "token=[redacted]&x=1");
    EXPECT_EQ(wa::redact_tokens(token + token), "[redacted]");
    EXPECT_EQ(wa::redact_tokens("a " + token + ", b " + token), "a [redacted], b [redacted]");
    // 20 characters after EAA is a token; 19 is not shaped like one.
    EXPECT_EQ(wa::redact_tokens("EAA" + std::string(20, 'x')), "[redacted]");
    EXPECT_EQ(wa::redact_tokens("EAA" + std::string(19, 'x')), "EAA" + std::string(19, 'x'));
    EXPECT_EQ(wa::redact_tokens("EAA"), "EAA");
    EXPECT_EQ(wa::redact_tokens("eaa" + std::string(30, 'x')), "eaa" + std::string(30, 'x'));
}

TEST(RedactTokens, BearerCredentials) {
    EXPECT_EQ(wa::redact_tokens("Authorization: Bearer abc.def-1 rejected"),
              "Authorization: Bearer [redacted] rejected");
    EXPECT_EQ(wa::redact_tokens("bearer\tEAATESTTOKEN0123456789"), "bearer\t[redacted]");
    EXPECT_EQ(wa::redact_tokens("BEARER  x"), "BEARER  [redacted]");
    EXPECT_EQ(wa::redact_tokens("Bearer"), "Bearer");
    EXPECT_EQ(wa::redact_tokens("Bearer   "), "Bearer   ");
    EXPECT_EQ(wa::redact_tokens("Bearers of news"), "Bearers of news");
    EXPECT_EQ(wa::redact_tokens("NoBearer x"), "NoBearer x");
}

TEST(RedactTokens, OrdinaryTextUnchanged) {
    for (const char* s : {"", "(#131047) Re-engagement message", "(#100) Invalid parameter",
                          "EAA is a prefix", "wamid.HBgLMTY1MDU1"}) {
        EXPECT_EQ(wa::redact_tokens(s), s);
    }
}

// RFC 3629 and the Unicode 15 table 3-7 of well-formed byte sequences.
TEST(Utf8, ValidText) {
    for (const char* s : {"", "plain ASCII", "caf\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80",
                          "\xC2\x80", "\xDF\xBF", "\xE0\xA0\x80", "\xED\x9F\xBF", "\xEE\x80\x80",
                          "\xEF\xBF\xBF", "\xF0\x90\x80\x80", "\xF4\x8F\xBF\xBF"}) {
        EXPECT_TRUE(wa::utf8_valid(s)) << s;
    }
    EXPECT_TRUE(wa::utf8_valid(std::string("a\0b", 3)));
}

TEST(Utf8, InvalidText) {
    for (const char* s : {"\x80",              // a lone continuation byte
                          "\xC0\xAF",          // overlong '/'
                          "\xC1\xBF",          // overlong
                          "\xE0\x9F\xBF",      // overlong three bytes
                          "\xED\xA0\x80",      // U+D800, a surrogate
                          "\xED\xBF\xBF",      // U+DFFF
                          "\xF0\x8F\xBF\xBF",  // overlong four bytes
                          "\xF4\x90\x80\x80",  // U+110000
                          "\xF5\x80\x80\x80",  // beyond any code point
                          "\xFF", "\xFE",      // never in UTF-8
                          "\xC3",              // truncated
                          "\xE2\x82",          // truncated
                          "\xF0\x9F\x98",      // truncated
                          "a\xC3(", "\xE2\x28\xA1"}) {
        EXPECT_FALSE(wa::utf8_valid(s)) << wa::log_escape(s);
    }
}

TEST(Utf8, ValidatorInPiecesFailsAtTheFirstBadByte) {
    wa::Utf8Validator v;
    EXPECT_TRUE(v.feed("ab\xF0\x9F"));
    EXPECT_FALSE(v.complete());  // inside the emoji
    EXPECT_TRUE(v.feed("\x98"));
    EXPECT_TRUE(v.feed("\x80"));
    EXPECT_TRUE(v.complete());
    // ED A0 can begin no valid text: refused before the third byte comes.
    EXPECT_FALSE(v.feed("\xED\xA0"));
    EXPECT_FALSE(v.complete());
    EXPECT_FALSE(v.feed("ok"));  // stays refused
    v.reset();
    EXPECT_TRUE(v.feed("ok"));
    EXPECT_TRUE(v.complete());
}

TEST(Utf8, ClipAtABoundary) {
    EXPECT_EQ(wa::utf8_clip("abc", 5), "abc");
    EXPECT_EQ(wa::utf8_clip("abc", 2), "ab");
    EXPECT_EQ(wa::utf8_clip("a\xE2\x82\xAC", 3), "a");  // would cut the euro sign
    EXPECT_EQ(wa::utf8_clip("a\xE2\x82\xAC", 4), "a\xE2\x82\xAC");
    EXPECT_EQ(wa::utf8_clip("\xF0\x9F\x98\x80z", 2), "");
    EXPECT_EQ(wa::utf8_clip("", 0), "");
}

}  // namespace

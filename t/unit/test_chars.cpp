// chars.hpp: the ASCII classes every parser shares (hex digests, ids, phone
// digits, config fields), checked against <cctype> in the "C" locale.
#include <cctype>
#include <string_view>

#include <gtest/gtest.h>

#include "base/chars.hpp"

namespace {

using namespace std::string_view_literals;

// Every byte, against the C library's answer in the "C" locale.
TEST(Chars, ClassesAgreeWithCctype) {
    for (int b = 0; b < 256; b++) {
        char c = static_cast<char>(b);
        EXPECT_EQ(wa::is_digit(c), std::isdigit(b) != 0) << b;
        EXPECT_EQ(wa::is_alnum(c), std::isalnum(b) != 0) << b;
        EXPECT_EQ(wa::is_c_space(c), std::isspace(b) != 0) << b;
        EXPECT_EQ(wa::hex_value(c) >= 0, std::isxdigit(b) != 0) << b;
    }
}

TEST(Chars, HexValueEitherCase) {
    EXPECT_EQ(wa::hex_value('0'), 0);
    EXPECT_EQ(wa::hex_value('9'), 9);
    EXPECT_EQ(wa::hex_value('a'), 10);
    EXPECT_EQ(wa::hex_value('F'), 15);
    EXPECT_EQ(wa::hex_value('g'), -1);
    EXPECT_EQ(wa::hex_value('\0'), -1);
}

// The blanks of a line or a file: not vertical tab or form feed.
TEST(Chars, IsSpaceIsTheLineBlanks) {
    for (char c : " \t\r\n"sv)
        EXPECT_TRUE(wa::is_space(c)) << int(c);
    for (char c : "\v\f\0x"sv)
        EXPECT_FALSE(wa::is_space(c)) << int(c);
}

TEST(Chars, AllDigitsIsNonEmpty) {
    EXPECT_TRUE(wa::all_digits("0123456789"));
    EXPECT_FALSE(wa::all_digits(""));
    EXPECT_FALSE(wa::all_digits("12a"));
    EXPECT_FALSE(wa::all_digits("+1"));
    EXPECT_FALSE(wa::all_digits("1 "));
}

TEST(Chars, Trim) {
    EXPECT_EQ(wa::trim_space(" \t a b \r\n"), "a b");
    EXPECT_EQ(wa::trim_trailing_space(" a \n"), " a");
    EXPECT_EQ(wa::trim_space(" \n\t"), "");
    EXPECT_EQ(wa::trim_space(""), "");
    EXPECT_EQ(wa::trim_space("\va\f"), "\va\f");  // not line blanks
}

// Usable where the value must be known at compile time.
static_assert(wa::hex_value('c') == 12);
static_assert(wa::all_digits("42"));
static_assert(wa::trim_space("  x ") == "x");

}  // namespace

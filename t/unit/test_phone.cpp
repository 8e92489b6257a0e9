// E.164 checks (canonical form, libphonenumber possibility) and wa_id input.
#include <gtest/gtest.h>

#include "base/phone.hpp"

namespace {

TEST(Phone, CanonicalE164) {
    for (const char* s : {"+1", "+33612345678", "+14155552671", "+123456789012345"}) {
        EXPECT_TRUE(wa::is_canonical_e164(s)) << s;
    }
    for (const char* s :
         {"", "+", "1", "33612345678", "+0123", "+1234567890123456", "+33 6 12 34 56 78", "+33abc",
          "++33612345678", " +33612345678", "+33612345678 ", "+33-612345678", "+33612345678\n"}) {
        EXPECT_FALSE(wa::is_canonical_e164(s)) << '"' << s << '"';
    }
}

TEST(Phone, PossibleAccepted) {
    for (const char* s : {"+33612345678", "+14155552671", "+2348012345678", "+15550783881"}) {
        EXPECT_TRUE(wa::is_possible_e164(s)) << s;
    }
}

TEST(Phone, PossibleRejected) {
    for (const char* s : {"+3361234",           // too short for France
                          "+999123456789",      // unassigned country code
                          "33612345678",        // no '+'
                          "+33 6 12 34 56 78",  // not canonical
                          "+33abc", "", "+", "+0612345678", "+336123456789012"}) {
        EXPECT_FALSE(wa::is_possible_e164(s)) << '"' << s << '"';
    }
}

TEST(Phone, NormalizeWaId) {
    auto a = wa::normalize_wa_id("16505551234");
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(*a, "+16505551234");

    auto b = wa::normalize_wa_id("+16505551234");
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(*b, "+16505551234");

    auto c = wa::normalize_wa_id("1");
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(*c, "+1");

    auto d = wa::normalize_wa_id("123456789012345");
    ASSERT_TRUE(d.ok());
    EXPECT_EQ(*d, "+123456789012345");
}

TEST(Phone, NormalizeWaIdRejects) {
    for (const char* s :
         {"", "+", "++16505551234", "1234567890123456", "+1 650 555 1234", "1650555123a",
          "-16505551234", "016505551234", " 16505551234", "16505551234 "}) {
        auto r = wa::normalize_wa_id(s);
        ASSERT_FALSE(r.ok()) << '"' << s << '"';
        EXPECT_EQ(r.error().code, "invalid_phone_number");
        EXPECT_FALSE(r.error().message.empty());
    }
}

TEST(Phone, NormalizedIsCanonical) {
    auto r = wa::normalize_wa_id("2348012345678");
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(wa::is_canonical_e164(*r));
    EXPECT_TRUE(wa::is_possible_e164(*r));
}

}  // namespace

// Verdicts are cached per thread: the cached answer must be the computed
// one, also after the cache has been filled and cleared many times.
TEST(PhonePossible, CachedVerdictsStayRightThroughChurn) {
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < 10000; i++) {
            (void)wa::is_possible_e164("+3361" + std::to_string(1000000 + i));
        }
        EXPECT_TRUE(wa::is_possible_e164("+33612345678"));
        EXPECT_FALSE(wa::is_possible_e164("+3361234"));
        EXPECT_FALSE(wa::is_possible_e164("+999123456789"));
        EXPECT_TRUE(wa::is_possible_e164("+15550783881"));
    }
}

// The two business numbers the ingest tests route on (two tenants).
#pragma once

#include <gtest/gtest.h>

#include "domain/numbers.hpp"

namespace wa::unit {

inline void add_test_numbers(NumberDirectory& numbers) {
    NumberConfig a;
    a.e164 = "+14155551234";
    a.phone_number_id = "111";
    a.tenant = "acme";
    a.callback = "https://acme.example.com/hook";
    NumberConfig b;
    b.e164 = "+442071234567";
    b.phone_number_id = "222";
    b.tenant = "globex";
    b.callback = "https://globex.example.com/hook";
    ASSERT_TRUE(numbers.add(a).ok());
    ASSERT_TRUE(numbers.add(b).ok());
}

}  // namespace wa::unit

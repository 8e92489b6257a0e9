// libFuzzer target: normalize_wa_id, is_canonical_e164, is_possible_e164
// (phone.hpp; the last one runs libphonenumber on the input).
// normalize_wa_id's output is canonical E.164 carrying the same digits;
// canonical input normalises to itself; a possible number is canonical.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "base/phone.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view s(reinterpret_cast<const char*>(data), size);

    auto n = wa::normalize_wa_id(s);
    if (n) {
        FUZZ_CHECK(wa::is_canonical_e164(*n));
        std::string_view digits = s.starts_with('+') ? s.substr(1) : s;
        FUZZ_CHECK(std::string_view(*n).substr(1) == digits);
    } else {
        FUZZ_CHECK(n.error().code == "invalid_phone_number");
    }

    bool canonical = wa::is_canonical_e164(s);
    if (canonical) {
        FUZZ_CHECK(n.ok() && *n == s);
    }
    if (wa::is_possible_e164(s)) {
        FUZZ_CHECK(canonical);
    }
    return 0;
}

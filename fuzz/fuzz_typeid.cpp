// libFuzzer target: typeid_decode and uuid_from_string (ids.hpp). Every
// accepted TypeID is in canonical form: typeid_encode(decode(x)) == x.
// An accepted UUID text prints back as itself, up to letter case.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "base/ids.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view s(reinterpret_cast<const char*>(data), size);

    auto t = wa::typeid_decode(s);
    if (t) {
        FUZZ_CHECK(wa::typeid_prefix_valid(t->prefix));
        FUZZ_CHECK(wa::typeid_encode(t->prefix, t->uuid) == s);
        auto as = wa::typeid_decode_as(t->prefix, s);
        FUZZ_CHECK(as.ok() && *as == t->uuid);
    } else {
        FUZZ_CHECK(t.error().code == "invalid_typeid");
        FUZZ_CHECK(!wa::typeid_decode_as("im", s).ok());
    }

    auto u = wa::uuid_from_string(s);
    if (u) {
        FUZZ_CHECK(wa::uuid_to_string(*u) == fuzz_lower(s));
        // Any UUID encodes to a TypeID that decodes back to it.
        auto back = wa::typeid_decode_as("conv", wa::typeid_encode("conv", *u));
        FUZZ_CHECK(back.ok() && *back == *u);
    }
    return 0;
}

// TypeID (jetify spec v0.3.0) over UUIDv7: im_, conv_, evt_, tx_ ids.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace wa {

using Uuid = std::array<std::uint8_t, 16>;

// A new UUIDv7: 48-bit Unix ms timestamp, version 7, RFC variant; random bits
// from OpenSSL (buffered per thread, never shared across fork()). Within one
// process ids are strictly increasing, also within the same millisecond
// (rand_a is used as a counter).
Uuid uuid_v7(std::int64_t unix_ms);
Uuid uuid_v7_now();

std::string uuid_to_string(const Uuid& u);  // 8-4-4-4-12 lowercase hex
Result<Uuid> uuid_from_string(std::string_view s);

// True when prefix matches ^([a-z]([a-z_]{0,61}[a-z])?)?$ (empty is valid).
bool typeid_prefix_valid(std::string_view prefix);

// "prefix_<26 base32>" (or just the suffix when prefix is empty).
std::string typeid_encode(std::string_view prefix, const Uuid& u);

struct TypeId {
    std::string prefix;
    Uuid uuid;
};
// Strict decode per spec: any malformed input is an error (code "invalid_typeid").
Result<TypeId> typeid_decode(std::string_view s);

// Decode and require a given prefix (any UUID version accepted).
Result<Uuid> typeid_decode_as(std::string_view prefix, std::string_view s);

}  // namespace wa

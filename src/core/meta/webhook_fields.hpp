// Internal to src/core/meta/webhook*.cpp: the typed member getters every
// decoder of Meta's webhook uses. Each error is "invalid_payload" with the
// JSON path of the field, e.g. "entry[0].changes[1].value must be an object".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/json.hpp"
#include "base/result.hpp"

namespace wa::webhook_detail {

using rapidjson::SizeType;
using rapidjson::Value;
using Writer = JsonWriter;

enum class Kind { object, array, string, number, integer, boolean };
enum class Need { optional, required };

// "invalid_payload": "<path> <problem>".
Error bad(const std::string& path, std::string_view problem);

// path.key, and path[i]: the JSON path of a member, of an element.
std::string join(const std::string& path, std::string_view key);
std::string at(const std::string& path, std::size_t i);

// A string value's bytes.
std::string_view sv(const Value& v);

// The member of the wanted kind; nullptr when absent and optional.
Result<const Value*> get(const Value& obj, const std::string& path, std::string_view key, Kind kind,
                         Need need);

// A string member copied to out ("" when absent and optional).
Result<void> get_string(const Value& obj, const std::string& path, std::string_view key, Need need,
                        std::string& out);

// A required string member that must not be empty.
Result<void> get_nonempty(const Value& obj, const std::string& path, std::string_view key,
                          std::string& out);

// Meta sends Unix seconds as a string of digits.
Result<void> get_timestamp(const Value& obj, const std::string& path, std::int64_t& out);

}  // namespace wa::webhook_detail

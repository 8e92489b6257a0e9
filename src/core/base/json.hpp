// Strict JSON parsing over RapidJSON: UTF-8 validated, duplicate keys and
// excessive nesting rejected, every error a value with a path-free message.
#pragma once

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "base/result.hpp"

namespace wa {

struct JsonLimits {
    std::size_t max_depth = 64;  // objects + arrays nested
    std::size_t max_bytes = 3 * 1024 * 1024;
};

// A document whose values start in a buffer of its own (on the stack, where
// it is declared): RapidJSON's default first chunk is 64 KiB from malloc,
// and glibc frees a chunk that size by consolidating all its free lists, on
// every request. Larger documents go on in 16 KiB chunks.
struct JsonDocumentBuffer {
    static constexpr std::size_t kBytes = 4096;
    alignas(std::max_align_t) char bytes[kBytes];
    rapidjson::MemoryPoolAllocator<> pool{bytes, kBytes, 16 * 1024};
};
class JsonDocument : private JsonDocumentBuffer, public rapidjson::Document {
public:
    JsonDocument() : rapidjson::Document(&pool) {}
    JsonDocument(const JsonDocument&) = delete;
    JsonDocument& operator=(const JsonDocument&) = delete;
};

// Parses the whole text into doc. Errors (code "invalid_json"):
// syntax errors (with byte offset), invalid UTF-8 or lone surrogates,
// duplicate keys in one object, nesting deeper than max_depth, trailing
// data, input larger than max_bytes.
Result<void> parse_json_strict(std::string_view text, rapidjson::Document& doc,
                               const JsonLimits& limits = {});

// Compact serialisation of a value (UTF-8 output, no escaping of non-ASCII).
std::string to_json(const rapidjson::Value& v);

// Typed member lookup helpers: nullptr when absent; an error when present
// with the wrong type is the caller's decision (see webhook.cpp).
const rapidjson::Value* member(const rapidjson::Value& obj, std::string_view key);

// Writing JSON: every encoder of the core uses this writer. RapidJSON's own
// String() reserves six bytes per input byte and tests every byte against
// its escape table as it copies; a string with nothing to escape (the usual
// id, number or URL) is copied whole instead, the same bytes either way.
class JsonWriter : public rapidjson::Writer<rapidjson::StringBuffer> {
public:
    using Base = rapidjson::Writer<rapidjson::StringBuffer>;
    using Base::Base;
    bool String(const char* s, rapidjson::SizeType n, bool copy = false);
    bool String(const char* s) {
        return String(s, static_cast<rapidjson::SizeType>(std::strlen(s)));
    }
    bool Key(const char* s, rapidjson::SizeType n, bool copy = false) { return String(s, n, copy); }
    bool Key(const char* s) { return String(s); }
};

// "key":"value"
void json_put(JsonWriter& w, std::string_view key, std::string_view value);

// obj[key] = value (a copy), replacing the member in place or adding it
// last. obj must be an object. (HasMember/operator[] inside: rapidjson
// 1.1's mutable iterators compare ambiguously under C++20.)
void set_string_member(rapidjson::Value& obj, std::string_view key, std::string_view value,
                       rapidjson::Document::AllocatorType& alloc);

}  // namespace wa

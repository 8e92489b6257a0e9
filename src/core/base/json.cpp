// Strict JSON parsing: RapidJSON's iterative reader feeds the document
// through a guard that enforces depth, duplicate keys and surrogates.

#include "base/json.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "base/text.hpp"

namespace wa {

namespace {

// Iterative: no recursion, so hostile nesting cannot exhaust the C stack.
// No kParseStopWhenDoneFlag: anything after the root is an error.
// Numbers arrive as text and are converted by convert_number():
// RapidJSON 1.1.0's full-precision strtod reads out of bounds on
// "0.<hundreds of zeros>1" (found by fuzz/fuzz_webhook.cpp), and
// std::from_chars is exact (correctly rounded) anyway.
constexpr unsigned kStrictFlags = rapidjson::kParseValidateEncodingFlag |
                                  rapidjson::kParseIterativeFlag |
                                  rapidjson::kParseNumbersAsStringsFlag;

// Input of ASCII alone is valid UTF-8 whatever it holds, so the reader's
// per-character validation (a third of a small body's parse) is skipped for
// it. Escapes are decoded alike either way; has_surrogate judges them.
constexpr unsigned kStrictAsciiFlags = kStrictFlags & ~rapidjson::kParseValidateEncodingFlag;

bool is_ascii(std::string_view text) {
    std::uint64_t high = 0;
    std::size_t i = 0;
    for (; i + 8 <= text.size(); i += 8) {
        std::uint64_t word;
        std::memcpy(&word, text.data() + i, 8);
        high |= word;
    }
    for (; i < text.size(); i++) {
        high |= static_cast<unsigned char>(text[i]);
    }
    return (high & 0x8080808080808080ull) == 0;
}

constexpr std::size_t kMaxKeyInMessage = 64;

using SizeType = rapidjson::SizeType;

std::string quote_json(std::string_view s) {
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    w.String(s.data(), static_cast<SizeType>(s.size()));
    return std::string(buf.GetString(), buf.GetSize());
}

// RapidJSON 1.1.0 accepts a lone low surrogate escape (\udc00-\udfff) and
// writes it as CESU bytes ED B0..BF xx. Raw input bytes like that are
// already rejected by encoding validation, so such bytes in a decoded
// string can only come from a lone escape.
bool has_surrogate(const char* s, SizeType len) {
    for (SizeType i = 0; i + 1 < len; i++) {
        if (static_cast<unsigned char>(s[i]) == 0xED &&
            static_cast<unsigned char>(s[i + 1]) >= 0xA0) {
            return true;
        }
    }
    return false;
}

// For a number from_chars found out of range: is it too large (rather
// than too small)? Decided by the position of its first non-zero digit.
bool too_large(std::string_view num) {
    std::size_t e = num.find_first_of("eE");
    std::string_view mant = num.substr(0, e);
    long long exp = 0;
    if (e != std::string_view::npos) {
        std::string_view ex = num.substr(e + 1);
        bool minus = !ex.empty() && ex.front() == '-';
        if (!ex.empty() && (ex.front() == '-' || ex.front() == '+')) {
            ex.remove_prefix(1);
        }
        for (char c : ex) {
            exp = std::min(exp * 10 + (c - '0'), 1'000'000'000LL);
        }
        exp = minus ? -exp : exp;
    }
    if (!mant.empty() && mant.front() == '-') {
        mant.remove_prefix(1);
    }
    std::size_t dot = mant.find('.');
    std::string_view whole = mant.substr(0, dot);
    std::size_t nz = whole.find_first_not_of('0');
    long long magnitude;
    if (nz != std::string_view::npos) {
        magnitude = static_cast<long long>(whole.size() - nz) - 1;
    } else {
        std::string_view frac =
            dot == std::string_view::npos ? std::string_view() : mant.substr(dot + 1);
        nz = frac.find_first_not_of('0');
        magnitude = -static_cast<long long>(nz) - 1;
    }
    return magnitude + exp > 0;
}

// The keys of every open object, innermost last, for finding a duplicate:
// an object's keys are compared in turn while it has few (most have a
// handful), hashed once it has many (no quadratic cost on a hostile body).
// An object's keys are dropped when it closes, so one buffer, kept by the
// thread from one document to the next, serves every object: no allocation
// per object or per key.
class OpenKeys {
public:
    void reset() {
        frames_.clear();
        spans_.clear();
        bytes_.clear();
        if (bytes_.capacity() > kBytesKept) std::string().swap(bytes_);
        if (spans_.capacity() > kSpansKept) std::vector<Span>().swap(spans_);
    }

    void open() { frames_.push_back({spans_.size(), bytes_.size(), nullptr}); }

    void close() {
        Frame& f = frames_.back();
        spans_.resize(f.first_span);
        bytes_.resize(f.first_byte);
        frames_.pop_back();
    }

    // False when the innermost object has the key already.
    bool insert(std::string_view key) {
        Frame& f = frames_.back();
        if (f.many) return f.many->emplace(key).second;
        for (std::size_t i = f.first_span; i < spans_.size(); i++) {
            if (compared(i) == key) return false;
        }
        if (spans_.size() - f.first_span < kCompared) {
            spans_.push_back({bytes_.size(), key.size()});
            bytes_.append(key);
            return true;
        }
        f.many = std::make_unique<std::unordered_set<std::string>>();
        for (std::size_t i = f.first_span; i < spans_.size(); i++) {
            f.many->emplace(compared(i));
        }
        spans_.resize(f.first_span);
        bytes_.resize(f.first_byte);
        return f.many->emplace(key).second;
    }

private:
    static constexpr std::size_t kCompared = 32;
    static constexpr std::size_t kBytesKept = 64 * 1024;  // a hostile body's keys are not kept
    static constexpr std::size_t kSpansKept = 4096;
    struct Span {
        std::size_t offset, length;
    };
    struct Frame {
        std::size_t first_span, first_byte;
        std::unique_ptr<std::unordered_set<std::string>> many;  // every key, past kCompared
    };
    std::string_view compared(std::size_t i) const {
        return std::string_view(bytes_).substr(spans_[i].offset, spans_[i].length);
    }

    std::string bytes_;        // the compared keys, back to back
    std::vector<Span> spans_;  // where each is in bytes_
    std::vector<Frame> frames_;
};

// Forwards SAX events to the document while enforcing our limits. A false
// return stops the reader; the reason is kept in error.
class StrictHandler {
public:
    StrictHandler(rapidjson::Document& doc, std::size_t max_depth, OpenKeys& keys)
        : doc_(doc), max_depth_(max_depth), keys_(keys) {
        keys_.reset();
    }

    bool Null() { return doc_.Null(); }
    bool Bool(bool b) { return doc_.Bool(b); }
    bool Int(int i) { return doc_.Int(i); }
    bool Uint(unsigned u) { return doc_.Uint(u); }
    bool Int64(int64_t i) { return doc_.Int64(i); }
    bool Uint64(uint64_t u) { return doc_.Uint64(u); }
    bool Double(double d) { return doc_.Double(d); }

    // Same typing as RapidJSON: integers that fit 64 bits stay integers.
    bool RawNumber(const char* s, SizeType len, bool copy) {
        std::string_view num(s, len);
        const char* end = s + len;

        if (num.find_first_of(".eE") == std::string_view::npos) {
            if (num.front() == '-') {
                std::int64_t i;
                auto r = std::from_chars(s, end, i);
                if (r.ec == std::errc{} && r.ptr == end) {
                    return doc_.Int64(i);
                }
            } else {
                std::uint64_t u;
                auto r = std::from_chars(s, end, u);
                if (r.ec == std::errc{} && r.ptr == end) {
                    return doc_.Uint64(u);
                }
            }
        }

        double d = 0.0;
        auto r = std::from_chars(s, end, d);
        if (r.ec == std::errc::result_out_of_range) {
            if (too_large(num)) {
                code = rapidjson::kParseErrorNumberTooBig;
                return false;
            }
            d = num.front() == '-' ? -0.0 : 0.0;  // underflow, as strtod
        } else if (r.ec != std::errc{} || r.ptr != end) {
            code = rapidjson::kParseErrorValueInvalid;
            return false;
        }
        return doc_.Double(d);
    }

    bool String(const char* s, SizeType len, bool copy) {
        if (has_surrogate(s, len)) {
            code = rapidjson::kParseErrorStringUnicodeSurrogateInvalid;
            return false;
        }
        return doc_.String(s, len, copy);
    }

    bool StartObject() {
        if (!enter()) {
            return false;
        }
        keys_.open();
        return doc_.StartObject();
    }

    bool Key(const char* s, SizeType len, bool copy) {
        if (has_surrogate(s, len)) {
            code = rapidjson::kParseErrorStringUnicodeSurrogateInvalid;
            return false;
        }
        // Keys compare by bytes: a NUL inside one is kept.
        if (!keys_.insert({s, len})) {
            error = "duplicate key " + quote_json(utf8_clip({s, len}, kMaxKeyInMessage));
            return false;
        }
        return doc_.Key(s, len, copy);
    }

    bool EndObject(SizeType members) {
        depth_--;
        keys_.close();
        return doc_.EndObject(members);
    }

    bool StartArray() { return enter() && doc_.StartArray(); }

    bool EndArray(SizeType elements) {
        depth_--;
        return doc_.EndArray(elements);
    }

    std::string error;  // our own reason, when we stopped the reader
    // A syntax-level reason found here (lone surrogate, huge number),
    // reported like the reader's own errors.
    rapidjson::ParseErrorCode code = rapidjson::kParseErrorNone;

private:
    bool enter() {
        if (++depth_ > max_depth_) {
            error = "JSON nested deeper than " + std::to_string(max_depth_);
            return false;
        }
        return true;
    }

    rapidjson::Document& doc_;
    std::size_t max_depth_;
    std::size_t depth_ = 0;
    OpenKeys& keys_;
};

// Runs the reader for Document::Populate, which owns the value stack and
// moves the root out only when we return true.
struct StrictGenerator {
    std::string_view text;
    std::size_t max_depth;
    std::string error;

    bool operator()(rapidjson::Document& doc) {
        rapidjson::MemoryStream is(text.data(), text.size());
        rapidjson::Reader reader;
        thread_local OpenKeys keys;
        StrictHandler h(doc, max_depth, keys);

        rapidjson::ParseResult r = is_ascii(text) ? reader.Parse<kStrictAsciiFlags>(is, h)
                                                  : reader.Parse<kStrictFlags>(is, h);

        if (!h.error.empty()) {
            error = h.error;
            return false;
        }
        if (h.code != rapidjson::kParseErrorNone) {
            error = at_byte(r.Offset(), rapidjson::GetParseError_En(h.code));
            return false;
        }
        if (r.IsError()) {
            error = at_byte(r.Offset(), rapidjson::GetParseError_En(r.Code()));
            return false;
        }
        // The reader stops at a NUL byte as if at the end of input.
        if (is.Tell() != text.size()) {
            error =
                at_byte(is.Tell(),
                        rapidjson::GetParseError_En(rapidjson::kParseErrorDocumentRootNotSingular));
            return false;
        }
        return true;
    }

    static std::string at_byte(std::size_t offset, const char* what) {
        return "invalid JSON at byte " + std::to_string(offset) + ": " + what;
    }
};

}  // namespace

Result<void> parse_json_strict(std::string_view text, rapidjson::Document& doc,
                               const JsonLimits& limits) {
    doc.SetNull();

    if (text.size() > limits.max_bytes) {
        return make_error("invalid_json",
                          "body larger than " + std::to_string(limits.max_bytes) + " bytes");
    }

    StrictGenerator gen{text, limits.max_depth, {}};
    doc.Populate(gen);

    if (!gen.error.empty()) {
        doc.SetNull();
        return make_error("invalid_json", std::move(gen.error));
    }
    return {};
}

std::string to_json(const rapidjson::Value& v) {
    rapidjson::StringBuffer buf;
    JsonWriter w(buf);
    v.Accept(w);
    return std::string(buf.GetString(), buf.GetSize());
}

const rapidjson::Value* member(const rapidjson::Value& obj, std::string_view key) {
    if (!obj.IsObject()) {
        return nullptr;
    }
    rapidjson::Value name(rapidjson::StringRef(key.data(), static_cast<SizeType>(key.size())));
    auto it = obj.FindMember(name);
    return it == obj.MemberEnd() ? nullptr : &it->value;
}

namespace {

// What RapidJSON's writer escapes: '"', '\\' and the control characters.
bool needs_escape(const char* s, SizeType n) {
    for (SizeType i = 0; i < n; i++) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x20 || c == '"' || c == '\\') return true;
    }
    return false;
}

}  // namespace

bool JsonWriter::String(const char* s, SizeType n, bool copy) {
    if (needs_escape(s, n)) return Base::String(s, n, copy);
    Prefix(rapidjson::kStringType);
    char* out = os_->Push(static_cast<std::size_t>(n) + 2);
    out[0] = '"';
    if (n != 0) std::memcpy(out + 1, s, n);
    out[n + 1] = '"';
    return EndValue(true);
}

void json_put(JsonWriter& w, std::string_view key, std::string_view value) {
    w.Key(key.data(), static_cast<SizeType>(key.size()));
    w.String(value.data(), static_cast<SizeType>(value.size()));
}

void set_string_member(rapidjson::Value& obj, std::string_view key, std::string_view value,
                       rapidjson::Document::AllocatorType& alloc) {
    rapidjson::Value v(value.data(), static_cast<rapidjson::SizeType>(value.size()), alloc);
    rapidjson::Value name(key.data(), static_cast<rapidjson::SizeType>(key.size()));
    if (obj.HasMember(name)) {
        obj[name] = v;
    } else {
        obj.AddMember(
            rapidjson::Value(key.data(), static_cast<rapidjson::SizeType>(key.size()), alloc), v,
            alloc);
    }
}

}  // namespace wa

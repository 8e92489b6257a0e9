// The typed member getters of webhook_fields.hpp.
#include "meta/webhook_fields.hpp"

#include <charconv>

#include "base/chars.hpp"

namespace wa::webhook_detail {

namespace {

constexpr std::size_t kMaxTimestampDigits = 19;

bool is_kind(const Value& v, Kind k) {
    switch (k) {
        case Kind::object: return v.IsObject();
        case Kind::array: return v.IsArray();
        case Kind::string: return v.IsString();
        case Kind::number: return v.IsNumber();
        case Kind::integer: return v.IsInt64();
        case Kind::boolean: return v.IsBool();
    }
    return false;
}

const char* kind_problem(Kind k) {
    switch (k) {
        case Kind::object: return "must be an object";
        case Kind::array: return "must be an array";
        case Kind::string: return "must be a string";
        case Kind::number: return "must be a number";
        case Kind::integer: return "must be an integer";
        case Kind::boolean: return "must be a boolean";
    }
    return "has the wrong type";
}

}  // namespace

Error bad(const std::string& path, std::string_view problem) {
    return make_error("invalid_payload", path + " " + std::string(problem));
}

std::string join(const std::string& path, std::string_view key) {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
}

std::string at(const std::string& path, std::size_t i) {
    return path + "[" + std::to_string(i) + "]";
}

std::string_view sv(const Value& v) { return {v.GetString(), v.GetStringLength()}; }

Result<const Value*> get(const Value& obj, const std::string& path, std::string_view key, Kind kind,
                         Need need) {
    const Value* v = member(obj, key);
    if (v == nullptr) {
        if (need == Need::required) {
            return bad(join(path, key), "is required");
        }
        return nullptr;
    }
    if (!is_kind(*v, kind)) {
        return bad(join(path, key), kind_problem(kind));
    }
    return v;
}

Result<void> get_string(const Value& obj, const std::string& path, std::string_view key, Need need,
                        std::string& out) {
    auto v = get(obj, path, key, Kind::string, need);
    if (!v) {
        return v.error();
    }
    if (*v != nullptr) {
        out.assign(sv(**v));
    }
    return {};
}

Result<void> get_nonempty(const Value& obj, const std::string& path, std::string_view key,
                          std::string& out) {
    auto r = get_string(obj, path, key, Need::required, out);
    if (!r) {
        return r;
    }
    if (out.empty()) {
        return bad(join(path, key), "must not be empty");
    }
    return {};
}

Result<void> get_timestamp(const Value& obj, const std::string& path, std::int64_t& out) {
    std::string s;
    auto r = get_string(obj, path, "timestamp", Need::required, s);
    if (!r) {
        return r;
    }
    std::string p = join(path, "timestamp");
    if (s.size() > kMaxTimestampDigits || !all_digits(s)) {
        return bad(p, "must be a string of 1-19 digits");
    }
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    if (ec != std::errc{} || end != s.data() + s.size()) {
        return bad(p, "is out of range");
    }
    return {};
}

}  // namespace wa::webhook_detail

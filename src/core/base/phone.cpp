// Phone numbers: Meta's wa_id to E.164, and validation (libphonenumber).
#include "base/phone.hpp"

#include <string>
#include <unordered_map>

#include <phonenumbers/logger.h>
#include <phonenumbers/phonenumber.pb.h>
#include <phonenumbers/phonenumberutil.h>

#include "base/chars.hpp"

namespace wa {

namespace {

constexpr size_t kMaxE164Digits = 15;

// The library logs parse failures to stderr by default; in a worker that
// would be noise on every bad request. Install a silent logger once.
const i18n::phonenumbers::PhoneNumberUtil& phone_util() {
    static const i18n::phonenumbers::PhoneNumberUtil* util = [] {
        auto* u = i18n::phonenumbers::PhoneNumberUtil::GetInstance();
        u->SetLogger(new i18n::phonenumbers::NullLogger());  // takes ownership
        return u;
    }();
    return *util;
}

}  // namespace

bool is_canonical_e164(std::string_view s) {
    if (s.size() < 2 || s.size() > 1 + kMaxE164Digits || s[0] != '+') {
        return false;
    }
    std::string_view digits = s.substr(1);
    return digits[0] != '0' && all_digits(digits);
}

namespace {

// libphonenumber parses with ICU regexes (~7 % of a reply's CPU); replies go
// to the same customers again and again, so verdicts are remembered.
constexpr std::size_t kVerdictCacheSize = 4096;

bool possible_uncached(std::string_view s) {
    const auto& util = phone_util();
    i18n::phonenumbers::PhoneNumber number;
    // "ZZ" (unknown region): the leading '+' must carry the country code.
    if (util.Parse(std::string(s), "ZZ", &number) !=
        i18n::phonenumbers::PhoneNumberUtil::NO_PARSING_ERROR) {
        return false;
    }
    return util.IsPossibleNumber(number);
}

}  // namespace

bool is_possible_e164(std::string_view s) {
    if (!is_canonical_e164(s)) {
        return false;
    }
    thread_local std::unordered_map<std::string, bool> verdicts;
    std::string key(s);
    if (auto it = verdicts.find(key); it != verdicts.end()) return it->second;
    bool possible = possible_uncached(s);
    if (verdicts.size() >= kVerdictCacheSize)
        verdicts.clear();  // bounded, no eviction order needed
    verdicts.emplace(std::move(key), possible);
    return possible;
}

Result<std::string> normalize_wa_id(std::string_view s) {
    std::string_view digits = s;
    if (!digits.empty() && digits[0] == '+') {
        digits.remove_prefix(1);
    }
    if (digits.empty() || digits.size() > kMaxE164Digits || !all_digits(digits)) {
        return make_error("invalid_phone_number",
                          "wa_id must be 1-15 digits, optionally after '+'");
    }
    if (digits[0] == '0') {
        return make_error("invalid_phone_number", "wa_id must not start with 0");
    }
    return "+" + std::string(digits);
}

}  // namespace wa

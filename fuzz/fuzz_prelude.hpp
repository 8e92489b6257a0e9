// Shared by the Prelude endpoints' targets (fuzz_reply, fuzz_notify): a
// CallbackGuard that allows 127.0.0.0/8, and the strict-JSON check of
// every body they write.
#pragma once

#include <string>

#include "base/json.hpp"
#include "domain/callback_guard.hpp"
#include "fuzz_check.hpp"

inline bool strict_json_object(const std::string& text) {
    rapidjson::Document doc;
    return wa::parse_json_strict(text, doc).ok() && doc.IsObject();
}

inline const wa::CallbackGuard& guard() {
    static const wa::CallbackGuard g = [] {
        wa::CallbackGuard guard;
        FUZZ_CHECK(guard.allow_cidr("127.0.0.0/8").ok());
        return guard;
    }();
    return g;
}

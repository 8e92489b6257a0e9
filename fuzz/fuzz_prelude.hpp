// Shared by the send endpoints' targets (fuzz_reply, fuzz_notify,
// fuzz_messaging): a CallbackGuard that allows 127.0.0.0/8, the strict-JSON
// check of every body they write, and one tenant's number and template.
#pragma once

#include <string>

#include "base/json.hpp"
#include "domain/callback_guard.hpp"
#include "domain/numbers.hpp"
#include "domain/templates.hpp"
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

inline const wa::TemplateDirectory& templates() {
    static const wa::TemplateDirectory dir = [] {
        wa::TemplateDirectory d;
        wa::TemplateDef t;
        t.key = "order_shipped";
        FUZZ_CHECK(wa::template_field(t, "name", {"order_shipped_v2"}).ok());
        FUZZ_CHECK(wa::template_field(t, "languages", {"en_US", "fr_FR"}).ok());
        FUZZ_CHECK(wa::template_field(t, "parameters", {"order_id", "eta"}).ok());
        FUZZ_CHECK(d.add(t).ok());
        return d;
    }();
    return dir;
}

inline const wa::NumberDirectory& numbers() {
    static const wa::NumberDirectory dir = [] {
        wa::NumberDirectory d;
        wa::NumberConfig n;
        n.e164 = "+14155551234";
        n.phone_number_id = "111";
        n.tenant = "acme";
        FUZZ_CHECK(d.add(n).ok());
        return d;
    }();
    return dir;
}

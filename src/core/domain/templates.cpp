#include "domain/templates.hpp"

#include <algorithm>

#include "base/chars.hpp"
#include "domain/api_keys.hpp"
#include "domain/callback_guard.hpp"

namespace wa {

namespace {

constexpr std::size_t kMaxName = 512;       // Meta's limit on a template name
constexpr std::size_t kMaxParameter = 128;  // a parameter_name is a short identifier
constexpr std::size_t kMaxLink = 2048;

bool is_lower(char c) { return c >= 'a' && c <= 'z'; }
bool is_upper(char c) { return c >= 'A' && c <= 'Z'; }

// Meta's names: lowercase letters, digits and underscores.
bool meta_identifier(std::string_view s, std::size_t max) {
    if (s.empty() || s.size() > max) return false;
    return std::all_of(s.begin(), s.end(),
                       [](char c) { return is_lower(c) || is_digit(c) || c == '_'; });
}

bool https_link(std::string_view s) {
    if (!s.starts_with("https://") || s.size() > kMaxLink || url_host(s).empty()) return false;
    // Printable ASCII only: a URL is percent-encoded (and goes into JSON as is).
    return std::none_of(s.begin(), s.end(), [](char c) {
        auto u = static_cast<unsigned char>(c);
        return u <= ' ' || u >= 0x7f || c == '"' || c == '\\';
    });
}

Error invalid(std::string message) { return make_error("invalid_template", std::move(message)); }

Result<void> no_duplicates(std::string_view field, const std::vector<std::string>& items) {
    for (std::size_t i = 0; i < items.size(); i++) {
        for (std::size_t j = 0; j < i; j++) {
            if (items[i] == items[j]) {
                return invalid("\"" + std::string(field) + "\" lists \"" + items[i] + "\" twice");
            }
        }
    }
    return {};
}

}  // namespace

bool valid_template_key(std::string_view key) { return valid_tenant_name(key); }

std::string normalize_language(std::string_view code) {
    // language: 2-3 lowercase letters; region: 2 uppercase letters.
    std::size_t sep = code.find_first_of("_-");
    std::string_view lang = code.substr(0, sep);
    std::string_view region = sep == std::string_view::npos ? "" : code.substr(sep + 1);
    bool lang_ok =
        (lang.size() == 2 || lang.size() == 3) && std::all_of(lang.begin(), lang.end(), is_lower);
    bool region_ok = sep == std::string_view::npos ||
                     (region.size() == 2 && std::all_of(region.begin(), region.end(), is_upper));
    if (!lang_ok || !region_ok) return {};
    std::string out(lang);
    if (!region.empty()) out.append("_").append(region);
    return out;
}

namespace {

// A field of one value, written once and accepted by ok; expected says
// what ok accepts.
template <class Ok>
Result<void> set_single(std::string& target, std::string_view field,
                        const std::vector<std::string_view>& values, Ok ok, const char* expected) {
    if (!target.empty()) return invalid("\"" + std::string(field) + "\" is repeated");
    if (values.size() != 1) return invalid("\"" + std::string(field) + "\" takes one value");
    if (!ok(values[0])) {
        return invalid("invalid " + std::string(field) + " \"" + std::string(values[0]) +
                       "\": " + expected + " expected");
    }
    target = values[0];
    return {};
}

// A field of one or more values, written once, each turned into an item
// by convert (empty: refused); no item twice.
template <class Convert>
Result<void> set_list(std::vector<std::string>& target, std::string_view field,
                      const std::vector<std::string_view>& values, Convert convert,
                      const char* what, const char* expected) {
    if (!target.empty()) return invalid("\"" + std::string(field) + "\" is repeated");
    if (values.empty()) return invalid("\"" + std::string(field) + "\" needs at least one value");
    for (std::string_view v : values) {
        std::string item = convert(v);
        if (item.empty()) {
            return invalid("invalid " + std::string(what) + " \"" + std::string(v) +
                           "\": " + expected + " expected");
        }
        target.push_back(std::move(item));
    }
    return no_duplicates(field, target);
}

constexpr const char* kMetaIdentifier = "lowercase letters, digits and \"_\"";

}  // namespace

Result<void> template_field(TemplateDef& def, std::string_view field,
                            const std::vector<std::string_view>& values) {
    if (field == "name") {
        return set_single(
            def.name, field, values,
            [](std::string_view v) { return meta_identifier(v, kMaxName); }, kMetaIdentifier);
    }
    if (field == "languages") {
        return set_list(def.languages, field, values, normalize_language, "language code",
                        "\"en\" or \"en_US\"");
    }
    if (field == "parameters") {
        auto parameter = [](std::string_view v) {
            return meta_identifier(v, kMaxParameter) ? std::string(v) : std::string();
        };
        return set_list(def.parameters, field, values, parameter, "parameter", kMetaIdentifier);
    }
    if (field == "positional") {
        if (def.positional) return invalid("\"positional\" is repeated");
        if (!values.empty()) return invalid("\"positional\" takes no value");
        def.positional = true;
        return {};
    }
    if (field == "header_image") {
        return set_single(def.header_image, field, values, https_link, "an https URL");
    }
    if (field == "tenant") {
        return set_single(def.tenant, field, values, valid_tenant_name, "1-64 of [A-Za-z0-9_.-]");
    }
    return invalid("unknown field \"" + std::string(field) + "\"");
}

Result<void> template_complete(const TemplateDef& def) {
    if (def.name.empty()) return invalid("has no \"name\"");
    if (def.languages.empty()) return invalid("has no \"languages\"");
    return {};
}

Result<void> TemplateDirectory::add(TemplateDef def) {
    if (!valid_template_key(def.key)) {
        return invalid("invalid key \"" + def.key + "\": 1-64 of [A-Za-z0-9_.-] expected");
    }
    if (by_key_.contains(def.key)) return invalid("duplicate template \"" + def.key + "\"");
    by_key_.emplace(def.key, templates_.size());
    templates_.push_back(std::move(def));
    return {};
}

const TemplateDef* TemplateDirectory::find(std::string_view key, std::string_view tenant) const {
    auto it = by_key_.find(std::string(key));
    if (it == by_key_.end()) return nullptr;
    const TemplateDef& def = templates_[it->second];
    return def.tenant.empty() || def.tenant == tenant ? &def : nullptr;
}

std::string TemplateRefusal::message() const {
    switch (kind) {
        case Kind::missing_variable: return "missing variable \"" + what + "\"";
        case Kind::unknown_variable: return "unknown variable \"" + what + "\"";
        case Kind::empty_variable: return "variable \"" + what + "\" is empty";
        case Kind::unknown_locale: return "the template has no language \"" + what + "\"";
    }
    return {};
}

Outcome<GraphContent, TemplateRefusal> render_template(const TemplateDef& def,
                                                       const TemplateVariables& variables,
                                                       std::string_view locale) {
    using Kind = TemplateRefusal::Kind;
    GraphContent c;
    c.kind = GraphContent::Kind::template_message;
    c.template_name = def.name;
    c.positional = def.positional;
    c.header_image_link = def.header_image;
    if (locale.empty()) {
        c.language = def.languages.front();
    } else {
        std::string code = normalize_language(locale);
        if (std::find(def.languages.begin(), def.languages.end(), code) == def.languages.end()) {
            return TemplateRefusal{Kind::unknown_locale, std::string(locale)};
        }
        c.language = std::move(code);
    }
    for (const auto& [name, value] : variables) {
        if (std::find(def.parameters.begin(), def.parameters.end(), name) == def.parameters.end()) {
            return TemplateRefusal{Kind::unknown_variable, name};
        }
    }
    for (const std::string& p : def.parameters) {
        auto it = std::find_if(variables.begin(), variables.end(),
                               [&](const auto& v) { return v.first == p; });
        if (it == variables.end()) return TemplateRefusal{Kind::missing_variable, p};
        if (it->second.empty()) return TemplateRefusal{Kind::empty_variable, p};
        c.parameters.emplace_back(p, it->second);
    }
    return c;
}

}  // namespace wa

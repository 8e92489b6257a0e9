// Approved WhatsApp templates (whatsapp_template blocks, SPEC §7.4): their
// configuration, checked field by field at `nginx -t`, and the Graph content
// of one send with the caller's variables (WHATSAPP.md §5.5).
#pragma once

#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "base/result.hpp"
#include "meta/graph_message.hpp"

namespace wa {

struct TemplateDef {
    std::string key;                      // Prelude's template_id, the inbox's template_key
    std::string name;                     // the approved template's name at Meta
    std::vector<std::string> languages;   // Meta's codes ("en_US"); the first is the default
    std::vector<std::string> parameters;  // body parameters, in placeholder order
    bool positional = false;              // {{1}} {{2}} instead of parameter_name
    std::string header_image;             // https link of a media header, or empty
    std::string tenant;                   // empty: every tenant may send it
};

// A template key: 1-64 of [A-Za-z0-9_.-] (the same alphabet as tenants).
bool valid_template_key(std::string_view key);

// "en", "en_US", "fil", "zh_HK"; "fr-FR" is accepted and read as "fr_FR".
// Returns the code in Meta's form, or empty when it is not a language code.
std::string normalize_language(std::string_view code);

// One field of a block: its name and values as written. Errors (code
// "invalid_template") name the field; unknown fields and repeated ones are
// errors too.
Result<void> template_field(TemplateDef& def, std::string_view field,
                            const std::vector<std::string_view>& values);
// After the block: what a template needs (a name, at least one language).
Result<void> template_complete(const TemplateDef& def);

class TemplateDirectory {
public:
    Result<void> add(TemplateDef def);  // "duplicate template" for a key seen before
    // The template a tenant may send under key; nullptr when there is none
    // or it belongs to another tenant (both look the same to the caller).
    const TemplateDef* find(std::string_view key, std::string_view tenant) const;
    std::size_t size() const { return templates_.size(); }

private:
    std::vector<TemplateDef> templates_;
    std::unordered_map<std::string, std::size_t> by_key_;
};

// Why a send's variables or locale do not fit the template.
struct TemplateRefusal {
    enum class Kind { missing_variable, unknown_variable, empty_variable, unknown_locale } kind;
    std::string what;  // the variable or the locale
    std::string message() const;
};

// The Graph content of a send: every parameter's variable, in the
// template's order; locale empty = the template's first language.
using TemplateVariables = std::vector<std::pair<std::string, std::string>>;
Outcome<GraphContent, TemplateRefusal> render_template(const TemplateDef& def,
                                                       const TemplateVariables& variables,
                                                       std::string_view locale);

}  // namespace wa

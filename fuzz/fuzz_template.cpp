// libFuzzer target: the whatsapp_template block's fields (template_field,
// template_complete) and render_template (domain/templates.hpp). Input:
// lines "field value value ..." as nginx would hand them over, then, after
// an empty line, "name=value" variables and an optional "@locale" line.
// Every refusal says why; an accepted template renders with all of its
// parameters to strict JSON that keeps their order; a variable too many or
// too few is refused.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/json.hpp"
#include "domain/templates.hpp"
#include "fuzz_check.hpp"
#include "meta/graph_message.hpp"

namespace {

std::vector<std::string_view> words(std::string_view line) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < line.size()) {
        std::size_t j = line.find(' ', i);
        if (j == std::string_view::npos) j = line.size();
        if (j > i) out.push_back(line.substr(i, j - i));
        i = j + 1;
    }
    return out;
}

bool printable(std::string_view s) {
    for (char c : s) {
        if (c < ' ' || c > '~') return false;
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char*>(data), size);
    wa::TemplateDef def;
    def.key = "fuzz";
    wa::TemplateVariables vars;
    std::string locale;
    bool fields = true, accepted = true;
    std::size_t pos = 0;
    while (pos <= in.size()) {
        std::size_t end = in.find('\n', pos);
        if (end == std::string_view::npos) end = in.size();
        std::string_view line = in.substr(pos, end - pos);
        pos = end + 1;
        if (fields) {
            if (line.empty()) {
                fields = false;
                continue;
            }
            auto w = words(line);
            if (w.empty()) continue;
            std::vector<std::string_view> values(w.begin() + 1, w.end());
            auto r = wa::template_field(def, w[0], values);
            if (!r) {
                FUZZ_CHECK(r.error().code == "invalid_template");
                FUZZ_CHECK(!r.error().message.empty());
                accepted = false;
                break;
            }
        } else if (line.starts_with("@")) {
            locale = line.substr(1);
        } else if (auto eq = line.find('='); eq != std::string_view::npos && printable(line)) {
            // Variables come from parsed JSON, valid UTF-8: the JSON codecs'
            // targets cover bytes; here printable ASCII stands for them.
            vars.emplace_back(line.substr(0, eq), line.substr(eq + 1));
        }
    }
    if (!accepted || !wa::template_complete(def)) return 0;

    // Each language is a code Meta knows the shape of, listed once.
    for (const auto& l : def.languages)
        FUZZ_CHECK(wa::normalize_language(l) == l);

    auto c = wa::render_template(def, vars, locale);
    if (!c) {
        FUZZ_CHECK(!c.error().message().empty());
    } else {
        FUZZ_CHECK(c->parameters.size() == def.parameters.size());
        for (std::size_t i = 0; i < def.parameters.size(); i++)
            FUZZ_CHECK(c->parameters[i].first == def.parameters[i]);
        rapidjson::Document doc;
        FUZZ_CHECK(wa::parse_json_strict(wa::graph_message_body("+15550001111", *c, "", ""), doc));
    }

    // Every parameter given (in reverse order): accepted, in the template's order.
    wa::TemplateVariables all;
    for (auto it = def.parameters.rbegin(); it != def.parameters.rend(); ++it)
        all.emplace_back(*it, "v");
    auto full = wa::render_template(def, all, "");
    FUZZ_CHECK(full.ok());
    FUZZ_CHECK(full->language == def.languages.front());
    // One too many: refused.
    all.emplace_back("zz_not_a_parameter_zz", "v");
    bool extra_is_a_parameter = false;
    for (const auto& p : def.parameters)
        extra_is_a_parameter |= p == "zz_not_a_parameter_zz";
    if (!extra_is_a_parameter) FUZZ_CHECK(!wa::render_template(def, all, "").ok());
    return 0;
}

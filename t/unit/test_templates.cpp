// whatsapp_template (SPEC §7.4): each field checked as nginx reads it, the
// directory a send looks templates up in, and the Graph body of a send
// against WHATSAPP.md §5.5's shapes.
#include <gtest/gtest.h>

#include <rapidjson/document.h>

#include "domain/templates.hpp"
#include "meta/graph_message.hpp"

namespace {

using namespace wa;

Result<void> set(TemplateDef& d, std::string_view field, std::vector<std::string_view> values) {
    return template_field(d, field, values);
}

TemplateDef order_shipped() {
    TemplateDef d;
    d.key = "order_shipped";
    EXPECT_TRUE(set(d, "name", {"order_shipped_v2"}).ok());
    EXPECT_TRUE(set(d, "languages", {"en_US", "fr-FR"}).ok());
    EXPECT_TRUE(set(d, "parameters", {"order_id", "eta"}).ok());
    return d;
}

std::string error_of(const Result<void>& r) {
    EXPECT_FALSE(r.ok());
    if (r.ok()) return {};
    EXPECT_EQ(r.error().code, "invalid_template");
    return r.error().message;
}

rapidjson::Document parse(const std::string& body) {
    rapidjson::Document d;
    d.Parse(body.c_str(), body.size());
    EXPECT_FALSE(d.HasParseError()) << body;
    return d;
}

TEST(Templates, FieldsAsConfigured) {
    TemplateDef d = order_shipped();
    EXPECT_EQ(d.name, "order_shipped_v2");
    EXPECT_EQ(d.languages, (std::vector<std::string>{"en_US", "fr_FR"}));
    EXPECT_EQ(d.parameters, (std::vector<std::string>{"order_id", "eta"}));
    EXPECT_TRUE(set(d, "positional", {}).ok());
    EXPECT_TRUE(d.positional);
    EXPECT_TRUE(set(d, "header_image", {"https://cdn.example/ship.png"}).ok());
    EXPECT_TRUE(set(d, "tenant", {"acme"}).ok());
    EXPECT_TRUE(template_complete(d).ok());
}

TEST(Templates, LanguageCodes) {
    EXPECT_EQ(normalize_language("en"), "en");
    EXPECT_EQ(normalize_language("en_US"), "en_US");
    EXPECT_EQ(normalize_language("pt-BR"), "pt_BR");
    EXPECT_EQ(normalize_language("fil"), "fil");
    for (std::string_view bad :
         {"", "e", "english", "EN", "en_us", "en_USA", "en_", "_US", "en US", "en-US-x", "e1"}) {
        EXPECT_EQ(normalize_language(bad), "") << bad;
    }
}

TEST(Templates, BadFieldsAreRefusedWithTheirName) {
    TemplateDef d;
    EXPECT_NE(error_of(set(d, "colour", {"red"})).find("unknown field \"colour\""),
              std::string::npos);
    EXPECT_NE(error_of(set(d, "languages", {"en_US", "english"})).find("\"english\""),
              std::string::npos);
    EXPECT_NE(error_of(set(d, "name", {"Order Shipped"})).find("invalid name"), std::string::npos);
    EXPECT_NE(error_of(set(d, "name", {"a", "b"})).find("one value"), std::string::npos);
    EXPECT_NE(error_of(set(d, "parameters", {"order-id"})).find("invalid parameter"),
              std::string::npos);
    EXPECT_NE(error_of(set(d, "header_image", {"http://cdn.example/x.png"})).find("https"),
              std::string::npos);
    EXPECT_NE(error_of(set(d, "header_image", {"https://cdn.example/\xd5.png"})).find("https"),
              std::string::npos);  // found by fuzz_template: not ASCII, not JSON-safe
    EXPECT_NE(error_of(set(d, "tenant", {"a b"})).find("invalid tenant"), std::string::npos);
    EXPECT_NE(error_of(set(d, "positional", {"yes"})).find("no value"), std::string::npos);

    TemplateDef twice;
    EXPECT_NE(error_of(set(twice, "languages", {"en_US", "en-US"})).find("twice"),
              std::string::npos);
    TemplateDef p;
    EXPECT_NE(error_of(set(p, "parameters", {"a", "b", "a"})).find("twice"), std::string::npos);

    TemplateDef r = order_shipped();
    EXPECT_NE(error_of(set(r, "name", {"other"})).find("repeated"), std::string::npos);
}

TEST(Templates, ANameAndALanguageAreRequired) {
    TemplateDef d;
    EXPECT_NE(error_of(template_complete(d)).find("no \"name\""), std::string::npos);
    ASSERT_TRUE(set(d, "name", {"x"}).ok());
    EXPECT_NE(error_of(template_complete(d)).find("no \"languages\""), std::string::npos);
}

TEST(Templates, DirectoryRefusesDuplicatesAndHidesOtherTenants) {
    TemplateDirectory dir;
    TemplateDef a = order_shipped();
    ASSERT_TRUE(set(a, "tenant", {"acme"}).ok());
    ASSERT_TRUE(dir.add(a).ok());
    EXPECT_NE(error_of(dir.add(order_shipped())).find("duplicate template \"order_shipped\""),
              std::string::npos);
    TemplateDef shared = order_shipped();
    shared.key = "welcome";
    ASSERT_TRUE(dir.add(shared).ok());
    TemplateDef bad = order_shipped();
    bad.key = "has space";
    EXPECT_NE(error_of(dir.add(bad)).find("invalid key"), std::string::npos);

    EXPECT_NE(dir.find("order_shipped", "acme"), nullptr);
    EXPECT_EQ(dir.find("order_shipped", "globex"), nullptr);  // like an unknown key
    EXPECT_EQ(dir.find("nope", "acme"), nullptr);
    EXPECT_NE(dir.find("welcome", "globex"), nullptr);  // no tenant: anyone's
}

// WHATSAPP.md §5.5, named parameters: parameter_name on each.
TEST(Templates, NamedBodyMatchesMetasShape) {
    auto c = render_template(order_shipped(), {{"eta", "Friday"}, {"order_id", "SKBUP2"}}, "");
    ASSERT_TRUE(c.ok()) << c.error().message();
    auto d = parse(graph_message_body("+16505551234", *c, "", ""));
    EXPECT_STREQ(d["type"].GetString(), "template");
    const auto& t = d["template"];
    EXPECT_STREQ(t["name"].GetString(), "order_shipped_v2");
    EXPECT_STREQ(t["language"]["code"].GetString(), "en_US");
    ASSERT_EQ(t["components"].Size(), 1u);
    const auto& body = t["components"][0];
    EXPECT_STREQ(body["type"].GetString(), "body");
    const auto& params = body["parameters"];
    ASSERT_EQ(params.Size(), 2u);
    // In the template's order, whatever the order of the variables.
    EXPECT_STREQ(params[0]["type"].GetString(), "text");
    EXPECT_STREQ(params[0]["text"].GetString(), "SKBUP2");
    EXPECT_STREQ(params[0]["parameter_name"].GetString(), "order_id");
    EXPECT_STREQ(params[1]["text"].GetString(), "Friday");
    EXPECT_STREQ(params[1]["parameter_name"].GetString(), "eta");
}

// Positional: {{1}} {{2}} in order, no parameter_name.
TEST(Templates, PositionalBodyMatchesMetasShape) {
    TemplateDef def = order_shipped();
    ASSERT_TRUE(set(def, "positional", {}).ok());
    ASSERT_TRUE(set(def, "header_image", {"https://cdn.example/ship.png"}).ok());
    auto c = render_template(def, {{"order_id", "SKBUP2"}, {"eta", "Friday"}}, "fr-FR");
    ASSERT_TRUE(c.ok()) << c.error().message();
    auto d = parse(graph_message_body("+16505551234", *c, "", "tx_1"));
    const auto& t = d["template"];
    EXPECT_STREQ(t["language"]["code"].GetString(), "fr_FR");
    ASSERT_EQ(t["components"].Size(), 2u);
    const auto& header = t["components"][0];
    EXPECT_STREQ(header["type"].GetString(), "header");
    EXPECT_STREQ(header["parameters"][0]["image"]["link"].GetString(),
                 "https://cdn.example/ship.png");
    const auto& params = t["components"][1]["parameters"];
    ASSERT_EQ(params.Size(), 2u);
    EXPECT_STREQ(params[0]["text"].GetString(), "SKBUP2");
    EXPECT_FALSE(params[0].HasMember("parameter_name"));
    EXPECT_STREQ(d["biz_opaque_callback_data"].GetString(), "tx_1");
}

TEST(Templates, NoParametersNoBodyComponent) {
    TemplateDef def;
    def.key = "hello";
    ASSERT_TRUE(set(def, "name", {"hello_world"}).ok());
    ASSERT_TRUE(set(def, "languages", {"en_US"}).ok());
    auto c = render_template(def, {}, "");
    ASSERT_TRUE(c.ok());
    auto d = parse(graph_message_body("+16505551234", *c, "", ""));
    EXPECT_EQ(d["template"]["components"].Size(), 0u);
}

TEST(Templates, VariablesMustMatchTheParameters) {
    using Kind = TemplateRefusal::Kind;
    TemplateDef def = order_shipped();
    auto missing = render_template(def, {{"order_id", "1"}}, "");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.error().kind, Kind::missing_variable);
    EXPECT_EQ(missing.error().what, "eta");
    EXPECT_EQ(missing.error().message(), "missing variable \"eta\"");

    auto extra = render_template(def, {{"order_id", "1"}, {"eta", "2"}, {"coupon", "3"}}, "");
    ASSERT_FALSE(extra.ok());
    EXPECT_EQ(extra.error().kind, Kind::unknown_variable);
    EXPECT_EQ(extra.error().what, "coupon");

    auto empty = render_template(def, {{"order_id", ""}, {"eta", "2"}}, "");
    ASSERT_FALSE(empty.ok());
    EXPECT_EQ(empty.error().kind, Kind::empty_variable);

    auto locale = render_template(def, {{"order_id", "1"}, {"eta", "2"}}, "de_DE");
    ASSERT_FALSE(locale.ok());
    EXPECT_EQ(locale.error().kind, Kind::unknown_locale);
    EXPECT_EQ(locale.error().what, "de_DE");
}

}  // namespace

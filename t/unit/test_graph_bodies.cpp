// The Graph send bodies of every content kind (WHATSAPP.md §5.2-§5.5).
#include <gtest/gtest.h>

#include "meta/graph_message.hpp"

namespace {

using wa::GraphContent;

constexpr const char* kHead = R"({"messaging_product":"whatsapp","recipient_type":"individual",)"
                              R"("to":"+16505551234",)";

GraphContent template_of(bool positional) {
    GraphContent c;
    c.kind = GraphContent::Kind::template_message;
    c.template_name = "order_confirmation";
    c.language = "en_US";
    c.parameters = {{"first_name", "Jessica"}, {"order_id", "SKBUP2-4CPIG9"}};
    c.positional = positional;
    return c;
}

GraphContent media_of(std::string type) {
    GraphContent c;
    c.kind = GraphContent::Kind::media;
    c.media_type = std::move(type);
    return c;
}

TEST(GraphBody, NamedTemplate) {
    EXPECT_EQ(wa::graph_message_body("+16505551234", template_of(false), "", "tx_1"),
              std::string(kHead) +
                  R"("type":"template","template":{"name":"order_confirmation",)"
                  R"("language":{"code":"en_US"},"components":[{"type":"body","parameters":[)"
                  R"({"type":"text","text":"Jessica","parameter_name":"first_name"},)"
                  R"({"type":"text","text":"SKBUP2-4CPIG9","parameter_name":"order_id"}]}]},)"
                  R"("biz_opaque_callback_data":"tx_1"})");
}

TEST(GraphBody, PositionalTemplateWithAHeaderImage) {
    GraphContent c = template_of(true);
    c.header_image_link = "https://cdn.example.com/box.jpg";
    EXPECT_EQ(wa::graph_message_body("+16505551234", c, "", ""),
              std::string(kHead) +
                  R"("type":"template","template":{"name":"order_confirmation",)"
                  R"("language":{"code":"en_US"},"components":[)"
                  R"({"type":"header","parameters":[{"type":"image","image":)"
                  R"({"link":"https://cdn.example.com/box.jpg"}}]},)"
                  R"({"type":"body","parameters":[{"type":"text","text":"Jessica"},)"
                  R"({"type":"text","text":"SKBUP2-4CPIG9"}]}]}})");
}

TEST(GraphBody, TemplateWithoutParametersHasNoBodyComponent) {
    GraphContent c = template_of(false);
    c.parameters.clear();
    EXPECT_EQ(wa::graph_message_body("+16505551234", c, "", ""),
              std::string(kHead) + R"("type":"template","template":{"name":"order_confirmation",)"
                                   R"("language":{"code":"en_US"},"components":[]}})");
}

TEST(GraphBody, MediaByIdOrLink) {
    GraphContent image = media_of("image");
    image.media_id = "1003383421387256";
    image.text = "the blue one";
    EXPECT_EQ(wa::graph_message_body("+16505551234", image, "wamid.IN", ""),
              std::string(kHead) +
                  R"("type":"image","image":{"id":"1003383421387256","caption":"the blue one"},)"
                  R"("context":{"message_id":"wamid.IN"}})");

    GraphContent doc = media_of("document");
    doc.media_link = "https://cdn.example.com/invoice.pdf";
    doc.filename = "invoice.pdf";
    doc.text = "your invoice";
    EXPECT_EQ(wa::graph_message_body("+16505551234", doc, "", ""),
              std::string(kHead) +
                  R"("type":"document","document":{"link":"https://cdn.example.com/invoice.pdf",)"
                  R"("caption":"your invoice","filename":"invoice.pdf"}})");
}

TEST(GraphBody, AudioAndStickerTakeNoCaption) {
    for (const char* type : {"audio", "sticker"}) {
        GraphContent c = media_of(type);
        c.media_id = "42";
        c.text = "ignored";
        EXPECT_EQ(
            wa::graph_message_body("+16505551234", c, "", ""),
            std::string(kHead) + R"("type":")" + type + R"(",")" + type + R"(":{"id":"42"}})");
    }
}

TEST(GraphBody, TextIsTheTextBody) {
    GraphContent c;
    c.text = "hi";
    EXPECT_EQ(wa::graph_message_body("+16505551234", c, "", ""),
              std::string(kHead) + R"("type":"text","text":{"body":"hi"}})");
}

}  // namespace

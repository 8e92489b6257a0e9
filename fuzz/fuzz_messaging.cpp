// libFuzzer target: the inbox codec (api/messaging.hpp). The first byte
// picks the parser: the list and get query strings, a cursor, a route, the
// PATCH body, the text send and the template send (against one number and
// one template). Never crashes; every error is a 4xx with a code and a
// message, and its envelope is strict JSON; a cursor that decodes was made
// by encode_cursor (it encodes back to the same text), and an accepted
// body holds the checks it promises.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "api/messaging.hpp"
#include "base/json.hpp"
#include "base/phone.hpp"
#include "base/text.hpp"
#include "fuzz_check.hpp"
#include "fuzz_prelude.hpp"

namespace {

const wa::ApiKey& key() {
    static const wa::ApiKey k = [] {
        wa::ApiKey a;
        a.name = "ada";
        a.tenant = "acme";
        a.hash.fill(0x5a);
        return a;
    }();
    return k;
}

void check_error(const wa::ReplyError& e) {
    FUZZ_CHECK(e.http_status >= 400 && e.http_status < 500);
    FUZZ_CHECK(!e.code.empty() && !e.message.empty());
    FUZZ_CHECK(strict_json_object(wa::inbox_error_json(e)));
}

void list_query(std::string_view in) {
    auto p = wa::parse_list_query(in);
    if (!p) return check_error(p.error());
    FUZZ_CHECK(p->limit >= 1 && p->limit <= wa::kMaxInboxLimit);
    FUZZ_CHECK(p->filter.status.empty() || wa::valid_conversation_status(p->filter.status));
    FUZZ_CHECK(p->filter.mode.empty() || wa::valid_conversation_mode(p->filter.mode));
    FUZZ_CHECK(wa::utf8_length(p->filter.search) <= wa::kMaxSearchChars);
    if (!p->cursor.empty()) {
        auto c = wa::decode_cursor(p->cursor, key(), p->filter);
        if (!c) check_error(c.error());
    }
}

void cursor(std::string_view in) {
    wa::ConversationFilter f;
    auto c = wa::decode_cursor(in, key(), f);
    if (!c) return check_error(c.error());
    FUZZ_CHECK(wa::encode_cursor(*c, key(), f) == in);
}

void route(std::string_view in) {
    static const char* const kMethods[] = {"GET", "POST", "PATCH", "DELETE"};
    std::string_view method = kMethods[in.empty() ? 0 : static_cast<unsigned char>(in[0]) % 4];
    auto p = wa::route_inbox(in.empty() ? in : in.substr(1), method);
    if (!p.method_allowed) FUZZ_CHECK(p.route && !p.allow.empty());
}

void patch(std::string_view in) {
    auto p = wa::parse_patch_body(in);
    if (!p) return check_error(p.error());
    FUZZ_CHECK(p->status || p->mode || p->set_assignee);
    if (p->status) FUZZ_CHECK(wa::valid_conversation_status(*p->status));
    if (p->mode) FUZZ_CHECK(wa::valid_conversation_mode(*p->mode));
    if (p->set_assignee) FUZZ_CHECK(p->assignee.empty() || wa::valid_assignee(p->assignee));
}

void text(std::string_view in) {
    auto s = wa::parse_text_send(in, wa::Uuid{});
    if (!s) return check_error(s.error());
    FUZZ_CHECK(!wa::is_blank(s->content.text));
    FUZZ_CHECK(wa::utf8_length(s->content.text) <= wa::kMaxReplyTextChars);
}

void template_send(std::string_view in) {
    auto b = wa::parse_template_send(in);
    if (!b) return check_error(b.error());
    FUZZ_CHECK(wa::is_possible_e164(b->phone));
    auto s = wa::template_send_request(*b, templates(), numbers(), "acme");
    if (!s) return check_error(s.error());
    FUZZ_CHECK(s->sender != nullptr && s->sender->tenant == "acme");
    FUZZ_CHECK(s->content.parameters.size() == 2);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) return 0;
    std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 7) {
        case 0: list_query(in); break;
        case 1: {
            auto g = wa::parse_get_query(in);
            if (!g) check_error(g.error());
            break;
        }
        case 2: cursor(in); break;
        case 3: route(in); break;
        case 4: patch(in); break;
        case 5: text(in); break;
        default: template_send(in); break;
    }
    return 0;
}

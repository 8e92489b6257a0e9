// The inbox API (Messaging dialect, SPEC §7) under a whatsapp_messaging
// prefix: its routes, query strings, cursors and bodies, and the JSON it
// answers. Envelope {"message","data"} (+ "nextCursor"); errors
// {"message","code"}. Errors are ReplyError values, the send path's own,
// so the one send pipeline answers every dialect; this codec words them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/prelude.hpp"
#include "base/json.hpp"
#include "domain/api_keys.hpp"
#include "domain/inbox.hpp"
#include "domain/send.hpp"
#include "domain/templates.hpp"

namespace wa {

constexpr std::size_t kMaxInboxBodyBytes = 64 * 1024;
constexpr std::size_t kMaxInboxLimit = 100;
constexpr std::size_t kDefaultInboxLimit = 20;
constexpr std::size_t kMaxSearchChars = 100;

// -- routes ----------------------------------------------------------------------------------

enum class InboxRoute {
    list,           // GET conversations
    get,            // GET conversations/:id
    patch,          // PATCH conversations/:id
    send_text,      // POST conversations/:id/messages
    send_template,  // POST messages/template
};

struct InboxPath {
    std::optional<InboxRoute> route;   // nullopt: no such endpoint (404)
    bool method_allowed = true;        // false: the path exists, not with this method (405)
    std::string allow;                 // the Allow header for a 405
    std::optional<Uuid> conversation;  // get/patch/send_text; nullopt for an id that is no conv_
};

// rest: the URI after the location's prefix ("conversations/conv_..."),
// method: "GET", "POST", "PATCH".
InboxPath route_inbox(std::string_view rest, std::string_view method);

// -- query strings ---------------------------------------------------------------------------

struct ListParams {
    ConversationFilter filter;
    bool assigned_me = false;  // assigned=me: the caller fills filter.assignee with the key's name
    std::size_t limit = kDefaultInboxLimit;
    std::string cursor;  // as sent; empty: the first page
};

struct GetParams {
    std::size_t limit = kDefaultInboxLimit;
    std::optional<Uuid> before;  // an im_/tx_ id
};

// invalid_request 400 (param = the parameter) for: a parameter not of the
// endpoint, one given twice, a bad %-escape, a control character, status
// or mode outside their values, assigned other than me/unassigned, search
// over 100 characters, limit not 1-100 in decimal, before not an im_/tx_ id.
Outcome<ListParams, ReplyError> parse_list_query(std::string_view args);
Outcome<GetParams, ReplyError> parse_get_query(std::string_view args);

// -- cursors ---------------------------------------------------------------------------------

// Opaque: base64url of the position, bound by an HMAC (keyed with the API
// key's digest) to the key and the filters it was made for. Anything else
// (tampered, truncated, another key's, other filters) is 400 invalid_cursor.
std::string encode_cursor(const ListPosition& pos, const ApiKey& key,
                          const ConversationFilter& filter);
Outcome<ListPosition, ReplyError> decode_cursor(std::string_view cursor, const ApiKey& key,
                                                const ConversationFilter& filter);

// -- bodies ----------------------------------------------------------------------------------

// Every body: at most 64 KB of strict JSON, an object with only the
// endpoint's fields, each of its type (invalid_request 400, param = field).

// {status?, mode?, assignee?: string | null}; at least one of them.
Outcome<ConversationPatch, ReplyError> parse_patch_body(std::string_view body);

// {text}: 1-4096 characters, not blank (missing_text 400 when blank).
Outcome<SendRequest, ReplyError> parse_text_send(std::string_view body, const Uuid& conversation);

struct TemplateSendBody {
    std::string number_id, phone, template_key, customer_name;
    TemplateVariables variables;
};
// {business_whatsapp_number_id, phone, template_key, customer_name?,
// variables?: {string: string}}; phone must be E.164 (invalid_phone_number).
Outcome<TemplateSendBody, ReplyError> parse_template_send(std::string_view body);

// Against the configuration: the number (its phone_number_id or E.164)
// must be the tenant's (else 404 not_found, as an unknown one); the
// template the tenant's (404 not_found); variables exactly the template's
// (400 invalid_variables naming the variable).
Outcome<SendRequest, ReplyError> template_send_request(const TemplateSendBody& body,
                                                       const TemplateDirectory& templates,
                                                       const NumberDirectory& numbers,
                                                       std::string_view tenant);

// -- errors ----------------------------------------------------------------------------------

ReplyError inbox_not_found(std::string message = "conversation not found");
ReplyError inbox_unauthorized(KeyCheck check);  // 401 unauthorized / 403 forbidden
// The store's refusals, as the inbox words them (another tenant's
// conversation is not_found, like an unknown one).
ReplyError inbox_refusal(SendRefusal refusal);
// {"message","code"}
std::string inbox_error_json(const ReplyError& error);

// -- answers ---------------------------------------------------------------------------------

// A conversation as listed: its last message when it has one.
struct ConversationView {
    Conversation conversation;
    std::optional<Message> last_message;
};

// c with its newest message, read in txn.
Result<ConversationView> conversation_view(Txn& txn, Conversation c);

std::string list_json(const std::vector<ConversationView>& page, std::string_view next_cursor);
// messages: nullptr leaves "messages" out (a key without messaging:messages:read).
std::string conversation_json(const ConversationView& view, const std::vector<Message>* messages,
                              std::string_view what);
// The conversation object of the two answers above, for other documents
// (whatsapp-admin --json): with "messages" unless messages is nullptr.
void write_conversation(JsonWriter& w, const ConversationView& view,
                        const std::vector<Message>* messages);
// The 201 of a send Meta accepted: the created message.
std::string sent_json(std::string_view message_id, std::string_view conversation_id,
                      const SendRequest& send, std::int64_t created_at_ns);

// The message fields of §7.2, as shown.
std::string_view delivery_status(const Message& m);

}  // namespace wa

// The one send path (SPEC §6.2 rows 7-10, §6.3), for every dialect: what the
// store must say before the Graph call, the Graph body, and what each of the
// three outcomes leaves in the store. A dialect's codec (api/) turns its
// request into a SendRequest and an outcome into its own answer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/ids.hpp"
#include "base/result.hpp"
#include "domain/api_keys.hpp"
#include "domain/numbers.hpp"
#include "domain/outbox.hpp"
#include "meta/graph_message.hpp"
#include "store/records.hpp"
#include "store/store.hpp"

namespace wa {

// Who sends: the API key's tenant, and the one conversation a
// conversation= key is limited to.
struct SendScope {
    std::string tenant;
    std::optional<Uuid> conversation;
    static SendScope of(const ApiKey& key);
    bool allows(const Conversation& c) const;
};

// What to send, and where: a text, a template or a media message (the
// Graph body of each in meta/graph_message), quoting the inbound message it
// replies to. check_send knows the reply's rules (rows 7-9); the template
// sends of §6.4/§7.3, which need no window, join it, not beside it.
//
// Three kinds: a reply names the inbound message it quotes (reply_to, which
// gives the conversation); a conversation message names the conversation
// (the inbox's, SPEC §7.3) and goes to its customer; a new message names
// the number it goes from (sender) and reaches `to` in their conversation,
// created when they never spoke. Only a template may go outside the window
// (SPEC §6.4, WHATSAPP.md §5.5).
struct SendRequest {
    SendScope scope;
    std::optional<Uuid> reply_to;      // the inbound message quoted (im_); nullopt: refused (row 7)
    std::string reply_to_text;         // the client's reply_to as sent, stored on the message
    std::optional<Uuid> conversation;  // a conversation message: in this one
    const NumberConfig* sender = nullptr;  // a new message: from this number (no reply_to)
    std::string to;                        // the recipient the client named
    // A conversation message: the number the client expects it to go from
    // (its phone_number_id); empty: not named. A mismatch, like a `to`
    // that is not the customer, is recipient_mismatch.
    std::string phone_number_id;
    std::string customer_name;   // a new message: the name of a conversation it starts
    GraphContent content;        // content.text: the text (or a media caption)
    std::string callback_url;    // empty: the number's callback
    std::string correlation_id;  // empty: none
};

// Why the store refuses a send before Meta is called, in §6.2's order.
enum class SendRefusal {
    no_such_message,     // 7: unknown, not inbound, another tenant's: no existence leak
                         // (a conversation message: no such conversation, alike)
    recipient_mismatch,  // 8: to is not the conversation's customer
    window_closed,       // 9: the window closed at or before now
    no_credit,           // 10: the number's credits are used up
    outside_scope,       // a conversation= key sending to anyone else
};

// Where a send goes, as the store saw it before the send.
struct SendTarget {
    const NumberConfig* number = nullptr;  // the conversation's business number
    Uuid conversation{};                   // zero: none yet, created by record_send
    std::string conversation_id;           // conv_...
    std::string to;                        // the recipient: the conversation's customer, or `to`
    std::string context_wamid;             // the quoted inbound message's wamid
    std::int64_t window_expires_at_ns = 0;
};

// Rows 7-9 for a reply, in a read (or write) transaction; for a new
// message, its conversation (if any), the window unless it is a template,
// and the key's scope. Row 10 needs the sends in flight, known only to
// the caller, and a fresh read of the store: see take_credit. Once row 7
// passed, target describes the conversation even when a later row fails
// (for logs and $whatsapp_* variables).
struct SendCheck {
    std::optional<SendRefusal> refusal;
    SendTarget target;
    bool ok() const { return !refusal; }
};
Result<SendCheck> check_send(Txn& txn, const SendRequest& request, const NumberDirectory& numbers,
                             std::int64_t now_ns);

// The number a tenant's new message goes from: `from` (its E.164) when
// given, else the tenant's only number. nullptr when `from` is not one of
// the tenant's numbers, or the tenant has none or several and named none.
const NumberConfig* choose_sender(const NumberDirectory& numbers, std::string_view tenant,
                                  std::string_view from);

// Row 10: a number without credits is unlimited; otherwise the counted
// sends plus those in flight must stay below its credits.
bool credit_available(const NumberConfig& number, std::uint64_t used, std::uint64_t in_flight);

// Sends of a number counted against its credits (Db::meta "credits_used/<e164>").
Result<std::uint64_t> credits_used(Txn& txn, std::string_view number_e164);

// A number's sends in flight in every process (shared memory in nginx):
// what row 10 counts beside the store until each send's result commits.
class CreditHolds {
public:
    virtual ~CreditHolds() = default;
    // Between lock() and unlock() no other process takes a hold.
    virtual void lock() = 0;
    virtual void unlock() = 0;
    virtual std::uint64_t in_flight() = 0;
    // One more; the caller drops it once the send's result is committed
    // (so its credit is in the store first) or it failed.
    virtual void hold() = 0;
};

// Row 10 judged now for a number with credits and, when one is free, held
// (true). Under the holds' lock, so two processes never both take the last
// credit; the holds are counted before the store is read, so a send that
// commits and drops its hold meanwhile is in the snapshot. (One that
// commits between the two is counted twice until its hold drops: a
// refusal on the safe side, for that moment.)
Result<bool> take_credit(Store& store, const NumberConfig& number, CreditHolds& holds);

// One more (for a number with credits): a send Meta accepted or may have.
Result<void> count_credit(Txn& txn, const NumberConfig& number);

// A send about to go out: its tx_ id exists before Meta is called, so that
// Meta can echo it (biz_opaque_callback_data) and a lost answer be linked.
struct PreparedSend {
    Uuid id{};
    std::string message_id;  // tx_...
    std::string graph_body;
};
PreparedSend prepare_send(const SendRequest& request, const SendTarget& target);

// §6.3: every send ends in exactly one of these.
enum class SendOutcome {
    accepted,  // Meta answered with a wamid
    not_sent,  // Meta answered with an error, or the request was never written
    unknown,   // written, and no answer: Meta may have it
};

// The outcome of one Graph exchange: status is what Meta answered (0: no
// answer at all), written whether nginx wrote the request to Meta, graph the
// parsed answer (when status > 0).
SendOutcome send_outcome(int status, bool written, const GraphResult& graph);

struct RecordedSend {
    std::string message_id;       // tx_...
    std::string conversation_id;  // conv_..., created by the send for a new message
    std::int64_t created_at_ns = 0;
    std::int64_t window_expires_at_ns = 0;
    // transactional.message.created when it heads its conversation's queue,
    // leased to the caller to send now.
    std::vector<Delivery> deliveries;
};

// Accepted (wamid non-empty): the outbound message with status "created",
// tx_ <-> wamid, a credit counted, transactional.message.created enqueued for
// the request's callback_url, else the number's.
// Unknown (wamid empty): the message with status "unknown" and no wamid, the
// credit counted (held until Meta says), no event: link_unknown_send turns it
// into an accepted one when a status webhook names its tx_ id.
// uploaded_media_id: the media id Meta's media endpoint returned to the
// gateway's own upload of this message's file (never one a client named),
// noted as the sender tenant's in the same transaction (domain/media.hpp
// note_sent_media), so that it may download what it sent; request.content
// carries it as its media_id.
Result<RecordedSend> record_send(Txn& txn, const SendTarget& target, const SendRequest& request,
                                 const PreparedSend& prepared, std::string_view wamid,
                                 const DeliveryPolicy& policy, std::int64_t now_ns,
                                 std::string_view uploaded_media_id = {});

// The conversation a send records into: the target's, or for a new message
// the (number, to) one, created when they never spoke (its pair index
// written; the caller writes the conversation).
Result<Conversation> send_conversation(Txn& txn, const SendTarget& target,
                                       const SendRequest& request, std::int64_t now_ns);

// The outbound message record of a send (no wamid yet).
Message outbound_message(const Conversation& c, const SendRequest& request,
                         const PreparedSend& prepared, std::string_view status,
                         std::int64_t now_ns);

// What Meta's answer leaves for an outbound message msg of conversation c
// (record_send's second half, shared with scheduled sends): "created" with
// its wamid mapped, or "unknown" for an empty wamid; a credit counted; c's
// last outbound time; transactional.message.created for an accepted one.
// fresh: msg is new (added with add_message), else it is stored already (a
// scheduled send's) and only rewritten.
Result<RecordedSend> record_outcome(Txn& txn, Conversation& c, Message& msg, bool fresh,
                                    const NumberConfig& number, std::string_view wamid,
                                    const DeliveryPolicy& policy, std::int64_t now_ns);

// The transactional.message.<msg.status> event of an outbound message, to
// its callback_url (else the number's), queued after the conversation's
// other events; c is written back. with_error adds Meta's error fields.
// A queue head comes back leased, for the caller to send now.
Result<std::optional<Delivery>> enqueue_status_event(Txn& txn, Conversation& c, const Message& msg,
                                                     const NumberConfig& number, bool with_error,
                                                     const DeliveryPolicy& policy,
                                                     std::int64_t now_ns);

// Meta refused the send with 131047: the window is closed as of now.
// Returns the window's new end.
Result<std::int64_t> close_window_after_send(Txn& txn, const Uuid& conversation,
                                             std::int64_t now_ns);

// A status webhook for a wamid we do not know, carrying callback_data (our
// tx_ id): when that names a send whose outcome was unknown, it is accepted
// now — the wamid is linked, status "created", transactional.message.created
// enqueued — and returned so the status itself is applied next. nullopt when
// callback_data names no such send.
Result<std::optional<Message>> link_unknown_send(Txn& txn, std::string_view callback_data,
                                                 std::string_view wamid, const NumberConfig& number,
                                                 const DeliveryPolicy& policy, std::int64_t now_ns,
                                                 std::vector<Delivery>& deliveries);

// §6.3: sends whose outcome stayed unknown (status "unknown": written to
// Meta, no answer, no status webhook naming them since), created before
// created_before_ns, oldest first, up to limit. Reads every message: for
// whatsapp-admin, never for a request.
Result<std::vector<Message>> unknown_sends(Txn& txn, std::int64_t created_before_ns,
                                           std::size_t limit);

}  // namespace wa

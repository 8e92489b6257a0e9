// The sends of every dialect, through one pipeline in §6.2's order: key ->
// body -> Idempotency-Key claim -> request checks (the endpoint's codec) ->
// callback host resolution -> store checks -> credit hold -> the one send
// path (graph_send) -> record (group commit) -> answer, which an
// Idempotency-Key keeps for replays. The Prelude dialect's locations
// (whatsapp_reply; whatsapp_notify: send, /batch, /reply) and Pipes' REST
// send (whatsapp_send) start here; the inbox's sends come from
// messaging_api.cpp, a socket's replies from stream_api.cpp. Each
// endpoint's codec (api/) reads its body and words its answers; nothing
// else differs but a REST send's media: a link is judged by the SSRF guard
// with the request's checks, a file given as base64 is uploaded to Meta
// after the store's checks, just before the Graph send.
#include "send_api.hpp"

#include <algorithm>
#include <functional>
#include <memory>
#include <random>

#include "api/messaging.hpp"
#include "api/pipes.hpp"
#include "api/prelude.hpp"
#include "api/prelude_notify.hpp"
#include "base/clock.hpp"
#include "base/phone.hpp"
#include "base/text.hpp"
#include "callback_host.hpp"
#include "commit.hpp"
#include "conf.hpp"
#include "credits.hpp"
#include "delivery.hpp"
#include "media_upload.hpp"
#include "domain/idempotency.hpp"
#include "domain/pacing.hpp"
#include "domain/scheduled.hpp"
#include "domain/send.hpp"
#include "graph_send.hpp"
#include "metrics.hpp"
#include "pacing.hpp"
#include "state.hpp"
#include "variables.hpp"

namespace wa::ngx {

namespace {

// The endpoints; each names its Idempotency-Key fingerprints.
enum class Endpoint {
    reply,
    notify,
    batch,
    inbox_text,
    inbox_template,
    socket_reply,
    pipes_send,
};

std::string_view endpoint_name(Endpoint e) {
    switch (e) {
        case Endpoint::reply: return "prelude.reply";
        case Endpoint::notify: return "prelude.notify";
        case Endpoint::batch: return "prelude.notify.batch";
        case Endpoint::inbox_text: return "inbox.text";
        case Endpoint::inbox_template: return "inbox.template";
        case Endpoint::socket_reply: return "pipes.reply";
        case Endpoint::pipes_send: return "pipes.send";
    }
    return {};
}

bool is_inbox(Endpoint e) { return e == Endpoint::inbox_text || e == Endpoint::inbox_template; }

// A reply made for a socket (SPEC §8.1): its pipeline runs in a request of
// its own, whose answer is a reply_status frame handed to done; released
// from a posted event, after nginx is done with the request.
struct SocketReply {
    BackgroundRequest background;
    SocketAnswer done;
    bool answered = false;
    OwnEvent release;
};

void release_socket_reply(ngx_event_t* ev) noexcept {
    auto* s = static_cast<SocketReply*>(static_cast<ngx_connection_t*>(ev->data)->data);
    s->background.release();
    delete s;
}

void socket_answer(SocketReply& s, std::string frame) {
    if (s.answered) return;
    s.answered = true;
    try {
        s.done(std::move(frame));
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0, "whatsapp stream reply: %s", e.what());
    }
}

// Graph sends of one batch in flight at once.
constexpr std::size_t kBatchConcurrency = 16;

// One recipient of a batch, through the same steps as a single send.
struct BatchJob {
    enum class Step { waiting, sending, recording, done } step = Step::waiting;
    SendRequest send;
    SendTarget target;
    PreparedSend prepared;
    std::shared_ptr<CreditHold> credit;
    GraphExchange graph;
    BatchResult result;
};

// The client's Idempotency-Key while this request holds it.
struct HeldKey {
    std::string tenant;
    std::string key;
    std::uint64_t owner = 0;
    bool held = false;
};

// Everything one reply needs between its asynchronous steps; lives in the
// request pool (pool_new), so a terminated request takes it along.
struct ReplyState {
    std::shared_ptr<PendingRequest> pending;
    std::shared_ptr<const ApiKeys> keys;  // keeps key valid
    const ApiKey* key = nullptr;
    Endpoint endpoint = Endpoint::reply;
    Uuid conversation{};         // Endpoint::inbox_text
    ReplyRequest request;        // Endpoint::reply
    NotifyRequest notify;        // Endpoint::notify, Endpoint::batch
    std::vector<BatchJob> jobs;  // Endpoint::batch: sized once, never moved
    std::size_t next_job = 0, sending = 0;
    // A send for later (schedule_at ahead when the request was read): decided
    // once, so that its credit, send and record all agree.
    bool later = false;
    // The URL of the request that the SSRF guard judges (check_url's
    // verdict), its host resolved when it is a name: a Prelude endpoint's
    // callback_url, or a REST send's media link.
    bool has_guarded_url = false;
    CallbackTarget guarded_url;
    PipesSend pipes;                // Endpoint::pipes_send
    std::string uploaded_media_id;  // Endpoint::pipes_send: what Meta gave our upload
    SendRequest send;
    SendTarget target;
    PreparedSend prepared;
    std::shared_ptr<CreditHold> credit;
    HostCheck* resolving = nullptr;  // guarded_url's host being checked
    GraphExchange graph;
    bool graph_handled = false;
    HeldKey idempotency;
    SocketReply* socket = nullptr;   // Endpoint::socket_reply
    std::string conversation_named;  // as the client named it (socket answers)
    // A batch whose next recipient waits for the number's rate.
    OwnEvent paced;

    ~ReplyState();
};

// A request that ends without an answer (the client left) frees its key:
// nothing was decided that a retry must see.
void release_key(HeldKey& k) {
    if (!k.held || worker() == nullptr) return;
    k.held = false;
    submit([k](Txn& txn) { return idempotency_release(txn, k.tenant, k.key, k.owner); },
           [](const Result<void>&) {});
}

ReplyState::~ReplyState() {
    if (resolving) resolving->cancel();
    if (paced.ev.timer_set) ngx_del_timer(&paced.ev);
    release_key(idempotency);
}

ReplyState* state_of(ngx_http_request_t* r) {
    auto* ctx = request_ctx(r);
    return ctx ? static_cast<ReplyState*>(ctx->send_state) : nullptr;
}

std::string request_id(ngx_http_request_t* r) {
    if (log_id(r).empty()) tag_request_log(r);
    return std::string(log_id(r));
}

// -- answers -----------------------------------------------------------------------------------

// What the client is told, as an Idempotency-Key keeps it.
struct Answer {
    int status = 200;
    std::string body;
    AnswerHeaders headers;
    std::string code = "ok";  // for the metrics and $whatsapp_error
};

// The endpoint's dialect words it: Prelude's body and x-should-retry (what
// its SDK obeys), the inbox's envelope, or a socket's reply_status frame.
Answer error_answer(const ReplyError& e, std::string_view request_id,
                    Endpoint endpoint = Endpoint::reply, std::string_view conversation = {}) {
    Answer a;
    a.status = e.http_status;
    a.code = e.code;
    if (endpoint == Endpoint::socket_reply) {
        PipesError p = pipes_error_of(e);
        p.conversation_id = conversation;
        a.body = reply_status_error(p);
        return a;
    }
    if (endpoint == Endpoint::pipes_send) {
        PipesError p = pipes_error_of(e);
        a.status = p.http_status;
        a.body = pipes_error_json(p);
        if (p.retry_after_s > 0) {
            a.headers.emplace_back("Retry-After", std::to_string(p.retry_after_s));
        }
        return a;
    }
    bool inbox = is_inbox(endpoint);
    a.body = inbox ? inbox_error_json(e) : reply_error_json(e, request_id);
    if (e.retry_after_s > 0) a.headers.emplace_back("Retry-After", std::to_string(e.retry_after_s));
    if (!inbox) a.headers.emplace_back("x-should-retry", e.should_retry() ? "true" : "false");
    return a;
}

// Ends the request: a socket's is released (its answer given, or an
// internal error said), a client's finalized with rc.
void end_request(ngx_http_request_t* r, ngx_int_t rc) {
    ReplyState* st = state_of(r);
    if (st == nullptr || st->socket == nullptr) return ngx_http_finalize_request(r, rc);
    SocketReply& s = *st->socket;
    if (!s.answered) {
        PipesError p = pipes_error_of(ReplyError{500, "internal_error", "the reply failed"});
        p.conversation_id = st->conversation_named;
        socket_answer(s, reply_status_error(p));
    }
    s.release.post();
}

// st: the pipeline's state, when r is the pipeline's request (a guard's or
// an early refusal's is not: their handler state is another's).
ngx_int_t send_answer(ngx_http_request_t* r, const Answer& a, bool replayed = false,
                      ReplyState* st = nullptr) {
    if (!replayed) count_reply(a.code);
    if (st != nullptr && st->socket != nullptr) {
        socket_answer(*st->socket, a.body);
        return NGX_DONE;
    }
    if (a.code != "ok") {
        if (RequestCtx* ctx = request_ctx(r)) ctx->error = pool_str(r->pool, a.code);
    }
    for (const auto& [name, value] : a.headers) {
        if (!add_header_out(r, name, value)) return NGX_ERROR;
    }
    if (replayed) count(Counter::idempotency_replays);
    if (replayed && !add_header_out(r, "Idempotent-Replayed", "true")) return NGX_ERROR;
    return send_body(r, static_cast<ngx_uint_t>(a.status), "application/json", a.body);
}

void answer_now(ngx_http_request_t* r, const Answer& a) {
    ngx_connection_t* c = r->connection;
    end_request(r, send_answer(r, a, false, state_of(r)));
    ngx_http_run_posted_requests(c);
}

// Answers, first keeping the answer for the request's Idempotency-Key; a
// 503 (nothing decided, the store failing) frees the key instead.
void respond(ngx_http_request_t* r, Answer a) {
    ReplyState* st = state_of(r);
    if (st == nullptr || !st->idempotency.held || worker() == nullptr) {
        return end_request(r, send_answer(r, a, false, st));
    }
    HeldKey k = st->idempotency;
    st->idempotency.held = false;
    auto answer = std::make_shared<Answer>(std::move(a));
    bool keep = answer->status != 503;
    submit(
        [k, answer, keep](Txn& txn) {
            if (!keep) return idempotency_release(txn, k.tenant, k.key, k.owner);
            return idempotency_complete(txn, k.tenant, k.key, k.owner, answer->status, answer->body,
                                        answer->headers);
        },
        [pending = st->pending, answer](const Result<void>& committed) {
            if (!committed) {
                ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                              "whatsapp reply: Idempotency-Key answer not kept: %s",
                              log_escape(committed.error().message).c_str());
            }
            if (pending->alive) answer_now(pending->r, *answer);
        });
}

void finish(ngx_http_request_t* r, const ReplyError& e) {
    ReplyState* st = state_of(r);
    respond(r, st ? error_answer(e, request_id(r), st->endpoint, st->conversation_named)
                  : error_answer(e, request_id(r)));
}

ReplyError store_unavailable() {
    return ReplyError{503, "store_unavailable", "the store is unavailable; retry later"};
}

void note_target(ngx_http_request_t* r, const SendTarget& target) {
    RequestCtx* ctx = request_ctx(r);
    if (ctx == nullptr || target.conversation_id.empty()) return;
    ctx->conversation_id = pool_str(r->pool, target.conversation_id);
    ctx->window_expires_at = pool_str(r->pool, rfc3339_ns(target.window_expires_at_ns));
}

// -- after Meta answered (or did not) ----------------------------------------------------------

// What a recorded send (accepted or unknown) tells the client, computed
// where the record is written so that an Idempotency-Key keeps it with it.
struct Recorded {
    RecordedSend send;
    Answer answer;
};

void answer_recorded(const PendingRequest& pending, Recorded& rec, HeldKey key,
                     const Result<void>& committed) {
    if (committed) {
        for (Delivery& d : rec.send.deliveries)
            deliver(std::move(d));
    }
    if (!pending.alive) {
        // The key's answer was not kept with the record: free it.
        if (!committed) release_key(key);
        return;
    }
    ngx_http_request_t* r = pending.r;
    if (!committed) {
        // Meta has (or may have) the message; only our record of it is missing.
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "whatsapp reply: %s sent to WhatsApp but not stored: %s",
                      rec.send.message_id.c_str(), log_escape(committed.error().message).c_str());
        // The 503 frees the key (respond): it still holds it in the store.
        if (ReplyState* st = state_of(r)) st->idempotency = key;
        return finish(r, store_unavailable());
    }
    if (RequestCtx* ctx = request_ctx(r)) {
        ctx->message_id = pool_str(r->pool, rec.send.message_id);
        ctx->conversation_id = pool_str(r->pool, rec.send.conversation_id);
        ctx->window_expires_at = pool_str(r->pool, rfc3339_ns(rec.send.window_expires_at_ns));
    }
    answer_now(r, rec.answer);
}

// A send to be made later (decided once, when the body was read).
bool scheduled(const ReplyState& st) { return st.later; }

// The endpoint's answer for a send once recorded: it runs where the record
// is written (the state may be gone by then), so it owns a copy of the
// request.
using OkAnswer = std::function<Answer(const RecordedSend& sent)>;

// Called once, when the send is recorded: the request is the answer's now.
OkAnswer ok_answer_of(ReplyState& st) {
    if (st.endpoint == Endpoint::socket_reply) {
        return [conversation = st.conversation_named](const RecordedSend& sent) {
            return Answer{200, reply_status_ok(conversation, sent.message_id), {}, "ok"};
        };
    }
    if (st.endpoint == Endpoint::pipes_send) {
        return [](const RecordedSend& sent) {
            return Answer{200, rest_send_ok_json(sent.message_id, sent.conversation_id), {}, "ok"};
        };
    }
    if (is_inbox(st.endpoint)) {
        return [send = st.send](const RecordedSend& sent) {
            return Answer{
                201,
                sent_json(sent.message_id, sent.conversation_id, send, sent.created_at_ns),
                {},
                "ok"};
        };
    }
    if (st.endpoint == Endpoint::notify) {
        std::string from = st.target.number ? st.target.number->e164 : std::string();
        return [request = st.notify, from](const RecordedSend& sent) {
            return Answer{200,
                          notify_response_json(sent.message_id, request, from, sent.created_at_ns),
                          {},
                          "ok"};
        };
    }
    return [request = std::move(st.request)](const RecordedSend& sent) {
        return Answer{
            200, reply_response_json(sent.message_id, request, sent.created_at_ns), {}, "ok"};
    };
}

// Accepted (wamid) or unknown (no wamid): the record, the answer and the
// Idempotency-Key's copy of it commit together.
void record_and_answer(ngx_http_request_t* r, ReplyState& st, std::string wamid) {
    Worker* w = worker();
    if (w == nullptr) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "whatsapp reply: %s sent to WhatsApp (%s) but the store is closed",
                      st.prepared.message_id.c_str(), log_escape(wamid).c_str());
        return finish(r, store_unavailable());
    }
    // The state lives in the request pool; what the commit needs is moved
    // or shared, since the client may be gone by then (the answer's words
    // first: they copy from the request).
    auto ok_answer = std::make_shared<OkAnswer>(ok_answer_of(st));
    auto target = std::make_shared<SendTarget>(std::move(st.target));
    auto send = std::make_shared<SendRequest>(std::move(st.send));
    Endpoint endpoint = st.endpoint;
    std::string conversation_named = st.conversation_named;
    auto prepared = std::make_shared<PreparedSend>(st.prepared);
    HeldKey key = st.idempotency;
    st.idempotency.held = false;
    std::string uploaded = st.uploaded_media_id;
    DeliveryPolicy policy = w->conf->policy;
    std::shared_ptr<CreditHold> credit = st.credit;  // released after the commit
    // A send for later is stored instead, and made by scheduled_sends.cpp.
    std::int64_t schedule_at = scheduled(st) ? st.notify.schedule_at_ns : 0;
    std::int64_t expires_at = notify_expires_at(st.notify, now_ns());
    // Only an unknown outcome's answer names the request ($request_id costs).
    bool unknown = wamid.empty() && !schedule_at;
    std::string rid = unknown ? request_id(r) : std::string();
    submit_for<Recorded>(
        [=, wamid = std::move(wamid)](Txn& txn) -> Result<Recorded> {
            auto sent = schedule_at ? schedule_send(txn, *target, *send, *prepared, schedule_at,
                                                    expires_at, now_ns())
                                    : record_send(txn, *target, *send, *prepared, wamid, policy,
                                                  now_ns(), uploaded);
            if (!sent) return sent.error();
            Recorded rec{std::move(*sent), {}};
            rec.answer = unknown ? error_answer(reply_unknown(rec.send.message_id), rid, endpoint,
                                                conversation_named)
                                 : (*ok_answer)(rec.send);
            if (key.held) {
                auto kept =
                    idempotency_complete(txn, key.tenant, key.key, key.owner, rec.answer.status,
                                         rec.answer.body, rec.answer.headers);
                if (!kept) return kept.error();
            }
            return rec;
        },
        [pending = st.pending, credit, key](const Result<void>& committed, Recorded& rec) mutable {
            credit.reset();
            answer_recorded(*pending, rec, key, committed);
        });
}

// Meta says the window is closed: so do we, before answering.
void close_window_and_answer(ngx_http_request_t* r, ReplyState& st, ReplyError error) {
    if (worker() == nullptr) return finish(r, error);
    auto conversation = st.target.conversation;
    submit_for<std::int64_t>(
        [conversation](Txn& txn) { return close_window_after_send(txn, conversation, now_ns()); },
        [pending = st.pending, error = std::move(error)](const Result<void>& committed,
                                                         std::int64_t& end) {
            if (!committed) {
                ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                              "whatsapp reply: window not closed: %s",
                              log_escape(committed.error().message).c_str());
            }
            if (!pending->alive) return;
            ngx_http_request_t* r = pending->r;
            ngx_connection_t* c = r->connection;
            if (committed) {
                if (RequestCtx* ctx = request_ctx(r)) {
                    ctx->window_expires_at = pool_str(r->pool, rfc3339_ns(end));
                }
            }
            finish(r, error);
            ngx_http_run_posted_requests(c);
        });
}

void graph_answered(ngx_http_request_t* r) noexcept {
    ReplyState* st = state_of(r);
    if (st == nullptr || !st->graph.done || st->graph_handled) return;
    st->graph_handled = true;
    try {
        GraphResult g = st->graph.result();
        switch (st->graph.outcome(g)) {
            case SendOutcome::accepted:
                count_graph(g);
                return record_and_answer(r, *st, std::move(g.wamid));
            case SendOutcome::unknown:
                count_graph(g);
                ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                              "whatsapp reply: no answer from the Graph API after the request was "
                              "written: %s is recorded as unknown",
                              st->prepared.message_id.c_str());
                return record_and_answer(r, *st, {});
            case SendOutcome::not_sent: break;
        }
        st->credit.reset();
        if (st->graph.status == 0) {
            count_graph(g);
            return finish(r, reply_not_sent());
        }
        count_graph(g);
        ngx_uint_t level = g.outcome == GraphOutcome::failed ? NGX_LOG_ERR : NGX_LOG_INFO;
        // Meta's text may echo the access token (an error 190 does).
        ngx_log_error(level, r->connection->log, 0,
                      "whatsapp reply: Graph API answered %d, error %L \"%s\" (fbtrace_id %s)",
                      st->graph.status, static_cast<std::int64_t>(g.meta.code),
                      log_escape(redact_tokens(g.meta.message)).c_str(),
                      log_escape(g.meta.fbtrace_id).c_str());
        ReplyError error = reply_error_from_graph(g);
        if (g.outcome == GraphOutcome::window_closed) {
            return close_window_and_answer(r, *st, std::move(error));
        }
        finish(r, error);
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "whatsapp reply: %s", e.what());
        end_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}

// Rows 7-10, then the send.
std::size_t number_index(const NumberConfig& n) {
    return static_cast<std::size_t>(&n - worker()->conf->numbers.all().data());
}

// Rows 7-10 for one send, against the store: its target (filled once row 7
// passed, also when a later row refuses) and, unless hold_credit is false,
// the credit it holds while it is made. The error is the client's answer.
std::optional<ReplyError> check_target(ngx_log_t* log, const SendRequest& send, bool hold_credit,
                                       bool inbox, SendTarget& target,
                                       std::shared_ptr<CreditHold>& credit) {
    auto refusal = [inbox](SendRefusal r) {
        return inbox ? inbox_refusal(r) : reply_error(reply_failure(r));
    };
    Worker* w = worker();
    if (w == nullptr) return store_unavailable();
    auto txn = w->store->begin_read();
    if (!txn) return store_unavailable();
    auto checked = check_send(*txn, send, w->conf->numbers, now_ns());
    txn->abort();
    if (!checked) {
        ngx_log_error(NGX_LOG_ERR, log, 0, "whatsapp send: %s",
                      log_escape(checked.error().message).c_str());
        return store_unavailable();
    }
    target = std::move(checked->target);
    if (!checked->ok()) return refusal(*checked->refusal);
    const NumberConfig& number = *target.number;
    if (number.credits >= 0 && hold_credit) {
        auto taken = credit_take(number, number_index(number));
        if (!taken) {
            ngx_log_error(NGX_LOG_ERR, log, 0, "whatsapp send: %s",
                          log_escape(taken.error().message).c_str());
            return store_unavailable();
        }
        if (*taken == nullptr) return refusal(SendRefusal::no_credit);
        credit = std::move(*taken);
    }
    return std::nullopt;
}

// The Graph send of st.send, its tx_ id made now.
void send_prepared(ngx_http_request_t* r, ReplyState& st) {
    st.prepared = prepare_send(st.send, st.target);
    if (!graph_send(r, *st.target.number, st.prepared.graph_body, &st.graph, graph_answered)) {
        end_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}

// A REST send's file given as base64 (SPEC §8.3). A file Meta refuses is the
// client's to fix (400 with Meta's reason); any other failure sent nothing
// and may be retried (502): an upload that was written and got no answer
// leaves at most an unused copy at Meta, never a message.
ReplyError upload_failure(const Error& e) {
    if (e.code == kUploadRefused) {
        return ReplyError{400, "invalid_request", "Meta refused the media: " + e.message, "media"};
    }
    return ReplyError{
        502, "upstream_error",
        e.code == kUploadNoAnswer
            ? "the WhatsApp API did not answer the media upload; nothing was sent"
            : "the media could not be uploaded to the WhatsApp API; nothing was sent"};
}

void media_uploaded(ngx_http_request_t* r, Result<std::string> media_id) {
    ReplyState* st = state_of(r);
    if (st == nullptr) return ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    try {
        if (!media_id) {
            st->credit.reset();
            return finish(r, upload_failure(media_id.error()));
        }
        st->uploaded_media_id = std::move(*media_id);
        st->send.content = pipes_content(st->pipes, st->uploaded_media_id);
        send_prepared(r, *st);
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "whatsapp send: %s", e.what());
        end_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}

// The file goes to the conversation's number (its token, its
// phone_number_id), then the message that names it.
void upload_and_send(ngx_http_request_t* r, ReplyState& st) {
    std::string bytes = std::move(st.pipes.media_bytes);
    upload_media(r, *st.target.number, std::move(bytes), st.pipes.mime_type, st.pipes.file_name,
                 media_uploaded);
}

// Rows 7-10, then the send (or, for later, its record).
void check_target_and_send(ngx_http_request_t* r, ReplyState& st) {
    // A scheduled send's credit is judged when it is made.
    auto refused = check_target(r->connection->log, st.send, !scheduled(st), is_inbox(st.endpoint),
                                st.target, st.credit);
    note_target(r, st.target);
    if (refused) return finish(r, *refused);
    if (scheduled(st)) {
        st.prepared = prepare_send(st.send, st.target);
        return record_and_answer(r, st, {});
    }
    if (auto wait = pacing_take(*st.target.number, number_index(*st.target.number))) {
        st.credit.reset();
        return finish(r, reply_paced(retry_after_seconds(*wait)));
    }
    if (st.endpoint == Endpoint::pipes_send && st.pipes.media == PipesMediaSource::upload) {
        return upload_and_send(r, st);
    }
    send_prepared(r, st);
}

// -- batches -----------------------------------------------------------------------------------

void pump_batch(ngx_http_request_t* r, ReplyState& st);

void job_failed(BatchJob& job, ReplyError error) {
    job.credit.reset();
    job.result.success = false;
    job.result.error = std::move(error);
    job.step = BatchJob::Step::done;
}

void batch_answered(ngx_http_request_t* r, ReplyState& st) {
    std::vector<BatchResult> results;
    results.reserve(st.jobs.size());
    for (const BatchJob& job : st.jobs)
        results.push_back(job.result);
    Answer a{200, notify_batch_response_json(st.notify, results, request_id(r)), {}, "ok"};
    respond(r, std::move(a));
}

// A recipient Meta accepted (wamid) or may have (none), or one for later:
// recorded like a single send; its deliveries go out even when the client
// has left.
void record_job(ngx_http_request_t* r, ReplyState& st, std::size_t index, std::string wamid) {
    BatchJob& job = st.jobs[index];
    job.step = BatchJob::Step::recording;
    auto target = std::make_shared<SendTarget>(job.target);
    auto send = std::make_shared<SendRequest>(job.send);
    auto prepared = std::make_shared<PreparedSend>(job.prepared);
    DeliveryPolicy policy = worker()->conf->policy;
    std::shared_ptr<CreditHold> credit = std::move(job.credit);
    std::int64_t schedule_at = scheduled(st) ? st.notify.schedule_at_ns : 0;
    std::int64_t expires_at = notify_expires_at(st.notify, now_ns());
    bool accepted = !wamid.empty() || schedule_at;
    submit_for<RecordedSend>(
        [=, wamid = std::move(wamid)](Txn& txn) {
            return schedule_at
                       ? schedule_send(txn, *target, *send, *prepared, schedule_at, expires_at,
                                       now_ns())
                       : record_send(txn, *target, *send, *prepared, wamid, policy, now_ns());
        },
        [pending = st.pending, credit, index, accepted](const Result<void>& committed,
                                                        RecordedSend& rec) mutable {
            credit.reset();
            if (committed) {
                for (Delivery& d : rec.deliveries)
                    deliver(std::move(d));
            }
            if (!pending->alive) return;
            ngx_http_request_t* r = pending->r;
            ReplyState* st = state_of(r);
            if (st == nullptr) return;
            BatchJob& job = st->jobs[index];
            if (!committed) {
                ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                              "whatsapp notify: %s sent to WhatsApp but not stored: %s",
                              job.prepared.message_id.c_str(),
                              log_escape(committed.error().message).c_str());
                job_failed(job, store_unavailable());
            } else if (!accepted) {
                job_failed(job, reply_unknown(rec.message_id));
                job.result.error.message += " (" + rec.message_id + ")";
            } else {
                job.step = BatchJob::Step::done;
                job.result.success = true;
                job.result.message_id = rec.message_id;
                job.result.from = job.target.number->e164;
                job.result.created_at_ns = rec.created_at_ns;
            }
            ngx_connection_t* c = r->connection;
            pump_batch(r, *st);
            ngx_http_run_posted_requests(c);
        });
}

void batch_graph_answered(ngx_http_request_t* r) noexcept {
    ReplyState* st = state_of(r);
    if (st == nullptr) return;
    try {
        for (std::size_t i = 0; i < st->jobs.size(); i++) {
            BatchJob& job = st->jobs[i];
            if (job.step != BatchJob::Step::sending || !job.graph.done) continue;
            st->sending--;
            GraphResult g = job.graph.result();
            count_graph(g);
            switch (job.graph.outcome(g)) {
                case SendOutcome::accepted: record_job(r, *st, i, std::move(g.wamid)); continue;
                case SendOutcome::unknown: record_job(r, *st, i, {}); continue;
                case SendOutcome::not_sent: break;
            }
            job_failed(job, job.graph.status == 0 ? reply_not_sent() : reply_error_from_graph(g));
        }
        pump_batch(r, *st);
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "whatsapp notify: %s", e.what());
        end_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}

// One recipient's store checks and credit, then its Graph send (or, for
// later, its record: the credit is judged when it is made). Returns how
// long the number's rate makes it wait: the job stays waiting, its checks
// made again then.
std::optional<std::int64_t> start_job(ngx_http_request_t* r, ReplyState& st, std::size_t index) {
    BatchJob& job = st.jobs[index];
    if (auto refused = check_target(r->connection->log, job.send, !scheduled(st), false, job.target,
                                    job.credit)) {
        job_failed(job, std::move(*refused));
        return std::nullopt;
    }
    job.prepared = prepare_send(job.send, job.target);
    if (scheduled(st)) {
        record_job(r, st, index, {});
        return std::nullopt;
    }
    if (auto wait = pacing_take(*job.target.number, number_index(*job.target.number))) {
        job.credit.reset();
        return wait;
    }
    if (!graph_send(r, *job.target.number, job.prepared.graph_body, &job.graph,
                    batch_graph_answered)) {
        job_failed(job, reply_not_sent());
        return std::nullopt;
    }
    job.step = BatchJob::Step::sending;
    st.sending++;
    return std::nullopt;
}

void paced_batch(ngx_event_t* ev) noexcept;

// The batch goes on once the number's rate allows its next send.
void wait_for_rate(ngx_http_request_t* r, ReplyState& st, std::int64_t wait_ns) {
    if (st.paced.ev.timer_set) return;
    st.paced.init(paced_batch, r->connection->log);
    st.paced.conn.data = r;
    ngx_add_timer(&st.paced.ev, static_cast<ngx_msec_t>(wait_ns / kNsPerMs + 1));
}

// Starts recipients while fewer than kBatchConcurrency are sending; once
// every one is done, answers.
void pump_batch(ngx_http_request_t* r, ReplyState& st) {
    // While paced, only the timer starts the next recipient.
    while (!st.paced.ev.timer_set && st.sending < kBatchConcurrency &&
           st.next_job < st.jobs.size()) {
        std::size_t index = st.next_job;
        if (st.jobs[index].step == BatchJob::Step::waiting) {
            if (auto wait = start_job(r, st, index)) return wait_for_rate(r, st, *wait);
        }
        st.next_job++;
    }
    for (const BatchJob& job : st.jobs) {
        if (job.step != BatchJob::Step::done) return;
    }
    batch_answered(r, st);
}

void paced_batch(ngx_event_t* ev) noexcept {
    auto* r = static_cast<ngx_http_request_t*>(static_cast<ngx_connection_t*>(ev->data)->data);
    ReplyState* st = state_of(r);
    if (st == nullptr) return;
    ngx_connection_t* c = r->connection;
    try {
        pump_batch(r, *st);
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0, "whatsapp notify: %s", e.what());
        end_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
    ngx_http_run_posted_requests(c);
}

void start_batch(ngx_http_request_t* r, ReplyState& st) {
    st.jobs.resize(st.notify.recipients.size());
    for (std::size_t i = 0; i < st.jobs.size(); i++) {
        BatchJob& job = st.jobs[i];
        job.result.phone_number = st.notify.recipients[i];
        job.send = st.send;
        job.send.to = st.notify.recipients[i];
        if (!is_possible_e164(job.send.to)) job_failed(job, invalid_phone_number());
    }
    pump_batch(r, st);
}

void send_checked(ngx_http_request_t* r, ReplyState& st) {
    if (st.endpoint == Endpoint::batch) return start_batch(r, st);
    check_target_and_send(r, st);
}

// -- the hosts of guarded URLs (callback_url, a media link) ------------------------------------

// What the request calls its guarded URL, and the answer when its host is
// refused.
std::string_view guarded_url_subject(const ReplyState& st) {
    return st.endpoint == Endpoint::pipes_send ? "media URL" : "callback_url";
}

ReplyError guarded_url_refused(const ReplyState& st, std::string message) {
    if (st.endpoint == Endpoint::pipes_send) {
        return ReplyError{400, "invalid_request", std::move(message), "media"};
    }
    return ReplyError{400, "invalid_callback_url", std::move(message), "callback_url"};
}

// A hostname is judged by every address it resolves to, with the
// location's resolver; without one it cannot be checked and is refused.
void resolve_guarded_host(ngx_http_request_t* r, ReplyState& st) {
    auto* clcf = static_cast<ngx_http_core_loc_conf_t*>(
        ngx_http_get_module_loc_conf(r, ngx_http_core_module));
    std::string_view subject = guarded_url_subject(st);
    // May answer at once: st is not touched after this.
    HostCheck::start(
        clcf->resolver, clcf->resolver_timeout, st.guarded_url.host, main_conf(r)->callback_guard,
        [r, &st, subject](const HostVerdict& v) {
            ngx_connection_t* c = r->connection;
            if (!v.refused.empty()) {
                ngx_log_error(NGX_LOG_INFO, c->log, 0, "whatsapp send: %s host \"%s\": %s",
                              std::string(subject).c_str(), log_escape(st.guarded_url.host).c_str(),
                              v.refused.c_str());
                finish(r, guarded_url_refused(st, v.refused));
            } else {
                send_checked(r, st);
            }
            ngx_http_run_posted_requests(c);
        },
        &st.resolving, subject);
}

// -- the request -------------------------------------------------------------------------------

// The endpoint's checks (rows 2-6 for a reply; §6.4's for a send; §8.3's
// for a REST send, its media link's URL included) make st.send; then the
// guarded URL's host and the store.
std::optional<ReplyError> parse_body(ngx_http_request_t* r, ReplyState& st, std::string_view body) {
    MainConf* mcf = main_conf(r);
    if (st.endpoint == Endpoint::pipes_send) {
        auto parsed = parse_rest_send(body);
        if (!parsed) return reply_error_of(parsed.error());
        st.pipes = std::move(parsed.value());
        if (st.pipes.media == PipesMediaSource::link) {
            // Meta fetches the file itself, from the link as the client wrote it.
            auto link = check_media_link(st.pipes.media_link, mcf->callback_guard);
            if (!link) return reply_error_of(link.error());
            st.has_guarded_url = true;
            st.guarded_url = std::move(link.value());
        }
        // An upload's media id comes once Meta has the file (upload_and_send).
        st.send = pipes_send_request(st.pipes);
        return std::nullopt;
    }
    if (st.endpoint == Endpoint::inbox_text) {
        auto parsed = parse_text_send(body, st.conversation);
        if (!parsed) return parsed.error();
        st.send = std::move(parsed.value());
        return std::nullopt;
    }
    if (st.endpoint == Endpoint::inbox_template) {
        auto parsed = parse_template_send(body);
        if (!parsed) return parsed.error();
        auto send = template_send_request(*parsed, mcf->templates, mcf->numbers, st.key->tenant);
        if (!send) return send.error();
        st.send = std::move(send.value());
        return std::nullopt;
    }
    if (st.endpoint == Endpoint::reply) {
        auto parsed = parse_reply_request(body, mcf->callback_guard);
        if (!parsed) return parsed.error();
        st.request = std::move(parsed.value());
        st.send = send_request_of(st.request);
        st.has_guarded_url = st.request.has_callback_url;
        st.guarded_url = st.request.callback;
        return std::nullopt;
    }
    auto parsed = st.endpoint == Endpoint::batch
                      ? parse_notify_batch_request(body, mcf->callback_guard, now_ns())
                      : parse_notify_request(body, mcf->callback_guard, now_ns());
    if (!parsed) return parsed.error();
    st.notify = std::move(parsed.value());
    st.later = st.notify.schedule_at_ns > now_ns();
    auto send = notify_send_request(st.notify, mcf->templates, mcf->numbers, st.key->tenant);
    if (!send) return send.error();
    st.send = std::move(send.value());
    st.has_guarded_url = st.notify.has_callback_url;
    st.guarded_url = st.notify.callback;
    return std::nullopt;
}

void handle_body(ngx_http_request_t* r, ReplyState& st, std::string_view body) {
    if (auto e = parse_body(r, st, body)) return finish(r, *e);
    st.send.scope = SendScope::of(*st.key);
    if (st.has_guarded_url && !st.guarded_url.is_literal) return resolve_guarded_host(r, st);
    send_checked(r, st);
}

// A kept answer again: retrying it cannot give another, so the SDK is told
// not to, whatever the first answer said (Pipes' dialect has no such header).
Answer replayed(IdempotencyClaim& claim, Endpoint endpoint) {
    Answer a{claim.status, std::move(claim.body), {}, "ok"};
    for (auto& [name, value] : claim.headers) {
        if (name != "x-should-retry") a.headers.emplace_back(std::move(name), std::move(value));
    }
    if (a.status >= 400 && endpoint != Endpoint::pipes_send) {
        a.headers.emplace_back("x-should-retry", "false");
    }
    return a;
}

ReplyError key_error(int status, std::string code, std::string message) {
    return ReplyError{status, std::move(code), std::move(message), "Idempotency-Key"};
}

// §7.3: the first request with a key runs; the others get its answer, or
// 409 while it runs, or 422 when the key was used for another request.
void claim_key(ngx_http_request_t* r, ReplyState& st, std::string body) {
    if (worker() == nullptr) return finish(r, store_unavailable());
    HeldKey k = st.idempotency;
    auto kept = std::make_shared<std::string>(std::move(body));
    std::string fingerprint = idempotency_fingerprint(endpoint_name(st.endpoint), *kept);
    submit_for<IdempotencyClaim>(
        [k, fingerprint](Txn& txn) {
            return idempotency_claim(txn, k.tenant, k.key, fingerprint, k.owner, now_ns());
        },
        [pending = st.pending, kept, k](const Result<void>& committed,
                                        IdempotencyClaim& claim) mutable {
            using Kind = IdempotencyClaim::Kind;
            if (!pending->alive) {
                if (committed && claim.kind == Kind::claimed) {
                    k.held = true;
                    release_key(k);
                }
                return;
            }
            ngx_http_request_t* r = pending->r;
            ngx_connection_t* c = r->connection;
            try {
                ReplyState* st = state_of(r);
                if (!committed || st == nullptr) {
                    finish(r, store_unavailable());
                } else if (claim.kind == Kind::claimed) {
                    st->idempotency.held = true;
                    handle_body(r, *st, *kept);
                } else if (claim.kind == Kind::replay) {
                    ngx_http_finalize_request(r,
                                              send_answer(r, replayed(claim, st->endpoint), true));
                } else if (claim.kind == Kind::in_use) {
                    finish(r, key_error(409, "idempotency_key_in_use",
                                        "a request with this Idempotency-Key is in progress"));
                } else {
                    finish(r, key_error(422, "idempotency_key_reused",
                                        "this Idempotency-Key was used for another request"));
                }
            } catch (const std::exception& e) {
                ngx_log_error(NGX_LOG_ERR, c->log, 0, "whatsapp reply: %s", e.what());
                end_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
            }
            ngx_http_run_posted_requests(c);
        });
}

void body_read(ngx_http_request_t* r) noexcept {
    try {
        ReplyState* st = state_of(r);
        if (st == nullptr) return ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        std::string body;
        if (r->request_body == nullptr || r->request_body->rest > 0 || !collect_body(r, body)) {
            return finish(r, ReplyError{400, "invalid_request", "incomplete request body"});
        }
        if (!st->idempotency.key.empty()) return claim_key(r, *st, std::move(body));
        handle_body(r, *st, body);
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "whatsapp reply: %s", e.what());
        end_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}

// Answers before the body is read, in the endpoint's dialect: the body is
// discarded, not parsed.
ngx_int_t refuse_early(ngx_http_request_t* r, const ReplyError& e,
                       Endpoint endpoint = Endpoint::reply) {
    if (ngx_http_discard_request_body(r) != NGX_OK) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    return send_answer(r, error_answer(e, request_id(r), endpoint));
}

std::uint64_t new_owner() {
    thread_local std::mt19937_64 rng{std::random_device{}()};
    return rng() | 1;  // never 0, which a done record holds
}

// After the key: the body is read, then the pipeline runs. key lives as
// long as the configuration's keys, which the state holds.
ngx_int_t start_send(ngx_http_request_t* r, Endpoint endpoint, const ApiKey& key,
                     const Uuid* conversation) {
    MainConf* mcf = main_conf(r);
    RequestCtx* ctx = request_ctx(r);
    if (ctx == nullptr) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    ctx->tenant = pool_str(r->pool, key.tenant);
    if (worker() == nullptr) return refuse_early(r, store_unavailable(), endpoint);
    std::string_view idempotency_key = header_in(r, "Idempotency-Key");
    if (!idempotency_key.empty() && !valid_idempotency_key(idempotency_key)) {
        return refuse_early(r,
                            key_error(400, "invalid_request",
                                      "Idempotency-Key must be 1-255 visible ASCII characters"),
                            endpoint);
    }
    // Row 2 for a declared length; the codecs catch chunked ones.
    std::size_t max_body =
        endpoint == Endpoint::pipes_send ? kMaxPipesSendBodyBytes : kMaxReplyBodyBytes;
    if (r->headers_in.content_length_n > static_cast<off_t>(max_body)) {
        return refuse_early(
            r,
            ReplyError{400, "invalid_request",
                       "request body larger than " + std::to_string(max_body) + " bytes"},
            endpoint);
    }
    auto* st = pool_new<ReplyState>(r->pool);
    if (st == nullptr) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    st->pending = pending_request(r);
    if (st->pending == nullptr) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    st->keys = mcf->api_keys;
    st->key = &key;
    if (conversation) st->conversation = *conversation;
    st->endpoint = endpoint;
    if (!idempotency_key.empty()) {
        st->idempotency.tenant = key.tenant;
        st->idempotency.key = idempotency_key;
        st->idempotency.owner = new_owner();
    }
    ctx->send_state = st;
    ngx_int_t rc = ngx_http_read_client_request_body(r, body_read);
    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) return rc;
    return NGX_DONE;
}

// A location's send by its key (Authorization: Bearer, with
// messaging:messages:send: row 1), answered in the endpoint's dialect.
ngx_int_t keyed_send(ngx_http_request_t* r, Endpoint endpoint) {
    try {
        if (!(r->method & NGX_HTTP_POST)) {
            // Prelude's endpoints keep nginx's own 405; Pipes' clients read JSON.
            if (endpoint != Endpoint::pipes_send) return NGX_HTTP_NOT_ALLOWED;
            if (!add_header_out(r, "Allow", "POST")) return NGX_HTTP_INTERNAL_SERVER_ERROR;
            return refuse_early(r, ReplyError{405, "method_not_allowed", "use POST"}, endpoint);
        }
        tag_request_log(r);
        KeyAuth auth = authorize_request(r, Scope::messages_send);  // row 1
        if (auth.check != KeyCheck::ok) return refuse_early(r, reply_error(auth.check), endpoint);
        return start_send(r, endpoint, *auth.key, nullptr);
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "whatsapp send: %s", e.what());
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}

ngx_int_t reply_handler(ngx_http_request_t* r) noexcept { return keyed_send(r, Endpoint::reply); }

// whatsapp_send: Pipes' POST /v1/messages/send (SPEC §8.3).
ngx_int_t rest_send_handler(ngx_http_request_t* r) noexcept {
    return keyed_send(r, Endpoint::pipes_send);
}

// A whatsapp_notify location: what follows its prefix picks the endpoint.
ngx_int_t notify_handler(ngx_http_request_t* r) noexcept {
    auto* clcf = static_cast<ngx_http_core_loc_conf_t*>(
        ngx_http_get_module_loc_conf(r, ngx_http_core_module));
    std::string_view uri = view(r->uri);
    std::string_view rest = uri.substr(std::min(uri.size(), clcf->name.len));
    if (rest.empty() || rest == "/") return keyed_send(r, Endpoint::notify);
    if (rest == "/reply") return keyed_send(r, Endpoint::reply);
    if (rest == "/batch") return keyed_send(r, Endpoint::batch);
    if (ngx_http_discard_request_body(r) != NGX_OK) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    try {
        return send_answer(
            r, error_answer(ReplyError{404, "not_found", "no such endpoint"}, request_id(r)));
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "whatsapp notify: %s", e.what());
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}

ngx_http_core_loc_conf_t* core_loc_conf(ngx_conf_t* cf) {
    return static_cast<ngx_http_core_loc_conf_t*>(
        ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module));
}

}  // namespace

std::optional<ReplyError> check_reply(ngx_http_request_t* r, const SendRequest& send) {
    SendTarget target;
    std::shared_ptr<CreditHold> no_credit;
    auto refused = check_target(r->connection->log, send, false, false, target, no_credit);
    note_target(r, target);
    return refused;
}

ngx_int_t send_prelude_error(ngx_http_request_t* r, const ReplyError& e) {
    return send_answer(r, error_answer(e, request_id(r)));
}

bool socket_send(std::shared_ptr<const ApiKeys> keys, const ApiKey& key, SendRequest send,
                 std::string conversation_named, SocketAnswer done) {
    Worker* w = worker();
    if (w == nullptr || w->exiting || w->conf->dispatch_ctx == nullptr) return false;
    auto* s = new SocketReply();
    s->done = std::move(done);
    s->release.init(release_socket_reply, ngx_cycle->log);
    s->release.conn.data = s;
    ngx_http_request_t* r =
        s->background.create(w->conf->dispatch_ctx, "replying on a whatsapp stream");
    RequestCtx* ctx = r ? request_ctx(r) : nullptr;
    auto* st = ctx ? pool_new<ReplyState>(r->pool) : nullptr;
    if (st) st->pending = pending_request(r);
    if (st == nullptr || st->pending == nullptr) {
        s->background.release();
        delete s;
        return false;
    }
    tag_log(r, conversation_named);
    ctx->tenant = pool_str(r->pool, key.tenant);
    st->keys = std::move(keys);
    st->key = &key;
    st->endpoint = Endpoint::socket_reply;
    st->socket = s;
    st->conversation_named = std::move(conversation_named);
    st->send = std::move(send);
    st->send.scope = SendScope::of(key);
    ctx->send_state = st;
    send_checked(r, *st);
    // The Graph subrequest is posted on the request's connection: run it now.
    ngx_http_run_posted_requests(s->background.connection);
    return true;
}

ngx_int_t inbox_send(ngx_http_request_t* r, const ApiKey& key, const Uuid* conversation) {
    return start_send(r, conversation ? Endpoint::inbox_text : Endpoint::inbox_template, key,
                      conversation);
}

// Every location that sends, after its handler: the server whose locations
// serve the sends' subrequests.
char* send_location_directive(ngx_conf_t* cf, void* conf) noexcept {
    static_cast<LocConf*>(conf)->reply = true;
    conf_note_dispatch_server(cf);
    return NGX_CONF_OK;
}

char* reply_directive(ngx_conf_t* cf, ngx_command_t*, void* conf) noexcept {
    core_loc_conf(cf)->handler = reply_handler;
    return send_location_directive(cf, conf);
}

char* notify_directive(ngx_conf_t* cf, ngx_command_t*, void* conf) noexcept {
    core_loc_conf(cf)->handler = notify_handler;
    return send_location_directive(cf, conf);
}

char* rest_send_directive(ngx_conf_t* cf, ngx_command_t*, void* conf) noexcept {
    core_loc_conf(cf)->handler = rest_send_handler;
    static_cast<LocConf*>(conf)->rest_send = true;  // its body limit (merge_loc_conf)
    return send_location_directive(cf, conf);
}

}  // namespace wa::ngx

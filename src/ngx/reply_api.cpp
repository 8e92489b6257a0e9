// whatsapp_reply: POST /v2/notify/reply (SPEC §6). The handler turns the
// request into core calls, in §6.2's order: key -> body -> request checks
// -> callback host resolution -> store checks -> credit hold -> Graph
// subrequest -> record (group commit) -> answer.
#include "reply_api.hpp"

#include <memory>

#include "base/clock.hpp"
#include "commit.hpp"
#include "credits.hpp"
#include "delivery.hpp"
#include "meta/graph_message.hpp"
#include "metrics.hpp"
#include "module.hpp"
#include "conf.hpp"
#include "domain/outbound.hpp"
#include "base/text.hpp"
#include "variables.hpp"

namespace wa::ngx {

namespace {

// Everything one reply needs between its asynchronous steps; lives in the
// request pool (pool_new), so a terminated request takes it along.
struct ReplyState {
    std::shared_ptr<PendingRequest> pending;
    std::shared_ptr<const ApiKeys> keys;  // keeps key valid
    const ApiKey* key = nullptr;
    ReplyRequest request;
    ReplyTarget target;
    std::shared_ptr<CreditHold> credit;
    ngx_resolver_ctx_t* resolving = nullptr;
    bool graph_done = false;
    bool graph_handled = false;
    int graph_status = 0;
    std::string graph_body;

    ~ReplyState() {
        if (resolving) ngx_resolve_name_done(resolving);
    }
};

std::string request_id(ngx_http_request_t* r) {
    MainConf* mcf = main_conf(r);
    if (mcf->request_id_index == NGX_ERROR) return {};
    ngx_http_variable_value_t* v = ngx_http_get_indexed_variable(r, mcf->request_id_index);
    if (v == nullptr || v->not_found) return {};
    return {reinterpret_cast<const char*>(v->data), v->len};
}

// The response for an error; the caller finalizes with the rc.
ngx_int_t send_reply_error(ngx_http_request_t* r, const ReplyError& e) {
    count_reply(e.code);
    if (RequestCtx* ctx = request_ctx(r)) ctx->error = pool_str(r->pool, e.code);
    if (e.retry_after_s > 0 && !add_header_out(r, "Retry-After", std::to_string(e.retry_after_s))) {
        return NGX_ERROR;
    }
    return send_body(r, static_cast<ngx_uint_t>(e.http_status), "application/json",
                     reply_error_json(e, request_id(r)));
}

void finish(ngx_http_request_t* r, const ReplyError& e) {
    ngx_http_finalize_request(r, send_reply_error(r, e));
}

ReplyError store_unavailable() {
    return ReplyError{503, "store_unavailable", "the store is unavailable; retry later", {}, 0};
}

void note_target(ngx_http_request_t* r, const ReplyState& st) {
    RequestCtx* ctx = request_ctx(r);
    if (ctx == nullptr || st.target.conversation_id.empty()) return;
    ctx->conversation_id = pool_str(r->pool, st.target.conversation_id);
    ctx->window_expires_at = pool_str(r->pool, rfc3339_ns(st.target.window_expires_at_ns));
}

// -- after Meta answered ---------------------------------------------------------------------

void answer_accepted(const PendingRequest& pending, const ReplyRequest& request,
                     const RecordedReply& recorded, const Result<void>& committed) {
    if (committed) {
        for (const Delivery& d : recorded.deliveries) deliver(d);
    }
    if (!pending.alive) return;
    ngx_http_request_t* r = pending.r;
    ngx_connection_t* c = r->connection;
    if (!committed) {
        // Meta has the message; only our record of it is missing.
        ngx_log_error(NGX_LOG_ERR, c->log, 0,
                      "whatsapp reply: sent to WhatsApp but not stored: %s",
                      log_escape(committed.error().message).c_str());
        finish(r, store_unavailable());
    } else {
        count_reply("ok");
        if (RequestCtx* ctx = request_ctx(r)) {
            ctx->message_id = pool_str(r->pool, recorded.message_id);
            ctx->window_expires_at = pool_str(r->pool, rfc3339_ns(recorded.window_expires_at_ns));
        }
        ngx_http_finalize_request(
            r, send_body(r, NGX_HTTP_OK, "application/json",
                         reply_response_json(recorded.message_id, request,
                                             recorded.created_at_ns)));
    }
    ngx_http_run_posted_requests(c);
}

void record_accepted(ngx_http_request_t* r, ReplyState& st, std::string wamid) {
    Worker* w = worker();
    if (w == nullptr) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0,
                      "whatsapp reply: sent to WhatsApp (%s) but the store is closed",
                      log_escape(wamid).c_str());
        return finish(r, store_unavailable());
    }
    auto recorded = std::make_shared<RecordedReply>();
    // The state lives in the request pool; what the commit needs is copied
    // or shared, since the client may be gone by then.
    auto target = std::make_shared<ReplyTarget>(st.target);
    auto request = std::make_shared<ReplyRequest>(st.request);
    DeliveryPolicy policy = w->conf->policy;
    std::shared_ptr<CreditHold> credit = st.credit;  // released after the commit
    submit(
        [target, request, wamid = std::move(wamid), policy, recorded](Txn& txn) -> Result<void> {
            auto r = record_reply(txn, *target, *request, wamid, policy, now_ns());
            if (!r) return r.error();
            *recorded = std::move(r.value());
            return {};
        },
        [pending = st.pending, request, recorded, credit](const Result<void>& committed) mutable {
            credit.reset();
            answer_accepted(*pending, *request, *recorded, committed);
        });
}

// Meta says the window is closed: so do we, before answering.
void close_window_and_answer(ngx_http_request_t* r, ReplyState& st, ReplyError error) {
    if (worker() == nullptr) return finish(r, error);
    auto conversation = st.target.conversation;
    auto end = std::make_shared<std::int64_t>(0);
    submit(
        [conversation, end](Txn& txn) -> Result<void> {
            auto r = close_window_after_send(txn, conversation, now_ns());
            if (!r) return r.error();
            *end = *r;
            return {};
        },
        [pending = st.pending, end, error = std::move(error)](const Result<void>& committed) {
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
                    ctx->window_expires_at = pool_str(r->pool, rfc3339_ns(*end));
                }
            }
            finish(r, error);
            ngx_http_run_posted_requests(c);
        });
}

void graph_answered(ngx_http_request_t* r) noexcept {
    auto* ctx = request_ctx(r);
    auto* st = ctx ? static_cast<ReplyState*>(ctx->handler_state) : nullptr;
    if (st == nullptr || !st->graph_done || st->graph_handled) return;
    st->graph_handled = true;
    try {
        GraphResult g = parse_graph_response(st->graph_status, st->graph_body);
        count_graph(g);
        if (g.accepted()) return record_accepted(r, *st, std::move(g.wamid));
        ngx_uint_t level = g.outcome == GraphOutcome::upstream_error ? NGX_LOG_ERR : NGX_LOG_INFO;
        // Meta's text may echo the access token (an error 190 does).
        ngx_log_error(level, r->connection->log, 0,
                      "whatsapp reply: Graph API answered %d, error %L \"%s\" (fbtrace_id %s)",
                      st->graph_status, static_cast<std::int64_t>(g.meta.code),
                      log_escape(redact_tokens(g.meta.message)).c_str(),
                      log_escape(g.meta.fbtrace_id).c_str());
        st->credit.reset();
        ReplyError error = reply_error_from_graph(g);
        if (g.close_window) return close_window_and_answer(r, *st, std::move(error));
        finish(r, error);
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "whatsapp reply: %s", e.what());
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}

ngx_int_t graph_done(ngx_http_request_t* sr, void* data, ngx_int_t rc) noexcept {
    auto* st = static_cast<ReplyState*>(data);
    if (st->graph_done) return rc;
    st->graph_done = true;
    // Only what the Graph API answered counts: a status nginx made up
    // (502 refused, 504 timeout) is a transport failure.
    st->graph_status = sr->upstream ? static_cast<int>(sr->upstream->headers_in.status_n) : 0;
    if (sr->out && sr->out->buf && !sr->connection->error) {
        ngx_buf_t* b = sr->out->buf;
        st->graph_body.assign(reinterpret_cast<const char*>(b->pos),
                              static_cast<size_t>(b->last - b->pos));
    }
    return rc;
}

// -- the send ----------------------------------------------------------------------------------

void send_to_graph(ngx_http_request_t* r, ReplyState& st) {
    MainConf* mcf = main_conf(r);
    const NumberConfig& number = *st.target.number;
    std::string uri(view(mcf->graph_uri));
    uri += '/';
    uri += number.phone_number_id;
    uri += "/messages";
    ngx_str_t sr_uri = pool_str(r->pool, uri);

    auto* ps = static_cast<ngx_http_post_subrequest_t*>(
        ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t)));
    if (ps == nullptr) return ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    ps->handler = graph_done;
    ps->data = &st;
    ngx_http_request_t* sr = nullptr;
    if (ngx_http_subrequest(r, &sr_uri, nullptr, &sr, ps,
                            NGX_HTTP_SUBREQUEST_IN_MEMORY | NGX_HTTP_SUBREQUEST_WAITED) != NGX_OK) {
        return ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
    std::string body = graph_text_reply_body(st.request.to, st.request.text, st.target.context_wamid);
    HeaderList headers{{"Content-Type", "application/json"},
                       {"Authorization", "Bearer " + number.access_token}};
    if (!make_post_subrequest(sr, body, headers)) {
        return ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
    r->write_event_handler = graph_answered;
}

// Rows 7-10, then the send.
void check_target_and_send(ngx_http_request_t* r, ReplyState& st) {
    Worker* w = worker();
    if (w == nullptr) return finish(r, store_unavailable());
    auto txn = w->store->begin_read();
    if (!txn) return finish(r, store_unavailable());
    auto checked = check_reply_target(*txn, st.request, *st.key, w->conf->numbers, now_ns());
    txn->abort();
    if (!checked) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "whatsapp reply: %s",
                      log_escape(checked.error().message).c_str());
        return finish(r, store_unavailable());
    }
    st.target = std::move(checked->target);
    note_target(r, st);
    if (!checked->ok()) return finish(r, reply_error(*checked->failure));

    const NumberConfig& number = *st.target.number;
    auto index = static_cast<std::size_t>(&number - w->conf->numbers.all().data());
    if (number.credits >= 0) {
        if (!credit_available(number, st.target.credits_used, credits_in_flight(index))) {
            return finish(r, reply_error(ReplyFailure::insufficient_balance));
        }
        st.credit = std::make_shared<CreditHold>(index);
    }
    send_to_graph(r, st);
}

// -- callback_url hosts ------------------------------------------------------------------------

ReplyError invalid_callback(std::string message) {
    return ReplyError{400, "invalid_callback_url", std::move(message), "callback_url", 0};
}

void callback_resolved(ngx_resolver_ctx_t* rctx) noexcept {
    auto* st = static_cast<ReplyState*>(rctx->data);
    ngx_http_request_t* r = st->pending->r;
    ngx_connection_t* c = r->connection;
    st->resolving = nullptr;
    try {
        std::optional<ReplyError> refused;
        if (rctx->state) {
            refused = invalid_callback("callback_url host does not resolve");
        } else {
            const CallbackGuard& guard = main_conf(r)->callback_guard;
            for (ngx_uint_t i = 0; i < rctx->naddrs && !refused; i++) {
                if (!guard.address_allowed(rctx->addrs[i].sockaddr)) {
                    refused = invalid_callback(
                        "callback_url resolves to an address that is not allowed");
                }
            }
        }
        ngx_resolve_name_done(rctx);
        if (refused) {
            finish(r, *refused);
        } else {
            check_target_and_send(r, *st);
        }
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0, "whatsapp reply: %s", e.what());
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
    ngx_http_run_posted_requests(c);
}

// A hostname is judged by every address it resolves to, with the
// location's resolver; without one it cannot be checked and is refused.
void resolve_callback_host(ngx_http_request_t* r, ReplyState& st) {
    auto* clcf = static_cast<ngx_http_core_loc_conf_t*>(
        ngx_http_get_module_loc_conf(r, ngx_http_core_module));
    ngx_resolver_ctx_t* rctx = ngx_resolve_start(clcf->resolver, nullptr);
    if (rctx == nullptr) return ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    if (rctx == NGX_NO_RESOLVER) {
        ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                      "whatsapp reply: no \"resolver\" for callback_url host \"%s\"",
                      log_escape(st.request.callback.host).c_str());
        return finish(r, invalid_callback("callback_url host cannot be checked"));
    }
    rctx->name = pool_str(r->pool, st.request.callback.host);
    rctx->handler = callback_resolved;
    rctx->data = &st;
    rctx->timeout = clcf->resolver_timeout;
    st.resolving = rctx;
    // May answer at once from the cache: st is not touched after this.
    if (ngx_resolve_name(rctx) != NGX_OK) {
        st.resolving = nullptr;  // freed by ngx_resolve_name
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}

// -- the request -------------------------------------------------------------------------------

void body_read(ngx_http_request_t* r) noexcept {
    try {
        auto* ctx = request_ctx(r);
        auto* st = ctx ? static_cast<ReplyState*>(ctx->handler_state) : nullptr;
        if (st == nullptr) return ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        std::string body;
        if (r->request_body == nullptr || r->request_body->rest > 0 || !collect_body(r, body)) {
            return finish(r, ReplyError{400, "invalid_request", "incomplete request body", {}, 0});
        }
        auto parsed = parse_reply_request(body, main_conf(r)->callback_guard);
        if (!parsed) return finish(r, parsed.error());
        st->request = std::move(parsed.value());
        if (st->request.has_callback_url && !st->request.callback.is_literal) {
            return resolve_callback_host(r, *st);
        }
        check_target_and_send(r, *st);
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "whatsapp reply: %s", e.what());
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}

// Answers before the body is read: it is discarded, not parsed.
ngx_int_t refuse_early(ngx_http_request_t* r, const ReplyError& e) {
    if (ngx_http_discard_request_body(r) != NGX_OK) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    return send_reply_error(r, e);
}

ngx_int_t reply_handler(ngx_http_request_t* r) noexcept {
    if (!(r->method & NGX_HTTP_POST)) return NGX_HTTP_NOT_ALLOWED;
    try {
        MainConf* mcf = main_conf(r);
        // Row 1. Without a keys file every key is unknown.
        static const ApiKeys kNoKeys;
        const ApiKeys& keys = mcf->api_keys ? *mcf->api_keys : kNoKeys;
        KeyAuth auth = keys.authorize(header_in(r, "Authorization"), Scope::messages_send);
        if (auth.check != KeyCheck::ok) {
            ReplyFailure f = auth.check == KeyCheck::missing   ? ReplyFailure::missing_api_token
                             : auth.check == KeyCheck::invalid ? ReplyFailure::invalid_api_token
                                                               : ReplyFailure::forbidden;
            return refuse_early(r, reply_error(f));
        }
        RequestCtx* ctx = request_ctx(r);
        if (ctx == nullptr) return NGX_HTTP_INTERNAL_SERVER_ERROR;
        ctx->tenant = pool_str(r->pool, auth.key->tenant);
        if (worker() == nullptr) return refuse_early(r, store_unavailable());
        // Row 2 for a declared length; parse_reply_request catches chunked ones.
        if (r->headers_in.content_length_n > static_cast<off_t>(kMaxReplyBodyBytes)) {
            return refuse_early(r, ReplyError{400, "invalid_request",
                                              "request body larger than " +
                                                  std::to_string(kMaxReplyBodyBytes) + " bytes",
                                              {}, 0});
        }
        auto* st = pool_new<ReplyState>(r->pool);
        if (st == nullptr) return NGX_HTTP_INTERNAL_SERVER_ERROR;
        st->pending = pending_request(r);
        if (st->pending == nullptr) return NGX_HTTP_INTERNAL_SERVER_ERROR;
        st->keys = mcf->api_keys;
        st->key = auth.key;
        ctx->handler_state = st;
        ngx_int_t rc = ngx_http_read_client_request_body(r, body_read);
        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) return rc;
        return NGX_DONE;
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "whatsapp reply: %s", e.what());
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}

}  // namespace

char* reply_directive(ngx_conf_t* cf, ngx_command_t*, void* conf) noexcept {
    auto* clcf = static_cast<ngx_http_core_loc_conf_t*>(
        ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module));
    clcf->handler = reply_handler;
    static_cast<LocConf*>(conf)->reply = true;
    auto* mcf = static_cast<MainConf*>(
        ngx_http_conf_get_module_main_conf(cf, ngx_http_whatsapp_module));
    if (mcf->request_id_index == NGX_ERROR) {
        ngx_str_t name = ngx_string("request_id");
        mcf->request_id_index = ngx_http_get_variable_index(cf, &name);
    }
    conf_note_dispatch_server(cf);
    return NGX_CONF_OK;
}

}  // namespace wa::ngx

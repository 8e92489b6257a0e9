// Guard mode (SPEC §9): whatsapp_guard in a location that proxy_passes to an
// application's own sender. In the access phase it reads the body, checks
// §6.2's rows 1-9 as the reply API does (key, shape, ownership, window) and
// answers a refusal with the reply API's error; an accepted request goes on
// to the content phase with its body kept (r->preserve_body) and
// $whatsapp_tenant, $whatsapp_conversation_id, $whatsapp_window_expires_at
// set. Nothing is sent or stored: the application sends.
#include "guard.hpp"

#include "api/prelude.hpp"
#include "domain/send.hpp"
#include "send_api.hpp"
#include "state.hpp"
#include "variables.hpp"

namespace wa::ngx {

namespace {

// Between the two entries of the access handler.
struct GuardState {
    enum class Step { reading, passed } step = Step::reading;
    std::shared_ptr<const ApiKeys> keys;  // keeps key valid
    const ApiKey* key = nullptr;
};

LocConf* loc_conf(ngx_http_request_t* r) {
    return static_cast<LocConf*>(ngx_http_get_module_loc_conf(r, ngx_http_whatsapp_module));
}

// Rows 2-9 on the body; nullopt: the request may pass.
std::optional<ReplyError> check_body(ngx_http_request_t* r, const ApiKey& key,
                                     std::string_view body) {
    MainConf* mcf = main_conf(r);
    auto parsed = parse_reply_request(body, mcf->callback_guard);
    if (!parsed) return parsed.error();
    SendRequest send = send_request_of(*parsed);
    send.scope = SendScope::of(key);
    return check_reply(r, send);
}

void body_read(ngx_http_request_t* r) noexcept {
    try {
        auto* st = static_cast<GuardState*>(request_ctx(r)->handler_state);
        std::string body;
        std::optional<ReplyError> refused;
        if (r->request_body == nullptr || r->request_body->rest > 0 || !collect_body(r, body)) {
            refused = ReplyError{400, "invalid_request", "incomplete request body"};
        } else {
            refused = check_body(r, *st->key, body);
        }
        if (refused) return ngx_http_finalize_request(r, send_prelude_error(r, *refused));
        st->step = GuardState::Step::passed;
        r->preserve_body = 1;  // the upstream gets the body as it came
        r->write_event_handler = ngx_http_core_run_phases;
        ngx_http_core_run_phases(r);
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "whatsapp guard: %s", e.what());
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}

// Row 1, before the body is read.
std::optional<ReplyError> check_key(ngx_http_request_t* r, GuardState& st) {
    KeyAuth auth = authorize_request(r, Scope::messages_send);
    if (auth.check == KeyCheck::ok) {
        st.keys = main_conf(r)->api_keys;
        st.key = auth.key;
        if (RequestCtx* ctx = request_ctx(r)) ctx->tenant = pool_str(r->pool, auth.key->tenant);
        return std::nullopt;
    }
    return reply_error(auth.check);
}

// A refusal before the body is read: it is discarded, and the request ends
// here (never reaching the content phase, so never the upstream).
ngx_int_t refuse_now(ngx_http_request_t* r, const ReplyError& e) {
    ngx_int_t rc = ngx_http_discard_request_body(r) == NGX_OK ? send_prelude_error(r, e)
                                                              : NGX_HTTP_INTERNAL_SERVER_ERROR;
    ngx_http_finalize_request(r, rc);
    return NGX_DONE;
}

ngx_int_t guard_handler(ngx_http_request_t* r) noexcept {
    if (r != r->main || !loc_conf(r)->guard) return NGX_DECLINED;
    try {
        RequestCtx* ctx = request_ctx(r);
        if (ctx == nullptr) return NGX_HTTP_INTERNAL_SERVER_ERROR;
        if (ctx->handler_state != nullptr) {
            auto* st = static_cast<GuardState*>(ctx->handler_state);
            // Passed: on to the content phase. Still reading: nothing to do yet.
            return st->step == GuardState::Step::passed ? NGX_DECLINED : NGX_DONE;
        }
        tag_request_log(r);
        if (!(r->method & NGX_HTTP_POST)) return NGX_HTTP_NOT_ALLOWED;
        auto* st = pool_new<GuardState>(r->pool);
        if (st == nullptr) return NGX_HTTP_INTERNAL_SERVER_ERROR;
        ctx->handler_state = st;
        if (auto refused = check_key(r, *st)) return refuse_now(r, *refused);
        if (r->headers_in.content_length_n > static_cast<off_t>(kMaxReplyBodyBytes)) {
            return refuse_now(r, ReplyError{400, "invalid_request",
                                            "request body larger than " +
                                                std::to_string(kMaxReplyBodyBytes) + " bytes"});
        }
        ngx_int_t rc = ngx_http_read_client_request_body(r, body_read);
        if (rc >= NGX_HTTP_SPECIAL_RESPONSE) return rc;
        ngx_http_finalize_request(r, NGX_DONE);
        return NGX_DONE;
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "whatsapp guard: %s", e.what());
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}

}  // namespace

char* guard_directive(ngx_conf_t*, ngx_command_t*, void* conf) noexcept {
    auto* lcf = static_cast<LocConf*>(conf);
    if (lcf->guard) return const_cast<char*>("is duplicate");
    lcf->guard = true;
    return NGX_CONF_OK;
}

ngx_int_t guard_init(ngx_conf_t* cf) {
    auto* cmcf = static_cast<ngx_http_core_main_conf_t*>(
        ngx_http_conf_get_module_main_conf(cf, ngx_http_core_module));
    auto* h = static_cast<ngx_http_handler_pt*>(
        ngx_array_push(&cmcf->phases[NGX_HTTP_ACCESS_PHASE].handlers));
    if (h == nullptr) return NGX_ERROR;
    *h = guard_handler;
    return NGX_OK;
}

}  // namespace wa::ngx

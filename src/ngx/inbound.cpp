// The webhook handler turns an nginx request into core calls:
// body -> signature -> decode -> ingest (group commit) -> answer -> deliver.
#include "inbound.hpp"

#include <memory>

#include "api/webhook_answer.hpp"
#include "base/clock.hpp"
#include "conf.hpp"
#include "base/crypto.hpp"
#include "delivery.hpp"
#include "base/ids.hpp"
#include "domain/ingest.hpp"
#include "metrics.hpp"
#include "commit.hpp"
#include "state.hpp"
#include "stream_hub.hpp"
#include "base/text.hpp"
#include "variables.hpp"
#include "meta/webhook.hpp"

namespace wa::ngx {

namespace {

ngx_str_t kTextPlain = ngx_string("text/plain");

std::string_view arg(ngx_http_request_t* r, const char* name, size_t len) {
    ngx_str_t v{0, nullptr};
    if (ngx_http_arg(r, reinterpret_cast<u_char*>(const_cast<char*>(name)), len, &v) != NGX_OK) {
        return {};
    }
    return view(v);
}

// hub.challenge is echoed byte for byte, so it must be unescaped exactly once.
ngx_int_t verify_subscription(ngx_http_request_t* r) {
    auto* lcf = static_cast<LocConf*>(ngx_http_get_module_loc_conf(r, ngx_http_whatsapp_module));
    std::string_view mode = arg(r, "hub.mode", 8);
    std::string_view token = arg(r, "hub.verify_token", 16);
    std::string_view challenge = arg(r, "hub.challenge", 13);
    auto unescape = [r](std::string_view in) {
        // '+' means space in a query string; a literal '+' arrives as %2B.
        std::string raw(in);
        for (char& c : raw) {
            if (c == '+') c = ' ';
        }
        auto* dst = static_cast<u_char*>(ngx_pnalloc(r->pool, raw.size() + 1));
        if (dst == nullptr) return std::string{};
        u_char* end = dst;
        auto* src = reinterpret_cast<u_char*>(raw.data());
        ngx_unescape_uri(&end, &src, raw.size(), 0);
        return std::string(reinterpret_cast<char*>(dst), static_cast<size_t>(end - dst));
    };
    std::string token_text = unescape(token);
    bool ok = lcf->verify_token.len > 0 && unescape(mode) == "subscribe" &&
              constant_time_equal(token_text, view(lcf->verify_token));
    if (!ok) return NGX_HTTP_FORBIDDEN;
    if (ngx_http_discard_request_body(r) != NGX_OK) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    // The challenge is the caller's text: no browser may sniff it into HTML.
    if (!add_header_out(r, "X-Content-Type-Options", "nosniff")) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    return send_body(r, NGX_HTTP_OK, view(kTextPlain), unescape(challenge));
}

void set_error(ngx_http_request_t* r, std::string_view code) {
    if (RequestCtx* ctx = request_ctx(r)) ctx->error = pool_str(r->pool, code);
}

void finish(ngx_http_request_t* r, ngx_uint_t status, std::string_view code, std::string_view msg) {
    set_error(r, code);
    ngx_http_finalize_request(r, send_error(r, status, code, msg));
}

void record_variables(ngx_http_request_t* r, const IngestOutcome& o) {
    RequestCtx* ctx = request_ctx(r);
    if (ctx == nullptr || o.last_message_id.empty()) return;
    ctx->tenant = pool_str(r->pool, o.last_tenant);
    ctx->conversation_id = pool_str(r->pool, o.last_conversation_id);
    ctx->message_id = pool_str(r->pool, o.last_message_id);
    ctx->window_expires_at = pool_str(r->pool, rfc3339_ns(o.last_window_expires_at_ns));
}

void count_outcome(const IngestOutcome& o) {
    count(Counter::inbound_received, o.received);
    count(Counter::inbound_duplicate, o.duplicates);
    count(Counter::inbound_unrouted, o.unrouted);
    count(Counter::inbound_unsigned, o.unsigned_changes);
    count(Counter::statuses_applied, o.statuses_applied);
    count(Counter::statuses_ignored, o.statuses_ignored);
    count(Counter::statuses_unknown, o.statuses_unknown);
}

void store_unavailable(ngx_http_request_t* r) {
    count(Counter::inbound_store_failed);
    finish(r, NGX_HTTP_SERVICE_UNAVAILABLE, "store_unavailable", "the store could not be opened");
}

// Runs once the POST's writes are durable (or failed): first the deliveries,
// which do not depend on the client still being there, then the answer.
void answer(const PendingRequest& pending, IngestOutcome& outcome, const Result<void>& committed) {
    if (committed) {
        count_outcome(outcome);
        for (Delivery& d : outcome.deliveries)
            deliver(std::move(d));
        if (outcome.stream_stamp) stream_published(outcome.stream_stamp);
    } else {
        count(is_store_failure(committed.error()) ? Counter::inbound_store_failed
                                                  : Counter::inbound_rejected);
    }
    if (!pending.alive) return;
    ngx_http_request_t* r = pending.r;
    ngx_connection_t* c = r->connection;
    if (committed) {
        record_variables(r, outcome);
        if (outcome.unrouted) {
            ngx_log_error(NGX_LOG_WARN, c->log, 0,
                          "whatsapp webhook: %ui change(s) for unknown phone_number_id \"%s\" "
                          "acknowledged and dropped",
                          static_cast<ngx_uint_t>(outcome.unrouted),
                          log_escape(outcome.unrouted_ids.front()).c_str());
        }
        // Measured before finalizing: that may free r.
        observe(Latency::webhook_ack, now_ns() - request_start_ns(r));
        ngx_http_finalize_request(
            r, send_body(r, NGX_HTTP_OK, "application/json",
                         webhook_ack_json(outcome.received, outcome.duplicates, outcome.unrouted)));
    } else if (is_store_failure(committed.error())) {
        ngx_log_error(NGX_LOG_ERR, c->log, 0, "whatsapp webhook: not stored: %s",
                      log_escape(committed.error().message).c_str());
        // 503: Meta retries later; nothing of this POST was kept.
        finish(r, NGX_HTTP_SERVICE_UNAVAILABLE, committed.error().code,
               "the message could not be stored; retry later");
    } else {
        ngx_log_error(NGX_LOG_WARN, c->log, 0, "whatsapp webhook: rejected: %s",
                      log_escape(committed.error().message).c_str());
        finish(r, NGX_HTTP_BAD_REQUEST, committed.error().code, committed.error().message);
    }
    ngx_http_run_posted_requests(c);
}

void ingest(ngx_http_request_t* r, std::vector<bool> signed_by, WebhookBatch batch) {
    Worker* w = worker();
    if (w == nullptr) return store_unavailable(r);
    auto pending = pending_request(r);
    if (pending == nullptr) return ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);

    IngestOptions opts;
    opts.window_ns = static_cast<std::int64_t>(w->conf->window) * kNsPerSec;
    opts.lease_ns = w->conf->policy.lease_ns;
    opts.media_prefix = view(w->conf->media_prefix);
    const NumberDirectory* numbers = &w->conf->numbers;
    auto input = std::make_shared<std::pair<WebhookBatch, std::vector<bool>>>(std::move(batch),
                                                                              std::move(signed_by));
    submit_for<IngestOutcome>(
        [input, numbers, opts](Txn& txn) {
            return ingest_webhook(txn, input->first, *numbers, input->second, opts, now_ns());
        },
        [pending](const Result<void>& committed, IngestOutcome& outcome) {
            answer(*pending, outcome, committed);
        });
}

void body_handler(ngx_http_request_t* r) noexcept {
    try {
        if (r->request_body == nullptr || r->request_body->rest > 0) {
            return finish(r, NGX_HTTP_BAD_REQUEST, "invalid_request", "incomplete body");
        }
        std::string body;
        if (!collect_body(r, body)) {
            return ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        }
        MainConf* mcf = main_conf(r);
        std::vector<bool> signed_by =
            mcf->numbers.signed_by(body, header_in(r, "X-Hub-Signature-256"));
        bool any = false;
        for (bool b : signed_by)
            any = any || b;
        if (!any) {
            count(Counter::inbound_bad_signature);
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0,
                          "whatsapp webhook: missing or invalid X-Hub-Signature-256");
            return finish(r, NGX_HTTP_UNAUTHORIZED, "invalid_signature",
                          "missing or invalid X-Hub-Signature-256");
        }
        auto batch = decode_webhook(body);
        if (!batch) {
            count(Counter::inbound_rejected);
            ngx_log_error(NGX_LOG_WARN, r->connection->log, 0, "whatsapp webhook: rejected: %s",
                          log_escape(batch.error().message).c_str());
            return finish(r, NGX_HTTP_BAD_REQUEST, batch.error().code, batch.error().message);
        }
        ingest(r, std::move(signed_by), std::move(batch.value()));
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "whatsapp webhook: %s", e.what());
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}

ngx_int_t webhook_handler(ngx_http_request_t* r) noexcept {
    tag_request_log(r);
    if (r->method & (NGX_HTTP_GET | NGX_HTTP_HEAD)) {
        try {
            return verify_subscription(r);
        } catch (const std::exception& e) {
            ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "whatsapp webhook: %s", e.what());
            return NGX_HTTP_INTERNAL_SERVER_ERROR;
        }
    }
    if (!(r->method & NGX_HTTP_POST)) return NGX_HTTP_NOT_ALLOWED;
    if (r->headers_in.content_length_n > kWebhookMaxBody) {
        set_error(r, "payload_too_large");
        return NGX_HTTP_REQUEST_ENTITY_TOO_LARGE;
    }
    ngx_int_t rc = ngx_http_read_client_request_body(r, body_handler);
    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) return rc;
    return NGX_DONE;
}

}  // namespace

char* webhook_directive(ngx_conf_t* cf, ngx_command_t*, void* conf) noexcept {
    auto* clcf = static_cast<ngx_http_core_loc_conf_t*>(
        ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module));
    clcf->handler = webhook_handler;
    static_cast<LocConf*>(conf)->webhook = true;  // merge lifts client_max_body_size
    conf_note_dispatch_server(cf);
    return NGX_CONF_OK;
}

}  // namespace wa::ngx

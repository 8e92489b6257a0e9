// The inbox API (SPEC §7) in a whatsapp_messaging prefix location: reads
// are served from a read transaction on the event loop (the indexes make
// them O(page)); a PATCH and the unread count a read clears go through the
// group commit; sends join the one send pipeline (send_api.cpp).
#include "messaging_api.hpp"

#include <algorithm>

#include "api/messaging.hpp"
#include "base/text.hpp"
#include "commit.hpp"
#include "send_api.hpp"
#include "state.hpp"
#include "variables.hpp"

namespace wa::ngx {

namespace {

constexpr std::string_view kJson = "application/json";

// A request's key, held with the configuration's keys it points into.
struct InboxState {
    std::shared_ptr<PendingRequest> pending;
    std::shared_ptr<const ApiKeys> keys;
    const ApiKey* key = nullptr;
    Uuid conversation{};
};

ngx_int_t answer_error(ngx_http_request_t* r, const ReplyError& e) {
    if (RequestCtx* ctx = request_ctx(r)) ctx->error = pool_str(r->pool, e.code);
    return send_body(r, static_cast<ngx_uint_t>(e.http_status), kJson, inbox_error_json(e));
}

// Answers before any body is read: it is discarded.
ngx_int_t refuse(ngx_http_request_t* r, const ReplyError& e) {
    if (ngx_http_discard_request_body(r) != NGX_OK) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    return answer_error(r, e);
}

ReplyError store_unavailable() {
    return ReplyError(503, "store_unavailable", "the store is unavailable; retry later");
}

// Logs a store failure; the client is told to retry.
ReplyError store_failed(ngx_http_request_t* r, const Error& e) {
    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "whatsapp messaging: %s",
                  log_escape(e.message).c_str());
    return store_unavailable();
}

// Finishes an answer that waited for a commit.
void finish(const PendingRequest& pending, ngx_int_t rc) {
    if (!pending.alive) return;
    ngx_connection_t* c = pending.r->connection;
    ngx_http_finalize_request(pending.r, rc);
    ngx_http_run_posted_requests(c);
}

// -- GET conversations -----------------------------------------------------------------------

ngx_int_t list(ngx_http_request_t* r, const ApiKey& key) {
    auto params = parse_list_query(view(r->args));
    if (!params) return refuse(r, params.error());
    ListQuery q;
    q.tenant = key.tenant;
    q.only = key.conversation;
    q.filter = std::move(params->filter);
    if (params->assigned_me) q.filter.assignee = key.name;
    q.limit = params->limit;
    if (!params->cursor.empty()) {
        auto pos = decode_cursor(params->cursor, key, q.filter);
        if (!pos) return refuse(r, pos.error());
        q.after = *pos;
    }
    Worker* w = worker();
    if (w == nullptr) return refuse(r, store_unavailable());
    auto txn = w->store->begin_read();
    if (!txn) return refuse(r, store_failed(r, txn.error()));
    auto page = list_conversations(*txn, q);
    if (!page) return refuse(r, store_failed(r, page.error()));
    std::vector<ConversationView> views;
    views.reserve(page->conversations.size());
    for (Conversation& c : page->conversations) {
        auto v = conversation_view(*txn, std::move(c));
        if (!v) return refuse(r, store_failed(r, v.error()));
        views.push_back(std::move(*v));
    }
    txn->abort();
    std::string next = page->next ? encode_cursor(*page->next, key, q.filter) : std::string();
    if (ngx_http_discard_request_body(r) != NGX_OK) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    return send_body(r, NGX_HTTP_OK, kJson, list_json(views, next));
}

// -- GET conversations/:id -------------------------------------------------------------------

ngx_int_t get(ngx_http_request_t* r, const ApiKey& key, const Uuid& id) {
    auto params = parse_get_query(view(r->args));
    if (!params) return refuse(r, params.error());
    Worker* w = worker();
    if (w == nullptr) return refuse(r, store_unavailable());
    auto txn = w->store->begin_read();
    if (!txn) return refuse(r, store_failed(r, txn.error()));
    auto conv = tenant_conversation(*txn, id, key.tenant, key.conversation);
    if (!conv) return refuse(r, store_failed(r, conv.error()));
    if (!*conv) return refuse(r, inbox_not_found());
    bool with_messages = key.allows(Scope::messages_read);
    std::vector<Message> messages;
    if (with_messages) {
        auto got = conversation_messages(*txn, id, params->limit, params->before);
        if (!got) return refuse(r, store_failed(r, got.error()));
        messages = std::move(*got);
    }
    std::uint32_t unread = (*conv)->unread_count;
    auto v = conversation_view(*txn, std::move(**conv));
    if (!v) return refuse(r, store_failed(r, v.error()));
    txn->abort();
    if (ngx_http_discard_request_body(r) != NGX_OK) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    if (!with_messages || unread == 0) {
        return send_body(
            r, NGX_HTTP_OK, kJson,
            conversation_json(*v, with_messages ? &messages : nullptr, "Conversation retrieved"));
    }
    // Read now: the answer shows it once the store says so.
    v->conversation.unread_count = 0;
    auto body =
        std::make_shared<std::string>(conversation_json(*v, &messages, "Conversation retrieved"));
    auto pending = pending_request(r);
    if (pending == nullptr) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    submit([id, unread](Txn& t) { return mark_read(t, id, unread); },
           [pending, body](const Result<void>& committed) {
               if (!pending->alive) return;
               ngx_http_request_t* req = pending->r;
               finish(*pending, committed
                                    ? send_body(req, NGX_HTTP_OK, kJson, *body)
                                    : answer_error(req, store_failed(req, committed.error())));
           });
    r->main->count++;
    return NGX_DONE;
}

// -- PATCH conversations/:id -----------------------------------------------------------------

InboxState* state_of(ngx_http_request_t* r) {
    RequestCtx* ctx = request_ctx(r);
    return ctx ? static_cast<InboxState*>(ctx->handler_state) : nullptr;
}

void patch_read(ngx_http_request_t* r) noexcept {
    try {
        InboxState* st = state_of(r);
        std::string body;
        if (st == nullptr) return ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
        if (r->request_body == nullptr || r->request_body->rest > 0 || !collect_body(r, body)) {
            return ngx_http_finalize_request(
                r, answer_error(r, ReplyError(400, "invalid_request", "incomplete request body")));
        }
        auto patch = parse_patch_body(body);
        if (!patch) return ngx_http_finalize_request(r, answer_error(r, patch.error()));
        if (worker() == nullptr) {
            return ngx_http_finalize_request(r, answer_error(r, store_unavailable()));
        }
        Uuid id = st->conversation;
        std::string tenant = st->key->tenant;
        std::optional<Uuid> only = st->key->conversation;
        submit_for<std::optional<ConversationView>>(
            [id, tenant, only,
             patch = std::move(*patch)](Txn& txn) -> Result<std::optional<ConversationView>> {
                auto c = patch_conversation(txn, id, tenant, only, patch);
                if (!c) return c.error();
                if (!*c) return std::optional<ConversationView>();
                auto v = conversation_view(txn, std::move(**c));
                if (!v) return v.error();
                return std::optional<ConversationView>(std::move(*v));
            },
            [pending = st->pending](const Result<void>& committed,
                                    std::optional<ConversationView>& v) {
                if (!pending->alive) return;
                ngx_http_request_t* req = pending->r;
                try {
                    ngx_int_t rc =
                        !committed ? answer_error(req, store_failed(req, committed.error()))
                        : !v       ? answer_error(req, inbox_not_found())
                                   : send_body(req, NGX_HTTP_OK, kJson,
                                               conversation_json(*v, nullptr, "Conversation updated"));
                    finish(*pending, rc);
                } catch (const std::exception& e) {
                    ngx_log_error(NGX_LOG_ERR, req->connection->log, 0, "whatsapp messaging: %s",
                                  e.what());
                    finish(*pending, NGX_HTTP_INTERNAL_SERVER_ERROR);
                }
            });
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "whatsapp messaging: %s", e.what());
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}

ngx_int_t patch(ngx_http_request_t* r, const ApiKey& key, const Uuid& id) {
    if (r->headers_in.content_length_n > static_cast<off_t>(kMaxInboxBodyBytes)) {
        return refuse(r, ReplyError(400, "invalid_request", "request body larger than 64 KB"));
    }
    auto* st = pool_new<InboxState>(r->pool);
    RequestCtx* ctx = request_ctx(r);
    if (st == nullptr || ctx == nullptr) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    st->pending = pending_request(r);
    if (st->pending == nullptr) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    st->keys = main_conf(r)->api_keys;
    st->key = &key;
    st->conversation = id;
    ctx->handler_state = st;
    ngx_int_t rc = ngx_http_read_client_request_body(r, patch_read);
    if (rc >= NGX_HTTP_SPECIAL_RESPONSE) return rc;
    return NGX_DONE;
}

// -- routing ---------------------------------------------------------------------------------

// The scope an endpoint needs; a get also takes messaging:messages:read alone.
Scope scope_of(InboxRoute route) {
    switch (route) {
        case InboxRoute::list:
        case InboxRoute::get: return Scope::conversations_read;
        case InboxRoute::patch:
        case InboxRoute::send_text:
        case InboxRoute::send_template: return Scope::messages_send;
    }
    return Scope::messages_send;
}

ngx_int_t serve(ngx_http_request_t* r) {
    auto* clcf = static_cast<ngx_http_core_loc_conf_t*>(
        ngx_http_get_module_loc_conf(r, ngx_http_core_module));
    std::string_view uri = view(r->uri);
    InboxPath path =
        route_inbox(uri.substr(std::min(uri.size(), clcf->name.len)), view(r->method_name));
    if (!path.route) return refuse(r, inbox_not_found("no such endpoint"));
    if (!path.method_allowed) {
        if (!add_header_out(r, "Allow", path.allow)) return NGX_HTTP_INTERNAL_SERVER_ERROR;
        return refuse(r, ReplyError(405, "method_not_allowed", "use " + path.allow));
    }

    KeyAuth auth = authorize_request(r, scope_of(*path.route));
    if (auth.check == KeyCheck::forbidden && *path.route == InboxRoute::get &&
        auth.key->allows(Scope::messages_read)) {
        auth.check = KeyCheck::ok;
    }
    if (auth.check != KeyCheck::ok) return refuse(r, inbox_unauthorized(auth.check));
    const ApiKey& key = *auth.key;
    if (RequestCtx* ctx = request_ctx(r)) ctx->tenant = pool_str(r->pool, key.tenant);

    // An id that is no conv_ TypeID names no conversation: 404, as an unknown one.
    bool by_id = *path.route != InboxRoute::list && *path.route != InboxRoute::send_template;
    if (by_id && !path.conversation) return refuse(r, inbox_not_found());
    switch (*path.route) {
        case InboxRoute::list: return list(r, key);
        case InboxRoute::get: return get(r, key, *path.conversation);
        case InboxRoute::patch: return patch(r, key, *path.conversation);
        case InboxRoute::send_text: return inbox_send(r, key, &*path.conversation);
        case InboxRoute::send_template: return inbox_send(r, key, nullptr);
    }
    return refuse(r, inbox_not_found("no such endpoint"));
}

ngx_int_t messaging_handler(ngx_http_request_t* r) noexcept {
    try {
        tag_request_log(r);
        return serve(r);
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "whatsapp messaging: %s", e.what());
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}

}  // namespace

char* messaging_directive(ngx_conf_t* cf, ngx_command_t*, void* conf) noexcept {
    auto* clcf = static_cast<ngx_http_core_loc_conf_t*>(
        ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module));
    clcf->handler = messaging_handler;
    return send_location_directive(cf, conf);
}

}  // namespace wa::ngx

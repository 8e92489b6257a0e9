#include "variables.hpp"

#include "state.hpp"

namespace wa::ngx {

namespace {

ngx_int_t get_field(ngx_http_request_t* r, ngx_http_variable_value_t* v, uintptr_t data) noexcept {
    // Delivery subrequests carry their own ctx; API variables live on the main request.
    auto* ctx = static_cast<RequestCtx*>(ngx_http_get_module_ctx(r, ngx_http_whatsapp_module));
    if (ctx == nullptr && r != r->main) {
        ctx = static_cast<RequestCtx*>(ngx_http_get_module_ctx(r->main, ngx_http_whatsapp_module));
    }
    if (ctx == nullptr) {
        v->not_found = 1;
        return NGX_OK;
    }
    const ngx_str_t& s =
        *reinterpret_cast<const ngx_str_t*>(reinterpret_cast<const char*>(ctx) + data);
    v->data = s.data;
    v->len = s.len;
    v->valid = 1;
    v->no_cacheable = 1;  // subrequests share the parent's variable cache
    v->not_found = 0;
    return NGX_OK;
}

struct VariableDef {
    ngx_str_t name;
    uintptr_t offset;
};

VariableDef kVariables[] = {
    {ngx_string("whatsapp_tenant"), offsetof(RequestCtx, tenant)},
    {ngx_string("whatsapp_conversation_id"), offsetof(RequestCtx, conversation_id)},
    {ngx_string("whatsapp_message_id"), offsetof(RequestCtx, message_id)},
    {ngx_string("whatsapp_window_expires_at"), offsetof(RequestCtx, window_expires_at)},
    {ngx_string("whatsapp_error"), offsetof(RequestCtx, error)},
    {ngx_string("whatsapp_callback_url"), offsetof(RequestCtx, callback_url)},
    {ngx_string("whatsapp_callback_host"), offsetof(RequestCtx, callback_host)},
    {ngx_string("whatsapp_fetch_url"), offsetof(RequestCtx, fetch_url)},
    {ngx_string("whatsapp_fetch_host"), offsetof(RequestCtx, fetch_host)},
};

// r's id: tag_log's, or its $request_id once asked for.
ngx_str_t ensure_log_id(ngx_http_request_t* r, RequestCtx& ctx) {
    if (ctx.log_id.len != 0 || !ctx.request_id_pending) return ctx.log_id;
    ctx.request_id_pending = false;
    MainConf* mcf = main_conf(r);
    if (mcf->request_id_index == NGX_ERROR) return ctx.log_id;
    ngx_http_variable_value_t* v = ngx_http_get_indexed_variable(r, mcf->request_id_index);
    if (v != nullptr && !v->not_found) ctx.log_id = ngx_str_t{v->len, v->data};
    return ctx.log_id;
}

// nginx's line context (client, server, request, ...), then the id.
u_char* log_with_id(ngx_http_request_t* r, ngx_http_request_t* sr, u_char* buf,
                    size_t len) noexcept {
    auto* ctx = static_cast<RequestCtx*>(ngx_http_get_module_ctx(r, ngx_http_whatsapp_module));
    if (ctx == nullptr) return buf;
    u_char* p = ctx->nginx_log_handler ? ctx->nginx_log_handler(r, sr, buf, len) : buf;
    ngx_str_t id = ensure_log_id(r, *ctx);
    if (id.len == 0) return p;
    return ngx_snprintf(p, len - static_cast<size_t>(p - buf), ", request_id: %V", &id);
}

void wrap_log_handler(ngx_http_request_t* r, RequestCtx& ctx) {
    if (r->log_handler != log_with_id) {
        ctx.nginx_log_handler = r->log_handler;
        r->log_handler = log_with_id;
    }
}

}  // namespace

void tag_log(ngx_http_request_t* r, std::string_view id) {
    RequestCtx* ctx = request_ctx(r);
    if (ctx == nullptr || id.empty()) return;
    ctx->log_id = pool_str(r->pool, id);
    ctx->request_id_pending = false;
    wrap_log_handler(r, *ctx);
}

void tag_request_log(ngx_http_request_t* r) {
    RequestCtx* ctx = request_ctx(r);
    if (ctx == nullptr) return;
    ctx->request_id_pending = ctx->log_id.len == 0;
    wrap_log_handler(r, *ctx);
}

std::string_view log_id(ngx_http_request_t* r) {
    auto* ctx = static_cast<RequestCtx*>(ngx_http_get_module_ctx(r, ngx_http_whatsapp_module));
    return ctx ? view(ensure_log_id(r, *ctx)) : std::string_view();
}

RequestCtx* request_ctx(ngx_http_request_t* r) {
    auto* ctx = static_cast<RequestCtx*>(ngx_http_get_module_ctx(r, ngx_http_whatsapp_module));
    if (ctx == nullptr) {
        ctx = static_cast<RequestCtx*>(ngx_pcalloc(r->pool, sizeof(RequestCtx)));
        if (ctx == nullptr) return nullptr;
        ngx_http_set_ctx(r, ctx, ngx_http_whatsapp_module);
    }
    return ctx;
}

ngx_int_t add_variables(ngx_conf_t* cf) {
    for (auto& def : kVariables) {
        ngx_http_variable_t* var = ngx_http_add_variable(cf, &def.name, NGX_HTTP_VAR_NOCACHEABLE);
        if (var == nullptr) return NGX_ERROR;
        var->get_handler = get_field;
        var->data = def.offset;
    }
    return NGX_OK;
}

}  // namespace wa::ngx

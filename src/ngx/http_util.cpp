// Small request/response helpers shared by every handler.
#include "ngx.hpp"

#include "api/webhook_answer.hpp"

namespace wa::ngx {

std::string_view header_in(ngx_http_request_t* r, std::string_view name) {
    ngx_list_part_t* part = &r->headers_in.headers.part;
    auto* h = static_cast<ngx_table_elt_t*>(part->elts);
    for (ngx_uint_t i = 0;; i++) {
        if (i >= part->nelts) {
            if (part->next == nullptr) break;
            part = part->next;
            h = static_cast<ngx_table_elt_t*>(part->elts);
            i = 0;
        }
        if (h[i].key.len == name.size() &&
            ngx_strncasecmp(h[i].key.data,
                            reinterpret_cast<u_char*>(const_cast<char*>(name.data())),
                            name.size()) == 0) {
            return view(h[i].value);
        }
    }
    return {};
}

bool collect_body(ngx_http_request_t* r, std::string& out) {
    if (r->request_body == nullptr) return true;
    for (ngx_chain_t* cl = r->request_body->bufs; cl; cl = cl->next) {
        ngx_buf_t* b = cl->buf;
        if (b->in_file) {
            size_t len = static_cast<size_t>(b->file_last - b->file_pos);
            size_t at = out.size();
            out.resize(at + len);
            ssize_t n = ngx_read_file(b->file, reinterpret_cast<u_char*>(out.data() + at), len,
                                      b->file_pos);
            if (n != static_cast<ssize_t>(len)) return false;
        } else {
            out.append(reinterpret_cast<const char*>(b->pos),
                       static_cast<size_t>(b->last - b->pos));
        }
    }
    return true;
}

ngx_int_t send_body(ngx_http_request_t* r, ngx_uint_t status, std::string_view content_type,
                    std::string_view body) {
    r->headers_out.status = status;
    r->headers_out.content_length_n = static_cast<off_t>(body.size());
    r->headers_out.content_type = pool_str(r->pool, content_type);
    r->headers_out.content_type_len = r->headers_out.content_type.len;
    r->headers_out.content_type_lowcase = nullptr;
    ngx_int_t rc = ngx_http_send_header(r);
    if (rc == NGX_ERROR || rc > NGX_OK || r->header_only || body.empty()) {
        return body.empty() && rc == NGX_OK ? ngx_http_send_special(r, NGX_HTTP_LAST) : rc;
    }
    ngx_buf_t* b = ngx_create_temp_buf(r->pool, body.size());
    if (b == nullptr) return NGX_ERROR;
    b->last = ngx_cpymem(b->last, body.data(), body.size());
    b->last_buf = (r == r->main) ? 1 : 0;
    b->last_in_chain = 1;
    ngx_chain_t out{b, nullptr};
    return ngx_http_output_filter(r, &out);
}

ngx_int_t send_error(ngx_http_request_t* r, ngx_uint_t status, std::string_view code,
                     std::string_view message) {
    return send_body(r, status, "application/json", error_json(code, message));
}

namespace {

ngx_str_t kPost = ngx_string("POST");

bool push_header(ngx_pool_t* pool, ngx_list_t* list, std::string_view key, std::string_view value) {
    auto* h = static_cast<ngx_table_elt_t*>(ngx_list_push(list));
    if (h == nullptr) return false;
    h->hash = 1;
#if (nginx_version >= 1023000)
    h->next = nullptr;
#endif
    h->key = pool_str(pool, key);
    h->value = pool_str(pool, value);
    h->lowcase_key = static_cast<u_char*>(ngx_pnalloc(pool, key.size()));
    if (h->lowcase_key == nullptr) return false;
    ngx_strlow(h->lowcase_key, h->key.data, key.size());
    return true;
}

}  // namespace

bool add_header_out(ngx_http_request_t* r, std::string_view key, std::string_view value) {
    return push_header(r->pool, &r->headers_out.headers, key, value);
}

namespace {

// sr's body: kept_body (not copied), or none at all when empty and no
// POST; and a header list of its own, holding only `headers`.
bool set_subrequest(ngx_http_request_t* sr, std::string_view kept_body, bool post,
                    const HeaderList& headers) {
    auto* rb = static_cast<ngx_http_request_body_t*>(
        ngx_pcalloc(sr->pool, sizeof(ngx_http_request_body_t)));
    if (rb == nullptr) return false;
    sr->request_body = rb;  // never the client's body
    sr->headers_in.chunked = 0;
    sr->headers_in.content_length_n = post ? static_cast<off_t>(kept_body.size()) : -1;
    if (post) {
        ngx_chain_t* cl = ngx_alloc_chain_link(sr->pool);
        auto* b = static_cast<ngx_buf_t*>(ngx_calloc_buf(sr->pool));
        if (cl == nullptr || b == nullptr) return false;
        b->pos = reinterpret_cast<u_char*>(const_cast<char*>(kept_body.data()));
        b->last = b->pos + kept_body.size();
        b->memory = 1;
        b->last_buf = 1;
        cl->buf = b;
        cl->next = nullptr;
        rb->bufs = cl;
        sr->method = NGX_HTTP_POST;
        sr->method_name = kPost;
    } else {
        sr->method = NGX_HTTP_GET;
        sr->method_name = ngx_http_core_get_method;
    }

    // headers_in is a shallow copy of the parent's: start a list of our own.
    ngx_memzero(&sr->headers_in.headers, sizeof(ngx_list_t));
    if (ngx_list_init(&sr->headers_in.headers, sr->pool, headers.size() + 1,
                      sizeof(ngx_table_elt_t)) != NGX_OK) {
        return false;
    }
    for (const auto& [name, value] : headers) {
        if (!push_header(sr->pool, &sr->headers_in.headers, name, value)) return false;
    }
    return true;
}

}  // namespace

bool make_post_subrequest(ngx_http_request_t* sr, std::string_view body,
                          const HeaderList& headers) {
    ngx_str_t copy = pool_str(sr->pool, body);
    if (copy.len != body.size()) return false;
    return set_subrequest(sr, view(copy), true, headers);
}

bool make_post_subrequest_over(ngx_http_request_t* sr, std::string_view kept_body,
                               const HeaderList& headers) {
    return set_subrequest(sr, kept_body, true, headers);
}

bool make_get_subrequest(ngx_http_request_t* sr, const HeaderList& headers) {
    return set_subrequest(sr, {}, false, headers);
}

std::shared_ptr<PendingRequest> pending_request(ngx_http_request_t* r) {
    auto pending = std::make_shared<PendingRequest>(PendingRequest{r});
    ngx_http_cleanup_t* cln = ngx_http_cleanup_add(r, sizeof(std::weak_ptr<PendingRequest>));
    if (cln == nullptr) return nullptr;
    new (cln->data) std::weak_ptr<PendingRequest>(pending);
    cln->handler = [](void* p) {
        auto* weak = static_cast<std::weak_ptr<PendingRequest>*>(p);
        if (auto sp = weak->lock()) sp->alive = false;
        weak->~weak_ptr();
    };
    return pending;
}

namespace {

void noop_write_handler(ngx_http_request_t*) {}

// What nginx's own handler does for a client's connection, less the client:
// the action, then the request's handler (tag_log's: the work's id).
u_char* background_log(ngx_log_t* log, u_char* buf, size_t len) {
    if (log->action) {
        u_char* p = ngx_snprintf(buf, len, " while %s", log->action);
        len -= static_cast<size_t>(p - buf);
        buf = p;
    }
    auto* lctx = static_cast<ngx_http_log_ctx_t*>(log->data);
    ngx_http_request_t* r = lctx ? lctx->request : nullptr;
    if (r == nullptr || r->log_handler == nullptr) return buf;
    return r->log_handler(r, lctx->current_request ? lctx->current_request : r, buf, len);
}

}  // namespace

ngx_http_request_t* BackgroundRequest::create(ngx_http_conf_ctx_t* conf_ctx, const char* action) {
    pool = ngx_create_pool(4096, ngx_cycle->log);
    if (pool == nullptr) return nullptr;
    auto* log = static_cast<ngx_log_t*>(ngx_pcalloc(pool, sizeof(ngx_log_t)));
    auto* lctx = static_cast<ngx_http_log_ctx_t*>(ngx_pcalloc(pool, sizeof(ngx_http_log_ctx_t)));
    auto* hc =
        static_cast<ngx_http_connection_t*>(ngx_pcalloc(pool, sizeof(ngx_http_connection_t)));
    if (log == nullptr || lctx == nullptr || hc == nullptr) return nullptr;
    *log = *ngx_cycle->log;
    log->data = lctx;
    log->handler = background_log;
    log->action = const_cast<char*>(action);

    ngx_connection_t* c = ngx_get_connection(0, log);
    if (c == nullptr) return nullptr;
    connection = c;
    c->fd = static_cast<ngx_socket_t>(-1);
    c->pool = pool;
    c->log = log;
    c->read->log = log;
    c->write->log = log;
    // No socket: keep nginx from registering the fake connection's events.
    c->read->active = 1;
    c->write->active = 1;
    lctx->connection = c;
    hc->conf_ctx = conf_ctx;
    c->data = hc;

    ngx_http_request_t* r = ngx_http_create_request(c);
    if (r == nullptr) return nullptr;
    request = r;
    c->data = r;
    r->method = NGX_HTTP_GET;
    r->method_name = ngx_http_core_get_method;
    r->http_version = NGX_HTTP_VERSION_11;
    ngx_str_set(&r->uri, "/");
    r->unparsed_uri = r->uri;
    r->valid_unparsed_uri = 1;
    r->read_event_handler = ngx_http_block_reading;
    r->write_event_handler = noop_write_handler;
    if (ngx_list_init(&r->headers_in.headers, r->pool, 2, sizeof(ngx_table_elt_t)) != NGX_OK) {
        return nullptr;
    }
    return r;
}

void BackgroundRequest::release() {
    if (request) {
        request->logged = 1;
        ngx_http_free_request(request, 0);
        request = nullptr;
    }
    if (connection) {
        ngx_free_connection(connection);
        connection->fd = static_cast<ngx_socket_t>(-1);
        connection->destroyed = 1;
        connection = nullptr;
    }
    if (pool) {
        ngx_destroy_pool(pool);
        pool = nullptr;
    }
}

}  // namespace wa::ngx

#include "graph_send.hpp"

#include "base/clock.hpp"
#include "metrics.hpp"
#include "state.hpp"

namespace wa::ngx {

namespace {

// A send's exchange is timed (Latency::graph_send); the others are not.
struct Timed {
    GraphExchange* exchange;
    bool timed;
};

ngx_int_t exchange_ended(ngx_http_request_t* sr, void* data, ngx_int_t rc) noexcept {
    auto* t = static_cast<Timed*>(data);
    GraphExchange* ex = t->exchange;
    if (ex->done) return rc;
    ex->done = true;
    if (t->timed) observe(Latency::graph_send, now_ns() - ex->started_ns);
    ex->status = upstream_status(sr);
    ex->local_status =
        sr->headers_out.status ? static_cast<int>(sr->headers_out.status) : static_cast<int>(rc);
    ex->written = sr->upstream != nullptr && sr->upstream->request_sent;
    if (ex->status != 0 && sr->out && sr->out->buf && !sr->connection->error) {
        ngx_buf_t* b = sr->out->buf;
        ex->body.assign(reinterpret_cast<const char*>(b->pos),
                        static_cast<size_t>(b->last - b->pos));
    }
    return rc;
}

bool start(ngx_http_request_t* r, const NumberConfig& number, std::string_view path,
           std::string_view args, std::string_view body, bool copy_body,
           std::string_view content_type, bool timed, GraphExchange* exchange,
           ngx_http_event_handler_pt on_done) {
    MainConf* mcf = main_conf(r);
    std::string uri(view(mcf->graph_uri));
    uri += '/';
    uri += path;
    ngx_str_t sr_uri = pool_str(r->pool, uri);
    ngx_str_t sr_args = pool_str(r->pool, args);

    auto* ps = static_cast<ngx_http_post_subrequest_t*>(
        ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t)));
    auto* t = static_cast<Timed*>(ngx_palloc(r->pool, sizeof(Timed)));
    if (ps == nullptr || t == nullptr) return false;
    *t = Timed{exchange, timed};
    ps->handler = exchange_ended;
    ps->data = t;
    ngx_http_request_t* sr = nullptr;
    if (ngx_http_subrequest(r, &sr_uri, sr_args.len ? &sr_args : nullptr, &sr, ps,
                            NGX_HTTP_SUBREQUEST_IN_MEMORY | NGX_HTTP_SUBREQUEST_WAITED) != NGX_OK) {
        return false;
    }
    HeaderList headers{{"Authorization", "Bearer " + number.access_token}};
    if (!body.empty()) headers.emplace_back("Content-Type", content_type);
    bool made = body.empty() ? make_get_subrequest(sr, headers)
                : copy_body  ? make_post_subrequest(sr, body, headers)
                             : make_post_subrequest_over(sr, body, headers);
    if (!made) return false;
    r->write_event_handler = on_done;
    exchange->started_ns = now_ns();
    return true;
}

}  // namespace

bool graph_send(ngx_http_request_t* r, const NumberConfig& number, std::string_view body,
                GraphExchange* exchange, ngx_http_event_handler_pt on_done) {
    return start(r, number, number.phone_number_id + "/messages", {}, body, true,
                 "application/json", true, exchange, on_done);
}

bool graph_call(ngx_http_request_t* r, const NumberConfig& number, std::string_view path,
                std::string_view args, std::string_view body, std::string_view content_type,
                GraphExchange* exchange, ngx_http_event_handler_pt on_done) {
    return start(r, number, path, args, body, false, content_type, false, exchange, on_done);
}

}  // namespace wa::ngx

#include "graph_send.hpp"

#include "base/clock.hpp"
#include "metrics.hpp"
#include "state.hpp"

namespace wa::ngx {

namespace {

ngx_int_t exchange_ended(ngx_http_request_t* sr, void* data, ngx_int_t rc) noexcept {
    auto* ex = static_cast<GraphExchange*>(data);
    if (ex->done) return rc;
    ex->done = true;
    observe(Latency::graph_send, now_ns() - ex->started_ns);
    ex->status = upstream_status(sr);
    ex->written = sr->upstream != nullptr && sr->upstream->request_sent;
    if (ex->status != 0 && sr->out && sr->out->buf && !sr->connection->error) {
        ngx_buf_t* b = sr->out->buf;
        ex->body.assign(reinterpret_cast<const char*>(b->pos),
                        static_cast<size_t>(b->last - b->pos));
    }
    return rc;
}

}  // namespace

bool graph_send(ngx_http_request_t* r, const NumberConfig& number, std::string_view body,
                GraphExchange* exchange, ngx_http_event_handler_pt on_done) {
    MainConf* mcf = main_conf(r);
    std::string uri(view(mcf->graph_uri));
    uri += '/';
    uri += number.phone_number_id;
    uri += "/messages";
    ngx_str_t sr_uri = pool_str(r->pool, uri);

    auto* ps = static_cast<ngx_http_post_subrequest_t*>(
        ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t)));
    if (ps == nullptr) return false;
    ps->handler = exchange_ended;
    ps->data = exchange;
    ngx_http_request_t* sr = nullptr;
    if (ngx_http_subrequest(r, &sr_uri, nullptr, &sr, ps,
                            NGX_HTTP_SUBREQUEST_IN_MEMORY | NGX_HTTP_SUBREQUEST_WAITED) != NGX_OK) {
        return false;
    }
    HeaderList headers{{"Content-Type", "application/json"},
                       {"Authorization", "Bearer " + number.access_token}};
    if (!make_post_subrequest(sr, body, headers)) return false;
    r->write_event_handler = on_done;
    exchange->started_ns = now_ns();
    return true;
}

}  // namespace wa::ngx

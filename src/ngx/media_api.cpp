// Media download (SPEC §8.4) in a whatsapp_media prefix location. A request,
// in order: method (GET), key (Authorization, else ?apiKey=), media id,
// owner (Db::media, one read transaction), then two subrequests:
//   1. in memory: GET whatsapp_graph/{media-id}?phone_number_id=... with the
//      number's token, whose answer holds Meta's URL for the file;
//   2. that URL, judged by the SSRF guard (a host name resolved with the
//      fetch location's resolver, every address checked, the URL pinned to
//      the first), through the whatsapp_fetch location with the same token,
//      not in memory: fetch_header_filter makes the client's response
//      headers of its 200 (Content-Type and Content-Length only), and the
//      body then flows through nginx's proxy buffering (buffers, temp file)
//      to the client as it comes. Any other answer is swallowed and the
//      client gets JSON once the subrequest has ended.
// Both subrequests carry only the headers built here: nothing of the
// client's request reaches Meta, and nothing of Meta's answer but the file,
// its type and its length reaches the client.
#include "media_api.hpp"

#include "api/media.hpp"
#include "base/text.hpp"
#include "callback_host.hpp"
#include "conf.hpp"
#include "domain/media.hpp"
#include "graph_send.hpp"
#include "meta/graph_media.hpp"
#include "state.hpp"
#include "variables.hpp"

namespace wa::ngx {

namespace {

constexpr std::string_view kJson = "application/json";
constexpr std::string_view kDefaultType = "application/octet-stream";

// One download; lives in the main request's pool (pool_new).
struct Download {
    std::string media_id;
    const NumberConfig* number = nullptr;  // the configuration's: outlives the request
    GraphExchange graph;
    bool graph_handled = false;
    HostCheck* resolving = nullptr;  // the media URL's host, being checked
    bool fetch_done = false;
    bool answered = false;
    bool streaming = false;  // the fetch's 200 became the client's response
    int fetch_status = 0;    // what the file's server answered; 0: no answer
    int fetch_local = 0;     // no answer: what nginx answered itself (504: a timeout)

    ~Download() {
        if (resolving) resolving->cancel();
    }
};

Download* download_of(ngx_http_request_t* r) {
    auto* ctx = static_cast<RequestCtx*>(ngx_http_get_module_ctx(r, ngx_http_whatsapp_module));
    return ctx ? static_cast<Download*>(ctx->handler_state) : nullptr;
}

ngx_int_t answer_error(ngx_http_request_t* r, const ReplyError& e) {
    if (RequestCtx* ctx = request_ctx(r)) ctx->error = pool_str(r->pool, e.code);
    if (e.retry_after_s > 0 && !add_header_out(r, "Retry-After", std::to_string(e.retry_after_s))) {
        return NGX_ERROR;
    }
    return send_body(r, static_cast<ngx_uint_t>(e.http_status), kJson, media_error_json(e));
}

// Answers before anything was started: the body (if any) is discarded.
ngx_int_t refuse(ngx_http_request_t* r, const ReplyError& e) {
    if (ngx_http_discard_request_body(r) != NGX_OK) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    return answer_error(r, e);
}

// Ends a download that waited (a subrequest, the resolver).
void finish(ngx_http_request_t* r, const ReplyError& e) {
    if (Download* d = download_of(r)) d->answered = true;
    ngx_http_finalize_request(r, answer_error(r, e));
}

void log_error(ngx_http_request_t* r, ngx_uint_t level, const Download& d, std::string_view what) {
    ngx_log_error(level, r->connection->log, 0, "whatsapp media %s: %s", d.media_id.c_str(),
                  log_escape(what).c_str());
}

// -- 2. the file -------------------------------------------------------------------------------

ngx_http_output_header_filter_pt g_next_header_filter;

void fetched(ngx_http_request_t* r) noexcept {
    Download* d = download_of(r);
    if (d == nullptr || !d->fetch_done || d->answered) return;
    d->answered = true;
    try {
        if (d->streaming) {
            return ngx_http_finalize_request(r, ngx_http_send_special(r, NGX_HTTP_LAST));
        }
        ReplyError e = media_fetch_error(d->fetch_status, d->fetch_local);
        log_error(r, e.http_status == 404 ? NGX_LOG_INFO : NGX_LOG_ERR, *d,
                  d->fetch_status
                      ? "the media URL answered " + std::to_string(d->fetch_status)
                      : "no answer from the media URL (" + std::to_string(d->fetch_local) + ")");
        ngx_http_finalize_request(r, answer_error(r, e));
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "whatsapp media: %s", e.what());
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}

ngx_int_t fetch_ended(ngx_http_request_t* sr, void* data, ngx_int_t rc) noexcept {
    auto* d = static_cast<Download*>(data);
    if (d->fetch_done) return rc;
    d->fetch_done = true;
    d->fetch_status = upstream_status(sr);
    d->fetch_local =
        sr->headers_out.status ? static_cast<int>(sr->headers_out.status) : static_cast<int>(rc);
    return rc;
}

// The fetch answered 200: the client's response is its type and length
// (and headers of our own), sent now, before the body passes through.
ngx_int_t start_stream(ngx_http_request_t* r, ngx_http_request_t* sr, Download& d) {
    ngx_http_headers_out_t& out = r->headers_out;
    const ngx_http_headers_out_t& in = sr->headers_out;
    out.status = NGX_HTTP_OK;
    if (in.content_type.len) {
        out.content_type = in.content_type;
        out.content_type_len = in.content_type_len;
        out.charset = in.charset;
    } else {
        out.content_type = pool_str(r->pool, kDefaultType);
        out.content_type_len = out.content_type.len;
    }
    out.content_type_lowcase = nullptr;
    out.content_type_hash = 0;
    out.content_length_n = in.content_length_n;  // -1: chunked, as nginx does
    r->allow_ranges = 0;                         // the body is not ours to cut
    // A document's type is the sender's claim (text/html, say): served from
    // this origin it must neither be sniffed nor run.
    if (!add_header_out(r, "X-Content-Type-Options", "nosniff") ||
        !add_header_out(r, "Content-Security-Policy", "sandbox") ||
        !add_header_out(r, "Cache-Control", "private")) {
        return NGX_ERROR;
    }
    d.streaming = true;
    ngx_int_t rc = ngx_http_send_header(r);
    return rc == NGX_ERROR || rc > NGX_OK ? NGX_ERROR : NGX_OK;
}

ngx_int_t fetch_header_filter(ngx_http_request_t* r) noexcept {
    auto* ctx =
        r == r->main
            ? nullptr
            : static_cast<RequestCtx*>(ngx_http_get_module_ctx(r, ngx_http_whatsapp_module));
    if (ctx == nullptr || ctx->media_fetch == nullptr) return g_next_header_filter(r);
    auto* d = static_cast<Download*>(ctx->media_fetch);
    try {
        if (media_fetch_streams(upstream_status(r)) && !d->streaming) {
            if (start_stream(r->main, r, *d) != NGX_OK) return NGX_ERROR;
        } else {
            ctx->discard_output = true;  // answered as JSON once it ends
        }
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "whatsapp media: %s", e.what());
        return NGX_ERROR;
    }
    return g_next_header_filter(r);
}

// url: checked (and pinned); host: its name, for Host and the TLS name.
void fetch(ngx_http_request_t* r, Download& d, const std::string& url, const std::string& host) {
    MainConf* mcf = main_conf(r);
    auto* ps = static_cast<ngx_http_post_subrequest_t*>(
        ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t)));
    if (ps == nullptr) return ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    ps->handler = fetch_ended;
    ps->data = &d;
    ngx_http_request_t* sr = nullptr;
    if (ngx_http_subrequest(r, &mcf->fetch_uri, nullptr, &sr, ps, NGX_HTTP_SUBREQUEST_WAITED) !=
        NGX_OK) {
        return ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
    // Meta's media URLs want the token that asked for them.
    HeaderList headers{{"Authorization", "Bearer " + d.number->access_token},
                       {"User-Agent", "ngx_whatsapp"}};
    RequestCtx* ctx = make_get_subrequest(sr, headers) ? request_ctx(sr) : nullptr;
    if (ctx == nullptr) return ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    ctx->fetch_url = pool_str(sr->pool, url);
    ctx->fetch_host = pool_str(sr->pool, host);
    ctx->media_fetch = &d;
    r->write_event_handler = fetched;
}

// The URL comes from Graph, yet is judged as a client's callback_url is:
// https to a public address, or an address whatsapp_callback_allow lists.
void check_url_and_fetch(ngx_http_request_t* r, Download& d, const std::string& url) {
    MainConf* mcf = main_conf(r);
    auto target = mcf->callback_guard.check_url(url);
    if (!target) {
        log_error(r, NGX_LOG_ERR, d,
                  "the media URL Graph gave is refused: " + target.error().message);
        return finish(r, media_url_refused());
    }
    if (target->is_literal) return fetch(r, d, url, target->host);
    auto* cscf = static_cast<ngx_http_core_srv_conf_t*>(
        ngx_http_get_module_srv_conf(r, ngx_http_core_module));
    ngx_http_core_loc_conf_t* clcf = conf_fetch_location(mcf, cscf);
    // May answer at once: d is not touched after this.
    HostCheck::start(
        clcf ? clcf->resolver : nullptr, clcf ? clcf->resolver_timeout : 0, target->host,
        mcf->callback_guard,
        [r, &d, target = std::move(*target)](const HostVerdict& v) {
            ngx_connection_t* c = r->connection;
            if (!v.refused.empty()) {
                log_error(r, NGX_LOG_ERR, d, "the media URL Graph gave is refused: " + v.refused);
                finish(r, media_url_refused());
            } else {
                fetch(r, d, pinned_url(target, *v.address), target.host);
            }
            ngx_http_run_posted_requests(c);
        },
        &d.resolving, "media URL");
}

// -- 1. the URL --------------------------------------------------------------------------------

void graph_answered(ngx_http_request_t* r) noexcept {
    Download* d = download_of(r);
    if (d == nullptr || !d->graph.done || d->graph_handled) return;
    d->graph_handled = true;
    try {
        auto info = parse_media_info(d->graph.status, d->graph.body);
        if (info) return check_url_and_fetch(r, *d, info->url);
        const GraphResult& g = info.error();
        ReplyError e = media_info_error(d->graph.status, d->graph.local_status, g);
        // Meta's text may echo the access token (an error 190 does).
        log_error(
            r, e.http_status == 404 ? NGX_LOG_INFO : NGX_LOG_ERR, *d,
            d->graph.status == 0
                ? "no answer from the Graph API (" + std::to_string(d->graph.local_status) + ")"
                : "the Graph API answered " + std::to_string(d->graph.status) + ", error " +
                      std::to_string(g.meta.code) + " \"" +
                      redact_tokens(g.meta.message.empty() ? g.reason : g.meta.message) + "\"");
        finish(r, e);
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "whatsapp media: %s", e.what());
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}

// -- the request -------------------------------------------------------------------------------

ReplyError store_failed(ngx_http_request_t* r, const Error& e) {
    ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "whatsapp media: %s",
                  log_escape(e.message).c_str());
    return media_unavailable();
}

ngx_int_t serve(ngx_http_request_t* r) {
    if (r->method != NGX_HTTP_GET) {
        if (!add_header_out(r, "Allow", "GET")) return NGX_HTTP_INTERNAL_SERVER_ERROR;
        return refuse(r, media_method_not_allowed());
    }
    KeyAuth auth = authorize_media(api_keys(r), header_in(r, "Authorization"), view(r->args));
    if (auth.check != KeyCheck::ok) return refuse(r, media_unauthorized(auth.check));
    const ApiKey& key = *auth.key;
    RequestCtx* ctx = request_ctx(r);
    if (ctx == nullptr) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    ctx->tenant = pool_str(r->pool, key.tenant);

    auto* clcf = static_cast<ngx_http_core_loc_conf_t*>(
        ngx_http_get_module_loc_conf(r, ngx_http_core_module));
    auto id = media_path_id(view(clcf->name), view(r->uri));
    if (!id) return refuse(r, media_not_found());
    Worker* w = worker();
    if (w == nullptr) return refuse(r, media_unavailable());
    auto txn = w->store->begin_read();
    if (!txn) return refuse(r, store_failed(r, txn.error()));
    auto owner = media_owner(*txn, *id, key.tenant);
    txn->abort();
    if (!owner) return refuse(r, store_failed(r, owner.error()));
    // Another conversation's media, for a conversation= key, is no more
    // found than another tenant's.
    if (!*owner || !key.allows_conversation((*owner)->id)) return refuse(r, media_not_found());
    const NumberConfig* number = main_conf(r)->numbers.by_e164((*owner)->business_number);
    if (number == nullptr) return refuse(r, media_not_found());  // no longer configured
    ctx->conversation_id = pool_str(r->pool, typeid_encode("conv", (*owner)->id));

    if (ngx_http_discard_request_body(r) != NGX_OK) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    auto* d = pool_new<Download>(r->pool);
    if (d == nullptr) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    d->media_id = *id;
    d->number = number;
    ctx->handler_state = d;
    if (!graph_call(r, *number, d->media_id, "phone_number_id=" + number->phone_number_id, {}, {},
                    &d->graph, graph_answered)) {
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
    r->main->count++;  // answered when the subrequests are done
    return NGX_DONE;
}

ngx_int_t media_handler(ngx_http_request_t* r) noexcept {
    try {
        tag_request_log(r);
        return serve(r);
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "whatsapp media: %s", e.what());
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}

}  // namespace

ngx_int_t media_init_filters(ngx_conf_t*) {
    g_next_header_filter = ngx_http_top_header_filter;
    ngx_http_top_header_filter = fetch_header_filter;
    return NGX_OK;
}

char* media_directive(ngx_conf_t* cf, ngx_command_t*, void* conf) noexcept {
    auto* clcf = static_cast<ngx_http_core_loc_conf_t*>(
        ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module));
    bool prefix = !clcf->named && !clcf->exact_match && !clcf->noname;
#if (NGX_PCRE)
    prefix = prefix && clcf->regex == nullptr;
#endif
    if (!prefix) {
        ngx_conf_log_error(NGX_LOG_EMERG, cf, 0,
                           "\"whatsapp_media\" needs a prefix location such as "
                           "\"location /v1/media/\"");
        return static_cast<char*>(NGX_CONF_ERROR);
    }
    clcf->handler = media_handler;
    static_cast<LocConf*>(conf)->media = true;
    // Events point their media at the first one (content.media.url).
    MainConf* mcf = main_conf(cf);
    if (mcf->media_prefix.len == 0) mcf->media_prefix = clcf->name;
    return NGX_CONF_OK;
}

}  // namespace wa::ngx

#include "media_upload.hpp"

#include <optional>

#include "base/text.hpp"
#include "graph_send.hpp"
#include "meta/graph_media.hpp"
#include "state.hpp"
#include "variables.hpp"

namespace wa::ngx {

namespace {

// One upload; lives in r's pool (pool_new), so a terminated request frees
// done and the body with it.
struct Upload {
    ngx_http_request_t* r = nullptr;
    UploadDone done;
    MultipartBody body;  // what the subrequest sends (not copied)
    GraphExchange graph;
    ngx_http_event_handler_pt caller_handler = nullptr;  // r's write handler before
    std::optional<Error> not_started;                    // answered by `posted`
    OwnEvent posted;

    ~Upload() {
        if (posted.ev.posted) {
            ngx_delete_posted_event(&posted.ev);  // a macro of two statements
        }
    }
};

Error upload_error(std::string_view code, std::string message) {
    return Error{std::string(code), std::move(message)};
}

Result<std::string> result_of(const GraphExchange& g) {
    if (g.status == 0) {
        return g.written ? upload_error(kUploadNoAnswer, "no answer from the Graph API (" +
                                                             std::to_string(g.local_status) + ")")
                         : upload_error(kUploadNotSent, "the Graph API was not reached (" +
                                                            std::to_string(g.local_status) + ")");
    }
    auto id = parse_media_upload(g.status, g.body);
    if (id) return std::move(*id);
    const GraphResult& e = id.error();
    // Meta's text may echo the access token (an error 190 does).
    std::string why = e.meta.code ? redact_tokens(e.meta.message) : e.reason;
    return upload_error(e.outcome == GraphOutcome::refused ? kUploadRefused : kUploadFailed,
                        "HTTP " + std::to_string(g.status) + ": " + (why.empty() ? "no id" : why));
}

void call_done(Upload& up, Result<std::string> result) {
    ngx_http_request_t* r = up.r;
    UploadDone done = std::move(up.done);
    up.body = MultipartBody{};  // the file may be large: not kept until r ends
    if (!result) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "whatsapp media upload: %s: %s",
                      result.error().code.c_str(), log_escape(result.error().message).c_str());
    }
    try {
        done(r, std::move(result));
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "whatsapp media upload: %s", e.what());
        ngx_http_finalize_request(r, NGX_HTTP_INTERNAL_SERVER_ERROR);
    }
}

void uploaded(ngx_http_request_t* r) noexcept {
    auto* ctx = static_cast<RequestCtx*>(ngx_http_get_module_ctx(r, ngx_http_whatsapp_module));
    auto* up = ctx ? static_cast<Upload*>(ctx->media_upload) : nullptr;
    if (up == nullptr || !up->graph.done) return;
    ctx->media_upload = nullptr;
    r->write_event_handler = up->caller_handler;
    call_done(*up, result_of(up->graph));
}

void not_started(ngx_event_t* ev) noexcept {
    auto* up = static_cast<Upload*>(static_cast<ngx_connection_t*>(ev->data)->data);
    ngx_connection_t* c = up->r->connection;
    call_done(*up, std::move(*up->not_started));
    ngx_http_run_posted_requests(c);
}

// done gets error from the event loop, not from inside upload_media.
void post_error(Upload& up, Error error) {
    up.not_started = std::move(error);
    up.posted.init(not_started, up.r->connection->log);
    up.posted.conn.data = &up;
    ngx_post_event(&up.posted.ev, &ngx_posted_events);
}

}  // namespace

void upload_media(ngx_http_request_t* r, const NumberConfig& number, std::string bytes,
                  std::string mime, std::string filename, UploadDone done) {
    auto* up = pool_new<Upload>(r->pool);
    RequestCtx* ctx = request_ctx(r);
    if (up == nullptr || ctx == nullptr) throw std::bad_alloc();
    up->r = r;
    up->done = std::move(done);
    if (ctx->media_upload != nullptr) {
        return post_error(*up, upload_error(kUploadNotSent, "another upload is in flight"));
    }
    auto body = media_upload_body(bytes, mime, filename);
    if (!body) return post_error(*up, upload_error(kUploadNotSent, body.error().message));
    std::string().swap(bytes);  // the body holds them now
    up->body = std::move(*body);
    up->caller_handler = r->write_event_handler;
    std::string path = number.phone_number_id + "/media";
    if (!graph_call(r, number, path, {}, up->body.body, up->body.content_type, &up->graph,
                    uploaded)) {
        r->write_event_handler = up->caller_handler;
        return post_error(*up, upload_error(kUploadNotSent, "out of memory"));
    }
    ctx->media_upload = up;
}

}  // namespace wa::ngx

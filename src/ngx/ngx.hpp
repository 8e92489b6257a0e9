// The one place nginx's C headers enter C++ (they must come first: they set
// up 64-bit off_t), plus the string and allocation helpers every glue file uses.
#pragma once

extern "C" {
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
}

#include <memory>
#include <new>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace wa::ngx {

inline std::string_view view(const ngx_str_t& s) {
    return {reinterpret_cast<const char*>(s.data), s.len};
}

// Copies into the pool: nginx keeps pointers to what we hand it.
inline ngx_str_t pool_str(ngx_pool_t* pool, std::string_view s) {
    ngx_str_t out{0, nullptr};
    if (s.empty()) return out;
    auto* p = static_cast<u_char*>(ngx_pnalloc(pool, s.size()));
    if (p == nullptr) return out;
    ngx_memcpy(p, s.data(), s.size());
    out.len = s.size();
    out.data = p;
    return out;
}

// A C++ object owned by a pool: destroyed by the pool's cleanup.
template <class T, class... Args>
T* pool_new(ngx_pool_t* pool, Args&&... args) {
    ngx_pool_cleanup_t* cln = ngx_pool_cleanup_add(pool, sizeof(T));
    if (cln == nullptr) return nullptr;
    T* obj = new (cln->data) T(std::forward<Args>(args)...);
    cln->handler = [](void* p) { static_cast<T*>(p)->~T(); };
    return obj;
}

// The value of a request header (first occurrence), or empty.
std::string_view header_in(ngx_http_request_t* r, std::string_view name);

// The request body exactly as received (memory buffers and a temp file
// alike): signatures are over these bytes. false on a read error.
bool collect_body(ngx_http_request_t* r, std::string& out);

// Sends a complete response with the given body and finalizes nothing:
// returns the rc for ngx_http_finalize_request.
ngx_int_t send_body(ngx_http_request_t* r, ngx_uint_t status, std::string_view content_type,
                    std::string_view body);

// {"error":{"code":..,"message":..}} with the given status.
ngx_int_t send_error(ngx_http_request_t* r, ngx_uint_t status, std::string_view code,
                     std::string_view message);

// Adds a response header.
bool add_header_out(ngx_http_request_t* r, std::string_view key, std::string_view value);

// Turns a fresh subrequest into a POST of body whose request headers are
// exactly `headers`: nothing of the client's request (its Authorization,
// cookies, body) reaches the upstream behind the internal location.
using HeaderList = std::vector<std::pair<std::string, std::string>>;
bool make_post_subrequest(ngx_http_request_t* sr, std::string_view body, const HeaderList& headers);
// The same without copying body, which must outlive the subrequest (a
// large upload kept by the caller's pool-owned state).
bool make_post_subrequest_over(ngx_http_request_t* sr, std::string_view kept_body,
                               const HeaderList& headers);
// A GET with no body whose request headers are exactly `headers`.
bool make_get_subrequest(ngx_http_request_t* sr, const HeaderList& headers);

// A request with no client behind it, for the subrequests the module makes
// on its own (event deliveries, scheduled sends): created in conf_ctx, the
// server that holds the module's internal locations. release() frees it;
// not from inside nginx's handling of its subrequest (post an event).
struct BackgroundRequest {
    ngx_pool_t* pool = nullptr;
    ngx_connection_t* connection = nullptr;
    ngx_http_request_t* request = nullptr;

    // nullptr when out of memory or connections (release() frees what was made).
    ngx_http_request_t* create(ngx_http_conf_ctx_t* conf_ctx, const char* action);
    void release();
};

// An event of the module's own (a timer, a posted event): nginx wants a
// connection as its data, so it comes with one that has no socket.
struct OwnEvent {
    ngx_event_t ev{};
    ngx_connection_t conn{};
    // cancelable: graceful shutdown does not wait for it (timers).
    void init(ngx_event_handler_pt handler, ngx_log_t* log, bool cancelable = false) {
        conn.fd = static_cast<ngx_socket_t>(-1);
        ev.data = &conn;
        ev.log = log;
        ev.handler = handler;
        ev.cancelable = cancelable ? 1 : 0;
    }
    // Runs once after this loop turn's I/O, however often it is posted.
    void post() {
        if (!ev.posted) {
            ngx_post_event(&ev, &ngx_posted_events);
        }
    }
};

// What the upstream of a finished subrequest answered: a status nginx made
// up (502 refused, 504 timeout, 404 for a missing location) is no answer (0).
inline int upstream_status(ngx_http_request_t* sr) {
    return sr->upstream ? static_cast<int>(sr->upstream->headers_in.status_n) : 0;
}

// A request that an asynchronous completion (a commit, a subrequest, a DNS
// answer) will answer. alive turns false when nginx terminates the request
// first (client abort), so the completion leaves it alone.
struct PendingRequest {
    ngx_http_request_t* r;
    bool alive = true;
};
std::shared_ptr<PendingRequest> pending_request(ngx_http_request_t* r);

}  // namespace wa::ngx

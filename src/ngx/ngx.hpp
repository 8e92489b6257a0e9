// The one place nginx's C headers enter C++ (they must come first: they set
// up 64-bit off_t), plus the string and allocation helpers every glue file uses.
#pragma once

extern "C" {
#include <ngx_config.h>
#include <ngx_core.h>
#include <ngx_http.h>
}

#include <new>
#include <string>
#include <string_view>

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

// Sends a complete response with the given body and finalizes nothing:
// returns the rc for ngx_http_finalize_request.
ngx_int_t send_body(ngx_http_request_t* r, ngx_uint_t status, std::string_view content_type,
                    std::string_view body);

// {"error":{"code":..,"message":..}} with the given status.
ngx_int_t send_error(ngx_http_request_t* r, ngx_uint_t status, std::string_view code,
                     std::string_view message);

}  // namespace wa::ngx

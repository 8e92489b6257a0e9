// Small request/response helpers shared by every handler.
#include "ngx.hpp"

#include "api_json.hpp"

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
            ngx_strncasecmp(h[i].key.data, reinterpret_cast<u_char*>(const_cast<char*>(name.data())),
                            name.size()) == 0) {
            return view(h[i].value);
        }
    }
    return {};
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

}  // namespace wa::ngx

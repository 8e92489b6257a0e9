#include "callback_host.hpp"

namespace wa::ngx {

void HostCheck::start(ngx_resolver_t* resolver, ngx_msec_t timeout, std::string host,
                      const CallbackGuard& guard, Done done, HostCheck** handle,
                      std::string_view subject) {
    if (handle) *handle = nullptr;
    ngx_resolver_ctx_t* rctx = resolver ? ngx_resolve_start(resolver, nullptr)
                                        : static_cast<ngx_resolver_ctx_t*>(NGX_NO_RESOLVER);
    if (rctx == nullptr) return done(HostVerdict{"resolver out of memory", {}});
    if (rctx == NGX_NO_RESOLVER) {
        return done(HostVerdict{
            std::string(subject) + " names a host and there is no resolver to check it", {}});
    }
    auto* check = new HostCheck();
    check->rctx_ = rctx;
    check->host_ = std::move(host);
    check->subject_ = subject;
    check->guard_ = &guard;
    check->done_ = std::move(done);
    check->handle_ = handle;
    if (handle) *handle = check;
    rctx->name.data = reinterpret_cast<u_char*>(check->host_.data());
    rctx->name.len = check->host_.size();
    rctx->handler = resolved;
    rctx->data = check;
    rctx->timeout = timeout;
    // The answer may come at once, from the cache: nothing is touched after.
    if (ngx_resolve_name(rctx) != NGX_OK) {
        if (handle) *handle = nullptr;
        Done d = std::move(check->done_);
        delete check;  // ngx_resolve_name freed rctx
        d(HostVerdict{"resolver failure", {}});
    }
}

void HostCheck::cancel() {
    if (rctx_) ngx_resolve_name_done(rctx_);
    delete this;
}

void HostCheck::resolved(ngx_resolver_ctx_t* rctx) noexcept {
    auto* check = static_cast<HostCheck*>(rctx->data);
    HostVerdict v;
    if (rctx->state || rctx->naddrs == 0) {
        v.refused = check->subject_ + " host does not resolve";
    }
    for (ngx_uint_t i = 0; i < rctx->naddrs && v.refused.empty(); i++) {
        auto ip = ip_from_sockaddr(rctx->addrs[i].sockaddr);
        if (!ip || !check->guard_->address_allowed(*ip)) {
            v.refused = check->subject_ + " host resolves to an address that is not allowed";
        } else if (!v.address) {
            v.address = ip;
        }
    }
    if (!v.refused.empty()) v.address.reset();
    ngx_resolve_name_done(rctx);
    if (check->handle_) *check->handle_ = nullptr;
    Done done = std::move(check->done_);
    delete check;
    try {
        done(v);
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0, "whatsapp callback host: %s", e.what());
    }
}

}  // namespace wa::ngx

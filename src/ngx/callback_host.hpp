// A client's callback_url names a host: it is resolved with nginx's
// resolver and judged by every address it resolves to (SPEC §3.1
// whatsapp_callback_allow), when a reply is accepted and again on every
// delivery, which then connects to the address judged.
#pragma once

#include "ngx.hpp"

#include <functional>
#include <optional>
#include <string>

#include "base/ip.hpp"
#include "domain/callback_guard.hpp"

namespace wa::ngx {

struct HostVerdict {
    std::string refused;               // why not; empty when every address is allowed
    std::optional<IpAddress> address;  // the first address, when allowed
};

// One resolution in flight. done runs exactly once unless cancel() comes
// first — possibly before start() returns (an answer from the cache, or no
// resolver), so the caller must not touch what done may have freed after
// start(). While the resolution is in flight *handle points to it (for
// cancel()); it is reset before done runs.
class HostCheck {
public:
    using Done = std::function<void(const HostVerdict&)>;

    // subject names the URL in the refusals ("callback_url", "media URL").
    static void start(ngx_resolver_t* resolver, ngx_msec_t timeout, std::string host,
                      const CallbackGuard& guard, Done done, HostCheck** handle = nullptr,
                      std::string_view subject = "callback_url");
    void cancel();

private:
    static void resolved(ngx_resolver_ctx_t* rctx) noexcept;

    ngx_resolver_ctx_t* rctx_ = nullptr;
    HostCheck** handle_ = nullptr;
    std::string host_;
    std::string subject_;
    const CallbackGuard* guard_ = nullptr;
    Done done_;
};

}  // namespace wa::ngx

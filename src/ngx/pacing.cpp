#include "pacing.hpp"

#include "base/clock.hpp"
#include "domain/pacing.hpp"
#include "metrics.hpp"
#include "shm_zone.hpp"
#include "state.hpp"

namespace wa::ngx {

namespace {

ngx_atomic_t* g_tat = nullptr;  // one per number, in ns
std::size_t g_numbers = 0;

ngx_str_t kZoneName = ngx_string("whatsapp_pacing");

}  // namespace

ngx_int_t pacing_add_zone(ngx_conf_t* cf) {
    MainConf* mcf = main_conf(cf);
    g_numbers = mcf->numbers.all().size();
    bool any = false;
    for (const auto& n : mcf->numbers.all())
        any = any || n.rate_per_sec > 0;
    if (!any) {
        g_tat = nullptr;
        return NGX_OK;
    }
    return shm_zone_add(cf, &kZoneName, g_numbers * sizeof(ngx_atomic_t),
                        [](void* tat, ngx_shmtx_t*) { g_tat = static_cast<ngx_atomic_t*>(tat); });
}

std::optional<std::int64_t> pacing_take(const NumberConfig& number, std::size_t number_index) {
    if (number.rate_per_sec == 0 || g_tat == nullptr || number_index >= g_numbers) {
        return std::nullopt;
    }
    ngx_atomic_t* tat = &g_tat[number_index];
    for (;;) {
        ngx_atomic_uint_t seen = *tat;
        PaceDecision d = pace(static_cast<std::int64_t>(seen), now_ns(), number.rate_per_sec);
        if (!d.allowed) {
            count(Counter::pacing_rejections);
            return d.wait_ns;
        }
        if (ngx_atomic_cmp_set(tat, seen, static_cast<ngx_atomic_uint_t>(d.tat_ns))) {
            return std::nullopt;
        }
    }
}

}  // namespace wa::ngx

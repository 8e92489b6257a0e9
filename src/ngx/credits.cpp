#include "credits.hpp"

#include "module.hpp"

namespace wa::ngx {

namespace {

// One slot per (number, worker) so a worker can clear its own; workers
// beyond kWorkerSlots share slots (their crash cleanup is then partial).
constexpr std::size_t kWorkerSlots = 256;

ngx_atomic_t* g_slots = nullptr;
std::size_t g_numbers = 0;

ngx_str_t kZoneName = ngx_string("whatsapp_credits");

std::size_t my_slot() { return static_cast<std::size_t>(ngx_worker) % kWorkerSlots; }

ngx_atomic_t* slot(std::size_t number, std::size_t worker) {
    return &g_slots[number * kWorkerSlots + worker];
}

ngx_int_t init_zone(ngx_shm_zone_t* zone, void* data) noexcept {
    if (data) {  // reload with the same numbers: holds in flight stay counted
        zone->data = data;
        g_slots = static_cast<ngx_atomic_t*>(data);
        return NGX_OK;
    }
    auto* shpool = reinterpret_cast<ngx_slab_pool_t*>(zone->shm.addr);
    auto* slots = static_cast<ngx_atomic_t*>(
        ngx_slab_calloc(shpool, g_numbers * kWorkerSlots * sizeof(ngx_atomic_t)));
    if (slots == nullptr) return NGX_ERROR;
    zone->data = const_cast<ngx_atomic_uint_t*>(slots);
    g_slots = slots;
    return NGX_OK;
}

}  // namespace

ngx_int_t credits_add_zone(ngx_conf_t* cf) {
    auto* mcf = static_cast<MainConf*>(
        ngx_http_conf_get_module_main_conf(cf, ngx_http_whatsapp_module));
    g_numbers = mcf->numbers.all().size();
    bool any = false;
    for (const auto& n : mcf->numbers.all()) any = any || n.credits >= 0;
    if (!any) {
        g_slots = nullptr;
        return NGX_OK;
    }
    // The size depends on the number count, so a reload that changes the
    // numbers gets a fresh zone rather than slots laid out for other ones.
    std::size_t bytes = g_numbers * kWorkerSlots * sizeof(ngx_atomic_t);
    std::size_t size = 8 * ngx_pagesize + ngx_align(bytes, ngx_pagesize);
    ngx_shm_zone_t* zone = ngx_shared_memory_add(cf, &kZoneName, size, &ngx_http_whatsapp_module);
    if (zone == nullptr) return NGX_ERROR;
    zone->init = init_zone;
    return NGX_OK;
}

void credits_init_process() {
    if (g_slots == nullptr) return;
    for (std::size_t n = 0; n < g_numbers; n++) *slot(n, my_slot()) = 0;
}

CreditHold::CreditHold(std::size_t number_index) : number_(number_index) {
    if (g_slots) ngx_atomic_fetch_add(slot(number_, my_slot()), 1);
}

CreditHold::~CreditHold() {
    if (g_slots) ngx_atomic_fetch_add(slot(number_, my_slot()), -1);
}

std::uint64_t credits_in_flight(std::size_t number_index) {
    if (g_slots == nullptr || number_index >= g_numbers) return 0;
    std::int64_t sum = 0;
    for (std::size_t w = 0; w < kWorkerSlots; w++) {
        // Signed: a slot a restarted worker cleared may go below zero.
        sum += static_cast<std::int64_t>(static_cast<ngx_atomic_int_t>(*slot(number_index, w)));
    }
    return sum > 0 ? static_cast<std::uint64_t>(sum) : 0;
}

}  // namespace wa::ngx

#include "credits.hpp"

#include "shm_zone.hpp"
#include "state.hpp"

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

}  // namespace

ngx_int_t credits_add_zone(ngx_conf_t* cf) {
    MainConf* mcf = main_conf(cf);
    g_numbers = mcf->numbers.all().size();
    bool any = false;
    for (const auto& n : mcf->numbers.all())
        any = any || n.credits >= 0;
    if (!any) {
        g_slots = nullptr;
        return NGX_OK;
    }
    // The size depends on the number count, so a reload that changes the
    // numbers gets a fresh zone rather than slots laid out for other ones;
    // a reload with the same numbers keeps the holds in flight counted.
    return shm_zone_add(cf, &kZoneName, g_numbers * kWorkerSlots * sizeof(ngx_atomic_t),
                        [](void* slots) { g_slots = static_cast<ngx_atomic_t*>(slots); });
}

void credits_init_process() {
    if (g_slots == nullptr) return;
    for (std::size_t n = 0; n < g_numbers; n++)
        *slot(n, my_slot()) = 0;
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

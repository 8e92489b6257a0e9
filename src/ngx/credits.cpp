#include "credits.hpp"

#include "domain/send.hpp"
#include "shm_zone.hpp"
#include "state.hpp"

namespace wa::ngx {

namespace {

// One slot per (number, worker) so a worker can clear its own; workers
// beyond kWorkerSlots share slots (their crash cleanup is then partial).
constexpr std::size_t kWorkerSlots = 256;

ngx_atomic_t* g_slots = nullptr;
ngx_shmtx_t* g_lock = nullptr;
std::size_t g_numbers = 0;

ngx_str_t kZoneName = ngx_string("whatsapp_credits");

std::size_t my_slot() { return static_cast<std::size_t>(ngx_worker) % kWorkerSlots; }

ngx_atomic_t* slot(std::size_t number, std::size_t worker) {
    return &g_slots[number * kWorkerSlots + worker];
}

// Sends of a number in flight in every worker.
std::uint64_t credits_in_flight(std::size_t number) {
    std::int64_t sum = 0;
    for (std::size_t w = 0; w < kWorkerSlots; w++) {
        // Signed: a slot a restarted worker cleared may go below zero.
        sum += static_cast<std::int64_t>(static_cast<ngx_atomic_int_t>(*slot(number, w)));
    }
    return sum > 0 ? static_cast<std::uint64_t>(sum) : 0;
}

// The holds of one number, in the zone; locked with the zone's lock.
class ZoneHolds final : public CreditHolds {
public:
    ZoneHolds(std::size_t number, bool& counted) : number_(number), counted_(counted) {}
    void lock() override { ngx_shmtx_lock(g_lock); }
    void unlock() override { ngx_shmtx_unlock(g_lock); }
    std::uint64_t in_flight() override { return credits_in_flight(number_); }
    void hold() override {
        ngx_atomic_fetch_add(slot(number_, my_slot()), 1);
        counted_ = true;
    }

private:
    std::size_t number_;
    bool& counted_;
};

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
                        [](void* slots, ngx_shmtx_t* lock) {
                            g_slots = static_cast<ngx_atomic_t*>(slots);
                            g_lock = lock;
                        });
}

void credits_init_process() {
    if (g_slots == nullptr) return;
    for (std::size_t n = 0; n < g_numbers; n++)
        *slot(n, my_slot()) = 0;
}

CreditHold::CreditHold(std::size_t number_index) : number_(number_index) {}

CreditHold::~CreditHold() {
    if (counted_) ngx_atomic_fetch_add(slot(number_, my_slot()), -1);
}

Result<std::shared_ptr<CreditHold>> credit_take(const NumberConfig& number,
                                                std::size_t number_index) {
    Worker* w = worker();
    if (g_slots == nullptr || number_index >= g_numbers || w == nullptr) {
        return make_error("credits", "no credit counts in this worker");
    }
    // Made first, so that nothing can fail between counting the hold and
    // owning it.
    std::shared_ptr<CreditHold> held(new CreditHold(number_index));
    ZoneHolds holds(number_index, held->counted_);
    auto taken = take_credit(*w->store, number, holds);
    if (!taken) return taken.error();
    if (!*taken) return std::shared_ptr<CreditHold>{};
    return held;
}

}  // namespace wa::ngx

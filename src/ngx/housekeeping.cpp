#include "housekeeping.hpp"

#include "base/clock.hpp"
#include "commit.hpp"
#include "domain/idempotency.hpp"
#include "state.hpp"

namespace wa::ngx {

namespace {

constexpr ngx_msec_t kIdleTick = 60 * 1000;
constexpr ngx_msec_t kBusyTick = 1000;  // a full batch: more may be due
constexpr std::size_t kPruneBatch = 1000;

OwnEvent g_tick;

void tick(ngx_event_t* ev) noexcept {
    if (ngx_exiting || ngx_terminate) return;
    Worker* w = worker();
    if (w == nullptr) return ngx_add_timer(ev, kIdleTick);
    try {
        // Pruning frees room: it may use the store's reserve.
        submit_for<std::size_t>(
            [](Txn& txn) { return idempotency_prune(txn, now_ns(), kPruneBatch); },
            [ev](const Result<void>& committed, std::size_t& pruned) {
                if (!committed) {
                    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                                  "whatsapp housekeeping: idempotency records not pruned: %s",
                                  committed.error().message.c_str());
                }
                if (ngx_exiting || ngx_terminate || ev->timer_set) return;
                ngx_add_timer(ev, committed && pruned == kPruneBatch ? kBusyTick : kIdleTick);
            },
            GroupCommit::Room::may_use_reserve);
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ALERT, ev->log, 0, "whatsapp housekeeping: %s", e.what());
        ngx_add_timer(ev, kIdleTick);
    }
}

}  // namespace

ngx_int_t housekeeping_init_process(ngx_cycle_t* cycle) {
    g_tick.init(tick, cycle->log, true);
    ngx_add_timer(&g_tick.ev, kBusyTick);
    return NGX_OK;
}

}  // namespace wa::ngx

// The store's upkeep, one timer per worker: expired Idempotency-Key records,
// and (worker 0 only: the others would repeat its work) what is older than
// whatsapp_retention (messages, delivered events, stream history). Each step is one bounded write
// through the group commit, so it never holds the writer long; a full step ticks again soon.
#include "housekeeping.hpp"

#include <algorithm>

#include "base/clock.hpp"
#include "commit.hpp"
#include "domain/idempotency.hpp"
#include "domain/retention.hpp"
#include "domain/stream.hpp"
#include "metrics.hpp"
#include "state.hpp"

namespace wa::ngx {

namespace {

constexpr ngx_msec_t kIdleTick = 60 * 1000;
constexpr ngx_msec_t kBusyTick = 1000;  // a full batch: more may be due
// Retention behind: small steps, often, so that one step adds little to
// the batch of webhooks it commits with (bench/retention).
constexpr ngx_msec_t kPruningTick = 20;
constexpr std::size_t kRetentionStep = 250;
constexpr std::size_t kPruneBatch = 1000;

OwnEvent g_tick;
PrunePosition g_position;  // where the retention scans go on from
std::string g_stream_position;

void rearm(ngx_event_t* ev, ngx_msec_t after) {
    if (ngx_exiting || ngx_terminate || ev->timer_set) return;
    ngx_add_timer(ev, after);
}

ngx_msec_t retention_tick(const Worker& w) {
    auto half = static_cast<ngx_msec_t>(w.conf->retention) * 500;
    return std::max(kBusyTick, std::min(kIdleTick, half));
}

void log_failure(const char* what, const Result<void>& committed) {
    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0, "whatsapp housekeeping: %s: %s", what,
                  committed.error().message.c_str());
}

struct Pruned {
    PruneStep step;
    PrunePosition position;
    StreamPruneStep stream;
    std::string stream_position;
};

void prune_retention(ngx_event_t* ev, Worker& w, ngx_msec_t next) {
    std::int64_t cutoff = now_ns() - static_cast<std::int64_t>(w.conf->retention) * kNsPerSec;
    // From a copy: the group commit may run the work twice (a batch applied
    // again item by item), and only a committed step moves the position.
    // Pruning frees room: it may use the store's reserve.
    submit_for<Pruned>(
        [cutoff, from = g_position, stream_from = g_stream_position](Txn& txn) -> Result<Pruned> {
            Pruned p{{}, from, {}, stream_from};
            auto step = prune_before(txn, cutoff, kRetentionStep, p.position);
            if (!step) return step.error();
            p.step = *step;
            auto stream = prune_stream_before(txn, cutoff, kRetentionStep, p.stream_position);
            if (!stream) return stream.error();
            p.stream = *stream;
            // The stream's tenants are visited in key order: start over next time.
            if (p.stream.done) p.stream_position.clear();
            return p;
        },
        [ev, next](const Result<void>& committed, Pruned& p) {
            if (!committed) {
                log_failure("old messages and events not pruned", committed);
                return rearm(ev, kIdleTick);
            }
            g_position = std::move(p.position);
            g_stream_position = std::move(p.stream_position);
            count(Counter::pruned_messages, static_cast<ngx_atomic_int_t>(p.step.messages));
            count(Counter::pruned_events, static_cast<ngx_atomic_int_t>(p.step.events));
            count(Counter::pruned_stream, static_cast<ngx_atomic_int_t>(p.stream.removed));
            rearm(ev, p.step.done && p.stream.done ? next : kPruningTick);
        },
        GroupCommit::Room::may_use_reserve);
}

void tick(ngx_event_t* ev) noexcept {
    if (ngx_exiting || ngx_terminate) return;
    Worker* w = worker();
    if (w == nullptr) return ngx_add_timer(ev, kIdleTick);
    try {
        submit_for<std::size_t>(
            [](Txn& txn) { return idempotency_prune(txn, now_ns(), kPruneBatch); },
            [ev](const Result<void>& committed, std::size_t& pruned) {
                if (!committed) log_failure("idempotency records not pruned", committed);
                ngx_msec_t next = committed && pruned == kPruneBatch ? kBusyTick : kIdleTick;
                Worker* w = worker();
                // A short retention is looked after at least twice per period.
                if (w != nullptr) next = std::min(next, retention_tick(*w));
                if (ngx_worker != 0 || w == nullptr || ngx_exiting || ngx_terminate) {
                    return rearm(ev, next);
                }
                try {
                    prune_retention(ev, *w, next);
                } catch (const std::exception& e) {
                    ngx_log_error(NGX_LOG_ALERT, ev->log, 0, "whatsapp housekeeping: %s", e.what());
                    rearm(ev, kIdleTick);
                }
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

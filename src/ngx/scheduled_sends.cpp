#include "scheduled_sends.hpp"

#include <memory>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "base/text.hpp"
#include "commit.hpp"
#include "credits.hpp"
#include "delivery.hpp"
#include "domain/scheduled.hpp"
#include "graph_send.hpp"
#include "metrics.hpp"
#include "pacing.hpp"
#include "state.hpp"
#include "variables.hpp"

namespace wa::ngx {

namespace {

constexpr ngx_msec_t kTick = 1000;  // a send is made within about a second of its time
constexpr std::size_t kClaimBatch = 16;
constexpr std::size_t kMaxInFlight = 64;
// A claimed send is this worker's for so long: far beyond any Graph exchange,
// so that it is never made twice at once; a crashed worker's sends wait that long.
constexpr std::int64_t kLeaseNs = 5 * 60 * kNsPerSec;
constexpr std::int64_t kNotWrittenRetryNs = 30 * kNsPerSec;

OwnEvent g_tick;
std::size_t g_in_flight = 0;

// One send being made, and the request it runs under. Freed from a posted
// event: nginx still uses the request after our handler.
struct Job {
    DueSend due;
    BackgroundRequest background;
    GraphExchange graph;
    std::shared_ptr<CreditHold> credit;
    ngx_event_t release{};
};

void release_job(ngx_event_t* ev) noexcept {
    auto* job = static_cast<Job*>(ev->data);
    job->background.release();
    delete job;
    g_in_flight--;
}

void post_release(Job* job) {
    job->release.data = job;
    job->release.log = ngx_cycle->log;
    job->release.handler = release_job;
    ngx_post_event(&job->release, &ngx_posted_events);
}

void log_failure(const char* what, const std::string& message_id, const Error& e) {
    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0, "whatsapp scheduled send %s: %s not stored: %s",
                  message_id.c_str(), what, log_escape(e.message).c_str());
}

void deliver_all(std::vector<Delivery>& deliveries) {
    for (Delivery& d : deliveries)
        deliver(std::move(d));
}

// Not made, for good: failed, with its event.
void fail(const DueSend& d, std::int64_t code, std::string title, std::string details) {
    Worker* w = worker();
    if (w == nullptr) return;  // the lease runs out; claimed again
    const NumberDirectory* numbers = &w->conf->numbers;
    DeliveryPolicy policy = w->conf->policy;
    submit_for<std::vector<Delivery>>(
        [id = d.id, code, title, details, numbers, policy](Txn& txn) {
            return fail_scheduled(txn, id, code, title, details, *numbers, policy, now_ns());
        },
        [message_id = d.message_id](const Result<void>& committed,
                                    std::vector<Delivery>& deliveries) {
            if (!committed) return log_failure("its failure", message_id, committed.error());
            deliver_all(deliveries);
        },
        GroupCommit::Room::may_use_reserve);
}

// Meta has it (wamid) or may have (none).
void complete(const DueSend& d, std::string wamid, std::shared_ptr<CreditHold> credit) {
    Worker* w = worker();
    if (w == nullptr) return;
    const NumberDirectory* numbers = &w->conf->numbers;
    DeliveryPolicy policy = w->conf->policy;
    submit_for<RecordedSend>(
        [id = d.id, wamid = std::move(wamid), numbers, policy](Txn& txn) {
            return complete_scheduled(txn, id, wamid, *numbers, policy, now_ns());
        },
        [message_id = d.message_id, credit](const Result<void>& committed,
                                            RecordedSend& rec) mutable {
            credit.reset();
            if (!committed) return log_failure("its send", message_id, committed.error());
            deliver_all(rec.deliveries);
        },
        GroupCommit::Room::may_use_reserve);
}

void retry(const DueSend& d, std::int64_t due_ns) {
    if (worker() == nullptr) return;
    submit([id = d.id, due_ns](Txn& txn) { return retry_scheduled(txn, id, due_ns); },
           [message_id = d.message_id](const Result<void>& committed) {
               if (!committed) log_failure("its retry", message_id, committed.error());
           },
           GroupCommit::Room::may_use_reserve);
}

void sent(ngx_http_request_t* r) noexcept {
    RequestCtx* ctx = request_ctx(r);
    auto* job = ctx ? static_cast<Job*>(ctx->handler_state) : nullptr;
    if (job == nullptr || !job->graph.done) return;
    ctx->handler_state = nullptr;  // once
    try {
        const DueSend& d = job->due;
        GraphResult g = job->graph.result();
        count_graph(g);
        switch (job->graph.outcome(g)) {
            case SendOutcome::accepted: complete(d, std::move(g.wamid), job->credit); break;
            case SendOutcome::unknown:
                ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                              "whatsapp scheduled send %s: no answer from the Graph API after "
                              "the request was written: recorded as unknown",
                              d.message_id.c_str());
                complete(d, {}, job->credit);
                break;
            case SendOutcome::not_sent:
                if (job->graph.status == 0) {
                    retry(d, now_ns() + kNotWrittenRetryNs);  // never reached Meta
                } else if (g.outcome == GraphOutcome::throttled) {
                    retry(d, now_ns() + std::int64_t{g.retry_after_s} * kNsPerSec);
                } else {
                    fail(d, g.meta.code, g.meta.message.empty() ? g.reason : g.meta.message,
                         g.meta.details);
                }
                break;
        }
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0, "whatsapp scheduled send: %s", e.what());
    }
    job->credit.reset();
    post_release(job);
}

void start(DueSend d) {
    Worker* w = worker();
    if (w == nullptr || w->exiting) return;
    if (d.expired) {
        return fail(d, 0, "expired", "expires_at passed before the send could be made");
    }
    const NumberConfig* number = w->conf->numbers.by_e164(d.number_e164);
    if (number == nullptr) return fail(d, 0, "unknown_number", "the number is not configured");
    auto index = static_cast<std::size_t>(number - w->conf->numbers.all().data());
    // Judged as a send now would be (SPEC §6.3).
    std::shared_ptr<CreditHold> credit;
    if (number->credits >= 0) {
        auto taken = credit_take(*number, index);
        if (!taken) {
            ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                          "whatsapp scheduled send %s: credits not read (%s); retried in 30 s",
                          d.message_id.c_str(), log_escape(taken.error().message).c_str());
            return retry(d, now_ns() + kNotWrittenRetryNs);
        }
        if (*taken == nullptr) {
            return fail(d, 0, "insufficient_balance", "the number's credits are used up");
        }
        credit = std::move(*taken);
    }
    // Over the number's rate: due again when it allows a send (not a failure).
    if (auto wait = pacing_take(*number, index)) return retry(d, now_ns() + *wait);
    auto* job = new Job{std::move(d), {}, {}, std::move(credit), {}};
    g_in_flight++;
    ngx_http_request_t* r =
        job->background.create(w->conf->dispatch_ctx, "sending a scheduled whatsapp message");
    if (r != nullptr) tag_log(r, job->due.message_id);
    RequestCtx* ctx = r ? request_ctx(r) : nullptr;
    if (ctx != nullptr) ctx->handler_state = job;
    if (ctx == nullptr || !graph_send(r, *number, job->due.graph_body, &job->graph, sent)) {
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                      "whatsapp scheduled send %s: could not start (out of memory or "
                      "connections); retried in 30 s",
                      job->due.message_id.c_str());
        retry(job->due, now_ns() + kNotWrittenRetryNs);
        job->release.data = job;
        release_job(&job->release);  // nothing references it yet
        return;
    }
    // The subrequest is posted on the request's connection: run it now.
    ngx_http_run_posted_requests(job->background.connection);
}

void tick(ngx_event_t* ev) noexcept {
    if (ngx_exiting || ngx_terminate) return;
    Worker* w = worker();
    try {
        if (w != nullptr && !w->exiting && w->conf->dispatch_ctx != nullptr &&
            g_in_flight < kMaxInFlight) {
            submit_for<std::vector<DueSend>>(
                [](Txn& txn) { return claim_scheduled(txn, now_ns(), kClaimBatch, kLeaseNs); },
                [](const Result<void>& committed, std::vector<DueSend>& due) {
                    if (!committed) {
                        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                                      "whatsapp scheduled sends: claim not stored: %s",
                                      log_escape(committed.error().message).c_str());
                        return;
                    }
                    for (DueSend& d : due)
                        start(std::move(d));
                },
                GroupCommit::Room::may_use_reserve);
        }
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ALERT, ev->log, 0, "whatsapp scheduled sends: %s", e.what());
    }
    ngx_add_timer(ev, kTick);
}

}  // namespace

ngx_int_t scheduled_sends_init_process(ngx_cycle_t* cycle) {
    g_tick.init(tick, cycle->log, true);
    ngx_add_timer(&g_tick.ev, kTick);
    return NGX_OK;
}

}  // namespace wa::ngx

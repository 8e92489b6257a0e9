#include "delivery.hpp"

#include <deque>
#include <memory>
#include <utility>

#include "domain/callback_guard.hpp"
#include "base/clock.hpp"
#include "domain/signing.hpp"
#include "base/text.hpp"
#include "metrics.hpp"
#include "callback_host.hpp"
#include "commit.hpp"
#include "state.hpp"
#include "variables.hpp"

namespace wa::ngx {

namespace {

// Deliveries in flight and waiting for a slot, per worker: each attempt
// holds two connections (ours and the upstream's), so a burst of events must
// not start them all at once.
struct Pacing {
    std::size_t limit = 1;
    std::size_t in_flight = 0;
    std::deque<Delivery> waiting;  // leased, in the order they were handed over
};
Pacing g_pacing;
OwnEvent g_pump;  // starts waiting deliveries from the event loop

void post_pump() {
    if (g_pump.ev.handler && !g_pump.ev.posted) {
        ngx_post_event(&g_pump.ev, &ngx_posted_events);
    }
}

// One slot of g_pacing.limit, released when its holder is destroyed: every
// way a delivery ends (answered, refused, failed to start) frees it once.
class Slot {
public:
    Slot() = default;
    static Slot take() {
        g_pacing.in_flight++;
        Slot s;
        s.held_ = true;
        return s;
    }
    Slot(Slot&& other) noexcept : held_(std::exchange(other.held_, false)) {}
    Slot& operator=(Slot&&) = delete;
    ~Slot() {
        if (!held_) return;
        g_pacing.in_flight--;
        post_pump();  // never start from inside another request's finalization
    }

private:
    bool held_ = false;
};

// At most one log line per kind of failure every 10 s, counting the rest.
struct LogLimit {
    ngx_msec_t last = 0;
    ngx_uint_t held = 0;
    bool allow() {
        ngx_msec_t now = ngx_current_msec;
        if (last != 0 && now - last < 10000) {
            held++;
            return false;
        }
        last = now == 0 ? 1 : now;
        return true;
    }
    ngx_uint_t take_held() { return std::exchange(held, 0); }
};

void log_store_failure(LogLimit& limit, const char* what, const Error& e) {
    count(Counter::delivery_store_failed);
    if (!limit.allow()) return;
    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0,
                  "whatsapp delivery: %s not stored (%s)%s; %ui similar failure(s) since the "
                  "last such line",
                  what, e.message.c_str(), e.code == "store_full" ? ", the store is full" : "",
                  limit.take_held());
}

// One delivery attempt and the request it runs under. Freed from a posted
// event: nginx still uses the request after our post-subrequest handler.
struct Attempt {
    Delivery delivery;
    Slot slot;
    BackgroundRequest background;
    ngx_http_request_t* subrequest = nullptr;
    ngx_event_t release{};
    ngx_event_t deadline{};  // the attempt's whole time (whatsapp_delivery timeout)
    bool finished = false;
    bool timed_out = false;
};

void release_attempt(ngx_event_t* ev) noexcept {
    auto* a = static_cast<Attempt*>(ev->data);
    if (a->deadline.timer_set) ngx_del_timer(&a->deadline);
    a->background.release();
    delete a;
}

void post_release(Attempt* a) {
    a->release.data = a;
    a->release.log = ngx_cycle->log;
    a->release.handler = release_attempt;
    ngx_post_event(&a->release, &ngx_posted_events);
}

LogLimit g_result_log, g_claim_log;

void record_attempt(const Uuid& id, AttemptResult result) {
    Worker* w = worker();
    if (w == nullptr) return;  // the lease expires and the retry timer takes over
    DeliveryPolicy policy = w->conf->policy;
    submit_for<AttemptOutcome>(
        [id, result = std::move(result), policy](Txn& txn) {
            return outbox_record_attempt(txn, id, result, policy, now_ns());
        },
        [](const Result<void>& committed, AttemptOutcome& outcome) {
            if (!committed) {
                // The lease expires and the retry timer sends the event again.
                return log_store_failure(g_result_log, "an attempt's result", committed.error());
            }
            if (outcome.verdict == AttemptVerdict::dead) count(Counter::deliveries_dead);
            if (outcome.next) deliver(std::move(*outcome.next));
        },
        GroupCommit::Room::may_use_reserve);
}

// A delivery may start only while its lease outlasts a whole attempt with
// time to record the result: then no other sender can hold the same event
// (or the next one of its conversation) while this attempt is open.
std::int64_t attempt_budget_ns(const DeliveryPolicy& policy) { return policy.lease_ns / 3; }

bool lease_allows_attempt(const Delivery& d, const DeliveryPolicy& policy) {
    std::int64_t budget = attempt_budget_ns(policy);
    return d.lease_until_ns - now_ns() >= budget + budget / 2;
}

ngx_int_t attempt_done(ngx_http_request_t* sr, void* data, ngx_int_t rc) noexcept {
    auto* a = static_cast<Attempt*>(data);
    if (a->finished) return rc;
    a->finished = true;
    if (a->deadline.timer_set) ngx_del_timer(&a->deadline);
    try {
        // Only what the callback itself answered counts: a status nginx made
        // up (502 refused, 504 timeout, 404 for a missing location) is a
        // transport failure, retried rather than final.
        int status = upstream_status(sr);
        AttemptResult result{status, status         ? ""
                                     : a->timed_out ? "no answer within the delivery timeout"
                                                    : "transport failure or timeout"};
        bool delivered = classify_attempt(status) == AttemptVerdict::delivered;
        count(delivered ? Counter::deliveries_delivered : Counter::deliveries_failed);
        if (delivered) observe(Latency::event_delivery, now_ns() - a->delivery.created_at_ns);
        if (!delivered) {
            // The attempt's own log: its lines end with the event's id.
            ngx_log_error(NGX_LOG_WARN, sr->connection->log, 0,
                          "whatsapp delivery of %s to \"%s\" failed: status %d",
                          a->delivery.event_id_text.c_str(), log_escape(a->delivery.url).c_str(),
                          status);
        }
        record_attempt(a->delivery.event_id, std::move(result));
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0, "whatsapp delivery: %s", e.what());
    }
    post_release(a);
    return rc;
}

// Where an attempt connects: the stored URL, or for a client's URL the
// checked address it resolved to; host names it (Host, TLS server name).
struct Target {
    std::string url;
    std::string host;
};

// The subrequest carries only what we build here: the client of the main
// request (none here) never leaks into a callback.
bool prepare_subrequest(ngx_http_request_t* sr, const Delivery& d, const Target& target,
                        const std::vector<Header>& signature) {
    HeaderList headers{{"Content-Type", "application/json"}, {"User-Agent", "ngx_whatsapp"}};
    for (const auto& [name, value] : signature)
        headers.emplace_back(name, value);
    if (!make_post_subrequest(sr, d.body, headers)) return false;

    RequestCtx* ctx = request_ctx(sr);
    if (ctx == nullptr) return false;
    ctx->callback_url = pool_str(sr->pool, target.url);
    ctx->callback_host = pool_str(sr->pool, target.host);
    // The body is read (so the upstream connection can be kept alive) and dropped.
    ctx->discard_output = true;
    return true;
}

// Retries and crashed workers' leases: a per-worker timer claims due events,
// no more than there are free slots. A claim the store refuses is retried
// next tick with half as many (a full store still has room for small ones).
constexpr ngx_msec_t kRetryTick = 1000;
constexpr std::size_t kClaimBatch = 256;
std::size_t g_claim_batch = kClaimBatch;
OwnEvent g_retry;

std::size_t free_slots() {
    std::size_t busy = g_pacing.in_flight + g_pacing.waiting.size();
    return busy >= g_pacing.limit ? 0 : g_pacing.limit - busy;
}

bool something_due(Worker* w, std::int64_t now) {
    auto txn = w->store->begin_read();
    if (!txn) return false;
    auto next = outbox_next_due(*txn);
    return next && *next && **next <= now;
}

void retry_tick(ngx_event_t* ev) noexcept {
    if (ngx_exiting || ngx_terminate) return;
    Worker* w = worker();
    try {
        std::int64_t now = now_ns();
        std::size_t limit = std::min(g_claim_batch, free_slots());
        if (w && limit > 0 && something_due(w, now)) {
            DeliveryPolicy policy = w->conf->policy;
            submit_for<std::vector<Delivery>>(
                [now, policy, limit](Txn& txn) {
                    return outbox_claim_due(txn, now, limit, policy);
                },
                [](const Result<void>& committed, std::vector<Delivery>& claimed) {
                    if (!committed) {
                        g_claim_batch = std::max<std::size_t>(g_claim_batch / 2, 1);
                        return log_store_failure(g_claim_log, "a claim of due events",
                                                 committed.error());
                    }
                    g_claim_batch = std::min(g_claim_batch * 2, kClaimBatch);
                    for (Delivery& d : claimed)
                        deliver(std::move(d));
                },
                GroupCommit::Room::may_use_reserve);
        }
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ALERT, ev->log, 0, "whatsapp retry: %s", e.what());
    }
    ngx_add_timer(ev, kRetryTick);
}

}  // namespace

namespace {

ngx_http_output_body_filter_pt g_next_body_filter;

// Swallows what a callback answers: there is no client to send it to.
ngx_int_t discard_body_filter(ngx_http_request_t* r, ngx_chain_t* in) noexcept {
    auto* ctx = static_cast<RequestCtx*>(ngx_http_get_module_ctx(r, ngx_http_whatsapp_module));
    if (ctx == nullptr || !ctx->discard_output) return g_next_body_filter(r, in);
    for (ngx_chain_t* cl = in; cl; cl = cl->next) {
        cl->buf->pos = cl->buf->last;
        cl->buf->file_pos = cl->buf->file_last;
    }
    return NGX_OK;
}

}  // namespace

ngx_int_t delivery_init_filters(ngx_conf_t*) {
    g_next_body_filter = ngx_http_top_body_filter;
    ngx_http_top_body_filter = discard_body_filter;
    return NGX_OK;
}

namespace {

void pump(ngx_event_t*) noexcept;

}  // namespace

ngx_int_t delivery_init_process(ngx_cycle_t* cycle) {
    g_retry.init(retry_tick, cycle->log, true);
    ngx_add_timer(&g_retry.ev, kRetryTick);
    g_pump.init(pump, cycle->log);

    Worker* w = worker();
    ngx_uint_t connections = cycle->connection_n;
    ngx_uint_t limit =
        w && w->conf->delivery_concurrency ? w->conf->delivery_concurrency : connections / 4;
    g_pacing.limit = std::max<ngx_uint_t>(limit, 1);
    if (g_pacing.limit * 2 >= connections) {
        ngx_log_error(NGX_LOG_WARN, cycle->log, 0,
                      "whatsapp_delivery concurrency=%ui needs %ui of the %ui "
                      "worker_connections: clients may be refused during bursts",
                      static_cast<ngx_uint_t>(g_pacing.limit),
                      static_cast<ngx_uint_t>(g_pacing.limit * 2), connections);
    }
    return NGX_OK;
}

namespace {

// The attempt's whole time is bounded here, whatever the callback
// location's proxy timeouts say: an upstream trickling its answer would
// otherwise outlive the lease and the event be sent twice at once.
void attempt_deadline(ngx_event_t* ev) noexcept {
    auto* a = static_cast<Attempt*>(ev->data);
    if (a->finished || a->subrequest == nullptr) return;
    a->timed_out = true;
    ngx_log_error(NGX_LOG_WARN, a->subrequest->connection->log, 0,
                  "whatsapp delivery of %s: no answer within the delivery timeout, aborted",
                  a->delivery.event_id_text.c_str());
    // Runs attempt_done, then closes the upstream connection.
    ngx_http_finalize_request(a->subrequest, NGX_ERROR);
}

// A delivery that could not be started is a failed attempt: retried after
// its backoff rather than when its lease runs out.
void start_failed(const Delivery& d, const char* why) {
    ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0, "whatsapp delivery of %s could not start: %s",
                  d.event_id_text.c_str(), why);
    count(Counter::deliveries_failed);
    record_attempt(d.event_id, AttemptResult{0, std::string("could not start: ") + why});
}

void start_attempt(Delivery d, Slot slot, const Target& target,
                   const std::vector<Header>& signature) {
    Worker* w = worker();
    if (w == nullptr || w->exiting) return;
    auto* a = new Attempt{std::move(d), std::move(slot), {}};
    const Delivery& delivery = a->delivery;
    ngx_http_request_t* r =
        a->background.create(w->conf->dispatch_ctx, "delivering a whatsapp event");
    if (r != nullptr) tag_log(r, delivery.event_id_text);
    auto* ps = r ? static_cast<ngx_http_post_subrequest_t*>(
                       ngx_palloc(r->pool, sizeof(ngx_http_post_subrequest_t)))
                 : nullptr;
    ngx_http_request_t* sr = nullptr;
    bool ok = ps != nullptr;
    if (ok) {
        ps->handler = attempt_done;
        ps->data = a;
        ok = ngx_http_subrequest(r, &w->conf->callback_uri, nullptr, &sr, ps,
                                 NGX_HTTP_SUBREQUEST_BACKGROUND) == NGX_OK &&
             prepare_subrequest(sr, delivery, target, signature);
    }
    if (!ok) {
        start_failed(delivery, "out of memory or connections");
        if (sr == nullptr) {
            a->release.data = a;
            release_attempt(&a->release);  // nothing references it yet
        } else {
            a->finished = true;
            ngx_http_finalize_request(sr, NGX_ERROR);
            post_release(a);
        }
        return;
    }
    a->subrequest = sr;
    a->deadline.data = a;
    a->deadline.log = ngx_cycle->log;
    a->deadline.handler = attempt_deadline;
    a->deadline.cancelable = 1;
    ngx_add_timer(&a->deadline,
                  static_cast<ngx_msec_t>(attempt_budget_ns(w->conf->policy) / 1'000'000));
    ngx_http_run_posted_requests(a->background.connection);
}

// A client's callback is judged again on every delivery, after resolving
// it, and the attempt connects to the address judged: DNS that changed
// since the reply was accepted cannot point an event at the gateway's
// own network.
void refuse(const Delivery& d, const std::string& why) {
    ngx_log_error(NGX_LOG_WARN, ngx_cycle->log, 0, "whatsapp delivery of %s to \"%s\" refused: %s",
                  d.event_id_text.c_str(), log_escape(d.url).c_str(), why.c_str());
    count(Counter::deliveries_failed);
    record_attempt(d.event_id, AttemptResult{0, "callback_url refused: " + why});
}

// Holds what an attempt needs while its callback host is being checked.
struct Resolving {
    Delivery delivery;
    Slot slot;
    std::vector<Header> signature;
    CallbackTarget target;
};

void deliver_guarded(Delivery d, Slot slot, std::vector<Header> signature) {
    Worker* w = worker();
    auto target = w->conf->callback_guard.check_url(d.url);
    if (!target) return refuse(d, target.error().message);
    if (target->is_literal) {
        Target literal{d.url, target->host};
        return start_attempt(std::move(d), std::move(slot), literal, signature);
    }
    ngx_http_core_loc_conf_t* clcf = w->conf->callback_clcf;
    auto res = std::make_shared<Resolving>(
        Resolving{std::move(d), std::move(slot), std::move(signature), std::move(*target)});
    HostCheck::start(clcf ? clcf->resolver : nullptr, clcf ? clcf->resolver_timeout : 0,
                     res->target.host, w->conf->callback_guard, [res](const HostVerdict& v) {
                         Worker* w = worker();
                         if (w == nullptr) return;
                         if (!v.refused.empty()) return refuse(res->delivery, v.refused);
                         // Resolving may have taken part of the lease (pump checked it).
                         if (!lease_allows_attempt(res->delivery, w->conf->policy)) return;
                         start_attempt(
                             res->delivery, std::move(res->slot),
                             Target{pinned_url(res->target, *v.address), res->target.host},
                             res->signature);
                     });
}

// Signs and sends one delivery that holds a slot.
void begin(Delivery d, Slot slot) {
    Worker* w = worker();
    const NumberConfig* number = w->conf->numbers.by_e164(d.number);
    auto signature =
        number ? event_signature_headers(number->signing_key.get(), number->signing_secret,
                                         d.event_id_text, now_ns() / kNsPerSec, d.body)
               : Result<std::vector<Header>>(make_error("unknown_number", d.number));
    if (!signature) {
        // Never sent unsigned: recorded as a failed attempt and retried.
        ngx_log_error(NGX_LOG_ERR, ngx_cycle->log, 0, "whatsapp delivery of %s: not signed: %s",
                      d.event_id_text.c_str(), signature.error().message.c_str());
        record_attempt(d.event_id, AttemptResult{0, "not signed: " + signature.error().message});
        return;
    }
    if (d.url_guarded) {
        return deliver_guarded(std::move(d), std::move(slot), std::move(signature.value()));
    }
    Target target{d.url, url_host(d.url)};
    start_attempt(std::move(d), std::move(slot), target, *signature);
}

// Starts waiting deliveries while slots are free. One whose lease no longer
// covers an attempt is dropped: the retry timer claims it again once the
// lease has run out, so it is neither lost nor sent twice at once.
void pump(ngx_event_t*) noexcept {
    Worker* w = worker();
    if (w == nullptr || w->exiting || w->conf->dispatch_ctx == nullptr) {
        g_pacing.waiting.clear();
        return;
    }
    try {
        while (g_pacing.in_flight < g_pacing.limit && !g_pacing.waiting.empty()) {
            Delivery d = std::move(g_pacing.waiting.front());
            g_pacing.waiting.pop_front();
            if (!lease_allows_attempt(d, w->conf->policy)) continue;
            begin(std::move(d), Slot::take());
        }
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ALERT, ngx_cycle->log, 0, "whatsapp delivery: %s", e.what());
    }
}

}  // namespace

void deliver(Delivery d) {
    Worker* w = worker();
    // While exiting, a delivery is not started: its lease expires and
    // another worker (or the next start) sends it.
    if (w == nullptr || w->exiting || w->conf->dispatch_ctx == nullptr) return;
    g_pacing.waiting.push_back(std::move(d));
    post_pump();
}

}  // namespace wa::ngx

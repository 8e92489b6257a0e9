// Counters live in shared memory so every worker's increments show in one
// scrape; gauges are read from the store at scrape time.
#include "metrics.hpp"

#include <cstdio>
#include <string>
#include <vector>

#include "base/clock.hpp"
#include "domain/outbox.hpp"
#include "shm_zone.hpp"
#include "state.hpp"

namespace wa::ngx {

namespace {

constexpr unsigned kCounters = static_cast<unsigned>(Counter::count_);

// Reply answers by code (SPEC §6.2, §6.3); the last one counts codes not listed.
constexpr const char* kReplyCodes[] = {
    "ok",
    "missing_api_token",
    "invalid_api_token",
    "forbidden",
    "invalid_request",
    "missing_text",
    "invalid_phone_number",
    "invalid_correlation_id",
    "invalid_callback_url",
    "invalid_reply_context",
    "phone_number_mismatch",
    "window_expired",
    "insufficient_balance",
    "rate_limited",
    "upstream_error",
    "upstream_timeout",
    "idempotency_key_in_use",
    "idempotency_key_reused",
    "store_unavailable",
    "invalid_template_id",
    "invalid_variables",
    "invalid_sender",
    "invalid_channel",
    "not_found",
    "other",
};
constexpr unsigned kReplyCodeCount = sizeof(kReplyCodes) / sizeof(kReplyCodes[0]);

// Graph API refusals by Meta's error code: the ones §6.3 maps, then any
// other code, then no answer at all (transport failure, timeout).
constexpr std::int64_t kGraphCodes[] = {131047, 130429, 131056, 80007,  4,
                                        131048, 190,    100,    131026, 131000};
constexpr unsigned kGraphCodeCount = sizeof(kGraphCodes) / sizeof(kGraphCodes[0]);
constexpr unsigned kGraphOther = kGraphCodeCount;
constexpr unsigned kGraphTransport = kGraphCodeCount + 1;

// Commit pipeline times in nanoseconds: the item stages, then the busy times.
constexpr const char* kStageNames[] = {"queued",     "waiting", "applying",
                                       "committing", "syncing", "completing"};
static_assert(sizeof(kStageNames) / sizeof(kStageNames[0]) == GroupCommit::stages_);
constexpr const char* kBusyNames[] = {"writer_apply", "writer_commit", "syncer_sync"};
constexpr unsigned kCommitTimes = GroupCommit::stages_ + 3;

// Latency bucket bounds, in ns (Prometheus' le, in seconds, when shown).
constexpr std::int64_t kLatencyBounds[] = {
    500'000,       1'000'000,     2'500'000,     5'000'000,      10'000'000,
    25'000'000,    50'000'000,    100'000'000,   250'000'000,    500'000'000,
    1'000'000'000, 2'500'000'000, 5'000'000'000, 10'000'000'000, 60'000'000'000};
constexpr unsigned kLatencyBuckets = sizeof(kLatencyBounds) / sizeof(kLatencyBounds[0]) + 1;
constexpr unsigned kLatencies = static_cast<unsigned>(Latency::count_);

struct HistogramDef {
    const char* name;
    const char* help;
};
constexpr HistogramDef kLatencyDefs[kLatencies] = {
    {"whatsapp_webhook_ack_seconds",
     "Webhook POSTs from nginx's request start to the acknowledgement after the fsync"},
    {"whatsapp_send_seconds", "Graph API sends, the round trip of the subrequest"},
    {"whatsapp_event_delivery_seconds",
     "Events from their commit to the callback's 2xx, retries included"},
    {"whatsapp_stream_fanout_seconds",
     "Live stream frames from the durable commit that published them to the client's socket"},
};

// Per bucket (not cumulative: rendering sums them), then the sum and count.
struct Histogram {
    ngx_atomic_t buckets[kLatencyBuckets];
    ngx_atomic_t sum_ns;
    ngx_atomic_t count;
};

struct Shared {
    ngx_atomic_t counters[kCounters];
    Histogram latency[kLatencies];
    ngx_atomic_t batch_sizes[GroupCommit::size_buckets_];
    ngx_atomic_t commit_ns[kCommitTimes];
    ngx_atomic_t commit_reapplied;
    ngx_atomic_t replies[kReplyCodeCount];
    ngx_atomic_t graph_errors[kGraphCodeCount + 2];
};

Shared* g_shared = nullptr;

struct CounterDef {
    const char* name;
    const char* help;
};

// Same order as enum Counter.
constexpr CounterDef kDefs[kCounters] = {
    {"whatsapp_inbound_received_total", "Inbound messages stored"},
    {"whatsapp_inbound_duplicate_total", "Inbound messages already stored (same wamid)"},
    {"whatsapp_inbound_bad_signature_total", "Webhook POSTs with a missing or bad signature"},
    {"whatsapp_inbound_unrouted_total", "Webhook changes for an unknown phone_number_id"},
    {"whatsapp_inbound_unsigned_total", "Webhook changes not signed by their number's app secret"},
    {"whatsapp_inbound_rejected_total", "Webhook POSTs rejected as malformed"},
    {"whatsapp_inbound_store_failed_total",
     "Webhook POSTs answered 503: store unavailable or full"},
    {"whatsapp_statuses_total{result=\"applied\"}",
     "Status webhooks: applied (moved a message forward), ignored (late or repeated), unknown"},
    {"whatsapp_statuses_total{result=\"ignored\"}", nullptr},
    {"whatsapp_statuses_total{result=\"unknown\"}", nullptr},
    {"whatsapp_event_deliveries_total{result=\"delivered\"}", nullptr},
    {"whatsapp_event_deliveries_total{result=\"failed\"}", nullptr},
    {"whatsapp_event_dead_letters_total", "Events given up after the last attempt"},
    {"whatsapp_store_commit_batches_total", "Group commits"},
    {"whatsapp_store_commit_items_total", "Writes committed in group commits"},
    {"whatsapp_delivery_store_failed_total",
     "Delivery bookkeeping (claims of due events, attempt results) the store could not write"},
    {"whatsapp_idempotency_replays_total",
     "Requests answered from an Idempotency-Key's kept answer (nothing sent again)"},
    {"whatsapp_pacing_rejections_total",
     "Sends held back by a number's rate: answered 429, or a batch or scheduled send waiting"},
    {"whatsapp_pruned_total{kind=\"message\"}",
     "Records older than whatsapp_retention removed: messages, delivered events"},
    {"whatsapp_pruned_total{kind=\"event\"}", nullptr},
    {"whatsapp_pruned_total{kind=\"stream\"}", nullptr},
    {"whatsapp_stream_connections_opened_total", "WebSocket and SSE connections opened"},
    {"whatsapp_stream_connections_closed_total", "WebSocket and SSE connections closed"},
    {"whatsapp_stream_overflows_total",
     "Stream clients closed with 1013: their unsent output passed its bound"},
};

// Connections open now, over every worker: opened less closed.
void render_gauges(std::string& out) {
    auto at = [](Counter c) -> long long {
        return g_shared ? static_cast<long long>(g_shared->counters[static_cast<unsigned>(c)]) : 0;
    };
    long long open = at(Counter::stream_opened) - at(Counter::stream_closed);
    out += "# HELP whatsapp_stream_connections WebSocket and SSE connections open now\n";
    out += "# TYPE whatsapp_stream_connections gauge\n";
    out += "whatsapp_stream_connections " + std::to_string(open < 0 ? 0 : open) + "\n";
}

void append_line(std::string& out, const char* name, unsigned long long value) {
    out += name;
    out += ' ';
    out += std::to_string(value);
    out += '\n';
}

std::string seconds_text(unsigned long long ns) {
    char secs[32];
    std::snprintf(secs, sizeof secs, "%llu.%09llu", ns / 1000000000ULL, ns % 1000000000ULL);
    return secs;
}

// name{label="value"} seconds, from nanoseconds.
void append_seconds(std::string& out, std::string_view name, std::string_view label,
                    std::string_view value, unsigned long long ns) {
    out.append(name).append("{").append(label).append("=\"").append(value).append("\"} ");
    out.append(seconds_text(ns)).append("\n");
}

void render_commit_times(std::string& out) {
    auto ns = [](unsigned i) -> unsigned long long {
        return g_shared ? g_shared->commit_ns[i] : 0;
    };
    constexpr std::string_view item = "whatsapp_store_commit_item_seconds_total";
    out.append("# HELP ").append(item).append(
        " Time written items spent in each stage of the commit pipeline, summed over items\n");
    out.append("# TYPE ").append(item).append(" counter\n");
    for (unsigned i = 0; i < GroupCommit::stages_; i++)
        append_seconds(out, item, "stage", kStageNames[i], ns(i));
    constexpr std::string_view busy = "whatsapp_store_commit_busy_seconds_total";
    out.append("# HELP ").append(busy).append(
        " Time the writer and syncer threads spent working, once per batch\n");
    out.append("# TYPE ").append(busy).append(" counter\n");
    for (unsigned i = 0; i < 3; i++)
        append_seconds(out, busy, "work", kBusyNames[i], ns(GroupCommit::stages_ + i));
    out +=
        "# HELP whatsapp_store_commit_reapplied_total Batches applied again item by item "
        "after one of their items failed\n";
    out += "# TYPE whatsapp_store_commit_reapplied_total counter\n";
    append_line(out, "whatsapp_store_commit_reapplied_total",
                g_shared ? g_shared->commit_reapplied : 0);
}

// One histogram: cumulative buckets up to +Inf, then _sum and _count.
void append_histogram(std::string& out, std::string_view name, const char* help,
                      const std::vector<std::string>& bounds, const ngx_atomic_t* buckets,
                      std::string_view sum, unsigned long long count) {
    out.append("# HELP ").append(name).append(" ").append(help).append("\n");
    out.append("# TYPE ").append(name).append(" histogram\n");
    unsigned long long cumulative = 0;
    for (std::size_t i = 0; i <= bounds.size(); i++) {
        cumulative += g_shared ? buckets[i] : 0;
        out.append(name).append("_bucket{le=\"");
        out.append(i < bounds.size() ? bounds[i] : std::string("+Inf")).append("\"} ");
        out.append(std::to_string(cumulative)).append("\n");
    }
    out.append(name).append("_sum ").append(sum).append("\n");
    out.append(name).append("_count ").append(std::to_string(count)).append("\n");
}

void render_histograms(std::string& out) {
    std::vector<std::string> secs;
    for (std::int64_t b : kLatencyBounds) {
        std::string t = seconds_text(static_cast<unsigned long long>(b));
        while (t.back() == '0')
            t.pop_back();
        if (t.back() == '.') t.pop_back();
        secs.push_back(t);
    }
    static const Histogram kEmpty{};
    for (unsigned i = 0; i < kLatencies; i++) {
        const Histogram& h = g_shared ? g_shared->latency[i] : kEmpty;
        append_histogram(out, kLatencyDefs[i].name, kLatencyDefs[i].help, secs, h.buckets,
                         seconds_text(h.sum_ns), h.count);
    }
    std::vector<std::string> sizes;
    for (unsigned i = 0; i + 1 < GroupCommit::size_buckets_; i++)
        sizes.push_back(std::to_string(1u << i));
    static const ngx_atomic_t kNoSizes[GroupCommit::size_buckets_] = {};
    append_histogram(
        out, "whatsapp_store_commit_batch_size", "Items per group commit", sizes,
        g_shared ? g_shared->batch_sizes : kNoSizes,
        std::to_string(g_shared ? g_shared->counters[static_cast<unsigned>(Counter::commit_items)]
                                : 0),
        g_shared ? g_shared->counters[static_cast<unsigned>(Counter::commit_batches)] : 0);
}

std::string render() {
    std::string out;
    for (unsigned i = 0; i < kCounters; i++) {
        std::string_view name = kDefs[i].name;
        std::string_view family = name.substr(0, name.find('{'));
        if (kDefs[i].help) {
            out.append("# HELP ").append(family).append(" ").append(kDefs[i].help).append("\n");
            out.append("# TYPE ").append(family).append(" counter\n");
        } else if (i == 0 ||
                   std::string_view(kDefs[i - 1].name).substr(0, family.size()) != family) {
            out.append("# TYPE ").append(family).append(" counter\n");
        }
        append_line(out, kDefs[i].name, g_shared ? g_shared->counters[i] : 0);
    }
    render_commit_times(out);
    render_histograms(out);
    render_gauges(out);
    out += "# HELP whatsapp_replies_total Prelude API answers (reply, send, batch) by code\n";
    out += "# TYPE whatsapp_replies_total counter\n";
    for (unsigned i = 0; i < kReplyCodeCount; i++) {
        std::string name = std::string("whatsapp_replies_total{code=\"") + kReplyCodes[i] + "\"}";
        append_line(out, name.c_str(), g_shared ? g_shared->replies[i] : 0);
    }
    out +=
        "# HELP whatsapp_graph_errors_total Graph API sends not accepted, by Meta's error code\n";
    out += "# TYPE whatsapp_graph_errors_total counter\n";
    for (unsigned i = 0; i < kGraphCodeCount + 2; i++) {
        std::string code = i < kGraphCodeCount ? std::to_string(kGraphCodes[i])
                           : i == kGraphOther  ? "other"
                                               : "transport";
        std::string name = "whatsapp_graph_errors_total{code=\"" + code + "\"}";
        append_line(out, name.c_str(), g_shared ? g_shared->graph_errors[i] : 0);
    }
    Worker* w = worker();
    if (w == nullptr) return out;
    auto txn = w->store->begin_read();
    if (txn) {
        if (auto st = outbox_stats(*txn); st) {
            out += "# TYPE whatsapp_outbox_pending gauge\n";
            append_line(out, "whatsapp_outbox_pending", st->pending);
            out += "# TYPE whatsapp_outbox_dead gauge\n";
            append_line(out, "whatsapp_outbox_dead", st->dead);
            // Whole seconds, as the gauge always had.
            double age = outbox_oldest_age_seconds(*st, now_ns());
            out += "# TYPE whatsapp_outbox_oldest_age_seconds gauge\n";
            append_line(out, "whatsapp_outbox_oldest_age_seconds",
                        static_cast<unsigned long long>(age));
        }
    }
    auto usage = w->store->usage();
    out += "# TYPE whatsapp_store_map_size_bytes gauge\n";
    append_line(out, "whatsapp_store_map_size_bytes", usage.map_size);
    out += "# TYPE whatsapp_store_used_bytes gauge\n";
    append_line(out, "whatsapp_store_used_bytes", usage.used_bytes);
    return out;
}

ngx_int_t metrics_handler(ngx_http_request_t* r) noexcept {
    if (!(r->method & (NGX_HTTP_GET | NGX_HTTP_HEAD))) return NGX_HTTP_NOT_ALLOWED;
    if (ngx_http_discard_request_body(r) != NGX_OK) return NGX_HTTP_INTERNAL_SERVER_ERROR;
    try {
        return send_body(r, NGX_HTTP_OK, "text/plain; version=0.0.4", render());
    } catch (const std::exception& e) {
        ngx_log_error(NGX_LOG_ERR, r->connection->log, 0, "whatsapp metrics: %s", e.what());
        return NGX_HTTP_INTERNAL_SERVER_ERROR;
    }
}

}  // namespace

void observe(Latency h, std::int64_t ns) {
    if (g_shared == nullptr) return;
    if (ns < 0) ns = 0;
    unsigned b = 0;
    while (b + 1 < kLatencyBuckets && ns > kLatencyBounds[b])
        b++;
    Histogram& hist = g_shared->latency[static_cast<unsigned>(h)];
    ngx_atomic_fetch_add(&hist.buckets[b], 1);
    ngx_atomic_fetch_add(&hist.sum_ns, static_cast<ngx_atomic_int_t>(ns));
    ngx_atomic_fetch_add(&hist.count, 1);
}

std::int64_t request_start_ns(const ngx_http_request_t* r) {
    return static_cast<std::int64_t>(r->start_sec) * kNsPerSec +
           static_cast<std::int64_t>(r->start_msec) * kNsPerMs;
}

void count(Counter c, ngx_atomic_int_t n) {
    if (g_shared && n) ngx_atomic_fetch_add(&g_shared->counters[static_cast<unsigned>(c)], n);
}

void count_reply(std::string_view code) {
    if (g_shared == nullptr) return;
    unsigned i = 0;
    while (i + 1 < kReplyCodeCount && code != kReplyCodes[i])
        i++;
    ngx_atomic_fetch_add(&g_shared->replies[i], 1);
}

void count_graph(const GraphResult& g) {
    if (g_shared == nullptr || g.accepted()) return;
    unsigned i = g.meta.code == 0 ? kGraphTransport : kGraphOther;
    for (unsigned k = 0; k < kGraphCodeCount; k++) {
        if (kGraphCodes[k] == g.meta.code) i = k;
    }
    ngx_atomic_fetch_add(&g_shared->graph_errors[i], 1);
}

void count_commit(const GroupCommit::Stats& delta) {
    if (g_shared == nullptr) return;
    auto add = [](ngx_atomic_t& to, unsigned long long v) {
        if (v) ngx_atomic_fetch_add(&to, static_cast<ngx_atomic_int_t>(v));
    };
    for (unsigned i = 0; i < GroupCommit::stages_; i++)
        add(g_shared->commit_ns[i], delta.item_ns[i]);
    add(g_shared->commit_ns[GroupCommit::stages_], delta.apply_busy_ns);
    add(g_shared->commit_ns[GroupCommit::stages_ + 1], delta.commit_busy_ns);
    add(g_shared->commit_ns[GroupCommit::stages_ + 2], delta.sync_busy_ns);
    add(g_shared->commit_reapplied, delta.reapplied);
    for (unsigned i = 0; i < GroupCommit::size_buckets_; i++)
        add(g_shared->batch_sizes[i], delta.batch_sizes[i]);
}

ngx_int_t metrics_add_zone(ngx_conf_t* cf) {
    static ngx_str_t name = ngx_string("whatsapp_metrics");
    return shm_zone_add(cf, &name, sizeof(Shared), [](void* shared, ngx_shmtx_t*) {
        g_shared = static_cast<Shared*>(shared);
    });
}

char* metrics_directive(ngx_conf_t* cf, ngx_command_t*, void*) noexcept {
    auto* clcf = static_cast<ngx_http_core_loc_conf_t*>(
        ngx_http_conf_get_module_loc_conf(cf, ngx_http_core_module));
    clcf->handler = metrics_handler;
    return NGX_CONF_OK;
}

}  // namespace wa::ngx

// Counters shared by all workers (a small shared-memory zone) and the
// Prometheus text handler (whatsapp_metrics).
#pragma once

#include "ngx.hpp"

#include "meta/graph_message.hpp"
#include "store/group_commit.hpp"

namespace wa::ngx {

enum class Counter : unsigned {
    inbound_received,
    inbound_duplicate,
    inbound_bad_signature,
    inbound_unrouted,
    inbound_unsigned,
    inbound_rejected,
    inbound_store_failed,
    statuses_applied,
    statuses_ignored,
    statuses_unknown,
    deliveries_delivered,
    deliveries_failed,
    deliveries_dead,
    commit_batches,
    commit_items,
    delivery_store_failed,
    idempotency_replays,
    pacing_rejections,
    pruned_messages,
    pruned_events,
    pruned_stream,
    stream_opened,  // WebSocket and SSE connections opened (closed: their gauge's other half)
    stream_closed,
    stream_overflows,  // closed with 1013: unsent output over its bound
    count_
};

// Latency histograms (seconds): the webhook's acknowledgement (from nginx's
// request start, as $request_time, to the 2xx after the fsync), a send's
// Graph round trip, an event's delivery (from its commit to the
// callback's 2xx, retries included), a live stream frame's fan-out (from
// the durable commit that published it to its write on the client's socket).
enum class Latency : unsigned { webhook_ack, graph_send, event_delivery, stream_fanout, count_ };
void observe(Latency h, std::int64_t ns);

// When nginx began the request, in ns (ms resolution).
std::int64_t request_start_ns(const ngx_http_request_t* r);

void count(Counter c, ngx_atomic_int_t n = 1);

// whatsapp_replies_total{code}: "ok" or the error code answered.
void count_reply(std::string_view code);
// whatsapp_graph_errors_total{code}: a send Meta did not accept.
void count_graph(const GraphResult& g);

// The commit pipeline's stage times and thread busy times since the last call
// (whatsapp_store_commit_item_seconds_total, ..._busy_seconds_total), and
// batches re-applied item by item.
void count_commit(const GroupCommit::Stats& delta);

// Called from postconfiguration: adds the zone.
ngx_int_t metrics_add_zone(ngx_conf_t* cf);

char* metrics_directive(ngx_conf_t* cf, ngx_command_t* cmd, void* conf) noexcept;

}  // namespace wa::ngx

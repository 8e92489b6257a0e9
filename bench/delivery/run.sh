#!/usr/bin/env bash
# bench/delivery: a burst of N signed inbound messages (distinct wamids, 1000
# customers), then how fast the outbox drains to the callback stand-in: the
# backlog right after the burst, and events delivered per second until it is
# empty. It shows whether delivery keeps up with ingest (no ratio: there is no
# nginx baseline for an outbox). Same layout as the others: see lib.sh.
# BENCH_BURST (50000) messages, BENCH_CONNECTIONS_BURST (256) connections.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
count=${BENCH_BURST:-50000}
conns=${BENCH_CONNECTIONS_BURST:-256}

bench_start delivery ""
bench_header "a burst of $count webhooks, then the outbox draining to the callback stand-in" \
    "burst at $conns connections"
bench_bodies "$count" "$work/bodies.txt"
now() { date +%s.%N; }

# wrk_until_stored: runs wrk (for its whole -d) and interrupts it (it still
# prints its summary) once every message of the burst is stored.
wrk_until_stored() {
    local deadline=$(( $(date +%s) + 600 ))
    duration=600s bench_wrk "$conns" /webhook "$work/bodies.txt"
    while [ "$(metric whatsapp_inbound_received_total)" -lt "$count" ] && [ "$(date +%s)" -lt "$deadline" ]; do
        sleep 0.1
    done
    kill -INT "$wrk_pid"
    wait "$wrk_pid" || true
}

t0=$(now)
wrk_until_stored
t1=$(now)
backlog=$(metric whatsapp_outbox_pending)
delivered_at_burst=$(metric 'whatsapp_event_deliveries_total{result="delivered"}')
BENCH_DRAIN_TIMEOUT=600 bench_drain
t2=$(now)
stored=$(metric whatsapp_inbound_received_total)
delivered=$(metric 'whatsapp_event_deliveries_total{result="delivered"}')
failed=$(metric 'whatsapp_event_deliveries_total{result="failed"}')
pending=$(metric whatsapp_outbox_pending)

echo "burst      : $(grep '^BENCH' "$work/wrk.out" || echo '(no summary)') (wrk sent until interrupted)"
awk -v t0="$t0" -v t1="$t1" -v t2="$t2" -v s="$stored" -v d="$delivered" -v db="$delivered_at_burst" \
    -v b="$backlog" -v f="$failed" -v p="$pending" 'BEGIN {
    printf "stored %d in %.1f s; delivered %d during the burst; backlog after it: %d\n", s, t1 - t0, db, b
    printf "drained in %.1f s more: %.0f events/s after the burst, %.0f events/s overall; failed attempts %d; still pending %d\n",
        t2 - t1, (t2 > t1 ? (d - db) / (t2 - t1) : 0), d / (t2 - t0), f, p
}'
if [ "$pending" != 0 ] || [ "$delivered" != "$stored" ]; then
    echo "not every event was delivered" >&2
    exit 1
fi
bench_check_log

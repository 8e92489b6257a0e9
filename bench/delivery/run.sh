#!/usr/bin/env bash
# bench/delivery: a burst of N signed inbound messages (distinct wamids, 1000
# customers), then how fast the outbox drains to a fast callback: the backlog
# right after the burst, and events delivered per second until it is empty.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
count=${BENCH_BURST:-50000}
conns=${BENCH_CONNECTIONS:-256}

bench_start delivery ""
bench_bodies "$count"
now() { date +%s.%N; }

t0=$(now)
# wrk runs for its whole -d: interrupt it (it still prints its summary) once
# every message of the burst is stored.
wrk -t2 -c"$conns" -d600s -s "$root/bench/post_lines.lua" \
    "http://127.0.0.1:$port" -- "$work/bodies.txt" 2 /webhook >"$work/wrk.out" &
wrk_pid=$!
deadline=$(( $(date +%s) + 600 ))
while [ "$(metric whatsapp_inbound_received_total)" -lt "$count" ] && [ "$(date +%s)" -lt "$deadline" ]; do
    sleep 0.1
done
t1=$(now)
kill -INT "$wrk_pid"
wait "$wrk_pid" || true
backlog=$(metric whatsapp_outbox_pending)
delivered_at_burst=$(metric 'whatsapp_event_deliveries_total{result="delivered"}')
deadline=$(( $(date +%s) + 600 ))
while [ "$(metric whatsapp_outbox_pending)" != 0 ] && [ "$(date +%s)" -lt "$deadline" ]; do
    sleep 0.2
done
t2=$(now)
stored=$(metric whatsapp_inbound_received_total)
delivered=$(metric 'whatsapp_event_deliveries_total{result="delivered"}')
failed=$(metric 'whatsapp_event_deliveries_total{result="failed"}')
pending=$(metric whatsapp_outbox_pending)

bench_machine
echo "burst      : $(grep '^BENCH' "$work/wrk.out" || echo '(no summary)') (wrk sent until interrupted)"
awk -v t0="$t0" -v t1="$t1" -v t2="$t2" -v s="$stored" -v d="$delivered" -v db="$delivered_at_burst" \
    -v b="$backlog" -v f="$failed" -v p="$pending" 'BEGIN {
    printf "stored %d in %.1f s; delivered %d during the burst; backlog after it: %d\n", s, t1 - t0, db, b
    printf "drained in %.1f s more: %.0f events/s after the burst, %.0f events/s overall; failed attempts %d; still pending %d\n",
        t2 - t1, (t2 > t1 ? (d - db) / (t2 - t1) : 0), d / (t2 - t0), f, p
}'
[ "$pending" = 0 ] && [ "$delivered" = "$stored" ] || { echo "not every event was delivered" >&2; exit 1; }
bench_check_log

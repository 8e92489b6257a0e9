#!/usr/bin/env bash
# bench/inbound: durable ingest of signed single-message webhooks (distinct
# wamids) vs nginx's own `return 200` for the same POSTs, same nginx, same run.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
duration=${BENCH_DURATION:-10s}
conns=${BENCH_CONNECTIONS:-256}
pool=${BENCH_POOL:-400000}

bench_start inbound "location = /plain { client_max_body_size 3m; return 200; }"
bench_bodies "$pool"

run() {  # run URI -> "BENCH ..." line
    wrk -t2 -c"$conns" -d"$duration" -s "$root/bench/post_lines.lua" \
        "http://127.0.0.1:$port" -- "$work/bodies.txt" 2 "$1" | grep '^BENCH'
}
plain=$(run /plain)
module_run=$(run /webhook)
field() { sed -n "s/.*$2=\([0-9.]*\).*/\1/p" <<<"$1"; }
ratio=$(awk -v m="$(field "$module_run" rps)" -v p="$(field "$plain" rps)" 'BEGIN { printf "%.2f", m / p }')
# Let the outbox drain (bounded): every stored event must reach the callback.
for _ in $(seq 120); do
    [ "$(metric whatsapp_outbox_pending)" = 0 ] && break
    sleep 0.5
done
batches=$(metric whatsapp_store_commit_batches_total)
items=$(metric whatsapp_store_commit_items_total)

bench_machine
echo "return 200 : $plain"
echo "webhook    : $module_run"
echo "messages stored: $(metric whatsapp_inbound_received_total); events delivered: $(metric 'whatsapp_event_deliveries_total{result="delivered"}'), pending: $(metric whatsapp_outbox_pending); commits: $batches ($(awk -v i="$items" -v b="$batches" 'BEGIN { printf "%.1f", i / b }') writes each)"
echo "ratio webhook/return200 = $ratio (target >= 0.5)"
bench_check_log

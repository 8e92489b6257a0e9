#!/usr/bin/env bash
# bench/inbound: durable ingest of signed single-message webhooks (distinct
# wamids, 1000 customers). `whatsapp_webhook` verifies, stores (fsync before
# the 200) and delivers each message's event, signed, to the callback
# stand-in. Its baseline is the one SPEC §11 names, a location of the same
# nginx measured in the same run that does the same two HTTP exchanges per
# message: Meta's POST in, one POST out to the callback (bench_mirror_200 in
# lib.sh). `return 200` (one exchange) is kept as the older reference. Every
# location is measured at each of BENCH_CONNECTIONS (64 and 512), so the table
# also shows whether throughput grows with offered load. Layout, knobs: lib.sh.
# shellcheck disable=SC2016  # the labels hold Markdown backquotes
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"

bench_start inbound "
        location = /plain { return 200; }
        location = /mirror { $(bench_mirror_200) }"
bench_header "signed single-message webhooks vs the same nginx's mirror + 200"
pool=$(bench_pool)
for i in "${!conns_list[@]}"; do  # one file per webhook run: no wamid is sent twice
    for ((r = 1; r <= repeats; r++)); do
        bench_bodies "$pool" "$work/bodies-$i-$r.txt" $(((i * repeats + r - 1) * pool))
    done
done

for i in "${!conns_list[@]}"; do
    c=${conns_list[$i]}
    for ((r = 1; r <= repeats; r++)); do
        bodies=$work/bodies-$i-$r.txt
        bench_measure "plain@$c#$r" '`return 200`' "$c" /plain "$bodies"
        bench_measure "mirror@$c#$r" '`mirror /cb` + 200 (§11 baseline)' "$c" /mirror "$bodies"
        bench_measure "webhook@$c#$r" '`whatsapp_webhook`' "$c" /webhook "$bodies"
        bench_check_pool "webhook@$c#$r" "$pool"
    done
    for k in plain mirror webhook; do bench_pick_median "$k@$c"; done
done

bench_table_header
for c in "${conns_list[@]}"; do
    for k in plain mirror webhook; do bench_row "$k@$c" "mirror@$c"; done
done
bench_table_notes
bench_commit_table "${conns_list[@]/#/webhook@}"
echo
for c in "${conns_list[@]}"; do
    r=$(ratio "${R_rps[webhook@$c]}" "${R_rps[mirror@$c]}")
    echo "webhook / mirror baseline at $c connections: $r (SPEC §11 goal >= 0.5: $(goal_text "$r" '>=' 0.5))"
done
bench_growth_text webhook mirror
batches=$(metric whatsapp_store_commit_batches_total) items=$(metric whatsapp_store_commit_items_total)
echo "messages stored: $(metric whatsapp_inbound_received_total); events delivered:" \
    "$(metric 'whatsapp_event_deliveries_total{result="delivered"}'), pending: $(metric whatsapp_outbox_pending);" \
    "commits: $batches ($(ratio "$items" "$batches") writes each)"
bench_check_log

#!/usr/bin/env bash
# bench/soak: memory and store growth (issue 10, SPEC §11). BENCH_SOAK_MESSAGES
# (1 000 000) signed single-message webhooks from BENCH_SOAK_CONVERSATIONS
# (10 000) customers go through the webhook in steps of BENCH_SOAK_STEP
# (100 000); after each step the worker's RSS and the store's size are
# sampled. It reports store bytes per stored message, whether the worker's
# own memory stays flat (RssAnon within ±10 % of the sample after the first
# step, the warm-up), and that the outbox drains to zero at the end. RssFile
# is the store's map: LMDB's pages the worker touched, file-backed page cache
# that the kernel may drop, which grows with the store, not a leak. Same
# layout as the others: see lib.sh.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
total=${BENCH_SOAK_MESSAGES:-1000000}
conversations=${BENCH_SOAK_CONVERSATIONS:-10000}
step=${BENCH_SOAK_STEP:-100000}
conns=${BENCH_CONNECTIONS_BURST:-256}

bench_start soak ""
bench_header "$total webhooks from $conversations customers, sampled every $step" \
    "$conns connections"

# post_step FIRST: the next $step messages, until all are stored.
post_step() {
    local first=$1 want=$(($1 + step)) deadline=$(($(date +%s) + 600))
    bench_bodies "$step" "$work/bodies.txt" "$first" "$conversations"
    duration=600s bench_wrk "$conns" /webhook "$work/bodies.txt"
    while [ "$(metric whatsapp_inbound_received_total)" -lt "$want" ] &&
        [ "$(date +%s)" -lt "$deadline" ]; do
        sleep 0.2
    done
    kill -INT "$wrk_pid"
    wait "$wrk_pid" || true
}

# rss_kib KIND: RssAnon (the worker's own memory) or RssFile (mapped files: the
# store) of the worker, in KiB.
rss_kib() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$(nginx_workers "$work" | head -1)/status"; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }

echo "| stored | worker RssAnon | worker RssFile (the store's map) | store used | store bytes / message | pending |"
echo "|---|---|---|---|---|---|"
warm=0 lo=0 hi=0
for ((first = 0; first < total; first += step)); do
    post_step "$first"
    stored=$(metric whatsapp_inbound_received_total)
    used=$(metric whatsapp_store_used_bytes)
    rss=$(rss_kib RssAnon)
    [ "$warm" != 0 ] || warm=$rss
    [ "$lo" != 0 ] && [ "$rss" -ge "$lo" ] || lo=$rss
    [ "$rss" -le "$hi" ] || hi=$rss
    printf '| %s | %s MiB | %s MiB | %s MiB | %s | %s |\n' "$(thousands "$stored")" \
        "$(mib "$rss")" "$(mib "$(rss_kib RssFile)")" \
        "$(awk -v b="$used" 'BEGIN { printf "%.0f", b / 1048576 }')" \
        "$(awk -v b="$used" -v n="$stored" 'BEGIN { printf "%.0f", b / n }')" \
        "$(metric whatsapp_outbox_pending)"
done
BENCH_DRAIN_TIMEOUT=600 bench_drain
pending=$(metric whatsapp_outbox_pending)
spread=$(awk -v lo="$lo" -v hi="$hi" -v w="$warm" 'BEGIN { printf "%+.0f%% / %+.0f%%", (lo - w) * 100 / w, (hi - w) * 100 / w }')
flat=$(awk -v lo="$lo" -v hi="$hi" -v w="$warm" 'BEGIN { print (lo >= 0.9 * w && hi <= 1.1 * w) ? "flat (within ±10 %)" : "**not flat**" }')
echo
echo "worker RssAnon after warm-up: $(mib "$warm") MiB; lowest / highest since: $spread: $flat"
echo "outbox pending after the drain: $pending; delivered: $(metric 'whatsapp_event_deliveries_total{result="delivered"}')"
bench_check_log

#!/usr/bin/env bash
# bench/retention: webhook latency while whatsapp_retention prunes (issue 13).
# The same webhook load (BENCH_CONNECTIONS_PRUNE, 64 connections) runs twice
# on one pinned worker: first on a store with nothing to prune, then right
# after inbox-fill (tools/) has written BENCH_PRUNE_MESSAGES (500 000)
# messages two hours old into it and nginx restarted its workers with
# `whatsapp_retention 1h`, so worker 0's housekeeping prunes them during the
# run, 1000 per group-commit step. Reports p50/p99 of both runs and how many
# messages were pruned during the second. Layout: lib.sh.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
messages=${BENCH_PRUNE_MESSAGES:-500000}
conns=${BENCH_CONNECTIONS_PRUNE:-64}
fill=${WA_INBOX_FILL:-$root/build/core/inbox-fill}
[ -x "$fill" ] || { echo "bench/retention: $fill missing: run ./build.sh first" >&2; exit 2; }

bench_start retention "" "whatsapp_retention 1h;"
bench_header "webhook latency while $(thousands "$messages") old messages are pruned" \
    "$duration per run at $conns connections"
pool=$(bench_pool)
bench_bodies "$pool" "$work/quiet.txt" 0 1000
bench_bodies "$pool" "$work/pruning.txt" "$pool" 1000

bench_measure quiet "\`whatsapp_webhook\`, nothing to prune" "$conns" /webhook "$work/quiet.txt"
echo "filling the store with $(thousands "$messages") messages two hours old..." >&2
"${pin_load[@]}" "$fill" "$work/store" bench +15550783881 106540352242922 \
    $((messages / 10)) "$messages" "$work/ids.txt" 7200
bench_reload  # new workers: worker 0's housekeeping starts within a second
sleep 1.5
before=$(metric 'whatsapp_pruned_total{kind="message"}')
bench_measure pruning "\`whatsapp_webhook\`, while pruning" "$conns" /webhook "$work/pruning.txt"
during=$(( $(metric 'whatsapp_pruned_total{kind="message"}') - before ))

echo "| run | req/s | p50 | p99 | nginx CPU | errors |"
echo "|---|---|---|---|---|---|"
for k in quiet pruning; do
    echo "| ${R_label[$k]} | $(thousands "${R_rps[$k]}") | $(ms "${R_p50[$k]}") | $(ms "${R_p99[$k]}") | ${R_cpu[$k]} | ${R_errors[$k]} |"
done
echo
echo "pruned during the second run: $(thousands "$during") messages (of $(thousands "$messages")); total so far: $(thousands "$(metric 'whatsapp_pruned_total{kind="message"}')")"
echo "p99 while pruning / p99 without: $(ratio "${R_p99[pruning]}" "${R_p99[quiet]}")"
bench_check_log

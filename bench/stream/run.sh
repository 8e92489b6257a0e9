#!/usr/bin/env bash
# bench/stream: the realtime stream's fan-out (issue 12, SPEC §11). ws-bench
# (tools/) holds BENCH_STREAM_CLIENTS (10 000) WebSocket clients of one tenant
# open on the one worker of the nginx under test (CPU 0); then
# BENCH_STREAM_MESSAGES (30) inbound messages are posted one at a time,
# BENCH_STREAM_GAP_MS (100) apart, and each is fanned out to every client.
# Reported: from each webhook's 200 (the commit is durable) to each client's
# frame, p50/p99/max over every (message, client); the module's own
# whatsapp_stream_fanout_seconds (stamp -> socket write, per client);
# the worker's RSS before and with the clients idle, per connection.
# Layout as the others (lib.sh): nginx under test on CPU 0, load on CPU 1.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
clients=${BENCH_STREAM_CLIENTS:-10000}
messages=${BENCH_STREAM_MESSAGES:-30}
gap_ms=${BENCH_STREAM_GAP_MS:-100}
client_bin=${WA_WS_BENCH:-$root/build/core/ws-bench}
secret="wa_bench_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
[ -x "$client_bin" ] || { echo "bench/stream: $client_bin missing: run ./build.sh first" >&2; exit 2; }
nofile=$(ulimit -Hn)
[ "$nofile" = unlimited ] || [ "$nofile" -gt 65536 ] && nofile=65536
ulimit -n "$nofile"
[ "$nofile" -gt $((clients + 1000)) ] || { echo "bench/stream: the file limit ($nofile) is below $clients clients" >&2; exit 2; }

bench_start stream "" ""
printf 'bot bench %s events:stream\n' "$(printf '%s' "$secret" | sha256sum | cut -d' ' -f1)" >"$work/api.keys"
bench_main="worker_rlimit_nofile $nofile;"
bench_server="
        location = /v1/stream { whatsapp_stream; }
        location /_whatsapp/graph/ { internal; proxy_pass http://bench_graph/v21.0/; }"
bench_http="whatsapp_api_keys $work/api.keys;"
bench_reload
worker=$(nginx_workers "$work" | head -1)
rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }
rss_before=$(rss_kb "$worker")

bench_header "stream fan-out to $(thousands "$clients") WebSocket clients on one worker" \
    "$messages messages, ${gap_ms} ms apart"
"${pin_load[@]}" "$client_bin" "$port" "/v1/stream?apiKey=$secret" "$clients" "$messages" \
    "$work/arrivals.txt" 120 >"$work/ws-bench.out" 2>"$work/ws-bench.err" &
bench_pid=$!
for _ in $(seq 1 600); do
    grep -q '^ready' "$work/ws-bench.out" 2>/dev/null && break
    kill -0 "$bench_pid" 2>/dev/null || { cat "$work/ws-bench.err" >&2; exit 1; }
    sleep 0.1
done
grep -q '^ready' "$work/ws-bench.out" || { echo "bench/stream: clients not ready" >&2; exit 1; }
sleep 1
rss_idle=$(rss_kb "$worker")

"${pin_load[@]}" /usr/bin/python3 - "$port" "$messages" "$gap_ms" "$work/acks.txt" "$root" <<'PY'
import sys, time
sys.path.insert(0, sys.argv[5])
from tools import cloudapi_sim as sim
port, n, gap, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]) / 1000, sys.argv[4]
with open(out, "w") as f:
    for i in range(n):
        msg = sim.text_message(sim.new_wamid(), "33610000000", "b%d fan-out" % i)
        body = sim.body_bytes(sim.webhook("106540352242922", "15550783881", [msg]))
        st, text = sim.post_webhook("http://127.0.0.1:%d/webhook" % port, "bench-secret", body)
        assert st == 200, (st, text)
        f.write("%d %d\n" % (i, time.time_ns()))
        time.sleep(gap)
PY
wait "$bench_pid" || { echo "bench/stream: not every client got every message" >&2; cat "$work/ws-bench.err" >&2; }

echo "| measure | value |"
echo "|---|---|"
/usr/bin/python3 - "$work/acks.txt" "$work/arrivals.txt" "$clients" "$messages" <<'PY'
import sys
acks = dict(tuple(map(int, l.split())) for l in open(sys.argv[1]))
lat, last = [], {}
for line in open(sys.argv[2]):
    i, c, ns = map(int, line.split())
    d = (ns - acks[i]) / 1e6
    lat.append(d)
    last[i] = max(last.get(i, d), d)
lat.sort()
q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))]
print("| frames received | %d of %d |" % (len(lat), int(sys.argv[3]) * int(sys.argv[4])))
print("| 200 -> frame, p50 | %.2f ms |" % q(0.50))
print("| 200 -> frame, p99 | %.2f ms |" % q(0.99))
print("| 200 -> frame, max | %.2f ms |" % lat[-1])
print("| last client of a message, median over messages | %.2f ms |" % sorted(last.values())[len(last) // 2])
PY
# The module's own histogram: stamp (in the commit) -> the write on each socket.
bench_metrics | /usr/bin/python3 -c '
import sys, re
b = []
for line in sys.stdin:
    m = re.match(r"whatsapp_stream_fanout_seconds_bucket\{le=\"([^\"]+)\"\} (\d+)", line)
    if m: b.append((float("inf") if m.group(1) == "+Inf" else float(m.group(1)), int(m.group(2))))
total = b[-1][1] if b else 0
def q(p):
    for le, c in b:
        if total and c >= p * total: return le
print("| whatsapp_stream_fanout_seconds, p50 bucket | <= %s s (%d frames) |" % (q(0.5), total))
print("| whatsapp_stream_fanout_seconds, p99 bucket | <= %s s |" % q(0.99))
'
awk -v b="$rss_before" -v i="$rss_idle" -v n="$clients" 'BEGIN {
    printf "| worker RSS, no clients -> %d idle clients | %.1f MiB -> %.1f MiB |\n", n, b / 1024, i / 1024
    printf "| memory per idle connection | %.1f KiB |\n", (i - b) / n }'
bench_check_log

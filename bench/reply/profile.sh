#!/usr/bin/env bash
# bench/reply/profile.sh [OUT]: where CPU 0 goes per request, natively, in
# the reply and in its §11 baseline (a diagnosis beside the figures).
#
# Runs bench/reply once at 64 connections and, 1 s into the runs of
# `proxy_pass` + `mirror` and of `whatsapp_reply`, samples CPU 0 for 4 s
# with `perf record -g` (whoever runs there: the worker's event loop, its
# writer and syncer threads, the kernel on their behalf, idle). Requests in
# the window are counted at the stand-ins (2 per request for both), and
# bench/reply/stages.py turns the samples into µs of CPU 0 per request by
# thread and part. perf slows both a little: compare the two columns, not
# the µs with the rates. Needs perf (linux-perf), which ./build.sh does not
# install. The perf data stay in OUT (default /tmp/wa-profile).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-/tmp/wa-profile}
seconds=4
command -v perf >/dev/null || { echo "profile: needs perf (apt-get install linux-perf)" >&2; exit 2; }
mkdir -p "$out"
rm -f "$out"/*.data "$out"/*.tids "$out"/*.requests
BENCH_REPEAT=1 BENCH_CONNECTIONS=64 "$root/bench/reply/run.sh" >"$out/bench.out" 2>"$out/bench.err" &
bench_pid=$!
trap 'kill "$bench_pid" 2>/dev/null || true' EXIT

# The bench's scratch directory, once it exists; then the URI of the wrk run
# in progress, once every wrk thread has loaded its requests.
find_work() {
    [ -n "$work" ] && return 0
    work=$(find "${BENCH_TMP:-/tmp}" -maxdepth 1 -name 'wa-bench-reply.*' -newer "$out/bench.out" -type d | head -1)
}
current_uri() {
    [ -n "$work" ] && compgen -G "$work/wrk.ready.*" >/dev/null || return 0
    ps -eo args | awk '$1 == "wrk" { for (i = 1; i < NF; i++) if ($i == "--") { print $(i + 3); exit } }'
}
standin_requests() {
    local cb_port
    cb_port=$(awk '/listen 127.0.0.1:/ { sub(/.*:/, "", $2); print $2; exit }' "$work/standin/nginx.conf")
    curl -s "http://127.0.0.1:$cb_port/_standin/status" | awk 'NR == 3 { print $3 }'
}
worker_pid() { ps -o pid=,args= --ppid "$(cat "$work/nginx.pid")" | awk '/worker process$/ { print $1 }'; }

work=
for uri in /proxy_mirror /v2/notify/reply; do
    until find_work && [ "$(current_uri)" = "$uri" ]; do
        kill -0 "$bench_pid" 2>/dev/null || { cat "$out/bench.err" >&2; exit 1; }
        sleep 0.05
    done
    sleep 1
    name=${uri//\//_}
    pid=$(worker_pid)
    ls "/proc/$pid/task" >"$out/$name.tids"
    before=$(standin_requests)
    perf record -q -F 2999 -g -C 0 -o "$out/$name.data" -- sleep "$seconds" 2>/dev/null
    after=$(standin_requests)
    echo "$pid $(((after - before) / 2))" >"$out/$name.requests"
done
wait "$bench_pid"
trap - EXIT

read -r base_pid base_requests <"$out/_proxy_mirror.requests"
read -r reply_pid reply_requests <"$out/_v2_notify_reply.requests"
echo "CPU 0 per request (perf -g at 2999 Hz, $seconds s inside a 64-connection run of each):"
echo
# shellcheck disable=SC2016  # the column names hold backquotes, not expansions
/usr/bin/python3 "$root/bench/reply/stages.py" "$seconds" \
    '`proxy_pass` + `mirror /cb`' "$out/_proxy_mirror.data" "$base_pid" "$out/_proxy_mirror.tids" "$base_requests" \
    '`whatsapp_reply`' "$out/_v2_notify_reply.data" "$reply_pid" "$out/_v2_notify_reply.tids" "$reply_requests"
echo
echo "requests in the windows: $base_requests (baseline), $reply_requests (reply); perf data in $out"

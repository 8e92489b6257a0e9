#!/usr/bin/env bash
# bench/reply/instructions.sh [OUT]: user-space instructions per reply and per
# baseline request, counted by callgrind (a diagnosis, not a §11 figure).
#
# Timing on a shared VM moves by ±20 % from one run to the next; the
# instructions a request costs do not. The nginx under test runs as one
# process (master_process off) under valgrind --tool=callgrind; wrk sends
# replies, then the baseline's proxy_pass + mirror, each between a zeroing and
# a dump of callgrind's counters, so each profile holds that load alone (the
# writer thread and the deliveries included, the kernel not). Prints Ir per
# request; the profiles stay in OUT (default /tmp/wa-instructions) for
# callgrind_annotate. Set WA_MODULE to compare another build of the module.
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/locations.sh
. "$(dirname "$0")/locations.sh"
out=${1:-/tmp/wa-instructions}
command -v valgrind >/dev/null || { echo "instructions: needs valgrind (apt-get install valgrind)" >&2; exit 2; }
mkdir -p "$out"
rm -f "$out"/callgrind.*
conversations=200
secret="wa_bench_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
setup_port=$(free_port)
callback="http://127.0.0.1:$setup_port/events"
bench_start reply "" ""
printf 'bench bench %s messaging:messages:send\n' \
    "$(printf '%s' "$secret" | sha256sum | cut -d' ' -f1)" >"$work/api.keys"
bench_server=$(reply_server_lines)
bench_http="whatsapp_api_keys $work/api.keys;"
bench_reload
"${pin_load[@]}" /usr/bin/python3 "$root/bench/reply/setup.py" "http://127.0.0.1:$port/webhook" \
    bench-secret "$secret" "$conversations" "$work/replies.txt" "$setup_port" >&2
callback=http://bench_callback/events

# The same configuration, one process under callgrind.
nginx_stop "$work"
sleep 1
bench_main="master_process off; daemon off;"
bench_write_conf
"${pin_sut[@]}" valgrind --tool=callgrind --callgrind-out-file="$out/callgrind.%p" --dump-instr=no -q \
    nginx -p "$work" -c "$work/nginx.conf" 2>"$out/valgrind.log" &
vg_pid=$!
trap 'kill "$vg_pid" 2>/dev/null || true; bench_cleanup' EXIT
for ((i = 0; i < 200; i++)); do
    curl -s -o /dev/null "http://127.0.0.1:$port/metrics" && break
    sleep 0.5
done

load() {  # URI SECONDS: wrk at 8 connections (valgrind runs ~50x slower)
    "${pin_load[@]}" wrk -t1 -c8 -d"$2" -s "$root/bench/post_lines.lua" "http://127.0.0.1:$port" \
        -- "$work/replies.txt" 1 "$1" Authorization "Bearer " >"$out/wrk.out" 2>&1
    sed -n 's/.*sent=\([0-9]*\).*/\1/p' "$out/wrk.out"
}
load /v2/notify/reply 3s >/dev/null  # warm-up: the first connections, pools, pages
sleep 2
declare -A ir sent
for what in reply baseline; do
    uri=/v2/notify/reply
    [ "$what" = baseline ] && uri=/proxy_mirror
    callgrind_control -z "$vg_pid" >/dev/null 2>&1
    sent[$what]=$(load "$uri" "${BENCH_DURATION:-8s}")
    sleep 3  # the deliveries and commits of the last requests
    callgrind_control -d "$what" "$vg_pid" >/dev/null 2>&1
    profile=$(grep -l "^desc: Trigger: dump $what" "$out"/callgrind.* | head -1)
    ir[$what]=$(sed -n 's/^totals: //p' "$profile")
    mv "$profile" "$out/$what.callgrind"
done
ok=$(metric 'whatsapp_replies_total{code="ok"}')
[ "$ok" -ge "${sent[reply]}" ] || echo "warning: $ok replies ok of ${sent[reply]} sent" >&2

echo "| location | requests | instructions / request (user space, all threads) |"
echo "|---|---|---|"
for what in reply baseline; do
    label='`whatsapp_reply`'
    [ "$what" = baseline ] && label='`proxy_pass` + `mirror /cb` (§11 baseline)'
    echo "| $label | ${sent[$what]} | $(awk -v i="${ir[$what]}" -v n="${sent[$what]}" 'BEGIN { printf "%.1fk", i / n / 1000 }') |"
done
echo "profiles: $out/reply.callgrind, $out/baseline.callgrind (callgrind_annotate --inclusive=yes)"

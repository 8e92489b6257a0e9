#!/usr/bin/env bash
# bench/reply: valid replies into open windows through whatsapp_reply vs a bare
# proxy_pass of the same POST to the same Graph stand-in (an nginx `return 200`
# with a canned Graph answer, on kept-alive connections), same nginx, same run.
set -euo pipefail
. "$(dirname "$0")/../lib.sh"
duration=${BENCH_DURATION:-10s}
conns=${BENCH_CONNECTIONS:-64}
conversations=${BENCH_CONVERSATIONS:-1000}

graph_port=$(free_port)
setup_port=$(free_port)
secret="wa_bench_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
graph_answer='{"messaging_product":"whatsapp","contacts":[{"input":"+33610000000","wa_id":"33610000000"}],"messages":[{"id":"wamid.HBgLMzM2MTAwMDAwMDAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"}]}'
# Set after bench_start, which makes $work.
reply_server_lines() { echo "
        location = /v2/notify/reply { whatsapp_reply; }
        location /_whatsapp/graph/ {
            internal;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_pass http://bench_graph/v21.0/;
        }
        location = /bare {
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_pass http://bench_graph/v21.0/106540352242922/messages;
        }"; }
reply_http_lines() { echo "
    whatsapp_api_keys $work/api.keys;
    upstream bench_graph { server 127.0.0.1:$graph_port; keepalive 512; }
    server {
        listen 127.0.0.1:$graph_port;
        keepalive_requests 1000000;
        location / { default_type application/json; return 200 '$graph_answer'; }
    }"; }
callback="http://127.0.0.1:$setup_port/events"
bench_start reply "" ""
printf 'bench bench %s messaging:messages:send\n' \
    "$(printf '%s' "$secret" | sha256sum | cut -d' ' -f1)" >"$work/api.keys"
bench_server=$(reply_server_lines)
bench_http=$(reply_http_lines)
bench_reload

echo "opening $conversations conversations..." >&2
/usr/bin/python3 "$root/bench/reply/setup.py" "http://127.0.0.1:$port/webhook" bench-secret \
    "$secret" "$conversations" "$work/replies.txt" "$setup_port"
callback=http://bench_callback/events
bench_reload

run() {  # run URI -> "BENCH ..." line
    wrk -t2 -c"$conns" -d"$duration" -s "$root/bench/post_lines.lua" \
        "http://127.0.0.1:$port" -- "$work/replies.txt" 2 "$1" Authorization "Bearer " |
        grep '^BENCH'
}
bare=$(run /bare)
module_run=$(run /v2/notify/reply)
field() { sed -n "s/.*$2=\([0-9.]*\).*/\1/p" <<<"$1"; }
ratio=$(awk -v m="$(field "$module_run" rps)" -v p="$(field "$bare" rps)" 'BEGIN { printf "%.2f", m / p }')
p99_delta=$(awk -v m="$(field "$module_run" p99_us)" -v p="$(field "$bare" p99_us)" 'BEGIN { printf "%.2f", (m - p) / 1000 }')

bench_machine
echo "proxy_pass : $bare"
echo "reply      : $module_run"
echo "replies ok: $(metric 'whatsapp_replies_total{code="ok"}'); other answers: $(bench_metrics | awk '/^whatsapp_replies_total/ && !/code="ok"/ { s += $2 } END { print s + 0 }')"
echo "ratio reply/proxy_pass = $ratio (target >= 0.8); p99 reply - proxy_pass = ${p99_delta} ms (target <= 1 ms)"
bench_check_log

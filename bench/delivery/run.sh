#!/usr/bin/env bash
# bench/delivery: a burst of N signed inbound messages (distinct wamids, 1000
# customers), then how fast the outbox drains to a fast callback (an nginx
# `return 200` on kept-alive connections): the backlog right after the burst,
# and events delivered per second until it is empty.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
module=${WA_MODULE:-$root/build/nginx/ngx_http_whatsapp_module.so}
count=${BENCH_BURST:-50000}
conns=${BENCH_CONNECTIONS:-256}
work=$(mktemp -d /tmp/wa-bench-delivery.XXXXXX)
chmod 755 "$work"  # workers run as nobody and must reach the store
trap 'nginx -p "$work" -c "$work/nginx.conf" -s stop 2>/dev/null || true; rm -rf "$work"' EXIT

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
port=$(free_port)
cb_port=$(free_port)
printf 'bench-secret' >"$work/app.secret"
printf 'whsec_YmVuY2gtc2lnbmluZy1rZXktMDEyMzQ1Njc4OWFi\n' >"$work/events.whsec"
cat >"$work/nginx.conf" <<CONF
load_module $module;
worker_processes 2;
pid $work/nginx.pid;
error_log $work/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $work/body; proxy_temp_path $work/proxy;
    fastcgi_temp_path $work/fcgi; uwsgi_temp_path $work/uwsgi; scgi_temp_path $work/scgi;
    whatsapp_store $work/store max_size=4g;
    whatsapp_number +15550783881 {
        phone_number_id 106540352242922;
        tenant bench;
        app_secret_file $work/app.secret;
        signing_secret_file $work/events.whsec;
        callback http://bench_callback/events;
    }
    server {
        listen 127.0.0.1:$port;
        location = /webhook { whatsapp_webhook; whatsapp_verify_token x; }
        location = /metrics { whatsapp_metrics; }
        location = /_whatsapp/callback {
            internal;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass \$whatsapp_callback_url;
        }
    }
    upstream bench_callback { server 127.0.0.1:$cb_port; keepalive 512; }
    server { listen 127.0.0.1:$cb_port; keepalive_requests 1000000; location / { return 200; } }
}
CONF
echo "generating $count signed webhooks..." >&2
/usr/bin/python3 "$root/bench/inbound/gen.py" "$count" bench-secret "$work/bodies.txt"
nginx -p "$work" -c "$work/nginx.conf"
sleep 0.5

metric() { curl -s "http://127.0.0.1:$port/metrics" | awk -v n="$1" '$1 == n { print $2 }'; }
now() { date +%s.%N; }

t0=$(now)
# wrk runs for its whole -d even after its threads stop: interrupt it (it
# still prints its summary) once every message of the burst is stored.
wrk -t2 -c"$conns" -d600s -s "$root/bench/delivery/burst.lua" \
    "http://127.0.0.1:$port" -- "$work/bodies.txt" 2 /webhook >"$work/wrk.out" &
wrk_pid=$!
deadline=$(( $(date +%s) + 600 ))
while [ "$(metric whatsapp_inbound_received_total)" -lt "$count" ] && [ "$(date +%s)" -lt "$deadline" ]; do
    sleep 0.1
done
t1=$(now)
kill -INT "$wrk_pid"
wait "$wrk_pid" || true
burst=$(grep '^BURST' "$work/wrk.out" || echo "BURST (no summary)")
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

echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(sed -n 's/model name\s*: //p' /proc/cpuinfo | head -1)"
echo "burst      : $burst (wrk's duration runs until interrupted; the burst time is below)"
awk -v t0="$t0" -v t1="$t1" -v t2="$t2" -v s="$stored" -v d="$delivered" -v db="$delivered_at_burst" \
    -v b="$backlog" -v f="$failed" -v p="$pending" 'BEGIN {
    printf "stored %d in %.1f s; delivered %d during the burst; backlog after it: %d\n", s, t1 - t0, db, b
    printf "drained in %.1f s more: %.0f events/s after the burst, %.0f events/s overall; failed attempts %d; still pending %d\n",
        t2 - t1, (t2 > t1 ? (d - db) / (t2 - t1) : 0), d / (t2 - t0), f, p
}'
[ "$pending" = 0 ] && [ "$delivered" = "$stored" ] || { echo "not every event was delivered" >&2; exit 1; }
grep -E '\[(alert|crit|emerg)\]' "$work/error.log" && { echo "errors in error.log" >&2; exit 1; } || true

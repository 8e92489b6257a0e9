#!/usr/bin/env bash
# bench/inbound: durable ingest of signed single-message webhooks (distinct
# wamids) vs nginx's own `return 200` for the same POSTs, same nginx, same run.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
module=${WA_MODULE:-$root/build/nginx/ngx_http_whatsapp_module.so}
duration=${BENCH_DURATION:-10s}
conns=${BENCH_CONNECTIONS:-256}
pool=${BENCH_POOL:-400000}
work=$(mktemp -d /tmp/wa-bench-inbound.XXXXXX)
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
        location = /plain { client_max_body_size 3m; return 200; }
        location = /metrics { whatsapp_metrics; }
        location = /_whatsapp/callback {
            internal;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass \$whatsapp_callback_url;
        }
    }
    # The fast callback: kept-alive connections, as an operator would configure.
    upstream bench_callback { server 127.0.0.1:$cb_port; keepalive 512; }
    server { listen 127.0.0.1:$cb_port; keepalive_requests 100000; location / { return 200; } }
}
CONF
echo "generating $pool signed webhooks..." >&2
/usr/bin/python3 "$root/bench/inbound/gen.py" "$pool" bench-secret "$work/bodies.txt"
nginx -p "$work" -c "$work/nginx.conf"
sleep 0.5

run() {  # run URI -> "BENCH ..." line
    wrk -t2 -c"$conns" -d"$duration" -s "$root/bench/inbound/webhook.lua" \
        "http://127.0.0.1:$port" -- "$work/bodies.txt" 2 "$1" | grep '^BENCH'
}
plain=$(run /plain)
module_run=$(run /webhook)
field() { sed -n "s/.*$2=\([0-9.]*\).*/\1/p" <<<"$1"; }
p_rps=$(field "$plain" rps)
m_rps=$(field "$module_run" rps)
ratio=$(awk -v m="$m_rps" -v p="$p_rps" 'BEGIN { printf "%.2f", m / p }')
metric() { awk -v n="$1" '$1 == n { print $2 }' <<<"$metrics"; }
# Let the outbox drain (bounded): every stored event must reach the callback.
for _ in $(seq 120); do
    metrics=$(curl -s "http://127.0.0.1:$port/metrics")
    [ "$(metric whatsapp_outbox_pending)" = 0 ] && break
    sleep 0.5
done
stored=$(metric whatsapp_inbound_received_total)
batches=$(metric whatsapp_store_commit_batches_total)
items=$(metric whatsapp_store_commit_items_total)
delivered=$(metric 'whatsapp_event_deliveries_total{result="delivered"}')
pending=$(metric whatsapp_outbox_pending)
echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(sed -n 's/model name\s*: //p' /proc/cpuinfo | head -1)"
echo "return 200 : $plain"
echo "webhook    : $module_run"
echo "messages stored: $stored; events delivered: $delivered, pending: $pending; commits: $batches ($(awk -v i="$items" -v b="$batches" 'BEGIN { printf "%.1f", i / b }') writes each)"
echo "ratio webhook/return200 = $ratio (target >= 0.5)"
grep -E '\[(alert|crit|emerg)\]' "$work/error.log" && { echo "errors in error.log" >&2; exit 1; } || true

# Shared by the benchmarks (sourced): a 2-worker nginx with the module in a
# scratch directory, one number whose callback is a `return 200` server of the
# same nginx on kept-alive connections, and small readers of its metrics.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
module=${WA_MODULE:-$root/build/nginx/ngx_http_whatsapp_module.so}

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# bench_start NAME EXTRA_SERVER_LINES [EXTRA_HTTP_LINES]: sets work, port;
# stops nginx on exit. The number's callback is $callback (default: the fast
# one below); bench_reload rewrites the config after changing it.
bench_start() {
    # BENCH_TMP=/dev/shm puts the store on tmpfs: a diagnosis of what fsync costs.
    work=$(mktemp -d "${BENCH_TMP:-/tmp}/wa-bench-$1.XXXXXX")
    chmod 755 "$work"  # workers run as nobody and must reach the store
    trap 'nginx -p "$work" -c "$work/nginx.conf" -s stop 2>/dev/null || true; rm -rf "$work"' EXIT
    port=$(free_port)
    printf 'bench-secret' >"$work/app.secret"
    printf 'EAABENCHTOKEN' >"$work/access.token"
    printf 'whsec_YmVuY2gtc2lnbmluZy1rZXktMDEyMzQ1Njc4OWFi\n' >"$work/events.whsec"
    bench_name=$1 bench_server=$2 bench_http=${3:-}
    callback=${callback:-http://bench_callback/events}
    cb_port=$(free_port)
    bench_write_conf
    nginx -p "$work" -c "$work/nginx.conf"
    sleep 0.5
}

bench_reload() {
    bench_write_conf
    nginx -p "$work" -c "$work/nginx.conf" -s reload
    sleep 1
}

bench_write_conf() {
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
        access_token_file $work/access.token;
        signing_secret_file $work/events.whsec;
        callback $callback;
    }
    $bench_http
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
        $bench_server
    }
    # The fast callback, on kept-alive connections as an operator would configure it.
    upstream bench_callback { server 127.0.0.1:$cb_port; keepalive 512; }
    server { listen 127.0.0.1:$cb_port; keepalive_requests 1000000; location / { return 200; } }
}
CONF
}

# bench_bodies N: N pre-signed single-message webhooks, distinct wamids.
bench_bodies() {
    echo "generating $1 signed webhooks..." >&2
    /usr/bin/python3 "$root/bench/inbound/gen.py" "$1" bench-secret "$work/bodies.txt"
}

bench_metrics() { curl -s "http://127.0.0.1:$port/metrics"; }
metric() { bench_metrics | awk -v n="$1" '$1 == n { print $2 }'; }

bench_machine() {
    echo "machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(sed -n 's/model name\s*: //p' /proc/cpuinfo | head -1)"
}

bench_check_log() {
    if grep -E '\[(alert|crit|emerg)\]' "$work/error.log"; then
        echo "errors in error.log" >&2
        exit 1
    fi
}

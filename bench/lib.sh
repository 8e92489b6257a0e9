# shellcheck shell=bash
# Shared by the benchmarks (sourced by bench/*/run.sh): the layout, the nginx
# under test, the stand-ins, one measured wrk run and the table it ends in.
#
# SPEC §11 wants the module's own cost, so every figure is a ratio against a
# baseline location of the same nginx, measured in the same run, and the
# processes are laid out so that the nginx under test has a core to itself:
#
#   BENCH_LAYOUT=pinned (default)
#     nginx under test  one worker, CPU 0 (taskset -c 0 + worker_cpu_affinity);
#                       the module's writer/syncer threads inherit CPU 0
#     stand-ins         a separate plain nginx (no module), one worker, CPU 1:
#                       the callback receiver (`return 200`) and the Graph API
#                       (`return 200` + a Meta-shaped JSON body), reached from
#                       the nginx under test on kept-alive upstream connections
#     load              wrk, BENCH_THREADS threads (default 1), CPU 1
#   BENCH_LAYOUT=legacy
#     the earlier figures (README's second table): a 2-worker nginx under test,
#     2-worker stand-ins, wrk -t2, nothing pinned.
#
# With fewer than 2 CPUs the pinned layout runs unpinned and says so.
# Other knobs: BENCH_DURATION (8s), BENCH_REPEAT (3), BENCH_CONNECTIONS ("64 512"),
# BENCH_DRAIN_TIMEOUT (60 s), BENCH_TMP (store directory's parent; /dev/shm
# puts the store on tmpfs, a diagnosis of what fsync costs), WA_MODULE.
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
module=${WA_MODULE:-$root/build/nginx/ngx_http_whatsapp_module.so}
duration=${BENCH_DURATION:-8s}
# Each figure is the median of BENCH_REPEAT runs, the locations of a table
# taking turns (baseline, module, baseline, ...) so that drift hits both.
repeats=${BENCH_REPEAT:-3}
read -r -a conns_list <<<"${BENCH_CONNECTIONS:-64 512}"
clk_tck=$(getconf CLK_TCK)

# ---------------------------------------------------------------- layout

# bench_layout: sets layout, sut_workers, standin_workers, wrk_threads, the
# command prefixes pin_sut / pin_load and the affinity lines of both configs.
bench_layout() {
    layout=${BENCH_LAYOUT:-pinned}
    pin_sut=() pin_load=() sut_affinity="" standin_affinity=""
    case $layout in
        pinned)
            sut_workers=1 standin_workers=1 wrk_threads=${BENCH_THREADS:-1}
            if [ "$(nproc)" -ge 2 ]; then
                pin_sut=(taskset -c 0) pin_load=(taskset -c 1)
                taskset -cp 1 $$ >/dev/null  # this script and its helpers (curl, awk, python) too
                sut_affinity="worker_cpu_affinity 01;" standin_affinity="worker_cpu_affinity 10;"
            else
                layout=unpinned
                echo "bench: only $(nproc) CPU available; SPEC §11 needs 2 (nginx under test on" \
                    "CPU 0, load and stand-ins on CPU 1): running UNPINNED, figures not comparable" >&2
            fi ;;
        legacy) sut_workers=2 standin_workers=2 wrk_threads=${BENCH_THREADS:-2} ;;
        *) echo "bench: BENCH_LAYOUT must be pinned or legacy, not '$layout'" >&2; exit 2 ;;
    esac
}
bench_layout

bench_layout_text() {
    case $layout in
        pinned) echo "pinned: nginx under test 1 worker on CPU 0; wrk -t$wrk_threads and the stand-in nginx (1 worker) on CPU 1" ;;
        unpinned) echo "UNPINNED (fewer than 2 CPUs): nginx under test 1 worker; wrk -t$wrk_threads; stand-in nginx 1 worker" ;;
        legacy) echo "legacy: nginx under test 2 workers, stand-in nginx 2 workers, wrk -t$wrk_threads, nothing pinned" ;;
    esac
}

# ---------------------------------------------------------------- processes

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# bench_wait_module: the module is rebuilt from time to time; wait (bounded)
# while the .so is missing.
bench_wait_module() {
    local i
    for ((i = 0; i < 120; i++)); do
        [ -s "$module" ] && return 0
        [ "$i" = 0 ] && echo "waiting for $module..." >&2
        sleep 1
    done
    echo "bench: $module is missing" >&2
    exit 1
}

# nginx_start DIR PIN...: starts the nginx whose config is DIR/nginx.conf under
# the PIN prefix (retried: the .so may be replaced while it loads).
nginx_start() {
    local dir=$1 i
    shift
    for ((i = 0; i < 3; i++)); do
        "$@" nginx -p "$dir" -c "$dir/nginx.conf" && return 0
        sleep 5
        bench_wait_module
    done
    echo "bench: nginx in $dir does not start" >&2
    exit 1
}

nginx_stop() { nginx -p "$1" -c "$1/nginx.conf" -s stop 2>/dev/null || true; }

bench_cleanup() {
    nginx_stop "$work"
    nginx_stop "$work/standin"
    rm -rf "$work"
}

# bench_start NAME EXTRA_SERVER_LINES [EXTRA_HTTP_LINES]: starts the stand-ins
# and the nginx under test in a scratch directory; sets work, port (the nginx
# under test), cb_port and graph_port (the stand-ins); stops both on exit. The number's callback is
# $callback (default: the callback stand-in); bench_reload rewrites the config
# after changing it.
bench_start() {
    bench_wait_module
    work=$(mktemp -d "${BENCH_TMP:-/tmp}/wa-bench-$1.XXXXXX")
    chmod 755 "$work"  # workers run as nobody and must reach the store
    trap bench_cleanup EXIT
    port=$(free_port) cb_port=$(free_port) graph_port=$(free_port)
    printf 'bench-secret' >"$work/app.secret"
    printf 'EAABENCHTOKEN' >"$work/access.token"
    printf 'whsec_YmVuY2gtc2lnbmluZy1rZXktMDEyMzQ1Njc4OWFi\n' >"$work/events.whsec"
    bench_name=$1 bench_server=$2 bench_http=${3:-}
    callback=${callback:-http://bench_callback/events}
    standin_start
    bench_write_conf
    bench_store_disk
    nginx_start "$work" "${pin_sut[@]}"
    sleep 0.5
}

bench_reload() {
    bench_write_conf
    nginx -p "$work" -c "$work/nginx.conf" -s reload 2>&1 | { grep -v 'signal process started' || true; } >&2
    sleep 1
}

# The Graph stand-in's answer to every send: what Meta returns for a text.
graph_answer='{"messaging_product":"whatsapp","contacts":[{"input":"+33610000000","wa_id":"33610000000"}],"messages":[{"id":"wamid.HBgLMzM2MTAwMDAwMDAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA"}]}'

# standin_start: the plain nginx (no module) behind every upstream of the
# nginx under test. stub_status counts the requests it answers.
standin_start() {
    mkdir -p "$work/standin"
    cat >"$work/standin/nginx.conf" <<CONF
worker_processes $standin_workers;
$standin_affinity
pid $work/standin/nginx.pid;
error_log $work/standin/error.log warn;
events { worker_connections 16384; }
http {
    access_log off;
    client_body_temp_path $work/standin/body; proxy_temp_path $work/standin/proxy;
    fastcgi_temp_path $work/standin/fcgi; uwsgi_temp_path $work/standin/uwsgi; scgi_temp_path $work/standin/scgi;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
    server {  # the callback receiver
        listen 127.0.0.1:$cb_port backlog=4096;
        location / { return 200; }
        location = /_standin/status { stub_status; }
    }
    server {  # the Graph API
        listen 127.0.0.1:$graph_port backlog=4096;
        location / { default_type application/json; return 200 '$graph_answer'; }
    }
}
CONF
    nginx_start "$work/standin" "${pin_load[@]}"
}

# standin_requests: requests the stand-ins have read so far (this query
# included), from their stub_status.
standin_requests() {
    curl -s "http://127.0.0.1:$cb_port/_standin/status" | awk 'NR == 3 { print $3 }'
}

bench_write_conf() {
    cat >"$work/nginx.conf" <<CONF
load_module $module;
worker_processes $sut_workers;
$sut_affinity
${bench_main:-}
pid $work/nginx.pid;
error_log $work/error.log warn;
events { worker_connections 16384; }
http {
    access_log off;
    client_body_temp_path $work/body; proxy_temp_path $work/proxy;
    fastcgi_temp_path $work/fcgi; uwsgi_temp_path $work/uwsgi; scgi_temp_path $work/scgi;
    keepalive_requests 1000000;
    whatsapp_store $work/store max_size=4g;
    whatsapp_number +15550783881 {
        phone_number_id 106540352242922;
        tenant bench;
        app_secret_file $work/app.secret;
        access_token_file $work/access.token;
        signing_secret_file $work/events.whsec;
        callback $callback;
    }
    # The stand-ins, on kept-alive connections as an operator would configure them.
    upstream bench_callback { server 127.0.0.1:$cb_port; keepalive 512; }
    upstream bench_graph { server 127.0.0.1:$graph_port; keepalive 512; }
    $bench_http
    server {
        listen 127.0.0.1:$port backlog=4096;
        location = /webhook { whatsapp_webhook; whatsapp_verify_token x; }
        location = /metrics { whatsapp_metrics; }
        location = /_whatsapp/callback {
            internal;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass \$whatsapp_callback_url;
        }
        # The baselines' POST out to the callback stand-in (see bench_mirror_200).
        location = /cb {
            internal;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_pass http://bench_callback/events;
        }
        location @ok { return 200; }
        $bench_server
    }
}
CONF
}

# bench_mirror_200: the lines of a location that mirrors the request to the
# callback stand-in and answers an empty 200. Not `mirror /cb; return 200;`:
# `return` runs in the rewrite phase, before mirror's precontent handler, so
# that location never sends the mirror (0 requests reach the stand-in) and
# measures one exchange, not two. Here the content handler is empty_gif, which
# refuses a POST with 405 without any I/O, and error_page turns that into the
# empty 200 of @ok; the out/req column shows the mirror does go out.
bench_mirror_200() { echo "mirror /cb; empty_gif; error_page 405 =200 @ok;"; }

# nginx_workers DIR: pids of the live (not shutting down) workers of the nginx
# whose prefix is DIR.
nginx_workers() {
    ps -o pid=,args= --ppid "$(cat "$1/nginx.pid")" | awk '/worker process$/ { print $1 }'
}

# bench_affinity_text: where the workers really run (checks the layout).
bench_affinity_text() {
    local dir p out=""
    for dir in "$work" "$work/standin"; do
        for p in $(nginx_workers "$dir"); do
            out+="$([ "$dir" = "$work" ] && echo "under test" || echo "stand-in") $p on CPU $(taskset -cp "$p" | sed 's/.*: //'); "
        done
    done
    echo "${out%; }"
}

# bench_sut_cpu_ticks: user+system ticks of the workers under test, threads
# included.
bench_sut_cpu_ticks() {
    local p t=0
    for p in $(nginx_workers "$work"); do
        t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat")))
    done
    echo "$t"
}

# cpu_snapshot: "busy total" jiffies of CPU 0 then CPU 1 (guest time is
# already in user).
cpu_snapshot() {
    awk '$1 == "cpu0" || $1 == "cpu1" { printf "%d %d ", $2 + $3 + $4 + $7 + $8 + $9, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat
}

# cpu_busy_text BEFORE AFTER: "97% / 100%", how busy CPU 0 and CPU 1 were.
cpu_busy_text() {
    awk -v a="$1" -v b="$2" 'BEGIN {
        split(a, x, " "); split(b, y, " ")
        for (i = 1; i <= 3; i += 2) {
            t = y[i + 1] - x[i + 1]
            out = out (i > 1 ? " / " : "") sprintf("%.0f%%", t ? 100 * (y[i] - x[i]) / t : 0)
        }
        print out
    }'
}

# ---------------------------------------------------------------- inputs

# bench_bodies N OUT [FIRST [CUSTOMERS]]: N pre-signed single-message webhooks
# with distinct wamids (numbered from FIRST, so two files never share one),
# from CUSTOMERS customers (1000).
bench_bodies() {
    echo "generating $1 signed webhooks..." >&2
    /usr/bin/python3 "$root/bench/inbound/gen.py" "$1" bench-secret "$2" "${3:-0}" "${4:-1000}"
}

# bench_pool: bodies per webhook run: BENCH_POOL, or 50 000 per second of the
# run, so that a wrk run never wraps around to resending a wamid.
bench_pool() { echo "${BENCH_POOL:-$((50000 * $(duration_seconds)))}"; }

# duration_seconds: $duration (wrk's syntax: 8s, 2m, 1h; a bare number is
# seconds) in whole seconds, at least 1.
duration_seconds() {
    local n=${duration%[smh]} mult=1
    case $duration in *m) mult=60 ;; *h) mult=3600 ;; esac
    n=${n%.*}
    echo $(( (n > 0 ? n : 1) * mult ))
}

# bench_fsync_ms DIR: median time of one 4 KiB write + fdatasync in DIR.
bench_fsync_ms() {
    /usr/bin/python3 - "$1" <<'PY'
import os, statistics, sys, time
path = os.path.join(sys.argv[1], "fsync.probe")
fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o600)
times = []
for i in range(30):
    os.pwrite(fd, b"x" * 4096, i * 4096)
    t = time.perf_counter()
    os.fdatasync(fd)
    times.append(time.perf_counter() - t)
os.close(fd)
os.unlink(path)
print("%.2f" % (statistics.median(times) * 1000))
PY
}

# ---------------------------------------------------------------- module state

bench_metrics() { curl -s "http://127.0.0.1:$port/metrics"; }
metric() { bench_metrics | awk -v n="$1" '$1 == n { print $2 }'; }

# bench_drain: bounded wait for the outbox to be empty (every stored event
# delivered), so that no run pays for the previous one's deliveries.
bench_drain() {
    local limit=${BENCH_DRAIN_TIMEOUT:-60} pending=0 i
    for ((i = 0; i < limit * 5; i++)); do
        pending=$(metric whatsapp_outbox_pending)
        [ "${pending:-0}" = 0 ] && return 0
        sleep 0.2
    done
    echo "warning: the outbox still holds $pending events after ${limit}s" >&2
}

bench_check_log() {
    if grep -E '\[(alert|crit|emerg)\]' "$work/error.log" "$work/standin/error.log"; then
        echo "errors in error.log" >&2
        exit 1
    fi
}

bench_machine() {
    echo "machine: $(nproc --all) CPUs, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(sed -n 's/model name\s*: //p' /proc/cpuinfo | head -1)"
}

# bench_idle_busy: how busy CPU 0 / 1 are over one second with nothing of ours
# running.
bench_idle_busy() {
    local a
    a=$(cpu_snapshot)
    sleep 1
    cpu_busy_text "$a" "$(cpu_snapshot)"
}

# bench_header TITLE [RUNS]: what was measured, where, and how the processes
# sit (RUNS: how long each figure ran); sets fsync_ms.
bench_header() {
    echo
    echo "## bench/$bench_name — $1"
    echo
    echo "$(bench_machine); nginx $(nginx -v 2>&1 | sed 's|.*/||'); $(date -u +%Y-%m-%d)"
    echo "layout $(bench_layout_text); $(bench_affinity_text)"
    echo "before the runs, idle: CPU 0 / 1 busy $(bench_idle_busy) over 1 s (others' work; above a few % the figures are noisy)"
    fsync_ms=$(bench_fsync_ms "$work")
    echo "${2:-$duration per figure}; store in $(df --output=fstype "$work" | tail -1) ($work), one fdatasync there: $fsync_ms ms"
    echo
}

# ---------------------------------------------------------------- measuring

declare -A R_label R_conns R_requests R_rps R_p50 R_p99 R_errors R_cpu R_busy R_out R_backlog R_commit R_runs

# bench_wrk CONNS URI FILE [HEADER [PREFIX]]: runs wrk with
# bench/post_lines.lua in the background (pid in wrk_pid, output in
# $work/wrk.out) and returns once every thread has loaded its requests.
bench_wrk() {
    local i
    rm -f "$work"/wrk.ready.*
    BENCH_READY=$work/wrk.ready "${pin_load[@]}" wrk -t"$wrk_threads" -c"$1" -d"$duration" \
        -s "$root/bench/post_lines.lua" "http://127.0.0.1:$port" -- "$3" "$wrk_threads" "$2" "${@:4}" \
        >"$work/wrk.out" &
    wrk_pid=$!
    for ((i = 0; i < 6000; i++)); do
        [ "$(find "$work" -maxdepth 1 -name 'wrk.ready.*' | wc -l)" -ge "$wrk_threads" ] && return 0
        kill -0 "$wrk_pid" 2>/dev/null || return 0
        sleep 0.01
    done
}

# bench_wrk_wait: waits for the run bench_wrk started; sets wrk_line to its
# "BENCH ..." line (not a $(...): wait only knows this shell's children).
bench_wrk_wait() {
    wait "$wrk_pid" || { cat "$work/wrk.out" >&2; echo "bench: wrk failed" >&2; exit 1; }
    wrk_line=$(grep '^BENCH' "$work/wrk.out")
}

field() { sed -n "s/.*$2=\([0-9.]*\).*/\1/p" <<<"$1"; }

# bench_measure KEY LABEL CONNS URI FILE [HEADER [PREFIX]]: one wrk run of URI
# after the outbox has drained; records in R_*[KEY] its rate, latency, errors,
# the CPU the workers under test used (in cores), how busy CPU 0 and 1 were
# (from /proc/stat: anything else running shows there), the outbox backlog
# wrk left, and the requests it caused at the stand-ins per request (counted
# after the outbox drained again: a message's delivery belongs to its run).
# Then checks the error logs.
bench_measure() {
    local key=$1 label=$2 conns=$3 uri=$4 line cpu0 cpu1 busy0 busy1 out0 out1 commit0 commit1
    bench_drain
    echo "measuring $label at $conns connections..." >&2
    out0=$(standin_requests)
    bench_wrk "$conns" "$uri" "${@:5}"
    cpu0=$(bench_sut_cpu_ticks) busy0=$(cpu_snapshot) commit0=$(commit_snapshot)
    bench_wrk_wait
    line=$wrk_line
    cpu1=$(bench_sut_cpu_ticks) busy1=$(cpu_snapshot) commit1=$(commit_snapshot)
    R_commit[$key]=$(commit_text "$commit0" "$commit1" "$(field "$line" duration_us)")
    R_busy[$key]=$(cpu_busy_text "$busy0" "$busy1")
    R_backlog[$key]=$(metric whatsapp_outbox_pending)
    bench_drain
    sleep 0.2  # the last mirrors
    out1=$(standin_requests)
    R_label[$key]=$label R_conns[$key]=$conns R_requests[$key]=$(field "$line" sent)
    R_rps[$key]=$(field "$line" rps) R_p50[$key]=$(field "$line" p50_us) R_p99[$key]=$(field "$line" p99_us)
    R_errors[$key]=$(field "$line" errors)
    R_cpu[$key]=$(awk -v t=$((cpu1 - cpu0)) -v hz="$clk_tck" -v us="$(field "$line" duration_us)" \
        'BEGIN { printf "%.2f", t / hz / (us / 1e6) }')
    R_out[$key]=$(ratio $((out1 - out0 - 1)) "${R_requests[$key]}")
    bench_check_log
}

# bench_pick_median KEY: KEY's figures become those of the run KEY#1..#repeats
# with the median rate (a whole run, so its latencies and CPU belong together).
bench_pick_median() {
    local key=$1 r median arr
    median=$(for ((r = 1; r <= repeats; r++)); do echo "${R_rps[$key#$r]} $r"; done |
        sort -n | awk -v n="$repeats" 'NR == int((n + 1) / 2) { print $2 }')
    for arr in R_label R_conns R_requests R_rps R_p50 R_p99 R_errors R_cpu R_busy R_out R_backlog R_commit; do
        local -n a=$arr
        a[$key]=${a[$key#$median]:-}
    done
    R_runs[$key]=$(for ((r = 1; r <= repeats; r++)); do thousands "${R_rps[$key#$r]}"; done | paste -sd/)
}

# ---------------------------------------------------------------- commit pipeline

# The module's group-commit counters (nothing for a baseline location), and
# the write requests and sectors the store's disk completed (/proc/diskstats;
# the whole disk, so anything else writing to it counts too).
commit_snapshot() {
    bench_metrics | awk '$1 ~ /^whatsapp_store_commit_/ { print $1, $2 }'
    if [ -n "${store_disk:-}" ]; then
        awk -v d="$store_disk" '$3 == d { printf "disk_writes %s\ndisk_sectors %s\n", $8, $10 }' /proc/diskstats
    fi
}

# store_disk: the disk holding the bench's store ("" on tmpfs or when
# /proc/diskstats does not list it): a partition's parent disk.
bench_store_disk() {
    local src dev
    src=$(df --output=source "$work" 2>/dev/null | tail -1)
    dev=$(basename "$src")
    [ -e "/sys/class/block/$dev" ] || { store_disk=""; return; }
    if [ -e "/sys/class/block/$dev/partition" ]; then
        dev=$(basename "$(dirname "$(readlink -f "/sys/class/block/$dev")")")
    fi
    store_disk=$dev
}

# commit_text BEFORE AFTER DURATION_US: the cells of a commit-pipeline row
# (batches/s, items per batch, each stage's mean ms per item, how busy the
# writer and syncer were, batches re-applied), empty when nothing committed.
commit_text() {
    awk -v us="$3" 'FNR == NR { a[$1] = $2; next } { d[$1] = $2 - a[$1] }
        END {
            p = "whatsapp_store_commit_"; b = d[p "batches_total"]; n = d[p "items_total"]
            if (n <= 0 || b <= 0) exit
            s = us / 1e6
            printf "%.0f | %.1f", b / s, n / b
            split("queued waiting applying committing syncing completing", st, " ")
            for (i = 1; i <= 6; i++)
                printf " | %.3f", 1000 * d[p "item_seconds_total{stage=\"" st[i] "\"}"] / n
            w = d[p "busy_seconds_total{work=\"writer_apply\"}"] + d[p "busy_seconds_total{work=\"writer_commit\"}"]
            printf " | %.0f%% | %.0f%% | %d", 100 * w / s, 100 * d[p "busy_seconds_total{work=\"syncer_sync\"}"] / s, d[p "reapplied_total"]
            if ("disk_writes" in d) printf " | %.1f | %.0f", d["disk_writes"] / b, d["disk_sectors"] * 512 / 1024 / b
            else printf " | n/a | n/a"
        }' <(echo "$1") <(echo "$2")
}

# bench_commit_table KEY...: the commit pipeline of each run that committed.
bench_commit_table() {
    local k
    echo
    echo "Commit pipeline during each run (means per written item, ms; SPEC §4.6):"
    echo
    echo "| conns | location | batches/s | items/batch | queued | waiting | applying | committing | syncing | completing | writer busy | syncer busy | re-applied | disk writes/batch | KiB/batch |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    for k in "$@"; do
        [ -n "${R_commit[$k]:-}" ] && echo "| ${R_conns[$k]} | ${R_label[$k]} | ${R_commit[$k]} |"
    done
    cat <<'TXT'

queued: submit until the event loop's turn ends and hands the batch over; waiting: for the writer
(busy with the previous batch); applying: the batch's work; committing: LMDB's page writes and data
flush (fdatasync, under the write lock); syncing: until the syncer's flush of the meta page; completing:
until the event loop runs the completion. Busy: share of the run the thread worked. Disk
writes/batch, KiB/batch: write requests and data the store's disk completed during the run, per
batch (/proc/diskstats; n/a on tmpfs): LMDB writes each page a commit dirtied, and one write of
scattered pages costs the disk far more than one of adjacent pages.
TXT
}

# ---------------------------------------------------------------- reporting

thousands() { sed ':a;s/\B[0-9]\{3\}\>/ &/;ta' <<<"$1"; }
ms() { awk -v us="$1" 'BEGIN { printf (us < 10000 ? "%.2f ms" : "%.1f ms"), us / 1000 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b ? a / b : 0 }'; }

bench_table_header() {
    echo "| conns | location | req/s (× baseline) | runs | p50 (× baseline) | p99 (× baseline) | nginx CPU | CPU 0 / 1 busy | out/req | backlog | errors |"
    echo "|---|---|---|---|---|---|---|---|---|---|---|"
}

# bench_row KEY BASE_KEY: one table row; KEY = BASE_KEY marks the baseline.
bench_row() {
    local k=$1 b=$2 rps p50 p99
    rps="$(thousands "${R_rps[$k]}")" p50="$(ms "${R_p50[$k]}")" p99="$(ms "${R_p99[$k]}")"
    if [ "$k" = "$b" ]; then
        rps+=" (baseline)" p50+=" (baseline)" p99+=" (baseline)"
    else
        rps+=" (**$(ratio "${R_rps[$k]}" "${R_rps[$b]}")**)"
        p50+=" (×$(ratio "${R_p50[$k]}" "${R_p50[$b]}"))"
        p99+=" (×$(ratio "${R_p99[$k]}" "${R_p99[$b]}"))"
    fi
    echo "| ${R_conns[$k]} | ${R_label[$k]} | $rps | ${R_runs[$k]:-} | $p50 | $p99 | ${R_cpu[$k]} | ${R_busy[$k]} | ${R_out[$k]} | ${R_backlog[$k]:-0} | ${R_errors[$k]} |"
}

bench_table_notes() {
    cat <<'TXT'

req/s, p50, p99: wrk's, from the run with the median rate (runs: every run's rate, in order);
(× baseline) divides by the baseline row of the same connections.
nginx CPU: cores used by the workers under test (threads included) during the run.
CPU 0 / 1 busy: both CPUs during the run, whoever used them (in the pinned layout CPU 0 above
nginx CPU is someone else's work, and CPU 1 at 100 % means the load side may be the limit).
out/req: requests the stand-ins answered per request sent (Graph sends + callbacks), counted after the
outbox drained; requests in flight when wrk stopped may end without theirs (up to conns ÷ requests).
backlog: events still in the outbox when wrk stopped. errors: wrk's non-2xx, timeouts, socket errors.
TXT
}

# bench_check_pool KEY POOL: warns when a run sent more requests than its file
# has lines (the rest were resends: for webhooks, acknowledged duplicates).
bench_check_pool() {
    [ "${R_requests[$1]}" -le "$2" ] ||
        echo "warning: ${R_label[$1]} sent ${R_requests[$1]} requests from $2 bodies: raise BENCH_POOL" >&2
}

# goal_text VALUE OP LIMIT: "met" or "**not met**".
goal_text() { awk -v v="$1" -v l="$3" -v op="$2" 'BEGIN { ok = op == ">=" ? v >= l : v <= l; print ok ? "met" : "**not met**" }'; }

# bench_growth_text MODULE_KEY BASELINE_KEY: how throughput grows from the
# first to the last of BENCH_CONNECTIONS (keys without their "@conns").
bench_growth_text() {
    local first=${conns_list[0]} last=${conns_list[-1]}
    [ "$first" != "$last" ] || return 0
    echo "throughput $first -> $last connections: ${R_label[$1@$first]} ×$(ratio "${R_rps[$1@$last]}" "${R_rps[$1@$first]}")," \
        "baseline ×$(ratio "${R_rps[$2@$last]}" "${R_rps[$2@$first]}")"
}

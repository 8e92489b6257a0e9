#!/usr/bin/env bash
# bench/reply: valid replies into open windows (1000 conversations opened
# through the webhook first) through `whatsapp_reply`, which checks the key and
# the window, sends to the Graph stand-in, stores the message (fsync before the
# 200) and delivers its event to the callback stand-in. Its baseline is the one
# SPEC §11 names, a location of the same nginx measured in the same run that
# does the same three HTTP exchanges per reply: the client's POST in, a
# proxy_pass to the Graph stand-in and a mirror to the callback stand-in. A
# bare proxy_pass (two exchanges) is kept as the older reference. Measured at
# each of BENCH_CONNECTIONS (64 and 512); the p99 goal is ≤ 2× the baseline's
# p99 + one fdatasync (measured in the store's directory). Layout: lib.sh.
# shellcheck disable=SC2016  # the labels hold Markdown backquotes
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
# shellcheck source=SCRIPTDIR/locations.sh
. "$(dirname "$0")/locations.sh"
conversations=${BENCH_CONVERSATIONS:-1000}
secret="wa_bench_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
setup_port=$(free_port)

# open_conversations: one inbound message per customer, whose im_ id the
# replies answer; the callback is setup.py's receiver while it runs.
open_conversations() {
    printf 'bench bench %s messaging:messages:send\n' \
        "$(printf '%s' "$secret" | sha256sum | cut -d' ' -f1)" >"$work/api.keys"
    bench_server=$(reply_server_lines)
    bench_http="whatsapp_api_keys $work/api.keys;"
    bench_reload
    echo "opening $conversations conversations..." >&2
    "${pin_load[@]}" /usr/bin/python3 "$root/bench/reply/setup.py" "http://127.0.0.1:$port/webhook" \
        bench-secret "$secret" "$conversations" "$work/replies.txt" "$setup_port"
    callback=http://bench_callback/events
    bench_reload
}

callback="http://127.0.0.1:$setup_port/events"
bench_start reply "" ""
open_conversations
bench_header "replies into open windows vs the same nginx's proxy_pass + mirror"

replies=("$work/replies.txt" Authorization "Bearer ")
for c in "${conns_list[@]}"; do
    for ((r = 1; r <= repeats; r++)); do
        bench_measure "bare@$c#$r" 'bare `proxy_pass` to Graph' "$c" /bare "${replies[@]}"
        bench_measure "mirror@$c#$r" '`proxy_pass` + `mirror /cb` (§11 baseline)' "$c" /proxy_mirror "${replies[@]}"
        bench_measure "reply@$c#$r" '`whatsapp_reply`' "$c" /v2/notify/reply "${replies[@]}"
    done
    for k in bare mirror reply; do bench_pick_median "$k@$c"; done
done

bench_table_header
for c in "${conns_list[@]}"; do
    for k in bare mirror reply; do bench_row "$k@$c" "mirror@$c"; done
done
bench_table_notes
bench_commit_table "${conns_list[@]/#/reply@}"
echo
for c in "${conns_list[@]}"; do
    r=$(ratio "${R_rps[reply@$c]}" "${R_rps[mirror@$c]}")
    p99_goal=$(awk -v b="${R_p99[mirror@$c]}" -v f="$fsync_ms" 'BEGIN { printf "%.0f", 2 * b + f * 1000 }')
    echo "reply / proxy_pass + mirror at $c connections: $r (SPEC §11 goal >= 0.5: $(goal_text "$r" '>=' 0.5));" \
        "p99 $(ms "${R_p99[reply@$c]}") vs goal <= 2 × $(ms "${R_p99[mirror@$c]}") + $fsync_ms ms" \
        "= $(ms "$p99_goal"): $(goal_text "${R_p99[reply@$c]}" '<=' "$p99_goal")"
done
bench_growth_text reply "mirror"
echo "replies ok: $(metric 'whatsapp_replies_total{code="ok"}'); other answers:" \
    "$(bench_metrics | awk '/^whatsapp_replies_total/ && !/code="ok"/ { s += $2 } END { print s + 0 }');" \
    "events delivered: $(metric 'whatsapp_event_deliveries_total{result="delivered"}'), pending: $(metric whatsapp_outbox_pending)"
bench_check_log

#!/usr/bin/env bash
# bench/inbox: the inbox API's reads on a full store (issue 11). inbox-fill
# (tools/) writes BENCH_INBOX_CONVERSATIONS (100 000) conversations with
# BENCH_INBOX_MESSAGES (1 000 000) messages into the store of the nginx
# under test, through the domain's own writes (indexes included), while
# nginx runs. Then each request kind runs for $duration at
# BENCH_INBOX_CONNECTIONS (8) connections: the first page, the next page (a
# cursor), filtered pages (a rare status, assigned=me, two filters), a get
# with its 20 newest messages, and searches (one whose 20 matches are among
# the newest, one that matches nothing, which examines every index entry of
# the tenant, up to kMaxExaminedPerPage). The baseline is a `return 200` of the same nginx,
# the same exchange without the work. Also reports store bytes per message.
# Layout as the others (lib.sh): the nginx under test on CPU 0, wrk on CPU 1.
# shellcheck disable=SC2016  # the labels hold Markdown backquotes
set -euo pipefail
# shellcheck source=SCRIPTDIR/../lib.sh
. "$(dirname "$0")/../lib.sh"
conversations=${BENCH_INBOX_CONVERSATIONS:-100000}
messages=${BENCH_INBOX_MESSAGES:-1000000}
conns=${BENCH_INBOX_CONNECTIONS:-8}
fill=${WA_INBOX_FILL:-$root/build/core/inbox-fill}
secret="wa_bench_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
[ -x "$fill" ] || { echo "bench/inbox: $fill missing: run ./build.sh first" >&2; exit 2; }

bench_start inbox "" ""
printf 'ada bench %s *\n' "$(printf '%s' "$secret" | sha256sum | cut -d' ' -f1)" >"$work/api.keys"
bench_server="
        location /v1/messaging/ { whatsapp_messaging; }
        location /_whatsapp/graph/ { internal; proxy_pass http://bench_graph/v21.0/; }
        location = /static { default_type application/json; return 200 '{\"message\":\"ok\",\"data\":[]}'; }"
bench_http="whatsapp_api_keys $work/api.keys;"
bench_reload

echo "filling the store: $conversations conversations, $messages messages..." >&2
t0=$(date +%s)
"${pin_load[@]}" "$fill" "$work/store" bench +15550783881 106540352242922 \
    "$conversations" "$messages" "$work/ids.txt"
fill_s=$(($(date +%s) - t0))

api=/v1/messaging
bench_header "inbox reads on a store of $(thousands "$conversations") conversations and $(thousands "$messages") messages" \
    "$duration per figure at $conns connections"
used=$(metric whatsapp_store_used_bytes)

# lines FILE PATH...: request lines for post_lines.lua's GET mode.
lines() {
    local out=$1 p
    shift
    : >"$out"
    for p in "$@"; do echo "$secret $p" >>"$out"; done
}
first_page=$(curl -s -H "Authorization: Bearer $secret" "http://127.0.0.1:$port$api/conversations")
cursor=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["nextCursor"])' "$first_page")
lines "$work/static.txt" /static
lines "$work/list.txt" "$api/conversations"
lines "$work/next.txt" "$api/conversations?cursor=$cursor"
lines "$work/closed.txt" "$api/conversations?status=closed"
lines "$work/me.txt" "$api/conversations?assigned=me"
lines "$work/two.txt" "$api/conversations?status=pending_customer&mode=ai"
lines "$work/search.txt" "$api/conversations?search=customer+999"
lines "$work/nomatch.txt" "$api/conversations?search=nobody"
shuf -n 20000 "$work/ids.txt" | sed "s|^|$secret $api/conversations/|" >"$work/get.txt"

kinds=(static list next closed me two get search nomatch)
declare -A label=(
    [static]='`return 200` (baseline)' [list]='list, first page (20)' [next]='list, next page (cursor)'
    [closed]='list `status=closed` (10 %)' [me]='list `assigned=me` (5 %)'
    [two]='list `status=pending_customer&mode=ai`' [get]='get, 20 newest messages (random ids)'
    [search]='search, 20 matches among the newest' [nomatch]='search, no match (every entry examined)')
for k in "${kinds[@]}"; do
    for ((r = 1; r <= repeats; r++)); do
        bench_measure "$k#$r" "${label[$k]}" "$conns" - "$work/$k.txt" Authorization "Bearer "
    done
    bench_pick_median "$k"
done

echo "| request | req/s | runs | p50 | p99 | nginx CPU | errors |"
echo "|---|---|---|---|---|---|---|"
for k in "${kinds[@]}"; do
    echo "| ${R_label[$k]} | $(thousands "${R_rps[$k]}") | ${R_runs[$k]:-} | $(ms "${R_p50[$k]}") | $(ms "${R_p99[$k]}") | ${R_cpu[$k]} | ${R_errors[$k]} |"
done
echo
echo "store: $(awk -v b="$used" 'BEGIN { printf "%.0f MiB", b / 1048576 }') used for $(thousands "$messages") messages in" \
    "$(thousands "$conversations") conversations: $(awk -v b="$used" -v n="$messages" 'BEGIN { printf "%.0f", b / n }') bytes per message" \
    "(messages, wamids, conversations and every inbox index; no events); filled in ${fill_s} s"
bench_check_log

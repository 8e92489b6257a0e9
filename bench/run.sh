#!/usr/bin/env bash
# Runs every benchmark (or the ones named): ./build.sh bench [inbound delivery reply inbox].
# Each prints its figures as a Markdown table, every figure with its ratio to
# the baseline SPEC §11 names for it (a location of the same nginx, same run).
# BENCH_LAYOUT=legacy gives the earlier 2-worker, unpinned figures; the other
# knobs (BENCH_DURATION, BENCH_CONNECTIONS, ...) are described in bench/lib.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(inbound delivery reply inbox)
for n in "${names[@]}"; do
    [ -x "$here/$n/run.sh" ] || { echo "bench: no benchmark '$n' (bench/$n/run.sh)" >&2; exit 2; }
done
for n in "${names[@]}"; do
    "$here/$n/run.sh"
done

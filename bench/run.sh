#!/usr/bin/env bash
# Runs every benchmark (or the ones named): ./build.sh bench [inbound ...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(inbound delivery reply)
for n in "${names[@]}"; do
    "$here/$n/run.sh"
done

#!/usr/bin/env bash
# engine.sh: the playbook engine's benchmark in `make bench` (bench/RESULTS-engine.md).
# One process, pinned to one CPU when taskset exists: 100,000 runs of a 5-step
# playbook on SQLite beside SQLite alone writing the same number of rows, the
# first-action latency at 1,000 runs a second, and the memory of 10,000 runs
# waiting on prompts. Writes bench/out/engine.json.
#
#   bash bench/engine.sh BUILD_DIR
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=bench/out
mkdir -p "$out/engine"
ninja -C "$build" bench/bench_engine >/dev/null
pin=()
if command -v taskset >/dev/null && [ "${BENCH_PIN:-1}" = 1 ]; then
    pin=(taskset -c 0)
fi
echo "== engine: durable runs on SQLite, one core"
"${pin[@]}" "$build/bench/bench_engine" --runs "${BENCH_RUNS:-100000}" --paced 5000 \
    --waiting 10000 "$out/engine" 2>"$out/engine.log" | tee "$out/engine.json"

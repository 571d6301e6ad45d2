#!/usr/bin/env bash
# sources.sh: the source-parsing benchmarks of `make bench`, each beside its
# baseline measured in the same run:
#   bench_lines    CEF and syslog lines into alerts per second (one core), with a
#                  memchr split and a bare jansson object as floors
#   bench_mail     mails parsed (and IOC-extracted) per second over the shared
#                  mail corpus, with Python's email package on the same files
#   bench_extract  IOC extraction MB/s, with memchr and PCRE2 baselines
# Figures and method: bench/RESULTS-lines.md, RESULTS-mail.md, RESULTS-extract.md.
# The corpus (../shared/corpus beside the repository) is used when it exists;
# the line benchmark generates its own lines and always runs.
#
#   bash bench/sources.sh BUILD_DIR
set -euo pipefail
build=${1:-build}
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
corpus="$root/../shared/corpus"
out=bench/out
mkdir -p "$out"
ninja -C "$build" bench/bench_lines bench/bench_mail bench/bench_extract >/dev/null

echo "== lines (CEF, syslog) per CPU-second, one core"
"$build/bench/bench_lines" 200000 | tee "$out/lines.txt"

if [ -d "$corpus/email" ]; then
    echo "== mail: Riposte vs Python's email package, same files, same run"
    "$build/bench/bench_mail" --no-extract --passes 20 "$corpus/email" | tee "$out/mail-parse.json"
    "$build/bench/bench_mail" --passes 20 "$corpus/email" | tee "$out/mail-extract.json"
    python3 bench/mail_bench.py --passes 5 "$corpus/email" | tee "$out/mail-python.json"
    python3 - "$out/mail-parse.json" "$out/mail-extract.json" "$out/mail-python.json" <<'PY'
import json, sys
r, x, p = (json.load(open(f)) for f in sys.argv[1:4])
key = "mails_per_cpu_s"
print("mail parse: %.0f mails/CPU-s = %.1fx Python (%.0f); with IOC extraction %.0f = %.1fx"
      % (r[key], r[key] / p[key], p[key], x[key], x[key] / p[key]))
PY
    echo "== IOC extraction"
    "$build/bench/bench_extract" mail="$corpus/email" ioc="$corpus/ioc-extraction" | tee "$out/extract.json"
else
    echo "== mail and extraction: skipped ($corpus not found)"
fi

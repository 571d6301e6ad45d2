#!/usr/bin/env bash
# bench/run.sh: the ingest benchmark (`make bench` runs `bash bench/run.sh BUILD_DIR`).
#
# In one run, on the same generated file of BENCH_N alerts (default 1,000,000,
# a fifth of them repeats of earlier ones), it measures:
#   limits  jansson alone parsing the file (bench_jansson), and SQLite alone
#           taking Riposte's rows for it (bench_sqlite: alert rows only, and the
#           full set of rows correlation writes);
#   (a)     `riposte ingest --db DB FILE`;
#   (b)     POST /api/v1/alerts with BENCH_BATCH (1000) alerts a request;
#   (c)     POST /api/v1/alerts with one alert a request, on keep-alive
#           connections from bench_loadgen;
# and reports alerts/s, acknowledgement latency (p50, p99), peak RSS, the idle
# daemon's RSS, and each rate as a ratio of the limits measured in the same run
# (machines are noisy; ratios travel better than figures). With two or more
# CPUs, Riposte and the limits run on CPU 0 and the load generator on CPU 1
# (taskset; BENCH_PIN=0 turns it off), so "alerts/s" means "on one core".
#
# Everything it writes goes to bench/out/ (git-ignored): the alerts, each tool's
# JSON output, the daemon logs, results.json and summary.txt. The databases are
# deleted after each phase unless BENCH_KEEP=1. The daemons it starts listen on
# a free port of 127.0.0.1, use a throw-away database and a token made for the
# run, and are stopped with SIGTERM (their exit status is checked); an
# interrupted run stops them too. An HTTP phase that has not sent the whole file
# after BENCH_DURATION seconds stops there and its figures are marked partial
# (a rate over the alerts sent; the database is smaller than at the end of a
# full run, so a partial rate flatters). Exit 0 when every phase ran and
# Riposte stored every alert it acknowledged, whether or not the targets were
# met (timings never fail a build); 1 when a phase failed.
#
# Settings (environment): BENCH_N, BENCH_SEED (42), BENCH_BATCH (1000),
# BENCH_CONNS_BATCH (4), BENCH_CONNS_SINGLE (64), BENCH_DURATION (cap on each
# HTTP phase, seconds: 90), BENCH_FILE_TIMEOUT (limit on phase (a), seconds:
# 900; beyond it the run fails), BENCH_SQLITE ("alerts full", or "" to skip),
# BENCH_PIN (1), BENCH_KEEP (0).
set -euo pipefail

BUILD=${1:?usage: bash bench/run.sh BUILD_DIR}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
case "$BUILD" in /*) ;; *) BUILD=$(cd "$BUILD" && pwd) ;; esac
OUT=$ROOT/bench/out

N=${BENCH_N:-1000000}
SEED=${BENCH_SEED:-42}
BATCH=${BENCH_BATCH:-1000}
CONNS_BATCH=${BENCH_CONNS_BATCH:-4}
CONNS_SINGLE=${BENCH_CONNS_SINGLE:-64}
DURATION=${BENCH_DURATION:-90}
FILE_TIMEOUT=${BENCH_FILE_TIMEOUT:-900}
SQLITE_MODES=${BENCH_SQLITE-alerts full}
PIN=${BENCH_PIN:-1}
KEEP=${BENCH_KEEP:-0}

RIPOSTE=$BUILD/riposte
GEN=$BUILD/bench/bench_gen
LOADGEN=$BUILD/bench/bench_loadgen
JANSSON=$BUILD/bench/bench_jansson
SQLITE=$BUILD/bench/bench_sqlite
for b in "$RIPOSTE" "$GEN" "$LOADGEN" "$JANSSON" "$SQLITE"; do
  if [ ! -x "$b" ]; then
    echo "bench: $b is missing: build first (ninja -C $BUILD)" >&2
    exit 1
  fi
done

mkdir -p "$OUT"
ALERTS=$OUT/alerts.ndjson

# --- CPU placement ---------------------------------------------------------------
NCPU=$(nproc)
SERVER_CPU=()
CLIENT_CPU=()
if [ "$PIN" = 1 ] && [ "$NCPU" -ge 2 ] && command -v taskset >/dev/null; then
  SERVER_CPU=(taskset -c 0)
  CLIENT_CPU=(taskset -c 1)
  PLACEMENT="riposte and limits on CPU 0, load generator on CPU 1"
else
  PLACEMENT="not pinned ($NCPU CPUs)"
fi

# --- helpers -----------------------------------------------------------------------
DAEMON_PID=
cleanup() {
  if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
    kill -TERM "$DAEMON_PID" 2>/dev/null || true
    wait "$DAEMON_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log() { printf 'bench: %s\n' "$*" >&2; }
fail() { log "FAILED: $*"; exit 1; }

# jnum KEY JSON: the first numeric value of "KEY": in a flat JSON text.
jnum() {
  local v
  v=$(grep -o "\"$1\":-\?[0-9][0-9.eE+-]*" <<<"$2" | head -n 1 | cut -d: -f2)
  printf '%s' "${v:-0}"
}
# ratio A B: A/B with 2 decimals ("n/a" when B is 0).
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) print "n/a"; else printf "%.2f", a / b }'; }
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
kb_of() { awk '/^'"$2"':/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
rm_db() { [ "$KEEP" = 1 ] || rm -f "$1" "$1-wal" "$1-shm"; }

LOAD_START=$(cut -d' ' -f1 /proc/loadavg)

# --- the alerts --------------------------------------------------------------------
log "generating $N alerts (seed $SEED) into $ALERTS"
NOW_S=$(date +%s)
t0=$(now)
GEN_JSON=$("$GEN" "$N" "$SEED" "$NOW_S" 2>&1 >"$ALERTS") || fail "bench_gen"
GEN_S=$(elapsed "$t0" "$(now)")
BYTES=$(jnum bytes "$GEN_JSON")
log "  $(jnum records "$GEN_JSON") records, $(jnum duplicates "$GEN_JSON") repeats, $BYTES bytes, ${GEN_S}s"

# --- limits --------------------------------------------------------------------------
log "limit: jansson parsing the file"
JANSSON_JSON=$("${SERVER_CPU[@]}" "$JANSSON" "$ALERTS" --dump) || fail "bench_jansson"
echo "$JANSSON_JSON" >"$OUT/jansson.json"
JANSSON_RATE=$(jnum records_per_s "$JANSSON_JSON")
[ "$(jnum errors "$JANSSON_JSON")" = 0 ] || fail "jansson rejected records of the generated file"
log "  $JANSSON_RATE records/s"

SQLITE_ALERTS_JSON='null'
SQLITE_FULL_JSON='null'
SQLITE_ALERTS_RATE=0
SQLITE_FULL_RATE=0
for mode in $SQLITE_MODES; do
  log "limit: SQLite taking the rows ($mode)"
  j=$("${SERVER_CPU[@]}" "$SQLITE" "$ALERTS" "$OUT/sqlite-$mode.db" "$mode") || fail "bench_sqlite $mode"
  echo "$j" >"$OUT/sqlite-$mode.json"
  rm_db "$OUT/sqlite-$mode.db"
  log "  $(jnum records_per_s "$j") alerts/s, $(jnum rows_per_s "$j") rows/s"
  if [ "$mode" = alerts ]; then
    SQLITE_ALERTS_JSON=$j
    SQLITE_ALERTS_RATE=$(jnum records_per_s "$j")
  else
    SQLITE_FULL_JSON=$j
    SQLITE_FULL_RATE=$(jnum records_per_s "$j")
  fi
done

# --- (a) riposte ingest FILE -----------------------------------------------------------
log "(a) riposte ingest from the file"
DB=$OUT/ingest.db
rm -f "$DB" "$DB-wal" "$DB-shm"
t0=$(now)
if [ -x /usr/bin/time ]; then
  "${SERVER_CPU[@]}" /usr/bin/time -v -o "$OUT/ingest.time" \
    timeout "$FILE_TIMEOUT" "$RIPOSTE" ingest --db "$DB" "$ALERTS" >"$OUT/ingest.json" 2>"$OUT/ingest.log" ||
    fail "riposte ingest (see $OUT/ingest.log)"
  FILE_RSS_KB=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$OUT/ingest.time")
else
  # Without GNU time: sample VmHWM until the process ends (misses at most the
  # last 50 ms).
  "${SERVER_CPU[@]}" timeout "$FILE_TIMEOUT" "$RIPOSTE" ingest --db "$DB" "$ALERTS" \
    >"$OUT/ingest.json" 2>"$OUT/ingest.log" &
  ipid=$!
  FILE_RSS_KB=0
  while kill -0 "$ipid" 2>/dev/null; do
    h=$(kb_of "$ipid" VmHWM)
    [ -n "$h" ] && [ "$h" -gt "$FILE_RSS_KB" ] && FILE_RSS_KB=$h
    sleep 0.05
  done
  wait "$ipid" || fail "riposte ingest (see $OUT/ingest.log)"
fi
FILE_S=$(elapsed "$t0" "$(now)")
FILE_JSON=$(cat "$OUT/ingest.json")
FILE_ACCEPTED=$(jnum accepted "$FILE_JSON")
[ "$FILE_ACCEPTED" = "$N" ] || fail "riposte ingest accepted $FILE_ACCEPTED of $N: $FILE_JSON"
FILE_RATE=$(awk -v n="$N" -v s="$FILE_S" 'BEGIN { printf "%.0f", n / s }')
# bench_gen makes every fifth alert a repeat of an earlier one and keeps the
# others apart: the cases tell whether correlation did its job.
EXPECT_UPDATED=$((N / 5))
EXPECT_CREATED=$((N - N / 5))
if [ "$(jnum cases_created "$FILE_JSON")" = "$EXPECT_CREATED" ] &&
  [ "$(jnum cases_updated "$FILE_JSON")" = "$EXPECT_UPDATED" ]; then
  CORRELATION=ok
else
  CORRELATION=MISMATCH
  log "  correlation MISMATCH: expected $EXPECT_CREATED cases created and $EXPECT_UPDATED joined"
fi
FILE_DB_BYTES=$(($(stat -c %s "$DB" 2>/dev/null || echo 0) + $(stat -c %s "$DB-wal" 2>/dev/null || echo 0)))
rm_db "$DB"
log "  $FILE_RATE alerts/s in ${FILE_S}s, peak RSS ${FILE_RSS_KB} kB: $FILE_JSON"

# --- (b), (c): the daemon ----------------------------------------------------------------
# http_phase NAME PER_REQUEST CONNS: starts a daemon on a new database, measures
# its idle RSS, runs the load, reads its peak RSS and stops it. Sets PHASE_*.
http_phase() {
  local name=$1 per=$2 conns=$3
  local db=$OUT/$name.db port token st
  rm -f "$db" "$db-wal" "$db-shm"
  token=$("$RIPOSTE" token create --db "$db" --name bench --role ingest 2>"$OUT/$name.token.log") ||
    fail "riposte token create (see $OUT/$name.token.log)"
  port=$("$LOADGEN" --free-port)
  "${SERVER_CPU[@]}" "$RIPOSTE" serve --db "$db" --listen "127.0.0.1:$port" 2>"$OUT/$name.serve.log" &
  DAEMON_PID=$!
  "$LOADGEN" --port "$port" --wait /healthz --timeout 20 || fail "the daemon did not start (see $OUT/$name.serve.log)"
  sleep 1
  PHASE_IDLE_KB=$(kb_of "$DAEMON_PID" VmRSS)
  log "  daemon pid $DAEMON_PID on 127.0.0.1:$port, idle RSS $PHASE_IDLE_KB kB"
  st=0
  PHASE_JSON=$("${CLIENT_CPU[@]}" "$LOADGEN" --port "$port" --token "$token" --file "$ALERTS" \
    --conns "$conns" --per-request "$per" --duration "$DURATION") || st=$?
  echo "$PHASE_JSON" >"$OUT/$name.json"
  PHASE_PEAK_KB=$(kb_of "$DAEMON_PID" VmHWM)
  PHASE_AFTER_KB=$(kb_of "$DAEMON_PID" VmRSS)
  kill -TERM "$DAEMON_PID"
  local dst=0
  wait "$DAEMON_PID" || dst=$?
  DAEMON_PID=
  PHASE_DB_BYTES=$(($(stat -c %s "$db" 2>/dev/null || echo 0) + $(stat -c %s "$db-wal" 2>/dev/null || echo 0)))
  rm_db "$db"
  [ "$dst" = 0 ] || fail "$name: the daemon exited with status $dst on SIGTERM (see $OUT/$name.serve.log)"
  [ -n "$PHASE_JSON" ] || fail "$name: the load generator failed (status $st)"
  [ "$(jnum alerts "$PHASE_JSON")" != 0 ] || fail "$name: no alert was acknowledged: $PHASE_JSON"
  if [ "$st" != 0 ]; then
    log "  $name did not complete within ${DURATION}s or had errors (status $st): figures are partial"
  fi
  log "  $(jnum alerts_per_s "$PHASE_JSON") alerts/s, p50 $(jnum p50_ms "$PHASE_JSON") ms, p99 $(jnum p99_ms "$PHASE_JSON") ms, peak RSS $PHASE_PEAK_KB kB"
}

log "(b) HTTP, $BATCH alerts a request, $CONNS_BATCH connections"
http_phase http-batch "$BATCH" "$CONNS_BATCH"
BATCH_JSON=$PHASE_JSON BATCH_IDLE_KB=$PHASE_IDLE_KB BATCH_PEAK_KB=$PHASE_PEAK_KB
BATCH_AFTER_KB=$PHASE_AFTER_KB BATCH_DB_BYTES=$PHASE_DB_BYTES
log "(c) HTTP, one alert a request, $CONNS_SINGLE keep-alive connections"
http_phase http-single 1 "$CONNS_SINGLE"
SINGLE_JSON=$PHASE_JSON SINGLE_IDLE_KB=$PHASE_IDLE_KB SINGLE_PEAK_KB=$PHASE_PEAK_KB
SINGLE_AFTER_KB=$PHASE_AFTER_KB SINGLE_DB_BYTES=$PHASE_DB_BYTES

BATCH_RATE=$(jnum alerts_per_s "$BATCH_JSON")
SINGLE_RATE=$(jnum alerts_per_s "$SINGLE_JSON")
IDLE_KB=$(( BATCH_IDLE_KB > SINGLE_IDLE_KB ? BATCH_IDLE_KB : SINGLE_IDLE_KB ))

# --- report -------------------------------------------------------------------------------
verdict() { awk -v v="$1" -v t="$2" -v dir="$3" 'BEGIN {
  if (dir == "min") print (v + 0 >= t ? "met" : "missed"); else print (v + 0 <= t ? "met" : "missed") }'; }
mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
CPU_MODEL=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)
SQLITE_VER=$(sqlite3 --version 2>/dev/null | cut -d' ' -f1 || true)
JANSSON_VER=$(pkg-config --modversion jansson 2>/dev/null || true)
MHD_VER=$(pkg-config --modversion libmicrohttpd 2>/dev/null || true)
COMMIT=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -z "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ] || COMMIT="$COMMIT+changes"

{
  printf 'Riposte ingest benchmark: %s alerts (%s MB, %s%% repeats), %s\n' "$N" \
    "$(awk -v b="$BYTES" 'BEGIN { printf "%.0f", b / 1e6 }')" 20 "$(date -u +%Y-%m-%dT%H:%MZ)"
  printf 'commit %s; %s CPUs (%s); %s; load average %s at start\n\n' "$COMMIT" "$NCPU" \
    "$CPU_MODEL" "$PLACEMENT" "$LOAD_START"
  printf '%-34s %10s %8s %9s %9s %9s %9s %8s\n' phase alerts/s "x json" "x sqlite" "p50 ms" "p99 ms" "peak MB" target
  printf '%-34s %10s %8s %9s %9s %9s %9s %8s\n' "limit: jansson parse only" "$JANSSON_RATE" 1.00 - - - - -
  [ "$SQLITE_ALERTS_RATE" = 0 ] ||
    printf '%-34s %10s %8s %9s %9s %9s %9s %8s\n' "limit: SQLite alert rows only" "$SQLITE_ALERTS_RATE" \
      "$(ratio "$SQLITE_ALERTS_RATE" "$JANSSON_RATE")" - - - - -
  [ "$SQLITE_FULL_RATE" = 0 ] ||
    printf '%-34s %10s %8s %9s %9s %9s %9s %8s\n' "limit: SQLite all rows (physical)" "$SQLITE_FULL_RATE" \
      "$(ratio "$SQLITE_FULL_RATE" "$JANSSON_RATE")" 1.00 - - - -
  printf '%-34s %10s %8s %9s %9s %9s %9s %8s\n' "(a) riposte ingest FILE" "$FILE_RATE" \
    "$(ratio "$FILE_RATE" "$JANSSON_RATE")" "$(ratio "$FILE_RATE" "$SQLITE_FULL_RATE")" - - \
    "$(mb "$FILE_RSS_KB")" "$(verdict "$FILE_RATE" 200000 min)"
  printf '%-34s %10s %8s %9s %9s %9s %9s %8s\n' "(b) HTTP, $BATCH a request" "$BATCH_RATE" \
    "$(ratio "$BATCH_RATE" "$JANSSON_RATE")" "$(ratio "$BATCH_RATE" "$SQLITE_FULL_RATE")" \
    "$(jnum p50_ms "$BATCH_JSON")" "$(jnum p99_ms "$BATCH_JSON")" "$(mb "$BATCH_PEAK_KB")" \
    "$(verdict "$BATCH_RATE" 100000 min)"
  printf '%-34s %10s %8s %9s %9s %9s %9s %8s\n' "(c) HTTP, 1 a request, $CONNS_SINGLE conns" "$SINGLE_RATE" \
    "$(ratio "$SINGLE_RATE" "$JANSSON_RATE")" "$(ratio "$SINGLE_RATE" "$SQLITE_FULL_RATE")" \
    "$(jnum p50_ms "$SINGLE_JSON")" "$(jnum p99_ms "$SINGLE_JSON")" "$(mb "$SINGLE_PEAK_KB")" \
    "$(verdict "$SINGLE_RATE" 20000 min)"
  printf '\nidle daemon RSS %s MB (target <= 16: %s); peak RSS of any phase %s MB (target <= 256: %s)\n' \
    "$(mb "$IDLE_KB")" "$(verdict "$IDLE_KB" 16384 max)" \
    "$(mb "$(printf '%s\n' "$FILE_RSS_KB" "$BATCH_PEAK_KB" "$SINGLE_PEAK_KB" | sort -n | tail -n 1)")" \
    "$(verdict "$(printf '%s\n' "$FILE_RSS_KB" "$BATCH_PEAK_KB" "$SINGLE_PEAK_KB" | sort -n | tail -n 1)" 262144 max)"
  for pair in "(b):$BATCH_JSON" "(c):$SINGLE_JSON"; do
    j=${pair#*:}
    grep -q '"complete":true' <<<"$j" ||
      printf '%s is PARTIAL: %s of %s alerts acknowledged in %s s (BENCH_DURATION=%s)\n' \
        "${pair%%:*}" "$(jnum alerts "$j")" "$N" "$(jnum seconds "$j")" "$DURATION"
  done
  printf 'correlation (a): %s cases created, %s alerts joined one (expected %s and %s): %s\n' \
    "$(jnum cases_created "$FILE_JSON")" "$(jnum cases_updated "$FILE_JSON")" "$EXPECT_CREATED" \
    "$EXPECT_UPDATED" "$CORRELATION"
  printf 'x json: fraction of the jansson-only parse rate; x sqlite: of SQLite taking all the rows.\n'
  printf 'targets (one core): file >= 200000/s, batched >= 100000/s, single >= 20000/s.\n'
} | tee "$OUT/summary.txt"

cat >"$OUT/results.json" <<EOF
{
  "date": "$(date -u +%Y-%m-%dT%H:%M:%SZ)",
  "commit": "$COMMIT",
  "command": "bash bench/run.sh $1",
  "machine": {"cpus": $NCPU, "cpu": "$CPU_MODEL", "placement": "$PLACEMENT",
              "loadavg_at_start": $LOAD_START, "loadavg_at_end": $(cut -d' ' -f1 /proc/loadavg),
              "sqlite": "$SQLITE_VER", "jansson": "$JANSSON_VER", "libmicrohttpd": "$MHD_VER"},
  "settings": {"n": $N, "seed": $SEED, "now_s": $NOW_S, "batch": $BATCH,
               "conns_batch": $CONNS_BATCH, "conns_single": $CONNS_SINGLE, "duration_cap_s": $DURATION},
  "generate": $GEN_JSON,
  "limits": {
    "jansson": $JANSSON_JSON,
    "sqlite_alerts": $SQLITE_ALERTS_JSON,
    "sqlite_full": $SQLITE_FULL_JSON
  },
  "file": {"seconds": $FILE_S, "alerts_per_s": $FILE_RATE, "peak_rss_kb": $FILE_RSS_KB,
           "db_bytes": $FILE_DB_BYTES, "output": $FILE_JSON,
           "expected_cases_created": $EXPECT_CREATED, "expected_cases_updated": $EXPECT_UPDATED,
           "correlation": "$CORRELATION"},
  "http_batch": {"idle_rss_kb": $BATCH_IDLE_KB, "peak_rss_kb": $BATCH_PEAK_KB,
                 "rss_after_kb": $BATCH_AFTER_KB, "db_bytes": $BATCH_DB_BYTES, "load": $BATCH_JSON},
  "http_single": {"idle_rss_kb": $SINGLE_IDLE_KB, "peak_rss_kb": $SINGLE_PEAK_KB,
                  "rss_after_kb": $SINGLE_AFTER_KB, "db_bytes": $SINGLE_DB_BYTES, "load": $SINGLE_JSON},
  "ratios": {
    "file_vs_jansson": "$(ratio "$FILE_RATE" "$JANSSON_RATE")",
    "file_vs_sqlite_full": "$(ratio "$FILE_RATE" "$SQLITE_FULL_RATE")",
    "batch_vs_jansson": "$(ratio "$BATCH_RATE" "$JANSSON_RATE")",
    "batch_vs_sqlite_full": "$(ratio "$BATCH_RATE" "$SQLITE_FULL_RATE")",
    "single_vs_jansson": "$(ratio "$SINGLE_RATE" "$JANSSON_RATE")",
    "single_vs_sqlite_full": "$(ratio "$SINGLE_RATE" "$SQLITE_FULL_RATE")"
  },
  "targets": {
    "file_200k": "$(verdict "$FILE_RATE" 200000 min)",
    "batch_100k": "$(verdict "$BATCH_RATE" 100000 min)",
    "single_20k": "$(verdict "$SINGLE_RATE" 20000 min)",
    "idle_rss_16mb": "$(verdict "$IDLE_KB" 16384 max)",
    "peak_rss_256mb": "$(verdict "$(printf '%s\n' "$FILE_RSS_KB" "$BATCH_PEAK_KB" "$SINGLE_PEAK_KB" | sort -n | tail -n 1)" 262144 max)"
  }
}
EOF
log "wrote $OUT/results.json and $OUT/summary.txt"

# Every acknowledged alert must have been stored for the figures to mean anything.
for j in "$BATCH_JSON" "$SINGLE_JSON"; do
  [ "$(jnum accepted "$j")" = "$(jnum alerts "$j")" ] ||
    fail "an HTTP phase acknowledged $(jnum alerts "$j") alerts but Riposte accepted $(jnum accepted "$j"): $j"
done

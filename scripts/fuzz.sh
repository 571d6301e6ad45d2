#!/usr/bin/env bash
# fuzz.sh: builds each libFuzzer target of tests/fuzz/ with clang, ASan and UBSan,
# and runs each for FUZZ_SECONDS over a copy of its seed corpus.
#
#   scripts/fuzz.sh [TARGET...]        targets: every tests/fuzz/fuzz_*.c (default: all)
#
# Environment:
#   FUZZ_SECONDS   seconds per target (default 60)
#   FUZZ_BUILD     build directory (default build-fuzz)
#   FUZZ_JOBS      targets run side by side (default 1)
#   FUZZ_ARGS      extra libFuzzer flags (e.g. "-max_len=65536 -dict=...")
#
# The library is built by meson in $FUZZ_BUILD with the sanitizers and libFuzzer's
# coverage instrumentation (-fsanitize=fuzzer-no-link); each target is then linked
# with -fsanitize=fuzzer against $FUZZ_BUILD/libriposte.a. New inputs that reach
# new code go to $FUZZ_BUILD/corpus/TARGET (the seeds in tests/fuzz/corpus stay as
# they are); a crashing input is written to $FUZZ_BUILD/artifacts/TARGET-crash-*.
# Copy a crash into tests/fuzz/corpus/TARGET/crash-WHAT so that every build
# replays it; seeds named crash-* are left out of the fuzzing runs themselves.
# To go on past a crash and collect several: FUZZ_ARGS="-fork=1 -ignore_crashes=1".
# Exit status: 0 when no target crashed, 1 otherwise, 2 when the build failed.
set -uo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

seconds=${FUZZ_SECONDS:-60}
build=${FUZZ_BUILD:-build-fuzz}
jobs=${FUZZ_JOBS:-1}
extra=${FUZZ_ARGS:-}
all_targets=()
for f in tests/fuzz/fuzz_*.c; do
    t=${f#tests/fuzz/fuzz_}
    all_targets+=("${t%.c}")
done
if [ "$#" -gt 0 ]; then
    targets=("$@")
else
    targets=("${all_targets[@]}")
fi

for t in "${targets[@]}"; do
    if [ ! -f "tests/fuzz/fuzz_$t.c" ]; then
        echo "fuzz.sh: no target '$t' (have: ${all_targets[*]})" >&2
        exit 2
    fi
done

if ! command -v clang >/dev/null; then
    echo "fuzz.sh: clang is needed (scripts/deps.sh installs it)" >&2
    exit 2
fi

# The library, instrumented. werror is off: this build only looks for crashes,
# and clang's warnings differ from the reference compiler's.
if [ ! -f "$build/build.ninja" ]; then
    CC=clang meson setup "$build" -Db_sanitize=address,undefined -Db_lundef=false \
        -Dwerror=false -Dbuildtype=debugoptimized \
        -Dc_args='-fsanitize=fuzzer-no-link -fno-omit-frame-pointer -fno-sanitize-recover=undefined' \
        >"$build.setup.log" 2>&1 || {
        cat "$build.setup.log" >&2
        echo "fuzz.sh: meson setup failed" >&2
        exit 2
    }
    rm -f "$build.setup.log"
fi
ninja -C "$build" libriposte.a >/dev/null || {
    echo "fuzz.sh: building the library failed" >&2
    exit 2
}

pkgs="jansson sqlite3 libmicrohttpd libcrypto libuv yaml-0.1 libpsl gmime-3.0 libxml-2.0 lua5.4
      libcurl libsodium ldap libloc libmaxminddb"
libs="$(pkg-config --libs $pkgs) -lm"
cflags=$(pkg-config --cflags $pkgs)
mkdir -p "$build/fuzz" "$build/artifacts"
for t in "${targets[@]}"; do
    # shellcheck disable=SC2086
    clang -std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer \
        -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
        -Isrc -I"$build" $cflags "tests/fuzz/fuzz_$t.c" "$build/libriposte.a" $libs -lpthread \
        -o "$build/fuzz/fuzz_$t" || {
        echo "fuzz.sh: linking fuzz_$t failed" >&2
        exit 2
    }
done

# Runs one target; prints one line; returns non-zero on a crash.
run_one() {
    local t=$1
    local work="$build/corpus/$t"
    local log="$build/fuzz/fuzz_$t.log"
    mkdir -p "$work"
    # Known crashes (crash-*) stay out of the run: every build replays them
    # already, and a run that stops on its first seed finds nothing new.
    local f
    for f in tests/fuzz/corpus/"$t"/*; do
        case "$(basename "$f")" in
        crash-*) rm -f "$work/$(basename "$f")" ;;
        *) cp -n "$f" "$work"/ ;;
        esac
    done
    # shellcheck disable=SC2086
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
    UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
        "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$build/artifacts/$t-" $extra "$work" \
        >"$log" 2>&1
    local rc=$?
    local execs
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$')
    if [ "$rc" -eq 0 ]; then
        echo "fuzz_$t: ok, ${execs:-?} runs in ${seconds}s, corpus $(ls "$work" | wc -l) files"
        return 0
    fi
    echo "fuzz_$t: CRASH (exit $rc), log $log"
    grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error|artifact_prefix|Test unit written)' "$log" |
        head -n 8 | sed 's/^/    /'
    return 1
}

failed=0
if [ "$jobs" -le 1 ]; then
    for t in "${targets[@]}"; do
        run_one "$t" || failed=1
    done
else
    # A simple pool: when full, wait for the oldest running target.
    pids=()
    for t in "${targets[@]}"; do
        if [ "${#pids[@]}" -ge "$jobs" ]; then
            wait "${pids[0]}" || failed=1
            pids=("${pids[@]:1}")
        fi
        run_one "$t" &
        pids+=($!)
    done
    for p in "${pids[@]}"; do
        wait "$p" || failed=1
    done
fi
exit "$failed"

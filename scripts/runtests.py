#!/usr/bin/env python3
"""Runs every test of one or more meson build directories and counts the results.

Each test speaks TAP (cmocka with CMOCKA_MESSAGE_OUTPUT=TAP, the fuzz corpus
driver, the end-to-end scripts). Every `ok`/`not ok` line is one test case; a
test program that crashes, times out or exits non-zero without a `not ok` line
counts as one more failure, so nothing can fail silently. The last line printed
is `N passed, N failed`, the closing line CI reads.

    scripts/runtests.py BUILD_DIR...            run everything
    scripts/runtests.py --valgrind BUILD_DIR    unit and fuzz-corpus tests under valgrind
    scripts/runtests.py --suite unit BUILD_DIR  one suite
    scripts/runtests.py --fuzz SECONDS BUILD... also run every fuzz target with
                                                libFuzzer for SECONDS (scripts/fuzz.sh)
"""
import json
import os
import re
import subprocess
import sys
import time

TAP_LINE = re.compile(r"^(not ok|ok)\b\s*(\d+)?\s*-?\s*(.*)$")


def introspect(build):
    out = subprocess.run(["meson", "introspect", build, "--tests"], check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


# Tests that cannot run under valgrind, and why (they run in every other build).
VALGRIND_SKIP = {
    "exec": "the exec connector sets an address-space limit in its children, which "
            "valgrind refuses (its children fail closed, as they must)",
}


def run_one(build, t, valgrind, log):
    env = dict(os.environ)
    env.update(t.get("env") or {})
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=1")
    env.setdefault("UBSAN_OPTIONS", "halt_on_error=1:print_stacktrace=1")
    cmd = list(t["cmd"])
    if valgrind:
        # one suppression file: iconv's first load of some charset modules
        # (through GMime) over-reads inside the dynamic loader, once
        cmd = ["valgrind", "-q", "--leak-check=full", "--show-leak-kinds=definite,indirect",
               "--errors-for-leak-kinds=definite,indirect", "--error-exitcode=99",
               "--suppressions=" + os.path.abspath("tests/unit/test_mail.supp")] + cmd
    timeout = (t.get("timeout") or 30) * (10 if valgrind else 3)
    start = time.monotonic()
    try:
        p = subprocess.run(cmd, cwd=t.get("workdir") or build, env=env, capture_output=True,
                           text=True, errors="replace", timeout=timeout)
        out, err, rc, timed_out = p.stdout, p.stderr, p.returncode, False
    except subprocess.TimeoutExpired as e:
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        err = e.stderr.decode(errors="replace") if isinstance(e.stderr, bytes) else (e.stderr or "")
        rc, timed_out = -1, True
    secs = time.monotonic() - start
    passed = failed = skipped = 0
    failures = []
    for line in out.splitlines():
        m = TAP_LINE.match(line.strip())
        if not m:
            continue
        if m.group(1) == "ok":
            if "# SKIP" in line:
                skipped += 1
            else:
                passed += 1
        else:
            failed += 1
            failures.append(m.group(3))
    extra = None
    if timed_out:
        extra = "timed out after %ds" % timeout
    elif rc != 0 and failed == 0:
        extra = "exited %d with no failing test case" % rc
    elif passed + failed + skipped == 0:
        extra = "ran no test case"
    if extra:
        failed += 1
        failures.append(extra)
    log.write("==== %s (%s) rc=%s %.1fs\n%s\n---- stderr\n%s\n" % (t["name"], build, rc, secs, out, err))
    return passed, failed, skipped, failures, err, secs


def fuzz_seed():
    """The seed of make check's fuzzing: $FUZZ_SEED, else one taken from the
    commit, so that a run on the same tree explores the same inputs (a crash
    in CI is found again by make check on that commit) while each commit
    explores new ones."""
    if os.environ.get("FUZZ_SEED", "").isdigit():
        return int(os.environ["FUZZ_SEED"])
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10).stdout.strip()
        return int(head[:7], 16) + 1 if head else 1
    except (OSError, ValueError, subprocess.SubprocessError):
        return 1


def run_fuzz(seconds, log):
    """Each libFuzzer target for a few seconds: one test case per target."""
    seed = fuzz_seed()
    env = dict(os.environ, FUZZ_SECONDS=str(seconds),
               FUZZ_ARGS=("-seed=%d %s" % (seed, os.environ.get("FUZZ_ARGS", ""))).strip())
    print("     fuzzing with seed %d (FUZZ_SEED=%d make check repeats it)" % (seed, seed))
    start = time.monotonic()
    p = subprocess.run(["bash", "scripts/fuzz.sh"], env=env, capture_output=True, text=True,
                       errors="replace", timeout=3600)
    log.write("==== fuzz.sh rc=%s\n%s\n---- stderr\n%s\n" % (p.returncode, p.stdout, p.stderr))
    passed = failed = 0
    for line in p.stdout.splitlines():
        m = re.match(r"^(fuzz_\w+): (ok|CRASH)", line)
        if not m:
            continue
        ok = m.group(2) == "ok"
        passed += ok
        failed += not ok
        print("%s fuzz      %-18s %s" % ("ok  " if ok else "FAIL", m.group(1), line.split(": ", 1)[1]))
    if p.returncode != 0 and failed == 0:
        failed += 1
        print("FAIL fuzz      fuzz.sh exited %d: %s" % (p.returncode, p.stderr.strip()[-300:]))
    print("     fuzzing took %.0fs" % (time.monotonic() - start))
    return passed, failed


def main(argv):
    valgrind = False
    suite = None
    fuzz_seconds = 0
    builds = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--valgrind":
            valgrind = True
        elif a == "--suite":
            i += 1
            suite = argv[i]
        elif a == "--fuzz":
            i += 1
            fuzz_seconds = int(argv[i])
        else:
            builds.append(a)
        i += 1
    if not builds:
        print(__doc__)
        return 2
    total_pass = total_fail = total_skip = 0
    os.makedirs("tests/artifacts", exist_ok=True)
    with open("tests/artifacts/test.log", "w") as log:
        for build in builds:
            for t in introspect(build):
                suites = t.get("suite", [])
                if valgrind and not any(x.endswith(("unit", "fuzz")) for x in suites):
                    continue  # the e2e suites run the daemon; valgrind would time them out
                if suite and not any(s.endswith(suite) for s in t.get("suite", [])):
                    continue
                if valgrind and t["name"] in VALGRIND_SKIP:
                    total_skip += 1
                    print("skip %-9s %-18s under valgrind: %s" % (build, t["name"],
                                                                  VALGRIND_SKIP[t["name"]]))
                    continue
                p, f, sk, failures, err, secs = run_one(build, t, valgrind, log)
                total_pass += p
                total_fail += f
                total_skip += sk
                status = "ok  " if f == 0 else "FAIL"
                print("%s %-9s %-18s %4d passed %3d failed %3d skipped  %6.1fs"
                      % (status, build, t["name"], p, f, sk, secs))
                for name in failures:
                    print("     not ok: %s" % name)
                if f:
                    tail = "\n".join(err.strip().splitlines()[-15:])
                    if tail:
                        print("     stderr (last lines):\n       " + tail.replace("\n", "\n       "))
                sys.stdout.flush()
        if fuzz_seconds > 0:
            p, f = run_fuzz(fuzz_seconds, log)
            total_pass += p
            total_fail += f
    print("full output: tests/artifacts/test.log")
    print("%d passed, %d failed, %d skipped" % (total_pass, total_fail, total_skip))
    return 0 if total_fail == 0 else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

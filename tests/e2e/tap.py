"""tap.py: a tiny TAP producer for Riposte's end-to-end tests, plus the helpers
they share to run the real binary.

    import tap

    @tap.test
    def ingest_single_object(t):      # t is a fresh tap.Sandbox (temp dir, db)
        r = t.riposte("ingest", "a.json")
        tap.eq(r.code, 0, "exit code")

    tap.main()                        # prints 1..N, runs every test, exits 1 on a failure

Each test runs with a deadline (an alarm; TEST_TIMEOUT_S seconds by default) so
that a hung binary fails one test instead of the whole suite. A test fails on any
exception; tap.fail/eq/check give messages that say what was expected and what came
back, printed as `# ` diagnostics. tap.skip(reason) inside a test reports it as
`ok N - name # SKIP reason`. Names on the command line run only those tests.

Standard library only: the tests must run wherever python3 is.
"""

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import traceback

TEST_TIMEOUT_S = 120

_tests = []


class Failure(Exception):
    """An expectation that did not hold: reported without a traceback."""


class Skip(Exception):
    """The test cannot run here (reported as ok ... # SKIP)."""


class Timeout(Exception):
    """The test ran past its deadline."""


def test(fn=None, *, timeout=TEST_TIMEOUT_S):
    """Registers fn(sandbox) as a test, in file order. Usable as @test or
    @test(timeout=S)."""

    def register(f):
        _tests.append((f.__name__, f, timeout))
        return f

    return register(fn) if fn is not None else register


def skip(reason):
    raise Skip(reason)


def fail(msg):
    raise Failure(msg)


def check(cond, msg):
    if not cond:
        raise Failure(msg)


def eq(got, want, what):
    if got != want:
        raise Failure(f"{what}: expected {want!r}, got {got!r}")


def contains(haystack, needle, what):
    if needle not in haystack:
        raise Failure(f"{what}: expected to contain {needle!r}, got {shorten(haystack)!r}")


def shorten(v, n=600):
    s = v if isinstance(v, str) else repr(v)
    return s if len(s) <= n else s[:n] + f"... ({len(s)} chars)"


def _diag(text):
    for line in str(text).rstrip("\n").splitlines():
        print("# " + line)


def _alarm(signum, frame):
    raise Timeout("test ran past its deadline")


def main():
    """Runs the registered tests (or those named in argv) and exits."""
    selected = [t for t in _tests if len(sys.argv) < 2 or t[0] in sys.argv[1:]]
    print(f"1..{len(selected)}", flush=True)
    failed = 0
    signal.signal(signal.SIGALRM, _alarm)
    for n, (name, fn, timeout) in enumerate(selected, 1):
        sandbox = Sandbox(name)
        start = time.monotonic()
        status, detail = "ok", None
        signal.alarm(timeout)
        try:
            fn(sandbox)
        except Skip as e:
            status, detail = "skip", str(e)
        except Failure as e:
            status, detail = "fail", str(e)
        except Timeout:
            status, detail = "fail", f"timed out after {timeout}s\n" + traceback.format_exc(limit=4)
        except Exception:  # a crash of the test itself is a failure too
            status, detail = "fail", traceback.format_exc()
        finally:
            signal.alarm(0)
            tails = sandbox.daemon_tails() if status == "fail" else []
            try:
                sandbox.close()
            except Exception:
                status, detail = "fail", (detail or "") + "\ncleanup: " + traceback.format_exc()
        took = time.monotonic() - start
        if status == "ok":
            print(f"ok {n} - {name}")
        elif status == "skip":
            print(f"ok {n} - {name} # SKIP {detail}")
        else:
            failed += 1
            print(f"not ok {n} - {name}")
            _diag(detail)
            for line in sandbox.log[-12:]:
                _diag("  " + line)
            for line in tails:
                _diag("  " + line)
        if took > 10:
            _diag(f"{name} took {took:.1f}s")
        sys.stdout.flush()
    if failed:
        _diag(f"{failed} of {len(selected)} failed")
    sys.exit(1 if failed else 0)


# --- running the binary --------------------------------------------------------


def binary():
    b = os.environ.get("RIPOSTE_BIN")
    if not b:
        here = os.path.dirname(os.path.abspath(__file__))
        for cand in ("build/riposte", "build-e2e/riposte"):
            p = os.path.join(here, "..", "..", cand)
            if os.path.exists(p):
                return os.path.abspath(p)
        print("Bail out! RIPOSTE_BIN is not set and no build/riposte found")
        sys.exit(1)
    return os.path.abspath(b)


class Result:
    """What one run of the binary did."""

    def __init__(self, args, code, out, err):
        self.args, self.code, self.out, self.err = args, code, out, err

    @property
    def stdout(self):
        return self.out.decode("utf-8", "replace")

    @property
    def stderr(self):
        return self.err.decode("utf-8", "replace")

    def json(self):
        """stdout as JSON; a Failure when it is not."""
        try:
            return json.loads(self.out)
        except ValueError as e:
            raise Failure(f"riposte {' '.join(self.args)}: stdout is not JSON ({e}): "
                          f"{shorten(self.stdout)!r}")

    def summary(self):
        """The one JSON summary line of `ingest`."""
        lines = [l for l in self.stdout.splitlines() if l.strip()]
        if len(lines) != 1:
            raise Failure(f"ingest: expected one summary line on stdout, got {lines!r} "
                          f"(exit {self.code}, stderr {shorten(self.stderr)!r})")
        try:
            s = json.loads(lines[0])
        except ValueError as e:
            raise Failure(f"ingest: summary is not JSON ({e}): {lines[0]!r}")
        check(isinstance(s, dict), f"ingest: summary is not an object: {lines[0]!r}")
        return s

    def __repr__(self):
        return (f"riposte {' '.join(self.args)} -> exit {self.code}; stdout "
                f"{shorten(self.stdout, 300)!r}; stderr {shorten(self.stderr, 300)!r}")


class Sandbox:
    """One test's world: a temp directory (the working directory of every run, so
    a default riposte.db lands in it), a database path, a clean environment, and
    the daemons it started (killed on close, whatever happened)."""

    def __init__(self, name):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix=f"riposte-e2e-{name}-")
        self.db = os.path.join(self.dir, "riposte.db")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("RIPOSTE_")}
        self.env["RIPOSTE_DB"] = self.db
        self.procs = []
        self.log = []

    def path(self, name):
        return os.path.join(self.dir, name)

    def write(self, name, data):
        """Writes data (str, bytes, a dict or list as JSON) to a file; its path."""
        p = self.path(name)
        if isinstance(data, (dict, list)):
            data = json.dumps(data)
        if isinstance(data, str):
            data = data.encode()
        with open(p, "wb") as f:
            f.write(data)
        return p

    def riposte(self, *args, input=None, env=None, timeout=60):
        """Runs the binary to completion; a Failure if it outlives timeout."""
        e = dict(self.env)
        if env:
            for k, v in env.items():
                if v is None:
                    e.pop(k, None)
                else:
                    e[k] = v
        if isinstance(input, str):
            input = input.encode()
        args = [str(a) for a in args]
        try:
            p = subprocess.run([binary()] + args, input=input, capture_output=True,
                               cwd=self.dir, env=e, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise Failure(f"riposte {' '.join(args)}: still running after {timeout}s")
        r = Result(args, p.returncode, p.stdout, p.stderr)
        self.log.append(shorten(repr(r), 400))
        if p.returncode < 0:
            raise Failure(f"riposte {' '.join(args)}: killed by signal {-p.returncode} "
                          f"(a crash?); stderr {shorten(r.stderr)!r}")
        return r

    def spawn(self, *args, env=None, stdout=None, stderr=None):
        """Starts the binary in the background; close() kills it."""
        e = dict(self.env)
        if env:
            for k, v in env.items():
                if v is None:
                    e.pop(k, None)
                else:
                    e[k] = v
        args = [str(a) for a in args]
        out = open(self.path(f"proc{len(self.procs)}.out"), "wb") if stdout is None else stdout
        err = open(self.path(f"proc{len(self.procs)}.err"), "wb") if stderr is None else stderr
        p = subprocess.Popen([binary()] + args, cwd=self.dir, env=e, stdout=out, stderr=err,
                             stdin=subprocess.DEVNULL)
        p.err_path = err.name if hasattr(err, "name") else None
        p.out_path = out.name if hasattr(out, "name") else None
        self.procs.append((p, out, err))
        self.log.append(f"spawned riposte {' '.join(args)} (pid {p.pid})")
        return p

    def proc_stderr(self, p):
        if getattr(p, "err_path", None) and os.path.exists(p.err_path):
            with open(p.err_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        return ""

    def daemon_tails(self, n=8):
        """The last n stderr lines of each process started with spawn(), for
        the diagnostics of a failed test."""
        out = []
        for p, _, _ in self.procs:
            lines = self.proc_stderr(p).splitlines()[-n:]
            if lines:
                out.append(f"stderr of pid {p.pid} (exit {p.poll()}):")
                out += ["  " + l for l in lines]
        return out

    def sql(self, query, params=()):
        """Rows of a query on the test's database (read-only, fresh connection)."""
        con = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=10)
        try:
            return con.execute(query, params).fetchall()
        finally:
            con.close()

    def close(self):
        for p, out, err in self.procs:
            if p.poll() is None:
                p.kill()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            for f in (out, err):
                if hasattr(f, "close"):
                    f.close()
        if os.environ.get("RIPOSTE_E2E_KEEP"):
            _diag(f"kept {self.dir}")
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


def free_port():
    """A loopback TCP port that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(cond, timeout, what, interval=0.05):
    """Polls cond() until it returns a true value (which is returned); a Failure
    naming what after timeout seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            v = cond()
            if v:
                return v
        except Exception as e:  # not ready yet
            last = e
        time.sleep(interval)
    raise Failure(f"timed out after {timeout}s waiting for {what}" +
                  (f" (last error: {last!r})" if last else ""))

#!/usr/bin/env python3
"""test_daemon.py: end-to-end tests of `riposte serve` against the contract of the
first issue: authentication and roles, POST /api/v1/alerts in its three shapes,
per-record errors, hostile bodies (huge, deep, NUL, bad UTF-8), the case
endpoints, durability across kill -9 and SIGTERM, refusing to listen beyond
loopback without tokens, and keep-alive.

Each test starts its own daemon on a free loopback port with its own database,
and kills it in the end whatever happened (tap.Sandbox.close).

    RIPOSTE_BIN=build/riposte python3 tests/e2e/test_daemon.py [TEST...]
"""

import http.client
import json
import os
import re
import select
import signal
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tap  # noqa: E402
from tap import check, contains, eq, fail, test  # noqa: E402

ULID_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$", re.I)
START_TIMEOUT_S = 20
BODY_MAX = 32 * 1024 * 1024


def alert(rule="suspicious-powershell", hostname="ws-01", username="alice", **kw):
    a = {
        "kind": "endpoint",
        "rule": rule,
        "title": f"{rule} on {hostname}",
        "severity": 50,
        "host": {"name": hostname, "ip": "10.0.0.5"},
        "user": {"name": username},
    }
    a.update(kw)
    return a


def ndjson(*records):
    return "".join(json.dumps(r) + "\n" for r in records)


# --- the daemon ------------------------------------------------------------------------


class Daemon:
    """A running `riposte serve` and an HTTP client for it."""

    def __init__(self, t, proc, port, token):
        self.t, self.proc, self.port, self.token = t, proc, port, token

    def request(self, method, path, body=None, token="default", headers=None, timeout=30):
        """One request on a fresh connection: (status, headers dict, body bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            return self._do(conn, method, path, body, token, headers)
        finally:
            conn.close()

    def _do(self, conn, method, path, body, token, headers):
        h = dict(headers or {})
        tok = self.token if token == "default" else token
        if tok is not None:
            h["Authorization"] = f"Bearer {tok}"
        if isinstance(body, (dict, list)):
            body = json.dumps(body)
        if isinstance(body, str):
            body = body.encode()
        if body is not None:
            h.setdefault("Content-Type", "application/json")
        conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        data = r.read()
        text = tap.shorten(data.decode("utf-8", "replace"), 300)
        self.t.log.append(f"{method} {path} -> {r.status} {text}")
        return r.status, {k.lower(): v for k, v in r.getheaders()}, data

    def post(self, body, token="default", headers=None):
        return self.request("POST", "/api/v1/alerts", body, token, headers)

    def post_ok(self, body, n=None):
        """POSTs body, expects 202; the acknowledged ids."""
        st, _, data = self.post(body)
        eq(st, 202, f"POST status ({tap.shorten(data.decode('utf-8', 'replace'))})")
        v = parse(data, "202 body")
        check(isinstance(v.get("ids"), list), f"202 body has ids: {v}")
        if n is not None:
            eq(v.get("accepted"), n, f"accepted ({v})")
            eq(len(v["ids"]), n, f"ids ({v})")
        for i in v["ids"]:
            check(isinstance(i, str) and ULID_RE.match(i), f"id is a ULID: {i!r}")
        return v["ids"]

    def cases(self, query=""):
        st, _, data = self.request("GET", "/api/v1/cases" + query)
        eq(st, 200, f"GET /api/v1/cases{query} ({data[:300]!r})")
        v = parse(data, "cases")
        if isinstance(v, dict) and isinstance(v.get("cases"), list):
            v = v["cases"]
        check(isinstance(v, list), f"GET /api/v1/cases: an array of cases, got {tap.shorten(v)}")
        return v

    def case(self, cid):
        st, _, data = self.request("GET", f"/api/v1/cases/{cid}")
        eq(st, 200, f"GET /api/v1/cases/{cid} ({data[:300]!r})")
        return parse(data, "case")

    def healthy(self):
        st, _, _ = self.request("GET", "/healthz", token=None, timeout=10)
        eq(st, 200, "GET /healthz")

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=20):
        """Sends sig and waits for the exit; the exit code."""
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout=timeout)
        except Exception:
            fail(f"the daemon did not exit within {timeout}s of signal {sig}")


def parse(data, what):
    try:
        return json.loads(data)
    except ValueError as e:
        fail(f"{what}: not JSON ({e}): {data[:300]!r}")


def token_create(t, name="test", role=None, db=None):
    args = ["token", "create", "--name", name, "--db", db or t.db]
    if role:
        args += ["--role", role]
    r = t.riposte(*args)
    eq(r.code, 0, f"token create ({r!r})")
    lines = [l for l in r.stdout.splitlines() if l.strip()]
    eq(len(lines), 1, f"token create prints one line ({r.stdout!r})")
    tok = lines[0].strip()
    check(len(tok) >= 20 and " " not in tok, f"a token: {tok!r}")
    return tok


def start(t, token=True, role=None, listen=None, extra=(), port=None):
    """Creates an admin token (unless token is False), starts the daemon on a free
    loopback port and waits for /healthz."""
    tok = token_create(t, "admin", role) if token else None
    port = port or tap.free_port()
    listen = listen or f"127.0.0.1:{port}"
    p = t.spawn("serve", "--listen", listen, "--db", t.db, *extra)
    d = Daemon(t, p, port, tok)

    def up():
        if p.poll() is not None:
            fail(f"the daemon exited with {p.returncode} at start-up: "
                 f"{tap.shorten(t.proc_stderr(p))!r}")
        try:
            st, _, _ = d.request("GET", "/healthz", token=None, timeout=2)
            return st == 200
        except OSError:
            return False

    tap.wait_until(up, START_TIMEOUT_S, "the daemon to answer /healthz")
    return d


def restart(t, d):
    """Starts a new daemon on the same database (and port when free)."""
    p = t.spawn("serve", "--listen", f"127.0.0.1:{d.port}", "--db", t.db)
    nd = Daemon(t, p, d.port, d.token)

    def up():
        if p.poll() is not None:
            fail(f"the restarted daemon exited with {p.returncode}: {t.proc_stderr(p)!r}")
        try:
            return nd.request("GET", "/healthz", token=None, timeout=2)[0] == 200
        except OSError:
            return False

    tap.wait_until(up, START_TIMEOUT_S, "the restarted daemon")
    return nd


def stored_alert_ids(t):
    """Every alert id in the database, read through the CLI."""
    r = t.riposte("case", "list", "--json", "--db", t.db)
    eq(r.code, 0, f"case list ({r!r})")
    cs = r.json()
    cs = cs["cases"] if isinstance(cs, dict) else cs
    ids = set()
    for c in cs:
        r = t.riposte("case", "show", c["id"], "--json", "--db", t.db)
        eq(r.code, 0, f"case show ({r!r})")
        ids |= {a["id"] for a in r.json()["alerts"]}
    return ids


# --- health and authentication -----------------------------------------------------------


@test
def healthz_without_token(t):
    d = start(t)
    st, _, body = d.request("GET", "/healthz", token=None)
    eq(st, 200, "status")
    st, _, _ = d.request("GET", "/healthz", token="wrong")
    eq(st, 200, "a wrong token does not matter on /healthz")


@test
def auth_required(t):
    d = start(t)
    for tok, what in ((None, "no token"), ("wrong-token", "a wrong token"),
                      (d.token[:-1] + ("A" if d.token[-1] != "A" else "B"), "an altered token")):
        st, _, _ = d.request("GET", "/api/v1/cases", token=tok)
        eq(st, 401, f"GET cases with {what}")
        st, _, _ = d.request("POST", "/api/v1/alerts", alert(), token=tok)
        eq(st, 401, f"POST alerts with {what}")
        st, _, _ = d.request("GET", "/api/v1/cases/01ZZZZZZZZZZZZZZZZZZZZZZZZ", token=tok)
        eq(st, 401, f"GET a case with {what}")
    st, _, _ = d.request("GET", "/api/v1/cases", token=None,
                         headers={"Authorization": "Basic " + "YWRtaW46YWRtaW4="})
    eq(st, 401, "Basic auth is not a bearer token")
    eq(d.cases(), [], "nothing was stored by the refused requests")


@test
def roles(t):
    ingest_tok = token_create(t, "sensor", "ingest")
    viewer_tok = token_create(t, "viewer", "viewer")
    d = start(t)
    st, _, _ = d.request("GET", "/api/v1/cases", token=ingest_tok)
    eq(st, 403, "role ingest: GET cases")
    st, _, data = d.request("POST", "/api/v1/alerts", alert(), token=ingest_tok)
    eq(st, 202, f"role ingest: POST alerts ({data[:200]!r})")
    cid = d.cases()[0]["id"]
    st, _, _ = d.request("GET", f"/api/v1/cases/{cid}", token=ingest_tok)
    eq(st, 403, "role ingest: GET a case")
    st, _, _ = d.request("GET", "/api/v1/cases", token=viewer_tok)
    eq(st, 200, "role viewer: GET cases")
    st, _, _ = d.request("POST", "/api/v1/alerts", alert(), token=viewer_tok)
    eq(st, 403, "role viewer: POST alerts")
    eq(d.cases()[0]["alert_count"], 1, "the viewer's POST stored nothing")


# --- ingest --------------------------------------------------------------------------------


@test
def post_single_object(t):
    d = start(t)
    ids = d.post_ok(alert(), n=1)
    cs = d.cases()
    eq(len(cs), 1, "cases")
    eq(cs[0]["alert_count"], 1, "alert_count")
    eq(cs[0]["status"], "new", "status")
    c = d.case(cs[0]["id"])
    for k in ("case", "alerts", "alerts_total", "timeline", "timeline_total"):
        check(k in c, f"GET case has {k!r}: {list(c)}")
    eq([a["id"] for a in c["alerts"]], ids, "the case's alert is the acknowledged one")
    eq(stored_alert_ids(t), set(ids), "stored (seen through the CLI)")
    # the same alert again joins the case
    d.post_ok(alert(), n=1)
    eq(d.cases()[0]["alert_count"], 2, "alert_count after a duplicate")


@test
def post_array_and_ndjson(t):
    d = start(t)
    ids = d.post_ok([alert(rule="a"), alert(rule="b"), alert(rule="a")], n=3)
    ids += d.post_ok(ndjson(alert(rule="c"), alert(rule="a"), alert(rule="d")), n=3)
    eq(len(set(ids)), 6, "distinct ids")
    counts = {c["title"].split(" ")[0]: c["alert_count"] for c in d.cases()}
    eq(counts, {"a": 3, "b": 1, "c": 1, "d": 1}, "cases and their alert counts")
    eq(stored_alert_ids(t), set(ids), "stored")
    st, _, data = d.post(ndjson(alert(rule="e")), headers={"Content-Type": "application/x-ndjson"})
    eq(st, 202, f"NDJSON with its own content type ({data[:200]!r})")


@test
def post_case_filter_and_show(t):
    d = start(t)
    d.post_ok([alert(rule="a"), alert(rule="b")], n=2)
    cs = d.cases()
    eq(len(cs), 2, "cases")
    r = t.riposte("case", "update", cs[0]["id"], "--status", "triage")
    eq(r.code, 0, f"case update through the CLI while the daemon runs ({r!r})")
    eq([c["id"] for c in d.cases("?status=triage")], [cs[0]["id"]], "?status=triage")
    eq([c["id"] for c in d.cases("?status=new")], [cs[1]["id"]], "?status=new")
    st, _, _ = d.request("GET", "/api/v1/cases?status=bogus")
    eq(st, 400, "an unknown status")
    # ids made in one millisecond share a long prefix: the shortest unique one
    a, b = cs[0]["id"], cs[1]["id"]
    common = next((i for i in range(26) if a[i] != b[i]), 26)
    if common >= 6:
        st, _, data = d.request("GET", f"/api/v1/cases/{a[:common]}")
        check(400 <= st < 500 and st != 404 or st == 409,
              f"an ambiguous prefix: a 4xx saying so, got {st} {data[:200]!r}")
    n = max(6, common + 1)
    eq(d.case(a[:n])["case"]["id"], a, f"a case by a {n}-character prefix")


@test
def cli_ingest_while_daemon_runs(t):
    d = start(t)
    d.post_ok(alert(), n=1)
    f = t.write("a.ndjson", ndjson(alert(), alert(rule="other")))
    r = t.riposte("ingest", "--db", t.db, f)
    eq(r.code, 0, f"CLI ingest while the daemon runs ({r!r})")
    counts = sorted(c["alert_count"] for c in d.cases())
    eq(counts, [1, 2], "the daemon sees what the CLI stored")


@test
def post_partial_errors(t):
    d = start(t)
    body = json.dumps([alert(rule="good-1"), alert(rule="bad", severity="abc"),
                       alert(rule="good-3"), dict(alert(rule="bad"), bogus=1)])
    st, _, data = d.post(body)
    eq(st, 400, f"status ({data[:300]!r})")
    v = parse(data, "400 body")
    errs = v.get("errors")
    check(isinstance(errs, list) and len(errs) == 2, f"two errors: {v}")
    eq([e.get("record") for e in errs], [2, 4], "records of the errors")
    contains(errs[0].get("error", ""), "severity", "the first error names the field")
    contains(errs[1].get("error", ""), "bogus", "the second error names the field")
    check(isinstance(v.get("ids"), list) and len(v["ids"]) == 2, f"the good ones' ids: {v}")
    eq(stored_alert_ids(t), set(v["ids"]), "the good records are stored")
    eq(t.sql("SELECT count(*) FROM deadletters")[0][0], 2, "dead letters")
    # NDJSON: errors carry the line
    body = (ndjson(alert(rule="x"), alert(rule="x2")) + '{"rule": \n' +
            ndjson(alert(rule="y", host=7), alert(rule="z")))
    st, _, data = d.post(body)
    eq(st, 400, "NDJSON with bad lines")
    v = parse(data, "400 body")
    eq(sorted(e.get("line") for e in v["errors"]), [3, 4], f"lines of the errors: {v}")
    eq(len(v["ids"]), 3, f"the good lines stored: {v}")
    d.healthy()


def expect_4xx(d, body, what, want=400, headers=None):
    st, _, data = d.post(body, headers=headers)
    check(400 <= st < 500, f"{what}: expected a 4xx, got {st} ({data[:300]!r})")
    if want is not None:
        eq(st, want, f"{what}: status")
    if st == 400:
        v = parse(data, f"{what}: error body")
        check(v.get("errors") or v.get("error"), f"{what}: the body says why: {v}")
    d.healthy()
    return data


@test
def hostile_bodies(t):
    d = start(t)
    expect_4xx(d, "{not json", "malformed JSON")
    expect_4xx(d, '{"rule": "x", "title": ', "truncated JSON")
    expect_4xx(d, alert(severity="abc"), "severity 'abc'")
    expect_4xx(d, alert(host={"name": "h", "ip": "not-an-ip"}), "host.ip 'not-an-ip'")
    expect_4xx(d, dict(alert(), bogus=1), "an unknown field")
    expect_4xx(d, '{"rule":"deep","raw":' + "[" * 10000 + "]" * 10000 + "}", "nesting 10,000 deep")
    expect_4xx(d, "[" * 10000 + "]" * 10000, "a bare array 10,000 deep")
    expect_4xx(d, '{"rule":"nul","title":"a\\u0000b"}', "NUL escaped in a string")
    expect_4xx(d, b'{"rule":"nul","title":"a\x00b"}', "a raw NUL byte in a string")
    expect_4xx(d, b'{"rule":"bad-\xff\xfe-utf8","title":"x"}', "invalid UTF-8")
    expect_4xx(d, b'{"rule":"overlong-\xc0\xaf","title":"x"}', "overlong UTF-8")
    expect_4xx(d, '{"rule":"a","rule":"b"}', "a duplicate key")
    eq(d.cases(), [], "nothing stored")
    check(d.alive(), "the daemon is still running")


def read_response(sock, timeout):
    """Reads an HTTP response head from a raw socket: (status, head text)."""
    sock.settimeout(timeout)
    buf = b""
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in buf and time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        buf += chunk
    m = re.match(rb"HTTP/1\.[01] (\d{3})", buf)
    if not m:
        fail(f"no HTTP response (got {buf[:200]!r})")
    return int(m.group(1)), buf.decode("latin-1")


def head(d, extra):
    return (f"POST /api/v1/alerts HTTP/1.1\r\nHost: 127.0.0.1:{d.port}\r\n"
            f"Authorization: Bearer {d.token}\r\nContent-Type: application/json\r\n{extra}\r\n"
            ).encode()


@test
def body_over_limit_content_length(t):
    d = start(t)
    for expect in ("", "Expect: 100-continue\r\n"):
        s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
        try:
            started = time.monotonic()
            s.sendall(head(d, f"Content-Length: {100 * 1024 * 1024}\r\n{expect}"))
            if not expect:
                try:
                    s.sendall(b"[" + b" " * 65535)
                except OSError:
                    pass  # the server may refuse before reading any of it
            st, text = read_response(s, 10)
            took = time.monotonic() - started
        finally:
            s.close()
        eq(st, 413, f"100 MB Content-Length {expect.strip()}: status ({text[:200]!r})")
        check(took < 5, f"413 came quickly: {took:.1f}s")
        d.healthy()
    check(d.alive(), "the daemon is still running")


@test(timeout=180)
def body_over_limit_chunked(t):
    d = start(t)
    s = socket.create_connection(("127.0.0.1", d.port), timeout=10)
    got = None
    try:
        s.sendall(head(d, "Transfer-Encoding: chunked\r\n"))
        piece = b" " * (1024 * 1024)
        chunk = b"%x\r\n" % len(piece) + piece + b"\r\n"
        s.sendall(b"1\r\n[\r\n")
        answered = False
        for _ in range(40):  # 40 MiB: beyond the 32 MiB limit
            r, _, _ = select.select([s], [], [], 0)
            if r:
                answered = True  # the server answered before the end
                break
            try:
                s.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError, socket.timeout):
                answered = True
                break
        if not answered:
            s.sendall(b"1\r\n]\r\n0\r\n\r\n")  # the end of the body
        try:
            got = read_response(s, 15)
        except (ConnectionResetError, OSError) as e:
            fail(f"the connection was reset without a 413: {e!r}")
    finally:
        s.close()
    eq(got[0], 413, f"chunked body over the limit: status ({got[1][:200]!r})")
    d.healthy()
    eq(d.cases(), [], "nothing stored")
    # just under the limit still works
    recs = [alert(rule="big", raw={"blob": "x" * 60000})] * 100  # about 6 MB
    st, _, data = d.post(json.dumps(recs))
    eq(st, 202, f"a 6 MB batch ({data[:200]!r})")


@test
def unknown_case_404(t):
    d = start(t)
    d.post_ok(alert(), n=1)
    for path in ("/api/v1/cases/01ZZZZZZZZZZZZZZZZZZZZZZZZ", "/api/v1/cases/ZZZZZZZZ"):
        st, _, data = d.request("GET", path)
        eq(st, 404, f"GET {path} ({data[:200]!r})")
    st, _, _ = d.request("GET", "/api/v1/nothing-here")
    eq(st, 404, "an unknown path")


@test
def keep_alive(t):
    d = start(t)
    conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=10)
    try:
        first = None
        ids = []
        for i in range(300):
            kind = i % 3
            if kind == 0:
                st, _, data = d._do(conn, "GET", "/healthz", None, None, None)
            elif kind == 1:
                st, _, data = d._do(conn, "POST", "/api/v1/alerts", alert(rule=f"r{i % 7}"),
                                    "default", None)
                if st == 202:
                    ids += parse(data, "202")["ids"]
            else:
                st, _, data = d._do(conn, "GET", "/api/v1/cases", None, "default", None)
            eq(st, 200 if kind != 1 else 202, f"request {i} on the kept-alive connection")
            if first is None:
                first = conn.sock
            check(conn.sock is not None and conn.sock is first,
                  f"request {i}: the connection was closed by the server")
    finally:
        conn.close()
    eq(len(ids), 100, "acknowledged ids")
    eq(sum(c["alert_count"] for c in d.cases()), 100, "alerts in cases")


@test
def concurrent_posts_one_case(t):
    d = start(t)
    errors, ids, lock = [], [], threading.Lock()

    def worker():
        conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=30)
        try:
            for _ in range(25):
                st, _, data = d._do(conn, "POST", "/api/v1/alerts", alert(), "default", None)
                with lock:
                    if st == 202:
                        ids.extend(json.loads(data)["ids"])
                    else:
                        errors.append((st, data[:200]))
        except Exception as e:
            with lock:
                errors.append(repr(e))
        finally:
            conn.close()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    eq(errors, [], "every POST acknowledged")
    eq(len(set(ids)), 200, "distinct ids")
    cs = d.cases()
    eq(len(cs), 1, "one case")
    eq(cs[0]["alert_count"], 200, "alert_count")


# --- durability and lifecycle -----------------------------------------------------------------


@test
def kill_9_after_202_loses_nothing(t):
    d = start(t)
    ids = d.post_ok(alert(), n=1)
    d.proc.kill()
    d.proc.wait(10)
    eq(stored_alert_ids(t), set(ids), "the acknowledged alert is stored")
    d2 = restart(t, d)
    eq(d2.cases()[0]["alert_count"], 1, "after restart: the case and its alert")
    d2.post_ok(alert(), n=1)
    eq(d2.cases()[0]["alert_count"], 2, "after restart: a new alert joins the same case")


@test
def kill_9_under_load_loses_nothing(t):
    d = start(t)
    acked, lock, stop = set(), threading.Lock(), threading.Event()

    def worker(n):
        i = 0
        while not stop.is_set():
            try:
                conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=5)
                st, _, data = d._do(conn, "POST", "/api/v1/alerts",
                                    [alert(rule=f"w{n}"), alert(rule=f"w{n}-{i % 3}")], "default",
                                    None)
                conn.close()
            except Exception:
                continue  # the daemon is gone: nothing was acknowledged
            if st == 202:
                with lock:
                    acked.update(json.loads(data)["ids"])
            i += 1

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(4)]
    for th in threads:
        th.start()
    try:
        tap.wait_until(lambda: len(acked) >= 200, 30, "200 acknowledged alerts")
        d.proc.kill()
        d.proc.wait(10)
        time.sleep(0.2)
    finally:
        stop.set()
        for th in threads:
            th.join(10)
    stored = stored_alert_ids(t)
    missing = acked - stored
    eq(len(missing), 0, f"acknowledged but lost ({len(acked)} acknowledged)")


@test
def sigterm_exits_0_with_data(t):
    d = start(t)
    ids = d.post_ok([alert(rule="a"), alert(rule="b")], n=2)
    code = d.stop(signal.SIGTERM)
    eq(code, 0, f"exit code after SIGTERM (stderr {tap.shorten(t.proc_stderr(d.proc))!r})")
    eq(stored_alert_ids(t), set(ids), "stored")


@test
def sigterm_under_load(t):
    d = start(t)
    acked, lock, stop = set(), threading.Lock(), threading.Event()

    def worker():
        while not stop.is_set():
            try:
                conn = http.client.HTTPConnection("127.0.0.1", d.port, timeout=5)
                st, _, data = d._do(conn, "POST", "/api/v1/alerts", alert(), "default", None)
                conn.close()
            except Exception:
                time.sleep(0.01)
                continue
            if st == 202:
                with lock:
                    acked.update(json.loads(data)["ids"])

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(4)]
    for th in threads:
        th.start()
    try:
        tap.wait_until(lambda: len(acked) >= 100, 30, "100 acknowledged alerts")
        code = d.stop(signal.SIGTERM)
    finally:
        stop.set()
        for th in threads:
            th.join(10)
    eq(code, 0, f"exit code after SIGTERM under load ({tap.shorten(t.proc_stderr(d.proc))!r})")
    missing = acked - stored_alert_ids(t)
    eq(len(missing), 0, f"acknowledged but lost ({len(acked)} acknowledged)")


@test
def sigint_exits_0(t):
    d = start(t)
    ids = d.post_ok(alert(), n=1)
    eq(d.stop(signal.SIGINT), 0, "exit code after SIGINT")
    eq(stored_alert_ids(t), set(ids), "stored")


@test
def refuses_public_listen_without_tokens(t):
    port = tap.free_port()
    p = t.spawn("serve", "--listen", f"0.0.0.0:{port}", "--db", t.db)
    try:
        code = p.wait(timeout=15)
    except Exception:
        fail("the daemon kept running on 0.0.0.0 with no token")
    check(code != 0, f"exit code {code}")
    contains(t.proc_stderr(p).lower(), "token", "the message says a token is needed")
    # on loopback it starts without tokens
    d = start(t, token=False)
    eq(d.stop(), 0, "loopback daemon stops")
    # with a token, 0.0.0.0 is allowed
    tok = token_create(t, "admin")
    port = tap.free_port()
    d = start(t, token=False, listen=f"0.0.0.0:{port}", port=port)
    d.token = tok
    eq(d.cases(), [], "0.0.0.0 with a token: the API answers")


@test
def syslog_udp_and_tcp(t):
    """syslog: UDP datagrams and TCP in both framings are stored; SIGTERM stores
    what the listener still holds; a non-event line is ignored."""
    import socket
    import time
    udp, tcp = tap.free_port(), tap.free_port()
    cfg = t.write("syslog.yml", f"syslog:\n  udp: 127.0.0.1:{udp}\n  tcp: 127.0.0.1:{tcp}\n")
    d = start(t, extra=("--config", cfg))
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.sendto(b"<34>Nov 30 09:48:36 web1 sshd[12]: Failed password for invalid user admin "
             b"from 203.0.113.7 port 5555 ssh2", ("127.0.0.1", udp))
    u.sendto(b"CEF:0|Acme|IDS|1.0|100|Port scan|7|src=198.51.100.1 dst=10.0.0.5", ("127.0.0.1", udp))
    u.close()
    s = socket.create_connection(("127.0.0.1", tcp), timeout=5)
    framed = b"<13>1 2026-11-30T09:00:00Z fw1 sshd 7 - - Accepted password for bob from 192.0.2.4 port 22 ssh2"
    s.sendall(str(len(framed)).encode() + b" " + framed)
    s.sendall(b"<13>Nov 30 09:48:37 web2 sshd[9]: Failed password for root from 203.0.113.8 port 1 ssh2\n")
    s.sendall(b"<13>Nov 30 09:48:38 web2 sshd[9]: Connection closed by 203.0.113.8 port 1\n")
    s.close()

    def stored():
        return len(t.sql("SELECT id FROM alerts")) == 4
    tap.wait_until(stored, 10, "the four syslog events to be stored")
    rows = t.sql("SELECT source, kind FROM alerts ORDER BY received_ms, id")
    eq(sorted(r[1] for r in rows), ["auth", "auth", "auth", "network"], "kinds")
    # what arrives just before SIGTERM is stored, not lost
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.sendto(b"<34>Nov 30 09:50:00 web3 sshd[1]: Failed password for carol from 203.0.113.9 port 2 ssh2",
             ("127.0.0.1", udp))
    u.close()
    time.sleep(0.05)
    eq(d.stop(signal.SIGTERM), 0, "exit code after SIGTERM")
    eq(len(t.sql("SELECT id FROM alerts")), 5, "the last datagram is stored at SIGTERM")


tap.main()

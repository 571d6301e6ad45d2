#!/usr/bin/env python3
"""test_playbooks_daemon.py: end-to-end tests of the playbook engine inside
`riposte serve`: alert-triggered runs and their dedup, trigger conditions,
manual runs over the API, prompts answered through signed links and the API
(HTML page escaped, replay, forgery, timeout with a default), roles, body
bounds, and reloading the playbook directory by API and by SIGHUP.

Each test starts its own daemon (`serve --playbooks DIR`) on a free loopback
port with its own database, and kills it in the end whatever happened.

    RIPOSTE_BIN=build/riposte python3 tests/e2e/test_playbooks_daemon.py [TEST...]
"""

import http.client
import json
import os
import signal
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tap  # noqa: E402
from tap import check, contains, eq, fail, test  # noqa: E402

START_TIMEOUT_S = 20
RUN_TIMEOUT_S = 10

AUTH_PLAYBOOK = """\
playbook: auth-triage
trigger:
  kind: auth
steps:
  - id: hello
    action: echo
    with: {user: "{{ alert.user.name }}"}
  - id: remember
    set: {who: "{{ steps.hello.user }}"}
  - id: note
    case: {note: "checked {{ vars.who }}"}
"""

NETWORK_PLAYBOOK = """\
playbook: loud-network
trigger:
  kind: network
  when: alert.severity >= 90
steps:
  - id: hello
    action: noop
"""

ASK_PLAYBOOK = """\
playbook: ask-user
trigger: {manual: true}
steps:
  - id: ask
    prompt:
      role: tier2
      question: "Contain <b>now</b> & \\"later\\"?"
      options: [yes, no]
      timeout: 1h
      default: no
"""

QUICK_PLAYBOOK = """\
playbook: ask-quick
trigger: {manual: true}
steps:
  - id: ask
    prompt:
      role: tier2
      question: Still there?
      options: [yes, no]
      timeout: 1s
      default: no
"""

EXTRA_PLAYBOOK = """\
playbook: extra
trigger: {manual: true}
steps:
  - id: a
    action: noop
"""


def auth_alert(**kw):
    a = {"kind": "auth", "rule": "failed-logins", "title": "failed logins for alice",
         "severity": 60, "user": {"name": "alice"}, "host": {"name": "ws-01"}}
    a.update(kw)
    return a


# --- the daemon ------------------------------------------------------------------------


class Daemon:
    """A running `riposte serve` with its playbook directory and tokens."""

    def __init__(self, t, proc, port, tokens, pbdir):
        self.t, self.proc, self.port, self.tokens, self.pbdir = t, proc, port, tokens, pbdir

    def request(self, method, path, body=None, token="admin", headers=None, timeout=30):
        """One request on a fresh connection: (status, headers dict, body bytes).
        token names one of the daemon's tokens (admin, responder, viewer) or is
        None for no Authorization header."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            h = dict(headers or {})
            if token is not None:
                h["Authorization"] = f"Bearer {self.tokens[token]}"
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
                h.setdefault("Content-Type", "application/json")
            if isinstance(body, str):
                body = body.encode()
            conn.request(method, path, body=body, headers=h)
            r = conn.getresponse()
            data = r.read()
            self.t.log.append(f"{method} {path} -> {r.status} "
                              f"{tap.shorten(data.decode('utf-8', 'replace'), 300)}")
            return r.status, {k.lower(): v for k, v in r.getheaders()}, data
        finally:
            conn.close()

    def get_json(self, path, token="admin", want=200):
        st, _, data = self.request("GET", path, token=token)
        eq(st, want, f"GET {path} ({tap.shorten(data.decode('utf-8', 'replace'))})")
        return parse(data, f"GET {path}")

    def post_json(self, path, body, token="admin", want=None):
        st, _, data = self.request("POST", path, body, token=token)
        if want is not None:
            eq(st, want, f"POST {path} ({tap.shorten(data.decode('utf-8', 'replace'))})")
        return st, parse(data, f"POST {path}")

    def runs(self, query=""):
        v = self.get_json("/api/v1/runs" + query)
        check(isinstance(v.get("runs"), list), f"runs: a list, got {tap.shorten(v)}")
        eq(v.get("count"), len(v["runs"]), "runs: count")
        return v["runs"]

    def playbooks(self):
        v = self.get_json("/api/v1/playbooks", token="viewer")
        return sorted(p["name"] for p in v["playbooks"])

    def wait_run(self, playbook, status="succeeded", n=1):
        """Polls the run list until n runs of playbook have status; the newest."""

        def done():
            rs = [r for r in self.runs() if r["playbook"] == playbook]
            if len(rs) >= n and all(r["status"] == status for r in rs[:n]):
                return rs
            return None

        rs = tap.wait_until(done, RUN_TIMEOUT_S, f"{n} run(s) of {playbook} to be {status}")
        return rs[0]

    def unfinished_run(self, playbook):
        """The one run of playbook, which must not have finished (a run waiting
        on a prompt is "running" or "waiting")."""
        rs = [r for r in self.runs() if r["playbook"] == playbook]
        eq(len(rs), 1, f"runs of {playbook}")
        check(rs[0]["status"] in ("running", "waiting"), f"the run is unfinished: {rs[0]}")
        return rs[0]

    def wait_prompt(self, status="open"):
        def one():
            ps = self.get_json(f"/api/v1/prompts?status={status}", token="viewer")["prompts"]
            return ps[0] if ps else None

        return tap.wait_until(one, RUN_TIMEOUT_S, f"a prompt with status {status}")

    def link_path(self, prompt_id):
        """The path of a prompt's answer link, as a responder sees it."""
        p = self.get_json(f"/api/v1/prompts/{prompt_id}", token="responder")
        link = p.get("link")
        check(isinstance(link, str), f"a responder sees the link: {tap.shorten(p)}")
        u = urllib.parse.urlsplit(link)
        eq(f"{u.scheme}://{u.netloc}", f"http://127.0.0.1:{self.port}", "the link's base")
        check(u.path.startswith("/respond/"), f"the link is /respond/...: {link}")
        return u.path

    def answer_form(self, path, option, headers=None):
        h = {"Content-Type": "application/x-www-form-urlencoded"}
        h.update(headers or {})
        return self.request("POST", path, urllib.parse.urlencode({"option": option}),
                            token=None, headers=h)

    def finish(self):
        """Stops the daemon with SIGTERM: it must exit 0 with no sanitizer
        report (a leak or undefined behaviour in a sanitizer build)."""
        eq(self.stop(), 0, "exit code after SIGTERM")
        err = self.t.proc_stderr(self.proc)
        for bad in ("runtime error:", "Sanitizer"):
            at = max(err.find(bad) - 200, 0)
            check(bad not in err, f"{bad} in the daemon's stderr: {tap.shorten(err[at:], 1500)}")

    def stop(self, sig=signal.SIGTERM, timeout=20):
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


def token_create(t, name, role):
    r = t.riposte("token", "create", "--name", name, "--role", role, "--db", t.db)
    eq(r.code, 0, f"token create ({r!r})")
    lines = [l for l in r.stdout.splitlines() if l.strip()]
    eq(len(lines), 1, f"token create prints one line ({r.stdout!r})")
    return lines[0].strip()


def start(t, playbooks):
    """Writes playbooks ({file name: text}) into a directory, makes an admin, a
    responder and a viewer token, starts the daemon on a free loopback port and
    waits for /healthz."""
    pbdir = t.path("playbooks")
    os.makedirs(pbdir, exist_ok=True)
    for name, text in playbooks.items():
        t.write(os.path.join("playbooks", name), text)
    tokens = {role: token_create(t, role, role) for role in ("admin", "responder", "viewer")}
    port = tap.free_port()
    p = t.spawn("serve", "--listen", f"127.0.0.1:{port}", "--db", t.db, "--playbooks", pbdir,
                "--log-level", "debug")
    d = Daemon(t, p, port, tokens, pbdir)

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


def events(run):
    ev = run.get("events")
    check(isinstance(ev, list) and ev, f"the run has events: {tap.shorten(run)}")
    return ev


def step_out(run, key):
    """The out of the step_done event of step key."""
    for e in events(run):
        if e.get("type") == "step_done" and e.get("key") == key:
            return (e.get("data") or {}).get("out")
    fail(f"no step_done for {key} in {tap.shorten(events(run), 1200)}")


# --- tests -----------------------------------------------------------------------------


@test
def alert_triggers_a_run(t):
    d = start(t, {"auth.yml": AUTH_PLAYBOOK})
    st, v = d.post_json("/api/v1/alerts", auth_alert(), want=202)
    alert_id, case_id = v["ids"][0], v["cases"][0]
    run = d.wait_run("auth-triage")
    eq(run["trigger"], "alert", "the run's trigger")
    eq(run["alert_id"], alert_id, "the run's alert")
    eq(run["case_id"], case_id, "the run's case")
    full = d.get_json(f"/api/v1/runs/{run['id']}")
    eq(full["status"], "succeeded", "GET /api/v1/runs/{id}: status")
    types = [e["type"] for e in events(full)]
    eq(types[0], "run_started", "the first event")
    eq(types[-1], "run_done", "the last event")
    eq(step_out(full, "hello"), {"user": "alice"}, "the echo step's output")
    eq(step_out(full, "remember"), {"who": "alice"}, "the set step's output")
    # a prefix finds it too
    eq(d.get_json(f"/api/v1/runs/{run['id'][:10]}")["id"], run["id"], "a 10-character prefix")
    st, _, _ = d.request("GET", "/api/v1/runs/ZZZZZZZZZZ")
    eq(st, 404, "an unknown run")
    st, _, _ = d.request("GET", "/api/v1/runs/abc")
    eq(st, 400, "a run id that is too short")
    case = d.get_json(f"/api/v1/cases/{case_id}")
    notes = [e for e in case["timeline"] if e["event"] == "note"]
    eq(len(notes), 1, f"one note on the case timeline ({tap.shorten(case['timeline'])})")
    eq(notes[0]["actor"], "playbook:auth-triage", "the note's actor")
    eq(notes[0]["detail"]["text"], "checked alice", "the note's text")
    eq(len(d.runs("?status=succeeded")), 1, "?status=succeeded")
    eq(len(d.runs("?status=failed")), 0, "?status=failed")
    st, _, _ = d.request("GET", "/api/v1/runs?status=bogus")
    eq(st, 400, "a bad status")
    st, _, _ = d.request("GET", "/api/v1/runs?limt=3")
    eq(st, 400, "an unknown query parameter")
    st, _, _ = d.request("GET", "/api/v1/runs", token=None)
    eq(st, 401, "no token")
    d.finish()


@test
def same_alert_runs_once(t):
    d = start(t, {"auth.yml": AUTH_PLAYBOOK})
    a = auth_alert(id="01HZX3K5Q8ZKJ4V6W7X8Y9ZA0B")
    d.post_json("/api/v1/alerts", a, want=202)
    first = d.wait_run("auth-triage")
    d.post_json("/api/v1/alerts", a, want=202)
    d.post_json("/api/v1/alerts", [a, a], want=202)
    # give a second run every chance to start, then count
    time.sleep(1.0)
    rs = [r for r in d.runs() if r["playbook"] == "auth-triage"]
    eq(len(rs), 1, f"runs of the same alert ({tap.shorten(rs)})")
    eq(rs[0]["id"], first["id"], "the one run")
    d.finish()


@test
def trigger_condition(t):
    d = start(t, {"net.yml": NETWORK_PLAYBOOK})
    quiet = {"kind": "network", "rule": "scan", "title": "a quiet scan", "severity": 10,
             "host": {"name": "fw-01"}}
    loud = dict(quiet, title="a loud scan", severity=95, host={"name": "fw-02"})
    d.post_json("/api/v1/alerts", quiet, want=202)
    time.sleep(1.0)
    eq([r for r in d.runs() if r["playbook"] == "loud-network"], [],
       "a run for an alert whose when: is false")
    d.post_json("/api/v1/alerts", loud, want=202)
    run = d.wait_run("loud-network")
    eq(len(d.runs()), 1, "only the loud alert started a run")
    check(run["alert_id"] is not None, "the run has its alert")
    d.finish()


@test
def prompt_answered_through_its_link(t):
    d = start(t, {"ask.yml": ASK_PLAYBOOK})
    st, v = d.post_json("/api/v1/runs", {"playbook": "ask-user", "inputs": {"why": "test"}},
                        token="responder", want=202)
    eq(v.get("queued"), True, "queued")
    p = d.wait_prompt("open")
    eq(p["question"], 'Contain <b>now</b> & "later"?', "the question as stored")
    eq(p["options"], ["yes", "no"], "the options")
    run = d.unfinished_run("ask-user")
    eq(p["run_id"], run["id"], "the prompt's run")
    # a viewer sees the prompt but not its link
    pv = d.get_json(f"/api/v1/prompts/{p['id']}", token="viewer")
    check("link" not in pv, f"no link for a viewer: {tap.shorten(pv)}")
    path = d.link_path(p["id"])

    # the page: a GET shows the question, escaped, and never answers
    for _ in range(2):
        st, h, body = d.request("GET", path, token=None, headers={"Accept": "text/html"})
        eq(st, 200, "GET the link")
    html = body.decode("utf-8")
    eq(h.get("content-type"), "text/html; charset=utf-8", "Content-Type")
    eq(h.get("cache-control"), "no-store", "Cache-Control")
    eq(h.get("referrer-policy"), "no-referrer", "Referrer-Policy")
    eq(h.get("x-content-type-options"), "nosniff", "X-Content-Type-Options")
    eq(h.get("content-security-policy"),
       "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'", "CSP")
    contains(html, "Contain &lt;b&gt;now&lt;/b&gt; &amp; &quot;later&quot;?",
             "the escaped question")
    check("<b>now" not in html, "the question's markup is not live")
    contains(html, 'name="option" value="yes"', "a yes button")
    contains(html, 'name="option" value="no"', "a no button")
    contains(html, 'method="post"', "a POST form")
    eq(d.get_json(f"/api/v1/prompts/{p['id']}", token="viewer")["status"], "open",
       "the prompt is still open after the GETs")
    st, _, body = d.request("GET", path, token=None, headers={"Accept": "application/json"})
    eq(st, 200, "GET the link as JSON")
    j = parse(body, "the link as JSON")
    eq((j["question"], j["options"], j["status"]),
       ('Contain <b>now</b> & "later"?', ["yes", "no"], "open"), "the JSON form")
    check(isinstance(j.get("deadline"), str), "the JSON form has the deadline")

    # a bad option, then the answer
    st, _, _ = d.answer_form(path, "maybe")
    eq(st, 400, "an option that is not offered")
    st, h, body = d.answer_form(path, "yes")
    eq(st, 200, f"POST the answer ({body[:200]!r})")
    contains(body.decode("utf-8"), "Thank you", "the thank-you page")
    eq(h.get("content-type"), "text/html; charset=utf-8", "the thank-you page's type")

    run = d.wait_run("ask-user")
    full = d.get_json(f"/api/v1/runs/{run['id']}")
    out = step_out(full, "ask")
    eq(out.get("answer"), "yes", "steps.ask.answer")
    eq(out.get("answered_by"), "link", "answered by the link")
    eq(out.get("timed_out"), False, "not timed out")
    ans = d.get_json(f"/api/v1/prompts/{p['id']}", token="viewer")
    eq((ans["status"], ans["answer"]), ("answered", "yes"), "the prompt row")

    # replayed, forged, mangled
    st, _, _ = d.answer_form(path, "no")
    eq(st, 409, "the same link again")
    st, _, _ = d.request("POST", path, {"option": "no"}, token=None)
    eq(st, 409, "the same link again, as JSON")
    st, _, _ = d.request("GET", path, token=None)
    eq(st, 409, "GET after the answer")
    last = path[-1]
    forged = path[:-1] + ("0" if last != "0" else "1")
    st, _, _ = d.answer_form(forged, "no")
    eq(st, 403, "a forged token (one hex digit flipped)")
    st, _, _ = d.request("GET", forged, token=None)
    eq(st, 403, "GET a forged token")
    st, _, _ = d.request("GET", "/respond/not-a-token", token=None)
    eq(st, 403, "a malformed token")
    st, _, _ = d.request("GET", path + "?utm_source=mail", token=None)
    eq(st, 400, "query parameters on a link")
    eq(d.get_json(f"/api/v1/prompts/{p['id']}", token="viewer")["answer"], "yes",
       "the first answer stands")
    # the token never reaches the log
    mac = path.rsplit(".", 1)[1]
    check(mac not in t.proc_stderr(d.proc), "the link's signature is not in the daemon's log")
    d.finish()


@test(timeout=60)
def prompt_times_out_to_its_default(t):
    d = start(t, {"quick.yml": QUICK_PLAYBOOK})
    d.post_json("/api/v1/runs", {"playbook": "ask-quick"}, token="responder", want=202)
    p = d.wait_prompt("open")
    path = d.link_path(p["id"])
    time.sleep(1.5)
    run = d.wait_run("ask-quick")
    out = step_out(d.get_json(f"/api/v1/runs/{run['id']}"), "ask")
    eq(out.get("answer"), "no", "the default answer")
    eq(out.get("timed_out"), True, "timed_out")
    st, _, _ = d.answer_form(path, "yes")
    eq(st, 410, "an answer after the deadline")
    st, _, _ = d.request("POST", path, {"option": "yes"}, token=None)
    eq(st, 410, "a JSON answer after the deadline")
    st, _, _ = d.request("POST", f"/api/v1/prompts/{p['id']}/answer", {"option": "yes"},
                         token="responder")
    check(st in (409, 410), f"an API answer after the deadline: 409 or 410, got {st}")
    d.finish()


@test
def prompt_answered_through_the_api(t):
    d = start(t, {"ask.yml": ASK_PLAYBOOK})
    d.post_json("/api/v1/runs", {"playbook": "ask-user"}, token="responder", want=202)
    p = d.wait_prompt("open")
    url = f"/api/v1/prompts/{p['id']}/answer"
    st, _, _ = d.request("POST", url, {"option": "yes"}, token="viewer")
    eq(st, 403, "a viewer answers")
    st, _, _ = d.request("POST", url, {"option": "maybe"}, token="responder")
    eq(st, 400, "a bad option")
    st, _, _ = d.request("POST", url, {"option": "yes", "extra": 1}, token="responder")
    eq(st, 400, "an unknown field")
    st, _, _ = d.request("POST", url, "{not json", token="responder",
                         headers={"Content-Type": "application/json"})
    eq(st, 400, "a body that is not JSON")
    st, _, _ = d.request("POST", "/api/v1/prompts/01HZX3K5Q8ZKJ4V6W7X8Y9ZA0B/answer",
                         {"option": "yes"}, token="responder")
    eq(st, 404, "an unknown prompt")
    eq(d.get_json(f"/api/v1/prompts/{p['id']}", token="viewer")["status"], "open",
       "still open after the refusals")
    st, v = d.post_json(url, {"option": "no"}, token="responder", want=200)
    eq(v.get("answered"), True, "answered")
    st, _, _ = d.request("POST", url, {"option": "yes"}, token="responder")
    eq(st, 409, "a second answer")
    run = d.wait_run("ask-user")
    out = step_out(d.get_json(f"/api/v1/runs/{run['id']}"), "ask")
    eq(out.get("answer"), "no", "steps.ask.answer")
    eq(out.get("answered_by"), "api:responder", "answered by the token's name")
    eq(len(d.get_json("/api/v1/prompts?status=answered", token="viewer")["prompts"]), 1,
       "?status=answered")
    eq(d.get_json("/api/v1/prompts?status=open", token="viewer")["prompts"], [], "?status=open")
    d.finish()


@test
def run_requests_are_checked_and_bounded(t):
    d = start(t, {"ask.yml": ASK_PLAYBOOK})
    st, _, _ = d.request("POST", "/api/v1/runs", {"playbook": "ask-user"}, token="viewer")
    eq(st, 403, "a viewer starts a run")
    st, _, _ = d.request("POST", "/api/v1/runs", {"playbook": "nope"}, token="responder")
    eq(st, 404, "a playbook that is not loaded")
    st, _, _ = d.request("POST", "/api/v1/runs", {"playbook": "ask-user", "alert": {"kind": 5}},
                         token="responder")
    eq(st, 400, "an alert that does not normalize")
    st, _, _ = d.request("POST", "/api/v1/runs", {"playbook": "ask-user", "bogus": 1},
                         token="responder")
    eq(st, 400, "an unknown field")
    st, _, _ = d.request("POST", "/api/v1/runs", "[" * 5000 + "]" * 5000, token="responder",
                         headers={"Content-Type": "application/json"})
    eq(st, 400, "a body nested too deep")
    big = {"playbook": "ask-user", "inputs": {"pad": "x" * (70 * 1024)}}
    st, _, _ = d.request("POST", "/api/v1/runs", big, token="responder")
    eq(st, 413, "a body over the small-body limit")
    st, _, _ = d.request("POST", "/api/v1/runs", "", token="responder")
    eq(st, 400, "an empty body")
    st, _, _ = d.request("DELETE", "/api/v1/runs", token="admin")
    eq(st, 405, "DELETE /api/v1/runs")
    eq(d.runs(), [], "no run started by the refused requests")
    st, v = d.post_json("/api/v1/runs", {"playbook": "ask-user",
                                         "alert": auth_alert(), "inputs": {"k": "v"}},
                        token="responder", want=202)
    d.wait_prompt("open")
    run = d.unfinished_run("ask-user")
    eq(run["trigger"], "manual", "the run's trigger")
    check(run["alert_id"] is not None, "the manual run has the normalized alert's id")
    eq(d.request("GET", "/healthz", token=None)[0], 200, "the daemon still answers")
    d.finish()


@test
def reload_by_api(t):
    d = start(t, {"auth.yml": AUTH_PLAYBOOK})
    eq(d.playbooks(), ["auth-triage"], "the playbooks at start")
    t.write(os.path.join("playbooks", "extra.yml"), EXTRA_PLAYBOOK)
    st, _, _ = d.request("POST", "/api/v1/playbooks/reload", token="responder")
    eq(st, 403, "a responder reloads")
    st, v = d.post_json("/api/v1/playbooks/reload", None, token="admin", want=202)
    tap.wait_until(lambda: d.playbooks() == ["auth-triage", "extra"], RUN_TIMEOUT_S,
                   "the new playbook to be listed")
    # an invalid file: the running set is kept
    t.write(os.path.join("playbooks", "broken.yml"), "playbook: broken\nsteps:\n  - id: a\n"
            "    action: no.such.action\n")
    d.post_json("/api/v1/playbooks/reload", None, token="admin", want=202)
    tap.wait_until(lambda: "playbooks.reload" in t.proc_stderr(d.proc), RUN_TIMEOUT_S,
                   "the reload error in the log")
    eq(d.playbooks(), ["auth-triage", "extra"], "the playbooks after a bad reload")
    d.post_json("/api/v1/runs", {"playbook": "extra"}, token="responder", want=202)
    d.wait_run("extra")
    check(d.proc.poll() is None, "the daemon still runs")
    d.finish()


@test
def reload_by_sighup(t):
    d = start(t, {"auth.yml": AUTH_PLAYBOOK})
    eq(d.playbooks(), ["auth-triage"], "the playbooks at start")
    t.write(os.path.join("playbooks", "extra.yml"), EXTRA_PLAYBOOK)
    os.remove(os.path.join(d.pbdir, "auth.yml"))
    d.proc.send_signal(signal.SIGHUP)
    tap.wait_until(lambda: d.playbooks() == ["extra"], RUN_TIMEOUT_S,
                   "the directory as it is now after SIGHUP")
    check(d.proc.poll() is None, "the daemon still runs after SIGHUP")
    st, _, _ = d.request("POST", "/api/v1/runs", {"playbook": "auth-triage"}, token="responder")
    eq(st, 404, "a removed playbook cannot be started")
    d.finish()


tap.main()

"""test_guard.py: the guard rails through the real binary (issue 6's tests).

Playbooks call the test actions (RIPOSTE_TEST_ACTIONS=1): test.contain (effect
contain, released by test.release), test.destroy, test.notify, each recording
its calls in a file, so that what really happened can be counted.
"""

import http.client
import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import tap  # noqa: E402
from tap import check, contains, eq, fail  # noqa: E402


def env(t):
    return {"RIPOSTE_TEST_ACTIONS": "1", "RIPOSTE_TEST_RECORD": t.path("record.ndjson")}


def recorded(t, action=None):
    p = t.path("record.ndjson")
    if not os.path.exists(p):
        return []
    rows = [json.loads(ln) for ln in open(p) if ln.strip()]
    return [r for r in rows if action is None or r["action"] == action]


def run(t, *args):
    return t.riposte("run", *args, env=env(t))


def guard_events(t):
    return [json.loads(d) for (d,) in
            t.sql("SELECT data FROM run_events WHERE type = 'guard' ORDER BY run_id, seq")]


RUNAWAY = """
playbook: runaway
steps:
  - id: hosts
    for_each: "(function() local t = {} for i = 1, 500 do t[i] = 'ws-' .. i end return t end)()"
    concurrency: 32
    steps:
      - id: contain
        action: test.contain
        with: { host: "{{ item }}" }
        on_error: continue
"""

BUDGET = """
budgets:
  - { name: containments, effect: contain, max: 5, per: 1h }
"""


@tap.test(timeout=300)
def runaway_for_each_stops_at_the_budget(t):
    t.write("pb.yml", RUNAWAY)
    t.write("policy.yml", BUDGET)
    r = run(t, "pb.yml", "--policy", "policy.yml")
    eq(r.code, 0, f"the run finishes (denials are tolerated steps) ({r.stderr[-400:]!r})")
    eq(len(recorded(t, "test.contain")), 5, "exactly five hosts were contained")
    verdicts = [g["verdict"] for g in guard_events(t)]
    eq(verdicts.count("allow"), 5, "five allowed")
    eq(verdicts.count("deny"), 495, "the rest denied")
    check(any("containments" in g["rule"] for g in guard_events(t) if g["verdict"] == "deny"),
          "denied by the budget's rule")


@tap.test
def protected_domain_controller_is_never_contained(t):
    t.write("policy.yml", """
protected:
  - { hosts: ["dc-*"], action: deny }
""")
    for i, how in enumerate(["{ host: dc-01 }", "{ hosts: [ws-1, DC-02] }",
                             "{ hostname: \"{{ 'dc-' .. '03' }}\" }"]):
        t.write(f"pb{i}.yml", f"playbook: p{i}\nsteps:\n  - id: c\n    action: test.contain\n"
                f"    with: {how}\n")
        r = run(t, f"pb{i}.yml", "--policy", "policy.yml")
        eq(r.code, 1, f"the containment of a DC fails the run ({how}) ({r!r})")
        contains(r.stdout, "guard denied", "the trace says the guard denied it")
    eq(recorded(t, "test.contain"), [], "nothing was contained")


@tap.test
def kill_switch_holds_effects_and_lets_reads_run(t):
    t.write("contain.yml", "playbook: c\nsteps:\n  - id: c\n    action: test.contain\n"
            "    with: { host: ws-9 }\n")
    t.write("read.yml", "playbook: r\nsteps:\n  - id: a\n    action: echo\n"
            "  - id: n\n    action: test.notify\n    with: { to: soc }\n")
    r = t.riposte("guard", "stop", "--by", "tester")
    eq(r.code, 0, f"guard stop ({r!r})")
    r = run(t, "read.yml")
    eq(r.code, 0, f"reads and notifications go on under the kill switch ({r!r})")
    eq(len(recorded(t, "test.notify")), 1, "the notification went out")
    p = t.spawn("run", "contain.yml", env=env(t))
    tap.wait_until(lambda: os.path.exists(t.db) and
                   t.sql("SELECT count(*) FROM prompts WHERE status = 'open'")[0][0] == 1,
                   10, "the containment to be held")
    eq(recorded(t, "test.contain"), [], "held, not contained")
    pid = t.sql("SELECT id FROM prompts WHERE status = 'open'")[0][0]
    r = t.riposte("approve", pid, "--by", "lead")
    eq(r.code, 0, f"approve ({r!r})")
    tap.wait_until(lambda: p.poll() is not None, 20, "the run to finish")
    eq(p.returncode, 0, "approved: the run succeeded")
    eq(len(recorded(t, "test.contain")), 1, "contained after the approval")
    t.riposte("guard", "resume")


@tap.test
def budgets_hold_across_processes(t):
    t.write("policy.yml", BUDGET)
    for i in range(3):
        t.write(f"pb{i}.yml", f"playbook: b{i}\nsteps:\n" +
                "".join(f"  - id: c{k}\n    action: test.contain\n    with: {{ host: h{i}-{k} }}\n"
                        "    on_error: continue\n" for k in range(3)))
        r = run(t, f"pb{i}.yml", "--policy", "policy.yml")
        eq(r.code, 0, f"run {i} ({r!r})")
    eq(len(recorded(t, "test.contain")), 5, "three runs of three: five in the hour, in total")


@tap.test
def unanswered_hold_follows_its_deadline_rule(t):
    t.write("policy.yml", """
approvals:
  - { effects: [destroy], approver: soc-lead, timeout: 1s, on_timeout: deny }
  - { actions: [test.contain], approver: soc-lead, timeout: 1s, on_timeout: allow }
""")
    t.write("d.yml", "playbook: d\nsteps:\n  - id: x\n    action: test.destroy\n"
            "    with: { mailbox: a@example.org }\n")
    t.write("c.yml", "playbook: c\nsteps:\n  - id: x\n    action: test.contain\n"
            "    with: { host: ws-1 }\n")
    r = run(t, "d.yml", "--policy", "policy.yml")
    eq(r.code, 1, f"no approval by the deadline: denied ({r!r})")
    contains(r.stdout, "no approval came by the deadline", "the reason")
    eq(recorded(t, "test.destroy"), [], "nothing destroyed")
    r = run(t, "c.yml", "--policy", "policy.yml")
    eq(r.code, 0, f"no approval by the deadline: allowed by its rule ({r!r})")
    eq(len(recorded(t, "test.contain")), 1, "contained")
    late = t.sql("SELECT id FROM prompts ORDER BY id LIMIT 1")[0][0]
    r = t.riposte("approve", late)
    eq(r.code, 1, "an approval after the deadline is refused")


@tap.test
def audit_chain_finds_an_edited_row(t):
    t.write("policy.yml", BUDGET)
    t.write("pb.yml", "playbook: a\nsteps:\n" + "".join(
        f"  - id: c{k}\n    action: test.contain\n    with: {{ host: h{k} }}\n" for k in range(3)))
    eq(run(t, "pb.yml", "--policy", "policy.yml").code, 0, "run")
    r = t.riposte("audit", "verify")
    eq(r.code, 0, f"an untouched chain verifies ({r!r})")
    contains(r.stdout, "chain intact", "says so")
    import sqlite3
    db = sqlite3.connect(t.db)
    db.execute("UPDATE audit SET detail = replace(detail, 'h1', 'h9') WHERE seq = 2")
    db.commit()
    r = t.riposte("audit", "verify")
    eq(r.code, 1, "an edited entry is found")
    contains(r.stdout, "entry 2 was changed", "the first changed entry")
    db.execute("DELETE FROM audit WHERE seq = 2")
    db.commit()
    r = t.riposte("audit", "verify")
    eq(r.code, 1, "a removed entry is found")
    contains(r.stdout, "entry 2", "where")
    db.close()


@tap.test
def check_gates_unbounded_containment(t):
    t.write("pb.yml", RUNAWAY)
    t.write("loose.yml", "protected:\n  - { hosts: ['dc-*'], action: deny }\n")
    t.write("tight.yml", BUDGET)
    r = t.riposte("check", "--policy", "loose.yml", "pb.yml", env=env(t))
    eq(r.code, 1, f"an unbounded contain fails the check ({r!r})")
    contains(r.stderr, "no budget or blast radius bounds it", "and says why")
    r = t.riposte("check", "--policy", "tight.yml", "pb.yml", env=env(t))
    eq(r.code, 0, f"bounded by a budget: passes ({r!r})")
    contains(r.stdout, "containments", "names the budget")


@tap.test(timeout=120)
def expired_containment_is_released(t):
    """serve keeps the timer: a contain allowed with a 1 s duration is lifted
    by its release action, durably (the row says released)."""
    os.makedirs(t.path("playbooks"))
    t.write("playbooks/c.yml", "playbook: c\nsteps:\n  - id: x\n    action: test.contain\n"
            "    with: { host: ws-7, duration: 1s }\n")
    t.write("policy.yml", "containment: { default_duration: 1h, max_duration: 2h }\n")
    r = t.riposte("token", "create", "--name", "admin")
    token = r.stdout.strip()
    port = tap.free_port()
    p = t.spawn("serve", "--listen", f"127.0.0.1:{port}", "--db", t.db, "--playbooks",
                t.path("playbooks"), "--policy", t.path("policy.yml"), env=env(t))

    def req(method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        c.request(method, path, body, {"Authorization": f"Bearer {token}",
                                       "Content-Type": "application/json"})
        resp = c.getresponse()
        return resp.status, resp.read()

    def up():
        if p.poll() is not None:
            fail(f"serve exited: {t.proc_stderr(p)!r}")
        try:
            return req("GET", "/healthz")[0] == 200
        except OSError:
            return False

    tap.wait_until(up, 20, "serve")
    st, body = req("POST", "/api/v1/runs", json.dumps({"playbook": "c"}))
    eq(st, 202, f"run queued ({body!r})")
    tap.wait_until(lambda: len(recorded(t, "test.release")) == 1, 20, "the release")
    eq(recorded(t, "test.release")[0]["params"]["host"], "ws-7", "released the same host")
    eq(t.sql("SELECT status FROM containments"), [("released",)], "the row says released")
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=30)


tap.main()

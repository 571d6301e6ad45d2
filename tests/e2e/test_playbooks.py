"""test_playbooks.py: playbooks through the real binary: `riposte run`, `plan`,
`check`, `run-list`, `run-show`, `prompt`, and durable runs across a kill -9
of `riposte serve`.

Each test writes its own playbooks into its sandbox and asserts what the run
did: the trace, the stored events, the exit code, the actions recorded by the
test.record action (which keeps one line per idempotency key, as a
deduplicating API would).
"""

import json
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import tap  # noqa: E402
from tap import check, contains, eq, fail  # noqa: E402

ALERT = {"kind": "auth", "source": "test", "rule": "brute-force", "title": "failed logins",
         "severity": 60, "user": {"name": "alice", "email": "alice@example.org"},
         "host": {"name": "ws-01"}, "src": {"ip": "203.0.113.9"},
         "event_time": "2026-11-30T10:00:00Z"}


def setup(t, name, yaml, alert=ALERT):
    t.write(name, yaml)
    t.write("alert.json", json.dumps(alert))


def run_json(t, run_id):
    r = t.riposte("run-show", run_id, "--json")
    eq(r.code, 0, f"run-show ({r!r})")
    return json.loads(r.stdout)


def last_run(t):
    r = t.riposte("run-list", "--json", "--limit", "1")
    eq(r.code, 0, f"run-list ({r!r})")
    lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
    check(lines, "run-list lists a run")
    return json.loads(lines[0])


def outputs(run):
    """step key -> step_done data, from a run's events."""
    out = {}
    for ev in run["events"]:
        if ev["type"] == "step_done":
            out[ev["key"]] = ev["data"]
    return out


EVERY_KIND = """
playbook: every-kind
description: one step of each kind
vars: { limit: 2 }
inputs: { who: nobody }
steps:
  - id: look
    action: echo
    with: { user: "{{ alert.user.name }}", n: "{{ #alert.user.name }}", who: "{{ inputs.who }}" }
  - id: remember
    set: { seen: "{{ steps.look.user }}", double: "{{ steps.look.n * 2 }}" }
  - id: route
    switch: "vars.seen"
    cases: { alice: known, bob: other }
    default: other
  - id: other
    action: fail
    with: { message: "the switch must skip this" }
  - id: known
    for_each: "{'h1', 'h2', 'h3'}"
    concurrency: 2
    steps:
      - id: per-host
        action: echo
        with: { host: "{{ item }}", n: "{{ index }}" }
  - id: counter
    while: "(steps['count-up'] and steps['count-up'].i or 0) < vars.limit"
    max: 5
    steps:
      - id: count-up
        action: echo
        with: { i: "{{ (steps['count-up'] and steps['count-up'].i or 0) + 1 }}" }
  - id: both
    parallel:
      - action: sleep
        with: { ms: 30 }
      - steps:
          - id: inner
            action: echo
            with: { from: group }
  - id: pause
    wait: 50ms
  - id: skipped
    when: "vars.seen ~= 'alice'"
    action: fail
  - id: tolerated
    action: fail
    with: { message: expected failure }
    on_error: continue
  - id: finish
    end: success
  - id: never
    action: fail
    with: { message: after the end }
"""


@tap.test
def run_every_step_kind(t):
    setup(t, "pb.yml", EVERY_KIND)
    r = t.riposte("run", "pb.yml", "--alert", "alert.json", "--input", "who=carol")
    eq(r.code, 0, f"the run succeeds ({r!r})")
    contains(r.stdout, "succeeded", "the trace says succeeded")
    run = run_json(t, last_run(t)["id"])
    out = outputs(run)
    eq(out["look"]["out"], {"user": "alice", "n": 5, "who": "carol"}, "templates typed")
    eq(out["remember"]["out"], {"seen": "alice", "double": 10}, "set")
    eq(out["route"]["out"]["target"], "known", "switch picked its case")
    check("other" not in out, "the skipped-over step never ran")
    eq([out[f"known[{i}]/per-host"]["out"]["host"] for i in (1, 2, 3)], ["h1", "h2", "h3"],
       "for_each ran each item in order")
    eq(out["known"]["out"]["count"], 3, "for_each output")
    eq(out["counter"]["out"]["iterations"], 2, "while stopped when false")
    eq(out["counter[2]/count-up"]["out"]["i"], 2, "while body saw the last iteration")
    eq(out["inner"]["out"], {"from": "group"}, "a group branch of parallel ran")
    eq(out["both"]["status"], "done", "parallel done after both branches")
    eq(out["pause"]["status"], "done", "wait")
    eq(out["skipped"]["status"], "skipped", "when false skips")
    eq(out["tolerated"]["status"], "failed", "a failed step with on_error continue")
    eq(out["finish"]["status"], "ended", "end")
    check("never" not in out, "nothing runs after end")
    eq(run["status"], "succeeded", "stored status")


@tap.test
def failed_action_fails_the_run(t):
    setup(t, "pb.yml", """
playbook: fails
steps:
  - id: one
    action: fail
    with: { message: "EDR said no" }
    retry: { count: 2, backoff: 10ms }
  - id: two
    action: echo
""")
    r = t.riposte("run", "pb.yml")
    eq(r.code, 1, f"a failed action is a failed run ({r!r})")
    contains(r.stdout, "EDR said no", "the error is in the trace")
    run = run_json(t, last_run(t)["id"])
    eq(run["status"], "failed", "stored as failed")
    attempts = [e for e in run["events"] if e["type"] == "action_requested"]
    eq(len(attempts), 3, "first attempt and two retries")
    eq(len({e["data"]["idempotency_key"] for e in attempts}), 1, "one idempotency key for all")
    check("two" not in outputs(run), "the next step did not run")


@tap.test
def on_error_jumps(t):
    setup(t, "pb.yml", """
playbook: jumps
steps:
  - id: try
    action: fail
    on_error: rescue
  - id: skipped-by-jump
    action: fail
  - id: rescue
    action: echo
    with: { error: "{{ steps.try.error }}" }
""")
    r = t.riposte("run", "pb.yml")
    eq(r.code, 0, f"the rescue makes the run succeed ({r!r})")
    out = outputs(run_json(t, last_run(t)["id"]))
    check("skipped-by-jump" not in out, "the jump skipped a step")
    contains(out["rescue"]["out"]["error"], "failed as asked", "the error reached the rescue")


@tap.test
def expression_errors_name_playbook_and_step(t):
    setup(t, "pb.yml", """
playbook: bad-expr
steps:
  - id: boom
    action: echo
    with: { x: "{{ alert.user.name.first.second }}" }
""")
    r = t.riposte("run", "pb.yml", "--alert", "alert.json")
    eq(r.code, 1, f"the run fails ({r!r})")
    contains(r.stdout, "playbook bad-expr, step boom", "the error names playbook and step")


@tap.test
def sandbox_escapes_are_refused(t):
    for i, expr in enumerate(["os.execute('touch pwned')", "io.open('/etc/passwd')",
                              "require('os')", "load('return 1')()", "string.dump(print)",
                              "debug.getinfo(1)", "(function() while true do end end)()"]):
        setup(t, f"pb{i}.yml", f"""
playbook: escape-{i}
steps:
  - id: try
    action: echo
    with: {{ x: "{{{{ {expr} }}}}" }}
""")
        r = t.riposte("run", f"pb{i}.yml")
        eq(r.code, 1, f"{expr} fails the run ({r!r})")
    check(not os.path.exists(t.path("pwned")), "nothing was executed")


@tap.test
def plan_is_stable_and_simulates_effects(t):
    setup(t, "pb.yml", """
playbook: plan-demo
steps:
  - id: look
    action: echo
    with: { host: "{{ alert.host.name }}" }
  - id: ask
    prompt: { role: analyst, question: "Contain {{ alert.host.name }}?", options: [yes, no],
              timeout: 1h, default: no }
  - id: contain
    when: steps.ask.answer == "yes"
    action: log
    with: { message: "contain {{ steps.look.host }}" }
  - id: tell
    action: log
    with: { message: done }
""")
    t.write("replay.json", json.dumps({"look": {"host": "ws-99"}, "ask": {"answer": "yes"}}))
    a = t.riposte("plan", "pb.yml", "--alert", "alert.json")
    eq(a.code, 0, f"plan ({a!r})")
    eq(a.stdout, "plan: playbook plan-demo version 1\n"
       "1. look: echo (read) {\"host\":\"ws-01\"} -> called\n"
       "2. ask: prompt analyst: \"Contain ws-01?\" -> answer no\n"
       "3. tell: log (notify) {\"message\":\"done\"} -> simulated\n"
       "result: succeeded\n", "the plan text")
    b = t.riposte("plan", "pb.yml", "--alert", "alert.json")
    eq(b.stdout, a.stdout, "a second plan is byte for byte the same")
    c = t.riposte("plan", "pb.yml", "--alert", "alert.json", "--replay", "replay.json")
    contains(c.stdout, "1. look: echo (read) {\"host\":\"ws-01\"} -> replayed", "read replayed")
    contains(c.stdout, "3. contain: log (notify) {\"message\":\"contain ws-99\"} -> simulated",
             "the replayed answers drive the path")
    check(not os.path.exists(t.db), "plan leaves no database behind")


@tap.test
def check_lists_effects_and_rejects_bad_playbooks(t):
    t.write("good.yml", """
playbook: good
steps:
  - id: look
    action: echo
  - id: hosts
    for_each: "{'a'}"
    steps:
      - id: tell
        action: log
""")
    r = t.riposte("check", "good.yml")
    eq(r.code, 0, f"check ({r!r})")
    contains(r.stdout, "read     look (echo)", "read effects")
    contains(r.stdout, "notify   tell (log)", "nested effects")
    t.write("bad.yml", "playbook: bad\nsteps:\n  - id: x\n    action: edr.contian\n")
    r = t.riposte("check", "bad.yml")
    eq(r.code, 1, f"an unknown action is refused ({r!r})")
    contains(r.stderr, "bad.yml:4:", "file:line:col in the error")
    contains(r.stderr, "edr.contian", "the error names the action")


@tap.test
def prompt_answered_from_another_process(t):
    setup(t, "pb.yml", """
playbook: ask
steps:
  - id: ask
    prompt: { to: "{{ alert.user.email }}", question: "Was this you?", options: [yes, no],
              timeout: 1h }
  - id: after
    action: echo
    with: { answer: "{{ steps.ask.answer }}" }
""")
    p = t.spawn("run", "pb.yml", "--alert", "alert.json")
    tap.wait_until(lambda: t.sql("SELECT count(*) FROM prompts")[0][0] == 1
                   if os.path.exists(t.db) else False, 20, "the prompt to be stored")
    pid = t.sql("SELECT id FROM prompts")[0][0]
    r = t.riposte("prompt", "answer", pid, "maybe")
    eq(r.code, 1, "an answer that is not an option is refused")
    r = t.riposte("prompt", "answer", pid, "yes", "--by", "alice")
    eq(r.code, 0, f"the answer is taken ({r!r})")
    r = t.riposte("prompt", "answer", pid, "no")
    eq(r.code, 1, "a second answer is refused")
    contains(r.stderr, "one answer", "and says why")
    tap.wait_until(lambda: p.poll() is not None, 20, "the run to finish")
    eq(p.returncode, 0, f"the run succeeded ({t.proc_stderr(p)!r})")
    out = outputs(run_json(t, last_run(t)["id"]))
    eq(out["ask"]["out"]["answer"], "yes", "the answer is the step's output")
    eq(out["ask"]["out"]["answered_by"], "cli:alice", "who answered")
    eq(out["after"]["out"]["answer"], "yes", "the next step saw it")


@tap.test
def prompt_deadline_takes_the_default(t):
    setup(t, "pb.yml", """
playbook: ask-late
steps:
  - id: ask
    prompt: { role: analyst, question: "Contain?", options: [yes, no], timeout: 1s, default: no }
""")
    r = t.riposte("run", "pb.yml")
    eq(r.code, 0, f"the run ends with the default ({r!r})")
    out = outputs(run_json(t, last_run(t)["id"]))
    eq(out["ask"]["out"]["answer"], "no", "the default")
    eq(out["ask"]["out"]["timed_out"], True, "marked as timed out")
    pid = t.sql("SELECT id FROM prompts")[0][0]
    r = t.riposte("prompt", "answer", pid, "yes")
    eq(r.code, 1, "a late answer is refused")


CRASH_PB = """
playbook: crash
trigger: { kind: endpoint }
steps:
  - id: first
    action: test.record
    with: { alert: "{{ alert.id }}", step: 1 }
  - id: pause
    action: sleep
    with: { ms: 300 }
  - id: second
    action: test.record
    with: { alert: "{{ alert.id }}", step: 2 }
"""


@tap.test(timeout=300)
def kill_9_with_runs_in_flight(t):
    """1,000 runs in flight, kill -9, restart: every run finishes once and no
    effect happens twice."""
    os.makedirs(t.path("playbooks"))
    t.write("playbooks/crash.yml", CRASH_PB)
    record = t.path("record.ndjson")
    env = {"RIPOSTE_TEST_ACTIONS": "1", "RIPOSTE_TEST_RECORD": record}
    port = tap.free_port()
    args = ("serve", "--listen", f"127.0.0.1:{port}", "--db", t.db, "--playbooks",
            t.path("playbooks"))
    r = t.riposte("token", "create", "--name", "admin")
    eq(r.code, 0, f"token create ({r!r})")
    token = r.stdout.strip()
    p = t.spawn(*args, env=env)
    import http.client

    def post(body):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.request("POST", "/api/v1/alerts", body, {"Content-Type": "application/x-ndjson",
                                                   "Authorization": f"Bearer {token}"})
        resp = c.getresponse()
        data = resp.read()
        c.close()
        return resp.status, data

    def up():
        if p.poll() is not None:
            fail(f"serve exited: {t.proc_stderr(p)!r}")
        try:
            c = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            c.request("GET", "/healthz")
            return c.getresponse().status == 200
        except OSError:
            return False

    tap.wait_until(up, 20, "serve to start")
    n = 1000
    lines = [json.dumps({"id": f"01M8P7{i:020d}", "kind": "endpoint", "source": "edr",
                         "rule": f"r{i}", "title": "t", "severity": 70,
                         "host": {"name": f"h{i}"}}) for i in range(n)]
    st, data = post("\n".join(lines))
    eq(st, 202, f"alerts accepted ({data[:200]!r})")
    tap.wait_until(lambda: t.sql("SELECT count(*) FROM runs")[0][0] == n, 60,
                   "every alert to start its run")
    time.sleep(0.1)
    p.send_signal(signal.SIGKILL)
    p.wait()
    unfinished = t.sql("SELECT count(*) FROM runs WHERE status = 'running'")[0][0]
    check(unfinished > 0, "runs were in flight at the kill")
    p = t.spawn(*args, env=env)
    tap.wait_until(up, 20, "serve to restart")
    tap.wait_until(lambda: t.sql("SELECT count(*) FROM runs WHERE status != 'running'")[0][0]
                   == n, 120, "every run to finish after the restart")
    eq(t.sql("SELECT status, count(*) FROM runs GROUP BY status"), [("succeeded", n)],
       "every run succeeded")
    eq(t.sql("SELECT count(*) FROM runs")[0][0], n, "no run started twice")
    keys = [json.loads(ln)["key"] for ln in open(record) if ln.strip()]
    eq(len(keys), 2 * n, "each action acted exactly once")
    eq(len(set(keys)), 2 * n, "no idempotency key acted twice")
    done = t.sql("SELECT count(*) FROM run_events WHERE type = 'run_done'")[0][0]
    eq(done, n, "one run_done per run")
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=30)


tap.main()

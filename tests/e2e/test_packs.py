#!/usr/bin/env python3
"""test_packs.py: every action of every shipped pack (packs/*.yml) driven by
`riposte run PLAYBOOK --config CONFIG` against `riposte lab` (docs/lab.md),
checked against the lab's state; faults injected through POST /_lab/faults
(429 and 500 are retried, malformed JSON and slow answers fail the step with a
clear reason, a refused port fails); and no secret value in any output, log
line or the database's run events.
"""

import json
import signal
import os
import socket
import sqlite3
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tap  # noqa: E402
from tap import check, eq  # noqa: E402

PACKS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "packs")
SECRET_KEY = "ab" * 32
# the lab's credentials (docs/lab.md) go through the secret store
SECRETS = {"cs_secret": "lab-secret", "cb_key": "lab-key", "cy_secret": "lab-secret",
           "ms_secret": "lab-secret", "splunk_token": "lab-token", "elastic_key": None,
           "vt_key": "lab-key", "abuse_key": "lab-key", "misp_key": "lab-key",
           "okta_token": "lab-token", "slack_hook": None, "teams_hook": None}
SECRET_VALUES = ["lab-secret", "lab-key", "lab-token", "lab-webhook", "bGFiLWlkOmxhYi1rZXk="]


def lab(t):
    """Starts `riposte lab` on a free port; its URL."""
    p = t.spawn("lab", "--listen", "127.0.0.1:0", "--seed", "1")
    for _ in range(100):
        if p.out_path and os.path.exists(p.out_path):
            with open(p.out_path) as f:
                line = f.readline().strip()
            if line.startswith("http://"):
                return line
        if p.poll() is not None:
            raise tap.Failure(f"riposte lab exited {p.returncode}: {t.proc_stderr(p)}")
        time.sleep(0.05)
    raise tap.Failure("riposte lab printed no URL")


def http(url, method="GET", body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        text = r.read()
    return json.loads(text) if text else None


def state(base):
    return http(base + "/_lab/state")


def fault(base, **f):
    http(base + "/_lab/faults", "POST", f)


def config(t, base, **over):
    t.env["RIPOSTE_SECRET_KEY"] = SECRET_KEY
    values = dict(SECRETS)
    values["elastic_key"] = "bGFiLWlkOmxhYi1rZXk="  # base64("lab-id:lab-key")
    values["slack_hook"] = base + "/services/T0LAB/B0LAB/lab-webhook"
    values["teams_hook"] = base + "/webhookb2/lab-webhook"
    for name, value in values.items():
        r = t.riposte("secret", "set", name, input=value)
        eq(r.code, 0, f"secret set {name} ({r!r})")
    s = lambda n: {"secret": n}  # noqa: E731
    conns = {
        "cs": {"pack": "crowdstrike", "url": base, "client_id": "lab-client",
               "client_secret": s("cs_secret"), "retries": 3},
        "cb": {"pack": "carbonblack", "url": base, "org_key": "LABORG01", "api_id": "lab-id",
               "api_secret_key": s("cb_key")},
        "cy": {"pack": "cylance", "url": base, "tenant_id": "lab-tenant", "app_id": "lab-app",
               "app_secret": s("cy_secret")},
        "mde": {"pack": "defender", "url": base + "/api", "login_url": base,
                "tenant_id": "lab-tenant", "client_id": "lab-client",
                "client_secret": s("ms_secret")},
        "splunk": {"pack": "splunk", "url": base, "token": s("splunk_token")},
        "es": {"pack": "elastic", "url": base, "kibana_url": base, "api_key": s("elastic_key")},
        "vt": {"pack": "virustotal", "url": base + "/api/v3", "api_key": s("vt_key")},
        "abuse": {"pack": "abuseipdb", "url": base + "/api/v2", "api_key": s("abuse_key")},
        "misp": {"pack": "misp", "url": base, "api_key": s("misp_key")},
        "okta": {"pack": "okta", "url": base, "api_token": s("okta_token")},
        "graph": {"pack": "msgraph", "url": base + "/v1.0", "login_url": base,
                  "tenant_id": "lab-tenant", "client_id": "lab-client",
                  "client_secret": s("ms_secret")},
        "slack": {"pack": "slack", "webhook_url": s("slack_hook")},
        "teams": {"pack": "teams", "webhook_url": s("teams_hook")},
    }
    for k, v in over.items():
        conns[k].update(v)
    return t.write("config.yml", json.dumps({"packs": os.path.abspath(PACKS),
                                             "connectors": conns}))


RUNS = []


def run(t, cfg, steps, expect_ok=True, timeout_s=None):
    """Runs a playbook of steps [(id, action, with)]; (result, {id: step_done data})."""
    lines = ["playbook: t", "steps:"]
    for sid, action, params in steps:
        lines += [f"  - id: {sid}", f"    action: {action}", f"    with: {json.dumps(params)}"]
        if timeout_s:
            lines.append(f"    timeout: {timeout_s}s")
        if not expect_ok:
            lines.append("    on_error: continue")
    pb = t.write("pb.yml", "\n".join(lines) + "\n")
    r = t.riposte("run", pb, "--config", cfg, env={"RIPOSTE_LOG_LEVEL": "debug"}, timeout=120)
    check("unknown option --config" not in r.stderr,
          "riposte run has no --config: the lead must make `riposte run` load connectors")
    RUNS.append(r)
    rl = t.riposte("run-list", "--json", "--limit", "1")
    first = [ln for ln in rl.stdout.splitlines() if ln.strip()]
    check(first, f"a run was recorded ({r!r})")
    show = t.riposte("run-show", json.loads(first[0])["id"], "--json")
    eq(show.code, 0, f"run-show ({show!r})")
    data = json.loads(show.stdout)
    done = {e["key"]: e["data"] for e in data["events"] if e["type"] == "step_done"}
    if expect_ok:
        eq(r.code, 0, f"run ({r!r})")
    no_secrets(t, r)
    return r, done


def out(done, sid):
    s = done.get(sid)
    check(s is not None, f"step {sid} finished: {done!r}")
    eq(s.get("status"), "done", f"step {sid} status ({s!r})")
    return s["out"]


def failed(done, sid):
    s = done.get(sid)
    check(s is not None, f"step {sid} finished: {done!r}")
    eq(s.get("status"), "failed", f"step {sid} status ({s!r})")
    return s.get("err", "") or json.dumps(s)


def no_secrets(t, r):
    """No secret value in the run's output, its log lines, or the database."""
    texts = {"stdout": r.stdout, "stderr": r.stderr}
    if os.path.exists(t.db):
        with open(t.db, "rb") as f:
            texts["db"] = f.read().decode("latin-1")
        for extra in ("-wal",):
            if os.path.exists(t.db + extra):
                with open(t.db + extra, "rb") as f:
                    texts["db" + extra] = f.read().decode("latin-1")
    for name, text in texts.items():
        for v in SECRET_VALUES:
            check(v not in text, f"secret {v!r} found in {name}")


# --- one test per vendor ------------------------------------------------------------


@tap.test(timeout=180)
def crowdstrike(t):
    base = lab(t)
    cfg = config(t, base)
    st = state(base)
    det = st["detections"][0]
    host = next(h for h in st["hosts"] if h["name"] == det["host"])
    aid = host["crowdstrike"]["device_id"]
    _, d = run(t, cfg, [
        ("hosts", "cs.hosts_by_hash", {"hash": det["sha256"]}),
        ("find", "cs.find_host", {"hostname": host["name"]}),
        ("contain", "cs.contain_host", {"device_id": aid}),
    ])
    check(aid in out(d, "hosts")["device_ids"], f"hosts_by_hash finds {aid}: {out(d, 'hosts')}")
    eq(out(d, "find")["device_ids"], [aid], "find_host")
    check(next(h for h in state(base)["hosts"] if h["name"] == host["name"])["crowdstrike"]
          ["contained"], "host contained in the lab")
    _, d = run(t, cfg, [
        ("lift", "cs.lift_containment", {"device_id": aid}),
        ("ioc", "cs.add_ioc", {"type": "sha256", "value": det["sha256"]}),
    ])
    out(d, "lift")
    out(d, "ioc")
    h2 = next(h for h in state(base)["hosts"] if h["name"] == host["name"])
    eq(h2["crowdstrike"]["contained"], False, "containment lifted")
    check(state(base)["crowdstrike_iocs"], "IOC added")


@tap.test(timeout=180)
def carbonblack(t):
    base = lab(t)
    cfg = config(t, base)
    st = state(base)
    det = st["detections"][0]
    host = next(h for h in st["hosts"] if h["name"] == det["host"])
    dev = host["carbonblack"]["device_id"]
    _, d = run(t, cfg, [
        ("by_hash", "cb.devices_by_hash", {"hash": det["sha256"]}),
        ("find", "cb.find_device", {"query": "name:" + host["name"]}),
        ("q", "cb.quarantine", {"device_id": dev}),
    ])
    ids = [x["id"] for x in out(d, "by_hash")["devices"]]
    check(dev in ids, f"devices_by_hash finds {dev}: {ids}")
    out(d, "find")
    out(d, "q")
    h2 = next(h for h in state(base)["hosts"] if h["name"] == host["name"])
    eq(h2["carbonblack"]["quarantined"], True, "quarantined")
    _, d = run(t, cfg, [("r", "cb.release", {"device_id": dev})])
    out(d, "r")


@tap.test(timeout=180)
def cylance(t):
    base = lab(t)
    cfg = config(t, base)
    st = state(base)
    det = st["detections"][0]
    host = next(h for h in st["hosts"] if h["name"] == det["host"])
    _, d = run(t, cfg, [
        ("devs", "cy.devices_with_threat", {"sha256": det["sha256"]}),
        ("lock", "cy.quarantine_device", {"device_id": host["cylance"]["device_id"]}),
        ("gq", "cy.global_quarantine", {"sha256": det["sha256"]}),
    ])
    check(out(d, "devs")["devices"], "devices with the threat")
    out(d, "lock")
    out(d, "gq")
    h2 = next(h for h in state(base)["hosts"] if h["name"] == host["name"])
    eq(h2["cylance"]["lockdown"], True, "locked down")
    check(state(base)["cylance_global_lists"], "global quarantine entry")


@tap.test(timeout=180)
def defender(t):
    base = lab(t)
    cfg = config(t, base)
    st = state(base)
    det = st["detections"][0]
    host = next(h for h in st["hosts"] if h["name"] == det["host"])
    mid = host["defender"]["machine_id"]
    _, d = run(t, cfg, [
        ("m", "mde.machines_by_file", {"hash": det["sha256"]}),
        ("iso", "mde.isolate", {"machine_id": mid}),
        ("ind", "mde.add_indicator", {"value": det["sha256"], "type": "FileSha256"}),
        ("list", "mde.list_indicators", {}),
    ])
    check(mid in [m.get("id") for m in out(d, "m")["machines"]], "machines_by_file")
    eq(out(d, "iso")["machine_id"], mid, "isolate")
    out(d, "ind")
    check(out(d, "list")["indicators"], "indicators listed")
    check(next(h for h in state(base)["hosts"] if h["name"] == host["name"])
          ["defender"]["isolated"], "isolated")
    _, d = run(t, cfg, [("rel", "mde.release", {"machine_id": mid})])
    out(d, "rel")


@tap.test(timeout=180)
def splunk(t):
    base = lab(t)
    cfg = config(t, base)
    det = state(base)["detections"][0]
    _, d = run(t, cfg, [
        ("s", "splunk.search", {"query": "index=notable | head 5"}),
        ("u", "splunk.update_notable", {"ids": [det["splunk_id"]], "status": "5",
                                        "comment": "closed by test"}),
    ])
    check(out(d, "s")["count"] > 0, f"search results: {out(d, 's')}")
    out(d, "u")
    eq(state(base)["detections"][0]["splunk_status"], "5", "notable closed")


@tap.test(timeout=180)
def elastic(t):
    base = lab(t)
    cfg = config(t, base)
    det = state(base)["detections"][0]
    _, d = run(t, cfg, [
        ("s", "es.search", {"q": "*", "size": 5}),
        ("u", "es.update_alert_status", {"ids": [det["elastic_id"]], "status": "closed"}),
    ])
    check(out(d, "s")["hits"], "hits")
    out(d, "u")
    eq(state(base)["detections"][0]["elastic"], "closed", "alert closed")


@tap.test(timeout=180)
def intel(t):
    base = lab(t)
    cfg = config(t, base)
    st = state(base)
    f = next(i for i in st["intel"] if i["kind"] == "file" and i["malicious"])
    _, d = run(t, cfg, [
        ("file", "vt.file_report", {"hash": f["value"]}),
        ("unknown", "vt.file_report", {"hash": "0" * 64}),
        ("url", "vt.url_report", {"url": st["phish"]["url"]}),
        ("dom", "vt.domain_report", {"domain": "payroll-notice.example"}),
        ("ip", "vt.ip_report", {"ip": "203.0.113.9"}),
        ("abuse", "abuse.check", {"ip": "203.0.113.9"}),
        ("misp", "misp.search_attributes", {"value": f["value"]}),
        ("sight", "misp.add_sighting", {"value": f["value"]}),
        ("attr", "misp.add_attribute", {"event_id": "1", "type": "ip-dst",
                                        "value": "198.51.100.7"}),
    ])
    check(out(d, "file")["found"] and out(d, "file")["malicious"] > 0, "VT malicious file")
    eq(out(d, "unknown")["found"], False, "an unknown hash is not found (not clean)")
    check(out(d, "url")["found"], f"url report: {out(d, 'url')}")
    out(d, "dom")
    out(d, "ip")
    check("score" in out(d, "abuse"), "abuseipdb score")
    out(d, "misp")
    out(d, "sight")
    out(d, "attr")


@tap.test(timeout=180)
def identity(t):
    base = lab(t)
    cfg = config(t, base)
    u = state(base)["users"][0]
    _, d = run(t, cfg, [
        ("find", "okta.find_user", {"login": u["login"]}),
        ("susp", "okta.suspend", {"user_id": u["okta_id"]}),
        ("unsusp", "okta.unsuspend", {"user_id": u["okta_id"]}),
        ("clear", "okta.clear_sessions", {"user_id": u["okta_id"]}),
        ("reset", "okta.reset_password", {"user_id": u["okta_id"], "send_email": True}),
        ("revoke", "graph.revoke_sessions", {"user": u["login"]}),
        ("pw", "graph.reset_password", {"user": u["login"]}),
    ])
    eq(out(d, "find")["id"], u["okta_id"], "okta find_user")
    for s in ("reset", "susp", "clear", "unsusp", "revoke", "pw"):
        out(d, s)
    u2 = next(x for x in state(base)["users"] if x["login"] == u["login"])
    eq(u2["okta_sessions_cleared"], 1, "okta sessions cleared")
    eq(u2["okta_password_resets"], 1, "okta password reset")
    eq(u2["graph_sessions_revoked"], 1, "graph sessions revoked")
    eq(u2["graph_password_changes"], 1, "graph password reset")


@tap.test(timeout=240)
def mail(t):
    base = lab(t)
    cfg = config(t, base)
    ph = state(base)["phish"]
    _, d = run(t, cfg, [("s", "graph.search_mail", {"message_id": ph["internetMessageId"]})])
    msgs = out(d, "s")["messages"]
    eq(sorted(m["mailbox"] for m in msgs), sorted(ph["mailboxes"]), "found in every mailbox")
    first = msgs[0]
    _, d = run(t, cfg, [
        ("del", "graph.delete_mail", {"mailbox": first["mailbox"], "id": first["id"]}),
        ("purge", "graph.purge_mail", {"message_id": ph["internetMessageId"]}),
    ])
    out(d, "del")
    eq(out(d, "purge")["count"], len(ph["mailboxes"]) - 1, "the rest purged")
    eq(state(base)["phish"]["live"], 0, "no copy left")


@tap.test(timeout=180)
def chat(t):
    base = lab(t)
    cfg = config(t, base)
    _, d = run(t, cfg, [
        ("slack", "slack.post_message", {"text": "*Riposte* test"}),
        ("teams", "teams.post_message", {"text": "Riposte test", "title": "Case 1",
                                         "facts": {"Host": "WS01"}}),
    ])
    out(d, "slack")
    out(d, "teams")
    eq(len(state(base)["webhooks"]), 2, "two webhook messages")


# --- faults ---------------------------------------------------------------------------


@tap.test(timeout=240)
def faults(t):
    base = lab(t)
    cfg = config(t, base)
    det = state(base)["detections"][0]
    host = next(h for h in state(base)["hosts"] if h["name"] == det["host"])
    aid = host["crowdstrike"]["device_id"]
    path = "/devices/entities/devices-actions/v2"
    # 429 with Retry-After, then 500: retried, then done
    fault(base, path=path, method="POST", kind="429", count=1, retry_after=1)
    fault(base, path=path, method="POST", kind="500", count=1)
    _, d = run(t, cfg, [("c", "cs.contain_host", {"device_id": aid})])
    out(d, "c")
    # 500 on every attempt: a failed step that says so
    fault(base, path=path, method="POST", kind="500", count=10)
    _, d = run(t, cfg, [("c", "cs.lift_containment", {"device_id": aid})], expect_ok=False)
    check("HTTP 500" in failed(d, "c"), f"500 reason: {failed(d, 'c')}")
    http(base + "/_lab/faults", "DELETE")
    # malformed JSON
    fault(base, path="/api/v3/files/*", kind="malformed", count=1)
    _, d = run(t, cfg, [("f", "vt.file_report", {"hash": det["sha256"]})], expect_ok=False)
    check("malformed JSON" in failed(d, "f"), f"malformed reason: {failed(d, 'f')}")
    # slow past the request timeout
    cfg2 = config(t, base, vt={"timeout": "1s", "retries": 0})
    fault(base, path="/api/v3/files/*", kind="slow", count=1, delay_ms=3000)
    _, d = run(t, cfg2, [("f", "vt.file_report", {"hash": det["sha256"]})], expect_ok=False)
    check("timed out" in failed(d, "f"), f"timeout reason: {failed(d, 'f')}")
    # a refused connection
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    cfg3 = config(t, base, abuse={"url": f"http://127.0.0.1:{port}/api/v2", "retries": 1})
    _, d = run(t, cfg3, [("a", "abuse.check", {"ip": "203.0.113.9"})], expect_ok=False)
    check("connection failed" in failed(d, "a"), f"refused reason: {failed(d, 'a')}")
    # wrong credentials: denied with the vendor's status
    t.riposte("secret", "set", "vt_key", input="wrong-key")
    _, d = run(t, cfg, [("f", "vt.file_report", {"hash": det["sha256"]})], expect_ok=False)
    check("HTTP 401" in failed(d, "f"), f"401 reason: {failed(d, 'f')}")


@tap.test
def no_secret_anywhere(t):
    """The runs of all the tests above: no secret in any output or log."""
    check(RUNS, "runs were made")
    for r in RUNS:
        for v in SECRET_VALUES:
            check(v not in r.stdout and v not in r.stderr, f"secret {v!r} in {r!r}")


@tap.test(timeout=120)
def sources_poll_into_cases_through_serve(t):
    """The EDR packs' sources poll the lab from `riposte serve`: their
    detections become alerts and cases (each once, whatever the polls), with
    the vendors' normalizers."""
    base = lab(t)
    cfg = config(t, base, cs={"sources": {"detections": {"every": "1s"}}},
                 mde={"sources": {"alerts": {"every": "1s"}}})
    r = t.riposte("token", "create", "--name", "admin")
    eq(r.code, 0, f"token ({r!r})")
    token = r.stdout.strip()
    port = tap.free_port()
    p = t.spawn("serve", "--listen", f"127.0.0.1:{port}", "--db", t.db, "--config", cfg)

    def cases():
        req = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/cases?limit=1000",
                                     headers={"Authorization": f"Bearer {token}"})
        try:
            with urllib.request.urlopen(req, timeout=5) as resp:
                return json.loads(resp.read())
        except OSError:
            if p.poll() is not None:
                raise tap.Failure(f"serve exited: {t.proc_stderr(p)}")
            return None

    def by_source():
        got = {}
        for src, n in t.sql("SELECT source, count(*) FROM alerts GROUP BY source"):
            got[src] = n
        return got

    tap.wait_until(lambda: cases() is not None and {"crowdstrike", "defender"} <= set(by_source()),
                   60, "alerts from both EDR sources")
    time.sleep(3)  # several more polls: nothing is fetched twice
    first = by_source()
    time.sleep(3)
    eq(by_source(), first, "later polls add nothing (the cursor remembers what was seen)")
    st = state(base)
    check(first["crowdstrike"] >= 1 and first["defender"] >= 1, f"alerts per source: {first}")
    kinds = {k for (k,) in t.sql("SELECT DISTINCT kind FROM alerts")}
    eq(kinds, {"endpoint"}, "normalized as endpoint detections")
    check(len(cases()) >= 1, "cases were opened")
    err = t.proc_stderr(p)
    for v in SECRET_VALUES:
        check(v not in err, "no secret in the daemon's log")
    check(st is not None, "lab state")
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=30)
    # a restarted daemon goes on from the saved positions: nothing again
    eq(sorted(n for (n,) in t.sql("SELECT name FROM source_cursors")),
       ["cs.detections", "mde.alerts"], "each source's position is saved")
    p = t.spawn("serve", "--listen", f"127.0.0.1:{port}", "--db", t.db, "--config", cfg)
    tap.wait_until(lambda: "source.resume" in t.proc_stderr(p) and
                   t.proc_stderr(p).count("source.poll") >= 4, 30, "polls after the restart")
    eq(by_source(), first, "nothing fetched again after the restart")
    p.send_signal(signal.SIGTERM)
    p.wait(timeout=30)


tap.main()

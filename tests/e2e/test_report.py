#!/usr/bin/env python3
"""riposte report, case postmortem, GET /api/v1/kpis and GET /metrics, end to end.

A fixture database is made through the real CLI (ingest with fixed event
times, case update, case postmortem); the report's JSON, CSV and HTML are
checked against it, the HTML is opened in headless Chromium (no console
error; the screenshot is kept in tests/artifacts/), and the daemon's
/api/v1/kpis must equal `report --format json`, and /metrics must parse as
Prometheus text under a strict parser written here."""
import csv
import datetime
import http.client
import io
import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tap  # noqa: E402
from tap import check, eq, fail  # noqa: E402

ARTIFACTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "artifacts")


def day(offset):
    d = datetime.datetime.now(datetime.timezone.utc).date() + datetime.timedelta(days=offset)
    return d.isoformat()


def fixture(t):
    """Three cases: a critical endpoint case resolved by a person with a
    post-mortem, a high phishing case acknowledged, a low auth case open."""
    now = datetime.datetime.now(datetime.timezone.utc)
    ev = [(now - datetime.timedelta(hours=h)).strftime("%Y-%m-%dT%H:%M:%SZ") for h in (2, 3, 4)]
    alerts = [
        {"title": "ransomware <b>", "kind": "endpoint", "severity": 90, "source": "edr",
         "rule": "r1", "event_time": ev[0], "host": {"name": "ws-1"}},
        {"title": "phish", "kind": "phishing", "severity": 70, "source": "mail", "rule": "r2",
         "event_time": ev[1]},
        {"title": "logins", "kind": "auth", "severity": 30, "source": "okta", "rule": "r3",
         "event_time": ev[2]},
    ]
    t.write("a.jsonl", "".join(json.dumps(a) + "\n" for a in alerts))
    r = t.riposte("ingest", "--db", t.db, t.path("a.jsonl"))
    eq(r.code, 0, f"ingest ({r.summary()})")
    cases = {c["title"]: c["id"] for c in t.riposte("case", "list", "--json", "--db", t.db).json()}
    crit, high = cases["ransomware <b>"], cases["phish"]
    r = t.riposte("case", "update", crit, "--status", "resolved", "--actor", "alice", "--db", t.db)
    eq(r.code, 0, f"resolve ({r!r})")
    r = t.riposte("case", "update", high, "--status", "triage", "--actor", "bob", "--db", t.db)
    eq(r.code, 0, f"acknowledge ({r!r})")
    r = t.riposte("case", "postmortem", crit, "--root-cause", "unpatched VPN", "--lesson",
                  "patch faster", "--guard-rail", "budget: 5 contains/h", "--guard-rail",
                  "protect DCs", "--actor", "alice", "--db", t.db)
    eq(r.code, 0, f"postmortem ({r!r})")
    return crit, high, ev


def report(t, fmt, *extra):
    r = t.riposte("report", "--db", t.db, "--from", day(-1), "--to", day(2), "--format", fmt,
                  *extra)
    eq(r.code, 0, f"report --format {fmt} ({r!r})")
    return r


@tap.test
def postmortem_and_case_show(t):
    crit, _, _ = fixture(t)
    r = t.riposte("case", "show", crit, "--json", "--db", t.db)
    pm = r.json()["postmortems"]
    eq(len(pm), 1, "one post-mortem")
    eq(pm[0]["root_cause"], "unpatched VPN", "root cause")
    eq(pm[0]["guard_rails"], ["budget: 5 contains/h", "protect DCs"], "guard rails")
    eq(pm[0]["author"], "alice", "author")
    check(any(e["event"] == "postmortem" for e in r.json()["timeline"]), "on the timeline")
    r = t.riposte("case", "postmortem", crit, "--lesson", "x", "--db", t.db)
    eq(r.code, 2, "--root-cause is required")
    r = t.riposte("case", "update", crit, "--root-cause", "x", "--db", t.db)
    eq(r.code, 2, "--root-cause belongs to postmortem")


@tap.test
def report_json_csv(t):
    crit, high, ev = fixture(t)
    k = report(t, "json").json()
    cur = k["current"]
    eq(cur["cases"]["total"], 3, "cases")
    eq(cur["cases"]["by_status"], {"new": 1, "triage": 1, "contained": 0, "resolved": 1,
                                   "closed": 0, "false_positive": 0}, "by status")
    eq(cur["cases"]["by_severity"], {"critical": 1, "high": 1, "medium": 0, "low": 1,
                                     "info": 0}, "by severity")
    eq(cur["cases"]["by_kind"], {"endpoint": 1, "phishing": 1, "auth": 1}, "by kind")
    eq(cur["automation"], {"resolved": 1, "automated": 0, "with_human": 1, "rate": 0.0},
       "automation: resolved by a person")
    eq(cur["postmortems"]["cases_with"], 1, "cases with a post-mortem")
    eq(cur["postmortems"]["written"], 1, "post-mortems written")
    eq(cur["postmortems"]["guard_rails_added"], 2, "guard rails added")
    eq(cur["sla"]["by_severity"]["critical"]["met"], 1, "critical resolved within 1h")
    eq(cur["sla"]["breached"], 0, "no breach yet")
    eq(cur["times"]["resolve"]["all"]["count"], 1, "one resolved")
    eq(cur["times"]["acknowledge"]["all"]["count"], 2, "two acknowledged")
    # time to detect: created - event time, within the test's own duration
    ttd = cur["times"]["detect"]["by_severity"]["critical"]
    check(7200 - 5 <= ttd["mean_s"] <= 7200 + 120, f"time to detect about 2 h: {ttd}")
    eq(ttd["p50_s"], ttd["mean_s"], "p50 of one value")
    allt = cur["times"]["detect"]["all"]
    eq(allt["count"], 3, "three detect times")
    check(abs(allt["p90_s"] - (4 * 3600 + (ttd["mean_s"] - 7200))) < 2, f"p90: the largest {allt}")
    eq(k["previous"]["cases"]["total"], 0, "previous period empty")
    eq([c["id"] for c in k["open_high_severity_cases"]], [high], "open high cases")

    rows = list(csv.reader(io.StringIO(report(t, "csv").stdout)))
    eq(rows[0], ["name", "segment", "value", "previous"], "CSV header")
    by = {(r[0], r[1]): (r[2], r[3]) for r in rows[1:]}
    eq(by[("cases.total", "all")], ("3", "0"), "CSV cases")
    eq(by[("cases", "severity=critical")], ("1", "0"), "CSV segment")
    eq(by[("postmortems.guard_rails_added", "all")], ("2", "0"), "CSV guard rails")
    check(all(len(r) == 4 for r in rows), "four fields a row")

    r = t.riposte("report", "--db", t.db, "--from", day(1), "--format", "json")
    eq(r.code, 2, "--from without --to")
    r = t.riposte("report", "--db", t.db, "--format", "pdf")
    eq(r.code, 2, "bad format")


class ConsoleError(Exception):
    pass


@tap.test
def report_html_in_chromium(t):
    fixture(t)
    out = t.path("report.html")
    report(t, "html", "--out", out)
    html = open(out, encoding="utf-8").read()
    check("<script" not in html.lower(), "no script")
    check(not re.search(r'(src|href)\s*=\s*"(https?:)?//', html), "no outside asset")
    check("ransomware <b>" not in html, "titles escaped")
    check(html.count("<svg") >= 5, "inline SVG charts")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        tap.skip("chromium not installed (apt-get install chromium)")
    os.makedirs(ARTIFACTS, exist_ok=True)
    shot = os.path.join(ARTIFACTS, "report.png")
    if os.path.exists(shot):
        os.remove(shot)
    cmd = [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--window-size=1200,2400",
           "--enable-logging=stderr", "--v=0", f"--user-data-dir={t.path('chrome')}",
           f"--screenshot={shot}", "file://" + out]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    eq(p.returncode, 0, f"chromium ran ({p.stderr[-400:]!r})")
    console = [ln for ln in p.stderr.splitlines() if "CONSOLE" in ln]
    eq(console, [], "no console message")
    check(os.path.getsize(shot) > 10000, "a screenshot")
    p = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                        f"--user-data-dir={t.path('chrome2')}", "--dump-dom", "file://" + out],
                       capture_output=True, text=True, timeout=120)
    check("Security operations report" in p.stdout, "the DOM has the title")
    check("ransomware &lt;b&gt;" in p.stdout or "ransomware" not in p.stdout,
          "escaped text in the DOM")


# --- a strict Prometheus text (0.0.4) parser -------------------------------------------

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"'
SAMPLE = re.compile(rf"^({NAME})(\{{(?:{LABEL})(?:,{LABEL})*\}})? (\S+)$")


def parse_prom(text):
    check(text.endswith("\n"), "ends with a newline")
    types, helps, samples = {}, {}, []
    for n, line in enumerate(text.split("\n")[:-1], 1):
        if line.startswith("# HELP "):
            name, _, h = line[7:].partition(" ")
            check(re.fullmatch(NAME, name), f"line {n}: HELP name")
            check(name not in helps, f"line {n}: one HELP per family")
            helps[name] = h
        elif line.startswith("# TYPE "):
            name, _, ty = line[7:].partition(" ")
            check(re.fullmatch(NAME, name), f"line {n}: TYPE name")
            check(ty in ("counter", "gauge", "histogram", "summary", "untyped"), f"line {n}: {ty}")
            check(name not in types, f"line {n}: one TYPE per family")
            types[name] = ty
        elif line.startswith("#"):
            continue
        else:
            m = SAMPLE.match(line)
            check(m is not None, f"line {n}: not a sample: {line!r}")
            name, value = m.group(1), m.group(m.lastindex)
            labels = dict(re.findall(LABEL, m.group(2) or ""))
            v = float(value.replace("+Inf", "inf"))
            check(not math.isnan(v), f"line {n}: value")
            fam = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
            check(fam in types, f"line {n}: {name} has no TYPE before it")
            samples.append((name, labels, v, fam))
    # histograms: cumulative buckets ending at +Inf == _count
    for fam, ty in types.items():
        if ty == "counter":
            for s in samples:
                if s[3] == fam:
                    check(s[2] >= 0, f"{fam}: counter negative")
        if ty != "histogram":
            continue
        series = {}
        for name, labels, v, f in samples:
            if f != fam:
                continue
            key = tuple(sorted((k, x) for k, x in labels.items() if k != "le"))
            series.setdefault(key, {"b": [], "sum": None, "count": None})
            if name == fam + "_bucket":
                series[key]["b"].append((float(labels["le"].replace("+Inf", "inf")), v))
            elif name == fam + "_sum":
                series[key]["sum"] = v
            elif name == fam + "_count":
                series[key]["count"] = v
            else:
                fail(f"{name}: not a histogram sample of {fam}")
        for key, s in series.items():
            les = [b[0] for b in s["b"]]
            eq(les, sorted(les), f"{fam}{key}: buckets in order")
            check(les and les[-1] == math.inf, f"{fam}{key}: a +Inf bucket")
            counts = [b[1] for b in s["b"]]
            eq(counts, sorted(counts), f"{fam}{key}: cumulative")
            eq(counts[-1], s["count"], f"{fam}{key}: +Inf == _count")
            check(s["sum"] is not None, f"{fam}{key}: _sum")
    return types, samples


@tap.test
def api_kpis_and_metrics(t):
    fixture(t)
    token = t.riposte("token", "create", "--name", "admin", "--role", "admin").stdout.strip()
    viewer = t.riposte("token", "create", "--name", "v", "--role", "viewer").stdout.strip()
    port = tap.free_port()
    p = t.spawn("serve", "--listen", f"127.0.0.1:{port}", "--db", t.db)

    def req(method, path, body=None, tok=token):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        h = {"Content-Type": "application/json"}
        if tok:
            h["Authorization"] = f"Bearer {tok}"
        c.request(method, path, body, h)
        resp = c.getresponse()
        return resp.status, resp.getheader("Content-Type"), resp.read()

    def up():
        if p.poll() is not None:
            fail(f"serve exited: {t.proc_stderr(p)!r}")
        try:
            return req("GET", "/healthz")[0] == 200
        except OSError:
            return False

    try:
        tap.wait_until(up, 20, "serve")
        st, _, _ = req("POST", "/api/v1/alerts", json.dumps(
            {"title": "x", "kind": "network", "severity": 10, "source": "ids", "rule": "r9"}))
        eq(st, 202, "an alert over HTTP")
        st, _, _ = req("POST", "/api/v1/alerts", b"{not json")
        check(st in (202, 400, 422), f"a bad alert is refused or counted ({st})")
        st, _, body = req("GET", f"/api/v1/kpis?from={day(-1)}&to={day(2)}")
        eq(st, 200, f"kpis ({body[:200]!r})")
        api = json.loads(body)
        cli = report(t, "json").json()
        for k in (api, cli):
            k.pop("generated")
        api_cur = api["current"]
        eq(api_cur["cases"]["total"], 4, "the HTTP alert made a fourth case")
        eq(api, cli, "GET /api/v1/kpis equals report --format json")
        st, _, _ = req("GET", "/api/v1/kpis?since=xx")
        eq(st, 400, "bad since")
        st, _, _ = req("GET", "/api/v1/kpis?bogus=1")
        eq(st, 400, "unknown parameter")
        st, _, _ = req("GET", "/metrics", tok=None)
        eq(st, 401, "/metrics needs a token")
        st, ctype, body = req("GET", "/metrics", tok=viewer)
        eq(st, 200, "/metrics with a viewer token")
        check(ctype.startswith("text/plain; version=0.0.4"), f"content type {ctype}")
        types, samples = parse_prom(body.decode())
        for fam in ("riposte_ingest_alerts_total", "riposte_runs_finished_total",
                    "riposte_actions_total", "riposte_guard_decisions_total",
                    "riposte_ingest_queue_depth", "riposte_engine_runs_in_memory",
                    "riposte_ingest_commit_seconds", "riposte_steps_total"):
            check(fam in types, f"{fam} is served")
        acc = [s for s in samples if s[0] == "riposte_ingest_alerts_total" and
               s[1] == {"channel": "http", "result": "accepted"}]
        eq([s[2] for s in acc], [1.0], "one alert accepted over http")
        check(any(s[0] == "riposte_ingest_commit_seconds_count" and s[2] >= 1 for s in samples),
              "the commit histogram counted")
        # the guard endpoints
        st, _, body = req("GET", "/api/v1/guard", tok=viewer)
        eq((st, json.loads(body)["kill_switch"]), (200, "off"), "guard state")
        st, _, _ = req("POST", "/api/v1/guard/stop", tok=viewer)
        eq(st, 403, "a viewer may not stop")
        st, _, body = req("POST", "/api/v1/guard/stop")
        eq(st, 200, f"stop ({body!r})")
        g = json.loads(body)
        eq((g["kill_switch"], g["changed_by"]), ("stopped", "api:admin"), "stopped by the token")
        st, _, body = req("POST", "/api/v1/guard/resume")
        eq((st, json.loads(body)["kill_switch"]), (200, "off"), "resumed")
        st, _, _ = req("GET", "/api/v1/guard/stop")
        eq(st, 405, "stop is a POST")
    finally:
        p.send_signal(signal.SIGTERM)
        p.wait(timeout=30)


if __name__ == "__main__":
    tap.main()

#!/usr/bin/env python3
"""test_corpus_vendor.py: vendor alerts and auth events through the real binary
(`riposte parse`), against docs/vendors.md.

Over every file of <repo>/../shared/corpus/alerts/** and
auth/{okta,azure-signin,windows}/** (each test is skipped when that folder is
absent): every event parses, with the vendor detected and with --format
<vendor>, to one alert whose source is the vendor; and the fields each vendor
documents are checked against the event itself, read here in Python by the
vendor's own field names (host, user, source address, hashes, process,
severity mapping, kind, event time, raw). Files hold one object, NDJSON, or a
wrapper the test opens: the Defender API's OData collection {"value": [...]},
a Panther test case {"Log": {...}}. The Microsoft Docs 4625 snippet is not XML
(Markdown tree markers) and must be refused, not half-parsed. The project's own
fixtures (the fuzz seeds of tests/fuzz/corpus/vendor and winevent) run
everywhere.

Environment: RIPOSTE_BIN, the binary to run. Standard library only.
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tap  # noqa: E402
from tap import check, eq, fail  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
CORPUS = os.path.abspath(os.path.join(REPO, "..", "shared", "corpus"))
SEEDS = os.path.join(REPO, "tests", "fuzz", "corpus")

LABELS = {"informational": 10, "info": 10, "low": 30, "medium": 50, "high": 70, "critical": 90}

# --- the corpus ------------------------------------------------------------------


def vendor_of(rel):
    """The vendor a corpus file's events belong to, from where it sits."""
    parts = rel.split(os.sep)
    if parts[0] == "alerts":
        if parts[1] == "defender" and "microsoft-graph" in parts[-1]:
            return "msgraph"
        return parts[1]
    return {"okta": "okta", "azure-signin": "azuread", "windows": "windows"}[parts[1]]


def corpus_files(sub):
    """(relative path, vendor) of the files under corpus/sub, or a skip."""
    root = os.path.join(CORPUS, sub)
    if not os.path.isdir(root):
        tap.skip(f"no corpus at {root}")
    out = []
    for d, _, names in os.walk(root):
        for n in sorted(names):
            if n.endswith(("LICENSE.txt", ".md")):
                continue
            rel = os.path.relpath(os.path.join(d, n), CORPUS)
            out.append((rel, vendor_of(rel)))
    if not out:
        tap.skip(f"no files under {root}")
    return sorted(out)


def events(path):
    """The events of a JSON file: one object, NDJSON, or inside a wrapper."""
    with open(path, "rb") as f:
        text = f.read().decode("utf-8")
    try:
        docs = [json.loads(text)]
    except ValueError:
        docs = [json.loads(line) for line in text.splitlines() if line.strip()]
    out = []
    for d in docs:
        if isinstance(d, dict) and isinstance(d.get("value"), list) and "@odata.context" in d:
            out += d["value"]  # an OData collection of the Defender API
        elif isinstance(d, dict) and isinstance(d.get("Log"), dict):
            out.append(d["Log"])  # a Panther test case
        elif isinstance(d, list):
            out += d
        else:
            out.append(d)
    return out


def parse(t, path, fmt=None):
    args = ["parse"] + (["--format", fmt] if fmt else []) + [path]
    r = t.riposte(*args)
    alerts = []
    for line in r.stdout.splitlines():
        if line.strip():
            try:
                alerts.append(json.loads(line))
            except ValueError as e:
                fail(f"{os.path.basename(path)}: output is not JSON ({e}): {line[:200]!r}")
    return alerts, r


def one_alert(t, path, fmt=None):
    alerts, r = parse(t, path, fmt)
    if len(alerts) != 1 or r.code != 0:
        fail(f"{os.path.basename(path)} (--format {fmt or 'auto'}): expected one alert, got "
             f"{len(alerts)} (exit {r.code}, stderr {tap.shorten(r.stderr, 400)!r})")
    return alerts[0]


def get(d, path, default=None):
    """d at a dotted path; keys matched case-insensitively, as the product does."""
    cur = d
    for part in path.split("."):
        if not isinstance(cur, dict):
            return default
        if part in cur:
            cur = cur[part]
            continue
        low = {k.lower(): v for k, v in cur.items()}
        if part.lower() not in low:
            return default
        cur = low[part.lower()]
    return cur


def field(a, path):
    return get(a, path)


def expect(a, path, want, what):
    eq(field(a, path), want, f"{what}: {path}")


def day(ts):
    """The UTC date of a vendor time string, as the alert should carry it."""
    return str(ts)[:10]


def nonzero(h):
    return isinstance(h, str) and h.strip("0") != ""


# --- per-vendor checks: the vendor's documented fields, read here -----------------


def check_crowdstrike(ev, a, what):
    e = ev.get("event", ev)
    eq(a["kind"], "endpoint", f"{what}: kind")
    expect(a, "rule", e.get("DetectName") or e.get("Name"), what)
    want = LABELS.get(str(e.get("SeverityName", "")).lower())
    if want is not None:
        eq(a["severity"], want, f"{what}: severity from SeverityName {e.get('SeverityName')!r}")
    host = e.get("ComputerName") or e.get("Hostname")
    if host:
        expect(a, "host.name", host.lower(), what)
    if e.get("LocalIP"):
        expect(a, "host.ip", e["LocalIP"], what)
    if e.get("UserName"):
        expect(a, "user.name", e["UserName"].split("\\")[-1], what)
    expect(a, "process.name", e.get("FileName"), what)
    expect(a, "process.cmdline", e.get("CommandLine"), what)
    for k, dst in (("SHA256String", "process.sha256"), ("MD5String", "process.md5")):
        if nonzero(e.get(k)):
            expect(a, dst, e[k].lower(), what)
    check(field(a, "process.pid") is None, f"{what}: Falcon's ProcessId is no pid")
    when = get(ev, "metadata.eventCreationTime") or e.get("UTCTimestamp") or e.get("timestamp")
    if isinstance(when, str):
        eq(day(a["event_time"]), day(when), f"{what}: event_time date")


def check_carbonblack(ev, a, what):
    eq(a["kind"], "endpoint", f"{what}: kind")
    eq(a["severity"], min(100, ev["severity"] * 10), f"{what}: severity {ev['severity']} x 10")
    if ev["type"] == "WATCHLIST" and ev.get("report_name"):
        expect(a, "rule", ev["report_name"], what)
    else:
        expect(a, "rule", ev.get("reason_code") or ev["type"], what)
    expect(a, "host.name", ev["device_name"].split("\\")[-1].lower(), what)
    expect(a, "host.id", str(ev["device_id"]), what)
    expect(a, "host.ip", ev.get("device_internal_ip"), what)
    sha = ev.get("process_sha256") or ev.get("threat_cause_actor_sha256")
    expect(a, "process.sha256", sha.lower(), what)
    if ev.get("process_md5"):
        expect(a, "process.md5", ev["process_md5"].lower(), what)
    if isinstance(ev.get("process_pid"), int):
        expect(a, "process.pid", ev["process_pid"], what)
    if isinstance(ev.get("parent_pid"), int):
        expect(a, "process.parent.pid", ev["parent_pid"], what)
    user = ev.get("process_username") or ev.get("device_username")
    expect(a, "user.name", user.split("\\")[-1], what)
    first = ev.get("first_event_timestamp") or ev.get("first_event_time")
    eq(day(a["event_time"]), day(first), f"{what}: event_time date")
    check(ev["id"] == field(a, "extra.carbonblack.id"), f"{what}: extra.carbonblack.id")


def check_defender(ev, a, what):
    if "properties" in ev:  # the streaming API
        p = ev["properties"]
        expect(a, "rule", p["Title"], what)
        eq(a["severity"], LABELS[p["Severity"].lower()], f"{what}: severity {p['Severity']}")
        if p.get("DeviceName"):
            expect(a, "host.name", p["DeviceName"].lower(), what)
            expect(a, "host.id", p.get("DeviceId"), what)
        eq(day(a["event_time"]), day(p["Timestamp"]), f"{what}: event_time date")
        expect(a, "extra.defender.AlertId", p["AlertId"], what)
        return
    eq(a["kind"], "endpoint", f"{what}: kind")
    expect(a, "rule", ev["title"], what)
    eq(a["severity"], LABELS[ev["severity"].lower()], f"{what}: severity {ev['severity']}")
    expect(a, "host.id", ev["machineId"], what)
    eq(day(a["event_time"]), day(ev["firstEventTime"]), f"{what}: event_time date")
    expect(a, "extra.defender.incidentId", ev["incidentId"], what)


def check_msgraph(ev, a, what):
    expect(a, "rule", ev["title"], what)
    eq(a["severity"], LABELS[ev["severity"].lower()], f"{what}: severity {ev['severity']}")
    if "Identity" in ev.get("serviceSource", ""):
        eq(a["kind"], "auth", f"{what}: kind of an identity alert")
    for e in ev.get("evidence") or []:
        upn = get(e, "userAccount.userPrincipalName")
        if upn:
            expect(a, "user.email", upn.lower(), what)
    first = ev.get("firstActivityDateTime") or ev.get("createdDateTime")
    eq(day(a["event_time"]), day(first), f"{what}: event_time date")


def check_splunk(ev, a, what):
    r = ev.get("result", ev)
    expect(a, "rule", r.get("search_name") or ev.get("search_name"), what)
    kinds = {"access": "auth", "identity": "auth", "endpoint": "endpoint", "network": "network"}
    eq(a["kind"], kinds.get(r.get("security_domain"), "other"), f"{what}: kind")
    eq(a["severity"], LABELS[r["urgency"]], f"{what}: severity from urgency {r['urgency']}")
    expect(a, "user.name", r.get("user"), what)
    expect(a, "extra.splunk.event_id", r.get("event_id"), what)
    check(field(a, "host.ip") is None, f"{what}: the anonymised dest_ip is dropped, not kept")
    check("host.ip" in (field(a, "extra.splunk.dropped") or []), f"{what}: the drop is named")
    eq(day(a["event_time"]), day(r["_time"]), f"{what}: event_time date")


def check_okta(ev, a, what):
    eq(a["kind"], "auth", f"{what}: kind")
    expect(a, "rule", get(ev, "eventType"), what)
    expect(a, "title", get(ev, "displayMessage"), what)
    expect(a, "src.ip", get(ev, "client.ipAddress"), what)
    expect(a, "src.geo.city", get(ev, "client.geographicalContext.city"), what)
    expect(a, "src.geo.country", get(ev, "client.geographicalContext.country"), what)
    if get(ev, "actor.type") == "User":
        expect(a, "user.name", get(ev, "actor.alternateId"), what)
        expect(a, "user.email", get(ev, "actor.alternateId").lower(), what)
    result = get(ev, "outcome.result")
    want = {"SUCCESS": "success", "ALLOW": "success", "FAILURE": "failure", "DENY": "failure"}
    if get(ev, "eventType") == "user.account.lock":
        expect(a, "auth.result", "locked", what)
        check(a["severity"] >= 50, f"{what}: a lock is at least medium")
    elif result in want:
        expect(a, "auth.result", want[result], what)
    if result in ("FAILURE", "DENY"):
        check(a["severity"] >= 30, f"{what}: a failure is at least low, got {a['severity']}")
    expect(a, "auth.reason", get(ev, "outcome.reason"), what)
    eq(day(a["event_time"]), day(get(ev, "published")), f"{what}: event_time date")
    expect(a, "extra.okta.uuid", get(ev, "uuid"), what)


def check_azuread(ev, a, what):
    p = ev.get("properties", ev)
    eq(a["kind"], "auth", f"{what}: kind")
    code = p["status"]["errorCode"]
    expect(a, "user.name", p["userPrincipalName"], what)
    expect(a, "user.email", p["userPrincipalName"].lower(), what)
    expect(a, "src.ip", p.get("ipAddress") or ev.get("callerIpAddress"), what)
    expect(a, "auth.result", "success" if code == 0 else "failure", what)
    if code:
        check(str(code) in a["rule"], f"{what}: the rule names error {code}: {a['rule']!r}")
        expect(a, "auth.reason", p["status"].get("failureReason"), what)
    eq(a["severity"], 10 if code == 0 else 50 if code == 50053 else 30,
       f"{what}: severity of error {code}")
    country = get(p, "location.countryOrRegion")
    if country:
        expect(a, "src.geo.country_code", country, what)
    eq(day(a["event_time"]), day(p.get("createdDateTime") or ev["time"]), f"{what}: event_time")


def check_windows_json(ev, a, what):
    eid = int(ev["EventID"])
    data = ev.get("EventData") or ev.get("ExtraEventData") or {}
    expect(a, "rule", f"Windows {eid}", what)
    expect(a, "host.name", ev["Computer"].lower(), what)
    expect(a, "extra.windows.event_id", eid, what)
    if eid == 4688:
        eq(a["kind"], "other", f"{what}: kind of a process creation")
        expect(a, "process.path", data["NewProcessName"], what)
        expect(a, "process.name", data["NewProcessName"].split("\\")[-1], what)
        expect(a, "process.pid", int(data["NewProcessId"], 16), what)
        expect(a, "process.cmdline", data["CommandLine"], what)
        expect(a, "process.parent.name", data["ParentProcessName"].split("\\")[-1], what)
        expect(a, "user.name", data["SubjectUserName"], what)
        expect(a, "user.domain", data["SubjectDomainName"], what)
    eq(day(a["event_time"]), day(ev["TimeCreated"]), f"{what}: event_time date")


CHECKS = {
    "crowdstrike": check_crowdstrike,
    "carbonblack": check_carbonblack,
    "defender": check_defender,
    "msgraph": check_msgraph,
    "splunk": check_splunk,
    "okta": check_okta,
    "azuread": check_azuread,
    "windows": check_windows_json,
}

# --- the tests ----------------------------------------------------------------------


def run_json_file(t, rel, vendor):
    """Every event of one JSON corpus file: detected, forced, and checked."""
    events_ = events(os.path.join(CORPUS, rel))
    check(events_, f"{rel}: no events")
    for i, ev in enumerate(events_):
        what = f"{rel} event {i + 1}"
        p = t.write(f"event{i}.json", ev)
        a = one_alert(t, p)
        eq(a["source"], vendor, f"{what}: source (the vendor detected)")
        eq(a.get("raw"), ev, f"{what}: raw is the vendor's document")
        b = one_alert(t, p, vendor)
        for k in ("id", "received_time"):
            a.pop(k, None)
            b.pop(k, None)
        eq(b, a, f"{what}: --format {vendor} gives the same alert")
        CHECKS[vendor](ev, a, what)


def run_other_file(t, rel, vendor):
    path = os.path.join(CORPUS, rel)
    if rel.endswith("verbatim-snippet.txt"):
        # Markdown tree markers make it no XML: refused line by line, never
        # half-parsed into a Windows alert
        alerts, r = parse(t, path)
        eq(alerts, [], f"{rel}: alerts from a document that is not XML")
        check(r.code != 0, f"{rel}: exit status 0 for rejected records")
        r = t.riposte("parse", "--format", "winxml", path)
        check(r.code != 0 and "windows: XML line" in r.stderr,
              f"{rel}: --format winxml must name the XML error: {r!r}")
        return
    if rel.endswith(".xml"):
        a = one_alert(t, path)
        b = one_alert(t, path, "winxml")
        eq(a["source"], "windows", f"{rel}: source")
        eq(b["fingerprint"], a["fingerprint"], f"{rel}: --format winxml gives the same alert")
        with open(path, encoding="utf-8") as f:
            eq(a["raw"], f.read(), f"{rel}: raw is the XML text")
        if "4625" in rel:
            eq(a["kind"], "auth", f"{rel}: kind")
            expect(a, "rule", "Windows 4625", rel)
            expect(a, "host.name", "dc01.contoso.local", rel)
            expect(a, "user.name", "Auditor", rel)
            expect(a, "user.domain", "CONTOSO", rel)
            expect(a, "src.ip", "127.0.0.1", rel)
            check(field(a, "src.port") is None, f"{rel}: IpPort 0 is no port")
            expect(a, "auth.result", "failure", rel)
            expect(a, "auth.method", "Interactive", rel)
            check("0xc0000234" in field(a, "auth.reason"), f"{rel}: auth.reason names the status")
            expect(a, "process.path", "C:\\Windows\\System32\\winlogon.exe", rel)
            expect(a, "process.pid", 0x1BC, rel)
            eq(a["event_time"], "2015-09-08T22:54:54.962Z", f"{rel}: event_time")
            eq(a["severity"], 30, f"{rel}: severity of a failed logon")
        return
    if vendor == "cylance":
        # CylancePROTECT syslog (ingest/cylance_syslog.c): a device event is no
        # threat and is counted as ignored; a threat would be a cylance alert
        alerts, r = parse(t, path)
        eq(r.code, 0, f"{rel}: exit status; stderr {r.stderr!r}")
        for a in alerts:
            eq(a["source"], "cylance", f"{rel}: source")
        check(alerts or "1 ignored" in r.stderr, f"{rel}: neither an alert nor ignored: {r!r}")
        return
    fail(f"{rel}: no test for this kind of file")


def run_dir(t, sub):
    for rel, vendor in corpus_files(sub):
        if rel.endswith((".json", ".ndjson")):
            run_json_file(t, rel, vendor)
        else:
            run_other_file(t, rel, vendor)


def make_dir_test(sub):
    def fn(t):
        run_dir(t, sub)

    fn.__name__ = "corpus_" + sub.replace("/", "_").replace("-", "_")
    return fn


for sub in ("alerts/crowdstrike", "alerts/carbonblack", "alerts/defender", "alerts/splunk",
            "alerts/cylance", "auth/okta", "auth/azure-signin", "auth/windows"):
    tap.test(make_dir_test(sub))


@tap.test
def corpus_wrong_vendor_refused(t):
    """A vendor named with --format that is not the document's: refused, and
    the message says what was looked for."""
    files = [r for r, v in corpus_files("auth/okta")]
    r = t.riposte("parse", "--format", "crowdstrike", os.path.join(CORPUS, files[0]))
    check(r.code != 0, f"exit status 0: {r!r}")
    check("not a crowdstrike document" in r.stderr, f"stderr: {r.stderr!r}")
    eq(r.stdout.strip(), "", "stdout")


# What each envelope seed holds (the bad elements are rejected and named).
ENVELOPE_SEEDS = {
    "envelope-defender.json": ["defender", "defender"],
    "envelope-graph.json": ["msgraph"],
    "envelope-crowdstrike.json": ["crowdstrike"],
    "envelope-carbonblack.json": ["carbonblack", "carbonblack"],
    "envelope-cylance.json": ["cylance"],
    "envelope-splunk.json": ["splunk"],
    "envelope-elastic.json": ["elastic", "windows"],
}


@tap.test
def seeds_vendor(t):
    """The project's own vendor fixtures: each file's name says its vendor."""
    d = os.path.join(SEEDS, "vendor")
    names = sorted(os.listdir(d))
    check(len(names) >= 10, f"only {len(names)} seeds in {d}")
    for n in names:
        path = os.path.join(d, n)
        vendor = n.split("-")[0].split(".")[0]
        alerts, r = parse(t, path)
        if n == "crowdstrike-audit.json":
            eq(alerts, [], f"{n}: an audit event is no detection")
            check("is not a detection" in r.stderr, f"{n}: stderr {r.stderr!r}")
            continue
        if n.startswith("envelope-"):
            # an API list response: one alert per element, each its vendor's
            want = ENVELOPE_SEEDS[n]
            eq(sorted(a["source"] for a in alerts), sorted(want), f"{n}: sources of the elements")
            check(("element" in r.stderr) == (n in ("envelope-defender.json",
                                                    "envelope-crowdstrike.json",
                                                    "envelope-cylance.json")),
                  f"{n}: rejected elements named: {r.stderr!r}")
            continue
        if n == "normalized-alert.json":
            eq(len(alerts), 1, f"{n}: alerts")
            check(alerts[0]["source"] not in CHECKS, f"{n}: taken for a vendor's")
            continue
        eq(len(alerts), 1, f"{n}: alerts (exit {r.code}, stderr {tap.shorten(r.stderr)!r})")
        eq(alerts[0]["source"], vendor, f"{n}: source")


@tap.test
def seeds_winevent(t):
    """The project's own Event XML fixtures: events parse, hostile or broken
    documents are refused with a reason."""
    d = os.path.join(SEEDS, "winevent")
    refused = {"doctype.xml": "DOCTYPE is not allowed", "utf16-doctype.xml": "DTD is not allowed",
               "truncated.xml": "XML line",
               "utf16-long-name.xml": "field 1 has a name of 150 bytes (limit 127)"}
    # an <Events> export is one alert per event (several-events.xml has a bad one)
    several = {"events-root.xml": 1, "several-events.xml": 3, "wevtutil-concat.xml": 2,
               "events-utf16.xml": 3}
    for n in sorted(os.listdir(d)):
        alerts, r = parse(t, os.path.join(d, n), "winxml")
        if n in refused:
            eq(alerts, [], f"{n}: alerts")
            check(refused[n] in r.stderr, f"{n}: stderr lacks {refused[n]!r}: {r.stderr!r}")
            continue
        if n in several:
            eq(len(alerts), several[n], f"{n}: alerts (stderr {tap.shorten(r.stderr)!r})")
            continue
        eq(len(alerts), 1, f"{n}: alerts (stderr {tap.shorten(r.stderr)!r})")
        eq(alerts[0]["source"], "windows", f"{n}: source")


tap.main()

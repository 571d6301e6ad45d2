#!/usr/bin/env python3
"""test_cli.py: end-to-end tests of the riposte command line (ingest, case,
help, --version) against the contract of the first issue. Each test runs the
real binary (RIPOSTE_BIN) in its own temp directory with its own database and
checks exit codes, the JSON it prints, and what ended up in the database.

    RIPOSTE_BIN=build/riposte python3 tests/e2e/test_cli.py [TEST...]
"""

import json
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tap  # noqa: E402
from tap import check, contains, eq, fail, test  # noqa: E402

STATUSES = ["new", "triage", "contained", "resolved", "closed", "false_positive"]
ULID_RE = re.compile(r"^[0-9A-HJKMNP-TV-Z]{26}$", re.I)
SHA256_EMPTY = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
RFC3339_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")


def alert(rule="suspicious-powershell", hostname="ws-01", username="alice", **kw):
    """An endpoint alert; keyword arguments add or replace fields (None drops)."""
    a = {
        "kind": "endpoint",
        "rule": rule,
        "title": f"{rule} on {hostname}",
        "severity": 50,
        "host": {"name": hostname, "ip": "10.0.0.5"},
        "user": {"name": username},
    }
    for k, v in kw.items():
        if v is None:
            a.pop(k, None)
        else:
            a[k] = v
    return a


def ndjson(*records):
    return "".join(json.dumps(r) + "\n" for r in records)


def ingest(t, *args, input=None, env=None):
    return t.riposte("ingest", *args, input=input, env=env)


def expect_summary(r, code, **counts):
    """Checks the exit code and the given summary counts exactly."""
    if r.code != code:
        fail(f"exit code: expected {code}, got {r.code}; {r!r}")
    s = r.summary()
    for k in ("accepted", "rejected", "cases_created", "cases_updated"):
        check(isinstance(s.get(k), int), f"summary lacks integer {k!r}: {s!r}")
    for k, v in counts.items():
        eq(s.get(k), v, f"summary {k} (summary {s})")
    return s


def cases(t, *args):
    """`case list --json` as a list of case objects (a bare array or {"cases": [...]})."""
    r = t.riposte("case", "list", "--json", *args)
    eq(r.code, 0, f"case list exit code ({r!r})")
    v = r.json()
    if isinstance(v, dict) and isinstance(v.get("cases"), list):
        v = v["cases"]
    check(isinstance(v, list), f"case list --json: expected an array of cases, got {shorten(v)}")
    return v


def show(t, case_id):
    r = t.riposte("case", "show", case_id, "--json")
    eq(r.code, 0, f"case show exit code ({r!r})")
    v = r.json()
    check(isinstance(v, dict), f"case show --json: expected an object, got {shorten(v)}")
    return v


def shorten(v):
    return tap.shorten(json.dumps(v) if not isinstance(v, str) else v)


def only_case(t):
    cs = cases(t)
    eq(len(cs), 1, f"number of cases ({[c.get('id') for c in cs]})")
    return cs[0]


def count(t, table):
    return t.sql(f"SELECT count(*) FROM {table}")[0][0]


def stderr_line(r, *needles, number=None):
    """The stderr line holding every needle (and "record N" or "line N"; a bare
    number could match the random part of the temporary directory's name)."""
    for line in r.stderr.splitlines():
        if all(n in line for n in needles) and (
                number is None or re.search(rf"\b(record|line) {number}(?![0-9])", line)):
            return line
    fail(f"no stderr line with {needles!r}" + (f" and {number}" if number else "") +
         f"; stderr was {tap.shorten(r.stderr)!r}")


# --- the binary's face -----------------------------------------------------------


@test
def version(t):
    r = t.riposte("--version")
    eq(r.code, 0, "exit code")
    check(re.search(r"\d+\.\d+\.\d+", r.stdout), f"no version number in {r.stdout!r}")


@test
def help_overview(t):
    r = t.riposte("help")
    eq(r.code, 0, "exit code")
    for cmd in ("ingest", "case", "serve", "token"):
        contains(r.stdout, cmd, "help lists the commands")


@test
def help_command(t):
    r = t.riposte("help", "ingest")
    eq(r.code, 0, "help ingest exit code")
    contains(r.stdout, "--db", "help ingest")
    r = t.riposte("help", "case")
    eq(r.code, 0, "help case exit code")
    contains(r.stdout, "update", "help case")
    r = t.riposte("help", "no-such-command")
    eq(r.code, 2, "help of an unknown command: usage error")
    check(r.stderr.strip(), "help of an unknown command says why on stderr")


@test
def usage_errors_exit_2(t):
    f = t.write("a.json", alert())
    for args in (["no-such-command"], ["ingest"], ["ingest", "--no-such-flag", f],
                 ["ingest", "--db"], ["case", "frobnicate"], ["case", "update"]):
        r = t.riposte(*args)
        eq(r.code, 2, f"riposte {' '.join(args)}: exit code ({r!r})")
        check(r.stderr.strip(), f"riposte {' '.join(args)}: a message on stderr")
    # nothing was ingested by the failed calls
    r = t.riposte("case", "list", "--json")
    if r.code == 0:
        eq(len(cases(t)), 0, "cases after usage errors")


@test
def ingest_missing_file_exit_2(t):
    r = ingest(t, t.path("nope.json"))
    eq(r.code, 2, f"exit code ({r!r})")
    contains(r.stderr, "nope.json", "stderr names the missing file")


# --- ingest: input shapes ----------------------------------------------------------


@test
def ingest_single_object(t):
    f = t.write("one.json", json.dumps(alert(), indent=2))  # pretty, over several lines
    r = ingest(t, "--db", t.db, f)
    expect_summary(r, 0, accepted=1, rejected=0, cases_created=1, cases_updated=0)
    eq(count(t, "alerts"), 1, "alerts stored")
    c = only_case(t)
    eq(c["alert_count"], 1, "alert_count")
    eq(c["status"], "new", "status of a new case")
    eq(c["severity"], 50, "severity")
    eq(c["severity_label"], "medium", "severity_label")
    check(ULID_RE.match(c["id"]), f"case id is a ULID: {c['id']!r}")


@test
def ingest_array(t):
    f = t.write("arr.json", [alert(rule="r1"), alert(rule="r2"), alert(rule="r3")])
    r = ingest(t, f)
    expect_summary(r, 0, accepted=3, rejected=0, cases_created=3, cases_updated=0)
    eq(count(t, "alerts"), 3, "alerts stored")
    eq(sorted(c["alert_count"] for c in cases(t)), [1, 1, 1], "alert counts")


@test
def ingest_ndjson(t):
    f = t.write("a.ndjson", ndjson(alert(), alert(), alert(rule="other"), alert()))
    r = ingest(t, f)
    expect_summary(r, 0, accepted=4, rejected=0, cases_created=2, cases_updated=2)
    eq(sorted(c["alert_count"] for c in cases(t)), [1, 3], "alert counts")


@test
def ingest_ndjson_crlf_and_blank_lines(t):
    data = "\r\n".join(json.dumps(a) for a in (alert(rule="a"), alert(rule="b"))) + "\r\n\r\n"
    r = ingest(t, t.write("crlf.ndjson", data))
    expect_summary(r, 0, accepted=2, rejected=0, cases_created=2)


@test
def ingest_stdin(t):
    r = ingest(t, "-", input=ndjson(alert(rule="a"), alert(rule="b")))
    expect_summary(r, 0, accepted=2, rejected=0, cases_created=2, cases_updated=0)
    eq(count(t, "alerts"), 2, "alerts stored")


@test
def ingest_several_files(t):
    f1 = t.write("1.json", alert())
    f2 = t.write("2.ndjson", ndjson(alert(), alert(rule="x")))
    r = ingest(t, f1, f2)
    expect_summary(r, 0, accepted=3, rejected=0, cases_created=2, cases_updated=1)


@test
def ingest_many_records_one_case(t):
    n = 5000
    r = ingest(t, t.write("many.ndjson", ndjson(*[alert() for _ in range(n)])))
    expect_summary(r, 0, accepted=n, rejected=0, cases_created=1, cases_updated=n - 1)
    eq(only_case(t)["alert_count"], n, "alert_count")
    eq(count(t, "alerts"), n, "alerts stored")


# --- correlation ----------------------------------------------------------------------


@test
def duplicates_join_one_case(t):
    f = t.write("a.json", alert())
    expect_summary(ingest(t, f), 0, accepted=1, cases_created=1, cases_updated=0)
    expect_summary(ingest(t, f), 0, accepted=1, cases_created=0, cases_updated=1)
    expect_summary(ingest(t, f), 0, accepted=1, cases_created=0, cases_updated=1)
    c = only_case(t)
    eq(c["alert_count"], 3, "alert_count")
    s = show(t, c["id"])
    eq(s["alerts_total"], 3, "alerts_total")
    eq(len(s["alerts"]), 3, "alerts listed")
    eq(count(t, "alerts"), 3, "alerts stored")
    check(s["timeline_total"] >= 3, f"a timeline entry per alert at least: {s['timeline']}")


@test
def same_alert_id_stored_once(t):
    a = alert(id="01JDQ5Z3K4M5N6P7Q8R9S0T1V2")
    f = t.write("a.json", a)
    expect_summary(ingest(t, f), 0, accepted=1, rejected=0, cases_created=1)
    r = ingest(t, f)
    s = expect_summary(r, 0, rejected=0, cases_created=0)
    if "duplicates" in s:
        eq(s["duplicates"], 1, "duplicates")
    eq(count(t, "alerts"), 1, "alerts stored after a re-delivery")
    eq(only_case(t)["alert_count"], 1, "alert_count after a re-delivery")


@test
def different_fingerprints_make_different_cases(t):
    data = ndjson(alert(), alert(hostname="ws-02"), alert(username="bob"), alert(rule="other"),
                  alert(observables=[{"type": "sha256", "value": "a" * 64}]))
    r = ingest(t, t.write("a.ndjson", data))
    expect_summary(r, 0, accepted=5, cases_created=5, cases_updated=0)
    cs = cases(t)
    eq(len(cs), 5, "cases")
    eq(len({c["fingerprint"] for c in cs}), 5, "distinct fingerprints")


@test
def fingerprint_ignores_severity_and_time(t):
    data = ndjson(alert(severity=10, event_time="2025-11-30T08:00:00Z"),
                  alert(severity=90, title="another title", event_time=int(time.time()) - 60))
    expect_summary(ingest(t, t.write("a.ndjson", data)), 0, accepted=2, cases_created=1,
                   cases_updated=1)


@test
def fingerprint_override_in_record(t):
    data = ndjson(alert(fingerprint="siem-key-1"),
                  alert(hostname="ws-99", fingerprint="siem-key-1"),
                  alert(fingerprint="siem-key-2"))
    expect_summary(ingest(t, t.write("a.ndjson", data)), 0, accepted=3, cases_created=2,
                   cases_updated=1)


@test
def closed_case_is_not_joined(t):
    f = t.write("a.json", alert())
    expect_summary(ingest(t, f), 0, cases_created=1)
    first = only_case(t)["id"]
    r = t.riposte("case", "update", first, "--status", "closed")
    eq(r.code, 0, f"case update ({r!r})")
    expect_summary(ingest(t, f), 0, accepted=1, cases_created=1, cases_updated=0)
    cs = {c["id"]: c for c in cases(t)}
    eq(len(cs), 2, "cases")
    eq(cs[first]["alert_count"], 1, "the closed case keeps its one alert")
    eq(cs[first]["status"], "closed", "the closed case stays closed")


@test
def open_statuses_are_joined_others_not(t):
    f = t.write("a.json", alert())
    expect_summary(ingest(t, f), 0, cases_created=1)
    cid = only_case(t)["id"]
    for status, joins in (("triage", True), ("contained", True), ("resolved", False),
                          ("false_positive", False)):
        r = t.riposte("case", "update", cid, "--status", status)
        eq(r.code, 0, f"case update --status {status} ({r!r})")
        r = ingest(t, f)
        if joins:
            expect_summary(r, 0, cases_created=0, cases_updated=1)
        else:
            s = expect_summary(r, 0, cases_created=1, cases_updated=0)
            # the next round works on the new (open) case
            cid = [c["id"] for c in cases(t) if c["status"] == "new"][0]
    eq(len(cases(t)), 3, "cases: one per closing status plus the last open one")


@test
def severity_raised_to_max_with_timeline(t):
    expect_summary(ingest(t, t.write("a.json", alert(severity=30))), 0, cases_created=1)
    c = only_case(t)
    eq((c["severity"], c["severity_label"]), (30, "low"), "severity after the first alert")
    before = show(t, c["id"])["timeline_total"]
    expect_summary(ingest(t, t.write("b.json", alert(severity=85))), 0, cases_updated=1)
    s = show(t, c["id"])
    eq((s["case"]["severity"], s["case"]["severity_label"]), (85, "critical"),
       "severity raised to the highest alert's")
    new = s["timeline"][before:]
    check(any("severity" in e.get("event", "") or "85" in json.dumps(e.get("detail"))
              for e in new), f"a timeline entry for the raise: {new}")
    expect_summary(ingest(t, t.write("c.json", alert(severity="low"))), 0, cases_updated=1)
    c = only_case(t)
    eq((c["severity"], c["alert_count"]), (85, 3), "a lower alert does not lower the severity")


@test
def severity_labels(t):
    table = [(0, "info"), (19, "info"), (20, "low"), (39, "low"), (40, "medium"), (59, "medium"),
             (60, "high"), (79, "high"), (80, "critical"), (100, "critical"), ("info", "info"),
             ("high", "high"), ("critical", "critical")]
    recs = [alert(rule=f"sev-{i}", severity=s) for i, (s, _) in enumerate(table)]
    expect_summary(ingest(t, t.write("a.ndjson", ndjson(*recs))), 0, accepted=len(table),
                   cases_created=len(table))
    got = {c["title"].split(" ")[0]: (c["severity"], c["severity_label"]) for c in cases(t)}
    for i, (s, label) in enumerate(table):
        sev, lab = got[f"sev-{i}"]
        eq(lab, label, f"label of severity {s!r}")
        check(0 <= sev <= 100, f"severity of {s!r} in 0-100: {sev}")
        if isinstance(s, int):
            eq(sev, s, "numeric severity kept")


@test
def correlation_window_from_config(t):
    cfg = t.write("riposte.yaml", "correlation: {window: 1s}\n")
    f = t.write("a.json", alert())
    expect_summary(ingest(t, "--config", cfg, f), 0, cases_created=1)
    expect_summary(ingest(t, "--config", cfg, f), 0, cases_created=0, cases_updated=1)
    time.sleep(1.5)
    expect_summary(ingest(t, "--config", cfg, f), 0, cases_created=1, cases_updated=0)
    eq(sorted(c["alert_count"] for c in cases(t)), [1, 2], "alert counts")
    # without the config (24 h window) the next one joins the newest case
    expect_summary(ingest(t, f), 0, cases_created=0, cases_updated=1)


@test
def fingerprint_override_per_source(t):
    cfg = t.write("riposte.yaml", "sources:\n  edr:\n    fingerprint: [rule]\n")
    data = ndjson(alert(hostname="ws-01"), alert(hostname="ws-02"),
                  alert(hostname="ws-03", username="bob"))
    f = t.write("a.ndjson", data)
    expect_summary(ingest(t, "--config", cfg, "--source", "edr", f), 0, accepted=3,
                   cases_created=1, cases_updated=2)
    # the source named in the record itself counts too
    g = t.write("b.ndjson", ndjson(alert(rule="r2", hostname="a", source="edr"),
                                   alert(rule="r2", hostname="b", source="edr")))
    expect_summary(ingest(t, "--config", cfg, g), 0, accepted=2, cases_created=1,
                   cases_updated=1)
    # another source keeps the default fingerprint: one case per host
    expect_summary(ingest(t, "--config", cfg, "--source", "siem", f), 0, accepted=3,
                   cases_created=3, cases_updated=0)


@test
def bad_config_exit_2(t):
    for name, text, where in (("unknown.yaml", "correlation:\n  windw: 1s\n", "windw"),
                              ("badwin.yaml", "correlation: {window: soon}\n", "window"),
                              ("broken.yaml", "correlation: {window: 1s\n", "broken.yaml")):
        cfg = t.write(name, text)
        r = ingest(t, "--config", cfg, t.write("a.json", alert()))
        eq(r.code, 2, f"{name}: exit code ({r!r})")
        contains(r.stderr, where, f"{name}: the message says what is wrong")
        contains(r.stderr, name, f"{name}: the message names the file")
    r = ingest(t, "--config", t.path("missing.yaml"), t.write("a.json", alert()))
    eq(r.code, 2, "missing config file: exit code")


# --- ingest: rejected input ---------------------------------------------------------------


@test
def rejected_records_ndjson(t):
    lines = [
        json.dumps(alert(rule="good-1")),                              # 1
        '{"rule": "broken", "title": ',                                 # 2 malformed JSON
        json.dumps(alert(rule="r3", severity="abc")),                   # 3 wrong type
        json.dumps(alert(rule="r4", host={"name": "h", "ip": "not-an-ip"})),  # 4
        json.dumps(dict(alert(rule="r5"), bogus_field=1)),              # 5 unknown field
        json.dumps(alert(rule="r6", title="a\u0000b")),                 # 6 NUL
        json.dumps(alert(rule="good-7")),                               # 7
    ]
    f = t.write("bad.ndjson", "\n".join(lines) + "\n")
    r = ingest(t, f)
    expect_summary(r, 3, accepted=2, rejected=5, cases_created=2)
    stderr_line(r, "bad.ndjson", number=2)
    check("severity" in stderr_line(r, "bad.ndjson", number=3), "line 3: names severity")
    check("host.ip" in stderr_line(r, "bad.ndjson", "host.ip"), "line 4: names host.ip")
    stderr_line(r, "bad.ndjson", "host.ip", number=4)
    stderr_line(r, "bad.ndjson", "bogus_field", number=5)
    stderr_line(r, "bad.ndjson", number=6)
    for n in (1, 7):
        for line in r.stderr.splitlines():
            check(not re.search(rf"line {n}\b", line), f"good line {n} reported: {line!r}")
    eq(count(t, "alerts"), 2, "the good records are stored")
    eq({c["title"].split(" ")[0] for c in cases(t)}, {"good-1", "good-7"}, "cases of the good ones")
    eq(count(t, "deadletters"), 5, "dead letters")
    rows = t.sql("SELECT location, reason FROM deadletters")
    for loc, reason in rows:
        contains(loc, "bad.ndjson", "dead letter location names the file")
        check(reason, "dead letter has a reason")


@test
def rejected_record_in_array(t):
    f = t.write("arr.json", json.dumps([alert(rule="a"), alert(rule="b", severity="abc"),
                                        alert(rule="c")], indent=1))
    r = ingest(t, f)
    expect_summary(r, 3, accepted=2, rejected=1, cases_created=2)
    line = stderr_line(r, "arr.json", "severity")
    check(re.search(r"record 2\b", line), f"names record 2: {line!r}")
    eq(count(t, "deadletters"), 1, "dead letters")


@test
def wrong_field_types_name_the_field(t):
    future = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3 * 3600))
    table = [
        ({"severity": "abc"}, "severity"),
        ({"severity": 101}, "severity"),
        ({"severity": -1}, "severity"),
        ({"severity": 5.5}, "severity"),
        ({"host": {"name": "h", "ip": "not-an-ip"}}, "host.ip"),
        ({"host": "ws-01"}, "host"),
        ({"src": {"ip": "10.0.0.1", "port": "eighty"}}, "src.port"),
        ({"kind": "laptop"}, "kind"),
        ({"event_time": "yesterday"}, "event_time"),
        ({"event_time": future}, "event_time"),
        ({"tags": "x"}, "tags"),
        ({"title": 5}, "title"),
        ({"id": "not-a-ulid"}, "id"),
        ({"observables": [{"type": "sha256", "value": "xyz"}]}, "observables"),
        ({"observables": [{"type": "galaxy", "value": "x"}]}, "observables"),
        ({"email": {"to": "a@b.example"}}, "email.to"),
        ({"process": {"pid": "one"}}, "process.pid"),
        ({"file": {"md5": "123"}}, "file.md5"),
        ({"auth": {"count": "many"}}, "auth.count"),
    ]
    for i, (fields, path) in enumerate(table):
        rec = alert(rule=f"r{i}", **fields)
        name = f"bad{i}.json"
        r = ingest(t, t.write(name, rec))
        if r.code != 3:
            fail(f"{json.dumps(fields)}: expected exit 3, got {r!r}")
        line = stderr_line(r, name)
        check(path in line, f"{json.dumps(fields)}: the message names {path!r}: {line!r}")
    eq(count(t, "alerts"), 0, "nothing stored")
    eq(count(t, "deadletters"), len(table), "dead letters")


@test
def title_or_rule_required(t):
    r = ingest(t, t.write("a.json", {"kind": "other", "severity": 10}))
    expect_summary(r, 3, accepted=0, rejected=1)
    r = ingest(t, t.write("b.json", {"title": "only a title"}))
    expect_summary(r, 0, accepted=1, rejected=0)
    r = ingest(t, t.write("c.json", {"rule": "only-a-rule"}))
    expect_summary(r, 0, accepted=1, rejected=0)


@test
def invalid_utf8_rejected(t):
    data = (json.dumps(alert(rule="good-1")).encode() + b"\n" +
            b'{"rule":"bad-\xff\xfe-bytes","title":"x"}\n' +
            b'{"rule":"overlong-\xc0\xaf","title":"x"}\n' +
            json.dumps(alert(rule="good-4")).encode() + b"\n")
    r = ingest(t, t.write("utf8.ndjson", data))
    expect_summary(r, 3, accepted=2, rejected=2)
    stderr_line(r, "utf8.ndjson", number=2)
    stderr_line(r, "utf8.ndjson", number=3)
    eq(count(t, "deadletters"), 2, "dead letters")


@test
def nul_byte_rejected(t):
    data = (json.dumps(alert(rule="a", title="x\u0000y")) + "\n" +
            json.dumps(alert(rule="b", user={"name": "al\u0000ice"})) + "\n" +
            json.dumps(alert(rule="c")) + "\n")
    r = ingest(t, t.write("nul.ndjson", data))
    expect_summary(r, 3, accepted=1, rejected=2)
    eq(count(t, "deadletters"), 2, "dead letters")


@test
def deep_nesting_rejected(t):
    deep = '{"rule":"deep","title":"x","raw":' + "[" * 10000 + "]" * 10000 + "}"
    data = json.dumps(alert(rule="good-1")) + "\n" + deep + "\n" + json.dumps(alert(rule="good-3"))
    r = ingest(t, t.write("deep.ndjson", data + "\n"))
    expect_summary(r, 3, accepted=2, rejected=1)
    stderr_line(r, "deep.ndjson", number=2)
    # as a whole file, and a deep array of nothing
    r = ingest(t, t.write("deep.json", "[" * 10000 + "]" * 10000))
    check(r.code in (2, 3), f"a 10,000 deep array: exit 2 or 3, got {r!r}")
    r = ingest(t, t.write("deep2.json", '{"a":' * 10000 + "1" + "}" * 10000))
    eq(r.code, 3, f"a 10,000 deep object: exit code ({r!r})")
    eq(count(t, "alerts"), 2, "alerts stored")


@test
def oversized_record_rejected(t):
    big = alert(rule="big", raw={"blob": "x" * (2 * 1024 * 1024)})
    data = ndjson(alert(rule="good-1"), big, alert(rule="good-3"))
    r = ingest(t, t.write("big.ndjson", data))
    expect_summary(r, 3, accepted=2, rejected=1)
    stderr_line(r, "big.ndjson", number=2)


@test
def stdin_rejects_name_stdin(t):
    r = ingest(t, "-", input=ndjson(alert(), alert()) + "{not json}\n")
    expect_summary(r, 3, accepted=2, rejected=1)
    line = stderr_line(r, "line 3")
    check("stdin" in line or " -:" in line, f"names stdin: {line!r}")


# --- canonical values -------------------------------------------------------------------


@test
def values_are_canonicalised(t):
    a = alert(
        kind="phishing",
        rule="reported-mail",
        email={"from": "CEO@Evil[.]Example", "urls": ["hxxp://evil[.]example/login"],
               "subject": "Urgent"},
        observables=[{"type": "domain", "value": "Evil.EXAMPLE."},
                     {"type": "sha256", "value": SHA256_EMPTY.upper()},
                     {"type": "ipv6", "value": "2001:DB8:0:0::1"}],
        src={"ip": "::ffff:192.0.2.7"},
    )
    expect_summary(ingest(t, t.write("a.json", a)), 0, accepted=1)
    stored = show(t, only_case(t)["id"])["alerts"][0]
    eq(stored.get("kind"), "phishing", "kind kept")
    check(stored.get("fingerprint"), "the alert has a fingerprint")
    eq(stored.get("email", {}).get("urls"), ["http://evil.example/login"], "email.urls refanged")
    obs = {(o.get("type"), o.get("value")) for o in stored.get("observables", [])}
    for want in (("url", "http://evil.example/login"), ("domain", "evil.example"),
                 ("sha256", SHA256_EMPTY),
                 ("ipv6", "2001:db8::1")):
        check(want in obs, f"observable {want} in the stored alert; have {sorted(obs)}")
    rows = {(ty, v) for ty, v in t.sql("SELECT type, value FROM alert_observables")}
    check(("domain", "evil.example") in rows, f"observable rows are canonical: {sorted(rows)}")
    check(stored.get("src", {}).get("ip") in ("192.0.2.7", "::ffff:192.0.2.7"),
          f"src.ip parsed: {stored.get('src')}")


@test
def event_time_forms(t):
    now = int(time.time())
    recs = [alert(rule="a", event_time=now - 3600),
            alert(rule="b", event_time="2025-11-30T09:48:36.123+02:00"),
            alert(rule="c")]
    expect_summary(ingest(t, t.write("a.ndjson", ndjson(*recs))), 0, accepted=3)
    for c in cases(t):
        for k in ("detected", "created"):
            v = c.get(k) or c.get(k + "_at") or c.get(k + "_time")
            check(isinstance(v, str) and RFC3339_RE.match(v), f"case {k} time: {v!r} in {c}")


# --- cases --------------------------------------------------------------------------------


def one_case(t, **kw):
    expect_summary(ingest(t, t.write("seed.json", alert(**kw))), 0, cases_created=1)
    return only_case(t)


@test
def case_list_json_shape(t):
    c = one_case(t)
    for k in ("id", "title", "kind", "status", "severity", "severity_label", "assignee",
              "alert_count", "fingerprint"):
        check(k in c, f"case has {k!r}: {c}")
    eq(c["kind"], "endpoint", "kind")
    eq(c["title"], "suspicious-powershell on ws-01", "title is the first alert's")
    check(isinstance(c["severity"], int), "severity is an integer")
    check(any(k.startswith("detected") for k in c), f"case has a detected time: {c}")
    check(any(k.startswith("created") for k in c), f"case has a created time: {c}")


@test
def case_list_text_and_status_filter(t):
    expect_summary(ingest(t, t.write("a.ndjson", ndjson(alert(rule="a"), alert(rule="b")))), 0,
                   cases_created=2)
    ids = [c["id"] for c in cases(t)]
    r = t.riposte("case", "list")
    eq(r.code, 0, "case list exit code")
    for i in ids:
        check(i[:6] in r.stdout, f"text list shows case {i}: {r.stdout!r}")
    r = t.riposte("case", "update", ids[0], "--status", "triage")
    eq(r.code, 0, f"update ({r!r})")
    eq([c["id"] for c in cases(t, "--status", "triage")], [ids[0]], "--status triage")
    eq([c["id"] for c in cases(t, "--status", "new")], [ids[1]], "--status new")
    eq(cases(t, "--status", "closed"), [], "--status closed")
    r = t.riposte("case", "list", "--status", "bogus")
    check(r.code != 0, f"an unknown status is refused ({r!r})")
    check(r.stderr.strip(), "with a message")


@test
def case_show_json_shape(t):
    c = one_case(t)
    s = show(t, c["id"])
    for k in ("case", "alerts", "alerts_total", "timeline", "timeline_total"):
        check(k in s, f"case show has {k!r}: {list(s)}")
    eq(s["case"]["id"], c["id"], "case.id")
    eq(s["alerts_total"], 1, "alerts_total")
    eq(len(s["alerts"]), 1, "alerts")
    eq(s["alerts"][0].get("rule"), "suspicious-powershell", "the alert's rule")
    eq(s["alerts"][0].get("host", {}).get("name"), "ws-01", "the alert's host.name")
    check(s["timeline_total"] >= 1 and len(s["timeline"]) == s["timeline_total"],
          f"timeline: {s['timeline']}")
    for e in s["timeline"]:
        for k in ("ts", "actor", "event", "detail"):
            check(k in e, f"timeline entry has {k!r}: {e}")
        check(RFC3339_RE.match(e["ts"]), f"timeline ts is RFC 3339: {e['ts']!r}")
        check(e["actor"], f"timeline actor is set: {e}")
    r = t.riposte("case", "show", c["id"])
    eq(r.code, 0, "text show exit code")
    contains(r.stdout, c["id"], "text show names the case")


@test
def case_id_prefix(t):
    c = one_case(t)
    for n in (6, 10, 26):
        eq(show(t, c["id"][:n])["case"]["id"], c["id"], f"prefix of {n}")
    eq(show(t, c["id"].lower())["case"]["id"], c["id"], "lower-case id")
    r = t.riposte("case", "show", c["id"][:5])
    check(r.code != 0, f"a 5-character prefix is refused ({r!r})")
    check(r.stderr.strip(), "with a message")


@test
def case_unknown_id(t):
    one_case(t)
    for args in (["show", "01ZZZZZZZZZZZZZZZZZZZZZZZZ"], ["show", "ZZZZZZ"],
                 ["update", "01ZZZZZZZZZZZZZZZZZZZZZZZZ", "--status", "triage"]):
        r = t.riposte("case", *args)
        check(r.code not in (0, 3) and r.code > 0, f"case {' '.join(args)}: exit {r.code}")
        check(re.search(r"no |not found|unknown", r.stderr, re.I),
              f"case {' '.join(args)}: says it is not found: {r.stderr!r}")


@test
def case_update_fields_and_timeline(t):
    c = one_case(t)
    cid = c["id"]
    base = show(t, cid)["timeline_total"]
    steps = [
        (["--status", "triage"], lambda k: k["status"] == "triage", "triage"),
        (["--assignee", "bob"], lambda k: k["assignee"] == "bob", "bob"),
        (["--severity", "90"], lambda k: (k["severity"], k["severity_label"]) == (90, "critical"),
         "90"),
        (["--note", "called the user; confirmed phish"], lambda k: True, "confirmed phish"),
        (["--status", "contained"], lambda k: k["status"] == "contained", "contained"),
        (["--status", "resolved"], lambda k: k["status"] == "resolved", "resolved"),
        (["--status", "closed"], lambda k: k["status"] == "closed", "closed"),
    ]
    for i, (args, ok, text) in enumerate(steps, 1):
        r = t.riposte("case", "update", cid, *args, env={"USER": "tester"})
        eq(r.code, 0, f"case update {' '.join(args)} ({r!r})")
        s = show(t, cid)
        check(ok(s["case"]), f"after {' '.join(args)}: {s['case']}")
        check(s["timeline_total"] >= base + i, f"after {' '.join(args)}: a new timeline entry; "
              f"{s['timeline_total']} entries, {base + i} expected")
        last = s["timeline"][-1]
        check(text in json.dumps(last), f"the newest timeline entry shows {text!r}: {last}")
        check(last.get("actor"), f"the timeline entry has an actor: {last}")
    # several fields at once: one call, every change on the timeline
    before = show(t, cid)["timeline_total"]
    r = t.riposte("case", "update", cid, "--status", "triage", "--assignee", "carol",
                  "--note", "reopened")
    eq(r.code, 0, f"update of several fields ({r!r})")
    s = show(t, cid)
    eq((s["case"]["status"], s["case"]["assignee"]), ("triage", "carol"), "several fields")
    check(s["timeline_total"] >= before + 3, f"one entry per change: {s['timeline'][before:]}")


@test
def case_update_rejects_bad_values(t):
    cid = one_case(t)["id"]
    for args in (["--status", "bogus"], ["--severity", "101"], ["--severity", "-1"],
                 ["--severity", "abc"]):
        r = t.riposte("case", "update", cid, *args)
        check(r.code != 0, f"update {' '.join(args)} refused ({r!r})")
        check(r.stderr.strip(), f"update {' '.join(args)}: a message")
    c = only_case(t)
    eq((c["status"], c["severity"]), ("new", 50), "the case is unchanged")


# --- where the database is ---------------------------------------------------------------


@test
def riposte_db_env_honoured(t):
    other = t.path("other.db")
    f = t.write("a.json", alert())
    expect_summary(ingest(t, f, env={"RIPOSTE_DB": other}), 0, accepted=1)
    check(os.path.exists(other), "RIPOSTE_DB names the database that was written")
    check(not os.path.exists(t.db), "nothing written to the default path")
    r = t.riposte("case", "list", "--json", env={"RIPOSTE_DB": other})
    eq(r.code, 0, "case list")
    cs = r.json()
    cs = cs["cases"] if isinstance(cs, dict) else cs
    eq(len(cs), 1, "cases in RIPOSTE_DB")
    # --db wins over the environment
    third = t.path("third.db")
    expect_summary(ingest(t, "--db", third, f, env={"RIPOSTE_DB": other}), 0, accepted=1,
                   cases_created=1)
    check(os.path.exists(third), "--db names the database that was written")
    r = t.riposte("case", "list", "--json", env={"RIPOSTE_DB": other})
    cs = r.json()
    eq(len(cs["cases"] if isinstance(cs, dict) else cs), 1, "RIPOSTE_DB untouched by --db")
    # neither: ./riposte.db in the working directory
    expect_summary(ingest(t, f, env={"RIPOSTE_DB": None}), 0, accepted=1)
    check(os.path.exists(t.path("riposte.db")), "./riposte.db created by default")


DEFENDER_PAGE = {
    "@odata.context": "https://api.securitycenter.microsoft.com/api/$metadata#Alerts",
    "value": [
        {"id": "da1", "title": "Suspicious PowerShell", "severity": "High", "machineId": "m1",
         "computerDnsName": "ws01", "alertCreationTime": "2024-05-01T10:00:00Z"},
        {"id": "da2", "title": "no machine"},
        {"id": "da3", "title": "Mimikatz", "severity": "High", "machineId": "m3",
         "computerDnsName": "ws03", "alertCreationTime": "2024-05-01T11:00:00Z"},
    ],
}

WIN_EVENT = ("<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
             "<EventID>{id}</EventID><Computer>dc01</Computer></System><EventData>"
             "<Data Name='TargetUserName'>{user}</Data></EventData></Event>")


@test
def api_page_is_one_alert_per_element(t):
    text = json.dumps(DEFENDER_PAGE, indent=1)
    f = t.write("page.json", text)
    bad_line = text.count("\n", 0, text.rindex("{", 0, text.index('"da2"'))) + 1
    r = t.riposte("parse", "--format", "defender", f)
    eq(r.code, 3, "a rejected element makes the exit code 3")
    alerts = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
    eq([a["title"] for a in alerts], ["Suspicious PowerShell", "Mimikatz"], "titles")
    eq({a["source"] for a in alerts}, {"defender"}, "source")
    eq(alerts[1]["raw"]["id"], "da3", "raw is the element")
    line = stderr_line(r, "page.json", "element 2")
    check("record 1" in line and "defender" in line, f"names record and element: {line!r}")
    r = ingest(t, f)
    expect_summary(r, 3, accepted=2, rejected=1)
    raws = [x[0] for x in t.sql("SELECT raw FROM alerts ORDER BY raw")]
    eq(len(raws), 2, "two alerts")
    for raw in raws:
        raw = raw.decode() if isinstance(raw, bytes) else raw
        check(raw.startswith("{\n") and json.loads(raw)["id"] in ("da1", "da3"),
              f"raw is the element's own text: {raw!r}")
    rows = t.sql("SELECT location, raw FROM deadletters")
    eq(len(rows), 1, "one dead letter")
    contains(rows[0][0], f"record 1 line {bad_line} element 2", "dead letter location")
    dl = rows[0][1].decode() if isinstance(rows[0][1], bytes) else rows[0][1]
    check("da2" in dl and "da1" not in dl, f"dead letter holds the element only: {dl!r}")


@test
def windows_events_export(t):
    doc = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Events>\n" +
           WIN_EVENT.format(id=4625, user="alice") + "\n" +
           WIN_EVENT.format(id="bad", user="x") + "\n" +
           WIN_EVENT.format(id=4740, user="alice") + "\n</Events>\n")
    f = t.write("events.xml", doc)
    r = t.riposte("parse", f)
    alerts = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
    eq([a["rule"] for a in alerts], ["Windows 4625", "Windows 4740"], "rules")
    line = stderr_line(r, "events.xml", "element 2")
    check("line 4" in line, f"the bad event's line: {line!r}")
    # Event Viewer writes UTF-16
    f16 = t.write("events16.xml", doc.encode("utf-16"))
    expect_summary(ingest(t, f16), 3, accepted=2, rejected=1)
    # wevtutil qe /f:xml: no root
    f2 = t.write("wevtutil.xml", WIN_EVENT.format(id=4624, user="a") +
                 WIN_EVENT.format(id=4624, user="b"))
    r = t.riposte("parse", f2)
    eq(r.code, 0, "wevtutil output parses")
    eq(len([x for x in r.stdout.splitlines() if x.strip()]), 2, "two events")


tap.main()

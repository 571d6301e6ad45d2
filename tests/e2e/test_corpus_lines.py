#!/usr/bin/env python3
"""test_corpus_lines.py: the line formats (CEF, LEEF, syslog with sshd/PAM auth
lines and CylancePROTECT events) through the real binary: `riposte parse
--format F FILE` prints the normalized alerts as NDJSON on stdout, rejected
records on stderr with their line and reason, and a closing count; exit 0, or 3
when a record was rejected.

Over <repo>/../shared/corpus/cef/*.log and auth/sshd/*.log (each test is
skipped when that folder is absent) every line must become an alert or be
ignored (well-formed, but no security event), none rejected, and the fields
the formats document are asserted on a sample of each kind. Our own small
fixtures, written here, run everywhere: they cover the kinds the corpus lacks
(LEEF, Cylance threats, RFC 5424) and a malformed line.

    RIPOSTE_BIN=build/riposte python3 tests/e2e/test_corpus_lines.py [TEST...]
"""

import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tap  # noqa: E402
from tap import check, eq, fail, test  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
CORPUS = os.path.abspath(os.path.join(REPO, "..", "shared", "corpus"))

# RFC 3164 and CEF times carry no zone: they are read in the local zone (TZ).
ENV = {"TZ": "UTC"}
SUMMARY_RE = re.compile(r"parse: (\d+) alerts, (\d+) rejected, (\d+) ignored")


def corpus_files(sub, pattern=r".*\.log$"):
    """Paths of the files under corpus/sub matching pattern, or a skip."""
    root = os.path.join(CORPUS, sub)
    if not os.path.isdir(root):
        tap.skip(f"no corpus at {root}")
    files = sorted(os.path.join(root, f) for f in os.listdir(root) if re.match(pattern, f))
    if not files:
        tap.skip(f"no files under {root}")
    return files


def parse(t, fmt, path, want_code=0):
    """Runs `riposte parse`; (alerts, stderr lines, (alerts, rejected, ignored))."""
    args = ["parse"] + (["--format", fmt] if fmt else []) + [path]
    r = t.riposte(*args, env=ENV)
    if r.code != want_code:
        fail(f"exit code: expected {want_code}, got {r.code}; {r!r}")
    alerts = []
    for n, line in enumerate(r.stdout.splitlines(), 1):
        if not line.strip():
            continue
        try:
            alerts.append(json.loads(line))
        except ValueError as e:
            fail(f"stdout line {n} is not JSON ({e}): {tap.shorten(line)!r}")
    m = SUMMARY_RE.search(r.stderr)
    check(m is not None, f"no closing count on stderr: {tap.shorten(r.stderr)!r}")
    counts = tuple(int(x) for x in m.groups())
    eq(counts[0], len(alerts), "alerts counted vs printed")
    return alerts, r.stderr.splitlines(), counts


def records(path):
    """The non-blank lines of a file (blank lines are no records)."""
    with open(path, "rb") as f:
        return [l for l in f.read().split(b"\n") if l.strip()]


def get(obj, path):
    for part in path.split("."):
        if isinstance(obj, list):
            obj = obj[int(part)] if int(part) < len(obj) else None
        elif isinstance(obj, dict):
            obj = obj.get(part)
        else:
            return None
    return obj


def expect(alert, what, **fields):
    """Each keyword (dots as __) must equal the alert's field."""
    for k, want in fields.items():
        path = k.replace("__", ".")
        got = get(alert, path)
        if got != want:
            fail(f"{what}: {path}: expected {want!r}, got {got!r} in {tap.shorten(json.dumps(alert))}")


def find(alerts, what, **fields):
    """The first alert whose fields match; a failure naming what otherwise."""
    for a in alerts:
        if all(get(a, k.replace("__", ".")) == v for k, v in fields.items()):
            return a
    fail(f"no alert for {what} with {fields}")


def has_observable(alert, type_, value, role=None):
    return any(o["type"] == type_ and o["value"] == value and (role is None or o["role"] == role)
               for o in alert.get("observables", []))


def all_lines_read(t, fmt, files):
    """Every line of every file is an alert or ignored; none rejected."""
    total = 0
    for path in files:
        alerts, err, (n_alerts, n_rejected, n_ignored) = parse(t, fmt, path)
        rejected = [l for l in err if "record" in l and "ignored" not in l]
        eq(n_rejected, 0, f"{os.path.basename(path)}: rejected lines {rejected[:5]}")
        eq(n_alerts + n_ignored, len(records(path)),
           f"{os.path.basename(path)}: alerts + ignored vs lines")
        for a in alerts:
            check(a.get("id") and a.get("fingerprint") and a.get("raw"),
                  f"{os.path.basename(path)}: alert without id, fingerprint or raw: "
                  f"{tap.shorten(json.dumps(a))}")
        total += n_alerts
    return total


# --- CEF corpus ---------------------------------------------------------------------


@test
def corpus_cef_every_line(t):
    files = corpus_files("cef")
    check(all_lines_read(t, "cef", files) > 0, "no CEF alert at all")


@test
def corpus_cef_elastic_fields(t):
    path = next((p for p in corpus_files("cef") if "test-cef" in p), None)
    if path is None:
        tap.skip("no Elastic test-cef.log in the corpus")
    alerts, _, _ = parse(t, "cef", path)
    web = find(alerts, "the web request", title="Web request")
    expect(web, "web request", kind="other", source="elastic", rule="Elastic/Vaporware/18",
           severity=30, severity_label="low", src__ip="89.160.20.156", src__port=33876,
           dst__ip="192.168.10.1", dst__port=443, extra__cef__requestMethod="POST")
    check(has_observable(web, "url", "https://www.example.com/cart"),
          f"web request: no url observable: {web.get('observables')}")
    auth = find(alerts, "the authentication with users", user__name="alice")
    expect(auth, "authentication", kind="auth", title="Authentication",
           file__md5="bc8bbe52f041fd17318f08a0f73762ce", extra__cef__suser="bob",
           extra__cef__destinationTranslatedAddress="10.10.10.10")
    padded = find(alerts, "the padded line", dst__ip="192.168.1.2")
    expect(padded, "padded", src__ip="192.168.3.4",
           extra__cef__message="This event is padded with whitespace")


@test
def corpus_cef_forcepoint_fields(t):
    path = next((p for p in corpus_files("cef") if "ngfw" in p), None)
    if path is None:
        tap.skip("no Forcepoint NGFW file in the corpus")
    alerts, _, _ = parse(t, "cef", path)
    check(all(a["kind"] == "network" or a["kind"] == "auth" for a in alerts),
          f"kinds: {[a['kind'] for a in alerts]}")
    check(all(a["source"] == "forcepoint" and a["severity"] == 0 for a in alerts),
          "every Forcepoint event: source forcepoint, severity 0")
    d = find(alerts, "Connection_Discarded", title="Connection_Discarded")
    expect(d, "discarded", kind="network", rule="FORCEPOINT/Firewall/70019",
           src__ip="172.16.1.1", src__port=68, dst__ip="89.160.20.156", dst__port=67,
           event_time="2020-01-17T08:56:21.000Z", extra__cef__RuleID="605.0",
           extra__cef__app="BOOTPS (UDP)", extra__cef__dvchost="10.1.1.10")
    a = find(alerts, "Connection_Allowed", title="Connection_Allowed")
    expect(a, "allowed", extra__cef__act="Allow",
           extra__cef__msg="Referred connection: 10.1.1.40 -> 10.37.133.35 frag=0x4000 "
                           "TCP 47413->3020")
    login = find(alerts, "ECA_Metadata_login", title="ECA_Metadata_login")
    expect(login, "login", kind="auth", user__name="bob", src__ip="192.168.1.1")


# --- sshd / PAM corpus ----------------------------------------------------------------------


@test
def corpus_auth_every_line(t):
    files = corpus_files("auth/sshd")
    check(all_lines_read(t, "syslog", files) > 0, "no auth alert at all")


@test
def corpus_auth_detected_as_syslog(t):
    """Without --format the auth logs are recognised as syslog all the same."""
    files = corpus_files("auth/sshd")
    for path in files:
        forced, _, c1 = parse(t, "syslog", path)
        auto, _, c2 = parse(t, None, path)
        eq(c2, c1, f"{os.path.basename(path)}: counts detected vs --format syslog")


@test
def corpus_auth_openssh_counts(t):
    """Each sshd failure, success and invalid user line of the OpenSSH log is one
    alert of its rule (counted here from the text, independently)."""
    path = next((p for p in corpus_files("auth/sshd") if "OpenSSH" in p), None)
    if path is None:
        tap.skip("no loghub OpenSSH log in the corpus")
    text = open(path, encoding="utf-8", errors="replace").read().splitlines()
    alerts, _, _ = parse(t, "syslog", path)
    rules = {}
    for a in alerts:
        rules[a["rule"]] = rules.get(a["rule"], 0) + 1
    want = {
        "sshd.login_failed": sum(1 for l in text if re.search(
            r"sshd\[\d+\]: (message repeated \d+ times: \[ )?Failed \S+ for ", l)),
        "sshd.login_accepted": sum(1 for l in text if re.search(r"sshd\[\d+\]: Accepted ", l)),
        "sshd.invalid_user": sum(1 for l in text if re.search(r"sshd\[\d+\]: Invalid user ", l)),
        "sshd.auth_failure": sum(1 for l in text if "): authentication failure;" in l),
    }
    for rule, n in want.items():
        eq(rules.get(rule, 0), n, f"alerts of {rule}")


@test
def corpus_auth_failed_login_fields(t):
    path = next((p for p in corpus_files("auth/sshd") if "OpenSSH" in p), None)
    if path is None:
        tap.skip("no loghub OpenSSH log in the corpus")
    alerts, _, _ = parse(t, "syslog", path)
    a = find(alerts, "the failed login of invalid user webmaster", user__name="webmaster",
             rule="sshd.login_failed", src__port=38926)
    expect(a, "failed login", kind="auth", source="sshd", auth__result="failure",
           auth__method="password", auth__reason="invalid user", src__ip="173.234.31.186",
           host__name="labsz", severity=30)
    check(a["event_time"].endswith("-12-10T06:55:48.000Z"), f"event_time {a['event_time']}")
    check(has_observable(a, "ipv4", "173.234.31.186", "src"), "src observable")
    r = find(alerts, "the repeated failure", rule="sshd.login_failed", auth__count=5)
    expect(r, "repeated", user__name="root", src__ip="5.36.59.76")
    p = find(alerts, "a PAM failure", rule="sshd.auth_failure", src__ip="173.234.31.186")
    expect(p, "pam failure", auth__result="failure", auth__method="password",
           extra__sshd__tty="ssh")


@test
def corpus_auth_elastic_fields(t):
    path = next((p for p in corpus_files("auth/sshd") if "system-auth" in p), None)
    if path is None:
        tap.skip("no Elastic system-auth log in the corpus")
    alerts, _, (_, _, ignored) = parse(t, "syslog", path)
    ok = find(alerts, "the accepted publickey", auth__method="publickey")
    expect(ok, "accepted", auth__result="success", user__name="vagrant", src__ip="10.0.2.2",
           src__port=63673, host__name="localhost", rule="sshd.login_accepted", severity=10)
    bad = find(alerts, "the failed password", auth__result="failure", auth__method="password",
               source="sshd")
    expect(bad, "failed", user__name="root", src__ip="89.160.20.156", host__name="slave22")
    sudo = find(alerts, "the sudo refusal", source="sudo", auth__method="sudo")
    expect(sudo, "sudo", user__name="tsg", auth__reason="user NOT in sudoers",
           extra__sudo__target_user="root", process__cmdline="/bin/ls")
    pam = find(alerts, "the sudo PAM failure", rule="sudo.auth_failure",
               auth__method="password")
    expect(pam, "sudo pam", user__name="alice", extra__sudo__target_user="root")
    check(ignored >= 4, f"sudo commands, groupadd, useradd: ignored, not {ignored}")


@test
def corpus_auth_linux_fields(t):
    path = next((p for p in corpus_files("auth/sshd") if "Linux" in p), None)
    if path is None:
        tap.skip("no loghub Linux log in the corpus")
    alerts, _, _ = parse(t, "syslog", path)
    a = find(alerts, "an old-style sshd(pam_unix) failure", src__ip="218.188.2.4")
    expect(a, "pam_unix", source="sshd", rule="sshd.auth_failure", auth__result="failure",
           host__name="combo", extra__sshd__tty="NODEVssh")
    named = find(alerts, "a failure from a host name", rule="sshd.auth_failure",
                 extra__sshd__rhost="220-135-151-1.hinet-ip.hinet.net")
    expect(named, "rhost name", user__name="root")
    check(has_observable(named, "hostname", "220-135-151-1.hinet-ip.hinet.net", "src"),
          "hostname observable of rhost")
    k = find(alerts, "a Kerberos failure", source="klogind")
    expect(k, "klogind", auth__method="kerberos", src__ip="163.27.187.39")


@test
def corpus_cylance_sample_ignored(t):
    """The corpus' generated CylancePROTECT line is a device event: read, ignored."""
    files = corpus_files("alerts/cylance")
    for path in files:
        alerts, _, (n, rejected, ignored) = parse(t, "syslog", path)
        eq((n, rejected, ignored), (0, 0, len(records(path))), "alerts, rejected, ignored")


# --- our own fixtures (run everywhere) -------------------------------------------------------

SHA = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"
FIXTURE_SYSLOG = "\n".join([
    "<116>Nov 30 09:00:00 sysloghost CylancePROTECT Event Type: Threat, Event Name: "
    "threat_quarantined, Device Name: WS-0042, IP Address: (10.1.2.3), File Name: evil.exe, "
    f"Path: c:\\users\\bob\\, SHA256: {SHA}, Status: Quarantined, Cylance Score: 100, "
    "Is Running: False, Is Malware: True, Threat Classification: Trojan - Generic",
    "<116>Nov 30 09:00:01 sysloghost CylancePROTECT Event Type: Device, Event Name: "
    "Registration, Device Name: WS-0042",
    "<38>1 2025-11-30T09:00:02Z bastion sshd 77 - [meta seq=\"1\"] Failed publickey for git "
    "from 198.51.100.7 port 2222 ssh2",
    "<14>Nov 30 09:00:03 qradar LEEF:2.0|Lancope|StealthWatch|1.0|Login Failed|^|"
    "src=10.0.1.8^usrName=bob^sev=6",
    "<134>Nov 30 09:00:04 fw CEF:0|Palo Alto Networks|PAN-OS|10|THREAT|spyware|High|"
    "src=10.0.0.4 dst=203.0.113.9 dpt=443 request=http://evil.example/x",
    "",
    "Nov 30 09:00:05 host kernel: something",
]) + "\n"


@test
def fixture_syslog_kinds(t):
    path = t.write("mixed.log", FIXTURE_SYSLOG)
    alerts, _, counts = parse(t, "syslog", path)
    eq(counts, (4, 0, 2), "alerts, rejected, ignored")
    cy = find(alerts, "the Cylance threat", source="cylance")
    expect(cy, "cylance", kind="endpoint", rule="cylance.threat", severity=80,
           host__name="ws-0042", host__ip="10.1.2.3", file__name="evil.exe",
           file__sha256=SHA.lower(), file__path="c:\\users\\bob\\",
           extra__cylance__status="Quarantined")
    ssh = find(alerts, "the RFC 5424 sshd line", source="sshd")
    expect(ssh, "sshd", auth__method="publickey", user__name="git", src__port=2222,
           host__name="bastion", event_time="2025-11-30T09:00:02.000Z",
           extra__syslog__sd__meta__seq="1")
    leef = find(alerts, "the LEEF event", source="lancope")
    expect(leef, "leef", kind="auth", auth__result="failure", user__name="bob", severity=60,
           host__name="qradar")
    cef = find(alerts, "the CEF event", source="palo-alto-networks")
    expect(cef, "cef", kind="network", severity=70, dst__port=443, host__name="fw")
    check(has_observable(cef, "url", "http://evil.example/x"), "url observable")


@test
def fixture_malformed_rejected(t):
    path = t.write("bad.log", "CEF:0|V|P|1|s|n|5|src=1.2.3.4\n"
                              "CEF:0|V|P|1|s\n"
                              "CEF:0|V|P|1|s|n|5|junk src=1.2.3.4\n")
    alerts, err, counts = parse(t, "cef", path, want_code=3)
    eq(counts, (1, 2, 0), "alerts, rejected, ignored")
    text = "\n".join(err)
    check(re.search(r"line 2\b.*header has 5 of its 7", text), f"line 2's reason: {text}")
    check(re.search(r"line 3\b.*byte 18: the extension must start", text),
          f"line 3's reason: {text}")


@test
def fixture_leef_forced(t):
    path = t.write("a.leef", "LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=192.0.2.10\t"
                             "dst=172.50.123.1\tsev=5\tusrName=joe.black\t"
                             "devTime=Nov 30 2025 08:15:00\n")
    alerts, _, counts = parse(t, "leef", path)
    eq(counts, (1, 0, 0), "alerts, rejected, ignored")
    expect(alerts[0], "leef", source="microsoft", title="MSExchange event 15345", severity=50,
           src__ip="192.0.2.10", user__name="joe.black", event_time="2025-11-30T08:15:00.000Z")


if __name__ == "__main__":
    tap.main()

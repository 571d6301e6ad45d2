"""test_ldap_exec.py: the ldap and exec connectors through the real binary:
`riposte run PLAYBOOK --config CONFIG` against a real OpenLDAP slapd on
loopback (scripts/servers/ldap.sh: dc=example,dc=org with alice, bob, carol
and the ppolicy overlay) and Python programs run by exec.

The ldap tests skip, saying why, when slapd cannot be started (not root and
not running); CI runs as root. Each ldap test first puts the three users back
as ldap.sh seeds them (known passwords, nothing locked, no pwdReset).
"""

import json
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
import tap  # noqa: E402
from tap import check, contains, eq  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
LDAP_SH = os.path.join(ROOT, "scripts", "servers", "ldap.sh")
SUFFIX = "dc=example,dc=org"
ADMIN = f"cn=admin,{SUFFIX}"
ADMINPW = "adminpw"
URL = "ldap://127.0.0.1:389"
CA = "/etc/ldap/riposte-test/ca.pem"
USERS = {"alice": "alicepw", "bob": "bobpw", "carol": "carolpw"}
SECRET_KEY = "5f" * 32
PY = "/usr/bin/python3"

_slapd = None


def dn(uid):
    return f"uid={uid},ou=people,{SUFFIX}"


def slapd():
    """Starts slapd through ldap.sh once; skips the test when that fails."""
    global _slapd
    if _slapd is None:
        try:
            p = subprocess.run(["bash", LDAP_SH, "start"], capture_output=True, timeout=300)
            _slapd = (p.returncode == 0, (p.stdout + p.stderr).decode("utf-8", "replace"))
        except (OSError, subprocess.TimeoutExpired) as e:
            _slapd = (False, str(e))
    if not _slapd[0]:
        tap.skip("slapd cannot be started here (ldap.sh start needs root the first "
                 f"time): {_slapd[1].strip()[-200:]}")


def ldap_tool(*args, input=None):
    p = subprocess.run(list(args), input=input.encode() if input else None,
                       capture_output=True, timeout=30)
    return p.returncode, (p.stdout + p.stderr).decode("utf-8", "replace")


def admin_modify(ldif):
    return ldap_tool("ldapmodify", "-x", "-H", URL, "-D", ADMIN, "-w", ADMINPW, input=ldif)


def reset_users():
    """Known passwords, no lock, no pwdReset, no failures for every user."""
    for uid, pw in USERS.items():
        rc, out = ldap_tool("ldappasswd", "-x", "-H", URL, "-D", ADMIN, "-w", ADMINPW, "-s", pw,
                            dn(uid))
        eq(rc, 0, f"ldappasswd {uid}: {out}")
        for attr in ("pwdAccountLockedTime", "pwdReset"):
            admin_modify(f"dn: {dn(uid)}\nchangetype: modify\ndelete: {attr}\n")
        # a successful bind clears pwdFailureTime
        eq(bind(uid, pw), 0, f"bind as {uid} after the reset")


def bind(uid, pw):
    """ldapwhoami as the user: 0 bound (even when the password must be
    changed), 49 invalid credentials (or locked)."""
    rc, _ = ldap_tool("ldapwhoami", "-x", "-H", URL, "-D", dn(uid), "-w", pw)
    return rc


def admin_get(uid, *attrs):
    rc, out = ldap_tool("ldapsearch", "-x", "-H", URL, "-D", ADMIN, "-w", ADMINPW, "-LLL",
                        "-b", dn(uid), "-s", "base", *attrs)
    eq(rc, 0, f"ldapsearch {uid}: {out}")
    return out


def setup_secrets(t, values):
    t.env["RIPOSTE_SECRET_KEY"] = SECRET_KEY
    for name, value in values.items():
        r = t.riposte("secret", "set", name, input=value)
        eq(r.code, 0, f"secret set {name} ({r!r})")


def ldap_config(t, password="adminpw", **extra):
    setup_secrets(t, {"ldap_admin": password})
    conf = {"type": "ldap", "url": URL, "bind_dn": ADMIN, "password": {"secret": "ldap_admin"},
            "base_dn": SUFFIX}
    conf.update(extra)
    return t.write("config.json.yml", json.dumps({"connectors": {"dir": conf}}))


def run(t, config, steps, expect_ok=True):
    """Runs a playbook of steps [(id, action, with)] and returns (result,
    {step id: step_done data}, the run's JSON)."""
    lines = ["playbook: t", "steps:"]
    for sid, action, params in steps:
        lines += [f"  - id: {sid}", f"    action: {action}", f"    with: {json.dumps(params)}"]
        if not expect_ok:
            lines.append("    on_error: continue")
    pb = t.write("pb.yml", "\n".join(lines) + "\n")
    r = t.riposte("run", pb, "--config", config, timeout=90)
    check("unknown option --config" not in r.stderr,
          "riposte run has no --config: the lead must make `riposte run` load connectors")
    rl = t.riposte("run-list", "--json", "--limit", "1")
    first = [ln for ln in rl.stdout.splitlines() if ln.strip()]
    check(first, f"a run was recorded ({r!r})")
    run_id = json.loads(first[0])["id"]
    show = t.riposte("run-show", run_id, "--json")
    eq(show.code, 0, f"run-show ({show!r})")
    data = json.loads(show.stdout)
    steps_out = {e["key"]: e["data"] for e in data["events"] if e["type"] == "step_done"}
    if expect_ok:
        eq(r.code, 0, f"run ({r!r})")
    return r, steps_out, data


def out(steps, sid):
    s = steps.get(sid)
    check(s is not None, f"step {sid} finished: {steps!r}")
    eq(s.get("status"), "done", f"step {sid} status ({s!r})")
    return s["out"]


def failed(steps, sid):
    s = steps.get(sid)
    check(s is not None, f"step {sid} finished: {steps!r}")
    eq(s.get("status"), "failed", f"step {sid} status ({s!r})")
    return s.get("err", "")


# --- ldap ----------------------------------------------------------------------------


@tap.test
def ldap_find_user(t):
    slapd()
    reset_users()
    cfg = ldap_config(t)
    _, steps, _ = run(t, cfg, [
        ("by_uid", "dir.find_user", {"user": "alice"}),
        ("by_mail", "dir.find_user", {"user": "bob@example.org"}),
        ("by_attr", "dir.find_user", {"user": "Carol Danvers", "by": "cn"}),
        ("nobody", "dir.find_user", {"user": "mallory"}),
    ])
    a = out(steps, "by_uid")
    eq(a["found"], True, "alice found")
    eq(a["dn"], dn("alice"), "alice's dn")
    eq(a["uid"], "alice", "uid")
    eq(a["mail"], "alice@example.org", "mail")
    eq(a["cn"], "Alice Liddell", "cn")
    eq(a["groups"], [f"cn=soc,ou=groups,{SUFFIX}"], "groups")
    eq((a["locked"], a["disabled"], a["must_change"]), (False, False, False), "lock state")
    eq(out(steps, "by_mail")["dn"], dn("bob"), "bob by mail")
    eq(out(steps, "by_mail")["groups"], [f"cn=soc,ou=groups,{SUFFIX}"], "bob's groups")
    eq(out(steps, "by_attr")["dn"], dn("carol"), "carol by cn")
    eq(out(steps, "by_attr")["groups"], [], "carol has no group")
    eq(out(steps, "nobody"), {"found": False}, "an unknown user")


@tap.test
def ldap_tls(t):
    slapd()
    check(os.path.exists(CA), f"ldap.sh made the test CA {CA}")
    setup_secrets(t, {"ldap_admin": ADMINPW})
    base = {"bind_dn": ADMIN, "password": {"secret": "ldap_admin"}, "base_dn": SUFFIX,
            "type": "ldap"}
    conns = {
        "starttls": dict(base, url=URL, starttls=True, ca_file=CA),
        "ldaps": dict(base, url="ldaps://127.0.0.1:636", ca_file=CA),
        # without the CA the certificate must not be trusted
        "untrusted": dict(base, url="ldaps://127.0.0.1:636", ca_file="/etc/ssl/certs/ca-certificates.crt"),
    }
    cfg = t.write("tls.yml", json.dumps({"connectors": conns}))
    _, steps, _ = run(t, cfg, [
        ("st", "starttls.find_user", {"user": "alice"}),
        ("tls", "ldaps.find_user", {"user": "alice"}),
        ("bad", "untrusted.find_user", {"user": "alice"}),
    ], expect_ok=False)
    eq(out(steps, "st")["dn"], dn("alice"), "StartTLS")
    eq(out(steps, "tls")["dn"], dn("alice"), "ldaps://")
    err = failed(steps, "bad")
    contains(err, "Can't contact LDAP server", "untrusted certificate")


@tap.test
def ldap_reset_password(t):
    slapd()
    reset_users()
    # the temporary password reaches the user by a route of its own (here an
    # exec program standing in for a one-time link); the run's stored events
    # show [secret] instead of it
    drop = t.path("delivered.txt")
    script = t.write("deliver.py", "import json, sys\n"
                     "req = json.load(sys.stdin)\n"
                     f"open({drop!r}, 'w').write(req['params']['password'])\n"
                     "print(json.dumps({'delivered': True}))\n")
    os.chmod(script, 0o755)
    setup_secrets(t, {"ldap_admin": "adminpw"})
    cfg = t.write("config.json.yml", json.dumps({"connectors": {
        "dir": {"type": "ldap", "url": URL, "bind_dn": ADMIN,
                "password": {"secret": "ldap_admin"}, "base_dn": SUFFIX},
        "deliver": {"type": "exec", "program": sys.executable, "args": [script],
                    "timeout": "10s"}}}))
    _, steps, data = run(t, cfg, [
        ("reset", "dir.reset_password", {"user": "alice", "return_password": True}),
        ("send", "deliver.run", {"password": "{{ steps.reset.temporary_password }}"}),
        ("quiet", "dir.reset_password", {"user": "bob"}),
        ("after", "dir.find_user", {"user": "alice"}),
    ])
    o = out(steps, "reset")
    eq((o["dn"], o["password_set"], o["must_change"]), (dn("alice"), True, True), "reset output")
    eq(o["temporary_password"], "[secret]", "the stored output hides the password")
    pw = open(drop).read()
    check(pw not in json.dumps(data), "the password is nowhere in the stored run")
    sent = [e["data"] for e in data["events"]
            if e["type"] == "action_requested" and e["key"] == "send"]
    eq(sent[0]["params"], {"password": "[secret]"}, "the parameters that carried it are redacted")
    check(len(pw) == 20 and any(c.isupper() for c in pw) and any(c.islower() for c in pw)
          and any(c.isdigit() for c in pw), "a strong password of 20 characters")
    eq(bind("alice", pw), 0, "bind with the new password")
    eq(bind("alice", "alicepw"), 49, "bind with the old password")
    contains(admin_get("alice", "pwdReset"), "pwdReset: TRUE", "pwdReset")
    eq(out(steps, "after")["must_change"], True, "find_user sees must_change")
    # the user can only change the password now
    rc, text = ldap_tool("ldapsearch", "-x", "-H", URL, "-D", dn("alice"), "-w", pw, "-b",
                         dn("alice"), "-s", "base", "dn")
    eq(rc, 50, f"alice may only change her password ({text})")
    rc, text = ldap_tool("ldappasswd", "-x", "-H", URL, "-D", dn("alice"), "-w", pw, "-a", pw,
                         "-s", "alice-chosen-9")
    eq(rc, 0, f"alice changes her password ({text})")
    eq(bind("alice", "alice-chosen-9"), 0, "bind with the chosen password")
    # without return_password the password goes nowhere
    q = out(steps, "quiet")
    check("temporary_password" not in q, f"no password without return_password: {q!r}")
    eq(bind("bob", "bobpw"), 49, "bob's old password is gone")
    contains(admin_get("bob", "pwdReset"), "pwdReset: TRUE", "bob's pwdReset")
    reset_users()


@tap.test
def ldap_disable_enable(t):
    slapd()
    reset_users()
    cfg = ldap_config(t)
    _, steps, _ = run(t, cfg, [
        ("off", "dir.disable", {"user": "carol"}),
        ("off2", "dir.disable", {"user": "carol"}),
        ("status", "dir.lockout_status", {"user": "carol"}),
    ])
    eq(out(steps, "off"), {"dn": dn("carol"), "disabled": True, "changed": True}, "disable")
    eq(out(steps, "off2")["changed"], False, "disabling twice changes nothing")
    s = out(steps, "status")
    eq((s["locked"], s["disabled"]), (True, True), f"status of a disabled account {s!r}")
    eq(bind("carol", "carolpw"), 49, "a disabled account cannot bind")
    _, steps, _ = run(t, cfg, [
        ("on", "dir.enable", {"user": "carol"}),
        ("on2", "dir.enable", {"user": "carol"}),
    ])
    eq(out(steps, "on"), {"dn": dn("carol"), "disabled": False, "changed": True}, "enable")
    eq(out(steps, "on2")["changed"], False, "enabling twice changes nothing")
    eq(bind("carol", "carolpw"), 0, "an enabled account binds")


@tap.test
def ldap_lockout_status(t):
    slapd()
    reset_users()
    for _ in range(3):  # the test policy locks after 3 failures
        eq(bind("bob", "wrong"), 49, "a failed bind")
    cfg = ldap_config(t)
    _, steps, _ = run(t, cfg, [("st", "dir.lockout_status", {"user": "bob"})])
    s = out(steps, "st")
    eq((s["locked"], s["disabled"], s["failure_count"]), (True, False, 3), f"locked out {s!r}")
    check(isinstance(s["since"], str) and s["since"].endswith("Z"), f"since {s!r}")
    eq(bind("bob", "bobpw"), 49, "a locked account cannot bind")
    _, steps, _ = run(t, cfg, [("on", "dir.enable", {"user": "bob"})])
    eq(out(steps, "on")["changed"], True, "enable unlocks")
    eq(bind("bob", "bobpw"), 0, "bob binds again")


@tap.test
def ldap_wrong_bind_password(t):
    slapd()
    cfg = ldap_config(t, password="not-the-admin-pw")
    r, steps, data = run(t, cfg, [("f", "dir.find_user", {"user": "alice"})], expect_ok=False)
    err = failed(steps, "f")
    contains(err, f"bind as {ADMIN}", "the failure says what")
    contains(err, "Invalid credentials (49)", "and why")
    everything = r.stdout + r.stderr + json.dumps(data)
    check("not-the-admin-pw" not in everything, "the password appears nowhere")


@tap.test
def ldap_closed_port(t):
    slapd()
    port = tap.free_port()
    cfg = ldap_config(t, url=f"ldap://127.0.0.1:{port}", network_timeout="2s")
    start = time.monotonic()
    r, steps, _ = run(t, cfg, [("f", "dir.find_user", {"user": "alice"})], expect_ok=False)
    err = failed(steps, "f")
    contains(err, "Can't contact LDAP server", "a refused connection")
    contains(err, f"127.0.0.1:{port}", "names the server")
    check(time.monotonic() - start < 30, "fails quickly")


@tap.test
def ldap_filter_injection(t):
    slapd()
    reset_users()
    cfg = ldap_config(t)
    _, steps, _ = run(t, cfg, [
        ("star", "dir.find_user", {"user": "*"}),
        ("close", "dir.find_user", {"user": "alice)(uid=*"}),
        ("or", "dir.find_user", {"user": "*)(|(uid=*"}),
        ("nul", "dir.find_user", {"user": "al\\2aice"}),
        ("disable_star", "dir.disable", {"user": "*"}),
        ("by", "dir.find_user", {"user": "alice", "by": "uid=alice)(cn"}),
    ], expect_ok=False)
    for sid in ("star", "close", "or", "nul"):
        eq(out(steps, sid), {"found": False}, f"{sid}: the value is matched literally")
    contains(failed(steps, "disable_star"), "no entry under", "disable of '*' finds nobody")
    contains(failed(steps, "by"), "parameter by", "a bad attribute name is refused")
    eq(bind("alice", "alicepw"), 0, "alice untouched")


# --- exec ----------------------------------------------------------------------------


def exec_config(t, conns):
    full = {}
    for name, (script, extra) in conns.items():
        path = t.write(f"{name}.py", script)
        os.chmod(path, 0o755)
        c = {"type": "exec", "program": PY, "args": [path], "workdir": t.dir}
        c.update(extra)
        full[name] = c
    return t.write("exec.yml", json.dumps({"connectors": full}))


ECHO_PY = """
import json, sys
req = json.load(sys.stdin)
print(json.dumps({"echo": req}))
"""

FAIL_PY = """
import json, sys
req = json.load(sys.stdin)
if req["params"].get("how") == "object":
    print(json.dumps({"error": "host ws-9 is not managed"}))
else:
    sys.stderr.write("Traceback...\\nRuntimeError: the API said no\\n")
    sys.exit(3)
"""

SLEEP_PY = """
import os, subprocess, time
child = subprocess.Popen(["/bin/sleep", "60"])
with open("pids", "w") as f:
    f.write("%d %d" % (os.getpid(), child.pid))
time.sleep(60)
"""

NONJSON_PY = """
print("all good, nothing to see")
"""

ENV_PY = """
import json, os
print(json.dumps({"env": dict(os.environ)}))
"""

MEM_PY = """
x = bytearray(1024 * 1024 * 1024)
print("{}")
"""


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except OSError:
        return False


@tap.test
def exec_echo_and_named_actions(t):
    cfg = exec_config(t, {"py": (ECHO_PY, {"actions": {"block": {"effect": "modify"}}})})
    _, steps, data = run(t, cfg, [("a", "py.run", {"host": "ws-01"}),
                                  ("b", "py.block", {"ip": "203.0.113.9"})])
    req = out(steps, "a")["echo"]
    eq(req["action"], "run", "action")
    eq(req["params"], {"host": "ws-01"}, "params")
    eq(req["idempotency_key"], f"{data['id']}/a", "idempotency key")
    eq(out(steps, "b")["echo"]["action"], "block", "named action")
    effects = {e["key"]: e["data"]["effect"] for e in data["events"]
               if e["type"] == "action_requested"}
    eq(effects, {"a": "read", "b": "modify"}, "effects")


@tap.test
def exec_failures(t):
    cfg = exec_config(t, {"py": (FAIL_PY, {}), "nj": (NONJSON_PY, {})})
    r, steps, _ = run(t, cfg, [("obj", "py.run", {"how": "object"}),
                               ("exit", "py.run", {"how": "exit"}),
                               ("nonjson", "nj.run", {})], expect_ok=False)
    contains(failed(steps, "obj"), "py.run: host ws-9 is not managed", "an error object")
    contains(failed(steps, "exit"), "exited with status 3", "a non-zero exit")
    contains(failed(steps, "exit"), "RuntimeError: the API said no", "with stderr's tail")
    contains(failed(steps, "nonjson"), "stdout is not JSON", "non-JSON stdout")
    contains(failed(steps, "nonjson"), "all good, nothing to see", "shows what it printed")


@tap.test
def exec_timeout_kills(t):
    cfg = exec_config(t, {"slow": (SLEEP_PY, {"timeout": "1s"})})
    start = time.monotonic()
    r, steps, _ = run(t, cfg, [("s", "slow.run", {})], expect_ok=False)
    took = time.monotonic() - start
    contains(failed(steps, "s"), "timed out after 1000 ms, killed", "the time limit")
    check(took < 20, f"the run ended soon after the limit ({took:.1f}s)")
    with open(t.path("pids")) as f:
        leader, child = (int(x) for x in f.read().split())
    check(not os.path.exists(f"/proc/{leader}"), "the program was killed and reaped (no zombie)")
    tap.wait_until(lambda: not alive(child), 5, "its child to be killed with its group")


@tap.test
def exec_environment_has_no_secrets(t):
    # the daemon's environment holds the secret store's key and a token; the
    # child gets neither, nor the secret the instance could name
    setup_secrets(t, {"api": "s3cr3t-api-value"})
    t.env["API_TOKEN"] = "tok-should-not-leak"
    cfg = exec_config(t, {"env": (ENV_PY, {})})
    r, steps, data = run(t, cfg, [("e", "env.run", {})])
    eq(out(steps, "e")["env"], {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}, "environment")
    everything = r.stdout + r.stderr + json.dumps(data)
    for secret in ("tok-should-not-leak", SECRET_KEY, "s3cr3t-api-value"):
        check(secret not in everything, f"{secret} reached the child or the trace")


@tap.test
def exec_memory_limit(t):
    cfg = exec_config(t, {"mem": (MEM_PY, {"memory_mb": 64})})
    r, steps, _ = run(t, cfg, [("m", "mem.run", {})], expect_ok=False)
    err = failed(steps, "m")
    contains(err, "MemoryError", "the allocation fails under memory_mb")


if __name__ == "__main__":
    tap.main()

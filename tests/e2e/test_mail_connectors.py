#!/usr/bin/env python3
"""test_mail_connectors.py: the smtp and imap connectors through the real
binary against real Postfix and Dovecot on loopback (scripts/servers/mail.sh:
users analyst, alice, bob, carol with password NAME-pw; the Dovecot master
user riposte-admin / riposte-admin-pw; SMTP on :25, submission with STARTTLS
and AUTH on :587, IMAP on :143).

- `riposte run --config` of a playbook that sends a mail (text, HTML, UTF-8
  headers) and imaplib sees it arrive; STARTTLS with AUTH on submission;
- a phishing mail to three users, searched for by Message-ID in every mailbox
  and deleted, and imaplib confirms it is gone from all three; the same with a
  quarantine folder; a search by attachment SHA-256;
- the imap source of `riposte serve --config` turns a report mail into a
  phishing alert (GET /api/v1/cases) and marks it seen;
- failures: a wrong password (IMAP master login, SMTP AUTH), a refused
  connection, a header injection attempt: each a failed step with its reason,
  and no password in any output or log.

Skips, saying why, when the servers cannot be started (not root and not
running); CI runs as root.

    RIPOSTE_BIN=build/riposte python3 tests/e2e/test_mail_connectors.py [TEST...]
"""

import email
import email.header
import hashlib
import http.client
import imaplib
import json
import os
import smtplib
import subprocess
import sys
import time
import uuid
from email.message import EmailMessage

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tap  # noqa: E402
from tap import check, contains, eq  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
MAIL_SH = os.path.join(ROOT, "scripts", "servers", "mail.sh")
MASTER, MASTER_PW = "riposte-admin", "riposte-admin-pw"
USERS = ["alice", "bob", "carol"]
SECRET_KEY = "6a" * 32

_servers = None


def servers():
    """Starts Postfix and Dovecot through mail.sh once; skips when that fails."""
    global _servers
    if _servers is None:
        try:
            p = subprocess.run(["bash", MAIL_SH, "start"], capture_output=True, timeout=600,
                               stdin=subprocess.DEVNULL)
            _servers = (p.returncode == 0, (p.stdout + p.stderr).decode("utf-8", "replace"))
        except (OSError, subprocess.TimeoutExpired) as e:
            _servers = (False, str(e))
    if not _servers[0]:
        tap.skip("postfix and dovecot cannot be started here (mail.sh start needs root): "
                 + _servers[1].strip()[-200:])


def imap(user):
    """An IMAP session as user (through the master login, as an admin would)."""
    m = imaplib.IMAP4("127.0.0.1", 143, timeout=20)
    m.login(f"{user}*{MASTER}", MASTER_PW)
    return m


def find(user, message_id, mailbox="INBOX"):
    """UIDs of messages with that Message-ID in user's mailbox."""
    m = imap(user)
    try:
        typ, _ = m.select(mailbox, readonly=True)
        if typ != "OK":
            return []
        typ, data = m.uid("SEARCH", "HEADER", "Message-ID", f'"{message_id}"')
        eq(typ, "OK", f"imaplib search in {user}/{mailbox}")
        return data[0].split()
    finally:
        m.logout()


def fetch(user, uid, mailbox="INBOX"):
    m = imap(user)
    try:
        m.select(mailbox, readonly=True)
        typ, data = m.uid("FETCH", uid, "(BODY.PEEK[])")
        eq(typ, "OK", "imaplib fetch")
        return email.message_from_bytes(data[0][1])
    finally:
        m.logout()


def wait_delivered(user, message_id, n=1, timeout=20):
    return tap.wait_until(lambda: len(find(user, message_id)) >= n and find(user, message_id),
                          timeout, f"{message_id} in {user}'s INBOX", interval=0.2)


def smtp_send(msg):
    with smtplib.SMTP("127.0.0.1", 25, timeout=20) as s:
        s.send_message(msg)


def phishing(to, attachment=None):
    mid = f"<{uuid.uuid4().hex}@evil.example>"
    msg = EmailMessage()
    msg["From"] = "IT Support <support@evil.example>"
    msg["To"] = ", ".join(f"{u}@localhost" for u in to)
    msg["Subject"] = "Your password expires today"
    msg["Message-ID"] = mid
    msg.set_content("Click http://evil.example/login to keep your password.\n")
    if attachment is not None:
        msg.add_attachment(attachment, maintype="application", subtype="octet-stream",
                           filename="invoice.pdf.exe")
    smtp_send(msg)
    return mid


def config(t, connectors, secrets=None):
    if secrets:
        t.env["RIPOSTE_SECRET_KEY"] = SECRET_KEY
        for name, value in secrets.items():
            r = t.riposte("secret", "set", name, input=value)
            eq(r.code, 0, f"secret set {name} ({r!r})")
    return t.write("config.yml", json.dumps({"connectors": connectors}))


def box(**extra):
    c = {"type": "imap", "url": "imap://127.0.0.1:143", "master_user": MASTER,
         "master_password": {"secret": "imap_master"}, "users": USERS, "timeout": "20s"}
    c.update(extra)
    return c


def run(t, conf, steps, expect_ok=True):
    """Runs a playbook of steps [(id, action, with)]: (result, {id: step_done data})."""
    lines = ["playbook: t", "steps:"]
    for sid, action, params in steps:
        lines += [f"  - id: {sid}", f"    action: {action}", f"    with: {json.dumps(params)}"]
        if not expect_ok:
            lines.append("    on_error: continue")
    pb = t.write("pb.yml", "\n".join(lines) + "\n")
    r = t.riposte("run", pb, "--config", conf, timeout=120)
    check("unknown option --config" not in r.stderr,
          "riposte run has no --config: the lead must make `riposte run` load connectors")
    rl = t.riposte("run-list", "--json", "--limit", "1")
    first = [ln for ln in rl.stdout.splitlines() if ln.strip()]
    check(first, f"a run was recorded ({r!r})")
    show = t.riposte("run-show", json.loads(first[0])["id"], "--json")
    eq(show.code, 0, f"run-show ({show!r})")
    data = json.loads(show.stdout)
    done = {e["key"]: e["data"] for e in data["events"] if e["type"] == "step_done"}
    if expect_ok:
        eq(r.code, 0, f"run ({r!r})")
    for pw in ("riposte-admin-pw", "alice-pw", "analyst-pw", "wrong-pw-123"):
        check(pw not in r.stdout + r.stderr + show.stdout, f"a password in the output: {pw}")
    return r, done


def out(done, sid):
    s = done.get(sid)
    check(s is not None, f"step {sid} finished: {done!r}")
    eq(s.get("status"), "done", f"step {sid} status ({tap.shorten(s)})")
    return s["out"]


def failed(done, sid):
    s = done.get(sid)
    check(s is not None, f"step {sid} finished: {done!r}")
    eq(s.get("status"), "failed", f"step {sid} status ({tap.shorten(s)})")
    return json.dumps(s)


# --- smtp ------------------------------------------------------------------------------


@tap.test
def send_arrives_in_dovecot(t):
    servers()
    conf = config(t, {"mail": {"type": "smtp", "url": "smtp://127.0.0.1:25",
                               "from": "SOC Équipe <soc@localhost>"}})
    tag = uuid.uuid4().hex[:8]
    _, done = run(t, conf, [("notify", "mail.send", {
        "to": ["analyst@localhost"], "cc": "Ålice <alice@localhost>",
        "subject": f"Phishing gemeldet: Ärger {tag} — " + "long " * 30,
        "text": "Bonjour,\nthe mail was deleted. é ü\n.\nFrom here on\n",
        "html": "<p>Bonjour, the mail was <b>deleted</b>. é</p>",
        "reply_to": "soc-replies@localhost"})])
    o = out(done, "notify")
    eq(sorted(o["accepted"]), ["alice@localhost", "analyst@localhost"], "accepted")
    mid = o["message_id"]
    check(mid.startswith("<") and mid.endswith("@localhost>"), f"message_id {mid}")
    for user in ("analyst", "alice"):
        uid = wait_delivered(user, mid)[0]
        m = fetch(user, uid)
        subject = str(email.header.make_header(email.header.decode_header(m["Subject"])))
        check(subject.startswith(f"Phishing gemeldet: Ärger {tag} — long"), f"subject {subject!r}")
        eq(m.get_content_type(), "multipart/alternative", "content type")
        parts = {p.get_content_type(): p for p in m.walk() if not p.is_multipart()}
        text = parts["text/plain"].get_payload(decode=True).decode("utf-8")
        eq(text.replace("\r\n", "\n"), "Bonjour,\nthe mail was deleted. é ü\n.\nFrom here on\n",
           "text body")
        contains(parts["text/html"].get_payload(decode=True).decode(), "<b>deleted</b>", "html")
        contains(str(email.header.make_header(email.header.decode_header(m["From"]))),
                 "SOC Équipe", "From")
        contains(m["Reply-To"], "soc-replies@localhost", "Reply-To")
        check(m["Date"] and m["MIME-Version"] == "1.0", f"Date and MIME-Version: {dict(m)}")


@tap.test
def send_with_starttls_and_auth(t):
    servers()
    conf = config(t, {"sub": {"type": "smtp", "url": "smtp://127.0.0.1:587", "starttls": True,
                              "tls_verify": False, "user": "alice",
                              "password": {"secret": "alice_pw"}, "from": "alice@localhost"}},
                  secrets={"alice_pw": "alice-pw"})
    _, done = run(t, conf, [("s", "sub.send", {"to": "bob@localhost", "subject": "tls",
                                                 "text": "over STARTTLS"})])
    wait_delivered("bob", out(done, "s")["message_id"])


@tap.test
def smtp_wrong_password_fails_the_step(t):
    servers()
    conf = config(t, {"sub": {"type": "smtp", "url": "smtp://127.0.0.1:587", "starttls": True,
                              "tls_verify": False, "user": "alice",
                              "password": {"secret": "alice_pw"}, "from": "alice@localhost"}},
                  secrets={"alice_pw": "wrong-pw-123"})
    _, done = run(t, conf, [("s", "sub.send", {"to": "bob@localhost", "subject": "x",
                                                 "text": "y"})], expect_ok=False)
    contains(failed(done, "s"), "Login denied", "reason")


@tap.test
def refused_connection_fails_the_step(t):
    port = tap.free_port()  # nothing listens there
    conf = config(t, {"mail": {"type": "smtp", "url": f"smtp://127.0.0.1:{port}",
                               "from": "soc@localhost", "connect_timeout": "3s"},
                      "box": {"type": "imap", "url": f"imap://127.0.0.1:{port}",
                              "master_user": MASTER, "master_password": "x", "users": ["bob"],
                              "connect_timeout": "3s"}})
    _, done = run(t, conf, [("s", "mail.send", {"to": "bob@localhost", "subject": "x",
                                                  "text": "y"}),
                            ("f", "box.search", {"subject": "x"})], expect_ok=False)
    contains(failed(done, "s"), "connect", "smtp reason")
    contains(failed(done, "f"), "connect", "imap reason")


@tap.test
def header_injection_is_refused(t):
    port = tap.free_port()  # refused before any connection
    conf = config(t, {"mail": {"type": "smtp", "url": f"smtp://127.0.0.1:{port}",
                               "from": "soc@localhost"}})
    _, done = run(t, conf, [
        ("subj", "mail.send", {"to": "bob@localhost", "subject": "hi\r\nBcc: evil@evil.example",
                               "text": "y"}),
        ("to", "mail.send", {"to": "bob@localhost\nBcc: evil@evil.example", "subject": "x",
                             "text": "y"}),
        ("reply", "mail.send", {"to": "bob@localhost", "reply_to": "a@b\r\nX: y", "subject": "x",
                                "text": "y"})], expect_ok=False)
    for sid in ("subj", "to", "reply"):
        contains(failed(done, sid), "header injection refused", f"{sid} reason")


# --- imap ------------------------------------------------------------------------------


@tap.test
def search_and_delete_everywhere(t):
    servers()
    mid = phishing(USERS)
    for u in USERS:
        wait_delivered(u, mid)
    conf = config(t, {"box": box()}, secrets={"imap_master": MASTER_PW})
    _, done = run(t, conf, [("find", "box.search", {"message_id": mid}),
                            ("del", "box.delete", {"message_id": mid}),
                            ("again", "box.search", {"message_id": mid})])
    f = out(done, "find")
    eq(f["count"], 3, f"matches ({f})")
    eq(sorted(m["user"] for m in f["matches"]), USERS, "users")
    for m in f["matches"]:
        eq(m["message_id"], mid, "message_id")
        eq(m["subject"], "Your password expires today", "subject")
        eq(m["mailbox"], "INBOX", "mailbox")
    d = out(done, "del")
    eq(d["deleted"], {u: 1 for u in USERS}, "deleted per user")
    eq(d["total"], 3, "total")
    eq(out(done, "again")["count"], 0, "found after delete")
    for u in USERS:
        eq(find(u, mid), [], f"{u}'s INBOX still has {mid}")


@tap.test
def delete_to_quarantine(t):
    servers()
    mid = phishing(["bob", "carol"])
    for u in ("bob", "carol"):
        wait_delivered(u, mid)
    conf = config(t, {"box": box(quarantine="Quarantine")}, secrets={"imap_master": MASTER_PW})
    _, done = run(t, conf, [("del", "box.delete", {"message_id": mid,
                                                     "users": ["bob", "carol"]})])
    eq(out(done, "del")["deleted"], {"bob": 1, "carol": 1}, "moved per user")
    for u in ("bob", "carol"):
        eq(find(u, mid), [], f"{u}'s INBOX")
        eq(len(find(u, mid, "Quarantine")), 1, f"{u}'s Quarantine")


@tap.test
def search_by_attachment_hash(t):
    servers()
    blob = b"MZ" + uuid.uuid4().bytes * 64
    sha = hashlib.sha256(blob).hexdigest()
    mid = phishing(["alice"], attachment=blob)
    other = phishing(["alice"], attachment=b"harmless " + uuid.uuid4().bytes)
    wait_delivered("alice", mid)
    wait_delivered("alice", other)
    conf = config(t, {"box": box(users=["alice"])}, secrets={"imap_master": MASTER_PW})
    _, done = run(t, conf, [("h", "box.search", {"attachment_hash": sha}),
                            ("h5", "box.search", {"attachment_hash": hashlib.md5(blob).hexdigest(),
                                                  "mailboxes": ["INBOX"]})])
    for sid in ("h", "h5"):
        o = out(done, sid)
        eq([m["message_id"] for m in o["matches"]], [mid], f"{sid} matches")


@tap.test
def imap_wrong_password_fails_the_step(t):
    servers()
    conf = config(t, {"box": box(users=["bob"])}, secrets={"imap_master": "wrong-pw-123"})
    _, done = run(t, conf, [("f", "box.search", {"subject": "anything"}),
                            ("d", "box.delete", {"message_id": "<x@y>"})], expect_ok=False)
    for sid in ("f", "d"):
        reason = failed(done, sid)
        contains(reason, "bob", f"{sid} names the user")
        contains(reason, "Login denied", f"{sid} reason")


@tap.test
def empty_criteria_refused(t):
    conf = config(t, {"box": box(master_password="x")})
    _, done = run(t, conf, [("d", "box.delete", {"users": ["bob"]})], expect_ok=False)
    contains(failed(done, "d"), "at least one of", "reason")


# --- the imap source ----------------------------------------------------------------


def drain(user):
    """Marks everything in user's INBOX seen, so a source starts clean."""
    m = imap(user)
    try:
        m.select("INBOX")
        m.store("1:*", "+FLAGS", "\\Seen")
    except imaplib.IMAP4.error:
        pass
    finally:
        m.logout()


@tap.test(timeout=90)
def source_turns_reports_into_alerts(t):
    servers()
    drain("analyst")
    conf = config(t, {"reports": {
        "type": "imap", "url": "imap://127.0.0.1:143", "user": "analyst",
        "password": {"secret": "analyst_pw"}, "timeout": "20s",
        "sources": {"inbox": {"mailbox": "INBOX", "every": "1s"}}}},
        secrets={"analyst_pw": "analyst-pw"})
    r = t.riposte("token", "create", "--name", "admin", "--db", t.db)
    eq(r.code, 0, f"token create ({r!r})")
    token = [ln for ln in r.stdout.splitlines() if ln.strip()][0].strip()
    port = tap.free_port()
    p = t.spawn("serve", "--config", conf, "--listen", f"127.0.0.1:{port}", "--db", t.db)

    def get(path):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            c.request("GET", path, headers={"Authorization": f"Bearer {token}"})
            r = c.getresponse()
            return r.status, r.read()
        finally:
            c.close()

    def up():
        check(p.poll() is None, f"serve exited {p.returncode}: {tap.shorten(t.proc_stderr(p))}")
        try:
            return get("/healthz")[0] == 200
        except OSError:
            return False

    tap.wait_until(up, 20, "the daemon")
    # a user forwards the suspicious mail as an attachment
    inner = EmailMessage()
    inner["From"] = "Payroll <payroll@evil.example>"
    inner["To"] = "bob@localhost"
    inner["Subject"] = "Salary adjustment"
    inner["Message-ID"] = f"<{uuid.uuid4().hex}@evil.example>"
    inner.set_content("Open http://evil.example/salary now\n")
    report = EmailMessage()
    report["From"] = "Bob <bob@localhost>"
    report["To"] = "analyst@localhost"
    report["Subject"] = "Fwd: Salary adjustment"
    report["Message-ID"] = f"<{uuid.uuid4().hex}@localhost>"
    report.set_content("This looks like phishing.\n")
    report.add_attachment(inner)
    smtp_send(report)

    def phishing_case():
        st, body = get("/api/v1/cases")
        if st != 200:
            return None
        v = json.loads(body)
        cases = v["cases"] if isinstance(v, dict) else v
        text = json.dumps(cases)
        return cases if "phishing" in text and "Salary adjustment" in text else None

    cases = tap.wait_until(phishing_case, 40, "a phishing case from the report mailbox",
                           interval=0.5)
    check(cases, "cases")
    # the report was marked seen
    m = imap("analyst")
    try:
        m.select("INBOX", readonly=True)
        typ, data = m.uid("SEARCH", "UNSEEN", "HEADER", "Message-ID", f'"{report["Message-ID"]}"')
        eq(data[0].split(), [], "the report is still unseen")
    finally:
        m.logout()
    err = t.proc_stderr(p)
    contains(err, "imap.polled", "log")
    check("analyst-pw" not in err, "the password in the log")


@tap.test(timeout=90)
def prompt_goes_out_by_mail(t):
    """With prompt_mail set, a prompt's question and its answer link are mailed to
    its `to:` address once the prompt is stored."""
    servers()
    tag = uuid.uuid4().hex[:8]
    t.write("config.yml", json.dumps({
        "connectors": {"mail": {"type": "smtp", "url": "smtp://127.0.0.1:25",
                                "from": "soc@localhost"}},
        "prompt_mail": "mail.send", "public_url": "https://soc.example.org/"}))
    t.write("pb.yml", "playbook: ask\nsteps:\n  - id: ask\n    prompt:\n"
            "      to: carol@localhost\n"
            f"      question: \"Did you sign in from Lagos? ({tag})\"\n"
            "      options: [yes, no]\n      timeout: 1h\n")
    p = t.spawn("run", "pb.yml", "--config", "config.yml")
    found = []

    def arrived():
        m = imap("carol")
        try:
            m.select("INBOX")
            typ, data = m.search(None, "BODY", tag)
            ids = data[0].split() if typ == "OK" else []
            if ids:
                typ, msg = m.fetch(ids[-1], "(RFC822)")
                found.append(email.message_from_bytes(msg[0][1]))
            return bool(ids)
        finally:
            m.logout()

    tap.wait_until(arrived, 30, "the question to arrive in carol's mailbox")
    body = found[0].get_payload(decode=True).decode("utf-8")
    contains(body, f"Did you sign in from Lagos? ({tag})", "the question")
    contains(body, "Options: yes, no", "the options")
    contains(body, "https://soc.example.org/respond/", "the answer link (public_url)")
    pid = t.sql("SELECT id FROM prompts")[0][0]
    contains(body, pid, "the link is this prompt's")
    r = t.riposte("prompt", "answer", pid, "yes")
    eq(r.code, 0, f"answered ({r!r})")
    tap.wait_until(lambda: p.poll() is not None, 20, "the run to finish")
    eq(p.returncode, 0, "the run went on with the answer")


if __name__ == "__main__":
    tap.main()

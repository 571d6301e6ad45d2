"""test_corpus_mail.py: raw mail through the real binary (`riposte parse`).

Over every file of <repo>/../shared/corpus/email/ (skipped when that folder is
absent): each parses to one phishing alert, with --format mail and with the
format detected; and the fields docs/mail.md documents are checked against
Python's own `email` package reading the same file: the subject, the sender's
address, the Message-ID, every named attachment with its SHA-256, and at least
one URL when a body has one. The project's own fixtures (the fuzz seeds of
tests/fuzz/corpus/mail/) run everywhere: a forwarded report names its reporter.

Environment: RIPOSTE_BIN, the binary to run. Standard library only.
"""

import email
import email.policy
import hashlib
import json
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tap  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", ".."))
CORPUS = os.path.abspath(os.path.join(REPO, "..", "shared", "corpus", "email"))
SEEDS = os.path.join(REPO, "tests", "fuzz", "corpus", "mail")


def corpus_files():
    if not os.path.isdir(CORPUS):
        tap.skip(f"no mail corpus at {CORPUS}")
    files = sorted(os.path.join(CORPUS, f) for f in os.listdir(CORPUS) if f.endswith(".eml"))
    if not files:
        tap.skip(f"no .eml files in {CORPUS}")
    return files


def is_blank(path):
    with open(path, "rb") as f:
        return f.read().strip() == b""


def parse(t, path, fmt="mail"):
    """The alerts `riposte parse` prints for one file, and the run."""
    args = ["parse"] + (["--format", fmt] if fmt else []) + [path]
    r = t.riposte(*args)
    alerts = []
    for line in r.stdout.splitlines():
        if line.strip():
            try:
                alerts.append(json.loads(line))
            except ValueError as e:
                tap.fail(f"{os.path.basename(path)}: output line is not JSON ({e}): {line[:200]!r}")
    return alerts, r


def one_alert(t, path, fmt="mail"):
    alerts, r = parse(t, path, fmt)
    if len(alerts) != 1:
        tap.fail(f"{os.path.basename(path)}: expected one alert, got {len(alerts)} "
                 f"(exit {r.code}, stderr {tap.shorten(r.stderr, 300)!r})")
    return alerts[0]


def ws(s):
    return " ".join((s or "").split())


# --- Python's reading of the same mail ---------------------------------------------


def py_message(path):
    with open(path, "rb") as f:
        return email.message_from_bytes(f.read(), policy=email.policy.default)


def attached_message(msg):
    """The first mail attached at the top level (message/rfc822 or an .eml file):
    what the alert describes when it is a report or a spam filter's wrapper."""
    for part in msg.walk():
        if part is msg:
            continue
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner:
                return inner[0]
        fn = part.get_filename() or ""
        if fn.lower().endswith(".eml"):
            data = part.get_payload(decode=True) or b""
            return email.message_from_bytes(data, policy=email.policy.default)
    return None


def header_str(msg, name):
    """A header as Python decodes it; None when absent or when Python cannot
    decode it cleanly (raw 8-bit bytes come back as surrogates)."""
    try:
        v = msg[name]
    except Exception:  # Python's header parser gives up on some hostile headers
        return None
    if v is None:
        return None
    s = str(v)
    if any(0xDC80 <= ord(c) <= 0xDCFF for c in s) or "\ufffd" in s:
        return None
    return s


def py_addresses(msg, name):
    try:
        h = msg[name]
        addrs = [a.addr_spec for a in getattr(h, "addresses", ())]
    except Exception:
        return []
    return [a.lower() for a in addrs if "@" in a and not a.startswith("@")]


def py_attachments(msg):
    """{name: sha256} of every part with a file name."""
    out = {}
    for part in msg.walk():
        if part.is_multipart() or part.get_content_type() == "message/rfc822":
            continue
        try:
            fn = part.get_filename()
        except Exception:
            continue
        if not fn or any(0xDC80 <= ord(c) <= 0xDCFF for c in fn):
            continue
        data = part.get_payload(decode=True) or b""
        out[ws(fn)] = hashlib.sha256(data).hexdigest()
    return out


URL_TEXT = re.compile(r"https?://[A-Za-z0-9][^\s\"'<>]*", re.I)
URL_HREF = re.compile(r"<a\b[^>]*\bhref\s*=\s*[\"']?\s*https?://[A-Za-z0-9]", re.I | re.S)


def py_has_url(msg):
    """True when a text body writes a web URL out, or an HTML body links one."""
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype not in ("text/plain", "text/html") or part.is_attachment():
            continue
        try:
            text = part.get_content()
        except Exception:
            data = part.get_payload(decode=True) or b""
            text = data.decode("utf-8", "replace")
        if not isinstance(text, str):
            continue
        if ctype == "text/plain" and URL_TEXT.search(text):
            return True
        if ctype == "text/html" and URL_HREF.search(text):
            return True
    return False


# --- tests -------------------------------------------------------------------------


@tap.test(timeout=600)
def every_mail_is_a_phishing_alert(t):
    """--format mail: one phishing alert per file (nothing from an empty file)."""
    failures = []
    for path in corpus_files():
        name = os.path.basename(path)
        alerts, r = parse(t, path)
        if is_blank(path):
            if alerts:
                failures.append(f"{name}: an alert from an empty file")
            continue
        if len(alerts) != 1:
            failures.append(f"{name}: {len(alerts)} alerts (exit {r.code}): "
                            f"{tap.shorten(r.stderr, 200)}")
            continue
        a = alerts[0]
        if a.get("kind") != "phishing" or a.get("source") != "mail":
            failures.append(f"{name}: kind {a.get('kind')!r}, source {a.get('source')!r}")
        title = a.get("title", "")
        if not (title.startswith("Suspicious mail: ") or title.startswith("Reported phishing: ")):
            failures.append(f"{name}: title {title!r}")
        if not 0 <= a.get("severity", -1) <= 100 or not a.get("fingerprint"):
            failures.append(f"{name}: severity {a.get('severity')!r} or no fingerprint")
    if failures:
        tap.fail(f"{len(failures)} files:\n" + "\n".join(failures))


@tap.test(timeout=600)
def the_format_is_detected(t):
    """Without --format, every non-empty corpus mail is still read as a mail."""
    failures = []
    for path in corpus_files():
        if is_blank(path):
            continue
        alerts, r = parse(t, path, fmt=None)
        if len(alerts) != 1 or alerts[0].get("kind") != "phishing":
            failures.append(f"{os.path.basename(path)}: {len(alerts)} alerts, "
                            f"stderr {tap.shorten(r.stderr, 200)}")
    if failures:
        tap.fail(f"{len(failures)} files not detected as mail:\n" + "\n".join(failures))


@tap.test(timeout=600)
def fields_match_python(t):
    """Subject, sender, Message-ID, attachments (name and SHA-256) and URLs agree
    with Python's email package on every corpus mail."""
    failures = []
    checked = {"subject": 0, "from": 0, "message_id": 0, "attachments": 0, "urls": 0}
    for path in corpus_files():
        if is_blank(path):
            continue
        name = os.path.basename(path)
        a = one_alert(t, path)
        e = a.get("email", {})
        msg = py_message(path)
        # an inline forward: the subject mail's fields come from the quoted
        # block, which Python does not parse; the outer mail is the report's
        if e.get("forwarded") == "inline":
            checked.setdefault("inline_forwards", 0)
            checked["inline_forwards"] += 1
            outer_from = py_addresses(msg, "from")
            rep = (a.get("reporter") or {}).get("email", "")
            if outer_from and rep.lower() not in outer_from:
                failures.append(f"{name}: reporter {rep!r}, Python's From {outer_from!r}")
            if not e.get("from") or a.get("extra", {}).get("report", {}).get("subject") != \
                    ws(header_str(msg, "subject") or "") and header_str(msg, "subject"):
                failures.append(f"{name}: inline forward without its quoted From or the "
                                f"report's subject: {e.get('from')!r}")
            continue
        # a report or a spam filter's wrapper describes the attached mail
        if a.get("reporter") is not None or a.get("extra", {}).get("wrapper"):
            inner = attached_message(msg)
            if inner is None:
                failures.append(f"{name}: turned to an attached mail Python does not see")
                continue
            msg = inner

        subject = header_str(msg, "subject")
        if subject is not None:
            checked["subject"] += 1
            if ws(subject) != ws(e.get("subject")):
                failures.append(f"{name}: subject {e.get('subject')!r}, Python {subject!r}")

        addrs = py_addresses(msg, "from")
        if addrs:
            checked["from"] += 1
            mine = (e.get("from") or "").lower()
            if not any(x in mine for x in addrs):
                failures.append(f"{name}: from {e.get('from')!r}, Python {addrs!r}")

        mid = header_str(msg, "message-id")
        if mid is not None and mid.strip():
            checked["message_id"] += 1
            if ws(mid).strip("<>") != (e.get("message_id") or "").strip("<>"):
                failures.append(f"{name}: message_id {e.get('message_id')!r}, Python {mid!r}")

        truncated = a.get("extra", {}).get("truncated", {})
        if "attachments" not in truncated:
            mine = {}
            for x in e.get("attachments", []):
                if x.get("name"):
                    mine.setdefault(x["name"], set()).add(x.get("sha256"))
            for fn, digest in py_attachments(msg).items():
                checked["attachments"] += 1
                if fn not in mine:
                    failures.append(f"{name}: attachment {fn!r} missing (have {sorted(mine)!r})")
                elif digest not in mine[fn]:
                    failures.append(f"{name}: attachment {fn!r}: sha256 differs from Python's")

        if py_has_url(msg):
            checked["urls"] += 1
            if not e.get("urls"):
                failures.append(f"{name}: a body has a URL, email.urls is empty")
    tap._diag("checked: " + ", ".join(f"{k} {v}" for k, v in checked.items()))
    if failures:
        tap.fail(f"{len(failures)} differences:\n" + "\n".join(failures))
    tap.check(checked["subject"] >= 50 and checked["attachments"] >= 20 and checked["urls"] >= 30,
              f"too little was compared: {checked}")


@tap.test
def a_forwarded_report_names_its_reporter(t):
    """The project's fixture: the attached mail is the subject, the forwarder
    the reporter."""
    a = one_alert(t, os.path.join(SEEDS, "report-forward.eml"))
    tap.eq(a.get("title"), "Reported phishing: Mailbox full", "title")
    tap.eq(a.get("reporter", {}).get("email"), "alice@corp.example", "reporter.email")
    tap.eq(a.get("reporter", {}).get("name"), "Alice", "reporter.name")
    tap.contains(a["email"].get("from", ""), "helpdesk@corp-it.example", "email.from")
    tap.eq(a["email"].get("auth", {}).get("dmarc"), "fail", "email.auth.dmarc")
    tap.check("https://mailbox-admin.example/owa" in a["email"].get("urls", []),
              f"email.urls: {a['email'].get('urls')!r}")
    link = [x for x in a["email"].get("links", []) if x["url"] == "https://mailbox-admin.example/owa"]
    tap.eq(link[0].get("text") if link else None, "https://outlook.office.com/", "link text")
    roles = {(o["type"], o["role"]) for o in a.get("observables", [])}
    tap.check(("url", "link") in roles and ("email", "sender") in roles,
              f"observables: {a.get('observables')!r}")


@tap.test
def every_seed_parses_or_is_rejected_with_a_reason(t):
    """The fuzz seeds through the binary: an alert each, except the one that is
    no mail, which is rejected with its reason and exit 3."""
    for f in sorted(os.listdir(SEEDS)):
        path = os.path.join(SEEDS, f)
        alerts, r = parse(t, path)
        if f.startswith("not-a-mail"):
            tap.eq(len(alerts), 0, f"{f}: alerts")
            tap.eq(r.code, 3, f"{f}: exit code")
            tap.contains(r.stderr, "header field", f"{f}: stderr")
        else:
            tap.eq(len(alerts), 1, f"{f}: alerts (stderr {tap.shorten(r.stderr, 200)!r})")
            tap.eq(alerts[0].get("kind"), "phishing", f"{f}: kind")


tap.main()

#!/usr/bin/env python3
"""mail_bench.py: the baseline of bench_mail: Python's standard `email` package
reading the same mails, the same passes (bench/RESULTS-mail.md).

    python3 bench/mail_bench.py [--passes N] [--full] [DIR]

Loads every regular file of DIR (default: ../shared/corpus/email next to the
repository) into memory, then N passes (default 20, after one untimed warm-up
pass), one thread: each mail parsed with email.message_from_bytes(policy=
email.policy.default), its subject, From and To decoded, and every leaf part
decoded: text parts to str (get_content: transfer encoding and charset), the
others to bytes (get_payload(decode=True)). That is less than bench_mail does
(no HTML scan, no hashes, no alert), so the ratio is conservative. With --full
it also does what bench_mail adds: MD5, SHA-1 and SHA-256 of each attachment and
a regex search for URLs in the bodies. Prints one JSON object like bench_mail's.
"""

import email
import email.policy
import hashlib
import json
import os
import re
import sys
import time

URL = re.compile(r"(?:https?|ftp)://[^\s\"'<>]+", re.I)


def read_one(data, full):
    msg = email.message_from_bytes(data, policy=email.policy.default)
    for name in ("subject", "from", "to"):
        try:
            str(msg[name] or "")
        except Exception:
            pass
    urls = 0
    for part in msg.walk():
        if part.is_multipart():
            continue
        try:
            if part.get_content_maintype() == "text" and not part.is_attachment():
                text = part.get_content()
                if full and isinstance(text, str):
                    urls += len(URL.findall(text))
            else:
                payload = part.get_payload(decode=True)
                if full and isinstance(payload, bytes):
                    hashlib.md5(payload).digest()
                    hashlib.sha1(payload).digest()
                    hashlib.sha256(payload).digest()
        except Exception:
            pass  # a part Python cannot decode is skipped, as a reader would
    return urls


def main():
    args = sys.argv[1:]
    passes, full, d = 20, False, None
    while args:
        a = args.pop(0)
        if a == "--passes" and args:
            passes = int(args.pop(0))
        elif a == "--full":
            full = True
        elif a.startswith("-"):
            print("usage: mail_bench.py [--passes N] [--full] [DIR]", file=sys.stderr)
            return 2
        else:
            d = a
    if d is None:
        here = os.path.dirname(os.path.abspath(__file__))
        d = os.path.join(here, "..", "..", "shared", "corpus", "email")
    if not os.path.isdir(d):
        print(f"mail_bench.py: cannot open {d}", file=sys.stderr)
        return 1
    mails = []
    for name in sorted(os.listdir(d)):
        p = os.path.join(d, name)
        if name.startswith(".") or not os.path.isfile(p):
            continue
        with open(p, "rb") as f:
            mails.append(f.read())
    if not mails:
        print(f"mail_bench.py: no files read in {d}", file=sys.stderr)
        return 1
    size = sum(len(m) for m in mails)
    for m in mails:  # warm-up pass, not timed
        read_one(m, full)
    start, cpu_start = time.perf_counter(), time.process_time()
    failed = 0
    for _ in range(passes):
        failed = 0
        for m in mails:
            try:
                read_one(m, full)
            except Exception:
                failed += 1
    secs, cpu = time.perf_counter() - start, time.process_time() - cpu_start
    n = len(mails)
    print(json.dumps({
        "tool": "mail_bench.py", "python": sys.version.split()[0], "full": full,
        "mails": n, "bytes": size, "passes": passes, "seconds": round(secs, 3),
        "cpu_seconds": round(cpu, 3), "mails_per_s": round(n * passes / secs),
        "mails_per_cpu_s": round(n * passes / cpu),
        "mb_per_s": round(size * passes / secs / 1e6, 1),
        "failed": failed,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())

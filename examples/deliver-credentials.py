#!/usr/bin/env python3
"""deliver-credentials.py: the `credentials.deliver` action of
examples/riposte.yml (an exec connector, docs/connectors.md).

Stands in for the secure route by which a user gets a temporary password
(a one-time link, a message to the manager, the help desk): it writes the
password to SPOOL/USER (mode 0600, SPOOL is the first argument), where the
help desk's own tool picks it up, and answers {"delivered": true, "route":
...}. The password never goes to stdout. Replace it with your own route.

Request (stdin): {"action": "deliver", "params": {"user", "email",
"password"}, "idempotency_key", "attempt"}.
"""
import json
import os
import re
import sys

req = json.load(sys.stdin)
p = req.get("params") or {}
user, password = p.get("user") or "", p.get("password") or ""
if not re.fullmatch(r"[A-Za-z0-9._@-]{1,128}", user):
    print(json.dumps({"error": "deliver: bad user name"}))
    sys.exit(0)
if len(password) < 12 or password == "[secret]":
    print(json.dumps({"error": "deliver: no temporary password to deliver"}))
    sys.exit(0)
spool = sys.argv[1] if len(sys.argv) > 1 else "/var/spool/riposte-credentials"
os.makedirs(spool, mode=0o700, exist_ok=True)
path = os.path.join(spool, user)
fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
with os.fdopen(fd, "w") as f:
    f.write(password)
os.replace(path + ".tmp", path)
print(json.dumps({"delivered": True, "route": "help desk spool", "user": user}))

#!/usr/bin/env bash
# run.sh: `make run`: the lab and the daemon in the foreground, with the three
# playbooks and the example policy (examples/riposte.yml pointed at the lab).
# Everything lives in .run/ (database, secret key, configuration, logs), so a
# second `make run` finds its cases and its token again. Ctrl-C stops both.
#
#   bash scripts/run.sh [BUILD_DIR]
#
# The lab listens on 127.0.0.1:8900 (RUN_LAB), the API on 127.0.0.1:8080
# (RUN_LISTEN). Mail, mailboxes and the directory are the demo's stand-ins
# over the lab (no Postfix, Dovecot or slapd needed): `riposte demo --keep`
# writes the same configuration.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-build}
bin="$here/$build/riposte"
lab_addr=${RUN_LAB:-127.0.0.1:8900}
listen=${RUN_LISTEN:-127.0.0.1:8080}
state="$here/.run"
mkdir -p "$state"
chmod 700 "$state"

# the master key of the secret store, kept for the next run
if [ ! -s "$state/secret.key" ]; then
    (umask 077; od -An -tx1 -N32 /dev/urandom | tr -d ' \n' > "$state/secret.key"; echo >> "$state/secret.key")
fi
RIPOSTE_SECRET_KEY=$(tr -d '\n' < "$state/secret.key")
export RIPOSTE_SECRET_KEY
unset RIPOSTE_DB RIPOSTE_CONFIG

lab_pid=
serve_pid=
stop() {
    trap - INT TERM EXIT
    [ -n "$serve_pid" ] && kill -TERM "$serve_pid" 2>/dev/null && wait "$serve_pid" 2>/dev/null || true
    [ -n "$lab_pid" ] && kill -TERM "$lab_pid" 2>/dev/null && wait "$lab_pid" 2>/dev/null || true
    echo "run: stopped (state in $state)"
}
trap stop INT TERM EXIT

"$bin" lab --listen "$lab_addr" > "$state/lab.out" 2> "$state/lab.log" &
lab_pid=$!
for _ in $(seq 100); do
    [ -s "$state/lab.out" ] && break
    kill -0 "$lab_pid" 2>/dev/null || { cat "$state/lab.log" >&2; exit 1; }
    sleep 0.1
done
lab_url=$(head -n1 "$state/lab.out")

# the configuration: the demo's (examples/riposte.yml at this lab, with
# stand-ins over the lab for mail, mailboxes and the directory), the shipped
# playbooks and examples/policy.yml as they are; the lab's credentials go
# into the secret store; a new admin token is printed once
token=$("$bin" demo --prepare "$state" --lab "$lab_url")

: > "$state/serve.log"
"$bin" serve --config "$state/riposte.yml" --listen "$listen" 2> >(tee -a "$state/serve.log" >&2) &
serve_pid=$!
for _ in $(seq 100); do
    grep -q "event=serve.start" "$state/serve.log" 2>/dev/null && break
    kill -0 "$serve_pid" 2>/dev/null || exit 1
    sleep 0.1
done

cat <<MSG

Riposte is running (Ctrl-C stops the daemon and the lab).
  API        http://$listen/api/v1/   (cases, runs, prompts, playbooks; docs in README.md)
  token      $token
             (shown once; another: $build/riposte token create --name me --db $state/riposte.db)
  lab        $lab_url   (simulated vendors; their state: curl $lab_url/_lab/state)
  playbooks  $here/playbooks (endpoint-attack, failed-logins, phishing)
  policy     $here/examples/policy.yml
  state      $state (riposte.yml, riposte.db, secret.key, logs)

Try:  curl -s -H "Authorization: Bearer $token" http://$listen/api/v1/cases
      $build/riposte demo     (the scripted day, in its own lab and daemon)

MSG
wait "$serve_pid"

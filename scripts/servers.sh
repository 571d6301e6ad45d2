#!/usr/bin/env bash
# servers.sh: installs (when missing), configures and starts the real servers
# that the end-to-end tests of the connectors need, on loopback only, or stops
# them. Each server has its own script in scripts/servers/ (NAME.sh start|stop|
# status); this one runs them all. Idempotent: a server already up is left as
# it is. No systemd here: the daemons are started by hand
# (../shared/ENVIRONMENT.md has the checked commands).
#
#   bash scripts/servers.sh start|stop|status
set -euo pipefail
cmd=${1:-start}
here=$(cd "$(dirname "$0")" && pwd)
rc=0
shopt -s nullglob
for s in "$here"/servers/*.sh; do
    if ! bash "$s" "$cmd"; then
        echo "servers: $(basename "$s" .sh) $cmd failed" >&2
        rc=1
    fi
done
exit $rc

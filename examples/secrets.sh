#!/bin/sh
# secrets.sh: puts the lab's and the test servers' credentials (docs/lab.md,
# scripts/servers/*.sh) into Riposte's secret store for examples/riposte.yml.
# Needs RIPOSTE_SECRET_KEY (or secrets.key_file) as `riposte secret` does.
# LAB is the lab's URL (the Slack and Teams webhooks are URLs at the lab).
set -eu
RIPOSTE=${RIPOSTE:-riposte}
LAB=${LAB:-http://127.0.0.1:8900}
CONFIG=${CONFIG:-examples/riposte.yml}
set_secret() { printf '%s' "$2" | "$RIPOSTE" secret set "$1" --config "$CONFIG"; }
set_secret cs_secret lab-secret
set_secret cb_key lab-key
set_secret cy_secret lab-secret
set_secret ms_secret lab-secret
set_secret splunk_token lab-token
set_secret elastic_key "$(printf 'lab-id:lab-key' | base64)"
set_secret vt_key lab-key
set_secret abuse_key lab-key
set_secret misp_key lab-key
set_secret okta_token lab-token
set_secret slack_hook "$LAB/services/T0LAB/B0LAB/lab-webhook"
set_secret teams_hook "$LAB/webhookb2/lab-webhook"
set_secret imap_reports analyst-pw
set_secret imap_master riposte-admin-pw
set_secret ldap_admin adminpw

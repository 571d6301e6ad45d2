#!/usr/bin/env bash
# mail.sh: the mail servers of the end-to-end tests of the smtp and imap
# connectors, on loopback only: Postfix (SMTP, local delivery to /var/mail/USER)
# and Dovecot (IMAP on the same mbox files).
#
#   bash scripts/servers/mail.sh start|stop|status
#
# start installs postfix and dovecot-imapd when they are missing (apt-get,
# non-interactive, preseeded "Local only"), configures them for the tests,
# creates the test users and starts both daemons when they are not running.
# Idempotent: what is there already is left as it is. No systemd: the daemons
# are started by hand (../shared/ENVIRONMENT.md). Needs root (the tests skip
# when these servers are not up).
#
# What the tests can rely on afterwards:
#   SMTP    127.0.0.1:25   no auth, delivers USER@localhost to /var/mail/USER
#   SMTP    127.0.0.1:587  submission: STARTTLS required (snakeoil certificate),
#                          then AUTH PLAIN/LOGIN against Dovecot's users
#   IMAP    127.0.0.1:143  plain login (loopback counts as secure), IMAPS :993
#   users   (system accounts, password = name + "-pw")
#             analyst / analyst-pw   the phishing-report mailbox
#             alice   / alice-pw
#             bob     / bob-pw
#             carol   / carol-pw
#   master  riposte-admin / riposte-admin-pw: log in as any user with the
#           name "USER*riposte-admin" (Dovecot master user, passwd-file
#           /etc/dovecot/riposte-master-users)
#   logs    /var/log/postfix.log, /var/log/dovecot.log
set -euo pipefail

cmd=${1:-start}
USERS=(analyst alice bob carol)
MASTER=riposte-admin
MASTER_FILE=/etc/dovecot/riposte-master-users
MARK="# riposte-test-config"

log() { echo "mail: $*" >&2; }

postfix_up() { [ -x /usr/sbin/postfix ] && /usr/sbin/postfix status >/dev/null 2>&1; }

dovecot_up() {
    local pid
    [ -f /run/dovecot/master.pid ] || return 1
    pid=$(cat /run/dovecot/master.pid 2>/dev/null) || return 1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
}

install_missing() {
    local missing=()
    dpkg-query -W -f='${Status}' postfix 2>/dev/null | grep -q 'install ok installed' ||
        missing+=(postfix)
    dpkg-query -W -f='${Status}' dovecot-imapd 2>/dev/null | grep -q 'install ok installed' ||
        missing+=(dovecot-imapd)
    [ "${#missing[@]}" -eq 0 ] && return 0
    log "installing ${missing[*]}"
    debconf-set-selections <<'EOF'
postfix postfix/main_mailer_type select Local only
postfix postfix/mailname string soar.local
postfix postfix/destinations string soar.local, localhost.localdomain, localhost
EOF
    export DEBIAN_FRONTEND=noninteractive
    # another installer may hold the dpkg lock for a while (CI runs several)
    apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends \
        ssl-cert "${missing[@]}" >/dev/null
}

configure() {
    # the snakeoil certificate the packages expect does not exist on a fresh
    # image: dovecot then refuses to start (exit 89)
    if [ ! -s /etc/ssl/certs/ssl-cert-snakeoil.pem ]; then
        make-ssl-cert generate-default-snakeoil --force-overwrite
    fi
    mkdir -p /etc/dovecot/private
    [ -e /etc/dovecot/private/dovecot.pem ] ||
        ln -sf /etc/ssl/certs/ssl-cert-snakeoil.pem /etc/dovecot/private/dovecot.pem
    [ -e /etc/dovecot/private/dovecot.key ] ||
        ln -sf /etc/ssl/private/ssl-cert-snakeoil.key /etc/dovecot/private/dovecot.key

    for u in "${USERS[@]}"; do
        id "$u" >/dev/null 2>&1 || useradd -m -s /usr/sbin/nologin "$u"
        echo "$u:$u-pw" | chpasswd
        mkdir -p "/home/$u/mail"
        chown "$u:" "/home/$u/mail"
        # mbox INBOX: postfix creates it on first delivery, dovecot needs it
        # to exist to select an empty INBOX without a warning
        if [ ! -e "/var/mail/$u" ]; then
            install -m 0600 -o "$u" -g mail /dev/null "/var/mail/$u"
        fi
    done

    echo "$MASTER:{PLAIN}$MASTER-pw" >"$MASTER_FILE"
    chown root:dovecot "$MASTER_FILE"
    chmod 0640 "$MASTER_FILE"

    if ! grep -q "$MARK" /etc/dovecot/local.conf 2>/dev/null; then
        cat >/etc/dovecot/local.conf <<EOF
$MARK (scripts/servers/mail.sh)
listen = 127.0.0.1
protocols = imap
log_path = /var/log/dovecot.log
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = mbox:~/mail:INBOX=/var/mail/%u
auth_master_user_separator = *
passdb {
  driver = passwd-file
  args = $MASTER_FILE
  master = yes
}
service auth {
  unix_listener /var/spool/postfix/private/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
EOF
    fi

    postconf -e maillog_file=/var/log/postfix.log inet_interfaces=loopback-only \
        inet_protocols=ipv4 'mydestination=soar.local, localhost.localdomain, localhost' \
        smtpd_tls_cert_file=/etc/ssl/certs/ssl-cert-snakeoil.pem \
        smtpd_tls_key_file=/etc/ssl/private/ssl-cert-snakeoil.key
    if ! postconf -M 127.0.0.1:submission/inet >/dev/null 2>&1 ||
        [ -z "$(postconf -M 127.0.0.1:submission/inet 2>/dev/null)" ]; then
        postconf -M '127.0.0.1:submission/inet=127.0.0.1:submission inet n - y - - smtpd'
        postconf -P '127.0.0.1:submission/inet/syslog_name=postfix/submission' \
            '127.0.0.1:submission/inet/smtpd_tls_security_level=encrypt' \
            '127.0.0.1:submission/inet/smtpd_sasl_auth_enable=yes' \
            '127.0.0.1:submission/inet/smtpd_sasl_type=dovecot' \
            '127.0.0.1:submission/inet/smtpd_sasl_path=private/auth' \
            '127.0.0.1:submission/inet/smtpd_recipient_restrictions=permit_sasl_authenticated,reject'
    fi
    mkdir -p /var/spool/postfix/private
}

start() {
    if [ "$(id -u)" -ne 0 ]; then
        log "not root: cannot install or start postfix and dovecot"
        return 1
    fi
    install_missing
    configure
    if ! dovecot_up; then
        # daemons must not keep the caller's stdout/stderr open (a pipe to
        # the caller would then never end)
        dovecot </dev/null >>/var/log/dovecot.log 2>&1
        log "dovecot started"
    fi
    if ! postfix_up; then
        postfix start </dev/null >>/var/log/postfix.log 2>&1 || {
            log "postfix start failed (see /var/log/postfix.log)"
            return 1
        }
        log "postfix started"
    fi
    # wait for both ports (at most 10 s)
    for _ in $(seq 100); do
        if (exec 3<>/dev/tcp/127.0.0.1/143) 2>/dev/null &&
            (exec 3<>/dev/tcp/127.0.0.1/25) 2>/dev/null; then
            return 0
        fi
        sleep 0.1
    done
    log "postfix or dovecot did not open its port (see /var/log/postfix.log, /var/log/dovecot.log)"
    return 1
}

stop() {
    if postfix_up; then postfix stop >/dev/null 2>&1 || true; fi
    if dovecot_up; then doveadm stop >/dev/null 2>&1 || kill "$(cat /run/dovecot/master.pid)"; fi
    return 0
}

status() {
    local rc=0
    if postfix_up; then echo "postfix: running"; else echo "postfix: stopped"; rc=1; fi
    if dovecot_up; then echo "dovecot: running"; else echo "dovecot: stopped"; rc=1; fi
    return $rc
}

case "$cmd" in
start) start ;;
stop) stop ;;
status) status ;;
*)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac

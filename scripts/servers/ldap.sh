#!/usr/bin/env bash
# ldap.sh: OpenLDAP slapd on loopback for the ldap connector's end-to-end
# tests (tests/e2e/test_ldap_exec.py).
#
#   bash scripts/servers/ldap.sh start|stop|status
#
# start: installs slapd and ldap-utils when missing (debconf preseeded, so
# non-interactive: suffix dc=example,dc=org, rootdn cn=admin,dc=example,dc=org
# with password adminpw), makes a test CA and server certificate for
# 127.0.0.1 (StartTLS and ldaps://), starts slapd on ldap://127.0.0.1:389,
# ldaps://127.0.0.1:636 and ldapi:/// when it is not running, loads the
# ppolicy overlay (lock-out, pwdReset, pwdAccountLockedTime) with a default
# policy, and seeds the test entries when they are missing:
#
#   ou=people:  uid=alice (alicepw), uid=bob (bobpw), uid=carol (carolpw)
#   ou=groups:  cn=soc (alice, bob)
#   ou=policies: cn=default (3 failures lock until an administrator unlocks;
#                a password reset by an administrator must be changed)
#
# Idempotent: every step checks first. No systemd: slapd is started by hand
# (../../shared/ENVIRONMENT.md). Runs as root (CI on Debian 12); as another
# user it fails with a message unless slapd is already up.
set -euo pipefail
cmd=${1:-start}
SUFFIX=dc=example,dc=org
ADMIN=cn=admin,$SUFFIX
ADMINPW=adminpw
PIDFILE=/var/run/slapd/slapd.pid
TLSDIR=/etc/ldap/riposte-test
URLS="ldap://127.0.0.1:389/ ldaps://127.0.0.1:636/ ldapi:///"

running() {
    [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null
}

need_root() {
    if [ "$(id -u)" != 0 ]; then
        echo "ldap: $1 needs root" >&2
        exit 1
    fi
}

install() {
    if command -v slapd >/dev/null 2>&1 || [ -x /usr/sbin/slapd ]; then
        if command -v ldapsearch >/dev/null 2>&1; then
            return 0
        fi
    fi
    need_root "installing slapd"
    debconf-set-selections <<PRESEED
slapd slapd/no_configuration boolean false
slapd slapd/domain string example.org
slapd shared/organization string Example
slapd slapd/password1 password $ADMINPW
slapd slapd/password2 password $ADMINPW
slapd slapd/purge_database boolean true
slapd slapd/move_old_database boolean true
PRESEED
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q slapd ldap-utils >/dev/null
}

certs() {
    [ -f "$TLSDIR/server.pem" ] && return 0
    mkdir -p "$TLSDIR"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=Riposte test CA" \
        -keyout "$TLSDIR/ca.key" -out "$TLSDIR/ca.pem" 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
        -keyout "$TLSDIR/server.key" -out "$TLSDIR/server.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$TLSDIR/ext.cnf"
    openssl x509 -req -in "$TLSDIR/server.csr" -CA "$TLSDIR/ca.pem" -CAkey "$TLSDIR/ca.key" \
        -CAcreateserial -days 3650 -extfile "$TLSDIR/ext.cnf" -out "$TLSDIR/server.pem" 2>/dev/null
    chown -R openldap:openldap "$TLSDIR"
    chmod 0640 "$TLSDIR/server.key" "$TLSDIR/ca.key"
    chmod 0644 "$TLSDIR/ca.pem" "$TLSDIR/server.pem"
}

cfg() { # ldapmodify/ldapadd on cn=config as root through ldapi
    "$@" -Q -Y EXTERNAL -H ldapi:/// >/dev/null
}

has() { # has BASE FILTER: an entry matches (as root on cn=config, or as admin)
    case $1 in
    *cn=config) ldapsearch -Q -Y EXTERNAL -H ldapi:/// -LLL -b "$1" "$2" dn 2>/dev/null | grep -q '^dn:' ;;
    *) ldapsearch -x -H ldap://127.0.0.1 -D "$ADMIN" -w "$ADMINPW" -LLL -b "$1" "$2" dn 2>/dev/null | grep -q '^dn:' ;;
    esac
}

configure() {
    if ! has cn=config '(olcTLSCertificateFile=*)'; then
        cfg ldapmodify <<LDIF
dn: cn=config
changetype: modify
replace: olcTLSCACertificateFile
olcTLSCACertificateFile: $TLSDIR/ca.pem
-
replace: olcTLSCertificateFile
olcTLSCertificateFile: $TLSDIR/server.pem
-
replace: olcTLSCertificateKeyFile
olcTLSCertificateKeyFile: $TLSDIR/server.key
LDIF
    fi
    if ! ldapsearch -Q -Y EXTERNAL -H ldapi:/// -LLL -b cn=config '(objectClass=olcModuleList)' \
        olcModuleLoad 2>/dev/null | grep -qi ppolicy; then
        cfg ldapmodify <<LDIF
dn: cn=module{0},cn=config
changetype: modify
add: olcModuleLoad
olcModuleLoad: ppolicy
LDIF
    fi
    if ! has cn=config '(objectClass=olcPPolicyConfig)'; then
        cfg ldapadd <<LDIF
dn: olcOverlay=ppolicy,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcPPolicyConfig
olcOverlay: ppolicy
olcPPolicyDefault: cn=default,ou=policies,$SUFFIX
olcPPolicyHashCleartext: TRUE
olcPPolicyUseLockout: TRUE
LDIF
    fi
}

seed() {
    local ldif=""
    for ou in people groups policies; do
        has "$SUFFIX" "(ou=$ou)" || ldif+="dn: ou=$ou,$SUFFIX
objectClass: organizationalUnit
ou: $ou

"
    done
    has "$SUFFIX" '(cn=default)' || ldif+="dn: cn=default,ou=policies,$SUFFIX
objectClass: organizationalRole
objectClass: pwdPolicy
cn: default
pwdAttribute: userPassword
pwdLockout: TRUE
pwdMaxFailure: 3
pwdLockoutDuration: 0
pwdMustChange: TRUE
pwdAllowUserChange: TRUE

"
    for u in alice:Alice:Liddell bob:Bob:Builder carol:Carol:Danvers; do
        IFS=: read -r uid given sn <<<"$u"
        has "$SUFFIX" "(uid=$uid)" || ldif+="dn: uid=$uid,ou=people,$SUFFIX
objectClass: inetOrgPerson
uid: $uid
cn: $given $sn
givenName: $given
sn: $sn
mail: $uid@example.org
userPassword: ${uid}pw

"
    done
    has "$SUFFIX" '(cn=soc)' || ldif+="dn: cn=soc,ou=groups,$SUFFIX
objectClass: groupOfNames
cn: soc
member: uid=alice,ou=people,$SUFFIX
member: uid=bob,ou=people,$SUFFIX

"
    if [ -n "$ldif" ]; then
        ldapadd -x -H ldap://127.0.0.1 -D "$ADMIN" -w "$ADMINPW" >/dev/null <<<"$ldif"
    fi
}

start() {
    install
    if ! running; then
        need_root "starting slapd"
        certs
        mkdir -p /var/run/slapd
        chown openldap:openldap /var/run/slapd
        /usr/sbin/slapd -h "$URLS" -u openldap -g openldap -F /etc/ldap/slapd.d
        for _ in $(seq 50); do
            ldapsearch -x -H ldap://127.0.0.1 -b "$SUFFIX" -s base -LLL dn >/dev/null 2>&1 && break
            sleep 0.1
        done
    fi
    if [ "$(id -u)" = 0 ]; then
        configure
    fi
    seed
    echo "ldap: slapd up on 127.0.0.1:389 (pid $(cat "$PIDFILE"))"
}

stop() {
    if running; then
        local pid
        pid=$(cat "$PIDFILE")
        kill "$pid"
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        echo "ldap: slapd stopped"
    else
        echo "ldap: slapd not running"
    fi
}

case $cmd in
start) start ;;
stop) stop ;;
status)
    if running; then
        echo "ldap: slapd running (pid $(cat "$PIDFILE"))"
    else
        echo "ldap: slapd not running"
        exit 1
    fi
    ;;
*)
    echo "usage: $0 start|stop|status" >&2
    exit 2
    ;;
esac

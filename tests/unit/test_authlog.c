/*
 * test_authlog.c: Linux authentication lines (sshd, PAM, sudo, su, login,
 * klogind, ftpd, vsftpd, dropbear, unix_chkpwd) into auth alerts, and the lines
 * of the same programs that are no authentication event (ignored, not
 * rejected). The lines are our own, written after the formats of OpenSSH 7-9,
 * Linux-PAM and sudo 1.8-1.9; every alert passes alert_normalize().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ingest/lines.h"
#include "lines_check.h"

#define H "Nov 30 09:00:00 bastion "

static const struct {
    const char *line;
    rp_status want;
    const char *spec; /* fields when RP_OK; a part of the message otherwise */
} CASES[] = {
    /* sshd */
    {H "sshd[100]: Failed password for root from 198.51.100.7 port 40022 ssh2", RP_OK,
     "kind=auth|source=sshd|rule=sshd.login_failed|auth.result=failure|auth.method=password|"
     "user.name=root|src.ip=198.51.100.7|src.port=40022|host.name=bastion|"
     "event_time=2026-11-30T09:00:00.000Z|severity=30|process.pid=100|"
     "title=sshd: failed password for root from 198.51.100.7"},
    {H "sshd[100]: Failed password for invalid user admin from 2001:db8::7 port 22 ssh2", RP_OK,
     "user.name=admin|auth.reason=invalid user|src.ip=2001:db8::7|auth.result=failure"},
    {H "sshd[100]: Failed password for invalid user with space from 198.51.100.7 port 22 ssh2",
     RP_OK, "user.name=with space"},
    {H "sshd[100]: Failed password for invalid user  from 198.51.100.7 port 22 ssh2", RP_OK,
     "user=-|src.ip=198.51.100.7"},
    {H "sshd[100]: Failed publickey for git from 198.51.100.7 port 22 ssh2: RSA "
       "SHA256:abcdef",
     RP_OK, "auth.method=publickey|extra.sshd.key=RSA SHA256:abcdef"},
    {H "sshd[100]: Failed keyboard-interactive/pam for bob from 198.51.100.7 port 22 ssh2", RP_OK,
     "auth.method=keyboard-interactive|user.name=bob"},
    {H "sshd[100]: Failed none for invalid user 0 from 198.51.100.7 port 22 ssh2", RP_OK,
     "auth.method=none|user.name=0"},
    {H "sshd[100]: Failed password for root from 198.51.100.7 port 22", RP_OK,
     "src.port=22|user.name=root"},
    {H "sshd[100]: Accepted publickey for vagrant from 10.0.2.2 port 63673 ssh2: RSA "
       "39:33:99:e9",
     RP_OK,
     "rule=sshd.login_accepted|auth.result=success|auth.method=publickey|severity=10|"
     "user.name=vagrant"},
    {H "sshd-session[100]: Accepted password for vagrant from 192.168.33.1 port 58803 ssh2", RP_OK,
     "source=sshd|auth.result=success|auth.method=password"},
    {H "sshd[100]: Invalid user test from 10.0.2.2", RP_OK,
     "rule=sshd.invalid_user|auth.result=failure|auth.reason=invalid user|user.name=test|"
     "src.ip=10.0.2.2|src.port=-|title=sshd: invalid user test from 10.0.2.2"},
    {H "sshd[100]: Invalid user oracle from 10.0.2.2 port 5555", RP_OK,
     "user.name=oracle|src.port=5555"},
    {H "sshd[100]: error: maximum authentication attempts exceeded for root from 10.0.0.8 port "
       "22 ssh2 [preauth]",
     RP_OK,
     "rule=sshd.max_auth_attempts|severity=50|user.name=root|src.ip=10.0.0.8|"
     "auth.reason=maximum authentication attempts exceeded"},
    {H "sshd[100]: error: maximum authentication attempts exceeded for invalid user pi from "
       "10.0.0.8 port 22 ssh2 [preauth]",
     RP_OK, "user.name=pi|auth.result=failure"},
    {H "sshd[100]: Disconnecting authenticating user root 10.0.0.9 port 4444: Too many "
       "authentication failures [preauth]",
     RP_OK, "rule=sshd.too_many_failures|user.name=root|src.ip=10.0.0.9|src.port=4444"},
    {H "sshd[100]: Disconnecting invalid user ubnt 10.0.0.9 port 4444: Too many "
       "authentication failures [preauth]",
     RP_OK, "user.name=ubnt|auth.reason=invalid user"},
    {H "sshd[100]: Disconnecting: Too many authentication failures for admin [preauth]", RP_OK,
     "user.name=admin|src=-"},
    {H "sshd[100]: User root from 10.0.0.9 not allowed because not listed in AllowUsers", RP_OK,
     "rule=sshd.user_not_allowed|user.name=root|src.ip=10.0.0.9|"
     "auth.reason=not allowed because not listed in AllowUsers"},
    {H "sshd[100]: User bob not allowed because account is locked", RP_OK,
     "user.name=bob|auth.reason=not allowed because account is locked"},
    {H "sshd[100]: error: PAM: Authentication failure for illegal user test from "
       "test.example.com",
     RP_OK,
     "rule=sshd.auth_failure|user.name=test|extra.sshd.rhost=test.example.com|"
     "observables.0.type=hostname|observables.0.role=src"},
    {H "sshd[100]: message repeated 5 times: [ Failed password for root from 5.36.59.76 port "
       "42393 ssh2]",
     RP_OK, "auth.count=5|rule=sshd.login_failed|src.ip=5.36.59.76"},
    {H "sshd[100]: PAM 5 more authentication failures; logname= uid=0 euid=0 tty=ssh ruser= "
       "rhost=5.188.10.180  user=root",
     RP_OK,
     "rule=sshd.auth_failures|auth.count=5|user.name=root|src.ip=5.188.10.180|"
     "extra.sshd.tty=ssh"},
    {H "sshd[100]: PAM 1 more authentication failure; logname= uid=0 euid=0 tty=ssh ruser= "
       "rhost=a.example",
     RP_OK, "auth.count=1|user=-|extra.sshd.rhost=a.example"},
    /* PAM through any program */
    {H "sshd[100]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh "
       "ruser= rhost=173.234.31.186  user=root",
     RP_OK,
     "rule=sshd.auth_failure|auth.method=password|user.name=root|src.ip=173.234.31.186|"
     "extra.sshd.uid=0"},
    {H "sshd(pam_unix)[19939]: authentication failure; logname= uid=0 euid=0 tty=NODEVssh "
       "ruser= rhost=218.188.2.4 ",
     RP_OK, "source=sshd|user=-|src.ip=218.188.2.4|extra.sshd.tty=NODEVssh"},
    {H "sudo[654321]: pam_unix(sudo:auth): authentication failure; logname=bob uid=1117 euid=0 "
       "tty=/dev/pts/1 ruser=alice rhost= user=root",
     RP_OK, "source=sudo|rule=sudo.auth_failure|user.name=alice|extra.sudo.target_user=root|src=-"},
    {H "su[7]: pam_unix(su:auth): authentication failure; logname=carol uid=1000 euid=0 "
       "tty=pts/0 ruser=carol rhost=  user=root",
     RP_OK, "source=su|user.name=carol|extra.su.target_user=root"},
    {H "gdm(pam_unix)[2803]: authentication failure; logname= uid=0 euid=0 tty=:0 ruser= rhost= "
       " user=eve",
     RP_OK, "source=gdm|user.name=eve"},
    {H "cron[5]: pam_sss(cron:auth): authentication failure; logname= uid=0 euid=0 tty= ruser= "
       "rhost= user=svc",
     RP_OK, "source=cron|user.name=svc"},
    /* sudo */
    {H "sudo:      tsg : user NOT in sudoers ; TTY=pts/1 ; PWD=/home/vagrant ; USER=root ; "
       "COMMAND=/bin/ls -la ; echo",
     RP_OK,
     "rule=sudo.auth_failure|auth.method=sudo|auth.reason=user NOT in sudoers|user.name=tsg|"
     "extra.sudo.tty=pts/1|extra.sudo.pwd=/home/vagrant|extra.sudo.target_user=root|"
     "process.cmdline=/bin/ls -la ; echo|severity=50"},
    {H "sudo[9]:    alice : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/ ; USER=root ; "
       "COMMAND=/bin/sh",
     RP_OK,
     "auth.count=3|auth.method=password|auth.reason=incorrect password attempts|user.name=alice"},
    /* su, login, klogind, ftpd, vsftpd, dropbear, unix_chkpwd */
    {H "su[1]: FAILED su for root by alice", RP_OK,
     "rule=su.auth_failure|user.name=alice|extra.su.target_user=root|auth.method=su"},
    {H "su[1]: FAILED SU (to root) bob on pts/3", RP_OK, "user.name=bob|extra.su.target_user=root"},
    {H "login[1]: FAILED LOGIN 1 FROM 192.0.2.50 FOR root, Authentication failure", RP_OK,
     "rule=login.login_failed|user.name=root|src.ip=192.0.2.50|"
     "auth.reason=Authentication failure"},
    {H "login[1]: FAILED LOGIN (1) on '/dev/tty1' FOR 'root', Authentication failure", RP_OK,
     "user.name=root|src=-"},
    {H "login[1]: ROOT LOGIN ON tty2", RP_OK,
     "rule=login.login|auth.result=success|user.name=root|severity=30"},
    {H "klogind[19272]: Authentication failed from 163.27.187.39 (163.27.187.39): Permission "
       "denied in replay cache code ",
     RP_OK,
     "rule=klogind.auth_failure|auth.method=kerberos|src.ip=163.27.187.39|"
     "auth.reason=Permission denied in replay cache code"},
    {H "ftpd[1]: ANONYMOUS FTP LOGIN FROM 84.102.20.2,  (anonymous)", RP_OK,
     "rule=ftpd.login|auth.result=success|auth.method=anonymous|user.name=anonymous|"
     "src.ip=84.102.20.2"},
    {H "ftpd[1]: FAILED FTP LOGIN FROM host.example [192.0.2.3], mallory", RP_OK,
     "rule=ftpd.login_failed|user.name=mallory|src.ip=192.0.2.3"},
    {H "vsftpd[1]: [bob] FAIL LOGIN: Client \"::ffff:192.0.2.4\"", RP_OK,
     "rule=vsftpd.login_failed|user.name=bob|src.ip=192.0.2.4"},
    {H "dropbear[1]: Bad password attempt for 'root' from 192.0.2.5:41234", RP_OK,
     "rule=dropbear.login_failed|user.name=root|src.ip=192.0.2.5|src.port=41234"},
    {H "dropbear[1]: Pubkey auth succeeded for 'root' with key md5 x from 192.0.2.5:1", RP_OK,
     "auth.result=success|auth.method=publickey|src.ip=192.0.2.5"},
    {H "unix_chkpwd[1]: password check failed for user (root)", RP_OK,
     "rule=unix_chkpwd.auth_failure|user.name=root"},
    /* user names that are not names stay in extra */
    {H "sshd[100]: Invalid user \x01\x02 from 10.0.0.1", RP_OK,
     "user=-|extra.sshd.user=\x01\x02|src.ip=10.0.0.1"},
    /* no authentication event */
    {H "sshd[100]: Connection closed by 173.234.31.186 [preauth]", RP_E_NOTFOUND, "sshd"},
    {H "sshd[100]: Received disconnect from 1.2.3.4: 11: Bye Bye [preauth]", RP_E_NOTFOUND, "sshd"},
    {H "sshd[100]: pam_unix(sshd:auth): check pass; user unknown", RP_E_NOTFOUND, "sshd"},
    {H "sshd[100]: input_userauth_request: invalid user x [preauth]", RP_E_NOTFOUND, "sshd"},
    {H "sshd[100]: reverse mapping checking getaddrinfo for x [1.2.3.4] failed - POSSIBLE "
       "BREAK-IN ATTEMPT!",
     RP_E_NOTFOUND, "sshd"},
    {H "sshd[100]: Failed password for root from", RP_E_NOTFOUND, "sshd"},
    {H "sshd[100]: Failed", RP_E_NOTFOUND, "sshd"},
    {H "sshd[100]: message repeated 2 times: [ Connection closed ]", RP_E_NOTFOUND, "sshd"},
    {H "sudo:  vagrant : TTY=pts/0 ; PWD=/home/vagrant ; USER=root ; COMMAND=/bin/ls",
     RP_E_NOTFOUND, "sudo"},
    {H "su(pam_unix)[21416]: session opened for user cyrus by (uid=0)", RP_E_NOTFOUND, "su"},
    {H "su[1]: Successful su for root by alice", RP_E_NOTFOUND, "su"},
    {H "ftpd[1]: connection from 1.2.3.4 () at Sun Jul 10 03:55:15 2005", RP_E_NOTFOUND, "ftpd"},
    {H "klogind[1]: Kerberos authentication failed ", RP_E_NOTFOUND, "klogind"},
    {H "dropbear[1]: Bad password attempt for 'root' without from", RP_E_NOTFOUND, "dropbear"},
    {H "groupadd[6991]: new group: name=apache, GID=48", RP_E_NOTFOUND, "groupadd"},
};

static void t_cases(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(CASES) / sizeof(CASES[0]); i++) {
        json_t *a = NULL;
        struct rp_error err;
        err.msg[0] = '\0';
        char what[32];
        snprintf(what, sizeof(what), "case %zu", i);
        rp_status st =
            syslog_parse_alert_at(CASES[i].line, strlen(CASES[i].line), LC_NOW_MS, &a, &err);
        if (st != CASES[i].want) {
            print_error("%s: %s: want %d got %d (%s)\n", what, CASES[i].line, CASES[i].want, st,
                        err.msg);
            fail();
        }
        if (st != RP_OK) {
            assert_null(a);
            if (strstr(err.msg, CASES[i].spec) == NULL) {
                print_error("%s: want \"%s\" in \"%s\"\n", what, CASES[i].spec, err.msg);
                fail();
            }
            continue;
        }
        lc_expect(a, CASES[i].spec, what);
        json_decref(lc_normalize(a, what));
        json_decref(a);
    }
}

static void t_apps(void **state)
{
    (void)state;
    static const struct {
        const char *app;
        bool known;
    } apps[] = {
        {"sshd", true},           {"SSHD", true},
        {"sshd(pam_unix)", true}, {"anything(pam_ldap)", true},
        {"sudo", true},           {"dropbear", true},
        {"kernel", false},        {"", false},
        {"sshdx", false},         {"cron(foo)", false},
    };
    for (size_t i = 0; i < sizeof(apps) / sizeof(apps[0]); i++)
        assert_int_equal(authlog_app_known(apps[i].app, strlen(apps[i].app)), apps[i].known);
}

/* Every program with an empty message, or one word: ignored, nothing read past
 * the end (valgrind and ASan builds check the reads). */
static void t_empty(void **state)
{
    (void)state;
    static const char *const apps[] = {"sshd",        "sudo",          "su",          "login",
                                       "klogind",     "ftpd",          "vsftpd",      "dropbear",
                                       "unix_chkpwd", "gdm(pam_unix)", "sshd-session"};
    static const char *const msgs[] = {"", "[", "x", "pam_", "pam_unix(", "message repeated "};
    for (size_t i = 0; i < sizeof(apps) / sizeof(apps[0]); i++) {
        for (size_t k = 0; k < sizeof(msgs) / sizeof(msgs[0]); k++) {
            char line[128];
            int n = snprintf(line, sizeof(line), "Nov 30 09:00:00 h %s[1]: %s", apps[i], msgs[k]);
            /* exactly the bytes of the line: a read past them is caught */
            char *exact = malloc((size_t)n);
            assert_non_null(exact);
            memcpy(exact, line, (size_t)n);
            json_t *a = NULL;
            struct rp_error err;
            assert_int_equal(syslog_parse_alert_at(exact, (size_t)n, LC_NOW_MS, &a, &err),
                             RP_E_NOTFOUND);
            assert_null(a);
            free(exact);
        }
    }
}

/* Without a syslog header there is no program name: nothing to read. */
static void t_no_header(void **state)
{
    (void)state;
    struct line_ctx lc = {.line = "x", .len = 1, .hdr = NULL, .now_ms = LC_NOW_MS};
    json_t *a;
    struct rp_error err;
    assert_int_equal(authlog_alert_in(&lc, &a, &err), RP_E_NOTFOUND);
    assert_null(a);
}

int main(void)
{
    lc_utc();
    const struct CMUnitTest t[] = {
        cmocka_unit_test(t_cases),
        cmocka_unit_test(t_apps),
        cmocka_unit_test(t_empty),
        cmocka_unit_test(t_no_header),
    };
    return cmocka_run_group_tests(t, NULL, NULL);
}

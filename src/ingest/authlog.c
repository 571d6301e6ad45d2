/*
 * authlog.c: Linux authentication lines (/var/log/auth.log, /var/log/secure)
 * into alerts of kind auth: OpenSSH's sshd, PAM modules (pam_unix and any
 * pam_x(service:auth)), sudo, su, login, klogind, ftpd, vsftpd, dropbear and
 * unix_chkpwd. Each recognised message gives auth.result (failure or success),
 * auth.method, auth.reason and auth.count where the line says them, user.name,
 * src.ip and src.port; the host and the time come from the syslog header.
 *
 * A message that is no authentication event (a session opened, a connection
 * closed, a sudo command that ran, "check pass; user unknown", which repeats the
 * failure line next to it) is RP_E_NOTFOUND: counted as ignored, not rejected.
 * "message repeated N times: [ ... ]" is read as its inner message with
 * auth.count N.
 *
 * The messages are matched by their fixed words, from the end where a name
 * given by an attacker (an invalid user) may hold spaces. Pure; any thread;
 * owns nothing beyond a call.
 */
#include "core/limits.h"
#include "ingest/lines.h"

#include <stdio.h>
#include <string.h>

struct span {
    const char *p;
    size_t n;
};

/* What one line said. */
struct auth_ev {
    const char *event;  /* the rule's second part: "login_failed" */
    const char *label;  /* for the title: "failed password" */
    const char *joiner; /* between label and user: " for " unless set */
    const char *result; /* "failure" or "success" */
    const char *method; /* NULL when the line does not say */
    struct span reason;
    struct span user, addr, port;
    struct span cmd; /* sudo's COMMAND= */
    int64_t count;
    int severity;
    char method_buf[32];
    char label_buf[64];
    json_t *x; /* extra.<service>: what has no normalized place */
};

static bool starts(const char *s, size_t n, const char *p)
{
    size_t m = strlen(p);
    return n >= m && memcmp(s, p, m) == 0;
}

/* Offset of the first (or last) occurrence of needle in s, or -1. */
static long find(const char *s, size_t n, const char *needle, bool last)
{
    size_t m = strlen(needle);
    long at = -1;
    for (size_t i = 0; i + m <= n; i++) {
        if (s[i] == needle[0] && memcmp(s + i, needle, m) == 0) {
            at = (long)i;
            if (!last)
                break;
        }
    }
    return at;
}

static struct span sp(const char *p, size_t n)
{
    struct span s = {p, n};
    lines_trim(&s.p, &s.n);
    return s;
}

/* The run of non-space bytes at s. */
static size_t word(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n && s[i] != ' ')
        i++;
    return i;
}

static bool all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* Adds extra key = s (when non-empty) to ev->x. */
static rp_status xput(struct auth_ev *ev, const char *key, const char *s, size_t n)
{
    lines_trim(&s, &n);
    if (n == 0)
        return RP_OK;
    if (ev->x == NULL && (ev->x = json_object()) == NULL)
        return RP_E_NOMEM;
    return json_object_set_new_nocheck(ev->x, key, lines_str(s, n)) ? RP_E_NOMEM : RP_OK;
}

/* "[invalid user ]NAME from ADDR[ port PORT][ ssh2][: details][ [preauth]]" at s:
 * the user up to the last " from ", then the address and the port. */
static bool user_from(const char *s, size_t n, struct auth_ev *ev, struct span *details)
{
    if (starts(s, n, "invalid user ")) {
        s += 13;
        n -= 13;
        ev->reason = sp("invalid user", 12);
    } else if (starts(s, n, "illegal user ")) {
        s += 13;
        n -= 13;
        ev->reason = sp("invalid user", 12);
    }
    long f = find(s, n, " from ", true);
    if (f < 0)
        return false;
    ev->user = sp(s, (size_t)f);
    const char *a = s + f + 6;
    size_t an = n - (size_t)f - 6;
    size_t w = word(a, an);
    ev->addr = sp(a, w);
    const char *r = a + w;
    size_t rn = an - w;
    if (starts(r, rn, " port ")) {
        size_t pw = word(r + 6, rn - 6);
        ev->port = sp(r + 6, pw);
        r += 6 + pw;
        rn -= 6 + pw;
    }
    if (starts(r, rn, " ssh2")) {
        r += 5;
        rn -= 5;
    }
    if (details != NULL) {
        if (starts(r, rn, ": "))
            *details = sp(r + 2, rn - 2);
        else
            *details = sp(r, 0);
        long pre = find(details->p, details->n, " [preauth]", false);
        if (pre >= 0)
            details->n = (size_t)pre;
    }
    return ev->addr.n > 0;
}

/* "Failed <method> for ..." / "Accepted <method> for ...". */
static bool sshd_login(const char *s, size_t n, bool ok, struct auth_ev *ev)
{
    size_t w = word(s, n);
    if (w == 0 || w >= sizeof(ev->method_buf) || !starts(s + w, n - w, " for "))
        return false;
    for (size_t i = 0; i < w; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '/' ||
              c == '@' || c == '.'))
            return false; /* methods are words like password, keyboard-interactive/pam */
    }
    struct span details;
    if (!user_from(s + w + 5, n - w - 5, ev, &details))
        return false;
    /* "keyboard-interactive/pam" is keyboard-interactive through PAM */
    size_t mw = w;
    const char *slash = memchr(s, '/', w);
    if (slash != NULL)
        mw = (size_t)(slash - s);
    memcpy(ev->method_buf, s, mw);
    ev->method_buf[mw] = '\0';
    ev->method = ev->method_buf;
    ev->result = ok ? "success" : "failure";
    ev->event = ok ? "login_accepted" : "login_failed";
    snprintf(ev->label_buf, sizeof(ev->label_buf), "%s %s", ok ? "accepted" : "failed",
             ev->method_buf);
    ev->label = ev->label_buf;
    ev->severity = ok ? 10 : 30;
    if (details.n > 0 && xput(ev, "key", details.p, details.n) != RP_OK)
        return false;
    return true;
}

/* "logname= uid=0 euid=0 tty=ssh ruser= rhost=1.2.3.4  user=root" */
static rp_status pam_fields(const char *s, size_t n, struct auth_ev *ev, bool actor_is_ruser)
{
    struct span user = {0}, ruser = {0}, logname = {0};
    size_t i = 0;
    rp_status st = RP_OK;
    while (i < n && st == RP_OK) {
        while (i < n && s[i] == ' ')
            i++;
        size_t w = word(s + i, n - i);
        const char *eq = memchr(s + i, '=', w);
        if (eq != NULL) {
            const char *k = s + i;
            size_t kn = (size_t)(eq - k);
            const char *v = eq + 1;
            size_t vn = w - kn - 1;
            if (kn == 4 && memcmp(k, "user", 4) == 0)
                user = sp(v, vn);
            else if (kn == 5 && memcmp(k, "ruser", 5) == 0)
                ruser = sp(v, vn);
            else if (kn == 7 && memcmp(k, "logname", 7) == 0)
                logname = sp(v, vn);
            else if (kn == 5 && memcmp(k, "rhost", 5) == 0)
                ev->addr = sp(v, vn);
            else if (kn == 3 && memcmp(k, "tty", 3) == 0)
                st = xput(ev, "tty", v, vn);
            else if (kn == 3 && memcmp(k, "uid", 3) == 0)
                st = xput(ev, "uid", v, vn);
            else if (kn == 4 && memcmp(k, "euid", 4) == 0)
                st = xput(ev, "euid", v, vn);
        }
        i += w;
    }
    /* sudo and su: the person who typed the password is ruser/logname; user= is
     * the account asked for */
    if (actor_is_ruser && (ruser.n > 0 || logname.n > 0)) {
        ev->user = ruser.n > 0 ? ruser : logname;
        if (st == RP_OK)
            st = xput(ev, "target_user", user.p, user.n);
    } else {
        ev->user = user;
        if (st == RP_OK)
            st = xput(ev, "ruser", ruser.p, ruser.n);
        if (st == RP_OK)
            st = xput(ev, "logname", logname.p, logname.n);
    }
    return st;
}

/* A PAM message (after "pam_x(service:type): " or from an "app(pam_x)" tag). */
static rp_status pam_msg(const char *s, size_t n, const char *service, struct auth_ev *ev,
                         bool *found)
{
    bool actor = strcmp(service, "sudo") == 0 || strcmp(service, "su") == 0;
    *found = false;
    long semi;
    if (starts(s, n, "authentication failure;")) {
        *found = true;
        ev->event = "auth_failure";
        ev->label = "authentication failure";
        ev->result = "failure";
        ev->method = "password";
        ev->severity = 30;
        return pam_fields(s + 23, n - 23, ev, actor);
    }
    if (starts(s, n, "PAM ") && (semi = find(s, n, " more authentication failure", false)) > 0 &&
        (size_t)semi > 4 && all_digits(s + 4, (size_t)semi - 4)) {
        *found = true;
        ev->event = "auth_failures";
        ev->label = "more authentication failures";
        ev->result = "failure";
        ev->method = "password";
        ev->severity = 40;
        lines_parse_uint(s + 4, (size_t)semi - 4, 1LL << 53, &ev->count);
        long f = find(s, n, ";", false);
        return f < 0 ? RP_OK : pam_fields(s + f + 1, n - (size_t)f - 1, ev, actor);
    }
    return RP_OK;
}

/* sshd's own messages. */
static rp_status sshd_msg(const char *s, size_t n, struct auth_ev *ev, bool *found)
{
    *found = true;
    if (starts(s, n, "Failed ") && sshd_login(s + 7, n - 7, false, ev))
        return RP_OK;
    if (starts(s, n, "Accepted ") && sshd_login(s + 9, n - 9, true, ev))
        return RP_OK;
    /* the name may be empty: "Invalid user  from 1.2.3.4" */
    if ((starts(s, n, "Invalid user ") || starts(s, n, "Illegal user ")) &&
        user_from(s + 12, n - 12, ev, NULL)) {
        ev->event = "invalid_user";
        ev->label = "invalid user";
        ev->joiner = " ";
        ev->result = "failure";
        ev->reason = sp("invalid user", 12);
        ev->severity = 30;
        return RP_OK;
    }
    /* "error: PAM: Authentication failure for [illegal user ]root from host" */
    long pf;
    if (starts(s, n, "error: PAM: ") && (pf = find(s, n, " for ", true)) > 12 &&
        user_from(s + pf + 5, n - (size_t)pf - 5, ev, NULL)) {
        if (ev->reason.n == 0)
            ev->reason = sp(s + 12, (size_t)pf - 12);
        ev->event = "auth_failure";
        ev->label = "PAM authentication failure";
        ev->result = "failure";
        ev->method = "password";
        ev->severity = 30;
        return RP_OK;
    }
    static const char max_auth[] = "error: maximum authentication attempts exceeded for ";
    if (starts(s, n, max_auth) &&
        user_from(s + sizeof(max_auth) - 1, n - (sizeof(max_auth) - 1), ev, NULL)) {
        ev->event = "max_auth_attempts";
        ev->label = "maximum authentication attempts exceeded";
        ev->result = "failure";
        ev->reason = sp("maximum authentication attempts exceeded", 40);
        ev->severity = 50;
        return RP_OK;
    }
    /* "Disconnecting authenticating user root 1.2.3.4 port 22: Too many
     * authentication failures [preauth]", also "... invalid user x ..." */
    long tm = find(s, n, ": Too many authentication failures", false);
    if (tm > 0 && (starts(s, n, "Disconnecting authenticating user ") ||
                   starts(s, n, "Disconnecting invalid user "))) {
        size_t skip = starts(s, n, "Disconnecting invalid user ") ? 27 : 34;
        const char *a = s + skip;
        size_t an = (size_t)tm - skip;
        long pt = find(a, an, " port ", true);
        if (pt > 0) {
            ev->port = sp(a + pt + 6, an - (size_t)pt - 6);
            long sp_ = find(a, (size_t)pt, " ", true);
            if (sp_ > 0) {
                ev->user = sp(a, (size_t)sp_);
                ev->addr = sp(a + sp_ + 1, (size_t)(pt - sp_ - 1));
            }
        }
        if (skip == 27)
            ev->reason = sp("invalid user", 12);
        ev->event = "too_many_failures";
        ev->label = "too many authentication failures";
        ev->result = "failure";
        ev->severity = 50;
        return RP_OK;
    }
    if (starts(s, n, "Disconnecting: Too many authentication failures for ")) {
        const char *u = s + 52;
        size_t un = n - 52;
        long pre = find(u, un, " [preauth]", false);
        if (pre >= 0)
            un = (size_t)pre;
        if (starts(u, un, "invalid user ")) {
            u += 13;
            un -= 13;
        }
        ev->user = sp(u, un);
        ev->event = "too_many_failures";
        ev->label = "too many authentication failures";
        ev->result = "failure";
        ev->severity = 50;
        return RP_OK;
    }
    long na = find(s, n, " not allowed because ", false);
    if (starts(s, n, "User ") && na > 5) {
        const char *u = s + 5;
        size_t un = (size_t)na - 5;
        long f = find(u, un, " from ", true);
        if (f >= 0) {
            ev->addr = sp(u + f + 6, un - (size_t)f - 6);
            un = (size_t)f;
        }
        ev->user = sp(u, un);
        ev->reason = sp(s + na + 1, n - (size_t)na - 1);
        ev->event = "user_not_allowed";
        ev->label = "user not allowed";
        ev->result = "failure";
        ev->severity = 40;
        return RP_OK;
    }
    *found = false;
    return RP_OK;
}

/* "alice : user NOT in sudoers ; TTY=pts/1 ; PWD=/home/alice ; USER=root ;
 * COMMAND=/bin/ls": a failure when the first part says why. */
static rp_status sudo_msg(const char *s, size_t n, struct auth_ev *ev, bool *found)
{
    *found = false;
    long c = find(s, n, " : ", false);
    if (c <= 0)
        return RP_OK;
    const char *r = s + c + 3;
    size_t rn = n - (size_t)c - 3;
    long semi = find(r, rn, " ; ", false);
    struct span first = sp(r, semi >= 0 ? (size_t)semi : rn);
    if (first.n == 0 || memchr(first.p, '=', first.n) != NULL)
        return RP_OK; /* a command that ran: no authentication event */
    *found = true;
    ev->user = sp(s, (size_t)c);
    ev->reason = first;
    ev->event = "auth_failure";
    ev->label = "refused";
    ev->result = "failure";
    ev->method = "sudo";
    ev->severity = 50;
    long inc = find(first.p, first.n, " incorrect password attempt", false);
    if (inc > 0 && all_digits(first.p, (size_t)inc)) {
        lines_parse_uint(first.p, (size_t)inc, 1LL << 53, &ev->count);
        ev->method = "password";
        ev->reason = sp("incorrect password attempts", 27);
    }
    /* the fields after the reason */
    rp_status st = RP_OK;
    while (semi >= 0 && st == RP_OK) {
        r += semi + 3;
        rn -= (size_t)semi + 3;
        semi = find(r, rn, " ; ", false);
        struct span f = sp(r, semi >= 0 ? (size_t)semi : rn);
        if (starts(f.p, f.n, "TTY="))
            st = xput(ev, "tty", f.p + 4, f.n - 4);
        else if (starts(f.p, f.n, "PWD="))
            st = xput(ev, "pwd", f.p + 4, f.n - 4);
        else if (starts(f.p, f.n, "USER="))
            st = xput(ev, "target_user", f.p + 5, f.n - 5);
        else if (starts(f.p, f.n, "COMMAND=")) {
            /* the command runs to the end: it may hold " ; " itself */
            ev->cmd = sp(f.p + 8, (size_t)(s + n - (f.p + 8)));
            break;
        }
    }
    return st;
}

static rp_status other_msg(const char *app, const char *s, size_t n, struct auth_ev *ev,
                           bool *found)
{
    *found = true;
    long f;
    if (strcmp(app, "su") == 0 && starts(s, n, "FAILED su for ") &&
        (f = find(s, n, " by ", true)) > 14) {
        ev->user = sp(s + f + 4, n - (size_t)f - 4);
        ev->event = "auth_failure";
        ev->label = "failed su";
        ev->result = "failure";
        ev->method = "su";
        ev->severity = 40;
        return xput(ev, "target_user", s + 14, (size_t)f - 14);
    }
    if (strcmp(app, "su") == 0 && starts(s, n, "FAILED SU (to ") &&
        (f = find(s, n, ") ", false)) > 14) {
        const char *u = s + f + 2;
        size_t un = n - (size_t)f - 2;
        long on = find(u, un, " on ", true);
        ev->user = sp(u, on > 0 ? (size_t)on : un);
        ev->event = "auth_failure";
        ev->label = "failed su";
        ev->result = "failure";
        ev->method = "su";
        ev->severity = 40;
        return xput(ev, "target_user", s + 14, (size_t)f - 14);
    }
    if (strcmp(app, "login") == 0 && starts(s, n, "FAILED LOGIN") &&
        (f = find(s, n, " FOR ", false)) > 0) {
        const char *u = s + f + 5;
        size_t un = n - (size_t)f - 5;
        long comma = find(u, un, ", ", false);
        if (comma >= 0) {
            ev->reason = sp(u + comma + 2, un - (size_t)comma - 2);
            un = (size_t)comma;
        }
        ev->user = sp(u, un);
        if (ev->user.n >= 2 && ev->user.p[0] == '\'' && ev->user.p[ev->user.n - 1] == '\'')
            ev->user = sp(ev->user.p + 1, ev->user.n - 2);
        long fr = find(s, (size_t)f, " FROM ", false);
        if (fr > 0) {
            ev->addr = sp(s + fr + 6, (size_t)(f - fr - 6));
            if (ev->addr.n >= 2 && ev->addr.p[0] == '\'' && ev->addr.p[ev->addr.n - 1] == '\'')
                ev->addr = sp(ev->addr.p + 1, ev->addr.n - 2);
        }
        ev->event = "login_failed";
        ev->label = "failed login";
        ev->result = "failure";
        ev->method = "password";
        ev->severity = 30;
        return RP_OK;
    }
    if (strcmp(app, "login") == 0 && (starts(s, n, "ROOT LOGIN ") || starts(s, n, "LOGIN ON "))) {
        long by = find(s, n, " BY ", false);
        ev->user = by > 0 ? sp(s + by + 4, n - (size_t)by - 4) : sp("root", 4);
        ev->event = "login";
        ev->label = "login on a console";
        ev->result = "success";
        ev->method = "password";
        ev->severity = starts(s, n, "ROOT") ? 30 : 10;
        return RP_OK;
    }
    if (strcmp(app, "klogind") == 0 && starts(s, n, "Authentication failed from ")) {
        const char *a = s + 27;
        size_t w = word(a, n - 27);
        ev->addr = sp(a, w);
        long c = find(a, n - 27, ": ", false);
        if (c > 0)
            ev->reason = sp(a + c + 2, n - 27 - (size_t)c - 2);
        ev->event = "auth_failure";
        ev->label = "Kerberos authentication failed";
        ev->result = "failure";
        ev->method = "kerberos";
        ev->severity = 30;
        return RP_OK;
    }
    if (strcmp(app, "ftpd") == 0 && (f = find(s, n, "FTP LOGIN FROM ", false)) >= 0 &&
        (f == 0 || starts(s, n, "ANONYMOUS ") || starts(s, n, "FAILED "))) {
        bool anon = starts(s, n, "ANONYMOUS "), failed = starts(s, n, "FAILED ");
        const char *a = s + f + 15;
        size_t an = n - (size_t)f - 15;
        long comma = find(a, an, ",", false);
        size_t hn = comma >= 0 ? (size_t)comma : an;
        const char *lb = memchr(a, '[', hn),
                   *rb = lb ? memchr(lb, ']', hn - (size_t)(lb - a)) : NULL;
        ev->addr = (lb && rb) ? sp(lb + 1, (size_t)(rb - lb - 1)) : sp(a, word(a, hn));
        if (anon) {
            ev->user = sp("anonymous", 9);
        } else if (comma >= 0) {
            ev->user = sp(a + comma + 1, an - (size_t)comma - 1);
        }
        ev->event = failed ? "login_failed" : "login";
        ev->label = failed ? "failed FTP login" : "FTP login";
        ev->result = failed ? "failure" : "success";
        ev->method = anon ? "anonymous" : "password";
        ev->severity = failed ? 30 : 10;
        return RP_OK;
    }
    if (strcmp(app, "vsftpd") == 0 && n > 0 && s[0] == '[' &&
        ((f = find(s, n, "] FAIL LOGIN: Client ", false)) > 0 ||
         (f = find(s, n, "] OK LOGIN: Client ", false)) > 0)) {
        bool failed = s[f + 2] == 'F';
        ev->user = sp(s + 1, (size_t)f - 1);
        const char *a = s + f + (failed ? 21 : 19);
        size_t an = n - (size_t)(a - s);
        const char *q = an >= 2 && a[0] == '"' ? memchr(a + 1, '"', an - 1) : NULL;
        if (q != NULL) /* cut at the quotes only: never inside a character */
            ev->addr = sp(a + 1, (size_t)(q - a - 1));
        if (starts(ev->addr.p, ev->addr.n, "::ffff:"))
            ev->addr = sp(ev->addr.p + 7, ev->addr.n - 7);
        ev->event = failed ? "login_failed" : "login";
        ev->label = failed ? "failed FTP login" : "FTP login";
        ev->result = failed ? "failure" : "success";
        ev->method = "password";
        ev->severity = failed ? 30 : 10;
        return RP_OK;
    }
    if (strcmp(app, "dropbear") == 0 && (starts(s, n, "Bad password attempt for '") ||
                                         starts(s, n, "Password auth succeeded for '") ||
                                         starts(s, n, "Pubkey auth succeeded for '"))) {
        bool ok = !starts(s, n, "Bad");
        const char *u = (const char *)memchr(s, '\'', n) + 1;
        size_t un = n - (size_t)(u - s);
        long q = find(u, un, "'", false);
        long fr = q >= 0 ? find(u + q, un - (size_t)q, " from ", true) : -1;
        if (fr < 0) {
            *found = false;
            return RP_OK;
        }
        ev->user = sp(u, (size_t)q);
        const char *a = u + q + fr + 6;
        size_t an = un - (size_t)(q + fr) - 6;
        long colon = find(a, an, ":", true);
        if (colon > 0 && memchr(a, '.', (size_t)colon) != NULL) {
            ev->addr = sp(a, (size_t)colon);
            ev->port = sp(a + colon + 1, an - (size_t)colon - 1);
        } else {
            ev->addr = sp(a, an);
        }
        ev->event = ok ? "login_accepted" : "login_failed";
        ev->label = ok ? "accepted login" : "failed password";
        ev->result = ok ? "success" : "failure";
        ev->method = starts(s, n, "Pubkey") ? "publickey" : "password";
        ev->severity = ok ? 10 : 30;
        return RP_OK;
    }
    if (strcmp(app, "unix_chkpwd") == 0 && starts(s, n, "password check failed for user (")) {
        const char *u = s + 32;
        size_t un = n - 32;
        const char *close = memchr(u, ')', un);
        ev->user = sp(u, close ? (size_t)(close - u) : un);
        ev->event = "auth_failure";
        ev->label = "password check failed";
        ev->result = "failure";
        ev->method = "password";
        ev->severity = 30;
        return RP_OK;
    }
    *found = false;
    return RP_OK;
}

/* The app's name without "(pam_x)", lower-cased, into out (cap >= 33): letters,
 * digits and . _ - only (others become '-'), as it names the source. */
static size_t app_base(const char *app, size_t n, char *out, size_t cap, bool *pam)
{
    const char *paren = memchr(app, '(', n);
    *pam = paren != NULL && (size_t)(app + n - paren) > 5 && memcmp(paren, "(pam_", 5) == 0;
    if (paren != NULL)
        n = (size_t)(paren - app);
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        char c = (app[i] >= 'A' && app[i] <= 'Z') ? (char)(app[i] + 32) : app[i];
        bool ok =
            (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        out[o++] = ok ? c : '-';
    }
    out[o] = '\0';
    return o;
}

bool authlog_app_known(const char *app, size_t n)
{
    static const char *const apps[] = {
        "sshd",   "sshd-session", "sudo",        "su",  "login",        "klogind", "ftpd",
        "vsftpd", "dropbear",     "unix_chkpwd", "gdm", "gdm-password", "polkitd", NULL};
    char base[33];
    bool pam;
    if (n == 0 || n > 64)
        return false;
    app_base(app, n, base, sizeof(base), &pam);
    if (pam)
        return true;
    for (size_t i = 0; apps[i]; i++)
        if (strcmp(base, apps[i]) == 0)
            return true;
    return false;
}

/* A bounded string being put together; what does not fit is cut. */
struct cat {
    char *p;
    size_t cap, len;
};

static void cat_s(struct cat *c, const char *s)
{
    size_t n = strlen(s);
    if (c->len + n >= c->cap)
        n = c->cap - c->len - 1;
    memcpy(c->p + c->len, s, n);
    c->len += n;
    c->p[c->len] = '\0';
}

static rp_status build(const struct line_ctx *lc, const char *service, const char *app,
                       struct auth_ev *ev, json_t **alert)
{
    json_t *a = json_object();
    if (a == NULL)
        return RP_E_NOMEM;
    /* rule "service.event", title "service: label for user from addr" (no
     * printf: a line costs one of each) */
    char rule[96], title[512], user[160], addr[80];
    struct cat r = {rule, sizeof(rule), 0}, t = {title, sizeof(title), 0};
    cat_s(&r, service);
    cat_s(&r, ".");
    cat_s(&r, ev->event);
    size_t un = lines_clean(ev->user.p, ev->user.n, user, sizeof(user));
    size_t an = lines_clean(ev->addr.p, ev->addr.n, addr, sizeof(addr));
    cat_s(&t, service);
    cat_s(&t, ": ");
    cat_s(&t, ev->label);
    if (un > 0) {
        cat_s(&t, ev->joiner ? ev->joiner : " for ");
        cat_s(&t, user);
    }
    if (an > 0) {
        cat_s(&t, " from ");
        cat_s(&t, addr);
    }
    rp_status st = RP_OK;
    if (json_object_set_new_nocheck(a, "kind", json_string_nocheck("auth")) ||
        json_object_set_new_nocheck(a, "source", json_string_nocheck(service)) ||
        json_object_set_new_nocheck(a, "rule", json_string_nocheck(rule)) ||
        json_object_set_new_nocheck(a, "title", lines_str(title, t.len)) ||
        json_object_set_new_nocheck(a, "severity", json_integer(ev->severity)))
        st = RP_E_NOMEM;
    json_t *au = st == RP_OK ? lines_child(a, "auth") : NULL;
    if (st == RP_OK &&
        (au == NULL || json_object_set_new_nocheck(au, "result", json_string_nocheck(ev->result)) ||
         (ev->method &&
          json_object_set_new_nocheck(au, "method", json_string_nocheck(ev->method))) ||
         (ev->count > 0 && json_object_set_new_nocheck(au, "count", json_integer(ev->count)))))
        st = RP_E_NOMEM;
    if (st == RP_OK && ev->reason.n > 0)
        st = lines_text(a, "auth", "reason", ev->reason.p, ev->reason.n, NULL, NULL);
    if (st == RP_OK)
        st = lines_name(a, "user", "name", ev->user.p, ev->user.n, NULL, NULL);
    if (st == RP_OK && ev->user.n > 0 && !lines_fits_name(ev->user.p, ev->user.n))
        st = xput(ev, "user", ev->user.p, ev->user.n);
    if (st == RP_OK && ev->addr.n > 0) {
        if (lines_fits_typed(OBS_IPV4, ev->addr.p, ev->addr.n)) {
            st = lines_typed(a, "src", "ip", OBS_IPV4, ev->addr.p, ev->addr.n, NULL, NULL);
            if (st == RP_OK)
                st = lines_uint(a, "src", "port", ev->port.p, ev->port.n, 65535, NULL, NULL);
        } else {
            /* a name (PAM's rhost, login's FROM): an observable, and kept as given */
            st = xput(ev, "rhost", ev->addr.p, ev->addr.n);
            if (st == RP_OK && memchr(ev->addr.p, '.', ev->addr.n) != NULL)
                st = lines_observable(a, OBS_HOSTNAME, ev->addr.p, ev->addr.n, "src");
        }
    }
    if (st == RP_OK && ev->cmd.n > 0)
        st = lines_text(a, "process", "cmdline", ev->cmd.p, ev->cmd.n, NULL, NULL);
    if (st == RP_OK && app[0] && json_object_get(a, "process") == NULL)
        st = lines_name(a, "process", "name", app, strlen(app), NULL, NULL);
    if (st == RP_OK && lc->hdr != NULL && lc->hdr->procid_len > 0)
        st = lines_uint(a, "process", "pid", lc->hdr->procid, lc->hdr->procid_len, 4294967295LL,
                        NULL, NULL);
    if (st == RP_OK && ev->x != NULL) {
        json_t *extra = lines_child(a, "extra");
        st = extra == NULL || json_object_set_new_nocheck(extra, service, ev->x) ? RP_E_NOMEM
                                                                                 : RP_OK;
        ev->x = NULL;
    }
    if (st == RP_OK && json_object_set_new_nocheck(a, "raw", lines_str(lc->line, lc->len)))
        st = RP_E_NOMEM;
    if (st == RP_OK)
        st = lines_fill_from_header(a, lc->hdr);
    if (st != RP_OK) {
        json_decref(a);
        return st;
    }
    *alert = a;
    return RP_OK;
}

rp_status authlog_alert_in(const struct line_ctx *lc, json_t **alert, struct rp_error *err)
{
    *alert = NULL;
    const struct syslog_msg *h = lc->hdr;
    if (h == NULL || h->app_len == 0)
        return rp_error_set(err, RP_E_NOTFOUND, "no program name: not an auth log line");
    char app[33], service[33];
    bool pam_tag;
    app_base(h->app, h->app_len, app, sizeof(app), &pam_tag);
    if (strcmp(app, "sshd-session") == 0)
        memcpy(app, "sshd", 5);
    memcpy(service, app, sizeof(app));
    const char *s = h->msg;
    size_t n = h->msg_len;
    lines_trim(&s, &n);

    struct auth_ev ev;
    memset(&ev, 0, sizeof(ev));
    /* "message repeated 5 times: [ Failed password for root from ... ssh2]" */
    if (starts(s, n, "message repeated ")) {
        long t = find(s, n, " times: [", false);
        if (t > 17 && s[n - 1] == ']') {
            lines_parse_uint(s + 17, (size_t)t - 17, 1LL << 53, &ev.count);
            s += t + 9;
            n -= (size_t)t + 10;
            lines_trim(&s, &n);
        }
    }
    int64_t repeated = ev.count;
    ev.count = 0;

    rp_status st = RP_OK;
    bool found = false;
    /* "pam_unix(sshd:auth): ..." names the service and the module */
    if (starts(s, n, "pam_")) {
        const char *open = memchr(s, '(', n < 64 ? n : 64);
        const char *close = open ? memchr(open, ')', (size_t)(s + n - open)) : NULL;
        const char *colon = open && close ? memchr(open, ':', (size_t)(close - open)) : NULL;
        if (open && close && colon && close + 2 <= s + n && close[1] == ':') {
            bool p;
            app_base(open + 1, (size_t)(colon - open - 1), service, sizeof(service), &p);
            if (service[0] == '\0')
                memcpy(service, app, sizeof(app));
            const char *r = close + 2;
            size_t rn = (size_t)(s + n - r);
            lines_trim(&r, &rn);
            st = pam_msg(r, rn, service, &ev, &found);
        }
    } else if (pam_tag) {
        st = pam_msg(s, n, service, &ev, &found);
    } else if (strcmp(app, "sshd") == 0) {
        st = pam_msg(s, n, service, &ev, &found); /* "PAM 5 more authentication failures" */
        if (st == RP_OK && !found)
            st = sshd_msg(s, n, &ev, &found);
    } else if (strcmp(app, "sudo") == 0) {
        st = sudo_msg(s, n, &ev, &found);
    } else {
        st = other_msg(app, s, n, &ev, &found);
    }
    if (st == RP_OK && !found)
        st = rp_error_set(err, RP_E_NOTFOUND, "%s: no authentication event", app);
    if (st == RP_OK) {
        if (repeated > 0)
            ev.count = ev.count > 0 ? ev.count * repeated : repeated;
        st = build(lc, service, app, &ev, alert);
    }
    json_decref(ev.x);
    return st;
}

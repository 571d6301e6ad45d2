/*
 * ldap.c: the `ldap` connector module (DESIGN.md §4, issue 5): directory
 * actions over OpenLDAP's libldap, for OpenLDAP (with the ppolicy overlay)
 * and Active Directory (`flavor: ad`).
 *
 *   connectors:
 *     directory:
 *       type: ldap
 *       url: ldaps://dc.example.org        # ldap://, ldaps:// or ldapi://
 *       starttls: false                    # true: StartTLS on an ldap:// url
 *       ca_file: /etc/riposte/ldap-ca.pem  # optional; ca_dir too
 *       tls_verify: true                   # false only for a lab
 *       bind_dn: cn=riposte,ou=services,dc=example,dc=org
 *       password: { secret: ldap_password }
 *       base_dn: ou=people,dc=example,dc=org
 *       flavor: openldap                   # or ad
 *       user_filter: "(|(uid={user})(mail={user}))"   # {user}: the escaped value
 *       group_base: ou=groups,dc=example,dc=org        # default base_dn
 *       network_timeout: 5s                # connect (LDAP_OPT_NETWORK_TIMEOUT)
 *       timeout: 10s                       # each operation (LDAP_OPT_TIMEOUT)
 *       disable_attribute: pwdAccountLockedTime        # openldap only
 *       disable_value: "000001010000Z"
 *       require_change: true               # pwdReset / pwdLastSet: 0 on reset
 *       password_length: 20
 *
 * Actions (params: `user`, the value looked up through user_filter, or with
 * `by: ATTR` through (ATTR={user}) instead):
 *   INSTANCE.find_user       read     {found, dn, uid, mail, cn, groups, locked, disabled}
 *   INSTANCE.lockout_status  read     {dn, locked, disabled, since, failure_count}
 *   INSTANCE.reset_password  modify   a random password, changed at next login;
 *                                     `return_password: true` adds temporary_password
 *   INSTANCE.disable         contain  OpenLDAP: disable_attribute; AD: ACCOUNTDISABLE
 *   INSTANCE.enable          modify   undoes disable
 *
 * Threads: create and destroy run on the main thread. A call validates its
 * parameters on the engine's loop thread, then does all LDAP work (connect,
 * StartTLS, bind, search, modify, unbind: each call its own connection, so
 * no LDAP handle is shared between threads) in a job on libuv's thread pool
 * (uv_queue_work on call->loop), and completes in the after-work callback,
 * back on the loop thread. cancel() only detaches the job: the blocking call
 * runs to its timeout and its result is dropped.
 *
 * Ownership: the instance owns copies of its configuration; the bind
 * password is wiped when the instance is freed. A job owns copies of its
 * parameters and its output until it hands the output to the engine. The
 * generated password lives in the job's memory, is wiped after use and
 * leaves the module only in the output field temporary_password, when the
 * playbook asked for it (docs/connectors.md: the engine must treat it as
 * secret). No password is ever logged or put in an error message.
 *
 * Failures: every LDAP error becomes a failed step whose message says what
 * was attempted, against what, and the server's words (ldap_err2string and
 * the diagnostic message).
 */
#include "connect/connect_internal.h"
#include "core/limits.h"
#include "core/time.h"
#include "engine/action.h"

#include <ldap.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

enum ldapc_flavor {
    LDAPC_OPENLDAP,
    LDAPC_AD,
};

enum ldapc_op {
    LDAPC_FIND,
    LDAPC_LOCKOUT,
    LDAPC_RESET,
    LDAPC_DISABLE,
    LDAPC_ENABLE,
    LDAPC_NOPS,
};

/* AD's userAccountControl bit of a disabled account. */
#define AD_ACCOUNTDISABLE 0x2
/* OpenLDAP ppolicy's value of pwdAccountLockedTime for "locked until an
 * administrator unlocks" */
#define PPOLICY_LOCKED_FOREVER "000001010000Z"
/* A name of the form INSTANCE.ACTION (instance names are at most 64). */
#define LDAPC_NAME_MAX 96

struct ldapc {
    char *name;
    char *url;
    bool starttls;
    bool tls_verify;
    char *ca_file;
    char *ca_dir;
    char *bind_dn;
    char *password; /* secret: wiped by connector_secret_free */
    char *base_dn;
    char *user_filter;
    char *group_base;
    char *group_filter;
    enum ldapc_flavor flavor;
    char *disable_attr;
    char *disable_value;
    bool require_change;
    int password_length;
    int network_timeout_s;
    int timeout_s;
    int inflight; /* loop thread only */
    char names[LDAPC_NOPS][LDAPC_NAME_MAX];
    struct action_def defs[LDAPC_NOPS];
};

struct ldapc_job {
    uv_work_t work;
    struct ldapc *inst;
    enum ldapc_op op;
    struct action_call *call; /* NULL once cancelled */
    char user[RP_LDAP_VALUE_MAX + 1];
    char by[65]; /* attribute name or "" */
    bool return_password;
    /* set by the worker */
    rp_status st;
    char error[RP_ERROR_MAX];
    json_t *output;
};

/* --- helpers (any thread) ---------------------------------------------------- */

static rp_status job_fail(struct ldapc_job *j, rp_status st, const char *fmt, ...) RP_PRINTF(3, 4);

static rp_status job_fail(struct ldapc_job *j, rp_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(j->error, sizeof j->error, fmt, ap);
    va_end(ap);
    j->st = st;
    return st;
}

/* The server's words for rc on ld: "Invalid credentials (49): detail". */
static void ldap_words(LDAP *ld, int rc, char *out, size_t cap)
{
    char *diag = NULL;
    if (ld != NULL)
        (void)ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag);
    if (diag != NULL && diag[0] != '\0')
        snprintf(out, cap, "%s (%d): %s", ldap_err2string(rc), rc, diag);
    else
        snprintf(out, cap, "%s (%d)", ldap_err2string(rc), rc);
    ldap_memfree(diag);
}

static rp_status status_of(int rc)
{
    switch (rc) {
    case LDAP_INVALID_CREDENTIALS:
    case LDAP_INSUFFICIENT_ACCESS:
    case LDAP_INAPPROPRIATE_AUTH:
    case LDAP_STRONG_AUTH_REQUIRED:
    case LDAP_CONFIDENTIALITY_REQUIRED:
        return RP_E_DENIED;
    case LDAP_NO_SUCH_OBJECT:
        return RP_E_NOTFOUND;
    case LDAP_CONSTRAINT_VIOLATION:
    case LDAP_UNWILLING_TO_PERFORM:
    case LDAP_FILTER_ERROR:
    case LDAP_INVALID_SYNTAX:
    case LDAP_UNDEFINED_TYPE:
    case LDAP_OBJECT_CLASS_VIOLATION:
        return RP_E_INVALID;
    case LDAP_BUSY:
    case LDAP_UNAVAILABLE:
        return RP_E_BUSY;
    default:
        return RP_E_IO;
    }
}

static rp_status ldap_failed(struct ldapc_job *j, LDAP *ld, int rc, const char *what)
{
    char words[RP_ERROR_MAX];
    ldap_words(ld, rc, words, sizeof words);
    return job_fail(j, status_of(rc), "%s: %s %s: %s", j->inst->name, what, j->inst->url, words);
}

/* Appends the RFC 4515 escape of v (\2a for '*', '(' ')' '\\' and NUL, and
 * every byte outside printable ASCII so that no encoding trick survives)
 * to out. False when it does not fit. */
static bool filter_escape(const char *v, char *out, size_t cap, size_t *used)
{
    static const char HEX[] = "0123456789abcdef";
    for (const unsigned char *p = (const unsigned char *)v; *p != '\0'; p++) {
        bool plain = *p >= 0x20 && *p < 0x7f && *p != '*' && *p != '(' && *p != ')' && *p != '\\';
        size_t need = plain ? 1 : 3;
        if (*used + need >= cap)
            return false;
        if (plain) {
            out[(*used)++] = (char)*p;
        } else {
            out[(*used)++] = '\\';
            out[(*used)++] = HEX[*p >> 4];
            out[(*used)++] = HEX[*p & 0xf];
        }
    }
    out[*used] = '\0';
    return true;
}

/* Fills template: each {NAME} of names[] becomes the escaped values[i];
 * other text is copied. False when the result exceeds cap. */
static bool filter_render(const char *tmpl, const char *const names[], const char *const values[],
                          size_t n, char *out, size_t cap)
{
    size_t used = 0;
    out[0] = '\0';
    for (const char *p = tmpl; *p != '\0';) {
        bool matched = false;
        for (size_t i = 0; i < n && *p == '{'; i++) {
            size_t len = strlen(names[i]);
            if (strncmp(p + 1, names[i], len) == 0 && p[1 + len] == '}') {
                if (!filter_escape(values[i], out, cap, &used))
                    return false;
                p += len + 2;
                matched = true;
                break;
            }
        }
        if (matched)
            continue;
        if (used + 1 >= cap)
            return false;
        out[used++] = *p++;
        out[used] = '\0';
    }
    return true;
}

/* An attribute description: a letter then letters, digits, '-' (RFC 4512). */
static bool attr_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
        if (!(alpha || (i > 0 && ((c >= '0' && c <= '9') || c == '-'))))
            return false;
    }
    return true;
}

/* "20261130124247Z" or "20261130124247.806020Z" (GeneralizedTime, UTC) as
 * RFC 3339; NULL when it is not of that form. */
static json_t *gentime_json(const char *g)
{
    size_t n = strlen(g);
    if (n < 15 || g[n - 1] != 'Z')
        return NULL;
    for (size_t i = 0; i < 14; i++)
        if (g[i] < '0' || g[i] > '9')
            return NULL;
    char out[32];
    snprintf(out, sizeof out, "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", g, g + 4, g + 6, g + 8, g + 10,
             g + 12);
    return json_string(out);
}

/* AD FILETIME (100 ns since 1601) as RFC 3339; NULL for 0 and nonsense. */
static json_t *filetime_json(const char *v)
{
    char *end = NULL;
    long long ft = strtoll(v, &end, 10);
    if (end == v || *end != '\0' || ft <= 0)
        return NULL;
    int64_t ms = ft / 10000 - 11644473600000LL;
    if (ms < 0)
        return NULL;
    char out[TIME_RFC3339_LEN];
    time_format_rfc3339(ms, out);
    return json_string(out);
}

/* A random password of len characters from an alphabet without look-alikes
 * (no 0/O, 1/l/I) or characters that need quoting in shells, LDIF or JSON,
 * with at least one upper, lower, digit and symbol (AD's complexity rule).
 * libsodium's randombytes_uniform: uniform, from the kernel's CSPRNG. */
static void password_generate(char *out, int len)
{
    static const char *const CLASSES[] = {"ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz",
                                          "23456789", "-_.!@#%+=:"};
    static const char ALL[] = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_.!@#%+=:";
    for (;;) {
        for (int i = 0; i < len; i++)
            out[i] = ALL[randombytes_uniform((uint32_t)(sizeof ALL - 1))];
        out[len] = '\0';
        bool all = true;
        for (size_t c = 0; c < 4 && all; c++)
            all = strpbrk(out, CLASSES[c]) != NULL;
        if (all) /* for len >= 12 this holds on the first draw ~95% of the time */
            return;
    }
}

/* --- the worker (libuv pool thread) -------------------------------------------- */

static rp_status session_open(struct ldapc_job *j, LDAP **out)
{
    struct ldapc *in = j->inst;
    LDAP *ld = NULL;
    *out = NULL;
    int rc = ldap_initialize(&ld, in->url);
    if (rc != LDAP_SUCCESS)
        return job_fail(j, RP_E_USAGE, "%s: url %s: %s", in->name, in->url, ldap_err2string(rc));
    int v3 = LDAP_VERSION3;
    struct timeval net = {.tv_sec = in->network_timeout_s};
    struct timeval op = {.tv_sec = in->timeout_s};
    int require = in->tls_verify ? LDAP_OPT_X_TLS_DEMAND : LDAP_OPT_X_TLS_NEVER;
    int zero = 0;
    if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &v3) != LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) != LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &net) != LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_TIMEOUT, &op) != LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_TIMELIMIT, &in->timeout_s) != LDAP_OPT_SUCCESS ||
        ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &require) != LDAP_OPT_SUCCESS ||
        (in->ca_file != NULL &&
         ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, in->ca_file) != LDAP_OPT_SUCCESS) ||
        (in->ca_dir != NULL &&
         ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTDIR, in->ca_dir) != LDAP_OPT_SUCCESS) ||
        ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero) != LDAP_OPT_SUCCESS) {
        ldap_unbind_ext_s(ld, NULL, NULL);
        return job_fail(j, RP_E_IO, "%s: cannot set up the LDAP connection to %s (TLS options?)",
                        in->name, in->url);
    }
    if (in->starttls) {
        rc = ldap_start_tls_s(ld, NULL, NULL);
        if (rc != LDAP_SUCCESS) {
            rp_status st = ldap_failed(j, ld, rc, "StartTLS with");
            ldap_unbind_ext_s(ld, NULL, NULL);
            return st;
        }
    }
    struct berval cred = {.bv_val = in->password,
                          .bv_len = in->password ? strlen(in->password) : 0};
    rc = ldap_sasl_bind_s(ld, in->bind_dn != NULL ? in->bind_dn : "", LDAP_SASL_SIMPLE, &cred, NULL,
                          NULL, NULL);
    if (rc != LDAP_SUCCESS) {
        char what[RP_ERROR_MAX];
        snprintf(what, sizeof what, "bind as %s to",
                 in->bind_dn != NULL ? in->bind_dn : "anonymous");
        rp_status st = ldap_failed(j, ld, rc, what);
        ldap_unbind_ext_s(ld, NULL, NULL);
        return st;
    }
    *out = ld;
    return RP_OK;
}

static const char *const ATTRS_OPENLDAP[] = {"uid",
                                             "mail",
                                             "cn",
                                             "displayName",
                                             "memberOf",
                                             "pwdAccountLockedTime",
                                             "pwdFailureTime",
                                             "pwdReset",
                                             "pwdChangedTime",
                                             NULL};
static const char *const ATTRS_AD[] = {"sAMAccountName",
                                       "userPrincipalName",
                                       "mail",
                                       "cn",
                                       "displayName",
                                       "memberOf",
                                       "userAccountControl",
                                       "lockoutTime",
                                       "badPwdCount",
                                       "pwdLastSet",
                                       NULL};

/* Finds the one entry the job's user names; *res holds the search result,
 * *entry points into it. RP_E_NOTFOUND when none matches (j->error says so),
 * RP_E_AMBIGUOUS when more than one does. */
static rp_status user_lookup(struct ldapc_job *j, LDAP *ld, LDAPMessage **res, LDAPMessage **entry)
{
    struct ldapc *in = j->inst;
    char filter[RP_LDAP_FILTER_MAX];
    static const char *const NAMES[] = {"user"};
    const char *values[] = {j->user};
    bool ok;
    if (j->by[0] != '\0') {
        char tmpl[128];
        snprintf(tmpl, sizeof tmpl, "(%s={user})", j->by);
        ok = filter_render(tmpl, NAMES, values, 1, filter, sizeof filter);
    } else {
        ok = filter_render(in->user_filter, NAMES, values, 1, filter, sizeof filter);
    }
    if (!ok)
        return job_fail(j, RP_E_LIMIT, "%s: the search filter is longer than %d bytes", in->name,
                        RP_LDAP_FILTER_MAX);
    struct timeval tv = {.tv_sec = in->timeout_s};
    *res = NULL;
    *entry = NULL;
    int rc = ldap_search_ext_s(ld, in->base_dn, LDAP_SCOPE_SUBTREE, filter,
                               (char **)(in->flavor == LDAPC_AD ? ATTRS_AD : ATTRS_OPENLDAP), 0,
                               NULL, NULL, &tv, 2, res);
    if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
        ldap_msgfree(*res);
        *res = NULL;
        char what[RP_LDAP_FILTER_MAX + 64];
        snprintf(what, sizeof what, "search %s under %s at", filter, in->base_dn);
        return ldap_failed(j, ld, rc, what);
    }
    int n = ldap_count_entries(ld, *res);
    if (n == 0)
        return job_fail(j, RP_E_NOTFOUND, "%s: no entry under %s matches %s", in->name, in->base_dn,
                        filter);
    if (n > 1 || rc == LDAP_SIZELIMIT_EXCEEDED)
        return job_fail(j, RP_E_AMBIGUOUS, "%s: more than one entry under %s matches %s", in->name,
                        in->base_dn, filter);
    *entry = ldap_first_entry(ld, *res);
    return RP_OK;
}

/* The first value of attr as a new string, NULL when absent. */
static char *attr_first(LDAP *ld, LDAPMessage *e, const char *attr)
{
    struct berval **v = ldap_get_values_len(ld, e, attr);
    char *s = NULL;
    if (v != NULL && v[0] != NULL)
        s = strndup(v[0]->bv_val, v[0]->bv_len);
    ldap_value_free_len(v);
    return s;
}

static int attr_count(LDAP *ld, LDAPMessage *e, const char *attr)
{
    struct berval **v = ldap_get_values_len(ld, e, attr);
    int n = v != NULL ? ldap_count_values_len(v) : 0;
    ldap_value_free_len(v);
    return n;
}

static void set_string(json_t *o, const char *key, char *owned)
{
    json_object_set_new(o, key, owned != NULL ? json_string(owned) : json_null());
    free(owned);
}

/* locked, disabled, since, failure_count of entry e into o. */
static void lock_state(struct ldapc *in, LDAP *ld, LDAPMessage *e, json_t *o)
{
    bool locked = false, disabled = false;
    json_t *since = NULL;
    json_t *failures = json_null();
    if (in->flavor == LDAPC_AD) {
        char *uac = attr_first(ld, e, "userAccountControl");
        char *lt = attr_first(ld, e, "lockoutTime");
        char *bad = attr_first(ld, e, "badPwdCount");
        disabled = uac != NULL && (strtoll(uac, NULL, 10) & AD_ACCOUNTDISABLE) != 0;
        since = lt != NULL ? filetime_json(lt) : NULL;
        locked = since != NULL;
        if (bad != NULL) {
            json_decref(failures);
            failures = json_integer(strtoll(bad, NULL, 10));
        }
        free(uac);
        free(lt);
        free(bad);
    } else {
        char *lt = attr_first(ld, e, "pwdAccountLockedTime");
        char *custom = strcmp(in->disable_attr, "pwdAccountLockedTime") != 0
                           ? attr_first(ld, e, in->disable_attr)
                           : NULL;
        if (lt != NULL) {
            locked = true;
            disabled = strcmp(lt, PPOLICY_LOCKED_FOREVER) == 0;
            since = disabled ? NULL : gentime_json(lt);
        }
        if (custom != NULL && strcmp(custom, in->disable_value) == 0)
            disabled = true;
        json_decref(failures);
        failures = json_integer(attr_count(ld, e, "pwdFailureTime"));
        free(lt);
        free(custom);
    }
    json_object_set_new(o, "locked", json_boolean(locked));
    json_object_set_new(o, "disabled", json_boolean(disabled));
    json_object_set_new(o, "since", since != NULL ? since : json_null());
    json_object_set_new(o, "failure_count", failures);
}

/* Group DNs: memberOf when the directory keeps it, else a search of
 * group_base with group_filter. */
static rp_status groups_of(struct ldapc_job *j, LDAP *ld, LDAPMessage *e, const char *dn,
                           const char *uid, json_t *o)
{
    struct ldapc *in = j->inst;
    json_t *groups = json_array();
    bool truncated = false;
    struct berval **v = ldap_get_values_len(ld, e, "memberOf");
    for (size_t i = 0; v != NULL && v[i] != NULL; i++) {
        if (json_array_size(groups) == RP_LDAP_GROUPS_MAX) {
            truncated = true;
            break;
        }
        json_array_append_new(groups, json_stringn(v[i]->bv_val, v[i]->bv_len));
    }
    ldap_value_free_len(v);
    if (json_array_size(groups) == 0 && in->group_filter[0] != '\0') {
        static const char *const NAMES[] = {"dn", "user", "uid"};
        const char *values[] = {dn, j->user, uid != NULL ? uid : ""};
        char filter[RP_LDAP_FILTER_MAX];
        if (!filter_render(in->group_filter, NAMES, values, 3, filter, sizeof filter)) {
            json_decref(groups);
            return job_fail(j, RP_E_LIMIT, "%s: the group filter is longer than %d bytes", in->name,
                            RP_LDAP_FILTER_MAX);
        }
        static const char *const NOATTRS[] = {LDAP_NO_ATTRS, NULL};
        struct timeval tv = {.tv_sec = in->timeout_s};
        LDAPMessage *res = NULL;
        int rc = ldap_search_ext_s(ld, in->group_base, LDAP_SCOPE_SUBTREE, filter, (char **)NOATTRS,
                                   0, NULL, NULL, &tv, RP_LDAP_GROUPS_MAX, &res);
        if (rc != LDAP_SUCCESS && rc != LDAP_SIZELIMIT_EXCEEDED) {
            ldap_msgfree(res);
            json_decref(groups);
            return ldap_failed(j, ld, rc, "group search at");
        }
        truncated = rc == LDAP_SIZELIMIT_EXCEEDED;
        for (LDAPMessage *g = ldap_first_entry(ld, res); g != NULL; g = ldap_next_entry(ld, g)) {
            char *gdn = ldap_get_dn(ld, g);
            if (gdn != NULL)
                json_array_append_new(groups, json_string(gdn));
            ldap_memfree(gdn);
        }
        ldap_msgfree(res);
    }
    json_object_set_new(o, "groups", groups);
    if (truncated)
        json_object_set_new(o, "groups_truncated", json_true());
    return RP_OK;
}

static rp_status do_find(struct ldapc_job *j, LDAP *ld, LDAPMessage *e, const char *dn)
{
    bool ad = j->inst->flavor == LDAPC_AD;
    json_t *o = json_object();
    json_object_set_new(o, "found", json_true());
    json_object_set_new(o, "dn", json_string(dn));
    char *uid = attr_first(ld, e, ad ? "sAMAccountName" : "uid");
    json_object_set_new(o, "uid", uid != NULL ? json_string(uid) : json_null());
    set_string(o, "mail", attr_first(ld, e, "mail"));
    set_string(o, "cn", attr_first(ld, e, "cn"));
    set_string(o, "display_name", attr_first(ld, e, "displayName"));
    if (ad) {
        set_string(o, "user_principal_name", attr_first(ld, e, "userPrincipalName"));
        char *pls = attr_first(ld, e, "pwdLastSet");
        json_object_set_new(o, "must_change", json_boolean(pls != NULL && strcmp(pls, "0") == 0));
        free(pls);
    } else {
        char *reset = attr_first(ld, e, "pwdReset");
        json_object_set_new(o, "must_change",
                            json_boolean(reset != NULL && strcmp(reset, "TRUE") == 0));
        free(reset);
    }
    lock_state(j->inst, ld, e, o);
    rp_status st = groups_of(j, ld, e, dn, uid, o);
    free(uid);
    if (st != RP_OK) {
        json_decref(o);
        return st;
    }
    j->output = o;
    return RP_OK;
}

static rp_status do_lockout(struct ldapc_job *j, LDAP *ld, LDAPMessage *e, const char *dn)
{
    json_t *o = json_object();
    json_object_set_new(o, "dn", json_string(dn));
    lock_state(j->inst, ld, e, o);
    j->output = o;
    return RP_OK;
}

/* One modification: op on attr with one value (NULL: no values). */
static int modify_one(LDAP *ld, const char *dn, int op, const char *attr, const char *value)
{
    char *vals[2] = {(char *)value, NULL};
    LDAPMod mod = {.mod_op = op, .mod_type = (char *)attr, .mod_values = value ? vals : NULL};
    LDAPMod *mods[2] = {&mod, NULL};
    return ldap_modify_ext_s(ld, dn, mods, NULL, NULL);
}

/* AD wants unicodePwd as the UTF-16LE of the password in double quotes. The
 * generated alphabet is ASCII, so each byte becomes two. */
static int ad_set_password(struct ldapc_job *j, LDAP *ld, const char *dn, const char *pw)
{
    size_t n = strlen(pw);
    unsigned char q[2 * (RP_LDAP_PASSWORD_MAX + 2)];
    size_t k = 0;
    q[k++] = '"';
    q[k++] = 0;
    for (size_t i = 0; i < n; i++) {
        q[k++] = (unsigned char)pw[i];
        q[k++] = 0;
    }
    q[k++] = '"';
    q[k++] = 0;
    struct berval bv = {.bv_val = (char *)q, .bv_len = k};
    struct berval *bvs[2] = {&bv, NULL};
    LDAPMod pwd = {.mod_op = LDAP_MOD_REPLACE | LDAP_MOD_BVALUES,
                   .mod_type = "unicodePwd",
                   .mod_bvalues = bvs};
    char *zero[2] = {"0", NULL};
    LDAPMod last = {.mod_op = LDAP_MOD_REPLACE, .mod_type = "pwdLastSet", .mod_values = zero};
    LDAPMod *mods[3] = {&pwd, j->inst->require_change ? &last : NULL, NULL};
    int rc = ldap_modify_ext_s(ld, dn, mods, NULL, NULL);
    sodium_memzero(q, sizeof q);
    return rc;
}

static rp_status do_reset(struct ldapc_job *j, LDAP *ld, const char *dn)
{
    struct ldapc *in = j->inst;
    char pw[RP_LDAP_PASSWORD_MAX + 1];
    password_generate(pw, in->password_length);
    rp_status st = RP_OK;
    int rc;
    if (in->flavor == LDAPC_AD) {
        rc = ad_set_password(j, ld, dn, pw);
        if (rc != LDAP_SUCCESS)
            st = ldap_failed(j, ld, rc, "set unicodePwd (and pwdLastSet) at");
    } else {
        /* the password modify extended operation (RFC 3062) lets the server
         * hash the value and apply its policy; a server without it gets a
         * plain replace of userPassword */
        struct berval user = {.bv_val = (char *)dn, .bv_len = strlen(dn)};
        struct berval newpw = {.bv_val = pw, .bv_len = strlen(pw)};
        struct berval gen = {0};
        rc = ldap_passwd_s(ld, &user, NULL, &newpw, &gen, NULL, NULL);
        ber_memfree(gen.bv_val);
        if (rc == LDAP_PROTOCOL_ERROR)
            rc = modify_one(ld, dn, LDAP_MOD_REPLACE, "userPassword", pw);
        if (rc != LDAP_SUCCESS)
            st = ldap_failed(j, ld, rc, "password change at");
        if (st == RP_OK && in->require_change) {
            rc = modify_one(ld, dn, LDAP_MOD_REPLACE, "pwdReset", "TRUE");
            if (rc != LDAP_SUCCESS) {
                char words[RP_ERROR_MAX];
                ldap_words(ld, rc, words, sizeof words);
                st = job_fail(j, status_of(rc),
                              "%s: the password of %s WAS changed, but pwdReset could not be set "
                              "(is the ppolicy overlay loaded? else set require_change: false): %s",
                              in->name, dn, words);
            }
        }
    }
    if (st == RP_OK) {
        json_t *o = json_object();
        json_object_set_new(o, "dn", json_string(dn));
        json_object_set_new(o, "password_set", json_true());
        json_object_set_new(o, "must_change", json_boolean(in->require_change));
        if (j->return_password)
            json_object_set_new(o, "temporary_password", json_string(pw));
        j->output = o;
    }
    sodium_memzero(pw, sizeof pw);
    return st;
}

static rp_status do_able(struct ldapc_job *j, LDAP *ld, LDAPMessage *e, const char *dn,
                         bool disable)
{
    struct ldapc *in = j->inst;
    bool changed = true;
    int rc;
    if (in->flavor == LDAPC_AD) {
        char *uac = attr_first(ld, e, "userAccountControl");
        if (uac == NULL)
            return job_fail(j, RP_E_INVALID, "%s: %s has no userAccountControl (not an account?)",
                            in->name, dn);
        long long v = strtoll(uac, NULL, 10);
        free(uac);
        long long nv = disable ? (v | AD_ACCOUNTDISABLE) : (v & ~(long long)AD_ACCOUNTDISABLE);
        changed = nv != v;
        rc = LDAP_SUCCESS;
        if (changed) {
            char s[32];
            snprintf(s, sizeof s, "%lld", nv);
            rc = modify_one(ld, dn, LDAP_MOD_REPLACE, "userAccountControl", s);
        }
    } else if (disable) {
        char *cur = attr_first(ld, e, in->disable_attr);
        changed = cur == NULL || strcmp(cur, in->disable_value) != 0;
        free(cur);
        rc = modify_one(ld, dn, LDAP_MOD_REPLACE, in->disable_attr, in->disable_value);
    } else {
        rc = modify_one(ld, dn, LDAP_MOD_DELETE, in->disable_attr, NULL);
        if (rc == LDAP_NO_SUCH_ATTRIBUTE) { /* enabled already */
            rc = LDAP_SUCCESS;
            changed = false;
        }
    }
    if (rc != LDAP_SUCCESS) {
        char what[RP_ERROR_MAX];
        snprintf(what, sizeof what, "%s of %s at", disable ? "disable" : "enable", dn);
        return ldap_failed(j, ld, rc, what);
    }
    json_t *o = json_object();
    json_object_set_new(o, "dn", json_string(dn));
    json_object_set_new(o, "disabled", json_boolean(disable));
    json_object_set_new(o, "changed", json_boolean(changed));
    j->output = o;
    return RP_OK;
}

static void ldapc_work(uv_work_t *w)
{
    struct ldapc_job *j = w->data;
    LDAP *ld = NULL;
    LDAPMessage *res = NULL, *e = NULL;
    char *dn = NULL;
    j->st = RP_OK;
    if (session_open(j, &ld) != RP_OK)
        goto out;
    rp_status st = user_lookup(j, ld, &res, &e);
    if (st == RP_E_NOTFOUND && j->op == LDAPC_FIND) {
        j->st = RP_OK;
        j->output = json_pack("{s:b}", "found", 0);
        goto out;
    }
    if (st != RP_OK)
        goto out;
    dn = ldap_get_dn(ld, e);
    if (dn == NULL) {
        job_fail(j, RP_E_IO, "%s: the server sent an entry without a DN", j->inst->name);
        goto out;
    }
    switch (j->op) {
    case LDAPC_FIND:
        (void)do_find(j, ld, e, dn);
        break;
    case LDAPC_LOCKOUT:
        (void)do_lockout(j, ld, e, dn);
        break;
    case LDAPC_RESET:
        (void)do_reset(j, ld, dn);
        break;
    case LDAPC_DISABLE:
    case LDAPC_ENABLE:
        (void)do_able(j, ld, e, dn, j->op == LDAPC_DISABLE);
        break;
    case LDAPC_NOPS:
        RP_ASSERT(0);
    }
out:
    ldap_memfree(dn);
    ldap_msgfree(res);
    if (ld != NULL)
        ldap_unbind_ext_s(ld, NULL, NULL);
}

/* --- the loop thread ------------------------------------------------------------ */

static void job_free(struct ldapc_job *j)
{
    json_decref(j->output); /* may hold a temporary password */
    sodium_memzero(j, sizeof *j);
    free(j);
}

static void ldapc_after(uv_work_t *w, int status)
{
    struct ldapc_job *j = w->data;
    struct action_call *call = j->call;
    j->inst->inflight--;
    if (call == NULL) { /* cancelled: nobody waits for this any more */
        job_free(j);
        return;
    }
    call->impl = NULL;
    if (status != 0) {
        action_fail(call, RP_E_IO, "%s: the LDAP job was cancelled", j->inst->name);
    } else if (j->st == RP_OK) {
        json_t *out = j->output;
        j->output = NULL;
        action_succeed(call, out);
    } else {
        action_fail(call, j->st, "%s", j->error);
    }
    job_free(j);
}

static rp_status ldapc_start(struct action_call *call)
{
    struct ldapc *in = call->def->data;
    enum ldapc_op op = (enum ldapc_op)(call->def - in->defs);
    const char *user = json_string_value(json_object_get(call->params, "user"));
    json_t *by = json_object_get(call->params, "by");
    json_t *ret = json_object_get(call->params, "return_password");
    if (user == NULL || user[0] == '\0' || strlen(user) > RP_LDAP_VALUE_MAX) {
        action_fail(call, RP_E_INVALID, "%s: parameter user: a name or address of 1-%d bytes",
                    call->def->name, RP_LDAP_VALUE_MAX);
        return RP_OK;
    }
    if (by != NULL && !(json_is_string(by) && attr_name_ok(json_string_value(by)))) {
        action_fail(call, RP_E_INVALID,
                    "%s: parameter by: an attribute name (uid, mail, sAMAccountName...)",
                    call->def->name);
        return RP_OK;
    }
    if (ret != NULL && (!json_is_boolean(ret) || op != LDAPC_RESET)) {
        action_fail(call, RP_E_INVALID,
                    "%s: parameter return_password: true or false, for "
                    "reset_password only",
                    call->def->name);
        return RP_OK;
    }
    if (call->loop == NULL) {
        action_fail(call, RP_E_INVALID, "%s: no event loop", call->def->name);
        return RP_OK;
    }
    if (in->inflight >= RP_LDAP_INFLIGHT_MAX) {
        action_fail(call, RP_E_BUSY, "%s: %d LDAP calls are in flight already; try again",
                    call->def->name, RP_LDAP_INFLIGHT_MAX);
        return RP_OK;
    }
    struct ldapc_job *j = calloc(1, sizeof *j);
    if (j == NULL)
        return RP_E_NOMEM;
    j->inst = in;
    j->op = op;
    j->call = call;
    snprintf(j->user, sizeof j->user, "%s", user);
    snprintf(j->by, sizeof j->by, "%s", by != NULL ? json_string_value(by) : "");
    j->return_password = json_is_true(ret);
    j->work.data = j;
    if (uv_queue_work(call->loop, &j->work, ldapc_work, ldapc_after) != 0) {
        free(j);
        return RP_E_IO;
    }
    in->inflight++;
    call->impl = j;
    return RP_OK;
}

static void ldapc_cancel(struct action_call *call)
{
    struct ldapc_job *j = call->impl;
    if (j == NULL)
        return;
    /* the pool thread cannot be interrupted; its result is dropped when it
     * comes back (ldapc_after sees call == NULL) */
    j->call = NULL;
    call->impl = NULL;
}

/* --- configuration (main thread) ------------------------------------------------ */

static void ldapc_destroy(void *p)
{
    struct ldapc *in = p;
    if (in == NULL)
        return;
    free(in->name);
    free(in->url);
    free(in->ca_file);
    free(in->ca_dir);
    free(in->bind_dn);
    connector_secret_free(in->password);
    free(in->base_dn);
    free(in->user_filter);
    free(in->group_base);
    free(in->group_filter);
    free(in->disable_attr);
    free(in->disable_value);
    free(in);
}

/* network_timeout and timeout, in whole seconds for libldap: a blocked call
 * holds a pool thread (RP_LDAP_TIMEOUT_MAX_S). */
static const struct connector_duration_spec TIMEOUT = {
    .min_ms = 1000,
    .max_ms = RP_LDAP_TIMEOUT_MAX_S * 1000LL,
    .range = "between 1s and " CONNECTOR_STR(RP_LDAP_TIMEOUT_MAX_S) "s",
    .expected = "a duration such as 10s",
    .null = CONNECTOR_NULL_DEFAULT,
};

static const char *const KNOWN_KEYS[] = {"type",
                                         "url",
                                         "starttls",
                                         "tls_verify",
                                         "ca_file",
                                         "ca_dir",
                                         "bind_dn",
                                         "password",
                                         "base_dn",
                                         "flavor",
                                         "user_filter",
                                         "group_base",
                                         "group_filter",
                                         "network_timeout",
                                         "timeout",
                                         "disable_attribute",
                                         "disable_value",
                                         "require_change",
                                         "password_length",
                                         NULL};

static const struct {
    const char *action;
    enum action_effect effect;
    bool honours_keys; /* repeating it is harmless */
    const char *help;
} OPS[LDAPC_NOPS] = {
    [LDAPC_FIND] = {"find_user", ACTION_EFFECT_READ, true,
                    "finds a directory user by parameter user (dn, mail, groups, lock)"},
    [LDAPC_LOCKOUT] = {"lockout_status", ACTION_EFFECT_READ, true,
                       "whether parameter user is locked out, since when, failure count"},
    [LDAPC_RESET] = {"reset_password", ACTION_EFFECT_MODIFY, false,
                     "sets a random password that must be changed at next login"},
    [LDAPC_DISABLE] = {"disable", ACTION_EFFECT_CONTAIN, true, "disables the account of user"},
    [LDAPC_ENABLE] = {"enable", ACTION_EFFECT_MODIFY, true, "enables the account of user again"},
};

static rp_status ldapc_create(const char *instance, json_t *conf, const struct connector_env *env,
                              void **out, struct rp_error *err)
{
    *out = NULL;
    rp_status st = RP_OK;
    struct ldapc *in = calloc(1, sizeof *in);
    if (in == NULL || (in->name = strdup(instance)) == NULL) {
        ldapc_destroy(in);
        return rp_error_set(err, RP_E_NOMEM, "out of memory");
    }
    if ((st = connector_keys_check(instance, conf, KNOWN_KEYS, err)) != RP_OK)
        goto fail;
    char *flavor = NULL;
    int64_t network_ms = 0, ms = 0;
    const struct connector_string_spec strings[] = {
        {"url", true, &in->url},
        {"base_dn", true, &in->base_dn},
        {"bind_dn", false, &in->bind_dn},
        {"password", false, &in->password},
        {"ca_file", false, &in->ca_file},
        {"ca_dir", false, &in->ca_dir},
        {"user_filter", false, &in->user_filter},
        {"group_base", false, &in->group_base},
        {"group_filter", false, &in->group_filter},
        {"disable_attribute", false, &in->disable_attr},
        {"disable_value", false, &in->disable_value},
        {"flavor", false, &flavor},
    };
    if ((st = connector_strings(instance, conf, env, strings, sizeof strings / sizeof *strings,
                                err)) != RP_OK ||
        (st = connector_bool(instance, conf, "starttls", false, CONNECTOR_NULL_DEFAULT,
                             &in->starttls, err)) != RP_OK ||
        (st = connector_bool(instance, conf, "tls_verify", true, CONNECTOR_NULL_DEFAULT,
                             &in->tls_verify, err)) != RP_OK ||
        (st = connector_bool(instance, conf, "require_change", true, CONNECTOR_NULL_DEFAULT,
                             &in->require_change, err)) != RP_OK ||
        (st = connector_duration(instance, conf, "network_timeout", 5000, &TIMEOUT, &network_ms,
                                 err)) != RP_OK ||
        (st = connector_duration(instance, conf, "timeout", 10000, &TIMEOUT, &ms, err)) != RP_OK) {
        free(flavor);
        goto fail;
    }
    in->network_timeout_s = (int)(network_ms / 1000);
    in->timeout_s = (int)(ms / 1000);
    if (flavor == NULL || strcmp(flavor, "openldap") == 0) {
        in->flavor = LDAPC_OPENLDAP;
    } else if (strcmp(flavor, "ad") == 0) {
        in->flavor = LDAPC_AD;
    } else {
        st = rp_error_set(err, RP_E_INVALID, "connectors.%s.flavor: openldap or ad, not %s",
                          instance, flavor);
        free(flavor);
        goto fail;
    }
    free(flavor);
    if (strncmp(in->url, "ldap://", 7) != 0 && strncmp(in->url, "ldaps://", 8) != 0 &&
        strncmp(in->url, "ldapi://", 8) != 0) {
        st = rp_error_set(err, RP_E_INVALID,
                          "connectors.%s.url: ldap://, ldaps:// or ldapi:// (got %s)", instance,
                          in->url);
        goto fail;
    }
    if (!ldap_is_ldap_url(in->url) && strncmp(in->url, "ldapi://", 8) != 0) {
        st = rp_error_set(err, RP_E_INVALID, "connectors.%s.url: not an LDAP URL: %s", instance,
                          in->url);
        goto fail;
    }
    if (in->starttls && strncmp(in->url, "ldap://", 7) != 0) {
        st = rp_error_set(err, RP_E_INVALID,
                          "connectors.%s.starttls: only with an ldap:// url (ldaps:// is TLS "
                          "already)",
                          instance);
        goto fail;
    }
    if (in->flavor == LDAPC_AD && !in->starttls && strncmp(in->url, "ldaps://", 8) != 0) {
        st = rp_error_set(err, RP_E_INVALID,
                          "connectors.%s: Active Directory changes passwords only over TLS: use "
                          "an ldaps:// url or starttls: true",
                          instance);
        goto fail;
    }
    if ((in->bind_dn == NULL) != (in->password == NULL)) {
        st = rp_error_set(err, RP_E_INVALID,
                          "connectors.%s: give both bind_dn and password, or neither (anonymous)",
                          instance);
        goto fail;
    }
    bool ad = in->flavor == LDAPC_AD;
    if (in->user_filter == NULL)
        in->user_filter = strdup(ad ? "(&(objectClass=user)(|(sAMAccountName={user})(mail={user})"
                                      "(userPrincipalName={user})))"
                                    : "(|(uid={user})(mail={user}))");
    if (in->group_base == NULL)
        in->group_base = strdup(in->base_dn);
    if (in->group_filter == NULL)
        in->group_filter = strdup(ad ? "" : "(|(member={dn})(uniqueMember={dn})(memberUid={uid}))");
    if (in->disable_attr == NULL)
        in->disable_attr = strdup("pwdAccountLockedTime");
    if (in->disable_value == NULL)
        in->disable_value = strdup(PPOLICY_LOCKED_FOREVER);
    if (in->user_filter == NULL || in->group_base == NULL || in->group_filter == NULL ||
        in->disable_attr == NULL || in->disable_value == NULL) {
        st = rp_error_set(err, RP_E_NOMEM, "out of memory");
        goto fail;
    }
    if (strstr(in->user_filter, "{user}") == NULL || in->user_filter[0] != '(') {
        st = rp_error_set(err, RP_E_INVALID,
                          "connectors.%s.user_filter: a filter in parentheses with {user} where "
                          "the value goes",
                          instance);
        goto fail;
    }
    if (!attr_name_ok(in->disable_attr)) {
        st = rp_error_set(err, RP_E_INVALID, "connectors.%s.disable_attribute: an attribute name",
                          instance);
        goto fail;
    }
    json_t *pl = json_object_get(conf, "password_length");
    in->password_length = 20;
    if (pl != NULL) {
        if (!json_is_integer(pl) || json_integer_value(pl) < RP_LDAP_PASSWORD_MIN ||
            json_integer_value(pl) > RP_LDAP_PASSWORD_MAX) {
            st = rp_error_set(err, RP_E_INVALID, "connectors.%s.password_length: %d..%d", instance,
                              RP_LDAP_PASSWORD_MIN, RP_LDAP_PASSWORD_MAX);
            goto fail;
        }
        in->password_length = (int)json_integer_value(pl);
    }
    if (sodium_init() < 0) {
        st = rp_error_set(err, RP_E_IO, "connectors.%s: libsodium failed to start", instance);
        goto fail;
    }
    /* all names first, so that a clash registers nothing of this instance */
    for (int i = 0; i < LDAPC_NOPS; i++) {
        snprintf(in->names[i], sizeof in->names[i], "%s.%s", instance, OPS[i].action);
        if (action_find(in->names[i]) != NULL) {
            st = rp_error_set(err, RP_E_EXISTS, "connectors.%s: action %s exists already", instance,
                              in->names[i]);
            goto fail;
        }
        in->defs[i] = (struct action_def){.name = in->names[i],
                                          .effect = OPS[i].effect,
                                          .honours_keys = OPS[i].honours_keys,
                                          .help = OPS[i].help,
                                          .start = ldapc_start,
                                          .cancel = ldapc_cancel,
                                          .data = in};
    }
    in->defs[LDAPC_DISABLE].release = in->names[LDAPC_ENABLE];
    static const char *const RESET_SECRETS[] = {"temporary_password", NULL};
    in->defs[LDAPC_RESET].secret_outputs = RESET_SECRETS;
    for (int i = 0; i < LDAPC_NOPS; i++) {
        st = action_register(&in->defs[i]);
        /* names were checked above and nothing registers concurrently: only
         * a full registry can refuse, and then earlier ones stay (reported) */
        if (st != RP_OK) {
            st = rp_error_set(err, st, "connectors.%s: cannot register %s: %s", instance,
                              in->names[i], rp_status_str(st));
            if (i == 0)
                goto fail;
            return st; /* registered defs point into in: it must stay */
        }
    }
    *out = in;
    return RP_OK;
fail:
    ldapc_destroy(in);
    return st;
}

const struct connector_type connector_ldap = {
    .name = "ldap", .create = ldapc_create, .destroy = ldapc_destroy};

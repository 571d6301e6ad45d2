/*
 * cylance_syslog.c: CylancePROTECT syslog events into alerts of kind endpoint.
 *
 *   <116>Jul 8 17:50:30 sysloghost CylancePROTECT Event Type: Threat, Event Name:
 *   threat_quarantined, Device Name: WS-01, IP Address: (10.0.0.5), File Name:
 *   evil.exe, Path: c:\users\bob\, SHA256: 9F86..., MD5: ..., Status: Quarantined,
 *   Cylance Score: 100, ..., Is Running: False, ..., Threat Classification: Trojan
 *
 * The MSG is a list of "Key: value" fields separated by ", ". A value runs to
 * the next ", " that is followed by a key (capitalised words and a colon), so
 * that paths and dates with commas and colons stay whole; a value in
 * parentheses ("(10.0.0.5, fe80::1)") runs to its closing parenthesis.
 *
 * Threat, ExploitAttempt (memory protection), ScriptControl, AppControl and
 * DeviceControl events become alerts; the console's AuditLog, Device (agent
 * registration and updates) and ThreatClassification (a hash reclassified, on
 * no host) events are RP_E_NOTFOUND. Severity comes from the threat's
 * classification and Cylance score (docs/formats-lines.md). Pure; any thread;
 * owns nothing beyond a call.
 */
#include "core/limits.h"
#include "ingest/lines.h"

#include <string.h>

struct span {
    const char *p;
    size_t n;
};

struct cy_field {
    struct span key, val;
    bool used;
};

struct cy_event {
    struct cy_field f[RP_CYLANCE_FIELDS_MAX];
    size_t n;
};

static bool is_upper(char c)
{
    return c >= 'A' && c <= 'Z';
}

static bool key_char(char c)
{
    return is_upper(c) || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == ' ';
}

/* A key at s ("Device Name:"): its length before the colon, or 0. */
static size_t key_at(const char *s, size_t n)
{
    if (n == 0 || !is_upper(s[0]))
        return 0;
    size_t i = 0;
    while (i < n && i <= 40 && key_char(s[i]))
        i++;
    if (i >= n || i > 40 || s[i] != ':' || s[i - 1] == ' ')
        return 0;
    return i;
}

static long find(const char *s, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    for (size_t i = 0; i + m <= n; i++)
        if (s[i] == needle[0] && memcmp(s + i, needle, m) == 0)
            return (long)i;
    return -1;
}

long cylance_syslog_find(const char *line, size_t len)
{
    return find(line, len, "CylancePROTECT");
}

/* The fields from the first "Event Type:" or "Event Name:" in s. */
static rp_status cy_scan(const char *s, size_t n, size_t off, struct cy_event *ev,
                         struct rp_error *err)
{
    ev->n = 0;
    long t = find(s, n, "Event Type:"), e = find(s, n, "Event Name:");
    long at = t < 0 ? e : (e < 0 ? t : (t < e ? t : e));
    if (at < 0)
        return rp_error_set(err, RP_E_NOTFOUND, "CylancePROTECT message without Event Type");
    size_t i = (size_t)at;
    while (i < n) {
        size_t kn = key_at(s + i, n - i);
        if (kn == 0)
            break;
        if (ev->n >= RP_CYLANCE_FIELDS_MAX)
            return rp_error_set(err, RP_E_INVALID, "byte %zu: more than %d fields", off + i,
                                RP_CYLANCE_FIELDS_MAX);
        struct cy_field *f = &ev->f[ev->n++];
        f->key.p = s + i;
        f->key.n = kn;
        f->used = false;
        i += kn + 1;
        while (i < n && s[i] == ' ')
            i++;
        size_t v0 = i;
        if (i < n && s[i] == '(') {
            const char *close = memchr(s + i, ')', n - i);
            i = close ? (size_t)(close - s) + 1 : n;
        }
        size_t next = n;
        for (size_t j = i; j + 1 < n; j++) {
            if (s[j] == ',' && s[j + 1] == ' ' && key_at(s + j + 2, n - j - 2) > 0) {
                next = j;
                break;
            }
        }
        f->val.p = s + v0;
        f->val.n = next - v0;
        if (next == n) {
            /* the last value: without the "#015" (an escaped CR) or the "]" of a
             * "message repeated N times: [...]" */
            while (f->val.n > 0) {
                const char *p = f->val.p;
                size_t vn = f->val.n;
                if (vn >= 4 && memcmp(p + vn - 4, "#015", 4) == 0)
                    f->val.n -= 4;
                else if (p[vn - 1] == ']' || p[vn - 1] == ' ' || p[vn - 1] == '\r')
                    f->val.n--;
                else
                    break;
            }
        }
        lines_trim(&f->val.p, &f->val.n);
        if (f->val.n >= 2 && f->val.p[0] == '(' && f->val.p[f->val.n - 1] == ')') {
            f->val.p++;
            f->val.n -= 2;
            lines_trim(&f->val.p, &f->val.n);
        }
        i = next + 2;
    }
    return RP_OK;
}

static struct cy_field *get(struct cy_event *ev, const char *key)
{
    size_t m = strlen(key);
    for (size_t i = 0; i < ev->n; i++)
        if (ev->f[i].key.n == m && memcmp(ev->f[i].key.p, key, m) == 0)
            return &ev->f[i];
    return NULL;
}

/* Sets obj.key from the field when it fits; marks it used. */
static rp_status take(json_t *a, struct cy_event *ev, const char *field, const char *obj,
                      const char *key, enum obs_type t, bool name)
{
    struct cy_field *f = get(ev, field);
    if (f == NULL || f->val.n == 0)
        return RP_OK;
    if (name ? !lines_fits_name(f->val.p, f->val.n) : !lines_fits_typed(t, f->val.p, f->val.n))
        return RP_OK;
    f->used = true;
    return name ? lines_name(a, obj, key, f->val.p, f->val.n, NULL, NULL)
                : lines_typed(a, obj, key, t, f->val.p, f->val.n, NULL, NULL);
}

/* The first element of a "a, b, c" list that is an address, as host.ip. */
static rp_status first_ip(json_t *a, struct cy_event *ev)
{
    struct cy_field *f = get(ev, "IP Address");
    if (f == NULL)
        return RP_OK;
    const char *p = f->val.p, *end = f->val.p + f->val.n;
    while (p < end) {
        const char *c = memchr(p, ',', (size_t)(end - p));
        const char *e = c ? c : end;
        if (lines_fits_typed(OBS_IPV4, p, (size_t)(e - p)))
            return lines_typed(a, "host", "ip", OBS_IPV4, p, (size_t)(e - p), NULL, NULL);
        p = e + 1;
    }
    return RP_OK;
}

/* The first of a list of users ("Logged On Users: (a, b)"). */
static rp_status first_user(json_t *a, struct cy_event *ev, const char *field)
{
    struct cy_field *f = get(ev, field);
    if (f == NULL || json_object_get(a, "user") != NULL)
        return RP_OK;
    const char *c = memchr(f->val.p, ',', f->val.n);
    size_t n = c ? (size_t)(c - f->val.p) : f->val.n;
    if (!lines_fits_name(f->val.p, n))
        return RP_OK;
    if (c == NULL)
        f->used = true;
    return lines_name(a, "user", "name", f->val.p, n, NULL, NULL);
}

static bool value_is(struct cy_event *ev, const char *field, const char *word)
{
    struct cy_field *f = get(ev, field);
    return f != NULL && lines_ieq(f->val.p, f->val.n, word);
}

static int threat_severity(struct cy_event *ev)
{
    static const char *const pup[] = {
        "pup", "dual use", "dual-use", "adware", "potentially unwanted", NULL};
    static const char *const bad[] = {"malware",   "trojan",  "virus",   "ransom",
                                      "backdoor",  "worm",    "exploit", "infostealer",
                                      "keylogger", "rootkit", "bot",     NULL};
    struct cy_field *c = get(ev, "Threat Classification");
    if (c == NULL)
        c = get(ev, "Threat Class");
    struct cy_field *name = get(ev, "Event Name");
    int sev;
    int64_t score = -1;
    struct cy_field *sc = get(ev, "Cylance Score");
    if (sc != NULL && !lines_parse_uint(sc->val.p, sc->val.n, 100, &score))
        score = -1;
    bool is_pup = false, is_bad = value_is(ev, "Is Malware", "true");
    for (size_t i = 0; c && pup[i]; i++)
        is_pup = is_pup || lines_icontains(c->val.p, c->val.n, pup[i]);
    for (size_t i = 0; c && bad[i]; i++)
        is_bad = is_bad || lines_icontains(c->val.p, c->val.n, bad[i]);
    if (name && lines_ieq(name->val.p, name->val.n, "corrupt_found"))
        sev = 20;
    else if (is_pup)
        sev = 40;
    else if (is_bad)
        sev = 80;
    else if (score >= 80)
        sev = 70;
    else if (score >= 50)
        sev = 50;
    else
        sev = 30;
    if (value_is(ev, "Is Running", "true") && sev < 100)
        sev += 10;
    return sev;
}

/* "Cylance Score" -> "cylance_score" into out (cap > 41). */
static void snake(const struct span *k, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < k->n && o + 1 < cap; i++)
        out[o++] = k->p[i] == ' ' ? '_' : (is_upper(k->p[i]) ? (char)(k->p[i] + 32) : k->p[i]);
    out[o] = '\0';
}

rp_status cylance_syslog_alert_in(const struct line_ctx *lc, const char *msg, size_t n,
                                  json_t **alert, struct rp_error *err)
{
    *alert = NULL;
    struct cy_event ev;
    rp_status st = cy_scan(msg, n, (size_t)(msg - lc->line), &ev, err);
    if (st != RP_OK)
        return st;
    struct cy_field *type = get(&ev, "Event Type"), *name = get(&ev, "Event Name");
    static const struct {
        const char *type, *rule;
    } kinds[] = {
        {"threat", "cylance.threat"},
        {"exploitattempt", "cylance.exploit_attempt"},
        {"scriptcontrol", "cylance.script_control"},
        {"appcontrol", "cylance.app_control"},
        {"devicecontrol", "cylance.device_control"},
    };
    int k = -1;
    for (int i = 0; type && i < 5; i++)
        if (lines_ieq(type->val.p, type->val.n, kinds[i].type))
            k = i;
    if (type == NULL && name != NULL &&
        (lines_icontains(name->val.p, name->val.n, "threat_") ||
         lines_ieq(name->val.p, name->val.n, "corrupt_found")))
        k = 0;
    if (k < 0) {
        const struct span *what = type ? &type->val : name ? &name->val : NULL;
        return rp_error_set(err, RP_E_NOTFOUND, "CylancePROTECT %.*s event: no threat on a host",
                            what ? (int)(what->n > 40 ? 40 : what->n) : 0, what ? what->p : "");
    }
    int sev = k == 0 ? threat_severity(&ev) : k == 1 ? 70 : k == 4 ? 30 : 50;
    if (type)
        type->used = true;

    json_t *a = json_object();
    if (a == NULL)
        return RP_E_NOMEM;
    /* the title: the event, what it was about, the classification, the device */
    char title[RP_NAME_MAX_BYTES + 1], ev_name[128], what[256], cls[128], dev[256];
    static const char *const type_names[] = {"Threat", "ExploitAttempt", "ScriptControl",
                                             "AppControl", "DeviceControl"};
    struct cy_field *w = get(&ev, "File Name");
    if (w == NULL)
        w = get(&ev, "Process Name");
    if (w == NULL)
        w = get(&ev, "File Path");
    if (w == NULL)
        w = get(&ev, "External Device Name");
    struct cy_field *c = get(&ev, "Threat Classification");
    if (c == NULL)
        c = get(&ev, "Violation Type");
    struct cy_field *d = get(&ev, "Device Name");
    lines_clean(name ? name->val.p : "", name ? name->val.n : 0, ev_name, sizeof(ev_name));
    lines_clean(w ? w->val.p : "", w ? w->val.n : 0, what, sizeof(what));
    lines_clean(c ? c->val.p : "", c ? c->val.n : 0, cls, sizeof(cls));
    lines_clean(d ? d->val.p : "", d ? d->val.n : 0, dev, sizeof(dev));
    rp_fmt(title, sizeof(title), "CylancePROTECT %s%s%s%s%s%s%s%s%s", type_names[k],
           ev_name[0] ? ": " : "", ev_name, what[0] ? " " : "", what, cls[0] ? " (" : "", cls,
           cls[0] ? ")" : "", dev[0] ? " on " : "");
    size_t tl = strlen(title);
    if (dev[0])
        rp_fmt(title + tl, sizeof(title) - tl, "%s", dev);
    if (name)
        name->used = true;

    if (json_object_set_new_nocheck(a, "kind", json_string_nocheck("endpoint")) ||
        json_object_set_new_nocheck(a, "source", json_string_nocheck("cylance")) ||
        json_object_set_new_nocheck(a, "rule", json_string_nocheck(kinds[k].rule)) ||
        json_object_set_new_nocheck(a, "title", lines_str(title, strlen(title))) ||
        json_object_set_new_nocheck(a, "severity", json_integer(sev)))
        st = RP_E_NOMEM;
    if (st == RP_OK)
        st = take(a, &ev, "Device Name", "host", "name", OBS_HOSTNAME, false);
    if (st == RP_OK)
        st = first_ip(a, &ev);
    if (st == RP_OK)
        st = take(a, &ev, "Device Id", "host", "id", OBS_USER, true);
    if (st == RP_OK)
        st = take(a, &ev, "File Name", "file", "name", OBS_FILENAME, true);
    struct cy_field *path = get(&ev, "Path");
    if (path == NULL)
        path = get(&ev, "File Path");
    if (st == RP_OK && path != NULL && path->val.n > 0 && path->val.n <= RP_FIELD_MAX_BYTES) {
        path->used = true;
        st = lines_text(a, "file", "path", path->val.p, path->val.n, NULL, NULL);
    }
    if (st == RP_OK)
        st = take(a, &ev, "SHA256", "file", "sha256", OBS_SHA256, false);
    if (st == RP_OK)
        st = take(a, &ev, "MD5", "file", "md5", OBS_MD5, false);
    if (st == RP_OK)
        st = take(a, &ev, "User Name", "user", "name", OBS_USER, true);
    if (st == RP_OK)
        st = first_user(a, &ev, "Logged On Users");
    if (st == RP_OK)
        st = take(a, &ev, "Process Name", "process", "name", OBS_USER, true);
    if (st == RP_OK)
        st = take(a, &ev, "Interpreter", "process", "name", OBS_USER, true);
    struct cy_field *pid = get(&ev, "Process ID");
    int64_t pv;
    if (st == RP_OK && pid && lines_parse_uint(pid->val.p, pid->val.n, 4294967295LL, &pv)) {
        pid->used = true;
        st = lines_uint(a, "process", "pid", pid->val.p, pid->val.n, 4294967295LL, NULL, NULL);
    }
    /* extra.cylance: every other field, keys in snake case */
    json_t *x = st == RP_OK ? json_object() : NULL;
    if (st == RP_OK && x == NULL)
        st = RP_E_NOMEM;
    for (size_t i = 0; st == RP_OK && i < ev.n; i++) {
        if (ev.f[i].used)
            continue;
        char key[48];
        snake(&ev.f[i].key, key, sizeof(key));
        if (json_object_set_new_nocheck(x, key, lines_str(ev.f[i].val.p, ev.f[i].val.n)))
            st = RP_E_NOMEM;
    }
    if (st == RP_OK && name &&
        json_object_set_new_nocheck(x, "event_name", lines_str(name->val.p, name->val.n)))
        st = RP_E_NOMEM;
    if (st == RP_OK) {
        json_t *extra = lines_child(a, "extra");
        st = extra == NULL || json_object_set_new_nocheck(extra, "cylance", x) ? RP_E_NOMEM : RP_OK;
        x = NULL;
    }
    json_decref(x);
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

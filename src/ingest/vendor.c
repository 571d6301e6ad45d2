/*
 * vendor.c: recognises which vendor wrote a JSON document and maps it with that
 * vendor's normalizer (the files of ingest/vendor/), plus the helpers they share
 * (vendor_internal.h).
 *
 * Detection runs the detectors in one fixed order and takes the first match, so
 * that the answer never depends on key order or on which optional fields a
 * document happens to carry. The order puts the wrappers of other documents
 * first: an Elastic alert or a Splunk notable embeds the fields of the event
 * that triggered it (a Windows logon, an Okta event), so elastic and splunk are
 * asked before the vendors whose events they may carry, and windows (the most
 * generic shape) is asked last. Each detector looks for keys no other vendor's
 * documents have (docs/vendors.md lists them).
 *
 * Pure functions; any thread. Nothing here allocates beyond the alert being
 * built and a scratch buffer bounded by RP_FIELD_MAX_BYTES; failures are
 * RP_E_INVALID (the vendor, the field and the problem) or RP_E_NOMEM.
 */
#include "ingest/vendor.h"

#include "core/limits.h"
#include "core/time.h"
#include "ingest/vendor_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Detection order: see the paragraph at the top. */
static const struct vendor_def *const VENDORS[] = {
    &vendor_elastic,  &vendor_splunk,  &vendor_crowdstrike, &vendor_carbonblack, &vendor_cylance,
    &vendor_defender, &vendor_msgraph, &vendor_okta,        &vendor_azuread,     &vendor_windows,
};
#define NVENDORS (sizeof(VENDORS) / sizeof(VENDORS[0]))

/* --- reading ----------------------------------------------------------------- */

/* obj[key] for key of len bytes; case-insensitively when there is no exact
 * match and obj is small enough. (jansson 2.13 has no json_object_getn: the
 * key is copied; no vendor key is near the bound.) */
static json_t *key_get(json_t *obj, const char *key, size_t len)
{
    char k[RP_VENDOR_KEY_MAX + 1];
    if (len > RP_VENDOR_KEY_MAX)
        return NULL;
    memcpy(k, key, len);
    k[len] = '\0';
    json_t *v = json_object_get(obj, k);
    if (v != NULL || json_object_size(obj) > RP_VENDOR_CASEFOLD_KEYS_MAX)
        return v;
    const char *ok;
    json_t *x;
    json_object_foreach(obj, ok, x)
    {
        if (strcasecmp(ok, k) == 0)
            return x;
    }
    return NULL;
}

json_t *vendor_get(json_t *obj, const char *path)
{
    const char *p = path;
    json_t *cur = obj;
    for (int seg = 0; seg < RP_VENDOR_PATH_SEGMENTS_MAX; seg++) {
        if (!json_is_object(cur))
            return NULL;
        json_t *v = key_get(cur, p, strlen(p));
        if (v != NULL)
            return v;
        /* descend into the shortest prefix that names an object */
        json_t *next = NULL;
        for (const char *d = strchr(p, '.'); d != NULL; d = strchr(d + 1, '.')) {
            json_t *o = key_get(cur, p, (size_t)(d - p));
            if (json_is_object(o)) {
                next = o;
                p = d + 1;
                break;
            }
        }
        if (next == NULL)
            return NULL;
        cur = next;
    }
    return NULL;
}

const char *vendor_str(json_t *obj, const char *path)
{
    json_t *v = vendor_get(obj, path);
    if (json_is_array(v))
        v = json_array_get(v, 0);
    return json_string_value(v);
}

bool vendor_str_is(json_t *obj, const char *path, const char *const *values)
{
    const char *s = vendor_str(obj, path);
    if (s == NULL)
        return false;
    for (size_t i = 0; values[i] != NULL; i++)
        if (strcasecmp(s, values[i]) == 0)
            return true;
    return false;
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && isspace((unsigned char)**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && isspace((unsigned char)(*s)[*n - 1]))
        (*n)--;
}

static bool placeholder_n(const char *s, size_t n)
{
    static const char *const P[] = {"-", "--", "n/a", "null", "none", "(null)", "unknown", NULL};
    trim(&s, &n);
    if (n == 0)
        return true;
    for (size_t i = 0; P[i] != NULL; i++)
        if (strlen(P[i]) == n && strncasecmp(s, P[i], n) == 0)
            return true;
    return false;
}

bool vendor_placeholder(const char *s)
{
    return s == NULL || placeholder_n(s, strlen(s));
}

bool vendor_int(json_t *v, long long *out)
{
    if (json_is_integer(v)) {
        *out = json_integer_value(v);
        return true;
    }
    if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d != d || d < -9e15 || d > 9e15 || d != (double)(long long)d)
            return false;
        *out = (long long)d;
        return true;
    }
    const char *s = json_string_value(v);
    if (s == NULL)
        return false;
    size_t n = strlen(s);
    trim(&s, &n);
    bool neg = false;
    if (n > 0 && s[0] == '-') {
        neg = true;
        s++;
        n--;
    }
    int base = 10;
    if (n > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
        n -= 2;
    }
    if (n == 0 || n > (base == 16 ? 15u : 18u))
        return false;
    long long x = 0;
    for (size_t i = 0; i < n; i++) {
        int d;
        if (isdigit((unsigned char)s[i]))
            d = s[i] - '0';
        else if (base == 16 && isxdigit((unsigned char)s[i]))
            d = tolower((unsigned char)s[i]) - 'a' + 10;
        else
            return false;
        x = x * base + d;
    }
    *out = neg ? -x : x;
    return true;
}

bool vendor_is_ip(json_t *v)
{
    if (json_is_array(v))
        v = json_array_get(v, 0);
    const char *s = json_string_value(v);
    if (s == NULL)
        return false;
    size_t n = strlen(s);
    trim(&s, &n);
    char tmp[64];
    if (n == 0 || n >= sizeof(tmp))
        return false;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    unsigned char addr[16];
    return inet_pton(AF_INET, tmp, addr) == 1 || inet_pton(AF_INET6, tmp, addr) == 1;
}

/* Epoch value of unknown unit: seconds until the year 5138, then milliseconds,
 * microseconds, nanoseconds. */
static bool epoch_ms(double d, int64_t *ms)
{
    if (!(d > 0) || d >= 1e19)
        return false;
    double m = d < 1e11 ? d * 1000 : d < 1e14 ? d : d < 1e17 ? d / 1e3 : d / 1e6;
    if (m < 1 || m > 253402300799000.0)
        return false;
    *ms = (int64_t)m;
    return true;
}

bool vendor_time_ms(json_t *v, int64_t *ms)
{
    if (json_is_array(v))
        v = json_array_get(v, 0);
    if (json_is_number(v))
        return epoch_ms(json_number_value(v), ms);
    const char *s = json_string_value(v);
    if (s == NULL)
        return false;
    size_t n = strlen(s);
    trim(&s, &n);
    if (n == 0 || n > 64)
        return false;
    /* epoch as a digit string, with an optional fraction ("1717578924.000") */
    size_t i = 0;
    while (i < n && isdigit((unsigned char)s[i]))
        i++;
    if (i == n || (i > 0 && s[i] == '.' && i + 1 < n)) {
        char num[72];
        memcpy(num, s, n);
        num[n] = '\0';
        char *end;
        double d = strtod(num, &end);
        if (*end != '\0' || i < 9) /* shorter digit runs are no timestamps */
            return false;
        return epoch_ms(d, ms);
    }
    /* YYYY-MM-DD?HH:MM:SS[.frac] then a zone in any of the usual spellings */
    if (n < 19)
        return false;
    if (s[10] != 'T' && s[10] != 't' && s[10] != ' ')
        return false;
    char t[80];
    size_t k = 0;
    memcpy(t, s, 19);
    t[10] = 'T';
    k = 19;
    i = 19;
    if (i < n && (s[i] == '.' || s[i] == ',')) {
        t[k++] = '.';
        i++;
        size_t digits = 0;
        while (i < n && isdigit((unsigned char)s[i])) {
            if (digits++ < 9)
                t[k++] = s[i];
            i++;
        }
        if (digits == 0)
            return false;
    }
    while (i < n && s[i] == ' ')
        i++;
    const char *z = s + i;
    size_t zl = n - i;
    if (zl == 0 || (zl == 1 && (z[0] == 'Z' || z[0] == 'z')) ||
        (zl == 3 && (strncasecmp(z, "UTC", 3) == 0 || strncasecmp(z, "GMT", 3) == 0))) {
        t[k++] = 'Z';
    } else if ((z[0] == '+' || z[0] == '-') && (zl == 3 || zl == 5 || zl == 6)) {
        t[k++] = z[0];
        t[k++] = z[1];
        t[k++] = z[2];
        t[k++] = ':';
        if (zl == 3) {
            t[k++] = '0';
            t[k++] = '0';
        } else {
            size_t m = zl == 6 ? 4 : 3;
            if (zl == 6 && z[3] != ':')
                return false;
            t[k++] = z[m];
            t[k++] = z[m + 1];
        }
    } else {
        return false;
    }
    struct rp_error ignored;
    int64_t x;
    if (time_parse_rfc3339(t, k, &x, &ignored) != RP_OK || x <= 0)
        return false;
    *ms = x;
    return true;
}

const char *vendor_basename(const char *path)
{
    const char *b = path;
    for (const char *p = path; *p; p++)
        if (*p == '/' || *p == '\\')
            b = p + 1;
    return b;
}

bool vendor_contains(const char *haystack, const char *needle)
{
    if (haystack == NULL || needle == NULL)
        return false;
    size_t nl = strlen(needle);
    for (const char *p = haystack; *p; p++)
        if (strncasecmp(p, needle, nl) == 0)
            return true;
    return false;
}

/* --- building -------------------------------------------------------------- */

static void nomem(struct vendor_ctx *c)
{
    c->st = RP_E_NOMEM;
}

/* The object that holds the last part of dst, created on the way (dst has at
 * most 3 parts: "process.parent.pid"); *leaf gets the last part. */
static json_t *parent_of(struct vendor_ctx *c, const char *dst, char *leaf, size_t leafcap,
                         bool create)
{
    json_t *cur = c->alert;
    const char *p = dst;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t len = dot ? (size_t)(dot - p) : strlen(p);
        if (len >= leafcap)
            return NULL;
        memcpy(leaf, p, len);
        leaf[len] = '\0';
        if (dot == NULL)
            return cur;
        json_t *next = json_object_get(cur, leaf);
        if (next == NULL) {
            if (!create)
                return NULL;
            next = json_object();
            if (next == NULL || json_object_set_new(cur, leaf, next) != 0) {
                nomem(c);
                return NULL;
            }
        }
        if (!json_is_object(next))
            return NULL;
        cur = next;
        p = dot + 1;
    }
}

bool vendor_isset(struct vendor_ctx *c, const char *dst)
{
    char leaf[64];
    json_t *o = parent_of(c, dst, leaf, sizeof(leaf), false);
    return o != NULL && json_object_get(o, leaf) != NULL;
}

/* Sets dst to nv (stolen) unless it is set. */
static void put(struct vendor_ctx *c, const char *dst, json_t *nv)
{
    if (nv == NULL) {
        nomem(c);
        return;
    }
    char leaf[64];
    json_t *o = parent_of(c, dst, leaf, sizeof(leaf), true);
    if (o == NULL || json_object_get(o, leaf) != NULL) {
        json_decref(nv);
        return;
    }
    if (json_object_set_new(o, leaf, nv) != 0)
        nomem(c);
}

static json_t *extra_obj(struct vendor_ctx *c)
{
    if (c->extra != NULL)
        return c->extra;
    json_t *all = json_object_get(c->alert, "extra");
    if (all == NULL) {
        all = json_object();
        if (all == NULL || json_object_set_new(c->alert, "extra", all) != 0) {
            nomem(c);
            return NULL;
        }
    }
    c->extra = json_object();
    if (c->extra == NULL || json_object_set_new(all, c->vendor, c->extra) != 0) {
        c->extra = NULL;
        nomem(c);
    }
    return c->extra;
}

/* Names dst in extra.<vendor>.dropped: its vendor value was refused. */
static void dropped(struct vendor_ctx *c, const char *dst)
{
    json_t *x = extra_obj(c);
    if (x == NULL)
        return;
    json_t *list = json_object_get(x, "dropped");
    if (list == NULL) {
        list = json_array();
        if (list == NULL || json_object_set_new(x, "dropped", list) != 0) {
            nomem(c);
            return;
        }
    }
    size_t i;
    json_t *e;
    json_array_foreach(list, i, e)
    {
        if (strcmp(json_string_value(e), dst) == 0)
            return;
    }
    if (json_array_size(list) < RP_VENDOR_DROPPED_MAX &&
        json_array_append_new(list, json_string(dst)) != 0)
        nomem(c);
}

/* The text of a scalar (a string, a number, or the first element of an array):
 * *s and *n, trimmed, NUL-free; false when there is none or it is a
 * placeholder. num is scratch for numbers. */
static bool scalar(json_t *v, char num[32], const char **s, size_t *n)
{
    if (json_is_array(v))
        v = json_array_get(v, 0);
    if (json_is_string(v)) {
        *s = json_string_value(v);
        *n = strnlen(*s, json_string_length(v));
    } else if (json_is_integer(v)) {
        rp_fmt(num, 32, "%lld", (long long)json_integer_value(v));
        *s = num;
        *n = strlen(num);
    } else if (json_is_real(v)) {
        rp_fmt(num, 32, "%.17g", json_real_value(v));
        *s = num;
        *n = strlen(num);
    } else {
        return false;
    }
    trim(s, n);
    return !placeholder_n(*s, *n);
}

/* n cut to at most max bytes, on a UTF-8 character boundary. */
static size_t utf8_cut(const char *s, size_t n, size_t max)
{
    if (n <= max)
        return n;
    n = max;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
        n--;
    return n;
}

/* A JSON string of s: cut to max bytes; in names, control characters become a
 * space (tab, CR, LF) or U+FFFD. NULL when it is not valid UTF-8 (never for
 * strings that came from jansson). */
static json_t *clean_string(struct vendor_ctx *c, const char *s, size_t n, size_t max, bool name)
{
    if (!name) {
        return json_stringn(s, utf8_cut(s, n, max));
    }
    buf_reset(&c->tmp);
    rp_status st = buf_append(&c->tmp, "", 0);
    for (size_t i = 0; st == RP_OK && i < n && c->tmp.len <= max; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\t' || ch == '\n' || ch == '\r')
            st = buf_append(&c->tmp, " ", 1);
        else if (ch < 0x20 || ch == 0x7f)
            st = buf_append(&c->tmp, "\xEF\xBF\xBD", 3);
        else
            st = buf_append(&c->tmp, s + i, 1);
    }
    if (st != RP_OK)
        return NULL;
    size_t len = utf8_cut(c->tmp.data, c->tmp.len, max);
    const char *p = c->tmp.data;
    trim(&p, &len);
    return json_stringn(p, len);
}

static void set_string(struct vendor_ctx *c, const char *dst, json_t *v, bool name)
{
    char num[32];
    const char *s;
    size_t n;
    if (c->st != RP_OK || vendor_isset(c, dst) || !scalar(v, num, &s, &n))
        return;
    json_t *nv = clean_string(c, s, n, name ? RP_NAME_MAX_BYTES : RP_FIELD_MAX_BYTES, name);
    if (nv == NULL)
        dropped(c, dst);
    else
        put(c, dst, nv);
}

void vendor_set_name(struct vendor_ctx *c, const char *dst, json_t *v)
{
    set_string(c, dst, v, true);
}

void vendor_set_text(struct vendor_ctx *c, const char *dst, json_t *v)
{
    set_string(c, dst, v, false);
}

void vendor_append_name(struct vendor_ctx *c, const char *dst, json_t *v)
{
    char num[32];
    const char *s;
    size_t n;
    if (c->st != RP_OK || !scalar(v, num, &s, &n))
        return;
    char leaf[64];
    json_t *o = parent_of(c, dst, leaf, sizeof(leaf), true);
    if (o == NULL)
        return;
    json_t *list = json_object_get(o, leaf);
    if (list == NULL) {
        list = json_array();
        if (list == NULL || json_object_set_new(o, leaf, list) != 0) {
            nomem(c);
            return;
        }
    }
    if (!json_is_array(list) || json_array_size(list) >= RP_VENDOR_LIST_MAX)
        return;
    json_t *nv = clean_string(c, s, n, RP_NAME_MAX_BYTES, true);
    if (nv == NULL) {
        dropped(c, dst);
        return;
    }
    if (json_array_append_new(list, nv) != 0)
        nomem(c);
}

void vendor_set_cstr(struct vendor_ctx *c, const char *dst, const char *s)
{
    if (s == NULL)
        return;
    json_t *v = json_string(s);
    if (v == NULL) {
        nomem(c);
        return;
    }
    set_string(c, dst, v, true);
    json_decref(v);
}

/* The canonical form of s as t into c->tmp; *actual the type found. */
static bool canonical(struct vendor_ctx *c, enum obs_type t, const char *s, size_t n,
                      enum obs_type *actual)
{
    struct rp_error ignored;
    rp_status st = observable_canonical(t, s, n, &c->tmp, actual, &ignored);
    if (st == RP_E_NOMEM)
        nomem(c);
    return st == RP_OK;
}

void vendor_set_ip(struct vendor_ctx *c, const char *dst, json_t *v)
{
    char num[32];
    const char *s;
    size_t n;
    if (c->st != RP_OK || vendor_isset(c, dst) || !scalar(v, num, &s, &n))
        return;
    const char *pct = memchr(s, '%', n); /* an IPv6 zone ("fe80::1%eth0") */
    if (pct != NULL)
        n = (size_t)(pct - s);
    if (!canonical(c, OBS_IPV4, s, n, NULL)) {
        dropped(c, dst);
        return;
    }
    if (strcmp(c->tmp.data, "0.0.0.0") == 0 || strcmp(c->tmp.data, "::") == 0)
        return;
    put(c, dst, json_stringn(c->tmp.data, c->tmp.len));
}

void vendor_set_email(struct vendor_ctx *c, const char *dst, json_t *v)
{
    char num[32];
    const char *s;
    size_t n;
    if (c->st != RP_OK || vendor_isset(c, dst) || !scalar(v, num, &s, &n))
        return;
    if (!canonical(c, OBS_EMAIL, s, n, NULL)) {
        dropped(c, dst);
        return;
    }
    put(c, dst, json_stringn(c->tmp.data, c->tmp.len));
}

static bool all_zero(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != '0')
            return false;
    return true;
}

void vendor_set_hash(struct vendor_ctx *c, const char *dst, enum obs_type t, json_t *v)
{
    char num[32];
    const char *s;
    size_t n;
    if (c->st != RP_OK || vendor_isset(c, dst) || !scalar(v, num, &s, &n) || all_zero(s, n))
        return;
    if (!canonical(c, t, s, n, NULL)) {
        dropped(c, dst);
        return;
    }
    put(c, dst, json_stringn(c->tmp.data, c->tmp.len));
}

void vendor_set_anyhash(struct vendor_ctx *c, const char *dst_prefix, json_t *v)
{
    char num[32];
    const char *s;
    size_t n;
    if (c->st != RP_OK || !scalar(v, num, &s, &n))
        return;
    char dst[64];
    enum obs_type t = n == 32 ? OBS_MD5 : n == 40 ? OBS_SHA1 : OBS_SHA256;
    rp_fmt(dst, sizeof(dst), "%s%s", dst_prefix, observable_type_name(t));
    vendor_set_hash(c, dst, t, v);
}

void vendor_set_int(struct vendor_ctx *c, const char *dst, json_t *v, long long min, long long max)
{
    long long x;
    if (c->st != RP_OK || v == NULL || json_is_null(v) || vendor_isset(c, dst))
        return;
    if (json_is_string(v) && vendor_placeholder(json_string_value(v)))
        return;
    if (!vendor_int(v, &x) || x < min || x > max) {
        dropped(c, dst);
        return;
    }
    put(c, dst, json_integer(x));
}

void vendor_set_port(struct vendor_ctx *c, const char *dst, json_t *v)
{
    long long x;
    if (vendor_int(v, &x) && x == 0)
        return; /* "no port" in Windows and CEF-style sources */
    vendor_set_int(c, dst, v, 1, 65535);
}

void vendor_set_host(struct vendor_ctx *c, json_t *v)
{
    char num[32];
    const char *s;
    size_t n;
    if (c->st != RP_OK || vendor_isset(c, "host.name") || !scalar(v, num, &s, &n))
        return;
    struct rp_error ignored;
    bool v6;
    rp_status st = observable_ip(s, n, &c->tmp, &v6, &ignored);
    if (st == RP_OK) {
        vendor_set_ip(c, "host.ip", v);
        return;
    }
    const char *bs = memchr(s, '\\', n);
    while (bs != NULL) { /* DOMAIN\HOST */
        n -= (size_t)(bs + 1 - s);
        s = bs + 1;
        bs = memchr(s, '\\', n);
    }
    if (n == 0)
        return;
    if (!canonical(c, OBS_HOSTNAME, s, n, NULL) || c->tmp.len > RP_NAME_MAX_BYTES) {
        dropped(c, "host.name");
        return;
    }
    put(c, "host.name", json_stringn(c->tmp.data, c->tmp.len));
}

void vendor_set_user(struct vendor_ctx *c, json_t *v)
{
    char num[32];
    const char *s;
    size_t n;
    if (c->st != RP_OK || vendor_isset(c, "user.name") || !scalar(v, num, &s, &n))
        return;
    const char *bs = memchr(s, '\\', n);
    if (bs != NULL && bs > s && bs + 1 < s + n) {
        json_t *dom = json_stringn(s, (size_t)(bs - s));
        if (dom == NULL) {
            nomem(c);
            return;
        }
        vendor_set_name(c, "user.domain", dom);
        json_decref(dom);
        n -= (size_t)(bs + 1 - s);
        s = bs + 1;
    }
    json_t *name = json_stringn(s, n);
    if (name == NULL) {
        nomem(c);
        return;
    }
    vendor_set_name(c, "user.name", name);
    if (memchr(s, '@', n) != NULL) {
        enum obs_type t;
        if (canonical(c, OBS_EMAIL, s, n, &t))
            vendor_set_email(c, "user.email", name);
    }
    json_decref(name);
}

void vendor_set_path(struct vendor_ctx *c, const char *prefix, json_t *v)
{
    char num[32];
    const char *s;
    size_t n;
    if (c->st != RP_OK || !scalar(v, num, &s, &n))
        return;
    char dst[64];
    bool parent = strcmp(prefix, "process.parent.") == 0;
    if (!parent) {
        rp_fmt(dst, sizeof(dst), "%spath", prefix);
        vendor_set_text(c, dst, v);
    }
    json_t *full = json_stringn(s, n);
    if (full == NULL) {
        nomem(c);
        return;
    }
    const char *base = vendor_basename(json_string_value(full));
    rp_fmt(dst, sizeof(dst), "%sname", prefix);
    if (*base != '\0')
        vendor_set_cstr(c, dst, base);
    json_decref(full);
}

void vendor_set_dir_name(struct vendor_ctx *c, const char *prefix, json_t *dir, json_t *name)
{
    char dst[64];
    rp_fmt(dst, sizeof(dst), "%sname", prefix);
    vendor_set_name(c, dst, name);
    rp_fmt(dst, sizeof(dst), "%spath", prefix);
    const char *p = json_string_value(dir);
    const char *n = json_string_value(name);
    if (c->st != RP_OK || vendor_isset(c, dst) || vendor_placeholder(p))
        return;
    size_t pl = strlen(p), nl = n ? strlen(n) : 0;
    /* dir already ends with the name, at a path separator */
    bool ends = nl > 0 && pl >= nl && strcasecmp(p + pl - nl, n) == 0 &&
                (pl == nl || p[pl - nl - 1] == '\\' || p[pl - nl - 1] == '/');
    if (vendor_placeholder(n) || ends) {
        if (!vendor_placeholder(n))
            vendor_set_text(c, dst, dir);
        return;
    }
    if (pl + nl + 2 > RP_FIELD_MAX_BYTES)
        return;
    bool has_sep = p[pl - 1] == '/' || p[pl - 1] == '\\';
    const char *sep = has_sep ? "" : strchr(p, '\\') != NULL ? "\\" : "/";
    json_t *full = json_sprintf("%s%s%s", p, sep, n);
    if (full == NULL) {
        nomem(c);
        return;
    }
    vendor_set_text(c, dst, full);
    json_decref(full);
}

void vendor_set_geo(struct vendor_ctx *c, json_t *city, json_t *region, json_t *country,
                    json_t *country_code, json_t *lat, json_t *lon)
{
    if (c->st != RP_OK || vendor_isset(c, "src.geo"))
        return;
    json_t *const vals[] = {city, region, country, country_code};
    static const char *const keys[] = {"city", "region", "country", "country_code"};
    json_t *geo = json_object();
    if (geo == NULL) {
        nomem(c);
        return;
    }
    for (size_t i = 0; i < 4; i++) {
        char num[32];
        const char *s;
        size_t n;
        if (!scalar(vals[i], num, &s, &n) || json_is_number(vals[i]))
            continue;
        json_t *nv = clean_string(c, s, n, RP_NAME_MAX_BYTES, true);
        if (nv != NULL && json_object_set_new(geo, keys[i], nv) != 0)
            nomem(c);
    }
    double la = 0, lo = 0;
    bool have = false;
    if (json_is_number(lat) && json_is_number(lon)) {
        la = json_number_value(lat);
        lo = json_number_value(lon);
        have = la >= -90 && la <= 90 && lo >= -180 && lo <= 180;
    }
    /* the vendor's own numbers, so that 11.111 stays 11.111 */
    if (have && (json_object_set(geo, "lat", lat) != 0 || json_object_set(geo, "lon", lon) != 0))
        nomem(c);
    if (json_object_size(geo) == 0) {
        json_decref(geo);
        return;
    }
    put(c, "src.geo", geo);
}

void vendor_set_time(struct vendor_ctx *c, json_t *v)
{
    int64_t ms;
    if (c->st != RP_OK || v == NULL || json_is_null(v) || vendor_isset(c, "event_time"))
        return;
    if (json_is_string(v) && vendor_placeholder(json_string_value(v)))
        return;
    if (!vendor_time_ms(v, &ms)) {
        dropped(c, "event_time");
        return;
    }
    char ts[TIME_RFC3339_LEN];
    time_format_rfc3339(ms, ts);
    put(c, "event_time", json_string(ts));
}

void vendor_set_severity(struct vendor_ctx *c, int sev)
{
    if (c->st != RP_OK || sev < 0 || vendor_isset(c, "severity"))
        return;
    put(c, "severity", json_integer(sev > 100 ? 100 : sev));
}

void vendor_raise_severity(struct vendor_ctx *c, int sev)
{
    json_t *cur = json_object_get(c->alert, "severity");
    if (c->st != RP_OK || (cur != NULL && json_integer_value(cur) >= sev))
        return;
    if (json_object_set_new(c->alert, "severity", json_integer(sev > 100 ? 100 : sev)) != 0)
        nomem(c);
}

int vendor_severity_label(const char *label)
{
    static const struct {
        const char *label;
        int sev;
    } L[] = {
        {"informational", 10}, {"info", 10},     {"information", 10}, {"low", 30},
        {"medium", 50},        {"moderate", 50}, {"high", 70},        {"critical", 90},
    };
    if (label == NULL)
        return -1;
    for (size_t i = 0; i < sizeof(L) / sizeof(L[0]); i++)
        if (strcasecmp(label, L[i].label) == 0)
            return L[i].sev;
    return -1;
}

void vendor_set_kind(struct vendor_ctx *c, const char *kind)
{
    if (c->st == RP_OK && json_object_set_new(c->alert, "kind", json_string(kind)) != 0)
        nomem(c);
}

/* A bounded copy of a scalar for extra: NULL when it is none. Only the
 * placeholders that never carry meaning are skipped here: "NONE" and
 * "UNKNOWN" are values of some vendors' enumerations. */
static json_t *extra_scalar(json_t *v)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = strnlen(s, json_string_length(v));
        const char *t = s;
        size_t tn = n;
        trim(&t, &tn);
        if (tn == 0 || (tn == 1 && *t == '-') || (tn == 3 && strncasecmp(t, "n/a", 3) == 0) ||
            (tn == 4 && strncasecmp(t, "null", 4) == 0))
            return NULL;
        return json_stringn(s, utf8_cut(s, n, RP_VENDOR_EXTRA_STRING_MAX));
    }
    if (json_is_number(v) || json_is_boolean(v))
        return json_incref(v);
    return NULL;
}

void vendor_extra(struct vendor_ctx *c, const char *key, json_t *v)
{
    if (c->st != RP_OK || v == NULL || json_is_null(v))
        return;
    json_t *x = extra_obj(c);
    if (x == NULL || json_object_get(x, key) != NULL ||
        json_object_size(x) >= RP_VENDOR_EXTRA_KEYS_MAX)
        return;
    json_t *nv = NULL;
    if (json_is_array(v)) {
        nv = json_array();
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e)
        {
            if (nv == NULL || json_array_size(nv) >= RP_VENDOR_EXTRA_ARRAY_MAX)
                break;
            json_t *ne = extra_scalar(e);
            if (ne != NULL && json_array_append_new(nv, ne) != 0)
                nomem(c);
        }
    } else if (json_is_object(v)) {
        nv = json_object();
        const char *k;
        json_t *e;
        json_object_foreach(v, k, e)
        {
            if (nv == NULL || json_object_size(nv) >= RP_VENDOR_EXTRA_ARRAY_MAX)
                break;
            json_t *ne = extra_scalar(e);
            if (ne != NULL && json_object_set_new(nv, k, ne) != 0)
                nomem(c);
        }
    } else {
        nv = extra_scalar(v);
        if (nv == NULL)
            return; /* a placeholder, or nothing of a kind we keep */
    }
    if (nv == NULL) {
        nomem(c);
        return;
    }
    if ((json_is_array(nv) && json_array_size(nv) == 0) ||
        (json_is_object(nv) && json_object_size(nv) == 0)) {
        json_decref(nv);
        return;
    }
    if (json_object_set_new(x, key, nv) != 0)
        nomem(c);
}

void vendor_observable(struct vendor_ctx *c, enum obs_type t, json_t *v)
{
    char num[32];
    const char *s;
    size_t n;
    enum obs_type actual;
    if (c->st != RP_OK || !scalar(v, num, &s, &n) || !canonical(c, t, s, n, &actual))
        return;
    if ((actual == OBS_IPV4 && strcmp(c->tmp.data, "0.0.0.0") == 0) ||
        ((t == OBS_MD5 || t == OBS_SHA1 || t == OBS_SHA256) && all_zero(s, n)))
        return;
    if (c->observables == NULL) {
        c->observables = json_array();
        if (c->observables == NULL ||
            json_object_set_new(c->alert, "observables", c->observables) != 0) {
            c->observables = NULL;
            nomem(c);
            return;
        }
    }
    const char *type = observable_type_name(actual);
    size_t i;
    json_t *o;
    json_array_foreach(c->observables, i, o)
    {
        if (strcmp(json_string_value(json_object_get(o, "type")), type) == 0 &&
            strcmp(json_string_value(json_object_get(o, "value")), c->tmp.data) == 0)
            return;
    }
    if (json_array_size(c->observables) >= RP_VENDOR_OBSERVABLES_MAX)
        return;
    json_t *ob = json_pack("{s:s, s:s%, s:s}", "type", type, "value", c->tmp.data, c->tmp.len,
                           "role", "related");
    if (ob == NULL || json_array_append_new(c->observables, ob) != 0)
        nomem(c);
}

rp_status vendor_fail(struct vendor_ctx *c, const char *field, const char *fmt, ...)
{
    char what[RP_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return rp_error_set(c->err, RP_E_INVALID, "%s: %s: %s", c->vendor, field, what);
}

rp_status vendor_done(struct vendor_ctx *c, const char *what)
{
    if (c->st != RP_OK)
        return c->st;
    /* a domain alone names nobody (a host's domain read where no user was) */
    json_t *user = json_object_get(c->alert, "user");
    if (json_object_size(user) == 1 && json_object_get(user, "domain") != NULL)
        json_object_del(c->alert, "user");
    if (!vendor_isset(c, "title") && !vendor_isset(c, "rule"))
        return vendor_fail(c, what, "required: the alert has no title or rule without it");
    return RP_OK;
}

rp_status vendor_run(const struct vendor_def *def, json_t *doc, json_t *raw, json_t **alert,
                     struct rp_error *err)
{
    struct vendor_ctx c;
    memset(&c, 0, sizeof(c));
    c.vendor = def->name;
    c.doc = doc;
    c.err = err;
    buf_init(&c.tmp, RP_FIELD_MAX_BYTES + 8);
    *alert = NULL;
    c.alert = json_object();
    rp_status st = RP_OK;
    if (c.alert == NULL) {
        json_decref(raw);
        st = RP_E_NOMEM;
    } else if (json_object_set_new(c.alert, "raw", raw) != 0 || /* stolen even on failure */
               json_object_set_new(c.alert, "source", json_string(def->name)) != 0) {
        st = RP_E_NOMEM;
    }
    if (st == RP_OK)
        st = def->map(&c);
    if (st == RP_OK && c.st != RP_OK)
        st = c.st;
    buf_fini(&c.tmp);
    if (st != RP_OK) {
        if (st == RP_E_NOMEM)
            rp_error_set(err, st, "%s: out of memory", def->name);
        json_decref(c.alert);
        return st;
    }
    *alert = c.alert;
    return RP_OK;
}

/* --- the entry points ------------------------------------------------------------ */

rp_status vendor_normalize(json_t *doc, json_t **alert, const char **vendor, struct rp_error *err)
{
    *alert = NULL;
    if (json_is_object(doc)) {
        for (size_t i = 0; i < NVENDORS; i++) {
            if (!VENDORS[i]->detect(doc))
                continue;
            if (vendor != NULL)
                *vendor = VENDORS[i]->name;
            return vendor_run(VENDORS[i], doc, json_incref(doc), alert, err);
        }
    }
    return rp_error_set(err, RP_E_NOTFOUND, "no vendor recognised");
}

rp_status vendor_normalize_as(const char *vendor, json_t *doc, json_t **alert, struct rp_error *err)
{
    *alert = NULL;
    for (size_t i = 0; i < NVENDORS; i++) {
        const struct vendor_def *d = VENDORS[i];
        if (strcasecmp(vendor, d->name) != 0)
            continue;
        if (!json_is_object(doc))
            return rp_error_set(err, RP_E_INVALID, "%s: the document must be a JSON object",
                                d->name);
        if (!d->detect(doc))
            return rp_error_set(err, RP_E_INVALID, "%s: not a %s document (looked for %s)", d->name,
                                d->name, d->keys);
        return vendor_run(d, doc, json_incref(doc), alert, err);
    }
    return rp_error_set(err, RP_E_NOTFOUND,
                        "unknown vendor \"%s\" (crowdstrike, carbonblack, cylance, defender, "
                        "msgraph, splunk, elastic, okta, azuread, windows)",
                        vendor);
}

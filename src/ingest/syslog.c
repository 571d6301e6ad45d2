/*
 * syslog.c: syslog lines, RFC 3164 (BSD) and RFC 5424, cut into header and
 * MSG; the MSG handed to the parser of what it carries (CEF, LEEF, sshd/PAM
 * auth lines, CylancePROTECT events); and the helpers all line parsers share
 * (lines.h): UTF-8 repair, fields that take a value only when it fits, times;
 * and those of the key=value formats CEF and LEEF (fields_internal.h).
 *
 * Times: an RFC 3164 time has neither year nor zone. It is read in the local
 * time zone of the process (TZ), as rsyslog and syslog-ng do, and in the current
 * year, or in the previous one when the current would put it more than
 * RP_EVENT_TIME_MAX_FUTURE_MS ahead of now (a December line read in January).
 * The zone's offsets are cached per thread in 15-minute buckets, so a line costs
 * no localtime_r() call in the common case.
 *
 * Runs on any thread (the CLI's, the HTTP threads', the syslog listener's); no
 * state but that per-thread cache; owns nothing beyond a call. A line that is
 * not syslog is RP_E_INVALID with its byte offset; a syslog message of no known
 * kind is RP_E_NOTFOUND (counted as ignored by the caller).
 */
#include "ingest/syslog.h"

#include "core/limits.h"
#include "core/time.h"
#include "ingest/fields_internal.h"
#include "ingest/lines.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* --- bytes ---------------------------------------------------------------------- */

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static char lower_c(char c)
{
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static bool is_alnum(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static void trim(const char **s, size_t *n)
{
    while (*n > 0 && is_space(**s)) {
        (*s)++;
        (*n)--;
    }
    while (*n > 0 && is_space((*s)[*n - 1]))
        (*n)--;
}

static bool has_ctl(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return true;
    }
    return false;
}

bool lines_ieq(const char *s, size_t n, const char *word)
{
    size_t i = 0;
    for (; i < n; i++)
        if (word[i] == '\0' || lower_c(s[i]) != word[i])
            return false;
    return word[i] == '\0';
}

bool lines_icontains(const char *s, size_t n, const char *needle)
{
    size_t m = strlen(needle);
    if (m == 0)
        return true;
    for (size_t i = 0; i + m <= n; i++) {
        if (lower_c(s[i]) != needle[0])
            continue;
        size_t k = 1;
        while (k < m && lower_c(s[i + k]) == needle[k])
            k++;
        if (k == m)
            return true;
    }
    return false;
}

/* --- UTF-8 ---------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at s (n >= 1 bytes left), 0 when invalid:
 * the same rules as jansson's (no overlong forms, no surrogates, <= U+10FFFF). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    if (c < 0x80)
        return 1;
    if (c < 0xC2)
        return 0;
    if (c < 0xE0)
        return (n >= 2 && (s[1] & 0xC0) == 0x80) ? 2 : 0;
    if (c < 0xF0) {
        if (n < 3 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xE0 && s[1] < 0xA0) || (c == 0xED && s[1] >= 0xA0))
            return 0;
        return 3;
    }
    if (c < 0xF5) {
        if (n < 4 || (s[1] & 0xC0) != 0x80 || (s[2] & 0xC0) != 0x80 || (s[3] & 0xC0) != 0x80)
            return 0;
        if ((c == 0xF0 && s[1] < 0x90) || (c == 0xF4 && s[1] >= 0x90))
            return 0;
        return 4;
    }
    return 0;
}

/* Offset of the first invalid byte, or n when s is valid UTF-8. ASCII runs are
 * checked eight bytes at a time: lines are mostly ASCII. */
static size_t utf8_invalid_at(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        while (i + 8 <= n) {
            uint64_t w;
            memcpy(&w, p + i, 8);
            if (w & 0x8080808080808080ULL)
                break;
            i += 8;
        }
        if (i >= n)
            break;
        if (p[i] < 0x80) {
            i++;
            continue;
        }
        size_t k = utf8_seq(p + i, n - i);
        if (k == 0)
            return i;
        i += k;
    }
    return n;
}

rp_status lines_prepare(const char *data, size_t len, const char **line, size_t *n, char **owned,
                        struct rp_error *err)
{
    *owned = NULL;
    *line = data;
    *n = 0;
    while (len > 0 && (data[len - 1] == '\n' || data[len - 1] == '\r'))
        len--;
    if (len > RP_INGEST_LINE_MAX)
        return rp_error_set(err, RP_E_INVALID, "line of %zu bytes is longer than the limit (%u)",
                            len, RP_INGEST_LINE_MAX);
    size_t bad = utf8_invalid_at(data, len);
    if (bad == len) {
        *n = len;
        return RP_OK;
    }
    /* Repair: every byte that does not start a valid sequence becomes U+FFFD. */
    char *c = malloc(len * 3 + 1);
    if (c == NULL)
        return RP_E_NOMEM;
    memcpy(c, data, bad);
    size_t o = bad;
    const unsigned char *p = (const unsigned char *)data;
    for (size_t i = bad; i < len;) {
        size_t k = utf8_seq(p + i, len - i);
        if (k == 0) {
            memcpy(c + o, "\xEF\xBF\xBD", 3);
            o += 3;
            i++;
        } else {
            memcpy(c + o, p + i, k);
            o += k;
            i += k;
        }
    }
    c[o] = '\0';
    *owned = c;
    *line = c;
    *n = o;
    return RP_OK;
}

rp_status fields_parse_line(const char *data, size_t len, fields_line_fn fn, const void *arg,
                            json_t **out, struct rp_error *err)
{
    *out = NULL;
    const char *line;
    size_t n;
    char *owned;
    rp_status st = lines_prepare(data, len, &line, &n, &owned, err);
    if (st != RP_OK)
        return st;
    st = fn(line, n, arg, out, err);
    free(owned);
    return st;
}

/* --- JSON fields that take only values that fit -------------------------------- */

json_t *lines_str(const char *s, size_t n)
{
    return json_stringn_nocheck(n ? s : "", n);
}

json_t *lines_child(json_t *obj, const char *key)
{
    json_t *c = json_object_get(obj, key);
    if (json_is_object(c))
        return c;
    c = json_object();
    if (c == NULL || json_object_set_new_nocheck(obj, key, c) != 0)
        return NULL;
    return c;
}

/* parent.obj.key (or parent.key) = v, v consumed. */
static rp_status put(json_t *parent, const char *obj, const char *key, json_t *v)
{
    if (v == NULL)
        return RP_E_NOMEM;
    json_t *t = parent;
    if (obj != NULL && (t = lines_child(parent, obj)) == NULL) {
        json_decref(v);
        return RP_E_NOMEM;
    }
    return json_object_set_new_nocheck(t, key, v) ? RP_E_NOMEM : RP_OK;
}

static rp_status to_extra(json_t *extra, const char *xkey, const char *s, size_t n)
{
    if (extra == NULL || xkey == NULL)
        return RP_OK;
    return put(extra, NULL, xkey, lines_str(s, n));
}

static bool is_ip(const char *s, size_t n)
{
    char tmp[64];
    unsigned char a[16];
    if (n == 0 || n >= 54) /* observable_ip's own bound */
        return false;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    return inet_pton(AF_INET, tmp, a) == 1 || inet_pton(AF_INET6, tmp, a) == 1;
}

static bool is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = lower_c(s[i]);
        if (!is_digit(c) && !(c >= 'a' && c <= 'f'))
            return false;
    }
    return true;
}

/* A URL as the model's canon_url() checks it, for text that no refang rule
 * touches: 1 good, 0 bad, -1 when it holds a defang (then the model decides). */
static int url_fast(const char *u, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = u[i];
        if (c == '[' || c == '(' || c == '{')
            return -1;
        if (c == ' ')
            return 0;
        if ((c == 'x' || c == 'X') && i > 0 && (u[i - 1] == 'x' || u[i - 1] == 'X'))
            return -1; /* "hxxp" */
    }
    if (n == 0 || !((u[0] | 0x20) >= 'a' && (u[0] | 0x20) <= 'z'))
        return 0;
    size_t i = 0;
    while (i < n && (is_alnum(u[i]) || u[i] == '+' || u[i] == '-' || u[i] == '.'))
        i++;
    if (i + 3 > n || memcmp(u + i, "://", 3) != 0)
        return 0;
    size_t auth = i + 3, end = auth;
    while (end < n && u[end] != '/' && u[end] != '?' && u[end] != '#')
        end++;
    size_t host = auth;
    for (size_t k = auth; k < end; k++)
        if (u[k] == '@')
            host = k + 1;
    const char *colon = memchr(u + host, ':', end - host);
    size_t host_end = colon ? (size_t)(colon - u) : end;
    if (host_end <= host)
        return 0;
    for (size_t k = host_end + 1; k < end; k++)
        if (!is_digit(u[k]))
            return 0;
    return 1;
}

/* Whether alert_normalize() will take s (trimmed, non-empty) as a t. The common
 * types are checked here without allocating; the others ask the model. */
static bool fits_typed(enum obs_type t, const char *s, size_t n)
{
    if (n == 0 || n > RP_NAME_MAX_BYTES || has_ctl(s, n))
        return false;
    switch (t) {
    case OBS_IPV4:
    case OBS_IPV6:
        return is_ip(s, n);
    case OBS_HOSTNAME:
        for (size_t i = 0; i < n; i++)
            if (strchr(" /\\:*?\"<>|", s[i]) != NULL)
                return false;
        return true;
    case OBS_MD5:
        return n == 32 && is_hex(s, n);
    case OBS_SHA1:
        return n == 40 && is_hex(s, n);
    case OBS_SHA256:
        return n == 64 && is_hex(s, n);
    case OBS_FILENAME:
    case OBS_USER:
        return true;
    case OBS_URL: {
        int f = url_fast(s, n);
        if (f >= 0)
            return f == 1;
    }
        /* fall through */
    default: {
        struct buf b;
        buf_init(&b, RP_FIELD_MAX_BYTES);
        bool ok = observable_canonical(t, s, n, &b, NULL, NULL) == RP_OK;
        buf_fini(&b);
        return ok;
    }
    }
}

bool lines_fits_name(const char *s, size_t n)
{
    trim(&s, &n);
    return n > 0 && n <= RP_NAME_MAX_BYTES && !has_ctl(s, n);
}

bool lines_fits_typed(enum obs_type t, const char *s, size_t n)
{
    trim(&s, &n);
    return fits_typed(t, s, n);
}

void lines_trim(const char **s, size_t *n)
{
    trim(s, n);
}

size_t lines_clean(const char *s, size_t n, char *out, size_t cap)
{
    trim(&s, &n);
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        unsigned char c = (unsigned char)s[i];
        out[o++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    /* a cut may split a UTF-8 sequence: drop the partial tail */
    if (o == cap - 1 && o < n) {
        size_t k = o;
        while (k > 0 && ((unsigned char)out[k - 1] & 0xC0) == 0x80)
            k--;
        if (k > 0 && (unsigned char)out[k - 1] >= 0xC0)
            o = k - 1;
    }
    while (o > 0 && out[o - 1] == ' ')
        o--;
    out[o] = '\0';
    return o;
}

rp_status lines_name(json_t *parent, const char *obj, const char *key, const char *s, size_t n,
                     json_t *extra, const char *xkey)
{
    trim(&s, &n);
    if (n == 0)
        return RP_OK;
    if (n <= RP_NAME_MAX_BYTES && !has_ctl(s, n))
        return put(parent, obj, key, lines_str(s, n));
    return to_extra(extra, xkey, s, n);
}

rp_status lines_text(json_t *parent, const char *obj, const char *key, const char *s, size_t n,
                     json_t *extra, const char *xkey)
{
    trim(&s, &n);
    if (n == 0)
        return RP_OK;
    if (n <= RP_FIELD_MAX_BYTES)
        return put(parent, obj, key, lines_str(s, n));
    return to_extra(extra, xkey, s, n);
}

rp_status lines_typed(json_t *parent, const char *obj, const char *key, enum obs_type t,
                      const char *s, size_t n, json_t *extra, const char *xkey)
{
    trim(&s, &n);
    if (n == 0)
        return RP_OK;
    if (fits_typed(t, s, n))
        return put(parent, obj, key, lines_str(s, n));
    return to_extra(extra, xkey, s, n);
}

/* An unsigned decimal of at most 18 digits in 0..max (alert_normalize's rule
 * for integers given as strings). */
static bool parse_uint(const char *s, size_t n, int64_t max, int64_t *out)
{
    trim(&s, &n);
    if (n == 0 || n > 18)
        return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

bool lines_parse_uint(const char *s, size_t n, int64_t max, int64_t *out)
{
    return parse_uint(s, n, max, out);
}

rp_status lines_uint(json_t *parent, const char *obj, const char *key, const char *s, size_t n,
                     int64_t max, json_t *extra, const char *xkey)
{
    trim(&s, &n);
    if (n == 0)
        return RP_OK;
    int64_t v;
    if (parse_uint(s, n, max, &v))
        return put(parent, obj, key, json_integer(v));
    return to_extra(extra, xkey, s, n);
}

rp_status lines_hash(json_t *alert, const char *obj, const char *s, size_t n, json_t *extra,
                     const char *xkey)
{
    trim(&s, &n);
    if (n == 0)
        return RP_OK;
    const char *key = n == 32 ? "md5" : n == 40 ? "sha1" : n == 64 ? "sha256" : NULL;
    if (key != NULL && is_hex(s, n))
        return put(alert, obj, key, lines_str(s, n));
    return to_extra(extra, xkey, s, n);
}

rp_status lines_observable(json_t *alert, enum obs_type t, const char *s, size_t n,
                           const char *role)
{
    trim(&s, &n);
    if (!fits_typed(t, s, n))
        return RP_OK;
    const char *type = observable_type_name(t);
    if (t == OBS_IPV4 || t == OBS_IPV6)
        type = memchr(s, ':', n) ? "ipv6" : "ipv4";
    json_t *list = json_object_get(alert, "observables");
    if (list == NULL) {
        list = json_array();
        if (list == NULL || json_object_set_new_nocheck(alert, "observables", list) != 0)
            return RP_E_NOMEM;
    }
    json_t *o = json_object();
    if (o == NULL || json_array_append_new(list, o) != 0)
        return RP_E_NOMEM;
    if (json_object_set_new_nocheck(o, "type", json_string_nocheck(type)) ||
        json_object_set_new_nocheck(o, "value", lines_str(s, n)) ||
        json_object_set_new_nocheck(o, "role", json_string_nocheck(role)))
        return RP_E_NOMEM;
    return RP_OK;
}

/* --- times ------------------------------------------------------------------------ */

/* 9999-12-31T23:59:59.999Z: the last time RFC 3339 text (and the model) takes. */
#define LINES_MS_MAX 253402300799999LL

bool lines_set_time(json_t *alert, int64_t ms)
{
    if (ms < 0 || ms > LINES_MS_MAX)
        return false;
    char ts[TIME_RFC3339_LEN];
    time_format_rfc3339(ms, ts);
    return json_object_set_new_nocheck(alert, "event_time", json_string_nocheck(ts)) == 0;
}

static int year_from_days(int64_t z)
{
    int64_t y;
    unsigned m, d;
    time_civil_from_days(z, &y, &m, &d);
    return (int)y;
}

/* Seconds of a wall-clock time read as if it were UTC; false when out of range. */
static bool wall_seconds(int y, int mo, int d, int h, int mi, int s, int64_t *out)
{
    if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > time_days_in_month(y, mo) ||
        h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60)
        return false;
    *out = time_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + s;
    return true;
}

/* The local zone's offset (seconds east of UTC) at UTC instant t, from a small
 * per-thread cache of 15-minute buckets (zone changes fall on quarter hours). */
#define TZ_CACHE_SLOTS 64
static _Thread_local struct {
    int64_t key;
    long off;
    bool valid;
} tz_cache[TZ_CACHE_SLOTS];

static long utc_offset_at(int64_t t)
{
    int64_t key = t >= 0 ? t / 900 : (t - 899) / 900;
    unsigned slot = (unsigned)(key & (TZ_CACHE_SLOTS - 1));
    if (tz_cache[slot].valid && tz_cache[slot].key == key)
        return tz_cache[slot].off;
    time_t tt = (time_t)t;
    struct tm tm;
    long off = 0;
    if (localtime_r(&tt, &tm) != NULL)
        off = tm.tm_gmtoff;
    tz_cache[slot].key = key;
    tz_cache[slot].off = off;
    tz_cache[slot].valid = true;
    return off;
}

bool lines_utc_ms(int year, int mon, int day, int hour, int min, int sec, int msec, long offset_s,
                  int64_t *out)
{
    int64_t w;
    if (msec < 0 || msec > 999 || !wall_seconds(year, mon, day, hour, min, sec, &w))
        return false;
    *out = (w - offset_s) * 1000 + msec;
    return true;
}

bool lines_local_ms(int year, int mon, int day, int hour, int min, int sec, int msec, int64_t *out)
{
    int64_t w;
    if (msec < 0 || msec > 999 || !wall_seconds(year, mon, day, hour, min, sec, &w))
        return false;
    long off = utc_offset_at(w);
    int64_t t = w - off;
    long off2 = utc_offset_at(t);
    if (off2 != off)
        t = w - off2;
    *out = t * 1000 + msec;
    return true;
}

int lines_month(const char *s, size_t n)
{
    static const char months[] = "janfebmaraprmayjunjulaugsepoctnovdec";
    if (n < 3)
        return 0;
    char a = lower_c(s[0]), b = lower_c(s[1]), c = lower_c(s[2]);
    for (int m = 0; m < 12; m++)
        if (months[m * 3] == a && months[m * 3 + 1] == b && months[m * 3 + 2] == c)
            return m + 1;
    return 0;
}

struct wall {
    int y, mo, d, h, mi, s, ms; /* y 0: no year given */
};

static bool digits2(const char *s, int *out)
{
    if (!is_digit(s[0]) || !is_digit(s[1]))
        return false;
    *out = (s[0] - '0') * 10 + (s[1] - '0');
    return true;
}

/* "HH:mm:ss[.fff...]" at s; bytes consumed or 0. */
static size_t parse_hms(const char *s, size_t n, struct wall *w)
{
    if (n < 8 || s[2] != ':' || s[5] != ':' || !digits2(s, &w->h) || !digits2(s + 3, &w->mi) ||
        !digits2(s + 6, &w->s))
        return 0;
    size_t i = 8;
    w->ms = 0;
    if (i + 1 < n && (s[i] == '.' || s[i] == ',') && is_digit(s[i + 1])) {
        i++;
        int scale = 100;
        size_t nd = 0;
        while (i < n && is_digit(s[i]) && nd < 9) {
            w->ms += (s[i] - '0') * scale;
            scale /= 10;
            i++;
            nd++;
        }
    }
    return i;
}

/* "MMM dd[ yyyy] HH:mm:ss[.fff]" (dd may be " d" or "d"); bytes consumed or 0. */
static size_t parse_bsd(const char *s, size_t n, struct wall *w)
{
    if (n < 14 || s[3] != ' ' || (w->mo = lines_month(s, 3)) == 0)
        return 0;
    size_t i = 4;
    if (s[i] == ' ')
        i++;
    w->d = 0;
    size_t nd = 0;
    while (i < n && is_digit(s[i]) && nd < 2) {
        w->d = w->d * 10 + (s[i] - '0');
        i++;
        nd++;
    }
    if (nd == 0 || i >= n || s[i] != ' ')
        return 0;
    i++;
    w->y = 0;
    if (i + 5 <= n && is_digit(s[i]) && is_digit(s[i + 1]) && is_digit(s[i + 2]) &&
        is_digit(s[i + 3]) && s[i + 4] == ' ') {
        w->y =
            (s[i] - '0') * 1000 + (s[i + 1] - '0') * 100 + (s[i + 2] - '0') * 10 + (s[i + 3] - '0');
        i += 5;
    }
    size_t k = parse_hms(s + i, n - i, w);
    return k ? i + k : 0;
}

/* The local year at now_ms (remembered per thread for the minute). */
static int local_year(int64_t now_ms)
{
    static _Thread_local int64_t minute = -1;
    static _Thread_local int year;
    int64_t t = now_ms / 1000;
    if (t / 60 == minute)
        return year;
    int64_t lt = t + utc_offset_at(t);
    year = year_from_days(lt >= 0 ? lt / 86400 : (lt - 86399) / 86400);
    minute = t / 60;
    return year;
}

/* Milliseconds of a wall time in the local zone (offset NULL) or at *offset;
 * without a year, the current one or the previous when that would be ahead. */
static bool wall_ms(const struct wall *w, int64_t now_ms, const long *offset, int64_t *out)
{
    int y = w->y ? w->y : local_year(now_ms);
    for (int attempt = 0; attempt < 2; attempt++, y--) {
        int64_t ms;
        bool ok = offset ? lines_utc_ms(y, w->mo, w->d, w->h, w->mi, w->s, w->ms, *offset, &ms)
                         : lines_local_ms(y, w->mo, w->d, w->h, w->mi, w->s, w->ms, &ms);
        if (w->y || (ok && ms <= now_ms + RP_EVENT_TIME_MAX_FUTURE_MS)) {
            *out = ms;
            return ok;
        }
        /* Feb 29 of a leap year read in another year, or ahead: try the year before */
    }
    return false;
}

/* A zone after a BSD-style time: UTC, GMT, UT, Z, +HH:MM, +HHMM, +HH, or an
 * abbreviation of the table. */
static bool parse_zone(const char *s, size_t n, long *off)
{
    static const struct {
        const char *name;
        long hours;
    } zones[] = {
        {"utc", 0},  {"gmt", 0},  {"ut", 0},   {"z", 0},    {"est", -5}, {"edt", -4}, {"cst", -6},
        {"cdt", -5}, {"mst", -7}, {"mdt", -6}, {"pst", -8}, {"pdt", -7}, {"cet", 1},  {"cest", 2},
        {"eet", 2},  {"eest", 3}, {"wet", 0},  {"west", 1}, {"jst", 9},
    };
    if (n >= 3 && (s[0] == '+' || s[0] == '-')) {
        int h, m = 0;
        if (!digits2(s + 1, &h))
            return false;
        size_t i = 3;
        if (i < n && s[i] == ':')
            i++;
        if (i < n) {
            if (i + 2 != n || !digits2(s + i, &m))
                return false;
        }
        if (h > 23 || m > 59)
            return false;
        *off = (h * 3600L + m * 60L) * (s[0] == '-' ? -1 : 1);
        return true;
    }
    for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
        if (lines_ieq(s, n, zones[i].name)) {
            *off = zones[i].hours * 3600;
            return true;
        }
    }
    return false;
}

/* "yyyy-MM-dd[T ]HH:mm:ss[.fff]" without a zone; bytes consumed or 0. */
static size_t parse_iso_local(const char *s, size_t n, struct wall *w)
{
    int c, y;
    if (n < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        !digits2(s, &c) || !digits2(s + 2, &y) || !digits2(s + 5, &w->mo) || !digits2(s + 8, &w->d))
        return 0;
    w->y = c * 100 + y;
    size_t k = parse_hms(s + 11, n - 11, w);
    return k ? 11 + k : 0;
}

bool lines_parse_time(const char *s, size_t n, int64_t now_ms, int64_t *out)
{
    trim(&s, &n);
    if (n == 0)
        return false;
    int64_t v;
    if (parse_uint(s, n, LINES_MS_MAX, &v)) {
        *out = v < 100000000000LL ? v * 1000 : v; /* seconds until 5138, else ms */
        return *out <= LINES_MS_MAX;
    }
    struct wall w;
    size_t k = parse_bsd(s, n, &w);
    if (k == 0 && time_parse_rfc3339(s, n, out, NULL) == RP_OK)
        return true;
    if (k == 0)
        k = parse_iso_local(s, n, &w);
    if (k == 0)
        return false;
    const char *z = s + k;
    size_t zn = n - k;
    trim(&z, &zn);
    if (zn == 0)
        return wall_ms(&w, now_ms, NULL, out);
    long off;
    if (!parse_zone(z, zn, &off))
        return false;
    return wall_ms(&w, now_ms, &off, out);
}

/* --- kinds and source names ------------------------------------------------------ */

/* s lower-cased with everything but letters and digits dropped, into out. */
static size_t compact(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++)
        if (is_alnum(s[i]))
            out[o++] = lower_c(s[i]);
    out[o] = '\0';
    return o;
}

/* Whether s has word as a whole token (letters and digits between others). */
static bool has_token(const char *s, size_t n, const char *word)
{
    size_t m = strlen(word);
    for (size_t i = 0; i + m <= n; i++) {
        if ((i > 0 && is_alnum(s[i - 1])) || (i + m < n && is_alnum(s[i + m])))
            continue;
        if (lines_ieq(s + i, m, word))
            return true;
    }
    return false;
}

static bool matches(const char *s, size_t n, const char *const *long_words,
                    const char *const *tokens)
{
    char c[256];
    compact(s, n, c, sizeof(c));
    for (size_t i = 0; long_words[i]; i++)
        if (strstr(c, long_words[i]) != NULL)
            return true;
    for (size_t i = 0; tokens[i]; i++)
        if (has_token(s, n, tokens[i]))
            return true;
    return false;
}

static const char *const NET_WORDS[] = {
    "firewall",   "fortigate",    "fortinet",  "paloalto", "panos",      "checkpoint",
    "firepower",  "sourcefire",   "suricata",  "snort",    "zeek",       "netscreen",
    "sonicwall",  "tippingpoint", "zscaler",   "bigip",    "watchguard", "pfsense",
    "opnsense",   "stormshield",  "barracuda", "imperva",  "meraki",     "juniper",
    "forcepoint", "intrusion",    "netflow",   NULL,
};
static const char *const NET_TOKENS[] = {"ngfw", "fw",  "ids", "ips", "idps",
                                         "asa",  "waf", "utm", "vpn", NULL};
static const char *const EDR_WORDS[] = {
    "crowdstrike",     "carbonblack", "cbdefense",
    "cylance",         "sentinelone", "cybereason",
    "bitdefender",     "kaspersky",   "malwarebytes",
    "trendmicro",      "mcafee",      "trellix",
    "symantec",        "sophos",      "eset",
    "tanium",          "defenderatp", "microsoftdefender",
    "windowsdefender", "endpoint",    "antivirus",
    "antimalware",     NULL,
};
static const char *const EDR_TOKENS[] = {"edr", "xdr", "epp", "av", NULL};
static const char *const AUTH_WORDS[] = {
    "logon",      "logoff",  "login",  "logout",  "log on",  "log off", "log in", "log out",
    "authentica", "sign-in", "signin", "sign in", "sign-on", "signon",  NULL,
};

/* Whether s holds one of the words of AUTH_WORDS, any case. */
static bool auth_words(const char *s, size_t n)
{
    char low[256];
    if (n >= sizeof(low)) {
        for (size_t i = 0; AUTH_WORDS[i]; i++)
            if (lines_icontains(s, n, AUTH_WORDS[i]))
                return true;
        return false;
    }
    for (size_t i = 0; i < n; i++)
        low[i] = s[i] == '\0' ? ' ' : lower_c(s[i]);
    low[n] = '\0';
    /* every word holds one of these: most names hold none */
    if (strstr(low, "log") == NULL && strstr(low, "auth") == NULL && strstr(low, "sign") == NULL)
        return false;
    for (size_t i = 0; AUTH_WORDS[i]; i++)
        if (strstr(low, AUTH_WORDS[i]) != NULL)
            return true;
    return false;
}

/* The kind a vendor and product give, remembered per thread for the last few
 * pairs: a collector forwards a handful of products, line after line. */
#define KIND_CACHE_SLOTS 8
static _Thread_local struct {
    char vendor[48], product[48];
    size_t vn, pn;
    const char *kind;
} kind_cache[KIND_CACHE_SLOTS];
static _Thread_local unsigned kind_cache_next;

static const char *vendor_kind(const char *vendor, size_t vn, const char *product, size_t pn)
{
    bool cacheable = vn < sizeof(kind_cache[0].vendor) && pn < sizeof(kind_cache[0].product);
    for (unsigned i = 0; cacheable && i < KIND_CACHE_SLOTS; i++) {
        if (kind_cache[i].kind != NULL && kind_cache[i].vn == vn && kind_cache[i].pn == pn &&
            memcmp(kind_cache[i].vendor, vendor, vn) == 0 &&
            memcmp(kind_cache[i].product, product, pn) == 0)
            return kind_cache[i].kind;
    }
    const char *k = "other";
    if (matches(product, pn, NET_WORDS, NET_TOKENS))
        k = "network";
    else if (matches(product, pn, EDR_WORDS, EDR_TOKENS))
        k = "endpoint";
    else if (matches(vendor, vn, NET_WORDS, NET_TOKENS))
        k = "network";
    else if (matches(vendor, vn, EDR_WORDS, EDR_TOKENS))
        k = "endpoint";
    if (cacheable) {
        unsigned i = kind_cache_next++ % KIND_CACHE_SLOTS;
        memcpy(kind_cache[i].vendor, vendor, vn);
        memcpy(kind_cache[i].product, product, pn);
        kind_cache[i].vn = vn;
        kind_cache[i].pn = pn;
        kind_cache[i].kind = k;
    }
    return k;
}

const char *lines_kind(const char *vendor, size_t vn, const char *product, size_t pn,
                       const char *name, size_t nn, const char *cat, size_t cn)
{
    if (auth_words(name, nn) || auth_words(cat, cn))
        return "auth";
    return vendor_kind(vendor, vn, product, pn);
}

void lines_rule(const char *vendor, size_t vn, const char *product, size_t pn, const char *id,
                size_t idn, char *out, size_t cap)
{
    size_t o = lines_clean(vendor, vn, out, cap);
    if (o + 1 < cap)
        out[o++] = '/';
    o += lines_clean(product, pn, out + o, cap - o);
    if (o + 1 < cap)
        out[o++] = '/';
    o += lines_clean(id, idn, out + o, cap - o);
    /* cut somewhere: the id alone */
    if (o + 1 >= cap || vn + pn + idn + 2 >= cap)
        lines_clean(id, idn, out, cap);
}

size_t lines_source_name(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    trim(&s, &n);
    for (size_t i = 0; i < n && o < 64 && o + 1 < cap; i++) {
        char c = lower_c(s[i]);
        if (is_alnum(c) || c == '.' || c == '_' || c == '-')
            out[o++] = c;
        else if (o > 0 && out[o - 1] != '-')
            out[o++] = '-';
    }
    while (o > 0 && out[o - 1] == '-')
        o--;
    out[o] = '\0';
    return o;
}

/* --- RFC 5424 structured data ------------------------------------------------------ */

/* SD-NAME characters: printable US-ASCII but '=', ' ', ']' and '"'. */
static bool sd_name_char(char c)
{
    return c > 32 && c < 127 && c != '=' && c != ']' && c != '"';
}

/* A PARAM-VALUE with \" \\ \] undone (other backslashes kept, as RFC 5424 says). */
static json_t *sd_value(const char *s, size_t n, bool esc)
{
    if (!esc)
        return lines_str(s, n);
    char *t = malloc(n + 1);
    if (t == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\\' && i + 1 < n && (s[i + 1] == '"' || s[i + 1] == '\\' || s[i + 1] == ']'))
            i++;
        t[o++] = s[i];
    }
    json_t *v = lines_str(t, o);
    free(t);
    return v;
}

/* Scans structured data at s (n bytes; at byte base of the line, for messages):
 * one or more [SD-ID *(SP PARAM-NAME="PARAM-VALUE")] elements. *end is the
 * offset after the last ']'. With out, builds {"sd-id": {"param": "value"}}
 * (an SD-ID given twice merges; a later parameter wins). */
static rp_status sd_scan(const char *s, size_t n, size_t base, json_t *out, size_t *end,
                         struct rp_error *err)
{
    size_t i = 0;
    int elements = 0;
    if (n == 0 || s[0] != '[')
        return rp_error_set(err, RP_E_INVALID, "byte %zu: structured data must be '-' or '['",
                            base);
    while (i < n && s[i] == '[') {
        if (++elements > RP_SYSLOG_SD_ELEMENTS_MAX)
            return rp_error_set(err, RP_E_INVALID,
                                "byte %zu: more than %d structured data elements", base + i,
                                RP_SYSLOG_SD_ELEMENTS_MAX);
        i++;
        size_t id0 = i;
        while (i < n && sd_name_char(s[i]) && i - id0 <= 32)
            i++;
        if (i == id0 || i - id0 > 32)
            return rp_error_set(err, RP_E_INVALID, "byte %zu: SD-ID must be 1-32 characters",
                                base + id0);
        json_t *el = NULL;
        if (out != NULL) {
            el = json_object_getn(out, s + id0, i - id0);
            if (el == NULL) {
                el = json_object();
                if (el == NULL || json_object_setn_new_nocheck(out, s + id0, i - id0, el) != 0)
                    return RP_E_NOMEM;
            }
        }
        int params = 0;
        while (i < n && s[i] == ' ') {
            i++;
            size_t p0 = i;
            while (i < n && sd_name_char(s[i]) && i - p0 <= 32)
                i++;
            if (i == p0 || i - p0 > 32)
                return rp_error_set(err, RP_E_INVALID,
                                    "byte %zu: PARAM-NAME must be 1-32 characters", base + p0);
            size_t p1 = i;
            if (i >= n || s[i] != '=')
                return rp_error_set(err, RP_E_INVALID, "byte %zu: '=' expected", base + i);
            if (++i >= n || s[i] != '"')
                return rp_error_set(err, RP_E_INVALID, "byte %zu: '\"' expected", base + i);
            size_t v0 = ++i;
            bool esc = false;
            i = fields_scan_to(s, n, i, '"', &esc);
            if (i >= n)
                return rp_error_set(err, RP_E_INVALID, "byte %zu: PARAM-VALUE not closed",
                                    base + v0 - 1);
            size_t v1 = i++;
            if (++params > RP_SYSLOG_SD_PARAMS_MAX)
                return rp_error_set(err, RP_E_INVALID,
                                    "byte %zu: more than %d parameters in one element", base + p0,
                                    RP_SYSLOG_SD_PARAMS_MAX);
            if (el != NULL) {
                json_t *v = sd_value(s + v0, v1 - v0, esc);
                if (v == NULL || json_object_setn_new_nocheck(el, s + p0, p1 - p0, v) != 0)
                    return RP_E_NOMEM;
            }
        }
        if (i >= n || s[i] != ']')
            return rp_error_set(err, RP_E_INVALID, "byte %zu: ']' expected", base + i);
        i++;
    }
    *end = i;
    return RP_OK;
}

rp_status syslog_sd_json(const char *sd, size_t len, json_t **out, struct rp_error *err)
{
    *out = NULL;
    json_t *o = json_object();
    if (o == NULL)
        return RP_E_NOMEM;
    if (len == 0 || (len == 1 && sd[0] == '-')) {
        *out = o;
        return RP_OK;
    }
    size_t bad = utf8_invalid_at(sd, len);
    rp_status st = bad == len ? RP_OK : rp_error_set(err, RP_E_INVALID, "byte %zu: not UTF-8", bad);
    size_t end = 0;
    if (st == RP_OK)
        st = sd_scan(sd, len, 0, o, &end, err);
    if (st == RP_OK && end != len)
        st = rp_error_set(err, RP_E_INVALID, "byte %zu: text after the structured data", end);
    if (st != RP_OK) {
        json_decref(o);
        return st;
    }
    *out = o;
    return RP_OK;
}

/* --- the header ---------------------------------------------------------------------- */

/* End of the run of non-space bytes from i. */
static size_t token_end(const char *l, size_t len, size_t i)
{
    while (i < len && l[i] != ' ')
        i++;
    return i;
}

static size_t skip_spaces(const char *l, size_t len, size_t i)
{
    while (i < len && l[i] == ' ')
        i++;
    return i;
}

/* "CEF:<digit>" or "LEEF:<digit>" at s. */
static bool is_marker(const char *s, size_t n)
{
    if (n >= 5 && memcmp(s, "CEF:", 4) == 0 && is_digit(s[4]))
        return true;
    return n >= 6 && memcmp(s, "LEEF:", 5) == 0 && is_digit(s[5]);
}

/* One RFC 5424 header field (a token; "-" is nil) into *p and *n. */
static rp_status field_5424(const char *l, size_t len, size_t *i, size_t max, const char *what,
                            const char **p, size_t *n, struct rp_error *err)
{
    if (*i >= len)
        return rp_error_set(err, RP_E_INVALID, "byte %zu: RFC 5424 header ends before %s", *i,
                            what);
    size_t e = token_end(l, len, *i);
    if (e == *i || e - *i > max)
        return rp_error_set(err, RP_E_INVALID, "byte %zu: %s must be 1-%zu characters", *i, what,
                            max);
    if (has_ctl(l + *i, e - *i))
        return rp_error_set(err, RP_E_INVALID, "byte %zu: control character in %s", *i, what);
    if (!(e - *i == 1 && l[*i] == '-')) {
        *p = l + *i;
        *n = e - *i;
    }
    *i = e < len ? e + 1 : e;
    return RP_OK;
}

static rp_status parse_5424(const char *l, size_t len, size_t i, struct syslog_msg *out,
                            struct rp_error *err)
{
    size_t e = token_end(l, len, i);
    if (e == i)
        return rp_error_set(err, RP_E_INVALID, "byte %zu: RFC 5424 timestamp expected", i);
    if (!(e - i == 1 && l[i] == '-')) {
        struct rp_error te;
        if (time_parse_rfc3339(l + i, e - i, &out->ts_ms, &te) != RP_OK)
            return rp_error_set(err, RP_E_INVALID, "byte %zu: RFC 5424 timestamp: %s", i, te.msg);
    }
    i = e < len ? e + 1 : e;
    rp_status st = field_5424(l, len, &i, 255, "HOSTNAME", &out->host, &out->host_len, err);
    if (st == RP_OK)
        st = field_5424(l, len, &i, 48, "APP-NAME", &out->app, &out->app_len, err);
    if (st == RP_OK)
        st = field_5424(l, len, &i, 128, "PROCID", &out->procid, &out->procid_len, err);
    if (st == RP_OK)
        st = field_5424(l, len, &i, 32, "MSGID", &out->msgid, &out->msgid_len, err);
    if (st != RP_OK)
        return st;
    if (i >= len)
        return rp_error_set(err, RP_E_INVALID, "byte %zu: RFC 5424 header ends before SD", i);
    if (l[i] == '-') {
        i++;
    } else {
        size_t end;
        st = sd_scan(l + i, len - i, i, NULL, &end, err);
        if (st != RP_OK)
            return st;
        out->sd = l + i;
        out->sd_len = end;
        i += end;
    }
    if (i < len) {
        if (l[i] != ' ')
            return rp_error_set(err, RP_E_INVALID, "byte %zu: space expected before MSG", i);
        i++;
        if (len - i >= 3 && memcmp(l + i, "\xEF\xBB\xBF", 3) == 0)
            i += 3;
    }
    out->msg = l + i;
    out->msg_len = len - i;
    return RP_OK;
}

/* The TAG of an RFC 3164 message at *i: "app:", "app[procid]:" (or without the
 * colon after ']'). Nothing when the text there is no tag (then it is all MSG). */
static void parse_tag(const char *l, size_t len, size_t *i, struct syslog_msg *out)
{
    size_t t0 = *i, j = *i;
    while (j < len && j - t0 <= 64 && l[j] != ' ' && l[j] != ':' && l[j] != '[')
        j++;
    if (j == t0 || j >= len || j - t0 > 64 || has_ctl(l + t0, j - t0))
        return;
    if (l[j] == ':') {
        if (is_marker(l + t0, len - t0))
            return;
        out->app = l + t0;
        out->app_len = j - t0;
        *i = skip_spaces(l, len, j + 1);
        return;
    }
    if (l[j] == '[') {
        size_t p0 = j + 1, p = p0;
        while (p < len && p - p0 <= 128 && l[p] != ']' && l[p] != ' ')
            p++;
        if (p < len && l[p] == ']' && p > p0) {
            out->app = l + t0;
            out->app_len = j - t0;
            out->procid = l + p0;
            out->procid_len = p - p0;
            p++;
            if (p < len && l[p] == ':')
                p++;
            *i = skip_spaces(l, len, p);
        }
    }
}

rp_status syslog_parse_at(const char *line, size_t len, int64_t now_ms, struct syslog_msg *out,
                          struct rp_error *err)
{
    memset(out, 0, sizeof(*out));
    out->pri = out->facility = out->severity = -1;
    size_t i = skip_spaces(line, len, 0);
    bool has_pri = false;
    if (i < len && line[i] == '<') {
        size_t j = i + 1;
        int v = 0;
        while (j < len && is_digit(line[j]) && j - i <= 3)
            v = v * 10 + (line[j++] - '0');
        if (j == i + 1 || j - i > 4 || j >= len || line[j] != '>' || v > 191)
            return rp_error_set(err, RP_E_INVALID, "byte %zu: <PRI> must be <0> to <191>", i);
        out->pri = v;
        out->facility = v / 8;
        out->severity = v % 8;
        has_pri = true;
        i = j + 1;
        /* RFC 5424: VERSION (a non-zero number of up to 3 digits) and a space */
        size_t k = i;
        int ver = 0;
        while (k < len && is_digit(line[k]) && k - i < 3)
            ver = ver * 10 + (line[k++] - '0');
        if (k > i && line[i] != '0' && k < len && line[k] == ' ') {
            out->version = ver;
            return parse_5424(line, len, k + 1, out, err);
        }
    }
    /* RFC 3164: TIMESTAMP HOSTNAME TAG MSG, each part optional after a PRI */
    struct wall w;
    size_t k = parse_bsd(line + i, len - i, &w);
    if (k > 0) {
        if (!wall_ms(&w, now_ms, NULL, &out->ts_ms))
            return rp_error_set(err, RP_E_INVALID, "byte %zu: no such date", i);
        i += k;
        if (i < len && line[i] == ':') /* Cisco's "Jan 17 2020 08:52:10: %ASA..." */
            i++;
    } else {
        size_t e = token_end(line, len, i);
        if (e > i && time_parse_rfc3339(line + i, e - i, &out->ts_ms, NULL) == RP_OK) {
            k = e - i;
            i = e;
        }
    }
    if (k == 0 && !has_pri)
        return rp_error_set(err, RP_E_INVALID,
                            "byte %zu: not syslog: no <PRI> and no RFC 3164 or RFC 3339 time", i);
    if (k > 0) {
        if (i < len && line[i] != ' ')
            return rp_error_set(err, RP_E_INVALID, "byte %zu: space expected after the time", i);
        i = skip_spaces(line, len, i);
        size_t e = token_end(line, len, i);
        bool tagish = e > i && (line[e - 1] == ':' || memchr(line + i, '[', e - i) != NULL ||
                                is_marker(line + i, len - i));
        if (e > i && !tagish && !has_ctl(line + i, e - i)) {
            out->host = line + i;
            out->host_len = e - i;
            i = skip_spaces(line, len, e);
        }
    }
    parse_tag(line, len, &i, out);
    i = skip_spaces(line, len, i);
    out->msg = line + i;
    out->msg_len = len - i;
    return RP_OK;
}

rp_status syslog_parse(const char *line, size_t len, struct syslog_msg *out, struct rp_error *err)
{
    return syslog_parse_at(line, len, time_now_ms(), out, err);
}

/* --- into the alert ------------------------------------------------------------------ */

rp_status lines_fill_from_header(json_t *alert, const struct syslog_msg *hdr)
{
    if (hdr == NULL)
        return RP_OK;
    if (json_object_get(alert, "event_time") == NULL && hdr->ts_ms > 0)
        (void)lines_set_time(alert, hdr->ts_ms);
    json_t *host = json_object_get(alert, "host");
    rp_status st = RP_OK;
    if (hdr->host_len > 0 && (host == NULL || (json_object_get(host, "name") == NULL &&
                                               json_object_get(host, "ip") == NULL))) {
        if (is_ip(hdr->host, hdr->host_len))
            st = put(alert, "host", "ip", lines_str(hdr->host, hdr->host_len));
        else if (fits_typed(OBS_HOSTNAME, hdr->host, hdr->host_len))
            st = put(alert, "host", "name", lines_str(hdr->host, hdr->host_len));
    }
    json_t *sys = NULL;
    if (st == RP_OK) {
        json_t *extra = lines_child(alert, "extra");
        sys = extra ? lines_child(extra, "syslog") : NULL;
        if (sys == NULL)
            st = RP_E_NOMEM;
    }
    if (st == RP_OK && hdr->pri >= 0 &&
        (json_object_set_new_nocheck(sys, "facility", json_integer(hdr->facility)) ||
         json_object_set_new_nocheck(sys, "severity", json_integer(hdr->severity))))
        st = RP_E_NOMEM;
    if (st == RP_OK && hdr->app_len > 0)
        st = put(sys, NULL, "app", lines_str(hdr->app, hdr->app_len));
    if (st == RP_OK && hdr->procid_len > 0)
        st = put(sys, NULL, "procid", lines_str(hdr->procid, hdr->procid_len));
    if (st == RP_OK && hdr->msgid_len > 0)
        st = put(sys, NULL, "msgid", lines_str(hdr->msgid, hdr->msgid_len));
    if (st == RP_OK && hdr->sd_len > 0) {
        json_t *sd;
        struct rp_error e;
        st = syslog_sd_json(hdr->sd, hdr->sd_len, &sd, &e);
        if (st == RP_OK)
            st = put(sys, NULL, "sd", sd);
        else if (st == RP_E_INVALID) /* syslog_parse checked it: cannot happen */
            st = put(sys, NULL, "sd_text", lines_str(hdr->sd, hdr->sd_len));
    }
    return st;
}

/* --- key=value pairs into the alert (fields_internal.h) ----------------------------- */

rp_status fields_map_name(struct fields_map *m, int k, const char *obj, const char *key)
{
    const struct fields_span *v = fields_val(m, k);
    if (v == NULL || !lines_fits_name(v->p, v->n))
        return RP_OK;
    fields_use(m, k);
    return lines_name(m->alert, obj, key, v->p, v->n, NULL, NULL);
}

rp_status fields_map_typed(struct fields_map *m, int k, const char *obj, const char *key,
                           enum obs_type t)
{
    const struct fields_span *v = fields_val(m, k);
    if (v == NULL || !lines_fits_typed(t, v->p, v->n))
        return RP_OK;
    fields_use(m, k);
    return lines_typed(m->alert, obj, key, t, v->p, v->n, NULL, NULL);
}

rp_status fields_map_uint(struct fields_map *m, int k, const char *obj, const char *key,
                          int64_t max)
{
    const struct fields_span *v = fields_val(m, k);
    int64_t x;
    if (v == NULL || !parse_uint(v->p, v->n, max, &x))
        return RP_OK;
    fields_use(m, k);
    return lines_uint(m->alert, obj, key, v->p, v->n, max, NULL, NULL);
}

rp_status fields_map_text(struct fields_map *m, int k, const char *obj, const char *key)
{
    const struct fields_span *v = fields_val(m, k);
    if (v == NULL || v->n > RP_FIELD_MAX_BYTES)
        return RP_OK;
    fields_use(m, k);
    return lines_text(m->alert, obj, key, v->p, v->n, NULL, NULL);
}

rp_status fields_map_host(struct fields_map *m, int k, bool *taken)
{
    const struct fields_span *v = fields_val(m, k);
    *taken = false;
    if (v == NULL)
        return RP_OK;
    if (lines_fits_typed(OBS_IPV4, v->p, v->n)) {
        *taken = true;
        fields_use(m, k);
        return lines_typed(m->alert, "host", "ip", OBS_IPV4, v->p, v->n, NULL, NULL);
    }
    if (lines_fits_typed(OBS_HOSTNAME, v->p, v->n)) {
        *taken = true;
        fields_use(m, k);
        return lines_name(m->alert, "host", "name", v->p, v->n, NULL, NULL);
    }
    return RP_OK;
}

rp_status fields_map_user(struct fields_map *m, int who, int domain)
{
    rp_status st = fields_map_name(m, who, "user", "name");
    if (st != RP_OK || m->slot[who] < 0 || !m->used[m->slot[who]])
        return st;
    const struct fields_span *u = fields_val(m, who);
    if (memchr(u->p, '@', u->n) && lines_fits_typed(OBS_EMAIL, u->p, u->n))
        st = lines_typed(m->alert, "user", "email", OBS_EMAIL, u->p, u->n, NULL, NULL);
    if (st == RP_OK)
        st = fields_map_name(m, domain, "user", "domain");
    return st;
}

rp_status fields_map_url(struct fields_map *m, int k)
{
    const struct fields_span *v = fields_val(m, k);
    if (v == NULL)
        return RP_OK;
    return lines_observable(m->alert, OBS_URL, v->p, v->n, "related");
}

rp_status fields_set_auth_result(json_t *alert, const char *result)
{
    if (result == NULL)
        return RP_OK;
    json_t *au = lines_child(alert, "auth");
    if (au == NULL || json_object_set_new_nocheck(au, "result", json_string_nocheck(result)))
        return RP_E_NOMEM;
    return RP_OK;
}

rp_status fields_map_flow(struct fields_map *m, int src, int sport, int dst, int dport)
{
    rp_status st = fields_map_typed(m, src, "src", "ip", OBS_IPV4);
    if (st == RP_OK)
        st = fields_map_uint(m, sport, "src", "port", 65535);
    if (st == RP_OK)
        st = fields_map_typed(m, dst, "dst", "ip", OBS_IPV4);
    if (st == RP_OK)
        st = fields_map_uint(m, dport, "dst", "port", 65535);
    return st;
}

rp_status fields_map_file(struct fields_map *m, int name, int path)
{
    rp_status st = fields_map_name(m, name, "file", "name");
    if (st == RP_OK)
        st = fields_map_text(m, path, "file", "path");
    return st;
}

rp_status fields_objects_new(json_t **obj, json_t **pairs)
{
    *obj = json_object();
    *pairs = json_object();
    return *obj == NULL || *pairs == NULL ? RP_E_NOMEM : RP_OK;
}

rp_status fields_raw_done(rp_status st, json_t *obj, const char *key, json_t *pairs, json_t **out)
{
    if (st == RP_OK) {
        st = json_object_set_new_nocheck(obj, key, pairs) ? RP_E_NOMEM : RP_OK;
        pairs = NULL;
    }
    json_decref(pairs);
    if (st == RP_OK)
        *out = obj;
    else
        json_decref(obj);
    return st;
}

rp_status fields_alert_head(json_t *alert, const char *kind, const struct fields_span *vendor,
                            const struct fields_span *product, const char *fallback,
                            const char *title, const char *id, size_t idn)
{
    char source[72], rule[RP_NAME_MAX_BYTES + 1];
    if (lines_source_name(vendor->p, vendor->n, source, sizeof(source)) == 0)
        rp_fmt(source, sizeof(source), "%s", fallback);
    rule[0] = '\0';
    if (idn > 0)
        lines_rule(vendor->p, vendor->n, product->p, product->n, id, idn, rule, sizeof(rule));
    if (json_object_set_new_nocheck(alert, "kind", json_string_nocheck(kind)) ||
        json_object_set_new_nocheck(alert, "source", json_string_nocheck(source)) ||
        json_object_set_new_nocheck(alert, "title", json_string_nocheck(title)) ||
        (rule[0] && json_object_set_new_nocheck(alert, "rule", json_string_nocheck(rule))))
        return RP_E_NOMEM;
    return RP_OK;
}

rp_status fields_alert_done(rp_status st, const struct line_ctx *lc, const char *format,
                            json_t *alert, json_t *extra, json_t **out)
{
    if (st == RP_OK) {
        json_t *x = lines_child(alert, "extra");
        if (x == NULL) {
            st = RP_E_NOMEM; /* extra is still ours: freed below */
        } else {
            /* the set takes extra, even when it fails */
            st = json_object_set_new_nocheck(x, format, extra) ? RP_E_NOMEM : RP_OK;
            extra = NULL;
        }
    }
    if (st == RP_OK && json_object_set_new_nocheck(alert, "raw", lines_str(lc->line, lc->len)))
        st = RP_E_NOMEM;
    if (st == RP_OK)
        st = lines_fill_from_header(alert, lc->hdr);
    json_decref(extra);
    if (st == RP_OK)
        *out = alert;
    else
        json_decref(alert);
    return st;
}

rp_status fields_put_span(json_t *obj, const char *key, const struct fields_span *s)
{
    return json_object_set_new_nocheck(obj, key, lines_str(s->p, s->n)) ? RP_E_NOMEM : RP_OK;
}

const char *lines_find_marker(const char *s, size_t n, const char *marker)
{
    size_t m = strlen(marker);
    const char *p = s;
    while ((p = memmem(p, n - (size_t)(p - s), marker, m)) != NULL) {
        if ((p == s || !is_alnum(p[-1])) && is_marker(p, n - (size_t)(p - s)))
            return p;
        p += m;
    }
    return NULL;
}

static rp_status dispatch(const struct line_ctx *lc, json_t **alert, struct rp_error *err)
{
    const struct syslog_msg *m = lc->hdr;
    const char *msg = m->msg;
    size_t mn = m->msg_len;
    trim(&msg, &mn);
    if (mn >= 4 && memcmp(msg, "CEF:", 4) == 0)
        return cef_alert_in(lc, msg, mn, alert, err);
    if (mn >= 5 && memcmp(msg, "LEEF:", 5) == 0)
        return leef_alert_in(lc, msg, mn, alert, err);
    if (lines_ieq(m->app, m->app_len, "cylanceprotect"))
        return cylance_syslog_alert_in(lc, msg, mn, alert, err);
    if (mn > 4 && memcmp(msg, "pam_", 4) == 0 && m->app_len > 0)
        return authlog_alert_in(lc, alert, err);
    if (authlog_app_known(m->app, m->app_len))
        return authlog_alert_in(lc, alert, err);
    const char *c = lines_find_marker(msg, mn, "CEF:");
    if (c != NULL)
        return cef_alert_in(lc, c, mn - (size_t)(c - msg), alert, err);
    c = lines_find_marker(msg, mn, "LEEF:");
    if (c != NULL)
        return leef_alert_in(lc, c, mn - (size_t)(c - msg), alert, err);
    long at = cylance_syslog_find(lc->line, lc->len);
    if (at >= 0)
        return cylance_syslog_alert_in(lc, lc->line + at, lc->len - (size_t)at, alert, err);
    if (m->app_len > 0)
        return rp_error_set(err, RP_E_NOTFOUND, "syslog message of %.*s: no security event",
                            (int)(m->app_len > 64 ? 64 : m->app_len), m->app);
    return rp_error_set(err, RP_E_NOTFOUND, "syslog message of no known kind");
}

/* syslog_parse_alert_at on the prepared line (a fields_line_fn; arg: the clock). */
static rp_status syslog_alert_line(const char *line, size_t n, const void *arg, json_t **alert,
                                   struct rp_error *err)
{
    int64_t now_ms = *(const int64_t *)arg;
    rp_status st;
    const char *t = line;
    size_t tn = n;
    trim(&t, &tn);
    struct syslog_msg m;
    struct rp_error se;
    struct line_ctx lc = {.line = line, .len = n, .hdr = NULL, .now_ms = now_ms};
    if (tn == 0) {
        st = rp_error_set(err, RP_E_NOTFOUND, "empty line");
    } else if ((st = syslog_parse_at(line, n, now_ms, &m, &se)) == RP_OK) {
        lc.hdr = &m;
        st = dispatch(&lc, alert, err);
    } else if (st == RP_E_INVALID) {
        /* not syslog: a CEF, LEEF or Cylance event may still follow an odd header */
        long at = cylance_syslog_find(line, n);
        const char *c;
        if (at >= 0)
            st = cylance_syslog_alert_in(&lc, line + at, n - (size_t)at, alert, err);
        else if ((c = lines_find_marker(line, n, "CEF:")) != NULL)
            st = cef_alert_in(&lc, c, n - (size_t)(c - line), alert, err);
        else if ((c = lines_find_marker(line, n, "LEEF:")) != NULL)
            st = leef_alert_in(&lc, c, n - (size_t)(c - line), alert, err);
        else
            st = rp_error_set(err, RP_E_INVALID, "%s", se.msg);
    }
    return st;
}

rp_status syslog_parse_alert_at(const char *data, size_t len, int64_t now_ms, json_t **alert,
                                struct rp_error *err)
{
    return fields_parse_line(data, len, syslog_alert_line, &now_ms, alert, err);
}

rp_status syslog_parse_alert(const char *line, size_t len, json_t **alert, struct rp_error *err)
{
    return syslog_parse_alert_at(line, len, time_now_ms(), alert, err);
}

/* What lines_parse_marked looks for and with what. */
struct marked {
    int64_t now_ms;
    const char *marker;
    lines_in_fn fn;
};

/* lines_parse_marked on the prepared line (a fields_line_fn; arg: a struct marked). */
static rp_status marked_line(const char *line, size_t n, const void *arg, json_t **alert,
                             struct rp_error *err)
{
    const struct marked *mk = arg;
    int64_t now_ms = mk->now_ms;
    const char *marker = mk->marker;
    lines_in_fn fn = mk->fn;
    rp_status st;
    size_t ml = strlen(marker);
    const char *t = line;
    size_t tn = n;
    trim(&t, &tn);
    struct line_ctx lc = {.line = line, .len = n, .hdr = NULL, .now_ms = now_ms};
    struct syslog_msg m;
    const char *at;
    if (tn == 0) {
        st = rp_error_set(err, RP_E_NOTFOUND, "empty line");
    } else if (tn >= ml && memcmp(t, marker, ml) == 0) {
        st = fn(&lc, t, tn, alert, err);
    } else if (syslog_parse_at(line, n, now_ms, &m, NULL) == RP_OK &&
               (at = lines_find_marker(m.msg, m.msg_len, marker)) != NULL) {
        lc.hdr = &m;
        size_t an = m.msg_len - (size_t)(at - m.msg);
        trim(&at, &an);
        st = fn(&lc, at, an, alert, err);
    } else if ((at = lines_find_marker(line, n, marker)) != NULL) {
        size_t an = n - (size_t)(at - line);
        trim(&at, &an);
        st = fn(&lc, at, an, alert, err);
    } else {
        st = rp_error_set(err, RP_E_INVALID, "byte %zu: no %s event in the line",
                          (size_t)(t - line), marker);
    }
    return st;
}

rp_status lines_parse_marked(const char *data, size_t len, int64_t now_ms, const char *marker,
                             lines_in_fn fn, json_t **alert, struct rp_error *err)
{
    const struct marked mk = {.now_ms = now_ms, .marker = marker, .fn = fn};
    return fields_parse_line(data, len, marked_line, &mk, alert, err);
}

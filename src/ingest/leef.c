/*
 * leef.c: IBM QRadar Log Event Extended Format events into alerts.
 *
 *   LEEF:1.0|Vendor|Product|Version|EventID|key=value<TAB>key=value
 *   LEEF:2.0|Vendor|Product|Version|EventID|Delimiter|key=value^key=value
 *
 * LEEF 2.0's delimiter field is optional: it is taken as the delimiter when it
 * is one character, x09 / 0x09 (hex, ASCII only) or \t; otherwise there is no
 * such field and the delimiter is a tab. LEEF has no escapes, so a piece
 * between delimiters without '=' is the previous value going on (a value that
 * holds the delimiter). When a LEEF 1.0 event holds no tab at all, it is split
 * at spaces before "key=" as CEF is: some producers turn tabs into spaces.
 * devTime is read with devTimeFormat (a Java SimpleDateFormat pattern: y M d H h
 * m s S a z Z X E and quoted literals) when one is given.
 *
 * The mapping to the normalized alert is in docs/formats-lines.md. Pure; any
 * thread; owns nothing beyond a call. A broken header or a limit of
 * core/limits.h is RP_E_INVALID with the byte offset.
 */
#include "ingest/leef.h"

#include "core/limits.h"
#include "core/time.h"
#include "ingest/fields_internal.h"
#include "ingest/lines.h"

#include <stdlib.h>
#include <string.h>

enum { L_VENDOR, L_PRODUCT, L_PVERSION, L_EVENTID, L_COUNT };

struct leef_event {
    struct fields_span version;
    struct fields_span hdr[L_COUNT];
    char delim;
    struct fields_pair attr[RP_CEF_EXT_MAX];
    size_t n;
};

static bool is_hexc(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

static int hexv(char c)
{
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* The delimiter named by a LEEF 2.0 header field, or -1 when the field names
 * none (then it is no delimiter field). */
static int delimiter_of(const char *s, size_t n)
{
    if (n == 1)
        return (unsigned char)s[0] < 0x80 ? s[0] : -1;
    if (n == 2 && s[0] == '\\' && s[1] == 't')
        return '\t';
    size_t i = 0;
    if (n >= 3 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        i = 2;
    else if (n >= 2 && (s[0] == 'x' || s[0] == 'X'))
        i = 1;
    else
        return -1;
    if (n - i < 2 || n - i > 4)
        return -1;
    int v = 0;
    for (; i < n; i++) {
        if (!is_hexc(s[i]))
            return -1;
        v = v * 16 + hexv(s[i]);
    }
    return v > 0 && v < 0x80 ? v : -1;
}

static rp_status add_attr(struct leef_event *ev, const char *k, size_t kn, const char *v, size_t vn,
                          size_t off, struct rp_error *err)
{
    lines_trim(&k, &kn);
    if (kn == 0 || kn > RP_CEF_KEY_MAX || !lines_fits_name(k, kn))
        return rp_error_set(err, RP_E_INVALID, "byte %zu: attribute name must be 1-%d characters",
                            off, RP_CEF_KEY_MAX);
    if (ev->n >= RP_CEF_EXT_MAX)
        return rp_error_set(err, RP_E_INVALID, "byte %zu: more than %d attributes", off,
                            RP_CEF_EXT_MAX);
    struct fields_pair *a = &ev->attr[ev->n++];
    a->key.p = k;
    a->key.n = kn;
    lines_trim(&v, &vn);
    a->val.p = v;
    a->val.n = vn;
    return RP_OK;
}

/* "k=v k2=v2": each value runs to the space before the next "key=". */
static rp_status split_spaces(struct leef_event *ev, const char *s, size_t n, size_t off,
                              struct rp_error *err)
{
    size_t k0, i = fields_key_run(s, n, 0, FIELDS_KEY_LEEF, &k0);
    if (i == k0 || i >= n || s[i] != '=')
        return rp_error_set(err, RP_E_INVALID, "byte %zu: key=value expected", off + k0);
    size_t k1 = i++;
    for (;;) {
        size_t v0 = i, nk = 0, nk1 = 0;
        bool more = false;
        while (i < n) {
            if (s[i] != ' ') {
                i++;
                continue;
            }
            size_t ks, j = fields_key_run(s, n, i, FIELDS_KEY_LEEF, &ks);
            if (j > ks && j < n && s[j] == '=') {
                more = true;
                nk = ks;
                nk1 = j;
                break;
            }
            i = j;
        }
        rp_status st = add_attr(ev, s + k0, k1 - k0, s + v0, i - v0, off + k0, err);
        if (st != RP_OK || !more)
            return st;
        k0 = nk;
        k1 = nk1;
        i = nk1 + 1;
    }
}

/* Scans "LEEF:..." (s, n bytes, at byte off of the line). */
static rp_status leef_scan(const char *s, size_t n, size_t off, struct leef_event *ev,
                           struct rp_error *err)
{
    ev->n = 0;
    if (n < 5 || memcmp(s, "LEEF:", 5) != 0)
        return rp_error_set(err, RP_E_INVALID, "byte %zu: \"LEEF:\" expected", off);
    size_t i = 5;
    while (i < n && i - 5 <= 8 && ((s[i] >= '0' && s[i] <= '9') || s[i] == '.'))
        i++;
    if (i == 5 || i - 5 > 8 || i >= n || s[i] != '|')
        return rp_error_set(err, RP_E_INVALID, "byte %zu: LEEF version and '|' expected", off + i);
    ev->version.p = s + 5;
    ev->version.n = i - 5;
    i++;
    for (int f = 0; f < L_COUNT; f++) {
        size_t f0 = i;
        while (i < n && s[i] != '|')
            i++;
        if (i >= n && f < L_EVENTID)
            return rp_error_set(err, RP_E_INVALID,
                                "byte %zu: the LEEF header has %d of its 5 fields", off + n, f + 2);
        if (i - f0 > RP_NAME_MAX_BYTES)
            return rp_error_set(err, RP_E_INVALID, "byte %zu: LEEF header field longer than %u",
                                off + f0, RP_NAME_MAX_BYTES);
        ev->hdr[f].p = s + f0;
        ev->hdr[f].n = i - f0;
        lines_trim(&ev->hdr[f].p, &ev->hdr[f].n);
        if (i < n)
            i++;
    }
    ev->delim = '\t';
    if (s[5] == '2' && i < n) {
        const char *bar = memchr(s + i, '|', n - i < 8 ? n - i : 8);
        if (bar != NULL) {
            size_t dn = (size_t)(bar - (s + i));
            int d = dn == 0 ? '\t' : delimiter_of(s + i, dn);
            if (d >= 0) {
                ev->delim = (char)d;
                i += dn + 1;
            }
        }
    }
    const char *a = s + i;
    size_t an = n - i;
    if (an == 0)
        return RP_OK;
    if (s[5] == '1' && memchr(a, '\t', an) == NULL && memchr(a, '=', an) != NULL)
        return split_spaces(ev, a, an, off + i, err);
    size_t p = 0;
    while (p <= an) {
        const char *d = p < an ? memchr(a + p, ev->delim, an - p) : NULL;
        size_t e = d ? (size_t)(d - a) : an;
        const char *piece = a + p;
        size_t pn = e - p;
        const char *eq = memchr(piece, '=', pn);
        const char *t = piece;
        size_t tn = pn;
        lines_trim(&t, &tn);
        if (tn == 0) {
            /* an empty piece: nothing */
        } else if (eq == NULL) {
            if (ev->n == 0)
                return rp_error_set(err, RP_E_INVALID, "byte %zu: attribute without '='",
                                    off + i + p);
            /* the previous value holds the delimiter: it goes on to here */
            struct fields_pair *prev = &ev->attr[ev->n - 1];
            prev->val.n = (size_t)(piece + pn - prev->val.p);
            lines_trim(&prev->val.p, &prev->val.n);
        } else {
            rp_status st = add_attr(ev, piece, (size_t)(eq - piece), eq + 1,
                                    pn - (size_t)(eq - piece) - 1, off + i + p, err);
            if (st != RP_OK)
                return st;
        }
        if (d == NULL)
            break;
        p = e + 1;
    }
    return RP_OK;
}

/* The event of a prepared line as given (fields_line_fn of leef_parse). */
static rp_status leef_raw(const char *line, size_t n, const void *arg, json_t **out,
                          struct rp_error *err)
{
    (void)arg;
    struct leef_event *ev = malloc(sizeof(*ev));
    json_t *o = NULL, *at = NULL;
    rp_status st = ev ? leef_scan(line, n, 0, ev, err) : RP_E_NOMEM;
    if (st == RP_OK)
        st = fields_objects_new(&o, &at);
    static const char *const names[L_COUNT] = {"vendor", "product", "product_version", "event_id"};
    if (st == RP_OK)
        st = fields_put_span(o, "version", &ev->version);
    for (int f = 0; st == RP_OK && f < L_COUNT; f++)
        st = fields_put_span(o, names[f], &ev->hdr[f]);
    for (size_t i = 0; st == RP_OK && ev != NULL && i < ev->n; i++)
        if (json_object_setn_new_nocheck(at, ev->attr[i].key.p, ev->attr[i].key.n,
                                         lines_str(ev->attr[i].val.p, ev->attr[i].val.n)))
            st = RP_E_NOMEM;
    st = fields_raw_done(st, o, "attributes", at, out);
    free(ev);
    return st;
}

rp_status leef_parse(const char *data, size_t len, json_t **out, struct rp_error *err)
{
    return fields_parse_line(data, len, leef_raw, NULL, out, err);
}

/* --- devTime with devTimeFormat ----------------------------------------------------------- */

/* Up to max digits (at least one) at s[*i]. */
static bool num(const char *s, size_t n, size_t *i, size_t max, int *out)
{
    size_t k = 0;
    int v = 0;
    while (*i < n && k < max && s[*i] >= '0' && s[*i] <= '9') {
        v = v * 10 + (s[*i] - '0');
        (*i)++;
        k++;
    }
    *out = v;
    return k > 0;
}

/* Reads s with a Java SimpleDateFormat pattern. Letters a pattern may hold: y M
 * d H k h K m s S a z Z X E (others fail); text in '' and other characters
 * must match as they are. */
static bool java_time(const char *f, size_t fn, const char *s, size_t sn, int64_t now_ms,
                      int64_t *out)
{
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0, ms = 0, pm = -1;
    bool have_zone = false;
    long zone = 0;
    size_t i = 0, p = 0;
    while (p < fn) {
        char c = f[p];
        if (c == '\'') {
            p++;
            while (p < fn && f[p] != '\'') {
                if (i >= sn || s[i] != f[p])
                    return false;
                i++;
                p++;
            }
            p++;
            continue;
        }
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))) {
            if (i >= sn || s[i] != c)
                return false;
            i++;
            p++;
            continue;
        }
        size_t run = 0;
        while (p < fn && f[p] == c) {
            p++;
            run++;
        }
        size_t max = run > 1 ? run : 2;
        int v = 0;
        switch (c) {
        case 'y':
            if (!num(s, sn, &i, run == 2 ? 2 : 4, &v))
                return false;
            y = run == 2 ? 2000 + v : v;
            break;
        case 'M':
            if (run >= 3) {
                size_t k = i;
                while (k < sn && ((s[k] | 0x20) >= 'a' && (s[k] | 0x20) <= 'z'))
                    k++;
                mo = lines_month(s + i, k - i);
                if (mo == 0)
                    return false;
                i = k;
            } else if (!num(s, sn, &i, 2, &mo)) {
                return false;
            }
            break;
        case 'd':
            if (!num(s, sn, &i, max, &d))
                return false;
            break;
        case 'H':
        case 'k':
        case 'h':
        case 'K':
            if (!num(s, sn, &i, max, &h))
                return false;
            if (c == 'k' && h == 24)
                h = 0;
            break;
        case 'm':
            if (!num(s, sn, &i, max, &mi))
                return false;
            break;
        case 's':
            if (!num(s, sn, &i, max, &se))
                return false;
            break;
        case 'S': {
            size_t i0 = i;
            if (!num(s, sn, &i, 9, &v))
                return false;
            size_t k = i - i0;
            ms = v;
            while (k > 3) {
                ms /= 10;
                k--;
            }
            while (k < 3) {
                ms *= 10;
                k++;
            }
            break;
        }
        case 'a':
            if (i + 2 > sn)
                return false;
            if (lines_ieq(s + i, 2, "am"))
                pm = 0;
            else if (lines_ieq(s + i, 2, "pm"))
                pm = 1;
            else
                return false;
            i += 2;
            break;
        case 'E':
            while (i < sn && ((s[i] | 0x20) >= 'a' && (s[i] | 0x20) <= 'z'))
                i++;
            break;
        case 'z':
        case 'Z':
        case 'X': {
            size_t k = i;
            while (k < sn && s[k] != ' ' && k - i < 8)
                k++;
            int64_t probe;
            char tmp[32];
            if (k - i == 1 && (s[i] == 'Z' || s[i] == 'z')) {
                zone = 0;
            } else {
                /* reuse the zone reader of lines_parse_time on a fixed time */
                if (!rp_fmt(tmp, sizeof(tmp), "Jan 01 2000 00:00:00 %.*s", (int)(k - i), s + i) ||
                    !lines_parse_time(tmp, strlen(tmp), now_ms, &probe))
                    return false;
                zone = (long)(946684800000LL - probe) / 1000;
            }
            have_zone = true;
            i = k;
            break;
        }
        default:
            return false;
        }
    }
    if (i != sn)
        return false;
    if (pm >= 0) {
        if (h < 1 || h > 12)
            return false;
        h = h % 12 + (pm ? 12 : 0);
    }
    if (y == 0) {
        /* no year: as lines_parse_time does, through its BSD form */
        char tmp[64];
        static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
        if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || se > 60)
            return false;
        char zbuf[16] = "";
        if (have_zone)
            rp_fmt(zbuf, sizeof(zbuf), " %c%02ld%02ld", zone < 0 ? '-' : '+',
                   (zone < 0 ? -zone : zone) / 3600, ((zone < 0 ? -zone : zone) % 3600) / 60);
        rp_fmt(tmp, sizeof(tmp), "%s %02d %02d:%02d:%02d.%03d%s", mon[mo - 1], d, h, mi, se, ms,
               zbuf);
        return lines_parse_time(tmp, strlen(tmp), now_ms, out);
    }
    if (have_zone)
        return lines_utc_ms(y, mo, d, h, mi, se, ms, zone, out);
    return lines_local_ms(y, mo, d, h, mi, se, ms, out);
}

/* --- the alert -------------------------------------------------------------------------- */

enum leef_key {
    L_CAT,
    L_DEVTIME,
    L_DEVTIMEFORMAT,
    L_SEV,
    L_SRC,
    L_DST,
    L_SRCPORT,
    L_DSTPORT,
    L_USRNAME,
    L_ACCOUNTNAME,
    L_DOMAIN,
    L_IDENTSRC,
    L_IDENTHOSTNAME,
    L_URL,
    L_ISLOGIN,
    L_ISLOGOUT,
    L_FILENAME,
    L_FILEPATH,
    L_FILEHASH,
    L_MD5,
    L_SHA1,
    L_SHA256,
    L_KEYS
};

/* Lower-case names, sorted (keys are matched without regard to case). */
static const struct fields_key LKEYS[] = {
    {FIELDS_K("accountname"), L_ACCOUNTNAME},
    {FIELDS_K("cat"), L_CAT},
    {FIELDS_K("devtime"), L_DEVTIME},
    {FIELDS_K("devtimeformat"), L_DEVTIMEFORMAT},
    {FIELDS_K("domain"), L_DOMAIN},
    {FIELDS_K("dst"), L_DST},
    {FIELDS_K("dstport"), L_DSTPORT},
    {FIELDS_K("filehash"), L_FILEHASH},
    {FIELDS_K("filename"), L_FILENAME},
    {FIELDS_K("filepath"), L_FILEPATH},
    {FIELDS_K("identhostname"), L_IDENTHOSTNAME},
    {FIELDS_K("identsrc"), L_IDENTSRC},
    {FIELDS_K("isloginevent"), L_ISLOGIN},
    {FIELDS_K("islogoutevent"), L_ISLOGOUT},
    {FIELDS_K("md5"), L_MD5},
    {FIELDS_K("sev"), L_SEV},
    {FIELDS_K("sha1"), L_SHA1},
    {FIELDS_K("sha256"), L_SHA256},
    {FIELDS_K("src"), L_SRC},
    {FIELDS_K("srcport"), L_SRCPORT},
    {FIELDS_K("url"), L_URL},
    {FIELDS_K("usrname"), L_USRNAME},
};

static int lkey_lookup(const struct fields_span *k)
{
    char low[24];
    if (k->n >= sizeof(low))
        return -1;
    for (size_t i = 0; i < k->n; i++)
        low[i] = (k->p[i] >= 'A' && k->p[i] <= 'Z') ? (char)(k->p[i] + 32) : k->p[i];
    return fields_key_find(LKEYS, sizeof(LKEYS) / sizeof(LKEYS[0]), low, k->n);
}

static rp_status leef_map_fields(struct fields_map *m, const struct leef_event *ev, bool auth,
                                 int64_t now_ms)
{
    int who = fields_val(m, L_USRNAME) ? L_USRNAME : L_ACCOUNTNAME;
    rp_status st = fields_map_user(m, who, L_DOMAIN);
    bool taken;
    if (st == RP_OK)
        st = fields_map_host(m, L_IDENTHOSTNAME, &taken);
    /* the source: src when it is an address, else identSrc */
    const struct fields_span *src = fields_val(m, L_SRC);
    bool src_ip = src != NULL && lines_fits_typed(OBS_IPV4, src->p, src->n);
    if (st == RP_OK)
        st = fields_map_flow(m, src_ip ? L_SRC : L_IDENTSRC, L_SRCPORT, L_DST, L_DSTPORT);
    if (st == RP_OK)
        st = fields_map_file(m, L_FILENAME, L_FILEPATH);
    if (st == RP_OK)
        st = fields_map_typed(m, L_MD5, "file", "md5", OBS_MD5);
    if (st == RP_OK)
        st = fields_map_typed(m, L_SHA1, "file", "sha1", OBS_SHA1);
    if (st == RP_OK)
        st = fields_map_typed(m, L_SHA256, "file", "sha256", OBS_SHA256);
    const struct fields_span *h = fields_val(m, L_FILEHASH);
    if (st == RP_OK && h != NULL) {
        enum obs_type t = h->n == 32 ? OBS_MD5 : h->n == 40 ? OBS_SHA1 : OBS_SHA256;
        const char *key = h->n == 32 ? "md5" : h->n == 40 ? "sha1" : "sha256";
        json_t *file = json_object_get(m->alert, "file");
        if (json_object_get(file, key) == NULL)
            st = fields_map_typed(m, L_FILEHASH, "file", key, t);
    }
    if (st == RP_OK)
        st = fields_map_url(m, L_URL);
    /* the time */
    const struct fields_span *t = fields_val(m, L_DEVTIME), *f = fields_val(m, L_DEVTIMEFORMAT);
    int64_t ms;
    if (st == RP_OK && t != NULL &&
        ((f != NULL && f->n > 0 && java_time(f->p, f->n, t->p, t->n, now_ms, &ms)) ||
         ((f == NULL || f->n == 0) && lines_parse_time(t->p, t->n, now_ms, &ms))) &&
        lines_set_time(m->alert, ms)) {
        fields_use(m, L_DEVTIME);
        if (f != NULL)
            fields_use(m, L_DEVTIMEFORMAT);
    }
    /* sev: 0-10 */
    const struct fields_span *sv = fields_val(m, L_SEV);
    int64_t sev;
    if (st == RP_OK && sv && lines_parse_uint(sv->p, sv->n, 10, &sev)) {
        fields_use(m, L_SEV);
        if (json_object_set_new_nocheck(m->alert, "severity", json_integer(sev * 10)))
            st = RP_E_NOMEM;
    }
    if (st == RP_OK && auth) {
        const struct fields_span *cat = fields_val(m, L_CAT), *id = &ev->hdr[L_EVENTID];
        const char *r = NULL;
        static const char *const fail[] = {"fail", "denied", "invalid", "reject", "locked", NULL};
        for (size_t i = 0; fail[i] && r == NULL; i++)
            if (lines_icontains(id->p, id->n, fail[i]) ||
                (cat && lines_icontains(cat->p, cat->n, fail[i])))
                r = "failure";
        if (r == NULL && (lines_icontains(id->p, id->n, "success") ||
                          (cat && lines_icontains(cat->p, cat->n, "success"))))
            r = "success";
        st = fields_set_auth_result(m->alert, r);
    }
    return st;
}

_Static_assert(L_KEYS <= FIELDS_KEYS_MAX, "fields_map.slot holds every LEEF key");

rp_status leef_alert_in(const struct line_ctx *lc, const char *leef, size_t n, json_t **alert,
                        struct rp_error *err)
{
    *alert = NULL;
    /* about 9 KiB of stack: no allocation per line for the parse itself */
    struct fields_map map;
    struct leef_event event;
    struct fields_map *m = &map;
    struct leef_event *ev = &event;
    json_t *a = NULL, *x = NULL;
    rp_status st = leef_scan(leef, n, (size_t)(leef - lc->line), ev, err);
    if (st == RP_OK)
        st = fields_alert_begin(m, ev->attr, ev->n, L_KEYS, lkey_lookup, &a, &x);
    const struct fields_span *h = ev->hdr;
    bool auth = false;
    const char *kind = "other";
    if (st == RP_OK) {
        const struct fields_span *li = fields_val(m, L_ISLOGIN), *lo = fields_val(m, L_ISLOGOUT);
        auth = (li && lines_ieq(li->p, li->n, "true")) || (lo && lines_ieq(lo->p, lo->n, "true"));
        const struct fields_span *cat = fields_val(m, L_CAT);
        kind =
            auth ? "auth"
                 : lines_kind(h[L_VENDOR].p, h[L_VENDOR].n, h[L_PRODUCT].p, h[L_PRODUCT].n,
                              h[L_EVENTID].p, h[L_EVENTID].n, cat ? cat->p : "", cat ? cat->n : 0);
        auth = strcmp(kind, "auth") == 0;
    }
    if (st == RP_OK) {
        char id[RP_NAME_MAX_BYTES + 1], p[RP_NAME_MAX_BYTES + 1], title[RP_NAME_MAX_BYTES + 1];
        size_t idn = lines_clean(h[L_EVENTID].p, h[L_EVENTID].n, id, sizeof(id));
        lines_clean(h[L_PRODUCT].p, h[L_PRODUCT].n, p, sizeof(p));
        /* the event id is the title when it says something; a bare number is
         * named with its product */
        bool words = false;
        for (size_t i = 0; i < idn; i++)
            words = words || ((id[i] | 0x20) >= 'a' && (id[i] | 0x20) <= 'z');
        if (words)
            memcpy(title, id, idn + 1);
        else if (!rp_fmt(title, sizeof(title), "%s%sevent%s%s", p, p[0] ? " " : "", idn ? " " : "",
                         id))
            memcpy(title, "LEEF event", 11);
        st = fields_alert_head(a, kind, &h[L_VENDOR], &h[L_PRODUCT], "leef", title, id, idn);
    }
    if (st == RP_OK)
        st = leef_map_fields(m, ev, auth, lc->now_ms);
    static const char *const names[L_COUNT] = {"vendor", "product", "product_version", "event_id"};
    if (st == RP_OK)
        st = fields_put_span(x, "version", &ev->version);
    for (int f = 0; st == RP_OK && f < L_COUNT; f++)
        if (h[f].n > 0)
            st = fields_put_span(x, names[f], &h[f]);
    for (size_t i = 0; st == RP_OK && i < ev->n; i++)
        if (!m->used[i] &&
            json_object_setn_new_nocheck(x, ev->attr[i].key.p, ev->attr[i].key.n,
                                         lines_str(ev->attr[i].val.p, ev->attr[i].val.n)))
            st = RP_E_NOMEM;
    return fields_alert_done(st, lc, "leef", a, x, alert);
}

rp_status leef_parse_alert(const char *data, size_t len, json_t **alert, struct rp_error *err)
{
    return lines_parse_marked(data, len, time_now_ms(), "LEEF:", leef_alert_in, alert, err);
}

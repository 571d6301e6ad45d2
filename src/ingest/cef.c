/*
 * cef.c: ArcSight Common Event Format events into alerts.
 *
 *   CEF:Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension
 *
 * One pass over the line finds the seven header fields (escapes \| and \\) and
 * the extension's key=value pairs: a value runs to the space before the next
 * "key=" (keys are letters, digits and _ . - [ ]) and has the escapes \= \\ \n
 * \r undone; other backslashes stay as they are, because real producers write
 * unescaped Windows paths. The scan is linear in the line: at a space it looks
 * ahead over one run of key characters and goes on from where that look ended.
 * Custom fields are named by their labels (cs1Label=RuleID cs1=5 gives
 * RuleID=5). Unescaped values are written to one scratch buffer of the line's
 * size, allocated only when a value has an escape.
 *
 * The mapping to the normalized alert is in docs/formats-lines.md. Pure; any
 * thread; owns nothing beyond a call. A line that breaks the header grammar or
 * a limit of core/limits.h is RP_E_INVALID with the byte offset.
 */
#include "ingest/cef.h"

#include "core/limits.h"
#include "core/time.h"
#include "ingest/fields_internal.h"
#include "ingest/lines.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

enum { H_VENDOR, H_PRODUCT, H_DVERSION, H_SIGNATURE, H_NAME, H_SEVERITY, H_COUNT };

struct cef_event {
    int version;
    struct fields_span hdr[H_COUNT]; /* unescaped, trimmed */
    struct fields_pair ext[RP_CEF_EXT_MAX];
    size_t n_ext;
    const char *base; /* the text the event was scanned from (for offsets) */
    size_t base_off;  /* its offset in the line */
    char *scratch;    /* unescaped text; NULL until needed */
    size_t used;
    size_t cap;
    char local[2048]; /* the scratch of events up to its size: most of them */
};

static void cef_event_fini(struct cef_event *ev)
{
    if (ev->scratch != ev->local)
        free(ev->scratch);
}

/* Unescapes s[0..n) into the scratch buffer: in the header (ext false) \| and
 * \\; in the extension \= \\ \n \r (and \|, which some producers write). */
static rp_status unescape(struct cef_event *ev, const char *s, size_t n, bool ext,
                          struct fields_span *out)
{
    if (ev->scratch == NULL) {
        ev->scratch = ev->cap < sizeof(ev->local) ? ev->local : malloc(ev->cap + 1);
        if (ev->scratch == NULL)
            return RP_E_NOMEM;
    }
    char *o = ev->scratch + ev->used;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\' && i + 1 < n) {
            char d = s[i + 1];
            if (d == '\\' || d == '|') {
                c = d;
                i++;
            } else if (ext && d == '=') {
                c = '=';
                i++;
            } else if (ext && (d == 'n' || d == 'r')) {
                c = d == 'n' ? '\n' : '\r';
                i++;
            }
        }
        o[k++] = c;
    }
    ev->used += k;
    out->p = o;
    out->n = k;
    lines_trim(&out->p, &out->n);
    return RP_OK;
}

static rp_status set_span(struct cef_event *ev, const char *s, size_t n, bool esc, bool ext,
                          struct fields_span *out)
{
    if (esc)
        return unescape(ev, s, n, ext, out);
    out->p = s;
    out->n = n;
    lines_trim(&out->p, &out->n);
    return RP_OK;
}

static rp_status add_pair(struct cef_event *ev, const char *k, size_t kn, const char *v, size_t vn,
                          bool esc, struct rp_error *err)
{
    if (ev->n_ext >= RP_CEF_EXT_MAX)
        return rp_error_set(err, RP_E_INVALID, "byte %zu: more than %d extension fields",
                            ev->base_off + (size_t)(k - ev->base), RP_CEF_EXT_MAX);
    struct fields_pair *p = &ev->ext[ev->n_ext++];
    p->key.p = k;
    p->key.n = kn;
    return set_span(ev, v, vn, esc, true, &p->val);
}

/* Scans "CEF:..." (s, n bytes, at byte base_off of the line) into ev. */
static rp_status cef_scan(const char *s, size_t n, size_t base_off, struct cef_event *ev,
                          struct rp_error *err)
{
    memset(ev, 0, offsetof(struct cef_event, ext));
    ev->n_ext = 0;
    ev->base = s;
    ev->base_off = base_off;
    ev->scratch = NULL;
    ev->used = 0;
    ev->cap = n;
    if (n < 4 || memcmp(s, "CEF:", 4) != 0)
        return rp_error_set(err, RP_E_INVALID, "byte %zu: \"CEF:\" expected", base_off);
    size_t i = 4;
    int v = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9' && i < 7)
        v = v * 10 + (s[i++] - '0');
    if (i == 4 || i >= n || s[i] != '|')
        return rp_error_set(err, RP_E_INVALID, "byte %zu: CEF version and '|' expected",
                            base_off + i);
    ev->version = v;
    i++;
    for (int f = 0; f < H_COUNT; f++) {
        size_t f0 = i;
        bool esc = false;
        i = fields_scan_to(s, n, i, '|', &esc);
        if (i >= n && f < H_SEVERITY)
            return rp_error_set(err, RP_E_INVALID,
                                "byte %zu: the CEF header has %d of its 7 fields before the "
                                "extension",
                                base_off + n, f + 2);
        if (i - f0 > RP_NAME_MAX_BYTES)
            return rp_error_set(err, RP_E_INVALID,
                                "byte %zu: CEF header field %d is longer than %u bytes",
                                base_off + f0, f + 2, RP_NAME_MAX_BYTES);
        rp_status st = set_span(ev, s + f0, i - f0, esc, false, &ev->hdr[f]);
        if (st != RP_OK)
            return st;
        if (i < n)
            i++; /* the '|'; a severity that ends the line has none */
    }
    /* the extension */
    size_t k0;
    i = fields_key_run(s, n, i, FIELDS_KEY_CEF, &k0);
    if (k0 >= n)
        return RP_OK;
    if (i == k0 || i >= n || s[i] != '=' || i - k0 > RP_CEF_KEY_MAX)
        return rp_error_set(err, RP_E_INVALID, "byte %zu: the extension must start with key=value",
                            base_off + k0);
    size_t kn = i - k0;
    i++;
    for (;;) {
        size_t v0 = i, next = 0, next_end = 0;
        bool esc = false, more = false;
        size_t e = 0; /* the next space at or after i, once found (n: none) */
        bool have_e = false;
        while (i < n) {
            /* to the next space (memchr), escapes in between noted; e is kept
             * while i has not passed it, so a run of escapes stays linear */
            if (!have_e || e < i) {
                const char *sp = memchr(s + i, ' ', n - i);
                e = sp ? (size_t)(sp - s) : n;
                have_e = true;
            }
            const char *bs = memchr(s + i, '\\', e - i);
            if (bs != NULL) {
                /* an escape may hide the space: go byte by byte from it */
                esc = true;
                i = (size_t)(bs - s) + 2;
                if (i > n)
                    i = n;
                continue;
            }
            i = e;
            if (i >= n)
                break;
            char c = s[i];
            if (c == ' ') {
                size_t ks, j = fields_key_run(s, n, i, FIELDS_KEY_CEF, &ks);
                if (j > ks && j < n && s[j] == '=' && j - ks <= RP_CEF_KEY_MAX) {
                    more = true;
                    next = ks;
                    next_end = j;
                    break;
                }
                i = j; /* the run looked at holds no space nor escape */
            } else {
                i++;
            }
        }
        rp_status st = add_pair(ev, s + k0, kn, s + v0, i - v0, esc, err);
        if (st != RP_OK || !more)
            return st;
        k0 = next;
        kn = next_end - next;
        i = next_end + 1;
    }
}

/* --- labels -------------------------------------------------------------------------- */

/* label[i]: for a custom field (cs1, cn2, flexString1...), the index of its
 * label pair ("cs1Label"), -1 otherwise; is_label[i]: pair i names another.
 * A label is used when it is a usable key (1-RP_CEF_KEY_MAX bytes, no control
 * characters) and no other pair has that key. */
static void cef_labels(const struct cef_event *ev, int *label, bool *is_label)
{
    for (size_t i = 0; i < ev->n_ext; i++) {
        label[i] = -1;
        is_label[i] = false;
    }
    for (size_t i = 0; i < ev->n_ext; i++) {
        const struct fields_span *k = &ev->ext[i].key, *v = &ev->ext[i].val;
        if (k->n <= 5 || memcmp(k->p + k->n - 5, "Label", 5) != 0)
            continue;
        if (v->n == 0 || v->n > RP_CEF_KEY_MAX || !lines_fits_name(v->p, v->n))
            continue;
        size_t bn = k->n - 5;
        long base = -1;
        bool clash = false;
        for (size_t j = 0; j < ev->n_ext; j++) {
            const struct fields_span *kj = &ev->ext[j].key;
            if (kj->n == bn && memcmp(kj->p, k->p, bn) == 0)
                base = (long)j;
            if (kj->n == v->n && memcmp(kj->p, v->p, v->n) == 0)
                clash = true;
        }
        if (base >= 0 && !clash) {
            label[base] = (int)i;
            is_label[i] = true;
        }
    }
}

/* Puts the pairs not marked used into obj, custom fields under their labels. */
static rp_status cef_put_pairs(const struct cef_event *ev, const bool *used, json_t *obj)
{
    int label[RP_CEF_EXT_MAX];
    bool is_label[RP_CEF_EXT_MAX];
    cef_labels(ev, label, is_label);
    for (size_t i = 0; i < ev->n_ext; i++) {
        if (is_label[i] || (used != NULL && used[i]))
            continue;
        const struct fields_span *k = &ev->ext[i].key;
        if (label[i] >= 0)
            k = &ev->ext[label[i]].val;
        if (json_object_setn_new_nocheck(obj, k->p, k->n,
                                         lines_str(ev->ext[i].val.p, ev->ext[i].val.n)) != 0)
            return RP_E_NOMEM;
    }
    return RP_OK;
}

/* The event of a prepared line as given (fields_line_fn of cef_parse). */
static rp_status cef_raw(const char *line, size_t n, const void *arg, json_t **out,
                         struct rp_error *err)
{
    (void)arg;
    struct cef_event *ev = malloc(sizeof(*ev));
    json_t *o = NULL, *ext = NULL;
    if (ev == NULL)
        return RP_E_NOMEM;
    rp_status st = cef_scan(line, n, 0, ev, err);
    if (st == RP_OK)
        st = fields_objects_new(&o, &ext);
    if (st == RP_OK && json_object_set_new_nocheck(o, "version", json_integer(ev->version)))
        st = RP_E_NOMEM;
    static const char *const names[H_COUNT] = {"vendor",       "product", "device_version",
                                               "signature_id", "name",    "severity"};
    for (int f = 0; st == RP_OK && f < H_COUNT; f++)
        st = fields_put_span(o, names[f], &ev->hdr[f]);
    if (st == RP_OK)
        st = cef_put_pairs(ev, NULL, ext);
    st = fields_raw_done(st, o, "extensions", ext, out);
    cef_event_fini(ev);
    free(ev);
    return st;
}

rp_status cef_parse(const char *data, size_t len, json_t **out, struct rp_error *err)
{
    return fields_parse_line(data, len, cef_raw, NULL, out, err);
}

/* --- the alert ------------------------------------------------------------------------- */

/* The extension keys with a normalized place (short and long names). */
enum cef_key {
    C_SRC,
    C_DST,
    C_SPT,
    C_DPT,
    C_SUSER,
    C_DUSER,
    C_SHOST,
    C_DHOST,
    C_DVCHOST,
    C_DVC,
    C_FNAME,
    C_FILEPATH,
    C_FILEHASH,
    C_FSIZE,
    C_REQUEST,
    C_RT,
    C_START,
    C_CAT,
    C_OUTCOME,
    C_DEVEXTID,
    C_SPROC,
    C_DPROC,
    C_SPID,
    C_DPID,
    C_SNTDOM,
    C_DNTDOM,
    C_KEYS
};

/* Sorted by byte value (binary search). */
static const struct fields_key KEYS[] = {
    {FIELDS_K("cat"), C_CAT},
    {FIELDS_K("destinationAddress"), C_DST},
    {FIELDS_K("destinationHostName"), C_DHOST},
    {FIELDS_K("destinationNtDomain"), C_DNTDOM},
    {FIELDS_K("destinationPort"), C_DPT},
    {FIELDS_K("destinationProcessId"), C_DPID},
    {FIELDS_K("destinationProcessName"), C_DPROC},
    {FIELDS_K("destinationUserName"), C_DUSER},
    {FIELDS_K("deviceAddress"), C_DVC},
    {FIELDS_K("deviceEventCategory"), C_CAT},
    {FIELDS_K("deviceExternalId"), C_DEVEXTID},
    {FIELDS_K("deviceHostName"), C_DVCHOST},
    {FIELDS_K("deviceReceiptTime"), C_RT},
    {FIELDS_K("dhost"), C_DHOST},
    {FIELDS_K("dntdom"), C_DNTDOM},
    {FIELDS_K("dpid"), C_DPID},
    {FIELDS_K("dproc"), C_DPROC},
    {FIELDS_K("dpt"), C_DPT},
    {FIELDS_K("dst"), C_DST},
    {FIELDS_K("duser"), C_DUSER},
    {FIELDS_K("dvc"), C_DVC},
    {FIELDS_K("dvchost"), C_DVCHOST},
    {FIELDS_K("eventOutcome"), C_OUTCOME},
    {FIELDS_K("fileHash"), C_FILEHASH},
    {FIELDS_K("fileName"), C_FNAME},
    {FIELDS_K("filePath"), C_FILEPATH},
    {FIELDS_K("fileSize"), C_FSIZE},
    {FIELDS_K("fname"), C_FNAME},
    {FIELDS_K("fsize"), C_FSIZE},
    {FIELDS_K("outcome"), C_OUTCOME},
    {FIELDS_K("request"), C_REQUEST},
    {FIELDS_K("requestURL"), C_REQUEST},
    {FIELDS_K("rt"), C_RT},
    {FIELDS_K("shost"), C_SHOST},
    {FIELDS_K("sntdom"), C_SNTDOM},
    {FIELDS_K("sourceAddress"), C_SRC},
    {FIELDS_K("sourceHostName"), C_SHOST},
    {FIELDS_K("sourceNtDomain"), C_SNTDOM},
    {FIELDS_K("sourcePort"), C_SPT},
    {FIELDS_K("sourceProcessId"), C_SPID},
    {FIELDS_K("sourceProcessName"), C_SPROC},
    {FIELDS_K("sourceUserName"), C_SUSER},
    {FIELDS_K("spid"), C_SPID},
    {FIELDS_K("sproc"), C_SPROC},
    {FIELDS_K("spt"), C_SPT},
    {FIELDS_K("src"), C_SRC},
    {FIELDS_K("start"), C_START},
    {FIELDS_K("startTime"), C_START},
    {FIELDS_K("suser"), C_SUSER},
};

static int key_lookup(const struct fields_span *k)
{
    return fields_key_find(KEYS, sizeof(KEYS) / sizeof(KEYS[0]), k->p, k->n);
}

/* CEF severity: 0-10 (x10), or Unknown/Low/Medium/High/Very-High. -1: none. */
static int cef_severity(const struct fields_span *s)
{
    int64_t v;
    if (lines_parse_uint(s->p, s->n, 10, &v))
        return (int)v * 10;
    static const struct {
        const char *word;
        int sev;
    } words[] = {
        {"low", 30},       {"medium", 50},        {"high", 70},      {"very-high", 90},
        {"very high", 90}, {"veryhigh", 90},      {"very_high", 90}, {"critical", 90},
        {"info", 10},      {"informational", 10},
    };
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (lines_ieq(s->p, s->n, words[i].word))
            return words[i].sev;
    return -1;
}

/* auth.result from an outcome value or the event's name: "success", "failure"
 * or NULL. */
static const char *auth_result(const char *s, size_t n)
{
    static const char *const fail[] = {"fail",         "denied", "invalid", "reject",
                                       "bad password", "locked", NULL};
    static const char *const ok[] = {"success", "succeed", "accepted", "allowed", NULL};
    for (size_t i = 0; fail[i]; i++)
        if (lines_icontains(s, n, fail[i]))
            return "failure";
    for (size_t i = 0; ok[i]; i++)
        if (lines_icontains(s, n, ok[i]))
            return "success";
    return NULL;
}

static rp_status map_time(struct fields_map *m, int k, int64_t now_ms, bool *done)
{
    const struct fields_span *v = fields_val(m, k);
    int64_t ms;
    if (*done || v == NULL || !lines_parse_time(v->p, v->n, now_ms, &ms))
        return RP_OK;
    if (!lines_set_time(m->alert, ms))
        return RP_OK;
    *done = true;
    fields_use(m, k);
    return RP_OK;
}

static rp_status cef_map_fields(struct fields_map *m, const struct cef_event *ev, const char *kind,
                                int64_t now_ms)
{
    rp_status st = RP_OK;
    bool auth = strcmp(kind, "auth") == 0, endpoint = strcmp(kind, "endpoint") == 0;

    /* the user: for a logon the account logged on to (duser), else the actor */
    int first = auth ? C_DUSER : C_SUSER, second = auth ? C_SUSER : C_DUSER;
    const struct fields_span *u = fields_val(m, first);
    int who = u && lines_fits_name(u->p, u->n) ? first : second;
    st = fields_map_user(m, who, who == C_DUSER ? C_DNTDOM : C_SNTDOM);

    /* the host: the destination; for an EDR the device that reported */
    bool taken = false;
    if (st == RP_OK)
        st = fields_map_host(m, C_DHOST, &taken);
    if (st == RP_OK && endpoint) {
        if (!taken)
            st = fields_map_host(m, C_DVCHOST, &taken);
        if (st == RP_OK && !taken)
            st = fields_map_host(m, C_SHOST, &taken);
        if (st == RP_OK && json_object_get(json_object_get(m->alert, "host"), "ip") == NULL)
            st = fields_map_typed(m, C_DVC, "host", "ip", OBS_IPV4);
        if (st == RP_OK)
            st = fields_map_name(m, C_DEVEXTID, "host", "id");
    }

    if (st == RP_OK)
        st = fields_map_flow(m, C_SRC, C_SPT, C_DST, C_DPT);

    if (st == RP_OK)
        st = fields_map_file(m, C_FNAME, C_FILEPATH);
    const struct fields_span *h = fields_val(m, C_FILEHASH);
    if (st == RP_OK && h != NULL &&
        ((h->n == 32 && lines_fits_typed(OBS_MD5, h->p, h->n)) ||
         (h->n == 40 && lines_fits_typed(OBS_SHA1, h->p, h->n)) ||
         (h->n == 64 && lines_fits_typed(OBS_SHA256, h->p, h->n)))) {
        fields_use(m, C_FILEHASH);
        st = lines_hash(m->alert, "file", h->p, h->n, NULL, NULL);
    }
    if (st == RP_OK)
        st = fields_map_uint(m, C_FSIZE, "file", "size", 1LL << 53);

    /* the process: the destination's when named, else the source's */
    bool dproc = fields_val(m, C_DPROC) != NULL || fields_val(m, C_DPID) != NULL;
    if (st == RP_OK)
        st = fields_map_name(m, dproc ? C_DPROC : C_SPROC, "process", "name");
    if (st == RP_OK)
        st = fields_map_uint(m, dproc ? C_DPID : C_SPID, "process", "pid", 4294967295LL);

    if (st == RP_OK)
        st = fields_map_url(m, C_REQUEST);

    bool timed = false;
    if (st == RP_OK)
        st = map_time(m, C_RT, now_ms, &timed);
    if (st == RP_OK)
        st = map_time(m, C_START, now_ms, &timed);

    if (st == RP_OK && auth) {
        const struct fields_span *o = fields_val(m, C_OUTCOME);
        const char *r = o ? auth_result(o->p, o->n) : NULL;
        if (r != NULL)
            fields_use(m, C_OUTCOME);
        else
            r = auth_result(ev->hdr[H_NAME].p, ev->hdr[H_NAME].n);
        st = fields_set_auth_result(m->alert, r);
    }
    return st;
}

_Static_assert(C_KEYS <= FIELDS_KEYS_MAX, "fields_map.slot holds every CEF key");

rp_status cef_alert_in(const struct line_ctx *lc, const char *cef, size_t n, json_t **alert,
                       struct rp_error *err)
{
    *alert = NULL;
    /* about 12 KiB of stack: no allocation per line for the parse itself */
    struct fields_map map;
    struct cef_event event;
    struct fields_map *m = &map;
    struct cef_event *ev = &event;
    json_t *a = NULL, *x = NULL;
    rp_status st = cef_scan(cef, n, (size_t)(cef - lc->line), ev, err);
    if (st == RP_OK)
        st = fields_alert_begin(m, ev->ext, ev->n_ext, C_KEYS, key_lookup, &a, &x);
    const struct fields_span *h = ev->hdr;
    const struct fields_span *cat = st == RP_OK ? fields_val(m, C_CAT) : NULL;
    const char *kind =
        st == RP_OK ? lines_kind(h[H_VENDOR].p, h[H_VENDOR].n, h[H_PRODUCT].p, h[H_PRODUCT].n,
                                 h[H_NAME].p, h[H_NAME].n, cat ? cat->p : "", cat ? cat->n : 0)
                    : "other";

    char title[RP_NAME_MAX_BYTES + 1], sig[RP_NAME_MAX_BYTES + 1];
    if (st == RP_OK) {
        size_t tn = lines_clean(h[H_NAME].p, h[H_NAME].n, title, sizeof(title));
        size_t sn = lines_clean(h[H_SIGNATURE].p, h[H_SIGNATURE].n, sig, sizeof(sig));
        if (tn == 0)
            memcpy(title, sn ? sig : "CEF event", (sn ? sn : 9) + 1);
        int sev = cef_severity(&h[H_SEVERITY]);
        st = fields_alert_head(a, kind, &h[H_VENDOR], &h[H_PRODUCT], "cef", title, sig, sn);
        if (st == RP_OK && sev >= 0 &&
            json_object_set_new_nocheck(a, "severity", json_integer(sev)))
            st = RP_E_NOMEM;
    }
    if (st == RP_OK)
        st = cef_map_fields(m, ev, kind, lc->now_ms);
    /* extra.cef: the header as given and every pair without a normalized place */
    static const char *const names[H_COUNT] = {"vendor",       "product", "device_version",
                                               "signature_id", "name",    "severity"};
    if (st == RP_OK && ev->version != 0 &&
        json_object_set_new_nocheck(x, "version", json_integer(ev->version)))
        st = RP_E_NOMEM;
    /* the name is the title; a severity that mapped is the alert's */
    bool sev_mapped = json_object_get(a, "severity") != NULL;
    for (int f = 0; st == RP_OK && f < H_COUNT; f++)
        if (f != H_NAME && h[f].n > 0 && !(f == H_SEVERITY && sev_mapped))
            st = fields_put_span(x, names[f], &h[f]);
    if (st == RP_OK)
        st = cef_put_pairs(ev, m->used, x);
    st = fields_alert_done(st, lc, "cef", a, x, alert);
    cef_event_fini(ev);
    return st;
}

rp_status cef_parse_alert(const char *data, size_t len, json_t **alert, struct rp_error *err)
{
    return lines_parse_marked(data, len, time_now_ms(), "CEF:", cef_alert_in, alert, err);
}

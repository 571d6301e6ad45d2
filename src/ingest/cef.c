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
#include "ingest/lines.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

struct span {
    const char *p;
    size_t n;
};

struct cef_pair {
    struct span key, val;
};

enum { H_VENDOR, H_PRODUCT, H_DVERSION, H_SIGNATURE, H_NAME, H_SEVERITY, H_COUNT };

struct cef_event {
    int version;
    struct span hdr[H_COUNT]; /* unescaped, trimmed */
    struct cef_pair ext[RP_CEF_EXT_MAX];
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

/* Extension key characters: letters, digits, _ . - [ ] */
static const unsigned char KEY_CHAR[256] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
    ['8'] = 1, ['9'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
    ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
    ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1,
    ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1, ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1,
    ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
    ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1,
    ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1, ['_'] = 1, ['.'] = 1,
    ['-'] = 1, ['['] = 1, [']'] = 1,
};

static inline bool key_char(char c)
{
    return KEY_CHAR[(unsigned char)c] != 0;
}

/* Unescapes s[0..n) into the scratch buffer: in the header (ext false) \| and
 * \\; in the extension \= \\ \n \r (and \|, which some producers write). */
static rp_status unescape(struct cef_event *ev, const char *s, size_t n, bool ext, struct span *out)
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
                          struct span *out)
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
    struct cef_pair *p = &ev->ext[ev->n_ext++];
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
        while (i < n && s[i] != '|') {
            if (s[i] == '\\' && i + 1 < n) {
                esc = true;
                i += 2;
            } else {
                i++;
            }
        }
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
    while (i < n && s[i] == ' ')
        i++;
    if (i >= n)
        return RP_OK;
    size_t k0 = i;
    while (i < n && key_char(s[i]) && i - k0 <= RP_CEF_KEY_MAX)
        i++;
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
                size_t j = i;
                while (j < n && s[j] == ' ')
                    j++;
                size_t ks = j;
                while (j < n && key_char(s[j]) && j - ks <= RP_CEF_KEY_MAX)
                    j++;
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
        const struct span *k = &ev->ext[i].key, *v = &ev->ext[i].val;
        if (k->n <= 5 || memcmp(k->p + k->n - 5, "Label", 5) != 0)
            continue;
        if (v->n == 0 || v->n > RP_CEF_KEY_MAX || !lines_fits_name(v->p, v->n))
            continue;
        size_t bn = k->n - 5;
        long base = -1;
        bool clash = false;
        for (size_t j = 0; j < ev->n_ext; j++) {
            const struct span *kj = &ev->ext[j].key;
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
        const struct span *k = &ev->ext[i].key;
        if (label[i] >= 0)
            k = &ev->ext[label[i]].val;
        if (json_object_setn_new_nocheck(obj, k->p, k->n,
                                         lines_str(ev->ext[i].val.p, ev->ext[i].val.n)) != 0)
            return RP_E_NOMEM;
    }
    return RP_OK;
}

static rp_status put_str(json_t *obj, const char *key, const struct span *s)
{
    return json_object_set_new_nocheck(obj, key, lines_str(s->p, s->n)) ? RP_E_NOMEM : RP_OK;
}

rp_status cef_parse(const char *data, size_t len, json_t **out, struct rp_error *err)
{
    *out = NULL;
    const char *line;
    size_t n;
    char *owned;
    rp_status st = lines_prepare(data, len, &line, &n, &owned, err);
    if (st != RP_OK)
        return st;
    struct cef_event *ev = malloc(sizeof(*ev));
    json_t *o = NULL, *ext = NULL;
    if (ev == NULL) {
        free(owned);
        return RP_E_NOMEM;
    }
    st = cef_scan(line, n, 0, ev, err);
    if (st == RP_OK) {
        o = json_object();
        ext = json_object();
        if (o == NULL || ext == NULL)
            st = RP_E_NOMEM;
    }
    if (st == RP_OK && json_object_set_new_nocheck(o, "version", json_integer(ev->version)))
        st = RP_E_NOMEM;
    static const char *const names[H_COUNT] = {"vendor",       "product", "device_version",
                                               "signature_id", "name",    "severity"};
    for (int f = 0; st == RP_OK && f < H_COUNT; f++)
        st = put_str(o, names[f], &ev->hdr[f]);
    if (st == RP_OK)
        st = cef_put_pairs(ev, NULL, ext);
    if (st == RP_OK) {
        st = json_object_set_new_nocheck(o, "extensions", ext) ? RP_E_NOMEM : RP_OK;
        ext = NULL;
    }
    json_decref(ext);
    if (st == RP_OK)
        *out = o;
    else
        json_decref(o);
    cef_event_fini(ev);
    free(ev);
    free(owned);
    return st;
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
#define K(s) s, sizeof(s) - 1
static const struct {
    const char *name;
    size_t len;
    enum cef_key key;
} KEYS[] = {
    {K("cat"), C_CAT},
    {K("destinationAddress"), C_DST},
    {K("destinationHostName"), C_DHOST},
    {K("destinationNtDomain"), C_DNTDOM},
    {K("destinationPort"), C_DPT},
    {K("destinationProcessId"), C_DPID},
    {K("destinationProcessName"), C_DPROC},
    {K("destinationUserName"), C_DUSER},
    {K("deviceAddress"), C_DVC},
    {K("deviceEventCategory"), C_CAT},
    {K("deviceExternalId"), C_DEVEXTID},
    {K("deviceHostName"), C_DVCHOST},
    {K("deviceReceiptTime"), C_RT},
    {K("dhost"), C_DHOST},
    {K("dntdom"), C_DNTDOM},
    {K("dpid"), C_DPID},
    {K("dproc"), C_DPROC},
    {K("dpt"), C_DPT},
    {K("dst"), C_DST},
    {K("duser"), C_DUSER},
    {K("dvc"), C_DVC},
    {K("dvchost"), C_DVCHOST},
    {K("eventOutcome"), C_OUTCOME},
    {K("fileHash"), C_FILEHASH},
    {K("fileName"), C_FNAME},
    {K("filePath"), C_FILEPATH},
    {K("fileSize"), C_FSIZE},
    {K("fname"), C_FNAME},
    {K("fsize"), C_FSIZE},
    {K("outcome"), C_OUTCOME},
    {K("request"), C_REQUEST},
    {K("requestURL"), C_REQUEST},
    {K("rt"), C_RT},
    {K("shost"), C_SHOST},
    {K("sntdom"), C_SNTDOM},
    {K("sourceAddress"), C_SRC},
    {K("sourceHostName"), C_SHOST},
    {K("sourceNtDomain"), C_SNTDOM},
    {K("sourcePort"), C_SPT},
    {K("sourceProcessId"), C_SPID},
    {K("sourceProcessName"), C_SPROC},
    {K("sourceUserName"), C_SUSER},
    {K("spid"), C_SPID},
    {K("sproc"), C_SPROC},
    {K("spt"), C_SPT},
    {K("src"), C_SRC},
    {K("start"), C_START},
    {K("startTime"), C_START},
    {K("suser"), C_SUSER},
};

static int key_lookup(const struct span *k)
{
    size_t lo = 0, hi = sizeof(KEYS) / sizeof(KEYS[0]);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *s = KEYS[mid].name;
        size_t m = KEYS[mid].len;
        int c = memcmp(k->p, s, k->n < m ? k->n : m);
        if (c == 0)
            c = k->n < m ? -1 : k->n > m ? 1 : 0;
        if (c == 0)
            return (int)KEYS[mid].key;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}
#undef K

/* CEF severity: 0-10 (x10), or Unknown/Low/Medium/High/Very-High. -1: none. */
static int cef_severity(const struct span *s)
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

struct cef_map {
    const struct cef_event *ev;
    int slot[C_KEYS]; /* pair index of each key, -1 when absent (a later pair wins) */
    bool used[RP_CEF_EXT_MAX];
    json_t *alert;
};

static const struct span *val(struct cef_map *m, int k)
{
    return m->slot[k] >= 0 ? &m->ev->ext[m->slot[k]].val : NULL;
}

/* alert[obj][key] = the value of k when it is a name; marks it used. */
static rp_status map_name(struct cef_map *m, int k, const char *obj, const char *key)
{
    const struct span *v = val(m, k);
    if (v == NULL || !lines_fits_name(v->p, v->n))
        return RP_OK;
    m->used[m->slot[k]] = true;
    return lines_name(m->alert, obj, key, v->p, v->n, NULL, NULL);
}

static rp_status map_typed(struct cef_map *m, int k, const char *obj, const char *key,
                           enum obs_type t)
{
    const struct span *v = val(m, k);
    if (v == NULL || !lines_fits_typed(t, v->p, v->n))
        return RP_OK;
    m->used[m->slot[k]] = true;
    return lines_typed(m->alert, obj, key, t, v->p, v->n, NULL, NULL);
}

static rp_status map_uint(struct cef_map *m, int k, const char *obj, const char *key, int64_t max)
{
    const struct span *v = val(m, k);
    int64_t x;
    if (v == NULL || !lines_parse_uint(v->p, v->n, max, &x))
        return RP_OK;
    m->used[m->slot[k]] = true;
    return lines_uint(m->alert, obj, key, v->p, v->n, max, NULL, NULL);
}

/* A host field: an address goes to host.ip, a name to host.name. true when
 * taken. */
static rp_status map_host(struct cef_map *m, int k, bool *taken)
{
    const struct span *v = val(m, k);
    *taken = false;
    if (v == NULL)
        return RP_OK;
    if (lines_fits_typed(OBS_IPV4, v->p, v->n)) {
        *taken = true;
        m->used[m->slot[k]] = true;
        return lines_typed(m->alert, "host", "ip", OBS_IPV4, v->p, v->n, NULL, NULL);
    }
    if (lines_fits_typed(OBS_HOSTNAME, v->p, v->n)) {
        *taken = true;
        m->used[m->slot[k]] = true;
        return lines_name(m->alert, "host", "name", v->p, v->n, NULL, NULL);
    }
    return RP_OK;
}

static rp_status map_time(struct cef_map *m, int k, int64_t now_ms, bool *done)
{
    const struct span *v = val(m, k);
    int64_t ms;
    if (*done || v == NULL || !lines_parse_time(v->p, v->n, now_ms, &ms))
        return RP_OK;
    if (!lines_set_time(m->alert, ms))
        return RP_OK;
    *done = true;
    m->used[m->slot[k]] = true;
    return RP_OK;
}

static rp_status cef_map_fields(struct cef_map *m, const char *kind, int64_t now_ms)
{
    const struct cef_event *ev = m->ev;
    rp_status st = RP_OK;
    bool auth = strcmp(kind, "auth") == 0, endpoint = strcmp(kind, "endpoint") == 0;

    /* the user: for a logon the account logged on to (duser), else the actor */
    int first = auth ? C_DUSER : C_SUSER, second = auth ? C_SUSER : C_DUSER;
    int who = val(m, first) && lines_fits_name(val(m, first)->p, val(m, first)->n) ? first : second;
    st = map_name(m, who, "user", "name");
    if (st == RP_OK && m->slot[who] >= 0 && m->used[m->slot[who]]) {
        const struct span *u = val(m, who);
        if (memchr(u->p, '@', u->n) && lines_fits_typed(OBS_EMAIL, u->p, u->n))
            st = lines_typed(m->alert, "user", "email", OBS_EMAIL, u->p, u->n, NULL, NULL);
        if (st == RP_OK)
            st = map_name(m, who == C_DUSER ? C_DNTDOM : C_SNTDOM, "user", "domain");
    }

    /* the host: the destination; for an EDR the device that reported */
    bool taken = false;
    if (st == RP_OK)
        st = map_host(m, C_DHOST, &taken);
    if (st == RP_OK && endpoint) {
        if (!taken)
            st = map_host(m, C_DVCHOST, &taken);
        if (st == RP_OK && !taken)
            st = map_host(m, C_SHOST, &taken);
        if (st == RP_OK && json_object_get(json_object_get(m->alert, "host"), "ip") == NULL)
            st = map_typed(m, C_DVC, "host", "ip", OBS_IPV4);
        if (st == RP_OK)
            st = map_name(m, C_DEVEXTID, "host", "id");
    }

    if (st == RP_OK)
        st = map_typed(m, C_SRC, "src", "ip", OBS_IPV4);
    if (st == RP_OK)
        st = map_uint(m, C_SPT, "src", "port", 65535);
    if (st == RP_OK)
        st = map_typed(m, C_DST, "dst", "ip", OBS_IPV4);
    if (st == RP_OK)
        st = map_uint(m, C_DPT, "dst", "port", 65535);

    if (st == RP_OK)
        st = map_name(m, C_FNAME, "file", "name");
    if (st == RP_OK && val(m, C_FILEPATH) != NULL && val(m, C_FILEPATH)->n <= RP_FIELD_MAX_BYTES) {
        m->used[m->slot[C_FILEPATH]] = true;
        st = lines_text(m->alert, "file", "path", val(m, C_FILEPATH)->p, val(m, C_FILEPATH)->n,
                        NULL, NULL);
    }
    if (st == RP_OK && val(m, C_FILEHASH) != NULL) {
        const struct span *h = val(m, C_FILEHASH);
        if ((h->n == 32 && lines_fits_typed(OBS_MD5, h->p, h->n)) ||
            (h->n == 40 && lines_fits_typed(OBS_SHA1, h->p, h->n)) ||
            (h->n == 64 && lines_fits_typed(OBS_SHA256, h->p, h->n))) {
            m->used[m->slot[C_FILEHASH]] = true;
            st = lines_hash(m->alert, "file", h->p, h->n, NULL, NULL);
        }
    }
    if (st == RP_OK)
        st = map_uint(m, C_FSIZE, "file", "size", 1LL << 53);

    /* the process: the destination's when named, else the source's */
    bool dproc = val(m, C_DPROC) != NULL || val(m, C_DPID) != NULL;
    if (st == RP_OK)
        st = map_name(m, dproc ? C_DPROC : C_SPROC, "process", "name");
    if (st == RP_OK)
        st = map_uint(m, dproc ? C_DPID : C_SPID, "process", "pid", 4294967295LL);

    /* a URL has no field of its own: an observable; the text stays in extra */
    if (st == RP_OK && val(m, C_REQUEST) != NULL)
        st = lines_observable(m->alert, OBS_URL, val(m, C_REQUEST)->p, val(m, C_REQUEST)->n,
                              "related");

    bool timed = false;
    if (st == RP_OK)
        st = map_time(m, C_RT, now_ms, &timed);
    if (st == RP_OK)
        st = map_time(m, C_START, now_ms, &timed);

    if (st == RP_OK && auth) {
        const struct span *o = val(m, C_OUTCOME);
        const char *r = o ? auth_result(o->p, o->n) : NULL;
        if (r != NULL)
            m->used[m->slot[C_OUTCOME]] = true;
        else
            r = auth_result(ev->hdr[H_NAME].p, ev->hdr[H_NAME].n);
        json_t *au = r != NULL ? lines_child(m->alert, "auth") : NULL;
        if (r != NULL &&
            (au == NULL || json_object_set_new_nocheck(au, "result", json_string_nocheck(r))))
            st = RP_E_NOMEM;
    }
    return st;
}

rp_status cef_alert_in(const struct line_ctx *lc, const char *cef, size_t n, json_t **alert,
                       struct rp_error *err)
{
    *alert = NULL;
    /* about 12 KiB of stack: no allocation per line for the parse itself */
    struct cef_map map;
    struct cef_event event;
    struct cef_map *m = &map;
    struct cef_event *ev = &event;
    rp_status st = cef_scan(cef, n, (size_t)(cef - lc->line), ev, err);
    json_t *a = NULL, *x = NULL;
    if (st == RP_OK) {
        a = json_object();
        x = json_object();
        if (a == NULL || x == NULL)
            st = RP_E_NOMEM;
    }
    if (st == RP_OK) {
        m->ev = ev;
        m->alert = a;
        for (int k = 0; k < C_KEYS; k++)
            m->slot[k] = -1;
        for (size_t i = 0; i < ev->n_ext; i++) {
            m->used[i] = false;
            int k = key_lookup(&ev->ext[i].key);
            if (k >= 0)
                m->slot[k] = (int)i;
        }
    }
    const struct span *h = ev->hdr;
    const struct span *cat = st == RP_OK ? val(m, C_CAT) : NULL;
    const char *kind =
        st == RP_OK ? lines_kind(h[H_VENDOR].p, h[H_VENDOR].n, h[H_PRODUCT].p, h[H_PRODUCT].n,
                                 h[H_NAME].p, h[H_NAME].n, cat ? cat->p : "", cat ? cat->n : 0)
                    : "other";

    char source[72], title[RP_NAME_MAX_BYTES + 1], sig[RP_NAME_MAX_BYTES + 1];
    char rule[RP_NAME_MAX_BYTES + 1];
    if (st == RP_OK) {
        if (lines_source_name(h[H_VENDOR].p, h[H_VENDOR].n, source, sizeof(source)) == 0)
            memcpy(source, "cef", 4);
        size_t tn = lines_clean(h[H_NAME].p, h[H_NAME].n, title, sizeof(title));
        size_t sn = lines_clean(h[H_SIGNATURE].p, h[H_SIGNATURE].n, sig, sizeof(sig));
        if (tn == 0)
            memcpy(title, sn ? sig : "CEF event", (sn ? sn : 9) + 1);
        rule[0] = '\0';
        if (sn > 0)
            lines_rule(h[H_VENDOR].p, h[H_VENDOR].n, h[H_PRODUCT].p, h[H_PRODUCT].n, sig, sn, rule,
                       sizeof(rule));
        int sev = cef_severity(&h[H_SEVERITY]);
        if (json_object_set_new_nocheck(a, "kind", json_string_nocheck(kind)) ||
            json_object_set_new_nocheck(a, "source", json_string_nocheck(source)) ||
            json_object_set_new_nocheck(a, "title", json_string_nocheck(title)) ||
            (rule[0] && json_object_set_new_nocheck(a, "rule", json_string_nocheck(rule))) ||
            (sev >= 0 && json_object_set_new_nocheck(a, "severity", json_integer(sev))))
            st = RP_E_NOMEM;
    }
    if (st == RP_OK)
        st = cef_map_fields(m, kind, lc->now_ms);
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
            st = put_str(x, names[f], &h[f]);
    if (st == RP_OK)
        st = cef_put_pairs(ev, m->used, x);
    if (st == RP_OK) {
        json_t *extra = lines_child(a, "extra");
        st = extra == NULL || json_object_set_new_nocheck(extra, "cef", x) ? RP_E_NOMEM : RP_OK;
        x = NULL;
    }
    if (st == RP_OK && json_object_set_new_nocheck(a, "raw", lines_str(lc->line, lc->len)))
        st = RP_E_NOMEM;
    if (st == RP_OK)
        st = lines_fill_from_header(a, lc->hdr);
    json_decref(x);
    if (st == RP_OK)
        *alert = a;
    else
        json_decref(a);
    cef_event_fini(ev);
    return st;
}

rp_status cef_parse_alert(const char *data, size_t len, json_t **alert, struct rp_error *err)
{
    return lines_parse_marked(data, len, time_now_ms(), "CEF:", cef_alert_in, alert, err);
}

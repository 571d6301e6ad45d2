/*
 * fields_internal.h: what the key=value line formats (cef.c, leef.c) share with
 * each other and with syslog.c, inside ingest/ only.
 *
 * A CEF extension and a LEEF attribute list are both a list of key=value pairs,
 * spans of the line. A parser looks each key up in its own table of keys that
 * have a normalized place (struct fields_map: the pair index of each such key,
 * a later pair winning) and then maps them with the helpers below; a pair that
 * went into a normalized field is marked used, and what stays unused is kept
 * under extra.<format>. The helpers set a field only when the value fits it
 * (lines.h), so one odd value never loses the line.
 *
 * The scanning helpers take a pointer and a length and never read past it. The
 * mapping helpers are implemented in syslog.c beside the lines_* helpers they
 * build on; the small ones are inline here because they run for every pair of
 * every line. Pure functions of their input; any thread; RP_E_NOMEM is the only
 * error of the mapping helpers.
 */
#ifndef RP_INGEST_FIELDS_INTERNAL_H
#define RP_INGEST_FIELDS_INTERNAL_H

#include "core/limits.h"
#include "core/status.h"
#include "ingest/lines.h"
#include "model/observable.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Bytes of the line (not NUL-terminated). */
struct fields_span {
    const char *p;
    size_t n;
};

/* One key=value pair, both trimmed. */
struct fields_pair {
    struct fields_span key, val;
};

/* The most keys with a normalized place one format may have (the size of
 * fields_map.slot; each parser checks its table against it at compile time). */
#define FIELDS_KEYS_MAX 32

/* The pairs of one event being mapped into one alert. */
struct fields_map {
    const struct fields_pair *pairs; /* the event's (borrowed) */
    json_t *alert;                   /* the alert being built (borrowed) */
    int slot[FIELDS_KEYS_MAX];       /* pair index of each key, -1 when absent */
    bool used[RP_CEF_EXT_MAX];       /* pair i went into a normalized field */
};

/* One entry of a format's table of the keys with a normalized place, sorted by
 * byte value ({FIELDS_K("src"), C_SRC}). */
struct fields_key {
    const char *name;
    size_t len;
    int key;
};
#define FIELDS_K(s) s, sizeof(s) - 1

/* The key number of the n bytes at s in the table (binary search), or -1. */
static inline int fields_key_find(const struct fields_key *keys, size_t n_keys, const char *s,
                                  size_t n)
{
    size_t lo = 0, hi = n_keys;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        size_t m = keys[mid].len;
        int c = memcmp(s, keys[mid].name, n < m ? n : m);
        if (c == 0)
            c = n < m ? -1 : n > m ? 1 : 0;
        if (c == 0)
            return keys[mid].key;
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

/* A format's key lookup: the key number of k (0..n_keys-1), or -1. */
typedef int (*fields_lookup_fn)(const struct fields_span *k);

/* Fills m for the n pairs (at most RP_CEF_EXT_MAX) of an event: every pair
 * unused, slot[k] the last pair whose key lookup() says is k. */
static inline void fields_map_init(struct fields_map *m, const struct fields_pair *pairs, size_t n,
                                   int n_keys, fields_lookup_fn lookup, json_t *alert)
{
    m->pairs = pairs;
    m->alert = alert;
    for (int k = 0; k < n_keys; k++)
        m->slot[k] = -1;
    for (size_t i = 0; i < n; i++) {
        m->used[i] = false;
        int k = lookup(&pairs[i].key);
        if (k >= 0)
            m->slot[k] = (int)i;
    }
}

/* The value of key k, or NULL when the event has no such pair. */
static inline const struct fields_span *fields_val(const struct fields_map *m, int k)
{
    return m->slot[k] >= 0 ? &m->pairs[m->slot[k]].val : NULL;
}

/* Marks the pair of key k (present) used: it stays out of extra. */
static inline void fields_use(struct fields_map *m, int k)
{
    m->used[m->slot[k]] = true;
}

/* The characters of extension and attribute keys: letters, digits, _ . - in
 * both formats (FIELDS_KEY_LEEF | FIELDS_KEY_CEF), [ ] in CEF only. */
enum { FIELDS_KEY_LEEF = 1, FIELDS_KEY_CEF = 2 };
static const unsigned char FIELDS_KEY_CHAR[256] = {
    ['0'] = 3,
    ['1'] = 3,
    ['2'] = 3,
    ['3'] = 3,
    ['4'] = 3,
    ['5'] = 3,
    ['6'] = 3,
    ['7'] = 3,
    ['8'] = 3,
    ['9'] = 3,
    ['a'] = 3,
    ['b'] = 3,
    ['c'] = 3,
    ['d'] = 3,
    ['e'] = 3,
    ['f'] = 3,
    ['g'] = 3,
    ['h'] = 3,
    ['i'] = 3,
    ['j'] = 3,
    ['k'] = 3,
    ['l'] = 3,
    ['m'] = 3,
    ['n'] = 3,
    ['o'] = 3,
    ['p'] = 3,
    ['q'] = 3,
    ['r'] = 3,
    ['s'] = 3,
    ['t'] = 3,
    ['u'] = 3,
    ['v'] = 3,
    ['w'] = 3,
    ['x'] = 3,
    ['y'] = 3,
    ['z'] = 3,
    ['A'] = 3,
    ['B'] = 3,
    ['C'] = 3,
    ['D'] = 3,
    ['E'] = 3,
    ['F'] = 3,
    ['G'] = 3,
    ['H'] = 3,
    ['I'] = 3,
    ['J'] = 3,
    ['K'] = 3,
    ['L'] = 3,
    ['M'] = 3,
    ['N'] = 3,
    ['O'] = 3,
    ['P'] = 3,
    ['Q'] = 3,
    ['R'] = 3,
    ['S'] = 3,
    ['T'] = 3,
    ['U'] = 3,
    ['V'] = 3,
    ['W'] = 3,
    ['X'] = 3,
    ['Y'] = 3,
    ['Z'] = 3,
    ['_'] = 3,
    ['.'] = 3,
    ['-'] = 3,
    ['['] = FIELDS_KEY_CEF,
    [']'] = FIELDS_KEY_CEF,
};

/* From i: past spaces, then past a run of key characters of the format (set:
 * FIELDS_KEY_CEF or FIELDS_KEY_LEEF) of at most RP_CEF_KEY_MAX + 1 bytes, one
 * more than a key may have so that a longer run shows. The run's start in
 * *start; its end returned. Where a "key=" may start a pair. */
static inline size_t fields_key_run(const char *s, size_t n, size_t i, unsigned set, size_t *start)
{
    while (i < n && s[i] == ' ')
        i++;
    size_t k0 = i;
    while (i < n && (FIELDS_KEY_CHAR[(unsigned char)s[i]] & set) != 0 && i - k0 <= RP_CEF_KEY_MAX)
        i++;
    *start = k0;
    return i;
}

/* The offset of the first stop byte at or after i in s (n when none), passing
 * over backslash escapes ("\x" is two bytes, whatever x is); *esc is set when
 * one was passed. For CEF header fields and RFC 5424 PARAM-VALUEs. */
static inline size_t fields_scan_to(const char *s, size_t n, size_t i, char stop, bool *esc)
{
    while (i < n && s[i] != stop) {
        if (s[i] == '\\' && i + 1 < n) {
            *esc = true;
            i += 2;
        } else {
            i++;
        }
    }
    return i;
}

/* --- mapping into the alert (syslog.c) ----------------------------------------- */

/* alert.obj.key = the value of k when it fits a name; marks it used. */
rp_status fields_map_name(struct fields_map *m, int k, const char *obj,
                          const char *key) RP_MUST_CHECK;

/* The same for a typed value (lines_fits_typed). */
rp_status fields_map_typed(struct fields_map *m, int k, const char *obj, const char *key,
                           enum obs_type t) RP_MUST_CHECK;

/* The same for an unsigned decimal in 0..max. */
rp_status fields_map_uint(struct fields_map *m, int k, const char *obj, const char *key,
                          int64_t max) RP_MUST_CHECK;

/* The same for a text (at most RP_FIELD_MAX_BYTES, control characters allowed). */
rp_status fields_map_text(struct fields_map *m, int k, const char *obj,
                          const char *key) RP_MUST_CHECK;

/* The flow: src.ip, src.port, dst.ip and dst.port from keys src, sport, dst and
 * dport. */
rp_status fields_map_flow(struct fields_map *m, int src, int sport, int dst,
                          int dport) RP_MUST_CHECK;

/* The file: file.name from key name, file.path from key path. */
rp_status fields_map_file(struct fields_map *m, int name, int path) RP_MUST_CHECK;

/* A host field: an address goes to host.ip, a name to host.name; *taken tells
 * whether it went to either. */
rp_status fields_map_host(struct fields_map *m, int k, bool *taken) RP_MUST_CHECK;

/* The user: user.name from key who; when that was taken, user.email too if it
 * is an address, and user.domain from key domain. */
rp_status fields_map_user(struct fields_map *m, int who, int domain) RP_MUST_CHECK;

/* The value of k, when it is a URL, as a "related" observable. The pair is not
 * marked used: a URL has no field of its own, the text stays in extra. */
rp_status fields_map_url(struct fields_map *m, int k) RP_MUST_CHECK;

/* alert.auth.result = result ("success" or "failure") when it is not NULL. */
rp_status fields_set_auth_result(json_t *alert, const char *result) RP_MUST_CHECK;

/* --- the alert around the fields (syslog.c) -------------------------------------- */

/* Two new objects: an event or alert (*obj) and what holds its pairs (*pairs).
 * RP_E_NOMEM when either failed; what was made is left for the caller to free
 * (fields_raw_done, fields_alert_done). */
rp_status fields_objects_new(json_t **obj, json_t **pairs) RP_MUST_CHECK;

/* The start of every *_alert_in of a key=value format, once the event scanned:
 * the alert (*alert) and its extra.<format> (*extra) made (fields_objects_new)
 * and m filled for the event's pairs (fields_map_init). */
static inline rp_status fields_alert_begin(struct fields_map *m, const struct fields_pair *pairs,
                                           size_t n, int n_keys, fields_lookup_fn lookup,
                                           json_t **alert, json_t **extra)
{
    rp_status st = fields_objects_new(alert, extra);
    if (st == RP_OK)
        fields_map_init(m, pairs, n, n_keys, lookup, *alert);
    return st;
}

/* The head of the alert: kind, source (from the vendor, fallback when the vendor
 * gives none), title and rule (from vendor, product and id; none without id,
 * idn bytes of cleaned text). */
rp_status fields_alert_head(json_t *alert, const char *kind, const struct fields_span *vendor,
                            const struct fields_span *product, const char *fallback,
                            const char *title, const char *id, size_t idn) RP_MUST_CHECK;

/* The end of every *_alert_in of a key=value format: when st is RP_OK, extra
 * becomes alert.extra.<format>, the line alert.raw and the syslog header of lc
 * fills what the event did not say; then *out = alert, or alert is freed. extra
 * is consumed either way. st, or the first error. */
rp_status fields_alert_done(rp_status st, const struct line_ctx *lc, const char *format,
                            json_t *alert, json_t *extra, json_t **out) RP_MUST_CHECK;

/* The end of cef_parse and leef_parse: when st is RP_OK, pairs becomes
 * obj[key] and *out = obj; otherwise both are freed. st, or RP_E_NOMEM. */
rp_status fields_raw_done(rp_status st, json_t *obj, const char *key, json_t *pairs,
                          json_t **out) RP_MUST_CHECK;

/* obj[key] = the text of s. RP_E_NOMEM only. */
rp_status fields_put_span(json_t *obj, const char *key, const struct fields_span *s) RP_MUST_CHECK;

/* --- a whole line (syslog.c) ---------------------------------------------------- */

/* What gets the prepared line: n bytes at line (repaired UTF-8, trimmed of its
 * line end), arg as given to fields_parse_line. */
typedef rp_status (*fields_line_fn)(const char *line, size_t n, const void *arg, json_t **out,
                                    struct rp_error *err);

/* *out = NULL, the line prepared (lines_prepare: RP_E_INVALID when too long)
 * and handed to fn, the repaired copy freed after. fn's result. */
rp_status fields_parse_line(const char *data, size_t len, fields_line_fn fn, const void *arg,
                            json_t **out, struct rp_error *err) RP_MUST_CHECK;

#endif

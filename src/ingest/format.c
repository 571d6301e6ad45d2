/*
 * format.c: format names, detection from the first bytes, framing, and the
 * dispatch of one record to its parser. Pure functions; any thread.
 */
#include "ingest/format.h"

#include "core/limits.h"
#include "ingest/cef.h"
#include "ingest/leef.h"
#include "ingest/mail.h"
#include "ingest/syslog.h"
#include "ingest/vendor.h"

#include <ctype.h>
#include <string.h>

static const struct {
    const char *name;
    enum ingest_format format;
} NAMES[] = {
    {"auto", FORMAT_AUTO}, {"json", FORMAT_JSON},     {"syslog", FORMAT_SYSLOG},
    {"cef", FORMAT_CEF},   {"leef", FORMAT_LEEF},     {"mail", FORMAT_MAIL},
    {"eml", FORMAT_MAIL},  {"winxml", FORMAT_WINXML},
};

/* Vendors whose JSON a --format may name (ingest/vendor.h knows them). */
static const char *const VENDORS[] = {
    "crowdstrike", "carbonblack", "cylance", "defender", "msgraph",
    "splunk",      "elastic",     "okta",    "azuread",  "windows",
};

rp_status ingest_format_from_name(const char *name, struct ingest_format_spec *out,
                                  struct rp_error *err)
{
    out->vendor = NULL;
    for (size_t i = 0; i < sizeof(NAMES) / sizeof(NAMES[0]); i++) {
        if (strcmp(name, NAMES[i].name) == 0) {
            out->format = NAMES[i].format;
            return RP_OK;
        }
    }
    for (size_t i = 0; i < sizeof(VENDORS) / sizeof(VENDORS[0]); i++) {
        if (strcmp(name, VENDORS[i]) == 0) {
            out->format = FORMAT_JSON;
            out->vendor = VENDORS[i];
            return RP_OK;
        }
    }
    return rp_error_set(err, RP_E_INVALID,
                        "unknown format '%s' (auto, json, syslog, cef, leef, mail, winxml, or a "
                        "vendor: crowdstrike, carbonblack, cylance, defender, msgraph, splunk, "
                        "elastic, okta, azuread, windows)",
                        name);
}

const char *ingest_format_name(enum ingest_format f)
{
    for (size_t i = 0; i < sizeof(NAMES) / sizeof(NAMES[0]); i++)
        if (NAMES[i].format == f)
            return NAMES[i].name;
    return "unknown";
}

static bool starts(const char *p, size_t n, const char *prefix)
{
    size_t l = strlen(prefix);
    return n >= l && memcmp(p, prefix, l) == 0;
}

enum ingest_format ingest_format_detect(const char *data, size_t len)
{
    size_t i = 0;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < len && isspace((unsigned char)data[i]))
        i++;
    const char *p = data + i;
    size_t n = len - i;
    if (n == 0)
        return FORMAT_JSON;
    if (p[0] == '{' || p[0] == '[')
        return FORMAT_JSON;
    if (starts(p, n, "CEF:"))
        return FORMAT_CEF;
    if (starts(p, n, "LEEF:"))
        return FORMAT_LEEF;
    if (starts(p, n, "<Event") || starts(p, n, "<?xml"))
        return FORMAT_WINXML;
    /* Event Viewer saves its XML in UTF-16 */
    if (i == 0 && n >= 4 && (memcmp(p, "\xFF\xFE<\0", 4) == 0 || memcmp(p, "\xFE\xFF\0<", 4) == 0))
        return FORMAT_WINXML;
    if (p[0] == '<' && n > 1 && isdigit((unsigned char)p[1]))
        return FORMAT_SYSLOG;
    if (mail_detect(p, n))
        return FORMAT_MAIL;
    return FORMAT_SYSLOG;
}

enum ingest_framing ingest_format_framing(enum ingest_format f)
{
    switch (f) {
    case FORMAT_JSON:
        return FRAMING_JSON;
    case FORMAT_MAIL:
    case FORMAT_WINXML:
        return FRAMING_WHOLE;
    case FORMAT_AUTO:
    case FORMAT_SYSLOG:
    case FORMAT_CEF:
    case FORMAT_LEEF:
        break;
    }
    return FRAMING_LINES;
}

size_t ingest_format_record_max(enum ingest_format f)
{
    switch (ingest_format_framing(f)) {
    case FRAMING_JSON:
        return RP_RECORD_MAX_BYTES;
    case FRAMING_WHOLE:
        return RP_INGEST_WHOLE_MAX;
    case FRAMING_LINES:
        break;
    }
    return RP_INGEST_LINE_MAX;
}

/* --- records of several alerts -------------------------------------------------- */

rp_status ingest_item_single(rp_status st, json_t *alert, const struct rp_error *err,
                             const char *data, size_t len, ingest_item_fn fn, void *arg)
{
    if (st != RP_OK && st != RP_E_INVALID && st != RP_E_NOTFOUND) {
        json_decref(alert);
        return st;
    }
    struct ingest_item it = {
        st, st == RP_OK ? alert : NULL, st == RP_OK ? NULL : err->msg, 0, 0, data, len};
    return fn(arg, &it);
}

/* Reports the elements past RP_INGEST_ELEMENTS_MAX as one rejected item. */
static rp_status too_many(size_t total, size_t offset, const char *data, size_t len,
                          ingest_item_fn fn, void *arg)
{
    struct rp_error err;
    rp_error_set(&err, RP_E_INVALID,
                 "%zu elements, over the limit of %d: elements %d to %zu not read "
                 "(fetch smaller pages)",
                 total, RP_INGEST_ELEMENTS_MAX, RP_INGEST_ELEMENTS_MAX + 1, total);
    struct ingest_item it = {RP_E_INVALID, NULL, err.msg, (size_t)RP_INGEST_ELEMENTS_MAX + 1,
                             offset,       data, len};
    return fn(arg, &it);
}

/*
 * API list envelopes. A vendor's API answers a list request with its alerts in
 * an array under a key of the response; each element is one alert of that
 * vendor, the rest of the response is paging. The envelope is recognised by
 * the list key holding an array and one of the keys that API puts beside it
 * (or by the list key being the only key), and only when no vendor recognises
 * the document itself: an alert is never taken apart.
 */
struct envelope {
    const char *key;            /* the list */
    const char *key2;           /* the list inside key's object (hits.hits), or NULL */
    const char *const *markers; /* keys of the response beside the list */
    bool unwrap_source;         /* an element is a search hit: try its _source too */
};

static const char *const ODATA_KEYS[] = {"@odata.context", "@odata.nextLink", "@odata.count", NULL};
static const char *const CS_KEYS[] = {"meta", "errors", NULL};
static const char *const RESULTS_KEYS[] = {"num_found",   "num_available", "preview", "fields",
                                           "init_offset", "messages",      NULL};
static const char *const PAGE_KEYS[] = {"page_number", "page_size", "total_pages",
                                        "total_number_of_items", NULL};
static const char *const HITS_KEYS[] = {"took", "timed_out", "_shards", NULL};

static const struct envelope ENVELOPES[] = {
    {"value", NULL, ODATA_KEYS, false},     /* Defender for Endpoint, Microsoft Graph */
    {"resources", NULL, CS_KEYS, false},    /* CrowdStrike Falcon */
    {"results", NULL, RESULTS_KEYS, false}, /* Carbon Black Cloud, Splunk REST */
    {"page_items", NULL, PAGE_KEYS, false}, /* Cylance */
    {"hits", "hits", HITS_KEYS, true},      /* Elasticsearch _search */
};

/* The envelope doc is, and its list; NULL when it is none. */
static const struct envelope *envelope_of(json_t *doc, json_t **list)
{
    if (!json_is_object(doc))
        return NULL;
    for (size_t i = 0; i < sizeof(ENVELOPES) / sizeof(ENVELOPES[0]); i++) {
        const struct envelope *e = &ENVELOPES[i];
        json_t *l = json_object_get(doc, e->key);
        if (e->key2 != NULL)
            l = json_object_get(l, e->key2);
        if (!json_is_array(l))
            continue;
        bool marked = json_object_size(doc) == 1;
        for (size_t k = 0; !marked && e->markers[k] != NULL; k++)
            marked = json_object_get(doc, e->markers[k]) != NULL;
        if (!marked)
            continue;
        *list = l;
        return e;
    }
    return NULL;
}

/* A forward scanner over JSON text that jansson has accepted: it finds where
 * values start and end (strings, escapes and nesting tracked) without building
 * anything, so that each element keeps its bytes as received. Bounded by n
 * everywhere; no recursion. */
static size_t js_ws(const char *d, size_t n, size_t i)
{
    while (i < n && (d[i] == ' ' || d[i] == '\t' || d[i] == '\n' || d[i] == '\r'))
        i++;
    return i;
}

static size_t js_string_end(const char *d, size_t n, size_t i)
{
    for (i++; i < n; i++) {
        if (d[i] == '\\')
            i++;
        else if (d[i] == '"')
            return i + 1;
    }
    return n;
}

static size_t js_value_end(const char *d, size_t n, size_t i)
{
    if (i >= n)
        return n;
    if (d[i] == '"')
        return js_string_end(d, n, i);
    if (d[i] != '{' && d[i] != '[') {
        while (i < n && !strchr(",}] \t\r\n", d[i]))
            i++;
        return i;
    }
    size_t depth = 0;
    while (i < n) {
        char ch = d[i];
        if (ch == '"') {
            i = js_string_end(d, n, i);
            continue;
        }
        i++;
        if (ch == '{' || ch == '[')
            depth++;
        else if ((ch == '}' || ch == ']') && --depth == 0)
            return i;
    }
    return n;
}

/* The value of member key of the object at d[i] (its first byte); false when
 * there is none (or a key is written with escapes, which the scanner does not
 * decode: the caller then falls back). */
static bool js_member(const char *d, size_t n, size_t i, const char *key, size_t *vs)
{
    i = js_ws(d, n, i);
    if (i >= n || d[i] != '{')
        return false;
    size_t kl = strlen(key);
    for (i = js_ws(d, n, i + 1); i < n && d[i] == '"';) {
        size_t ks = i + 1, ke = js_string_end(d, n, i);
        i = js_ws(d, n, ke);
        if (i >= n || d[i] != ':')
            return false;
        i = js_ws(d, n, i + 1);
        if (ke - 1 - ks == kl && memcmp(d + ks, key, kl) == 0) {
            *vs = i;
            return true;
        }
        i = js_ws(d, n, js_value_end(d, n, i));
        if (i >= n || d[i] != ',')
            return false;
        i = js_ws(d, n, i + 1);
    }
    return false;
}

struct json_elements {
    const char *data;
    size_t len;
    const struct ingest_format_spec *spec;
    bool unwrap_source;
    ingest_item_fn fn;
    void *arg;
};

/* One element of an envelope: normalized as the vendor's (named, or
 * recognised), else taken as a normalized alert for the gate to check. */
static rp_status json_element(const struct json_elements *je, json_t *e, size_t index, size_t off,
                              size_t end)
{
    struct rp_error err;
    json_t *alert = NULL;
    char *dumped = NULL;
    rp_status st;
    if (!json_is_object(e)) {
        st = rp_error_set(&err, RP_E_INVALID,
                          "%s, not an object (a list of ids? fetch the entities)",
                          json_is_string(e) ? "a string" : "not an alert");
    } else if (je->spec->vendor != NULL) {
        st = vendor_normalize_as(je->spec->vendor, e, &alert, &err);
        if (st == RP_E_NOTFOUND)
            st = RP_E_INVALID;
    } else {
        st = vendor_normalize(e, &alert, NULL, &err);
        json_t *src = json_object_get(e, "_source");
        if (st == RP_E_NOTFOUND && je->unwrap_source && json_is_object(src))
            st = vendor_normalize(src, &alert, NULL, &err);
        if (st == RP_E_NOTFOUND) { /* no vendor's: a normalized alert already */
            alert = json_incref(e);
            st = RP_OK;
        }
    }
    if (st != RP_OK && st != RP_E_INVALID)
        return st;
    struct ingest_item it = {
        st, alert, st == RP_OK ? NULL : err.msg, index, off, je->data + off, end - off};
    if (end <= off) { /* the scanner lost the element: its serialisation stands in */
        dumped = json_dumps(e, JSON_COMPACT | JSON_ENCODE_ANY);
        if (dumped == NULL) {
            json_decref(alert);
            return RP_E_NOMEM;
        }
        it.raw = dumped;
        it.raw_len = strlen(dumped);
    }
    st = je->fn(je->arg, &it);
    free(dumped);
    return st;
}

/* Every element of an envelope's list, with its bytes. */
static rp_status json_envelope(const struct ingest_format_spec *spec, const struct envelope *env,
                               json_t *list, const char *data, size_t len, ingest_item_fn fn,
                               void *arg)
{
    struct json_elements je = {data, len, spec, env->unwrap_source, fn, arg};
    size_t at = 0;
    bool spans = js_member(data, len, 0, env->key, &at) &&
                 (env->key2 == NULL || js_member(data, len, at, env->key2, &at)) && at < len &&
                 data[at] == '[';
    size_t i = spans ? js_ws(data, len, at + 1) : len;
    size_t total = json_array_size(list);
    rp_status st = RP_OK;
    for (size_t k = 0; k < total && st == RP_OK; k++) {
        size_t off = i, end = i;
        if (spans && i < len && data[i] != ']') {
            end = js_value_end(data, len, i);
            i = js_ws(data, len, end);
            if (i < len && data[i] == ',')
                i = js_ws(data, len, i + 1);
        } else {
            spans = false;
            off = end = 0;
        }
        if (k == RP_INGEST_ELEMENTS_MAX)
            return too_many(total, off, data + off, len - off, fn, arg);
        st = json_element(&je, json_array_get(list, k), k + 1, off, end);
    }
    if (st == RP_OK && total == 0) {
        struct rp_error err;
        rp_error_set(&err, RP_E_NOTFOUND, "an empty list (\"%s\"): no alert", env->key);
        struct ingest_item it = {RP_E_NOTFOUND, NULL, err.msg, 0, 0, data, len};
        st = fn(arg, &it);
    }
    return st;
}

static rp_status read_json(const struct ingest_format_spec *spec, const char *data, size_t len,
                           ingest_item_fn fn, void *arg)
{
    struct rp_error err;
    json_error_t jerr;
    json_t *alert = NULL, *list = NULL;
    json_t *doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL && jerr.line <= 1) /* the record's own line is reported with it */
        return ingest_item_single(rp_error_set(&err, RP_E_INVALID, "invalid JSON at column %d: %s",
                                               jerr.column, jerr.text),
                                  NULL, &err, data, len, fn, arg);
    if (doc == NULL)
        return ingest_item_single(
            rp_error_set(&err, RP_E_INVALID,
                         "invalid JSON at line %d (of the record) column %d: %s", jerr.line,
                         jerr.column, jerr.text),
            NULL, &err, data, len, fn, arg);
    const struct envelope *env = envelope_of(doc, &list);
    rp_status st;
    if (spec->vendor != NULL) {
        st = env != NULL ? RP_E_NOTFOUND : vendor_normalize_as(spec->vendor, doc, &alert, &err);
    } else if (!json_is_object(doc)) {
        st = RP_E_NOTFOUND; /* alert_normalize says what is wrong with it */
    } else {
        st = vendor_normalize(doc, &alert, NULL, &err);
    }
    if (st == RP_E_NOTFOUND && env != NULL) {
        st = json_envelope(spec, env, list, data, len, fn, arg);
        json_decref(doc);
        return st;
    }
    if (st == RP_E_NOTFOUND && spec->vendor == NULL) {
        alert = doc; /* no vendor's: a normalized alert already */
        doc = NULL;
        st = RP_OK;
    } else if (st == RP_E_NOTFOUND) {
        st = rp_error_set(&err, RP_E_INVALID, "not a %s document", spec->vendor);
    }
    json_decref(doc);
    return ingest_item_single(st, alert, &err, data, len, fn, arg);
}

rp_status ingest_format_read_each(const struct ingest_format_spec *spec, const char *data,
                                  size_t len, ingest_item_fn fn, void *arg)
{
    struct rp_error err;
    json_t *alert = NULL;
    rp_status st;
    enum ingest_format f = spec->format;
    if (f == FORMAT_AUTO)
        f = ingest_format_detect(data, len);
    switch (f) {
    case FORMAT_JSON:
        return read_json(spec, data, len, fn, arg);
    case FORMAT_MAIL:
        st = mail_parse_alert(data, len, &alert, &err);
        return ingest_item_single(st, alert, &err, data, len, fn, arg);
    case FORMAT_WINXML:
        return winevent_xml_parse_each(data, len, fn, arg);
    case FORMAT_CEF:
        st = starts(data, len, "CEF:") ? cef_parse_alert(data, len, &alert, &err)
                                       : syslog_parse_alert(data, len, &alert, &err);
        return ingest_item_single(st, alert, &err, data, len, fn, arg);
    case FORMAT_LEEF:
        st = starts(data, len, "LEEF:") ? leef_parse_alert(data, len, &alert, &err)
                                        : syslog_parse_alert(data, len, &alert, &err);
        return ingest_item_single(st, alert, &err, data, len, fn, arg);
    case FORMAT_SYSLOG:
    case FORMAT_AUTO:
        break;
    }
    /* a JSON document in a stream of lines (a SIEM mixing its outputs) */
    if (len > 0 && data[0] == '{')
        return read_json(spec, data, len, fn, arg);
    st = syslog_parse_alert(data, len, &alert, &err);
    return ingest_item_single(st, alert, &err, data, len, fn, arg);
}

/* ingest_format_read: the one item of a record of one alert. */
struct read_one {
    json_t *alert;
    rp_status st;
    struct rp_error *err;
    size_t items;
};

static rp_status take_one(void *arg, const struct ingest_item *it)
{
    struct read_one *r = arg;
    if (r->items++ == 0) {
        r->st = it->st;
        r->alert = it->alert;
        if (it->st != RP_OK)
            rp_error_set(r->err, it->st, "%s", it->reason);
        return RP_OK;
    }
    json_decref(it->alert);
    return RP_OK;
}

rp_status ingest_format_read(const struct ingest_format_spec *spec, const char *data, size_t len,
                             json_t **alert, struct rp_error *err)
{
    struct read_one r = {NULL, RP_OK, err, 0};
    *alert = NULL;
    rp_status st = ingest_format_read_each(spec, data, len, take_one, &r);
    if (st != RP_OK) {
        json_decref(r.alert);
        return rp_error_set(err, st, "%s", rp_status_str(st));
    }
    if (r.items > 1) {
        json_decref(r.alert);
        return rp_error_set(err, RP_E_INVALID,
                            "the record holds %zu alerts (read it with ingest_format_read_each)",
                            r.items);
    }
    *alert = r.alert;
    return r.st;
}

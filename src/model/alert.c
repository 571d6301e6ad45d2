/*
 * alert.c: validation and normalization of alerts (DESIGN.md §2).
 *
 * The schema below is the normalized alert: each field with its type and the
 * limits of its values. alert_normalize() walks the input against it, builds a
 * new object in schema order (so that every stored alert reads the same way),
 * derives the observables from the typed fields and computes the fingerprint.
 * Pure function of its inputs; any thread. Fails whole, naming the field path.
 */
#include "model/alert.h"

#include "core/buf.h"
#include "core/hash.h"
#include "core/limits.h"
#include "core/time.h"
#include "model/observable.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const KIND_NAMES[] = {"endpoint", "auth", "phishing", "network", "other"};

const char *alert_kind_name(enum alert_kind k)
{
    return (k >= ALERT_ENDPOINT && k <= ALERT_OTHER) ? KIND_NAMES[k] : "other";
}

rp_status alert_kind_parse(const char *s, enum alert_kind *out)
{
    for (int i = 0; i <= ALERT_OTHER; i++) {
        if (strcmp(s, KIND_NAMES[i]) == 0) {
            *out = (enum alert_kind)i;
            return RP_OK;
        }
    }
    return RP_E_INVALID;
}

static const char *const LABELS[] = {"info", "low", "medium", "high", "critical"};

const char *severity_label(int severity)
{
    if (severity < 0)
        severity = 0;
    if (severity > 100)
        severity = 100;
    int i = severity / 20;
    return LABELS[i > 4 ? 4 : i];
}

rp_status severity_from_label(const char *label, int *out)
{
    for (int i = 0; i < 5; i++) {
        if (strcasecmp(label, LABELS[i]) == 0) {
            *out = i * 20 + 10;
            return RP_OK;
        }
    }
    return RP_E_INVALID;
}

/* --- the schema ------------------------------------------------------------ */

enum ftype {
    F_NAME,     /* short string: names, ids; trimmed; no control characters */
    F_TEXT,     /* longer string (command line, subject); no NUL */
    F_INT,      /* integer in [min, max]; a string of digits is accepted */
    F_IP,       /* IPv4 or IPv6, canonical */
    F_HOSTNAME, /* canonical hostname */
    F_EMAIL,    /* canonical email address */
    F_MAILBOX,  /* "Name <addr>" or addr: kept as text, the address is derived */
    F_URL,      /* canonical URL */
    F_MD5,
    F_SHA1,
    F_SHA256,
    F_OBJECT, /* sub-schema */
    F_ANY,    /* any JSON value (kept as given) */
    F_ANYOBJ, /* any JSON object (kept as given) */
};

struct field {
    const char *name;
    enum ftype type;
    bool list;               /* an array of this type */
    const struct field *sub; /* F_OBJECT: its fields, NULL-terminated */
    long long min, max;      /* F_INT */
};

#define END                                                                                        \
    {                                                                                              \
        NULL, F_NAME, false, NULL, 0, 0                                                            \
    }

static const struct field HOST[] = {
    {"name", F_HOSTNAME, false, NULL, 0, 0},
    {"ip", F_IP, false, NULL, 0, 0},
    {"id", F_NAME, false, NULL, 0, 0},
    {"os", F_NAME, false, NULL, 0, 0},
    END,
};
static const struct field USER[] = {
    {"name", F_NAME, false, NULL, 0, 0},
    {"email", F_EMAIL, false, NULL, 0, 0},
    {"domain", F_NAME, false, NULL, 0, 0},
    END,
};
static const struct field SRC[] = {
    {"ip", F_IP, false, NULL, 0, 0},
    {"port", F_INT, false, NULL, 0, 65535},
    {"geo", F_ANYOBJ, false, NULL, 0, 0},
    END,
};
static const struct field DST[] = {
    {"ip", F_IP, false, NULL, 0, 0},
    {"port", F_INT, false, NULL, 0, 65535},
    END,
};
static const struct field PARENT[] = {
    {"name", F_NAME, false, NULL, 0, 0},
    {"cmdline", F_TEXT, false, NULL, 0, 0},
    {"pid", F_INT, false, NULL, 0, 4294967295LL},
    END,
};
static const struct field PROCESS[] = {
    {"name", F_NAME, false, NULL, 0, 0},       {"path", F_TEXT, false, NULL, 0, 0},
    {"cmdline", F_TEXT, false, NULL, 0, 0},    {"pid", F_INT, false, NULL, 0, 4294967295LL},
    {"md5", F_MD5, false, NULL, 0, 0},         {"sha256", F_SHA256, false, NULL, 0, 0},
    {"parent", F_OBJECT, false, PARENT, 0, 0}, END,
};
static const struct field FILE_[] = {
    {"name", F_NAME, false, NULL, 0, 0},
    {"path", F_TEXT, false, NULL, 0, 0},
    {"size", F_INT, false, NULL, 0, (1LL << 53)},
    {"md5", F_MD5, false, NULL, 0, 0},
    {"sha1", F_SHA1, false, NULL, 0, 0},
    {"sha256", F_SHA256, false, NULL, 0, 0},
    END,
};
static const struct field ATTACHMENT[] = {
    {"name", F_NAME, false, NULL, 0, 0},
    {"type", F_NAME, false, NULL, 0, 0}, /* as declared by the mail */
    {"sniffed_type", F_NAME, false, NULL, 0, 0},
    {"size", F_INT, false, NULL, 0, (1LL << 53)},
    {"md5", F_MD5, false, NULL, 0, 0},
    {"sha1", F_SHA1, false, NULL, 0, 0},
    {"sha256", F_SHA256, false, NULL, 0, 0},
    END,
};
static const struct field LINK[] = {
    {"url", F_URL, false, NULL, 0, 0},
    {"text", F_TEXT, false, NULL, 0, 0},
    END,
};
static const struct field EMAIL_AUTH[] = {
    {"spf", F_NAME, false, NULL, 0, 0},
    {"dkim", F_NAME, false, NULL, 0, 0},
    {"dmarc", F_NAME, false, NULL, 0, 0},
    END,
};
static const struct field EMAIL[] = {
    {"message_id", F_NAME, false, NULL, 0, 0},
    {"from", F_MAILBOX, false, NULL, 0, 0},
    {"reply_to", F_MAILBOX, false, NULL, 0, 0},
    {"return_path", F_MAILBOX, false, NULL, 0, 0},
    {"to", F_MAILBOX, true, NULL, 0, 0},
    {"subject", F_TEXT, false, NULL, 0, 0},
    {"date", F_NAME, false, NULL, 0, 0},
    {"received", F_TEXT, true, NULL, 0, 0},
    {"body_text", F_TEXT, false, NULL, 0, 0},
    {"body_html", F_TEXT, false, NULL, 0, 0},
    {"urls", F_URL, true, NULL, 0, 0},
    {"links", F_OBJECT, true, LINK, 0, 0},
    {"attachments", F_OBJECT, true, ATTACHMENT, 0, 0},
    {"headers", F_ANYOBJ, false, NULL, 0, 0},
    {"auth", F_OBJECT, false, EMAIL_AUTH, 0, 0},
    {"forwarded", F_NAME, false, NULL, 0, 0}, /* "inline": the headers are the quoted block's */
    END,
};
static const struct field AUTH[] = {
    {"result", F_NAME, false, NULL, 0, 0},
    {"method", F_NAME, false, NULL, 0, 0},
    {"reason", F_TEXT, false, NULL, 0, 0},
    {"count", F_INT, false, NULL, 0, (1LL << 53)},
    {"window_s", F_INT, false, NULL, 0, (1LL << 53)},
    END,
};
static const struct field REPORTER[] = {
    {"name", F_NAME, false, NULL, 0, 0},
    {"email", F_EMAIL, false, NULL, 0, 0},
    END,
};

/* Top-level fields handled by the schema walk, in output order. The special
 * ones (id, kind, severity, times, fingerprint, observables) are handled by code
 * and listed in SPECIAL so that they are not "unknown". */
static const struct field TOP[] = {
    {"source", F_NAME, false, NULL, 0, 0},  {"rule", F_NAME, false, NULL, 0, 0},
    {"title", F_NAME, false, NULL, 0, 0},   {"host", F_OBJECT, false, HOST, 0, 0},
    {"user", F_OBJECT, false, USER, 0, 0},  {"src", F_OBJECT, false, SRC, 0, 0},
    {"dst", F_OBJECT, false, DST, 0, 0},    {"process", F_OBJECT, false, PROCESS, 0, 0},
    {"file", F_OBJECT, false, FILE_, 0, 0}, {"email", F_OBJECT, false, EMAIL, 0, 0},
    {"auth", F_OBJECT, false, AUTH, 0, 0},  {"reporter", F_OBJECT, false, REPORTER, 0, 0},
    {"tags", F_NAME, true, NULL, 0, 0},     {"extra", F_ANYOBJ, false, NULL, 0, 0},
    {"raw", F_ANY, false, NULL, 0, 0},      END,
};
static const char *const SPECIAL[] = {
    "id",          "kind",        "severity", "severity_label", "event_time", "received_time",
    "fingerprint", "observables", NULL,
};

/* --- helpers ----------------------------------------------------------------- */

struct ctx {
    struct buf tmp; /* scratch for canonical values */
    struct rp_error *err;
};

static rp_status fail(struct ctx *c, const char *path, const char *fmt, ...) RP_PRINTF(3, 4);

static rp_status fail(struct ctx *c, const char *path, const char *fmt, ...)
{
    char what[RP_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return rp_error_set(c->err, RP_E_INVALID, "%s: %s", path, what);
}

/* "base.key" (or "key" at the top) in out, cut to cap - 1 bytes as snprintf
 * would. Runs for every field of every alert: copies, not a format. */
static void join_path(char *out, size_t cap, const char *base, const char *key)
{
    if (cap == 0)
        return;
    size_t len = 0;
    const char *parts[3] = {base, base[0] != '\0' ? "." : "", key};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(parts[i]);
        if (n > cap - 1 - len)
            n = cap - 1 - len;
        memcpy(out + len, parts[i], n);
        len += n;
    }
    out[len] = '\0';
}

static const char *json_type_name(json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT:
        return "an object";
    case JSON_ARRAY:
        return "an array";
    case JSON_STRING:
        return "a string";
    case JSON_INTEGER:
    case JSON_REAL:
        return "a number";
    case JSON_TRUE:
    case JSON_FALSE:
        return "a boolean";
    case JSON_NULL:
        return "null";
    }
    return "?";
}

/* Strings: trimmed (names), bounded, no control characters (names) */
static rp_status get_string(struct ctx *c, const char *path, json_t *v, bool name, const char **s,
                            size_t *n)
{
    if (!json_is_string(v))
        return fail(c, path, "must be a string, not %s", json_type_name(v));
    const char *p = json_string_value(v);
    size_t len = json_string_length(v);
    if (name) {
        while (len > 0 && isspace((unsigned char)*p)) {
            p++;
            len--;
        }
        while (len > 0 && isspace((unsigned char)p[len - 1]))
            len--;
        for (size_t i = 0; i < len; i++)
            if ((unsigned char)p[i] < 0x20 || p[i] == 0x7f)
                return fail(c, path, "control character in a name");
    }
    size_t max = name ? RP_NAME_MAX_BYTES : RP_FIELD_MAX_BYTES;
    if (len > max) {
        return fail(c, path, "longer than %zu bytes", max);
    }
    *s = p;
    *n = len;
    return RP_OK;
}

static rp_status get_int(struct ctx *c, const char *path, json_t *v, long long min, long long max,
                         long long *out)
{
    long long x;
    if (json_is_integer(v)) {
        x = json_integer_value(v);
    } else if (json_is_real(v)) {
        double d = json_real_value(v);
        if (d != floor(d) || d < -9e15 || d > 9e15)
            return fail(c, path, "must be a whole number");
        x = (long long)d;
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = json_string_length(v);
        if (n == 0 || n > 18)
            return fail(c, path, "must be an integer, not a string");
        x = 0;
        for (size_t i = 0; i < n; i++) {
            if (!isdigit((unsigned char)s[i]))
                return fail(c, path, "must be an integer, not the string \"%s\"", s);
            x = x * 10 + (s[i] - '0');
        }
    } else {
        return fail(c, path, "must be an integer, not %s", json_type_name(v));
    }
    if (x < min || x > max) {
        return fail(c, path, "out of range %lld-%lld", min, max);
    }
    *out = x;
    return RP_OK;
}

static rp_status canonical(struct ctx *c, const char *path, enum obs_type t, const char *s,
                           size_t n, json_t **out)
{
    struct rp_error e;
    rp_status st = observable_canonical(t, s, n, &c->tmp, NULL, &e);
    if (st == RP_E_INVALID)
        return fail(c, path, "%s", e.msg);
    if (st != RP_OK)
        return rp_error_set(c->err, st, "%s: %s", path, rp_status_str(st));
    *out = json_stringn(c->tmp.data, c->tmp.len);
    return *out ? RP_OK : RP_E_NOMEM;
}

static rp_status norm_object(struct ctx *c, json_t *in, const struct field *schema,
                             const char *path, json_t **out);

/* Normalizes one scalar (or object) value of field f. *out NULL: drop it. */
static rp_status norm_value(struct ctx *c, const struct field *f, json_t *v, const char *path,
                            json_t **out)
{
    const char *s;
    size_t n;
    rp_status st;
    *out = NULL;
    switch (f->type) {
    case F_NAME:
    case F_TEXT:
        st = get_string(c, path, v, f->type == F_NAME, &s, &n);
        if (st != RP_OK || n == 0)
            return st;
        *out = json_stringn(s, n);
        return *out ? RP_OK : RP_E_NOMEM;
    case F_INT: {
        long long x;
        st = get_int(c, path, v, f->min, f->max, &x);
        if (st != RP_OK)
            return st;
        *out = json_integer(x);
        return *out ? RP_OK : RP_E_NOMEM;
    }
    case F_IP:
    case F_HOSTNAME:
    case F_EMAIL:
    case F_URL:
    case F_MD5:
    case F_SHA1:
    case F_SHA256: {
        static const enum obs_type map[] = {
            [F_IP] = OBS_IPV4,       [F_HOSTNAME] = OBS_HOSTNAME, [F_EMAIL] = OBS_EMAIL,
            [F_URL] = OBS_URL,       [F_MD5] = OBS_MD5,           [F_SHA1] = OBS_SHA1,
            [F_SHA256] = OBS_SHA256,
        };
        st = get_string(c, path, v, f->type != F_URL, &s, &n);
        if (st != RP_OK || n == 0)
            return st;
        return canonical(c, path, map[f->type], s, n, out);
    }
    case F_MAILBOX:
        st = get_string(c, path, v, true, &s, &n);
        if (st != RP_OK || n == 0)
            return st;
        *out = json_stringn(s, n);
        return *out ? RP_OK : RP_E_NOMEM;
    case F_OBJECT:
        return norm_object(c, v, f->sub, path, out);
    case F_ANYOBJ:
        if (!json_is_object(v))
            return fail(c, path, "must be an object, not %s", json_type_name(v));
        *out = json_incref(v);
        return RP_OK;
    case F_ANY:
        *out = json_incref(v);
        return RP_OK;
    }
    return fail(c, path, "unsupported field");
}

static rp_status norm_field(struct ctx *c, const struct field *f, json_t *v, const char *path,
                            json_t **out)
{
    *out = NULL;
    if (json_is_null(v))
        return RP_OK;
    if (!f->list)
        return norm_value(c, f, v, path, out);
    if (!json_is_array(v))
        return fail(c, path, "must be an array, not %s", json_type_name(v));
    if (json_array_size(v) > RP_ARRAY_MAX) {
        return fail(c, path, "more than %d entries", RP_ARRAY_MAX);
    }
    json_t *arr = json_array();
    if (arr == NULL)
        return RP_E_NOMEM;
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e)
    {
        char p[256];
        rp_fmt(p, sizeof(p), "%s[%zu]", path, i);
        json_t *ne;
        rp_status st = json_is_null(e) ? RP_OK : norm_value(c, f, e, p, &ne);
        if (st != RP_OK) {
            json_decref(arr);
            return st;
        }
        if (!json_is_null(e) && ne != NULL && json_array_append_new(arr, ne) != 0) {
            json_decref(arr);
            return RP_E_NOMEM;
        }
    }
    *out = arr;
    return RP_OK;
}

static bool is_special(const char *key)
{
    for (int i = 0; SPECIAL[i]; i++)
        if (strcmp(key, SPECIAL[i]) == 0)
            return true;
    return false;
}

static const struct field *find_field(const struct field *schema, const char *key)
{
    for (const struct field *f = schema; f->name; f++)
        if (strcmp(f->name, key) == 0)
            return f;
    return NULL;
}

/* Normalizes an object against schema. At the top level (path ""), special keys
 * are skipped here. An object left empty is dropped (*out NULL). */
static rp_status norm_object(struct ctx *c, json_t *in, const struct field *schema,
                             const char *path, json_t **out)
{
    *out = NULL;
    if (!json_is_object(in))
        return fail(c, path[0] ? path : "record", "must be an object, not %s", json_type_name(in));
    const char *key;
    json_t *v;
    json_object_foreach(in, key, v)
    {
        if (find_field(schema, key) == NULL && !(path[0] == '\0' && is_special(key))) {
            char p[256];
            join_path(p, sizeof(p), path, key);
            return fail(c, p, "unknown field");
        }
    }
    json_t *obj = json_object();
    if (obj == NULL)
        return RP_E_NOMEM;
    for (const struct field *f = schema; f->name; f++) {
        v = json_object_get(in, f->name);
        if (v == NULL)
            continue;
        char p[256];
        join_path(p, sizeof(p), path, f->name);
        json_t *nv;
        rp_status st = norm_field(c, f, v, p, &nv);
        if (st != RP_OK) {
            json_decref(obj);
            return st;
        }
        if (nv != NULL && json_object_set_new(obj, f->name, nv) != 0) {
            json_decref(obj);
            return RP_E_NOMEM;
        }
    }
    if (json_object_size(obj) == 0 && path[0] != '\0') {
        json_decref(obj);
        return RP_OK;
    }
    *out = obj;
    return RP_OK;
}

/* --- observables --------------------------------------------------------------- */

static json_t *path_get(json_t *root, const char *path)
{
    char part[64];
    json_t *cur = root;
    while (cur != NULL && *path) {
        const char *dot = strchr(path, '.');
        size_t len = dot ? (size_t)(dot - path) : strlen(path);
        if (len >= sizeof(part))
            return NULL;
        memcpy(part, path, len);
        part[len] = '\0';
        cur = json_is_object(cur) ? json_object_get(cur, part) : NULL;
        path += len + (dot != NULL);
    }
    return cur;
}

/* Adds {type, value, role} unless the same type and value is there; a later
 * "main" role wins over an earlier one. */
static rp_status obs_add(struct ctx *c, json_t *list, const char *type, const char *value,
                         const char *role)
{
    size_t i;
    json_t *o;
    json_array_foreach(list, i, o)
    {
        if (strcmp(json_string_value(json_object_get(o, "type")), type) == 0 &&
            strcmp(json_string_value(json_object_get(o, "value")), value) == 0) {
            if (strcmp(role, "main") == 0 && json_object_set_new(o, "role", json_string(role)))
                return RP_E_NOMEM;
            return RP_OK;
        }
    }
    if (json_array_size(list) >= RP_OBSERVABLES_MAX) {
        return fail(c, "observables", "more than %d observables", RP_OBSERVABLES_MAX);
    }
    /* built field by field: json_pack() reads its format on every call, and
     * this runs for every observable of every alert */
    json_t *n = json_object();
    if (n == NULL || json_object_set_new_nocheck(n, "type", json_string(type)) != 0 ||
        json_object_set_new_nocheck(n, "value", json_string(value)) != 0 ||
        json_object_set_new_nocheck(n, "role", json_string(role)) != 0) {
        json_decref(n);
        return RP_E_NOMEM;
    }
    /* the array takes n, even when it fails */
    return json_array_append_new(list, n) == 0 ? RP_OK : RP_E_NOMEM;
}

/* The address inside "Name <addr>", or the whole text. */
static void mailbox_addr(const char *s, const char **a, size_t *n)
{
    const char *lt = strrchr(s, '<');
    const char *gt = lt ? strchr(lt, '>') : NULL;
    if (lt && gt) {
        *a = lt + 1;
        *n = (size_t)(gt - lt - 1);
    } else {
        *a = s;
        *n = strlen(s);
    }
}

static rp_status derive_ip(struct ctx *c, json_t *list, json_t *alert, const char *path,
                           const char *role)
{
    const char *v = json_string_value(path_get(alert, path));
    if (v == NULL)
        return RP_OK;
    return obs_add(c, list, strchr(v, ':') ? "ipv6" : "ipv4", v, role);
}

static rp_status derive(struct ctx *c, json_t *list, json_t *alert, const char *path,
                        const char *type, const char *role)
{
    const char *v = json_string_value(path_get(alert, path));
    return v ? obs_add(c, list, type, v, role) : RP_OK;
}

static rp_status derive_mailbox(struct ctx *c, json_t *list, json_t *v, const char *role)
{
    const char *s = json_string_value(v);
    if (s == NULL)
        return RP_OK;
    const char *a;
    size_t n;
    mailbox_addr(s, &a, &n);
    struct rp_error ignored;
    enum obs_type t;
    /* a display text without a parseable address yields no observable */
    if (observable_canonical(OBS_EMAIL, a, n, &c->tmp, &t, &ignored) != RP_OK)
        return RP_OK;
    char addr[RP_NAME_MAX_BYTES + 1];
    rp_fmt(addr, sizeof(addr), "%s", c->tmp.data);
    return obs_add(c, list, "email", addr, role);
}

static rp_status derive_all(struct ctx *c, json_t *alert, json_t *list)
{
    rp_status st = RP_OK;
#define D(expr)                                                                                    \
    do {                                                                                           \
        if ((st = (expr)) != RP_OK)                                                                \
            return st;                                                                             \
    } while (0)
    D(derive(c, list, alert, "host.name", "hostname", "host"));
    D(derive_ip(c, list, alert, "host.ip", "host"));
    D(derive(c, list, alert, "user.name", "user", "user"));
    D(derive(c, list, alert, "user.email", "email", "user"));
    D(derive_ip(c, list, alert, "src.ip", "src"));
    D(derive_ip(c, list, alert, "dst.ip", "dst"));
    D(derive(c, list, alert, "process.md5", "md5", "process"));
    D(derive(c, list, alert, "process.sha256", "sha256", "process"));
    D(derive(c, list, alert, "file.name", "filename", "file"));
    D(derive(c, list, alert, "file.md5", "md5", "file"));
    D(derive(c, list, alert, "file.sha1", "sha1", "file"));
    D(derive(c, list, alert, "file.sha256", "sha256", "file"));
    D(derive_mailbox(c, list, path_get(alert, "email.from"), "sender"));
    D(derive_mailbox(c, list, path_get(alert, "email.reply_to"), "reply_to"));
    D(derive_mailbox(c, list, path_get(alert, "email.return_path"), "return_path"));
    size_t i;
    json_t *e;
    json_array_foreach(path_get(alert, "email.urls"), i, e)
        D(obs_add(c, list, "url", json_string_value(e), "link"));
    json_array_foreach(path_get(alert, "email.links"), i, e)
        D(derive(c, list, e, "url", "url", "link"));
    json_array_foreach(path_get(alert, "email.attachments"), i, e)
    {
        D(derive(c, list, e, "name", "filename", "attachment"));
        D(derive(c, list, e, "md5", "md5", "attachment"));
        D(derive(c, list, e, "sha1", "sha1", "attachment"));
        D(derive(c, list, e, "sha256", "sha256", "attachment"));
    }
#undef D
    return st;
}

static rp_status explicit_observables(struct ctx *c, json_t *in, json_t *list)
{
    if (in == NULL || json_is_null(in))
        return RP_OK;
    if (!json_is_array(in))
        return fail(c, "observables", "must be an array, not %s", json_type_name(in));
    size_t i;
    json_t *o;
    json_array_foreach(in, i, o)
    {
        char p[64];
        rp_fmt(p, sizeof(p), "observables[%zu]", i);
        if (!json_is_object(o))
            return fail(c, p, "must be an object {type, value, role}, not %s", json_type_name(o));
        const char *key;
        json_t *v;
        json_object_foreach(o, key, v)
        {
            if (strcmp(key, "type") != 0 && strcmp(key, "value") != 0 && strcmp(key, "role") != 0) {
                char q[128];
                rp_fmt(q, sizeof(q), "%s.%s", p, key);
                return fail(c, q, "unknown field");
            }
        }
        json_t *jt = json_object_get(o, "type");
        json_t *jv = json_object_get(o, "value");
        json_t *jr = json_object_get(o, "role");
        char q[128];
        rp_fmt(q, sizeof(q), "%s.type", p);
        if (!json_is_string(jt))
            return fail(c, q, "required, a string");
        enum obs_type t;
        if (observable_type_parse(json_string_value(jt), &t) != RP_OK)
            return fail(c, q, "unknown observable type \"%s\"", json_string_value(jt));
        rp_fmt(q, sizeof(q), "%s.value", p);
        if (!json_is_string(jv))
            return fail(c, q, "required, a string");
        struct rp_error e;
        enum obs_type actual;
        rp_status st = observable_canonical(t, json_string_value(jv), json_string_length(jv),
                                            &c->tmp, &actual, &e);
        if (st == RP_E_INVALID)
            return fail(c, q, "%s", e.msg);
        if (st != RP_OK)
            return st;
        const char *role = "related";
        if (jr != NULL) {
            rp_fmt(q, sizeof(q), "%s.role", p);
            const char *rs;
            size_t rn;
            st = get_string(c, q, jr, true, &rs, &rn);
            if (st != RP_OK)
                return st;
            if (rn == 0 || rn > 64)
                return fail(c, q, "must be 1-64 characters");
            role = json_string_value(jr);
        }
        char value[RP_FIELD_MAX_BYTES + 1];
        if (c->tmp.len >= sizeof(value))
            return fail(c, q, "too long");
        memcpy(value, c->tmp.data, c->tmp.len + 1);
        st = obs_add(c, list, observable_type_name(actual), value, role);
        if (st != RP_OK)
            return st;
    }
    return RP_OK;
}

/* --- fingerprint --------------------------------------------------------------- */

/* "type:value" of the main observable: the one marked main, else the first of a
 * file hash, a process hash, the source address, the destination address, a
 * link, else the first other observable that is not the host or the user. */
static void main_observable(json_t *alert, char *out, size_t cap)
{
    json_t *list = json_object_get(alert, "observables");
    static const char *const prefer[] = {"main", "file", "process", "attachment", "src",
                                         "dst",  "link", "related", "sender"};
    out[0] = '\0';
    for (size_t k = 0; k < sizeof(prefer) / sizeof(prefer[0]); k++) {
        size_t i;
        json_t *o;
        json_array_foreach(list, i, o)
        {
            if (strcmp(json_string_value(json_object_get(o, "role")), prefer[k]) == 0) {
                rp_fmt(out, cap, "%s:%s", json_string_value(json_object_get(o, "type")),
                       json_string_value(json_object_get(o, "value")));
                return;
            }
        }
    }
}

static void scalar_text(json_t *v, char *out, size_t cap)
{
    if (json_is_string(v))
        rp_fmt(out, cap, "%s", json_string_value(v));
    else if (json_is_integer(v))
        rp_fmt(out, cap, "%lld", (long long)json_integer_value(v));
    else
        out[0] = '\0';
}

void alert_fingerprint(json_t *alert, const struct config_source *override,
                       char out[ALERT_FINGERPRINT_HEX + 1])
{
    struct buf b;
    buf_init(&b, 4 * RP_FIELD_MAX_BYTES);
    char part[RP_NAME_MAX_BYTES + 1];
    rp_status st = RP_OK;
    if (override != NULL && override->nfields > 0) {
        for (size_t i = 0; i < override->nfields && st == RP_OK; i++) {
            scalar_text(path_get(alert, override->fields[i]), part, sizeof(part));
            st = buf_printf(&b, "%s%s", i ? "\x1f" : "", part);
        }
    } else {
        const char *rule = alert_str(alert, "rule");
        st = buf_printf(&b, "%s\x1f%s\x1f", rule[0] ? rule : alert_str(alert, "title"),
                        json_string_value(path_get(alert, "host.name"))
                            ? json_string_value(path_get(alert, "host.name"))
                            : "");
        if (st == RP_OK) {
            const char *u = json_string_value(path_get(alert, "user.name"));
            st = buf_printf(&b, "%s\x1f", u ? u : "");
        }
        main_observable(alert, part, sizeof(part));
        if (st == RP_OK)
            st = buf_puts(&b, part);
    }
    /* on a buffer limit the fingerprint covers what fitted: still deterministic */
    hash_sha256_hex(b.data ? b.data : "", b.len, out);
    buf_fini(&b);
}

bool alert_field_known(const char *path)
{
    const struct field *schema = TOP;
    char part[64];
    while (*path) {
        const char *dot = strchr(path, '.');
        size_t len = dot ? (size_t)(dot - path) : strlen(path);
        if (len == 0 || len >= sizeof(part))
            return false;
        memcpy(part, path, len);
        part[len] = '\0';
        if (schema == TOP && !dot &&
            (strcmp(part, "kind") == 0 || strcmp(part, "severity") == 0 ||
             strcmp(part, "severity_label") == 0))
            return true;
        const struct field *f = find_field(schema, part);
        if (f == NULL || f->list)
            return false;
        if (!dot)
            return f->type != F_OBJECT && f->type != F_ANY && f->type != F_ANYOBJ;
        if (f->type != F_OBJECT)
            return false;
        schema = f->sub;
        path = dot + 1;
    }
    return false;
}

const char *alert_str(json_t *alert, const char *key)
{
    const char *s = json_string_value(json_object_get(alert, key));
    return s ? s : "";
}

int64_t alert_time_ms(json_t *alert, const char *key, int64_t dflt)
{
    const char *s = alert_str(alert, key);
    int64_t ms;
    return time_parse_rfc3339(s, strlen(s), &ms, NULL) == RP_OK ? ms : dflt;
}

int alert_severity(json_t *alert)
{
    return (int)json_integer_value(json_object_get(alert, "severity"));
}

/* --- the gate ------------------------------------------------------------------- */

static rp_status norm_severity(struct ctx *c, json_t *in, json_t *out)
{
    json_t *sv = json_object_get(in, "severity");
    json_t *lv = json_object_get(in, "severity_label");
    int sev = -1;
    if (sv != NULL && !json_is_null(sv)) {
        if (json_is_string(sv) && severity_from_label(json_string_value(sv), &sev) == RP_OK) {
            /* a label in the severity field */
        } else {
            long long x;
            rp_status st = get_int(c, "severity", sv, 0, 100, &x);
            if (st != RP_OK)
                return st;
            sev = (int)x;
        }
    }
    if (lv != NULL && !json_is_null(lv)) {
        int from_label;
        if (!json_is_string(lv) || severity_from_label(json_string_value(lv), &from_label) != RP_OK)
            return fail(c, "severity_label", "must be one of info, low, medium, high, critical");
        if (sev < 0)
            sev = from_label;
        else if (strcasecmp(severity_label(sev), json_string_value(lv)) != 0) {
            return fail(c, "severity_label", "\"%s\" does not match severity %d (%s)",
                        json_string_value(lv), sev, severity_label(sev));
        }
    }
    if (sev < 0)
        sev = ALERT_SEVERITY_DEFAULT;
    if (json_object_set_new(out, "severity", json_integer(sev)) ||
        json_object_set_new(out, "severity_label", json_string(severity_label(sev))))
        return RP_E_NOMEM;
    return RP_OK;
}

static rp_status norm_time(struct ctx *c, json_t *v, int64_t received, int64_t *out)
{
    int64_t ms;
    if (v == NULL || json_is_null(v)) {
        *out = received;
        return RP_OK;
    }
    if (json_is_string(v)) {
        struct rp_error e;
        if (time_parse_rfc3339(json_string_value(v), json_string_length(v), &ms, &e) != RP_OK)
            return fail(c, "event_time", "%s", e.msg);
    } else if (json_is_number(v)) {
        double d = json_number_value(v);
        if (!(d >= 0 && d < 1e15))
            return fail(c, "event_time", "epoch time out of range");
        /* seconds until the year 5138; beyond that it must be milliseconds */
        ms = d < 1e11 ? (int64_t)(d * 1000) : (int64_t)d;
    } else {
        return fail(c, "event_time", "must be an RFC 3339 string or epoch seconds, not %s",
                    json_type_name(v));
    }
    if (ms > received + RP_EVENT_TIME_MAX_FUTURE_MS)
        return fail(c, "event_time", "more than an hour in the future");
    *out = ms;
    return RP_OK;
}

static rp_status set_time(json_t *out, const char *key, int64_t ms)
{
    char ts[TIME_RFC3339_LEN];
    time_format_rfc3339(ms, ts);
    return json_object_set_new(out, key, json_string(ts)) ? RP_E_NOMEM : RP_OK;
}

rp_status alert_normalize(json_t *in, const struct alert_opts *opts, json_t **out,
                          struct rp_error *err)
{
    struct ctx c;
    buf_init(&c.tmp, RP_FIELD_MAX_BYTES);
    c.err = err;
    json_t *body = NULL, *obs = NULL;
    json_t *a = json_object();
    rp_status st = a ? RP_OK : RP_E_NOMEM;
    *out = NULL;
    if (st == RP_OK && !json_is_object(in))
        st = rp_error_set(err, RP_E_INVALID, "record must be a JSON object, not %s",
                          json_type_name(in));

    /* id */
    char id[ULID_LEN + 1];
    json_t *jid = st == RP_OK ? json_object_get(in, "id") : NULL;
    if (st == RP_OK && jid != NULL && !json_is_null(jid)) {
        if (!json_is_string(jid) || !ulid_valid(json_string_value(jid), json_string_length(jid)))
            st = fail(&c, "id", "must be a ULID (26 characters of Crockford base32)");
        else {
            memcpy(id, json_string_value(jid), ULID_LEN + 1);
            for (int i = 0; i < ULID_LEN; i++)
                id[i] = (char)toupper((unsigned char)id[i]);
        }
    } else if (st == RP_OK) {
        st = ulid_new_at(opts->received_ms, id);
    }
    if (st == RP_OK && json_object_set_new(a, "id", json_string(id)))
        st = RP_E_NOMEM;

    /* kind */
    if (st == RP_OK) {
        json_t *k = json_object_get(in, "kind");
        enum alert_kind kind = ALERT_OTHER;
        if (k != NULL && !json_is_null(k) &&
            (!json_is_string(k) || alert_kind_parse(json_string_value(k), &kind) != RP_OK))
            st = fail(&c, "kind", "must be one of endpoint, auth, phishing, network, other");
        else if (json_object_set_new(a, "kind", json_string(alert_kind_name(kind))))
            st = RP_E_NOMEM;
    }

    /* the schema fields */
    if (st == RP_OK)
        st = norm_object(&c, in, TOP, "", &body);
    if (st == RP_OK) {
        if (json_object_get(body, "source") == NULL &&
            json_object_set_new(
                body, "source",
                json_string(opts->default_source ? opts->default_source : "unknown")))
            st = RP_E_NOMEM;
        else if (json_object_get(body, "title") == NULL) {
            json_t *rule = json_object_get(body, "rule");
            if (rule == NULL)
                st = fail(&c, "title", "required (or rule)");
            else if (json_object_set(body, "title", rule))
                st = RP_E_NOMEM;
        }
    }
    /* source, rule, title first, in that order, after id and kind */
    static const char *const head[] = {"source", "rule", "title"};
    for (size_t i = 0; st == RP_OK && i < 3; i++) {
        json_t *v = json_object_get(body, head[i]);
        if (v != NULL && json_object_set(a, head[i], v))
            st = RP_E_NOMEM;
    }
    if (st == RP_OK)
        st = norm_severity(&c, in, a);
    int64_t event_ms = 0;
    if (st == RP_OK)
        st = norm_time(&c, json_object_get(in, "event_time"), opts->received_ms, &event_ms);
    if (st == RP_OK)
        st = set_time(a, "event_time", event_ms);
    if (st == RP_OK)
        st = set_time(a, "received_time", opts->received_ms);

    /* the rest of the schema fields, in schema order */
    if (st == RP_OK) {
        const char *key;
        json_t *v;
        json_object_foreach(body, key, v)
        {
            if (json_object_get(a, key) == NULL && json_object_set(a, key, v)) {
                st = RP_E_NOMEM;
                break;
            }
        }
    }

    /* observables: derived, then explicit */
    if (st == RP_OK) {
        obs = json_array();
        st = obs ? derive_all(&c, a, obs) : RP_E_NOMEM;
    }
    if (st == RP_OK)
        st = explicit_observables(&c, json_object_get(in, "observables"), obs);
    if (st == RP_OK && json_object_set(a, "observables", obs))
        st = RP_E_NOMEM;
    /* raw goes last: it is the largest and least read */
    if (st == RP_OK && json_object_get(a, "raw") != NULL) {
        json_t *raw = json_incref(json_object_get(a, "raw"));
        if (json_object_del(a, "raw") || json_object_set_new(a, "raw", raw))
            st = RP_E_NOMEM;
    }

    /* fingerprint: given by the source, or computed */
    if (st == RP_OK) {
        json_t *fp = json_object_get(in, "fingerprint");
        char hex[ALERT_FINGERPRINT_HEX + 1];
        if (fp != NULL && !json_is_null(fp)) {
            const char *s;
            size_t n;
            st = get_string(&c, "fingerprint", fp, true, &s, &n);
            if (st == RP_OK && (n == 0 || n > RP_FINGERPRINT_MAX))
                st = fail(&c, "fingerprint", "must be 1-128 characters");
            if (st == RP_OK && json_object_set_new(a, "fingerprint", json_stringn(s, n)))
                st = RP_E_NOMEM;
        } else {
            const struct config_source *ov =
                opts->config ? config_source_find(opts->config, alert_str(a, "source")) : NULL;
            alert_fingerprint(a, ov, hex);
            if (json_object_set_new(a, "fingerprint", json_string(hex)))
                st = RP_E_NOMEM;
        }
    }

    json_decref(obs);
    json_decref(body);
    buf_fini(&c.tmp);
    if (st != RP_OK) {
        if (st == RP_E_NOMEM)
            rp_error_set(err, st, "out of memory");
        json_decref(a);
        return st;
    }
    *out = a;
    return RP_OK;
}

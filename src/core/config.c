/*
 * config.c: the YAML configuration file, read with libyaml's document loader so
 * that every error can point at file:line:col. Only the keys documented in
 * config.h are accepted. Main thread, at start-up.
 */
#include "core/config.h"

#include "core/time.h"
#include "model/alert.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

void config_init(struct config *c)
{
    memset(c, 0, sizeof(*c));
    c->log_level = LOG_INFO;
    c->correlate_window_ms = RP_CORRELATE_WINDOW_DEFAULT_MS;
}

static void sources_free(struct config_source *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(s[i].name);
        for (size_t k = 0; k < s[i].nfields; k++)
            free(s[i].fields[k]);
    }
    free(s);
}

static void detect_free_rules(struct config_detect_rule *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(r[i].name);
    free(r);
}

void config_fini(struct config *c)
{
    if (c == NULL)
        return;
    free(c->db_path);
    free(c->listen);
    free(c->syslog_udp);
    free(c->syslog_tcp);
    free(c->playbooks_dir);
    free(c->public_url);
    free(c->prompt_key);
    free(c->secret_key_file);
    free(c->packs_dir);
    free(c->policy_path);
    free(c->prompt_mail);
    json_decref(c->connectors);
    json_decref(c->kpi);
    sources_free(c->sources, c->nsources);
    detect_free_rules(c->detect, c->ndetect);
    config_init(c);
}

const struct config_source *config_source_find(const struct config *c, const char *source)
{
    for (size_t i = 0; c != NULL && i < c->nsources; i++)
        if (strcmp(c->sources[i].name, source) == 0)
            return &c->sources[i];
    return NULL;
}

struct loader {
    const char *name;
    yaml_document_t *doc;
    struct rp_error *err;
};

static rp_status at(struct loader *l, yaml_node_t *n, const char *fmt, ...) RP_PRINTF(3, 4);

static rp_status at(struct loader *l, yaml_node_t *n, const char *fmt, ...)
{
    char what[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return rp_error_set(l->err, RP_E_INVALID, "%s:%zu:%zu: %s", l->name, n->start_mark.line + 1,
                        n->start_mark.column + 1, what);
}

static const char *scalar(yaml_node_t *n)
{
    return n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

struct key_ref {
    yaml_node_t *node;
    size_t order; /* the key's place in the document */
};

static bool same_key(const yaml_node_t *a, const yaml_node_t *b)
{
    return a->data.scalar.length == b->data.scalar.length &&
           memcmp(a->data.scalar.value, b->data.scalar.value, a->data.scalar.length) == 0;
}

static int key_ref_cmp(const void *a, const void *b)
{
    const struct key_ref *x = a, *y = b;
    size_t lx = x->node->data.scalar.length, ly = y->node->data.scalar.length;
    int c = memcmp(x->node->data.scalar.value, y->node->data.scalar.value, lx < ly ? lx : ly);
    if (c != 0 || lx != ly)
        return c != 0 ? c : (lx < ly ? -1 : 1);
    return x->order < y->order ? -1 : x->order > y->order;
}

/* Refuses a key given twice in any one mapping of the document (the second
 * value would otherwise win, or be read on top of the first, silently). Each
 * mapping's scalar keys are sorted: n log n, whatever the file holds. */
static rp_status refuse_duplicate_keys(struct loader *l)
{
    struct key_ref *refs = NULL;
    size_t cap = 0;
    rp_status st = RP_OK;
    for (yaml_node_t *m = l->doc->nodes.start; st == RP_OK && m < l->doc->nodes.top; m++) {
        if (m->type != YAML_MAPPING_NODE ||
            m->data.mapping.pairs.top - m->data.mapping.pairs.start < 2)
            continue;
        size_t n = 0, count = (size_t)(m->data.mapping.pairs.top - m->data.mapping.pairs.start);
        if (count > cap) {
            struct key_ref *r = realloc(refs, count * sizeof(*r));
            if (r == NULL) {
                st = rp_error_set(l->err, RP_E_NOMEM, "out of memory");
                break;
            }
            refs = r;
            cap = count;
        }
        for (size_t i = 0; i < count; i++) {
            yaml_node_t *k = yaml_document_get_node(l->doc, m->data.mapping.pairs.start[i].key);
            if (k != NULL && k->type == YAML_SCALAR_NODE)
                refs[n++] = (struct key_ref){k, i};
        }
        qsort(refs, n, sizeof(*refs), key_ref_cmp);
        /* sorted, each key's uses are together and in document order: of the
         * keys used twice, name the one whose second use comes first */
        const struct key_ref *first = NULL, *dup = NULL;
        for (size_t i = 0, j; i < n; i = j) {
            for (j = i + 1; j < n && same_key(refs[i].node, refs[j].node); j++)
                ;
            if (j - i > 1 && (dup == NULL || refs[i + 1].order < dup->order)) {
                first = &refs[i];
                dup = &refs[i + 1];
            }
        }
        if (dup != NULL)
            st = at(l, dup->node, "key '%.*s' appears twice (first on line %zu)",
                    (int)(dup->node->data.scalar.length < 64 ? dup->node->data.scalar.length : 64),
                    (const char *)dup->node->data.scalar.value, first->node->start_mark.line + 1);
    }
    free(refs);
    return st;
}

static rp_status want_string(struct loader *l, yaml_node_t *n, const char *key, char **out)
{
    const char *s = scalar(n);
    if (s == NULL || s[0] == '\0')
        return at(l, n, "%s: expected a non-empty string", key);
    if (strlen(s) > RP_NAME_MAX_BYTES)
        return at(l, n, "%s: too long", key);
    char *d = strdup(s);
    if (d == NULL)
        return RP_E_NOMEM;
    free(*out);
    *out = d;
    return RP_OK;
}

static rp_status load_correlation(struct loader *l, yaml_node_t *n, struct config *c)
{
    if (n->type != YAML_MAPPING_NODE)
        return at(l, n, "correlation: expected a mapping");
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
        const char *key = scalar(k);
        if (key != NULL && strcmp(key, "window") == 0) {
            struct rp_error e;
            int64_t ms;
            if (scalar(v) == NULL || time_parse_duration(scalar(v), &ms, &e) != RP_OK)
                return at(l, v, "correlation.window: a duration such as 24h, 30m, 7d");
            if (ms <= 0)
                return at(l, v, "correlation.window: must be longer than zero");
            c->correlate_window_ms = ms;
        } else {
            return at(l, k, "unknown key correlation.%s (known: window)", key ? key : "?");
        }
    }
    return RP_OK;
}

static rp_status load_syslog(struct loader *l, yaml_node_t *n, struct config *c)
{
    if (n->type != YAML_MAPPING_NODE)
        return at(l, n, "syslog: expected a mapping (udp, tcp)");
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
        const char *key = scalar(k);
        rp_status st;
        if (key != NULL && strcmp(key, "udp") == 0)
            st = want_string(l, v, "syslog.udp", &c->syslog_udp);
        else if (key != NULL && strcmp(key, "tcp") == 0)
            st = want_string(l, v, "syslog.tcp", &c->syslog_tcp);
        else
            st = at(l, k, "unknown key syslog.%s (known: udp, tcp)", key ? key : "?");
        if (st != RP_OK)
            return st;
    }
    return RP_OK;
}

static rp_status load_source(struct loader *l, const char *name, yaml_node_t *n,
                             struct config_source *src)
{
    if (n->type != YAML_MAPPING_NODE)
        return at(l, n, "sources.%s: expected a mapping", name);
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
        const char *key = scalar(k);
        if (key == NULL || strcmp(key, "fingerprint") != 0)
            return at(l, k, "unknown key under sources.%s (known: fingerprint)", name);
        if (v->type != YAML_SEQUENCE_NODE)
            return at(l, v, "sources.%s.fingerprint: expected a list of field names", name);
        for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
             it++) {
            yaml_node_t *f = yaml_document_get_node(l->doc, *it);
            const char *field = scalar(f);
            if (field == NULL || !alert_field_known(field))
                return at(l, f,
                          "'%s' is not a field of the normalized alert (e.g. rule, host.name, "
                          "user.name, src.ip, file.sha256)",
                          field ? field : "?");
            if (src->nfields >= RP_FINGERPRINT_FIELDS_MAX)
                return at(l, f, "more than %d fingerprint fields", RP_FINGERPRINT_FIELDS_MAX);
            if ((src->fields[src->nfields] = strdup(field)) == NULL)
                return RP_E_NOMEM;
            src->nfields++;
        }
        if (src->nfields == 0)
            return at(l, v, "sources.%s.fingerprint: empty list", name);
    }
    return RP_OK;
}

static rp_status load_sources(struct loader *l, yaml_node_t *n, struct config *c)
{
    if (n->type != YAML_MAPPING_NODE)
        return at(l, n, "sources: expected a mapping of source names");
    size_t count = (size_t)(n->data.mapping.pairs.top - n->data.mapping.pairs.start);
    struct config_source *s = calloc(count ? count : 1, sizeof(*s));
    if (s == NULL)
        return RP_E_NOMEM;
    size_t ns = 0;
    rp_status st = RP_OK;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
         st == RP_OK && p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
        const char *name = scalar(k);
        if (name == NULL || name[0] == '\0') {
            st = at(l, k, "sources: a source name must be a string");
            break;
        }
        if ((s[ns].name = strdup(name)) == NULL) {
            st = RP_E_NOMEM;
            break;
        }
        ns++;
        st = load_source(l, name, yaml_document_get_node(l->doc, p->value), &s[ns - 1]);
    }
    if (st != RP_OK) {
        sources_free(s, ns);
        return st;
    }
    sources_free(c->sources, c->nsources);
    c->sources = s;
    c->nsources = ns;
    return RP_OK;
}

/* A YAML node as JSON: mappings (string keys, no repeats) to objects,
 * sequences to arrays, plain scalars that read as integers, reals, true,
 * false or null to those, everything else to strings. Connector sections are
 * handed to their modules this way. */
static json_t *yaml_json(struct loader *l, yaml_node_t *n, int depth, rp_status *st)
{
    if (depth > RP_CONFIG_DEPTH_MAX) {
        *st = at(l, n, "nested deeper than %d levels", RP_CONFIG_DEPTH_MAX);
        return NULL;
    }
    json_t *out = NULL;
    if (n->type == YAML_SCALAR_NODE) {
        const char *t = (const char *)n->data.scalar.value;
        size_t len = n->data.scalar.length;
        if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
            char *end = NULL;
            long long i = strtoll(t, &end, 10);
            if (len > 0 && end == t + len && len < 19)
                return json_integer(i);
            if (strcmp(t, "true") == 0)
                return json_true();
            if (strcmp(t, "false") == 0)
                return json_false();
            if (strcmp(t, "null") == 0 || strcmp(t, "~") == 0 || len == 0)
                return json_null();
        }
        out = json_stringn(t, len);
        if (out == NULL)
            *st = at(l, n, "not UTF-8 text");
        return out;
    }
    if (n->type == YAML_SEQUENCE_NODE) {
        out = json_array();
        for (yaml_node_item_t *i = n->data.sequence.items.start;
             out != NULL && i < n->data.sequence.items.top; i++) {
            json_t *v = yaml_json(l, yaml_document_get_node(l->doc, *i), depth + 1, st);
            if (v == NULL || json_array_append_new(out, v) != 0) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    }
    out = json_object();
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start;
         out != NULL && p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
        const char *key = scalar(k);
        if (key == NULL) {
            *st = at(l, k, "keys must be strings");
            json_decref(out);
            return NULL;
        }
        json_t *v = yaml_json(l, yaml_document_get_node(l->doc, p->value), depth + 1, st);
        if (v == NULL || json_object_set_new(out, key, v) != 0) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

static rp_status load_secrets(struct loader *l, yaml_node_t *n, struct config *c)
{
    if (n->type != YAML_MAPPING_NODE)
        return at(l, n, "secrets: expected a mapping (key_file)");
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
        const char *key = scalar(k);
        if (key == NULL || strcmp(key, "key_file") != 0)
            return at(l, k, "unknown key secrets.%s (known: key_file)", key ? key : "?");
        rp_status st = want_string(l, v, "secrets.key_file", &c->secret_key_file);
        if (st != RP_OK)
            return st;
    }
    return RP_OK;
}

/* --- detect: the failed-login rules (detect/detect.h) ---------------------- */

static bool rule_name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
              ch == '.'))
            return false;
    }
    return true;
}

static rp_status want_duration(struct loader *l, yaml_node_t *v, const char *what, int64_t *out)
{
    struct rp_error e;
    int64_t ms;
    if (scalar(v) == NULL || time_parse_duration(scalar(v), &ms, &e) != RP_OK)
        return at(l, v, "%s: a duration such as 10m, 1h, 30s", what);
    if (ms <= 0 || ms > RP_DETECT_WINDOW_MAX_MS)
        return at(l, v, "%s: must be longer than zero and at most 7d", what);
    *out = ms;
    return RP_OK;
}

static rp_status load_detect_rule(struct loader *l, yaml_node_t *n, size_t idx,
                                  struct config_detect_rule *r)
{
    char where[64];
    snprintf(where, sizeof where, "detect.failed_logins[%zu]", idx + 1);
    if (n->type != YAML_MAPPING_NODE)
        return at(l, n,
                  "%s: expected a mapping (name, threshold, window, group_by, severity, "
                  "suppress)",
                  where);
    bool have_threshold = false, have_window = false, have_suppress = false;
    r->group_by = CONFIG_GROUP_USER;
    r->severity = 70;
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
        const char *key = scalar(k), *val = scalar(v);
        char what[96];
        snprintf(what, sizeof what, "%s.%s", where, key ? key : "?");
        rp_status st = RP_OK;
        if (key == NULL) {
            st = at(l, k, "%s: keys must be strings", where);
        } else if (strcmp(key, "name") == 0) {
            if (val == NULL || !rule_name_ok(val))
                st = at(l, v, "%s: 1-64 of a-z, 0-9, _, - and .", what);
            else if ((r->name = strdup(val)) == NULL)
                st = RP_E_NOMEM;
        } else if (strcmp(key, "threshold") == 0) {
            char *end = NULL;
            errno = 0;
            long long t = val != NULL ? strtoll(val, &end, 10) : 0;
            if (val == NULL || val[0] == '\0' || *end != '\0' || errno != 0 || t < 1 ||
                t > RP_DETECT_THRESHOLD_MAX)
                st = at(l, v, "%s: an integer from 1 to %d", what, RP_DETECT_THRESHOLD_MAX);
            r->threshold = (uint32_t)t;
            have_threshold = true;
        } else if (strcmp(key, "window") == 0) {
            st = want_duration(l, v, what, &r->window_ms);
            have_window = true;
        } else if (strcmp(key, "suppress") == 0) {
            st = want_duration(l, v, what, &r->suppress_ms);
            have_suppress = true;
        } else if (strcmp(key, "group_by") == 0) {
            if (val != NULL && strcmp(val, "user") == 0)
                r->group_by = CONFIG_GROUP_USER;
            else if (val != NULL && strcmp(val, "device") == 0)
                r->group_by = CONFIG_GROUP_DEVICE;
            else if (val != NULL && strcmp(val, "user+device") == 0)
                r->group_by = CONFIG_GROUP_USER_DEVICE;
            else
                st = at(l, v, "%s: one of user, device, user+device", what);
        } else if (strcmp(key, "severity") == 0) {
            char *end = NULL;
            long sv = val != NULL ? strtol(val, &end, 10) : -1;
            if (val != NULL && val[0] != '\0' && *end == '\0' && sv >= 0 && sv <= 100)
                r->severity = (int)sv;
            else if (val == NULL || severity_from_label(val, &r->severity) != RP_OK)
                st = at(l, v, "%s: 0-100 or one of info, low, medium, high, critical", what);
        } else {
            st = at(l, k,
                    "unknown key %s (known: name, threshold, window, group_by, severity, "
                    "suppress)",
                    what);
        }
        if (st != RP_OK)
            return st;
    }
    if (r->name == NULL)
        return at(l, n, "%s: name is required", where);
    if (!have_threshold)
        return at(l, n, "%s: threshold is required", where);
    if (!have_window)
        return at(l, n, "%s: window is required", where);
    if (!have_suppress)
        r->suppress_ms = r->window_ms;
    return RP_OK;
}

static rp_status load_detect(struct loader *l, yaml_node_t *n, struct config *c)
{
    if (n->type != YAML_MAPPING_NODE)
        return at(l, n, "detect: expected a mapping (failed_logins)");
    for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(l->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(l->doc, p->value);
        const char *key = scalar(k);
        if (key == NULL || strcmp(key, "failed_logins") != 0)
            return at(l, k, "unknown key detect.%s (known: failed_logins)", key ? key : "?");
        if (v->type != YAML_SEQUENCE_NODE)
            return at(l, v, "detect.failed_logins: expected a list of rules");
        size_t count = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
        if (count > RP_DETECT_RULES_MAX)
            return at(l, v, "detect.failed_logins: more than %d rules", RP_DETECT_RULES_MAX);
        struct config_detect_rule *r = calloc(count ? count : 1, sizeof *r);
        if (r == NULL)
            return RP_E_NOMEM;
        rp_status st = RP_OK;
        size_t i = 0;
        for (yaml_node_item_t *it = v->data.sequence.items.start;
             st == RP_OK && it < v->data.sequence.items.top; it++, i++) {
            yaml_node_t *rn = yaml_document_get_node(l->doc, *it);
            st = load_detect_rule(l, rn, i, &r[i]);
            for (size_t j = 0; st == RP_OK && j < i; j++)
                if (strcmp(r[j].name, r[i].name) == 0)
                    st = at(l, rn, "detect.failed_logins[%zu]: name \"%s\" is used twice", i + 1,
                            r[i].name);
        }
        if (st != RP_OK) {
            detect_free_rules(r, count);
            return st;
        }
        c->detect = r;
        c->ndetect = count;
    }
    return RP_OK;
}

rp_status config_load_buffer(struct config *c, const char *name, const char *data, size_t len,
                             struct rp_error *err)
{
    if (len > RP_CONFIG_MAX_BYTES)
        return rp_error_set(err, RP_E_INVALID, "%s: larger than %u bytes", name,
                            RP_CONFIG_MAX_BYTES);
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser))
        return rp_error_set(err, RP_E_NOMEM, "out of memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
    if (!yaml_parser_load(&parser, &doc)) {
        rp_status st = rp_error_set(err, RP_E_INVALID, "%s:%zu:%zu: %s", name,
                                    parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                                    parser.problem ? parser.problem : "YAML error");
        yaml_parser_delete(&parser);
        return st;
    }
    struct loader l = {name, &doc, err};
    /* work on a copy so that c is untouched on error */
    struct config nc;
    config_init(&nc);
    nc.log_level = c->log_level;
    nc.correlate_window_ms = c->correlate_window_ms;
    rp_status st = refuse_duplicate_keys(&l);
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (root != NULL && root->type == YAML_SCALAR_NODE && root->data.scalar.length == 0)
        root = NULL; /* an empty document is an empty configuration */
    if (st == RP_OK && root != NULL && root->type != YAML_MAPPING_NODE)
        st = at(&l, root, "the configuration must be a mapping of keys");
    for (yaml_node_pair_t *p = root ? root->data.mapping.pairs.start : NULL;
         st == RP_OK && root && p < root->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(&doc, p->key);
        yaml_node_t *v = yaml_document_get_node(&doc, p->value);
        const char *key = scalar(k);
        if (key == NULL)
            st = at(&l, k, "keys must be strings");
        else if (strcmp(key, "db") == 0)
            st = want_string(&l, v, "db", &nc.db_path);
        else if (strcmp(key, "listen") == 0)
            st = want_string(&l, v, "listen", &nc.listen);
        else if (strcmp(key, "log_level") == 0) {
            if (scalar(v) == NULL || log_level_parse(scalar(v), &nc.log_level) != RP_OK)
                st = at(&l, v, "log_level: one of debug, info, warn, error, off");
        } else if (strcmp(key, "correlation") == 0)
            st = load_correlation(&l, v, &nc);
        else if (strcmp(key, "sources") == 0)
            st = load_sources(&l, v, &nc);
        else if (strcmp(key, "syslog") == 0)
            st = load_syslog(&l, v, &nc);
        else if (strcmp(key, "playbooks") == 0)
            st = want_string(&l, v, "playbooks", &nc.playbooks_dir);
        else if (strcmp(key, "public_url") == 0)
            st = want_string(&l, v, "public_url", &nc.public_url);
        else if (strcmp(key, "prompt_key") == 0)
            st = want_string(&l, v, "prompt_key", &nc.prompt_key);
        else if (strcmp(key, "prompt_mail") == 0)
            st = want_string(&l, v, "prompt_mail", &nc.prompt_mail);
        else if (strcmp(key, "policy") == 0)
            st = want_string(&l, v, "policy", &nc.policy_path);
        else if (strcmp(key, "packs") == 0)
            st = want_string(&l, v, "packs", &nc.packs_dir);
        else if (strcmp(key, "secrets") == 0)
            st = load_secrets(&l, v, &nc);
        else if (strcmp(key, "detect") == 0)
            st = load_detect(&l, v, &nc);
        else if (strcmp(key, "connectors") == 0) {
            if (v->type != YAML_MAPPING_NODE)
                st = at(&l, v, "connectors: expected a mapping of instance names");
            else if ((nc.connectors = yaml_json(&l, v, 0, &st)) == NULL && st == RP_OK)
                st = rp_error_set(err, RP_E_NOMEM, "out of memory");
        } else if (strcmp(key, "kpi") == 0) {
            if (v->type != YAML_MAPPING_NODE)
                st = at(&l, v, "kpi: expected a mapping (minutes_saved, sla)");
            else if ((nc.kpi = yaml_json(&l, v, 0, &st)) == NULL && st == RP_OK)
                st = rp_error_set(err, RP_E_NOMEM, "out of memory");
        } else
            st = at(&l, k,
                    "unknown key '%s' (known: db, listen, log_level, correlation, sources, "
                    "syslog, playbooks, policy, public_url, prompt_key, prompt_mail, packs, "
                    "secrets, connectors, detect, kpi)",
                    key);
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    if (st != RP_OK) {
        config_fini(&nc);
        return st;
    }
    config_fini(c);
    *c = nc;
    return RP_OK;
}

rp_status config_load(struct config *c, const char *path, struct rp_error *err)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return rp_error_set(err, RP_E_IO, "%s: %s", path, strerror(errno));
    char *data = malloc(RP_CONFIG_MAX_BYTES + 1);
    if (data == NULL) {
        fclose(f);
        return rp_error_set(err, RP_E_NOMEM, "out of memory");
    }
    size_t n = fread(data, 1, RP_CONFIG_MAX_BYTES + 1, f);
    int bad = ferror(f);
    fclose(f);
    rp_status st;
    if (bad)
        st = rp_error_set(err, RP_E_IO, "%s: read error", path);
    else
        st = config_load_buffer(c, path, data, n, err);
    free(data);
    return st;
}

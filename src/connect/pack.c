/*
 * pack.c: vendor packs (`pack: NAME` in the connectors section; the format
 * is docs/packs.md). A pack is data: the settings an instance must give, the
 * auth of the vendor's API, and its actions and sources as HTTP request
 * templates over http.c, with Lua (lua_action.c) where an API needs logic.
 *
 * Loading (main thread): packs_dir/NAME.yml is read (at most RP_PACK_MAX_BYTES),
 * turned into a tree by libyaml (no anchors, aliases or tags; bounded depth
 * and node count; every node keeps its line and column), converted to JSON
 * with the position of every value kept beside it, and validated: unknown
 * keys, wrong types, effects, durations, request shapes, templates and Lua
 * syntax are errors "file:line:col: where: what". An instance is then built
 * from the pack and the instance's section (settings resolved, secrets kept
 * out of `vars`), and every action is registered as INSTANCE.ACTION only
 * after all of them were checked, so that a failing instance leaves nothing
 * registered.
 *
 * Running (loop thread): an action renders its request templates with
 * inputs = the step's `with`, vars = the non-secret settings, steps = the
 * answers of its earlier requests; runs them one after the other (or its Lua
 * chunk); extracts the output; masks secrets out of it. A source polls on a
 * uv timer, keeps a cursor between polls (the newest value of a field, and
 * the ids seen at that value, so a boundary item is not fetched twice), and
 * hands the new items to the sink as one JSON array.
 */
#include "connect/http_internal.h"

#include "connect/connect_internal.h"
#include "core/limits.h"
#include "core/log.h"
#include "expr/expr.h"
#include "playbook/playbook.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

/* --- YAML to JSON, with positions -------------------------------------------------- */

struct pos {
    const json_t *parent; /* NULL: the root */
    char *key;            /* object member, or NULL for an array element */
    size_t index;
    int line, col;   /* of the value */
    int kline, kcol; /* of the key (object members) */
};

struct ploader {
    const char *file;
    struct pos *pos;
    size_t npos, cappos;
    size_t nodes;
    char msg[RP_ERROR_MAX];
    int line, col; /* where msg points */
};

static rp_status lerr(struct ploader *l, int line, int col, const char *fmt, ...) RP_PRINTF(4, 5);

static rp_status lerr(struct ploader *l, int line, int col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(l->msg, sizeof l->msg, fmt, ap);
    va_end(ap);
    l->line = line;
    l->col = col;
    return RP_E_INVALID;
}

static rp_status pos_add(struct ploader *l, const json_t *parent, const char *key, size_t index,
                         int line, int col, int kline, int kcol)
{
    if (l->npos == l->cappos) {
        size_t cap = l->cappos ? l->cappos * 2 : 256;
        struct pos *p = realloc(l->pos, cap * sizeof *p);
        if (p == NULL)
            return RP_E_NOMEM;
        l->pos = p;
        l->cappos = cap;
    }
    char *k = key != NULL ? strdup(key) : NULL;
    if (key != NULL && k == NULL)
        return RP_E_NOMEM;
    l->pos[l->npos++] = (struct pos){parent, k, index, line, col, kline, kcol};
    return RP_OK;
}

static const struct pos *pos_find(const struct ploader *l, const json_t *parent, const char *key,
                                  size_t index)
{
    for (size_t i = 0; l != NULL && i < l->npos; i++) {
        const struct pos *p = &l->pos[i];
        if (p->parent != parent)
            continue;
        if (key != NULL ? (p->key != NULL && strcmp(p->key, key) == 0)
                        : (p->key == NULL && p->index == index))
            return p;
    }
    return NULL;
}

static void ploader_fini(struct ploader *l)
{
    for (size_t i = 0; i < l->npos; i++)
        free(l->pos[i].key);
    free(l->pos);
}

/* A scalar by the YAML 1.2 core schema (quoted: always a string). */
static json_t *scalar(const char *s, size_t len, bool plain)
{
    if (!plain)
        return json_stringn(s, len);
    if (len == 0 || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
        strcmp(s, "NULL") == 0)
        return json_null();
    if (strcmp(s, "true") == 0 || strcmp(s, "True") == 0 || strcmp(s, "TRUE") == 0)
        return json_true();
    if (strcmp(s, "false") == 0 || strcmp(s, "False") == 0 || strcmp(s, "FALSE") == 0)
        return json_false();
    const char *p = s;
    if (*p == '-' || *p == '+')
        p++;
    if (isdigit((unsigned char)*p)) {
        char *end;
        errno = 0;
        long long v = strtoll(s, &end, 10);
        if (*end == '\0' && errno == 0)
            return json_integer(v);
        double d = strtod(s, &end);
        if (*end == '\0' && isfinite(d))
            return json_real(d);
    }
    return json_stringn(s, len);
}

/* Frame of the tree being built: the container and, for a mapping, the key
 * waiting for its value. */
struct frame {
    json_t *c;
    char *key;
    int kline, kcol;
    size_t index;
};

/* Attaches v (taken) to the top frame, recording its position. */
static rp_status attach(struct ploader *l, struct frame *f, json_t *v, int line, int col,
                        const char *scalar_text, bool is_scalar, json_t **root)
{
    if (f == NULL) {
        *root = v;
        return pos_add(l, NULL, NULL, 0, line, col, line, col);
    }
    if (json_is_array(f->c)) {
        rp_status st = pos_add(l, f->c, NULL, f->index++, line, col, line, col);
        if (st == RP_OK && json_array_append_new(f->c, v) != 0)
            st = RP_E_NOMEM;
        return st;
    }
    if (f->key == NULL) {
        /* v is a key */
        if (!is_scalar) {
            json_decref(v);
            return lerr(l, line, col, "keys must be strings");
        }
        json_decref(v);
        if (json_object_get(f->c, scalar_text) != NULL)
            return lerr(l, line, col, "duplicate key \"%.80s\"", scalar_text);
        f->key = strdup(scalar_text);
        f->kline = line;
        f->kcol = col;
        return f->key != NULL ? RP_OK : RP_E_NOMEM;
    }
    rp_status st = pos_add(l, f->c, f->key, 0, line, col, f->kline, f->kcol);
    if (st == RP_OK && json_object_set_new(f->c, f->key, v) != 0)
        st = RP_E_NOMEM;
    else if (st != RP_OK)
        json_decref(v);
    free(f->key);
    f->key = NULL;
    return st;
}

static rp_status yaml_to_json(struct ploader *l, const char *text, size_t len, json_t **out)
{
    yaml_parser_t p;
    struct frame stack[RP_PACK_DEPTH_MAX];
    int depth = 0;
    json_t *root = NULL;
    bool done = false;
    int docs = 0;
    rp_status st = RP_OK;
    *out = NULL;
    if (!yaml_parser_initialize(&p))
        return RP_E_NOMEM;
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    while (st == RP_OK && !done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            st = p.error == YAML_MEMORY_ERROR
                     ? RP_E_NOMEM
                     : lerr(l, (int)p.problem_mark.line + 1, (int)p.problem_mark.column + 1,
                            "YAML: %s", p.problem ? p.problem : "syntax error");
            break;
        }
        int line = (int)ev.start_mark.line + 1, col = (int)ev.start_mark.column + 1;
        struct frame *top = depth > 0 ? &stack[depth - 1] : NULL;
        switch (ev.type) {
        case YAML_STREAM_END_EVENT:
            done = true;
            break;
        case YAML_DOCUMENT_START_EVENT:
            if (++docs > 1)
                st = lerr(l, line, col, "only one YAML document per pack");
            break;
        case YAML_ALIAS_EVENT:
            st = lerr(l, line, col, "aliases are not supported: write the value out");
            break;
        case YAML_SCALAR_EVENT: {
            if (ev.data.scalar.anchor != NULL || ev.data.scalar.tag != NULL) {
                st = lerr(l, line, col, "anchors and tags are not supported");
                break;
            }
            if (++l->nodes > RP_PACK_NODES_MAX) {
                st = lerr(l, line, col, "more than %d YAML nodes", RP_PACK_NODES_MAX);
                break;
            }
            const char *s = (const char *)ev.data.scalar.value;
            size_t n = ev.data.scalar.length;
            if (memchr(s, '\0', n) != NULL) {
                st = lerr(l, line, col, "a NUL character is not allowed");
                break;
            }
            json_t *v = scalar(s, n, ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE);
            if (v == NULL) {
                st = lerr(l, line, col, "a string that is not UTF-8");
                break;
            }
            st = attach(l, top, v, line, col, s, true, &root);
            break;
        }
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT: {
            bool seq = ev.type == YAML_SEQUENCE_START_EVENT;
            if ((seq ? ev.data.sequence_start.anchor : ev.data.mapping_start.anchor) != NULL ||
                (seq ? ev.data.sequence_start.tag : ev.data.mapping_start.tag) != NULL) {
                st = lerr(l, line, col, "anchors and tags are not supported");
                break;
            }
            if (++l->nodes > RP_PACK_NODES_MAX || depth >= RP_PACK_DEPTH_MAX) {
                st = lerr(l, line, col, "nested more than %d levels or more than %d nodes",
                          RP_PACK_DEPTH_MAX, RP_PACK_NODES_MAX);
                break;
            }
            json_t *c = seq ? json_array() : json_object();
            if (c == NULL) {
                st = RP_E_NOMEM;
                break;
            }
            if (top != NULL && json_is_object(top->c) && top->key == NULL) {
                json_decref(c);
                st = lerr(l, line, col, "keys must be strings");
                break;
            }
            st = attach(l, top, json_incref(c), line, col, NULL, false, &root);
            if (st == RP_OK)
                stack[depth++] = (struct frame){c, NULL, 0, 0, 0};
            json_decref(c); /* the parent (or root) holds it */
            break;
        }
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            depth--;
            free(stack[depth].key);
            break;
        default:
            break;
        }
        yaml_event_delete(&ev);
    }
    yaml_parser_delete(&p);
    while (depth > 0)
        free(stack[--depth].key);
    if (st != RP_OK) {
        json_decref(root);
        return st;
    }
    *out = root;
    return RP_OK;
}

/* --- validation ------------------------------------------------------------------ */

/* A validation walk: the error names the dotted place and points at the node
 * (parent + key/index) for positions when a loader is there. */
struct vctx {
    struct ploader *l; /* NULL: no positions */
    struct expr_env *expr;
    char path[256];
    char msg[RP_ERROR_MAX];
    const json_t *at_parent;
    const char *at_key;
    size_t at_index;
    bool at_keypos; /* point at the key rather than its value */
};

static rp_status verr(struct vctx *v, const json_t *parent, const char *key, const char *fmt, ...)
    RP_PRINTF(4, 5);

static rp_status verr(struct vctx *v, const json_t *parent, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char m[RP_ERROR_MAX];
    vsnprintf(m, sizeof m, fmt, ap);
    va_end(ap);
    rp_fmt(v->msg, sizeof v->msg, "%s%s%s: %s", v->path, v->path[0] && key ? "." : "",
           key ? key : "", m);
    v->at_parent = parent;
    v->at_key = key;
    return RP_E_INVALID;
}

/* Pushes ".name" on the path; returns the old length for vpop. */
static size_t vpush(struct vctx *v, const char *name)
{
    size_t n = strlen(v->path);
    rp_fmt(v->path + n, sizeof v->path - n, "%s%s", n ? "." : "", name);
    return n;
}

static void vpop(struct vctx *v, size_t n)
{
    v->path[n] = '\0';
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > RP_PACK_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '_'))
            return false;
    return true;
}

static rp_status keys_known(struct vctx *v, json_t *obj, const char *const *known, size_t n)
{
    const char *k;
    json_t *e;
    json_object_foreach(obj, k, e)
    {
        bool ok = false;
        for (size_t i = 0; i < n && !ok; i++)
            ok = strcmp(k, known[i]) == 0;
        if (!ok) {
            char list[256] = "";
            size_t off = 0;
            for (size_t i = 0; i < n && off < sizeof list; i++)
                off += (size_t)snprintf(list + off, sizeof list - off, "%s%s", i ? ", " : "",
                                        known[i]);
            rp_status st = verr(v, obj, k, "unknown key (known: %s)", list);
            v->at_keypos = true;
            return st;
        }
    }
    return RP_OK;
}

#define KEYS(v, obj, ...)                                                                          \
    keys_known(v, obj, (const char *const[]){__VA_ARGS__},                                         \
               sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

static rp_status want_type(struct vctx *v, json_t *obj, const char *key, json_type t, bool required,
                           const char *what)
{
    json_t *e = json_object_get(obj, key);
    if (e == NULL) {
        if (required)
            return verr(v, obj, NULL, "%s is required (%s)", key, what);
        return RP_OK;
    }
    if (json_typeof(e) != t && !(t == JSON_TRUE && json_is_boolean(e)) &&
        !(t == JSON_REAL && json_is_number(e)))
        return verr(v, obj, key, "expected %s", what);
    return RP_OK;
}

static rp_status check_duration(struct vctx *v, json_t *obj, const char *key, int64_t min_ms,
                                int64_t max_ms)
{
    json_t *e = json_object_get(obj, key);
    if (e == NULL)
        return RP_OK;
    struct rp_error err;
    int64_t ms = 0;
    const char *s = json_string_value(e);
    char tmp[32];
    if (json_is_integer(e)) {
        rp_fmt(tmp, sizeof tmp, "%lld", (long long)json_integer_value(e));
        s = tmp;
    }
    if (s == NULL || pb_duration_parse(s, &ms, &err) != RP_OK || ms < min_ms || ms > max_ms)
        return verr(v, obj, key, "a duration such as 60s, 5m or 1h, from %lld ms to %lld s",
                    (long long)min_ms, (long long)(max_ms / 1000));
    return RP_OK;
}

static rp_status check_templates(struct vctx *v, json_t *obj, const char *key)
{
    json_t *e = json_object_get(obj, key);
    if (e == NULL || v->expr == NULL)
        return RP_OK;
    struct rp_error err;
    if (expr_render_json_check(v->expr, e, &err) != RP_OK)
        return verr(v, obj, key, "%s", err.msg);
    return RP_OK;
}

static rp_status check_request(struct vctx *v, json_t *parent, const char *key, json_t *req,
                               bool in_list)
{
    json_t *spec = json_deep_copy(req);
    if (spec == NULL)
        return RP_E_NOMEM;
    if (in_list) {
        json_object_del(spec, "id");
        json_object_del(spec, "when");
    }
    char msg[256];
    rp_status st = http_spec_check(spec, true, msg, sizeof msg);
    if (st == RP_OK && v->expr != NULL) {
        struct rp_error err;
        if (expr_render_json_check(v->expr, spec, &err) != RP_OK) {
            rp_fmt(msg, sizeof msg, "%s", err.msg);
            st = RP_E_INVALID;
        }
    }
    if (st != RP_OK) {
        /* point at the key the message names first when the request has it */
        char k[32];
        size_t n = strcspn(msg, ":.");
        rp_fmt(k, sizeof k, "%.*s", (int)n, msg);
        void *it = json_object_iter_at(req, k);
        st = verr(v, NULL, NULL, "%s", msg);
        if (it != NULL) {
            v->at_parent = req;
            v->at_key = json_object_iter_key(it);
            v->at_keypos = strstr(msg, "unknown key") != NULL;
        } else {
            v->at_parent = parent;
            v->at_key = key;
        }
    }
    json_decref(spec);
    return st;
}

/* request | requests | lua, shared by actions and sources. */
static rp_status check_work(struct vctx *v, json_t *a)
{
    json_t *req = json_object_get(a, "request");
    json_t *reqs = json_object_get(a, "requests");
    json_t *lua = json_object_get(a, "lua");
    int n = (req != NULL) + (reqs != NULL) + (lua != NULL);
    if (n != 1)
        return verr(v, a, NULL, "give exactly one of request, requests or lua");
    rp_status st = RP_OK;
    if (req != NULL) {
        size_t o = vpush(v, "request");
        st = check_request(v, a, "request", req, false);
        vpop(v, o);
    } else if (reqs != NULL) {
        if (!json_is_array(reqs) || json_array_size(reqs) == 0 ||
            json_array_size(reqs) > RP_PACK_REQUESTS_MAX)
            return verr(v, a, "requests", "a list of 1 to %d requests", RP_PACK_REQUESTS_MAX);
        size_t i;
        json_t *r;
        json_array_foreach(reqs, i, r)
        {
            char idx[24];
            rp_fmt(idx, sizeof idx, "requests[%zu]", i);
            size_t o = vpush(v, idx);
            const char *id = json_string_value(json_object_get(r, "id"));
            if (!json_is_object(r)) {
                st = verr(v, NULL, NULL, "a request mapping");
                v->at_parent = reqs;
                v->at_key = NULL;
                v->at_index = i;
            } else if (id == NULL || !name_ok(id)) {
                st = verr(v, r, json_object_get(r, "id") ? "id" : NULL,
                          "each request needs an id (a-z 0-9 _): later ones read steps.ID");
            } else {
                json_t *w = json_object_get(r, "when");
                struct rp_error err;
                if (w != NULL &&
                    (!json_is_string(w) ||
                     (v->expr != NULL && expr_check(v->expr, json_string_value(w), &err) != RP_OK)))
                    st = verr(v, r, "when", "%s",
                              json_is_string(w) ? err.msg : "an expression (text)");
                else
                    st = check_request(v, reqs, NULL, r, true);
                if (st != RP_OK && v->at_parent == reqs) {
                    v->at_parent = reqs;
                    v->at_key = NULL;
                    v->at_index = i;
                }
            }
            vpop(v, o);
            if (st != RP_OK)
                return st;
        }
    } else {
        char msg[RP_ERROR_MAX];
        if (!json_is_string(lua))
            return verr(v, a, "lua", "a Lua chunk (text; use `lua: |`)");
        if (json_string_length(lua) > RP_LUA_ACTION_SOURCE_MAX)
            return verr(v, a, "lua", "longer than %u bytes", RP_LUA_ACTION_SOURCE_MAX);
        if (lua_chunk_check(json_string_value(lua), msg, sizeof msg) != RP_OK)
            return verr(v, a, "lua", "%s", msg);
        st = check_duration(v, a, "timeout", 1000, RP_LUA_ACTION_TIME_MAX_MS);
    }
    return st;
}

static rp_status check_output(struct vctx *v, json_t *a)
{
    json_t *o = json_object_get(a, "output");
    if (o == NULL)
        return RP_OK;
    if (!json_is_string(o) && !json_is_object(o))
        return verr(v, a, "output", "a path, a template, or a mapping of them");
    return check_templates(v, a, "output");
}

static rp_status check_inputs(struct vctx *v, json_t *a)
{
    json_t *in = json_object_get(a, "inputs");
    if (in == NULL)
        return RP_OK;
    if (!json_is_object(in))
        return verr(v, a, "inputs", "a mapping of input name to {required, help, default}");
    const char *k;
    json_t *d;
    json_object_foreach(in, k, d)
    {
        if (!json_is_object(d))
            return verr(v, in, k, "a mapping {required, help, default}");
        size_t o = vpush(v, "inputs");
        size_t o2 = vpush(v, k);
        rp_status st = KEYS(v, d, "required", "help", "default");
        if (st == RP_OK)
            st = want_type(v, d, "required", JSON_TRUE, false, "true or false");
        if (st == RP_OK)
            st = want_type(v, d, "help", JSON_STRING, false, "text");
        vpop(v, o2);
        vpop(v, o);
        if (st != RP_OK)
            return st;
    }
    return RP_OK;
}

static const char *const AUTH_TYPES[] = {"none", "basic", "bearer", "api_key", "oauth2", "jwt"};

static rp_status check_auth(struct vctx *v, json_t *pack)
{
    json_t *a = json_object_get(pack, "auth");
    if (a == NULL)
        return RP_OK;
    size_t o = vpush(v, "auth");
    rp_status st = RP_OK;
    const char *t = json_string_value(json_object_get(a, "type"));
    size_t ti = 0;
    for (; t != NULL && ti < sizeof AUTH_TYPES / sizeof AUTH_TYPES[0]; ti++)
        if (strcmp(t, AUTH_TYPES[ti]) == 0)
            break;
    if (!json_is_object(a)) {
        st = verr(v, pack, "auth", "a mapping with a type");
    } else if (t == NULL || ti == sizeof AUTH_TYPES / sizeof AUTH_TYPES[0]) {
        st = verr(v, a, json_object_get(a, "type") ? "type" : NULL,
                  "type: one of none, basic, bearer, api_key, oauth2, jwt");
    } else {
        switch (ti) {
        case 0:
            st = KEYS(v, a, "type");
            break;
        case 1:
            st = KEYS(v, a, "type", "username", "password");
            if (st == RP_OK)
                st = want_type(v, a, "username", JSON_STRING, true, "text such as ${username}");
            if (st == RP_OK)
                st = want_type(v, a, "password", JSON_STRING, true, "text such as ${password}");
            break;
        case 2:
            st = KEYS(v, a, "type", "token", "scheme");
            if (st == RP_OK)
                st = want_type(v, a, "token", JSON_STRING, true, "text such as ${api_token}");
            if (st == RP_OK)
                st = want_type(v, a, "scheme", JSON_STRING, false, "Bearer, SSWS, ApiKey, ...");
            break;
        case 3:
            st = KEYS(v, a, "type", "header", "query", "value");
            if (st == RP_OK &&
                (json_object_get(a, "header") != NULL) == (json_object_get(a, "query") != NULL))
                st = verr(v, a, NULL, "give exactly one of header: NAME or query: NAME");
            if (st == RP_OK)
                st = want_type(v, a, "value", JSON_STRING, true, "text such as ${api_key}");
            break;
        case 4:
            st = KEYS(v, a, "type", "token_url", "client_id", "client_secret", "form",
                      "client_auth", "token_field");
            if (st == RP_OK)
                st = want_type(v, a, "token_url", JSON_STRING, true, "the token endpoint URL");
            if (st == RP_OK)
                st = want_type(v, a, "client_id", JSON_STRING, true, "text such as ${client_id}");
            if (st == RP_OK)
                st = want_type(v, a, "client_secret", JSON_STRING, true,
                               "text such as ${client_secret}");
            if (st == RP_OK)
                st = want_type(v, a, "form", JSON_OBJECT, false, "a mapping of form fields");
            if (st == RP_OK) {
                const char *ca = json_string_value(json_object_get(a, "client_auth"));
                if (json_object_get(a, "client_auth") != NULL &&
                    (ca == NULL || (strcmp(ca, "form") != 0 && strcmp(ca, "basic") != 0)))
                    st = verr(v, a, "client_auth", "form or basic");
            }
            break;
        default:
            st = KEYS(v, a, "type", "token_url", "claims", "secret", "lifetime", "body_field",
                      "token_field");
            if (st == RP_OK)
                st = want_type(v, a, "token_url", JSON_STRING, true, "the token endpoint URL");
            if (st == RP_OK)
                st = want_type(v, a, "claims", JSON_OBJECT, true, "a mapping of JWT claims");
            if (st == RP_OK)
                st = want_type(v, a, "secret", JSON_STRING, true, "text such as ${app_secret}");
            if (st == RP_OK)
                st = check_duration(v, a, "lifetime", 60000, 24 * 3600000LL);
            break;
        }
    }
    vpop(v, o);
    return st;
}

static rp_status check_action(struct vctx *v, const char *name, json_t *a)
{
    rp_status st = KEYS(v, a, "effect", "help", "honours_keys", "inputs", "request", "requests",
                        "lua", "timeout", "output");
    const char *eff = json_string_value(json_object_get(a, "effect"));
    enum action_effect e;
    if (st == RP_OK && (eff == NULL || action_effect_parse(eff, &e) != RP_OK))
        st = verr(v, a, json_object_get(a, "effect") ? "effect" : NULL,
                  "effect: one of read, notify, contain, modify, destroy (required)");
    if (st == RP_OK)
        st = want_type(v, a, "help", JSON_STRING, true, "one line of text");
    if (st == RP_OK)
        st = want_type(v, a, "honours_keys", JSON_TRUE, false, "true or false");
    if (st == RP_OK)
        st = check_inputs(v, a);
    if (st == RP_OK)
        st = check_work(v, a);
    if (st == RP_OK)
        st = check_output(v, a);
    (void)name;
    return st;
}

static rp_status check_source(struct vctx *v, json_t *s)
{
    rp_status st = KEYS(v, s, "help", "every", "format", "request", "requests", "lua", "timeout",
                        "items", "cursor");
    if (st == RP_OK)
        st = want_type(v, s, "format", JSON_STRING, true, "a format or vendor name (crowdstrike)");
    if (st == RP_OK)
        st = want_type(v, s, "help", JSON_STRING, false, "text");
    if (st == RP_OK)
        st = check_duration(v, s, "every", RP_PACK_EVERY_MIN_MS, 24 * 3600000LL);
    if (st == RP_OK)
        st = check_work(v, s);
    if (st == RP_OK && json_object_get(s, "lua") == NULL)
        st = want_type(v, s, "items", JSON_STRING, true,
                       "the path of the list of alerts in the answer");
    json_t *c = json_object_get(s, "cursor");
    if (st == RP_OK && c != NULL) {
        size_t o = vpush(v, "cursor");
        if (!json_is_object(c))
            st = verr(v, s, "cursor", "a mapping {field, id, initial}");
        if (st == RP_OK)
            st = KEYS(v, c, "field", "id", "initial");
        if (st == RP_OK)
            st = want_type(v, c, "field", JSON_STRING,
                           json_object_get(s, "lua") == NULL && json_object_get(c, "id") == NULL,
                           "the path of the time (or number) in each item");
        if (st == RP_OK)
            st = want_type(v, c, "id", JSON_STRING, false, "the path of the id in each item");
        if (st == RP_OK)
            st = check_templates(v, c, "initial");
        vpop(v, o);
    }
    return st;
}

static rp_status validate(struct vctx *v, json_t *pack)
{
    if (!json_is_object(pack))
        return verr(v, NULL, NULL, "a pack is a mapping (name, settings, auth, actions, ...)");
    rp_status st = KEYS(v, pack, "name", "help", "vendor_docs", "settings", "base_url", "headers",
                        "auth", "actions", "sources");
    const char *name = json_string_value(json_object_get(pack, "name"));
    if (st == RP_OK && (name == NULL || !name_ok(name)))
        st = verr(v, pack, json_object_get(pack, "name") ? "name" : NULL,
                  "name: the pack's name (a-z 0-9 _) is required");
    if (st == RP_OK)
        st = want_type(v, pack, "help", JSON_STRING, false, "text");
    if (st == RP_OK)
        st = want_type(v, pack, "base_url", JSON_STRING, false, "text such as ${url}/api/v1");
    json_t *set = json_object_get(pack, "settings");
    if (st == RP_OK && set != NULL) {
        if (!json_is_object(set) || json_object_size(set) > RP_PACK_SETTINGS_MAX)
            st =
                verr(v, pack, "settings", "a mapping of at most %d settings", RP_PACK_SETTINGS_MAX);
        const char *k;
        json_t *d;
        size_t o = vpush(v, "settings");
        json_object_foreach(set, k, d)
        {
            if (st != RP_OK)
                break;
            static const char *const reserved[] = {
                "pack", "type", "sources", "insecure", "timeout", "connect_timeout", "retries"};
            for (size_t i = 0; i < sizeof reserved / sizeof reserved[0]; i++)
                if (strcmp(k, reserved[i]) == 0)
                    st = verr(v, set, k, "a reserved instance key"), v->at_keypos = true;
            if (st == RP_OK && !name_ok(k))
                st = verr(v, set, k, "setting names are a-z 0-9 _"), v->at_keypos = true;
            if (st == RP_OK && !json_is_object(d))
                st = verr(v, set, k, "a mapping {required, secret, default, help}");
            size_t o2 = vpush(v, k);
            if (st == RP_OK)
                st = KEYS(v, d, "required", "secret", "default", "help");
            if (st == RP_OK)
                st = want_type(v, d, "required", JSON_TRUE, false, "true or false");
            if (st == RP_OK)
                st = want_type(v, d, "secret", JSON_TRUE, false, "true or false");
            if (st == RP_OK)
                st = want_type(v, d, "default", JSON_STRING, false, "text");
            if (st == RP_OK && json_is_true(json_object_get(d, "secret")) &&
                json_object_get(d, "default") != NULL)
                st = verr(v, d, "default", "a secret has no default");
            vpop(v, o2);
        }
        vpop(v, o);
    }
    json_t *hd = json_object_get(pack, "headers");
    if (st == RP_OK && hd != NULL) {
        if (!json_is_object(hd))
            st = verr(v, pack, "headers", "a mapping of header name to text");
        const char *k;
        json_t *e;
        size_t o = vpush(v, "headers");
        json_object_foreach(hd, k, e) if (st == RP_OK && !json_is_string(e)) st =
            verr(v, hd, k, "text");
        vpop(v, o);
    }
    if (st == RP_OK)
        st = check_auth(v, pack);
    json_t *acts = json_object_get(pack, "actions");
    if (st == RP_OK && acts == NULL && json_object_get(pack, "sources") == NULL)
        st = verr(v, pack, NULL, "a pack needs actions or sources");
    if (st == RP_OK && acts != NULL &&
        (!json_is_object(acts) || json_object_size(acts) > RP_PACK_ACTIONS_MAX))
        st = verr(v, pack, "actions", "a mapping of at most %d actions", RP_PACK_ACTIONS_MAX);
    const char *k;
    json_t *a;
    json_object_foreach(acts, k, a)
    {
        if (st != RP_OK)
            break;
        size_t o = vpush(v, "actions");
        if (!name_ok(k))
            st = verr(v, acts, k, "action names are a-z 0-9 _ (at most %d)", RP_PACK_NAME_MAX),
            v->at_keypos = true;
        else if (!json_is_object(a))
            st = verr(v, acts, k, "a mapping {effect, help, request | requests | lua, output}");
        size_t o2 = vpush(v, k);
        if (st == RP_OK)
            st = check_action(v, k, a);
        vpop(v, o2);
        vpop(v, o);
    }
    json_t *srcs = json_object_get(pack, "sources");
    if (st == RP_OK && srcs != NULL &&
        (!json_is_object(srcs) || json_object_size(srcs) > RP_PACK_SOURCES_MAX))
        st = verr(v, pack, "sources", "a mapping of at most %d sources", RP_PACK_SOURCES_MAX);
    json_object_foreach(srcs, k, a)
    {
        if (st != RP_OK)
            break;
        size_t o = vpush(v, "sources");
        if (!name_ok(k))
            st = verr(v, srcs, k, "source names are a-z 0-9 _"), v->at_keypos = true;
        else if (!json_is_object(a))
            st = verr(v, srcs, k, "a mapping {every, format, request | requests | lua, items}");
        size_t o2 = vpush(v, k);
        if (st == RP_OK)
            st = check_source(v, a);
        vpop(v, o2);
        vpop(v, o);
    }
    return st;
}

rp_status pack_validate(json_t *pack, char *path, size_t path_cap, char *msg, size_t cap)
{
    struct vctx v = {0};
    struct rp_error err;
    if (expr_env_new(&v.expr, &err) != RP_OK) {
        rp_fmt(msg, cap, "%s", err.msg);
        return RP_E_NOMEM;
    }
    rp_status st = validate(&v, pack);
    if (st != RP_OK) {
        rp_fmt(msg, cap, "%s", v.msg);
        rp_fmt(path, path_cap, "%s", v.path);
    }
    expr_env_free(v.expr);
    return st;
}

rp_status pack_parse(const char *file, const char *text, size_t len, json_t **out,
                     struct rp_error *err)
{
    *out = NULL;
    struct ploader l = {.file = file};
    json_t *pack = NULL;
    if (len > RP_PACK_MAX_BYTES)
        return rp_error_set(err, RP_E_LIMIT, "%s: larger than %u bytes", file, RP_PACK_MAX_BYTES);
    rp_status st = yaml_to_json(&l, text, len, &pack);
    if (st == RP_E_NOMEM) {
        ploader_fini(&l);
        return rp_error_set(err, st, "%s: out of memory", file);
    }
    if (st != RP_OK) {
        rp_error_set(err, st, "%s:%d:%d: %s", file, l.line, l.col, l.msg);
        ploader_fini(&l);
        return st;
    }
    if (pack == NULL) {
        ploader_fini(&l);
        return rp_error_set(err, RP_E_INVALID, "%s:1:1: the pack is empty", file);
    }
    struct vctx v = {.l = &l};
    st = expr_env_new(&v.expr, err);
    if (st == RP_OK) {
        st = validate(&v, pack);
        if (st != RP_OK) {
            const struct pos *p = v.at_parent != NULL || v.at_key != NULL
                                      ? pos_find(&l, v.at_parent, v.at_key, v.at_index)
                                      : NULL;
            if (p == NULL && v.at_parent != NULL) {
                /* the container itself: find where it is held */
                for (size_t i = 0; i < l.npos && p == NULL; i++) {
                    const struct pos *q = &l.pos[i];
                    json_t *held = q->parent == NULL ? pack
                                   : q->key != NULL  ? json_object_get((json_t *)q->parent, q->key)
                                                    : json_array_get((json_t *)q->parent, q->index);
                    if (held == v.at_parent)
                        p = q;
                }
            }
            if (p == NULL)
                p = pos_find(&l, NULL, NULL, 0);
            int line = p == NULL ? 1 : v.at_keypos ? p->kline : p->line;
            int col = p == NULL ? 1 : v.at_keypos ? p->kcol : p->col;
            rp_error_set(err, st, "%s:%d:%d: %s", file, line, col, v.msg);
        }
    }
    expr_env_free(v.expr);
    ploader_fini(&l);
    if (st != RP_OK) {
        json_decref(pack);
        return st;
    }
    *out = pack;
    return RP_OK;
}

rp_status pack_load_file(const char *packs_dir, const char *name, json_t **out,
                         struct rp_error *err)
{
    *out = NULL;
    if (!name_ok(name))
        return rp_error_set(err, RP_E_INVALID, "pack names are a-z 0-9 _ (got %.64s)", name);
    char path[4096];
    if (!rp_fmt(path, sizeof path, "%s/%s.yml", packs_dir != NULL ? packs_dir : "packs", name))
        return rp_error_set(err, RP_E_INVALID, "pack path too long");
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return rp_error_set(err, RP_E_NOTFOUND, "%s: %s", path, strerror(errno));
    struct buf b;
    buf_init(&b, RP_PACK_MAX_BYTES);
    char chunk[8192];
    size_t n;
    rp_status st = RP_OK;
    while (st == RP_OK && (n = fread(chunk, 1, sizeof chunk, f)) > 0)
        st = buf_append(&b, chunk, n);
    bool ioerr = ferror(f) != 0;
    fclose(f);
    if (st != RP_OK || ioerr) {
        buf_fini(&b);
        return rp_error_set(err, st != RP_OK ? st : RP_E_IO, "%s: %s", path,
                            st == RP_E_LIMIT ? "larger than 1 MiB" : "cannot read");
    }
    st = pack_parse(path, b.data != NULL ? b.data : "", b.len, out, err);
    if (st == RP_OK) {
        const char *pn = json_string_value(json_object_get(*out, "name"));
        if (strcmp(pn, name) != 0) {
            st =
                rp_error_set(err, RP_E_INVALID, "%s: the pack is named %s, not %s", path, pn, name);
            json_decref(*out);
            *out = NULL;
        }
    }
    buf_fini(&b);
    return st;
}

/* --- instances ---------------------------------------------------------------------- */

struct pack_inst;

struct pack_action {
    struct action_def def;
    char name[2 * RP_PACK_NAME_MAX + 2];
    struct pack_inst *p;
    json_t *spec; /* the action's JSON (borrowed from p->pack) */
};

struct pack_source;

struct pack_inst {
    char *name;
    char *file;
    json_t *pack;
    struct http_service svc;
    struct pack_action *actions;
    size_t nactions;
    struct pack_source *sources;
    size_t nsources;
};

/* One run of an action's or a source's work: its requests in order, or its Lua. */
typedef void (*work_cb)(void *ud, rp_status st, json_t *value, json_t *steps, const char *msg);

struct work {
    struct pack_inst *p;
    json_t *spec;
    json_t *inputs;
    json_t *steps;
    json_t *last;
    size_t i;
    uv_loop_t *loop;
    struct http_exchange *ex;
    struct lua_run *lr;
    work_cb cb;
    void *ud;
};

static void work_free(struct work *w)
{
    if (w == NULL)
        return;
    http_exchange_cancel(w->ex);
    lua_run_cancel(w->lr);
    json_decref(w->inputs);
    json_decref(w->steps);
    json_decref(w->last);
    free(w);
}

static void work_end(struct work *w, rp_status st, json_t *value, const char *msg)
{
    w->ex = NULL;
    w->lr = NULL;
    work_cb cb = w->cb;
    void *ud = w->ud;
    cb(ud, st, value, w->steps, msg);
}

static void work_next(struct work *w, bool from_loop);

static void work_exchange_done(void *ud, rp_status st, json_t *result, const char *error)
{
    struct work *w = ud;
    w->ex = NULL;
    if (st != RP_OK) {
        work_end(w, st, NULL, error);
        return;
    }
    json_t *body = json_object_get(result, "body");
    json_decref(w->last);
    w->last = json_incref(body);
    json_t *reqs = json_object_get(w->spec, "requests");
    if (reqs != NULL) {
        const char *id = json_string_value(json_object_get(json_array_get(reqs, w->i), "id"));
        json_object_set(w->steps, id, body != NULL ? body : json_null());
    }
    json_decref(result);
    w->i++;
    work_next(w, true);
}

static void work_lua_done(void *ud, rp_status st, json_t *result, const char *error)
{
    struct work *w = ud;
    w->lr = NULL;
    json_decref(w->last);
    w->last = result;
    work_end(w, st, st == RP_OK ? w->last : NULL, error);
}

static void work_next(struct work *w, bool from_loop)
{
    (void)from_loop;
    struct pack_inst *p = w->p;
    json_t *reqs = json_object_get(w->spec, "requests");
    json_t *one = json_object_get(w->spec, "request");
    size_t n = reqs != NULL ? json_array_size(reqs) : 1;
    struct expr_scope scope = {.inputs = w->inputs, .vars = p->svc.vars, .steps = w->steps};
    struct rp_error err;
    while (w->i < n) {
        json_t *r = reqs != NULL ? json_array_get(reqs, w->i) : one;
        const char *when = json_string_value(json_object_get(r, "when"));
        if (when != NULL) {
            bool yes = false;
            if (expr_eval_bool(p->svc.expr, when, &scope, &yes, &err) != RP_OK) {
                work_end(w, RP_E_INVALID, NULL, err.msg);
                return;
            }
            if (!yes) {
                const char *id = json_string_value(json_object_get(r, "id"));
                json_object_set_new(w->steps, id, json_null());
                /* the work's value is the last answer: a skipped request has none */
                json_decref(w->last);
                w->last = NULL;
                w->i++;
                continue;
            }
        }
        json_t *t = json_deep_copy(r);
        if (t == NULL) {
            work_end(w, RP_E_NOMEM, NULL, "out of memory");
            return;
        }
        json_object_del(t, "id");
        json_object_del(t, "when");
        json_t *spec = NULL;
        rp_status st = expr_render_json(p->svc.expr, t, &scope, &spec, &err);
        json_decref(t);
        if (st == RP_OK)
            st = http_exchange_start(&p->svc, w->loop, spec, work_exchange_done, w, &w->ex, &err);
        json_decref(spec); /* the exchange keeps its own reference */
        if (st != RP_OK) {
            work_end(w, st, NULL, err.msg);
            return;
        }
        return;
    }
    work_end(w, RP_OK, w->last, NULL);
}

/* Starts the work of spec; cb is called later from the loop, or now (inside
 * this call) when rendering fails. */
static rp_status work_start(struct pack_inst *p, uv_loop_t *loop, json_t *spec, json_t *inputs,
                            work_cb cb, void *ud, struct work **out)
{
    struct work *w = calloc(1, sizeof *w);
    if (w == NULL)
        return RP_E_NOMEM;
    w->p = p;
    w->spec = spec;
    w->inputs = json_incref(inputs);
    w->steps = json_object();
    w->loop = loop;
    w->cb = cb;
    w->ud = ud;
    *out = w;
    const char *lua = json_string_value(json_object_get(spec, "lua"));
    if (lua != NULL) {
        int64_t ms = RP_LUA_ACTION_TIME_DEFAULT_MS;
        const char *t = json_string_value(json_object_get(spec, "timeout"));
        struct rp_error err;
        if (t != NULL && pb_duration_parse(t, &ms, &err) != RP_OK)
            ms = RP_LUA_ACTION_TIME_DEFAULT_MS;
        char name[160];
        rp_fmt(name, sizeof name, "%s", p->name);
        if (lua_run_start(&p->svc, loop, name, lua, inputs, ms, work_lua_done, w, &w->lr, &err) !=
            RP_OK)
            work_end(w, RP_E_INVALID, NULL, err.msg);
        return RP_OK;
    }
    work_next(w, false);
    return RP_OK;
}

/* --- output extraction --------------------------------------------------------------- */

static rp_status extract_depth(struct http_service *svc, json_t *o, struct expr_scope *scope,
                               json_t *body, json_t **out, struct rp_error *err, int depth)
{
    if (depth > RP_JSON_MAX_DEPTH)
        return rp_error_set(err, RP_E_LIMIT, "output nested too deep");
    if (json_is_string(o)) {
        const char *s = json_string_value(o);
        if (expr_is_template(s))
            return expr_render(svc->expr, s, scope, out, err);
        json_t *v = http_path_get(body, s);
        *out = v != NULL ? json_deep_copy(v) : json_null();
        return *out != NULL ? RP_OK : rp_error_set(err, RP_E_NOMEM, "out of memory");
    }
    if (json_is_object(o)) {
        json_t *r = json_object();
        const char *k;
        json_t *e;
        json_object_foreach(o, k, e)
        {
            json_t *v = NULL;
            rp_status st = extract_depth(svc, e, scope, body, &v, err, depth + 1);
            if (st != RP_OK) {
                json_decref(r);
                rp_error_prefix(err, "output.%s", k);
                return st;
            }
            json_object_set_new(r, k, v);
        }
        *out = r;
        return RP_OK;
    }
    *out = json_deep_copy(o);
    return RP_OK;
}

rp_status pack_extract(struct http_service *svc, json_t *output, json_t *body, json_t *inputs,
                       json_t *steps, json_t **out, struct rp_error *err)
{
    *out = NULL;
    rp_status st;
    if (output == NULL) {
        *out = body != NULL ? json_deep_copy(body) : json_null();
        st = *out != NULL ? RP_OK : rp_error_set(err, RP_E_NOMEM, "out of memory");
    } else {
        struct expr_scope scope = {
            .inputs = inputs, .vars = svc->vars, .steps = steps, .item = body};
        st = extract_depth(svc, output, &scope, body, out, err, 0);
    }
    if (st == RP_OK)
        http_mask_json(svc, *out);
    return st;
}

/* --- actions -------------------------------------------------------------------------- */

struct pack_call {
    struct pack_action *pa;
    struct action_call *call;
    json_t *inputs;
    struct work *w;
};

static void call_free(struct pack_call *c)
{
    json_decref(c->inputs);
    free(c);
}

static void action_work_done(void *ud, rp_status st, json_t *value, json_t *steps, const char *msg)
{
    struct pack_call *c = ud;
    struct pack_action *pa = c->pa;
    struct action_call *call = c->call;
    json_t *out = NULL;
    struct rp_error err;
    if (st == RP_OK)
        st = pack_extract(&pa->p->svc, json_object_get(pa->spec, "output"), value, c->inputs, steps,
                          &out, &err);
    else
        rp_fmt(err.msg, sizeof err.msg, "%s", msg != NULL ? msg : rp_status_str(st));
    work_free(c->w);
    call->impl = NULL;
    call_free(c);
    if (st == RP_OK) {
        action_succeed(call, out);
    } else {
        char *m = http_mask(&pa->p->svc, err.msg);
        action_fail(call, st, "%s: %s", pa->name, m != NULL ? m : "failed");
        free(m);
    }
}

/* The step's parameters with the declared defaults; a missing required input
 * is an error. */
static rp_status action_inputs(struct pack_action *pa, json_t *params, json_t **out, char *msg,
                               size_t cap)
{
    json_t *in = json_is_object(params) ? json_deep_copy(params) : json_object();
    if (in == NULL)
        return RP_E_NOMEM;
    const char *k;
    json_t *d;
    json_object_foreach(json_object_get(pa->spec, "inputs"), k, d)
    {
        json_t *v = json_object_get(in, k);
        if ((v == NULL || json_is_null(v)) && json_object_get(d, "default") != NULL)
            json_object_set(in, k, json_object_get(d, "default"));
        else if ((v == NULL || json_is_null(v)) && json_is_true(json_object_get(d, "required"))) {
            rp_fmt(msg, cap, "input %s is required (%s)", k,
                   json_string_value(json_object_get(d, "help")) != NULL
                       ? json_string_value(json_object_get(d, "help"))
                       : "see the pack");
            json_decref(in);
            return RP_E_INVALID;
        }
    }
    *out = in;
    return RP_OK;
}

static rp_status pack_action_start(struct action_call *call)
{
    struct pack_action *pa = call->def->data;
    char msg[RP_ERROR_MAX];
    json_t *inputs = NULL;
    rp_status st = action_inputs(pa, call->params, &inputs, msg, sizeof msg);
    if (st != RP_OK) {
        action_fail(call, st, "%s: %s", pa->name, msg);
        return RP_OK;
    }
    struct pack_call *c = calloc(1, sizeof *c);
    if (c == NULL) {
        json_decref(inputs);
        return RP_E_NOMEM;
    }
    c->pa = pa;
    c->call = call;
    c->inputs = inputs;
    call->impl = c;
    st = work_start(pa->p, call->loop, pa->spec, inputs, action_work_done, c, &c->w);
    if (st != RP_OK) {
        call->impl = NULL;
        call_free(c);
        return st;
    }
    return RP_OK;
}

static void pack_action_cancel(struct action_call *call)
{
    struct pack_call *c = call->impl;
    if (c == NULL)
        return;
    work_free(c->w);
    call_free(c);
    call->impl = NULL;
}

/* --- sources -------------------------------------------------------------------------- */

struct pack_source {
    struct pack_inst *p;
    const char *name;
    json_t *spec;
    int64_t every_ms;
    bool enabled;
    bool started;
    uv_timer_t timer;
    struct source_sink sink;
    uv_loop_t *loop;
    struct work *w;
    json_t *cursor;
    json_t *seen; /* ids of the items at the cursor value */
    bool loaded;  /* the saved position was looked up */
    char origin[2 * RP_PACK_NAME_MAX + 2];
};

/* -1, 0, 1: a against b (numbers by value, strings by bytes; ISO times in one
 * format compare as text). */
static int cmp_values(json_t *a, json_t *b)
{
    if (json_is_number(a) && json_is_number(b)) {
        double x = json_number_value(a), y = json_number_value(b);
        return x < y ? -1 : x > y;
    }
    const char *x = json_string_value(a), *y = json_string_value(b);
    if (x == NULL || y == NULL)
        return x == NULL ? (y == NULL ? 0 : -1) : 1;
    int c = strcmp(x, y);
    return c < 0 ? -1 : c > 0;
}

static bool seen_has(json_t *seen, json_t *id)
{
    size_t i;
    json_t *e;
    json_array_foreach(seen, i, e) if (json_equal(e, id)) return true;
    return false;
}

static void source_work_done(void *ud, rp_status st, json_t *value, json_t *steps, const char *msg)
{
    (void)steps;
    struct pack_source *s = ud;
    struct pack_inst *p = s->p;
    char q[RP_ERROR_MAX + 8];
    if (st != RP_OK) {
        char *m = http_mask(&p->svc, msg != NULL ? msg : rp_status_str(st));
        log_warn("source.poll", "source=%s ok=no error=%s", s->origin,
                 log_quote(q, sizeof q, m != NULL ? m : "failed"));
        free(m);
        work_free(s->w);
        s->w = NULL;
        return;
    }
    json_t *items = NULL;
    json_t *lua_cursor = NULL;
    const char *ipath = json_string_value(json_object_get(s->spec, "items"));
    if (json_object_get(s->spec, "lua") != NULL && ipath == NULL) {
        items = json_is_array(value) ? value : json_object_get(value, "items");
        lua_cursor = json_object_get(value, "cursor");
    } else {
        items = http_path_get(value, ipath);
    }
    json_t *cur = json_object_get(s->spec, "cursor");
    const char *field = json_string_value(json_object_get(cur, "field"));
    const char *idp = json_string_value(json_object_get(cur, "id"));
    json_t *fresh = json_array();
    json_t *best = s->cursor != NULL ? json_incref(s->cursor) : NULL;
    json_t *best_ids = json_array();
    /* the ids seen when nothing orders the feed: a copy, kept only once the
     * new items are stored */
    json_t *seen = json_copy(s->seen);
    size_t i;
    json_t *it;
    json_array_foreach(items, i, it)
    {
        if (field != NULL) {
            json_t *fv = http_path_get(it, field);
            json_t *id = idp != NULL ? http_path_get(it, idp) : NULL;
            if (fv != NULL && s->cursor != NULL) {
                int c = cmp_values(fv, s->cursor);
                if (c < 0 || (c == 0 && (id == NULL || seen_has(s->seen, id))))
                    continue;
            }
            if (fv != NULL) {
                int c = best != NULL ? cmp_values(fv, best) : 1;
                if (c > 0) {
                    json_decref(best);
                    best = json_incref(fv);
                    json_array_clear(best_ids);
                }
                if (c >= 0 && id != NULL)
                    json_array_append(best_ids, id);
            }
        }
        if (field == NULL && idp != NULL) {
            /* no order to follow: remember the ids seen (a bounded window) */
            json_t *id = http_path_get(it, idp);
            if (id != NULL && seen_has(seen, id))
                continue;
            if (id != NULL) {
                if (json_array_size(seen) >= RP_HTTPC_ITEMS_MAX)
                    json_array_remove(seen, 0);
                json_array_append(seen, id);
            }
        }
        json_array_append(fresh, it);
    }
    size_t n = json_array_size(fresh);
    rp_status sst = RP_OK;
    if (n > 0) {
        char *text = json_dumps(fresh, JSON_COMPACT);
        const char *fmt = json_string_value(json_object_get(s->spec, "format"));
        sst = text != NULL ? s->sink.submit(s->sink.ctx, s->origin, fmt, text, strlen(text))
                           : RP_E_NOMEM;
        free(text);
    }
    /* The position moves only once what it passes over is stored: a failed
     * submit leaves it where it was, so the next poll fetches those again. */
    if (sst == RP_OK) {
        if (field != NULL && best != NULL) {
            if (s->cursor != NULL && cmp_values(best, s->cursor) == 0) {
                json_array_extend(seen, best_ids); /* same boundary: remember more ids */
            } else {
                json_decref(seen);
                seen = json_incref(best_ids);
            }
            json_decref(s->cursor);
            s->cursor = json_incref(best);
        } else if (lua_cursor != NULL && !json_is_null(lua_cursor)) {
            json_decref(s->cursor);
            s->cursor = json_deep_copy(lua_cursor);
        }
        json_decref(s->seen);
        s->seen = seen;
        seen = NULL;
        if (s->sink.cursor_save != NULL && (n > 0 || s->cursor != NULL)) {
            json_t *state = json_pack("{s:O?,s:O}", "cursor", s->cursor, "seen", s->seen);
            if (state == NULL || s->sink.cursor_save(s->sink.ctx, s->origin, state) != RP_OK)
                log_warn("source.position",
                         "source=%s error=\"cannot save the position: it "
                         "is kept in memory\"",
                         s->origin);
            json_decref(state);
        }
    }
    json_decref(seen);
    json_decref(best);
    json_decref(best_ids);
    log_info("source.poll", "source=%s ok=%s fetched=%zu new=%zu", s->origin,
             sst == RP_OK ? "yes" : "no", json_array_size(items), n);
    json_decref(fresh);
    work_free(s->w);
    s->w = NULL;
}

static void source_fire(uv_timer_t *t)
{
    struct pack_source *s = t->data;
    struct pack_inst *p = s->p;
    if (s->w != NULL)
        return; /* the previous poll is still running */
    if (!s->loaded) {
        /* where the source stopped before a restart, if the sink keeps it */
        s->loaded = true;
        json_t *state = NULL;
        if (s->sink.cursor_load != NULL &&
            s->sink.cursor_load(s->sink.ctx, s->origin, &state) == RP_OK && state != NULL) {
            json_t *c = json_object_get(state, "cursor");
            json_t *seen = json_object_get(state, "seen");
            if (c != NULL && !json_is_null(c)) {
                json_decref(s->cursor);
                s->cursor = json_incref(c);
            }
            if (json_is_array(seen)) {
                json_decref(s->seen);
                s->seen = json_incref(seen);
            }
            log_info("source.resume", "source=%s", s->origin);
        }
        json_decref(state);
    }
    if (s->cursor == NULL) {
        json_t *init = json_object_get(json_object_get(s->spec, "cursor"), "initial");
        if (init != NULL) {
            struct expr_scope scope = {.vars = p->svc.vars};
            struct rp_error err;
            char q[RP_ERROR_MAX + 8];
            if (expr_render_json(p->svc.expr, init, &scope, &s->cursor, &err) != RP_OK) {
                log_warn("source.poll", "source=%s ok=no error=%s", s->origin,
                         log_quote(q, sizeof q, err.msg));
                return;
            }
        }
    }
    json_t *inputs = json_pack("{s:O}", "cursor", s->cursor != NULL ? s->cursor : json_null());
    if (inputs == NULL)
        return;
    if (work_start(p, s->loop, s->spec, inputs, source_work_done, s, &s->w) != RP_OK)
        log_warn("source.poll", "source=%s ok=no error=out-of-memory", s->origin);
    json_decref(inputs);
}

rp_status pack_instance_sources(struct pack_inst *p, uv_loop_t *loop,
                                const struct source_sink *sink, struct rp_error *err)
{
    for (size_t i = 0; i < p->nsources; i++) {
        struct pack_source *s = &p->sources[i];
        if (!s->enabled || s->started)
            continue;
        s->loop = loop;
        s->sink = *sink;
        if (uv_timer_init(loop, &s->timer) != 0)
            return rp_error_set(err, RP_E_NOMEM, "source %s: cannot start its timer", s->name);
        s->timer.data = s;
        s->started = true;
        uv_timer_start(&s->timer, source_fire, 0, (uint64_t)s->every_ms);
        log_info("source.start", "source=%s every_ms=%lld", s->origin, (long long)s->every_ms);
    }
    return RP_OK;
}

void pack_instance_stop(struct pack_inst *p)
{
    for (size_t i = 0; p != NULL && i < p->nsources; i++) {
        struct pack_source *s = &p->sources[i];
        work_free(s->w);
        s->w = NULL;
        if (s->started) {
            uv_timer_stop(&s->timer);
            uv_close((uv_handle_t *)&s->timer, NULL);
            s->started = false;
        }
    }
}

void pack_instance_free(struct pack_inst *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->nsources; i++) {
        work_free(p->sources[i].w);
        json_decref(p->sources[i].cursor);
        json_decref(p->sources[i].seen);
    }
    free(p->sources);
    /* actions stay registered for the process's life (action.h): their defs
     * are freed only here, at exit */
    free(p->actions);
    http_service_fini(&p->svc);
    json_decref(p->pack);
    free(p->name);
    free(p->file);
    free(p);
}

/* --- building an instance -------------------------------------------------------------- */

/* "${name}" replaced by settings[name] (secret or not). */
static rp_status subst(const char *instance, json_t *all, const char *in, char **out,
                       struct rp_error *err)
{
    struct buf b;
    buf_init(&b, RP_HTTPC_URL_MAX);
    const char *p = in;
    rp_status st = RP_OK;
    while (st == RP_OK && *p != '\0') {
        const char *d = strstr(p, "${");
        if (d == NULL) {
            st = buf_puts(&b, p);
            break;
        }
        st = buf_append(&b, p, (size_t)(d - p));
        const char *e = strchr(d, '}');
        if (st != RP_OK)
            break;
        if (e == NULL) {
            st = rp_error_set(err, RP_E_INVALID, "connectors.%s: unclosed ${ in \"%.60s\"",
                              instance, in);
            break;
        }
        char name[RP_PACK_NAME_MAX + 1];
        if (!rp_fmt(name, sizeof name, "%.*s", (int)(e - d - 2), d + 2)) {
            st = rp_error_set(err, RP_E_INVALID, "connectors.%s: ${...} name too long", instance);
            break;
        }
        const char *v = json_string_value(json_object_get(all, name));
        if (v == NULL) {
            st = rp_error_set(err, RP_E_INVALID,
                              "connectors.%s: ${%s} is not a setting the instance gives", instance,
                              name);
            break;
        }
        st = buf_puts(&b, v);
        p = e + 1;
    }
    if (st == RP_OK && b.data == NULL)
        st = buf_puts(&b, "");
    if (st != RP_OK) {
        if (b.data != NULL)
            sodium_memzero(b.data, b.len);
        buf_fini(&b);
        if (st == RP_E_LIMIT)
            rp_error_set(err, st, "connectors.%s: value too long", instance);
        return st;
    }
    *out = buf_steal(&b);
    return RP_OK;
}

static const char *const INSTANCE_KEYS[] = {
    "pack", "type", "sources", "insecure", "timeout", "connect_timeout", "retries"};

/* Reads the settings into svc (vars, secrets) and all (every value, for ${}). */
static rp_status read_settings(struct pack_inst *p, json_t *conf, const struct connector_env *env,
                               json_t *all, struct rp_error *err)
{
    json_t *decl = json_object_get(p->pack, "settings");
    const char *k;
    json_t *v;
    json_object_foreach(conf, k, v)
    {
        bool known = json_object_get(decl, k) != NULL;
        for (size_t i = 0; i < sizeof INSTANCE_KEYS / sizeof INSTANCE_KEYS[0]; i++)
            known = known || strcmp(k, INSTANCE_KEYS[i]) == 0;
        if (!known) {
            char list[512] = "";
            size_t off = 0;
            const char *sk;
            json_t *sd;
            json_object_foreach(decl, sk, sd)
            {
                int n = snprintf(list + off, sizeof list - off, "%s%s", off ? ", " : "", sk);
                if (n < 0 || (size_t)n >= sizeof list - off)
                    break;
                off += (size_t)n;
            }
            return rp_error_set(err, RP_E_INVALID,
                                "connectors.%s.%s: not a setting of %s (settings: %s; and "
                                "sources, insecure, timeout, connect_timeout, retries)",
                                p->name, k, p->file, list);
        }
    }
    json_object_foreach(decl, k, v)
    {
        bool secret = json_is_true(json_object_get(v, "secret"));
        bool required = json_is_true(json_object_get(v, "required"));
        json_t *given = json_object_get(conf, k);
        char *val = NULL;
        rp_status st;
        if (given == NULL && json_is_string(json_object_get(v, "default"))) {
            val = strdup(json_string_value(json_object_get(v, "default")));
            st = val != NULL ? RP_OK : RP_E_NOMEM;
        } else {
            st = connector_string(p->name, conf, k, required, env, &val, err);
        }
        if (st != RP_OK)
            return st;
        if (val == NULL)
            continue;
        secret = secret || json_is_object(given);
        if (secret && json_is_string(given))
            log_warn("connector.secret_inline",
                     "instance=%s setting=%s advice=\"keep it in the secret store: "
                     "%s: {secret: NAME}\"",
                     p->name, k, k);
        if (secret)
            st = http_service_add_secret(&p->svc, val);
        else
            st = json_object_set_new(p->svc.vars, k, json_string(val)) == 0 ? RP_OK : RP_E_NOMEM;
        if (st == RP_OK && json_object_set_new(all, k, json_string(val)) != 0)
            st = RP_E_NOMEM;
        connector_secret_free(val);
        if (st != RP_OK)
            return rp_error_set(err, st, "connectors.%s.%s: %s", p->name, k,
                                st == RP_E_LIMIT ? "too many secrets" : "out of memory");
    }
    return RP_OK;
}

static rp_status auth_str(struct pack_inst *p, json_t *all, json_t *a, const char *key, char **out,
                          struct rp_error *err)
{
    const char *s = json_string_value(json_object_get(a, key));
    *out = NULL;
    if (s == NULL)
        return RP_OK;
    return subst(p->name, all, s, out, err);
}

static rp_status read_auth(struct pack_inst *p, json_t *all, struct rp_error *err)
{
    json_t *a = json_object_get(p->pack, "auth");
    struct http_auth *au = &p->svc.auth;
    const char *t = json_string_value(json_object_get(a, "type"));
    rp_status st = RP_OK;
    if (t == NULL || strcmp(t, "none") == 0) {
        au->kind = HTTP_AUTH_NONE;
    } else if (strcmp(t, "basic") == 0) {
        au->kind = HTTP_AUTH_BASIC;
        st = auth_str(p, all, a, "username", &au->user, err);
        if (st == RP_OK)
            st = auth_str(p, all, a, "password", &au->pass, err);
    } else if (strcmp(t, "bearer") == 0) {
        au->kind = HTTP_AUTH_BEARER;
        st = auth_str(p, all, a, "token", &au->token, err);
        const char *sc = json_string_value(json_object_get(a, "scheme"));
        au->scheme = strdup(sc != NULL ? sc : "Bearer");
        if (st == RP_OK && au->scheme == NULL)
            st = rp_error_set(err, RP_E_NOMEM, "out of memory");
    } else if (strcmp(t, "api_key") == 0) {
        au->kind = HTTP_AUTH_API_KEY;
        const char *h = json_string_value(json_object_get(a, "header"));
        const char *q = json_string_value(json_object_get(a, "query"));
        au->key_header = h != NULL ? strdup(h) : NULL;
        au->key_query = q != NULL ? strdup(q) : NULL;
        st = auth_str(p, all, a, "value", &au->key_value, err);
        if (st == RP_OK)
            st = http_service_add_secret(&p->svc, au->key_value) == RP_OK
                     ? RP_OK
                     : rp_error_set(err, RP_E_LIMIT, "connectors.%s: too many secrets", p->name);
    } else if (strcmp(t, "oauth2") == 0) {
        au->kind = HTTP_AUTH_OAUTH2;
        st = auth_str(p, all, a, "token_url", &au->token_url, err);
        if (st == RP_OK)
            st = auth_str(p, all, a, "client_id", &au->client_id, err);
        if (st == RP_OK)
            st = auth_str(p, all, a, "client_secret", &au->client_secret, err);
        const char *ca = json_string_value(json_object_get(a, "client_auth"));
        au->client_basic = ca != NULL && strcmp(ca, "basic") == 0;
        json_t *form = json_object_get(a, "form");
        au->form =
            form != NULL ? json_object() : json_pack("{s:s}", "grant_type", "client_credentials");
        const char *k;
        json_t *v;
        json_object_foreach(form, k, v)
        {
            char *sv = NULL;
            if (st == RP_OK && json_is_string(v))
                st = subst(p->name, all, json_string_value(v), &sv, err);
            if (st == RP_OK && sv != NULL)
                json_object_set_new(au->form, k, json_string(sv));
            free(sv);
        }
    } else {
        au->kind = HTTP_AUTH_JWT;
        st = auth_str(p, all, a, "token_url", &au->token_url, err);
        if (st == RP_OK)
            st = auth_str(p, all, a, "secret", &au->client_secret, err);
        au->claims = json_object();
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(a, "claims"), k, v)
        {
            char *sv = NULL;
            if (st == RP_OK && json_is_string(v))
                st = subst(p->name, all, json_string_value(v), &sv, err);
            if (st == RP_OK)
                json_object_set_new(au->claims, k, sv != NULL ? json_string(sv) : json_copy(v));
            free(sv);
        }
        const char *bf = json_string_value(json_object_get(a, "body_field"));
        au->body_field = strdup(bf != NULL ? bf : "auth_token");
        au->jwt_lifetime_ms = 1800000;
        const char *lt = json_string_value(json_object_get(a, "lifetime"));
        struct rp_error e2;
        if (lt != NULL && pb_duration_parse(lt, &au->jwt_lifetime_ms, &e2) != RP_OK)
            au->jwt_lifetime_ms = 1800000;
    }
    const char *tf = json_string_value(json_object_get(a, "token_field"));
    if (tf != NULL)
        au->token_field = strdup(tf);
    return st;
}

rp_status pack_instance_new(const char *instance, const char *file, json_t *pack, json_t *conf,
                            const struct connector_env *env, struct pack_inst **out,
                            struct rp_error *err)
{
    *out = NULL;
    struct pack_inst *p = calloc(1, sizeof *p);
    json_t *all = json_object();
    if (p == NULL || all == NULL) {
        free(p);
        json_decref(all);
        return rp_error_set(err, RP_E_NOMEM, "out of memory");
    }
    p->name = strdup(instance);
    p->file = strdup(file);
    p->pack = json_incref(pack);
    rp_status st = http_service_init(&p->svc, instance, err);
    if (st == RP_OK)
        st = http_service_options(&p->svc, conf, err);
    if (st == RP_OK)
        st = read_settings(p, conf, env, all, err);
    if (st == RP_OK) {
        const char *bu = json_string_value(json_object_get(pack, "base_url"));
        if (bu == NULL && json_object_get(all, "url") != NULL)
            bu = "${url}";
        if (bu != NULL)
            st = subst(instance, all, bu, &p->svc.base_url, err);
        if (st == RP_OK && p->svc.base_url != NULL && strncmp(p->svc.base_url, "http://", 7) != 0 &&
            strncmp(p->svc.base_url, "https://", 8) != 0)
            st = rp_error_set(err, RP_E_INVALID, "connectors.%s.url: an http:// or https:// URL",
                              instance);
    }
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(pack, "headers"), k, v)
    {
        char *hv = NULL;
        if (st == RP_OK)
            st = subst(instance, all, json_string_value(v), &hv, err);
        if (st == RP_OK)
            json_object_set_new(p->svc.headers, k, json_string(hv));
        free(hv);
    }
    if (st == RP_OK)
        st = read_auth(p, all, err);
    /* the whole settings object held secrets: wipe its strings */
    json_object_foreach(all, k, v)
    {
        char *s = (char *)json_string_value(v);
        if (s != NULL)
            sodium_memzero(s, strlen(s));
    }
    json_decref(all);
    /* actions: all checked before any is registered */
    json_t *acts = json_object_get(pack, "actions");
    if (st == RP_OK && json_object_size(acts) > 0) {
        p->actions = calloc(json_object_size(acts), sizeof *p->actions);
        if (p->actions == NULL)
            st = rp_error_set(err, RP_E_NOMEM, "out of memory");
    }
    json_object_foreach(acts, k, v)
    {
        if (st != RP_OK)
            break;
        struct pack_action *pa = &p->actions[p->nactions++];
        rp_fmt(pa->name, sizeof pa->name, "%s.%s", instance, k);
        pa->p = p;
        pa->spec = v;
        enum action_effect e = ACTION_EFFECT_MODIFY;
        if (action_effect_parse(json_string_value(json_object_get(v, "effect")), &e) != RP_OK)
            e = ACTION_EFFECT_MODIFY;
        pa->def =
            (struct action_def){.name = pa->name,
                                .effect = e,
                                .honours_keys = json_is_true(json_object_get(v, "honours_keys")),
                                .help = json_string_value(json_object_get(v, "help")),
                                .start = pack_action_start,
                                .cancel = pack_action_cancel,
                                .data = pa};
        if (action_find(pa->name) != NULL)
            st = rp_error_set(err, RP_E_EXISTS, "connectors.%s: action %s exists already", instance,
                              pa->name);
    }
    /* sources: the instance names those it wants */
    json_t *srcs = json_object_get(pack, "sources");
    json_t *want = json_object_get(conf, "sources");
    if (st == RP_OK && want != NULL && !json_is_object(want))
        st = rp_error_set(err, RP_E_INVALID,
                          "connectors.%s.sources: a mapping of source name to {every: 60s}",
                          instance);
    if (st == RP_OK && json_object_size(srcs) > 0) {
        p->sources = calloc(json_object_size(srcs), sizeof *p->sources);
        if (p->sources == NULL)
            st = rp_error_set(err, RP_E_NOMEM, "out of memory");
    }
    json_object_foreach(srcs, k, v)
    {
        if (st != RP_OK)
            break;
        struct pack_source *s = &p->sources[p->nsources++];
        s->p = p;
        s->name = k;
        s->spec = v;
        s->seen = json_array();
        rp_fmt(s->origin, sizeof s->origin, "%s.%s", instance, k);
        s->every_ms = 60000;
        const char *ev = json_string_value(json_object_get(v, "every"));
        if (ev != NULL && pb_duration_parse(ev, &s->every_ms, err) != RP_OK)
            s->every_ms = 60000;
        json_t *w = json_object_get(want, k);
        s->enabled = w != NULL && !json_is_false(w);
        if (json_is_object(w)) {
            const char *wev = json_string_value(json_object_get(w, "every"));
            struct rp_error e2;
            int64_t ms = 0;
            if (wev != NULL &&
                (pb_duration_parse(wev, &ms, &e2) != RP_OK || ms < RP_PACK_EVERY_MIN_MS))
                st = rp_error_set(err, RP_E_INVALID,
                                  "connectors.%s.sources.%s.every: a duration of at least 1s",
                                  instance, k);
            else if (wev != NULL)
                s->every_ms = ms;
        }
    }
    json_object_foreach(want, k, v)
    {
        if (st == RP_OK && json_object_get(srcs, k) == NULL)
            st = rp_error_set(err, RP_E_INVALID, "connectors.%s.sources.%s: %s has no such source",
                              instance, k, file);
    }
    for (size_t i = 0; st == RP_OK && i < p->nactions; i++) {
        st = action_register(&p->actions[i].def);
        /* names were checked above; only a full registry can fail here */
        if (st != RP_OK)
            rp_error_set(err, st, "connectors.%s: cannot register %s (%s)", instance,
                         p->actions[i].name, rp_status_str(st));
    }
    if (st != RP_OK) {
        pack_instance_free(p);
        return st;
    }
    *out = p;
    return RP_OK;
}

/* --- the `pack:` module ------------------------------------------------------------ */

static rp_status pack_create(const char *instance, json_t *conf, const struct connector_env *env,
                             void **out, struct rp_error *err)
{
    *out = NULL;
    const char *name = json_string_value(json_object_get(conf, "pack"));
    const char *dir = env != NULL && env->packs_dir != NULL ? env->packs_dir : "packs";
    json_t *pack = NULL;
    rp_status st = pack_load_file(dir, name, &pack, err);
    if (st != RP_OK) {
        rp_error_prefix(err, "connectors.%s: pack %s", instance, name);
        return st;
    }
    char file[RP_PACK_NAME_MAX + 16];
    rp_fmt(file, sizeof file, "pack %s", name);
    struct pack_inst *p = NULL;
    st = pack_instance_new(instance, file, pack, conf, env, &p, err);
    json_decref(pack);
    if (st == RP_OK)
        *out = p;
    return st;
}

static rp_status pack_sources(void *inst, struct uv_loop_s *loop, const struct source_sink *sink,
                              struct rp_error *err)
{
    return pack_instance_sources(inst, loop, sink, err);
}

static void pack_stop(void *inst)
{
    pack_instance_stop(inst);
}

static void pack_destroy(void *inst)
{
    pack_instance_free(inst);
}

const struct connector_type connector_pack = {.name = "pack",
                                              .create = pack_create,
                                              .start_sources = pack_sources,
                                              .stop = pack_stop,
                                              .destroy = pack_destroy};

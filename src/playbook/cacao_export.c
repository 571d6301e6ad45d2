/*
 * cacao_export.c: a loaded Riposte playbook as a CACAO 2.0 playbook (JSON).
 *
 * Each list becomes a chain of CACAO steps joined by on_completion (or
 * on_success/on_failure when the step has on_error), ending in an end step:
 * the top list's ends the run, a nested list's ends its parallel branch or
 * loop body. Identifiers are UUIDv5 of the playbook's name and the step's id,
 * timestamps derive from the playbook's version, so an export is the same
 * bytes every time (docs/cacao.md). Every step carries the original Riposte
 * step in Riposte's step extension (what CACAO cannot say: the kind, `when`,
 * retry, Lua expressions), which cacao_import.c reads back.
 *
 * Any thread; the playbook is only read. Failure: RP_E_NOMEM, RP_E_INVALID
 * for a shape the loader should not have let through, RP_E_LIMIT on depth.
 */
#include "playbook/cacao.h"

#include "core/limits.h"
#include "playbook/cacao_internal.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Riposte's UUIDv5 namespace (RFC 9562 §5.5): a fixed random UUID, so that
 * names hashed in it never meet names of another application. */
static const unsigned char NAMESPACE[16] = {0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0x4d, 0x2a,
                                            0xa6, 0xd2, 0x0f, 0x81, 0x9c, 0x4f, 0x3c, 0x62};

void cacao_uuid5(const char *name, char out[37])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    RP_ASSERT(ctx != NULL);
    RP_ASSERT(EVP_DigestInit_ex(ctx, EVP_sha1(), NULL) == 1 &&
              EVP_DigestUpdate(ctx, NAMESPACE, sizeof NAMESPACE) == 1 &&
              EVP_DigestUpdate(ctx, name, strlen(name)) == 1 &&
              EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 && mdlen >= 16);
    EVP_MD_CTX_free(ctx);
    md[6] = (unsigned char)((md[6] & 0x0f) | 0x50); /* version 5 */
    md[8] = (unsigned char)((md[8] & 0x3f) | 0x80); /* RFC variant */
    static const char hex[] = "0123456789abcdef";
    size_t k = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out[k++] = '-';
        out[k++] = hex[md[i] >> 4];
        out[k++] = hex[md[i] & 15];
    }
    out[k] = '\0';
}

void cacao_ext_id(char out[CACAO_EXT_ID_LEN])
{
    char u[37];
    cacao_uuid5(CACAO_EXT_NAME, u);
    snprintf(out, CACAO_EXT_ID_LEN, "extension-definition--%s", u);
}

struct exp {
    const struct playbook *pb;
    json_t *workflow;
    json_t *agents, *targets;
    char ext_id[CACAO_EXT_ID_LEN];
    struct rp_error *err;
};

static rp_status nomem(struct exp *ex)
{
    return rp_error_set(ex->err, RP_E_NOMEM, "out of memory");
}

/* The kind as the YAML spells it (as pb_kind_name, kept here so that the
 * export does not depend on the loader's object file). */
static const char *kind_name(enum pb_kind k)
{
    static const char *const names[] = {"action",   "prompt",   "set",      "switch",
                                        "for_each", "while",    "parallel", "group",
                                        "wait",     "playbook", "case",     "end"};
    return (unsigned)k < sizeof names / sizeof names[0] ? names[k] : "unknown";
}

static const char *cacao_type(const struct pb_step *s)
{
    switch (s->kind) {
    case PB_SWITCH:
        return "switch-condition";
    case PB_FOR_EACH:
    case PB_WHILE:
        return "while-condition";
    case PB_PARALLEL:
        return "parallel";
    case PB_SUB:
        return "playbook-action";
    case PB_END:
        return "end";
    default:
        return "action";
    }
}

/* "TYPE--uuid5(playbook/what)" */
static void key_of(const struct exp *ex, const char *type, const char *what, char *out, size_t n)
{
    char name[1200], u[37];
    snprintf(name, sizeof name, "%s/%s", ex->pb->name, what);
    cacao_uuid5(name, u);
    snprintf(out, n, "%s--%s", type, u);
}

static void step_key(const struct exp *ex, const struct pb_step *s, char *out, size_t n)
{
    key_of(ex, cacao_type(s), s->id, out, n);
}

static void duration_text(int64_t ms, char *out, size_t n)
{
    static const struct {
        int64_t ms;
        const char *unit;
    } u[] = {{86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};
    for (size_t i = 0; i < sizeof u / sizeof u[0]; i++)
        if (ms % u[i].ms == 0) {
            snprintf(out, n, "%lld%s", (long long)(ms / u[i].ms), u[i].unit);
            return;
        }
    snprintf(out, n, "%lldms", (long long)ms);
}

static int set_str(json_t *o, const char *k, const char *v)
{
    return v == NULL ? 0 : json_object_set_new(o, k, json_string(v));
}

static int set_dur(json_t *o, const char *k, int64_t ms)
{
    char d[40];
    duration_text(ms, d, sizeof d);
    return set_str(o, k, d);
}

static int set_copy(json_t *o, const char *k, json_t *v)
{
    return v == NULL ? 0 : json_object_set_new(o, k, json_deep_copy(v));
}

/* The step as its YAML would write it, less id, jumps and nested lists. */
static json_t *step_spec(const struct pb_step *s)
{
    static const char *const case_ops[] = {"status", "severity", "assignee", "note", "task"};
    json_t *o = json_object();
    json_t *x;
    int bad = o == NULL;
    if (bad)
        return NULL;
    bad |= set_str(o, "name", s->name);
    bad |= set_str(o, "when", s->when);
    if (s->timeout_ms > 0)
        bad |= set_dur(o, "timeout", s->timeout_ms);
    if (s->retry_count > 0) {
        x = json_object();
        bad |= x == NULL || json_object_set_new(o, "retry", x) != 0;
        if (!bad) {
            bad |= json_object_set_new(x, "count", json_integer(s->retry_count)) != 0;
            if (s->retry_backoff_ms > 0)
                bad |= set_dur(x, "backoff", s->retry_backoff_ms);
        }
    }
    switch (s->kind) {
    case PB_ACTION:
        bad |= set_str(o, "action", s->u.action.name);
        bad |= set_copy(o, "with", s->u.action.with);
        break;
    case PB_PROMPT:
        x = json_object();
        bad |= x == NULL || json_object_set_new(o, "prompt", x) != 0;
        if (!bad) {
            bad |= set_str(x, "to", s->u.prompt.to);
            bad |= set_str(x, "role", s->u.prompt.role);
            bad |= set_str(x, "question", s->u.prompt.question);
            bad |= set_copy(x, "options", s->u.prompt.options);
            if (s->u.prompt.timeout_ms > 0)
                bad |= set_dur(x, "timeout", s->u.prompt.timeout_ms);
            bad |= set_str(x, "default", s->u.prompt.default_option);
        }
        break;
    case PB_SET:
        bad |= set_copy(o, "set", s->u.set.values);
        break;
    case PB_SWITCH:
        bad |= set_str(o, "switch", s->u.sw.expr);
        break;
    case PB_FOR_EACH:
        bad |= set_str(o, "for_each", s->u.for_each.items);
        bad |= json_object_set_new(o, "concurrency", json_integer(s->u.for_each.concurrency));
        break;
    case PB_WHILE:
        bad |= set_str(o, "while", s->u.loop.cond);
        bad |= json_object_set_new(o, "max", json_integer(s->u.loop.max_iterations));
        break;
    case PB_WAIT:
        if (s->u.wait.until != NULL) {
            x = json_object();
            bad |= x == NULL || json_object_set_new(o, "wait", x) != 0;
            if (!bad)
                bad |= set_str(x, "until", s->u.wait.until);
        } else {
            bad |= set_dur(o, "wait", s->u.wait.duration_ms);
        }
        break;
    case PB_SUB:
        bad |= set_str(o, "playbook", s->u.sub.playbook);
        bad |= set_copy(o, "inputs", s->u.sub.inputs);
        break;
    case PB_CASE:
        x = json_object();
        bad |= x == NULL || json_object_set_new(o, "case", x) != 0;
        if (!bad && (unsigned)s->u.case_op.op < sizeof case_ops / sizeof case_ops[0])
            bad |= set_str(x, case_ops[s->u.case_op.op], s->u.case_op.value);
        break;
    case PB_END:
        bad |= set_str(o, "end", s->u.end.failure ? "failure" : "success");
        break;
    case PB_PARALLEL:
    case PB_GROUP:
        break;
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* `{{ vars.x }}` as CACAO's `__x__:value`, in every string of v (in place). */
static json_t *cacao_strings(json_t *v, int depth)
{
    if (depth > RP_JSON_MAX_DEPTH)
        return json_incref(v);
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        size_t n = strlen(s);
        /* "{{ vars.x }}" is one byte longer than "__x__:value": out never grows */
        char *out = malloc(n + 1);
        if (out == NULL)
            return NULL;
        size_t k = 0;
        for (size_t i = 0; i < n;) {
            if (strncmp(s + i, "{{ vars.", 8) == 0) {
                size_t j = i + 8;
                while (j < n && (s[j] == '_' || (s[j] >= 'a' && s[j] <= 'z') ||
                                 (s[j] >= 'A' && s[j] <= 'Z') || (s[j] >= '0' && s[j] <= '9')))
                    j++;
                if (j > i + 8 && n - j >= 3 && strncmp(s + j, " }}", 3) == 0) {
                    memcpy(out + k, "__", 2);
                    memcpy(out + k + 2, s + i + 8, j - i - 8);
                    k += 2 + (j - i - 8);
                    memcpy(out + k, "__:value", 8);
                    k += 8;
                    i = j + 3;
                    continue;
                }
            }
            out[k++] = s[i++];
        }
        out[k] = '\0';
        json_t *r = json_string(out);
        free(out);
        return r;
    }
    if (json_is_object(v)) {
        json_t *o = json_object();
        const char *k;
        json_t *x;
        if (o == NULL)
            return NULL;
        json_object_foreach(v, k, x)
        {
            json_t *y = cacao_strings(x, depth + 1);
            if (y == NULL || json_object_set_new(o, k, y) != 0) {
                json_decref(o);
                return NULL;
            }
        }
        return o;
    }
    if (json_is_array(v)) {
        json_t *a = json_array();
        size_t i;
        json_t *x;
        if (a == NULL)
            return NULL;
        json_array_foreach(v, i, x)
        {
            json_t *y = cacao_strings(x, depth + 1);
            if (y == NULL || json_array_append_new(a, y) != 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    return json_deep_copy(v);
}

/* A definition (agent or target) given inline in a cacao.* action's with:
 * moved into the playbook's definitions; the id it is referred to by. */
static const char *put_def(struct exp *ex, json_t *defs, json_t *def)
{
    const char *id = json_string_value(json_object_get(def, "id"));
    if (id == NULL || json_object_get(defs, id) != NULL)
        return id;
    json_t *d = json_deep_copy(def);
    if (d == NULL)
        return NULL;
    json_object_del(d, "id");
    if (json_object_set_new(defs, id, d) != 0)
        return NULL;
    (void)ex;
    return id;
}

/* The command(s) of an exported action step. */
static rp_status commands_of(struct exp *ex, const struct pb_step *s, json_t *o)
{
    json_t *cmds = json_array();
    json_t *cmd = json_object();
    if (cmds == NULL || cmd == NULL || json_object_set_new(o, "commands", cmds) != 0 ||
        json_array_append_new(cmds, cmd) != 0) {
        json_decref(cmd);
        return nomem(ex);
    }
    char text[600];
    int bad = 0;
    if (s->kind == PB_ACTION && strncmp(s->u.action.name, "cacao.", 6) == 0 &&
        json_is_object(s->u.action.with)) {
        json_t *w = s->u.action.with;
        bad |= set_str(cmd, "type", s->u.action.name + 6);
        const char *k;
        json_t *v;
        json_object_foreach(w, k, v)
        {
            if (strcmp(k, "agent") == 0 && json_is_object(v)) {
                const char *id = put_def(ex, ex->agents, v);
                bad |= id == NULL || set_str(o, "agent", id) != 0;
            } else if (strcmp(k, "targets") == 0 && json_is_array(v)) {
                json_t *ids = json_array();
                size_t i;
                json_t *t;
                bad |= ids == NULL || json_object_set_new(o, "targets", ids) != 0;
                json_array_foreach(v, i, t)
                {
                    const char *id = json_is_object(t) ? put_def(ex, ex->targets, t) : NULL;
                    bad |= id == NULL || json_array_append_new(ids, json_string(id)) != 0;
                }
            } else if (strcmp(k, "out_args") == 0) {
                bad |= set_copy(o, "out_args", v);
            } else if (strcmp(k, "type") != 0) {
                json_t *c = cacao_strings(v, 0);
                bad |= c == NULL || json_object_set_new(cmd, k, c) != 0;
            }
        }
    } else {
        /* What Riposte does, for a person or another engine to read; the step
         * itself is in the extension. */
        switch (s->kind) {
        case PB_ACTION:
            snprintf(text, sizeof text, "Riposte action %s", s->u.action.name);
            break;
        case PB_PROMPT:
            snprintf(text, sizeof text, "Ask %s: %s",
                     s->u.prompt.to     ? s->u.prompt.to
                     : s->u.prompt.role ? s->u.prompt.role
                                        : "someone",
                     s->u.prompt.question ? s->u.prompt.question : "");
            break;
        default:
            snprintf(text, sizeof text, "Riposte %s step", kind_name(s->kind));
            break;
        }
        bad |= set_str(cmd, "type", "manual");
        bad |= set_str(cmd, "command", text);
    }
    return bad ? nomem(ex) : RP_OK;
}

static rp_status export_list(struct exp *ex, const struct pb_list *l, const char *owner, int depth,
                             char *first, size_t first_n);

static const char *target_key(struct exp *ex, const struct pb_list *l, const struct pb_ref *r,
                              char *buf, size_t n)
{
    if (r->id == NULL || r->index < 0 || (size_t)r->index >= l->n)
        return NULL;
    step_key(ex, &l->steps[r->index], buf, n);
    return buf;
}

static rp_status export_step(struct exp *ex, const struct pb_list *l, size_t i, const char *exit,
                             int depth)
{
    const struct pb_step *s = &l->steps[i];
    char key[128], next[128], buf[128];
    step_key(ex, s, key, sizeof key);
    if (json_object_get(ex->workflow, key) != NULL)
        return rp_error_set(ex->err, RP_E_INVALID, "step %s: two steps share its id", s->id);
    /* where the list goes after s */
    const char *nx = exit;
    if (s->next.id != NULL && target_key(ex, l, &s->next, next, sizeof next) != NULL)
        nx = next;
    else if (i + 1 < l->n) {
        step_key(ex, &l->steps[i + 1], next, sizeof next);
        nx = next;
    }
    json_t *o = json_object();
    if (o == NULL || json_object_set_new(ex->workflow, key, o) != 0)
        return nomem(ex);
    json_t *ext = json_object();
    json_t *exts = json_object();
    json_t *spec = step_spec(s);
    int bad = ext == NULL || exts == NULL || spec == NULL;
    bad |= set_str(o, "type", cacao_type(s));
    bad |= set_str(o, "name", s->name ? s->name : s->id);
    if (s->timeout_ms > 0)
        bad |= json_object_set_new(o, "timeout", json_integer(s->timeout_ms));
    if (bad) {
        json_decref(ext);
        json_decref(exts);
        json_decref(spec);
        return nomem(ex);
    }
    bad |= set_str(ext, "id", s->id);
    bad |= set_str(ext, "kind", kind_name(s->kind));
    bad |= json_object_set_new(ext, "spec", spec);
    rp_status st = RP_OK;
    char sub[1100];
    switch (s->kind) {
    case PB_END:
        break;
    case PB_SWITCH: {
        json_t *cases = json_object();
        bad |= set_str(o, "switch", s->u.sw.expr);
        bad |= cases == NULL || json_object_set_new(o, "cases", cases) != 0;
        for (size_t c = 0; !bad && c < s->u.sw.ncases; c++) {
            const char *t = target_key(ex, l, &s->u.sw.cases[c].target, buf, sizeof buf);
            bad |= set_str(cases, s->u.sw.cases[c].value, t ? t : nx);
        }
        const char *d = target_key(ex, l, &s->u.sw.default_target, buf, sizeof buf);
        if (!bad)
            bad |= set_str(cases, "default", d ? d : nx);
        break;
    }
    case PB_FOR_EACH:
    case PB_WHILE: {
        const struct pb_list *body = s->kind == PB_WHILE ? &s->u.loop.body : &s->u.for_each.body;
        char head[128];
        snprintf(sub, sizeof sub, "%s", s->id);
        if ((st = export_list(ex, body, sub, depth + 1, head, sizeof head)) != RP_OK)
            break;
        bad |= set_str(o, "condition", s->kind == PB_WHILE ? s->u.loop.cond : s->u.for_each.items);
        bad |= set_str(o, "on_true", head);
        bad |= set_str(o, "on_false", nx);
        break;
    }
    case PB_PARALLEL: {
        json_t *ns = json_array(), *br = json_array();
        bad |= ns == NULL || json_object_set_new(o, "next_steps", ns) != 0;
        bad |= br == NULL || json_object_set_new(ext, "branches", br) != 0;
        for (size_t b = 0; !bad && st == RP_OK && b < s->u.parallel.branches.n; b++) {
            const struct pb_step *bs = &s->u.parallel.branches.steps[b];
            char head[128];
            json_t *info = json_object();
            bad |= info == NULL || json_array_append_new(br, info) != 0;
            if (bad)
                break;
            if (bs->kind == PB_GROUP) {
                bad |= set_str(info, "group", bs->id);
                snprintf(sub, sizeof sub, "%s", bs->id);
                st = export_list(ex, &bs->u.group.body, sub, depth + 1, head, sizeof head);
            } else {
                struct pb_list one = {(struct pb_step *)bs, 1};
                bad |= set_str(info, "step", bs->id);
                snprintf(sub, sizeof sub, "%s.branch", bs->id);
                st = export_list(ex, &one, sub, depth + 1, head, sizeof head);
            }
            if (st == RP_OK)
                bad |= json_array_append_new(ns, json_string(head)) != 0;
        }
        break;
    }
    case PB_SUB: {
        char id[128];
        char u[37];
        cacao_uuid5(s->u.sub.playbook, u);
        snprintf(id, sizeof id, "playbook--%s", u);
        bad |= set_str(o, "playbook_id", id);
        break;
    }
    case PB_GROUP:
        st = rp_error_set(ex->err, RP_E_INVALID, "step %s: a group outside a parallel step", s->id);
        break;
    default:
        st = commands_of(ex, s, o);
        break;
    }
    if (st != RP_OK) {
        json_decref(ext);
        json_decref(exts);
        return st;
    }
    /* the jumps */
    if (s->kind != PB_END && s->kind != PB_SWITCH && s->kind != PB_FOR_EACH &&
        s->kind != PB_WHILE) {
        if (s->on_error == PB_ON_ERROR_FAIL) {
            bad |= set_str(o, "on_completion", nx);
        } else {
            const char *f = nx;
            if (s->on_error == PB_ON_ERROR_GOTO) {
                const char *t = target_key(ex, l, &s->on_error_target, buf, sizeof buf);
                f = t ? t : nx;
            } else {
                bad |= set_str(ext, "on_error", "continue");
            }
            bad |= set_str(o, "on_success", nx);
            bad |= set_str(o, "on_failure", f);
        }
    }
    bad |= json_object_set_new(exts, ex->ext_id, ext) != 0;
    ext = NULL;
    bad |= json_object_set_new(o, "step_extensions", exts) != 0;
    return bad ? nomem(ex) : RP_OK;
}

/* Exports one list; its exit is an end step of its own. first gets the key
 * of the list's first step. */
static rp_status export_list(struct exp *ex, const struct pb_list *l, const char *owner, int depth,
                             char *first, size_t first_n)
{
    if (depth > RP_CACAO_DEPTH_MAX)
        return rp_error_set(ex->err, RP_E_LIMIT, "steps nested deeper than %d", RP_CACAO_DEPTH_MAX);
    char exit[128], what[1100];
    snprintf(what, sizeof what, "%s/end", owner);
    key_of(ex, "end", what, exit, sizeof exit);
    json_t *end = json_object();
    json_t *exts = json_object();
    json_t *ext = json_object();
    if (end == NULL || exts == NULL || ext == NULL ||
        json_object_set_new(ex->workflow, exit, end) != 0) {
        json_decref(exts);
        json_decref(ext);
        return nomem(ex);
    }
    if (set_str(end, "type", "end") != 0 ||
        json_object_set_new(ext, "synthetic", json_true()) != 0 ||
        json_object_set_new(exts, ex->ext_id, ext) != 0 ||
        json_object_set_new(end, "step_extensions", exts) != 0)
        return nomem(ex);
    if (l->n == 0) {
        snprintf(first, first_n, "%s", exit);
        return RP_OK;
    }
    step_key(ex, &l->steps[0], first, first_n);
    for (size_t i = 0; i < l->n; i++) {
        rp_status st = export_step(ex, l, i, exit, depth);
        if (st != RP_OK)
            return st;
    }
    return RP_OK;
}

static json_t *variables_of(json_t *vars)
{
    json_t *out = json_object();
    const char *k;
    json_t *v;
    if (out == NULL)
        return NULL;
    json_object_foreach(vars, k, v)
    {
        char name[300];
        const char *type = "string";
        char *text = NULL;
        snprintf(name, sizeof name, "__%s__", k);
        if (json_is_integer(v))
            type = "integer";
        else if (json_is_real(v))
            type = "float";
        else if (json_is_boolean(v))
            type = "bool";
        else if (json_is_object(v))
            type = "dictionary";
        if (json_is_string(v))
            text = strdup(json_string_value(v));
        else
            text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
        json_t *var = json_object();
        if (text == NULL || var == NULL || json_object_set_new(out, name, var) != 0 ||
            set_str(var, "type", type) != 0 || set_str(var, "value", text) != 0 ||
            json_object_set_new(var, "constant", json_false()) != 0 ||
            json_object_set_new(var, "external", json_false()) != 0) {
            free(text);
            json_decref(out);
            return NULL;
        }
        free(text);
    }
    return out;
}

rp_status cacao_export(const struct playbook *pb, json_t **out, struct rp_error *err)
{
    *out = NULL;
    struct exp ex = {.pb = pb, .err = err};
    cacao_ext_id(ex.ext_id);
    char u[37], id[64], start[128], first[128], created_by[64];
    json_t *doc = json_object();
    ex.workflow = json_object();
    ex.agents = json_object();
    ex.targets = json_object();
    rp_status st = RP_OK;
    if (doc == NULL || ex.workflow == NULL || ex.agents == NULL || ex.targets == NULL) {
        st = nomem(&ex);
        goto out;
    }
    cacao_uuid5(pb->name, u);
    snprintf(id, sizeof id, "playbook--%s", u);
    cacao_uuid5("riposte", u);
    snprintf(created_by, sizeof created_by, "identity--%s", u);
    key_of(&ex, "start", "start", start, sizeof start);
    /* created: 2000-01-01T00:00:00.000Z; modified: that plus version-1 seconds */
    char created[32] = "2000-01-01T00:00:00.000Z", modified[32];
    time_t t = (time_t)946684800 + (pb->version > 1 ? pb->version - 1 : 0);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(modified, sizeof modified, "%Y-%m-%dT%H:%M:%S.000Z", &tm);

    if ((st = export_list(&ex, &pb->steps, "top", 0, first, sizeof first)) != RP_OK)
        goto out;
    json_t *s = json_object();
    if (s == NULL || json_object_set_new(ex.workflow, start, s) != 0 ||
        set_str(s, "type", "start") != 0 || set_str(s, "on_completion", first) != 0) {
        st = nomem(&ex);
        goto out;
    }
    json_t *pext = json_object(), *pexts = json_object(), *defs = json_object(),
           *def = json_object();
    int bad = pext == NULL || pexts == NULL || defs == NULL || def == NULL;
    bad |= set_str(doc, "type", "playbook");
    bad |= set_str(doc, "spec_version", "cacao-2.0");
    bad |= set_str(doc, "id", id);
    bad |= set_str(doc, "name", pb->name);
    bad |= set_str(doc, "description", pb->description);
    bad |= set_str(doc, "created_by", created_by);
    bad |= set_str(doc, "created", created);
    bad |= set_str(doc, "modified", modified);
    bad |= set_str(doc, "workflow_start", start);
    if (json_object_size(pb->vars) > 0) {
        json_t *v = variables_of(pb->vars);
        bad |= v == NULL || json_object_set_new(doc, "playbook_variables", v) != 0;
    }
    if (!bad) {
        bad |= json_object_set_new(doc, "workflow", ex.workflow) != 0;
        ex.workflow = NULL;
    }
    if (!bad && json_object_size(ex.agents) > 0) {
        bad |= json_object_set_new(doc, "agent_definitions", ex.agents) != 0;
        ex.agents = NULL;
    }
    if (!bad && json_object_size(ex.targets) > 0) {
        bad |= json_object_set_new(doc, "target_definitions", ex.targets) != 0;
        ex.targets = NULL;
    }
    if (!bad) {
        bad |= set_str(def, "type", "extension-definition");
        bad |= set_str(def, "name", "Riposte playbook");
        bad |= set_str(def, "description",
                       "The Riposte playbook step each CACAO step was made from: id, kind and "
                       "fields (docs/cacao.md).");
        bad |= set_str(def, "created_by", created_by);
        bad |= set_str(def, "schema", "https://riposte.invalid/schemas/cacao-extension.json");
        bad |= set_str(def, "version", "1.0.0");
        bad |= json_object_set_new(defs, ex.ext_id, def) != 0;
        def = NULL;
        bad |= json_object_set_new(doc, "extension_definitions", defs) != 0;
        defs = NULL;
        bad |= set_str(pext, "name", pb->name);
        bad |= json_object_set_new(pext, "version", json_integer(pb->version)) != 0;
        if (pb->max_concurrent > 0)
            bad |=
                json_object_set_new(pext, "max_concurrent", json_integer(pb->max_concurrent)) != 0;
        if (json_object_size(pb->inputs) > 0)
            bad |= set_copy(pext, "inputs", pb->inputs);
        if (json_object_size(pb->vars) > 0)
            bad |= set_copy(pext, "vars", pb->vars);
        if (pb->trigger.type != PB_TRIGGER_MANUAL) {
            json_t *tr = json_object();
            bad |= tr == NULL || json_object_set_new(pext, "trigger", tr) != 0;
            if (!bad) {
                bad |= set_str(tr, "kind", pb->trigger.kind);
                bad |= set_str(tr, "when", pb->trigger.when);
                bad |= set_str(tr, "schedule", pb->trigger.schedule);
            }
        }
        bad |= json_object_set_new(pexts, ex.ext_id, pext) != 0;
        pext = NULL;
        bad |= json_object_set_new(doc, "playbook_extensions", pexts) != 0;
        pexts = NULL;
    }
    json_decref(pext);
    json_decref(pexts);
    json_decref(defs);
    json_decref(def);
    if (bad) {
        st = nomem(&ex);
        goto out;
    }
    *out = doc;
    doc = NULL;
out:
    json_decref(doc);
    json_decref(ex.workflow);
    json_decref(ex.agents);
    json_decref(ex.targets);
    return st;
}

/*
 * load.c: playbooks from YAML (playbook.h, docs/playbooks.md).
 *
 * Three passes over one file. First libyaml's events become a small tree
 * (struct ynode, in an arena) that remembers every node's line and column;
 * anchors, aliases and tags are refused there (an alias could multiply a
 * small file into a huge tree, and a playbook has no use for them), and the
 * depth and node count are bounded while reading. Then the tree becomes a
 * struct playbook: every key is checked against the keys its place allows,
 * scalars are converted (durations, counts, JSON values by the YAML 1.2 core
 * schema), and each step remembers the mapping it came from. Last,
 * validate.c cross-checks the whole (ids, jumps, cycles, actions,
 * expressions). Nothing of the tree outlives the call.
 *
 * Any thread (the loader keeps no state between calls). Fails with
 * RP_E_INVALID and "file:line:col: problem" for bad playbooks, RP_E_NOMEM and
 * RP_E_IO for the environment; on any failure nothing is returned.
 */
#include "playbook/playbook.h"

#include "core/hash.h"
#include "core/limits.h"
#include "core/time.h"
#include "model/alert.h"
#include "model/case.h"
#include "playbook/cron.h"
#include "playbook/playbook_internal.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <yaml.h>

static const char *const KIND_NAMES[] = {
    [PB_ACTION] = "action",     [PB_PROMPT] = "prompt",     [PB_SET] = "set",
    [PB_SWITCH] = "switch",     [PB_FOR_EACH] = "for_each", [PB_WHILE] = "while",
    [PB_PARALLEL] = "parallel", [PB_GROUP] = "group",       [PB_WAIT] = "wait",
    [PB_SUB] = "playbook",      [PB_CASE] = "case",         [PB_END] = "end",
};

const char *pb_kind_name(enum pb_kind k)
{
    if ((size_t)k < sizeof(KIND_NAMES) / sizeof(KIND_NAMES[0]))
        return KIND_NAMES[k];
    return "?";
}

/* --- messages ---------------------------------------------------------------- */

rp_status pb_at(struct pb_loader *l, const struct ynode *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rp_status st = ynode_verror(l->err, l->name, n, fmt, ap);
    va_end(ap);
    return st;
}

rp_status pb_step_at(struct pb_loader *l, const struct pb_step *st, const struct ynode *n,
                     const char *fmt, ...)
{
    char what[RP_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    return pb_at(l, n, "step \"%s\": %s", st->id, what);
}

static rp_status nomem(struct pb_loader *l)
{
    return rp_error_set(l->err, RP_E_NOMEM, "%s: out of memory", l->name);
}

const struct ynode *pb_step_node(const struct pb_loader *l, const struct pb_step *st)
{
    for (size_t i = 0; i < l->nsrc; i++)
        if (l->src[i].step == st)
            return l->src[i].node;
    RP_ASSERT(!"every step has its node");
    return NULL;
}

/* --- scalars ------------------------------------------------------------------ */

/* Skips an optional sign and the digits after it; returns how many digits. */
static size_t signed_digits(const char **p)
{
    const char *s = *p;
    if (*s == '+' || *s == '-')
        s++;
    const char *d = s;
    while (isdigit((unsigned char)*s))
        s++;
    *p = s;
    return (size_t)(s - d);
}

static bool is_dec_int(const char *s)
{
    return signed_digits(&s) > 0 && *s == '\0';
}

/* YAML 1.2 core schema float: [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static bool is_float(const char *s)
{
    size_t digits = signed_digits(&s);
    if (*s == '.') {
        const char *f = ++s;
        while (isdigit((unsigned char)*s))
            s++;
        digits += (size_t)(s - f);
    }
    if (digits == 0)
        return false;
    if ((*s == 'e' || *s == 'E') && (s++, signed_digits(&s) == 0))
        return false;
    return *s == '\0';
}

static bool is_digits(const char *s, int base)
{
    if (*s == '\0')
        return false;
    for (; *s; s++)
        if (base == 16 ? !isxdigit((unsigned char)*s) : (*s < '0' || *s > '7'))
            return false;
    return true;
}

static bool one_of(const char *s, const char *a, const char *b, const char *c)
{
    return strcmp(s, a) == 0 || strcmp(s, b) == 0 || strcmp(s, c) == 0;
}

/* A scalar as JSON by the YAML 1.2 core schema: quoted scalars are strings; plain
 * ones that read as null, a boolean or a number are those. */
static rp_status scalar_json(struct pb_loader *l, const struct ynode *n, json_t **out)
{
    const char *s = n->s;
    json_t *v;
    if (!n->plain) {
        v = json_string(s);
    } else if (n->len == 0 || strcmp(s, "~") == 0 || one_of(s, "null", "Null", "NULL")) {
        v = json_null();
    } else if (one_of(s, "true", "True", "TRUE")) {
        v = json_true();
    } else if (one_of(s, "false", "False", "FALSE")) {
        v = json_false();
    } else if (is_dec_int(s) || (strncmp(s, "0x", 2) == 0 && is_digits(s + 2, 16)) ||
               (strncmp(s, "0o", 2) == 0 && is_digits(s + 2, 8))) {
        int base = s[0] == '0' && s[1] == 'x' ? 16 : s[0] == '0' && s[1] == 'o' ? 8 : 10;
        errno = 0;
        long long x = strtoll(base == 10 ? s : s + 2, NULL, base);
        if (errno == ERANGE)
            return pb_at(l, n, "number %.64s is out of range", s);
        v = json_integer(x);
    } else if (is_float(s)) {
        double d = strtod(s, NULL);
        if (!isfinite(d))
            return pb_at(l, n, "number %.64s is out of range", s);
        v = json_real(d);
    } else {
        v = json_string(s);
    }
    if (v == NULL)
        return nomem(l);
    *out = v;
    return RP_OK;
}

/* Any YAML node as JSON; recursion bounded by RP_PLAYBOOK_YAML_DEPTH_MAX. */
static rp_status to_json(struct pb_loader *l, const struct ynode *n, json_t **out)
{
    *out = NULL;
    if (n->type == YNODE_SCALAR)
        return scalar_json(l, n, out);
    json_t *c = n->type == YNODE_SEQ ? json_array() : json_object();
    if (c == NULL)
        return nomem(l);
    rp_status st = RP_OK;
    for (const struct ynode *k = n->first; st == RP_OK && k != NULL; k = k->next) {
        json_t *v;
        if (n->type == YNODE_SEQ) {
            if ((st = to_json(l, k, &v)) == RP_OK && json_array_append_new(c, v) != 0)
                st = nomem(l);
            continue;
        }
        const struct ynode *kv = k->next;
        if (k->type != YNODE_SCALAR)
            st = pb_at(l, k, "keys must be strings");
        else if (json_object_get(c, k->s) != NULL)
            st = pb_at(l, k, "duplicate key \"%.80s\"", k->s);
        else if ((st = to_json(l, kv, &v)) == RP_OK && json_object_set_new(c, k->s, v) != 0)
            st = nomem(l);
        k = kv;
    }
    if (st != RP_OK) {
        json_decref(c);
        return st;
    }
    *out = c;
    return RP_OK;
}

/* A mapping as a JSON object; a missing value (`key:` with nothing) is empty. */
static rp_status to_object(struct pb_loader *l, const struct ynode *n, const char *what,
                           json_t **out)
{
    if (n == NULL || (n->type == YNODE_SCALAR && n->plain && n->len == 0)) {
        if ((*out = json_object()) == NULL)
            return nomem(l);
        return RP_OK;
    }
    if (n->type != YNODE_MAP)
        return pb_at(l, n, "%s: expected a mapping", what);
    return to_json(l, n, out);
}

/* Collects a mapping's values by key name (keys[i] and vals[i] for names[i], or
 * NULL). Unknown and repeated keys are errors; ctx prefixes the messages. */
static rp_status map_fields(struct pb_loader *l, const struct ynode *map, const char *const *names,
                            size_t n, const struct ynode **keys, const struct ynode **vals,
                            const char *ctx)
{
    return ynode_fields(map, names, n, keys, vals, ctx, l->name, l->err);
}

static rp_status want_text(struct pb_loader *l, const struct ynode *v, const char *ctx,
                           const char *key, char **out)
{
    if (v->type != YNODE_SCALAR || v->len == 0)
        return pb_at(l, v, "%s%s: expected a non-empty string", ctx, key);
    if ((*out = strdup(v->s)) == NULL)
        return nomem(l);
    return RP_OK;
}

/* A short name: a role, a step name for traces. */
static rp_status want_name(struct pb_loader *l, const struct ynode *v, const char *ctx,
                           const char *key, char **out)
{
    if (v->type == YNODE_SCALAR && v->len > RP_NAME_MAX_BYTES)
        return pb_at(l, v, "%s%s: longer than %u bytes", ctx, key, RP_NAME_MAX_BYTES);
    return want_text(l, v, ctx, key, out);
}

static rp_status want_int(struct pb_loader *l, const struct ynode *v, const char *ctx,
                          const char *key, long long lo, long long hi, int *out)
{
    long long x = 0;
    bool ok = v->type == YNODE_SCALAR && v->plain && is_dec_int(v->s);
    if (ok) {
        errno = 0;
        x = strtoll(v->s, NULL, 10);
        ok = errno == 0 && x >= lo && x <= hi;
    }
    if (!ok)
        return pb_at(l, v, "%s%s: expected an integer from %lld to %lld", ctx, key, lo, hi);
    *out = (int)x;
    return RP_OK;
}

static rp_status want_duration(struct pb_loader *l, const struct ynode *v, int64_t *ms)
{
    struct rp_error e;
    if (v->type != YNODE_SCALAR)
        return pb_at(l, v, "expected a duration such as 500ms, 30s, 5m, 4h, 2d, 1w or 1h30m");
    if (pb_duration_parse(v->s, ms, &e) != RP_OK)
        return pb_at(l, v, "%s", e.msg);
    return RP_OK;
}

rp_status pb_duration_parse(const char *text, int64_t *out_ms, struct rp_error *err)
{
    /* core/time.h reads a bare number as seconds; a playbook must say its unit
     * ("timeout: 30" could mean 30 ms as well), so every number needs one. */
    bool units = text != NULL;
    for (const char *p = text; units && *p; p++)
        if (isdigit((unsigned char)p[0]) && !isalnum((unsigned char)p[1]))
            units = false;
    int64_t ms = 0;
    struct rp_error e;
    if (!units || time_parse_duration(text, &ms, &e) != RP_OK)
        return rp_error_set(err, RP_E_INVALID, "bad duration \"%.64s\"", text ? text : "");
    if (ms <= 0)
        return rp_error_set(err, RP_E_INVALID, "duration \"%.64s\" must be longer than zero", text);
    if (ms > RP_PLAYBOOK_DURATION_MAX_MS)
        return rp_error_set(err, RP_E_INVALID, "duration \"%.64s\" is longer than %lld days", text,
                            RP_PLAYBOOK_DURATION_MAX_MS / 86400000);
    *out_ms = ms;
    return RP_OK;
}

/* [a-z0-9][a-z0-9_.-]*: a playbook's name is a file name and a URL path part. */
static bool playbook_name_ok(const char *s)
{
    if (!(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
        return false;
    for (; *s; s++)
        if (!islower((unsigned char)*s) && !isdigit((unsigned char)*s) && !strchr("_.-", *s))
            return false;
    return true;
}

static rp_status want_playbook_name(struct pb_loader *l, const struct ynode *v, const char *ctx,
                                    char **out)
{
    if (v->type != YNODE_SCALAR || !playbook_name_ok(v->s) || v->len > RP_PLAYBOOK_NAME_MAX)
        return pb_at(l, v,
                     "%splaybook: a name of lower-case letters, digits, '_', '.' and '-' "
                     "(at most %d), starting with a letter or digit",
                     ctx, RP_PLAYBOOK_NAME_MAX);
    return want_text(l, v, ctx, "playbook", out);
}

/* [A-Za-z0-9_-]+: an id is written as steps.ID in expressions. */
static bool step_id_ok(const char *s, size_t len)
{
    if (len == 0 || len > RP_PLAYBOOK_ID_MAX)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '_' && *s != '-')
            return false;
    return true;
}

static rp_status want_ref(struct pb_loader *l, const struct pb_step *st, const struct ynode *v,
                          const char *key, struct pb_ref *ref)
{
    if (v->type != YNODE_SCALAR || !step_id_ok(v->s, v->len))
        return pb_step_at(l, st, v, "%s: expected a step id", key);
    if ((ref->id = strdup(v->s)) == NULL)
        return nomem(l);
    return RP_OK;
}

/* --- steps -------------------------------------------------------------------- */

enum skey {
    SK_ID,
    SK_NAME,
    SK_WHEN,
    SK_NEXT,
    SK_TIMEOUT,
    SK_RETRY,
    SK_ON_ERROR,
    SK_ACTION, /* the kind keys, in enum pb_kind order but for group */
    SK_PROMPT,
    SK_SET,
    SK_SWITCH,
    SK_FOR_EACH,
    SK_WHILE,
    SK_PARALLEL,
    SK_WAIT,
    SK_PLAYBOOK,
    SK_CASE,
    SK_END,
    SK_WITH, /* the keys that go with one kind */
    SK_CASES,
    SK_DEFAULT,
    SK_STEPS,
    SK_CONCURRENCY,
    SK_MAX,
    SK_INPUTS,
    SK_COUNT
};

static const char *const STEP_KEYS[SK_COUNT] = {
    "id",   "name",   "when",     "next",  "timeout",     "retry", "on_error", "action", "prompt",
    "set",  "switch", "for_each", "while", "parallel",    "wait",  "playbook", "case",   "end",
    "with", "cases",  "default",  "steps", "concurrency", "max",   "inputs",
};

static const enum pb_kind KIND_OF_KEY[] = {
    [SK_ACTION] = PB_ACTION,     [SK_PROMPT] = PB_PROMPT,     [SK_SET] = PB_SET,
    [SK_SWITCH] = PB_SWITCH,     [SK_FOR_EACH] = PB_FOR_EACH, [SK_WHILE] = PB_WHILE,
    [SK_PARALLEL] = PB_PARALLEL, [SK_WAIT] = PB_WAIT,         [SK_PLAYBOOK] = PB_SUB,
    [SK_CASE] = PB_CASE,         [SK_END] = PB_END,
};

#define SKB(k) (1u << (k))

/* The keys a kind takes besides the common ones and its own kind key. */
static unsigned kind_extras(enum pb_kind k)
{
    switch (k) {
    case PB_ACTION:
        return SKB(SK_WITH);
    case PB_SWITCH:
        return SKB(SK_CASES) | SKB(SK_DEFAULT);
    case PB_FOR_EACH:
        return SKB(SK_STEPS) | SKB(SK_CONCURRENCY);
    case PB_WHILE:
        return SKB(SK_STEPS) | SKB(SK_MAX);
    case PB_GROUP:
        return SKB(SK_STEPS);
    case PB_SUB:
        return SKB(SK_INPUTS);
    default:
        return 0;
    }
}

struct step_in {
    const struct ynode *node;
    const struct ynode *k[SK_COUNT];
    const struct ynode *v[SK_COUNT];
    char ctx[RP_PLAYBOOK_ID_MAX * 2 + 16]; /* `step "ID": ` */
    int depth;                             /* of the list the step is in, from 1 */
};

static rp_status parse_list(struct pb_loader *l, const struct ynode *seq, const char *parent_id,
                            bool branches, int depth, struct pb_list *out);

static rp_status parse_retry(struct pb_loader *l, struct pb_step *st, struct step_in *in)
{
    static const char *const names[] = {"count", "backoff"};
    const struct ynode *k[2], *v[2], *n = in->v[SK_RETRY];
    st->retry_backoff_ms = 1000;
    if (n->type == YNODE_SCALAR)
        return want_int(l, n, in->ctx, "retry", 0, RP_PLAYBOOK_RETRY_MAX, &st->retry_count);
    if (n->type != YNODE_MAP)
        return pb_step_at(l, st, n, "retry: expected a count or {count: N, backoff: DURATION}");
    rp_status rc = map_fields(l, n, names, 2, k, v, in->ctx);
    if (rc != RP_OK)
        return rc;
    if (v[0] == NULL)
        return pb_step_at(l, st, n, "retry: needs a count");
    if ((rc = want_int(l, v[0], in->ctx, "retry.count", 0, RP_PLAYBOOK_RETRY_MAX,
                       &st->retry_count)) != RP_OK)
        return rc;
    return v[1] ? want_duration(l, v[1], &st->retry_backoff_ms) : RP_OK;
}

static rp_status parse_common(struct pb_loader *l, struct pb_step *st, struct step_in *in)
{
    rp_status rc = RP_OK;
    if (in->v[SK_NAME] && (rc = want_name(l, in->v[SK_NAME], in->ctx, "name", &st->name)))
        return rc;
    if (in->v[SK_WHEN] && (rc = want_text(l, in->v[SK_WHEN], in->ctx, "when", &st->when)))
        return rc;
    if (in->v[SK_NEXT]) {
        if (st->kind == PB_SWITCH)
            return pb_step_at(l, st, in->k[SK_NEXT], "a switch takes default, not next");
        if (st->kind == PB_END)
            return pb_step_at(l, st, in->k[SK_NEXT], "an end step has no next");
        if ((rc = want_ref(l, st, in->v[SK_NEXT], "next", &st->next)) != RP_OK)
            return rc;
    }
    if (in->v[SK_TIMEOUT] && (rc = want_duration(l, in->v[SK_TIMEOUT], &st->timeout_ms)))
        return rc;
    if (in->v[SK_RETRY] && (rc = parse_retry(l, st, in)) != RP_OK)
        return rc;
    const struct ynode *oe = in->v[SK_ON_ERROR];
    if (oe == NULL)
        return RP_OK;
    if (oe->type == YNODE_SCALAR && strcmp(oe->s, "fail") == 0) {
        st->on_error = PB_ON_ERROR_FAIL;
    } else if (oe->type == YNODE_SCALAR && strcmp(oe->s, "continue") == 0) {
        st->on_error = PB_ON_ERROR_CONTINUE;
    } else {
        if (oe->type != YNODE_SCALAR || !step_id_ok(oe->s, oe->len))
            return pb_step_at(l, st, oe, "on_error: expected fail, continue or a step id");
        st->on_error = PB_ON_ERROR_GOTO;
        rc = want_ref(l, st, oe, "on_error", &st->on_error_target);
    }
    return rc;
}

static rp_status parse_prompt(struct pb_loader *l, struct pb_step *st, struct step_in *in)
{
    enum { P_TO, P_ROLE, P_QUESTION, P_OPTIONS, P_TIMEOUT, P_DEFAULT, P_COUNT };
    static const char *const names[P_COUNT] = {"to",      "role",    "question",
                                               "options", "timeout", "default"};
    const struct ynode *k[P_COUNT], *v[P_COUNT], *n = in->v[SK_PROMPT];
    if (n->type != YNODE_MAP)
        return pb_step_at(l, st, n,
                          "prompt: expected a mapping (to or role, question, options, timeout)");
    rp_status rc = map_fields(l, n, names, P_COUNT, k, v, in->ctx);
    if (rc != RP_OK)
        return rc;
    if (v[P_TO] && v[P_ROLE])
        return pb_step_at(l, st, k[P_ROLE], "prompt: give to or role, not both");
    if (!v[P_TO] && !v[P_ROLE])
        return pb_step_at(l, st, n, "prompt: needs to (an address) or role (an analyst role)");
    if (!v[P_QUESTION])
        return pb_step_at(l, st, n, "prompt: needs a question");
    if (!v[P_OPTIONS])
        return pb_step_at(l, st, n, "prompt: needs options (the answers to choose from)");
    if (!v[P_TIMEOUT])
        return pb_step_at(l, st, n, "prompt: needs a timeout (how long to wait for an answer)");
    if ((v[P_TO] && (rc = want_text(l, v[P_TO], in->ctx, "prompt.to", &st->u.prompt.to))) ||
        (v[P_ROLE] && (rc = want_name(l, v[P_ROLE], in->ctx, "prompt.role", &st->u.prompt.role))) ||
        (rc = want_text(l, v[P_QUESTION], in->ctx, "prompt.question", &st->u.prompt.question)) ||
        (rc = want_duration(l, v[P_TIMEOUT], &st->u.prompt.timeout_ms)))
        return rc;

    const struct ynode *opts = v[P_OPTIONS];
    if (opts->type != YNODE_SEQ || opts->n == 0)
        return pb_step_at(l, st, opts, "prompt.options: expected a non-empty list");
    if (opts->n > RP_PLAYBOOK_PROMPT_OPTIONS_MAX)
        return pb_step_at(l, st, opts, "prompt.options: more than %d options",
                          RP_PLAYBOOK_PROMPT_OPTIONS_MAX);
    if ((st->u.prompt.options = json_array()) == NULL)
        return nomem(l);
    for (const struct ynode *o = opts->first; o != NULL; o = o->next) {
        if (o->type != YNODE_SCALAR || o->len == 0 || o->len > RP_NAME_MAX_BYTES)
            return pb_step_at(l, st, o, "prompt.options: each option is a short non-empty text");
        for (size_t i = 0; i < json_array_size(st->u.prompt.options); i++)
            if (strcmp(json_string_value(json_array_get(st->u.prompt.options, i)), o->s) == 0)
                return pb_step_at(l, st, o, "prompt.options: \"%s\" is given twice", o->s);
        /* options are answers people read: `[yes, no]` stays "yes", "no" */
        if (json_array_append_new(st->u.prompt.options, json_string(o->s)) != 0)
            return nomem(l);
    }
    if (v[P_DEFAULT] != NULL) {
        const struct ynode *d = v[P_DEFAULT];
        bool found = false;
        for (size_t i = 0; d->type == YNODE_SCALAR && i < json_array_size(st->u.prompt.options);
             i++)
            found |= strcmp(json_string_value(json_array_get(st->u.prompt.options, i)), d->s) == 0;
        if (!found)
            return pb_step_at(l, st, d, "prompt.default: \"%.80s\" is not one of the options",
                              d->type == YNODE_SCALAR ? d->s : "?");
        if ((st->u.prompt.default_option = strdup(d->s)) == NULL)
            return nomem(l);
    }
    return RP_OK;
}

static rp_status parse_switch(struct pb_loader *l, struct pb_step *st, struct step_in *in)
{
    rp_status rc = want_text(l, in->v[SK_SWITCH], in->ctx, "switch", &st->u.sw.expr);
    if (rc != RP_OK)
        return rc;
    if (in->v[SK_DEFAULT] &&
        (rc = want_ref(l, st, in->v[SK_DEFAULT], "default", &st->u.sw.default_target)))
        return rc;
    const struct ynode *c = in->v[SK_CASES];
    if (c == NULL)
        return pb_step_at(l, st, in->k[SK_SWITCH], "switch: needs cases (value: step id)");
    if (c->type != YNODE_MAP || c->n == 0)
        return pb_step_at(l, st, c, "cases: expected a mapping of values to step ids");
    if (c->n / 2 > RP_PLAYBOOK_SWITCH_CASES_MAX)
        return pb_step_at(l, st, c, "cases: more than %d cases", RP_PLAYBOOK_SWITCH_CASES_MAX);
    if ((st->u.sw.cases = calloc(c->n / 2, sizeof(*st->u.sw.cases))) == NULL)
        return nomem(l);
    for (const struct ynode *k = c->first; k != NULL; k = k->next->next) {
        struct pb_switch_case *sc = &st->u.sw.cases[st->u.sw.ncases];
        if (k->type != YNODE_SCALAR)
            return pb_step_at(l, st, k, "cases: a case is a value (a string or number)");
        for (size_t i = 0; i < st->u.sw.ncases; i++)
            if (strcmp(st->u.sw.cases[i].value, k->s) == 0)
                return pb_step_at(l, st, k, "cases: \"%.80s\" is given twice", k->s);
        sc->target.index = -1;
        if ((sc->value = strdup(k->s)) == NULL)
            return nomem(l);
        st->u.sw.ncases++;
        if ((rc = want_ref(l, st, k->next, "cases", &sc->target)) != RP_OK)
            return rc;
    }
    return RP_OK;
}

static rp_status parse_wait(struct pb_loader *l, struct pb_step *st, struct step_in *in)
{
    const struct ynode *n = in->v[SK_WAIT];
    if (n->type == YNODE_SCALAR)
        return want_duration(l, n, &st->u.wait.duration_ms);
    static const char *const names[] = {"until"};
    const struct ynode *k[1], *v[1];
    rp_status rc;
    if (n->type != YNODE_MAP)
        return pb_step_at(l, st, n, "wait: expected a duration or {until: TIME}");
    if ((rc = map_fields(l, n, names, 1, k, v, in->ctx)) != RP_OK)
        return rc;
    if (v[0] == NULL)
        return pb_step_at(l, st, n, "wait: expected a duration or {until: TIME}");
    return want_text(l, v[0], in->ctx, "wait.until", &st->u.wait.until);
}

static rp_status parse_case(struct pb_loader *l, struct pb_step *st, struct step_in *in)
{
    static const char *const names[] = {[PB_CASE_STATUS] = "status",
                                        [PB_CASE_SEVERITY] = "severity",
                                        [PB_CASE_ASSIGNEE] = "assignee",
                                        [PB_CASE_NOTE] = "note",
                                        [PB_CASE_TASK] = "task"};
    const struct ynode *k[5], *v[5], *n = in->v[SK_CASE];
    const char *hint = "case: expected one of status, severity, assignee, note, task";
    rp_status rc;
    if (n->type != YNODE_MAP || n->n != 2)
        return pb_step_at(l, st, n, "%s", hint);
    if ((rc = map_fields(l, n, names, 5, k, v, in->ctx)) != RP_OK)
        return rc;
    size_t op = 0;
    while (v[op] == NULL)
        op++;
    st->u.case_op.op = (enum pb_case_op)op;
    char key[32];
    snprintf(key, sizeof(key), "case.%s", names[op]);
    if ((rc = want_text(l, v[op], in->ctx, key, &st->u.case_op.value)) != RP_OK)
        return rc;
    const char *val = st->u.case_op.value;
    if (strstr(val, "{{") != NULL) /* a template: checked when it is rendered */
        return RP_OK;
    enum case_status cs;
    int sev;
    if (op == PB_CASE_STATUS && case_status_parse(val, &cs) != RP_OK)
        return pb_step_at(l, st, v[op], "case.status: \"%.80s\" is not one of %s", val,
                          case_status_names());
    if (op == PB_CASE_SEVERITY && severity_from_label(val, &sev) != RP_OK &&
        !(is_dec_int(val) && strtol(val, NULL, 10) >= 0 && strtol(val, NULL, 10) <= 100))
        return pb_step_at(l, st, v[op],
                          "case.severity: \"%.80s\" is neither 0-100 nor one of info, low, "
                          "medium, high, critical",
                          val);
    return RP_OK;
}

static rp_status parse_end(struct pb_loader *l, struct pb_step *st, struct step_in *in)
{
    const struct ynode *n = in->v[SK_END];
    if (n->type == YNODE_SCALAR && n->plain &&
        (n->len == 0 || strcmp(n->s, "~") == 0 || strcmp(n->s, "null") == 0 ||
         strcmp(n->s, "success") == 0))
        st->u.end.failure = false;
    else if (n->type == YNODE_SCALAR && strcmp(n->s, "failure") == 0)
        st->u.end.failure = true;
    else if (n->type == YNODE_SCALAR && strcmp(n->s, "success") == 0)
        st->u.end.failure = false;
    else
        return pb_step_at(l, st, n, "end: expected success or failure");
    return RP_OK;
}

static rp_status want_body(struct pb_loader *l, struct pb_step *st, struct step_in *in,
                           struct pb_list *body)
{
    if (in->v[SK_STEPS] == NULL)
        return pb_step_at(l, st, in->node, "%s: needs steps", pb_kind_name(st->kind));
    return parse_list(l, in->v[SK_STEPS], st->id, false, in->depth + 1, body);
}

static rp_status parse_kind(struct pb_loader *l, struct pb_step *st, struct step_in *in)
{
    rp_status rc;
    switch (st->kind) {
    case PB_ACTION:
        if ((rc = want_name(l, in->v[SK_ACTION], in->ctx, "action", &st->u.action.name)))
            return rc;
        return to_object(l, in->v[SK_WITH], "with", &st->u.action.with);
    case PB_PROMPT:
        return parse_prompt(l, st, in);
    case PB_SET:
        if (in->v[SK_SET]->type != YNODE_MAP || in->v[SK_SET]->n == 0)
            return pb_step_at(l, st, in->v[SK_SET], "set: expected a mapping of names to values");
        return to_json(l, in->v[SK_SET], &st->u.set.values);
    case PB_SWITCH:
        return parse_switch(l, st, in);
    case PB_FOR_EACH:
        st->u.for_each.concurrency = 1;
        if ((rc = want_text(l, in->v[SK_FOR_EACH], in->ctx, "for_each", &st->u.for_each.items)) ||
            (in->v[SK_CONCURRENCY] &&
             (rc = want_int(l, in->v[SK_CONCURRENCY], in->ctx, "concurrency", 1,
                            RP_PLAYBOOK_CONCURRENCY_MAX, &st->u.for_each.concurrency))))
            return rc;
        return want_body(l, st, in, &st->u.for_each.body);
    case PB_WHILE:
        if ((rc = want_text(l, in->v[SK_WHILE], in->ctx, "while", &st->u.loop.cond)))
            return rc;
        if (in->v[SK_MAX] == NULL)
            return pb_step_at(l, st, in->k[SK_WHILE], "while: needs max (the most rounds)");
        if ((rc = want_int(l, in->v[SK_MAX], in->ctx, "max", 1, RP_PLAYBOOK_WHILE_MAX,
                           &st->u.loop.max_iterations)))
            return rc;
        return want_body(l, st, in, &st->u.loop.body);
    case PB_PARALLEL:
        if (in->v[SK_PARALLEL]->type == YNODE_SEQ &&
            in->v[SK_PARALLEL]->n > RP_PLAYBOOK_BRANCHES_MAX)
            return pb_step_at(l, st, in->v[SK_PARALLEL], "parallel: more than %d branches",
                              RP_PLAYBOOK_BRANCHES_MAX);
        return parse_list(l, in->v[SK_PARALLEL], st->id, true, in->depth + 1,
                          &st->u.parallel.branches);
    case PB_GROUP:
        return want_body(l, st, in, &st->u.group.body);
    case PB_WAIT:
        return parse_wait(l, st, in);
    case PB_SUB:
        if ((rc = want_playbook_name(l, in->v[SK_PLAYBOOK], in->ctx, &st->u.sub.playbook)))
            return rc;
        if (l->pb->name != NULL && strcmp(st->u.sub.playbook, l->pb->name) == 0)
            return pb_step_at(l, st, in->v[SK_PLAYBOOK], "a playbook cannot run itself");
        if (in->v[SK_INPUTS] == NULL)
            return RP_OK;
        return to_object(l, in->v[SK_INPUTS], "inputs", &st->u.sub.inputs);
    case PB_CASE:
        return parse_case(l, st, in);
    case PB_END:
        return parse_end(l, st, in);
    }
    return RP_OK;
}

/* One step. genid is the id a parallel branch gets when it has none. */
static rp_status parse_step(struct pb_loader *l, const struct ynode *n, const char *genid,
                            int depth, struct pb_step *st)
{
    struct step_in in = {.node = n, .depth = depth};
    rp_status rc;
    st->next.index = st->on_error_target.index = -1;
    st->pos.line = n->line;
    st->pos.col = n->col;
    if (n->type != YNODE_MAP)
        return pb_at(l, n, "a step is a mapping (id, and one of action, prompt, set, ...)");
    const struct ynode *idn = ynode_get(n, "id");
    if (idn != NULL) {
        if (idn->type != YNODE_SCALAR || !step_id_ok(idn->s, idn->len))
            return pb_at(l, idn,
                         "step id: letters, digits, '_' and '-' (at most %d), e.g. contain-host",
                         RP_PLAYBOOK_ID_MAX);
        genid = idn->s;
    } else if (genid == NULL) {
        return pb_at(l, n, "a step needs an id");
    }
    if ((st->id = strdup(genid)) == NULL)
        return nomem(l);
    if (l->nsrc >= RP_PLAYBOOK_STEPS_MAX)
        return pb_step_at(l, st, n, "more than %d steps in the playbook", RP_PLAYBOOK_STEPS_MAX);
    l->src[l->nsrc].step = st;
    l->src[l->nsrc++].node = n;
    snprintf(in.ctx, sizeof(in.ctx), "step \"%s\": ", st->id);
    if ((rc = map_fields(l, n, STEP_KEYS, SK_COUNT, in.k, in.v, in.ctx)) != RP_OK)
        return rc;

    int kind_key = -1;
    for (const struct ynode *k = n->first; k != NULL; k = k->next->next) {
        int i = SK_ACTION;
        while (i <= SK_END && in.k[i] != k)
            i++;
        if (i > SK_END)
            continue;
        if (kind_key >= 0)
            return pb_step_at(l, st, k,
                              "\"%s\" and \"%s\": a step has exactly one kind (action, prompt, "
                              "set, switch, for_each, while, parallel, steps, wait, playbook, "
                              "case, end)",
                              STEP_KEYS[kind_key], STEP_KEYS[i]);
        kind_key = i;
    }
    if (kind_key >= 0)
        st->kind = KIND_OF_KEY[kind_key];
    else if (in.v[SK_STEPS] != NULL)
        st->kind = PB_GROUP;
    else
        return pb_step_at(l, st, n,
                          "no kind: give one of action, prompt, set, switch, for_each, while, "
                          "parallel, steps, wait, playbook, case, end");
    if (st->kind == PB_SWITCH)
        st->u.sw.default_target.index = -1;
    unsigned extras = kind_extras(st->kind);
    for (int k = SK_WITH; k < SK_COUNT; k++)
        if (in.v[k] != NULL && !(extras & SKB(k)))
            return pb_step_at(l, st, in.k[k], "\"%s\" does not go with a%s %s step", STEP_KEYS[k],
                              strchr("aeiou", pb_kind_name(st->kind)[0]) ? "n" : "",
                              pb_kind_name(st->kind));
    if ((rc = parse_common(l, st, &in)) != RP_OK)
        return rc;
    return parse_kind(l, st, &in);
}

static rp_status parse_list(struct pb_loader *l, const struct ynode *seq, const char *parent_id,
                            bool branches, int depth, struct pb_list *out)
{
    if (seq->type != YNODE_SEQ || seq->n == 0)
        return pb_at(l, seq, "%s%s%s%s: expected a non-empty list of steps",
                     parent_id ? "step \"" : "", parent_id ? parent_id : "",
                     parent_id ? "\": " : "", branches ? "parallel" : "steps");
    if (depth > RP_PLAYBOOK_NESTING_MAX)
        return pb_at(l, seq, "steps nested more than %d lists deep", RP_PLAYBOOK_NESTING_MAX);
    if (seq->n > RP_PLAYBOOK_STEPS_MAX)
        return pb_at(l, seq, "more than %d steps in the playbook", RP_PLAYBOOK_STEPS_MAX);
    if ((out->steps = calloc(seq->n, sizeof(*out->steps))) == NULL)
        return nomem(l);
    out->n = seq->n;
    size_t i = 0;
    for (const struct ynode *s = seq->first; s != NULL; s = s->next, i++) {
        char genid[RP_PLAYBOOK_ID_MAX * RP_PLAYBOOK_NESTING_MAX];
        if (branches)
            snprintf(genid, sizeof(genid), "%s.%zu", parent_id, i + 1);
        rp_status rc = parse_step(l, s, branches ? genid : NULL, depth, &out->steps[i]);
        if (rc != RP_OK)
            return rc;
    }
    return RP_OK;
}

/* --- the top level ------------------------------------------------------------ */

static rp_status parse_trigger(struct pb_loader *l, const struct ynode *n, struct pb_trigger *t)
{
    enum { T_KIND, T_WHEN, T_MANUAL, T_SCHEDULE, T_COUNT };
    static const char *const names[T_COUNT] = {"kind", "when", "manual", "schedule"};
    const struct ynode *k[T_COUNT], *v[T_COUNT];
    const char *hint = "trigger: give kind and/or when (alerts), manual: true, or schedule: CRON";
    rp_status rc;
    t->type = PB_TRIGGER_MANUAL;
    if (n->type != YNODE_MAP || n->n == 0)
        return pb_at(l, n, "%s", hint);
    if ((rc = map_fields(l, n, names, T_COUNT, k, v, "trigger: ")) != RP_OK)
        return rc;
    l->trigger = n;
    bool alert = v[T_KIND] || v[T_WHEN];
    if ((alert && (v[T_MANUAL] || v[T_SCHEDULE])) || (v[T_MANUAL] && v[T_SCHEDULE]))
        return pb_at(l, k[v[T_SCHEDULE] ? T_SCHEDULE : T_MANUAL],
                     "trigger: alerts (kind, when), manual and schedule exclude each other");
    if (v[T_MANUAL]) {
        if (v[T_MANUAL]->type != YNODE_SCALAR || strcmp(v[T_MANUAL]->s, "true") != 0)
            return pb_at(l, v[T_MANUAL],
                         "trigger: manual: only true (leave trigger out "
                         "for the same effect)");
        return RP_OK;
    }
    if (v[T_SCHEDULE]) {
        struct rp_error e;
        t->type = PB_TRIGGER_SCHEDULE;
        if ((rc = want_text(l, v[T_SCHEDULE], "trigger: ", "schedule", &t->schedule)))
            return rc;
        if ((rc = cron_parse(t->schedule, &t->cron, &e)) == RP_E_NOMEM)
            return nomem(l);
        if (rc != RP_OK)
            return pb_at(l, v[T_SCHEDULE], "trigger: schedule: %s", e.msg);
        return RP_OK;
    }
    t->type = PB_TRIGGER_ALERT;
    if (v[T_KIND]) {
        enum alert_kind ak;
        if (v[T_KIND]->type != YNODE_SCALAR || alert_kind_parse(v[T_KIND]->s, &ak) != RP_OK)
            return pb_at(l, v[T_KIND],
                         "trigger: kind: one of endpoint, auth, phishing, network, other");
        if ((t->kind = strdup(v[T_KIND]->s)) == NULL)
            return nomem(l);
    }
    if (v[T_WHEN] && (rc = want_text(l, v[T_WHEN], "trigger: ", "when", &t->when)))
        return rc;
    return RP_OK;
}

static rp_status parse_top(struct pb_loader *l, const struct ynode *root)
{
    enum { T_PLAYBOOK, T_VERSION, T_DESC, T_TRIGGER, T_INPUTS, T_VARS, T_MAXC, T_STEPS, T_N };
    static const char *const names[T_N] = {"playbook", "version", "description",    "trigger",
                                           "inputs",   "vars",    "max_concurrent", "steps"};
    const struct ynode *k[T_N], *v[T_N];
    struct playbook *pb = l->pb;
    rp_status rc;
    if (root->type != YNODE_MAP)
        return pb_at(l, root, "a playbook is a mapping (playbook, steps, ...)");
    if ((rc = map_fields(l, root, names, T_N, k, v, "")) != RP_OK)
        return rc;
    if (v[T_PLAYBOOK] == NULL)
        return pb_at(l, root, "missing \"playbook\" (the playbook's name)");
    if ((rc = want_playbook_name(l, v[T_PLAYBOOK], "", &pb->name)) ||
        (v[T_VERSION] &&
         (rc = want_int(l, v[T_VERSION], "", "version", 1, INT_MAX, &pb->version))) ||
        (v[T_DESC] && (rc = want_text(l, v[T_DESC], "", "description", &pb->description))) ||
        (v[T_TRIGGER] && (rc = parse_trigger(l, v[T_TRIGGER], &pb->trigger))) ||
        (rc = to_object(l, v[T_INPUTS], "inputs", &pb->inputs)) ||
        (rc = to_object(l, v[T_VARS], "vars", &pb->vars)) ||
        (v[T_MAXC] && (rc = want_int(l, v[T_MAXC], "", "max_concurrent", 0,
                                     RP_PLAYBOOK_MAX_CONCURRENT_MAX, &pb->max_concurrent))))
        return rc;
    if (v[T_STEPS] == NULL)
        return pb_at(l, root, "missing \"steps\"");
    if ((rc = parse_list(l, v[T_STEPS], NULL, false, 1, &pb->steps)) != RP_OK)
        return rc;
    pb->nsteps_total = l->nsrc;
    return RP_OK;
}

/* --- life cycle ----------------------------------------------------------------- */

static void list_fini(struct pb_list *list);

static void step_fini(struct pb_step *s)
{
    free(s->id);
    free(s->name);
    free(s->when);
    free(s->next.id);
    free(s->on_error_target.id);
    switch (s->kind) {
    case PB_ACTION:
        free(s->u.action.name);
        json_decref(s->u.action.with);
        break;
    case PB_PROMPT:
        free(s->u.prompt.to);
        free(s->u.prompt.role);
        free(s->u.prompt.question);
        json_decref(s->u.prompt.options);
        free(s->u.prompt.default_option);
        break;
    case PB_SET:
        json_decref(s->u.set.values);
        break;
    case PB_SWITCH:
        free(s->u.sw.expr);
        for (size_t i = 0; i < s->u.sw.ncases; i++) {
            free(s->u.sw.cases[i].value);
            free(s->u.sw.cases[i].target.id);
        }
        free(s->u.sw.cases);
        free(s->u.sw.default_target.id);
        break;
    case PB_FOR_EACH:
        free(s->u.for_each.items);
        list_fini(&s->u.for_each.body);
        break;
    case PB_WHILE:
        free(s->u.loop.cond);
        list_fini(&s->u.loop.body);
        break;
    case PB_PARALLEL:
        list_fini(&s->u.parallel.branches);
        break;
    case PB_GROUP:
        list_fini(&s->u.group.body);
        break;
    case PB_WAIT:
        free(s->u.wait.until);
        break;
    case PB_SUB:
        free(s->u.sub.playbook);
        json_decref(s->u.sub.inputs);
        break;
    case PB_CASE:
        free(s->u.case_op.value);
        break;
    case PB_END:
        break;
    }
}

/* Recursion bounded by RP_PLAYBOOK_NESTING_MAX (lists deeper are never made). */
static void list_fini(struct pb_list *list)
{
    for (size_t i = 0; i < list->n; i++)
        step_fini(&list->steps[i]);
    free(list->steps);
}

void playbook_free(struct playbook *pb)
{
    if (pb == NULL)
        return;
    free(pb->name);
    free(pb->description);
    free(pb->path);
    free(pb->text);
    free(pb->trigger.kind);
    free(pb->trigger.when);
    free(pb->trigger.schedule);
    cron_free(pb->trigger.cron);
    json_decref(pb->inputs);
    json_decref(pb->vars);
    list_fini(&pb->steps);
    free(pb);
}

static const struct pb_step *list_find(const struct pb_list *list, const char *id)
{
    for (size_t i = 0; list != NULL && i < list->n; i++) {
        const struct pb_step *s = &list->steps[i], *found = NULL;
        if (strcmp(s->id, id) == 0)
            return s;
        switch (s->kind) {
        case PB_FOR_EACH:
            found = list_find(&s->u.for_each.body, id);
            break;
        case PB_WHILE:
            found = list_find(&s->u.loop.body, id);
            break;
        case PB_PARALLEL:
            found = list_find(&s->u.parallel.branches, id);
            break;
        case PB_GROUP:
            found = list_find(&s->u.group.body, id);
            break;
        default:
            break;
        }
        if (found != NULL)
            return found;
    }
    return NULL;
}

const struct pb_step *playbook_step(const struct playbook *pb, const char *id)
{
    return pb != NULL && id != NULL ? list_find(&pb->steps, id) : NULL;
}

rp_status playbook_load_string_flags(const char *name, const char *text, size_t len, unsigned flags,
                                     struct playbook **out, struct rp_error *err)
{
    struct pb_loader l = {.name = name, .flags = flags, .err = err};
    struct ytree *tree = NULL;
    const struct ynode *root = NULL;
    rp_status st = RP_OK;
    *out = NULL;
    if (len > RP_PLAYBOOK_MAX_BYTES)
        return rp_error_set(err, RP_E_INVALID, "%s: larger than %u bytes", name,
                            RP_PLAYBOOK_MAX_BYTES);
    if ((l.pb = calloc(1, sizeof(*l.pb))) == NULL ||
        (l.src = calloc(RP_PLAYBOOK_STEPS_MAX, sizeof(*l.src))) == NULL ||
        (l.pb->path = strdup(name)) == NULL || (l.pb->text = malloc(len + 1)) == NULL) {
        st = nomem(&l);
        goto done;
    }
    memcpy(l.pb->text, text, len);
    l.pb->text[len] = '\0';
    l.pb->text_len = len;
    hash_sha256_hex(text, len, l.pb->sha256);
    l.pb->version = 1;
    static const struct ytree_limits LIMITS = {.what = "playbook",
                                               .nodes_max = RP_PLAYBOOK_NODES_MAX,
                                               .depth_max = RP_PLAYBOOK_YAML_DEPTH_MAX};
    if ((st = ytree_read(name, text, len, &LIMITS, &tree, &root, err)) != RP_OK)
        goto done;
    if (root == NULL || (root->type == YNODE_SCALAR && root->plain && root->len == 0)) {
        st = rp_error_set(err, RP_E_INVALID, "%s:1:1: empty playbook", name);
        goto done;
    }
    l.root = root;
    if ((st = parse_top(&l, root)) != RP_OK)
        goto done;
    st = pb_validate(&l);
done:
    ytree_free(tree);
    free(l.src);
    if (st != RP_OK)
        playbook_free(l.pb);
    else
        *out = l.pb;
    return st;
}

rp_status playbook_load_string(const char *name, const char *text, size_t len,
                               struct playbook **out, struct rp_error *err)
{
    return playbook_load_string_flags(name, text, len, 0, out, err);
}

rp_status playbook_load_file(const char *path, struct playbook **out, struct rp_error *err)
{
    struct stat sb;
    char *data = NULL;
    rp_status st;
    *out = NULL;
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return rp_error_set(err, RP_E_IO, "%s: %s", path, strerror(errno));
    if (fstat(fileno(f), &sb) != 0) {
        st = rp_error_set(err, RP_E_IO, "%s: %s", path, strerror(errno));
    } else if (!S_ISREG(sb.st_mode)) {
        st = rp_error_set(err, RP_E_IO, "%s: not a regular file", path);
    } else if ((uint64_t)sb.st_size > RP_PLAYBOOK_MAX_BYTES) {
        st = rp_error_set(err, RP_E_INVALID, "%s: larger than %u bytes", path,
                          RP_PLAYBOOK_MAX_BYTES);
    } else if ((data = malloc((size_t)sb.st_size + 1)) == NULL) {
        st = rp_error_set(err, RP_E_NOMEM, "%s: out of memory", path);
    } else {
        size_t n = fread(data, 1, (size_t)sb.st_size, f);
        if (ferror(f))
            st = rp_error_set(err, RP_E_IO, "%s: read error", path);
        else
            st = playbook_load_string(path, data, n, out, err);
    }
    fclose(f);
    free(data);
    return st;
}

/* --- a directory ---------------------------------------------------------------- */

static bool is_playbook_file(const char *name)
{
    size_t n = strlen(name);
    if (name[0] == '.') /* hidden: editors' lock and backup files */
        return false;
    return (n > 4 && strcmp(name + n - 4, ".yml") == 0) ||
           (n > 5 && strcmp(name + n - 5, ".yaml") == 0);
}

static char *path_join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    if (p != NULL)
        snprintf(p, n, "%s/%s", dir, name);
    return p;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

rp_status playbook_set_load_dir(const char *dir, struct playbook_set *out, struct rp_error *err)
{
    char **names = NULL;
    struct playbook **items = NULL;
    size_t nnames = 0, nitems = 0;
    rp_status st = RP_OK;
    DIR *d = opendir(dir);
    if (d == NULL)
        return rp_error_set(err, RP_E_IO, "%s: %s", dir, strerror(errno));
    if ((names = calloc(RP_PLAYBOOKS_PER_DIR_MAX, sizeof(*names))) == NULL) {
        closedir(d);
        return rp_error_set(err, RP_E_NOMEM, "%s: out of memory", dir);
    }
    for (struct dirent *de; st == RP_OK && (de = readdir(d)) != NULL;) {
        if (!is_playbook_file(de->d_name))
            continue;
        if (nnames == RP_PLAYBOOKS_PER_DIR_MAX)
            st = rp_error_set(err, RP_E_LIMIT, "%s: more than %d playbook files", dir,
                              RP_PLAYBOOKS_PER_DIR_MAX);
        else if ((names[nnames] = path_join(dir, de->d_name)) == NULL)
            st = rp_error_set(err, RP_E_NOMEM, "%s: out of memory", dir);
        else
            nnames++;
    }
    closedir(d);
    if (st == RP_OK && nnames > 0 && (items = calloc(nnames, sizeof(*items))) == NULL)
        st = rp_error_set(err, RP_E_NOMEM, "%s: out of memory", dir);
    if (st == RP_OK)
        qsort(names, nnames, sizeof(*names), cmp_names);
    for (size_t i = 0; st == RP_OK && i < nnames; i++) {
        if ((st = playbook_load_file(names[i], &items[i], err)) != RP_OK)
            break;
        nitems++;
        for (size_t j = 0; st == RP_OK && j < i; j++)
            if (strcmp(items[j]->name, items[i]->name) == 0)
                st = rp_error_set(err, RP_E_INVALID, "%s: playbook \"%s\" is also defined in %s",
                                  names[i], items[i]->name, names[j]);
    }
    if (st == RP_OK) {
        out->items = items;
        out->n = nitems;
    } else {
        for (size_t i = 0; i < nitems; i++)
            playbook_free(items[i]);
        free(items);
    }
    for (size_t i = 0; i < nnames; i++)
        free(names[i]);
    free(names);
    return st;
}

void playbook_set_fini(struct playbook_set *set)
{
    if (set == NULL)
        return;
    for (size_t i = 0; i < set->n; i++)
        playbook_free(set->items[i]);
    free(set->items);
    set->items = NULL;
    set->n = 0;
}

const struct playbook *playbook_set_find(const struct playbook_set *set, const char *name)
{
    for (size_t i = 0; set != NULL && name != NULL && i < set->n; i++)
        if (strcmp(set->items[i]->name, name) == 0)
            return set->items[i];
    return NULL;
}

/*
 * policy.c: the guard rails' policy file, from YAML to struct policy
 * (guard.h has the format, docs/policy.md explains every key).
 *
 * Read as playbook/load.c reads playbooks: libyaml's events become a small
 * tree (in an arena) that keeps every node's line and column; anchors,
 * aliases and tags are refused while reading (an alias could multiply a small
 * file, and a policy has no use for them), and the depth and the node count
 * are bounded. Then every mapping's keys are checked against the keys its
 * place allows (unknown and repeated keys are errors) and each value is
 * validated: host globs, CIDRs, mailboxes, domains, effects, durations, roles.
 * A policy that loads is complete and consistent; nothing of the tree outlives
 * the call.
 *
 * Any thread (no state between calls). Fails with RP_E_INVALID and
 * "file:line:col: problem", RP_E_NOMEM or RP_E_IO; on any failure nothing is
 * returned.
 */
#include "core/time.h"
#include "core/ytree.h"
#include "guard/guard_internal.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* --- the YAML tree (as in playbook/load.c) -------------------------------------- */

struct loader {
    const char *name;
    struct rp_error *err;
    struct policy *p;
    size_t patterns; /* host globs and address ranges so far */
};

static rp_status at(struct loader *l, const struct ynode *n, const char *fmt, ...) RP_PRINTF(3, 4);

static rp_status at(struct loader *l, const struct ynode *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    rp_status st = ynode_verror(l->err, l->name, n, fmt, ap);
    va_end(ap);
    return st;
}

static rp_status nomem(struct loader *l)
{
    return rp_error_set(l->err, RP_E_NOMEM, "%s: out of memory", l->name);
}

/* --- values ------------------------------------------------------------------------ */

/* Collects a mapping's values by key name (vals[i] for names[i], or NULL).
 * Unknown and repeated keys are errors; ctx prefixes the messages. */
static rp_status map_fields(struct loader *l, const struct ynode *map, const char *const *names,
                            size_t n, const struct ynode **keys, const struct ynode **vals,
                            const char *ctx)
{
    return ynode_fields(map, names, n, keys, vals, ctx, l->name, l->err);
}

static bool is_empty(const struct ynode *v)
{
    return v->type == YNODE_SCALAR && v->plain && v->len == 0;
}

/* A list of scalars, or one scalar standing for a list of one. Iterate by
 * count: a lone scalar's next is its parent's next key. */
static rp_status want_list(struct loader *l, const struct ynode *v, const char *ctx,
                           const char *key, size_t max, const struct ynode **first, size_t *n)
{
    if (v->type == YNODE_SCALAR && !is_empty(v)) {
        *first = v;
        *n = 1;
        return RP_OK;
    }
    if (v->type != YNODE_SEQ || v->n == 0)
        return at(l, v, "%s%s: expected a non-empty list", ctx, key);
    if (v->n > max)
        return at(l, v, "%s%s: more than %zu entries", ctx, key, max);
    for (const struct ynode *x = v->first; x != NULL; x = x->next)
        if (x->type != YNODE_SCALAR || x->len == 0)
            return at(l, x, "%s%s: expected a non-empty string", ctx, key);
    *first = v->first;
    *n = v->n;
    return RP_OK;
}

static rp_status want_scalar(struct loader *l, const struct ynode *v, const char *ctx,
                             const char *key)
{
    if (v->type != YNODE_SCALAR || v->len == 0)
        return at(l, v, "%s%s: expected a non-empty string", ctx, key);
    return RP_OK;
}

static rp_status want_count(struct loader *l, const struct ynode *v, const char *ctx,
                            const char *key, int64_t *out)
{
    bool ok = v->type == YNODE_SCALAR && v->plain && v->len > 0 && v->len <= 10;
    for (size_t i = 0; ok && i < v->len; i++)
        ok = isdigit((unsigned char)v->s[i]);
    long long x = ok ? strtoll(v->s, NULL, 10) : -1;
    if (!ok || x > RP_GUARD_COUNT_MAX)
        return at(l, v, "%s%s: expected an integer from 0 to %d", ctx, key, RP_GUARD_COUNT_MAX);
    *out = x;
    return RP_OK;
}

static rp_status want_duration(struct loader *l, const struct ynode *v, const char *ctx,
                               const char *key, int64_t *ms)
{
    /* time.h reads a bare number as seconds; a policy must say its unit ("per:
     * 60" could mean minutes as well), so every number needs one. */
    bool units = v->type == YNODE_SCALAR && v->len > 0;
    for (const char *p = v->s; units && *p; p++)
        if (isdigit((unsigned char)p[0]) && !isalnum((unsigned char)p[1]))
            units = false;
    struct rp_error e;
    if (!units || time_parse_duration(v->s, ms, &e) != RP_OK)
        return at(l, v, "%s%s: bad duration \"%.64s\" (e.g. 30s, 15m, 4h, 1d)", ctx, key,
                  v->type == YNODE_SCALAR ? v->s : "");
    if (*ms <= 0)
        return at(l, v, "%s%s: duration must be longer than zero", ctx, key);
    if (*ms > RP_GUARD_DURATION_MAX_MS)
        return at(l, v, "%s%s: duration is longer than %lld days", ctx, key,
                  RP_GUARD_DURATION_MAX_MS / 86400000);
    return RP_OK;
}

/* A role or a budget's name: [a-z0-9][a-z0-9_.-]*, at most max bytes. */
static rp_status want_role(struct loader *l, const struct ynode *v, const char *ctx,
                           const char *key, size_t max, char *out, size_t size)
{
    bool ok = v->type == YNODE_SCALAR && v->len > 0 && v->len <= max &&
              (islower((unsigned char)v->s[0]) || isdigit((unsigned char)v->s[0]));
    for (const char *p = v->s; ok && *p; p++)
        ok = islower((unsigned char)*p) || isdigit((unsigned char)*p) || strchr("_.-", *p);
    if (!ok)
        return at(l, v,
                  "%s%s: a name of lower-case letters, digits, '_', '.' and '-' (at most %zu)", ctx,
                  key, max);
    snprintf(out, size, "%s", v->s);
    return RP_OK;
}

/* An action's registry name ("edr.contain_host"). */
static bool action_name_ok(const char *s, size_t len)
{
    if (len == 0 || len > RP_NAME_MAX_BYTES)
        return false;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && !strchr("_.-", *s))
            return false;
    return true;
}

static rp_status want_effect(struct loader *l, const struct ynode *v, const char *ctx,
                             const char *key, enum action_effect *out)
{
    if (v->type == YNODE_SCALAR && strcmp(v->s, "read") == 0)
        return at(l, v, "%s%s: read is never guarded: notify, contain, modify or destroy", ctx,
                  key);
    if (v->type != YNODE_SCALAR || action_effect_parse(v->s, out) != RP_OK)
        return at(l, v, "%s%s: unknown effect \"%.64s\" (notify, contain, modify or destroy)", ctx,
                  key, v->type == YNODE_SCALAR ? v->s : "");
    return RP_OK;
}

static rp_status want_effects(struct loader *l, const struct ynode *v, const char *ctx,
                              unsigned *out)
{
    const struct ynode *x;
    size_t n;
    rp_status rc;
    if ((rc = want_list(l, v, ctx, "effects", GP_NEFFECTS, &x, &n)) != RP_OK)
        return rc;
    *out = 0;
    for (size_t i = 0; i < n; i++, x = x->next) {
        enum action_effect e;
        if ((rc = want_effect(l, x, ctx, "effects", &e)) != RP_OK)
            return rc;
        *out |= GP_BIT(e);
    }
    return RP_OK;
}

/* approver, timeout and on_timeout of a rule that holds. */
static rp_status want_hold(struct loader *l, const char *ctx, const struct ynode *approver,
                           const struct ynode *timeout, const struct ynode *on_timeout,
                           struct gp_hold *h)
{
    rp_status rc;
    h->timeout_ms = RP_GUARD_HOLD_TIMEOUT_DEFAULT_MS;
    h->on_timeout_allow = false;
    if ((rc = want_role(l, approver, ctx, "approver", RP_GUARD_ROLE_MAX, h->approver,
                        sizeof(h->approver))) != RP_OK)
        return rc;
    if (timeout != NULL && (rc = want_duration(l, timeout, ctx, "timeout", &h->timeout_ms)))
        return rc;
    if (on_timeout != NULL) {
        if (on_timeout->type != YNODE_SCALAR ||
            (strcmp(on_timeout->s, "deny") != 0 && strcmp(on_timeout->s, "allow") != 0))
            return at(l, on_timeout, "%son_timeout: deny or allow", ctx);
        h->on_timeout_allow = strcmp(on_timeout->s, "allow") == 0;
    }
    return RP_OK;
}

/* Keys that only go with a hold, present on a rule that does not hold. */
static rp_status no_hold_keys(struct loader *l, const char *ctx, const struct ynode *const *keys,
                              const char *what)
{
    for (int i = 0; i < 3; i++)
        if (keys[i] != NULL)
            return at(l, keys[i], "%s%s goes with %s", ctx, keys[i]->s, what);
    return RP_OK;
}

/* --- names and addresses ------------------------------------------------------------ */

static char *lower_dup(const char *s)
{
    char *d = strdup(s);
    for (char *p = d; p != NULL && *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return d;
}

static bool host_char(int c)
{
    return isalnum(c) || c == '-' || c == '.' || c == '_';
}

/* NULL when s is a host glob fnmatch(3) reads as meant, else the problem. */
static const char *glob_problem(const char *s)
{
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '[') {
            p++;
            if (*p == '!' || *p == '^')
                p++;
            if (*p == ']')
                return "an empty [] set";
            for (; *p && *p != ']'; p++)
                if (!host_char((unsigned char)*p))
                    return "a character that cannot be in a host name inside []";
            if (*p == '\0')
                return "a [ without its ]";
        } else if (c == ']') {
            return "a ] without its [";
        } else if (!host_char(c) && c != '*' && c != '?') {
            return "a character that cannot be in a host name";
        }
    }
    return NULL;
}

/* Lower-case letters, digits, '-' and '_' in dot-separated labels of 1-63,
 * 253 in all; one trailing dot is dropped. */
static bool domain_ok(const char *s, size_t n)
{
    if (n > 0 && s[n - 1] == '.')
        n--;
    if (n == 0 || n > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
        } else if (isalnum(c) || c == '-' || c == '_') {
            if (++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return label > 0;
}

bool gp_net_parse(const char *s, struct gp_net *out, bool *host_bits)
{
    char buf[INET6_ADDRSTRLEN + 8];
    size_t n = strlen(s);
    if (n == 0 || n >= sizeof(buf))
        return false;
    memcpy(buf, s, n + 1);
    int prefix = -1;
    char *slash = strchr(buf, '/');
    if (slash != NULL) {
        *slash = '\0';
        const char *d = slash + 1;
        size_t nd = strlen(d);
        if (nd == 0 || nd > 3)
            return false;
        prefix = 0;
        for (; *d; d++) {
            if (!isdigit((unsigned char)*d))
                return false;
            prefix = prefix * 10 + (*d - '0');
        }
    }
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, buf, out->a) == 1) {
        out->family = 4;
        if (prefix < 0)
            prefix = 32;
        if (prefix > 32)
            return false;
    } else if (inet_pton(AF_INET6, buf, out->a) == 1) {
        out->family = 6;
        if (prefix < 0)
            prefix = 128;
        if (prefix > 128)
            return false;
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(out->a, mapped, 12) == 0 && prefix >= 96) {
            memmove(out->a, out->a + 12, 4);
            memset(out->a + 4, 0, 12);
            out->family = 4;
            prefix -= 96;
        }
    } else {
        return false;
    }
    out->prefix = prefix;
    bool set = false;
    int bytes = out->family == 4 ? 4 : 16;
    for (int i = 0; i < bytes; i++) {
        int keep = prefix - 8 * i;
        uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
        if (out->a[i] & (uint8_t)~mask)
            set = true;
        out->a[i] &= mask;
    }
    if (host_bits != NULL)
        *host_bits = set;
    return true;
}

void gp_net_format(const struct gp_net *n, char *out, size_t size)
{
    char a[INET6_ADDRSTRLEN];
    int af = n->family == 4 ? AF_INET : AF_INET6;
    if (inet_ntop(af, n->a, a, sizeof(a)) == NULL)
        snprintf(a, sizeof(a), "?");
    if (n->prefix == (n->family == 4 ? 32 : 128))
        snprintf(out, size, "%s", a);
    else
        snprintf(out, size, "%s/%d", a, n->prefix);
}

bool gp_net_overlap(const struct gp_net *x, const struct gp_net *y)
{
    if (x->family != y->family)
        return false;
    int bits = x->prefix < y->prefix ? x->prefix : y->prefix;
    int full = bits / 8, rest = bits % 8;
    if (memcmp(x->a, y->a, (size_t)full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (x->a[full] & mask) == (y->a[full] & mask);
}

void gp_duration_format(int64_t ms, char *out, size_t size)
{
    static const struct {
        const char *unit;
        int64_t ms;
    } units[] = {{"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}};
    size_t used = 0;
    out[0] = '\0';
    if (ms <= 0) {
        snprintf(out, size, "0s");
        return;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && ms > 0; i++) {
        if (ms < units[i].ms)
            continue;
        int w = snprintf(out + used, size - used, "%lld%s", (long long)(ms / units[i].ms),
                         units[i].unit);
        if (w < 0 || (size_t)w >= size - used)
            return;
        used += (size_t)w;
        ms %= units[i].ms;
    }
}

/* --- protected ---------------------------------------------------------------------- */

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct gp_entry *)a)->s, ((const struct gp_entry *)b)->s);
}

static const char *const KIND_KEYS[GP_NKINDS] = {"hosts", "addresses", "users", "mailboxes",
                                                 "domains"};

/* One entry of a protected list: checked, lower-cased, stored. */
static rp_status protected_entry(struct loader *l, struct gp_protected *r, enum gp_kind kind,
                                 const struct ynode *x, const char *ctx)
{
    const char *key = KIND_KEYS[kind];
    const char *problem = NULL;
    if (x->len > RP_NAME_MAX_BYTES)
        return at(l, x, "%s%s: longer than %u bytes", ctx, key, RP_NAME_MAX_BYTES);
    if (kind == GP_ADDRESSES) {
        struct gp_net net;
        bool host_bits = false;
        char text[INET6_ADDRSTRLEN + 8];
        if (!gp_net_parse(x->s, &net, &host_bits))
            return at(l, x, "%s%s: \"%.64s\" is not an address or a CIDR range", ctx, key, x->s);
        gp_net_format(&net, text, sizeof(text));
        if (host_bits)
            return at(l, x, "%s%s: \"%.64s\" has bits set past its prefix (%s?)", ctx, key, x->s,
                      text);
        if (++l->patterns > RP_GUARD_PATTERNS_MAX)
            return at(l, x, "more than %d host patterns and address ranges in the policy",
                      RP_GUARD_PATTERNS_MAX);
        struct gp_range *g = &r->ranges[r->nranges];
        g->net = net;
        g->line = x->line;
        g->col = x->col;
        if ((g->s = strdup(text)) == NULL)
            return nomem(l);
        r->nranges++;
        return RP_OK;
    }
    char *s = lower_dup(x->s);
    if (s == NULL)
        return nomem(l);
    size_t n = strlen(s);
    if (kind == GP_HOSTS) {
        if ((problem = glob_problem(s)) == NULL && ++l->patterns > RP_GUARD_PATTERNS_MAX) {
            free(s);
            return at(l, x, "more than %d host patterns and address ranges in the policy",
                      RP_GUARD_PATTERNS_MAX);
        }
    } else if (kind == GP_USERS) {
        for (const char *p = s; problem == NULL && *p; p++)
            if (iscntrl((unsigned char)*p) || *p == ' ')
                problem = "a user name has no spaces or control characters";
    } else if (kind == GP_MAILBOXES) {
        const char *a = strchr(s, '@');
        if (a == NULL || a == s || strchr(a + 1, '@') != NULL || !domain_ok(a + 1, strlen(a + 1)))
            problem = "not a mailbox (local@domain)";
        else
            for (const char *p = s; problem == NULL && p < a; p++)
                if (iscntrl((unsigned char)*p) || *p == ' ' || strchr("<>,;\"", *p))
                    problem = "not a mailbox (local@domain)";
    } else if (kind == GP_DOMAINS) {
        if (strncmp(s, "*.", 2) == 0)
            problem = "subdomains are always included: write the domain itself";
        else if (!domain_ok(s, n))
            problem = "not a domain name";
        else if (s[n - 1] == '.')
            s[n - 1] = '\0';
    }
    if (problem != NULL) {
        rp_status rc = at(l, x, "%s%s: \"%.64s\": %s", ctx, key, x->s, problem);
        free(s);
        return rc;
    }
    struct gp_entry *e = &r->names[kind][r->nnames[kind]++];
    e->s = s;
    e->line = x->line;
    e->col = x->col;
    return RP_OK;
}

static rp_status parse_protected(struct loader *l, const struct ynode *v, size_t idx,
                                 struct gp_protected *r)
{
    enum {
        K_HOSTS,
        K_ADDR,
        K_USERS,
        K_MAIL,
        K_DOMAINS,
        K_EFFECTS,
        K_ACTION,
        K_APPROVER,
        K_TIMEOUT,
        K_ONTIMEOUT,
        K_N
    };
    static const char *const names[K_N] = {"hosts",   "addresses", "users",  "mailboxes",
                                           "domains", "effects",   "action", "approver",
                                           "timeout", "on_timeout"};
    const struct ynode *k[K_N], *val[K_N];
    char ctx[64];
    rp_status rc;
    snprintf(ctx, sizeof(ctx), "protected[%zu]: ", idx);
    r->line = v->line;
    r->col = v->col;
    r->effects = GP_EFFECTS_ABOVE_READ;
    if (v->type != YNODE_MAP)
        return at(l, v,
                  "%sexpected a mapping (hosts, addresses, users, mailboxes, domains, "
                  "effects, action, approver)",
                  ctx);
    if ((rc = map_fields(l, v, names, K_N, k, val, ctx)) != RP_OK)
        return rc;
    bool any = false;
    for (int kind = 0; kind < GP_NKINDS; kind++) {
        const struct ynode *x;
        size_t n;
        if (val[kind] == NULL)
            continue;
        any = true;
        if ((rc = want_list(l, val[kind], ctx, KIND_KEYS[kind], RP_POLICY_NODES_MAX, &x, &n)))
            return rc;
        if (kind == GP_ADDRESSES)
            r->ranges = calloc(n, sizeof(*r->ranges));
        else
            r->names[kind] = calloc(n, sizeof(*r->names[kind]));
        if (kind == GP_ADDRESSES ? r->ranges == NULL : r->names[kind] == NULL)
            return nomem(l);
        for (size_t i = 0; i < n; i++, x = x->next)
            if ((rc = protected_entry(l, r, (enum gp_kind)kind, x, ctx)) != RP_OK)
                return rc;
        if (kind != GP_HOSTS && kind != GP_ADDRESSES)
            qsort(r->names[kind], r->nnames[kind], sizeof(struct gp_entry), entry_cmp);
    }
    if (!any)
        return at(l, v, "%sgive at least one of hosts, addresses, users, mailboxes, domains", ctx);
    if (val[K_EFFECTS] && (rc = want_effects(l, val[K_EFFECTS], ctx, &r->effects)) != RP_OK)
        return rc;
    if (val[K_ACTION] != NULL) {
        const struct ynode *a = val[K_ACTION];
        if (a->type != YNODE_SCALAR || (strcmp(a->s, "deny") != 0 && strcmp(a->s, "hold") != 0))
            return at(l, a, "%saction: deny or hold", ctx);
        r->hold = strcmp(a->s, "hold") == 0;
    }
    if (!r->hold)
        return no_hold_keys(l, ctx, &k[K_APPROVER], "action: hold");
    if (val[K_APPROVER] == NULL)
        return at(l, k[K_ACTION], "%saction: hold needs an approver", ctx);
    return want_hold(l, ctx, val[K_APPROVER], val[K_TIMEOUT], val[K_ONTIMEOUT], &r->h);
}

/* --- budgets, blast radius, approvals ------------------------------------------------ */

static rp_status parse_budget(struct loader *l, const struct ynode *v, size_t idx,
                              struct gp_budget *b)
{
    enum {
        K_NAME,
        K_EFFECT,
        K_ACTION,
        K_MAX,
        K_PER,
        K_SCOPE,
        K_OVER,
        K_APPROVER,
        K_TIMEOUT,
        K_ONTIMEOUT,
        K_N
    };
    static const char *const names[K_N] = {"name",  "effect", "action",   "max",     "per",
                                           "scope", "over",   "approver", "timeout", "on_timeout"};
    const struct ynode *k[K_N], *val[K_N];
    char ctx[RP_GUARD_NAME_MAX + 16], name[RP_GUARD_NAME_MAX + 1];
    rp_status rc;
    snprintf(ctx, sizeof(ctx), "budgets[%zu]: ", idx);
    b->line = v->line;
    b->col = v->col;
    b->effect = -1;
    if (v->type != YNODE_MAP)
        return at(l, v, "%sexpected a mapping (name, effect, action, max, per, scope, over)", ctx);
    if ((rc = map_fields(l, v, names, K_N, k, val, ctx)) != RP_OK)
        return rc;
    if (val[K_NAME] != NULL) {
        if ((rc = want_role(l, val[K_NAME], ctx, "name", RP_GUARD_NAME_MAX, name, sizeof(name))))
            return rc;
        snprintf(ctx, sizeof(ctx), "budget %s: ", name);
        const struct gp_budget *before = b - idx; /* the list being filled */
        for (size_t i = 0; i < idx; i++)
            if (strcmp(before[i].name, name) == 0)
                return at(l, val[K_NAME], "%sanother budget has this name", ctx);
    } else {
        snprintf(name, sizeof(name), "budgets[%zu]", idx);
    }
    if ((b->name = strdup(name)) == NULL)
        return nomem(l);
    if (val[K_EFFECT] != NULL) {
        enum action_effect e;
        if ((rc = want_effect(l, val[K_EFFECT], ctx, "effect", &e)) != RP_OK)
            return rc;
        b->effect = (int)e;
    }
    if (val[K_ACTION] != NULL) {
        if ((rc = want_scalar(l, val[K_ACTION], ctx, "action")) != RP_OK)
            return rc;
        if (!action_name_ok(val[K_ACTION]->s, val[K_ACTION]->len))
            return at(l, val[K_ACTION], "%saction: \"%.64s\" is not an action name", ctx,
                      val[K_ACTION]->s);
        if ((b->action = strdup(val[K_ACTION]->s)) == NULL)
            return nomem(l);
    }
    if (val[K_MAX] == NULL)
        return at(l, v, "%smissing \"max\" (how many actions per window)", ctx);
    if ((rc = want_count(l, val[K_MAX], ctx, "max", &b->max)) != RP_OK)
        return rc;
    if (val[K_PER] == NULL)
        return at(l, v, "%smissing \"per\" (the window, e.g. 1h)", ctx);
    if ((rc = want_duration(l, val[K_PER], ctx, "per", &b->per_ms)) != RP_OK)
        return rc;
    if ((b->per_text = strdup(val[K_PER]->s)) == NULL)
        return nomem(l);
    if (val[K_SCOPE] != NULL) {
        const struct ynode *s = val[K_SCOPE];
        if (s->type == YNODE_SCALAR && strcmp(s->s, "global") == 0)
            b->scope = GP_SCOPE_GLOBAL;
        else if (s->type == YNODE_SCALAR && strcmp(s->s, "playbook") == 0)
            b->scope = GP_SCOPE_PLAYBOOK;
        else if (s->type == YNODE_SCALAR && strcmp(s->s, "action") == 0)
            b->scope = GP_SCOPE_ACTION;
        else
            return at(l, s, "%sscope: global, playbook or action", ctx);
    }
    if (val[K_OVER] != NULL) {
        const struct ynode *o = val[K_OVER];
        if (o->type != YNODE_SCALAR || (strcmp(o->s, "deny") != 0 && strcmp(o->s, "hold") != 0))
            return at(l, o, "%sover: deny or hold", ctx);
        b->over_hold = strcmp(o->s, "hold") == 0;
    }
    if (!b->over_hold)
        return no_hold_keys(l, ctx, &k[K_APPROVER], "over: hold");
    if (val[K_APPROVER] == NULL)
        return at(l, k[K_OVER], "%sover: hold needs an approver", ctx);
    return want_hold(l, ctx, val[K_APPROVER], val[K_TIMEOUT], val[K_ONTIMEOUT], &b->h);
}

static rp_status parse_blast(struct loader *l, const struct ynode *v)
{
    static const char *const names[3] = {"contain", "modify", "destroy"};
    static const enum action_effect effects[3] = {ACTION_EFFECT_CONTAIN, ACTION_EFFECT_MODIFY,
                                                  ACTION_EFFECT_DESTROY};
    const struct ynode *k[3], *val[3];
    rp_status rc;
    if (v->type != YNODE_MAP || v->n == 0)
        return at(l, v, "blast_radius: expected a mapping of contain, modify, destroy to counts");
    if ((rc = map_fields(l, v, names, 3, k, val, "blast_radius: ")) != RP_OK)
        return rc;
    for (int i = 0; i < 3; i++) {
        if (val[i] == NULL)
            continue;
        enum action_effect e = effects[i];
        if ((rc = want_count(l, val[i], "blast_radius: ", names[i], &l->p->blast[e])) != RP_OK)
            return rc;
        l->p->blast_line[e] = val[i]->line;
        l->p->blast_col[e] = val[i]->col;
    }
    return RP_OK;
}

static rp_status parse_approval(struct loader *l, const struct ynode *v, size_t idx,
                                struct gp_approval *a)
{
    enum { K_EFFECTS, K_ACTIONS, K_APPROVER, K_TIMEOUT, K_ONTIMEOUT, K_N };
    static const char *const names[K_N] = {"effects", "actions", "approver", "timeout",
                                           "on_timeout"};
    const struct ynode *k[K_N], *val[K_N];
    char ctx[64], text[32];
    rp_status rc;
    snprintf(ctx, sizeof(ctx), "approvals[%zu]: ", idx);
    a->line = v->line;
    a->col = v->col;
    if (v->type != YNODE_MAP)
        return at(l, v, "%sexpected a mapping (effects, actions, approver, timeout, on_timeout)",
                  ctx);
    if ((rc = map_fields(l, v, names, K_N, k, val, ctx)) != RP_OK)
        return rc;
    if (val[K_EFFECTS] == NULL && val[K_ACTIONS] == NULL)
        return at(l, v, "%sgive effects or actions (what needs the approval)", ctx);
    if (val[K_EFFECTS] && (rc = want_effects(l, val[K_EFFECTS], ctx, &a->effects)) != RP_OK)
        return rc;
    if (val[K_ACTIONS] != NULL) {
        const struct ynode *x;
        size_t n;
        if ((rc = want_list(l, val[K_ACTIONS], ctx, "actions", RP_GUARD_RULES_MAX, &x, &n)))
            return rc;
        if ((a->actions = calloc(n, sizeof(*a->actions))) == NULL)
            return nomem(l);
        for (size_t i = 0; i < n; i++, x = x->next) {
            if (!action_name_ok(x->s, x->len))
                return at(l, x, "%sactions: \"%.64s\" is not an action name", ctx, x->s);
            if ((a->actions[a->nactions++] = strdup(x->s)) == NULL)
                return nomem(l);
        }
    }
    if (val[K_APPROVER] == NULL)
        return at(l, v, "%smissing \"approver\" (the role that may approve)", ctx);
    if ((rc = want_hold(l, ctx, val[K_APPROVER], val[K_TIMEOUT], val[K_ONTIMEOUT], &a->h)))
        return rc;
    gp_duration_format(a->h.timeout_ms, text, sizeof(text));
    if ((a->timeout_text = strdup(val[K_TIMEOUT] ? val[K_TIMEOUT]->s : text)) == NULL)
        return nomem(l);
    return RP_OK;
}

static rp_status parse_containment(struct loader *l, const struct ynode *v)
{
    static const char *const names[2] = {"default_duration", "max_duration"};
    const struct ynode *k[2], *val[2];
    const char *ctx = "containment: ";
    rp_status rc;
    if (v->type != YNODE_MAP || v->n == 0)
        return at(l, v, "containment: expected a mapping (default_duration, max_duration)");
    if ((rc = map_fields(l, v, names, 2, k, val, ctx)) != RP_OK)
        return rc;
    struct policy *p = l->p;
    if (val[0] && (rc = want_duration(l, val[0], ctx, names[0], &p->contain_default_ms)))
        return rc;
    if (val[1] && (rc = want_duration(l, val[1], ctx, names[1], &p->contain_max_ms)))
        return rc;
    if (val[0] && val[1] && p->contain_default_ms > p->contain_max_ms)
        return at(l, val[0], "%sdefault_duration is longer than max_duration", ctx);
    /* a contain without a duration must not outlast the maximum either */
    if (p->contain_default_ms == 0)
        p->contain_default_ms = p->contain_max_ms;
    return RP_OK;
}

static rp_status parse_kill(struct loader *l, const struct ynode *v)
{
    static const char *const names[2] = {"approver", "timeout"};
    const struct ynode *k[2], *val[2];
    const char *ctx = "kill_switch: ";
    rp_status rc;
    if (v->type != YNODE_MAP || v->n == 0)
        return at(l, v, "kill_switch: expected a mapping (approver, timeout)");
    if ((rc = map_fields(l, v, names, 2, k, val, ctx)) != RP_OK)
        return rc;
    if (val[0] && (rc = want_role(l, val[0], ctx, "approver", RP_GUARD_ROLE_MAX,
                                  l->p->kill.approver, sizeof(l->p->kill.approver))))
        return rc;
    if (val[1] && (rc = want_duration(l, val[1], ctx, "timeout", &l->p->kill.timeout_ms)))
        return rc;
    return RP_OK;
}

/* A list of rule mappings: allocates *out (n entries, zeroed) and parses each. */
static rp_status
parse_rules(struct loader *l, const struct ynode *v, const char *key, size_t size, void **out,
            size_t *nout, rp_status (*parse)(struct loader *, const struct ynode *, size_t, void *))
{
    *out = NULL;
    if (v->type != YNODE_SEQ || v->n == 0)
        return at(l, v, "%s: expected a non-empty list of rules", key);
    if (v->n > RP_GUARD_RULES_MAX)
        return at(l, v, "%s: more than %d rules", key, RP_GUARD_RULES_MAX);
    if ((*out = calloc(v->n, size)) == NULL)
        return nomem(l);
    size_t i = 0;
    for (const struct ynode *x = v->first; x != NULL; x = x->next, i++) {
        *nout = i + 1; /* what policy_free must release, even half parsed */
        rp_status rc = parse(l, x, i, (char *)*out + i * size);
        if (rc != RP_OK)
            return rc;
    }
    return RP_OK;
}

static rp_status parse_protected_v(struct loader *l, const struct ynode *v, size_t i, void *r)
{
    return parse_protected(l, v, i, r);
}

static rp_status parse_budget_v(struct loader *l, const struct ynode *v, size_t i, void *r)
{
    return parse_budget(l, v, i, r);
}

static rp_status parse_approval_v(struct loader *l, const struct ynode *v, size_t i, void *r)
{
    return parse_approval(l, v, i, r);
}

static rp_status parse_top(struct loader *l, const struct ynode *root)
{
    enum { T_MODE, T_PROT, T_BUDGETS, T_BLAST, T_APPROVALS, T_CONTAIN, T_KILL, T_N };
    static const char *const names[T_N] = {"mode",      "protected",   "budgets",    "blast_radius",
                                           "approvals", "containment", "kill_switch"};
    const struct ynode *k[T_N], *v[T_N];
    struct policy *p = l->p;
    rp_status rc;
    if (root->type != YNODE_MAP)
        return at(l, root,
                  "a policy is a mapping (mode, protected, budgets, blast_radius, approvals, "
                  "containment, kill_switch)");
    if ((rc = map_fields(l, root, names, T_N, k, v, "")) != RP_OK)
        return rc;
    if (v[T_MODE] != NULL) {
        const struct ynode *m = v[T_MODE];
        if (m->type != YNODE_SCALAR ||
            (strcmp(m->s, "enforce") != 0 && strcmp(m->s, "simulate") != 0))
            return at(l, m, "mode: enforce or simulate");
        p->simulate = strcmp(m->s, "simulate") == 0;
    }
    void *rules = NULL;
    if (v[T_PROT] != NULL) {
        rc = parse_rules(l, v[T_PROT], "protected", sizeof(*p->prot), &rules, &p->nprot,
                         parse_protected_v);
        p->prot = rules;
        if (rc != RP_OK)
            return rc;
    }
    if (v[T_BUDGETS] != NULL) {
        rc = parse_rules(l, v[T_BUDGETS], "budgets", sizeof(*p->budgets), &rules, &p->nbudgets,
                         parse_budget_v);
        p->budgets = rules;
        if (rc != RP_OK)
            return rc;
    }
    if (v[T_BLAST] != NULL && (rc = parse_blast(l, v[T_BLAST])) != RP_OK)
        return rc;
    if (v[T_APPROVALS] != NULL) {
        rc = parse_rules(l, v[T_APPROVALS], "approvals", sizeof(*p->approvals), &rules,
                         &p->napprovals, parse_approval_v);
        p->approvals = rules;
        if (rc != RP_OK)
            return rc;
    }
    if (v[T_CONTAIN] != NULL && (rc = parse_containment(l, v[T_CONTAIN])) != RP_OK)
        return rc;
    if (v[T_KILL] != NULL && (rc = parse_kill(l, v[T_KILL])) != RP_OK)
        return rc;
    return RP_OK;
}

/* --- life cycle ----------------------------------------------------------------------- */

void policy_free(struct policy *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->nprot; i++) {
        struct gp_protected *r = &p->prot[i];
        for (int k = 0; k < GP_NKINDS; k++) {
            for (size_t j = 0; j < r->nnames[k]; j++)
                free(r->names[k][j].s);
            free(r->names[k]);
        }
        for (size_t j = 0; j < r->nranges; j++)
            free(r->ranges[j].s);
        free(r->ranges);
    }
    free(p->prot);
    for (size_t i = 0; i < p->nbudgets; i++) {
        free(p->budgets[i].name);
        free(p->budgets[i].action);
        free(p->budgets[i].per_text);
    }
    free(p->budgets);
    for (size_t i = 0; i < p->napprovals; i++) {
        for (size_t j = 0; j < p->approvals[i].nactions; j++)
            free(p->approvals[i].actions[j]);
        free(p->approvals[i].actions);
        free(p->approvals[i].timeout_text);
    }
    free(p->approvals);
    free(p->name);
    free(p);
}

rp_status policy_load_string(const char *name, const char *text, size_t len, struct policy **out,
                             struct rp_error *err)
{
    struct loader l = {.name = name, .err = err};
    struct ytree *tree = NULL;
    const struct ynode *root = NULL;
    rp_status st = RP_OK;
    *out = NULL;
    if (len > RP_POLICY_MAX_BYTES)
        return rp_error_set(err, RP_E_INVALID, "%s: larger than %u bytes", name,
                            RP_POLICY_MAX_BYTES);
    if ((l.p = calloc(1, sizeof(*l.p))) == NULL || (l.p->name = strdup(name)) == NULL) {
        st = nomem(&l);
        goto done;
    }
    for (int e = 0; e < GP_NEFFECTS; e++)
        l.p->blast[e] = -1;
    snprintf(l.p->kill.approver, sizeof(l.p->kill.approver), "admin");
    l.p->kill.timeout_ms = RP_GUARD_KILL_TIMEOUT_MS;
    static const struct ytree_limits LIMITS = {
        .what = "policy", .nodes_max = RP_POLICY_NODES_MAX, .depth_max = RP_POLICY_YAML_DEPTH_MAX};
    if ((st = ytree_read(name, text, len, &LIMITS, &tree, &root, err)) != RP_OK)
        goto done;
    if (root == NULL || is_empty(root)) {
        st = rp_error_set(err, RP_E_INVALID,
                          "%s:1:1: empty policy (write \"mode: enforce\" for one without rules)",
                          name);
        goto done;
    }
    st = parse_top(&l, root);
done:
    ytree_free(tree);
    if (st != RP_OK)
        policy_free(l.p);
    else
        *out = l.p;
    return st;
}

rp_status policy_load_file(const char *path, struct policy **out, struct rp_error *err)
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
    } else if ((uint64_t)sb.st_size > RP_POLICY_MAX_BYTES) {
        st = rp_error_set(err, RP_E_INVALID, "%s: larger than %u bytes", path, RP_POLICY_MAX_BYTES);
    } else if ((data = malloc((size_t)sb.st_size + 1)) == NULL) {
        st = rp_error_set(err, RP_E_NOMEM, "%s: out of memory", path);
    } else {
        size_t n = fread(data, 1, (size_t)sb.st_size, f);
        if (ferror(f))
            st = rp_error_set(err, RP_E_IO, "%s: read error", path);
        else
            st = policy_load_string(path, data, n, out, err);
    }
    fclose(f);
    free(data);
    return st;
}

/*
 * decide.c: the guard rails' decision (guard.h): what an action's parameters
 * target, and whether the policy lets it go (allow), stops it (deny), waits
 * for a person (hold) or only pretends (simulate).
 *
 * The rules are tried in guard.h's order and the first stage that applies
 * decides: kill switch, mode simulate, protected assets, blast radius,
 * budgets, approvals, else allow. Inside the protected and budget stages every
 * rule is looked at and a deny wins over a hold, so that a hold written first
 * can never open the door a later deny closes ("a domain controller is never
 * contained, whatever the request").
 *
 * Pure logic: the counts come from the caller's callbacks (struct
 * guard_counts), nothing here does I/O or keeps state. Any thread, as long as
 * the callbacks allow it.
 */
#include "core/time.h"
#include "guard/guard_internal.h"

#include <ctype.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *guard_verdict_name(enum guard_verdict v)
{
    switch (v) {
    case GUARD_ALLOW:
        return "allow";
    case GUARD_DENY:
        return "deny";
    case GUARD_HOLD:
        return "hold";
    case GUARD_SIMULATE:
        return "simulate";
    }
    return "?";
}

int64_t policy_contain_default_ms(const struct policy *p)
{
    return p != NULL ? p->contain_default_ms : 0;
}

int64_t policy_contain_max_ms(const struct policy *p)
{
    return p != NULL ? p->contain_max_ms : 0;
}

/* --- targets --------------------------------------------------------------------------
 * Parameter names are compared without case and without '_', '-' and '.', so
 * that host_name, hostName and host.name (ECS) are one name. */

enum tkind { TK_HOST, TK_ADDRESS, TK_USER, TK_MAILBOX, TK_DOMAIN };

static const char *const TYPE_NAMES[] = {"host", "address", "user", "mailbox", "domain"};

static const struct {
    const char *key;
    enum tkind kind;
} PARAM_KEYS[] = {
    {"host", TK_HOST},         {"hosts", TK_HOST},
    {"hostname", TK_HOST},     {"hostnames", TK_HOST},
    {"device", TK_HOST},       {"devices", TK_HOST},
    {"devicename", TK_HOST},   {"machine", TK_HOST},
    {"machines", TK_HOST},     {"machinename", TK_HOST},
    {"computer", TK_HOST},     {"computers", TK_HOST},
    {"computername", TK_HOST}, {"endpoint", TK_HOST},
    {"endpoints", TK_HOST},    {"fqdn", TK_HOST},
    {"ip", TK_ADDRESS},        {"ips", TK_ADDRESS},
    {"ipaddress", TK_ADDRESS}, {"ipaddresses", TK_ADDRESS},
    {"address", TK_ADDRESS},   {"addresses", TK_ADDRESS},
    {"ipv4", TK_ADDRESS},      {"ipv6", TK_ADDRESS},
    {"srcip", TK_ADDRESS},     {"dstip", TK_ADDRESS},
    {"sourceip", TK_ADDRESS},  {"destinationip", TK_ADDRESS},
    {"remoteip", TK_ADDRESS},  {"cidr", TK_ADDRESS},
    {"user", TK_USER},         {"users", TK_USER},
    {"username", TK_USER},     {"usernames", TK_USER},
    {"account", TK_USER},      {"accounts", TK_USER},
    {"accountname", TK_USER},  {"samaccountname", TK_USER},
    {"upn", TK_USER},          {"userprincipalname", TK_USER},
    {"login", TK_USER},        {"mailbox", TK_MAILBOX},
    {"mailboxes", TK_MAILBOX}, {"email", TK_MAILBOX},
    {"emails", TK_MAILBOX},    {"emailaddress", TK_MAILBOX},
    {"mail", TK_MAILBOX},      {"to", TK_MAILBOX},
    {"cc", TK_MAILBOX},        {"bcc", TK_MAILBOX},
    {"recipient", TK_MAILBOX}, {"recipients", TK_MAILBOX},
    {"sender", TK_MAILBOX},    {"from", TK_MAILBOX},
    {"domain", TK_DOMAIN},     {"domains", TK_DOMAIN},
    {"domainname", TK_DOMAIN},
};

static int key_kind(const char *key)
{
    char k[32];
    size_t n = 0;
    for (const char *p = key; *p; p++) {
        if (*p == '_' || *p == '-' || *p == '.')
            continue;
        if (n + 1 >= sizeof(k))
            return -1;
        k[n++] = (char)tolower((unsigned char)*p);
    }
    k[n] = '\0';
    for (size_t i = 0; i < sizeof(PARAM_KEYS) / sizeof(PARAM_KEYS[0]); i++)
        if (strcmp(PARAM_KEYS[i].key, k) == 0)
            return (int)PARAM_KEYS[i].kind;
    return -1;
}

struct collect {
    json_t *out;
    json_t *seen; /* "type\x1fvalue" */
    bool nomem;
};

static bool collect_full(const struct collect *tc)
{
    /* one past the limit, so that guard_decide can tell */
    return tc->nomem || json_array_size(tc->out) > RP_GUARD_TARGETS_MAX;
}

static void put(struct collect *tc, enum tkind kind, const char *value)
{
    char key[RP_NAME_MAX_BYTES + 16];
    if (collect_full(tc) || value[0] == '\0')
        return;
    snprintf(key, sizeof(key), "%s\x1f%s", TYPE_NAMES[kind], value);
    if (json_object_get(tc->seen, key) != NULL)
        return;
    json_t *t = json_pack("{s:s,s:s}", "type", TYPE_NAMES[kind], "value", value);
    if (t == NULL || json_array_append_new(tc->out, t) != 0 ||
        json_object_set_new(tc->seen, key, json_true()) != 0)
        tc->nomem = true;
}

/* The canonical text of an address written as "10.0.0.5", "[2001:db8::1]:443",
 * "10.0.0.5:22", "fe80::1%eth0" or "10.0.0.0/24"; false when it is none. */
static bool address_canon(const char *s, char *out, size_t size)
{
    char buf[80];
    size_t n = strlen(s);
    if (n >= sizeof(buf))
        return false;
    memcpy(buf, s, n + 1);
    char *a = buf;
    if (a[0] == '[') {
        char *end = strchr(a, ']');
        if (end == NULL)
            return false;
        *end = '\0';
        a++;
    }
    char *colon = strchr(a, ':');
    if (colon != NULL && strchr(colon + 1, ':') == NULL) /* IPv4 with a port */
        *colon = '\0';
    char *zone = strchr(a, '%');
    if (zone != NULL) {
        char *slash = strchr(zone, '/');
        memmove(zone, slash != NULL ? slash : zone + strlen(zone),
                strlen(slash != NULL ? slash : zone + strlen(zone)) + 1);
    }
    struct gp_net net;
    if (!gp_net_parse(a, &net, NULL))
        return false;
    gp_net_format(&net, out, size);
    return true;
}

static void lower_in_place(char *s)
{
    for (; *s; s++)
        *s = (char)tolower((unsigned char)*s);
}

static void strip_dot(char *s)
{
    size_t n = strlen(s);
    if (n > 0 && s[n - 1] == '.')
        s[n - 1] = '\0';
}

/* One written value of a parameter of kind: trimmed, classified, canonical. */
static void add_value(struct collect *tc, enum tkind kind, const char *raw)
{
    char v[RP_NAME_MAX_BYTES + 1], addr[80];
    while (isspace((unsigned char)*raw))
        raw++;
    size_t n = strlen(raw);
    while (n > 0 && isspace((unsigned char)raw[n - 1]))
        n--;
    if (n == 0 || n > RP_NAME_MAX_BYTES)
        return; /* longer is no name any tool accepts */
    memcpy(v, raw, n);
    v[n] = '\0';
    if (kind == TK_MAILBOX) {
        /* "Name <a@x>, b@y; c@z": every address of a header-like list */
        char *save = NULL;
        for (char *part = strtok_r(v, ",;", &save); part != NULL;
             part = strtok_r(NULL, ",;", &save)) {
            char *lt = strrchr(part, '<'), *gt = lt ? strchr(lt, '>') : NULL;
            if (lt != NULL && gt != NULL) {
                *gt = '\0';
                part = lt + 1;
            }
            while (isspace((unsigned char)*part))
                part++;
            size_t m = strlen(part);
            while (m > 0 && isspace((unsigned char)part[m - 1]))
                part[--m] = '\0';
            lower_in_place(part);
            put(tc, strchr(part, '@') != NULL ? TK_MAILBOX : TK_USER, part);
        }
        return;
    }
    if (kind != TK_USER && address_canon(v, addr, sizeof(addr))) {
        put(tc, TK_ADDRESS, addr); /* a host or a domain written as its address */
        return;
    }
    lower_in_place(v);
    if (kind == TK_ADDRESS)
        kind = strchr(v, '@') != NULL ? TK_MAILBOX : TK_HOST; /* a name where an address was */
    if (kind == TK_HOST || kind == TK_DOMAIN)
        strip_dot(v);
    put(tc, kind, v);
}

static void walk(struct collect *tc, json_t *v, int depth);

/* The value of a parameter named for kind: a string, a list of them, or
 * objects that carry the name in "name" or "value". */
static void collect_kind(struct collect *tc, enum tkind kind, json_t *v, int depth)
{
    if (depth > RP_GUARD_PARAMS_DEPTH || collect_full(tc))
        return;
    if (json_is_string(v)) {
        add_value(tc, kind, json_string_value(v));
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) collect_kind(tc, kind, x, depth + 1);
    } else if (json_is_object(v)) {
        const char *names[] = {"name", "value"};
        for (size_t i = 0; i < 2; i++) {
            json_t *s = json_object_get(v, names[i]);
            if (json_is_string(s))
                add_value(tc, kind, json_string_value(s));
        }
    }
}

/* Every object inside the parameters, for the names above at any depth. */
static void walk(struct collect *tc, json_t *v, int depth)
{
    if (depth > RP_GUARD_PARAMS_DEPTH || collect_full(tc))
        return;
    if (json_is_object(v)) {
        const char *key;
        json_t *x;
        json_object_foreach(v, key, x)
        {
            int kind = key_kind(key);
            if (kind >= 0)
                collect_kind(tc, (enum tkind)kind, x, depth + 1);
            if (json_is_object(x) || json_is_array(x))
                walk(tc, x, depth + 1);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) if (json_is_object(x) || json_is_array(x))
            walk(tc, x, depth + 1);
    }
}

json_t *guard_targets(json_t *params)
{
    struct collect tc = {.out = json_array(), .seen = json_object()};
    if (tc.out == NULL || tc.seen == NULL) {
        json_decref(tc.out);
        json_decref(tc.seen);
        return NULL;
    }
    walk(&tc, params, 0);
    json_decref(tc.seen);
    if (tc.nomem) {
        json_decref(tc.out);
        return NULL;
    }
    return tc.out;
}

/* --- matching a protected rule -------------------------------------------------------- */

struct match {
    const char *list; /* "hosts", ... */
    const char *pattern;
    int line;
    int col;
    bool at_domain; /* a mailbox at a protected domain */
};

static int entry_cmp(const void *a, const void *b)
{
    return strcmp(((const struct gp_entry *)a)->s, ((const struct gp_entry *)b)->s);
}

static const struct gp_entry *find_name(const struct gp_protected *r, enum gp_kind kind,
                                        const char *s)
{
    struct gp_entry key = {.s = (char *)s};
    if (r->nnames[kind] == 0)
        return NULL;
    return bsearch(&key, r->names[kind], r->nnames[kind], sizeof(key), entry_cmp);
}

/* The domain itself or any domain it is under. */
static const struct gp_entry *find_domain(const struct gp_protected *r, const char *d)
{
    for (const char *s = d; s != NULL && *s; s = strchr(s, '.') ? strchr(s, '.') + 1 : NULL) {
        const struct gp_entry *e = find_name(r, GP_DOMAINS, s);
        if (e != NULL)
            return e;
    }
    return NULL;
}

static bool set_match(struct match *m, const char *list, const char *pattern, int line, int col)
{
    m->list = list;
    m->pattern = pattern;
    m->line = line;
    m->col = col;
    return true;
}

static bool set_entry(struct match *m, const char *list, const struct gp_entry *e)
{
    return e != NULL && set_match(m, list, e->s, e->line, e->col);
}

static bool match_host(const struct gp_protected *r, const char *host, struct match *m)
{
    char shortname[RP_NAME_MAX_BYTES + 1];
    const char *dot = strchr(host, '.');
    size_t n = dot != NULL ? (size_t)(dot - host) : 0;
    if (n >= sizeof(shortname))
        n = 0;
    memcpy(shortname, host, n);
    shortname[n] = '\0';
    for (size_t i = 0; i < r->nnames[GP_HOSTS]; i++) {
        const struct gp_entry *g = &r->names[GP_HOSTS][i];
        /* dc-01.corp.example.org is the host dc-* protects too */
        if (fnmatch(g->s, host, 0) == 0 || (n > 0 && fnmatch(g->s, shortname, 0) == 0))
            return set_entry(m, "hosts", g);
    }
    return false;
}

static bool match_user(const struct gp_protected *r, const char *user, struct match *m)
{
    if (set_entry(m, "users", find_name(r, GP_USERS, user)))
        return true;
    /* CORP\ceo and ceo@corp.example.org are the user ceo as well */
    char bare[RP_NAME_MAX_BYTES + 1];
    const char *bs = strrchr(user, '\\'), *at = strchr(user, '@');
    const char *from = bs != NULL ? bs + 1 : user;
    size_t n = at != NULL && at > from ? (size_t)(at - from) : strlen(from);
    if (n > 0 && n < sizeof(bare) && (bs != NULL || at != NULL)) {
        memcpy(bare, from, n);
        bare[n] = '\0';
        if (set_entry(m, "users", find_name(r, GP_USERS, bare)))
            return true;
    }
    return at != NULL && set_entry(m, "mailboxes", find_name(r, GP_MAILBOXES, user));
}

static bool match_target(const struct gp_protected *r, enum action_effect eff, const char *type,
                         const char *value, struct match *m)
{
    memset(m, 0, sizeof(*m));
    if (strcmp(type, "host") == 0)
        return match_host(r, value, m);
    if (strcmp(type, "address") == 0) {
        struct gp_net net;
        if (r->nranges == 0 || !gp_net_parse(value, &net, NULL))
            return false;
        for (size_t i = 0; i < r->nranges; i++)
            if (gp_net_overlap(&net, &r->ranges[i].net))
                return set_match(m, "addresses", r->ranges[i].s, r->ranges[i].line,
                                 r->ranges[i].col);
        return false;
    }
    if (strcmp(type, "user") == 0)
        return match_user(r, value, m);
    if (strcmp(type, "mailbox") == 0 || strcmp(type, "email") == 0) {
        if (set_entry(m, "mailboxes", find_name(r, GP_MAILBOXES, value)))
            return true;
        /* changing or deleting mail at a protected domain touches the domain;
         * writing to someone there does not */
        const char *at = strrchr(value, '@');
        if (at != NULL && (eff == ACTION_EFFECT_MODIFY || eff == ACTION_EFFECT_DESTROY) &&
            set_entry(m, "domains", find_domain(r, at + 1))) {
            m->at_domain = true;
            return true;
        }
        return false;
    }
    if (strcmp(type, "domain") == 0)
        return set_entry(m, "domains", find_domain(r, value));
    return false;
}

/* --- the decision ---------------------------------------------------------------------- */

static void say(char *buf, size_t size, const char *fmt, ...) RP_PRINTF(3, 4);

static void say(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n >= size && size > 4)
        memcpy(buf + size - 4, "...", 4);
}

static void hold(struct guard_decision *d, const struct gp_hold *h, int64_t now)
{
    d->verdict = GUARD_HOLD;
    snprintf(d->approver, sizeof(d->approver), "%s", h->approver);
    d->deadline_ms = now + h->timeout_ms;
    d->on_timeout_allow = h->on_timeout_allow;
}

static rp_status counter_missing(struct rp_error *err)
{
    return rp_error_set(err, RP_E_INVALID, "guard: the policy needs counts and none were given");
}

/* Protected assets: true when a rule decided (deny, or hold if no deny). */
static bool decide_protected(const struct policy *p, const struct guard_request *req,
                             json_t *targets, struct guard_decision *d)
{
    const struct gp_protected *held = NULL;
    struct match hm = {0};
    char htype[16] = "", hvalue[256] = "";
    size_t hidx = 0;
    for (size_t i = 0; i < p->nprot; i++) {
        const struct gp_protected *r = &p->prot[i];
        if (!(r->effects & GP_BIT(req->effect)) || (r->hold && held != NULL))
            continue;
        size_t k;
        json_t *t;
        json_array_foreach(targets, k, t)
        {
            const char *type = json_string_value(json_object_get(t, "type"));
            const char *value = json_string_value(json_object_get(t, "value"));
            struct match m;
            if (type == NULL || value == NULL || !match_target(r, req->effect, type, value, &m))
                continue;
            if (r->hold) {
                held = r;
                hm = m;
                hidx = i;
                snprintf(htype, sizeof(htype), "%s", type);
                snprintf(hvalue, sizeof(hvalue), "%s", value);
                break;
            }
            d->verdict = GUARD_DENY;
            say(d->rule, sizeof(d->rule), "protected %s[%zu]", m.list, i);
            if (m.at_domain)
                say(d->reason, sizeof(d->reason),
                    "%s %.200s is at protected domain %s (%s:%d:%d): no %s there", type, value,
                    m.pattern, p->name, m.line, m.col, action_effect_name(req->effect));
            else
                say(d->reason, sizeof(d->reason),
                    "%s %.200s matches protected %s %.200s (%s:%d:%d): no %s on it", type, value,
                    m.list, m.pattern, p->name, m.line, m.col, action_effect_name(req->effect));
            return true;
        }
    }
    if (held == NULL)
        return false;
    hold(d, &held->h, req->now_ms);
    say(d->rule, sizeof(d->rule), "protected %s[%zu]", hm.list, hidx);
    say(d->reason, sizeof(d->reason), "%s %.200s %s %s %.200s (%s:%d:%d): %s needs approval by %s",
        htype, hvalue, hm.at_domain ? "is at protected" : "matches protected",
        hm.at_domain ? "domain" : hm.list, hm.pattern, p->name, hm.line, hm.col,
        action_effect_name(req->effect), held->h.approver);
    return true;
}

static rp_status decide_blast(const struct policy *p, const struct guard_counts *c,
                              const struct guard_request *req, json_t *targets,
                              struct guard_decision *d, bool *decided, struct rp_error *err)
{
    int64_t limit = p->blast[req->effect], n = 0;
    *decided = false;
    if (limit < 0 || json_array_size(targets) == 0)
        return RP_OK;
    if (c == NULL || c->run_targets == NULL)
        return counter_missing(err);
    rp_status st = c->run_targets(c->ctx, req->run_id, (int)req->effect, targets, &n);
    if (st != RP_OK)
        return rp_error_set(err, st, "guard: counting the run's targets failed: %s",
                            rp_status_str(st));
    if (n <= limit)
        return RP_OK;
    *decided = true;
    d->verdict = GUARD_DENY;
    say(d->rule, sizeof(d->rule), "blast_radius %s", action_effect_name(req->effect));
    say(d->reason, sizeof(d->reason),
        "%lld distinct %s targets in this run would exceed blast_radius %s: %lld (%s:%d:%d)",
        (long long)n, action_effect_name(req->effect), action_effect_name(req->effect),
        (long long)limit, p->name, p->blast_line[req->effect], p->blast_col[req->effect]);
    return RP_OK;
}

static bool budget_applies(const struct gp_budget *b, const char *action, enum action_effect e)
{
    return (b->effect < 0 || b->effect == (int)e) &&
           (b->action == NULL || (action != NULL && strcmp(b->action, action) == 0));
}

static rp_status decide_budgets(const struct policy *p, const struct guard_counts *c,
                                const struct guard_request *req, struct guard_decision *d,
                                bool *decided, struct rp_error *err)
{
    const struct gp_budget *held = NULL;
    int64_t held_count = 0;
    *decided = false;
    for (size_t i = 0; i < p->nbudgets; i++) {
        const struct gp_budget *b = &p->budgets[i];
        if (!budget_applies(b, req->action, req->effect) || (b->over_hold && held != NULL))
            continue;
        if (c == NULL || c->actions_since == NULL)
            return counter_missing(err);
        const char *action = b->action != NULL             ? b->action
                             : b->scope == GP_SCOPE_ACTION ? req->action
                                                           : NULL;
        const char *playbook = b->scope == GP_SCOPE_PLAYBOOK ? req->playbook : NULL;
        int64_t n = 0;
        rp_status st =
            c->actions_since(c->ctx, req->now_ms - b->per_ms, action, b->effect, playbook, &n);
        if (st != RP_OK)
            return rp_error_set(err, st, "guard: counting for budget %s failed: %s", b->name,
                                rp_status_str(st));
        if (n < b->max)
            continue;
        if (b->over_hold) {
            held = b;
            held_count = n;
            continue;
        }
        *decided = true;
        d->verdict = GUARD_DENY;
        say(d->rule, sizeof(d->rule), "budget %s", b->name);
        say(d->reason, sizeof(d->reason),
            "%lld %s%s%s%s%s%s already allowed in the last %s: budget %s allows %lld (%s:%d:%d)",
            (long long)n, b->effect >= 0 ? action_effect_name((enum action_effect)b->effect) : "",
            b->effect >= 0 ? " " : "", "actions", action ? " of " : "", action ? action : "",
            playbook ? " in this playbook" : "", b->per_text, b->name, (long long)b->max, p->name,
            b->line, b->col);
        return RP_OK;
    }
    if (held == NULL)
        return RP_OK;
    *decided = true;
    hold(d, &held->h, req->now_ms);
    say(d->rule, sizeof(d->rule), "budget %s", held->name);
    say(d->reason, sizeof(d->reason),
        "%lld allowed in the last %s: over budget %s (max %lld, %s:%d:%d), needs approval by %s",
        (long long)held_count, held->per_text, held->name, (long long)held->max, p->name,
        held->line, held->col, held->h.approver);
    return RP_OK;
}

static bool decide_approvals(const struct policy *p, const struct guard_request *req,
                             struct guard_decision *d)
{
    for (size_t i = 0; i < p->napprovals; i++) {
        const struct gp_approval *a = &p->approvals[i];
        bool by_action = false;
        for (size_t k = 0; !by_action && req->action != NULL && k < a->nactions; k++)
            by_action = strcmp(a->actions[k], req->action) == 0;
        if (!by_action && !(a->effects & GP_BIT(req->effect)))
            continue;
        hold(d, &a->h, req->now_ms);
        say(d->rule, sizeof(d->rule), "approvals[%zu]", i);
        say(d->reason, sizeof(d->reason), "%s%s needs approval by %s within %s, else %s (%s:%d:%d)",
            by_action ? "action " : "", by_action ? req->action : action_effect_name(req->effect),
            a->h.approver, a->timeout_text, a->h.on_timeout_allow ? "allowed" : "denied", p->name,
            a->line, a->col);
        return true;
    }
    return false;
}

/* How long an allowed contain lasts: its `duration` (text, or ms as a
 * number), else the default; never more than the maximum. */
static int64_t contain_ms(const struct policy *p, json_t *params, const char **source)
{
    json_t *d = json_object_get(params, "duration");
    int64_t ms = 0;
    *source = "its duration";
    if (json_is_integer(d) && json_integer_value(d) > 0) {
        ms = (int64_t)json_integer_value(d);
    } else if (json_is_string(d)) {
        struct rp_error e;
        if (time_parse_duration(json_string_value(d), &ms, &e) != RP_OK || ms < 0)
            ms = 0;
    }
    if (ms == 0) {
        ms = p->contain_default_ms;
        *source = "containment default_duration";
    }
    if (p->contain_max_ms > 0 && ms > p->contain_max_ms) {
        ms = p->contain_max_ms;
        *source = "containment max_duration";
    }
    return ms;
}

rp_status guard_decide(const struct policy *p, const struct guard_counts *c,
                       const struct guard_request *req, struct guard_decision *out,
                       struct rp_error *err)
{
    rp_status st = RP_OK;
    json_t *own = NULL;
    bool decided = false;
    memset(out, 0, sizeof(*out));
    out->verdict = GUARD_ALLOW;
    if ((int)req->effect < 0 || req->effect > ACTION_EFFECT_DESTROY) {
        out->verdict = GUARD_DENY; /* when in doubt, do not act */
        snprintf(out->rule, sizeof(out->rule), "effect");
        snprintf(out->reason, sizeof(out->reason), "unknown effect %d", (int)req->effect);
        return RP_OK;
    }
    if (req->effect == ACTION_EFFECT_READ) {
        snprintf(out->rule, sizeof(out->rule), "read");
        snprintf(out->reason, sizeof(out->reason), "reads are never guarded");
        return RP_OK;
    }
    json_t *targets = req->targets;
    if (p != NULL && !json_is_array(targets)) {
        if ((own = guard_targets(req->params)) == NULL) {
            st = rp_error_set(err, RP_E_NOMEM, "guard: out of memory");
            goto done;
        }
        targets = own;
    }
    if (p != NULL && json_array_size(targets) > RP_GUARD_TARGETS_MAX) {
        out->verdict = GUARD_DENY;
        snprintf(out->rule, sizeof(out->rule), "targets");
        say(out->reason, sizeof(out->reason),
            "more than %d targets in one action: too many to check against the policy",
            RP_GUARD_TARGETS_MAX);
        goto done;
    }
    if (c != NULL && c->stopped) {
        /* a protected asset's deny stands even then: an administrator
         * releasing the kill switch's holds must not contain the domain
         * controller the policy protects */
        if (p != NULL && decide_protected(p, req, targets, out) && out->verdict == GUARD_DENY)
            goto done;
        memset(out, 0, sizeof(*out));
        const struct gp_hold dflt = {.approver = "admin", .timeout_ms = RP_GUARD_KILL_TIMEOUT_MS};
        const struct gp_hold *h = p != NULL ? &p->kill : &dflt;
        hold(out, h, req->now_ms);
        snprintf(out->rule, sizeof(out->rule), "kill switch");
        say(out->reason, sizeof(out->reason),
            "the kill switch is on: no %s until it is resumed or %s approves",
            action_effect_name(req->effect), h->approver);
        goto done;
    }
    if (p == NULL) {
        snprintf(out->rule, sizeof(out->rule), "no policy");
        snprintf(out->reason, sizeof(out->reason), "no policy is loaded");
        goto done;
    }
    if (p->simulate) {
        out->verdict = GUARD_SIMULATE;
        snprintf(out->rule, sizeof(out->rule), "mode simulate");
        say(out->reason, sizeof(out->reason), "the policy's mode is simulate (%s)", p->name);
        goto contain;
    }
    if (decide_protected(p, req, targets, out))
        goto contain;
    if ((st = decide_blast(p, c, req, targets, out, &decided, err)) != RP_OK || decided)
        goto done;
    if ((st = decide_budgets(p, c, req, out, &decided, err)) != RP_OK || decided)
        goto contain;
    if (decide_approvals(p, req, out))
        goto contain;
    snprintf(out->rule, sizeof(out->rule), "none");
    snprintf(out->reason, sizeof(out->reason), "no rule of %s holds it back", p->name);
contain:
    if (st == RP_OK && out->verdict != GUARD_DENY && req->effect == ACTION_EFFECT_CONTAIN) {
        const char *source;
        out->contain_ms = contain_ms(p, req->params, &source);
        if (out->contain_ms > 0 && out->verdict == GUARD_ALLOW) {
            char text[48];
            size_t used = strlen(out->reason);
            gp_duration_format(out->contain_ms, text, sizeof(text));
            say(out->reason + used, sizeof(out->reason) - used, "; released after %s (%s)", text,
                source);
        }
    }
done:
    json_decref(own);
    return st;
}

/* --- riposte check ---------------------------------------------------------------------- */

json_t *guard_bounds(const struct policy *p, const char *action, enum action_effect effect)
{
    json_t *bounds = json_array(), *approvals = json_array();
    bool prot = false;
    char name[160];
    if (p != NULL && effect > ACTION_EFFECT_READ && effect <= ACTION_EFFECT_DESTROY) {
        size_t i;
        for (i = 0; i < p->nbudgets; i++)
            if (budget_applies(&p->budgets[i], action, effect)) {
                snprintf(name, sizeof(name), "budget %s", p->budgets[i].name);
                json_array_append_new(bounds, json_string(name));
            }
        if (p->blast[effect] >= 0) {
            snprintf(name, sizeof(name), "blast_radius %s", action_effect_name(effect));
            json_array_append_new(bounds, json_string(name));
        }
        for (i = 0; i < p->nprot; i++)
            prot = prot || (p->prot[i].effects & GP_BIT(effect));
        for (i = 0; i < p->napprovals; i++) {
            const struct gp_approval *a = &p->approvals[i];
            bool applies = (a->effects & GP_BIT(effect)) != 0;
            for (size_t k = 0; !applies && action != NULL && k < a->nactions; k++)
                applies = strcmp(a->actions[k], action) == 0;
            if (applies) {
                snprintf(name, sizeof(name), "approvals[%zu]", i);
                json_array_append_new(approvals, json_string(name));
            }
        }
    }
    return json_pack("{s:o,s:b,s:o,s:b}", "bounds", bounds, "protected", prot, "approvals",
                     approvals, "simulate", p != NULL && p->simulate);
}

/*
 * failed_logins.c: the failed-login detector (detect.h).
 *
 * Each rule keeps its groups (a user, a device, or both) in a chained hash
 * table and a list ordered by last use. A group holds the event times of its
 * recent failures, sorted, at most threshold+1 of them (enough to tell "more
 * than threshold in the window"), pruned to the window ending at the newest
 * time; and, for the alert it may raise, the last user, address and host seen
 * and up to RP_DETECT_ADDRS_MAX distinct values of each.
 *
 * Time is the alerts' event time, not the clock: a replayed log or a source
 * that delivers late still counts its burst as it happened, and suppression
 * is measured the same way. Out-of-order events are inserted in order; one
 * older than the group's window is dropped.
 *
 * Limits (core/limits.h): RP_DETECT_KEYS_MAX groups and RP_DETECT_TIMES_MAX
 * times per rule; beyond them the least recently seen group is evicted and
 * counted. Allocation failures drop the event for that rule (counted as
 * evicted) and never stop the daemon.
 *
 * Thread: the owner's (the daemon loop). The submit callback may re-enter
 * detect_observe with the raised alert, which is skipped before any state
 * is touched.
 */
#include "detect/detect.h"

#include "core/hash.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/time.h"
#include "model/alert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Buckets of each rule's table: a power of two near RP_DETECT_KEYS_MAX / 2,
 * so chains stay short at the limit. */
#define DETECT_BUCKETS 8192u

/* A small set of distinct strings (addresses, users, hosts), first seen first. */
struct strset {
    char *v[RP_DETECT_ADDRS_MAX];
    size_t n;
    uint64_t more; /* distinct values that did not fit (an estimate: not remembered) */
};

struct group {
    struct group *hnext;       /* bucket chain */
    struct group *prev, *next; /* use order: head is the most recent */
    uint64_t hash;
    char *key;
    int64_t *times; /* sorted ascending */
    uint32_t ntimes, cap;
    int64_t suppress_until; /* event time; 0: none */
    char *user, *email, *host, *src;
    struct strset addrs, users, hosts;
};

struct rule_state {
    struct config_detect_rule rule;
    struct group *buckets[DETECT_BUCKETS];
    struct group *head, *tail;
    size_t nkeys, ntimes;
};

struct detect {
    struct rule_state *rules;
    size_t n;
    detect_submit_fn submit;
    void *ctx;
    struct detect_stats stats;
};

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

static void strset_fini(struct strset *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    s->n = 0;
}

static void strset_add(struct strset *s, const char *v)
{
    if (v == NULL || v[0] == '\0')
        return;
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i], v) == 0)
            return;
    if (s->n < RP_DETECT_ADDRS_MAX && (s->v[s->n] = strdup(v)) != NULL)
        s->n++;
    else
        s->more++;
}

static json_t *strset_json(const struct strset *s)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < s->n; i++)
        json_array_append_new(a, json_string(s->v[i]));
    return a;
}

static void set_last(char **slot, const char *v)
{
    if (v == NULL || v[0] == '\0')
        return;
    if (*slot != NULL && strcmp(*slot, v) == 0)
        return;
    char *d = strdup(v);
    if (d == NULL)
        return; /* keeps the previous value: only a label of the raised alert */
    free(*slot);
    *slot = d;
}

static void group_free(struct group *g)
{
    if (g == NULL)
        return;
    free(g->key);
    free(g->times);
    free(g->user);
    free(g->email);
    free(g->host);
    free(g->src);
    strset_fini(&g->addrs);
    strset_fini(&g->users);
    strset_fini(&g->hosts);
    free(g);
}

/* --- the table and the use order --------------------------------------------- */

static void lru_unlink(struct rule_state *rs, struct group *g)
{
    if (g->prev != NULL)
        g->prev->next = g->next;
    else
        rs->head = g->next;
    if (g->next != NULL)
        g->next->prev = g->prev;
    else
        rs->tail = g->prev;
    g->prev = g->next = NULL;
}

static void lru_push(struct rule_state *rs, struct group *g)
{
    g->prev = NULL;
    g->next = rs->head;
    if (rs->head != NULL)
        rs->head->prev = g;
    rs->head = g;
    if (rs->tail == NULL)
        rs->tail = g;
}

static void group_remove(struct rule_state *rs, struct group *g)
{
    struct group **pp = &rs->buckets[g->hash & (DETECT_BUCKETS - 1)];
    while (*pp != NULL && *pp != g)
        pp = &(*pp)->hnext;
    if (*pp == NULL)
        abort(); /* a group missing from its bucket: the table is broken */
    *pp = g->hnext;
    lru_unlink(rs, g);
    rs->nkeys--;
    rs->ntimes -= g->ntimes;
    group_free(g);
}

/* Evicts the least recently seen group other than keep; false when none. */
static bool evict_one(struct detect *d, struct rule_state *rs, const struct group *keep)
{
    struct group *g = rs->tail;
    if (g == keep)
        g = g->prev;
    if (g == NULL)
        return false;
    d->stats.evicted++;
    d->stats.keys--;
    d->stats.times -= g->ntimes;
    group_remove(rs, g);
    return true;
}

static struct group *group_get(struct detect *d, struct rule_state *rs, const char *key)
{
    uint64_t h = fnv1a(key);
    for (struct group *g = rs->buckets[h & (DETECT_BUCKETS - 1)]; g != NULL; g = g->hnext)
        if (g->hash == h && strcmp(g->key, key) == 0) {
            lru_unlink(rs, g);
            lru_push(rs, g);
            return g;
        }
    while (rs->nkeys >= RP_DETECT_KEYS_MAX && evict_one(d, rs, NULL)) {
    }
    struct group *g = calloc(1, sizeof *g);
    if (g == NULL || (g->key = strdup(key)) == NULL) {
        free(g);
        return NULL;
    }
    g->hash = h;
    struct group **b = &rs->buckets[h & (DETECT_BUCKETS - 1)];
    g->hnext = *b;
    *b = g;
    lru_push(rs, g);
    rs->nkeys++;
    d->stats.keys++;
    return g;
}

/* --- counting ------------------------------------------------------------------ */

/* Drops times before the window that ends at the newest one. */
static void prune(struct detect *d, struct rule_state *rs, struct group *g)
{
    if (g->ntimes == 0)
        return;
    int64_t from = g->times[g->ntimes - 1] - rs->rule.window_ms;
    uint32_t k = 0;
    while (k < g->ntimes && g->times[k] < from)
        k++;
    if (k == 0)
        return;
    memmove(g->times, g->times + k, (g->ntimes - k) * sizeof *g->times);
    g->ntimes -= k;
    rs->ntimes -= k;
    d->stats.times -= k;
}

/* Inserts t in order; keeps at most threshold+1 (the newest). False when t
 * is older than the window or memory ran out. */
static bool add_time(struct detect *d, struct rule_state *rs, struct group *g, int64_t t)
{
    if (g->ntimes > 0 && t < g->times[g->ntimes - 1] - rs->rule.window_ms)
        return false;
    if (g->ntimes == g->cap) {
        uint32_t want = rs->rule.threshold + 1;
        uint32_t cap = g->cap == 0 ? (want < 8 ? want : 8) : g->cap * 2;
        if (cap > want)
            cap = want;
        if (cap > g->cap) {
            int64_t *nt = realloc(g->times, cap * sizeof *nt);
            if (nt == NULL)
                return false;
            g->times = nt;
            g->cap = cap;
        }
    }
    if (g->ntimes == g->cap) { /* full at threshold+1: the oldest goes */
        if (t <= g->times[0])
            return true; /* older than every kept time: the count is unchanged */
        memmove(g->times, g->times + 1, (g->ntimes - 1) * sizeof *g->times);
        g->ntimes--;
        rs->ntimes--;
        d->stats.times--;
    }
    while (rs->ntimes + 1 > RP_DETECT_TIMES_MAX && evict_one(d, rs, g)) {
    }
    uint32_t i = g->ntimes;
    while (i > 0 && g->times[i - 1] > t) {
        g->times[i] = g->times[i - 1];
        i--;
    }
    g->times[i] = t;
    g->ntimes++;
    rs->ntimes++;
    d->stats.times++;
    prune(d, rs, g);
    return true;
}

/* --- the raised alert ------------------------------------------------------------- */

static const char *group_by_name(enum config_group_by g)
{
    switch (g) {
    case CONFIG_GROUP_USER:
        return "user";
    case CONFIG_GROUP_DEVICE:
        return "device";
    case CONFIG_GROUP_USER_DEVICE:
        return "user+device";
    }
    return "user";
}

/* "10m", "1h", "90s": the window as people write it. */
static void window_text(int64_t ms, char *out, size_t cap)
{
    int64_t s = ms / 1000;
    if (s > 0 && s % 3600 == 0)
        snprintf(out, cap, "%lldh", (long long)(s / 3600));
    else if (s > 0 && s % 60 == 0)
        snprintf(out, cap, "%lldm", (long long)(s / 60));
    else if (ms % 1000 == 0)
        snprintf(out, cap, "%llds", (long long)s);
    else
        snprintf(out, cap, "%lldms", (long long)ms);
}

static json_t *raised_alert(const struct rule_state *rs, const struct group *g)
{
    const struct config_detect_rule *r = &rs->rule;
    char win[32], first[TIME_RFC3339_LEN], last[TIME_RFC3339_LEN], title[RP_DETECT_KEY_MAX + 128];
    window_text(r->window_ms, win, sizeof win);
    time_format_rfc3339(g->times[0], first);
    time_format_rfc3339(g->times[g->ntimes - 1], last);
    const char *who = r->group_by == CONFIG_GROUP_DEVICE ? "device" : "user";
    snprintf(title, sizeof title, "%u failed logins for %s %s in %s", g->ntimes, who, g->key, win);
    char fpin[RP_DETECT_KEY_MAX * 2 + 160], fp[HASH_SHA256_HEX_LEN + 1];
    snprintf(fpin, sizeof fpin, "detect.failed_logins\n%s\n%s", r->name, g->key);
    hash_sha256_hex(fpin, strlen(fpin), fp);
    json_t *a = json_pack("{s:s,s:s,s:s,s:s,s:i,s:s,s:s,s:{s:s,s:s,s:I,s:I}}", "kind", "auth",
                          "source", DETECT_SOURCE, "rule", r->name, "title", title, "severity",
                          r->severity, "event_time", last, "fingerprint", fp, "auth", "result",
                          "failure", "method", "failed_logins", "count", (json_int_t)g->ntimes,
                          "window_s", (json_int_t)(r->window_ms / 1000));
    if (a == NULL)
        return NULL;
    if (g->user != NULL || g->email != NULL) {
        json_t *u = json_object();
        if (g->user != NULL)
            json_object_set_new(u, "name", json_string(g->user));
        if (g->email != NULL)
            json_object_set_new(u, "email", json_string(g->email));
        json_object_set_new(a, "user", u);
    }
    if (g->host != NULL)
        json_object_set_new(a, "host", json_pack("{s:s}", "name", g->host));
    if (g->src != NULL)
        json_object_set_new(a, "src", json_pack("{s:s}", "ip", g->src));
    json_t *x =
        json_pack("{s:s,s:s,s:s,s:o,s:o,s:o,s:s,s:s,s:I}", "detector", "failed_logins", "group_by",
                  group_by_name(r->group_by), "key", g->key, "src_ips", strset_json(&g->addrs),
                  "users", strset_json(&g->users), "hosts", strset_json(&g->hosts), "first_time",
                  first, "last_time", last, "threshold", (json_int_t)r->threshold);
    if (x == NULL) {
        json_decref(a);
        return NULL;
    }
    json_object_set_new(a, "extra", x);
    return a;
}

static bool emit(struct detect *d, const struct rule_state *rs, const struct group *g)
{
    json_t *a = raised_alert(rs, g);
    char *text = a != NULL ? json_dumps(a, JSON_COMPACT) : NULL;
    json_decref(a);
    rp_status st = RP_E_NOMEM;
    if (text != NULL)
        st = d->submit != NULL ? d->submit(d->ctx, DETECT_SOURCE, "json", text, strlen(text))
                               : RP_OK;
    char q[RP_DETECT_KEY_MAX + 8];
    if (st == RP_OK) {
        d->stats.raised++;
        log_info("detect.raised", "rule=%s key=%s count=%u", rs->rule.name,
                 log_quote(q, sizeof q, g->key), g->ntimes);
    } else {
        d->stats.failed++;
        log_warn("detect.raise_failed", "rule=%s key=%s status=%s", rs->rule.name,
                 log_quote(q, sizeof q, g->key), rp_status_str(st));
    }
    free(text);
    return st == RP_OK;
}

/* --- the interface ---------------------------------------------------------------- */

rp_status detect_new(const struct config_detect_rule *rules, size_t n, detect_submit_fn submit,
                     void *ctx, struct detect **out)
{
    *out = NULL;
    if (n == 0)
        return RP_OK;
    struct detect *d = calloc(1, sizeof *d);
    if (d == NULL || (d->rules = calloc(n, sizeof *d->rules)) == NULL) {
        free(d);
        return RP_E_NOMEM;
    }
    d->submit = submit;
    d->ctx = ctx;
    for (size_t i = 0; i < n; i++) {
        d->rules[i].rule = rules[i];
        d->rules[i].rule.name = strdup(rules[i].name != NULL ? rules[i].name : "failed-logins");
        d->n++;
        rp_status st = RP_OK;
        if (d->rules[i].rule.name == NULL)
            st = RP_E_NOMEM;
        else if (rules[i].threshold == 0 || rules[i].threshold > RP_DETECT_THRESHOLD_MAX ||
                 rules[i].window_ms <= 0 || rules[i].suppress_ms < 0)
            st = RP_E_INVALID; /* the configuration loader refuses these */
        if (st != RP_OK) {
            detect_free(d);
            return st;
        }
    }
    *out = d;
    return RP_OK;
}

void detect_free(struct detect *d)
{
    if (d == NULL)
        return;
    for (size_t i = 0; i < d->n; i++) {
        struct rule_state *rs = &d->rules[i];
        while (rs->head != NULL)
            group_remove(rs, rs->head);
        free(rs->rule.name);
    }
    free(d->rules);
    free(d);
}

void detect_stats_get(const struct detect *d, struct detect_stats *out)
{
    if (d == NULL) {
        memset(out, 0, sizeof *out);
        return;
    }
    *out = d->stats;
}

static const char *str_at(json_t *o, const char *obj, const char *key)
{
    const char *s = json_string_value(json_object_get(json_object_get(o, obj), key));
    return s != NULL && s[0] != '\0' ? s : NULL;
}

/* The key of a group: lower-cased, cut at RP_DETECT_KEY_MAX bytes. */
static void key_part(char *out, size_t cap, size_t *len, const char *v)
{
    for (const char *p = v; *p != '\0' && *len + 1 < cap; p++) {
        char ch = *p;
        out[(*len)++] = (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
    }
    out[*len] = '\0';
}

int detect_observe(struct detect *d, json_t *alert)
{
    if (d == NULL || !json_is_object(alert))
        return 0;
    const char *source = json_string_value(json_object_get(alert, "source"));
    if (source != NULL && strcmp(source, DETECT_SOURCE) == 0)
        return 0;
    const char *kind = json_string_value(json_object_get(alert, "kind"));
    const char *result = str_at(alert, "auth", "result");
    if (kind == NULL || strcmp(kind, "auth") != 0 || result == NULL ||
        strcmp(result, "failure") != 0)
        return 0;
    const char *user = str_at(alert, "user", "name");
    const char *email = str_at(alert, "user", "email");
    const char *host = str_at(alert, "host", "name");
    const char *ip = str_at(alert, "src", "ip");
    const char *device = host != NULL ? host : ip;
    int64_t t = alert_time_ms(alert, "event_time", alert_time_ms(alert, "received_time", 0));
    if (t <= 0)
        t = time_now_ms();
    d->stats.seen++;
    int raised = 0;
    for (size_t i = 0; i < d->n; i++) {
        struct rule_state *rs = &d->rules[i];
        const struct config_detect_rule *r = &rs->rule;
        char key[RP_DETECT_KEY_MAX + 1];
        size_t len = 0;
        key[0] = '\0';
        if (r->group_by == CONFIG_GROUP_USER) {
            if (user == NULL)
                continue;
            key_part(key, sizeof key, &len, user);
        } else if (r->group_by == CONFIG_GROUP_DEVICE) {
            if (device == NULL)
                continue;
            key_part(key, sizeof key, &len, device);
        } else {
            if (user == NULL || device == NULL)
                continue;
            key_part(key, sizeof key, &len, user);
            key_part(key, sizeof key, &len, "@");
            key_part(key, sizeof key, &len, device);
        }
        struct group *g = group_get(d, rs, key);
        if (g == NULL) {
            d->stats.evicted++; /* out of memory: this failure is not counted */
            continue;
        }
        if (!add_time(d, rs, g, t))
            continue;
        set_last(&g->user, user);
        set_last(&g->email, email);
        set_last(&g->host, host);
        set_last(&g->src, ip);
        strset_add(&g->addrs, ip);
        strset_add(&g->users, user);
        strset_add(&g->hosts, host);
        if (g->ntimes <= r->threshold)
            continue;
        if (g->suppress_until != 0 && t < g->suppress_until) {
            d->stats.suppressed++;
            continue;
        }
        if (emit(d, rs, g)) {
            g->suppress_until = r->suppress_ms > 0 ? t + r->suppress_ms : 0;
            raised++;
        }
    }
    return raised;
}

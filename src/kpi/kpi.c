/*
 * kpi.c: the KPIs of a period (kpi/kpi.h), from the store's KPI queries
 * (store_kpi_cases, store_kpi_rows_json). docs/kpis.md defines each figure;
 * the comments here say how it is computed.
 *
 * The store does the selecting and grouping in SQL; this file keeps one small
 * record per case of the period (its four durations, its segments), then for
 * each duration and segment dimension places the values by segment (a
 * counting sort), sorts each segment's slice and reads the mean and the
 * nearest-rank percentiles off it. Everything is exact: nothing is sampled.
 *
 * Threads: the caller's, with its store handle. Fails with the store's error,
 * RP_E_NOMEM, or RP_E_LIMIT for a period over RP_KPI_CASES_MAX cases.
 */
#include "kpi/kpi.h"

#include "core/limits.h"
#include "core/time.h"
#include "model/alert.h"
#include "model/case.h"
#include "store/store.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const SEV_NAMES[KPI_SEVERITIES] = {"info", "low", "medium", "high", "critical"};

#define DAY_MS (24LL * 3600 * 1000)

/* --- options -------------------------------------------------------------------- */

void kpi_options_init(struct kpi_options *o)
{
    memset(o, 0, sizeof *o);
    o->minutes_default = 5;
    o->sla_ms[4] = 3600LL * 1000;
    o->sla_ms[3] = 4 * 3600LL * 1000;
    o->sla_ms[2] = 24 * 3600LL * 1000;
    o->sla_ms[1] = 72 * 3600LL * 1000;
}

void kpi_options_fini(struct kpi_options *o)
{
    if (o == NULL)
        return;
    json_decref(o->minutes);
    o->minutes = NULL;
}

static int sev_index(const char *label)
{
    for (int i = 0; i < KPI_SEVERITIES; i++) {
        if (strcmp(label, SEV_NAMES[i]) == 0)
            return i;
    }
    return -1;
}

static rp_status load_minutes(struct kpi_options *o, const json_t *m, struct rp_error *err)
{
    if (!json_is_object(m))
        return rp_error_set(err, RP_E_INVALID,
                            "kpi.minutes_saved: expected a mapping of action names to minutes");
    if (json_object_size(m) > RP_KPI_MINUTES_ENTRIES_MAX)
        return rp_error_set(err, RP_E_INVALID, "kpi.minutes_saved: more than %d entries",
                            RP_KPI_MINUTES_ENTRIES_MAX);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)m, k, v)
    {
        double d = json_is_number(v) ? json_number_value(v) : -1;
        if (!json_is_number(v) || d < 0 || d > 10000)
            return rp_error_set(err, RP_E_INVALID,
                                "kpi.minutes_saved.%.100s: expected a number of minutes 0-10000",
                                k);
        if (strcmp(k, "default") == 0)
            o->minutes_default = d;
        else if (json_object_set_new(o->minutes, k, json_real(d)) != 0)
            return rp_error_set(err, RP_E_NOMEM, "out of memory");
    }
    return RP_OK;
}

static rp_status load_sla(struct kpi_options *o, const json_t *m, struct rp_error *err)
{
    if (!json_is_object(m))
        return rp_error_set(err, RP_E_INVALID,
                            "kpi.sla: expected a mapping of severities to durations");
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)m, k, v)
    {
        int i = sev_index(k);
        if (i < 0)
            return rp_error_set(err, RP_E_INVALID,
                                "kpi.sla.%.100s: not a severity (info, low, medium, high, "
                                "critical)",
                                k);
        int64_t ms = 0;
        struct rp_error e;
        if (json_is_integer(v) && json_integer_value(v) > 0 &&
            json_integer_value(v) <= RP_KPI_PERIOD_MAX_MS / 1000)
            ms = json_integer_value(v) * 1000;
        else if (!json_is_string(v) ||
                 time_parse_duration(json_string_value(v), &ms, &e) != RP_OK || ms <= 0 ||
                 ms > RP_KPI_PERIOD_MAX_MS)
            return rp_error_set(err, RP_E_INVALID,
                                "kpi.sla.%s: expected a duration such as 1h, 4h, 3d", k);
        o->sla_ms[i] = ms;
    }
    return RP_OK;
}

rp_status kpi_options_from_json(struct kpi_options *o, const json_t *section, struct rp_error *err)
{
    struct kpi_options n;
    kpi_options_init(&n);
    n.minutes = json_object();
    if (n.minutes == NULL)
        return rp_error_set(err, RP_E_NOMEM, "out of memory");
    rp_status st = RP_OK;
    if (section != NULL && !json_is_object(section) && !json_is_null(section))
        st = rp_error_set(err, RP_E_INVALID, "kpi: expected a mapping (minutes_saved, sla)");
    const char *k;
    json_t *v;
    if (json_is_object(section)) {
        json_object_foreach((json_t *)section, k, v)
        {
            if (st != RP_OK)
                break;
            if (strcmp(k, "minutes_saved") == 0)
                st = load_minutes(&n, v, err);
            else if (strcmp(k, "sla") == 0)
                st = load_sla(&n, v, err);
            else
                st = rp_error_set(err, RP_E_INVALID,
                                  "unknown key kpi.%.100s (known: minutes_saved, sla)", k);
        }
    }
    if (st != RP_OK) {
        kpi_options_fini(&n);
        return st;
    }
    kpi_options_fini(o);
    *o = n;
    return RP_OK;
}

/* --- the period ------------------------------------------------------------------- */

/* YYYY-MM-DD (UTC midnight) or an RFC 3339 date-time. */
static rp_status parse_date(const char *what, const char *s, int64_t *ms, struct rp_error *err)
{
    size_t n = strlen(s);
    struct rp_error e;
    rp_status st;
    if (n == 10) {
        char full[32];
        snprintf(full, sizeof full, "%sT00:00:00Z", s);
        st = time_parse_rfc3339(full, strlen(full), ms, &e);
    } else {
        st = time_parse_rfc3339(s, n, ms, &e);
    }
    if (st != RP_OK)
        return rp_error_set(err, RP_E_USAGE, "%s '%.64s': a date (YYYY-MM-DD) or RFC 3339 time",
                            what, s);
    return RP_OK;
}

rp_status kpi_period_parse(const char *since, const char *from, const char *to, int64_t now_ms,
                           int64_t *from_ms, int64_t *to_ms, struct rp_error *err)
{
    if (since != NULL && (from != NULL || to != NULL))
        return rp_error_set(err, RP_E_USAGE, "give --since, or --from and --to, not both");
    if ((from == NULL) != (to == NULL))
        return rp_error_set(err, RP_E_USAGE, "--from and --to go together");
    if (from != NULL) {
        rp_status st = parse_date("--from", from, from_ms, err);
        if (st == RP_OK)
            st = parse_date("--to", to, to_ms, err);
        if (st != RP_OK)
            return st;
        if (*to_ms <= *from_ms)
            return rp_error_set(err, RP_E_USAGE, "--to must be after --from");
    } else {
        int64_t d = 30 * DAY_MS;
        struct rp_error e;
        if (since != NULL && (time_parse_duration(since, &d, &e) != RP_OK || d <= 0))
            return rp_error_set(err, RP_E_USAGE, "--since '%.64s': a duration such as 30d, 12w",
                                since);
        if (d > RP_KPI_PERIOD_MAX_MS)
            d = RP_KPI_PERIOD_MAX_MS + 1; /* refused below */
        *to_ms = now_ms;
        *from_ms = now_ms - d;
    }
    if (*to_ms - *from_ms > RP_KPI_PERIOD_MAX_MS)
        return rp_error_set(err, RP_E_USAGE, "the period is longer than %lld days",
                            (long long)(RP_KPI_PERIOD_MAX_MS / DAY_MS));
    return RP_OK;
}

/* --- statistics ------------------------------------------------------------------- */

int64_t kpi_percentile(const int64_t *sorted, size_t n, unsigned p)
{
    RP_ASSERT(n > 0 && p >= 1 && p <= 100);
    size_t rank = (p * n + 99) / 100; /* ceil(p/100 * n), 1-based */
    return sorted[rank - 1];
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static json_t *seconds(int64_t ms)
{
    return json_real((double)ms / 1000.0);
}

/* {count, mean_s, p50_s, p90_s} of n values (sorted here); null figures when
 * n is 0. */
static json_t *stats_json(int64_t *v, size_t n)
{
    if (n == 0)
        return json_pack("{s:i,s:n,s:n,s:n}", "count", 0, "mean_s", "p50_s", "p90_s");
    qsort(v, n, sizeof *v, cmp_i64);
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += v[i];
    return json_pack("{s:I,s:f,s:o,s:o}", "count", (json_int_t)n, "mean_s",
                     (double)sum / (double)n / 1000.0, "p50_s", seconds(kpi_percentile(v, n, 50)),
                     "p90_s", seconds(kpi_percentile(v, n, 90)));
}

/* --- the cases of a period --------------------------------------------------------- */

enum { T_DETECT, T_ACK, T_CONTAIN, T_RESOLVE, T_COUNT };
enum { D_SEVERITY, D_KIND, D_SOURCE, D_PLAYBOOK, D_COUNT };

static const char *const T_NAMES[T_COUNT] = {"detect", "acknowledge", "contain", "resolve"};
static const char *const D_NAMES[D_COUNT] = {"by_severity", "by_kind", "by_source", "by_playbook"};

/* Labels of one dimension; index RP_KPI_SEGMENTS_MAX is "(other)". */
struct dim {
    char *names[RP_KPI_SEGMENTS_MAX + 1];
    size_t n;
    bool other;
};

struct rec {
    int64_t t[T_COUNT]; /* ms; -1: not reached */
    int64_t created_ms;
    uint16_t kind, source;
    uint8_t sev, npb;
    uint16_t pb[RP_KPI_CASE_PLAYBOOKS_MAX];
};

struct acc {
    const struct kpi_options *o;
    int64_t at_ms; /* when open cases are judged against their SLA */
    struct rec *recs;
    size_t n, cap;
    struct dim dims[D_COUNT]; /* D_SEVERITY unused: fixed labels */
    int64_t by_status[CASE_STATUS_COUNT];
    int64_t by_sev[KPI_SEVERITIES];
    int64_t resolved, automated, with_pm;
    int64_t sla_met[KPI_SEVERITIES], sla_late[KPI_SEVERITIES], sla_open[KPI_SEVERITIES],
        sla_pending[KPI_SEVERITIES];
    struct rp_error *err;
};

static void acc_fini(struct acc *a)
{
    free(a->recs);
    for (int d = 0; d < D_COUNT; d++) {
        for (size_t i = 0; i < a->dims[d].n; i++)
            free(a->dims[d].names[i]);
    }
}

/* The index of label in d, added when new; "(other)" when d is full. */
static rp_status dim_index(struct dim *d, const char *label, size_t len, uint16_t *out)
{
    for (size_t i = 0; i < d->n; i++) {
        if (strlen(d->names[i]) == len && memcmp(d->names[i], label, len) == 0) {
            *out = (uint16_t)i;
            return RP_OK;
        }
    }
    if (d->n >= RP_KPI_SEGMENTS_MAX) {
        d->other = true;
        *out = RP_KPI_SEGMENTS_MAX;
        return RP_OK;
    }
    d->names[d->n] = strndup(label, len);
    if (d->names[d->n] == NULL)
        return RP_E_NOMEM;
    *out = (uint16_t)d->n++;
    return RP_OK;
}

static const char *dim_name(const struct dim *d, size_t i)
{
    return i < d->n ? d->names[i] : "(other)";
}

static int64_t since(int64_t later, int64_t earlier)
{
    if (later <= 0 || earlier <= 0)
        return -1;
    return later > earlier ? later - earlier : 0; /* a clock ahead counts as no time */
}

static rp_status on_case(void *arg, const struct store_kpi_case *c)
{
    struct acc *a = arg;
    if (a->n >= RP_KPI_CASES_MAX)
        return rp_error_set(a->err, RP_E_LIMIT,
                            "more than %d cases in the period: give a shorter one",
                            RP_KPI_CASES_MAX);
    if (a->n == a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 1024;
        struct rec *r = realloc(a->recs, cap * sizeof *r);
        if (r == NULL)
            return rp_error_set(a->err, RP_E_NOMEM, "out of memory");
        a->recs = r;
        a->cap = cap;
    }
    struct rec *r = &a->recs[a->n];
    memset(r, 0, sizeof *r);
    r->created_ms = c->created_ms;
    r->t[T_DETECT] = since(c->created_ms, c->detected_ms);
    r->t[T_ACK] = since(c->acknowledged_ms, c->created_ms);
    r->t[T_CONTAIN] = since(c->contained_ms, c->created_ms);
    r->t[T_RESOLVE] = since(c->resolved_ms, c->created_ms);
    int sev = c->severity / 20;
    r->sev = (uint8_t)(sev < 0 ? 0 : sev > 4 ? 4 : sev);
    rp_status st = dim_index(&a->dims[D_KIND], c->kind, strlen(c->kind), &r->kind);
    if (st == RP_OK)
        st = dim_index(&a->dims[D_SOURCE], c->source, strlen(c->source), &r->source);
    for (const char *p = c->playbooks; st == RP_OK && *p != '\0';) {
        const char *comma = strchr(p, ',');
        size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if (r->npb < RP_KPI_CASE_PLAYBOOKS_MAX && len > 0)
            st = dim_index(&a->dims[D_PLAYBOOK], p, len, &r->pb[r->npb++]);
        p += len + (comma != NULL);
    }
    if (st != RP_OK)
        return rp_error_set(a->err, RP_E_NOMEM, "out of memory");

    enum case_status cs;
    if (case_status_parse(c->status, &cs) == RP_OK)
        a->by_status[cs]++;
    a->by_sev[r->sev]++;
    if (c->resolved_ms > 0) {
        a->resolved++;
        if (!c->human)
            a->automated++;
    }
    if (c->postmortem)
        a->with_pm++;
    int64_t target = a->o->sla_ms[r->sev];
    if (target > 0) {
        if (r->t[T_RESOLVE] >= 0)
            (r->t[T_RESOLVE] > target ? a->sla_late : a->sla_met)[r->sev]++;
        else if (a->at_ms - c->created_ms > target)
            a->sla_open[r->sev]++;
        else
            a->sla_pending[r->sev]++;
    }
    a->n++;
    return RP_OK;
}

/* The segments of r in dimension d: their indexes in out, their number. */
static size_t rec_segments(const struct rec *r, int d, uint16_t out[RP_KPI_CASE_PLAYBOOKS_MAX])
{
    switch (d) {
    case D_SEVERITY:
        out[0] = r->sev;
        return 1;
    case D_KIND:
        out[0] = r->kind;
        return 1;
    case D_SOURCE:
        out[0] = r->source;
        return 1;
    default:
        memcpy(out, r->pb, r->npb * sizeof out[0]);
        return r->npb;
    }
}

/* The statistics of duration t by the segments of dimension d, as an object
 * keyed by label: every severity, else the labels seen in the period. */
static json_t *dim_stats(struct acc *a, int t, int d, rp_status *st)
{
    size_t nseg = d == D_SEVERITY ? KPI_SEVERITIES : RP_KPI_SEGMENTS_MAX + 1;
    size_t *count = calloc(nseg + 1, sizeof *count);
    size_t *present = calloc(nseg, sizeof *present); /* cases of the segment, any duration */
    int64_t *vals = NULL;
    json_t *out = json_object();
    uint16_t seg[RP_KPI_CASE_PLAYBOOKS_MAX];
    if (count == NULL || present == NULL || out == NULL)
        goto nomem;
    size_t total = 0;
    for (size_t i = 0; i < a->n; i++) {
        size_t k = rec_segments(&a->recs[i], d, seg);
        for (size_t j = 0; j < k; j++) {
            present[seg[j]]++;
            if (a->recs[i].t[t] >= 0) {
                count[seg[j] + 1]++;
                total++;
            }
        }
    }
    for (size_t s = 1; s <= nseg; s++) /* count[s] becomes the start of segment s */
        count[s] += count[s - 1];
    vals = malloc((total ? total : 1) * sizeof *vals);
    if (vals == NULL)
        goto nomem;
    size_t *fill = present; /* reuse: the next free place of each segment */
    size_t *seen = calloc(nseg, sizeof *seen);
    if (seen == NULL)
        goto nomem;
    for (size_t s = 0; s < nseg; s++) {
        seen[s] = present[s];
        fill[s] = count[s];
    }
    for (size_t i = 0; i < a->n; i++) {
        if (a->recs[i].t[t] < 0)
            continue;
        size_t k = rec_segments(&a->recs[i], d, seg);
        for (size_t j = 0; j < k; j++)
            vals[fill[seg[j]]++] = a->recs[i].t[t];
    }
    for (size_t s = 0; s < nseg; s++) {
        if (d != D_SEVERITY && seen[s] == 0)
            continue;
        const char *name = d == D_SEVERITY ? SEV_NAMES[s] : dim_name(&a->dims[d], s);
        json_t *j = stats_json(vals + count[s], count[s + 1] - count[s]);
        if (j == NULL || json_object_set_new(out, name, j) != 0) {
            free(seen);
            goto nomem;
        }
    }
    free(seen);
    free(vals);
    free(count);
    free(present);
    return out;
nomem:
    free(vals);
    free(count);
    free(present);
    json_decref(out);
    *st = RP_E_NOMEM;
    return NULL;
}

static json_t *times_json(struct acc *a, rp_status *st)
{
    json_t *times = json_object();
    for (int t = 0; times != NULL && t < T_COUNT && *st == RP_OK; t++) {
        json_t *m = json_object();
        int64_t *v = malloc((a->n ? a->n : 1) * sizeof *v);
        size_t n = 0;
        if (m == NULL || v == NULL) {
            free(v);
            json_decref(m);
            *st = RP_E_NOMEM;
            break;
        }
        for (size_t i = 0; i < a->n; i++) {
            if (a->recs[i].t[t] >= 0)
                v[n++] = a->recs[i].t[t];
        }
        json_object_set_new(m, "all", stats_json(v, n));
        free(v);
        for (int d = 0; d < D_COUNT && *st == RP_OK; d++) {
            json_t *ds = dim_stats(a, t, d, st);
            if (ds != NULL)
                json_object_set_new(m, D_NAMES[d], ds);
        }
        json_object_set_new(times, T_NAMES[t], m);
    }
    if (times == NULL)
        *st = RP_E_NOMEM;
    if (*st != RP_OK) {
        json_decref(times);
        return NULL;
    }
    return times;
}

static json_t *ratio(int64_t num, int64_t den)
{
    return den > 0 ? json_real((double)num / (double)den) : json_null();
}

/* --- the aggregate queries ---------------------------------------------------------- */

static rp_status rows(struct store *s, enum store_kpi_query q, int64_t a, int64_t b, json_t **out,
                      struct rp_error *err)
{
    rp_status st = store_kpi_rows_json(s, q, a, b, RP_KPI_ROWS_MAX + 1, out);
    if (st != RP_OK)
        return rp_error_set(err, st, "%s", store_errmsg(s));
    if (json_array_size(*out) > RP_KPI_ROWS_MAX) {
        json_decref(*out);
        *out = NULL;
        return rp_error_set(err, RP_E_LIMIT, "more than %d rows in the period: give a shorter one",
                            RP_KPI_ROWS_MAX);
    }
    return RP_OK;
}

static int64_t ival(json_t *row, const char *key)
{
    return (int64_t)json_integer_value(json_object_get(row, key));
}

static const char *sval(json_t *row, const char *key)
{
    const char *v = json_string_value(json_object_get(row, key));
    return v != NULL ? v : "";
}

/* Minutes one successful call of action (of effect) saves: its own entry,
 * else its effect's, else the default. */
static double minutes_of(const struct kpi_options *o, const char *action, const char *effect)
{
    json_t *m = json_object_get(o->minutes, action);
    if (m == NULL)
        m = json_object_get(o->minutes, effect);
    return m != NULL ? json_number_value(m) : o->minutes_default;
}

static rp_status actions_json(struct store *s, const struct kpi_options *o, int64_t from,
                              int64_t to, json_t *set, struct rp_error *err)
{
    json_t *r = NULL;
    rp_status st = rows(s, STORE_KPI_ACTIONS, from, to, &r, err);
    if (st != RP_OK)
        return st;
    int64_t ok_calls = 0, failed = 0, notify_ok = 0, notify_failed = 0;
    double minutes = 0;
    json_t *by = json_object();
    size_t i;
    json_t *row;
    json_array_foreach(r, i, row)
    {
        bool ok = ival(row, "ok") != 0;
        int64_t n = ival(row, "n");
        const char *effect = sval(row, "effect");
        bool notify = strcmp(effect, "notify") == 0;
        if (!ok) {
            failed += n;
            notify_failed += notify ? n : 0;
            continue;
        }
        ok_calls += n;
        notify_ok += notify ? n : 0;
        double per = minutes_of(o, sval(row, "action"), effect);
        minutes += per * (double)n;
        json_t *e = json_object_get(by, sval(row, "action"));
        if (e == NULL) {
            e = json_pack("{s:I,s:f}", "count", (json_int_t)0, "minutes", 0.0);
            json_object_set_new(by, sval(row, "action"), e);
        }
        json_object_set_new(e, "count", json_integer(ival(e, "count") + n));
        json_object_set_new(
            e, "minutes",
            json_real(json_real_value(json_object_get(e, "minutes")) + per * (double)n));
    }
    json_decref(r);
    json_object_set_new(set, "time_saved",
                        json_pack("{s:f,s:f,s:I,s:I,s:o}", "minutes", minutes, "hours",
                                  minutes / 60.0, "actions", (json_int_t)ok_calls, "actions_failed",
                                  (json_int_t)failed, "by_action", by));
    json_t *comm = json_object_get(set, "communication");
    json_object_set_new(comm, "notifications", json_integer(notify_ok));
    json_object_set_new(comm, "notifications_failed", json_integer(notify_failed));
    return RP_OK;
}

static rp_status prompts_json(struct store *s, int64_t from, int64_t to, json_t *comm,
                              struct rp_error *err)
{
    json_t *r = NULL;
    rp_status st = rows(s, STORE_KPI_PROMPTS, from, to, &r, err);
    if (st != RP_OK)
        return st;
    size_t n = json_array_size(r), answered = 0, expired = 0;
    int64_t *w = malloc((n ? n : 1) * sizeof *w);
    if (w == NULL) {
        json_decref(r);
        return rp_error_set(err, RP_E_NOMEM, "out of memory");
    }
    size_t i;
    json_t *row;
    json_array_foreach(r, i, row)
    {
        if (strcmp(sval(row, "status"), "answered") == 0)
            w[answered++] = ival(row, "wait") > 0 ? ival(row, "wait") : 0;
        else if (strcmp(sval(row, "status"), "expired") == 0)
            expired++;
    }
    json_decref(r);
    qsort(w, answered, sizeof *w, cmp_i64);
    json_object_set_new(comm, "prompts_asked", json_integer((json_int_t)n));
    json_object_set_new(comm, "prompts_answered", json_integer((json_int_t)answered));
    json_object_set_new(comm, "prompts_expired", json_integer((json_int_t)expired));
    json_object_set_new(comm, "prompt_answer_rate", ratio((int64_t)answered, (int64_t)n));
    json_object_set_new(comm, "prompt_answer_p50_s",
                        answered ? seconds(kpi_percentile(w, answered, 50)) : json_null());
    free(w);
    return RP_OK;
}

static rp_status guard_json(struct store *s, int64_t from, int64_t to, json_t *set,
                            struct rp_error *err)
{
    json_t *r = NULL;
    rp_status st = rows(s, STORE_KPI_GUARD, from, to, &r, err);
    if (st != RP_OK)
        return st;
    int64_t total = 0, holds = 0, denials = 0, simulated = 0, budget = 0, kill = 0, prot = 0,
            blast = 0;
    json_t *by_rule = json_object();
    size_t i;
    json_t *row;
    json_array_foreach(r, i, row)
    {
        const char *verdict = sval(row, "verdict"), *rule = sval(row, "rule");
        int64_t n = ival(row, "n");
        total += n;
        if (strcmp(verdict, "allow") == 0)
            continue;
        holds += strcmp(verdict, "hold") == 0 ? n : 0;
        denials += strcmp(verdict, "deny") == 0 ? n : 0;
        simulated += strcmp(verdict, "simulate") == 0 ? n : 0;
        budget += strncmp(rule, "budget ", 7) == 0 ? n : 0;
        kill += strcmp(rule, "kill switch") == 0 ? n : 0;
        prot += strncmp(rule, "protected ", 10) == 0 ? n : 0;
        blast += strncmp(rule, "blast_radius ", 13) == 0 ? n : 0;
        json_t *e = json_object_get(by_rule, rule);
        if (e == NULL) {
            e = json_object();
            json_object_set_new(by_rule, rule, e);
        }
        json_object_set_new(e, verdict, json_integer(ival(e, verdict) + n));
    }
    json_decref(r);
    json_object_set_new(
        set, "guard",
        json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "decisions", (json_int_t)total,
                  "interventions", (json_int_t)(holds + denials + simulated), "holds",
                  (json_int_t)holds, "denials", (json_int_t)denials, "simulated",
                  (json_int_t)simulated, "budget_hits", (json_int_t)budget, "kill_switch",
                  (json_int_t)kill, "protected_assets", (json_int_t)prot, "blast_radius",
                  (json_int_t)blast, "by_rule", by_rule));
    return RP_OK;
}

/* The KPI set of one period. at_ms: when its open cases meet their SLA. */
static rp_status period_json(struct store *s, const struct kpi_options *o, int64_t from, int64_t to,
                             int64_t at_ms, json_t **out, struct acc *keep, struct rp_error *err)
{
    struct acc a = {.o = o, .at_ms = at_ms, .err = err};
    rp_status st = store_kpi_cases(s, from, to, RP_KPI_CASES_MAX + 1, on_case, &a);
    if (st != RP_OK) {
        if (st != RP_E_LIMIT && st != RP_E_NOMEM)
            rp_error_set(err, st, "%s", store_errmsg(s));
        acc_fini(&a);
        return st;
    }
    json_t *set = json_object();
    json_t *status = json_object(), *sev = json_object();
    for (int i = 0; i < CASE_STATUS_COUNT; i++)
        json_object_set_new(status, case_status_name((enum case_status)i),
                            json_integer(a.by_status[i]));
    for (int i = KPI_SEVERITIES - 1; i >= 0; i--)
        json_object_set_new(sev, SEV_NAMES[i], json_integer(a.by_sev[i]));
    json_t *kinds = json_object(), *sources = json_object();
    for (size_t i = 0; i < a.n; i++) {
        const char *kn = dim_name(&a.dims[D_KIND], a.recs[i].kind);
        const char *sn = dim_name(&a.dims[D_SOURCE], a.recs[i].source);
        json_object_set_new(kinds, kn, json_integer(ival(kinds, kn) + 1));
        json_object_set_new(sources, sn, json_integer(ival(sources, sn) + 1));
    }
    int64_t open = a.by_status[CASE_NEW] + a.by_status[CASE_TRIAGE] + a.by_status[CASE_CONTAINED];
    json_object_set_new(set, "cases",
                        json_pack("{s:I,s:I,s:I,s:o,s:o,s:o,s:o}", "total", (json_int_t)a.n, "open",
                                  (json_int_t)open, "resolved", (json_int_t)a.resolved, "by_status",
                                  status, "by_severity", sev, "by_kind", kinds, "by_source",
                                  sources));
    json_t *times = times_json(&a, &st);
    if (times != NULL)
        json_object_set_new(set, "times", times);
    json_object_set_new(set, "automation",
                        json_pack("{s:I,s:I,s:I,s:o}", "resolved", (json_int_t)a.resolved,
                                  "automated", (json_int_t)a.automated, "with_human",
                                  (json_int_t)(a.resolved - a.automated), "rate",
                                  ratio(a.automated, a.resolved)));
    json_t *sla = json_object();
    int64_t met = 0, late = 0, opn = 0;
    for (int i = KPI_SEVERITIES - 1; i >= 0; i--) {
        if (o->sla_ms[i] <= 0)
            continue;
        met += a.sla_met[i];
        late += a.sla_late[i];
        opn += a.sla_open[i];
        json_object_set_new(sla, SEV_NAMES[i],
                            json_pack("{s:o,s:I,s:I,s:I,s:I,s:I}", "target_s",
                                      seconds(o->sla_ms[i]), "met", (json_int_t)a.sla_met[i],
                                      "breached", (json_int_t)(a.sla_late[i] + a.sla_open[i]),
                                      "breached_resolved", (json_int_t)a.sla_late[i],
                                      "breached_open", (json_int_t)a.sla_open[i], "pending",
                                      (json_int_t)a.sla_pending[i]));
    }
    json_object_set_new(set, "sla",
                        json_pack("{s:I,s:I,s:I,s:o,s:o}", "met", (json_int_t)met, "breached",
                                  (json_int_t)(late + opn), "breached_open", (json_int_t)opn,
                                  "compliance", ratio(met, met + late + opn), "by_severity", sla));
    json_object_set_new(set, "communication", json_object());
    if (st == RP_OK)
        st = actions_json(s, o, from, to, set, err);
    if (st == RP_OK)
        st = prompts_json(s, from, to, json_object_get(set, "communication"), err);
    if (st == RP_OK)
        st = guard_json(s, from, to, set, err);
    json_t *pm = NULL;
    if (st == RP_OK)
        st = rows(s, STORE_KPI_POSTMORTEMS, from, to, &pm, err);
    if (st == RP_OK) {
        json_t *row = json_array_get(pm, 0);
        json_object_set_new(set, "postmortems",
                            json_pack("{s:I,s:I,s:I,s:o}", "cases_with", (json_int_t)a.with_pm,
                                      "written", (json_int_t)ival(row, "written"),
                                      "guard_rails_added", (json_int_t)ival(row, "guard_rails"),
                                      "coverage", ratio(a.with_pm, a.resolved)));
    }
    json_decref(pm);
    if (st == RP_E_NOMEM)
        rp_error_set(err, st, "out of memory");
    if (st != RP_OK || keep == NULL) {
        acc_fini(&a);
    } else {
        *keep = a;
    }
    if (st != RP_OK) {
        json_decref(set);
        return st;
    }
    *out = set;
    return RP_OK;
}

/* --- the trend over the period -------------------------------------------------------- */

/* Cases and mean time to resolve by severity, per day, week or 30 days
 * (the smallest that gives at most RP_KPI_BUCKETS_MAX points). */
static json_t *trend_json(const struct acc *a, int64_t from, int64_t to)
{
    static const struct {
        const char *name;
        int64_t ms;
    } SIZES[] = {{"day", DAY_MS}, {"week", 7 * DAY_MS}, {"month", 30 * DAY_MS}};
    size_t z = 0;
    while (z + 1 < sizeof SIZES / sizeof SIZES[0] &&
           (to - from + SIZES[z].ms - 1) / SIZES[z].ms > RP_KPI_BUCKETS_MAX)
        z++;
    int64_t size = SIZES[z].ms;
    size_t nb = (size_t)((to - from + size - 1) / size);
    if (nb > RP_KPI_BUCKETS_MAX) { /* a period longer than 60 months: wider buckets */
        size = (to - from + RP_KPI_BUCKETS_MAX - 1) / RP_KPI_BUCKETS_MAX;
        nb = (size_t)((to - from + size - 1) / size);
    }
    int64_t cases[RP_KPI_BUCKETS_MAX][KPI_SEVERITIES] = {{0}};
    int64_t nres[RP_KPI_BUCKETS_MAX][KPI_SEVERITIES] = {{0}};
    int64_t sum[RP_KPI_BUCKETS_MAX][KPI_SEVERITIES] = {{0}};
    for (size_t i = 0; i < a->n; i++) {
        const struct rec *r = &a->recs[i];
        size_t b = (size_t)((r->created_ms - from) / size);
        if (b >= nb)
            continue;
        cases[b][r->sev]++;
        if (r->t[T_RESOLVE] >= 0) {
            nres[b][r->sev]++;
            sum[b][r->sev] += r->t[T_RESOLVE];
        }
    }
    json_t *points = json_array();
    for (size_t b = 0; b < nb; b++) {
        char t[TIME_RFC3339_LEN];
        time_format_rfc3339(from + (int64_t)b * size, t);
        json_t *c = json_object(), *m = json_object();
        for (int s = KPI_SEVERITIES - 1; s >= 0; s--) {
            json_object_set_new(c, SEV_NAMES[s], json_integer(cases[b][s]));
            json_object_set_new(m, SEV_NAMES[s],
                                nres[b][s]
                                    ? json_real((double)sum[b][s] / (double)nres[b][s] / 1000.0)
                                    : json_null());
        }
        json_array_append_new(
            points, json_pack("{s:s,s:o,s:o}", "start", t, "cases", c, "resolve_mean_s", m));
    }
    return json_pack("{s:s,s:I,s:o}", "bucket",
                     nb > 0 && size == SIZES[z].ms ? SIZES[z].name : "custom", "bucket_s",
                     (json_int_t)(size / 1000), "points", points);
}

/* --- the whole --------------------------------------------------------------------------- */

static json_t *period_obj(int64_t from, int64_t to)
{
    char f[TIME_RFC3339_LEN], t[TIME_RFC3339_LEN];
    time_format_rfc3339(from, f);
    time_format_rfc3339(to, t);
    return json_pack("{s:s,s:s,s:f}", "from", f, "to", t, "days",
                     (double)(to - from) / (double)DAY_MS);
}

rp_status kpi_compute(struct store *s, const struct kpi_options *o, int64_t from_ms, int64_t to_ms,
                      int64_t now_ms, json_t **out, struct rp_error *err)
{
    RP_ASSERT(s != NULL && o != NULL && out != NULL);
    *out = NULL;
    if (to_ms <= from_ms || to_ms - from_ms > RP_KPI_PERIOD_MAX_MS)
        return rp_error_set(err, RP_E_USAGE, "the period must be 1 ms to %lld days long",
                            (long long)(RP_KPI_PERIOD_MAX_MS / DAY_MS));
    int64_t len = to_ms - from_ms;
    json_t *cur = NULL, *prev = NULL, *open = NULL;
    struct acc keep;
    memset(&keep, 0, sizeof keep);
    rp_status st =
        period_json(s, o, from_ms, to_ms, now_ms < to_ms ? now_ms : to_ms, &cur, &keep, err);
    if (st == RP_OK)
        st = period_json(s, o, from_ms - len, from_ms, from_ms, &prev, NULL, err);
    if (st == RP_OK) {
        st = store_kpi_rows_json(s, STORE_KPI_OPEN_CASES, 60, 0, RP_KPI_OPEN_CASES_MAX, &open);
        if (st != RP_OK)
            rp_error_set(err, st, "%s", store_errmsg(s));
    }
    if (st != RP_OK) {
        json_decref(cur);
        json_decref(prev);
        acc_fini(&keep);
        return st;
    }
    size_t i;
    json_t *row;
    json_array_foreach(open, i, row)
    {
        int sev = (int)ival(row, "severity");
        json_object_set_new(row, "severity_label", json_string(severity_label(sev)));
    }
    char now[TIME_RFC3339_LEN];
    time_format_rfc3339(now_ms, now);
    json_t *trend = trend_json(&keep, from_ms, to_ms);
    acc_fini(&keep);
    json_t *res = json_pack("{s:s,s:o,s:o,s:o,s:o,s:o,s:o}", "generated", now, "period",
                            period_obj(from_ms, to_ms), "previous_period",
                            period_obj(from_ms - len, from_ms), "current", cur, "previous", prev,
                            "trend", trend, "open_high_severity_cases", open);
    if (res == NULL)
        return rp_error_set(err, RP_E_NOMEM, "out of memory");
    *out = res;
    return RP_OK;
}

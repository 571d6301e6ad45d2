/*
 * metrics.c: the registry of metric families and the series counted under
 * them (core/metrics.h), and their Prometheus text.
 *
 * Series live in one static open-addressing table of RP_METRICS_SERIES_MAX
 * slots. A slot is claimed under a mutex (rare: once per series) and
 * published with a release store of its state; counting finds it with an
 * acquire load and no lock, then adds atomically. A slot is never freed, so a
 * reader that found it may use it for ever. Histogram sums are doubles kept as
 * bits in a 64-bit atomic and added with compare-and-swap.
 *
 * Any thread. Fails only by dropping a series it has no room for (counted).
 */
#include "core/metrics.h"

#include "core/limits.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum metric_type { M_COUNTER, M_GAUGE, M_HISTOGRAM };

/* Longest label value kept; longer ones are cut (on a UTF-8 boundary). */
#define LABEL_VALUE_MAX 63

struct family {
    const char *name;
    enum metric_type type;
    const char *help;
    const char *label1, *label2; /* NULL: none */
    bool cut_dot;                /* label1 keeps its value up to the first '.' */
    const double *buckets;       /* histograms: upper bounds, ascending */
    size_t nbuckets;
};

static const double SECONDS_FAST[] = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1,
                                      0.25,  0.5,   1,    2.5,   5,    10};

/* The families, in the order /metrics shows them. Label values come from
 * code or configuration (channels, statuses, verdicts, connector names),
 * never from alert contents, so that their number stays small. */
static const struct family FAMILIES[] = {
    {"riposte_ingest_alerts_total", M_COUNTER,
     "Alert records taken in by the daemon, by channel and result (accepted or rejected).",
     "channel", "result", false, NULL, 0},
    {"riposte_ingest_commit_seconds", M_HISTOGRAM,
     "Time to commit one group of ingested batches (one transaction), by channel.", "channel", NULL,
     false, SECONDS_FAST, sizeof SECONDS_FAST / sizeof SECONDS_FAST[0]},
    {"riposte_ingest_queue_depth", M_GAUGE,
     "Ingest requests waiting for the writer (sampled when /metrics is read).", NULL, NULL, false,
     NULL, 0},
    {"riposte_runs_started_total", M_COUNTER, "Playbook runs started, by trigger.", "trigger", NULL,
     false, NULL, 0},
    {"riposte_runs_finished_total", M_COUNTER, "Playbook runs finished, by status.", "status", NULL,
     false, NULL, 0},
    {"riposte_engine_runs_in_memory", M_GAUGE, "Runs the engine holds in memory.", NULL, NULL,
     false, NULL, 0},
    {"riposte_steps_total", M_COUNTER, "Playbook steps finished, by status.", "status", NULL, false,
     NULL, 0},
    {"riposte_actions_total", M_COUNTER,
     "Action calls finished, by connector (the action name up to its first dot) and result.",
     "connector", "result", true, NULL, 0},
    {"riposte_guard_decisions_total", M_COUNTER, "Guard-rail decisions, by verdict.", "verdict",
     NULL, false, NULL, 0},
    {"riposte_metrics_series_dropped_total", M_COUNTER,
     "Series not made because the metrics table was full.", NULL, NULL, false, NULL, 0},
};

#define NFAMILIES (sizeof FAMILIES / sizeof FAMILIES[0])

enum slot_state { SLOT_EMPTY, SLOT_READY };

struct series {
    _Atomic int state;
    unsigned family;
    char v1[LABEL_VALUE_MAX + 1], v2[LABEL_VALUE_MAX + 1];
    _Atomic uint64_t count;                          /* counters; histograms: observations */
    _Atomic int64_t gauge;                           /* gauges */
    _Atomic uint64_t sum;                            /* histograms: the bits of a double */
    _Atomic uint64_t bucket[RP_METRICS_BUCKETS_MAX]; /* not cumulative */
};

static struct series TABLE[RP_METRICS_SERIES_MAX];
static pthread_mutex_t TABLE_LOCK = PTHREAD_MUTEX_INITIALIZER;
static _Atomic uint64_t DROPPED;

static unsigned family_of(const char *name)
{
    for (unsigned i = 0; i < NFAMILIES; i++) {
        if (strcmp(FAMILIES[i].name, name) == 0)
            return i;
    }
    RP_ASSERT(!"metrics: family not registered");
    return 0;
}

/* Copies a label value: at most LABEL_VALUE_MAX bytes, cut on a UTF-8
 * boundary, and at the first '.' when cut_dot. */
static void value_copy(char *dst, const char *v, bool cut_dot)
{
    if (v == NULL)
        v = "";
    size_t n = strnlen(v, LABEL_VALUE_MAX + 1);
    if (cut_dot) {
        const char *dot = memchr(v, '.', n);
        if (dot != NULL)
            n = (size_t)(dot - v);
    }
    if (n > LABEL_VALUE_MAX) {
        n = LABEL_VALUE_MAX;
        while (n > 0 && ((unsigned char)v[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static uint64_t hash_of(unsigned fam, const char *v1, const char *v2)
{
    uint64_t h = 1469598103934665603ull ^ fam; /* FNV-1a */
    for (const char *p = v1; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    h = (h ^ 0xff) * 1099511628211ull;
    for (const char *p = v2; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ull;
    return h;
}

static bool slot_is(const struct series *s, unsigned fam, const char *v1, const char *v2)
{
    return s->family == fam && strcmp(s->v1, v1) == 0 && strcmp(s->v2, v2) == 0;
}

/* The series of family fam with these values, made if needed; NULL when the
 * table is full. */
static struct series *series_get(unsigned fam, const char *raw1, const char *raw2)
{
    char v1[LABEL_VALUE_MAX + 1], v2[LABEL_VALUE_MAX + 1];
    value_copy(v1, FAMILIES[fam].label1 != NULL ? raw1 : NULL, FAMILIES[fam].cut_dot);
    value_copy(v2, FAMILIES[fam].label2 != NULL ? raw2 : NULL, false);
    size_t start = (size_t)(hash_of(fam, v1, v2) % RP_METRICS_SERIES_MAX);
    for (size_t i = 0; i < RP_METRICS_SERIES_MAX; i++) {
        struct series *s = &TABLE[(start + i) % RP_METRICS_SERIES_MAX];
        int state = atomic_load_explicit(&s->state, memory_order_acquire);
        if (state == SLOT_EMPTY)
            break;
        if (slot_is(s, fam, v1, v2))
            return s;
    }
    /* not found without the lock: look again under it, and claim a slot */
    struct series *found = NULL;
    pthread_mutex_lock(&TABLE_LOCK);
    for (size_t i = 0; i < RP_METRICS_SERIES_MAX; i++) {
        struct series *s = &TABLE[(start + i) % RP_METRICS_SERIES_MAX];
        if (atomic_load_explicit(&s->state, memory_order_relaxed) == SLOT_EMPTY) {
            s->family = fam;
            memcpy(s->v1, v1, sizeof v1);
            memcpy(s->v2, v2, sizeof v2);
            atomic_store_explicit(&s->state, SLOT_READY, memory_order_release);
            found = s;
            break;
        }
        if (slot_is(s, fam, v1, v2)) {
            found = s;
            break;
        }
    }
    pthread_mutex_unlock(&TABLE_LOCK);
    if (found == NULL)
        atomic_fetch_add_explicit(&DROPPED, 1, memory_order_relaxed);
    return found;
}

void metrics_add(const char *family, const char *v1, const char *v2, uint64_t n)
{
    unsigned fam = family_of(family);
    RP_ASSERT(FAMILIES[fam].type == M_COUNTER);
    struct series *s = series_get(fam, v1, v2);
    if (s != NULL)
        atomic_fetch_add_explicit(&s->count, n, memory_order_relaxed);
}

void metrics_inc(const char *family, const char *v1, const char *v2)
{
    metrics_add(family, v1, v2, 1);
}

void metrics_count_ingest(const char *channel, size_t accepted, size_t rejected)
{
    metrics_add("riposte_ingest_alerts_total", channel, "accepted", accepted);
    metrics_add("riposte_ingest_alerts_total", channel, "rejected", rejected);
}

void metrics_gauge_add(const char *family, int64_t delta)
{
    unsigned fam = family_of(family);
    RP_ASSERT(FAMILIES[fam].type == M_GAUGE);
    struct series *s = series_get(fam, NULL, NULL);
    if (s != NULL)
        atomic_fetch_add_explicit(&s->gauge, delta, memory_order_relaxed);
}

void metrics_gauge_set(const char *family, int64_t value)
{
    unsigned fam = family_of(family);
    RP_ASSERT(FAMILIES[fam].type == M_GAUGE);
    struct series *s = series_get(fam, NULL, NULL);
    if (s != NULL)
        atomic_store_explicit(&s->gauge, value, memory_order_relaxed);
}

void metrics_observe(const char *family, const char *v1, double value)
{
    unsigned fam = family_of(family);
    const struct family *f = &FAMILIES[fam];
    RP_ASSERT(f->type == M_HISTOGRAM && f->nbuckets <= RP_METRICS_BUCKETS_MAX);
    if (isnan(value))
        return;
    struct series *s = series_get(fam, v1, NULL);
    if (s == NULL)
        return;
    for (size_t i = 0; i < f->nbuckets; i++) {
        if (value <= f->buckets[i]) {
            atomic_fetch_add_explicit(&s->bucket[i], 1, memory_order_relaxed);
            break;
        }
    }
    uint64_t old = atomic_load_explicit(&s->sum, memory_order_relaxed), next;
    do {
        double d;
        memcpy(&d, &old, sizeof d);
        d += value;
        memcpy(&next, &d, sizeof next);
    } while (!atomic_compare_exchange_weak_explicit(&s->sum, &old, next, memory_order_relaxed,
                                                    memory_order_relaxed));
    atomic_fetch_add_explicit(&s->count, 1, memory_order_release); /* after its bucket */
}

/* --- the text format ------------------------------------------------------------ */

/* A label value escaped as the format asks: backslash, quote and newline. */
static rp_status put_value(struct buf *out, const char *v)
{
    rp_status st = RP_OK;
    for (const char *p = v; *p && st == RP_OK; p++) {
        if (*p == '\\')
            st = buf_puts(out, "\\\\");
        else if (*p == '"')
            st = buf_puts(out, "\\\"");
        else if (*p == '\n')
            st = buf_puts(out, "\\n");
        else
            st = buf_append(out, p, 1);
    }
    return st;
}

/* {l1="v1",l2="v2"[,le="x"]} or nothing when there are no labels. */
static rp_status put_labels(struct buf *out, const struct family *f, const struct series *s,
                            const char *le)
{
    if (f->label1 == NULL && le == NULL)
        return RP_OK;
    rp_status st = buf_puts(out, "{");
    const char *sep = "";
    if (st == RP_OK && f->label1 != NULL) {
        st = buf_printf(out, "%s=\"", f->label1);
        if (st == RP_OK)
            st = put_value(out, s->v1);
        if (st == RP_OK)
            st = buf_puts(out, "\"");
        sep = ",";
    }
    if (st == RP_OK && f->label2 != NULL) {
        st = buf_printf(out, "%s%s=\"", sep, f->label2);
        if (st == RP_OK)
            st = put_value(out, s->v2);
        if (st == RP_OK)
            st = buf_puts(out, "\"");
        sep = ",";
    }
    if (st == RP_OK && le != NULL)
        st = buf_printf(out, "%sle=\"%s\"", sep, le);
    if (st == RP_OK)
        st = buf_puts(out, "}");
    return st;
}

/* A double as the format writes it: "+Inf", or the shortest of %.15g and
 * %.17g that reads back as the same value ("0.025", not 0.025000000000000001). */
static void fmt_double(char *dst, size_t cap, double v)
{
    if (isinf(v)) {
        snprintf(dst, cap, "%s", v > 0 ? "+Inf" : "-Inf");
        return;
    }
    snprintf(dst, cap, "%.15g", v);
    if (strtod(dst, NULL) != v)
        snprintf(dst, cap, "%.17g", v);
}

static rp_status put_series(struct buf *out, const struct family *f, const struct series *s)
{
    rp_status st = RP_OK;
    if (f->type == M_COUNTER || f->type == M_GAUGE) {
        st = buf_puts(out, f->name);
        if (st == RP_OK)
            st = put_labels(out, f, s, NULL);
        if (st == RP_OK && f->type == M_COUNTER)
            st = buf_printf(
                out, " %llu\n",
                (unsigned long long)atomic_load_explicit(&s->count, memory_order_relaxed));
        else if (st == RP_OK)
            st = buf_printf(out, " %lld\n",
                            (long long)atomic_load_explicit(&s->gauge, memory_order_relaxed));
        return st;
    }
    /* histogram: read the count first, so that the buckets sum to no less
     * than it; an observation under way may show in a bucket and the sum
     * before the count, never the other way round */
    uint64_t count = atomic_load_explicit(&s->count, memory_order_acquire);
    uint64_t cum = 0;
    for (size_t i = 0; i <= f->nbuckets && st == RP_OK; i++) {
        char le[40];
        if (i < f->nbuckets) {
            cum += atomic_load_explicit(&s->bucket[i], memory_order_relaxed);
            fmt_double(le, sizeof le, f->buckets[i]);
        } else {
            snprintf(le, sizeof le, "+Inf");
        }
        /* the +Inf bucket is the count, and no bucket exceeds it */
        uint64_t shown = i < f->nbuckets ? (cum < count ? cum : count) : count;
        st = buf_printf(out, "%s_bucket", f->name);
        if (st == RP_OK)
            st = put_labels(out, f, s, le);
        if (st == RP_OK)
            st = buf_printf(out, " %llu\n", (unsigned long long)shown);
    }
    uint64_t bits = atomic_load_explicit(&s->sum, memory_order_relaxed);
    double sum;
    memcpy(&sum, &bits, sizeof sum);
    char sv[40];
    fmt_double(sv, sizeof sv, sum);
    if (st == RP_OK)
        st = buf_printf(out, "%s_sum", f->name);
    if (st == RP_OK)
        st = put_labels(out, f, s, NULL);
    if (st == RP_OK)
        st = buf_printf(out, " %s\n%s_count", sv, f->name);
    if (st == RP_OK)
        st = put_labels(out, f, s, NULL);
    if (st == RP_OK)
        st = buf_printf(out, " %llu\n", (unsigned long long)count);
    return st;
}

rp_status metrics_render(struct buf *out)
{
    static const char *const TYPES[] = {"counter", "gauge", "histogram"};
    rp_status st = RP_OK;
    for (unsigned fam = 0; fam < NFAMILIES && st == RP_OK; fam++) {
        const struct family *f = &FAMILIES[fam];
        st = buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help, f->name,
                        TYPES[f->type]);
        if (st == RP_OK && strcmp(f->name, "riposte_metrics_series_dropped_total") == 0) {
            st = buf_printf(out, "%s %llu\n", f->name, (unsigned long long)atomic_load(&DROPPED));
            continue;
        }
        bool any = false;
        for (size_t i = 0; i < RP_METRICS_SERIES_MAX && st == RP_OK; i++) {
            const struct series *s = &TABLE[i];
            if (atomic_load_explicit(&s->state, memory_order_acquire) != SLOT_READY ||
                s->family != fam)
                continue;
            any = true;
            st = put_series(out, f, s);
        }
        /* a family without labels always shows its one series, at zero */
        if (st == RP_OK && !any && f->label1 == NULL && f->type != M_HISTOGRAM)
            st = buf_printf(out, "%s 0\n", f->name);
    }
    return st;
}

void metrics_reset(void)
{
    pthread_mutex_lock(&TABLE_LOCK);
    memset(TABLE, 0, sizeof TABLE);
    atomic_store(&DROPPED, 0);
    pthread_mutex_unlock(&TABLE_LOCK);
}

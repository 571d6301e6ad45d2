/*
 * metrics.h: the daemon's counters, gauges and histograms, served as
 * Prometheus text (exposition format 0.0.4) at GET /metrics.
 *
 * The metric families are registered by name in one table (core/metrics.c),
 * with their type, help text, label names and buckets; a series (a family and
 * its label values) is made on first use. The places where things happen
 * call one function each (`metrics_inc("riposte_runs_finished_total",
 * status, NULL)`), so that counting costs a hash probe and an atomic add.
 *
 * Threads: every function may be called from any thread at any time; counts
 * are atomic and a series, once made, is never moved or freed. Memory is
 * static: at most RP_METRICS_SERIES_MAX series; a new series beyond that is
 * not made and counts in riposte_metrics_series_dropped_total instead. A
 * family name that is not registered is a bug: it aborts.
 */
#ifndef RP_CORE_METRICS_H
#define RP_CORE_METRICS_H

#include "core/buf.h"
#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

/* Adds n to a counter. v1 and v2 are the values of the family's first and
 * second labels (NULL where the family has fewer). */
void metrics_add(const char *family, const char *v1, const char *v2, uint64_t n);

/* Counts what one ingest commit took in on channel ("http", "syslog"):
 * riposte_ingest_alerts_total{channel, result="accepted"|"rejected"}. */
void metrics_count_ingest(const char *channel, size_t accepted, size_t rejected);

/* Adds 1 to a counter. */
void metrics_inc(const char *family, const char *v1, const char *v2);

/* Adds delta to a gauge (of a family without labels), or sets it. */
void metrics_gauge_add(const char *family, int64_t delta);
void metrics_gauge_set(const char *family, int64_t value);

/* Records one observation in a histogram (v1: its label value, or NULL). */
void metrics_observe(const char *family, const char *v1, double value);

/* Appends every family as Prometheus text to out. RP_E_LIMIT when out's
 * maximum is too small; RP_E_NOMEM. */
rp_status metrics_render(struct buf *out) RP_MUST_CHECK;

/* Forgets every series (tests only; not while other threads count). */
void metrics_reset(void);

#endif

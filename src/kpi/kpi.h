/*
 * kpi.h: the SOC's key performance indicators over a period, computed exactly
 * from the store (docs/kpis.md defines every figure): times to detect,
 * acknowledge, contain and resolve (mean, p50, p90; overall and by severity,
 * kind, source and playbook), case counts, automation rate, analyst time
 * saved, SLA breaches, communication, guard-rail interventions and
 * post-mortems, for the period and for the previous period of the same
 * length (the trend).
 *
 * The result is one JSON object; kpi/report.h renders it as HTML, JSON or
 * CSV. The same code serves `riposte report` and GET /api/v1/kpis.
 *
 * Threads: any, with a store handle of its own. Memory: the cases of one
 * period are held (about 80 bytes each) while the percentiles are computed,
 * at most RP_KPI_CASES_MAX of them; a longer period is refused.
 */
#ifndef RP_KPI_KPI_H
#define RP_KPI_KPI_H

#include "core/status.h"

#include <jansson.h>
#include <stdint.h>

struct store;

/* Severity labels by index (core of model/alert.h's severity_label): 0 info,
 * 1 low, 2 medium, 3 high, 4 critical. */
#define KPI_SEVERITIES 5

/* What the configuration's `kpi:` section says (docs/kpis.md):
 *
 *   kpi:
 *     minutes_saved: { default: 5, "edr.contain_host": 15, notify: 2 }
 *     sla: { critical: 1h, high: 4h, medium: 24h, low: 72h }
 */
struct kpi_options {
    double minutes_default;         /* per successful action not named in minutes */
    json_t *minutes;                /* owned: {action or effect name: minutes} */
    int64_t sla_ms[KPI_SEVERITIES]; /* time-to-resolve target by severity; 0: none */
};

/* The defaults: 5 minutes per action; SLA critical 1h, high 4h, medium 24h,
 * low 72h, info none. */
void kpi_options_init(struct kpi_options *o);

/* Frees what o owns; accepts NULL. */
void kpi_options_fini(struct kpi_options *o);

/* Reads the `kpi` section (config.h's kpi, may be NULL) over the defaults.
 * RP_E_INVALID with err ("kpi.sla.high: ...") on an unknown key or a bad
 * value; o keeps the defaults then. */
rp_status kpi_options_from_json(struct kpi_options *o, const json_t *section,
                                struct rp_error *err) RP_MUST_CHECK;

/* The period [*from_ms, *to_ms) of `--since DURATION` or `--from DATE --to
 * DATE` (DATE: YYYY-MM-DD, UTC midnight, or RFC 3339; to is exclusive); all
 * NULL: the last 30 days. RP_E_USAGE with err when they are mixed, half
 * given, malformed, reversed or longer than RP_KPI_PERIOD_MAX_MS. */
rp_status kpi_period_parse(const char *since, const char *from, const char *to, int64_t now_ms,
                           int64_t *from_ms, int64_t *to_ms, struct rp_error *err) RP_MUST_CHECK;

/* Computes the KPIs of [from_ms, to_ms) and of the period of the same length
 * before it. now_ms is the time of the report: an unresolved case is judged
 * against its SLA at min(now_ms, to). *out is a new object:
 *   {generated, period{from,to}, previous_period{from,to},
 *    current{...}, previous{...}, trend{...}, open_high_severity_cases[...]}
 * RP_E_LIMIT with err when the period holds too many cases or rows; the
 * store's errors otherwise. */
rp_status kpi_compute(struct store *s, const struct kpi_options *o, int64_t from_ms, int64_t to_ms,
                      int64_t now_ms, json_t **out, struct rp_error *err) RP_MUST_CHECK;

/* The nearest-rank percentile p (1-100) of n sorted values: the smallest value
 * with at least p% of the values at or below it. n > 0. */
int64_t kpi_percentile(const int64_t *sorted, size_t n, unsigned p);

#endif

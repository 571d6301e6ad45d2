/*
 * report.h: the KPI object of kpi/kpi.h rendered for people and tools:
 *   html  one self-contained page for executives (inline CSS and SVG charts,
 *         no script, no outside asset; every value escaped);
 *   json  the KPI object itself;
 *   csv   one row per figure: name, segment, value, previous.
 * Pure functions of their input; any thread.
 */
#ifndef RP_KPI_REPORT_H
#define RP_KPI_REPORT_H

#include "core/buf.h"
#include "core/status.h"

#include <jansson.h>

enum report_format { REPORT_HTML, REPORT_JSON, REPORT_CSV };

/* "html", "json" or "csv"; RP_E_USAGE otherwise. */
rp_status report_format_parse(const char *s, enum report_format *out) RP_MUST_CHECK;

/* Appends the report of kpis (kpi_compute's object) to out, whose maximum
 * should be RP_KPI_REPORT_MAX: RP_E_LIMIT when it does not fit. */
rp_status report_render(json_t *kpis, enum report_format f, struct buf *out) RP_MUST_CHECK;

#endif

/*
 * cron.h: schedules in the five-field cron syntax, for playbook triggers.
 *
 *   minute hour day-of-month month day-of-week
 *   "0-59/5 * * * *", "0 8 * * 1-5", "30 2 1,15 * *", "0 0 * jan,jul sun"
 *
 * Fields take *, numbers, ranges (a-b), steps (a-b/n, and a star followed by /n), lists (a,b-c) and
 * the English three-letter names of months and days; day-of-week 0 and 7 are
 * both Sunday. As in Vixie cron, when both day fields are restricted a day
 * matches if either does. The macros @hourly, @daily, @weekly, @monthly and
 * @yearly are accepted. Times are UTC: a SOC spans time zones and a schedule
 * must not jump twice a year.
 *
 * A struct cron is immutable; any thread may read it.
 */
#ifndef RP_PLAYBOOK_CRON_H
#define RP_PLAYBOOK_CRON_H

#include "core/status.h"

#include <stdint.h>

struct cron;

/* Parses text; err names the field and what is wrong ("cron: hour: 24 is out
 * of range 0-23"). The caller owns *out. */
rp_status cron_parse(const char *text, struct cron **out, struct rp_error *err) RP_MUST_CHECK;

/* Accepts NULL. */
void cron_free(struct cron *c);

/* The first matching minute strictly after after_ms (Unix ms, UTC), in Unix
 * ms; -1 when none exists within the next 5 years (e.g. "0 0 31 2 *"). */
int64_t cron_next(const struct cron *c, int64_t after_ms);

#endif

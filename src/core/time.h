/*
 * time.h: wall-clock time in milliseconds since the Unix epoch, RFC 3339 text,
 * and durations ("90s", "15m", "24h", "7d"). All times Riposte stores are UTC
 * milliseconds; all times it prints are RFC 3339 with milliseconds and a Z.
 * Pure functions, any thread.
 */
#ifndef RP_CORE_TIME_H
#define RP_CORE_TIME_H

#include "core/status.h"

#include <stddef.h>
#include <stdint.h>

/* "2026-11-30T09:48:36.123Z" plus NUL */
#define TIME_RFC3339_LEN 25

/* Milliseconds since the epoch, from CLOCK_REALTIME. */
int64_t time_now_ms(void);

/* Milliseconds from CLOCK_MONOTONIC: for intervals and deadlines only. */
int64_t time_mono_ms(void);

/* Writes ms as "YYYY-MM-DDTHH:MM:SS.mmmZ" into out (TIME_RFC3339_LEN bytes);
 * "0000-00-00T00:00:00.000Z" for a time outside years 0-9999. No printf: the
 * line parsers cost one of these per event. */
void time_format_rfc3339(int64_t ms, char out[TIME_RFC3339_LEN]);

/* Days since 1970-01-01 of a proleptic Gregorian date (m 1-12, d 1-31; not
 * checked), and back (Howard Hinnant's method). */
int64_t time_days_from_civil(int64_t y, unsigned m, unsigned d);
void time_civil_from_days(int64_t days, int64_t *y, unsigned *m, unsigned *d);

/* 28-31: the days of month m (1-12) of year y. */
int time_days_in_month(int y, int m);

/* Parses an RFC 3339 date-time of length n ("2026-11-30T09:48:36Z",
 * "...T09:48:36.123456+02:00", a space instead of T, lower-case t/z accepted).
 * Fractions beyond milliseconds are truncated. Years 1970-9999. RP_E_INVALID
 * with a reason in err otherwise. */
rp_status time_parse_rfc3339(const char *s, size_t n, int64_t *ms,
                             struct rp_error *err) RP_MUST_CHECK;

/* Parses a duration: an integer followed by ms, s, m, h, d or w ("24h"); several
 * may follow each other ("1h30m"). A bare integer is seconds. RP_E_INVALID on
 * anything else, on zero-length input and on overflow. */
rp_status time_parse_duration(const char *s, int64_t *ms, struct rp_error *err) RP_MUST_CHECK;

#endif

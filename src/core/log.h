/*
 * log.h: structured logging, one line per event, key=value.
 *
 *   ts=2026-11-30T09:48:36.123Z level=info event=ingest.done accepted=10 rejected=0
 *
 * Lines go to stderr (the daemon's supervisor keeps them). Values that may hold
 * spaces or quotes go through log_quote(). Secrets are never passed to log_*:
 * tokens and passwords are logged by name or by the first bytes of their hash.
 * Any thread may log; each line is written with one write(2) so lines from
 * different threads do not interleave.
 */
#ifndef RP_CORE_LOG_H
#define RP_CORE_LOG_H

#include "core/status.h"

#include <stddef.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR, LOG_OFF };

/* Sets the lowest level written (default LOG_INFO). */
void log_set_level(enum log_level level);

/* Parses "debug", "info", "warn", "error" or "off". */
rp_status log_level_parse(const char *s, enum log_level *out) RP_MUST_CHECK;

/* Writes one line: ts, level, event, then the caller's key=value text. */
void log_write(enum log_level level, const char *event, const char *fmt, ...) RP_PRINTF(3, 4);

/* Copies s into buf as a log value: bare when it is safe, else double-quoted with
 * \" \\ \n escaped and control bytes as \xNN; truncated to fit. Returns buf. */
const char *log_quote(char *buf, size_t cap, const char *s);

#define log_debug(ev, ...) log_write(LOG_DEBUG, ev, __VA_ARGS__)
#define log_info(ev, ...)  log_write(LOG_INFO, ev, __VA_ARGS__)
#define log_warn(ev, ...)  log_write(LOG_WARN, ev, __VA_ARGS__)
#define log_error(ev, ...) log_write(LOG_ERROR, ev, __VA_ARGS__)

#endif

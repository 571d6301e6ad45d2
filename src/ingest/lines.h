/*
 * lines.h: what the line formats share inside ingest/ (internal; not a public
 * face). syslog.c cuts a line into its header and MSG and dispatches the MSG to
 * cef.c, leef.c, authlog.c or cylance_syslog.c through the *_alert_in functions
 * below; each builds the alert in the shape alert_normalize() checks
 * (parsers.h), from spans of the line.
 *
 * The helpers at the end (implemented in syslog.c) are what keeps every line
 * parser's output acceptable to alert_normalize(): a value goes into a
 * normalized field only when it fits that field (an IP that parses, a hash of
 * the right length, a name without control characters within RP_NAME_MAX_BYTES);
 * otherwise it is kept under extra.<format>.<key> so that nothing is lost and
 * the line is still accepted. Strings are valid UTF-8 because a line that is not
 * is repaired first (each invalid byte becomes U+FFFD) by lines_prepare().
 *
 * Pure functions of their input (and of the local time zone and the clock for
 * RFC 3164 times, which carry neither); any thread.
 */
#ifndef RP_INGEST_LINES_H
#define RP_INGEST_LINES_H

#include "core/status.h"
#include "ingest/syslog.h"
#include "model/observable.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* One line being turned into an alert. */
struct line_ctx {
    const char *line; /* the whole line (repaired UTF-8), kept as raw */
    size_t len;
    const struct syslog_msg *hdr; /* the syslog header, or NULL when there was none */
    int64_t now_ms;               /* the clock, for times that carry no year */
};

/* --- dispatch targets of syslog_parse_alert (and of cef/leef_parse_alert) ---- */

/* A CEF event at cef (n bytes, starting "CEF:") inside lc->line. */
rp_status cef_alert_in(const struct line_ctx *lc, const char *cef, size_t n, json_t **alert,
                       struct rp_error *err) RP_MUST_CHECK;

/* A LEEF event at leef (n bytes, starting "LEEF:") inside lc->line. */
rp_status leef_alert_in(const struct line_ctx *lc, const char *leef, size_t n, json_t **alert,
                        struct rp_error *err) RP_MUST_CHECK;

/* True when the syslog app (tag) is one whose lines authlog_alert_in reads:
 * sshd, sudo, su, login, klogind, ftpd, gdm and any "x(pam_y)" tag. */
bool authlog_app_known(const char *app, size_t n);

/* An sshd/PAM/sudo/su/login line: lc->hdr is required (app and MSG). RP_E_NOTFOUND
 * when the line is no authentication event. */
rp_status authlog_alert_in(const struct line_ctx *lc, json_t **alert,
                           struct rp_error *err) RP_MUST_CHECK;

/* A CylancePROTECT event in msg (n bytes): its fields from the first "Event
 * Type:" or "Event Name:" on. RP_E_NOTFOUND for events that are not threats on a
 * host (audit log, device registration, threat classification updates) and
 * when there is no such field. */
rp_status cylance_syslog_alert_in(const struct line_ctx *lc, const char *msg, size_t n,
                                  json_t **alert, struct rp_error *err) RP_MUST_CHECK;

/* Offset of the word CylancePROTECT in a line that may not be syslog at all
 * (forwarders put odd headers in front), or -1. */
long cylance_syslog_find(const char *line, size_t len);

/* --- syslog.c ------------------------------------------------------------------ */

/* syslog_parse with the clock given (now_ms) for the year of RFC 3164 times. */
rp_status syslog_parse_at(const char *line, size_t len, int64_t now_ms, struct syslog_msg *out,
                          struct rp_error *err) RP_MUST_CHECK;

/* syslog_parse_alert with the clock given. */
rp_status syslog_parse_alert_at(const char *line, size_t len, int64_t now_ms, json_t **alert,
                                struct rp_error *err) RP_MUST_CHECK;

/* A parser of an event that starts with a marker ("CEF:", "LEEF:"). */
typedef rp_status (*lines_in_fn)(const struct line_ctx *lc, const char *at, size_t n,
                                 json_t **alert, struct rp_error *err);

/* The ingest_parse_fn of a marked format, with or without a syslog header in
 * front: the line is prepared, an empty line is RP_E_NOTFOUND, and fn gets the
 * text from the marker on (with the header when one parsed). RP_E_INVALID when
 * the marker is nowhere. */
rp_status lines_parse_marked(const char *data, size_t len, int64_t now_ms, const char *marker,
                             lines_in_fn fn, json_t **alert, struct rp_error *err) RP_MUST_CHECK;

/* The first marker ("CEF:" or "LEEF:" followed by a digit) in s that starts a
 * word, or NULL. */
const char *lines_find_marker(const char *s, size_t n, const char *marker);

/* --- helpers (syslog.c) ------------------------------------------------------------ */

/* Whether alert_normalize() takes s (trimmed) as a name, or as a t. */
bool lines_fits_name(const char *s, size_t n);
bool lines_fits_typed(enum obs_type t, const char *s, size_t n);

/* An unsigned decimal (trimmed, at most 18 digits) in 0..max. */
bool lines_parse_uint(const char *s, size_t n, int64_t max, int64_t *out);

/* s without the white space around it. */
void lines_trim(const char **s, size_t *n);

/* Copies s into out (cap bytes, NUL-terminated) with control characters made
 * spaces and white space trimmed; the length. For titles and rules. */
size_t lines_clean(const char *s, size_t n, char *out, size_t cap);

/* A line made ready to parse: checked against RP_INGEST_LINE_MAX, trailing CR/LF
 * and the spaces around it dropped, and repaired to valid UTF-8 when needed (then
 * *owned is the copy to free, else NULL). RP_E_INVALID when too long. */
rp_status lines_prepare(const char *data, size_t len, const char **line, size_t *n, char **owned,
                        struct rp_error *err) RP_MUST_CHECK;

/* A new JSON string of n bytes that are valid UTF-8 (lines_prepare'd). NULL when
 * out of memory. */
json_t *lines_str(const char *s, size_t n);

/* obj[key] (a new object when absent); NULL when out of memory. */
json_t *lines_child(json_t *obj, const char *key);

/* Sets parent.obj.key (obj NULL: parent.key) to the trimmed value s when it fits
 * a name field (non-empty, no control characters, at most RP_NAME_MAX_BYTES);
 * otherwise sets extra[xkey] (when extra and xkey are given). Empty values are
 * dropped. RP_E_NOMEM only. */
rp_status lines_name(json_t *parent, const char *obj, const char *key, const char *s, size_t n,
                     json_t *extra, const char *xkey) RP_MUST_CHECK;

/* The same for a text field (control characters allowed, RP_FIELD_MAX_BYTES). */
rp_status lines_text(json_t *parent, const char *obj, const char *key, const char *s, size_t n,
                     json_t *extra, const char *xkey) RP_MUST_CHECK;

/* The same for a typed value (IP, hostname, hash, email, URL) that must pass
 * observable_canonical(t). For OBS_IPV4 either family is taken. */
rp_status lines_typed(json_t *parent, const char *obj, const char *key, enum obs_type t,
                      const char *s, size_t n, json_t *extra, const char *xkey) RP_MUST_CHECK;

/* The same for an unsigned decimal integer in 0..max. */
rp_status lines_uint(json_t *parent, const char *obj, const char *key, const char *s, size_t n,
                     int64_t max, json_t *extra, const char *xkey) RP_MUST_CHECK;

/* A file hash of any kind: file.md5, file.sha1 or file.sha256 by its length. */
rp_status lines_hash(json_t *alert, const char *obj, const char *s, size_t n, json_t *extra,
                     const char *xkey) RP_MUST_CHECK;

/* Appends an explicit observable {type, value, role} to alert.observables when
 * the value is a t; otherwise nothing. RP_E_NOMEM only. */
rp_status lines_observable(json_t *alert, enum obs_type t, const char *s, size_t n,
                           const char *role) RP_MUST_CHECK;

/* Sets alert.event_time (RFC 3339) from ms when it lies in years 1970-9999;
 * returns false (nothing set) otherwise. RP_E_NOMEM is reported as false too,
 * then found by the caller's next allocation. */
bool lines_set_time(json_t *alert, int64_t ms);

/* Host and time of a syslog header into the alert, where it has none yet: the
 * header's host as host.ip when it is an address, else host.name. */
rp_status lines_fill_from_header(json_t *alert, const struct syslog_msg *hdr) RP_MUST_CHECK;

/* Milliseconds since the epoch of a wall-clock time without a zone, read in the
 * local time zone (TZ) as syslog daemons do. false when a field is out of range. */
bool lines_local_ms(int year, int mon, int day, int hour, int min, int sec, int msec, int64_t *out);

/* Milliseconds of a UTC wall-clock time (offset_s east of UTC subtracted). */
bool lines_utc_ms(int year, int mon, int day, int hour, int min, int sec, int msec, long offset_s,
                  int64_t *out);

/* The times vendors put in CEF rt=/start=, LEEF devTime= and the like: epoch
 * seconds or milliseconds (all digits), "MMM dd[ yyyy] HH:mm:ss[.SSS][ zone]"
 * (zone: UTC, GMT, Z, +HH:MM, +HHMM or a common US/European abbreviation; none:
 * local time; no year: as for RFC 3164), or RFC 3339. false when it is none. */
bool lines_parse_time(const char *s, size_t n, int64_t now_ms, int64_t *out);

/* 1-12 for "Jan".."Dec" (any case, first three letters), 0 otherwise. */
int lines_month(const char *s, size_t n);

/* Case-insensitive search of needle (NUL-terminated, lower case) in s[0..n). */
bool lines_icontains(const char *s, size_t n, const char *needle);

/* Case-insensitive equality of s[0..n) and the NUL-terminated lower-case word. */
bool lines_ieq(const char *s, size_t n, const char *word);

/* The kind of an event from its vendor and product (EDR vendors: endpoint;
 * firewalls, IDS/IPS: network), its name and category (logon, authentication:
 * auth). Returns "endpoint", "auth", "network" or "other". */
const char *lines_kind(const char *vendor, size_t vn, const char *product, size_t pn,
                       const char *name, size_t nn, const char *cat, size_t cn);

/* "vendor/product/id", each part cleaned as by lines_clean, into out (cap
 * bytes); the id alone when the whole would not fit. The rule of CEF and LEEF
 * events: a signature id alone ("18", "4625") means nothing across vendors. */
void lines_rule(const char *vendor, size_t vn, const char *product, size_t pn, const char *id,
                size_t idn, char *out, size_t cap);

/* A syslog-ish source name from a vendor: lower case, [a-z0-9._-], spaces and
 * other characters as '-', at most 64 bytes, into out (cap >= 65). Returns the
 * length (0 when nothing usable was left). */
size_t lines_source_name(const char *s, size_t n, char *out, size_t cap);

#endif

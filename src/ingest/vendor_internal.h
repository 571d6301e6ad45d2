/*
 * vendor_internal.h: what the vendor normalizers (the files of ingest/vendor/) share.
 *
 * Each vendor file exports one struct vendor_def: its name, a detector that
 * looks for the distinctive keys of that vendor's documents, and a mapper that
 * fills a struct vendor_ctx from the document with the helpers below.
 * ingest/vendor.c holds the table of vendors in detection order.
 *
 * The helpers make a mapper short and safe:
 *   - vendor_get() reads a dotted path through nested objects and literal dotted
 *     keys ({"kibana.alert.rule.name": ...} as Kibana stores them) and falls back
 *     to a case-insensitive key match (Panther stores Okta's "eventType" as
 *     "eventtype").
 *   - vendor_set_*() write one normalized field only if it is not set yet, so a
 *     mapper lists a field's sources in order of preference. They check the value
 *     as alert_normalize() will: a placeholder ("-", "N/A", "null", "unknown", an
 *     all-zero hash, 0.0.0.0) is skipped; any other value that would fail the gate
 *     (an IP that is not one, a 31-digit hash) is dropped and its field named in
 *     extra.<vendor>.dropped, so that one bad vendor field never loses the alert.
 *     Names are cut to RP_NAME_MAX_BYTES and texts to RP_FIELD_MAX_BYTES on a
 *     UTF-8 boundary, control characters in names replaced.
 *   - allocation failures are sticky in ctx->st; the mapper returns
 *     vendor_done(ctx) at its end.
 * Pure functions of their input; any thread.
 */
#ifndef RP_INGEST_VENDOR_INTERNAL_H
#define RP_INGEST_VENDOR_INTERNAL_H

#include "core/buf.h"
#include "core/status.h"
#include "model/observable.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

/* One alert being built from one vendor document. */
struct vendor_ctx {
    const char *vendor;   /* "crowdstrike": the source and the extra.<vendor> key */
    json_t *doc;          /* the vendor's document (borrowed) */
    json_t *alert;        /* the input-shape alert being built (owned) */
    json_t *extra;        /* extra.<vendor>, created on first use (owned by alert) */
    json_t *observables;  /* explicit observables, created on first use (owned by alert) */
    struct buf tmp;       /* scratch for canonical values */
    struct rp_error *err; /* the caller's */
    rp_status st;         /* RP_E_NOMEM once an allocation failed */
};

struct vendor_def {
    const char *name; /* "crowdstrike" */
    const char *keys; /* what the detector looks for, for messages and docs */
    /* True when doc (an object) has the distinctive keys of this vendor. Cheap,
     * no allocation. */
    bool (*detect)(json_t *doc);
    /* Fills c->alert from c->doc. RP_E_INVALID (with vendor_fail) when a field
     * the alert needs is missing or broken; RP_E_NOMEM. */
    rp_status (*map)(struct vendor_ctx *c);
};

extern const struct vendor_def vendor_elastic, vendor_splunk, vendor_crowdstrike,
    vendor_carbonblack, vendor_cylance, vendor_defender, vendor_msgraph, vendor_okta,
    vendor_azuread, vendor_windows;

/* --- reading the vendor's document ---------------------------------------- */

/* The value at a dotted path ("device.hostname") under obj, or NULL. Literal keys
 * containing dots are tried before descending, so "kibana.alert.rule.name" finds
 * both {"kibana":{"alert":...}} and {"kibana.alert.rule.name": ...}. Paths have at
 * most VENDOR_PATH_SEGMENTS_MAX parts; no recursion. */
json_t *vendor_get(json_t *obj, const char *path);

/* vendor_get() as a string: the first element of an array (Splunk multivalue
 * fields), NULL for anything that is not a string. */
const char *vendor_str(json_t *obj, const char *path);

/* Case-insensitive: does the string at path equal one of the NULL-terminated
 * list? */
bool vendor_str_is(json_t *obj, const char *path, const char *const *values);

/* True when s (NUL-terminated) is a placeholder for "no value": "", "-", "--",
 * "N/A", "null", "none", "(null)", "unknown" (any case, trimmed). */
bool vendor_placeholder(const char *s);

/* A JSON number, or a string of decimal digits (or "0x" hex digits), as an
 * integer. False for anything else. */
bool vendor_int(json_t *v, long long *out);

/* Is v (or its first element) a string holding an IPv4 or IPv6 address? */
bool vendor_is_ip(json_t *v);

/* Parses a vendor timestamp: RFC 3339, "YYYY-MM-DD HH:MM:SS[.frac]" with or
 * without a zone ("Z", "+HH:MM", "+HHMM", " +0000", "UTC"; none means UTC), or
 * epoch seconds, milliseconds, microseconds or nanoseconds as a number or a
 * digit string. False for anything else and for the epoch itself (the 1970
 * placeholder of unset times). */
bool vendor_time_ms(json_t *v, int64_t *ms);

/* The last component of a Windows or POSIX path ("C:\x\y.exe" -> "y.exe"). */
const char *vendor_basename(const char *path);

/* Case-insensitive substring search (ASCII). */
bool vendor_contains(const char *haystack, const char *needle);

/* --- building the alert ------------------------------------------------------ */

/* The setters below write the field at dst ("host.name", "process.parent.pid")
 * of the alert unless it is already set, creating the objects on the way. v may
 * be NULL (nothing is done); strings, numbers and the first element of an array
 * are accepted where a name is expected. */
void vendor_set_name(struct vendor_ctx *c, const char *dst, json_t *v);
void vendor_set_text(struct vendor_ctx *c, const char *dst, json_t *v);
void vendor_set_cstr(struct vendor_ctx *c, const char *dst, const char *s); /* a name */
void vendor_set_ip(struct vendor_ctx *c, const char *dst, json_t *v);
void vendor_set_email(struct vendor_ctx *c, const char *dst, json_t *v);
/* t is OBS_MD5, OBS_SHA1 or OBS_SHA256. */
void vendor_set_hash(struct vendor_ctx *c, const char *dst, enum obs_type t, json_t *v);
/* A hash of any of the three lengths, to dst_prefix + "md5"/"sha1"/"sha256"
 * ("file.") by its length. */
void vendor_set_anyhash(struct vendor_ctx *c, const char *dst_prefix, json_t *v);
/* Integers in [min, max]; vendor_int() rules. */
void vendor_set_int(struct vendor_ctx *c, const char *dst, json_t *v, long long min, long long max);
void vendor_set_port(struct vendor_ctx *c, const char *dst, json_t *v); /* 1-65535 */

/* Appends a name (vendor_set_name rules) to the list at dst ("email.to"),
 * created on first use, up to RP_VENDOR_LIST_MAX entries. */
void vendor_append_name(struct vendor_ctx *c, const char *dst, json_t *v);

/* host.name from a host name (a "DOMAIN\HOST" prefix is cut off); when the value
 * is an IP address it goes to host.ip instead. */
void vendor_set_host(struct vendor_ctx *c, json_t *v);

/* user.name (and user.domain, user.email) from "DOMAIN\user", "user@domain" or
 * "user". */
void vendor_set_user(struct vendor_ctx *c, json_t *v);

/* The process or file fields from a full path: <prefix>path and <prefix>name
 * (the base name). prefix is "process.", "file." or "process.parent." (which has
 * no path: only the name is set). */
void vendor_set_path(struct vendor_ctx *c, const char *prefix, json_t *v);

/* <prefix>name from name and <prefix>path from a folder and a name: dir is the
 * full path when it already ends with name (vendors use one field for both),
 * else the folder the two are joined with its own separator. prefix is
 * "process." or "file.". */
void vendor_set_dir_name(struct vendor_ctx *c, const char *prefix, json_t *dir, json_t *name);

/* src.geo (or any dst) from the vendor's geo fields; each may be NULL. */
void vendor_set_geo(struct vendor_ctx *c, json_t *city, json_t *region, json_t *country,
                    json_t *country_code, json_t *lat, json_t *lon);

/* event_time from a vendor timestamp (vendor_time_ms rules), as RFC 3339. */
void vendor_set_time(struct vendor_ctx *c, json_t *v);

/* severity (0-100, clamped) unless set; vendor_raise_severity sets it to at
 * least sev. */
void vendor_set_severity(struct vendor_ctx *c, int sev);
void vendor_raise_severity(struct vendor_ctx *c, int sev);
/* The usual labels: informational/info 10, low 30, medium/moderate 50, high 70,
 * critical 90 (any case). -1 for anything else. */
int vendor_severity_label(const char *label);

/* kind: "endpoint", "auth", "phishing", "network" or "other" (replaces). */
void vendor_set_kind(struct vendor_ctx *c, const char *kind);

/* Is the field at dst set? */
bool vendor_isset(struct vendor_ctx *c, const char *dst);

/* extra.<vendor>.key = a bounded copy of v: strings cut to
 * VENDOR_EXTRA_STRING_MAX, arrays to VENDOR_EXTRA_ARRAY_MAX scalars, objects to
 * VENDOR_EXTRA_ARRAY_MAX scalar members; at most VENDOR_EXTRA_KEYS_MAX keys.
 * Placeholders and nulls are skipped. */
void vendor_extra(struct vendor_ctx *c, const char *key, json_t *v);

/* An explicit observable {type, value, role "related"} when value is a valid t
 * (silently skipped otherwise); at most VENDOR_OBSERVABLES_MAX per alert. */
void vendor_observable(struct vendor_ctx *c, enum obs_type t, json_t *v);

/* Sets err to "<vendor>: <field>: <what>" and returns RP_E_INVALID. */
rp_status vendor_fail(struct vendor_ctx *c, const char *field, const char *fmt, ...)
    RP_PRINTF(3, 4);

/* Ends a mapping: drops a user object that holds only a domain, and returns
 * RP_E_NOMEM when an allocation failed, else RP_E_INVALID when neither a title
 * nor a rule was found (named by what), else RP_OK. */
rp_status vendor_done(struct vendor_ctx *c, const char *what);

/* Builds c->alert with kind, source and raw, runs def->map, and hands the alert
 * out (vendor.c and winevent XML use it). raw is a new reference the alert
 * takes. */
rp_status vendor_run(const struct vendor_def *def, json_t *doc, json_t *raw, json_t **alert,
                     struct rp_error *err);

#endif

/*
 * alert.h: the normalized alert (DESIGN.md §2) as a jansson object.
 *
 * alert_normalize() is the one gate every alert passes: it checks each field of
 * an input object against the schema (type, length, format), fills the defaults
 * (kind, severity, times, id), canonicalises values, derives the observables
 * from the typed fields and computes the fingerprint. Anything it cannot accept
 * is rejected whole, with the field path and the problem ("host.ip: not an IP
 * address"), never half-stored. Pure function of its inputs; any thread.
 */
#ifndef RP_MODEL_ALERT_H
#define RP_MODEL_ALERT_H

#include "core/config.h"
#include "core/status.h"
#include "core/ulid.h"

#include <jansson.h>
#include <stdint.h>

enum alert_kind { ALERT_ENDPOINT, ALERT_AUTH, ALERT_PHISHING, ALERT_NETWORK, ALERT_OTHER };

/* "endpoint", "auth", ... */
const char *alert_kind_name(enum alert_kind k);
rp_status alert_kind_parse(const char *s, enum alert_kind *out) RP_MUST_CHECK;

/* Severity is 0-100; the label is a function of it:
 * info 0-19, low 20-39, medium 40-59, high 60-79, critical 80-100. */
const char *severity_label(int severity);

/* The severity a label stands for when only the label is given:
 * info 10, low 30, medium 50, high 70, critical 90. */
rp_status severity_from_label(const char *label, int *out) RP_MUST_CHECK;

#define ALERT_SEVERITY_DEFAULT 50
#define ALERT_FINGERPRINT_HEX  64

struct alert_opts {
    int64_t received_ms;         /* the received_time to stamp */
    const char *default_source;  /* source when the input names none */
    const struct config *config; /* per-source fingerprint overrides; may be NULL */
};

/* Validates the input object in and builds its normalized form. On success *out
 * is a new reference the caller owns; in is not modified. On RP_E_INVALID, err
 * names the field path and the problem. */
rp_status alert_normalize(json_t *in, const struct alert_opts *opts, json_t **out,
                          struct rp_error *err) RP_MUST_CHECK;

/* The default fingerprint, or the source's override, of a normalized alert:
 * hex SHA-256 of the chosen fields. */
void alert_fingerprint(json_t *alert, const struct config_source *override,
                       char out[ALERT_FINGERPRINT_HEX + 1]);

/* True if path (dotted, such as "host.name") names a scalar field of the
 * normalized alert; used to check fingerprint overrides in the configuration. */
bool alert_field_known(const char *path);

/* Convenience getters on a normalized alert (never NULL: "" or 0 when absent). */
const char *alert_str(json_t *alert, const char *key);

/* A time field of a normalized alert ("event_time", "received_time") in epoch
 * ms, or dflt when it is absent or unreadable. */
int64_t alert_time_ms(json_t *alert, const char *key, int64_t dflt);
int alert_severity(json_t *alert);

#endif

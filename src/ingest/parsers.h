/*
 * parsers.h: the contract every input format follows (issue: real sources).
 *
 * A parser turns the bytes of ONE record (a syslog line, a CEF line, one mail,
 * one vendor JSON document) into an alert object in the input shape that
 * alert_normalize() checks (docs/alerts.md): the normalized field names, values
 * as the vendor gave them (alert_normalize canonicalises), `source` set to the
 * vendor or format ("crowdstrike", "cef", "sshd", ...), the vendor's own fields
 * that have no normalized place under `extra`, and the original document under
 * `raw` (a JSON value: the vendor's JSON as parsed, or the text line as a string).
 *
 * Results:
 *   RP_OK          *alert is a new reference the caller owns.
 *   RP_E_INVALID   the record is malformed: err says what, and where as a byte
 *                  offset into the record ("byte 57: ...") or a field name.
 *   RP_E_NOTFOUND  the record is well-formed but is no security event (an
 *                  sshd "Connection closed" line): it is counted as ignored,
 *                  not rejected. err says what it was.
 *   RP_E_NOMEM     out of memory.
 * Parsers take a pointer and a length, never read past it, never recurse without
 * a bound, allocate within the limits of core/limits.h, and are pure functions of
 * their input: any thread. Each has a fuzz target under tests/fuzz/.
 */
#ifndef RP_INGEST_PARSERS_H
#define RP_INGEST_PARSERS_H

#include "core/status.h"

#include <jansson.h>
#include <stddef.h>

typedef rp_status (*ingest_parse_fn)(const char *data, size_t len, json_t **alert,
                                     struct rp_error *err);

/* A record that holds several alerts (an API page {"value": [...]}, an
 * <Events> export) is read element by element: the parser calls an
 * ingest_item_fn once per element, in order, with what became of it, so that
 * a bad element is rejected alone and the good ones are kept. A record of one
 * alert gives one item with element 0. At most RP_INGEST_ELEMENTS_MAX items
 * come from one record; what lies beyond is one rejected item that says so. */
struct ingest_item {
    rp_status st;       /* RP_OK, RP_E_INVALID (rejected), RP_E_NOTFOUND (ignored) */
    json_t *alert;      /* RP_OK: the input-shape alert; the callback takes the reference */
    const char *reason; /* otherwise: why (valid during the call) */
    size_t element;     /* 1-based element of the record; 0: the record is one alert */
    size_t offset;      /* where the element starts in the record (bytes) */
    const char *raw;    /* the element's bytes, kept as the alert's raw (valid during */
    size_t raw_len;     /*   the call); the whole record for element 0 */
};

/* Receives one item. Returns RP_OK, or an error (RP_E_NOMEM) that ends the
 * record. */
typedef rp_status (*ingest_item_fn)(void *arg, const struct ingest_item *item);

/* Hands a single parser's result to fn as element 0 (the common case). */
rp_status ingest_item_single(rp_status st, json_t *alert, const struct rp_error *err,
                             const char *data, size_t len, ingest_item_fn fn,
                             void *arg) RP_MUST_CHECK;

#endif

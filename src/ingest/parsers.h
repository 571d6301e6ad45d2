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

#endif

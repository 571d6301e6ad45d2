/*
 * leef.h: IBM QRadar Log Event Extended Format 1.0 and 2.0:
 *   LEEF:1.0|Vendor|Product|Version|EventID|key=value<TAB>key=value
 *   LEEF:2.0|Vendor|Product|Version|EventID|DelimiterChar|key=value^key=value
 * (2.0's delimiter as a character or as x09 / 0x09 / \t). Pure; any thread.
 */
#ifndef RP_LEEF_H
#define RP_LEEF_H

#include "ingest/parsers.h"

/* {"version":"1.0","vendor":..,"product":..,"product_version":..,"event_id":..,
 *  "attributes":{...}} */
rp_status leef_parse(const char *data, size_t len, json_t **out,
                     struct rp_error *err) RP_MUST_CHECK;

/* ingest_parse_fn: a LEEF event as an alert (sev, src, dst, usrName, ...). */
rp_status leef_parse_alert(const char *data, size_t len, json_t **alert,
                           struct rp_error *err) RP_MUST_CHECK;

#endif

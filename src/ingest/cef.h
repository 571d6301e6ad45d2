/*
 * cef.h: ArcSight Common Event Format,
 *   CEF:Version|Device Vendor|Device Product|Device Version|Signature ID|Name|Severity|Extension
 * with the header escapes (\| \\) and the extension's (\= \\ \n \r), keys whose
 * values run to the next " key=", and the labels of custom fields (cs1Label=...
 * cs1=...) applied. Pure functions; any thread.
 */
#ifndef RP_CEF_H
#define RP_CEF_H

#include "ingest/parsers.h"

/* Parses "CEF:..." (len bytes; a syslog header must have been removed) into
 * {"version":0,"vendor":..,"product":..,"device_version":..,"signature_id":..,
 *  "name":..,"severity":"..","extensions":{"src":"1.2.3.4",...}}. */
rp_status cef_parse(const char *data, size_t len, json_t **out, struct rp_error *err) RP_MUST_CHECK;

/* ingest_parse_fn: a CEF line as an alert (severity 0-10 scaled to 0-100, or
 * Low/Medium/High/Very-High; src, dst, suser/duser, shost/dhost, fileHash,
 * request URL... mapped; raw is the line). */
rp_status cef_parse_alert(const char *data, size_t len, json_t **alert,
                          struct rp_error *err) RP_MUST_CHECK;

#endif

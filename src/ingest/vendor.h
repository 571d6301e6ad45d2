/*
 * vendor.h: vendor JSON documents into alerts. Each vendor has its own file
 * under ingest/vendor/ (crowdstrike.c, carbonblack.c, cylance.c, defender.c,
 * msgraph.c, splunk.c, elastic.c, okta.c, azuread.c, windows.c) with a detector
 * (the distinctive keys of that vendor's documents) and a mapping to the
 * normalized fields, from the vendor's own field names. Pure; any thread.
 */
#ifndef RP_INGEST_VENDOR_H
#define RP_INGEST_VENDOR_H

#include "ingest/parsers.h"

/* Recognises the vendor of a JSON document and maps it. RP_E_NOTFOUND when no
 * vendor matches (the document is then taken to be a normalized alert already);
 * RP_E_INVALID when a vendor matched but a field it needs is broken. *vendor
 * (when not NULL) gets the vendor's name. doc is not modified; raw is a new
 * reference to it. */
rp_status vendor_normalize(json_t *doc, json_t **alert, const char **vendor,
                           struct rp_error *err) RP_MUST_CHECK;

/* The same for one named vendor ("crowdstrike", ...): RP_E_NOTFOUND when the
 * name is unknown. */
rp_status vendor_normalize_as(const char *vendor, json_t *doc, json_t **alert,
                              struct rp_error *err) RP_MUST_CHECK;

/* ingest_parse_fn for a Windows event in XML (<Event xmlns=...>), 4624, 4625
 * and 4740 (and other Security events as kind auth/other). */
rp_status winevent_xml_parse_alert(const char *data, size_t len, json_t **alert,
                                   struct rp_error *err) RP_MUST_CHECK;

#endif

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

/* Windows events in XML, one item per event (parsers.h): one <Event> (element
 * 0, as winevent_xml_parse_alert), an <Events> document (Event Viewer's "Save
 * as XML", wevtutil /e:Events) or <Event> elements one after another (wevtutil
 * qe /f:xml), in UTF-8 or UTF-16 with its byte-order mark. Each event is cut out
 * of the text (comments, CDATA, processing instructions and quoted attribute
 * values skipped; no recursion) and parsed alone, so one broken event is
 * rejected with its number and byte offset and the others are kept; its raw is
 * its own text (in UTF-8 when the file was UTF-16, offsets then counting the
 * UTF-8 text). */
rp_status winevent_xml_parse_each(const char *data, size_t len, ingest_item_fn fn,
                                  void *arg) RP_MUST_CHECK;

#endif

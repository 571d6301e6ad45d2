/*
 * format.h: the input formats, how an input's format is recognised, how each
 * format is cut into records, and which parser reads a record.
 *
 *   json     a JSON object, an array or NDJSON; each document is a vendor's
 *            (recognised by ingest/vendor.h) or already a normalized alert
 *   syslog   one message per line, RFC 3164 or 5424; the MSG may carry CEF,
 *            LEEF, an sshd/PAM auth line or a Cylance threat event
 *   cef      one CEF event per line, with or without a syslog header
 *   leef     one LEEF event per line, with or without a syslog header
 *   mail     one RFC 5322 message (the whole input)
 *   winxml   Windows events in XML (the whole input): one <Event>, an <Events>
 *            export or concatenated <Event> elements
 *   a vendor name ("crowdstrike", "okta", ...): JSON read as that vendor's
 *
 * Auto-detection looks at the first bytes of the input. Pure functions; any
 * thread.
 */
#ifndef RP_INGEST_FORMAT_H
#define RP_INGEST_FORMAT_H

#include "core/status.h"
#include "ingest/parsers.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

enum ingest_format {
    FORMAT_AUTO,
    FORMAT_JSON,
    FORMAT_SYSLOG,
    FORMAT_CEF,
    FORMAT_LEEF,
    FORMAT_MAIL,
    FORMAT_WINXML,
};

/* How a format's input is cut into records (ingest/reader.h). */
enum ingest_framing { FRAMING_JSON, FRAMING_LINES, FRAMING_WHOLE };

struct ingest_format_spec {
    enum ingest_format format;
    const char *vendor; /* FORMAT_JSON read as this vendor's; NULL: recognise it */
};

/* Parses a --format / ?format= value. RP_E_INVALID with the list of names. */
rp_status ingest_format_from_name(const char *name, struct ingest_format_spec *out,
                                  struct rp_error *err) RP_MUST_CHECK;

const char *ingest_format_name(enum ingest_format f);

/* The format of an input from its first bytes (at least the first line, or
 * what there is). Never FORMAT_AUTO: unrecognised text is taken as syslog lines,
 * whose parser then says what is wrong with each. */
enum ingest_format ingest_format_detect(const char *data, size_t len);

enum ingest_framing ingest_format_framing(enum ingest_format f);

/* The largest record of a format (bytes): a line, a JSON document, a mail. */
size_t ingest_format_record_max(enum ingest_format f);

/* Reads one record of format spec into an alert in the input shape of
 * alert_normalize (see ingest/parsers.h for the results: RP_OK, RP_E_INVALID,
 * RP_E_NOTFOUND for "no security event: ignored"). For FORMAT_AUTO the record's
 * own first bytes decide (a JSON line among syslog lines is read as JSON). */
rp_status ingest_format_read(const struct ingest_format_spec *spec, const char *data, size_t len,
                             json_t **alert, struct rp_error *err) RP_MUST_CHECK;

/* Reads one record that may hold several alerts (ingest/parsers.h, struct
 * ingest_item): fn gets one item per alert, in order. A JSON document that is
 * an API list response ({"@odata.context", "value": [...]} of Defender and
 * Graph, CrowdStrike's {"meta", "resources": [...]}, {"results": [...]} of
 * Carbon Black and Splunk, Cylance's {"page_items": [...]}, Elasticsearch's
 * hits.hits) gives one item per element, normalized as the vendor's (forced or
 * recognised); Windows XML with several <Event> (an <Events> export, wevtutil's
 * concatenated events) one per event. Every other record gives one item,
 * element 0. Returns RP_OK unless fn failed or memory ran out. (ingest_format_read
 * above is the same for a record that must hold one alert: several are
 * RP_E_INVALID.) */
rp_status ingest_format_read_each(const struct ingest_format_spec *spec, const char *data,
                                  size_t len, ingest_item_fn fn, void *arg) RP_MUST_CHECK;

#endif

/*
 * format.c: format names, detection from the first bytes, framing, and the
 * dispatch of one record to its parser. Pure functions; any thread.
 */
#include "ingest/format.h"

#include "core/limits.h"
#include "ingest/cef.h"
#include "ingest/leef.h"
#include "ingest/mail.h"
#include "ingest/syslog.h"
#include "ingest/vendor.h"

#include <ctype.h>
#include <string.h>

static const struct {
    const char *name;
    enum ingest_format format;
} NAMES[] = {
    {"auto", FORMAT_AUTO}, {"json", FORMAT_JSON},     {"syslog", FORMAT_SYSLOG},
    {"cef", FORMAT_CEF},   {"leef", FORMAT_LEEF},     {"mail", FORMAT_MAIL},
    {"eml", FORMAT_MAIL},  {"winxml", FORMAT_WINXML},
};

/* Vendors whose JSON a --format may name (ingest/vendor.h knows them). */
static const char *const VENDORS[] = {
    "crowdstrike", "carbonblack", "cylance", "defender", "msgraph",
    "splunk",      "elastic",     "okta",    "azuread",  "windows",
};

rp_status ingest_format_from_name(const char *name, struct ingest_format_spec *out,
                                  struct rp_error *err)
{
    out->vendor = NULL;
    for (size_t i = 0; i < sizeof(NAMES) / sizeof(NAMES[0]); i++) {
        if (strcmp(name, NAMES[i].name) == 0) {
            out->format = NAMES[i].format;
            return RP_OK;
        }
    }
    for (size_t i = 0; i < sizeof(VENDORS) / sizeof(VENDORS[0]); i++) {
        if (strcmp(name, VENDORS[i]) == 0) {
            out->format = FORMAT_JSON;
            out->vendor = VENDORS[i];
            return RP_OK;
        }
    }
    return rp_error_set(err, RP_E_INVALID,
                        "unknown format '%s' (auto, json, syslog, cef, leef, mail, winxml, or a "
                        "vendor: crowdstrike, carbonblack, cylance, defender, msgraph, splunk, "
                        "elastic, okta, azuread, windows)",
                        name);
}

const char *ingest_format_name(enum ingest_format f)
{
    for (size_t i = 0; i < sizeof(NAMES) / sizeof(NAMES[0]); i++)
        if (NAMES[i].format == f)
            return NAMES[i].name;
    return "unknown";
}

static bool starts(const char *p, size_t n, const char *prefix)
{
    size_t l = strlen(prefix);
    return n >= l && memcmp(p, prefix, l) == 0;
}

enum ingest_format ingest_format_detect(const char *data, size_t len)
{
    size_t i = 0;
    if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0)
        i = 3;
    while (i < len && isspace((unsigned char)data[i]))
        i++;
    const char *p = data + i;
    size_t n = len - i;
    if (n == 0)
        return FORMAT_JSON;
    if (p[0] == '{' || p[0] == '[')
        return FORMAT_JSON;
    if (starts(p, n, "CEF:"))
        return FORMAT_CEF;
    if (starts(p, n, "LEEF:"))
        return FORMAT_LEEF;
    if (starts(p, n, "<Event") || starts(p, n, "<?xml"))
        return FORMAT_WINXML;
    if (p[0] == '<' && n > 1 && isdigit((unsigned char)p[1]))
        return FORMAT_SYSLOG;
    if (mail_detect(p, n))
        return FORMAT_MAIL;
    return FORMAT_SYSLOG;
}

enum ingest_framing ingest_format_framing(enum ingest_format f)
{
    switch (f) {
    case FORMAT_JSON:
        return FRAMING_JSON;
    case FORMAT_MAIL:
    case FORMAT_WINXML:
        return FRAMING_WHOLE;
    case FORMAT_AUTO:
    case FORMAT_SYSLOG:
    case FORMAT_CEF:
    case FORMAT_LEEF:
        break;
    }
    return FRAMING_LINES;
}

size_t ingest_format_record_max(enum ingest_format f)
{
    switch (ingest_format_framing(f)) {
    case FRAMING_JSON:
        return RP_RECORD_MAX_BYTES;
    case FRAMING_WHOLE:
        return RP_INGEST_WHOLE_MAX;
    case FRAMING_LINES:
        break;
    }
    return RP_INGEST_LINE_MAX;
}

static rp_status read_json(const struct ingest_format_spec *spec, const char *data, size_t len,
                           json_t **alert, struct rp_error *err)
{
    json_error_t jerr;
    json_t *doc = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
    if (doc == NULL && jerr.line <= 1) /* the record's own line is reported with it */
        return rp_error_set(err, RP_E_INVALID, "invalid JSON at column %d: %s", jerr.column,
                            jerr.text);
    if (doc == NULL)
        return rp_error_set(err, RP_E_INVALID,
                            "invalid JSON at line %d (of the record) column %d: %s", jerr.line,
                            jerr.column, jerr.text);
    rp_status st;
    if (spec->vendor != NULL) {
        st = vendor_normalize_as(spec->vendor, doc, alert, err);
    } else if (!json_is_object(doc)) {
        st = RP_E_NOTFOUND; /* alert_normalize says what is wrong with it */
    } else {
        st = vendor_normalize(doc, alert, NULL, err);
    }
    if (st == RP_E_NOTFOUND && spec->vendor == NULL) {
        *alert = doc; /* no vendor's: a normalized alert already */
        return RP_OK;
    }
    json_decref(doc);
    if (st == RP_E_NOTFOUND)
        return rp_error_set(err, RP_E_INVALID, "not a %s document", spec->vendor);
    return st;
}

rp_status ingest_format_read(const struct ingest_format_spec *spec, const char *data, size_t len,
                             json_t **alert, struct rp_error *err)
{
    *alert = NULL;
    enum ingest_format f = spec->format;
    if (f == FORMAT_AUTO)
        f = ingest_format_detect(data, len);
    switch (f) {
    case FORMAT_JSON:
        return read_json(spec, data, len, alert, err);
    case FORMAT_MAIL:
        return mail_parse_alert(data, len, alert, err);
    case FORMAT_WINXML:
        return winevent_xml_parse_alert(data, len, alert, err);
    case FORMAT_CEF:
        if (starts(data, len, "CEF:"))
            return cef_parse_alert(data, len, alert, err);
        return syslog_parse_alert(data, len, alert, err);
    case FORMAT_LEEF:
        if (starts(data, len, "LEEF:"))
            return leef_parse_alert(data, len, alert, err);
        return syslog_parse_alert(data, len, alert, err);
    case FORMAT_SYSLOG:
    case FORMAT_AUTO:
        break;
    }
    /* a JSON document in a stream of lines (a SIEM mixing its outputs) */
    if (len > 0 && data[0] == '{')
        return read_json(spec, data, len, alert, err);
    return syslog_parse_alert(data, len, alert, err);
}

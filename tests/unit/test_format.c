/*
 * test_format.c: format names, detection from the first bytes, framing, the
 * reader's line and whole-input framings, and records that hold several
 * alerts (API list envelopes, Windows <Events> documents) read element by
 * element.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/limits.h"
#include "ingest/format.h"
#include "ingest/reader.h"
#include "ingest/vendor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void t_names(void **state)
{
    (void)state;
    struct ingest_format_spec s;
    struct rp_error err;
    assert_int_equal(ingest_format_from_name("cef", &s, &err), RP_OK);
    assert_int_equal(s.format, FORMAT_CEF);
    assert_null(s.vendor);
    assert_int_equal(ingest_format_from_name("okta", &s, &err), RP_OK);
    assert_int_equal(s.format, FORMAT_JSON);
    assert_string_equal(s.vendor, "okta");
    assert_int_equal(ingest_format_from_name("eml", &s, &err), RP_OK);
    assert_int_equal(s.format, FORMAT_MAIL);
    assert_int_equal(ingest_format_from_name("xml", &s, &err), RP_E_INVALID);
    assert_non_null(strstr(err.msg, "unknown format 'xml'"));
    assert_string_equal(ingest_format_name(FORMAT_WINXML), "winxml");
}

static const struct {
    const char *in;
    enum ingest_format want;
} DETECT[] = {
    {"", FORMAT_JSON},
    {"  \n{\"a\":1}", FORMAT_JSON},
    {"\xEF\xBB\xBF[1]", FORMAT_JSON},
    {"CEF:0|Vendor|Product|1.0|100|Name|5|src=1.2.3.4", FORMAT_CEF},
    {"LEEF:1.0|V|P|1|E|src=1.2.3.4", FORMAT_LEEF},
    {"<34>1 2026-11-30T09:48:36Z host app - - - msg", FORMAT_SYSLOG},
    {"<13>Nov 30 09:48:36 host sshd[1]: Failed password for root from 1.2.3.4", FORMAT_SYSLOG},
    {"Nov 30 09:48:36 host sshd[1]: Failed password", FORMAT_SYSLOG},
    {"<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>", FORMAT_WINXML},
    {"<?xml version=\"1.0\"?>\n<Event>", FORMAT_WINXML},
    {"\xFF\xFE<\0E\0", FORMAT_WINXML}, /* UTF-16, as Event Viewer saves */
};

static void t_detect(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(DETECT) / sizeof(DETECT[0]); i++) {
        size_t n = strlen(DETECT[i].in);
        if (n == 3 && DETECT[i].in[0] == '\xFF')
            n = 6;
        enum ingest_format f = ingest_format_detect(DETECT[i].in, n);
        if (f != DETECT[i].want)
            fail_msg("'%s': detected %s, want %s", DETECT[i].in, ingest_format_name(f),
                     ingest_format_name(DETECT[i].want));
    }
    assert_int_equal(ingest_format_framing(FORMAT_JSON), FRAMING_JSON);
    assert_int_equal(ingest_format_framing(FORMAT_CEF), FRAMING_LINES);
    assert_int_equal(ingest_format_framing(FORMAT_MAIL), FRAMING_WHOLE);
}

/* Records of a framed reader as "line:text|..." fed in chunks of size chunk. */
static void cut(enum reader_framing fr, const char *in, size_t chunk, size_t max, char *out,
                size_t cap)
{
    struct reader *r;
    assert_int_equal(reader_new_framed(fr, max, &r), RP_OK);
    size_t len = strlen(in), fed = 0, o = 0;
    out[0] = '\0';
    for (;;) {
        struct reader_record rec;
        bool have;
        bool eof = fed == len;
        assert_int_equal(reader_next(r, eof, &rec, &have), RP_OK);
        if (have) {
            int n = rec.error ? snprintf(out + o, cap - o, "%s%llu:!%s", o ? "|" : "",
                                         (unsigned long long)rec.line, rec.error)
                              : snprintf(out + o, cap - o, "%s%llu:%.*s", o ? "|" : "",
                                         (unsigned long long)rec.line, (int)rec.len, rec.data);
            assert_true(n > 0 && (size_t)n < cap - o);
            o += (size_t)n;
            continue;
        }
        if (eof)
            break;
        size_t n = len - fed < chunk ? len - fed : chunk;
        assert_int_equal(reader_feed(r, in + fed, n), RP_OK);
        fed += n;
    }
    reader_free(r);
}

static void t_lines(void **state)
{
    (void)state;
    char out[1024];
    const char *in = "a b\r\n\n  \nCEF:0|x\nlast";
    for (size_t chunk = 1; chunk < 8; chunk++) {
        cut(READER_LINES, in, chunk, 64, out, sizeof(out));
        assert_string_equal(out, "1:a b|4:CEF:0|x|5:last");
    }
    cut(READER_LINES, "short\nthis line is too long\nok\n", 3, 8, out, sizeof(out));
    assert_string_equal(out, "1:short|2:!line longer than 8 bytes|3:ok");
}

static void t_whole(void **state)
{
    (void)state;
    char out[1024];
    cut(READER_WHOLE, "From: a\nTo: b\n\nbody\n", 4, 64, out, sizeof(out));
    assert_string_equal(out, "1:From: a\nTo: b\n\nbody\n");
    cut(READER_WHOLE, "0123456789abcdef", 5, 8, out, sizeof(out));
    assert_string_equal(out, "1:!input longer than 8 bytes");
    cut(READER_WHOLE, " \n ", 1, 8, out, sizeof(out));
    assert_string_equal(out, "");
}

/* --- records of several alerts ------------------------------------------------- */

/* What the items of one record were: "element:source" for an alert,
 * "element:!reason" for a rejection, "element:-reason" when ignored, joined by
 * '|'; and each item's raw bytes checked against the record. */
struct items {
    char out[4096];
    size_t o;
    const char *data;
    size_t len;
    char raw[2][128]; /* the raw text of elements 1 and 2 */
};

static rp_status collect(void *arg, const struct ingest_item *it)
{
    struct items *c = arg;
    char one[600];
    if (it->st == RP_OK)
        snprintf(one, sizeof(one), "%zu:%s", it->element,
                 json_string_value(json_object_get(it->alert, "source")));
    else
        snprintf(one, sizeof(one), "%zu:%c%s", it->element, it->st == RP_E_NOTFOUND ? '-' : '!',
                 it->reason);
    /* the raw bytes of an element are its own text, where it stands */
    if (it->element > 0 && it->raw >= c->data && it->raw < c->data + c->len) {
        assert_true(it->raw == c->data + it->offset);
        assert_true(it->offset + it->raw_len <= c->len);
    }
    if (it->element > 0 && it->raw_len > 0 && it->st == RP_OK && it->raw[0] == '{') {
        json_t *again = json_loadb(it->raw, it->raw_len, 0, NULL);
        assert_non_null(again); /* a whole JSON value */
        json_decref(again);
    }
    if (it->element >= 1 && it->element <= 2)
        snprintf(c->raw[it->element - 1], sizeof(c->raw[0]), "%.*s", (int)it->raw_len, it->raw);
    json_decref(it->alert);
    int n = snprintf(c->out + c->o, sizeof(c->out) - c->o, "%s%s", c->o ? "|" : "", one);
    assert_true(n > 0 && (size_t)n < sizeof(c->out) - c->o);
    c->o += (size_t)n;
    return RP_OK;
}

static const char *items_of(const char *format, const char *in, size_t len, struct items *c)
{
    struct ingest_format_spec spec = {FORMAT_AUTO, NULL};
    struct rp_error err;
    if (format != NULL)
        assert_int_equal(ingest_format_from_name(format, &spec, &err), RP_OK);
    memset(c, 0, sizeof(*c));
    c->data = in;
    c->len = len;
    assert_int_equal(ingest_format_read_each(&spec, in, len, collect, c), RP_OK);
    return c->out;
}

#define J(...) #__VA_ARGS__

static const struct {
    const char *name, *format, *in, *want;
} ENVELOPES[] = {
    {"Defender /api/alerts", NULL, J({
         "@odata.context" : "https://api.securitycenter.microsoft.com/api/$metadata#Alerts",
         "value" : [
             {
                 "id" : "da1",
                 "title" : "Suspicious PowerShell",
                 "severity" : "High",
                 "machineId" : "m1",
                 "computerDnsName" : "ws01",
                 "alertCreationTime" : "2024-05-01T10:00:00Z"
             },
             {"id" : "da2", "oops" : true}, "da3", {
                 "id" : "da4",
                 "title" : "Mimikatz",
                 "severity" : "High",
                 "machineId" : "m3",
                 "computerDnsName" : "ws03",
                 "alertCreationTime" : "2024-05-01T11:00:00Z"
             }
         ]
     }),
     "1:defender|2:(null)|3:!a string, not an object (a list of ids? fetch the "
     "entities)|4:defender"},
    {"Defender, forced", "defender", J({
         "value" : [
             {
                 "machineId" : "m1",
                 "computerDnsName" : "ws01",
                 "title" : "x",
                 "alertCreationTime" : "2024-05-01T10:00:00Z"
             },
             {"title" : "no machine"}
         ]
     }),
     "1:defender|2:!defender: not a defender document (looked for alertCreationTime, machineId "
     "with detectionSource or computerDnsName, or category \"AdvancedHunting-...\" with "
     "properties{})"},
    {"Graph alerts_v2 with nextLink", NULL, J({
         "@odata.context" : "https://graph.microsoft.com/v1.0/$metadata#security/alerts_v2",
         "@odata.nextLink" : "https://graph.microsoft.com/v1.0/security/alerts_v2?$skip=2",
         "value" : [ {
             "id" : "g1",
             "providerAlertId" : "p1",
             "serviceSource" : "microsoftDefenderForEndpoint",
             "title" : "Suspicious",
             "severity" : "high",
             "createdDateTime" : "2024-05-01T10:00:00Z"
         } ]
     }),
     "1:msgraph"},
    {"CrowdStrike resources", NULL, J({
         "meta" : {"query_time" : 0.01},
         "errors" : [],
         "resources" : [
             {
                 "composite_id" : "cid:ind:aid1:det1",
                 "device" : {"device_id" : "aid1", "hostname" : "WS01"},
                 "display_name" : "Credential dumping",
                 "severity" : 70
             },
             "cid:ind:aid2:det2"
         ]
     }),
     "1:crowdstrike|2:!a string, not an object (a list of ids? fetch the entities)"},
    {"Carbon Black results", NULL, J({
         "results" : [
             {
                 "id" : "a1",
                 "type" : "CB_ANALYTICS",
                 "org_key" : "ORG1",
                 "device_id" : 6023,
                 "reason" : "A known virus",
                 "severity" : 7
             },
             {
                 "id" : "a2",
                 "type" : "WATCHLIST",
                 "org_key" : "ORG1",
                 "device_id" : 6024,
                 "reason" : "Watchlist hit",
                 "severity" : 3
             }
         ],
         "num_found" : 2
     }),
     "1:carbonblack|2:carbonblack"},
    {"Cylance page_items", NULL, J({
         "page_number" : 1,
         "page_size" : 100,
         "page_items" : [
             {
                 "sha256" : "0F427B33B824110427B2BA7BE20740B45EA4DA41BC1416DD55771EDFB0C18F09",
                 "name" : "evil.exe",
                 "cylance_score" : -1,
                 "classification" : "Malware"
             },
             {"sha256" : "nope", "cylance_score" : -1, "name" : "x"}
         ]
     }),
     "1:cylance|2:!cylance: sha256: not a SHA-256 (64 hex digits)"},
    {"Splunk search results", NULL, J({
         "preview" : false,
         "init_offset" : 0,
         "messages" : [],
         "results" : [ {
             "_time" : "2024-05-01T10:00:00.000+00:00",
             "search_name" : "Endpoint - Malware - Rule",
             "rule_title" : "Malware on ws01",
             "urgency" : "high",
             "security_domain" : "endpoint"
         } ]
     }),
     "1:splunk"},
    {"Elasticsearch hits", NULL, J({
         "took" : 3,
         "timed_out" : false,
         "hits" : {
             "total" : {"value" : 2},
             "hits" : [
                 {
                     "_index" : ".alerts-security.alerts-default",
                     "_id" : "a",
                     "_source" : {
                         "kibana.alert.rule.name" : "Suspicious PowerShell",
                         "kibana.alert.risk_score" : 73
                     }
                 },
                 {
                     "_index" : "winlogbeat-8",
                     "_id" : "b",
                     "_source" : {"winlog" : {"event_id" : 4625, "computer_name" : "dc01"}}
                 }
             ]
         }
     }),
     "1:elastic|2:windows"},
    {"an empty page", NULL, J({"@odata.context" : "x", "value" : []}),
     "0:-an empty list (\"value\"): no alert"},
    {"a list key without the API's other keys is no envelope", NULL,
     J({"title" : "t", "value" : [ {"title" : "x"} ]}), "0:(null)"},
    {"a vendor's own document is never taken apart", NULL, J({
         "meta" : {},
         "machineId" : "m1",
         "computerDnsName" : "ws01",
         "alertCreationTime" : "2024-05-01T10:00:00Z",
         "title" : "t",
         "value" : [1]
     }),
     "0:defender"},
    {"broken JSON is the record's error", NULL, "{\"value\": [{\"a\": tru}]}",
     "0:!invalid JSON at column 20: invalid token near 'tru'"},
};

static void t_envelopes(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(ENVELOPES) / sizeof(ENVELOPES[0]); i++) {
        struct items c;
        const char *got =
            items_of(ENVELOPES[i].format, ENVELOPES[i].in, strlen(ENVELOPES[i].in), &c);
        if (strcmp(got, ENVELOPES[i].want) != 0)
            fail_msg("%s:\n got  %s\n want %s", ENVELOPES[i].name, got, ENVELOPES[i].want);
    }
}

/* The raw bytes of each element are exactly its text in the record, escapes
 * and spacing included. */
static void t_envelope_raw(void **state)
{
    (void)state;
    const char *in =
        "{\"@odata.context\":\"x\",\"value\":[ {\"title\":\"a\\\"]\",\"kind\":\"other\"}"
        " ,\n {\"title\" : \"b\"}\n]}";
    struct items c;
    assert_string_equal(items_of(NULL, in, strlen(in), &c), "1:(null)|2:(null)");
    assert_string_equal(c.raw[0], "{\"title\":\"a\\\"]\",\"kind\":\"other\"}");
    assert_string_equal(c.raw[1], "{\"title\" : \"b\"}");
}

static const char EV_4625[] =
    "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
    "<Provider Name='Microsoft-Windows-Security-Auditing'/><EventID>4625</EventID>"
    "<TimeCreated SystemTime='2024-05-01T10:00:00.000Z'/><Channel>Security</Channel>"
    "<Computer>dc01.corp.example</Computer></System><EventData>"
    "<Data Name='TargetUserName'>alice</Data><Data Name='Status'>0xc000006d</Data>"
    "<Data Name='IpAddress'>203.0.113.7</Data></EventData></Event>";
static const char EV_4740[] =
    "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
    "<EventID>4740</EventID><Computer>dc01</Computer></System><EventData>"
    "<Data Name='TargetUserName'>alice</Data><Data Name='TargetDomainName'>WS07</Data>"
    "</EventData><RenderingInfo><Message>locked &lt;out&gt;</Message></RenderingInfo></Event>";
static const char EV_4688[] =
    "<Event><System><EventID>4688</EventID><Computer>ws01</Computer></System><EventData>"
    "<Data Name='NewProcessName'>C:\\Windows\\cmd.exe</Data><Data "
    "Name='CommandLine'><![CDATA[cmd /c \"echo </Event>\"]]></Data></EventData></Event>";
static const char EV_BAD[] = "<Event><System><EventID>logon</EventID></System></Event>";

static void t_winevents(void **state)
{
    (void)state;
    char in[8192];
    struct items c;
    /* Event Viewer's "Save as XML": <Events> with a prolog; a bad event alone rejected */
    snprintf(in, sizeof(in),
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Events>\n%s\n%s\n"
             "<!-- a comment: </Event> -->\n%s\n%s\n</Events>\n",
             EV_4625, EV_BAD, EV_4740, EV_4688);
    const char *got = items_of(NULL, in, strlen(in), &c);
    assert_string_equal(got, "1:windows|2:!windows: System/EventID: required: an event "
                             "number|3:windows|4:windows");
    /* wevtutil qe /f:xml: events one after another, no root */
    snprintf(in, sizeof(in), "%s%s\r\n", EV_4625, EV_4740);
    assert_string_equal(items_of("winxml", in, strlen(in), &c), "1:windows|2:windows");
    /* one event stays one record, element 0, as before */
    assert_string_equal(items_of(NULL, EV_4625, strlen(EV_4625), &c), "0:windows");
    /* a cut file: the events before the cut are kept */
    snprintf(in, sizeof(in), "<Events>%s%.60s", EV_4625, EV_4740);
    assert_string_equal(items_of(NULL, in, strlen(in), &c),
                        "1:windows|2:!windows: an element that does not end");
    snprintf(in, sizeof(in), "<Events>%s", EV_4625);
    assert_string_equal(items_of(NULL, in, strlen(in), &c),
                        "1:windows|2:!windows: the document ends before </Events>");
    /* what is not an event is named */
    snprintf(in, sizeof(in), "<Events><Foo/>%s stray</Events>", EV_4740);
    assert_string_equal(items_of(NULL, in, strlen(in), &c),
                        "1:!windows: <Foo> is not an <Event>|2:windows|3:!windows: text "
                        "outside an <Event>");
    assert_string_equal(items_of(NULL, "<Events></Events>", 17, &c),
                        "0:-windows: an <Events> document with no <Event>");
    /* a DTD anywhere is refused */
    snprintf(in, sizeof(in), "<!DOCTYPE x [<!ENTITY a 'b'>]><Events>%s</Events>", EV_4625);
    items_of("winxml", in, strlen(in), &c);
    assert_non_null(strstr(c.out, "DOCTYPE is not allowed"));
    snprintf(in, sizeof(in), "<Events>%s<!DOCTYPE x></Events>", EV_4625);
    assert_string_equal(items_of(NULL, in, strlen(in), &c),
                        "1:windows|2:!windows: DOCTYPE is not allowed");
    /* UTF-16 with its byte-order mark, as Event Viewer writes it */
    snprintf(in, sizeof(in), "<?xml version=\"1.0\" encoding=\"UTF-16\"?><Events>%s%s</Events>",
             EV_4625, EV_4740);
    size_t n = strlen(in);
    char *w = malloc(2 * n + 2);
    assert_non_null(w);
    w[0] = '\xFF';
    w[1] = '\xFE';
    for (size_t i = 0; i < n; i++) {
        w[2 + 2 * i] = in[i];
        w[3 + 2 * i] = '\0';
    }
    assert_string_equal(items_of(NULL, w, 2 * n + 2, &c), "1:windows|2:windows");
    free(w);
}

/* More elements than RP_INGEST_ELEMENTS_MAX: the first are read, the rest is
 * one rejection that says so. */
struct counter {
    size_t ok, bad;
    char last[512];
};

static rp_status count_items(void *arg, const struct ingest_item *it)
{
    struct counter *k = arg;
    if (it->st == RP_OK) {
        k->ok++;
    } else {
        k->bad++;
        snprintf(k->last, sizeof(k->last), "%s", it->reason);
    }
    json_decref(it->alert);
    return RP_OK;
}

static void t_elements_limit(void **state)
{
    (void)state;
    size_t n = RP_INGEST_ELEMENTS_MAX + 5, cap = n * 16 + 64, o = 0;
    char *in = malloc(cap);
    assert_non_null(in);
    o += (size_t)snprintf(in + o, cap - o, "{\"@odata.context\":\"x\",\"value\":[");
    for (size_t i = 0; i < n; i++)
        o += (size_t)snprintf(in + o, cap - o, "%s{\"title\":\"t\"}", i ? "," : "");
    o += (size_t)snprintf(in + o, cap - o, "]}");
    struct ingest_format_spec spec = {FORMAT_AUTO, NULL};
    struct counter k = {0, 0, ""};
    assert_int_equal(ingest_format_read_each(&spec, in, o, count_items, &k), RP_OK);
    assert_int_equal(k.ok, RP_INGEST_ELEMENTS_MAX);
    assert_int_equal(k.bad, 1);
    assert_non_null(strstr(k.last, "over the limit of 10000"));
    free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_names),     cmocka_unit_test(t_detect),
        cmocka_unit_test(t_lines),     cmocka_unit_test(t_whole),
        cmocka_unit_test(t_envelopes), cmocka_unit_test(t_envelope_raw),
        cmocka_unit_test(t_winevents), cmocka_unit_test(t_elements_limit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

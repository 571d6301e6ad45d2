/*
 * splunk.c: Splunk Enterprise Security notable events into alerts.
 *
 * A notable is a search result with the ES fields (search_name, rule_name,
 * rule_title, security_domain, urgency, event_id, _time) and the CIM fields of
 * the event that triggered it (src, src_ip, dest, dest_ip, dest_dns, user,
 * src_user, action, app, process, process_name, file_name, file_hash, ...). It
 * arrives as a search result (the REST API, or a notable exported as JSON) or
 * inside the webhook alert action's body {"result":{...}, "sid", "search_name",
 * "app", "owner", "results_link"}; the result's fields then win and the
 * envelope fills in search_name. Splunk writes every value as a string and
 * multivalue fields as arrays: the first value is taken.
 *
 * kind from security_domain: access and identity are auth, endpoint is
 * endpoint, network is network, threat and audit are other. Severity from
 * urgency (ES's own priority of the notable), else severity: informational 10,
 * low 30, medium 50, high 70, critical 90. Pure; any thread.
 */
#include "ingest/vendor_internal.h"

#include <string.h>
#include <strings.h>

static bool is_webhook(json_t *d)
{
    return json_is_object(json_object_get(d, "result")) &&
           (json_is_string(json_object_get(d, "sid")) ||
            json_is_string(json_object_get(d, "results_link")));
}

static bool sp_detect(json_t *d)
{
    if (is_webhook(d))
        return true;
    if (json_object_get(d, "_time") == NULL)
        return false;
    return (json_object_get(d, "search_name") != NULL || json_object_get(d, "rule_name") != NULL) &&
           (json_object_get(d, "urgency") != NULL ||
            json_object_get(d, "security_domain") != NULL ||
            json_object_get(d, "event_id") != NULL ||
            json_object_get(d, "orig_action_name") != NULL);
}

static rp_status sp_map(struct vendor_ctx *c)
{
    json_t *env = c->doc;
    json_t *r = is_webhook(env) ? json_object_get(env, "result") : env;

    const char *dom = vendor_str(r, "security_domain");
    const char *kind = "other";
    if (dom != NULL) {
        if (strcasecmp(dom, "access") == 0 || strcasecmp(dom, "identity") == 0)
            kind = "auth";
        else if (strcasecmp(dom, "endpoint") == 0)
            kind = "endpoint";
        else if (strcasecmp(dom, "network") == 0)
            kind = "network";
    }
    vendor_set_kind(c, kind);

    vendor_set_name(c, "rule", vendor_get(r, "search_name"));
    vendor_set_name(c, "rule", vendor_get(r, "rule_name"));
    vendor_set_name(c, "rule", vendor_get(env, "search_name"));
    const char *rt = vendor_str(r, "rule_title");
    if (rt != NULL && strchr(rt, '$') == NULL) /* "$dest$" tokens left unexpanded */
        vendor_set_name(c, "title", vendor_get(r, "rule_title"));
    vendor_set_name(c, "title", vendor_get(r, "rule_name"));
    vendor_set_name(c, "title", vendor_get(r, "signature"));

    vendor_set_severity(c, vendor_severity_label(vendor_str(r, "urgency")));
    vendor_set_severity(c, vendor_severity_label(vendor_str(r, "severity")));

    /* the asset: dest (CIM) names it; dvc for device-only events */
    vendor_set_host(c, vendor_get(r, "dest_nt_host"));
    vendor_set_host(c, vendor_get(r, "dest_dns"));
    vendor_set_host(c, vendor_get(r, "dest")); /* a name or an IP (then host.ip) */
    vendor_set_ip(c, "host.ip", vendor_get(r, "dest_ip"));
    vendor_set_host(c, vendor_get(r, "dvc"));
    vendor_set_ip(c, "dst.ip", vendor_get(r, "dest_ip"));
    vendor_set_port(c, "dst.port", vendor_get(r, "dest_port"));

    vendor_set_ip(c, "src.ip", vendor_get(r, "src_ip"));
    if (vendor_is_ip(vendor_get(r, "src"))) /* CIM src: a name or an address */
        vendor_set_ip(c, "src.ip", vendor_get(r, "src"));
    else
        vendor_extra(c, "src", vendor_get(r, "src"));
    vendor_set_port(c, "src.port", vendor_get(r, "src_port"));

    vendor_set_user(c, vendor_get(r, "user"));
    vendor_set_user(c, vendor_get(r, "dest_user"));
    vendor_set_user(c, vendor_get(r, "src_user"));
    vendor_set_email(c, "user.email", vendor_get(r, "user_email"));

    vendor_set_name(c, "process.name", vendor_get(r, "process_name"));
    vendor_set_text(c, "process.path", vendor_get(r, "process_path"));
    vendor_set_text(c, "process.cmdline", vendor_get(r, "process"));
    vendor_set_int(c, "process.pid", vendor_get(r, "process_id"), 0, 4294967295LL);
    vendor_set_anyhash(c, "process.", vendor_get(r, "process_hash"));
    vendor_set_name(c, "process.parent.name", vendor_get(r, "parent_process_name"));
    vendor_set_text(c, "process.parent.cmdline", vendor_get(r, "parent_process"));
    vendor_set_int(c, "process.parent.pid", vendor_get(r, "parent_process_id"), 0, 4294967295LL);

    vendor_set_name(c, "file.name", vendor_get(r, "file_name"));
    vendor_set_text(c, "file.path", vendor_get(r, "file_path"));
    vendor_set_anyhash(c, "file.", vendor_get(r, "file_hash"));
    vendor_set_int(c, "file.size", vendor_get(r, "file_size"), 0, 1LL << 53);

    if (strcmp(kind, "auth") == 0) {
        const char *action = vendor_str(r, "action");
        if (action != NULL) {
            if (strcasecmp(action, "success") == 0 || strcasecmp(action, "allowed") == 0)
                vendor_set_cstr(c, "auth.result", "success");
            else if (strcasecmp(action, "failure") == 0 || strcasecmp(action, "blocked") == 0)
                vendor_set_cstr(c, "auth.result", "failure");
            else
                vendor_set_cstr(c, "auth.result", action);
        }
        vendor_set_name(c, "auth.method", vendor_get(r, "authentication_method"));
        vendor_set_name(c, "auth.method", vendor_get(r, "app"));
        vendor_set_text(c, "auth.reason", vendor_get(r, "reason"));
    }

    vendor_set_time(c, vendor_get(r, "_time"));
    vendor_set_time(c, vendor_get(r, "orig_time"));
    vendor_set_time(c, vendor_get(r, "_indextime"));

    static const char *const X[] = {
        "event_id",
        "rule_id",
        "orig_sid",
        "search_name",
        "security_domain",
        "urgency",
        "severity",
        "status_label",
        "owner",
        "disposition_label",
        "risk_score",
        "signature",
        "description",
        "rule_description",
        "vendor_product",
        "mitre_technique_id",
        "annotations.mitre_attack",
        "notable_type",
        "index",
        NULL,
    };
    for (size_t k = 0; X[k] != NULL; k++)
        vendor_extra(c, X[k], vendor_get(r, X[k]));
    if (r != env) {
        vendor_extra(c, "sid", vendor_get(env, "sid"));
        vendor_extra(c, "results_link", vendor_get(env, "results_link"));
        vendor_extra(c, "app", vendor_get(env, "app"));
        vendor_extra(c, "owner", vendor_get(env, "owner"));
        vendor_extra(c, "search_name", vendor_get(env, "search_name"));
    }
    return vendor_done(c, "search_name");
}

const struct vendor_def vendor_splunk = {
    "splunk",
    "_time with search_name or rule_name and urgency, security_domain or event_id; or the "
    "webhook envelope result{} with sid or results_link",
    sp_detect,
    sp_map,
};

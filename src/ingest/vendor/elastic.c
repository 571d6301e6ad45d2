/*
 * elastic.c: Elastic Security detection alerts (ECS) into alerts.
 *
 * An alert document of the .alerts-security.alerts-* indices (8.x: the
 * kibana.alert.* fields, written as literal dotted keys) or of
 * .siem-signals-* (7.x: signal.rule.*, signal.original_time, nested), as the
 * Kibana API, a search hit ({"_index", "_id", "_source": {...}}) or a
 * connector hands it over. Besides the rule's fields, the alert copies the
 * ECS fields of the event that triggered it: host.*, user.*, source.*,
 * destination.*, process.* (parent included), file.*, event.category,
 * event.outcome, email.*. Both the nested and the dotted spellings are read
 * (vendor_get).
 *
 * Severity: kibana.alert.risk_score (0-100) as is; else kibana.alert.severity
 * low 30, medium 50, high 70, critical 90. kind from event.category of the
 * source event: authentication is auth, email is phishing, process, file,
 * registry, library, driver and malware are endpoint, network and
 * intrusion_detection are network. Pure; any thread.
 */
#include "ingest/vendor_internal.h"

#include "core/limits.h"

#include <string.h>
#include <strings.h>

static json_t *el_body(json_t *d)
{
    json_t *s = json_object_get(d, "_source");
    return json_is_object(s) ? s : d;
}

static bool el_detect(json_t *d)
{
    json_t *b = el_body(d);
    return vendor_get(b, "kibana.alert.rule.name") != NULL ||
           vendor_get(b, "kibana.alert.rule.uuid") != NULL ||
           json_is_object(vendor_get(b, "signal.rule"));
}

static bool category_is(json_t *cat, const char *const *names)
{
    json_t *one[1] = {cat};
    size_t n = json_is_array(cat) ? json_array_size(cat) : 1;
    for (size_t i = 0; i < n && i < RP_VENDOR_LIST_MAX; i++) {
        json_t *v = json_is_array(cat) ? json_array_get(cat, i) : one[0];
        const char *s = json_string_value(v);
        for (size_t k = 0; s != NULL && names[k] != NULL; k++)
            if (strcasecmp(s, names[k]) == 0)
                return true;
    }
    return false;
}

static const char *el_kind(json_t *b)
{
    json_t *cat = vendor_get(b, "kibana.alert.original_event.category");
    if (cat == NULL)
        cat = vendor_get(b, "signal.original_event.category");
    if (cat == NULL)
        cat = vendor_get(b, "event.category");
    static const char *const AUTH[] = {"authentication", "iam", NULL};
    static const char *const MAIL[] = {"email", NULL};
    static const char *const EP[] = {"process", "file",    "registry", "library",
                                     "driver",  "malware", NULL};
    static const char *const NET[] = {"network", "intrusion_detection", NULL};
    if (category_is(cat, AUTH))
        return "auth";
    if (category_is(cat, MAIL))
        return "phishing";
    if (category_is(cat, EP))
        return "endpoint";
    if (category_is(cat, NET))
        return "network";
    return "other";
}

/* The MITRE tactic and technique names of kibana.alert.rule.threat[]. */
static void el_threat(struct vendor_ctx *c, json_t *threat)
{
    if (!json_is_array(threat))
        return;
    json_t *tactics = json_array(), *techniques = json_array();
    size_t i;
    json_t *t;
    json_array_foreach(threat, i, t)
    {
        if (i >= RP_VENDOR_LIST_MAX || tactics == NULL || techniques == NULL)
            break;
        json_t *name = vendor_get(t, "tactic.name");
        if (json_is_string(name))
            json_array_append(tactics, name);
        size_t k;
        json_t *te;
        json_array_foreach(vendor_get(t, "technique"), k, te)
        {
            if (k >= RP_VENDOR_LIST_MAX)
                break;
            json_t *id = vendor_get(te, "id");
            if (json_is_string(id))
                json_array_append(techniques, id);
        }
    }
    vendor_extra(c, "tactics", tactics);
    vendor_extra(c, "techniques", techniques);
    json_decref(tactics);
    json_decref(techniques);
}

static rp_status el_map(struct vendor_ctx *c)
{
    json_t *d = c->doc;
    json_t *b = el_body(d);
    const char *kind = el_kind(b);
    vendor_set_kind(c, kind);

    vendor_set_name(c, "rule", vendor_get(b, "kibana.alert.rule.name"));
    vendor_set_name(c, "rule", vendor_get(b, "signal.rule.name"));

    long long risk;
    if (vendor_int(vendor_get(b, "kibana.alert.risk_score"), &risk) ||
        vendor_int(vendor_get(b, "kibana.alert.rule.risk_score"), &risk) ||
        vendor_int(vendor_get(b, "signal.rule.risk_score"), &risk))
        vendor_set_severity(c, risk < 0 ? 0 : (int)(risk > 100 ? 100 : risk));
    vendor_set_severity(c, vendor_severity_label(vendor_str(b, "kibana.alert.severity")));
    vendor_set_severity(c, vendor_severity_label(vendor_str(b, "kibana.alert.rule.severity")));
    vendor_set_severity(c, vendor_severity_label(vendor_str(b, "signal.rule.severity")));

    vendor_set_host(c, vendor_get(b, "host.name"));
    vendor_set_host(c, vendor_get(b, "host.hostname"));
    vendor_set_ip(c, "host.ip", vendor_get(b, "host.ip"));
    vendor_set_name(c, "host.id", vendor_get(b, "host.id"));
    vendor_set_name(c, "host.os", vendor_get(b, "host.os.full"));
    vendor_set_name(c, "host.os", vendor_get(b, "host.os.name"));

    vendor_set_user(c, vendor_get(b, "user.name"));
    vendor_set_name(c, "user.domain", vendor_get(b, "user.domain"));
    vendor_set_email(c, "user.email", vendor_get(b, "user.email"));

    vendor_set_ip(c, "src.ip", vendor_get(b, "source.ip"));
    vendor_set_port(c, "src.port", vendor_get(b, "source.port"));
    vendor_set_geo(
        c, vendor_get(b, "source.geo.city_name"), vendor_get(b, "source.geo.region_name"),
        vendor_get(b, "source.geo.country_name"), vendor_get(b, "source.geo.country_iso_code"),
        vendor_get(b, "source.geo.location.lat"), vendor_get(b, "source.geo.location.lon"));
    vendor_set_ip(c, "dst.ip", vendor_get(b, "destination.ip"));
    vendor_set_port(c, "dst.port", vendor_get(b, "destination.port"));

    vendor_set_name(c, "process.name", vendor_get(b, "process.name"));
    vendor_set_path(c, "process.", vendor_get(b, "process.executable"));
    vendor_set_text(c, "process.cmdline", vendor_get(b, "process.command_line"));
    vendor_set_int(c, "process.pid", vendor_get(b, "process.pid"), 0, 4294967295LL);
    vendor_set_hash(c, "process.md5", OBS_MD5, vendor_get(b, "process.hash.md5"));
    vendor_set_hash(c, "process.sha256", OBS_SHA256, vendor_get(b, "process.hash.sha256"));
    vendor_set_name(c, "process.parent.name", vendor_get(b, "process.parent.name"));
    vendor_set_path(c, "process.parent.", vendor_get(b, "process.parent.executable"));
    vendor_set_text(c, "process.parent.cmdline", vendor_get(b, "process.parent.command_line"));
    vendor_set_int(c, "process.parent.pid", vendor_get(b, "process.parent.pid"), 0, 4294967295LL);

    vendor_set_name(c, "file.name", vendor_get(b, "file.name"));
    vendor_set_path(c, "file.", vendor_get(b, "file.path"));
    vendor_set_int(c, "file.size", vendor_get(b, "file.size"), 0, 1LL << 53);
    vendor_set_hash(c, "file.md5", OBS_MD5, vendor_get(b, "file.hash.md5"));
    vendor_set_hash(c, "file.sha1", OBS_SHA1, vendor_get(b, "file.hash.sha1"));
    vendor_set_hash(c, "file.sha256", OBS_SHA256, vendor_get(b, "file.hash.sha256"));

    if (strcmp(kind, "auth") == 0) {
        vendor_set_name(c, "auth.result", vendor_get(b, "event.outcome"));
        vendor_set_text(c, "auth.reason", vendor_get(b, "event.reason"));
    }
    if (strcmp(kind, "phishing") == 0) {
        vendor_set_name(c, "email.message_id", vendor_get(b, "email.message_id"));
        vendor_set_text(c, "email.subject", vendor_get(b, "email.subject"));
        vendor_set_name(c, "email.from", vendor_get(b, "email.from.address"));
        json_t *to = vendor_get(b, "email.to.address");
        size_t i;
        json_t *e;
        if (json_is_array(to)) {
            json_array_foreach(to, i, e)
            {
                if (i >= RP_VENDOR_LIST_MAX)
                    break;
                vendor_append_name(c, "email.to", e);
            }
        } else {
            vendor_append_name(c, "email.to", to);
        }
    }

    vendor_set_time(c, vendor_get(b, "kibana.alert.original_time"));
    vendor_set_time(c, vendor_get(b, "signal.original_time"));
    vendor_set_time(c, vendor_get(b, "@timestamp"));

    vendor_extra(c, "alert_id", vendor_get(b, "kibana.alert.uuid"));
    vendor_extra(c, "alert_id", vendor_get(d, "_id"));
    vendor_extra(c, "index", vendor_get(d, "_index"));
    vendor_extra(c, "rule_uuid", vendor_get(b, "kibana.alert.rule.uuid"));
    vendor_extra(c, "rule_uuid", vendor_get(b, "signal.rule.id"));
    vendor_extra(c, "rule_id", vendor_get(b, "kibana.alert.rule.rule_id"));
    vendor_extra(c, "rule_id", vendor_get(b, "signal.rule.rule_id"));
    vendor_extra(c, "rule_type", vendor_get(b, "kibana.alert.rule.type"));
    vendor_extra(c, "reason", vendor_get(b, "kibana.alert.reason"));
    vendor_extra(c, "reason", vendor_get(b, "signal.reason"));
    vendor_extra(c, "workflow_status", vendor_get(b, "kibana.alert.workflow_status"));
    vendor_extra(c, "workflow_status", vendor_get(b, "signal.status"));
    vendor_extra(c, "severity", vendor_get(b, "kibana.alert.severity"));
    vendor_extra(c, "risk_score", vendor_get(b, "kibana.alert.risk_score"));
    vendor_extra(c, "space_ids", vendor_get(b, "kibana.space_ids"));
    vendor_extra(c, "event_action", vendor_get(b, "event.action"));
    vendor_extra(c, "event_dataset", vendor_get(b, "event.dataset"));
    vendor_extra(c, "event_category", vendor_get(b, "event.category"));
    el_threat(c, vendor_get(b, "kibana.alert.rule.threat"));
    el_threat(c, vendor_get(b, "signal.rule.threat"));
    return vendor_done(c, "kibana.alert.rule.name");
}

const struct vendor_def vendor_elastic = {
    "elastic",
    "kibana.alert.rule.name or kibana.alert.rule.uuid (8.x), or signal.rule{} (7.x), at the top "
    "or under _source",
    el_detect,
    el_map,
};

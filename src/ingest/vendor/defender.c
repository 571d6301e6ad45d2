/*
 * defender.c: Microsoft Defender for Endpoint alerts into alerts.
 *
 * Two shapes:
 *   - the alert objects of the Defender for Endpoint API (GET /api/alerts,
 *     with $expand=evidence): id, incidentId, title, severity (Informational,
 *     Low, Medium, High), category, detectionSource, alertCreationTime,
 *     firstEventTime, machineId, computerDnsName, relatedUser{userName,
 *     domainName}, loggedOnUsers[], evidence[{entityType, fileName, filePath,
 *     sha1, sha256, processId, processCommandLine, parentProcessId,
 *     parentProcessFileName, ipAddress, url, accountName, domainName,
 *     userPrincipalName}], and the older alertFiles/alertIps/alertDomains;
 *   - the streaming API (Event Hubs, storage): {"category":
 *     "AdvancedHunting-AlertInfo" | "AdvancedHunting-AlertEvidence",
 *     "properties": {AlertId, Timestamp, Title, Severity, ServiceSource, ...,
 *     DeviceName, FileName, FolderPath, SHA256, RemoteIP, AccountUpn ...}}. The
 *     other AdvancedHunting tables are telemetry, not alerts: rejected by name.
 * Microsoft Graph's security alerts (v1 and alerts_v2) are msgraph.c's, even
 * when Defender raised them. Pure; any thread.
 */
#include "ingest/vendor_internal.h"

#include "core/limits.h"

#include <string.h>
#include <strings.h>

static bool df_detect(json_t *d)
{
    const char *cat = vendor_str(d, "category");
    if (cat != NULL && strncmp(cat, "AdvancedHunting-", 16) == 0 &&
        json_is_object(vendor_get(d, "properties")))
        return true;
    if (json_object_get(d, "alertCreationTime") != NULL)
        return true;
    return json_object_get(d, "machineId") != NULL &&
           (json_object_get(d, "detectionSource") != NULL ||
            json_object_get(d, "computerDnsName") != NULL);
}

/* Defender's severity: Informational, Low, Medium, High (UnSpecified: none). */
static void df_severity(struct vendor_ctx *c, const char *s)
{
    vendor_set_severity(c, vendor_severity_label(s));
}

/* A user from an account name and a domain ("CONTOSO" + "alice"). */
static void df_account(struct vendor_ctx *c, json_t *name, json_t *domain, json_t *upn)
{
    vendor_set_user(c, upn);
    vendor_set_user(c, name);
    vendor_set_name(c, "user.domain", domain);
}

static void df_evidence(struct vendor_ctx *c, json_t *e)
{
    const char *type = vendor_str(e, "entityType");
    if (type == NULL)
        return;
    if (strcasecmp(type, "Process") == 0) {
        if (vendor_isset(c, "process.name"))
            return;
        vendor_set_dir_name(c, "process.", vendor_get(e, "filePath"), vendor_get(e, "fileName"));
        vendor_set_text(c, "process.cmdline", vendor_get(e, "processCommandLine"));
        vendor_set_int(c, "process.pid", vendor_get(e, "processId"), 0, 4294967295LL);
        vendor_set_hash(c, "process.sha256", OBS_SHA256, vendor_get(e, "sha256"));
        vendor_set_name(c, "process.parent.name", vendor_get(e, "parentProcessFileName"));
        vendor_set_int(c, "process.parent.pid", vendor_get(e, "parentProcessId"), 0, 4294967295LL);
        df_account(c, vendor_get(e, "accountName"), vendor_get(e, "domainName"),
                   vendor_get(e, "userPrincipalName"));
    } else if (strcasecmp(type, "File") == 0) {
        if (vendor_isset(c, "file.name"))
            return;
        vendor_set_dir_name(c, "file.", vendor_get(e, "filePath"), vendor_get(e, "fileName"));
        vendor_set_hash(c, "file.sha1", OBS_SHA1, vendor_get(e, "sha1"));
        vendor_set_hash(c, "file.sha256", OBS_SHA256, vendor_get(e, "sha256"));
    } else if (strcasecmp(type, "User") == 0) {
        df_account(c, vendor_get(e, "accountName"), vendor_get(e, "domainName"),
                   vendor_get(e, "userPrincipalName"));
    } else if (strcasecmp(type, "Ip") == 0) {
        vendor_observable(c, OBS_IPV4, vendor_get(e, "ipAddress"));
    } else if (strcasecmp(type, "Url") == 0) {
        vendor_observable(c, OBS_URL, vendor_get(e, "url"));
    }
}

static rp_status map_api(struct vendor_ctx *c, json_t *d)
{
    const char *title = vendor_str(d, "title");
    const char *cat = vendor_str(d, "category");
    vendor_set_kind(c, vendor_contains(title, "phish") || vendor_contains(cat, "phish")
                           ? "phishing"
                           : "endpoint");
    vendor_set_name(c, "rule", vendor_get(d, "title"));
    vendor_set_name(c, "rule", vendor_get(d, "threatName"));
    df_severity(c, vendor_str(d, "severity"));

    vendor_set_host(c, vendor_get(d, "computerDnsName"));
    vendor_set_name(c, "host.id", vendor_get(d, "machineId"));
    df_account(c, vendor_get(d, "relatedUser.userName"), vendor_get(d, "relatedUser.domainName"),
               NULL);
    json_t *ev = vendor_get(d, "evidence");
    size_t i;
    json_t *e;
    json_array_foreach(ev, i, e)
    {
        if (i >= RP_VENDOR_LIST_MAX)
            break;
        df_evidence(c, e);
    }
    json_t *logged = vendor_get(d, "loggedOnUsers");
    if (json_is_array(logged)) {
        json_t *u = json_array_get(logged, 0);
        df_account(c, vendor_get(u, "accountName"), vendor_get(u, "domainName"), NULL);
    }
    /* the older $expand lists */
    json_array_foreach(vendor_get(d, "alertFiles"), i, e)
    {
        if (i >= RP_VENDOR_LIST_MAX)
            break;
        vendor_observable(c, OBS_SHA256, vendor_get(e, "sha256"));
        vendor_observable(c, OBS_SHA1, vendor_get(e, "sha1"));
    }
    json_array_foreach(vendor_get(d, "alertIps"), i, e)
    {
        if (i >= RP_VENDOR_LIST_MAX)
            break;
        vendor_observable(c, OBS_IPV4, vendor_get(e, "ipAddress"));
    }
    json_array_foreach(vendor_get(d, "alertDomains"), i, e)
    {
        if (i >= RP_VENDOR_LIST_MAX)
            break;
        vendor_observable(c, OBS_DOMAIN, vendor_get(e, "host"));
    }

    vendor_set_time(c, vendor_get(d, "firstEventTime"));
    vendor_set_time(c, vendor_get(d, "alertCreationTime"));
    static const char *const X[] = {
        "id",
        "incidentId",
        "investigationId",
        "investigationState",
        "status",
        "classification",
        "determination",
        "detectionSource",
        "detectorId",
        "category",
        "threatFamilyName",
        "threatName",
        "mitreTechniques",
        "aadTenantId",
        "rbacGroupName",
        "assignedTo",
        "description",
        "lastUpdateTime",
        "resolvedTime",
        NULL,
    };
    for (size_t k = 0; X[k] != NULL; k++)
        vendor_extra(c, X[k], vendor_get(d, X[k]));
    return vendor_done(c, "title");
}

static rp_status map_stream(struct vendor_ctx *c, json_t *d)
{
    const char *cat = vendor_str(d, "category");
    if (strcmp(cat, "AdvancedHunting-AlertInfo") != 0 &&
        strcmp(cat, "AdvancedHunting-AlertEvidence") != 0)
        return vendor_fail(c, "category",
                           "\"%s\" is hunting telemetry, not an alert "
                           "(AdvancedHunting-AlertInfo, AdvancedHunting-AlertEvidence)",
                           cat);
    json_t *p = vendor_get(d, "properties");
    const char *title = vendor_str(p, "Title");
    const char *svc = vendor_str(p, "ServiceSource");
    const char *kind = "endpoint";
    if (vendor_contains(svc, "Identity"))
        kind = "auth";
    else if (vendor_contains(svc, "Office 365") || vendor_contains(title, "phish") ||
             vendor_contains(vendor_str(p, "Category"), "phish"))
        kind = "phishing";
    else if (vendor_contains(svc, "Cloud App"))
        kind = "other";
    vendor_set_kind(c, kind);
    vendor_set_name(c, "rule", vendor_get(p, "Title"));
    df_severity(c, vendor_str(p, "Severity"));

    vendor_set_host(c, vendor_get(p, "DeviceName"));
    vendor_set_name(c, "host.id", vendor_get(p, "DeviceId"));
    vendor_set_ip(c, "host.ip", vendor_get(p, "LocalIP"));
    df_account(c, vendor_get(p, "AccountName"), vendor_get(p, "AccountDomain"),
               vendor_get(p, "AccountUpn"));
    vendor_set_dir_name(c, "file.", vendor_get(p, "FolderPath"), vendor_get(p, "FileName"));
    vendor_set_hash(c, "file.sha1", OBS_SHA1, vendor_get(p, "SHA1"));
    vendor_set_hash(c, "file.sha256", OBS_SHA256, vendor_get(p, "SHA256"));
    vendor_set_int(c, "file.size", vendor_get(p, "FileSize"), 0, 1LL << 53);
    vendor_set_text(c, "process.cmdline", vendor_get(p, "ProcessCommandLine"));
    vendor_observable(c, OBS_IPV4, vendor_get(p, "RemoteIP"));
    vendor_observable(c, OBS_URL, vendor_get(p, "RemoteUrl"));

    vendor_set_time(c, vendor_get(p, "Timestamp"));
    vendor_set_time(c, vendor_get(d, "time"));
    static const char *const X[] = {
        "AlertId",          "Category",         "ServiceSource", "DetectionSource",
        "AttackTechniques", "EntityType",       "EvidenceRole",  "ThreatFamily",
        "EmailSubject",     "NetworkMessageId", "Application",   NULL,
    };
    for (size_t k = 0; X[k] != NULL; k++)
        vendor_extra(c, X[k], vendor_get(p, X[k]));
    vendor_extra(c, "category", vendor_get(d, "category"));
    vendor_extra(c, "tenantId", vendor_get(d, "tenantId"));
    return vendor_done(c, "properties.Title");
}

static rp_status df_map(struct vendor_ctx *c)
{
    const char *cat = vendor_str(c->doc, "category");
    if (cat != NULL && strncmp(cat, "AdvancedHunting-", 16) == 0 &&
        json_is_object(vendor_get(c->doc, "properties")))
        return map_stream(c, c->doc);
    return map_api(c, c->doc);
}

const struct vendor_def vendor_defender = {
    "defender",
    "alertCreationTime, machineId with detectionSource or computerDnsName, or category "
    "\"AdvancedHunting-...\" with properties{}",
    df_detect,
    df_map,
};

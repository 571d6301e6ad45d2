/*
 * msgraph.c: Microsoft Graph security alerts into alerts, whichever Microsoft
 * product raised them.
 *
 *   - alerts_v2 (GET /security/alerts_v2): id, providerAlertId, incidentId,
 *     title, severity (unknown, informational, low, medium, high), category,
 *     serviceSource (microsoftDefenderForEndpoint, ...ForIdentity,
 *     ...ForOffice365, azureAdIdentityProtection, ...), detectionSource,
 *     createdDateTime, firstActivityDateTime, evidence[]: device (deviceDnsName,
 *     mdeDeviceId, osPlatform), user (userAccount{}), process (imageFile{},
 *     processCommandLine, processId, parentProcessImageFile{}), file
 *     (fileDetails{}), ip (ipAddress, roles[]), url, analyzed message
 *     (internetMessageId, subject, p1Sender{}, recipientEmailAddress, senderIp),
 *     mailbox. An evidence's kind is read from its fields, so that the
 *     "@odata.type" key (which some forwarders rename) is not needed.
 *   - the legacy v1 alerts (GET /security/alerts): vendorInformation{provider},
 *     azureTenantId, eventDateTime, hostStates[], userStates[], processes[],
 *     fileStates[] with fileHash{hashType, hashValue}, networkConnections[].
 * Kind follows the product: endpoint for Defender for Endpoint, auth for the
 * identity products, phishing for Office 365 and whenever the alert says
 * phishing, else other. Pure; any thread.
 */
#include "ingest/vendor_internal.h"

#include "core/limits.h"

#include <string.h>
#include <strings.h>

static bool mg_detect(json_t *d)
{
    if (json_is_object(json_object_get(d, "vendorInformation")) ||
        (json_object_get(d, "azureTenantId") != NULL &&
         json_object_get(d, "eventDateTime") != NULL))
        return true;
    return json_is_string(json_object_get(d, "serviceSource")) &&
           (json_object_get(d, "createdDateTime") != NULL ||
            json_object_get(d, "providerAlertId") != NULL ||
            json_is_array(json_object_get(d, "evidence")));
}

static bool has_role(json_t *e, const char *role)
{
    size_t i;
    json_t *r;
    json_array_foreach(vendor_get(e, "roles"), i, r)
    {
        if (json_is_string(r) && strcasecmp(json_string_value(r), role) == 0)
            return true;
    }
    return false;
}

static void mg_account(struct vendor_ctx *c, json_t *acct)
{
    if (!json_is_object(acct))
        return;
    vendor_set_user(c, vendor_get(acct, "userPrincipalName"));
    vendor_set_user(c, vendor_get(acct, "accountName"));
    vendor_set_name(c, "user.domain", vendor_get(acct, "domainName"));
}

static void mg_evidence(struct vendor_ctx *c, json_t *e)
{
    if (!json_is_object(e))
        return;
    if (vendor_get(e, "deviceDnsName") != NULL || vendor_get(e, "mdeDeviceId") != NULL) {
        vendor_set_host(c, vendor_get(e, "deviceDnsName"));
        vendor_set_name(c, "host.id", vendor_get(e, "mdeDeviceId"));
        vendor_set_name(c, "host.id", vendor_get(e, "azureAdDeviceId"));
        vendor_set_name(c, "host.os", vendor_get(e, "osPlatform"));
        vendor_set_ip(c, "host.ip", vendor_get(e, "ipInterfaces"));
        json_t *lu = vendor_get(e, "loggedOnUsers");
        if (json_is_array(lu))
            mg_account(c, json_array_get(lu, 0));
    }
    if (json_is_object(vendor_get(e, "imageFile"))) { /* a process */
        if (!vendor_isset(c, "process.name")) {
            vendor_set_dir_name(c, "process.", vendor_get(e, "imageFile.filePath"),
                                vendor_get(e, "imageFile.fileName"));
            vendor_set_hash(c, "process.sha256", OBS_SHA256, vendor_get(e, "imageFile.sha256"));
            vendor_set_hash(c, "process.md5", OBS_MD5, vendor_get(e, "imageFile.md5"));
            vendor_set_text(c, "process.cmdline", vendor_get(e, "processCommandLine"));
            vendor_set_int(c, "process.pid", vendor_get(e, "processId"), 0, 4294967295LL);
            vendor_set_name(c, "process.parent.name",
                            vendor_get(e, "parentProcessImageFile.fileName"));
            vendor_set_int(c, "process.parent.pid", vendor_get(e, "parentProcessId"), 0,
                           4294967295LL);
        }
        mg_account(c, vendor_get(e, "userAccount"));
    } else if (json_is_object(vendor_get(e, "fileDetails"))) {
        if (!vendor_isset(c, "file.name")) {
            vendor_set_dir_name(c, "file.", vendor_get(e, "fileDetails.filePath"),
                                vendor_get(e, "fileDetails.fileName"));
            vendor_set_hash(c, "file.sha1", OBS_SHA1, vendor_get(e, "fileDetails.sha1"));
            vendor_set_hash(c, "file.sha256", OBS_SHA256, vendor_get(e, "fileDetails.sha256"));
            vendor_set_hash(c, "file.md5", OBS_MD5, vendor_get(e, "fileDetails.md5"));
            vendor_set_int(c, "file.size", vendor_get(e, "fileDetails.fileSize"), 0, 1LL << 53);
        }
    } else if (vendor_get(e, "ipAddress") != NULL) {
        json_t *ip = vendor_get(e, "ipAddress");
        if (has_role(e, "attacker") || has_role(e, "source"))
            vendor_set_ip(c, "src.ip", ip);
        else if (has_role(e, "destination"))
            vendor_set_ip(c, "dst.ip", ip);
        vendor_observable(c, OBS_IPV4, ip);
    } else if (vendor_get(e, "url") != NULL) {
        vendor_observable(c, OBS_URL, vendor_get(e, "url"));
    } else if (vendor_get(e, "internetMessageId") != NULL ||
               vendor_get(e, "networkMessageId") != NULL) { /* an analyzed message */
        vendor_set_name(c, "email.message_id", vendor_get(e, "internetMessageId"));
        vendor_set_text(c, "email.subject", vendor_get(e, "subject"));
        vendor_set_name(c, "email.from", vendor_get(e, "p1Sender.emailAddress"));
        vendor_set_name(c, "email.from", vendor_get(e, "p2Sender.emailAddress"));
        vendor_append_name(c, "email.to", vendor_get(e, "recipientEmailAddress"));
        vendor_set_ip(c, "src.ip", vendor_get(e, "senderIp"));
        size_t i;
        json_t *u;
        json_array_foreach(vendor_get(e, "urls"), i, u)
        {
            if (i >= RP_VENDOR_LIST_MAX)
                break;
            vendor_observable(c, OBS_URL, u);
        }
    } else if (vendor_get(e, "primaryAddress") != NULL) { /* a mailbox */
        vendor_set_email(c, "user.email", vendor_get(e, "primaryAddress"));
        mg_account(c, vendor_get(e, "userAccount"));
    } else {
        mg_account(c, vendor_get(e, "userAccount"));
    }
}

/* The kind from the product that raised the alert. */
static const char *mg_kind(const char *product, const char *title, const char *category)
{
    if (vendor_contains(title, "phish") || vendor_contains(category, "phish"))
        return "phishing";
    if (product == NULL)
        return "other";
    if (vendor_contains(product, "Identity") || strcasecmp(product, "IPC") == 0 ||
        vendor_contains(product, "Advanced Threat Protection") ||
        vendor_contains(product, "Azure ATP"))
        return "auth";
    if (vendor_contains(product, "Endpoint") || vendor_contains(product, "Defender ATP") ||
        strcasecmp(product, "MDATP") == 0)
        return "endpoint";
    if (vendor_contains(product, "Office365") || vendor_contains(product, "Office 365"))
        return "phishing";
    return "other";
}

static rp_status map_v2(struct vendor_ctx *c, json_t *d)
{
    json_t *ev = vendor_get(d, "evidence");
    const char *kind =
        mg_kind(vendor_str(d, "serviceSource"), vendor_str(d, "title"), vendor_str(d, "category"));
    vendor_set_kind(c, kind);
    vendor_set_name(c, "rule", vendor_get(d, "title"));
    vendor_set_severity(c, vendor_severity_label(vendor_str(d, "severity")));
    size_t i;
    json_t *e;
    json_array_foreach(ev, i, e)
    {
        if (i >= RP_VENDOR_LIST_MAX)
            break;
        mg_evidence(c, e);
    }
    if (vendor_isset(c, "email.message_id") && strcmp(kind, "other") == 0)
        vendor_set_kind(c, "phishing");
    vendor_set_time(c, vendor_get(d, "firstActivityDateTime"));
    vendor_set_time(c, vendor_get(d, "createdDateTime"));
    static const char *const X[] = {
        "id",
        "providerAlertId",
        "incidentId",
        "status",
        "classification",
        "determination",
        "serviceSource",
        "detectionSource",
        "detectorId",
        "category",
        "alertWebUrl",
        "incidentWebUrl",
        "mitreTechniques",
        "threatDisplayName",
        "threatFamilyName",
        "tenantId",
        "actorDisplayName",
        "description",
        "lastUpdateDateTime",
        NULL,
    };
    for (size_t k = 0; X[k] != NULL; k++)
        vendor_extra(c, X[k], vendor_get(d, X[k]));
    return vendor_done(c, "title");
}

/* A v1 fileHash{hashType, hashValue} into <prefix>md5/sha1/sha256. */
static void mg_filehash(struct vendor_ctx *c, const char *prefix, json_t *fh)
{
    const char *t = vendor_str(fh, "hashType");
    if (t == NULL)
        return;
    if (strcasecmp(t, "sha256") == 0 || strcasecmp(t, "md5") == 0 ||
        (strcasecmp(t, "sha1") == 0 && strcmp(prefix, "file.") == 0))
        vendor_set_anyhash(c, prefix, vendor_get(fh, "hashValue"));
}

static rp_status map_v1(struct vendor_ctx *c, json_t *d)
{
    vendor_set_kind(c, mg_kind(vendor_str(d, "vendorInformation.provider"), vendor_str(d, "title"),
                               vendor_str(d, "category")));
    vendor_set_name(c, "rule", vendor_get(d, "title"));
    vendor_set_name(c, "rule", vendor_get(d, "category"));
    vendor_set_severity(c, vendor_severity_label(vendor_str(d, "severity")));

    json_t *h = json_array_get(vendor_get(d, "hostStates"), 0);
    vendor_set_host(c, vendor_get(h, "fqdn"));
    vendor_set_host(c, vendor_get(h, "netBiosName"));
    vendor_set_ip(c, "host.ip", vendor_get(h, "privateIpAddress"));
    vendor_set_name(c, "host.os", vendor_get(h, "os"));

    json_t *u = json_array_get(vendor_get(d, "userStates"), 0);
    vendor_set_user(c, vendor_get(u, "userPrincipalName"));
    vendor_set_user(c, vendor_get(u, "accountName"));
    vendor_set_name(c, "user.domain", vendor_get(u, "domainName"));
    vendor_set_ip(c, "src.ip", vendor_get(u, "logonIp"));

    json_t *p = json_array_get(vendor_get(d, "processes"), 0);
    vendor_set_dir_name(c, "process.", vendor_get(p, "path"), vendor_get(p, "name"));
    vendor_set_text(c, "process.cmdline", vendor_get(p, "commandLine"));
    vendor_set_int(c, "process.pid", vendor_get(p, "processId"), 0, 4294967295LL);
    vendor_set_name(c, "process.parent.name", vendor_get(p, "parentProcessName"));
    vendor_set_int(c, "process.parent.pid", vendor_get(p, "parentProcessId"), 0, 4294967295LL);
    mg_filehash(c, "process.", vendor_get(p, "fileHash"));

    json_t *f = json_array_get(vendor_get(d, "fileStates"), 0);
    vendor_set_dir_name(c, "file.", vendor_get(f, "path"), vendor_get(f, "name"));
    mg_filehash(c, "file.", vendor_get(f, "fileHash"));

    json_t *n = json_array_get(vendor_get(d, "networkConnections"), 0);
    vendor_set_ip(c, "src.ip", vendor_get(n, "sourceAddress"));
    vendor_set_port(c, "src.port", vendor_get(n, "sourcePort"));
    vendor_set_ip(c, "dst.ip", vendor_get(n, "destinationAddress"));
    vendor_set_port(c, "dst.port", vendor_get(n, "destinationPort"));
    vendor_observable(c, OBS_DOMAIN, vendor_get(n, "destinationDomain"));
    vendor_observable(c, OBS_URL, vendor_get(n, "destinationUrl"));

    vendor_set_time(c, vendor_get(d, "eventDateTime"));
    vendor_set_time(c, vendor_get(d, "createdDateTime"));
    static const char *const X[] = {
        "id",          "azureTenantId", "category", "status",          "confidence",
        "description", "incidentIds",   "tags",     "sourceMaterials", NULL,
    };
    for (size_t k = 0; X[k] != NULL; k++)
        vendor_extra(c, X[k], vendor_get(d, X[k]));
    vendor_extra(c, "provider", vendor_get(d, "vendorInformation.provider"));
    vendor_extra(c, "sub_provider", vendor_get(d, "vendorInformation.subProvider"));
    vendor_extra(c, "public_ip", vendor_get(h, "publicIpAddress"));
    vendor_extra(c, "logon_location", vendor_get(u, "logonLocation"));
    return vendor_done(c, "title");
}

static rp_status mg_map(struct vendor_ctx *c)
{
    if (json_is_string(json_object_get(c->doc, "serviceSource")))
        return map_v2(c, c->doc);
    return map_v1(c, c->doc);
}

const struct vendor_def vendor_msgraph = {
    "msgraph",
    "serviceSource with createdDateTime, providerAlertId or evidence[] (alerts_v2), or "
    "vendorInformation{} (v1)",
    mg_detect,
    mg_map,
};

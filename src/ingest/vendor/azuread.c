/*
 * azuread.c: Azure AD (Entra ID) sign-in logs into alerts.
 *
 * Two carriers of the same signIn record:
 *   - Microsoft Graph (GET /auditLogs/signIns): the record itself;
 *   - Azure Monitor diagnostic settings (Event Hubs, storage, Log Analytics
 *     export): {"time", "category": "SignInLogs" (or NonInteractiveUser-,
 *     ServicePrincipal-, ManagedIdentitySignInLogs), "resultType",
 *     "callerIpAddress", "properties": {the record}}.
 * The record: createdDateTime, userPrincipalName, userDisplayName, userId,
 * appDisplayName, ipAddress, clientAppUsed, status{errorCode, failureReason},
 * location{city, state, countryOrRegion, geoCoordinates{latitude, longitude}},
 * deviceDetail{deviceId, displayName, operatingSystem, browser},
 * authenticationDetails[{authenticationMethod}], authenticationProtocol,
 * riskLevelDuringSignIn, riskLevelAggregated, riskState.
 *
 * status.errorCode is what makes it an event: 0 is a successful sign-in
 * (severity 10), anything else a failure (30; 50053, locked out, 50). The risk
 * Entra ID assessed raises it: low 30, medium 50, high 70; atRisk and
 * confirmedCompromised 70. kind auth. Pure; any thread.
 */
#include "ingest/vendor_internal.h"

#include <string.h>
#include <strings.h>

static const char *const CATEGORIES[] = {
    "SignInLogs",
    "NonInteractiveUserSignInLogs",
    "ServicePrincipalSignInLogs",
    "ManagedIdentitySignInLogs",
    "ADFSSignInLogs",
    NULL,
};

static bool is_diagnostic(json_t *d)
{
    return vendor_str_is(d, "category", CATEGORIES) && json_is_object(vendor_get(d, "properties"));
}

static bool az_detect(json_t *d)
{
    if (is_diagnostic(d))
        return true;
    return json_object_get(d, "userPrincipalName") != NULL &&
           json_is_object(json_object_get(d, "status")) &&
           vendor_get(d, "status.errorCode") != NULL &&
           (json_object_get(d, "createdDateTime") != NULL ||
            json_object_get(d, "appDisplayName") != NULL ||
            json_object_get(d, "ipAddress") != NULL);
}

static rp_status az_map(struct vendor_ctx *c)
{
    json_t *d = c->doc;
    bool diag = is_diagnostic(d);
    json_t *p = diag ? vendor_get(d, "properties") : d;
    const char *field = diag ? "properties.status.errorCode" : "status.errorCode";

    long long code;
    if (!vendor_int(vendor_get(p, "status.errorCode"), &code) &&
        !(diag && vendor_int(vendor_get(d, "resultType"), &code)))
        return vendor_fail(c, field, "required: the sign-in's result (0 for success)");
    vendor_set_kind(c, "auth");

    const char *reason = vendor_str(p, "status.failureReason");
    if (vendor_placeholder(reason))
        reason = vendor_str(d, "resultDescription");
    char rule[96];
    if (code == 0)
        rp_fmt(rule, sizeof(rule), "Azure AD sign-in");
    else
        rp_fmt(rule, sizeof(rule), "Azure AD sign-in failure %lld", code);
    vendor_set_cstr(c, "rule", rule);
    json_t *title = NULL;
    if (code != 0 && !vendor_placeholder(reason))
        title = json_sprintf("Azure AD sign-in failed: %s", reason);
    else if (code == 0 && !vendor_placeholder(vendor_str(p, "appDisplayName")))
        title = json_sprintf("Azure AD sign-in to %s", vendor_str(p, "appDisplayName"));
    if (title != NULL) {
        vendor_set_name(c, "title", title);
        json_decref(title);
    }
    vendor_set_cstr(c, "title", rule);

    vendor_set_severity(c, code == 0 ? 10 : code == 50053 ? 50 : 30);
    static const char *const RISK[] = {"riskLevelDuringSignIn", "riskLevelAggregated", NULL};
    for (size_t i = 0; RISK[i] != NULL; i++) {
        int r = vendor_severity_label(vendor_str(p, RISK[i]));
        if (r >= 30)
            vendor_raise_severity(c, r);
    }
    static const char *const RISKY[] = {"atRisk", "confirmedCompromised", NULL};
    if (vendor_str_is(p, "riskState", RISKY))
        vendor_raise_severity(c, 70);

    vendor_set_user(c, vendor_get(p, "userPrincipalName"));
    vendor_set_user(c, vendor_get(p, "servicePrincipalName"));
    vendor_set_ip(c, "src.ip", vendor_get(p, "ipAddress"));
    vendor_set_ip(c, "src.ip", vendor_get(d, "callerIpAddress"));
    json_t *loc = vendor_get(p, "location");
    vendor_set_geo(c, vendor_get(loc, "city"), vendor_get(loc, "state"), NULL,
                   vendor_get(loc, "countryOrRegion"), vendor_get(loc, "geoCoordinates.latitude"),
                   vendor_get(loc, "geoCoordinates.longitude"));
    if (diag && json_is_string(vendor_get(d, "location")))
        vendor_set_geo(c, NULL, NULL, NULL, vendor_get(d, "location"), NULL, NULL);

    vendor_set_host(c, vendor_get(p, "deviceDetail.displayName"));
    vendor_set_name(c, "host.id", vendor_get(p, "deviceDetail.deviceId"));
    vendor_set_name(c, "host.os", vendor_get(p, "deviceDetail.operatingSystem"));

    vendor_set_cstr(c, "auth.result", code == 0 ? "success" : "failure");
    json_t *ad = vendor_get(p, "authenticationDetails");
    if (json_is_array(ad))
        vendor_set_name(c, "auth.method",
                        vendor_get(json_array_get(ad, 0), "authenticationMethod"));
    vendor_set_name(c, "auth.method", vendor_get(p, "authenticationProtocol"));
    vendor_set_name(c, "auth.method", vendor_get(p, "clientAppUsed"));
    if (code != 0 && !vendor_placeholder(reason))
        vendor_set_cstr(c, "auth.reason", reason);

    vendor_set_time(c, vendor_get(p, "createdDateTime"));
    vendor_set_time(c, vendor_get(d, "time"));

    json_t *ec = json_integer(code);
    vendor_extra(c, "error_code", ec);
    json_decref(ec);
    static const char *const X[] = {
        "id",
        "correlationId",
        "userId",
        "userDisplayName",
        "appDisplayName",
        "appId",
        "resourceDisplayName",
        "clientAppUsed",
        "conditionalAccessStatus",
        "isInteractive",
        "authenticationRequirement",
        "riskLevelDuringSignIn",
        "riskLevelAggregated",
        "riskState",
        "riskDetail",
        "riskEventTypes",
        "userAgent",
        "autonomousSystemNumber",
        NULL,
    };
    for (size_t k = 0; X[k] != NULL; k++)
        vendor_extra(c, X[k], vendor_get(p, X[k]));
    vendor_extra(c, "browser", vendor_get(p, "deviceDetail.browser"));
    if (diag) {
        vendor_extra(c, "category", vendor_get(d, "category"));
        vendor_extra(c, "tenantId", vendor_get(d, "tenantId"));
        vendor_extra(c, "resultType", vendor_get(d, "resultType"));
    }
    return vendor_done(c, field);
}

const struct vendor_def vendor_azuread = {
    "azuread",
    "category SignInLogs (or another sign-in log) with properties{}, or userPrincipalName with "
    "status{errorCode}",
    az_detect,
    az_map,
};

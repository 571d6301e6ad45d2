/*
 * okta.c: Okta System Log events into alerts.
 *
 * One LogEvent of GET /api/v1/logs (or an event hook, or a log stream):
 * eventType ("user.session.start", "user.account.lock", ...), displayMessage,
 * severity (DEBUG, INFO, WARN, ERROR), published, uuid, actor{id, type,
 * alternateId, displayName}, client{ipAddress, device, userAgent{},
 * geographicalContext{city, state, country, geolocation{lat, lon}}},
 * outcome{result, reason}, authenticationContext{credentialType,
 * authenticationProvider}, securityContext{isProxy, asOrg, domain},
 * debugContext{debugData{risk, behaviors, threatSuspected, requestUri}},
 * target[]. Keys are read case-insensitively: some stores keep them
 * lower-cased ("eventtype").
 *
 * Every Okta event is about identity: kind auth. The user is the actor when it
 * is a person (actor.type User), else the first target that is. Severity: the
 * event's severity (DEBUG and INFO 10, WARN 50, ERROR 70), raised to 30 for a
 * FAILURE or DENY outcome, 50 for an account lock and for a medium risk or a
 * suspected threat, 70 for security.threat.detected and a high risk.
 * auth.result is success (SUCCESS, ALLOW), failure (FAILURE, DENY), locked
 * (user.account.lock) or the outcome lower-cased. Pure; any thread.
 */
#include "ingest/vendor_internal.h"

#include "core/limits.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

static bool ok_detect(json_t *d)
{
    return json_is_string(vendor_get(d, "eventType")) && json_is_object(vendor_get(d, "actor")) &&
           (vendor_get(d, "uuid") != NULL || vendor_get(d, "published") != NULL) &&
           (vendor_get(d, "outcome") != NULL || vendor_get(d, "displayMessage") != NULL ||
            vendor_get(d, "legacyEventType") != NULL);
}

static bool is_person(json_t *who)
{
    const char *t = vendor_str(who, "type");
    return t != NULL && strcasecmp(t, "User") == 0;
}

static rp_status ok_map(struct vendor_ctx *c)
{
    json_t *d = c->doc;
    const char *type = vendor_str(d, "eventType");
    vendor_set_kind(c, "auth");
    vendor_set_name(c, "rule", vendor_get(d, "eventType"));
    vendor_set_name(c, "title", vendor_get(d, "displayMessage"));

    static const struct {
        const char *name;
        int sev;
    } LEVELS[] = {{"DEBUG", 10}, {"INFO", 10}, {"WARN", 50}, {"ERROR", 70}};
    const char *lvl = vendor_str(d, "severity");
    for (size_t i = 0; lvl != NULL && i < sizeof(LEVELS) / sizeof(LEVELS[0]); i++)
        if (strcasecmp(lvl, LEVELS[i].name) == 0)
            vendor_set_severity(c, LEVELS[i].sev);
    vendor_set_severity(c, 10);

    /* the person concerned */
    json_t *actor = vendor_get(d, "actor");
    json_t *person = is_person(actor) ? actor : NULL;
    json_t *targets = vendor_get(d, "target");
    size_t i;
    json_t *t;
    json_array_foreach(targets, i, t)
    {
        if (person != NULL || i >= RP_VENDOR_LIST_MAX)
            break;
        if (is_person(t))
            person = t;
    }
    if (person != NULL) {
        vendor_set_user(c, vendor_get(person, "alternateId"));
        vendor_extra(c, "user_id", vendor_get(person, "id"));
        vendor_extra(c, "user_display_name", vendor_get(person, "displayName"));
    }

    vendor_set_ip(c, "src.ip", vendor_get(d, "client.ipAddress"));
    json_t *geo = vendor_get(d, "client.geographicalContext");
    vendor_set_geo(c, vendor_get(geo, "city"), vendor_get(geo, "state"), vendor_get(geo, "country"),
                   NULL, vendor_get(geo, "geolocation.lat"), vendor_get(geo, "geolocation.lon"));

    /* the outcome */
    const char *res = vendor_str(d, "outcome.result");
    bool lock = type != NULL && strcmp(type, "user.account.lock") == 0;
    if (lock) {
        vendor_set_cstr(c, "auth.result", "locked");
        vendor_raise_severity(c, 50);
    }
    if (res != NULL) {
        if (strcasecmp(res, "SUCCESS") == 0 || strcasecmp(res, "ALLOW") == 0) {
            vendor_set_cstr(c, "auth.result", "success");
        } else if (strcasecmp(res, "FAILURE") == 0 || strcasecmp(res, "DENY") == 0) {
            vendor_set_cstr(c, "auth.result", "failure");
            vendor_raise_severity(c, 30);
        } else {
            char low[64];
            size_t n = strlen(res) < sizeof(low) - 1 ? strlen(res) : sizeof(low) - 1;
            for (size_t k = 0; k < n; k++)
                low[k] = (char)tolower((unsigned char)res[k]);
            low[n] = '\0';
            vendor_set_cstr(c, "auth.result", low);
        }
    }
    vendor_set_text(c, "auth.reason", vendor_get(d, "outcome.reason"));
    vendor_set_name(c, "auth.method", vendor_get(d, "authenticationContext.credentialType"));
    vendor_set_name(c, "auth.method",
                    vendor_get(d, "authenticationContext.authenticationProvider"));

    /* what Okta thought of the risk */
    const char *risk = vendor_str(d, "debugContext.debugData.risk");
    if (vendor_contains(risk, "level=HIGH"))
        vendor_raise_severity(c, 70);
    else if (vendor_contains(risk, "level=MEDIUM"))
        vendor_raise_severity(c, 50);
    const char *threat = vendor_str(d, "debugContext.debugData.threatSuspected");
    if (threat != NULL && strcasecmp(threat, "true") == 0)
        vendor_raise_severity(c, 50);
    if (type != NULL && strcmp(type, "security.threat.detected") == 0)
        vendor_raise_severity(c, 70);

    vendor_set_time(c, vendor_get(d, "published"));

    vendor_extra(c, "uuid", vendor_get(d, "uuid"));
    vendor_extra(c, "legacyEventType", vendor_get(d, "legacyEventType"));
    vendor_extra(c, "severity", vendor_get(d, "severity"));
    vendor_extra(c, "actor_type", vendor_get(actor, "type"));
    vendor_extra(c, "actor", vendor_get(actor, "alternateId"));
    vendor_extra(c, "user_agent", vendor_get(d, "client.userAgent.rawUserAgent"));
    vendor_extra(c, "device", vendor_get(d, "client.device"));
    vendor_extra(c, "zone", vendor_get(d, "client.zone"));
    vendor_extra(c, "is_proxy", vendor_get(d, "securityContext.isProxy"));
    vendor_extra(c, "as_org", vendor_get(d, "securityContext.asOrg"));
    vendor_extra(c, "as_number", vendor_get(d, "securityContext.asNumber"));
    vendor_extra(c, "isp", vendor_get(d, "securityContext.isp"));
    vendor_extra(c, "session_id", vendor_get(d, "authenticationContext.externalSessionId"));
    vendor_extra(c, "transaction_id", vendor_get(d, "transaction.id"));
    vendor_extra(c, "request_uri", vendor_get(d, "debugContext.debugData.requestUri"));
    vendor_extra(c, "risk", vendor_get(d, "debugContext.debugData.risk"));
    vendor_extra(c, "behaviors", vendor_get(d, "debugContext.debugData.behaviors"));
    vendor_extra(c, "threat_suspected", vendor_get(d, "debugContext.debugData.threatSuspected"));
    json_t *tl = json_array();
    json_array_foreach(targets, i, t)
    {
        if (tl == NULL || i >= RP_VENDOR_EXTRA_ARRAY_MAX)
            break;
        const char *id = vendor_str(t, "alternateId");
        const char *tt = vendor_str(t, "type");
        if (id != NULL) {
            json_t *s = json_sprintf("%s:%s", tt ? tt : "?", id);
            if (s != NULL)
                json_array_append_new(tl, s);
        }
    }
    vendor_extra(c, "targets", tl);
    json_decref(tl);
    return vendor_done(c, "eventType");
}

const struct vendor_def vendor_okta = {
    "okta",
    "eventType with actor{}, uuid or published, and outcome{}, displayMessage or legacyEventType",
    ok_detect,
    ok_map,
};

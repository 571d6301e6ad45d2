/*
 * defender.c: the lab's Microsoft Defender for Endpoint API (base /api).
 *
 * Bearer tokens from the lab's Entra endpoint (entra.c) whose scope was not
 * Graph's. OData lists ({"value": [...]}, $filter, $top, $skip) of alerts,
 * machines, machine actions and indicators; the machines that saw a file;
 * isolate and unisolate, which answer a machine action in status Pending (it
 * reads Succeeded afterwards) and flip the machine's isolation at once. Errors
 * in the OData shape {"error": {"code", "message"}}. Runs under the lab's mutex.
 */
#include "lab/lab_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void lab_odata_error(struct lab_req *r, unsigned status, const char *code, const char *msg)
{
    lab_reply_json(
        r, status,
        json_pack("{s:{s:s,s:s,s:s}}", "error", "code", code, "message", msg, "target", "lab"));
}

void lab_odata_list(struct lab_req *r, json_t *all, const char *context)
{
    const char *filter = lab_arg(r, "$filter"), *top = lab_arg(r, "$top");
    const char *skip = lab_arg(r, "$skip");
    long t = top != NULL ? atol(top) : 10000, s = skip != NULL ? atol(skip) : 0;
    if (t < 0 || s < 0 || t > 10000) {
        json_decref(all);
        lab_odata_error(r, 400, "BadRequest", "$top must be 0-10000 and $skip 0 or more");
        return;
    }
    json_t *out = json_array();
    size_t i, seen = 0;
    json_t *v;
    json_array_foreach(all, i, v)
    {
        bool bad = false;
        bool hit = lab_odata_match(v, filter, &bad);
        if (bad) {
            json_decref(out);
            json_decref(all);
            lab_odata_error(r, 400, "BadRequest", "Invalid filter clause");
            return;
        }
        if (!hit)
            continue;
        if (seen++ >= (size_t)s && json_array_size(out) < (size_t)t)
            json_array_append(out, v);
    }
    json_decref(all);
    lab_reply_json(r, 200, json_pack("{s:s,s:o}", "@odata.context", context, "value", out));
}

static const char *sev(int s)
{
    return s >= 80 ? "High" : s >= 50 ? "Medium" : s >= 30 ? "Low" : "Informational";
}

static json_t *alert_view(const struct lab_org *org, const struct lab_det *d)
{
    const struct lab_host *h = &org->hosts[d->host];
    const struct lab_file *f = &org->files[d->file];
    char ts[40];
    lab_time(d->ts_ms, true, ts);
    json_t *ev = json_pack("[{s:s,s:s,s:s,s:s,s:s},{s:s,s:s}]", "entityType", "File", "sha1",
                           f->sha1, "sha256", f->sha256, "fileName", f->name, "filePath", f->path,
                           "entityType", "User", "userPrincipalName", org->users[d->user].login);
    return json_pack("{s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:o}", "id", d->mde_id,
                     "incidentId", (json_int_t)(100 + (d - org->dets)), "title", d->name,
                     "severity", sev(d->severity), "status", d->mde_status, "category", d->tactic,
                     "machineId", h->mde_id, "computerDnsName", h->name, "alertCreationTime", ts,
                     "lastUpdateTime", ts, "firstEventTime", ts, "detectionSource",
                     "WindowsDefenderAtp", "mitreTechniques", d->technique, "evidence", ev);
}

static json_t *machine_view(const struct lab_org *org, const struct lab_host *h)
{
    char ts[40];
    lab_time(org->base_ms - 300000, true, ts);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id", h->mde_id, "computerDnsName",
                     h->name, "lastIpAddress", h->ip, "osPlatform", h->os_version, "healthStatus",
                     "Active", "riskScore", "Medium", "lastSeen", ts, "isolationState",
                     h->mde_isolated ? "Isolated" : "NotIsolated", "onboardingStatus", "Onboarded");
}

static json_t *action_view(const struct lab_action *a, bool fresh)
{
    char ts[40];
    lab_time(a->created_ms, true, ts);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id", a->id, "type", a->type, "status",
                     fresh ? "Pending" : "Succeeded", "machineId", a->machine, "requestor",
                     LAB_CLIENT_ID, "requestorComment", a->comment, "creationDateTimeUtc", ts,
                     "lastUpdateDateTimeUtc", ts);
}

static json_t *indicator_view(const struct lab_ioc *i)
{
    char ts[40];
    lab_time(i->created_ms, true, ts);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "id", i->id, "indicatorValue", i->value,
                     "indicatorType", i->type, "action", i->action, "severity", i->severity,
                     "title", i->description, "creationTimeDateTimeUtc", ts, "createdBy",
                     LAB_CLIENT_ID);
}

static struct lab_host *machine(struct lab_org *org, const char *id)
{
    for (int i = 0; i < LAB_HOSTS; i++)
        if (strcasecmp(org->hosts[i].mde_id, id) == 0 || strcasecmp(org->hosts[i].name, id) == 0)
            return &org->hosts[i];
    return NULL;
}

static void isolate(struct lab_req *r, struct lab_host *h, bool on)
{
    struct lab_org *org = r->org;
    char why[160];
    json_t *b = lab_body_json(r, why, sizeof(why));
    const char *comment = json_string_value(json_object_get(b, "Comment"));
    const char *type = json_string_value(json_object_get(b, "IsolationType"));
    if (b == NULL) {
        lab_odata_error(r, 400, "InvalidRequestBody", why);
    } else if (comment == NULL || *comment == '\0') {
        lab_odata_error(r, 400, "InvalidRequestBody", "Comment is required");
    } else if (on && type != NULL && strcmp(type, "Full") != 0 && strcmp(type, "Selective") != 0) {
        lab_odata_error(r, 400, "InvalidRequestBody", "IsolationType must be Full or Selective");
    } else if (h->mde_isolated == on) {
        lab_odata_error(r, 400, "ActiveRequestAlreadyExists",
                        on ? "The machine is already isolated" : "The machine is not isolated");
    } else if (org->nactions >= RP_LAB_ADDED_MAX) {
        lab_odata_error(r, 429, "TooManyRequests", "the lab's machine action list is full");
    } else {
        struct lab_action *a = &org->actions[org->nactions++];
        memset(a, 0, sizeof(*a));
        lab_org_new_id(org, "", a->id, sizeof(a->id));
        snprintf(a->type, sizeof(a->type), "%s", on ? "Isolate" : "Unisolate");
        snprintf(a->machine, sizeof(a->machine), "%s", h->mde_id);
        snprintf(a->comment, sizeof(a->comment), "%s", comment);
        a->created_ms = r->now_ms;
        h->mde_isolated = on;
        lab_reply_json(r, 201, action_view(a, true));
    }
    json_decref(b);
}

static void add_indicator(struct lab_req *r)
{
    static const char *const types[] = {"FileSha1",
                                        "FileSha256",
                                        "FileMd5",
                                        "IpAddress",
                                        "DomainName",
                                        "Url",
                                        "CertificateThumbprint",
                                        NULL};
    static const char *const actions[] = {
        "Alert", "AlertAndBlock",     "Allowed",        "Block", "Audit",
        "Warn",  "BlockAndRemediate", "BlockExecution", NULL};
    struct lab_org *org = r->org;
    char why[160];
    json_t *b = lab_body_json(r, why, sizeof(why));
    const char *value = json_string_value(json_object_get(b, "indicatorValue"));
    const char *type = json_string_value(json_object_get(b, "indicatorType"));
    const char *action = json_string_value(json_object_get(b, "action"));
    const char *title = json_string_value(json_object_get(b, "title"));
    const char *sv = json_string_value(json_object_get(b, "severity"));
    bool tok = false, aok = false;
    for (int i = 0; type != NULL && types[i] != NULL; i++)
        tok = tok || strcmp(types[i], type) == 0;
    for (int i = 0; action != NULL && actions[i] != NULL; i++)
        aok = aok || strcmp(actions[i], action) == 0;
    if (b == NULL) {
        lab_odata_error(r, 400, "InvalidRequestBody", why);
    } else if (value == NULL || *value == '\0' || strlen(value) >= 256 || !tok || !aok ||
               title == NULL) {
        lab_odata_error(r, 400, "InvalidRequestBody",
                        "indicatorValue, a known indicatorType, a known action and title are "
                        "required");
    } else {
        struct lab_ioc *i = NULL;
        for (int k = 0; k < org->nmde_iocs; k++)
            if (strcasecmp(org->mde_iocs[k].value, value) == 0 &&
                strcmp(org->mde_iocs[k].type, type) == 0)
                i = &org->mde_iocs[k]; /* submitting again updates it, as Defender does */
        if (i == NULL && org->nmde_iocs >= RP_LAB_ADDED_MAX) {
            lab_odata_error(r, 429, "TooManyRequests", "the lab's indicator list is full");
            json_decref(b);
            return;
        }
        if (i == NULL) {
            i = &org->mde_iocs[org->nmde_iocs++];
            memset(i, 0, sizeof(*i));
            char n[32];
            lab_org_new_id(org, "", n, sizeof(n));
            snprintf(i->id, sizeof(i->id), "%llu", strtoull(n + 8, NULL, 16) % 100000000ull);
            i->created_ms = r->now_ms;
        }
        snprintf(i->value, sizeof(i->value), "%s", value);
        snprintf(i->type, sizeof(i->type), "%s", type);
        snprintf(i->action, sizeof(i->action), "%s", action);
        snprintf(i->severity, sizeof(i->severity), "%s", sv != NULL ? sv : "Informational");
        snprintf(i->description, sizeof(i->description), "%s", title);
        lab_reply_json(r, 200, indicator_view(i));
    }
    json_decref(b);
}

bool lab_defender(struct lab_req *r)
{
    const char *p = r->path;
    if (!lab_prefix(p, "/api/alerts") && !lab_prefix(p, "/api/machines") &&
        !lab_prefix(p, "/api/machineactions") && !lab_prefix(p, "/api/files/") &&
        !lab_prefix(p, "/api/indicators"))
        return false;
    enum lab_tok t = lab_token_check(r->lab, "defender", NULL, lab_header(r, "Authorization"));
    if (t != LAB_TOK_OK) {
        lab_odata_error(r, 401, "Unauthorized",
                        t == LAB_TOK_EXPIRED ? "The access token has expired"
                                             : "Authorization has been denied for this request.");
        return true;
    }
    struct lab_org *org = r->org;
    const char *m = r->method;
    bool get = strcmp(m, "GET") == 0, post = strcmp(m, "POST") == 0;
    char c[2][RP_LAB_SEG_MAX];
    if (strcmp(p, "/api/alerts") == 0 && get) {
        json_t *a = json_array();
        for (int i = 0; i < LAB_DETECTIONS; i++)
            json_array_append_new(a, alert_view(org, &org->dets[i]));
        lab_odata_list(r, a, "https://api.securitycenter.microsoft.com/api/$metadata#Alerts");
    } else if (lab_path_match(p, "/api/alerts/*", c, 2) && (get || strcmp(m, "PATCH") == 0)) {
        struct lab_det *d = NULL;
        for (int i = 0; i < LAB_DETECTIONS; i++)
            if (strcmp(org->dets[i].mde_id, c[0]) == 0)
                d = &org->dets[i];
        if (d == NULL) {
            lab_odata_error(r, 404, "NotFound", "Alert not found");
        } else if (get) {
            lab_reply_json(r, 200, alert_view(org, d));
        } else {
            char why[160];
            json_t *b = lab_body_json(r, why, sizeof(why));
            const char *st = json_string_value(json_object_get(b, "status"));
            if (b == NULL)
                lab_odata_error(r, 400, "InvalidRequestBody", why);
            else if (st != NULL && strcmp(st, "New") != 0 && strcmp(st, "InProgress") != 0 &&
                     strcmp(st, "Resolved") != 0)
                lab_odata_error(r, 400, "InvalidRequestBody",
                                "status must be New, InProgress or Resolved");
            else {
                if (st != NULL)
                    snprintf(d->mde_status, sizeof(d->mde_status), "%s", st);
                lab_reply_json(r, 200, alert_view(org, d));
            }
            json_decref(b);
        }
    } else if (strcmp(p, "/api/machines") == 0 && get) {
        json_t *a = json_array();
        for (int i = 0; i < LAB_HOSTS; i++)
            json_array_append_new(a, machine_view(org, &org->hosts[i]));
        lab_odata_list(r, a, "https://api.securitycenter.microsoft.com/api/$metadata#Machines");
    } else if (lab_path_match(p, "/api/machines/*/isolate", c, 2) && post) {
        struct lab_host *h = machine(org, c[0]);
        if (h == NULL)
            lab_odata_error(r, 404, "ResourceNotFound", "Machine not found");
        else
            isolate(r, h, true);
    } else if (lab_path_match(p, "/api/machines/*/unisolate", c, 2) && post) {
        struct lab_host *h = machine(org, c[0]);
        if (h == NULL)
            lab_odata_error(r, 404, "ResourceNotFound", "Machine not found");
        else
            isolate(r, h, false);
    } else if (lab_path_match(p, "/api/machines/*", c, 2) && get) {
        struct lab_host *h = machine(org, c[0]);
        if (h == NULL)
            lab_odata_error(r, 404, "ResourceNotFound", "Machine not found");
        else
            lab_reply_json(r, 200, machine_view(org, h));
    } else if (strcmp(p, "/api/machineactions") == 0 && get) {
        json_t *a = json_array();
        for (int i = 0; i < org->nactions; i++)
            json_array_append_new(a, action_view(&org->actions[i], false));
        lab_odata_list(r, a,
                       "https://api.securitycenter.microsoft.com/api/$metadata#MachineActions");
    } else if (lab_path_match(p, "/api/machineactions/*", c, 2) && get) {
        for (int i = 0; i < org->nactions; i++)
            if (strcmp(org->actions[i].id, c[0]) == 0) {
                lab_reply_json(r, 200, action_view(&org->actions[i], false));
                return true;
            }
        lab_odata_error(r, 404, "ResourceNotFound", "Machine action not found");
    } else if (lab_path_match(p, "/api/files/*/machines", c, 2) && get) {
        struct lab_file *f = lab_file_by_hash(org, c[0]);
        json_t *a = json_array();
        for (int i = 0; f != NULL && i < f->nhosts; i++)
            json_array_append_new(a, machine_view(org, &org->hosts[f->hosts[i]]));
        if (f == NULL) {
            json_decref(a);
            lab_odata_error(r, 404, "ResourceNotFound", "File not found");
        } else {
            lab_odata_list(r, a, "https://api.securitycenter.microsoft.com/api/$metadata#Machines");
        }
    } else if (strcmp(p, "/api/indicators") == 0 && get) {
        json_t *a = json_array();
        for (int i = 0; i < org->nmde_iocs; i++)
            json_array_append_new(a, indicator_view(&org->mde_iocs[i]));
        lab_odata_list(r, a, "https://api.securitycenter.microsoft.com/api/$metadata#Indicators");
    } else if (strcmp(p, "/api/indicators") == 0 && post) {
        add_indicator(r);
    } else if (lab_path_match(p, "/api/indicators/*", c, 2) && strcmp(m, "DELETE") == 0) {
        for (int i = 0; i < org->nmde_iocs; i++)
            if (strcmp(org->mde_iocs[i].id, c[0]) == 0) {
                org->mde_iocs[i] = org->mde_iocs[--org->nmde_iocs];
                lab_reply_empty(r, 204);
                return true;
            }
        lab_odata_error(r, 404, "ResourceNotFound", "Indicator not found");
    } else {
        lab_odata_error(r, 404, "ResourceNotFound", "no such endpoint in the lab's Defender API");
    }
    return true;
}

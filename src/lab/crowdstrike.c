/*
 * crowdstrike.c: the lab's CrowdStrike Falcon API.
 *
 * OAuth2 client credentials at POST /oauth2/token (form client_id and
 * client_secret; 201 with a bearer token; 403 for wrong credentials), then the
 * `meta`/`resources`/`errors` envelope everywhere: detections (legacy detects
 * and the alerts API), hosts (query ids by FQL, then entities), containment
 * through devices-actions, devices that ran an IOC, and custom IOCs. Runs under
 * the lab's mutex; state is the organisation's (org.c).
 */
#include "lab/lab_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CS_CID "1ab0000000000000000000000000c1d0"

static json_t *meta(struct lab_org *org, json_t *pagination)
{
    char trace[40];
    lab_org_new_id(org, "", trace, sizeof(trace));
    json_t *m =
        json_pack("{s:f,s:s,s:s}", "query_time", 0.004, "powered_by", "lab", "trace_id", trace);
    if (pagination != NULL)
        json_object_set_new(m, "pagination", pagination);
    return m;
}

static void reply(struct lab_req *r, unsigned status, json_t *resources, json_t *errors,
                  json_t *pagination)
{
    lab_reply_header(r, "X-Ratelimit-Limit", "6000");
    lab_reply_header(r, "X-Ratelimit-Remaining", "5999");
    lab_reply_header(r, "X-Cs-Region", "lab-1");
    lab_reply_json(r, status,
                   json_pack("{s:o,s:o,s:o}", "meta", meta(r->org, pagination), "resources",
                             resources != NULL ? resources : json_array(), "errors",
                             errors != NULL ? errors : json_array()));
}

static void error(struct lab_req *r, unsigned status, const char *msg)
{
    reply(r, status, NULL, json_pack("[{s:i,s:s}]", "code", (int)status, "message", msg), NULL);
}

/* --- views -------------------------------------------------------------------------------------
 */

static json_t *device_view(struct lab_req *r, const struct lab_host *h)
{
    char seen[40], first[40];
    lab_time(r->org->base_ms - 120000, false, seen);
    lab_time(r->org->base_ms - 200LL * 86400000, false, first);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:[],s:[]}", "device_id",
                     h->cs_id, "cid", CS_CID, "hostname", h->name, "local_ip", h->ip, "external_ip",
                     "198.18.0.1", "mac_address", h->mac, "platform_name", h->os, "os_version",
                     h->os_version, "status", h->cs_contained ? "contained" : "normal", "last_seen",
                     seen, "first_seen", first, "agent_version", "7.10.18110.0",
                     "product_type_desc", strcmp(h->os, "Linux") == 0 ? "Server" : "Workstation",
                     "tags", "groups");
}

static const char *sev_name(int s)
{
    return s >= 80 ? "Critical" : s >= 60 ? "High" : s >= 40 ? "Medium" : "Low";
}

static json_t *detection_view(struct lab_req *r, const struct lab_det *d)
{
    struct lab_org *org = r->org;
    const struct lab_host *h = &org->hosts[d->host];
    const struct lab_file *f = &org->files[d->file];
    const struct lab_user *u = &org->users[d->user];
    char ts[40];
    lab_time(d->ts_ms, false, ts);
    json_t *beh = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:i,s:i,s:s,s:s,s:s}",
                            "behavior_id", "10197", "filename", f->name, "filepath", f->path,
                            "cmdline", d->cmdline, "sha256", f->sha256, "md5", f->md5, "user_name",
                            u->login, "tactic", d->tactic, "technique_id", d->technique,
                            "technique", d->name, "severity", d->severity, "confidence", 80,
                            "timestamp", ts, "ioc_type", "hash_sha256", "ioc_value", f->sha256);
    return json_pack("{s:s,s:s,s:s,s:o,s:[o],s:s,s:s,s:i,s:i,s:s,s:b,s:s,s:s}", "cid", CS_CID,
                     "detection_id", d->cs_id, "created_timestamp", ts, "device", device_view(r, h),
                     "behaviors", beh, "first_behavior", ts, "last_behavior", ts, "max_severity",
                     d->severity, "max_confidence", 80, "max_severity_displayname",
                     sev_name(d->severity), "show_in_ui", 1, "status", d->cs_status,
                     "assigned_to_name", "");
}

static void composite_id(const struct lab_org *org, const struct lab_det *d, char *out, size_t cap)
{
    snprintf(out, cap, "%s:ind:%s:%s", CS_CID, org->hosts[d->host].cs_id,
             strrchr(d->cs_id, ':') + 1);
}

static json_t *alert_view(struct lab_req *r, const struct lab_det *d)
{
    struct lab_org *org = r->org;
    const struct lab_host *h = &org->hosts[d->host];
    const struct lab_file *f = &org->files[d->file];
    char ts[40], cid[160];
    lab_time(d->ts_ms, false, ts);
    composite_id(org, d, cid, sizeof(cid));
    json_t *a = json_pack(
        "{s:s,s:s,s:s,s:s,s:i,s:s,s:{s:s,s:s,s:s,s:s},s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,"
        "s:s,s:s,s:s}",
        "composite_id", cid, "id", strchr(cid, ':') + 1, "cid", CS_CID, "status",
        strcmp(d->cs_status, "new") == 0 ? "new" : d->cs_status, "severity", d->severity,
        "severity_name", sev_name(d->severity), "device", "device_id", h->cs_id, "hostname",
        h->name, "local_ip", h->ip, "platform_name", h->os, "sha256", f->sha256, "md5", f->md5,
        "filename", f->name, "filepath", f->path, "cmdline", d->cmdline, "user_name",
        org->users[d->user].login, "tactic", d->tactic, "technique_id", d->technique,
        "display_name", d->name, "description", d->name, "created_timestamp", ts, "timestamp", ts,
        "product", "epp");
    json_object_set_new(a, "type", json_string("ldt"));
    return a;
}

static json_t *ioc_view(const struct lab_ioc *i)
{
    char ts[40];
    lab_time(i->created_ms, false, ts);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:[s],s:s,s:s,s:s,s:b,s:b,s:b}", "id", i->id, "type",
                     i->type, "value", i->value, "action", i->action, "severity", i->severity,
                     "description", i->description, "platforms", "windows", "created_on", ts,
                     "modified_on", ts, "created_by", LAB_CLIENT_ID, "applied_globally", 1,
                     "expired", 0, "deleted", 0);
}

/* --- paging ------------------------------------------------------------------------------------
 */

static bool page_args(struct lab_req *r, size_t *offset, size_t *limit)
{
    const char *o = lab_arg(r, "offset"), *l = lab_arg(r, "limit");
    *offset = 0;
    *limit = 100;
    if (o != NULL && (*o == '\0' || strspn(o, "0123456789") != strlen(o) || strlen(o) > 9))
        return false;
    if (l != NULL && (*l == '\0' || strspn(l, "0123456789") != strlen(l) || strlen(l) > 9))
        return false;
    if (o != NULL)
        *offset = strtoul(o, NULL, 10);
    if (l != NULL)
        *limit = strtoul(l, NULL, 10);
    if (*limit == 0 || *limit > 10000)
        return false;
    return true;
}

/* Filters views by FQL, pages them, and answers either the ids (field idkey) or the objects. */
static void answer_query(struct lab_req *r, json_t *views, const char *filter, const char *idkey,
                         bool ids)
{
    size_t offset, limit;
    if (!page_args(r, &offset, &limit)) {
        json_decref(views);
        error(r, 400, "offset and limit must be integers (limit 1-10000)");
        return;
    }
    json_t *hits = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(views, i, v)
    {
        bool bad = false;
        bool hit = lab_fql_match(v, filter, &bad);
        if (bad) {
            json_decref(hits);
            json_decref(views);
            error(r, 400, "invalid filter (FQL such as hostname:'WS-1001')");
            return;
        }
        if (hit)
            json_array_append(hits, v);
    }
    const char *sort = lab_arg(r, "sort");
    if (sort != NULL && lab_icontains(sort, "asc")) {
        size_t n = json_array_size(hits);
        for (size_t k = 0; k < n / 2; k++) {
            json_t *a = json_incref(json_array_get(hits, k));
            json_array_set(hits, k, json_array_get(hits, n - 1 - k));
            json_array_set_new(hits, n - 1 - k, a);
        }
    }
    json_t *out = json_array();
    size_t total = json_array_size(hits);
    for (size_t k = offset; k < total && k < offset + limit; k++) {
        json_t *e = json_array_get(hits, k);
        if (ids)
            json_array_append(out, json_object_get(e, idkey));
        else
            json_array_append(out, e);
    }
    json_decref(hits);
    json_decref(views);
    reply(r, 200, out, NULL,
          json_pack("{s:i,s:i,s:i}", "offset", (int)offset, "limit", (int)limit, "total",
                    (int)total));
}

/* The ids of a request: repeated `ids` query arguments, or a body {"ids": [...]}
 * (key idkey). NULL with an error answered. */
static json_t *request_ids(struct lab_req *r, const char *idkey, bool body)
{
    json_t *ids = json_array();
    if (body) {
        char why[160];
        json_t *b = lab_body_json(r, why, sizeof(why));
        json_t *a = json_object_get(b, idkey);
        if (b == NULL || !json_is_array(a)) {
            char msg[200];
            snprintf(msg, sizeof(msg), "%s", b == NULL ? why : "the body must hold an id array");
            error(r, 400, msg);
            json_decref(b);
            json_decref(ids);
            return NULL;
        }
        json_array_extend(ids, a);
        json_decref(b);
    } else {
        const char *vals[RP_LAB_PAGE_MAX];
        size_t n = lab_args(r, "ids", vals, RP_LAB_PAGE_MAX);
        for (size_t i = 0; i < n; i++) {
            /* Some clients join ids with commas in one argument. */
            char tmp[RP_LAB_SEG_MAX * 4];
            snprintf(tmp, sizeof(tmp), "%s", vals[i]);
            char *save = NULL;
            for (char *t = strtok_r(tmp, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save))
                json_array_append_new(ids, json_string(t));
        }
    }
    if (json_array_size(ids) == 0) {
        error(r, 400, "no ids given");
        json_decref(ids);
        return NULL;
    }
    return ids;
}

static struct lab_host *host_by_aid(struct lab_org *org, const char *id)
{
    for (int i = 0; id != NULL && i < LAB_HOSTS; i++)
        if (strcasecmp(org->hosts[i].cs_id, id) == 0)
            return &org->hosts[i];
    return NULL;
}

/* --- endpoints ---------------------------------------------------------------------------------
 */

static void token(struct lab_req *r)
{
    char id[128] = "", secret[128] = "";
    bool have = lab_form_get(r->body, r->body_len, "client_id", 0, id, sizeof(id)) &&
                lab_form_get(r->body, r->body_len, "client_secret", 0, secret, sizeof(secret));
    if (!have) {
        error(r, 400, "client_id and client_secret are required (form-encoded)");
        return;
    }
    if (strcmp(id, LAB_CLIENT_ID) != 0 || strcmp(secret, LAB_CLIENT_SECRET) != 0) {
        error(r, 403, "Failed to issue access token - Not Authorized");
        return;
    }
    char tok[64];
    lab_token_issue(r->lab, "crowdstrike", lab_token_ttl(r->lab), tok, sizeof(tok));
    lab_reply_header(r, "X-Cs-Region", "lab-1");
    lab_reply_json(r, 201,
                   json_pack("{s:s,s:s,s:I}", "access_token", tok, "token_type", "bearer",
                             "expires_in", (json_int_t)lab_token_ttl(r->lab)));
}

static json_t *all_devices(struct lab_req *r)
{
    json_t *a = json_array();
    for (int i = 0; i < LAB_HOSTS; i++)
        json_array_append_new(a, device_view(r, &r->org->hosts[i]));
    return a;
}

static void device_entities(struct lab_req *r, bool body)
{
    json_t *ids = request_ids(r, "ids", body);
    if (ids == NULL)
        return;
    json_t *out = json_array(), *errs = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
    {
        struct lab_host *h = host_by_aid(r->org, json_string_value(v));
        if (h != NULL)
            json_array_append_new(out, device_view(r, h));
    }
    json_decref(ids);
    if (json_array_size(out) == 0) {
        json_decref(out);
        json_decref(errs);
        error(r, 404, "no device matches the ids given");
        return;
    }
    reply(r, 200, out, errs, NULL);
}

static void device_action(struct lab_req *r)
{
    const char *action = lab_arg(r, "action_name");
    if (action == NULL ||
        (strcmp(action, "contain") != 0 && strcmp(action, "lift_containment") != 0 &&
         strcmp(action, "hide_host") != 0 && strcmp(action, "unhide_host") != 0)) {
        error(r, 400, "action_name must be contain, lift_containment, hide_host or unhide_host");
        return;
    }
    json_t *ids = request_ids(r, "ids", true);
    if (ids == NULL)
        return;
    json_t *out = json_array(), *errs = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
    {
        const char *id = json_string_value(v);
        struct lab_host *h = host_by_aid(r->org, id);
        if (h == NULL) {
            char msg[300];
            snprintf(msg, sizeof(msg), "Device %s not found", id != NULL ? id : "(not a string)");
            json_array_append_new(errs, json_pack("{s:i,s:s}", "code", 404, "message", msg));
            continue;
        }
        if (strcmp(action, "contain") == 0)
            h->cs_contained = true;
        else if (strcmp(action, "lift_containment") == 0)
            h->cs_contained = false;
        json_array_append_new(out, json_pack("{s:s,s:s}", "id", h->cs_id, "path",
                                             "/devices/entities/devices-actions/v2"));
    }
    json_decref(ids);
    reply(r, json_array_size(out) > 0 ? 202 : 404, out, errs, NULL);
}

static void devices_ran(struct lab_req *r)
{
    const char *type = lab_arg(r, "type"), *value = lab_arg(r, "value");
    if (type == NULL || value == NULL) {
        error(r, 400, "type and value are required");
        return;
    }
    json_t *views = json_array();
    struct lab_org *org = r->org;
    if (strcmp(type, "sha256") == 0 || strcmp(type, "md5") == 0 || strcmp(type, "sha1") == 0) {
        struct lab_file *f = lab_file_by_hash(org, value);
        for (int i = 0; f != NULL && i < f->nhosts; i++)
            json_array_append_new(views, json_pack("{s:s}", "id", org->hosts[f->hosts[i]].cs_id));
    } else if (strcmp(type, "ipv4") == 0 || strcmp(type, "ipv6") == 0 ||
               strcmp(type, "domain") == 0) {
        for (int h = 0; h < LAB_HOSTS; h++) {
            bool hit = false;
            for (int d = 0; d < LAB_DETECTIONS; d++)
                hit = hit || (org->dets[d].host == h && strcmp(org->dets[d].remote_ip, value) == 0);
            if (hit)
                json_array_append_new(views, json_pack("{s:s}", "id", org->hosts[h].cs_id));
        }
    } else {
        json_decref(views);
        error(r, 400, "type must be sha256, md5, domain, ipv4 or ipv6");
        return;
    }
    answer_query(r, views, NULL, "id", true);
}

static struct lab_det *det_by_id(struct lab_org *org, const char *id, bool composite)
{
    for (int i = 0; id != NULL && i < LAB_DETECTIONS; i++) {
        char cid[160];
        composite_id(org, &org->dets[i], cid, sizeof(cid));
        if (composite ? (strcmp(cid, id) == 0 || strcmp(strchr(cid, ':') + 1, id) == 0)
                      : strcmp(org->dets[i].cs_id, id) == 0)
            return &org->dets[i];
    }
    return NULL;
}

static void det_entities(struct lab_req *r, bool alerts)
{
    json_t *ids = request_ids(r, alerts ? "composite_ids" : "ids", true);
    if (ids == NULL)
        return;
    json_t *out = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
    {
        struct lab_det *d = det_by_id(r->org, json_string_value(v), alerts);
        if (d != NULL)
            json_array_append_new(out, alerts ? alert_view(r, d) : detection_view(r, d));
    }
    json_decref(ids);
    reply(r, 200, out, NULL, NULL);
}

static void det_update(struct lab_req *r, bool alerts)
{
    char why[160];
    json_t *b = lab_body_json(r, why, sizeof(why));
    if (b == NULL) {
        error(r, 400, why);
        return;
    }
    json_t *ids = json_object_get(b, alerts ? "composite_ids" : "ids");
    const char *status = json_string_value(json_object_get(b, "status"));
    if (alerts) {
        size_t i;
        json_t *p;
        json_array_foreach(json_object_get(b, "action_parameters"), i, p)
        {
            const char *n = json_string_value(json_object_get(p, "name"));
            if (n != NULL && strcmp(n, "update_status") == 0)
                status = json_string_value(json_object_get(p, "value"));
        }
    }
    static const char *const ok[] = {"new",     "in_progress", "true_positive", "false_positive",
                                     "ignored", "closed",      "reopened",      NULL};
    bool valid = false;
    for (int k = 0; status != NULL && ok[k] != NULL; k++)
        valid = valid || strcmp(ok[k], status) == 0;
    if (!json_is_array(ids) || json_array_size(ids) == 0) {
        error(r, 400, "ids are required");
    } else if (status != NULL && !valid) {
        error(r, 400, "invalid status");
    } else {
        json_t *errs = json_array();
        size_t i;
        json_t *v;
        json_array_foreach(ids, i, v)
        {
            struct lab_det *d = det_by_id(r->org, json_string_value(v), alerts);
            if (d == NULL)
                json_array_append_new(
                    errs, json_pack("{s:i,s:s}", "code", 404, "message", "detection not found"));
            else if (status != NULL)
                snprintf(d->cs_status, sizeof(d->cs_status), "%s", status);
        }
        reply(r, 200, NULL, errs, NULL);
    }
    json_decref(b);
}

static json_t *all_dets(struct lab_req *r, bool alerts)
{
    json_t *a = json_array();
    for (int i = 0; i < LAB_DETECTIONS; i++)
        json_array_append_new(a, alerts ? alert_view(r, &r->org->dets[i])
                                        : detection_view(r, &r->org->dets[i]));
    return a;
}

static const char *const ioc_types[] = {"sha256", "md5", "domain", "ipv4", "ipv6", NULL};
static const char *const ioc_actions[] = {"detect",        "prevent",   "allow",
                                          "prevent_no_ui", "no_action", NULL};

static bool one_of(const char *const *list, const char *s)
{
    for (int i = 0; s != NULL && list[i] != NULL; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

static void ioc_create(struct lab_req *r)
{
    char why[160];
    json_t *b = lab_body_json(r, why, sizeof(why));
    json_t *list = json_object_get(b, "indicators");
    if (b == NULL || !json_is_array(list) || json_array_size(list) == 0) {
        error(r, 400, b == NULL ? why : "the body must hold an indicators array");
        json_decref(b);
        return;
    }
    struct lab_org *org = r->org;
    json_t *out = json_array(), *errs = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v)
    {
        const char *type = json_string_value(json_object_get(v, "type"));
        const char *value = json_string_value(json_object_get(v, "value"));
        const char *action = json_string_value(json_object_get(v, "action"));
        const char *sev = json_string_value(json_object_get(v, "severity"));
        const char *desc = json_string_value(json_object_get(v, "description"));
        char msg[400];
        if (!one_of(ioc_types, type) || value == NULL || *value == '\0' ||
            strlen(value) >= sizeof(org->cs_iocs[0].value)) {
            json_array_append_new(errs, json_pack("{s:i,s:s}", "code", 400, "message",
                                                  "type (sha256, md5, domain, ipv4, ipv6) and "
                                                  "value are required"));
            continue;
        }
        if (action != NULL && !one_of(ioc_actions, action)) {
            json_array_append_new(errs,
                                  json_pack("{s:i,s:s}", "code", 400, "message", "invalid action"));
            continue;
        }
        bool dup = false;
        for (int k = 0; k < org->ncs_iocs; k++)
            dup = dup || (strcmp(org->cs_iocs[k].type, type) == 0 &&
                          strcasecmp(org->cs_iocs[k].value, value) == 0);
        if (dup) {
            snprintf(msg, sizeof(msg), "Duplicate type: '%s' and value: '%s' combination.", type,
                     value);
            json_array_append_new(errs, json_pack("{s:i,s:s}", "code", 400, "message", msg));
            continue;
        }
        if (org->ncs_iocs >= RP_LAB_ADDED_MAX) {
            json_array_append_new(
                errs, json_pack("{s:i,s:s}", "code", 429, "message", "the lab's IOC list is full"));
            continue;
        }
        struct lab_ioc *ioc = &org->cs_iocs[org->ncs_iocs++];
        memset(ioc, 0, sizeof(*ioc));
        lab_org_new_id(org, "", ioc->id, sizeof(ioc->id));
        snprintf(ioc->type, sizeof(ioc->type), "%s", type);
        snprintf(ioc->value, sizeof(ioc->value), "%s", value);
        snprintf(ioc->action, sizeof(ioc->action), "%s", action != NULL ? action : "detect");
        snprintf(ioc->severity, sizeof(ioc->severity), "%s", sev != NULL ? sev : "medium");
        snprintf(ioc->description, sizeof(ioc->description), "%s", desc != NULL ? desc : "");
        ioc->created_ms = r->now_ms;
        json_array_append_new(out, ioc_view(ioc));
    }
    json_decref(b);
    if (json_array_size(out) == 0) {
        reply(r, 400, out, errs, NULL);
        return;
    }
    reply(r, 201, out, errs, NULL);
}

static json_t *all_iocs(struct lab_req *r)
{
    json_t *a = json_array();
    for (int i = 0; i < r->org->ncs_iocs; i++)
        json_array_append_new(a, ioc_view(&r->org->cs_iocs[i]));
    return a;
}

static void ioc_entities(struct lab_req *r, bool del)
{
    json_t *ids = request_ids(r, "ids", false);
    if (ids == NULL)
        return;
    struct lab_org *org = r->org;
    json_t *out = json_array();
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
    {
        for (int k = 0; k < org->ncs_iocs; k++) {
            if (strcmp(org->cs_iocs[k].id, json_string_value(v) ? json_string_value(v) : "") != 0)
                continue;
            if (del) {
                json_array_append_new(out, json_string(org->cs_iocs[k].id));
                org->cs_iocs[k] = org->cs_iocs[--org->ncs_iocs];
            } else {
                json_array_append_new(out, ioc_view(&org->cs_iocs[k]));
            }
            break;
        }
    }
    json_decref(ids);
    if (json_array_size(out) == 0) {
        json_decref(out);
        error(r, 404, "no indicator matches the ids given");
        return;
    }
    reply(r, 200, out, NULL, NULL);
}

static void alerts_combined(struct lab_req *r)
{
    char why[160];
    json_t *b = r->body_len > 0 ? lab_body_json(r, why, sizeof(why)) : json_object();
    if (b == NULL) {
        error(r, 400, why);
        return;
    }
    const char *filter = json_string_value(json_object_get(b, "filter"));
    const char *after = json_string_value(json_object_get(b, "after"));
    json_int_t limit = json_is_integer(json_object_get(b, "limit"))
                           ? json_integer_value(json_object_get(b, "limit"))
                           : 100;
    size_t start = after != NULL ? strtoul(after, NULL, 10) : 0;
    if (limit < 1 || limit > 10000) {
        json_decref(b);
        error(r, 400, "limit must be 1-10000");
        return;
    }
    json_t *views = all_dets(r, true), *out = json_array();
    size_t i, seen = 0, total = 0;
    json_t *v;
    bool badf = false;
    json_array_foreach(views, i, v)
    {
        bool bad = false;
        if (!lab_fql_match(v, filter, &bad)) {
            badf = badf || bad;
            continue;
        }
        total++;
        if (seen++ >= start && json_array_size(out) < (size_t)limit)
            json_array_append(out, v);
    }
    json_decref(views);
    json_decref(b);
    if (badf) {
        json_decref(out);
        error(r, 400, "invalid filter");
        return;
    }
    char next[24] = "";
    if (start + json_array_size(out) < total)
        snprintf(next, sizeof(next), "%zu", start + json_array_size(out));
    reply(
        r, 200, out, NULL,
        json_pack("{s:i,s:I,s:s}", "total", (int)total, "limit", (json_int_t)limit, "after", next));
}

bool lab_crowdstrike(struct lab_req *r)
{
    const char *p = r->path, *m = r->method;
    bool mine = strcmp(p, "/oauth2/token") == 0 || strcmp(p, "/oauth2/revoke") == 0 ||
                lab_prefix(p, "/detects/") || lab_prefix(p, "/alerts/") ||
                lab_prefix(p, "/devices/queries/") || lab_prefix(p, "/devices/entities/") ||
                lab_prefix(p, "/devices/combined/") || lab_prefix(p, "/iocs/") ||
                lab_prefix(p, "/indicators/");
    if (!mine)
        return false;
    if (strcmp(p, "/oauth2/token") == 0) {
        if (strcmp(m, "POST") != 0)
            error(r, 405, "method not allowed");
        else
            token(r);
        return true;
    }
    enum lab_tok t = lab_token_check(r->lab, "crowdstrike", NULL, lab_header(r, "Authorization"));
    if (t != LAB_TOK_OK) {
        error(r, 401, "access denied, invalid bearer token");
        return true;
    }
    bool get = strcmp(m, "GET") == 0, post = strcmp(m, "POST") == 0;
    bool patch = strcmp(m, "PATCH") == 0, del = strcmp(m, "DELETE") == 0;
    if (strcmp(p, "/oauth2/revoke") == 0 && post)
        reply(r, 200, NULL, NULL, NULL);
    else if (strcmp(p, "/detects/queries/detects/v1") == 0 && get)
        answer_query(r, all_dets(r, false), lab_arg(r, "filter"), "detection_id", true);
    else if (strcmp(p, "/detects/entities/summaries/GET/v1") == 0 && post)
        det_entities(r, false);
    else if (strcmp(p, "/detects/entities/detects/v2") == 0 && patch)
        det_update(r, false);
    else if (strcmp(p, "/alerts/queries/alerts/v2") == 0 && get)
        answer_query(r, all_dets(r, true), lab_arg(r, "filter"), "composite_id", true);
    else if (strcmp(p, "/alerts/entities/alerts/v2") == 0 && post)
        det_entities(r, true);
    else if (strcmp(p, "/alerts/entities/alerts/v3") == 0 && patch)
        det_update(r, true);
    else if (strcmp(p, "/alerts/combined/alerts/v1") == 0 && post)
        alerts_combined(r);
    else if ((strcmp(p, "/devices/queries/devices/v1") == 0 ||
              strcmp(p, "/devices/queries/devices-scroll/v1") == 0) &&
             get)
        answer_query(r, all_devices(r), lab_arg(r, "filter"), "device_id", true);
    else if (strcmp(p, "/devices/combined/devices/v1") == 0 && get)
        answer_query(r, all_devices(r), lab_arg(r, "filter"), "device_id", false);
    else if (strcmp(p, "/devices/entities/devices/v2") == 0 && (get || post))
        device_entities(r, post);
    else if (strcmp(p, "/devices/entities/devices-actions/v2") == 0 && post)
        device_action(r);
    else if ((strcmp(p, "/indicators/queries/devices/v1") == 0 ||
              strcmp(p, "/iocs/queries/indicators/devices/v1") == 0) &&
             get)
        devices_ran(r);
    else if (strcmp(p, "/iocs/entities/indicators/v1") == 0 && post)
        ioc_create(r);
    else if (strcmp(p, "/iocs/entities/indicators/v1") == 0 && (get || del))
        ioc_entities(r, del);
    else if (strcmp(p, "/iocs/queries/indicators/v1") == 0 && get)
        answer_query(r, all_iocs(r), lab_arg(r, "filter"), "id", true);
    else if (strcmp(p, "/iocs/combined/indicator/v1") == 0 && get)
        answer_query(r, all_iocs(r), lab_arg(r, "filter"), "id", false);
    else
        error(r, 404, "no such endpoint in the lab's CrowdStrike API");
    return true;
}

/*
 * carbonblack.c: the lab's Carbon Black Cloud API.
 *
 * Auth: X-Auth-Token "{API secret key}/{API id}" (lab-key/lab-id) on every call,
 * the org key (LABORG01) in every path. Alert search (v7), device search and
 * quarantine through device_actions, and the asynchronous process search by hash
 * (a job whose first results poll reports completed < contacted). Runs under the
 * lab's mutex.
 */
#include "lab/lab_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void error(struct lab_req *r, unsigned status, const char *msg)
{
    lab_reply_json(r, status, json_pack("{s:b,s:s}", "success", 0, "message", msg));
}

static json_t *device_view(const struct lab_org *org, const struct lab_host *h)
{
    static const char *const os[] = {"WINDOWS", "MAC", "LINUX"};
    int k = strcmp(h->os, "Windows") == 0 ? 0 : strcmp(h->os, "Mac") == 0 ? 1 : 2;
    char seen[40];
    lab_time(org->base_ms - 60000, false, seen);
    return json_pack("{s:I,s:s,s:s,s:s,s:b,s:s,s:s,s:I,s:s,s:s,s:s}", "id", (json_int_t)h->cb_id,
                     "name", h->name, "os", os[k], "os_version", h->os_version, "quarantined",
                     h->cb_quarantined, "last_internal_ip_address", h->ip, "mac_address", h->mac,
                     "policy_id", (json_int_t)12, "policy_name", "Standard", "status", "REGISTERED",
                     "last_contact_time", seen);
}

static json_t *alert_view(const struct lab_org *org, const struct lab_det *d)
{
    const struct lab_host *h = &org->hosts[d->host];
    const struct lab_file *f = &org->files[d->file];
    char ts[40];
    lab_time(d->ts_ms, true, ts);
    return json_pack("{s:s,s:s,s:s,s:i,s:I,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:{s:s},s:s,s:s,s:s}",
                     "id", d->cb_id, "org_key", LAB_CB_ORG, "type", "CB_ANALYTICS", "severity",
                     d->severity / 10 + 1, "device_id", (json_int_t)h->cb_id, "device_name",
                     h->name, "device_os", h->os, "device_internal_ip", h->ip, "device_username",
                     org->users[d->user].login, "process_sha256", f->sha256, "process_name",
                     f->name, "process_cmdline", d->cmdline, "reason", d->name, "workflow",
                     "status", d->cb_status, "backend_timestamp", ts, "first_event_timestamp", ts,
                     "netconn_remote_ip", d->remote_ip);
}

/* Matches an object against {"criteria": {field: [values]}} and a "field:value" query. */
static bool matches(json_t *obj, json_t *criteria, const char *query)
{
    const char *k;
    json_t *vals;
    json_object_foreach(criteria, k, vals)
    {
        json_t *have = lab_json_get(obj, k, '.');
        if (k[0] == '\0' || strcmp(k, "backend_timestamp") == 0 || !json_is_array(vals))
            continue;
        bool any = false;
        size_t i;
        json_t *v;
        json_array_foreach(vals, i, v)
        {
            char want[300];
            if (json_is_string(v))
                snprintf(want, sizeof(want), "%s", json_string_value(v));
            else if (json_is_integer(v))
                snprintf(want, sizeof(want), "%lld", (long long)json_integer_value(v));
            else
                continue;
            char got[300] = "";
            if (json_is_string(have))
                snprintf(got, sizeof(got), "%s", json_string_value(have));
            else if (json_is_integer(have))
                snprintf(got, sizeof(got), "%lld", (long long)json_integer_value(have));
            else if (json_is_boolean(have))
                snprintf(got, sizeof(got), "%s", json_is_true(have) ? "true" : "false");
            any = any || strcasecmp(got, want) == 0;
        }
        if (!any)
            return false;
    }
    if (query != NULL && *query != '\0') {
        /* Terms "field:value" must match; bare words must appear in the object. */
        char q[512];
        snprintf(q, sizeof(q), "%s", query);
        char *save = NULL;
        for (char *t = strtok_r(q, " ", &save); t != NULL; t = strtok_r(NULL, " ", &save)) {
            if (strcasecmp(t, "AND") == 0)
                continue;
            char *c = strchr(t, ':');
            char *txt = json_dumps(obj, JSON_COMPACT);
            bool hit;
            if (c != NULL) {
                *c = '\0';
                json_t *have = lab_json_get(obj, t, '.');
                char *hv = have != NULL ? json_dumps(have, JSON_ENCODE_ANY) : NULL;
                hit = hv != NULL && lab_icontains(hv, c + 1);
                free(hv);
            } else {
                hit = txt != NULL && lab_icontains(txt, t);
            }
            free(txt);
            if (!hit)
                return false;
        }
    }
    return true;
}

static void search(struct lab_req *r, json_t *all)
{
    char why[160];
    json_t *b = r->body_len > 0 ? lab_body_json(r, why, sizeof(why)) : json_object();
    if (b == NULL || !json_is_object(b)) {
        json_decref(all);
        json_decref(b);
        error(r, 400, b == NULL ? why : "the body must be a JSON object");
        return;
    }
    json_t *crit = json_object_get(b, "criteria");
    const char *query = json_string_value(json_object_get(b, "query"));
    json_int_t start = json_integer_value(json_object_get(b, "start"));
    json_int_t rows = json_is_integer(json_object_get(b, "rows"))
                          ? json_integer_value(json_object_get(b, "rows"))
                          : 100;
    if (start < 0 || rows < 0 || rows > 10000) {
        json_decref(all);
        json_decref(b);
        error(r, 400, "start and rows must be 0-10000");
        return;
    }
    if (start > 0)
        start--; /* the API counts from 1; 0 is accepted as 1 */
    json_t *out = json_array();
    size_t i, found = 0;
    json_t *v;
    json_array_foreach(all, i, v)
    {
        if (!matches(v, crit, query))
            continue;
        if (found >= (size_t)start && json_array_size(out) < (size_t)rows)
            json_array_append(out, v);
        found++;
    }
    json_decref(all);
    json_decref(b);
    lab_reply_json(r, 200,
                   json_pack("{s:o,s:i,s:i}", "results", out, "num_found", (int)found,
                             "num_available", (int)found));
}

static json_t *all_alerts(const struct lab_org *org)
{
    json_t *a = json_array();
    for (int i = 0; i < LAB_DETECTIONS; i++)
        json_array_append_new(a, alert_view(org, &org->dets[i]));
    return a;
}

static json_t *all_devices(const struct lab_org *org)
{
    json_t *a = json_array();
    for (int i = 0; i < LAB_HOSTS; i++)
        json_array_append_new(a, device_view(org, &org->hosts[i]));
    return a;
}

static struct lab_host *host_by_id(struct lab_org *org, const char *id)
{
    for (int i = 0; id != NULL && i < LAB_HOSTS; i++) {
        char s[24];
        snprintf(s, sizeof(s), "%lld", org->hosts[i].cb_id);
        if (strcmp(s, id) == 0)
            return &org->hosts[i];
    }
    return NULL;
}

static void device_actions(struct lab_req *r)
{
    char why[160];
    json_t *b = lab_body_json(r, why, sizeof(why));
    const char *type = json_string_value(json_object_get(b, "action_type"));
    json_t *ids = json_object_get(b, "device_id");
    const char *toggle =
        json_string_value(json_object_get(json_object_get(b, "options"), "toggle"));
    if (b == NULL) {
        error(r, 400, why);
    } else if (type == NULL || !json_is_array(ids) || json_array_size(ids) == 0) {
        error(r, 400, "action_type and a device_id array are required");
    } else if (strcmp(type, "QUARANTINE") == 0 &&
               (toggle == NULL || (strcmp(toggle, "ON") != 0 && strcmp(toggle, "OFF") != 0))) {
        error(r, 400, "options.toggle must be ON or OFF");
    } else {
        size_t i;
        json_t *v;
        bool all = true;
        json_array_foreach(ids, i, v)
        {
            char s[32] = "";
            if (json_is_integer(v))
                snprintf(s, sizeof(s), "%lld", (long long)json_integer_value(v));
            else if (json_is_string(v))
                snprintf(s, sizeof(s), "%s", json_string_value(v));
            all = all && host_by_id(r->org, s) != NULL;
        }
        if (!all) {
            error(r, 404, "one or more devices not found");
        } else {
            json_array_foreach(ids, i, v)
            {
                char s[32] = "";
                if (json_is_integer(v))
                    snprintf(s, sizeof(s), "%lld", (long long)json_integer_value(v));
                else
                    snprintf(s, sizeof(s), "%s", json_string_value(v));
                struct lab_host *h = host_by_id(r->org, s);
                if (strcmp(type, "QUARANTINE") == 0)
                    h->cb_quarantined = strcmp(toggle, "ON") == 0;
            }
            lab_reply_empty(r, 204);
        }
    }
    json_decref(b);
}

static void workflow(struct lab_req *r)
{
    char why[160];
    json_t *b = lab_body_json(r, why, sizeof(why));
    const char *status = json_string_value(json_object_get(b, "status"));
    if (b == NULL || status == NULL ||
        (strcmp(status, "OPEN") != 0 && strcmp(status, "IN_PROGRESS") != 0 &&
         strcmp(status, "CLOSED") != 0)) {
        error(r, 400, b == NULL ? why : "status must be OPEN, IN_PROGRESS or CLOSED");
        json_decref(b);
        return;
    }
    json_t *crit = json_object_get(b, "criteria");
    const char *query = json_string_value(json_object_get(b, "query"));
    int n = 0;
    for (int i = 0; i < LAB_DETECTIONS; i++) {
        json_t *v = alert_view(r->org, &r->org->dets[i]);
        if ((crit != NULL || query != NULL) && matches(v, crit, query)) {
            snprintf(r->org->dets[i].cb_status, sizeof(r->org->dets[i].cb_status), "%s", status);
            n++;
        }
        json_decref(v);
    }
    char id[40];
    lab_org_new_id(r->org, "", id, sizeof(id));
    lab_reply_json(r, 200, json_pack("{s:s,s:i}", "request_id", id, "updated", n));
}

static void job_create(struct lab_req *r)
{
    char why[160];
    json_t *b = lab_body_json(r, why, sizeof(why));
    const char *q = json_string_value(json_object_get(b, "query"));
    if (b == NULL || q == NULL) {
        error(r, 400, b == NULL ? why : "query is required");
        json_decref(b);
        return;
    }
    struct lab_org *org = r->org;
    struct lab_job *j = &org->jobs[org->njobs++ % RP_LAB_JOBS_MAX];
    memset(j, 0, sizeof(*j));
    j->vendor = 1;
    lab_org_new_id(org, "", j->id, sizeof(j->id));
    snprintf(j->query, sizeof(j->query), "%s", q);
    j->created_ms = r->now_ms;
    /* process_hash:{hash} (or any hash in the query) selects the hosts that ran it. */
    for (int i = 0; i < LAB_FILES; i++) {
        const struct lab_file *f = &org->files[i];
        if (!lab_icontains(q, f->sha256) && !lab_icontains(q, f->md5))
            continue;
        for (int k = 0; k < f->nhosts; k++)
            j->results[j->nresults++] = f->hosts[k] * 100 + i;
    }
    json_decref(b);
    lab_reply_json(r, 200, json_pack("{s:s}", "job_id", j->id));
}

static void job_results(struct lab_req *r, const char *id)
{
    struct lab_org *org = r->org;
    struct lab_job *j = NULL;
    for (int i = 0; i < RP_LAB_JOBS_MAX; i++)
        if (org->jobs[i].vendor == 1 && strcmp(org->jobs[i].id, id) == 0)
            j = &org->jobs[i];
    if (j == NULL) {
        error(r, 404, "no such search job");
        return;
    }
    const char *sv = lab_arg(r, "start"), *rv = lab_arg(r, "rows");
    long start = sv != NULL ? atol(sv) : 0, rows = rv != NULL ? atol(rv) : 10;
    bool done = j->polls++ > 0;
    json_t *out = json_array();
    for (int i = 0; done && i < j->nresults; i++) {
        if (i < start || (long)json_array_size(out) >= rows)
            continue;
        const struct lab_host *h = &org->hosts[j->results[i] / 100];
        const struct lab_file *f = &org->files[j->results[i] % 100];
        char guid[80], ts[40];
        snprintf(guid, sizeof(guid), "%s-%08llx-00001234-00000000-1d9", LAB_CB_ORG,
                 (unsigned long long)h->cb_id);
        lab_time(org->base_ms - 3600000, true, ts);
        json_array_append_new(out, json_pack("{s:I,s:s,s:s,s:s,s:[s,s],s:s,s:s,s:s,s:s}",
                                             "device_id", (json_int_t)h->cb_id, "device_name",
                                             h->name, "device_os", h->os, "process_name", f->name,
                                             "process_hash", f->md5, f->sha256, "process_guid",
                                             guid, "process_username", org->users[h->user].login,
                                             "backend_timestamp", ts, "org_id", LAB_CB_ORG));
    }
    lab_reply_json(r, 200,
                   json_pack("{s:o,s:i,s:i,s:i,s:i}", "results", out, "num_found",
                             done ? j->nresults : 0, "num_available", done ? j->nresults : 0,
                             "contacted", 45, "completed", done ? 45 : 20));
}

bool lab_carbonblack(struct lab_req *r)
{
    const char *p = r->path;
    if (!lab_prefix(p, "/api/alerts/v7/orgs/") && !lab_prefix(p, "/appservices/v6/orgs/") &&
        !lab_prefix(p, "/api/investigate/v2/orgs/"))
        return false;
    const char *tok = lab_header(r, "X-Auth-Token");
    if (tok == NULL || strcmp(tok, LAB_API_KEY "/" LAB_API_ID) != 0) {
        error(r, 401, "Unauthorized: X-Auth-Token must be API_SECRET_KEY/API_ID");
        return true;
    }
    char c[3][RP_LAB_SEG_MAX];
    bool post = strcmp(r->method, "POST") == 0, get = strcmp(r->method, "GET") == 0;
    const char *org_seg = strstr(p, "/orgs/") + 6;
    if (strncmp(org_seg, LAB_CB_ORG "/", strlen(LAB_CB_ORG) + 1) != 0) {
        error(r, 403, "the API key is not authorized for this org key");
        return true;
    }
    if (lab_path_match(p, "/api/alerts/v7/orgs/*/alerts/_search", c, 3) && post)
        search(r, all_alerts(r->org));
    else if (lab_path_match(p, "/api/alerts/v7/orgs/*/alerts/workflow", c, 3) && post)
        workflow(r);
    else if (lab_path_match(p, "/api/alerts/v7/orgs/*/alerts/*", c, 3) && get) {
        for (int i = 0; i < LAB_DETECTIONS; i++)
            if (strcmp(r->org->dets[i].cb_id, c[1]) == 0) {
                lab_reply_json(r, 200, alert_view(r->org, &r->org->dets[i]));
                return true;
            }
        error(r, 404, "alert not found");
    } else if (lab_path_match(p, "/appservices/v6/orgs/*/devices/_search", c, 3) && post)
        search(r, all_devices(r->org));
    else if (lab_path_match(p, "/appservices/v6/orgs/*/device_actions", c, 3) && post)
        device_actions(r);
    else if (lab_path_match(p, "/appservices/v6/orgs/*/devices/*", c, 3) && get) {
        struct lab_host *h = host_by_id(r->org, c[1]);
        if (h == NULL)
            error(r, 404, "device not found");
        else
            lab_reply_json(r, 200, device_view(r->org, h));
    } else if (lab_path_match(p, "/api/investigate/v2/orgs/*/processes/search_jobs", c, 3) && post)
        job_create(r);
    else if (lab_path_match(p, "/api/investigate/v2/orgs/*/processes/search_jobs/*/results", c,
                            3) &&
             get)
        job_results(r, c[1]);
    else
        error(r, 404, "no such endpoint in the lab's Carbon Black Cloud API");
    return true;
}

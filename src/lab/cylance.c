/*
 * cylance.c: the lab's Cylance (CylancePROTECT) API.
 *
 * Auth: POST /auth/v2/token {"auth_token": JWT}, the JWT signed HS256 with the
 * application secret (lab-secret) and claims iss http://cylance.com, sub the
 * application id (lab-app), tid the tenant (lab-tenant), exp in the future; the
 * answer's access token is then a bearer token. Threats, the devices that saw a
 * threat, devices, lockdown, and the global quarantine/safe lists, all paged by
 * page/page_size into page_items. Runs under the lab's mutex.
 */
#include "lab/lab_internal.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void error(struct lab_req *r, unsigned status, const char *msg)
{
    lab_reply_json(r, status, json_pack("{s:s}", "message", msg));
}

static void upper(char *s)
{
    for (; *s != '\0'; s++)
        *s = (char)toupper((unsigned char)*s);
}

static json_t *threat_view(const struct lab_org *org, const struct lab_file *f)
{
    char sha[65], md5[33];
    snprintf(sha, sizeof(sha), "%s", f->sha256);
    snprintf(md5, sizeof(md5), "%s", f->md5);
    upper(sha);
    upper(md5);
    bool gq = false, safe = false;
    for (int i = 0; i < org->ngq; i++)
        if (strcasecmp(org->gq[i].sha256, f->sha256) == 0) {
            gq = gq || org->gq[i].list == 0;
            safe = safe || org->gq[i].list == 1;
        }
    return json_pack("{s:s,s:s,s:s,s:f,s:s,s:s,s:b,s:b,s:i,s:b,s:i}", "sha256", sha, "md5", md5,
                     "name", f->name, "cylance_score", f->cylance_score / 1000.0, "classification",
                     f->classification, "sub_classification", f->malicious ? "Trojan" : "",
                     "global_quarantined", gq, "safelisted", safe, "file_size",
                     48128 + (int)(f->md5[0] % 7) * 1024, "unique_to_cylance", 0, "av_industry",
                     f->malicious ? 45 : 0);
}

static json_t *device_view(const struct lab_org *org, const struct lab_host *h)
{
    char ts[40];
    lab_time(org->base_ms - 86400000LL * 90, false, ts);
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:{s:s,s:s},s:[s],s:[s],s:s,s:s,s:b}", "id",
                     h->cy_id, "name", h->name, "host_name", h->name, "state", "Online",
                     "agent_version", "3.1.1001", "os_version", h->os_version, "policy", "id",
                     h->cy_policy, "name", h->cy_policy, "ip_addresses", h->ip, "mac_addresses",
                     h->mac, "last_logged_in_user", org->users[h->user].login,
                     "date_first_registered", ts, "lockdown", h->cy_lockdown);
}

/* Answers a page of items from all (stolen). */
static void page(struct lab_req *r, json_t *all)
{
    const char *pv = lab_arg(r, "page"), *sv = lab_arg(r, "page_size");
    long pg = pv != NULL ? atol(pv) : 1, ps = sv != NULL ? atol(sv) : 10;
    if (pg < 1 || ps < 1 || ps > 200) {
        json_decref(all);
        error(r, 400, "page must be 1 or more and page_size 1-200");
        return;
    }
    size_t total = json_array_size(all);
    json_t *items = json_array();
    for (size_t i = (size_t)((pg - 1) * ps); i < total && (long)json_array_size(items) < ps; i++)
        json_array_append(items, json_array_get(all, i));
    json_decref(all);
    lab_reply_json(r, 200,
                   json_pack("{s:i,s:i,s:i,s:i,s:o}", "page_number", (int)pg, "page_size", (int)ps,
                             "total_pages", (int)((total + (size_t)ps - 1) / (size_t)ps),
                             "total_number_of_items", (int)total, "page_items", items));
}

static void token(struct lab_req *r)
{
    char why[200];
    json_t *b = lab_body_json(r, why, sizeof(why));
    const char *jwt = json_string_value(json_object_get(b, "auth_token"));
    if (b == NULL || jwt == NULL) {
        error(r, 400, b == NULL ? why : "auth_token is required");
        json_decref(b);
        return;
    }
    json_t *c = lab_jwt_verify(jwt, LAB_CLIENT_SECRET, why, sizeof(why));
    json_decref(b);
    if (c == NULL) {
        error(r, 401, why);
        return;
    }
    const char *iss = json_string_value(json_object_get(c, "iss"));
    const char *sub = json_string_value(json_object_get(c, "sub"));
    const char *tid = json_string_value(json_object_get(c, "tid"));
    json_t *exp = json_object_get(c, "exp");
    int64_t now = r->now_ms / 1000;
    if (iss == NULL || strcmp(iss, "http://cylance.com") != 0)
        error(r, 401, "iss must be http://cylance.com");
    else if (sub == NULL || strcmp(sub, LAB_APP_ID) != 0)
        error(r, 401, "sub must be the application id");
    else if (tid == NULL || strcmp(tid, LAB_TENANT) != 0)
        error(r, 401, "tid must be the tenant id");
    else if (!json_is_number(exp) || (int64_t)json_number_value(exp) <= now)
        error(r, 401, "the JWT has expired (exp)");
    else {
        int64_t ttl = (int64_t)json_number_value(exp) - now;
        if (ttl > lab_token_ttl(r->lab))
            ttl = lab_token_ttl(r->lab);
        char tok[64];
        lab_token_issue(r->lab, "cylance", ttl, tok, sizeof(tok));
        lab_reply_json(r, 200, json_pack("{s:s}", "access_token", tok));
    }
    json_decref(c);
}

/* A device id as sent: with or without dashes, any case. */
static struct lab_host *host_by_id(struct lab_org *org, const char *id)
{
    char want[40];
    size_t n = 0;
    for (const char *p = id; *p != '\0' && n + 1 < sizeof(want); p++)
        if (*p != '-')
            want[n++] = (char)tolower((unsigned char)*p);
    want[n] = '\0';
    for (int i = 0; i < LAB_HOSTS; i++) {
        char have[40];
        size_t k = 0;
        for (const char *p = org->hosts[i].cy_id; *p != '\0'; p++)
            if (*p != '-')
                have[k++] = *p;
        have[k] = '\0';
        if (strcmp(have, want) == 0)
            return &org->hosts[i];
    }
    return NULL;
}

static void globallist_add(struct lab_req *r)
{
    char why[160];
    json_t *b = lab_body_json(r, why, sizeof(why));
    const char *sha = json_string_value(json_object_get(b, "sha256"));
    const char *lt = json_string_value(json_object_get(b, "list_type"));
    const char *reason = json_string_value(json_object_get(b, "reason"));
    struct lab_org *org = r->org;
    int list = lt == NULL                            ? -1
               : strcmp(lt, "GlobalQuarantine") == 0 ? 0
               : strcmp(lt, "GlobalSafe") == 0       ? 1
                                                     : -1;
    if (b == NULL)
        error(r, 400, why);
    else if (sha == NULL || strlen(sha) != 64 || strspn(sha, "0123456789abcdefABCDEF") != 64)
        error(r, 400, "sha256 must be 64 hex digits");
    else if (list < 0)
        error(r, 400, "list_type must be GlobalQuarantine or GlobalSafe");
    else if (list == 1 && json_object_get(b, "category") == NULL)
        error(r, 400, "category is required for GlobalSafe");
    else {
        bool dup = false;
        for (int i = 0; i < org->ngq; i++)
            dup = dup || (strcasecmp(org->gq[i].sha256, sha) == 0 && org->gq[i].list == list);
        if (dup)
            error(r, 409, "There's already an entry for this threat");
        else if (org->ngq >= RP_LAB_ADDED_MAX)
            error(r, 429, "the lab's global list is full");
        else {
            struct lab_gq *g = &org->gq[org->ngq++];
            snprintf(g->sha256, sizeof(g->sha256), "%s", sha);
            upper(g->sha256);
            g->list = list;
            snprintf(g->reason, sizeof(g->reason), "%s", reason != NULL ? reason : "");
            g->added_ms = r->now_ms;
            lab_reply_empty(r, 200);
        }
    }
    json_decref(b);
}

static void globallist_del(struct lab_req *r)
{
    char why[160];
    json_t *b = lab_body_json(r, why, sizeof(why));
    const char *sha = json_string_value(json_object_get(b, "sha256"));
    const char *lt = json_string_value(json_object_get(b, "list_type"));
    int list = lt != NULL && strcmp(lt, "GlobalSafe") == 0 ? 1 : 0;
    struct lab_org *org = r->org;
    if (b == NULL || sha == NULL) {
        error(r, 400, b == NULL ? why : "sha256 and list_type are required");
    } else {
        int at = -1;
        for (int i = 0; i < org->ngq; i++)
            if (strcasecmp(org->gq[i].sha256, sha) == 0 && org->gq[i].list == list)
                at = i;
        if (at < 0) {
            error(r, 404, "There's no entry for this threat");
        } else {
            org->gq[at] = org->gq[--org->ngq];
            lab_reply_empty(r, 200);
        }
    }
    json_decref(b);
}

bool lab_cylance(struct lab_req *r)
{
    const char *p = r->path;
    if (!lab_prefix(p, "/auth/v2/") && !lab_prefix(p, "/threats/v2") &&
        !lab_prefix(p, "/devices/v2") && !lab_prefix(p, "/devicecommands/v2/") &&
        !lab_prefix(p, "/globallists/v2"))
        return false;
    const char *m = r->method;
    bool get = strcmp(m, "GET") == 0, post = strcmp(m, "POST") == 0, put = strcmp(m, "PUT") == 0;
    if (strcmp(p, "/auth/v2/token") == 0) {
        if (post)
            token(r);
        else
            error(r, 405, "method not allowed");
        return true;
    }
    enum lab_tok t = lab_token_check(r->lab, "cylance", NULL, lab_header(r, "Authorization"));
    if (t != LAB_TOK_OK) {
        error(r, 401,
              t == LAB_TOK_EXPIRED ? "the access token has expired"
                                   : "Authorization has been denied for this request.");
        return true;
    }
    struct lab_org *org = r->org;
    char c[2][RP_LAB_SEG_MAX];
    if (strcmp(p, "/threats/v2") == 0 && get) {
        json_t *a = json_array();
        for (int i = 0; i < LAB_FILES; i++)
            if (org->files[i].malicious)
                json_array_append_new(a, threat_view(org, &org->files[i]));
        page(r, a);
    } else if (lab_path_match(p, "/threats/v2/*/devices", c, 2) && get) {
        struct lab_file *f = lab_file_by_hash(org, c[0]);
        if (f == NULL) {
            error(r, 404, "threat not found");
            return true;
        }
        json_t *a = json_array();
        for (int i = 0; i < f->nhosts; i++) {
            const struct lab_host *h = &org->hosts[f->hosts[i]];
            char ts[40];
            lab_time(org->base_ms - 7200000, false, ts);
            json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:[s],s:[s]}",
                                               "id", h->cy_id, "name", h->name, "state", "Online",
                                               "agent_version", "3.1.1001", "policy_id",
                                               h->cy_policy, "date_found", ts, "file_status",
                                               "Quarantined", "file_path", f->path, "ip_addresses",
                                               h->ip, "mac_addresses", h->mac));
        }
        page(r, a);
    } else if (lab_path_match(p, "/threats/v2/*", c, 2) && get) {
        struct lab_file *f = lab_file_by_hash(org, c[0]);
        if (f == NULL)
            error(r, 404, "threat not found");
        else
            lab_reply_json(r, 200, threat_view(org, f));
    } else if (strcmp(p, "/devices/v2") == 0 && get) {
        json_t *a = json_array();
        for (int i = 0; i < LAB_HOSTS; i++)
            json_array_append_new(a, device_view(org, &org->hosts[i]));
        page(r, a);
    } else if (lab_path_match(p, "/devices/v2/*/threats", c, 2) && get) {
        struct lab_host *h = host_by_id(org, c[0]);
        if (h == NULL) {
            error(r, 404, "device not found");
            return true;
        }
        json_t *a = json_array();
        for (int i = 0; i < LAB_FILES; i++)
            if (org->files[i].malicious && lab_host_ran_file(&org->files[i], (int)(h - org->hosts)))
                json_array_append_new(a, threat_view(org, &org->files[i]));
        page(r, a);
    } else if (lab_path_match(p, "/devices/v2/*", c, 2) && (get || put)) {
        struct lab_host *h = host_by_id(org, c[0]);
        if (h == NULL) {
            error(r, 404, "device not found");
        } else if (get) {
            lab_reply_json(r, 200, device_view(org, h));
        } else {
            char why[160];
            json_t *b = lab_body_json(r, why, sizeof(why));
            const char *pol = json_string_value(json_object_get(b, "policy_id"));
            if (b == NULL)
                error(r, 400, why);
            else {
                if (pol != NULL)
                    snprintf(h->cy_policy, sizeof(h->cy_policy), "%s", pol);
                lab_reply_empty(r, 200);
            }
            json_decref(b);
        }
    } else if (lab_path_match(p, "/devicecommands/v2/*/lockdown", c, 2) && put) {
        struct lab_host *h = host_by_id(org, c[0]);
        const char *v = lab_arg(r, "value");
        const char *exp = lab_arg(r, "expires");
        if (h == NULL)
            error(r, 404, "device not found");
        else if (v == NULL || (strcasecmp(v, "true") != 0 && strcasecmp(v, "false") != 0))
            error(r, 400, "value must be true or false");
        else if (strcasecmp(v, "true") == 0 && exp == NULL)
            error(r, 400, "expires (d:hh:mm) is required");
        else {
            h->cy_lockdown = strcasecmp(v, "true") == 0;
            char id[40];
            snprintf(id, sizeof(id), "%s", h->cy_id);
            char *o = id;
            for (char *q = id; *q != '\0'; q++)
                if (*q != '-')
                    *o++ = (char)toupper((unsigned char)*q);
            *o = '\0';
            lab_reply_json(r, 200,
                           json_pack("{s:s,s:s,s:s}", "id", id, "value", v, "expires",
                                     exp != NULL ? exp : ""));
        }
    } else if (strcmp(p, "/globallists/v2") == 0 && get) {
        const char *lt = lab_arg(r, "listTypeId");
        int list = lt != NULL ? atoi(lt) : 0;
        json_t *a = json_array();
        for (int i = 0; i < org->ngq; i++) {
            if (org->gq[i].list != list)
                continue;
            char ts[40];
            lab_time(org->gq[i].added_ms, false, ts);
            json_array_append_new(
                a, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "sha256", org->gq[i].sha256, "list_type",
                             list == 0 ? "GlobalQuarantine" : "GlobalSafe", "added", ts, "added_by",
                             LAB_APP_ID, "reason", org->gq[i].reason, "category",
                             list == 0 ? "" : "None"));
        }
        page(r, a);
    } else if (strcmp(p, "/globallists/v2") == 0 && post) {
        globallist_add(r);
    } else if (strcmp(p, "/globallists/v2") == 0 && strcmp(m, "DELETE") == 0) {
        globallist_del(r);
    } else {
        error(r, 404, "no such endpoint in the lab's Cylance API");
    }
    return true;
}

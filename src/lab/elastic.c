/*
 * elastic.c: the lab's Elasticsearch search and Kibana detection-alert API.
 *
 * Auth: "ApiKey base64(lab-id:lab-key)" or Basic lab-user:lab-password. The
 * alerts (one per detection) live in index .alerts-security.alerts-default
 * (also reached as .siem-signals-default and by wildcards). POST|GET
 * /{index}/_search takes a query DSL subset (match_all, term, terms, match,
 * match_phrase, exists, range, bool must/filter/should/must_not) with size and
 * from. Kibana's POST /api/detection_engine/signals/status (optionally under
 * /s/{space}) needs kbn-xsrf and sets workflow status by signal_ids or query.
 * Runs under the lab's mutex.
 */
#include "lab/lab_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ALERTS_INDEX ".alerts-security.alerts-default"

static void es_error(struct lab_req *r, unsigned status, const char *type, const char *reason)
{
    lab_reply_json(r, status,
                   json_pack("{s:{s:[{s:s,s:s}],s:s,s:s},s:i}", "error", "root_cause", "type", type,
                             "reason", reason, "type", type, "reason", reason, "status",
                             (int)status));
}

static void kbn_error(struct lab_req *r, unsigned status, const char *err, const char *msg)
{
    lab_reply_json(
        r, status,
        json_pack("{s:i,s:s,s:s}", "statusCode", (int)status, "error", err, "message", msg));
}

static json_t *alert_doc(const struct lab_org *org, const struct lab_det *d)
{
    const struct lab_host *h = &org->hosts[d->host];
    const struct lab_file *f = &org->files[d->file];
    char ts[40];
    lab_time(d->ts_ms, true, ts);
    const char *sev = d->severity >= 80   ? "critical"
                      : d->severity >= 60 ? "high"
                      : d->severity >= 40 ? "medium"
                                          : "low";
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:i,s:s,s:{s:s,s:[s],s:{s:s}},s:{s:s},"
                     "s:{s:s,s:s,s:{s:s,s:s}},s:{s:s},s:{s:s},s:{s:s}}",
                     "@timestamp", ts, "kibana.alert.uuid", d->es_id,
                     "kibana.alert.workflow_status", d->es_status, "kibana.alert.rule.name",
                     d->name, "kibana.alert.severity", sev, "kibana.alert.risk_score", d->severity,
                     "kibana.alert.status", "active", "host", "name", h->name, "ip", h->ip, "os",
                     "type", h->os, "user", "name", org->users[d->user].login, "file", "name",
                     f->name, "path", f->path, "hash", "sha256", f->sha256, "md5", f->md5,
                     "destination", "ip", d->remote_ip, "process", "command_line", d->cmdline,
                     "threat", "technique_id", d->technique);
}

static int depth_guard;

static bool value_eq(json_t *have, json_t *want)
{
    if (have == NULL)
        return false;
    if (json_is_array(have)) {
        size_t i;
        json_t *e;
        json_array_foreach(have, i, e) if (value_eq(e, want)) return true;
        return false;
    }
    if (json_is_string(have) && json_is_string(want))
        return strcasecmp(json_string_value(have), json_string_value(want)) == 0;
    if (json_is_number(have) && json_is_number(want))
        return json_number_value(have) == json_number_value(want);
    return json_equal(have, want);
}

/* Evaluates a query clause on doc; *bad on an unknown clause. */
static bool eval(json_t *doc, json_t *q, bool *bad)
{
    if (q == NULL)
        return true;
    if (!json_is_object(q) || json_object_size(q) != 1 || ++depth_guard > RP_JSON_MAX_DEPTH) {
        *bad = true;
        return false;
    }
    const char *kind = json_object_iter_key(json_object_iter(q));
    json_t *body = json_object_iter_value(json_object_iter(q));
    bool hit = false;
    if (strcmp(kind, "match_all") == 0) {
        hit = true;
    } else if (strcmp(kind, "bool") == 0) {
        hit = true;
        static const char *const parts[] = {"must", "filter", "should", "must_not"};
        bool any_should = false, has_should = false;
        for (int k = 0; k < 4; k++) {
            json_t *cl = json_object_get(body, parts[k]);
            json_t *list = json_is_array(cl) ? json_incref(cl)
                           : cl != NULL      ? json_pack("[O]", cl)
                                             : json_array();
            size_t i;
            json_t *c;
            json_array_foreach(list, i, c)
            {
                bool v = eval(doc, c, bad);
                if (k < 2)
                    hit = hit && v;
                else if (k == 2) {
                    has_should = true;
                    any_should = any_should || v;
                } else
                    hit = hit && !v;
            }
            json_decref(list);
        }
        if (has_should && json_object_get(body, "must") == NULL &&
            json_object_get(body, "filter") == NULL)
            hit = hit && any_should;
    } else if (strcmp(kind, "term") == 0 || strcmp(kind, "match") == 0 ||
               strcmp(kind, "match_phrase") == 0) {
        const char *f = json_object_iter_key(json_object_iter(body));
        json_t *v = json_object_iter_value(json_object_iter(body));
        if (json_is_object(v))
            v = json_object_get(v, json_object_get(v, "value") != NULL ? "value" : "query");
        hit = f != NULL && value_eq(lab_json_get(doc, f, '.'), v);
    } else if (strcmp(kind, "terms") == 0) {
        const char *f = json_object_iter_key(json_object_iter(body));
        json_t *vs = json_object_iter_value(json_object_iter(body));
        size_t i;
        json_t *v;
        json_array_foreach(vs, i, v) hit = hit || value_eq(lab_json_get(doc, f, '.'), v);
    } else if (strcmp(kind, "ids") == 0) {
        size_t i;
        json_t *v;
        json_array_foreach(json_object_get(body, "values"), i, v) hit =
            hit || value_eq(json_object_get(doc, "kibana.alert.uuid"), v);
    } else if (strcmp(kind, "exists") == 0) {
        const char *f = json_string_value(json_object_get(body, "field"));
        hit = f != NULL && lab_json_get(doc, f, '.') != NULL;
    } else if (strcmp(kind, "range") == 0) {
        const char *f = json_object_iter_key(json_object_iter(body));
        json_t *rg = json_object_iter_value(json_object_iter(body));
        json_t *have = f != NULL ? lab_json_get(doc, f, '.') : NULL;
        hit = have != NULL;
        static const char *const ops[] = {"gte", "gt", "lte", "lt"};
        for (int k = 0; k < 4 && hit; k++) {
            json_t *w = json_object_get(rg, ops[k]);
            if (w == NULL)
                continue;
            int c;
            if (json_is_string(have) && json_is_string(w)) {
                if (strncmp(json_string_value(w), "now", 3) == 0)
                    continue; /* date math: the lab's alerts are all recent */
                c = strcmp(json_string_value(have), json_string_value(w));
            } else if (json_is_number(have) && json_is_number(w)) {
                double a = json_number_value(have), b = json_number_value(w);
                c = a < b ? -1 : a > b;
            } else {
                continue;
            }
            hit = k == 0 ? c >= 0 : k == 1 ? c > 0 : k == 2 ? c <= 0 : c < 0;
        }
    } else if (strcmp(kind, "query_string") == 0 || strcmp(kind, "simple_query_string") == 0) {
        const char *qs = json_string_value(json_object_get(body, "query"));
        char *txt = json_dumps(doc, JSON_COMPACT);
        hit = qs != NULL && txt != NULL && (strcmp(qs, "*") == 0 || lab_icontains(txt, qs));
        free(txt);
    } else {
        *bad = true;
    }
    depth_guard--;
    return hit;
}

static bool index_matches(const char *idx)
{
    char buf[RP_LAB_SEG_MAX];
    snprintf(buf, sizeof(buf), "%s", idx);
    char *save = NULL;
    for (char *t = strtok_r(buf, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save))
        if (lab_glob(t, ALERTS_INDEX) || lab_glob(t, ".siem-signals-default") ||
            strcmp(t, "_all") == 0)
            return true;
    return false;
}

static void do_search(struct lab_req *r, bool kibana)
{
    char why[160];
    json_t *b = r->body_len > 0 ? lab_body_json(r, why, sizeof(why)) : json_object();
    if (b == NULL || !json_is_object(b)) {
        if (kibana)
            kbn_error(r, 400, "Bad Request", b == NULL ? why : "the body must be an object");
        else
            es_error(r, 400, "parsing_exception", b == NULL ? why : "the body must be an object");
        json_decref(b);
        return;
    }
    json_t *sz = json_object_get(b, "size"), *fr = json_object_get(b, "from");
    long size = json_is_integer(sz) ? (long)json_integer_value(sz) : 10;
    long from = json_is_integer(fr) ? (long)json_integer_value(fr) : 0;
    if (size < 0 || from < 0 || size + from > 10000) {
        es_error(r, 400, "illegal_argument_exception", "from + size must be at most 10000");
        json_decref(b);
        return;
    }
    json_t *hits = json_array();
    int total = 0;
    bool bad = false;
    for (int i = 0; i < LAB_DETECTIONS; i++) {
        json_t *doc = alert_doc(r->org, &r->org->dets[i]);
        depth_guard = 0;
        if (eval(doc, json_object_get(b, "query"), &bad) && !bad) {
            if (total >= from && (long)json_array_size(hits) < size)
                json_array_append_new(hits, json_pack("{s:s,s:s,s:f,s:O}", "_index", ALERTS_INDEX,
                                                      "_id", r->org->dets[i].es_id, "_score", 1.0,
                                                      "_source", doc));
            total++;
        }
        json_decref(doc);
    }
    json_decref(b);
    if (bad) {
        json_decref(hits);
        es_error(r, 400, "parsing_exception",
                 "unknown query clause (the lab knows match_all, "
                 "bool, term, terms, match, ids, exists, range)");
        return;
    }
    lab_reply_json(r, 200,
                   json_pack("{s:i,s:b,s:{s:i,s:i,s:i,s:i},s:{s:{s:i,s:s},s:n,s:o}}", "took", 3,
                             "timed_out", 0, "_shards", "total", 1, "successful", 1, "skipped", 0,
                             "failed", 0, "hits", "total", "value", total, "relation", "eq",
                             "max_score", "hits", hits));
}

static void set_status(struct lab_req *r)
{
    char why[160];
    json_t *b = lab_body_json(r, why, sizeof(why));
    const char *st = json_string_value(json_object_get(b, "status"));
    json_t *ids = json_object_get(b, "signal_ids"), *q = json_object_get(b, "query");
    if (b == NULL) {
        kbn_error(r, 400, "Bad Request", why);
    } else if (st == NULL || (strcmp(st, "open") != 0 && strcmp(st, "closed") != 0 &&
                              strcmp(st, "acknowledged") != 0 && strcmp(st, "in-progress") != 0)) {
        kbn_error(r, 400, "Bad Request",
                  "[request body]: status must be open, closed, acknowledged or in-progress");
    } else if (!json_is_array(ids) && !json_is_object(q)) {
        kbn_error(r, 400, "Bad Request", "[request body]: signal_ids or query is required");
    } else {
        int n = 0;
        bool bad = false;
        for (int i = 0; i < LAB_DETECTIONS; i++) {
            struct lab_det *d = &r->org->dets[i];
            bool hit = false;
            if (json_is_array(ids)) {
                size_t k;
                json_t *v;
                json_array_foreach(ids, k, v) hit =
                    hit || (json_is_string(v) && strcmp(json_string_value(v), d->es_id) == 0);
            } else {
                json_t *doc = alert_doc(r->org, d);
                depth_guard = 0;
                hit = eval(doc, q, &bad) && !bad;
                json_decref(doc);
            }
            if (hit) {
                snprintf(d->es_status, sizeof(d->es_status), "%s", st);
                n++;
            }
        }
        if (bad)
            kbn_error(r, 400, "Bad Request", "unknown query clause");
        else
            lab_reply_json(r, 200,
                           json_pack("{s:i,s:b,s:i,s:i,s:i,s:i,s:i,s:i,s:{s:i,s:i},s:i,s:i,s:i,"
                                     "s:[]}",
                                     "took", 5, "timed_out", 0, "total", n, "updated", n, "deleted",
                                     0, "batches", 1, "version_conflicts", 0, "noops", 0, "retries",
                                     "bulk", 0, "search", 0, "throttled_millis", 0,
                                     "requests_per_second", -1, "throttled_until_millis", 0,
                                     "failures"));
    }
    json_decref(b);
}

static bool authorized(struct lab_req *r)
{
    const char *a = lab_header(r, "Authorization");
    unsigned char dec[256];
    if (a == NULL)
        return false;
    if (strncmp(a, "ApiKey ", 7) == 0) {
        long n = lab_b64_decode(a + 7, strlen(a + 7), false, dec, sizeof(dec));
        return n > 0 && strcmp((char *)dec, LAB_API_ID ":" LAB_API_KEY) == 0;
    }
    if (strncasecmp(a, "Basic ", 6) == 0) {
        long n = lab_b64_decode(a + 6, strlen(a + 6), false, dec, sizeof(dec));
        return n > 0 && strcmp((char *)dec, LAB_USER ":" LAB_PASSWORD) == 0;
    }
    return false;
}

bool lab_elastic(struct lab_req *r)
{
    const char *p = r->path;
    char c[2][RP_LAB_SEG_MAX];
    if (lab_path_match(p, "/s/*/api/detection_engine/signals/*", c, 2))
        p = strstr(p, "/api/");
    bool kibana = lab_prefix(p, "/api/detection_engine/");
    bool es = lab_path_match(p, "/*/_search", c, 2) || strcmp(p, "/_search") == 0;
    if (!kibana && !es)
        return false;
    bool post = strcmp(r->method, "POST") == 0, get = strcmp(r->method, "GET") == 0;
    if (!authorized(r)) {
        if (kibana)
            kbn_error(r, 401, "Unauthorized", "[security_exception]: unable to authenticate");
        else
            es_error(r, 401, "security_exception",
                     "unable to authenticate with provided credentials and anonymous access is "
                     "not allowed for this request");
        return true;
    }
    if (kibana) {
        if (post && lab_header(r, "kbn-xsrf") == NULL)
            kbn_error(r, 400, "Bad Request", "Request must contain a kbn-xsrf header.");
        else if (strcmp(p, "/api/detection_engine/signals/status") == 0 && post)
            set_status(r);
        else if (strcmp(p, "/api/detection_engine/signals/search") == 0 && post)
            do_search(r, true);
        else
            kbn_error(r, 404, "Not Found", "Not Found");
        return true;
    }
    if (!post && !get) {
        es_error(r, 405, "method_not_allowed", "GET or POST");
    } else if (strcmp(p, "/_search") != 0 && !index_matches(c[0])) {
        char msg[RP_LAB_SEG_MAX + 32];
        snprintf(msg, sizeof(msg), "no such index [%s]", c[0]);
        es_error(r, 404, "index_not_found_exception", msg);
    } else {
        do_search(r, false);
    }
    return true;
}

/*
 * misp.c: the lab's MISP API. Auth: the raw key in Authorization (or
 * X-MISP-AUTH): lab-key; 403 in MISP's shape otherwise. Attribute search
 * (POST /attributes/restSearch, {"response": {"Attribute": [...]}}), sightings
 * by value or by attribute id, adding attributes to events 1-3, and the version
 * probe. Added attributes and sightings show in later searches. Runs under the
 * lab's mutex.
 */
#include "lab/lab_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *const event_info[] = {"", "Phishing campaign: overdue invoices",
                                         "C2 infrastructure of a commodity loader",
                                         "Malware hashes seen in the wild"};

static void error(struct lab_req *r, unsigned status, const char *name)
{
    lab_reply_json(r, status,
                   json_pack("{s:s,s:s,s:s}", "name", name, "message", name, "url", r->path));
}

static json_t *attr_view(const struct lab_misp_attr *a, bool sightings)
{
    char id[16], ev[16], ts[24];
    snprintf(id, sizeof(id), "%d", a->id);
    snprintf(ev, sizeof(ev), "%d", a->event);
    snprintf(ts, sizeof(ts), "%lld", (long long)a->ts);
    json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:s,s:s,s:s,s:b,s:{s:s,s:s,s:s,s:s}}", "id", id,
                          "event_id", ev, "type", a->type, "category", a->category, "value",
                          a->value, "to_ids", a->to_ids, "uuid", a->uuid, "timestamp", ts,
                          "comment", a->comment, "deleted", 0, "Event", "id", ev, "info",
                          event_info[a->event], "org_id", "1", "uuid",
                          a->event == 1   ? "5f0e0000-0000-4000-a000-000000000001"
                          : a->event == 2 ? "5f0e0000-0000-4000-a000-000000000002"
                                          : "5f0e0000-0000-4000-a000-000000000003");
    if (sightings) {
        json_t *s = json_array();
        for (int i = 0; i < a->sightings; i++) {
            char t[24];
            snprintf(t, sizeof(t), "%lld", (long long)a->last_sighting);
            json_array_append_new(s, json_pack("{s:s,s:s,s:s,s:s}", "attribute_id", id, "type", "0",
                                               "date_sighting", t, "source", a->sighting_source));
        }
        json_object_set_new(j, "Sighting", s);
    }
    return j;
}

/* A filter value (string, number or list) matches s (MISP's % wildcard). */
static bool filter_hit(json_t *f, const char *s)
{
    if (f == NULL || json_is_null(f))
        return true;
    if (json_is_array(f)) {
        size_t i;
        json_t *v;
        json_array_foreach(f, i, v) if (filter_hit(v, s)) return true;
        return json_array_size(f) == 0;
    }
    char want[300];
    if (json_is_string(f))
        snprintf(want, sizeof(want), "%s", json_string_value(f));
    else if (json_is_integer(f))
        snprintf(want, sizeof(want), "%lld", (long long)json_integer_value(f));
    else
        return false;
    for (char *p = want; *p != '\0'; p++)
        if (*p == '%')
            *p = '*';
    return lab_glob(want, s);
}

static void rest_search(struct lab_req *r)
{
    char why[160];
    json_t *b = r->body_len > 0 ? lab_body_json(r, why, sizeof(why)) : json_object();
    if (b == NULL || !json_is_object(b)) {
        error(r, 400, b == NULL ? why : "the body must be a JSON object");
        json_decref(b);
        return;
    }
    json_t *lim = json_object_get(b, "limit"), *pg = json_object_get(b, "page");
    long limit = json_is_integer(lim) ? (long)json_integer_value(lim) : 1000000;
    long page = json_is_integer(pg) ? (long)json_integer_value(pg) : 1;
    bool sight = json_is_true(json_object_get(b, "includeSightings")) ||
                 json_integer_value(json_object_get(b, "includeSightings")) == 1;
    json_t *out = json_array();
    long seen = 0;
    for (int i = 0; i < r->org->nmisp; i++) {
        const struct lab_misp_attr *a = &r->org->misp[i];
        char ev[16];
        snprintf(ev, sizeof(ev), "%d", a->event);
        if (!filter_hit(json_object_get(b, "value"), a->value) ||
            !filter_hit(json_object_get(b, "type"), a->type) ||
            !filter_hit(json_object_get(b, "category"), a->category) ||
            !filter_hit(json_object_get(b, "eventid"), ev) ||
            !filter_hit(json_object_get(b, "uuid"), a->uuid))
            continue;
        if (seen++ >= (page - 1) * limit && (long)json_array_size(out) < limit)
            json_array_append_new(out, attr_view(a, sight));
    }
    json_decref(b);
    lab_reply_json(r, 200, json_pack("{s:{s:o}}", "response", "Attribute", out));
}

static void sighting(struct lab_req *r, const char *attr_id)
{
    char why[160];
    json_t *b = r->body_len > 0 ? lab_body_json(r, why, sizeof(why)) : json_object();
    if (b == NULL || !json_is_object(b)) {
        error(r, 400, b == NULL ? why : "the body must be a JSON object");
        json_decref(b);
        return;
    }
    const char *value = json_string_value(json_object_get(b, "value"));
    const char *src = json_string_value(json_object_get(b, "source"));
    json_t *ts = json_object_get(b, "timestamp");
    int n = 0;
    json_t *last = NULL;
    for (int i = 0; i < r->org->nmisp; i++) {
        struct lab_misp_attr *a = &r->org->misp[i];
        char id[16];
        snprintf(id, sizeof(id), "%d", a->id);
        bool hit = attr_id != NULL ? (strcmp(id, attr_id) == 0 || strcmp(a->uuid, attr_id) == 0)
                                   : value != NULL && strcmp(a->value, value) == 0;
        if (!hit)
            continue;
        a->sightings++;
        a->last_sighting = json_is_integer(ts) ? (int64_t)json_integer_value(ts) : r->now_ms / 1000;
        snprintf(a->sighting_source, sizeof(a->sighting_source), "%s", src != NULL ? src : "");
        n++;
        json_decref(last);
        char t[24];
        snprintf(t, sizeof(t), "%lld", (long long)a->last_sighting);
        last = json_pack("{s:{s:s,s:s,s:s,s:s,s:s}}", "Sighting", "attribute_id", id, "event_id",
                         a->event == 1   ? "1"
                         : a->event == 2 ? "2"
                                         : "3",
                         "type", "0", "date_sighting", t, "source", src != NULL ? src : "");
    }
    json_decref(b);
    if (n == 0) {
        json_decref(last);
        lab_reply_json(r, 403,
                       json_pack("{s:b,s:s,s:s,s:s,s:s}", "saved", 0, "name",
                                 "Could not add the Sighting. Reason: No valid attributes found.",
                                 "message",
                                 "Could not add the Sighting. Reason: No valid attributes found.",
                                 "url", r->path, "errors", "No valid attributes found."));
        return;
    }
    if (attr_id == NULL) {
        json_decref(last);
        char msg[64];
        snprintf(msg, sizeof(msg), "%d sighting%s successfully added.", n, n == 1 ? "" : "s");
        lab_reply_json(r, 200, json_pack("{s:s}", "message", msg));
        return;
    }
    lab_reply_json(r, 200, last);
}

static bool add_one(struct lab_req *r, int event, json_t *v, json_t *out, const char **why)
{
    struct lab_org *org = r->org;
    const char *type = json_string_value(json_object_get(v, "type"));
    const char *value = json_string_value(json_object_get(v, "value"));
    const char *cat = json_string_value(json_object_get(v, "category"));
    const char *comment = json_string_value(json_object_get(v, "comment"));
    if (type == NULL || value == NULL || *value == '\0' || strlen(value) >= 256 ||
        strlen(type) >= 32) {
        *why = "type and value are required";
        return false;
    }
    for (int i = 0; i < org->nmisp; i++)
        if (org->misp[i].event == event && strcmp(org->misp[i].value, value) == 0 &&
            strcmp(org->misp[i].type, type) == 0) {
            *why = "A similar attribute already exists for this event.";
            return false;
        }
    if (org->nmisp >= LAB_MISP_MAX) {
        *why = "the lab's attribute list is full";
        return false;
    }
    struct lab_misp_attr *a = &org->misp[org->nmisp++];
    memset(a, 0, sizeof(*a));
    a->id = 2000 + org->nmisp;
    a->event = event;
    char u[40];
    lab_org_new_id(org, "", u, sizeof(u));
    snprintf(a->uuid, sizeof(a->uuid), "%.8s-%.4s-4%.3s-a%.3s-%.12s", u, u + 8, u + 12, u + 15,
             u + 12);
    snprintf(a->type, sizeof(a->type), "%s", type);
    snprintf(a->value, sizeof(a->value), "%s", value);
    snprintf(a->category, sizeof(a->category), "%s", cat != NULL ? cat : "External analysis");
    snprintf(a->comment, sizeof(a->comment), "%s", comment != NULL ? comment : "");
    json_t *ti = json_object_get(v, "to_ids");
    a->to_ids = ti == NULL || json_is_true(ti) || json_integer_value(ti) == 1;
    a->ts = r->now_ms / 1000;
    json_array_append_new(out, attr_view(a, false));
    return true;
}

static void add_attribute(struct lab_req *r, const char *event)
{
    int ev = atoi(event);
    if (ev < 1 || ev > 3 || strspn(event, "0123456789") != strlen(event)) {
        error(r, 404, "Invalid event.");
        return;
    }
    char why[160];
    json_t *b = lab_body_json(r, why, sizeof(why));
    if (b == NULL) {
        error(r, 400, why);
        return;
    }
    json_t *out = json_array();
    const char *err = NULL;
    bool ok = true;
    if (json_is_array(b)) {
        size_t i;
        json_t *v;
        json_array_foreach(b, i, v) ok = add_one(r, ev, v, out, &err) && ok;
    } else {
        ok = add_one(r, ev, b, out, &err);
    }
    if (!ok && json_array_size(out) == 0) {
        json_decref(out);
        lab_reply_json(r, 403,
                       json_pack("{s:b,s:s,s:s,s:s,s:{s:[s]}}", "saved", 0, "name",
                                 "Could not add Attribute", "message", "Could not add Attribute",
                                 "url", r->path, "errors", "value", err));
    } else if (json_is_array(b)) {
        lab_reply_json(r, 200, json_pack("{s:o}", "Attribute", out));
    } else {
        lab_reply_json(r, 200, json_pack("{s:O}", "Attribute", json_array_get(out, 0)));
        json_decref(out);
    }
    json_decref(b);
}

bool lab_misp(struct lab_req *r)
{
    const char *p = r->path;
    if (!lab_prefix(p, "/attributes/") && !lab_prefix(p, "/sightings/") &&
        !lab_prefix(p, "/servers/getPyMISPVersion") && !lab_prefix(p, "/servers/getVersion"))
        return false;
    const char *k = lab_header(r, "Authorization");
    if (k == NULL)
        k = lab_header(r, "X-MISP-AUTH");
    if (k == NULL || strcmp(k, LAB_API_KEY) != 0) {
        error(r, 403,
              "Authentication failed. Please make sure you pass the API key of an API "
              "enabled user along in the Authorization header.");
        return true;
    }
    char c[1][RP_LAB_SEG_MAX];
    bool post = strcmp(r->method, "POST") == 0;
    if (lab_prefix(p, "/servers/"))
        lab_reply_json(
            r, 200,
            json_pack("{s:s,s:s}", "version", "2.4.190", "pymisp_recommended_version", "2.4.190"));
    else if (strcmp(p, "/attributes/restSearch") == 0 && post)
        rest_search(r);
    else if (strcmp(p, "/sightings/add") == 0 && post)
        sighting(r, NULL);
    else if (lab_path_match(p, "/sightings/add/*", c, 1) && post)
        sighting(r, c[0]);
    else if (lab_path_match(p, "/attributes/add/*", c, 1) && post)
        add_attribute(r, c[0]);
    else
        error(r, 404, "Not Found");
    return true;
}

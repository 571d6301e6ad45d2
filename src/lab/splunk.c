/*
 * splunk.c: the lab's Splunk REST API (management port paths under /services
 * or /servicesNS/{user}/{app}).
 *
 * Auth: Basic lab-user:lab-password, Bearer lab-token, or "Splunk {sessionKey}"
 * from POST /services/auth/login. Search jobs run over the notable events (one
 * per detection, index=notable): POST /services/search/jobs creates a job (201
 * {"sid"}; XML without output_mode=json), each status poll moves it QUEUED ->
 * RUNNING -> DONE (exec_mode=blocking is DONE at once; oneshot answers the
 * results), results answer 204 until DONE. The search language understood is
 * small: field=value terms (with * wildcards), free words and `| head N`.
 * notable_update changes status, urgency, owner and comment. Runs under the
 * lab's mutex.
 */
#include "lab/lab_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Copies text into a fixed field, cut to fit (what gcc's truncation check
 * cannot see through snprintf at -O0). */
static void field_copy(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static bool want_json(struct lab_req *r)
{
    const char *om = lab_arg(r, "output_mode");
    char f[16] = "";
    if (om == NULL && lab_form_get(r->body, r->body_len, "output_mode", 0, f, sizeof(f)))
        om = f;
    return om != NULL && strcmp(om, "json") == 0;
}

static void error(struct lab_req *r, unsigned status, const char *type, const char *text)
{
    if (want_json(r)) {
        lab_reply_json(r, status,
                       json_pack("{s:[{s:s,s:s}]}", "messages", "type", type, "text", text));
    } else {
        char x[600];
        snprintf(x, sizeof(x),
                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<response>\n  <messages>\n    "
                 "<msg type=\"%s\">%s</msg>\n  </messages>\n</response>\n",
                 type, text);
        lab_reply_text(r, status, "text/xml; charset=UTF-8", x);
    }
}

static json_t *notable(const struct lab_org *org, const struct lab_det *d)
{
    char t[24];
    snprintf(t, sizeof(t), "%lld.000", (long long)(d->ts_ms / 1000));
    const struct lab_host *h = &org->hosts[d->host];
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "_time",
                     t, "event_id", d->splunk_id, "rule_name", d->name, "dest", h->name, "host",
                     h->name, "dest_ip", h->ip, "src", d->remote_ip, "user",
                     org->users[d->user].login, "file_hash", org->files[d->file].sha256,
                     "file_name", org->files[d->file].name, "urgency", d->splunk_urgency, "status",
                     d->splunk_status, "owner",
                     d->splunk_owner[0] != '\0' ? d->splunk_owner : "unassigned", "index",
                     "notable", "sourcetype", "stash", "mitre_technique_id", d->technique);
}

/* Runs the search over the notables; indexes of the hits into out. */
static int run_search(const struct lab_org *org, const char *spl, int *out, int max)
{
    char q[512];
    snprintf(q, sizeof(q), "%s", spl);
    long head = -1;
    char *bar = strchr(q, '|');
    if (bar == q) /* a generating command such as | makeresults: nothing from the notables */
        return 0;
    if (bar != NULL) {
        char *hd = strstr(bar, "head");
        if (hd != NULL)
            head = atol(hd + 4);
        *bar = '\0';
    }
    int n = 0;
    for (int i = 0; i < LAB_DETECTIONS && n < max && (head < 0 || n < head); i++) {
        json_t *ev = notable(org, &org->dets[i]);
        char *txt = json_dumps(ev, JSON_COMPACT);
        bool hit = true;
        char buf[512];
        snprintf(buf, sizeof(buf), "%s", q);
        char *save = NULL;
        for (char *t = strtok_r(buf, " ", &save); t != NULL && hit;
             t = strtok_r(NULL, " ", &save)) {
            if (strcmp(t, "search") == 0 || strcasecmp(t, "AND") == 0)
                continue;
            char *eq = strchr(t, '=');
            if (eq == NULL) {
                hit = txt != NULL && lab_icontains(txt, t);
                continue;
            }
            *eq = '\0';
            char *v = eq + 1;
            size_t vl = strlen(v);
            if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
                v[vl - 1] = '\0';
                v++;
            }
            const char *have = json_string_value(json_object_get(ev, t));
            if (strcmp(t, "index") == 0 && strcmp(v, "*") == 0)
                continue;
            if (strcmp(t, "earliest") == 0 || strcmp(t, "latest") == 0)
                continue;
            hit = have != NULL && lab_glob(v, have);
        }
        free(txt);
        json_decref(ev);
        if (hit)
            out[n++] = i;
    }
    return n;
}

static struct lab_job *find_job(struct lab_org *org, const char *sid)
{
    for (int i = 0; i < RP_LAB_JOBS_MAX; i++)
        if (org->jobs[i].vendor == 0 && org->jobs[i].id[0] != '\0' &&
            strcmp(org->jobs[i].id, sid) == 0)
            return &org->jobs[i];
    return NULL;
}

static void results(struct lab_req *r, const struct lab_job *j)
{
    const char *cv = lab_arg(r, "count"), *ov = lab_arg(r, "offset");
    long count = cv != NULL ? atol(cv) : 100, off = ov != NULL ? atol(ov) : 0;
    json_t *a = json_array();
    for (int i = (int)off; i < j->nresults && (count <= 0 || (long)json_array_size(a) < count); i++)
        if (i >= 0)
            json_array_append_new(a, notable(r->org, &r->org->dets[j->results[i]]));
    json_t *fields = json_array();
    static const char *const fl[] = {"_time",     "event_id", "rule_name", "dest",  "src", "user",
                                     "file_hash", "urgency",  "status",    "owner", NULL};
    for (int i = 0; fl[i] != NULL; i++)
        json_array_append_new(fields, json_pack("{s:s}", "name", fl[i]));
    lab_reply_json(r, 200,
                   json_pack("{s:b,s:i,s:[],s:o,s:o,s:{}}", "preview", 0, "init_offset", (int)off,
                             "messages", "fields", fields, "results", a, "highlighted"));
}

static void create_job(struct lab_req *r)
{
    char search[512] = "", mode[24] = "normal";
    if (!lab_form_get(r->body, r->body_len, "search", 0, search, sizeof(search)) ||
        search[0] == '\0') {
        error(r, 400, "FATAL", "Empty search.");
        return;
    }
    lab_form_get(r->body, r->body_len, "exec_mode", 0, mode, sizeof(mode));
    if (strncmp(search, "search ", 7) != 0 && search[0] != '|') {
        error(r, 400, "FATAL",
              "Error in 'SearchParser': the search must begin with 'search' or '|'.");
        return;
    }
    struct lab_org *org = r->org;
    struct lab_job *j = &org->jobs[org->njobs++ % RP_LAB_JOBS_MAX];
    memset(j, 0, sizeof(*j));
    j->vendor = 0;
    char id[40];
    lab_org_new_id(org, "", id, sizeof(id));
    snprintf(j->id, sizeof(j->id), "%lld.%.6s", (long long)(r->now_ms / 1000), id);
    snprintf(j->query, sizeof(j->query), "%s", search);
    j->created_ms = r->now_ms;
    j->nresults = run_search(org, search, j->results, LAB_DETECTIONS);
    j->done_at_once = strcmp(mode, "blocking") == 0 || strcmp(mode, "oneshot") == 0;
    if (j->done_at_once)
        j->polls = 2;
    if (strcmp(mode, "oneshot") == 0) {
        results(r, j);
        return;
    }
    if (want_json(r)) {
        lab_reply_json(r, 201, json_pack("{s:s}", "sid", j->id));
    } else {
        char x[200];
        snprintf(x, sizeof(x),
                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<response>\n  <sid>%s</sid>\n"
                 "</response>\n",
                 j->id);
        lab_reply_text(r, 201, "text/xml; charset=UTF-8", x);
    }
}

static void job_status(struct lab_req *r, struct lab_job *j)
{
    static const char *const states[] = {"QUEUED", "RUNNING", "DONE"};
    int s = j->polls < 2 ? j->polls : 2;
    if (j->polls < 2)
        j->polls++;
    bool done = s == 2;
    lab_reply_json(r, 200,
                   json_pack("{s:[{s:s,s:{s:s,s:s,s:b,s:b,s:f,s:i,s:i,s:s}}]}", "entry", "name",
                             j->id, "content", "sid", j->id, "dispatchState", states[s], "isDone",
                             done, "isFailed", 0, "doneProgress", done ? 1.0 : s * 0.5,
                             "resultCount", done ? j->nresults : 0, "eventCount",
                             done ? j->nresults : 0, "search", j->query));
}

static void notable_update(struct lab_req *r)
{
    char status[16] = "", urgency[16] = "", owner[48] = "", comment[128] = "", uid[64];
    lab_form_get(r->body, r->body_len, "status", 0, status, sizeof(status));
    lab_form_get(r->body, r->body_len, "urgency", 0, urgency, sizeof(urgency));
    lab_form_get(r->body, r->body_len, "newOwner", 0, owner, sizeof(owner));
    lab_form_get(r->body, r->body_len, "comment", 0, comment, sizeof(comment));
    if (status[0] != '\0' && (strspn(status, "0123456789") != strlen(status) || atoi(status) > 5)) {
        lab_reply_json(r, 400,
                       json_pack("{s:b,s:s}", "success", 0, "message",
                                 "status must be a review status id (0-5)"));
        return;
    }
    if (!lab_form_get(r->body, r->body_len, "ruleUIDs", 0, uid, sizeof(uid))) {
        lab_reply_json(
            r, 400,
            json_pack("{s:b,s:s}", "success", 0, "message", "ruleUIDs or searchID is required"));
        return;
    }
    int n = 0;
    for (size_t k = 0; lab_form_get(r->body, r->body_len, "ruleUIDs", k, uid, sizeof(uid)); k++)
        for (int i = 0; i < LAB_DETECTIONS; i++) {
            struct lab_det *d = &r->org->dets[i];
            if (strcmp(d->splunk_id, uid) != 0)
                continue;
            n++;
            if (status[0] != '\0')
                field_copy(d->splunk_status, sizeof(d->splunk_status), status);
            if (urgency[0] != '\0')
                field_copy(d->splunk_urgency, sizeof(d->splunk_urgency), urgency);
            if (owner[0] != '\0')
                field_copy(d->splunk_owner, sizeof(d->splunk_owner), owner);
            if (comment[0] != '\0')
                field_copy(d->splunk_comment, sizeof(d->splunk_comment), comment);
        }
    char msg[64];
    snprintf(msg, sizeof(msg), "%d event%s updated successfully", n, n == 1 ? "" : "s");
    lab_reply_json(r, 200,
                   json_pack("{s:b,s:s,s:{},s:i}", "success", 1, "message", msg, "details",
                             "failure_count", 0));
}

static bool authorized(struct lab_req *r)
{
    const char *a = lab_header(r, "Authorization");
    if (a == NULL)
        return false;
    if (strncasecmp(a, "Basic ", 6) == 0) {
        unsigned char up[256];
        long n = lab_b64_decode(a + 6, strlen(a + 6), false, up, sizeof(up));
        return n > 0 && strcmp((char *)up, LAB_USER ":" LAB_PASSWORD) == 0;
    }
    if (strncasecmp(a, "Bearer ", 7) == 0)
        return strcmp(a + 7, LAB_TOKEN) == 0;
    return lab_token_check(r->lab, "splunk", "Splunk", a) == LAB_TOK_OK;
}

bool lab_splunk(struct lab_req *r)
{
    char p[RP_LAB_PATH_MAX];
    char c[3][RP_LAB_SEG_MAX];
    if (lab_prefix(r->path, "/servicesNS/")) {
        const char *app = strchr(r->path + 12, '/');
        const char *rest = app != NULL ? strchr(app + 1, '/') : NULL;
        if (rest == NULL)
            return false;
        snprintf(p, sizeof(p), "/services%s", rest);
    } else if (lab_prefix(r->path, "/services/")) {
        snprintf(p, sizeof(p), "%s", r->path);
    } else {
        return false;
    }
    bool post = strcmp(r->method, "POST") == 0, get = strcmp(r->method, "GET") == 0;
    if (strcmp(p, "/services/auth/login") == 0 && post) {
        char u[64] = "", pw[64] = "";
        lab_form_get(r->body, r->body_len, "username", 0, u, sizeof(u));
        lab_form_get(r->body, r->body_len, "password", 0, pw, sizeof(pw));
        if (strcmp(u, LAB_USER) != 0 || strcmp(pw, LAB_PASSWORD) != 0) {
            error(r, 401, "WARN", "Login failed");
            return true;
        }
        char tok[64];
        lab_token_issue(r->lab, "splunk", lab_token_ttl(r->lab), tok, sizeof(tok));
        lab_reply_json(r, 200, json_pack("{s:s}", "sessionKey", tok));
        return true;
    }
    if (!authorized(r)) {
        error(r, 401, "WARN", "call not properly authenticated");
        return true;
    }
    if (strcmp(p, "/services/search/jobs") == 0 && post) {
        create_job(r);
    } else if (lab_path_match(p, "/services/search/jobs/*/results", c, 3) && get) {
        struct lab_job *j = find_job(r->org, c[0]);
        if (j == NULL)
            error(r, 404, "FATAL", "Unknown sid.");
        else if (j->polls < 2)
            lab_reply_empty(r, 204);
        else
            results(r, j);
    } else if (lab_path_match(p, "/services/search/jobs/*", c, 3) && get) {
        struct lab_job *j = find_job(r->org, c[0]);
        if (j == NULL)
            error(r, 404, "FATAL", "Unknown sid.");
        else
            job_status(r, j);
    } else if (strcmp(p, "/services/notable_update") == 0 && post) {
        notable_update(r);
    } else if (strcmp(p, "/services/alerts/reviewstatuses") == 0 && get) {
        static const char *const labels[] = {"Unassigned", "New",      "In Progress",
                                             "Pending",    "Resolved", "Closed"};
        json_t *e = json_array();
        for (int i = 0; i < 6; i++) {
            char n[4];
            snprintf(n, sizeof(n), "%d", i);
            json_array_append_new(e, json_pack("{s:s,s:{s:s,s:s}}", "name", n, "content", "label",
                                               labels[i], "status_type", "notable"));
        }
        lab_reply_json(r, 200, json_pack("{s:o}", "entry", e));
    } else {
        error(r, 404, "ERROR", "Not Found");
    }
    return true;
}

/*
 * control.c: the lab's controls for tests under /_lab/ (faults, the request
 * log, reset, state), the request log itself and the fault table.
 *
 * Runs under the lab's mutex (lab.c). The log is a ring of RP_LAB_LOG_MAX JSON
 * entries; secrets are masked when an entry is made, so nothing secret is ever
 * held in it: the Authorization header keeps only its scheme, key headers and
 * secret form fields, query arguments and JSON members become "***", and bodies
 * are cut at RP_LAB_LOG_BODY_MAX. Controls answer only loopback clients.
 */
#include "lab/lab_internal.h"

#include <arpa/inet.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MASK "***"

/* Header names whose value is a secret in one vendor or another. */
static const char *const secret_headers[] = {
    "authorization", "x-auth-token", "x-apikey",  "key",    "x-misp-auth",
    "cookie",        "api-key",      "x-api-key", "apikey", NULL,
};

/* Form fields, query arguments and JSON members holding a secret. */
static const char *const secret_fields[] = {
    "client_secret",    "password",     "newpassword", "auth_token", "secret",
    "api_key",          "apikey",       "key",         "token",      "access_token",
    "client_assertion", "temppassword", "sessionkey",  NULL,
};

static bool in_list(const char *const *list, const char *s, size_t n)
{
    for (size_t i = 0; list[i] != NULL; i++)
        if (strlen(list[i]) == n && strncasecmp(list[i], s, n) == 0)
            return true;
    return false;
}

/* A copy of n bytes of a form or query text with the values of secret fields
 * replaced by MASK; NULL when out of memory. */
static char *mask_form(const char *s, size_t n)
{
    char *out = malloc(n + strlen(MASK) * (n / 2 + 1) + 1);
    if (out == NULL)
        return NULL;
    size_t o = 0, i = 0;
    while (i < n) {
        const char *p = s + i;
        const char *amp = memchr(p, '&', n - i);
        size_t len = amp != NULL ? (size_t)(amp - p) : n - i;
        const char *eq = memchr(p, '=', len);
        if (eq != NULL && in_list(secret_fields, p, (size_t)(eq - p))) {
            size_t kl = (size_t)(eq - p) + 1;
            memcpy(out + o, p, kl);
            o += kl;
            memcpy(out + o, MASK, strlen(MASK));
            o += strlen(MASK);
        } else {
            memcpy(out + o, p, len);
            o += len;
        }
        i += len;
        if (i < n) {
            out[o++] = '&';
            i++;
        }
    }
    out[o] = '\0';
    return out;
}

static void mask_json(json_t *j, int depth)
{
    if (depth > RP_JSON_MAX_DEPTH)
        return;
    if (json_is_object(j)) {
        const char *k;
        json_t *v;
        json_object_foreach(j, k, v)
        {
            if (in_list(secret_fields, k, strlen(k)) && !json_is_object(v))
                json_object_set_new(j, k, json_string(MASK));
            else
                mask_json(v, depth + 1);
        }
    } else if (json_is_array(j)) {
        size_t i;
        json_t *v;
        json_array_foreach(j, i, v) mask_json(v, depth + 1);
    }
}

struct hdr_acc {
    json_t *obj;
};

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
                                      const char *value)
{
    (void)kind;
    struct hdr_acc *a = cls;
    if (key == NULL)
        return MHD_YES;
    char v[512];
    if (value == NULL)
        value = "";
    if (in_list(secret_headers, key, strlen(key))) {
        const char *sp = strchr(value, ' ');
        if (strcasecmp(key, "authorization") == 0 && sp != NULL && sp - value < 16)
            snprintf(v, sizeof(v), "%.*s %s", (int)(sp - value), value, MASK);
        else
            snprintf(v, sizeof(v), "%s", MASK);
    } else {
        snprintf(v, sizeof(v), "%s", value);
    }
    json_t *s = json_string(v);
    if (s == NULL)
        s = json_string("<not UTF-8>");
    json_object_set_new(a->obj, key, s);
    return MHD_YES;
}

json_t *lab_log_begin(struct lab *lab, struct lab_req *r, const char *uri)
{
    json_t *e = json_object();
    if (e == NULL)
        return NULL;
    uint64_t seq = ++lab->log_seq;
    char ts[40];
    lab_time(r->now_ms, true, ts);
    json_object_set_new(e, "seq", json_integer((json_int_t)seq));
    json_object_set_new(e, "time", json_string(ts));
    json_object_set_new(e, "method", json_string(r->method));
    json_t *p = json_string(r->path);
    json_object_set_new(e, "path", p != NULL ? p : json_string("<not UTF-8>"));
    const char *q = uri != NULL ? strchr(uri, '?') : NULL;
    char *qs = mask_form(q != NULL ? q + 1 : "", q != NULL ? strlen(q + 1) : 0);
    if (qs != NULL) {
        json_t *qj = json_string(qs);
        json_object_set_new(e, "query", qj != NULL ? qj : json_string("<not UTF-8>"));
        free(qs);
    }
    struct hdr_acc acc = {json_object()};
    if (acc.obj != NULL)
        MHD_get_connection_values(r->conn, MHD_HEADER_KIND, collect_header, &acc);
    json_object_set_new(e, "headers", acc.obj);

    /* The body, masked: JSON by member, anything else as a form. */
    json_t *body = NULL;
    if (r->body_len > 0) {
        json_t *bj = r->body_len <= RP_LAB_BODY_MAX
                         ? json_loadb(r->body, r->body_len, JSON_DECODE_ANY, NULL)
                         : NULL;
        if (bj != NULL && (json_is_object(bj) || json_is_array(bj))) {
            mask_json(bj, 0);
            char *txt = json_dumps(bj, JSON_COMPACT);
            if (txt != NULL && strlen(txt) > RP_LAB_LOG_BODY_MAX)
                txt[RP_LAB_LOG_BODY_MAX] = '\0';
            body = txt != NULL ? json_string(txt) : NULL;
            free(txt);
        } else {
            size_t n = r->body_len < RP_LAB_LOG_BODY_MAX ? r->body_len : RP_LAB_LOG_BODY_MAX;
            char *txt = mask_form(r->body, n);
            if (txt != NULL) {
                body = json_string(txt);
                if (body == NULL)
                    body = json_string("<binary>");
                free(txt);
            }
        }
        json_decref(bj);
    }
    json_object_set_new(e, "body", body != NULL ? body : json_null());
    json_object_set_new(e, "body_bytes", json_integer((json_int_t)r->body_len));
    json_object_set_new(e, "status", json_null());

    size_t slot = (size_t)(seq % RP_LAB_LOG_MAX);
    json_decref(lab->log[slot]);
    lab->log[slot] = e;
    json_incref(e);
    return e;
}

void lab_log_end(json_t *entry, unsigned status, const char *fault)
{
    if (entry == NULL)
        return;
    json_object_set_new(entry, "status", status > 0 ? json_integer(status) : json_null());
    if (fault != NULL)
        json_object_set_new(entry, "fault", json_string(fault));
    json_decref(entry);
}

/* --- faults ------------------------------------------------------------------------------------
 */

struct lab_fault *lab_fault_take(struct lab *lab, const char *method, const char *path)
{
    for (size_t i = 0; i < lab->nfaults; i++) {
        struct lab_fault *f = &lab->faults[i];
        if (f->count == 0)
            continue;
        if (f->method[0] != '\0' && strcasecmp(f->method, method) != 0)
            continue;
        if (strcmp(f->path, path) != 0 && !lab_glob(f->path, path))
            continue;
        f->count--;
        return f;
    }
    return NULL;
}

static const char *const kinds[] = {"500", "429", "slow", "malformed", "close", NULL};

static json_t *fault_json(const struct lab_fault *f)
{
    return json_pack("{s:i,s:s,s:s,s:s,s:i,s:i,s:i}", "id", (int)f->id, "path", f->path, "method",
                     f->method, "kind", kinds[f->kind], "count", (int)f->count, "delay_ms",
                     (int)f->delay_ms, "retry_after", (int)f->retry_after);
}

static void bad(struct lab_req *r, const char *msg)
{
    lab_reply_json(r, 400, json_pack("{s:s}", "error", msg));
}

static bool get_uint(json_t *o, const char *k, unsigned def, unsigned max, unsigned *out)
{
    json_t *v = json_object_get(o, k);
    if (v == NULL || json_is_null(v)) {
        *out = def;
        return true;
    }
    json_int_t n = 0;
    if (json_is_integer(v))
        n = json_integer_value(v);
    else if (json_is_string(v) &&
             strspn(json_string_value(v), "0123456789") == strlen(json_string_value(v)) &&
             json_string_length(v) > 0 && json_string_length(v) < 10)
        n = strtoll(json_string_value(v), NULL, 10);
    else
        return false;
    if (n < 0 || n > (json_int_t)max)
        return false;
    *out = (unsigned)n;
    return true;
}

static void add_fault(struct lab_req *r)
{
    struct lab *lab = r->lab;
    char why[160];
    json_t *b = lab_body_json(r, why, sizeof(why));
    if (b == NULL || !json_is_object(b)) {
        bad(r, b == NULL ? why : "the body must be a JSON object");
        json_decref(b);
        return;
    }
    struct lab_fault f;
    memset(&f, 0, sizeof(f));
    const char *path = json_string_value(json_object_get(b, "path"));
    const char *method = json_string_value(json_object_get(b, "method"));
    json_t *kv = json_object_get(b, "kind");
    char kbuf[16] = "";
    if (json_is_integer(kv))
        snprintf(kbuf, sizeof(kbuf), "%lld", (long long)json_integer_value(kv));
    else if (json_is_string(kv))
        snprintf(kbuf, sizeof(kbuf), "%s", json_string_value(kv));
    int kind = -1;
    for (int i = 0; kinds[i] != NULL; i++)
        if (strcmp(kinds[i], kbuf) == 0)
            kind = i;
    if (path == NULL || path[0] != '/' || strlen(path) >= sizeof(f.path)) {
        bad(r, "path must be a string beginning with / (a '*' matches any run of characters)");
    } else if (method != NULL && strlen(method) >= sizeof(f.method)) {
        bad(r, "method is too long");
    } else if (kind < 0) {
        bad(r, "kind must be one of 500, 429, slow, malformed, close");
    } else if (!get_uint(b, "count", 1, 1000000, &f.count) || f.count == 0) {
        bad(r, "count must be 1-1000000");
    } else if (!get_uint(b, "delay_ms", 1000, RP_LAB_FAULT_DELAY_MAX_MS, &f.delay_ms)) {
        bad(r, "delay_ms must be 0-60000");
    } else if (!get_uint(b, "retry_after", 1, 86400, &f.retry_after)) {
        bad(r, "retry_after must be 0-86400 seconds");
    } else {
        /* Spent faults make room. */
        size_t j = 0;
        for (size_t i = 0; i < lab->nfaults; i++)
            if (lab->faults[i].count > 0)
                lab->faults[j++] = lab->faults[i];
        lab->nfaults = j;
        if (lab->nfaults >= RP_LAB_FAULTS_MAX) {
            lab_reply_json(r, 409, json_pack("{s:s}", "error", "too many faults armed"));
        } else {
            f.id = ++lab->fault_ids;
            snprintf(f.path, sizeof(f.path), "%s", path);
            snprintf(f.method, sizeof(f.method), "%s", method != NULL ? method : "");
            f.kind = (enum lab_fault_kind)kind;
            lab->faults[lab->nfaults++] = f;
            lab_reply_json(r, 201, fault_json(&f));
        }
    }
    json_decref(b);
}

static void list_faults(struct lab_req *r)
{
    json_t *a = json_array();
    for (size_t i = 0; i < r->lab->nfaults; i++)
        if (r->lab->faults[i].count > 0)
            json_array_append_new(a, fault_json(&r->lab->faults[i]));
    lab_reply_json(r, 200, json_pack("{s:o}", "faults", a));
}

static void get_requests(struct lab_req *r)
{
    struct lab *lab = r->lab;
    const char *sv = lab_arg(r, "since");
    uint64_t since = 0;
    if (sv != NULL) {
        if (*sv == '\0' || strspn(sv, "0123456789") != strlen(sv) || strlen(sv) > 19) {
            bad(r, "since must be a request sequence number");
            return;
        }
        since = strtoull(sv, NULL, 10);
    }
    uint64_t first = lab->log_seq > RP_LAB_LOG_MAX ? lab->log_seq - RP_LAB_LOG_MAX + 1 : 1;
    if (since + 1 > first)
        first = since + 1;
    json_t *a = json_array();
    for (uint64_t s = first; s <= lab->log_seq; s++) {
        json_t *e = lab->log[s % RP_LAB_LOG_MAX];
        if (e != NULL)
            json_array_append(a, e);
    }
    lab_reply_json(r, 200, json_pack("{s:o,s:I}", "requests", a, "last", (json_int_t)lab->log_seq));
}

static bool client_is_loopback(struct lab_req *r)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    if (ci == NULL || ci->client_addr == NULL)
        return false;
    const struct sockaddr *sa = ci->client_addr;
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
        return (ntohl(s4->sin_addr.s_addr) >> 24) == 127;
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
            return true;
        return IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr) && s6->sin6_addr.s6_addr[12] == 127;
    }
    return false;
}

bool lab_control(struct lab_req *r)
{
    const char *m = r->method;
    if (!client_is_loopback(r)) {
        lab_reply_json(r, 403,
                       json_pack("{s:s}", "error", "the lab's controls answer loopback only"));
        return true;
    }
    if (strcmp(r->path, "/_lab/faults") == 0) {
        if (strcmp(m, "POST") == 0)
            add_fault(r);
        else if (strcmp(m, "DELETE") == 0) {
            size_t n = 0;
            for (size_t i = 0; i < r->lab->nfaults; i++)
                n += r->lab->faults[i].count > 0;
            r->lab->nfaults = 0;
            lab_reply_json(r, 200, json_pack("{s:i}", "cleared", (int)n));
        } else if (strcmp(m, "GET") == 0)
            list_faults(r);
        else
            lab_reply_json(r, 405, json_pack("{s:s}", "error", "GET, POST or DELETE"));
        return true;
    }
    if (strcmp(r->path, "/_lab/requests") == 0) {
        if (strcmp(m, "GET") == 0)
            get_requests(r);
        else if (strcmp(m, "DELETE") == 0) {
            for (size_t i = 0; i < RP_LAB_LOG_MAX; i++) {
                json_decref(r->lab->log[i]);
                r->lab->log[i] = NULL;
            }
            lab_reply_json(r, 200, json_pack("{s:I}", "last", (json_int_t)r->lab->log_seq));
        } else
            lab_reply_json(r, 405, json_pack("{s:s}", "error", "GET or DELETE"));
        return true;
    }
    if (strcmp(r->path, "/_lab/reset") == 0) {
        if (strcmp(m, "POST") != 0) {
            lab_reply_json(r, 405, json_pack("{s:s}", "error", "POST"));
            return true;
        }
        lab_org_init(r->lab->org, r->lab->seed, r->lab->base_ms);
        r->lab->nfaults = 0;
        lab_reply_json(r, 200,
                       json_pack("{s:I,s:b}", "seed", (json_int_t)r->lab->seed, "reset", 1));
        return true;
    }
    if (strcmp(r->path, "/_lab/state") == 0) {
        if (strcmp(m, "GET") != 0) {
            lab_reply_json(r, 405, json_pack("{s:s}", "error", "GET"));
            return true;
        }
        json_t *s = lab_org_state(r->org);
        if (s != NULL) {
            json_object_set_new(s, "url", json_string(r->lab->url));
            json_object_set_new(s, "token_ttl_s", json_integer(r->lab->ttl_s));
        }
        lab_reply_json(r, 200, s);
        return true;
    }
    return false;
}

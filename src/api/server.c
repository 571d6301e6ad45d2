/*
 * server.c: the daemon's HTTP API on libmicrohttpd, and its writer loop on libuv.
 *
 * Two kinds of threads (docs/internals/daemon.md has the why):
 *   - libmicrohttpd's pool (MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL,
 *     a few threads): route, check the token, and for POST /api/v1/alerts read
 *     the body (bounded), parse and normalize it into an ingest batch, push it on
 *     the ingest queue and suspend the connection. GETs read the store through a
 *     per-thread handle opened on first use and closed when the thread ends.
 *     The runs, playbooks and prompts endpoints and the answer links live in
 *     routes_runs.c; their POST bodies are small (RP_HTTP_SMALL_BODY_MAX), read
 *     whole here and answered on the same thread, never queued: starting a run
 *     and waking the engine go through the runner's own inbox (runner.h).
 *   - the thread in server_run(): a libuv loop that owns the write handle. A
 *     uv_async_t wakes it when the queue gets work; it pops up to
 *     RP_COMMIT_GROUP_MAX records worth of batches, commits them in ONE
 *     transaction (ingest_commit), stores each request's outcome and resumes its
 *     connection, whose thread then sends 202/400/503. Nothing is answered
 *     before its data is committed, so an acknowledged alert survives kill -9.
 *
 * Ownership: a struct request is made at a request's first callback and freed
 * in the completion callback. While it sits in the queue or is being committed
 * its connection is suspended, which libmicrohttpd never closes, so the writer
 * can use it; the writer touches it no more once it has resumed it.
 *
 * Failure: bad input gets a 4xx with {"error": ...} and a warn line; a full
 * queue, too many bodies in flight or a failed commit get 503 + Retry-After;
 * nothing ends the daemon but a signal.
 */
#include "api/server.h"
#include "api/server_internal.h"

#include "api/auth.h"
#include "api/runner.h"
#include "connect/connector.h"
#include "core/buf.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/time.h"
#include "ingest/pipeline.h"
#include "ingest/queue.h"
#include "ingest/syslog_listener.h"
#include "model/case.h"
#include "store/store.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <malloc.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <uv.h>

/* How often the loop checks whether a graceful stop can finish. */
#define STOP_TICK_MS 10

/* Memory given back to the system when ingest has gone quiet: after this many
 * bytes of batches have passed, and the queue has then stayed empty for
 * TRIM_IDLE_MS, malloc_trim() returns the freed heap (glibc keeps it
 * otherwise: a burst of large batches would leave hundreds of MB resident).
 * Allocations of at least TRIM_MMAP_MIN bytes (request bodies) are mapped on
 * their own so that freeing them always returns them. */
#define TRIM_AFTER_BYTES (16u * 1024u * 1024u)
#define TRIM_IDLE_MS     1000
#define TRIM_MMAP_MIN    (1024 * 1024)

static struct request *request_of(struct ingest_queue_item *it)
{
    return (struct request *)(void *)((char *)it - offsetof(struct request, item));
}

/* --- listen addresses ------------------------------------------------------------ */

rp_status server_listen_parse(const char *s, struct server_addr *out, struct rp_error *err)
{
    memset(out, 0, sizeof(*out));
    char host[INET6_ADDRSTRLEN + 1];
    const char *port_s;
    size_t hl;
    bool v6 = false;
    if (s == NULL || s[0] == '\0')
        return rp_error_set(err, RP_E_USAGE, "empty listen address (expected HOST:PORT)");
    if (s[0] == '[') {
        const char *end = strchr(s, ']');
        if (end == NULL || end[1] != ':')
            return rp_error_set(err, RP_E_USAGE,
                                "listen address %s: expected [IPv6]:PORT such as [::1]:8080", s);
        hl = (size_t)(end - s - 1);
        port_s = end + 2;
        if (hl == 0 || hl >= sizeof(host))
            return rp_error_set(err, RP_E_USAGE, "listen address %s: bad IPv6 address", s);
        memcpy(host, s + 1, hl);
        v6 = true;
    } else {
        const char *colon = strrchr(s, ':');
        if (colon == NULL)
            return rp_error_set(err, RP_E_USAGE,
                                "listen address %s: expected HOST:PORT such as 127.0.0.1:8080", s);
        hl = (size_t)(colon - s);
        if (memchr(s, ':', hl) != NULL)
            return rp_error_set(err, RP_E_USAGE,
                                "listen address %s: put an IPv6 address in brackets ([::1]:8080)",
                                s);
        if (hl == 0 || hl >= sizeof(host))
            return rp_error_set(err, RP_E_USAGE, "listen address %s: missing or bad host", s);
        memcpy(host, s, hl);
        port_s = colon + 1;
    }
    host[hl] = '\0';

    unsigned long port = 0;
    size_t pl = strlen(port_s);
    if (pl == 0 || pl > 5 || strspn(port_s, "0123456789") != pl)
        return rp_error_set(err, RP_E_USAGE, "listen address %s: the port must be 0-65535", s);
    port = strtoul(port_s, NULL, 10);
    if (port > 65535)
        return rp_error_set(err, RP_E_USAGE, "listen address %s: the port must be 0-65535", s);

    if (v6) {
        struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&out->ss;
        sa->sin6_family = AF_INET6;
        sa->sin6_port = htons((uint16_t)port);
        if (inet_pton(AF_INET6, host, &sa->sin6_addr) != 1)
            return rp_error_set(err, RP_E_USAGE, "listen address %s: %s is not an IPv6 address", s,
                                host);
        out->len = sizeof(*sa);
        char txt[INET6_ADDRSTRLEN];
        inet_ntop(AF_INET6, &sa->sin6_addr, txt, sizeof(txt));
        snprintf(out->text, sizeof(out->text), "[%s]:%lu", txt, port);
    } else {
        struct sockaddr_in *sa = (struct sockaddr_in *)&out->ss;
        sa->sin_family = AF_INET;
        sa->sin_port = htons((uint16_t)port);
        const char *h = strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;
        if (inet_pton(AF_INET, h, &sa->sin_addr) != 1)
            return rp_error_set(err, RP_E_USAGE,
                                "listen address %s: %s is not an IPv4 address (host names are "
                                "not resolved)",
                                s, host);
        out->len = sizeof(*sa);
        char txt[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &sa->sin_addr, txt, sizeof(txt));
        snprintf(out->text, sizeof(out->text), "%s:%lu", txt, port);
    }
    return RP_OK;
}

bool server_addr_is_loopback(const struct server_addr *a)
{
    if (a->ss.ss_family == AF_INET) {
        const struct sockaddr_in *sa = (const struct sockaddr_in *)&a->ss;
        return (ntohl(sa->sin_addr.s_addr) >> 24) == 127;
    }
    if (a->ss.ss_family == AF_INET6) {
        const struct sockaddr_in6 *sa = (const struct sockaddr_in6 *)&a->ss;
        if (IN6_IS_ADDR_LOOPBACK(&sa->sin6_addr))
            return true;
        return IN6_IS_ADDR_V4MAPPED(&sa->sin6_addr) && sa->sin6_addr.s6_addr[12] == 127;
    }
    return false;
}

/* --- small helpers ------------------------------------------------------------- */

/* Copies at most cap-1 bytes of s, printable ASCII only ('?' for the rest), so
 * that outside text can go into a message or a log line. */
void api_safe_text(char *dst, size_t cap, const char *s)
{
    size_t o = 0;
    for (; s != NULL && *s != '\0' && o + 1 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        dst[o++] = (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') ? (char)c : '?';
    }
    if (cap > 0)
        dst[o] = '\0';
}

/* Copies src into dst (cap bytes), cut to fit, always NUL-terminated. */
void api_str_copy(char *dst, size_t cap, const char *src)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static bool body_reserve(struct server *srv, size_t n)
{
    size_t cur = atomic_load(&srv->body_bytes);
    do {
        if (n > RP_HTTP_BODIES_BYTES_MAX - cur)
            return false;
    } while (!atomic_compare_exchange_weak(&srv->body_bytes, &cur, cur + n));
    return true;
}

static void body_release(struct request *r)
{
    if (r->reserved > 0)
        atomic_fetch_sub(&r->srv->body_bytes, r->reserved);
    r->reserved = 0;
    buf_fini(&r->body);
}

static void tls_store_close(void *p)
{
    store_close(p);
}

/* The calling HTTP thread's read handle, opened on first use. */
struct store *api_thread_store(struct server *srv, struct rp_error *err)
{
    struct store *s = pthread_getspecific(srv->tls);
    if (s != NULL)
        return s;
    if (store_open(srv->db_path, &s, err) != RP_OK)
        return NULL;
    if (pthread_setspecific(srv->tls, s) != 0) {
        store_close(s);
        rp_error_set(err, RP_E_NOMEM, "cannot keep a per-thread store handle");
        return NULL;
    }
    return s;
}

/* --- answers ------------------------------------------------------------------ */

/* Adds the headers flags ask for (and Connection: close while the daemon
 * stops), queues resp with code and records the answer for the log line. */
enum MHD_Result api_queue(struct request *r, unsigned code, struct MHD_Response *resp,
                          unsigned flags)
{
    if (flags & ANS_RETRY) {
        char ra[16];
        snprintf(ra, sizeof(ra), "%d", RP_RETRY_AFTER_S);
        MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, ra);
    }
    if (flags & ANS_BEARER_BADTOK)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Bearer realm=\"riposte\", error=\"invalid_token\"");
    else if (flags & ANS_BEARER)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"riposte\"");
    if (flags & ANS_NOSTORE) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
        MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
        MHD_add_response_header(resp, MHD_HTTP_HEADER_X_CONTENT_TYPE_OPTIONS, "nosniff");
    }
    if ((flags & ANS_CLOSE) || atomic_load(&r->srv->stopping))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
    enum MHD_Result ret = MHD_queue_response(r->conn, code, resp);
    MHD_destroy_response(resp);
    r->status = code;
    r->state = REQ_ANSWERED;
    return ret;
}

static const char fallback_body[] = "{\"error\":\"out of memory\"}";

enum MHD_Result api_send_json(struct request *r, unsigned code, json_t *j, unsigned flags,
                              const char *allow)
{
    char *text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    struct MHD_Response *resp;
    if (text != NULL) {
        resp = MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    } else {
        code = MHD_HTTP_INTERNAL_SERVER_ERROR;
        resp = MHD_create_response_from_buffer(sizeof(fallback_body) - 1, (void *)fallback_body,
                                               MHD_RESPMEM_PERSISTENT);
    }
    if (resp == NULL) {
        free(text);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    if (allow != NULL)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
    return api_queue(r, code, resp, flags);
}

enum MHD_Result api_send_error(struct request *r, unsigned code, unsigned flags, const char *allow,
                               const char *fmt, ...)
{
    char msg[RP_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    api_str_copy(r->why, sizeof(r->why), msg);
    json_t *j = json_pack("{s:s}", "error", msg);
    if (j == NULL) /* not UTF-8: say what kind of error without the details */
        j = json_pack("{s:s}", "error", "request refused");
    return api_send_json(r, code, j, flags, allow);
}

/* Queues text's bytes (taken; the buffer is left empty) as a 200 with the
 * given Content-Type and Cache-Control; an empty buffer answers an empty
 * body. */
enum MHD_Result api_send_text(struct request *r, struct buf *text, const char *type,
                              const char *cache)
{
    size_t len = text->len;
    char *data = len > 0 ? buf_steal(text) : NULL;
    buf_fini(text);
    struct MHD_Response *resp =
        data != NULL ? MHD_create_response_from_buffer(len, data, MHD_RESPMEM_MUST_FREE)
                     : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (resp == NULL) {
        free(data);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, cache);
    return api_queue(r, MHD_HTTP_OK, resp, 0);
}

/* Logs that the store operation op failed: the handle's message, or err's
 * when there was no handle. */
void api_store_log(struct store *s, const struct rp_error *err, const char *op)
{
    char q[RP_ERROR_MAX + 8];
    log_error("http.store", "op=%s error=%s", op,
              log_quote(q, sizeof(q), s != NULL ? store_errmsg(s) : err->msg));
}

/* A 503 with Retry-After for a store that failed, "cannot WHAT". */
enum MHD_Result api_store_failed(struct request *r, struct store *s, const struct rp_error *err,
                                 const char *op, const char *what)
{
    api_store_log(s, err, op);
    return api_send_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, ANS_RETRY, NULL, "cannot %s", what);
}

/* {"count": N, key: list}, list taken; NULL when list is NULL or on no memory. */
json_t *api_list_json(const char *key, json_t *list)
{
    if (list == NULL)
        return NULL;
    return json_pack("{s:I,s:o}", "count", (json_int_t)json_array_size(list), key, list);
}

/* --- routes -------------------------------------------------------------------- */

/* If url is prefix + ONE-PATH-PART + suffix (suffix "" for none), points *id
 * at the part and sets its length. */
static bool path_part(const char *url, const char *prefix, const char *suffix, const char **id,
                      size_t *n)
{
    size_t pl = strlen(prefix);
    if (strncmp(url, prefix, pl) != 0)
        return false;
    const char *rest = url + pl;
    const char *slash = strchr(rest, '/');
    size_t len = slash != NULL ? (size_t)(slash - rest) : strlen(rest);
    if (suffix[0] == '/') {
        /* PREFIX{part}/suffix */
        if (slash == NULL || strcmp(slash, suffix) != 0)
            return false;
    } else {
        /* PREFIX{part}suffix, the part holding no '/' ("/blocklists/x.txt") */
        size_t sl = strlen(suffix);
        if (slash != NULL || len <= sl || strcmp(rest + len - sl, suffix) != 0)
            return false;
        len -= sl;
    }
    if (len == 0)
        return false;
    *id = rest;
    *n = len;
    return true;
}

/* The route of a path, and its variable part (an id, a token) in *id and *n
 * (NULL and 0 for none). */
static enum route route_of(const char *url, const char **id, size_t *n)
{
    static const struct {
        const char *path;
        enum route route;
    } fixed[] = {
        {"/healthz", ROUTE_HEALTH},
        {"/api/v1/alerts", ROUTE_ALERTS},
        {"/api/v1/cases", ROUTE_CASES},
        {"/api/v1/runs", ROUTE_RUNS},
        {"/api/v1/playbooks", ROUTE_PLAYBOOKS},
        {"/api/v1/playbooks/reload", ROUTE_PLAYBOOKS_RELOAD},
        {"/api/v1/prompts", ROUTE_PROMPTS},
        {"/api/v1/kpis", ROUTE_KPIS},
        {"/metrics", ROUTE_METRICS},
        {"/api/v1/guard", ROUTE_GUARD},
        {"/api/v1/guard/stop", ROUTE_GUARD_STOP},
        {"/api/v1/guard/resume", ROUTE_GUARD_RESUME},
    };
    static const struct {
        const char *prefix, *suffix;
        enum route route;
    } parts[] = {
        {"/api/v1/cases/", "", ROUTE_CASE},
        {"/api/v1/runs/", "", ROUTE_RUN},
        {"/api/v1/prompts/", "", ROUTE_PROMPT},
        {"/api/v1/prompts/", "/answer", ROUTE_PROMPT_ANSWER},
        {"/respond/", "", ROUTE_RESPOND},
        {"/blocklists/", ".txt", ROUTE_BLOCKLIST},
    };
    *id = NULL;
    *n = 0;
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        if (strcmp(url, fixed[i].path) == 0)
            return fixed[i].route;
    }
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        if (path_part(url, parts[i].prefix, parts[i].suffix, id, n))
            return parts[i].route;
    }
    return ROUTE_NONE;
}

struct args_check {
    const char *const *allowed;
    const char *bad;
};

static enum MHD_Result arg_check(void *cls, enum MHD_ValueKind kind, const char *key,
                                 const char *value)
{
    (void)kind;
    (void)value;
    struct args_check *c = cls;
    for (const char *const *a = c->allowed; *a != NULL; a++) {
        if (strcmp(*a, key) == 0)
            return MHD_YES;
    }
    c->bad = key;
    return MHD_NO;
}

/* The query parameter name, NULL when absent. */
const char *api_arg(struct request *r, const char *name)
{
    return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

/* Answers 400 (and returns false) when the query has a parameter not in allowed:
 * a typo must not fall back silently to a default. */
bool api_args_known(struct request *r, const char *const *allowed, enum MHD_Result *ret)
{
    struct args_check c = {.allowed = allowed, .bad = NULL};
    MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, arg_check, &c);
    if (c.bad == NULL)
        return true;
    char name[64];
    api_safe_text(name, sizeof(name), c.bad);
    *ret = api_send_error(r, MHD_HTTP_BAD_REQUEST, 0, NULL, "unknown query parameter %s", name);
    return false;
}

/* Answers 400 (and returns false) when the query has any parameter, with the
 * message api_args_known gives: for the handlers that take none. */
bool api_args_none(struct request *r, enum MHD_Result *ret)
{
    static const char *const none[] = {NULL};
    return api_args_known(r, none, ret);
}

static const char *action_verb(enum auth_action act)
{
    switch (act) {
    case AUTH_READ:
        return "read";
    case AUTH_INGEST:
        return "send alerts";
    case AUTH_WRITE:
        return "change cases";
    case AUTH_RESPOND:
        return "start runs or answer prompts";
    case AUTH_ADMIN:
        return "administer the daemon";
    }
    return "do this";
}

bool api_arg_limit(struct request *r, size_t def, size_t max, size_t *out, enum MHD_Result *ret)
{
    const char *lv = api_arg(r, "limit");
    *out = def;
    if (lv == NULL)
        return true;
    size_t ll = strlen(lv);
    unsigned long v = 0;
    if (ll > 0 && ll <= 6 && strspn(lv, "0123456789") == ll)
        v = strtoul(lv, NULL, 10);
    if (v < 1 || v > max) {
        *ret = api_send_error(r, MHD_HTTP_BAD_REQUEST, 0, NULL, "limit must be 1-%zu", max);
        return false;
    }
    *out = v;
    return true;
}

/* Checks the token and that its role may do act; answers 401/403/503 and
 * returns false otherwise. */
static bool authorize(struct request *r, enum auth_action act, enum MHD_Result *ret)
{
    struct server *srv = r->srv;
    struct rp_error err = {{0}};
    struct store *s = api_thread_store(srv, &err);
    if (s == NULL) {
        log_error("http.store", "error=%s", err.msg);
        *ret = api_send_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, ANS_RETRY, NULL,
                              "the store cannot be opened");
        return false;
    }
    const char *h =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
    rp_status st;
    const char *tok;
    size_t n;
    if (h == NULL)
        st = rp_error_set(&err, RP_E_DENIED,
                          "an API token is required: Authorization: Bearer <token>");
    else if (!auth_bearer(h, &tok, &n))
        st = rp_error_set(&err, RP_E_DENIED, "the Authorization header must be: Bearer <token>");
    else
        st = auth_verify(srv->auth, s, tok, n, &r->who, &err);
    if (st == RP_E_DENIED) {
        *ret = api_send_error(r, MHD_HTTP_UNAUTHORIZED, h != NULL ? ANS_BEARER_BADTOK : ANS_BEARER,
                              NULL, "%s", err.msg);
        return false;
    }
    if (st != RP_OK) {
        *ret = api_send_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, ANS_RETRY, NULL, "%s", err.msg);
        return false;
    }
    if (!auth_role_allows(r->who.role, act)) {
        *ret = api_send_error(r, MHD_HTTP_FORBIDDEN, 0, NULL, "token %s (role %s) may not %s",
                              r->who.name, auth_role_name(r->who.role), action_verb(act));
        return false;
    }
    return true;
}

static enum MHD_Result do_health(struct request *r)
{
    struct ingest_queue_stats qs;
    ingest_queue_get_stats(r->srv->queue, &qs);
    bool stopping = atomic_load(&r->srv->stopping);
    json_t *j = json_pack("{s:s,s:I}", "status", stopping ? "stopping" : "ok", "queued",
                          (json_int_t)qs.items);
    return api_send_json(r, stopping ? MHD_HTTP_SERVICE_UNAVAILABLE : MHD_HTTP_OK, j, 0, NULL);
}

static enum MHD_Result do_case_list(struct request *r)
{
    static const char *const allowed[] = {"status", "limit", NULL};
    enum MHD_Result ret;
    if (!api_args_known(r, allowed, &ret))
        return ret;
    int status = -1;
    size_t limit = 0;
    const char *sv = api_arg(r, "status");
    if (sv != NULL) {
        enum case_status cs;
        if (case_status_parse(sv, &cs) != RP_OK)
            return api_send_error(r, MHD_HTTP_BAD_REQUEST, 0, NULL, "status must be one of: %s",
                                  case_status_names());
        status = (int)cs;
    }
    if (!api_arg_limit(r, API_LIST_DEFAULT, RP_CASE_LIST_MAX, &limit, &ret))
        return ret;
    struct rp_error err = {{0}};
    struct store *s = api_thread_store(r->srv, &err);
    json_t *out = NULL;
    if (s == NULL || store_case_list_json(s, status, limit, &out) != RP_OK)
        return api_store_failed(r, s, &err, "case_list", "read the cases");
    return api_send_json(r, MHD_HTTP_OK, api_list_json("cases", out), 0, NULL);
}

bool api_id_ok(const char *id)
{
    size_t n = strlen(id);
    if (n < 6 || n > ULID_LEN)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)id[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z')))
            return false;
    }
    return true;
}

enum MHD_Result api_show_one(struct request *r, const struct api_show *how)
{
    enum MHD_Result ret;
    if (!api_args_none(r, &ret))
        return ret;
    const char *id = r->arg;
    if (!api_id_ok(id))
        return api_send_error(r, MHD_HTTP_BAD_REQUEST, 0, NULL,
                              "a %s id is 6 to %d letters and digits (a ULID or its prefix)",
                              how->noun, ULID_LEN);
    struct rp_error err = {{0}};
    struct store *s = api_thread_store(r->srv, &err);
    json_t *out = NULL;
    rp_status st = s != NULL ? how->show(s, id, &out) : RP_E_STORE;
    if (st == RP_E_NOTFOUND)
        return api_send_error(r, MHD_HTTP_NOT_FOUND, 0, NULL, "no %s %s", how->noun, id);
    if (st == RP_E_AMBIGUOUS)
        return api_send_error(r, how->ambiguous, 0, NULL,
                              "%s id prefix %s matches several %s: give more characters", how->noun,
                              id, how->nouns);
    if (st != RP_OK) {
        char what[64];
        snprintf(what, sizeof(what), "read the %s", how->noun);
        return api_store_failed(r, s, &err, how->op, what);
    }
    return api_send_json(r, MHD_HTTP_OK, out, 0, NULL);
}

static enum MHD_Result do_case_show(struct request *r)
{
    /* 400, not 409, for a prefix of several: as the cases API always said */
    static const struct api_show how = {"case", "cases", "case_show", MHD_HTTP_BAD_REQUEST,
                                        store_case_show_json};
    return api_show_one(r, &how);
}

/* --- ingest --------------------------------------------------------------------- */

/* Refuses a body in the middle of its upload (over the limit without a
 * Content-Length, or no memory for it) and closes the connection.
 *
 * libmicrohttpd 0.9.75 takes a response only before the body or after all of
 * it, and waiting for the end would let a client stream without end or make it
 * upload 100 MB to learn that 32 MB was the limit. So the answer is written on
 * the socket here, in the connection's own thread while libmicrohttpd is only
 * reading (no response of its own is under way; no TLS), the write side is
 * shut so the client sees the answer end, and MHD_NO makes libmicrohttpd close
 * the connection. The response is small: it fits the socket's send buffer. */
static enum MHD_Result refuse_body(struct request *r, unsigned code, const char *why)
{
    body_release(r);
    api_str_copy(r->why, sizeof(r->why), why);
    r->state = REQ_ANSWERED;
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
    json_t *j = json_pack("{s:s}", "error", why);
    char *body = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
    json_decref(j);
    if (ci == NULL || body == NULL) {
        free(body);
        return MHD_NO;
    }
    const char *reason = MHD_get_reason_phrase_for(code);
    char retry[40] = "";
    if (code == MHD_HTTP_SERVICE_UNAVAILABLE)
        snprintf(retry, sizeof(retry), "Retry-After: %d\r\n", RP_RETRY_AFTER_S);
    char msg[1024];
    int n = snprintf(msg, sizeof(msg),
                     "HTTP/1.1 %u %s\r\nContent-Type: application/json\r\nContent-Length: "
                     "%zu\r\nConnection: close\r\n%s\r\n%s",
                     code, reason, strlen(body), retry, body);
    free(body);
    if (n > 0 && (size_t)n < sizeof(msg)) {
        size_t off = 0;
        while (off < (size_t)n) {
            ssize_t w =
                send(ci->connect_fd, msg + off, (size_t)n - off, MSG_NOSIGNAL | MSG_DONTWAIT);
            if (w <= 0)
                break;
            off += (size_t)w;
        }
        if (off == (size_t)n)
            r->status = code;
        (void)shutdown(ci->connect_fd, SHUT_WR);
    }
    return MHD_NO;
}

/* The part of a message that says what to do about a body over max. */
static const char *body_hint(size_t max)
{
    return max == RP_HTTP_BODY_MAX ? ": send smaller batches" : "";
}

/* Checks the announced size against max (413 at once, before a byte is read),
 * reserves the body's memory against RP_HTTP_BODIES_BYTES_MAX (503 beyond it)
 * and moves the request to state to receive it. */
static enum MHD_Result begin_body(struct request *r, size_t max, enum req_state state)
{
    uint64_t want = 0;
    const char *cl =
        MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl != NULL) {
        size_t ll = strlen(cl);
        if (ll == 0 || ll > 19 || strspn(cl, "0123456789") != ll)
            return api_send_error(r, MHD_HTTP_BAD_REQUEST, ANS_CLOSE, NULL, "bad Content-Length");
        want = strtoull(cl, NULL, 10);
        if (want > max)
            return api_send_error(r, MHD_HTTP_CONTENT_TOO_LARGE, ANS_CLOSE, NULL,
                                  "the body (%llu bytes) is over the limit of %zu bytes%s",
                                  (unsigned long long)want, max, body_hint(max));
    }
    if (want > 0 && !body_reserve(r->srv, (size_t)want))
        return api_send_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, ANS_RETRY | ANS_CLOSE, NULL,
                              "too many request bodies in flight: retry later");
    r->reserved = (size_t)want;
    r->body_max = max;
    buf_init(&r->body, max);
    if (want > 0 && buf_reserve(&r->body, (size_t)want) != RP_OK) {
        body_release(r);
        return api_send_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, ANS_RETRY | ANS_CLOSE, NULL,
                              "out of memory for the body: retry later");
    }
    r->state = state;
    return MHD_YES;
}

static enum MHD_Result begin_ingest(struct request *r)
{
    static const char *const allowed[] = {"source", "format", NULL};
    enum MHD_Result ret;
    if (!api_args_known(r, allowed, &ret))
        return ret;
    const char *src = api_arg(r, "source");
    if (src != NULL) {
        if (!auth_token_name_valid(src))
            return api_send_error(r, MHD_HTTP_BAD_REQUEST, 0, NULL,
                                  "source must be 1-%d characters of A-Z a-z 0-9 . _ @ -",
                                  RP_TOKEN_NAME_MAX);
        api_str_copy(r->source, sizeof(r->source), src);
    }
    const char *fmt = api_arg(r, "format");
    r->format.format = FORMAT_AUTO;
    r->format.vendor = NULL;
    if (fmt != NULL) {
        struct rp_error ferr;
        if (ingest_format_from_name(fmt, &r->format, &ferr) != RP_OK)
            return api_send_error(r, MHD_HTTP_BAD_REQUEST, 0, NULL, "%s", ferr.msg);
    }
    return begin_body(r, RP_HTTP_BODY_MAX, REQ_BODY);
}

static enum MHD_Result take_body(struct request *r, const char *data, size_t n)
{
    size_t need = r->body.len + n;
    if (n > r->body_max || need > r->body_max) {
        char why[128];
        snprintf(why, sizeof(why), "the body is over the limit of %zu bytes%s", r->body_max,
                 body_hint(r->body_max));
        return refuse_body(r, MHD_HTTP_CONTENT_TOO_LARGE, why);
    }
    if (need > r->reserved) {
        if (!body_reserve(r->srv, need - r->reserved))
            return refuse_body(r, MHD_HTTP_SERVICE_UNAVAILABLE,
                               "too many request bodies in flight: retry later");
        r->reserved = need;
    }
    if (buf_append(&r->body, data, n) != RP_OK)
        return refuse_body(r, MHD_HTTP_SERVICE_UNAVAILABLE,
                           "out of memory for the body: retry later");
    return MHD_YES;
}

/* The whole body is in: parse it here, queue it for the writer, and suspend. */
static enum MHD_Result finish_body(struct request *r)
{
    struct server *srv = r->srv;
    if (r->body.len == 0) {
        body_release(r);
        return api_send_error(r, MHD_HTTP_BAD_REQUEST, 0, NULL,
                              "empty body: send a JSON object, an array of objects or NDJSON");
    }
    char origin[RP_TOKEN_NAME_MAX + 32];
    snprintf(origin, sizeof(origin), "request from %s", r->who.name);
    struct ingest_opts o = {
        .config = srv->config,
        .channel = "http",
        .origin = origin,
        .default_source = r->source[0] != '\0' ? r->source : "api",
        .received_ms = 0,
        .format = r->format,
    };
    struct ingest_batch *b = NULL;
    rp_status st = ingest_batch_new(&o, &b);
    if (st == RP_OK)
        st = ingest_batch_add_input(b, r->body.data, r->body.len);
    body_release(r);
    if (st != RP_OK) {
        ingest_batch_free(b);
        if (st == RP_E_NOMEM)
            return api_send_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, ANS_RETRY, NULL,
                                  "out of memory while reading the body: retry later");
        return api_send_error(r, MHD_HTTP_BAD_REQUEST, 0, NULL, "cannot read the body: %s",
                              rp_status_str(st));
    }
    size_t records = ingest_batch_records(b);
    if (records == 0) {
        ingest_batch_free(b);
        return api_send_error(r, MHD_HTTP_BAD_REQUEST, 0, NULL,
                              "no records in the body: send a JSON object, an array of objects or "
                              "NDJSON");
    }
    r->item.batch = b;
    r->item.records = records;
    r->item.bytes = ingest_batch_bytes(b);
    r->state = REQ_QUEUED;
    /* Suspend before the push: the writer may resume the connection as soon as
     * the batch is in the queue. */
    MHD_suspend_connection(r->conn);
    if (ingest_queue_push(srv->queue, &r->item) != RP_OK) {
        r->commit_st = RP_E_BUSY;
        rp_error_set(&r->commit_err, RP_E_BUSY, "%s",
                     atomic_load(&srv->stopping) ? "the daemon is shutting down: retry later"
                                                 : "the ingest queue is full: retry later");
        MHD_resume_connection(r->conn);
        return MHD_YES;
    }
    uv_async_send(&srv->wake);
    return MHD_YES;
}

struct first_reject {
    char text[120];
    bool seen;
};

static void keep_first_reject(void *arg, uint64_t number, uint64_t line, const char *reason)
{
    struct first_reject *f = arg;
    if (f->seen)
        return;
    f->seen = true;
    char r[80];
    api_safe_text(r, sizeof(r), reason);
    snprintf(f->text, sizeof(f->text), "record %llu line %llu: %s", (unsigned long long)number,
             (unsigned long long)line, r);
}

/* Resumed by the writer (or after a refused push): answer the outcome. */
static enum MHD_Result answer_commit(struct request *r)
{
    if (r->commit_st == RP_OK) {
        json_t *j = ingest_batch_result_json(r->item.batch, RP_HTTP_ERRORS_LISTED_MAX);
        const struct ingest_counts *c = ingest_batch_counts(r->item.batch);
        if (c->rejected == 0)
            return api_send_json(r, MHD_HTTP_ACCEPTED, j, 0, NULL);
        char msg[128];
        if (c->accepted == 0)
            snprintf(msg, sizeof(msg), "%s rejected: nothing was stored",
                     c->rejected == 1 ? "the record was" : "every record was");
        else
            snprintf(msg, sizeof(msg), "%zu of %zu records were rejected; the others are stored",
                     c->rejected, c->rejected + c->accepted);
        struct first_reject first = {.seen = false};
        ingest_batch_each_reject(r->item.batch, keep_first_reject, &first);
        char why[sizeof(msg) + sizeof(first.text) + 16];
        snprintf(why, sizeof(why), "%s; first: %s", msg, first.text);
        api_str_copy(r->why, sizeof(r->why), why);
        if (j != NULL)
            json_object_set_new(j, "error", json_string(msg));
        return api_send_json(r, MHD_HTTP_BAD_REQUEST, j, 0, NULL);
    }
    switch (r->commit_st) {
    case RP_E_BUSY:
    case RP_E_STORE:
    case RP_E_IO:
    case RP_E_NOMEM:
        return api_send_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, ANS_RETRY, NULL, "%s",
                              r->commit_err.msg[0] ? r->commit_err.msg : "the commit failed");
    default:
        return api_send_error(r, MHD_HTTP_INTERNAL_SERVER_ERROR, 0, NULL, "the commit failed: %s",
                              r->commit_err.msg[0] ? r->commit_err.msg
                                                   : rp_status_str(r->commit_st));
    }
}

/* --- the access handler --------------------------------------------------------------- */

/* True when the request announces a body (Content-Length > 0 or chunked). */
static bool has_body(struct MHD_Connection *conn)
{
    const char *cl =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    const char *te =
        MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    return te != NULL || (cl != NULL && strspn(cl, "0") != strlen(cl));
}

/* The methods a route answers, for 405 and Allow. */
static const char *route_methods(enum route rt)
{
    switch (rt) {
    case ROUTE_ALERTS:
    case ROUTE_PLAYBOOKS_RELOAD:
    case ROUTE_PROMPT_ANSWER:
    case ROUTE_GUARD_STOP:
    case ROUTE_GUARD_RESUME:
        return "POST";
    case ROUTE_RUNS:
    case ROUTE_RESPOND:
        return "GET, HEAD, POST";
    default:
        return "GET, HEAD";
    }
}

/* What the token's role must allow for this route and method. */
static enum auth_action route_action(const struct request *r)
{
    switch (r->route) {
    case ROUTE_ALERTS:
        return AUTH_INGEST;
    case ROUTE_RUNS:
        return r->post ? AUTH_RESPOND : AUTH_READ;
    case ROUTE_PROMPT_ANSWER:
        return AUTH_RESPOND;
    case ROUTE_PLAYBOOKS_RELOAD:
    case ROUTE_GUARD_STOP:
    case ROUTE_GUARD_RESUME:
        return AUTH_ADMIN;
    default:
        return AUTH_READ;
    }
}

/* True for the POSTs that take a small body (read whole, then answered). */
static bool route_small_body(const struct request *r)
{
    if (!r->post)
        return false;
    return r->route == ROUTE_RUNS || r->route == ROUTE_PROMPT_ANSWER ||
           r->route == ROUTE_PLAYBOOKS_RELOAD || r->route == ROUTE_RESPOND ||
           r->route == ROUTE_GUARD_STOP || r->route == ROUTE_GUARD_RESUME;
}

/* A small body is in (or there was none): answer the endpoint. */
static enum MHD_Result finish_small(struct request *r)
{
    enum MHD_Result ret;
    switch (r->route) {
    case ROUTE_RUNS:
        ret = api_run_start(r);
        break;
    case ROUTE_PROMPT_ANSWER:
        ret = api_prompt_answer(r);
        break;
    case ROUTE_PLAYBOOKS_RELOAD:
        ret = api_playbooks_reload(r);
        break;
    case ROUTE_RESPOND:
        ret = api_respond_post(r);
        break;
    case ROUTE_GUARD_STOP:
    case ROUTE_GUARD_RESUME:
        ret = api_guard_set(r, r->route == ROUTE_GUARD_STOP);
        break;
    default:
        RP_ASSERT(0);
        return MHD_NO;
    }
    body_release(r);
    return ret;
}

/* Answers a request whose head is known: route, method, token, then the
 * endpoint (or, for an ingest or a small body, the start of its body). */
static enum MHD_Result dispatch(struct request *r)
{
    struct server *srv = r->srv;
    if (r->route == ROUTE_NONE)
        return api_send_error(r, MHD_HTTP_NOT_FOUND, 0, NULL, "no such endpoint");
    const char *methods = route_methods(r->route);
    bool can_post = strstr(methods, "POST") != NULL, can_get = strstr(methods, "GET") != NULL;
    if (!((r->get && can_get) || (r->post && can_post)))
        return api_send_error(r, MHD_HTTP_METHOD_NOT_ALLOWED, 0, methods, "method not allowed");
    if (r->route == ROUTE_HEALTH)
        return do_health(r);
    if (atomic_load(&srv->stopping))
        return api_send_error(r, MHD_HTTP_SERVICE_UNAVAILABLE, ANS_RETRY | ANS_CLOSE, NULL,
                              "the daemon is shutting down: retry later");
    enum MHD_Result ret;
    /* An answer link is its own credential (it is what a person clicks in a
     * mail); every other endpoint needs a token. */
    if (r->route != ROUTE_RESPOND && !authorize(r, route_action(r), &ret))
        return ret;
    if (r->route == ROUTE_ALERTS)
        return begin_ingest(r);
    if (route_small_body(r)) {
        if (r->state == REQ_NEW && has_body(r->conn))
            return begin_body(r, RP_HTTP_SMALL_BODY_MAX, REQ_SMALL);
        return finish_small(r);
    }
    switch (r->route) {
    case ROUTE_CASES:
        return do_case_list(r);
    case ROUTE_CASE:
        return do_case_show(r);
    case ROUTE_RUNS:
        return api_runs_list(r);
    case ROUTE_RUN:
        return api_run_show(r);
    case ROUTE_PLAYBOOKS:
        return api_playbooks_list(r);
    case ROUTE_PROMPTS:
        return api_prompts_list(r);
    case ROUTE_PROMPT:
        return api_prompt_show(r);
    case ROUTE_RESPOND:
        return api_respond_get(r);
    case ROUTE_BLOCKLIST:
        return api_blocklist(r);
    case ROUTE_KPIS:
        return api_kpis(r);
    case ROUTE_METRICS:
        return api_metrics(r);
    case ROUTE_GUARD:
        return api_guard_show(r);
    default:
        break;
    }
    RP_ASSERT(0);
    return MHD_NO;
}

/* The first callback of a request: its head is in, its body (if any) not yet. */
static enum MHD_Result start_request(struct request *r, const char *url, const char *method)
{
    api_safe_text(r->method, sizeof(r->method), method);
    api_safe_text(r->path, sizeof(r->path), url);
    api_str_copy(r->who.name, sizeof(r->who.name), "-");
    const char *id;
    size_t idn;
    r->route = route_of(url, &id, &idn);
    if (id != NULL) { /* a longer part stays too long */
        size_t k = idn < sizeof(r->arg) - 1 ? idn : sizeof(r->arg) - 1;
        memcpy(r->arg, id, k);
        r->arg[k] = '\0';
    }
    /* An answer link's token is a credential: the log keeps the prompt id
     * (its first part) and not the signature. */
    if (r->route == ROUTE_RESPOND) {
        char head[ULID_LEN + 1];
        api_safe_text(head, sizeof(head), r->arg);
        snprintf(r->path, sizeof(r->path), "/respond/%s...", head);
    }
    r->get = strcmp(method, MHD_HTTP_METHOD_GET) == 0 || strcmp(method, MHD_HTTP_METHOD_HEAD) == 0;
    r->post = strcmp(method, MHD_HTTP_METHOD_POST) == 0;
    /* An ingest is checked (token, size) before its body is read. Other
     * requests are answered at the next callback, when the request is complete:
     * libmicrohttpd 0.9.75 closes the connection after an answer given before
     * that ("early"), which would end keep-alive. A body where none belongs is
     * refused now, without reading it. */
    if ((r->route == ROUTE_ALERTS && r->post) || has_body(r->conn))
        return dispatch(r);
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct server *srv = cls;
    struct request *r = *con_cls;
    if (r == NULL) {
        r = calloc(1, sizeof(*r));
        if (r == NULL)
            return MHD_NO; /* closes the connection: nothing else can be done */
        r->srv = srv;
        r->conn = conn;
        r->start_ms = time_mono_ms();
        buf_init(&r->body, RP_HTTP_BODY_MAX);
        *con_cls = r;
        atomic_fetch_add(&srv->inflight, 1);
        return start_request(r, url, method);
    }
    switch (r->state) {
    case REQ_BODY:
    case REQ_SMALL:
        if (*upload_data_size > 0) {
            size_t n = *upload_data_size;
            *upload_data_size = 0;
            return take_body(r, upload_data, n);
        }
        return r->state == REQ_BODY ? finish_body(r) : finish_small(r);
    case REQ_QUEUED:
        return answer_commit(r);
    case REQ_NEW:
        if (*upload_data_size == 0)
            return dispatch(r);
        break;
    case REQ_ANSWERED:
        break;
    }
    *upload_data_size = 0;
    return MHD_YES;
}

static const char *termination_name(enum MHD_RequestTerminationCode toe)
{
    switch (toe) {
    case MHD_REQUEST_TERMINATED_COMPLETED_OK:
        return "ok";
    case MHD_REQUEST_TERMINATED_WITH_ERROR:
        return "error";
    case MHD_REQUEST_TERMINATED_TIMEOUT_REACHED:
        return "timeout";
    case MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN:
        return "shutdown";
    case MHD_REQUEST_TERMINATED_READ_ERROR:
        return "read-error";
    case MHD_REQUEST_TERMINATED_CLIENT_ABORT:
        return "client-abort";
    }
    return "unknown";
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)conn;
    struct server *srv = cls;
    struct request *r = *con_cls;
    if (r == NULL)
        return;
    *con_cls = NULL;
    long long ms = (long long)(time_mono_ms() - r->start_ms);
    bool problem = r->status == 0 || r->status >= 400 || toe != MHD_REQUEST_TERMINATED_COMPLETED_OK;
    if (problem && r->why[0] == '\0' && r->status == 0)
        api_str_copy(r->why, sizeof(r->why), "no answer sent");
    char why[sizeof(r->why) + 16];
    log_write(problem ? LOG_WARN : LOG_DEBUG, "http.request",
              "method=%s path=%s status=%u ms=%lld who=%s end=%s%s%s", r->method, r->path,
              r->status, ms, r->who.name, termination_name(toe), r->why[0] ? " why=" : "",
              r->why[0] ? log_quote(why, sizeof(why), r->why) : "");
    body_release(r);
    ingest_batch_free(r->item.batch);
    free(r);
    atomic_fetch_sub(&srv->inflight, 1);
}

static void mhd_log(void *cls, const char *fmt, va_list ap) RP_PRINTF(2, 0);

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
        msg[--n] = '\0';
    char q[600];
    /* refuse_body() ends a connection with MHD_NO on purpose and logs why */
    bool ours = strncmp(msg, "Application reported internal error", 35) == 0;
    log_write(ours ? LOG_DEBUG : LOG_WARN, "http.mhd", "msg=%s", log_quote(q, sizeof(q), msg));
}

/* --- the writer ------------------------------------------------------------------ */

/* The queue has been empty for TRIM_IDLE_MS after much data: give the freed
 * heap back. Writer thread. */
static void on_trim(uv_timer_t *t)
{
    struct server *srv = t->data;
    if (!ingest_queue_empty(srv->queue)) {
        uv_timer_start(t, on_trim, TRIM_IDLE_MS, 0);
        return;
    }
    srv->untrimmed = 0;
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

static bool env_failure(rp_status st)
{
    return st == RP_E_BUSY || st == RP_E_IO || st == RP_E_NOMEM;
}

/* Pops one group, commits it in one transaction and resumes its requests.
 * Returns the number of batches. Writer thread. */
static size_t writer_group(struct server *srv)
{
    struct ingest_queue_item *head = NULL;
    size_t n = ingest_queue_pop(srv->queue, RP_COMMIT_GROUP_MAX, RP_COMMIT_GROUP_MAX, &head);
    if (n == 0)
        return 0;
    int64_t t0 = time_mono_ms();
    size_t i = 0, records = 0, bytes = 0;
    for (struct ingest_queue_item *it = head; it != NULL; it = it->next) {
        srv->group[i++] = it->batch;
        records += it->records;
        bytes += it->bytes;
    }
    struct rp_error err = {{0}};
    rp_status st = ingest_commit(srv->store, srv->config, srv->group, n, &err);
    if (st == RP_OK) {
        for (struct ingest_queue_item *it = head; it != NULL; it = it->next)
            request_of(it)->commit_st = RP_OK;
    } else if (n == 1 || env_failure(st) || time_mono_ms() - t0 >= RP_STORE_BUSY_TIMEOUT_MS / 2) {
        /* Alone, or failed for the environment (a lock held elsewhere shows as
         * a slow failure): retrying each batch would fail the same way, each
         * after as long a wait. */
        for (struct ingest_queue_item *it = head; it != NULL; it = it->next) {
            struct request *r = request_of(it);
            r->commit_st = st;
            r->commit_err = err;
        }
    } else {
        /* One batch may be what the store refused: commit each alone so that
         * the others are not failed with it, within a bounded time. */
        char q[RP_ERROR_MAX + 8];
        log_warn("ingest.group_failed", "batches=%zu error=%s action=one-by-one", n,
                 log_quote(q, sizeof(q), err.msg));
        rp_status last = RP_OK;
        for (struct ingest_queue_item *it = head; it != NULL; it = it->next) {
            struct request *r = request_of(it);
            if (env_failure(last) || time_mono_ms() - t0 > RP_STORE_BUSY_TIMEOUT_MS) {
                r->commit_st = last != RP_OK ? last : st;
                r->commit_err = err;
                continue;
            }
            struct rp_error e1 = {{0}};
            last = ingest_commit(srv->store, srv->config, &it->batch, 1, &e1);
            r->commit_st = last;
            r->commit_err = e1;
            if (last != RP_OK)
                err = e1;
        }
    }
    srv->groups++;
    for (struct ingest_queue_item *it = head; it != NULL;) {
        struct ingest_queue_item *next = it->next;
        struct request *r = request_of(it);
        srv->batches++;
        if (r->commit_st == RP_OK) {
            const struct ingest_counts *c = ingest_batch_counts(it->batch);
            srv->accepted += c->accepted;
            srv->rejected += c->rejected;
            metrics_count_ingest("http", c->accepted, c->rejected);
            /* the batch is ours until the resume below */
            runner_alerts_committed(srv->runner, &it->batch, 1);
        } else {
            char q[RP_ERROR_MAX + 8];
            srv->failed++;
            log_warn("ingest.commit_failed", "records=%zu status=%s error=%s", it->records,
                     rp_status_str(r->commit_st), log_quote(q, sizeof(q), r->commit_err.msg));
        }
        /* After this call the request belongs to its HTTP thread again. */
        MHD_resume_connection(r->conn);
        it = next;
    }
    metrics_observe("riposte_ingest_commit_seconds", "http", (double)(time_mono_ms() - t0) / 1e3);
    log_debug("ingest.commit", "batches=%zu records=%zu ms=%lld", n, records,
              (long long)(time_mono_ms() - t0));
    srv->untrimmed += bytes;
    if (srv->untrimmed >= TRIM_AFTER_BYTES)
        uv_timer_start(&srv->trim_timer, on_trim, TRIM_IDLE_MS, 0); /* restarts: waits for quiet */
    return n;
}

static void on_wake(uv_async_t *h)
{
    struct server *srv = h->data;
    writer_group(srv);
    /* More than one group waiting: come back after the loop has looked at its
     * other handles (signals), not in a tight loop here. */
    if (!ingest_queue_empty(srv->queue))
        uv_async_send(h);
}

/* Answers everything still queued as refused, without committing: only when
 * the writer never ran (server_free before or without server_run). */
static void refuse_queued(struct server *srv)
{
    struct ingest_queue_item *head = NULL;
    while (ingest_queue_pop(srv->queue, SIZE_MAX, SIZE_MAX, &head) > 0) {
        for (struct ingest_queue_item *it = head; it != NULL;) {
            struct ingest_queue_item *next = it->next;
            struct request *r = request_of(it);
            r->commit_st = RP_E_BUSY;
            rp_error_set(&r->commit_err, RP_E_BUSY, "the daemon is shutting down: retry later");
            MHD_resume_connection(r->conn);
            it = next;
        }
    }
}

/* --- stopping ----------------------------------------------------------------------- */

static void on_stop_tick(uv_timer_t *t)
{
    struct server *srv = t->data;
    int64_t now = time_mono_ms();
    if (srv->phase == STOP_GRACE) {
        bool idle = atomic_load(&srv->inflight) == 0 && ingest_queue_empty(srv->queue);
        if (!idle && now < srv->grace_deadline)
            return;
        if (!idle)
            log_warn("serve.grace_over", "inflight=%zu action=\"commit what is queued and stop\"",
                     atomic_load(&srv->inflight));
        ingest_queue_close(srv->queue);
        while (writer_group(srv) > 0)
            ;
        srv->phase = STOP_FLUSH;
        srv->flush_deadline = srv->hurry ? now : now + RP_SHUTDOWN_FLUSH_MS;
    }
    if (srv->phase == STOP_FLUSH) {
        if (atomic_load(&srv->inflight) == 0 || now >= srv->flush_deadline) {
            uv_timer_stop(t);
            uv_stop(&srv->loop);
        }
    }
}

static void on_signal(uv_signal_t *h, int signum)
{
    struct server *srv = h->data;
    if (signum == SIGHUP) {
        log_info("serve.sighup", "action=\"reload the playbooks\"");
        if (srv->runner != NULL)
            runner_request_reload(srv->runner);
        return;
    }
    const char *name = signum == SIGTERM ? "SIGTERM" : "SIGINT";
    if (srv->phase != STOP_NONE) {
        log_warn("serve.stopping", "signal=%s action=\"stop now\"", name);
        srv->hurry = true;
        srv->grace_deadline = 0;
        srv->flush_deadline = 0;
        return;
    }
    log_info("serve.stopping", "signal=%s inflight=%zu", name, atomic_load(&srv->inflight));
    atomic_store(&srv->stopping, true);
    MHD_socket fd = MHD_quiesce_daemon(srv->mhd);
    if (fd == MHD_INVALID_SOCKET)
        log_warn("serve.quiesce", "error=\"cannot stop accepting; connections close at exit\"");
    else {
        /* Refuse new connections at once (they would wait in the backlog
         * otherwise); the descriptor itself is closed after MHD_stop_daemon. */
        (void)shutdown(fd, SHUT_RDWR);
        srv->quiesced_fd = fd;
    }
    syslog_listener_stop(srv->syslog); /* stores what it holds */
    srv->phase = STOP_GRACE;
    srv->grace_deadline = time_mono_ms() + RP_SHUTDOWN_GRACE_MS;
    uv_timer_start(&srv->stop_timer, on_stop_tick, 0, STOP_TICK_MS);
}

/* --- start and stop ------------------------------------------------------------------ */

static void raise_nofile(void)
{
    struct rlimit rl;
    rlim_t want = RP_HTTP_CONNECTIONS_MAX + 256; /* connections, store, logs */
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
        return;
    rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want ? rl.rlim_max : want;
    if (setrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur < want)
        log_warn("serve.nofile", "limit=%llu wanted=%llu effect=\"fewer connections\"",
                 (unsigned long long)rl.rlim_cur, (unsigned long long)want);
}

static rp_status bind_listen(struct server *srv, struct rp_error *err)
{
    int family = srv->addr.ss.ss_family;
    int fd = socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return rp_error_set(err, RP_E_IO, "cannot listen on %s: %s", srv->addr.text,
                            strerror(errno));
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (family == AF_INET6)
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)&srv->addr.ss, srv->addr.len) != 0 ||
        listen(fd, SOMAXCONN) != 0) {
        int e = errno;
        close(fd);
        return rp_error_set(err, RP_E_IO, "cannot listen on %s: %s", srv->addr.text, strerror(e));
    }
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
        uint16_t port = family == AF_INET ? ntohs(((struct sockaddr_in *)&ss)->sin_port)
                                          : ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        char *colon = strrchr(srv->addr.text, ':');
        if (colon != NULL)
            snprintf(colon + 1, sizeof(srv->addr.text) - (size_t)(colon + 1 - srv->addr.text), "%u",
                     port);
    }
    srv->listen_fd = fd;
    return RP_OK;
}

static unsigned default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    if (n < 1)
        n = 1;
    if (n > RP_HTTP_THREADS_MAX)
        n = RP_HTTP_THREADS_MAX;
    return (unsigned)n;
}

/* The syslog listener's batches: stored on this (the writer's) thread, alone. */
static rp_status syslog_submit(void *arg, struct ingest_batch *b)
{
    struct server *srv = arg;
    struct rp_error e = {{0}};
    rp_status st = ingest_commit(srv->store, srv->config, &b, 1, &e);
    if (st != RP_OK) {
        char q[RP_ERROR_MAX + 8];
        log_error("syslog.commit_failed", "status=%s error=%s", rp_status_str(st),
                  log_quote(q, sizeof(q), e.msg));
        return st;
    }
    runner_alerts_committed(srv->runner, &b, 1);
    const struct ingest_counts *c = ingest_batch_counts(b);
    srv->accepted += c->accepted;
    srv->rejected += c->rejected;
    metrics_count_ingest("syslog", c->accepted, c->rejected);
    srv->batches++;
    log_debug("syslog.commit", "accepted=%zu rejected=%zu ignored=%zu", c->accepted, c->rejected,
              c->ignored);
    return RP_OK;
}

/* A connector's source fetched a document: parse it in the given format, store
 * it in one transaction and start what its alerts trigger. Loop thread. */
static rp_status source_submit(void *ctx, const char *source, const char *format, const char *data,
                               size_t len)
{
    struct server *srv = ctx;
    struct rp_error e = {{0}};
    struct ingest_opts o = {
        .config = srv->config, .channel = "source", .origin = source, .default_source = source};
    if (format != NULL && strcmp(format, "auto") != 0 &&
        ingest_format_from_name(format, &o.format, &e) != RP_OK) {
        log_error("source.format", "source=%s error=\"%s\"", source, e.msg);
        return RP_E_INVALID;
    }
    struct ingest_batch *b = NULL;
    rp_status st = ingest_batch_new(&o, &b);
    if (st == RP_OK)
        st = ingest_batch_add_input(b, data, len);
    if (st == RP_OK)
        st = ingest_commit(srv->store, srv->config, &b, 1, &e);
    if (st == RP_OK) {
        runner_alerts_committed(srv->runner, &b, 1);
        const struct ingest_counts *c = ingest_batch_counts(b);
        srv->accepted += c->accepted;
        srv->rejected += c->rejected;
        log_info("source.commit", "source=%s accepted=%zu rejected=%zu ignored=%zu", source,
                 c->accepted, c->rejected, c->ignored);
    } else {
        char q[RP_ERROR_MAX + 8];
        log_error("source.commit_failed", "source=%s status=%s error=%s", source, rp_status_str(st),
                  log_quote(q, sizeof(q), e.msg));
    }
    ingest_batch_free(b);
    return st;
}

/* A source's position in its feed, kept in the store so that a restarted
 * daemon goes on where it stopped instead of fetching again. Loop thread
 * (the writer's handle, outside any batch). */
static rp_status source_cursor_load(void *ctx, const char *source, json_t **out)
{
    struct server *srv = ctx;
    return store_source_cursor_get(srv->store, source, out);
}

static rp_status source_cursor_save(void *ctx, const char *source, json_t *state)
{
    struct server *srv = ctx;
    return store_source_cursor_put(srv->store, source, state, time_now_ms());
}

/* Binds the syslog addresses of the configuration, if any. */
static rp_status start_syslog(struct server *srv, struct rp_error *err)
{
    const struct config *cfg = srv->config;
    if (cfg == NULL || (cfg->syslog_udp == NULL && cfg->syslog_tcp == NULL))
        return RP_OK;
    struct server_addr udp, tcp;
    if (cfg->syslog_udp != NULL && server_listen_parse(cfg->syslog_udp, &udp, err) != RP_OK) {
        rp_error_prefix(err, "syslog.udp");
        return RP_E_USAGE;
    }
    if (cfg->syslog_tcp != NULL && server_listen_parse(cfg->syslog_tcp, &tcp, err) != RP_OK) {
        rp_error_prefix(err, "syslog.tcp");
        return RP_E_USAGE;
    }
    rp_status st = syslog_listener_new(&srv->loop, cfg,
                                       cfg->syslog_udp ? (const struct sockaddr *)&udp.ss : NULL,
                                       cfg->syslog_tcp ? (const struct sockaddr *)&tcp.ss : NULL,
                                       syslog_submit, srv, &srv->syslog, err);
    if (st == RP_OK)
        log_info("syslog.start", "udp=%s tcp=%s", cfg->syslog_udp ? udp.text : "-",
                 cfg->syslog_tcp ? tcp.text : "-");
    return st;
}

rp_status server_new(const struct server_opts *o, struct server **out, struct rp_error *err)
{
    rp_status st;
    struct server *srv = calloc(1, sizeof(*srv));
    if (srv == NULL)
        return rp_error_set(err, RP_E_NOMEM, "out of memory");
    srv->listen_fd = -1;
    srv->quiesced_fd = -1;
    srv->config = o->config;
    atomic_init(&srv->stopping, false);
    atomic_init(&srv->inflight, 0);
    atomic_init(&srv->body_bytes, 0);

    st = server_listen_parse(o->listen, &srv->addr, err);
    if (st != RP_OK)
        goto fail;
    srv->db_path = strdup(o->db_path);
    srv->group = calloc(RP_COMMIT_GROUP_MAX, sizeof(*srv->group));
    if (srv->db_path == NULL || srv->group == NULL) {
        st = rp_error_set(err, RP_E_NOMEM, "out of memory");
        goto fail;
    }
    srv->threads =
        o->threads > 0 && o->threads <= RP_HTTP_THREADS_MAX ? o->threads : default_threads();

    st = store_open(srv->db_path, &srv->store, err);
    if (st != RP_OK)
        goto fail;
    int64_t tokens = 0;
    if (store_token_count(srv->store, &tokens) != RP_OK) {
        st = rp_error_set(err, RP_E_STORE, "cannot count API tokens: %s", store_errmsg(srv->store));
        goto fail;
    }
    bool loopback = server_addr_is_loopback(&srv->addr);
    if (tokens == 0 && !loopback) {
        st = rp_error_set(err, RP_E_DENIED,
                          "refusing to listen on %s: it is not a loopback address and no API "
                          "token exists yet. Create one first (riposte token create --name "
                          "NAME) or listen on 127.0.0.1",
                          srv->addr.text);
        goto fail;
    }
    srv->tokens_at_start = tokens;
    st = auth_new(RP_AUTH_CACHE_TTL_MS, &srv->auth);
    if (st == RP_OK)
        st = ingest_queue_new(RP_INGEST_QUEUE_MAX, RP_INGEST_QUEUE_BYTES_MAX, &srv->queue);
    if (st != RP_OK) {
        rp_error_set(err, st, "out of memory");
        goto fail;
    }
    if (pthread_key_create(&srv->tls, tls_store_close) != 0) {
        st = rp_error_set(err, RP_E_NOMEM, "cannot create a thread key");
        goto fail;
    }
    srv->tls_made = true;

    if (uv_loop_init(&srv->loop) != 0) {
        st = rp_error_set(err, RP_E_NOMEM, "cannot create the event loop");
        goto fail;
    }
    srv->loop_made = true;
    if (uv_async_init(&srv->loop, &srv->wake, on_wake) != 0 ||
        uv_signal_init(&srv->loop, &srv->sig_term) != 0 ||
        uv_signal_init(&srv->loop, &srv->sig_int) != 0 ||
        uv_signal_init(&srv->loop, &srv->sig_hup) != 0 ||
        uv_timer_init(&srv->loop, &srv->stop_timer) != 0 ||
        uv_timer_init(&srv->loop, &srv->trim_timer) != 0) {
        /* uv_*_init of these cannot fail on Linux once the loop exists */
        st = rp_error_set(err, RP_E_NOMEM, "cannot create the loop's handles");
        goto fail;
    }
    srv->handles_made = true;
    srv->wake.data = srv;
    srv->sig_term.data = srv;
    srv->sig_int.data = srv;
    srv->sig_hup.data = srv;
    srv->stop_timer.data = srv;
    srv->trim_timer.data = srv;

    /* From here a SIGTERM waits for the loop (a graceful stop) instead of
     * killing the process. */
    if (uv_signal_start(&srv->sig_term, on_signal, SIGTERM) != 0 ||
        uv_signal_start(&srv->sig_int, on_signal, SIGINT) != 0 ||
        uv_signal_start(&srv->sig_hup, on_signal, SIGHUP) != 0) {
        st = rp_error_set(err, RP_E_IO, "cannot install the signal handlers");
        goto fail;
    }
    signal(SIGPIPE, SIG_IGN);
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, TRIM_MMAP_MIN);
#endif
    raise_nofile();
    st = start_syslog(srv, err);
    if (st != RP_OK)
        goto fail;
    st = bind_listen(srv, err);
    if (st != RP_OK)
        goto fail;
    /* The base of answer links, as the engine's mails give them; set once the
     * port is known, read by every HTTP thread afterwards. */
    char url[sizeof srv->addr.text + 16];
    snprintf(url, sizeof url, "http://%s", srv->addr.text);
    srv->public_base = strdup(o->public_url != NULL ? o->public_url : url);
    if (srv->public_base == NULL) {
        st = rp_error_set(err, RP_E_NOMEM, "out of memory");
        goto fail;
    }
    struct runner_opts ro = {.playbooks_dir = o->playbooks_dir,
                             .prompt_key_path = o->prompt_key_path,
                             .db_path = srv->db_path,
                             .policy_path = o->policy_path,
                             .prompt_mail = o->prompt_mail,
                             .detect = srv->config != NULL ? srv->config->detect : NULL,
                             .ndetect = srv->config != NULL ? srv->config->ndetect : 0,
                             .detect_submit = source_submit,
                             .detect_ctx = srv,
                             .public_url = srv->public_base};
    st = runner_new(&srv->loop, srv->store, &ro, &srv->runner, err);
    if (st != RP_OK)
        goto fail;
    if (o->connectors != NULL) {
        struct source_sink sink = {.submit = source_submit,
                                   .cursor_load = source_cursor_load,
                                   .cursor_save = source_cursor_save,
                                   .ctx = srv};
        st = connectors_start_sources(o->connectors, &srv->loop, &sink, err);
        if (st != RP_OK)
            goto fail;
        srv->connectors = o->connectors;
    }
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
                     MHD_USE_ERROR_LOG | MHD_USE_TURBO;
    if (srv->addr.ss.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    uint16_t port = srv->addr.ss.ss_family == AF_INET
                        ? ntohs(((struct sockaddr_in *)&srv->addr.ss)->sin_port)
                        : ntohs(((struct sockaddr_in6 *)&srv->addr.ss)->sin6_port);
    srv->mhd = MHD_start_daemon(
        flags, port, NULL, NULL, on_request, srv, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
        MHD_OPTION_LISTEN_SOCKET, (MHD_socket)srv->listen_fd, MHD_OPTION_THREAD_POOL_SIZE,
        srv->threads, MHD_OPTION_THREAD_STACK_SIZE, (size_t)RP_HTTP_THREAD_STACK,
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)RP_HTTP_CONNECTIONS_MAX,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)RP_HTTP_IDLE_TIMEOUT_S,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, srv, MHD_OPTION_END);
    if (srv->mhd == NULL) {
        st = rp_error_set(err, RP_E_IO, "cannot start the HTTP server on %s (see the log above)",
                          srv->addr.text);
        goto fail;
    }
    srv->listen_fd = -1; /* MHD's now */
    *out = srv;
    return RP_OK;
fail:
    server_free(srv);
    return st;
}

const struct server_addr *server_address(const struct server *s)
{
    return &s->addr;
}

rp_status server_run(struct server *srv, struct rp_error *err)
{
    (void)err;
    char db[512];
    log_info("serve.start", "listen=%s db=%s threads=%u tokens=%lld pid=%ld", srv->addr.text,
             log_quote(db, sizeof(db), srv->db_path), srv->threads, (long long)srv->tokens_at_start,
             (long)getpid());
    if (srv->tokens_at_start == 0)
        log_warn("serve.no_tokens", "effect=\"only /healthz answers until a token exists\" "
                                    "fix=\"riposte token create --name NAME\"");
    /* Batches queued before the loop ran are waiting for a wake-up. */
    uv_async_send(&srv->wake);
    uv_run(&srv->loop, UV_RUN_DEFAULT);

    MHD_stop_daemon(srv->mhd);
    srv->mhd = NULL;
    if (srv->quiesced_fd >= 0)
        close(srv->quiesced_fd);
    srv->quiesced_fd = -1;
    /* Every push after the queue closed was refused; nothing can be left. */
    RP_ASSERT(ingest_queue_empty(srv->queue));
    struct ingest_queue_stats qs;
    ingest_queue_get_stats(srv->queue, &qs);
    struct auth_stats as;
    auth_get_stats(srv->auth, &as);
    log_info("serve.stop",
             "groups=%llu batches=%llu accepted=%llu rejected=%llu failed=%llu refused=%llu "
             "auth_hits=%llu auth_misses=%llu auth_denied=%llu",
             (unsigned long long)srv->groups, (unsigned long long)srv->batches,
             (unsigned long long)srv->accepted, (unsigned long long)srv->rejected,
             (unsigned long long)srv->failed, (unsigned long long)qs.refused,
             (unsigned long long)as.hits, (unsigned long long)as.misses,
             (unsigned long long)as.denied);
    return RP_OK;
}

static void on_handle_closed(uv_handle_t *h)
{
    (void)h;
}

void server_free(struct server *srv)
{
    if (srv == NULL)
        return;
    if (srv->mhd != NULL) {
        /* Never ran, or did not finish: refuse what waits so that no connection
         * stays suspended (MHD_stop_daemon requires it). */
        if (srv->queue != NULL) {
            ingest_queue_close(srv->queue);
            refuse_queued(srv);
        }
        MHD_stop_daemon(srv->mhd);
    }
    if (srv->quiesced_fd >= 0)
        close(srv->quiesced_fd);
    if (srv->listen_fd >= 0)
        close(srv->listen_fd);
    syslog_listener_stop(srv->syslog); /* no-op when the stop signal did it */
    connectors_stop(srv->connectors);
    runner_free(srv->runner);
    srv->runner = NULL;
    if (srv->handles_made) {
        uv_close((uv_handle_t *)&srv->wake, on_handle_closed);
        uv_close((uv_handle_t *)&srv->sig_term, on_handle_closed);
        uv_close((uv_handle_t *)&srv->sig_int, on_handle_closed);
        uv_close((uv_handle_t *)&srv->sig_hup, on_handle_closed);
        uv_close((uv_handle_t *)&srv->stop_timer, on_handle_closed);
        uv_close((uv_handle_t *)&srv->trim_timer, on_handle_closed);
        uv_run(&srv->loop, UV_RUN_DEFAULT);
    }
    if (srv->syslog != NULL && !srv->handles_made)
        uv_run(&srv->loop, UV_RUN_DEFAULT); /* let the listener's handles close */
    syslog_listener_free(srv->syslog);
    if (srv->loop_made)
        (void)uv_loop_close(&srv->loop);
    if (srv->tls_made)
        pthread_key_delete(srv->tls);
    ingest_queue_free(srv->queue);
    auth_free(srv->auth);
    store_close(srv->store);
    free(srv->group);
    free(srv->public_base);
    free(srv->db_path);
    free(srv);
}

/*
 * http.c: the `http` module (connector.h, DESIGN.md §4): HTTP requests of
 * packs and of the generic `type: http` instance.
 *
 * Transport. One curl multi handle per uv loop, shared by every transfer on
 * that loop: curl tells which sockets to watch (CURLMOPT_SOCKETFUNCTION, one
 * uv_poll per socket) and when to call it back (CURLMOPT_TIMERFUNCTION, one
 * uv_timer). The multi is made at the first transfer and torn down when the
 * last one ends or is cancelled, so a loop never keeps a handle of ours alive
 * once its work is done (`riposte run` closes its loop then). Redirects are
 * not followed (credentials must not travel to another host); only http and
 * https; TLS verification unless the instance says `insecure: true`, which is
 * logged as a warning at load.
 *
 * Exchanges. One logical request: the credentials applied (a bearer token is
 * fetched first when there is none or it is about to expire; waiters queue
 * behind one fetch; a 401 drops the token and retries once with a new one),
 * retries of 429, 5xx and refused connections with the server's Retry-After
 * or a doubling backoff (bounded attempts), the answer parsed as JSON (a
 * malformed one is an error when it says it is JSON), then the next page
 * while the paging rule finds one (bounded pages and items).
 *
 * Secrets. Values read as {secret: NAME}, and the token, are held only in
 * struct http_service; log lines mask every header that carries a credential
 * and every secret value wherever it appears (a webhook URL is a secret
 * itself); results and errors are masked before they leave.
 *
 * Threads: the loop thread (creation on the main thread). Failures are
 * results: every transport or HTTP failure ends as the exchange's error, with
 * the method, the masked URL, the status and the first bytes of the answer.
 */
#include "connect/http_internal.h"

#include "connect/connect_internal.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/time.h"
#include "expr/expr.h"

#include <ctype.h>
#include <openssl/hmac.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* --- the loop's multi ---------------------------------------------------------- */

struct http_loopctx {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer;
    size_t active;
    int dispatching; /* inside check_done: teardown waits for its end */
    bool tearing;    /* curl_multi_cleanup running: socket removals only */
};

struct http_sock {
    uv_poll_t poll;
    curl_socket_t fd;
    struct http_loopctx *ctx;
};

struct http_xfer {
    struct http_loopctx *ctx;
    CURL *easy;
    struct curl_slist *headers; /* our copy */
    http_xfer_cb cb;
    void *ud;
    struct http_resp resp;
    size_t max_bytes;
    bool too_large;
    char errbuf[CURL_ERROR_SIZE];
};

static struct http_loopctx *loops[RP_HTTPC_LOOPS_MAX];

static void ctx_closed(uv_handle_t *h)
{
    free(h->data);
}

static void sock_closed(uv_handle_t *h)
{
    free(h->data);
}

static void ctx_teardown(struct http_loopctx *ctx)
{
    for (size_t i = 0; i < RP_HTTPC_LOOPS_MAX; i++)
        if (loops[i] == ctx)
            loops[i] = NULL;
    ctx->tearing = true;
    curl_multi_cleanup(ctx->multi); /* removes its sockets through sock_cb */
    ctx->multi = NULL;
    uv_timer_stop(&ctx->timer);
    uv_close((uv_handle_t *)&ctx->timer, ctx_closed);
}

static void ctx_maybe_teardown(struct http_loopctx *ctx)
{
    if (ctx->active == 0 && ctx->dispatching == 0 && !ctx->tearing)
        ctx_teardown(ctx);
}

static void resp_fini(struct http_resp *r)
{
    buf_fini(&r->body);
    free(r->retry_after);
    free(r->link);
    free(r->location);
    free(r->content_type);
    memset(r, 0, sizeof *r);
}

static void xfer_free(struct http_xfer *x)
{
    if (x == NULL)
        return;
    if (x->easy != NULL)
        curl_easy_cleanup(x->easy);
    curl_slist_free_all(x->headers);
    resp_fini(&x->resp);
    free(x);
}

static void check_done(struct http_loopctx *ctx)
{
    CURLMsg *m;
    int left;
    ctx->dispatching++;
    while ((m = curl_multi_info_read(ctx->multi, &left)) != NULL) {
        if (m->msg != CURLMSG_DONE)
            continue;
        struct http_xfer *x = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        CURLcode rc = m->data.result;
        curl_multi_remove_handle(ctx->multi, x->easy);
        ctx->active--;
        struct http_resp *r = &x->resp;
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r->status);
        if (rc == CURLE_OK) {
            r->st = RP_OK;
        } else {
            r->st = RP_E_IO;
            if (x->too_large) {
                r->st = RP_E_LIMIT;
                rp_fmt(r->error, sizeof r->error, "answer larger than %zu bytes", x->max_bytes);
            } else if (rc == CURLE_OPERATION_TIMEDOUT) {
                r->timed_out = true;
                rp_fmt(r->error, sizeof r->error, "timed out (%s)",
                       x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
            } else {
                r->refused = rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST ||
                             rc == CURLE_COULDNT_RESOLVE_PROXY;
                rp_fmt(r->error, sizeof r->error, "%s",
                       x->errbuf[0] ? x->errbuf : curl_easy_strerror(rc));
            }
            if (!r->refused && rc != CURLE_OPERATION_TIMEDOUT)
                r->status = r->status > 0 ? r->status : 0;
        }
        x->cb(r, x->ud);
        xfer_free(x);
    }
    ctx->dispatching--;
    ctx_maybe_teardown(ctx);
}

static void poll_cb(uv_poll_t *p, int status, int events)
{
    struct http_sock *s = p->data;
    struct http_loopctx *ctx = s->ctx;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    int running;
    ctx->dispatching++;
    curl_multi_socket_action(ctx->multi, s->fd, flags, &running);
    ctx->dispatching--;
    check_done(ctx);
}

static void timer_cb(uv_timer_t *t)
{
    struct http_loopctx *ctx = t->data;
    int running;
    ctx->dispatching++;
    curl_multi_socket_action(ctx->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    ctx->dispatching--;
    check_done(ctx);
}

static int sock_cb(CURL *e, curl_socket_t fd, int what, void *userp, void *socketp)
{
    (void)e;
    struct http_loopctx *ctx = userp;
    struct http_sock *s = socketp;
    if (what == CURL_POLL_REMOVE) {
        if (s != NULL) {
            uv_poll_stop(&s->poll);
            uv_close((uv_handle_t *)&s->poll, sock_closed);
            if (ctx->multi != NULL)
                curl_multi_assign(ctx->multi, fd, NULL);
        }
        return 0;
    }
    if (s == NULL) {
        s = calloc(1, sizeof *s);
        if (s == NULL)
            return -1;
        s->fd = fd;
        s->ctx = ctx;
        if (uv_poll_init_socket(ctx->loop, &s->poll, fd) != 0) {
            free(s);
            return -1;
        }
        s->poll.data = s;
        curl_multi_assign(ctx->multi, fd, s);
    }
    int ev = 0;
    if (what & CURL_POLL_IN)
        ev |= UV_READABLE;
    if (what & CURL_POLL_OUT)
        ev |= UV_WRITABLE;
    uv_poll_start(&s->poll, ev, poll_cb);
    return 0;
}

static int timerfn_cb(CURLM *multi, long timeout_ms, void *userp)
{
    (void)multi;
    struct http_loopctx *ctx = userp;
    if (timeout_ms < 0)
        uv_timer_stop(&ctx->timer);
    else
        uv_timer_start(&ctx->timer, timer_cb, (uint64_t)timeout_ms, 0);
    return 0;
}

static struct http_loopctx *ctx_for(uv_loop_t *loop)
{
    for (size_t i = 0; i < RP_HTTPC_LOOPS_MAX; i++)
        if (loops[i] != NULL && loops[i]->loop == loop)
            return loops[i];
    size_t slot = RP_HTTPC_LOOPS_MAX;
    for (size_t i = 0; i < RP_HTTPC_LOOPS_MAX && slot == RP_HTTPC_LOOPS_MAX; i++)
        if (loops[i] == NULL)
            slot = i;
    if (slot == RP_HTTPC_LOOPS_MAX)
        return NULL;
    struct http_loopctx *ctx = calloc(1, sizeof *ctx);
    if (ctx == NULL)
        return NULL;
    ctx->loop = loop;
    ctx->multi = curl_multi_init();
    if (ctx->multi == NULL || uv_timer_init(loop, &ctx->timer) != 0) {
        if (ctx->multi != NULL)
            curl_multi_cleanup(ctx->multi);
        free(ctx);
        return NULL;
    }
    ctx->timer.data = ctx;
    curl_multi_setopt(ctx->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
    curl_multi_setopt(ctx->multi, CURLMOPT_SOCKETDATA, ctx);
    curl_multi_setopt(ctx->multi, CURLMOPT_TIMERFUNCTION, timerfn_cb);
    curl_multi_setopt(ctx->multi, CURLMOPT_TIMERDATA, ctx);
    /* A thousand runs calling one vendor at once must not open a thousand
     * connections to it (vendors rate-limit and drop them): requests beyond
     * this wait in curl's queue for a free keep-alive connection. */
    curl_multi_setopt(ctx->multi, CURLMOPT_MAX_HOST_CONNECTIONS,
                      (long)RP_HTTPC_HOST_CONNECTIONS_MAX);
    curl_multi_setopt(ctx->multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, (long)RP_HTTPC_CONNECTIONS_MAX);
    loops[slot] = ctx;
    return ctx;
}

size_t http_loop_active(uv_loop_t *loop)
{
    for (size_t i = 0; i < RP_HTTPC_LOOPS_MAX; i++)
        if (loops[i] != NULL && loops[i]->loop == loop)
            return loops[i]->active;
    return 0;
}

static size_t write_cb(char *p, size_t size, size_t n, void *ud)
{
    struct http_xfer *x = ud;
    size_t len = size * n;
    if (x->resp.body.len + len > x->max_bytes) {
        x->too_large = true;
        return 0;
    }
    if (buf_append(&x->resp.body, p, len) != RP_OK)
        return 0;
    return len;
}

/* Keeps the value of a header we act on (the last one wins). */
static void keep_header(char **slot, const char *v, size_t n)
{
    while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
        n--;
    while (n > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        n--;
    }
    char *s = strndup(v, n);
    if (s != NULL) {
        free(*slot);
        *slot = s;
    }
}

static size_t header_cb(char *p, size_t size, size_t n, void *ud)
{
    struct http_xfer *x = ud;
    size_t len = size * n;
    static const struct {
        const char *name;
        size_t off;
    } keep[] = {
        {"retry-after:", offsetof(struct http_resp, retry_after)},
        {"link:", offsetof(struct http_resp, link)},
        {"location:", offsetof(struct http_resp, location)},
        {"content-type:", offsetof(struct http_resp, content_type)},
    };
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        /* a new answer (after 100 Continue): forget the previous headers */
        for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
            char **slot = (char **)((char *)&x->resp + keep[i].off);
            free(*slot);
            *slot = NULL;
        }
        return len;
    }
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        size_t kl = strlen(keep[i].name);
        if (len >= kl && strncasecmp(p, keep[i].name, kl) == 0)
            keep_header((char **)((char *)&x->resp + keep[i].off), p + kl, len - kl);
    }
    return len;
}

rp_status http_xfer_start(uv_loop_t *loop, const struct http_req *req, http_xfer_cb cb, void *ud,
                          struct http_xfer **out, struct rp_error *err)
{
    *out = NULL;
    struct http_loopctx *ctx = ctx_for(loop);
    if (ctx == NULL)
        return rp_error_set(err, RP_E_NOMEM, "http: cannot set up the transfer loop");
    struct http_xfer *x = calloc(1, sizeof *x);
    if (x == NULL)
        goto nomem;
    x->ctx = ctx;
    x->cb = cb;
    x->ud = ud;
    x->max_bytes = req->max_bytes > 0 ? req->max_bytes : RP_HTTPC_RESPONSE_MAX;
    buf_init(&x->resp.body, x->max_bytes);
    x->easy = curl_easy_init();
    if (x->easy == NULL)
        goto nomem;
    for (struct curl_slist *h = req->headers; h != NULL; h = h->next) {
        struct curl_slist *n = curl_slist_append(x->headers, h->data);
        if (n == NULL)
            goto nomem;
        x->headers = n;
    }
    CURL *e = x->easy;
    curl_easy_setopt(e, CURLOPT_URL, req->url);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)req->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, req->insecure ? 0L : 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, req->insecure ? 0L : 2L);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT,
                     "riposte/"
                     "0.1");
    if (req->max_bytes > 0)
        curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)x->max_bytes);
    const char *m = req->method;
    if (strcmp(m, "GET") == 0 && req->body == NULL) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(m, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else {
        if (strcmp(m, "POST") != 0)
            curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, m);
        if (req->body != NULL || strcmp(m, "POST") == 0 || strcmp(m, "PUT") == 0 ||
            strcmp(m, "PATCH") == 0) {
            curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
            curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, req->body != NULL ? req->body : "");
        }
    }
    if (curl_multi_add_handle(ctx->multi, e) != CURLM_OK)
        goto nomem;
    ctx->active++;
    *out = x;
    return RP_OK;
nomem:
    xfer_free(x);
    ctx_maybe_teardown(ctx);
    return rp_error_set(err, RP_E_NOMEM, "http: out of memory");
}

void http_xfer_cancel(struct http_xfer *x)
{
    if (x == NULL)
        return;
    struct http_loopctx *ctx = x->ctx;
    curl_multi_remove_handle(ctx->multi, x->easy);
    ctx->active--;
    xfer_free(x);
    ctx_maybe_teardown(ctx);
}

/* --- the service: secrets and masking ----------------------------------------- */

rp_status http_service_init(struct http_service *svc, const char *instance, struct rp_error *err)
{
    memset(svc, 0, sizeof *svc);
    svc->instance = strdup(instance);
    svc->vars = json_object();
    svc->headers = json_object();
    svc->attempts = RP_HTTPC_ATTEMPTS_DEFAULT;
    svc->connect_timeout_ms = RP_HTTPC_CONNECT_TIMEOUT_MS;
    svc->timeout_ms = RP_HTTPC_TIMEOUT_MS;
    svc->backoff_base_ms = RP_HTTPC_BACKOFF_BASE_MS;
    svc->max_bytes = RP_HTTPC_RESPONSE_MAX;
    if (svc->instance == NULL || svc->vars == NULL || svc->headers == NULL)
        return rp_error_set(err, RP_E_NOMEM, "out of memory");
    return expr_env_new(&svc->expr, err);
}

static void auth_fini(struct http_auth *a)
{
    free(a->user);
    connector_secret_free(a->pass);
    free(a->scheme);
    connector_secret_free(a->token);
    free(a->key_header);
    free(a->key_query);
    connector_secret_free(a->key_value);
    free(a->token_url);
    free(a->client_id);
    connector_secret_free(a->client_secret);
    json_decref(a->form);
    json_decref(a->claims);
    free(a->body_field);
    free(a->token_field);
    connector_secret_free(a->access_token);
    http_xfer_cancel(a->fetch);
}

void http_service_fini(struct http_service *svc)
{
    if (svc == NULL)
        return;
    auth_fini(&svc->auth);
    for (size_t i = 0; i < svc->nsecrets; i++)
        connector_secret_free(svc->secrets[i]);
    free(svc->instance);
    free(svc->base_url);
    json_decref(svc->vars);
    json_decref(svc->headers);
    expr_env_free(svc->expr);
    memset(svc, 0, sizeof *svc);
}

rp_status http_service_add_secret(struct http_service *svc, const char *value)
{
    if (value == NULL || value[0] == '\0')
        return RP_OK;
    for (size_t i = 0; i < svc->nsecrets; i++)
        if (strcmp(svc->secrets[i], value) == 0)
            return RP_OK;
    if (svc->nsecrets == RP_HTTPC_SECRETS_MAX)
        return RP_E_LIMIT;
    svc->secrets[svc->nsecrets] = strdup(value);
    if (svc->secrets[svc->nsecrets] == NULL)
        return RP_E_NOMEM;
    svc->nsecrets++;
    return RP_OK;
}

static rp_status duration_opt(const char *instance, json_t *conf, const char *key, int64_t *ms,
                              struct rp_error *err)
{
    json_t *v = json_object_get(conf, key);
    if (v == NULL)
        return RP_OK;
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        *ms = json_integer_value(v) * 1000;
        return RP_OK;
    }
    const char *s = json_string_value(v);
    char *end = NULL;
    double d = s != NULL ? strtod(s, &end) : -1;
    int64_t mult = end == NULL                                     ? 0
                   : strcmp(end, "ms") == 0                        ? 1
                   : strcmp(end, "s") == 0 || strcmp(end, "") == 0 ? 1000
                   : strcmp(end, "m") == 0                         ? 60000
                                                                   : 0;
    if (mult == 0 || d <= 0 || d * (double)mult > 3600000.0)
        return rp_error_set(err, RP_E_INVALID,
                            "connectors.%s.%s: a duration such as 30s, 500ms or 2m (at most 1h)",
                            instance, key);
    *ms = (int64_t)(d * (double)mult);
    return RP_OK;
}

rp_status http_service_options(struct http_service *svc, json_t *conf, struct rp_error *err)
{
    const char *in = svc->instance;
    json_t *v = json_object_get(conf, "insecure");
    if (v != NULL && !json_is_boolean(v))
        return rp_error_set(err, RP_E_INVALID, "connectors.%s.insecure: true or false", in);
    svc->insecure = json_is_true(v);
    if (svc->insecure)
        log_warn("connector.insecure",
                 "instance=%s tls_verification=off (insecure: true in the configuration)", in);
    rp_status st = duration_opt(in, conf, "timeout", &svc->timeout_ms, err);
    if (st == RP_OK)
        st = duration_opt(in, conf, "connect_timeout", &svc->connect_timeout_ms, err);
    if (st != RP_OK)
        return st;
    v = json_object_get(conf, "retries");
    if (v != NULL) {
        if (!json_is_integer(v) || json_integer_value(v) < 0 ||
            json_integer_value(v) >= RP_HTTPC_ATTEMPTS_MAX)
            return rp_error_set(err, RP_E_INVALID, "connectors.%s.retries: 0 to %d", in,
                                RP_HTTPC_ATTEMPTS_MAX - 1);
        svc->attempts = (int)json_integer_value(v) + 1;
    }
    return RP_OK;
}

/* Replaces each occurrence of needle in *s by "***" (reallocating). */
static char *mask_one(char *s, const char *needle)
{
    size_t nl = strlen(needle);
    if (nl == 0 || strstr(s, needle) == NULL)
        return s;
    struct buf b;
    buf_init(&b, strlen(s) + 1);
    const char *p = s, *q;
    bool ok = true;
    while (ok && (q = strstr(p, needle)) != NULL) {
        ok = buf_append(&b, p, (size_t)(q - p)) == RP_OK && buf_puts(&b, "***") == RP_OK;
        p = q + nl;
    }
    ok = ok && buf_puts(&b, p) == RP_OK;
    if (!ok) {
        buf_fini(&b);
        /* cannot rebuild: blank the whole text rather than let the secret out */
        memset(s, '*', strlen(s));
        return s;
    }
    free(s);
    return buf_steal(&b);
}

char *http_mask(const struct http_service *svc, const char *s)
{
    char *out = strdup(s != NULL ? s : "");
    if (out == NULL || svc == NULL)
        return out;
    for (size_t i = 0; i < svc->nsecrets; i++)
        out = mask_one(out, svc->secrets[i]);
    if (svc->auth.access_token != NULL)
        out = mask_one(out, svc->auth.access_token);
    return out;
}

static bool needs_mask(const struct http_service *svc, const char *s)
{
    for (size_t i = 0; i < svc->nsecrets; i++)
        if (strstr(s, svc->secrets[i]) != NULL)
            return true;
    return svc->auth.access_token != NULL && strstr(s, svc->auth.access_token) != NULL;
}

static void mask_json_depth(const struct http_service *svc, json_t *v, int depth)
{
    if (depth > RP_JSON_MAX_DEPTH)
        return;
    if (json_is_string(v)) {
        if (needs_mask(svc, json_string_value(v))) {
            char *m = http_mask(svc, json_string_value(v));
            json_string_set(v, m != NULL ? m : "***");
            free(m);
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *e;
        json_array_foreach(v, i, e) mask_json_depth(svc, e, depth + 1);
    } else if (json_is_object(v)) {
        const char *k;
        json_t *e;
        void *tmp;
        json_object_foreach_safe(v, tmp, k, e)
        {
            mask_json_depth(svc, e, depth + 1);
            if (needs_mask(svc, k)) {
                char *m = http_mask(svc, k);
                json_incref(e);
                json_object_del(v, k);
                json_object_set_new(v, m != NULL ? m : "***", e);
                free(m);
            }
        }
    }
}

void http_mask_json(const struct http_service *svc, json_t *v)
{
    if (svc != NULL && v != NULL)
        mask_json_depth(svc, v, 0);
}

const char *http_header_log_value(const char *name, const char *value)
{
    static const char *const creds[] = {"authorization", "cookie", "key",     "token",
                                        "secret",        "auth",   "password"};
    char low[128];
    size_t n = strlen(name);
    if (n >= sizeof low)
        return "***";
    for (size_t i = 0; i <= n; i++)
        low[i] = (char)tolower((unsigned char)name[i]);
    for (size_t i = 0; i < sizeof creds / sizeof creds[0]; i++)
        if (strstr(low, creds[i]) != NULL)
            return "***";
    return value;
}

/* --- retries and tokens ---------------------------------------------------------- */

int64_t http_retry_delay(long status, bool refused, const char *retry_after, int attempt,
                         int max_attempts, int64_t base_ms, int64_t now_s, bool *too_long)
{
    *too_long = false;
    bool retryable = refused || status == 429 || (status >= 500 && status <= 599);
    if (!retryable || attempt >= max_attempts)
        return -1;
    if (retry_after != NULL && (status == 429 || status == 503)) {
        int64_t wait_ms = -1;
        const char *p = retry_after;
        while (*p == ' ')
            p++;
        if (isdigit((unsigned char)*p)) {
            char *end;
            long long s = strtoll(p, &end, 10);
            if (*end == '\0' || *end == ' ')
                wait_ms = s > RP_HTTPC_RETRY_AFTER_MAX_MS / 1000 + 1
                              ? RP_HTTPC_RETRY_AFTER_MAX_MS + 1
                              : (int64_t)s * 1000;
        } else {
            time_t t = curl_getdate(p, NULL);
            if (t != (time_t)-1)
                wait_ms = t <= now_s ? 0 : ((int64_t)t - now_s) * 1000;
        }
        if (wait_ms > RP_HTTPC_RETRY_AFTER_MAX_MS) {
            *too_long = true;
            return -1;
        }
        if (wait_ms >= 0)
            return wait_ms;
    }
    int shift = attempt - 1 < 16 ? attempt - 1 : 16;
    int64_t d = base_ms << shift;
    return d > RP_HTTPC_BACKOFF_MAX_MS ? RP_HTTPC_BACKOFF_MAX_MS : d;
}

int64_t http_token_refresh_at(int64_t now_ms, int64_t expires_in_s)
{
    int64_t life = expires_in_s > 0 ? expires_in_s * 1000 : RP_HTTPC_TOKEN_DEFAULT_MS;
    int64_t margin = life / 10 < RP_HTTPC_TOKEN_MARGIN_MS ? life / 10 : RP_HTTPC_TOKEN_MARGIN_MS;
    return now_ms + life - margin;
}

bool http_token_valid(const struct http_auth *a, int64_t now_ms)
{
    return a->access_token != NULL && now_ms < a->expires_ms;
}

static int64_t auth_now(const struct http_auth *a)
{
    return time_mono_ms() + a->clock_offset_ms;
}

static char *b64url(const unsigned char *p, size_t n)
{
    size_t cap = sodium_base64_encoded_len(n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    char *s = malloc(cap);
    if (s != NULL)
        sodium_bin2base64(s, cap, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return s;
}

rp_status http_jwt_hs256(json_t *claims, const char *key, char **out)
{
    *out = NULL;
    static const char header[] = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";
    char *payload = json_dumps(claims, JSON_COMPACT);
    char *h64 = b64url((const unsigned char *)header, sizeof header - 1);
    char *p64 = payload != NULL ? b64url((const unsigned char *)payload, strlen(payload)) : NULL;
    rp_status st = RP_E_NOMEM;
    if (h64 != NULL && p64 != NULL) {
        struct buf b;
        buf_init(&b, RP_HTTPC_TOKEN_MAX_BYTES);
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned int maclen = 0;
        if (buf_printf(&b, "%s.%s", h64, p64) == RP_OK &&
            HMAC(EVP_sha256(), key, (int)strlen(key), (const unsigned char *)b.data, b.len, mac,
                 &maclen) != NULL) {
            char *s64 = b64url(mac, maclen);
            if (s64 != NULL && buf_printf(&b, ".%s", s64) == RP_OK) {
                *out = buf_steal(&b);
                st = RP_OK;
            }
            free(s64);
        }
        buf_fini(&b);
    }
    free(payload);
    free(h64);
    free(p64);
    return st;
}

/* --- paths --------------------------------------------------------------------- */

static json_t *path_get_depth(json_t *v, const char *p, size_t n, int depth)
{
    if (v == NULL || depth > RP_VENDOR_PATH_SEGMENTS_MAX * 2)
        return NULL;
    if (n == 0)
        return v;
    if (json_is_object(v)) {
        /* the longest run of segments that is a key */
        for (size_t end = n;; end--) {
            if (end == n || p[end] == '.') {
                char key[RP_VENDOR_KEY_MAX * 2];
                if (end < sizeof key) {
                    memcpy(key, p, end);
                    key[end] = '\0';
                    json_t *c = json_object_get(v, key);
                    if (c != NULL)
                        return end == n ? c
                                        : path_get_depth(c, p + end + 1, n - end - 1, depth + 1);
                }
            }
            if (end == 0)
                return NULL;
        }
    }
    if (json_is_array(v)) {
        size_t seg = 0;
        while (seg < n && p[seg] != '.')
            seg++;
        size_t idx = 0;
        if (seg == 0 || seg > 9)
            return NULL;
        for (size_t i = 0; i < seg; i++) {
            if (!isdigit((unsigned char)p[i]))
                return NULL;
            idx = idx * 10 + (size_t)(p[i] - '0');
        }
        json_t *c = json_array_get(v, idx);
        return seg == n ? c : path_get_depth(c, p + seg + 1, n - seg - 1, depth + 1);
    }
    return NULL;
}

json_t *http_path_get(json_t *v, const char *path)
{
    if (path == NULL || strcmp(path, ".") == 0)
        return v;
    return path_get_depth(v, path, strlen(path), 0);
}

/* --- building requests ----------------------------------------------------------- */

static bool unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~';
}

static rp_status pct_encode(struct buf *b, const char *s, size_t n, const char *keep)
{
    static const char hex[] = "0123456789ABCDEF";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        rp_status st;
        if (unreserved(c) || (keep != NULL && c != '\0' && strchr(keep, c) != NULL))
            st = buf_append(b, &s[i], 1);
        else
            st = buf_printf(b, "%%%c%c", hex[c >> 4], hex[c & 15]);
        if (st != RP_OK)
            return st;
    }
    return RP_OK;
}

/* The text of a scalar query/form value; NULL for null (skipped). */
static char *value_text(json_t *v)
{
    if (v == NULL || json_is_null(v))
        return NULL;
    if (json_is_string(v))
        return strdup(json_string_value(v));
    if (json_is_true(v))
        return strdup("true");
    if (json_is_false(v))
        return strdup("false");
    return json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
}

/* Appends k=v&... of an object (arrays repeat the key). */
static rp_status encode_pairs(struct buf *b, json_t *obj, bool first)
{
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v)
    {
        size_t n = json_is_array(v) ? json_array_size(v) : 1;
        for (size_t i = 0; i < n; i++) {
            char *t = value_text(json_is_array(v) ? json_array_get(v, i) : v);
            if (t == NULL)
                continue;
            rp_status st = first ? RP_OK : buf_puts(b, "&");
            first = false;
            if (st == RP_OK)
                st = pct_encode(b, k, strlen(k), NULL);
            if (st == RP_OK)
                st = buf_puts(b, "=");
            if (st == RP_OK)
                st = pct_encode(b, t, strlen(t), NULL);
            free(t);
            if (st != RP_OK)
                return st;
        }
    }
    return RP_OK;
}

static rp_status check_path(const char *p)
{
    for (const char *s = p; (s = strstr(s, "/.")) != NULL; s++)
        if (s[2] == '/' || s[2] == '\0' || (s[2] == '.' && (s[3] == '/' || s[3] == '\0')))
            return RP_E_INVALID;
    return RP_OK;
}

/* base + path (path characters outside the URL path set percent-encoded, so a
 * value cannot add a query or a fragment) + ?query. */
static rp_status build_url(const char *base, const char *path, const char *abs, json_t *query,
                           const char *key_name, const char *key_value, char **out)
{
    struct buf b;
    buf_init(&b, RP_HTTPC_URL_MAX);
    rp_status st = RP_OK;
    if (abs != NULL && abs[0] != '\0') {
        st = buf_puts(&b, abs);
    } else {
        size_t bl = strlen(base != NULL ? base : "");
        if (path != NULL && path[0] == '/' && bl > 0 && base[bl - 1] == '/')
            bl--;
        st = buf_append(&b, base != NULL ? base : "", bl);
        if (st == RP_OK && path != NULL && path[0] != '\0') {
            if (check_path(path) != RP_OK)
                st = RP_E_INVALID;
            else if (path[0] != '/' && bl > 0 && base[bl - 1] != '/')
                st = buf_puts(&b, "/");
            if (st == RP_OK)
                st = pct_encode(&b, path, strlen(path), "/:@!$&'()*+,;=%");
        }
    }
    bool has_q = b.data != NULL && strchr(b.data, '?') != NULL;
    if (st == RP_OK && json_object_size(query) > 0) {
        st = buf_puts(&b, has_q ? "&" : "?");
        has_q = true;
        if (st == RP_OK)
            st = encode_pairs(&b, query, true);
        if (st == RP_OK && b.data[b.len - 1] == '&')
            b.data[--b.len] = '\0';
        if (st == RP_OK && (b.data[b.len - 1] == '?'))
            b.data[--b.len] = '\0';
    }
    if (st == RP_OK && key_name != NULL) {
        has_q = b.data != NULL && strchr(b.data, '?') != NULL;
        st = buf_puts(&b, has_q ? "&" : "?");
        if (st == RP_OK)
            st = pct_encode(&b, key_name, strlen(key_name), NULL);
        if (st == RP_OK)
            st = buf_puts(&b, "=");
        if (st == RP_OK)
            st = pct_encode(&b, key_value, strlen(key_value), NULL);
    }
    if (st == RP_OK && b.data == NULL)
        st = RP_E_INVALID;
    if (st != RP_OK) {
        buf_fini(&b);
        return st;
    }
    *out = buf_steal(&b);
    return RP_OK;
}

static const char *const METHODS[] = {"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"};

static bool method_ok(const char *m)
{
    for (size_t i = 0; m != NULL && i < sizeof METHODS / sizeof METHODS[0]; i++)
        if (strcmp(m, METHODS[i]) == 0)
            return true;
    return false;
}

static const char *const PAGING_TYPES[] = {"link", "next_url", "offset", "cursor", "page"};

rp_status http_spec_check(json_t *spec, bool needs_path, char *msg, size_t cap)
{
    static const char *const keys[] = {"method", "path", "url",  "query",  "headers",
                                       "json",   "form", "body", "accept", "paging"};
    const char *k;
    json_t *v;
    if (!json_is_object(spec)) {
        rp_fmt(msg, cap, "a request is a mapping (method, path, query, ...)");
        return RP_E_INVALID;
    }
    json_object_foreach(spec, k, v)
    {
        bool known = false;
        for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
            known = known || strcmp(k, keys[i]) == 0;
        if (!known) {
            rp_fmt(msg, cap,
                   "%s: unknown key (known: method, path, url, query, headers, json, form, "
                   "body, accept, paging)",
                   k);
            return RP_E_INVALID;
        }
    }
    const char *m = json_string_value(json_object_get(spec, "method"));
    if (m != NULL && !expr_is_template(m) && !method_ok(m)) {
        rp_fmt(msg, cap, "method: one of GET, POST, PUT, PATCH, DELETE, HEAD");
        return RP_E_INVALID;
    }
    /* a template may render to null (no body): only literal bodies count here;
     * the exchange checks again once they are rendered */
    int bodies = 0;
    static const char *const kinds[] = {"json", "form", "body"};
    for (size_t i = 0; i < 3; i++) {
        json_t *b = json_object_get(spec, kinds[i]);
        bodies += b != NULL && !json_is_null(b) &&
                  !(json_is_string(b) && expr_is_template(json_string_value(b)));
    }
    if (bodies > 1) {
        rp_fmt(msg, cap, "give at most one of json, form, body");
        return RP_E_INVALID;
    }
    if (needs_path && json_object_get(spec, "path") != NULL &&
        json_object_get(spec, "url") != NULL) {
        rp_fmt(msg, cap, "give path (under the instance's url) or url, not both");
        return RP_E_INVALID;
    }
    json_t *pg = json_object_get(spec, "paging");
    if (pg != NULL) {
        const char *t = json_string_value(json_object_get(pg, "type"));
        bool ok = false;
        for (size_t i = 0; t != NULL && i < sizeof PAGING_TYPES / sizeof PAGING_TYPES[0]; i++)
            ok = ok || strcmp(t, PAGING_TYPES[i]) == 0;
        if (!json_is_object(pg) || !ok) {
            rp_fmt(msg, cap, "paging.type: one of link, next_url, offset, cursor, page");
            return RP_E_INVALID;
        }
        if (!json_is_string(json_object_get(pg, "items"))) {
            rp_fmt(msg, cap, "paging.items: the path of the array of each page is required");
            return RP_E_INVALID;
        }
        if ((strcmp(t, "next_url") == 0 || strcmp(t, "cursor") == 0) &&
            !json_is_string(json_object_get(pg, "from"))) {
            rp_fmt(msg, cap, "paging.from: the path of the next %s in the answer is required",
                   strcmp(t, "cursor") == 0 ? "cursor" : "URL");
            return RP_E_INVALID;
        }
        if ((strcmp(t, "offset") == 0 || strcmp(t, "cursor") == 0 || strcmp(t, "page") == 0) &&
            !json_is_string(json_object_get(pg, "param"))) {
            rp_fmt(msg, cap, "paging.param: the name of the %s parameter is required", t);
            return RP_E_INVALID;
        }
        json_t *mp = json_object_get(pg, "max_pages");
        if (mp != NULL && (!json_is_integer(mp) || json_integer_value(mp) < 1 ||
                           json_integer_value(mp) > RP_HTTPC_PAGES_MAX)) {
            rp_fmt(msg, cap, "paging.max_pages: 1 to %d", RP_HTTPC_PAGES_MAX);
            return RP_E_INVALID;
        }
        const char *in = json_string_value(json_object_get(pg, "in"));
        if (in != NULL && strcmp(in, "query") != 0 && strcmp(in, "body") != 0) {
            rp_fmt(msg, cap, "paging.in: query or body");
            return RP_E_INVALID;
        }
    }
    json_t *acc = json_object_get(spec, "accept");
    if (acc != NULL && !json_is_array(acc)) {
        rp_fmt(msg, cap, "accept: a list of HTTP statuses that are not errors (e.g. [404])");
        return RP_E_INVALID;
    }
    return RP_OK;
}

/* --- exchanges ---------------------------------------------------------------------- */

struct token_waiter {
    struct token_waiter *next;
    struct http_exchange *x;
};

struct http_exchange {
    struct http_service *svc;
    uv_loop_t *loop;
    json_t *spec;
    http_exchange_cb cb;
    void *ud;
    uv_timer_t timer; /* retries, and results that must not come from start */
    int attempt;
    bool reauthed;
    bool waiting; /* in svc->auth.waiters */
    struct token_waiter wait;
    struct http_xfer *xfer;
    uint64_t token_gen;
    char method[8];
    /* paging */
    int page;
    int max_pages;
    json_t *query; /* this page's query (a copy of spec's) */
    json_t *json;  /* this page's JSON body (a copy of spec's) */
    char *next_url;
    json_t *first; /* the first page's body: the result */
    json_t *items; /* the items array inside first */
    bool truncated;
    /* the end */
    rp_status end_st;
    char end_msg[RP_ERROR_MAX];
    json_t *end_result;
    bool finished;
};

static void send_attempt(struct http_exchange *x);

static void exchange_closed(uv_handle_t *h)
{
    struct http_exchange *x = h->data;
    json_decref(x->spec);
    json_decref(x->query);
    json_decref(x->json);
    json_decref(x->first);
    json_decref(x->end_result);
    free(x->next_url);
    free(x);
}

static void waiter_remove(struct http_exchange *x)
{
    if (!x->waiting)
        return;
    for (struct token_waiter **p = &x->svc->auth.waiters; *p != NULL; p = &(*p)->next) {
        if (*p == &x->wait) {
            *p = x->wait.next;
            break;
        }
    }
    x->waiting = false;
}

static void exchange_release(struct http_exchange *x)
{
    waiter_remove(x);
    http_xfer_cancel(x->xfer);
    x->xfer = NULL;
    x->finished = true;
    uv_timer_stop(&x->timer);
    uv_close((uv_handle_t *)&x->timer, exchange_closed);
}

static void finish_now(struct http_exchange *x)
{
    http_exchange_cb cb = x->cb;
    void *ud = x->ud;
    json_t *res = x->end_result;
    x->end_result = NULL;
    rp_status st = x->end_st;
    char msg[RP_ERROR_MAX];
    rp_fmt(msg, sizeof msg, "%s", x->end_msg);
    exchange_release(x);
    cb(ud, st, res, st == RP_OK ? NULL : msg);
}

static void finish_fired(uv_timer_t *t)
{
    finish_now(t->data);
}

/* Ends the exchange: the callback runs from the loop (now when we are in a
 * loop callback already, else on a zero timer). */
static void finish(struct http_exchange *x, rp_status st, json_t *result, bool in_callback,
                   const char *fmt, ...) RP_PRINTF(5, 6);

static void finish(struct http_exchange *x, rp_status st, json_t *result, bool in_callback,
                   const char *fmt, ...)
{
    x->end_st = st;
    x->end_result = result;
    x->end_msg[0] = '\0';
    if (fmt != NULL) {
        char raw[RP_ERROR_MAX];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(raw, sizeof raw, fmt, ap);
        va_end(ap);
        char *m = http_mask(x->svc, raw);
        rp_fmt(x->end_msg, sizeof x->end_msg, "%s", m != NULL ? m : "(error)");
        free(m);
    }
    if (x->end_result != NULL)
        http_mask_json(x->svc, x->end_result);
    if (in_callback) {
        finish_now(x);
    } else {
        uv_timer_stop(&x->timer);
        uv_timer_start(&x->timer, finish_fired, 0, 0);
    }
}

/* The URL of this page, for messages and logs (masked by the caller). */
static rp_status page_url(struct http_exchange *x, bool with_key, char **out)
{
    struct http_service *svc = x->svc;
    struct http_auth *a = &svc->auth;
    const char *kn = with_key && a->kind == HTTP_AUTH_API_KEY ? a->key_query : NULL;
    if (x->next_url != NULL)
        return build_url(NULL, NULL, x->next_url, NULL, kn, a->key_value, out);
    return build_url(svc->base_url, json_string_value(json_object_get(x->spec, "path")),
                     json_string_value(json_object_get(x->spec, "url")), x->query, kn, a->key_value,
                     out);
}

static char *short_url(struct http_exchange *x)
{
    char *u = NULL;
    if (page_url(x, false, &u) != RP_OK)
        return strdup("(url)");
    char *m = http_mask(x->svc, u);
    free(u);
    return m;
}

/* Appends "Name: value" to a list. */
static rp_status header_add(struct curl_slist **l, const char *name, const char *value)
{
    struct buf b;
    buf_init(&b, RP_HTTPC_URL_MAX);
    rp_status st = buf_printf(&b, "%s: %s", name, value);
    if (st == RP_OK) {
        /* no header splitting through a value */
        for (size_t i = 0; i < b.len; i++)
            if (b.data[i] == '\r' || b.data[i] == '\n')
                b.data[i] = ' ';
        struct curl_slist *n = curl_slist_append(*l, b.data);
        if (n == NULL)
            st = RP_E_NOMEM;
        else
            *l = n;
    }
    buf_fini(&b);
    return st;
}

static bool has_header(json_t *h, const char *name)
{
    const char *k;
    json_t *v;
    json_object_foreach(h, k, v) if (strcasecmp(k, name) == 0) return true;
    return false;
}

static rp_status add_headers(struct curl_slist **l, json_t *h)
{
    const char *k;
    json_t *v;
    json_object_foreach(h, k, v)
    {
        char *t = value_text(v);
        if (t == NULL)
            continue;
        rp_status st = header_add(l, k, t);
        free(t);
        if (st != RP_OK)
            return st;
    }
    return RP_OK;
}

static void xfer_done(struct http_resp *r, void *ud);
static void token_needed(struct http_exchange *x);

static void retry_fired(uv_timer_t *t)
{
    send_attempt(t->data);
}

static void log_request(struct http_exchange *x, const char *url, struct curl_slist *hdrs)
{
    char line[2048];
    size_t off = 0;
    for (struct curl_slist *h = hdrs; h != NULL && off < sizeof line - 1; h = h->next) {
        const char *colon = strchr(h->data, ':');
        if (colon == NULL)
            continue;
        char name[128];
        rp_fmt(name, sizeof name, "%.*s", (int)(colon - h->data), h->data);
        const char *val = http_header_log_value(name, colon + 2);
        char *mv = http_mask(x->svc, val);
        int n = snprintf(line + off, sizeof line - off, "%s%s: %s", off ? "; " : "", name,
                         mv != NULL ? mv : "***");
        free(mv);
        if (n < 0)
            break;
        off += (size_t)n;
        if (off >= sizeof line)
            off = sizeof line - 1;
    }
    char *mu = http_mask(x->svc, url);
    char q1[1024], q2[2048];
    log_debug("http.request", "instance=%s method=%s url=%s attempt=%d headers=%s",
              x->svc->instance, x->method, log_quote(q1, sizeof q1, mu != NULL ? mu : "***"),
              x->attempt, log_quote(q2, sizeof q2, line));
    free(mu);
}

static rp_status body_of(struct http_exchange *x, struct curl_slist **hdrs, char **body,
                         size_t *len)
{
    json_t *spec = x->spec;
    json_t *headers = json_object_get(spec, "headers");
    *body = NULL;
    *len = 0;
    json_t *form = json_object_get(spec, "form");
    json_t *raw = json_object_get(spec, "body");
    if (x->json != NULL && !json_is_null(x->json)) {
        *body = json_dumps(x->json, JSON_COMPACT | JSON_ENCODE_ANY);
        if (*body == NULL)
            return RP_E_NOMEM;
        *len = strlen(*body);
        if (!has_header(headers, "Content-Type") && !has_header(x->svc->headers, "Content-Type"))
            return header_add(hdrs, "Content-Type", "application/json");
        return *len > RP_HTTPC_REQUEST_BODY_MAX ? RP_E_LIMIT : RP_OK;
    } else if (json_is_object(form)) {
        struct buf b;
        buf_init(&b, RP_HTTPC_REQUEST_BODY_MAX);
        rp_status st = encode_pairs(&b, form, true);
        if (st == RP_OK && b.data == NULL)
            st = buf_puts(&b, "");
        if (st != RP_OK) {
            buf_fini(&b);
            return st;
        }
        *body = buf_steal(&b);
        *len = strlen(*body);
        if (!has_header(headers, "Content-Type"))
            return header_add(hdrs, "Content-Type", "application/x-www-form-urlencoded");
        return RP_OK;
    } else if (raw != NULL && !json_is_null(raw)) {
        *body = value_text(raw);
        if (*body == NULL)
            return RP_E_NOMEM;
    }
    if (*body != NULL)
        *len = strlen(*body);
    if (*len > RP_HTTPC_REQUEST_BODY_MAX)
        return RP_E_LIMIT;
    return RP_OK;
}

static void send_attempt(struct http_exchange *x)
{
    struct http_service *svc = x->svc;
    struct http_auth *a = &svc->auth;
    if ((a->kind == HTTP_AUTH_OAUTH2 || a->kind == HTTP_AUTH_JWT) &&
        !http_token_valid(a, auth_now(a))) {
        token_needed(x);
        return;
    }
    struct curl_slist *hdrs = NULL;
    char *url = NULL, *body = NULL;
    size_t blen = 0;
    rp_status st = page_url(x, true, &url);
    if (st != RP_OK) {
        finish(x, st, NULL, true, "%s: cannot build the URL (%s)", x->method,
               st == RP_E_LIMIT ? "too long" : "a path with . or .. segments");
        return;
    }
    json_t *spec_h = json_object_get(x->spec, "headers");
    if (!has_header(spec_h, "Accept") && !has_header(svc->headers, "Accept"))
        st = header_add(&hdrs, "Accept", "application/json");
    if (st == RP_OK)
        st = add_headers(&hdrs, svc->headers);
    if (st == RP_OK)
        st = add_headers(&hdrs, spec_h);
    if (st == RP_OK) {
        switch (a->kind) {
        case HTTP_AUTH_BASIC: {
            struct buf up;
            buf_init(&up, 4096);
            st = buf_printf(&up, "%s:%s", a->user != NULL ? a->user : "",
                            a->pass != NULL ? a->pass : "");
            if (st == RP_OK) {
                size_t cap = sodium_base64_encoded_len(up.len, sodium_base64_VARIANT_ORIGINAL);
                char *enc = malloc(cap + 8);
                if (enc == NULL) {
                    st = RP_E_NOMEM;
                } else {
                    memcpy(enc, "Basic ", 6);
                    sodium_bin2base64(enc + 6, cap, (const unsigned char *)up.data, up.len,
                                      sodium_base64_VARIANT_ORIGINAL);
                    st = header_add(&hdrs, "Authorization", enc);
                    sodium_memzero(enc, strlen(enc));
                    free(enc);
                }
                sodium_memzero(up.data, up.len);
            }
            buf_fini(&up);
            break;
        }
        case HTTP_AUTH_BEARER:
        case HTTP_AUTH_OAUTH2:
        case HTTP_AUTH_JWT: {
            const char *scheme = a->kind == HTTP_AUTH_BEARER ? a->scheme : "Bearer";
            const char *tok = a->kind == HTTP_AUTH_BEARER ? a->token : a->access_token;
            struct buf v;
            buf_init(&v, RP_HTTPC_TOKEN_MAX_BYTES + 64);
            st = scheme != NULL && scheme[0] != '\0'
                     ? buf_printf(&v, "%s %s", scheme, tok != NULL ? tok : "")
                     : buf_puts(&v, tok != NULL ? tok : "");
            if (st == RP_OK)
                st = header_add(&hdrs, "Authorization", v.data);
            if (v.data != NULL)
                sodium_memzero(v.data, v.len);
            buf_fini(&v);
            x->token_gen = a->generation;
            break;
        }
        case HTTP_AUTH_API_KEY:
            if (a->key_header != NULL)
                st = header_add(&hdrs, a->key_header, a->key_value != NULL ? a->key_value : "");
            break;
        default:
            break;
        }
    }
    if (st == RP_OK)
        st = body_of(x, &hdrs, &body, &blen);
    if (st != RP_OK) {
        curl_slist_free_all(hdrs);
        free(url);
        free(body);
        finish(x, st, NULL, true, "%s: cannot build the request (%s)", x->method,
               rp_status_str(st));
        return;
    }
    if (svc->auth.kind == HTTP_AUTH_API_KEY && a->key_query != NULL) {
        char *plain = NULL;
        if (page_url(x, false, &plain) == RP_OK)
            log_request(x, plain, hdrs);
        free(plain);
    } else {
        log_request(x, url, hdrs);
    }
    struct http_req req = {.method = x->method,
                           .url = url,
                           .headers = hdrs,
                           .body = body,
                           .body_len = blen,
                           .connect_timeout_ms = svc->connect_timeout_ms,
                           .timeout_ms = svc->timeout_ms,
                           .max_bytes = svc->max_bytes,
                           .insecure = svc->insecure};
    struct rp_error err;
    st = http_xfer_start(x->loop, &req, xfer_done, x, &x->xfer, &err);
    /* the header list held the credentials: wipe before freeing */
    for (struct curl_slist *h = hdrs; h != NULL; h = h->next)
        sodium_memzero(h->data, strlen(h->data));
    curl_slist_free_all(hdrs);
    sodium_memzero(url, strlen(url));
    free(url);
    if (body != NULL)
        sodium_memzero(body, blen);
    free(body);
    if (st != RP_OK)
        finish(x, st, NULL, true, "%s", err.msg);
}

/* The answer's body as JSON: JSON when it parses (an error when it says it is
 * JSON and does not), else the text; null when empty. */
static rp_status parse_body(struct http_resp *r, json_t **out, char *msg, size_t cap)
{
    *out = NULL;
    if (r->body.len == 0) {
        *out = json_null();
        return RP_OK;
    }
    bool says_json = r->content_type != NULL && strstr(r->content_type, "json") != NULL;
    const char *p = r->body.data;
    size_t n = r->body.len;
    while (n > 0 && isspace((unsigned char)*p)) {
        p++;
        n--;
    }
    if (says_json || (n > 0 && (*p == '{' || *p == '['))) {
        json_error_t je;
        json_t *j =
            json_loadb(r->body.data, r->body.len, JSON_DECODE_ANY | JSON_REJECT_DUPLICATES, &je);
        if (j != NULL) {
            *out = j;
            return RP_OK;
        }
        if (says_json) {
            rp_fmt(msg, cap, "malformed JSON in the answer (line %d column %d: %s)", je.line,
                   je.column, je.text);
            return RP_E_INVALID;
        }
    }
    *out = json_stringn(r->body.data, r->body.len);
    if (*out == NULL) {
        rp_fmt(msg, cap, "the answer is neither JSON nor UTF-8 text");
        return RP_E_INVALID;
    }
    return RP_OK;
}

/* The URL of rel="next" in a Link header; NULL when none. */
static char *link_next(const char *link)
{
    const char *p = link;
    while (p != NULL && *p != '\0') {
        const char *lt = strchr(p, '<');
        if (lt == NULL)
            return NULL;
        const char *gt = strchr(lt, '>');
        if (gt == NULL)
            return NULL;
        const char *end = strchr(gt, ',');
        size_t plen = end != NULL ? (size_t)(end - gt) : strlen(gt);
        char params[256];
        rp_fmt(params, sizeof params, "%.*s", (int)plen, gt);
        if (strstr(params, "rel=\"next\"") != NULL || strstr(params, "rel=next") != NULL)
            return strndup(lt + 1, (size_t)(gt - lt - 1));
        p = end != NULL ? end + 1 : NULL;
    }
    return NULL;
}

static json_t *resp_headers(struct http_resp *r)
{
    json_t *h = json_object();
    if (h == NULL)
        return NULL;
    if (r->content_type != NULL)
        json_object_set_new(h, "content-type", json_string(r->content_type));
    if (r->location != NULL)
        json_object_set_new(h, "location", json_string(r->location));
    if (r->link != NULL)
        json_object_set_new(h, "link", json_string(r->link));
    if (r->retry_after != NULL)
        json_object_set_new(h, "retry-after", json_string(r->retry_after));
    return h;
}

/* Sets the paging parameter for the next page. */
static rp_status set_param(struct http_exchange *x, json_t *pg, json_t *value)
{
    const char *param = json_string_value(json_object_get(pg, "param"));
    const char *in = json_string_value(json_object_get(pg, "in"));
    json_t *target;
    if (in != NULL && strcmp(in, "body") == 0) {
        if (!json_is_object(x->json)) {
            json_decref(value);
            return RP_E_INVALID;
        }
        target = x->json;
    } else {
        if (x->query == NULL)
            x->query = json_object();
        target = x->query;
    }
    return json_object_set_new(target, param, value) == 0 ? RP_OK : RP_E_NOMEM;
}

/* After a page: true (and the next page prepared) when there is another. */
static bool next_page(struct http_exchange *x, json_t *body, struct http_resp *r, size_t count)
{
    json_t *pg = json_object_get(x->spec, "paging");
    const char *type = json_string_value(json_object_get(pg, "type"));
    if (pg == NULL || x->page >= x->max_pages || count == 0 ||
        json_array_size(x->items) >= RP_HTTPC_ITEMS_MAX)
        return false;
    free(x->next_url);
    x->next_url = NULL;
    if (strcmp(type, "link") == 0) {
        x->next_url = r->link != NULL ? link_next(r->link) : NULL;
        return x->next_url != NULL;
    }
    if (strcmp(type, "next_url") == 0) {
        const char *u =
            json_string_value(http_path_get(body, json_string_value(json_object_get(pg, "from"))));
        if (u == NULL || u[0] == '\0')
            return false;
        x->next_url = strdup(u);
        return x->next_url != NULL;
    }
    if (strcmp(type, "cursor") == 0) {
        json_t *c = http_path_get(body, json_string_value(json_object_get(pg, "from")));
        if (c == NULL || json_is_null(c) || (json_is_string(c) && json_string_length(c) == 0))
            return false;
        return set_param(x, pg, json_deep_copy(c)) == RP_OK;
    }
    json_t *size = json_object_get(pg, "size");
    if (json_is_integer(size) && (json_int_t)count < json_integer_value(size))
        return false;
    if (strcmp(type, "offset") == 0) {
        json_t *total = http_path_get(body, json_string_value(json_object_get(pg, "total")));
        json_int_t start = json_integer_value(json_object_get(pg, "start"));
        json_int_t next = start + (json_int_t)json_array_size(x->items);
        if (json_is_integer(total) && next >= json_integer_value(total))
            return false;
        return set_param(x, pg, json_integer(next)) == RP_OK;
    }
    /* page */
    json_t *st = json_object_get(pg, "start");
    json_int_t first = json_is_integer(st) ? json_integer_value(st) : 1;
    json_t *tp = http_path_get(body, json_string_value(json_object_get(pg, "total_pages")));
    json_int_t next = first + x->page;
    if (json_is_integer(tp) && next > json_integer_value(tp) + first - 1)
        return false;
    return set_param(x, pg, json_integer(next)) == RP_OK;
}

static void xfer_done(struct http_resp *r, void *ud)
{
    struct http_exchange *x = ud;
    struct http_service *svc = x->svc;
    struct http_auth *a = &svc->auth;
    x->xfer = NULL;
    char *u = short_url(x);
    const char *url = u != NULL ? u : "(url)";
    char q[1024];
    log_debug("http.response", "instance=%s method=%s url=%s status=%ld bytes=%zu error=%s",
              svc->instance, x->method, log_quote(q, sizeof q, url), r->status, r->body.len,
              r->st == RP_OK ? "none" : "yes");
    if (r->st == RP_OK && r->status == 401 && !x->reauthed &&
        (a->kind == HTTP_AUTH_OAUTH2 || a->kind == HTTP_AUTH_JWT)) {
        /* the token was refused: drop it (unless a newer one came meanwhile) */
        x->reauthed = true;
        if (a->generation == x->token_gen) {
            connector_secret_free(a->access_token);
            a->access_token = NULL;
        }
        log_info("http.reauth", "instance=%s url=%s", svc->instance, log_quote(q, sizeof q, url));
        free(u);
        send_attempt(x);
        return;
    }
    bool too_long = false;
    int64_t delay =
        r->st == RP_E_LIMIT || r->timed_out
            ? -1
            : http_retry_delay(r->st == RP_OK ? r->status : 0, r->st != RP_OK && r->refused,
                               r->retry_after, x->attempt, svc->attempts, svc->backoff_base_ms,
                               time_now_ms() / 1000, &too_long);
    if (delay >= 0 && (r->st != RP_OK || r->status == 429 || r->status >= 500)) {
        log_info("http.retry", "instance=%s method=%s url=%s status=%ld attempt=%d wait_ms=%lld",
                 svc->instance, x->method, log_quote(q, sizeof q, url), r->status, x->attempt,
                 (long long)delay);
        x->attempt++;
        free(u);
        uv_timer_start(&x->timer, retry_fired, (uint64_t)delay, 0);
        return;
    }
    if (r->st != RP_OK) {
        finish(x, r->st, NULL, true, "%s %s: %s%s (attempt %d of %d)", x->method, url,
               r->refused ? "connection failed: " : "", r->error, x->attempt, svc->attempts);
        free(u);
        return;
    }
    bool accepted = r->status >= 200 && r->status < 300;
    json_t *acc = json_object_get(x->spec, "accept");
    size_t i;
    json_t *e;
    json_array_foreach(acc, i, e) accepted = accepted || json_integer_value(e) == r->status;
    if (!accepted) {
        char excerpt[200];
        size_t n = r->body.len < 160 ? r->body.len : 160;
        rp_fmt(excerpt, sizeof excerpt, "%.*s", (int)n, r->body.data != NULL ? r->body.data : "");
        for (char *p = excerpt; *p; p++)
            if ((unsigned char)*p < 0x20)
                *p = ' ';
        if (too_long)
            finish(x, RP_E_BUSY, NULL, true,
                   "%s %s: HTTP %ld, and the server asks to retry after %s s (more than %d s)",
                   x->method, url, r->status, r->retry_after, RP_HTTPC_RETRY_AFTER_MAX_MS / 1000);
        else
            finish(x,
                   r->status == 401 || r->status == 403 ? RP_E_DENIED
                   : r->status == 404                   ? RP_E_NOTFOUND
                   : r->status == 429                   ? RP_E_BUSY
                                                        : RP_E_IO,
                   NULL, true, "%s %s: HTTP %ld%s%s%s", x->method, url, r->status,
                   r->status == 429 || r->status >= 500 ? " after retries" : "", n > 0 ? ": " : "",
                   excerpt);
        free(u);
        return;
    }
    json_t *body = NULL;
    char msg[256];
    rp_status st = parse_body(r, &body, msg, sizeof msg);
    if (st != RP_OK) {
        finish(x, st, NULL, true, "%s %s: HTTP %ld, %s", x->method, url, r->status, msg);
        free(u);
        return;
    }
    free(u);
    json_t *pg = json_object_get(x->spec, "paging");
    size_t count = 0;
    if (pg != NULL) {
        json_t *items = http_path_get(body, json_string_value(json_object_get(pg, "items")));
        if (items != NULL && !json_is_array(items)) {
            json_decref(body);
            finish(x, RP_E_INVALID, NULL, true, "paging.items %s: not a list in the answer",
                   json_string_value(json_object_get(pg, "items")));
            return;
        }
        count = json_array_size(items);
        if (x->first == NULL) {
            x->first = json_incref(body);
            x->items = items;
        } else if (items != NULL && x->items != NULL) {
            size_t k;
            json_t *it;
            json_array_foreach(items, k, it)
            {
                if (json_array_size(x->items) >= RP_HTTPC_ITEMS_MAX) {
                    x->truncated = true;
                    break;
                }
                json_array_append(x->items, it);
            }
        }
    } else {
        x->first = json_incref(body);
    }
    x->page++;
    if (pg != NULL && x->items != NULL && next_page(x, body, r, count)) {
        json_decref(body);
        x->attempt = 1;
        send_attempt(x);
        return;
    }
    json_t *h = resp_headers(r);
    json_t *res = json_pack("{s:i,s:O,s:o,s:i}", "status", (int)r->status, "body", x->first,
                            "headers", h != NULL ? h : json_object(), "pages", x->page);
    if (res != NULL && x->truncated)
        json_object_set_new(res, "truncated", json_true());
    json_decref(body);
    if (res == NULL)
        finish(x, RP_E_NOMEM, NULL, true, "out of memory");
    else
        finish(x, RP_OK, res, true, NULL);
}

/* --- tokens --------------------------------------------------------------------- */

static void token_done(struct http_resp *r, void *ud);

/* Starts the token request (OAuth2 client credentials, or a JWT exchange). */
static rp_status token_fetch(struct http_service *svc, uv_loop_t *loop, char *msg, size_t cap)
{
    struct http_auth *a = &svc->auth;
    struct curl_slist *hdrs = NULL;
    struct buf body;
    buf_init(&body, RP_HTTPC_REQUEST_BODY_MAX);
    rp_status st = header_add(&hdrs, "Accept", "application/json");
    if (a->kind == HTTP_AUTH_OAUTH2) {
        json_t *form = json_deep_copy(a->form != NULL ? a->form : json_object());
        if (form == NULL)
            st = RP_E_NOMEM;
        if (st == RP_OK && !a->client_basic) {
            json_object_set_new(form, "client_id", json_string(a->client_id ? a->client_id : ""));
            json_object_set_new(form, "client_secret",
                                json_string(a->client_secret ? a->client_secret : ""));
        }
        if (st == RP_OK)
            st = encode_pairs(&body, form, true);
        if (st == RP_OK && body.data == NULL)
            st = buf_puts(&body, "");
        if (st == RP_OK)
            st = header_add(&hdrs, "Content-Type", "application/x-www-form-urlencoded");
        if (st == RP_OK && a->client_basic) {
            struct buf up;
            buf_init(&up, 4096);
            st = buf_printf(&up, "%s:%s", a->client_id ? a->client_id : "",
                            a->client_secret ? a->client_secret : "");
            size_t ecap = sodium_base64_encoded_len(up.len, sodium_base64_VARIANT_ORIGINAL);
            char *enc = st == RP_OK ? malloc(ecap + 8) : NULL;
            if (enc != NULL) {
                memcpy(enc, "Basic ", 6);
                sodium_bin2base64(enc + 6, ecap, (const unsigned char *)up.data, up.len,
                                  sodium_base64_VARIANT_ORIGINAL);
                st = header_add(&hdrs, "Authorization", enc);
                sodium_memzero(enc, strlen(enc));
                free(enc);
            } else {
                st = RP_E_NOMEM;
            }
            if (up.data != NULL)
                sodium_memzero(up.data, up.len);
            buf_fini(&up);
        }
        char *cs =
            form != NULL ? (char *)json_string_value(json_object_get(form, "client_secret")) : NULL;
        if (cs != NULL)
            sodium_memzero(cs, strlen(cs));
        json_decref(form);
    } else {
        json_t *claims = json_deep_copy(a->claims != NULL ? a->claims : json_object());
        int64_t now = time_now_ms() / 1000;
        unsigned char rnd[16];
        randombytes_buf(rnd, sizeof rnd);
        char jti[40];
        rp_fmt(
            jti, sizeof jti, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
            rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], (rnd[6] & 0x0f) | 0x40, rnd[7],
            (rnd[8] & 0x3f) | 0x80, rnd[9], rnd[10], rnd[11], rnd[12], rnd[13], rnd[14], rnd[15]);
        char *jwt = NULL;
        if (claims == NULL || json_object_set_new(claims, "iat", json_integer(now)) != 0 ||
            json_object_set_new(claims, "exp", json_integer(now + a->jwt_lifetime_ms / 1000)) !=
                0 ||
            json_object_set_new(claims, "jti", json_string(jti)) != 0 ||
            http_jwt_hs256(claims, a->client_secret ? a->client_secret : "", &jwt) != RP_OK) {
            st = RP_E_NOMEM;
        } else {
            json_t *b = json_pack("{s:s}", a->body_field ? a->body_field : "auth_token", jwt);
            char *t = b != NULL ? json_dumps(b, JSON_COMPACT) : NULL;
            st = t != NULL ? buf_puts(&body, t) : RP_E_NOMEM;
            if (t != NULL)
                sodium_memzero(t, strlen(t));
            free(t);
            json_decref(b);
            if (st == RP_OK)
                st = header_add(&hdrs, "Content-Type", "application/json");
        }
        if (jwt != NULL)
            sodium_memzero(jwt, strlen(jwt));
        free(jwt);
        json_decref(claims);
    }
    if (st == RP_OK) {
        char q[1024];
        char *mu = http_mask(svc, a->token_url);
        log_debug("http.token", "instance=%s url=%s", svc->instance,
                  log_quote(q, sizeof q, mu != NULL ? mu : "***"));
        free(mu);
        struct http_req req = {.method = "POST",
                               .url = a->token_url,
                               .headers = hdrs,
                               .body = body.data,
                               .body_len = body.len,
                               .connect_timeout_ms = svc->connect_timeout_ms,
                               .timeout_ms = svc->timeout_ms,
                               .max_bytes = 64 * 1024,
                               .insecure = svc->insecure};
        struct rp_error err;
        st = http_xfer_start(loop, &req, token_done, svc, &a->fetch, &err);
        if (st != RP_OK)
            rp_fmt(msg, cap, "%s", err.msg);
    } else {
        rp_fmt(msg, cap, "cannot build the token request (%s)", rp_status_str(st));
    }
    for (struct curl_slist *h = hdrs; h != NULL; h = h->next)
        sodium_memzero(h->data, strlen(h->data));
    curl_slist_free_all(hdrs);
    if (body.data != NULL)
        sodium_memzero(body.data, body.len);
    buf_fini(&body);
    return st;
}

static void token_needed(struct http_exchange *x)
{
    struct http_service *svc = x->svc;
    struct http_auth *a = &svc->auth;
    x->wait.x = x;
    x->wait.next = a->waiters;
    a->waiters = &x->wait;
    x->waiting = true;
    if (a->fetch != NULL)
        return;
    char msg[RP_ERROR_MAX];
    if (token_fetch(svc, x->loop, msg, sizeof msg) != RP_OK) {
        waiter_remove(x);
        finish(x, RP_E_IO, NULL, false, "token request: %s", msg);
    }
}

static void token_done(struct http_resp *r, void *ud)
{
    struct http_service *svc = ud;
    struct http_auth *a = &svc->auth;
    a->fetch = NULL;
    char msg[RP_ERROR_MAX] = "";
    rp_status st = RP_OK;
    if (r->st != RP_OK) {
        st = r->st;
        rp_fmt(msg, sizeof msg, "%s", r->error);
    } else if (r->status < 200 || r->status > 299) {
        st = r->status == 401 || r->status == 403 ? RP_E_DENIED : RP_E_IO;
        rp_fmt(msg, sizeof msg, "HTTP %ld", r->status);
    } else {
        json_t *j = json_loadb(r->body.data != NULL ? r->body.data : "", r->body.len, 0, NULL);
        const char *tok = json_string_value(
            json_object_get(j, a->token_field != NULL ? a->token_field : "access_token"));
        if (tok == NULL || strlen(tok) > RP_HTTPC_TOKEN_MAX_BYTES) {
            st = RP_E_INVALID;
            rp_fmt(msg, sizeof msg, "the answer has no %s",
                   a->token_field != NULL ? a->token_field : "access_token");
        } else {
            json_t *ei = json_object_get(j, "expires_in");
            int64_t secs = json_is_integer(ei)        ? json_integer_value(ei)
                           : json_is_string(ei)       ? strtoll(json_string_value(ei), NULL, 10)
                           : a->kind == HTTP_AUTH_JWT ? a->jwt_lifetime_ms / 1000
                                                      : 0;
            connector_secret_free(a->access_token);
            a->access_token = strdup(tok);
            a->expires_ms = http_token_refresh_at(auth_now(a), secs);
            a->generation++;
            log_info("http.token", "instance=%s fetched=yes expires_in_s=%lld", svc->instance,
                     (long long)secs);
        }
        if (r->body.data != NULL)
            sodium_memzero(r->body.data, r->body.len);
        json_decref(j);
    }
    if (st != RP_OK) {
        char *mu = http_mask(svc, a->token_url);
        char m2[RP_ERROR_MAX];
        rp_fmt(m2, sizeof m2, "token request to %s failed: %s", mu != NULL ? mu : "***", msg);
        free(mu);
        rp_fmt(msg, sizeof msg, "%s", m2);
        log_warn("http.token", "instance=%s fetched=no reason=\"%s\"", svc->instance, msg);
    }
    /* wake everyone who waited; each is re-run or failed */
    struct token_waiter *w = a->waiters;
    a->waiters = NULL;
    while (w != NULL) {
        struct token_waiter *next = w->next;
        struct http_exchange *x = w->x;
        x->waiting = false;
        if (st == RP_OK)
            send_attempt(x);
        else
            finish(x, st, NULL, true, "%s", msg);
        w = next;
    }
}

rp_status http_exchange_start(struct http_service *svc, uv_loop_t *loop, json_t *spec,
                              http_exchange_cb cb, void *ud, struct http_exchange **out,
                              struct rp_error *err)
{
    *out = NULL;
    char msg[256];
    if (http_spec_check(spec, true, msg, sizeof msg) != RP_OK)
        return rp_error_set(err, RP_E_INVALID, "request: %s", msg);
    const char *m = json_string_value(json_object_get(spec, "method"));
    if (m == NULL)
        m = "GET";
    if (!method_ok(m))
        return rp_error_set(err, RP_E_INVALID,
                            "request: method %.16s is not one of GET, POST, "
                            "PUT, PATCH, DELETE, HEAD",
                            m);
    json_t *q = json_object_get(spec, "query");
    if (q != NULL && !json_is_object(q) && !json_is_null(q))
        return rp_error_set(err, RP_E_INVALID, "request: query is not a mapping");
    json_t *h = json_object_get(spec, "headers");
    if (h != NULL && !json_is_object(h) && !json_is_null(h))
        return rp_error_set(err, RP_E_INVALID, "request: headers is not a mapping");
    json_t *f = json_object_get(spec, "form");
    if (f != NULL && !json_is_object(f) && !json_is_null(f))
        return rp_error_set(err, RP_E_INVALID, "request: form is not a mapping");
    if (json_object_get(spec, "path") == NULL && json_object_get(spec, "url") == NULL &&
        svc->base_url == NULL)
        return rp_error_set(err, RP_E_INVALID, "request: no url");
    struct http_exchange *x = calloc(1, sizeof *x);
    if (x == NULL)
        return rp_error_set(err, RP_E_NOMEM, "out of memory");
    x->svc = svc;
    x->loop = loop;
    x->spec = json_incref(spec);
    x->cb = cb;
    x->ud = ud;
    x->attempt = 1;
    rp_fmt(x->method, sizeof x->method, "%s", m);
    x->query = json_is_object(q) ? json_deep_copy(q) : json_object();
    json_t *jb = json_object_get(spec, "json");
    x->json = jb != NULL && !json_is_null(jb) ? json_deep_copy(jb) : NULL;
    json_t *pg = json_object_get(spec, "paging");
    x->max_pages = json_is_integer(json_object_get(pg, "max_pages"))
                       ? (int)json_integer_value(json_object_get(pg, "max_pages"))
                       : RP_HTTPC_PAGES_DEFAULT;
    uv_timer_init(loop, &x->timer);
    x->timer.data = x;
    *out = x;
    /* the first attempt from the loop: a result never arrives inside start */
    uv_timer_start(&x->timer, retry_fired, 0, 0);
    return RP_OK;
}

void http_exchange_cancel(struct http_exchange *x)
{
    if (x == NULL || x->finished)
        return;
    exchange_release(x);
}

/* --- the `type: http` module --------------------------------------------------------- */

/* The generic instance is a pack written here: its settings are url and the
 * credentials of its auth block, lifted to settings named auth_KEY so that
 * they go through the same secret handling as a pack's. */
static const char *const HTTP_CRED_KEYS[] = {"username", "password",  "token",
                                             "value",    "client_id", "client_secret"};
static const char *const HTTP_CRED_SECRET[] = {"password", "token", "value", "client_secret"};

static rp_status http_create(const char *instance, json_t *conf, const struct connector_env *env,
                             void **out, struct rp_error *err)
{
    *out = NULL;
    json_t *pack = json_pack(
        "{s:s,s:s,s:{s:{s:b,s:s}},s:{s:{s:s,s:s,s:b,s:{s:{s:s},s:{s:s},s:{s:s},s:{s:s},s:{s:s},"
        "s:{s:s}},s:{s:s,s:s,s:s,s:s,s:s,s:s}}}}",
        "name", "http", "help", "generic REST calls", "settings", "url", "required", 1, "help",
        "base URL", "actions", "request", "effect", "modify", "help",
        "a custom REST call under the instance's url: method, path, query, headers, body (JSON) "
        "or form",
        "honours_keys", 0, "inputs", "method", "help", "GET (default), POST, PUT, PATCH, DELETE",
        "path", "help", "the path under the url", "query", "help", "query parameters", "headers",
        "help", "extra headers", "body", "help", "a JSON body", "form", "help", "a form body",
        "request", "method", "{{ inputs.method or 'GET' }}", "path", "{{ inputs.path or '' }}",
        "query", "{{ inputs.query }}", "headers", "{{ inputs.headers }}", "json",
        "{{ inputs.body }}", "form", "{{ inputs.form }}");
    json_t *c2 = json_deep_copy(conf);
    rp_status st = RP_OK;
    if (pack == NULL || c2 == NULL) {
        st = rp_error_set(err, RP_E_NOMEM, "out of memory");
        goto done;
    }
    const char *eff = json_string_value(json_object_get(conf, "effect"));
    if (eff != NULL) {
        enum action_effect e;
        if (action_effect_parse(eff, &e) != RP_OK) {
            st = rp_error_set(err, RP_E_INVALID,
                              "connectors.%s.effect: one of read, notify, contain, modify, destroy",
                              instance);
            goto done;
        }
        json_object_set_new(json_object_get(json_object_get(pack, "actions"), "request"), "effect",
                            json_string(eff));
        json_object_del(c2, "effect");
    }
    json_t *hd = json_object_get(conf, "headers");
    if (hd != NULL) {
        json_object_set(pack, "headers", hd);
        json_object_del(c2, "headers");
    }
    json_t *auth = json_object_get(conf, "auth");
    if (auth != NULL) {
        if (!json_is_object(auth)) {
            st = rp_error_set(err, RP_E_INVALID, "connectors.%s.auth: a mapping", instance);
            goto done;
        }
        json_t *pa = json_deep_copy(auth);
        json_t *settings = json_object_get(pack, "settings");
        for (size_t i = 0; i < sizeof HTTP_CRED_KEYS / sizeof HTTP_CRED_KEYS[0]; i++) {
            json_t *v = json_object_get(auth, HTTP_CRED_KEYS[i]);
            if (v == NULL)
                continue;
            char sname[64], ref[80];
            rp_fmt(sname, sizeof sname, "auth_%s", HTTP_CRED_KEYS[i]);
            rp_fmt(ref, sizeof ref, "${%s}", sname);
            bool secret = false;
            for (size_t k = 0; k < sizeof HTTP_CRED_SECRET / sizeof HTTP_CRED_SECRET[0]; k++)
                secret = secret || strcmp(HTTP_CRED_KEYS[i], HTTP_CRED_SECRET[k]) == 0;
            json_object_set_new(settings, sname,
                                json_pack("{s:b,s:b}", "required", 1, "secret", secret));
            json_object_set(c2, sname, v);
            json_object_set_new(pa, HTTP_CRED_KEYS[i], json_string(ref));
        }
        json_object_set_new(pack, "auth", pa);
        json_object_del(c2, "auth");
    }
    json_object_del(c2, "type");
    struct pack_inst *p = NULL;
    st = pack_instance_new(instance, "type: http", pack, c2, env, &p, err);
    if (st == RP_OK)
        *out = p;
done:
    json_decref(pack);
    json_decref(c2);
    return st;
}

static rp_status http_sources(void *inst, struct uv_loop_s *loop, const struct source_sink *sink,
                              struct rp_error *err)
{
    return pack_instance_sources(inst, loop, sink, err);
}

static void http_stop(void *inst)
{
    pack_instance_stop(inst);
}

static void http_destroy(void *inst)
{
    pack_instance_free(inst);
}

const struct connector_type connector_http = {.name = "http",
                                              .create = http_create,
                                              .start_sources = http_sources,
                                              .stop = http_stop,
                                              .destroy = http_destroy};

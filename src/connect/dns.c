/*
 * dns.c: the `dns` connector module (connector.h): resolve names and
 * addresses through the system resolver.
 *
 *   connectors:
 *     dns:
 *       type: dns
 *       timeout: 5s        # per lookup; default RP_DNS_TIMEOUT_MS_DEFAULT
 *
 * Actions (effect read):
 *   INSTANCE.resolve  {name} -> {name, found, addresses, a, aaaa, truncated}
 *   INSTANCE.reverse  {ip}   -> {ip, found, names}
 *
 * A name that does not exist (NXDOMAIN) or has no address is an answer, not a
 * failure: found is false and the lists are empty, so a playbook can branch on
 * it. A resolver that does not answer in time, or answers SERVFAIL, fails the
 * step with the reason. Names are checked before anything is asked (at most
 * 253 characters, labels of 1-63 letters, digits, hyphens and underscores, not
 * starting or ending with a hyphen; non-ASCII names must be given in their
 * xn-- form); addresses must be IPv4 or IPv6 text.
 *
 * Thread: everything runs on the engine's loop thread (call->loop). The
 * lookups themselves run in libuv's thread pool (uv_getaddrinfo,
 * uv_getnameinfo), so a slow resolver never blocks the loop. A timer bounds
 * each lookup; when it fires (or the engine cancels the call), the request is
 * cancelled with uv_cancel if it has not started, and otherwise its late
 * answer is dropped when it comes. A request's state is freed once both the
 * lookup's callback has run and its timer has closed.
 */
#include "connect/connect_internal.h"

#include "core/limits.h"
#include "core/time.h"
#include "engine/action.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* RFC 1035 §2.3.4: 255 octets on the wire, that is 253 characters of text
 * without the final dot; 63 octets per label. */
#define DNS_NAME_TEXT_MAX 253
#define DNS_LABEL_MAX     63

/* An address's text, with room to notice a longer input. */
#define DNS_IP_TEXT_MAX 64

struct dns {
    char *resolve_name; /* "INSTANCE.resolve" */
    char *reverse_name; /* "INSTANCE.reverse" */
    struct action_def resolve;
    struct action_def reverse;
    uint64_t timeout_ms;
};

/* One lookup in flight. */
struct dns_req {
    struct action_call *call; /* NULL once the call got its answer or was cancelled */
    union {
        uv_req_t req;
        uv_getaddrinfo_t gai;
        uv_getnameinfo_t gni;
    } u;
    uv_timer_t timer;
    bool req_pending; /* the lookup's callback has not run yet */
    bool timer_open;  /* the timer has not finished closing */
    uint64_t timeout_ms;
    char subject[DNS_NAME_TEXT_MAX + 2]; /* the name or address asked about */
};

static void req_maybe_free(struct dns_req *r)
{
    if (!r->req_pending && !r->timer_open)
        free(r);
}

static void timer_closed(uv_handle_t *h)
{
    struct dns_req *r = h->data;
    r->timer_open = false;
    req_maybe_free(r);
}

/* Detaches r from its call (which gets no answer from r after this) and
 * stops the timer. Returns the call, or NULL when it was already detached. */
static struct action_call *req_detach(struct dns_req *r)
{
    struct action_call *call = r->call;
    if (call == NULL)
        return NULL;
    r->call = NULL;
    call->impl = NULL;
    uv_timer_stop(&r->timer);
    uv_close((uv_handle_t *)&r->timer, timer_closed);
    return call;
}

static void req_timed_out(uv_timer_t *t)
{
    struct dns_req *r = t->data;
    struct action_call *call = req_detach(r);
    if (call == NULL)
        return;
    /* Succeeds only while the request waits for a pool thread; a lookup
     * already running ends in its own time and its answer is dropped. */
    uv_cancel(&r->u.req);
    action_fail(call, RP_E_IO, "%s: %s: no answer from the resolver within %llu ms",
                call->def->name, r->subject, (unsigned long long)r->timeout_ms);
}

static void dns_cancel(struct action_call *call)
{
    struct dns_req *r = call->impl;
    if (r == NULL)
        return;
    req_detach(r);
    uv_cancel(&r->u.req);
}

/* A failure the resolver reported, for people. */
static void fail_status(struct action_call *call, const char *subject, int status)
{
    if (status == UV_EAI_AGAIN)
        action_fail(call, RP_E_IO, "%s: %s: temporary failure in name resolution (%s)",
                    call->def->name, subject, uv_strerror(status));
    else
        action_fail(call, RP_E_IO, "%s: %s: %s", call->def->name, subject, uv_strerror(status));
}

/* --- resolve ------------------------------------------------------------------------------ */

/* A host name as the resolver will be asked it (see the file comment). */
static bool name_ok(const char *s, size_t n)
{
    if (n > 0 && s[n - 1] == '.')
        n--; /* the root: "example.org." */
    if (n == 0 || n > DNS_NAME_TEXT_MAX)
        return false;
    size_t label = 0;
    for (size_t i = 0; i <= n; i++) {
        char c = i < n ? s[i] : '.';
        if (c == '.') {
            if (label == 0 || label > DNS_LABEL_MAX || s[i - 1] == '-')
                return false;
            label = 0;
            continue;
        }
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || (c == '-' && label > 0);
        if (!ok)
            return false;
        label++;
    }
    return true;
}

/* Appends text to arr unless it is there already. */
static bool append_unique(json_t *arr, const char *text)
{
    size_t i;
    json_t *v;
    json_array_foreach(arr, i, v)
    {
        if (strcmp(json_string_value(v), text) == 0)
            return true;
    }
    return json_array_append_new(arr, json_string(text)) == 0;
}

static void resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct dns_req *r = req->data;
    r->req_pending = false;
    struct action_call *call = req_detach(r);
    if (call != NULL) {
        if (status != 0 && status != UV_EAI_NONAME && status != UV_EAI_NODATA) {
            fail_status(call, r->subject, status);
        } else {
            json_t *all = json_array(), *a = json_array(), *aaaa = json_array();
            int64_t truncated = 0;
            bool ok = all != NULL && a != NULL && aaaa != NULL;
            for (struct addrinfo *ai = status == 0 ? res : NULL; ok && ai != NULL;
                 ai = ai->ai_next) {
                char text[INET6_ADDRSTRLEN];
                json_t *list;
                if (ai->ai_family == AF_INET) {
                    inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, text,
                              sizeof text);
                    list = a;
                } else if (ai->ai_family == AF_INET6) {
                    inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr, text,
                              sizeof text);
                    list = aaaa;
                } else {
                    continue;
                }
                size_t before = json_array_size(all);
                if (before >= RP_DNS_ADDRESSES_MAX) {
                    truncated++; /* may count a duplicate: an upper bound */
                    continue;
                }
                ok = append_unique(all, text);
                if (ok && json_array_size(all) > before)
                    ok = json_array_append_new(list, json_string(text)) == 0;
            }
            json_t *out = NULL;
            if (ok)
                out = json_pack("{s:s, s:b, s:O, s:O, s:O, s:I}", "name", r->subject, "found",
                                json_array_size(all) > 0, "addresses", all, "a", a, "aaaa", aaaa,
                                "truncated", (json_int_t)truncated);
            json_decref(all);
            json_decref(a);
            json_decref(aaaa);
            if (out != NULL)
                action_succeed(call, out);
            else
                action_fail(call, RP_E_NOMEM, "%s: out of memory", call->def->name);
        }
    }
    uv_freeaddrinfo(res);
    req_maybe_free(r);
}

/* Allocates the state of a lookup about subject and starts its timer. */
static struct dns_req *req_new(struct action_call *call, const char *subject, size_t n)
{
    struct dns *d = call->def->data;
    struct dns_req *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->call = call;
    r->timeout_ms = d->timeout_ms;
    memcpy(r->subject, subject, n);
    r->subject[n] = '\0';
    r->u.req.data = r;
    uv_timer_init(call->loop, &r->timer);
    r->timer.data = r;
    r->timer_open = true;
    return r;
}

/* Gives up a request whose lookup could not be started: the call fails with
 * status, the state goes when its timer has closed. */
static void req_abort(struct dns_req *r, int status)
{
    struct action_call *call = req_detach(r);
    fail_status(call, r->subject, status);
}

static rp_status resolve_start(struct action_call *call)
{
    const char *an = call->def->name;
    json_t *p = json_object_get(call->params, "name");
    const char *name = json_string_value(p);
    if (name == NULL) {
        action_fail(call, RP_E_INVALID, "%s: parameter name (a string) is required", an);
        return RP_OK;
    }
    size_t n = json_string_length(p);
    if (strlen(name) != n || !name_ok(name, n)) {
        action_fail(call, RP_E_INVALID,
                    "%s: '%.*s' is not a host name (at most %d characters; labels of 1-%d "
                    "letters, digits, - and _; non-ASCII names in their xn-- form)",
                    an, DNS_NAME_TEXT_MAX + 1, name, DNS_NAME_TEXT_MAX, DNS_LABEL_MAX);
        return RP_OK;
    }
    if (call->loop == NULL) {
        action_fail(call, RP_E_INVALID, "%s: no event loop", an);
        return RP_OK;
    }
    struct dns_req *r = req_new(call, name, n);
    if (r == NULL)
        return RP_E_NOMEM;
    struct addrinfo hints;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM; /* one entry per address, not one per socket type */
    call->impl = r;
    int rc = uv_getaddrinfo(call->loop, &r->u.gai, resolved, r->subject, NULL, &hints);
    if (rc != 0) {
        req_abort(r, rc);
        return RP_OK;
    }
    r->req_pending = true;
    uv_timer_start(&r->timer, req_timed_out, r->timeout_ms, 0);
    return RP_OK;
}

/* --- reverse ------------------------------------------------------------------------------ */

static void reversed(uv_getnameinfo_t *req, int status, const char *host, const char *service)
{
    (void)service;
    struct dns_req *r = req->data;
    r->req_pending = false;
    struct action_call *call = req_detach(r);
    if (call != NULL) {
        if (status != 0 && status != UV_EAI_NONAME && status != UV_EAI_NODATA) {
            fail_status(call, r->subject, status);
        } else {
            bool found = status == 0 && host != NULL && host[0] != '\0';
            json_t *out = json_pack("{s:s, s:b, s:[]}", "ip", r->subject, "found", found, "names");
            if (out != NULL && found &&
                json_array_append_new(json_object_get(out, "names"), json_string(host)) != 0) {
                json_decref(out);
                out = NULL;
            }
            if (out != NULL)
                action_succeed(call, out);
            else
                action_fail(call, RP_E_NOMEM, "%s: out of memory", call->def->name);
        }
    }
    req_maybe_free(r);
}

static rp_status reverse_start(struct action_call *call)
{
    const char *an = call->def->name;
    json_t *p = json_object_get(call->params, "ip");
    const char *ip = json_string_value(p);
    if (ip == NULL) {
        action_fail(call, RP_E_INVALID, "%s: parameter ip (a string) is required", an);
        return RP_OK;
    }
    size_t n = json_string_length(p);
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof ss);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    bool ok = false;
    if (n < DNS_IP_TEXT_MAX && strlen(ip) == n) {
        if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1) {
            v4->sin_family = AF_INET;
            ok = true;
        } else if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1) {
            v6->sin6_family = AF_INET6;
            ok = true;
        }
    }
    if (!ok) {
        action_fail(call, RP_E_INVALID, "%s: '%.*s' is not an IPv4 or IPv6 address", an,
                    DNS_IP_TEXT_MAX, ip);
        return RP_OK;
    }
    if (call->loop == NULL) {
        action_fail(call, RP_E_INVALID, "%s: no event loop", an);
        return RP_OK;
    }
    char canon[INET6_ADDRSTRLEN];
    inet_ntop(ss.ss_family,
              ss.ss_family == AF_INET ? (void *)&v4->sin_addr : (void *)&v6->sin6_addr, canon,
              sizeof canon);
    struct dns_req *r = req_new(call, canon, strlen(canon));
    if (r == NULL)
        return RP_E_NOMEM;
    call->impl = r;
    int rc =
        uv_getnameinfo(call->loop, &r->u.gni, reversed, (const struct sockaddr *)&ss, NI_NAMEREQD);
    if (rc != 0) {
        req_abort(r, rc);
        return RP_OK;
    }
    r->req_pending = true;
    uv_timer_start(&r->timer, req_timed_out, r->timeout_ms, 0);
    return RP_OK;
}

/* --- the module -------------------------------------------------------------------------- */

static void dns_destroy(void *inst)
{
    struct dns *d = inst;
    if (d == NULL)
        return;
    free(d->resolve_name);
    free(d->reverse_name);
    free(d);
}

/* timeout: a duration ("5s", "1500ms") or an integer of milliseconds. */
static rp_status conf_timeout(const char *instance, json_t *conf, uint64_t *out,
                              struct rp_error *err)
{
    json_t *v = json_object_get(conf, "timeout");
    int64_t ms = RP_DNS_TIMEOUT_MS_DEFAULT;
    if (json_is_integer(v)) {
        ms = json_integer_value(v);
    } else if (json_is_string(v)) {
        struct rp_error e2;
        if (time_parse_duration(json_string_value(v), &ms, &e2) != RP_OK)
            return rp_error_set(err, RP_E_INVALID, "connectors.%s.timeout: %s", instance, e2.msg);
    } else if (v != NULL && !json_is_null(v)) {
        return rp_error_set(err, RP_E_INVALID,
                            "connectors.%s.timeout: a duration (5s) or milliseconds", instance);
    }
    if (ms <= 0 || ms > RP_DNS_TIMEOUT_MS_MAX)
        return rp_error_set(err, RP_E_INVALID, "connectors.%s.timeout: 1 ms to %d ms", instance,
                            RP_DNS_TIMEOUT_MS_MAX);
    *out = (uint64_t)ms;
    return RP_OK;
}

static char *action_name(const char *instance, const char *action)
{
    size_t n = strlen(instance) + strlen(action) + 2;
    char *s = malloc(n);
    if (s != NULL)
        snprintf(s, n, "%s.%s", instance, action);
    return s;
}

static rp_status dns_create(const char *instance, json_t *conf, const struct connector_env *env,
                            void **out, struct rp_error *err)
{
    (void)env;
    *out = NULL;
    static const char *const KEYS[] = {"type", "timeout", NULL};
    rp_status kst = connector_keys_check(instance, conf, KEYS, err);
    if (kst != RP_OK)
        return kst;
    struct dns *d = calloc(1, sizeof *d);
    if (d == NULL)
        return rp_error_set(err, RP_E_NOMEM, "out of memory");
    rp_status st = conf_timeout(instance, conf, &d->timeout_ms, err);
    if (st != RP_OK)
        goto fail;
    d->resolve_name = action_name(instance, "resolve");
    d->reverse_name = action_name(instance, "reverse");
    if (d->resolve_name == NULL || d->reverse_name == NULL) {
        st = rp_error_set(err, RP_E_NOMEM, "out of memory");
        goto fail;
    }
    d->resolve = (struct action_def){
        .name = d->resolve_name,
        .effect = ACTION_EFFECT_READ,
        .honours_keys = true, /* a read: repeating it is harmless */
        .help = "A and AAAA addresses of {name}",
        .start = resolve_start,
        .cancel = dns_cancel,
        .data = d,
    };
    d->reverse = (struct action_def){
        .name = d->reverse_name,
        .effect = ACTION_EFFECT_READ,
        .honours_keys = true,
        .help = "the host name of {ip} (PTR)",
        .start = reverse_start,
        .cancel = dns_cancel,
        .data = d,
    };
    /* Both names are checked first, so that a clash leaves nothing registered
     * (the registry cannot take an action back). */
    if (action_find(d->resolve_name) != NULL || action_find(d->reverse_name) != NULL) {
        st = rp_error_set(err, RP_E_EXISTS, "connectors.%s: an action %s.* exists already",
                          instance, instance);
        goto fail;
    }
    st = action_register(&d->resolve);
    if (st != RP_OK) {
        rp_error_set(err, st, "connectors.%s: too many actions", instance);
        goto fail;
    }
    st = action_register(&d->reverse);
    if (st != RP_OK) {
        /* resolve stays registered and points into d: keep d alive */
        *out = NULL;
        return rp_error_set(err, st, "connectors.%s: too many actions", instance);
    }
    *out = d;
    return RP_OK;
fail:
    dns_destroy(d);
    return st;
}

const struct connector_type connector_dns = {
    .name = "dns",
    .create = dns_create,
    .start_sources = NULL,
    .stop = NULL,
    .destroy = dns_destroy,
};

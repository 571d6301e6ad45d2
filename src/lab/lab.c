/*
 * lab.c: `riposte lab`, the HTTP server of the lab and its dispatch.
 *
 * libmicrohttpd runs one thread per connection (so that a "slow" fault delays
 * only its own request). Each request's body is gathered up to RP_LAB_BODY_MAX,
 * then dispatch() takes the lab's mutex and: answers /_lab/ controls (control.c;
 * loopback clients only, never logged), or logs the request, applies the first
 * armed fault that matches it, and hands it to the vendors in turn until one
 * claims the path. Everything the lab holds is in memory; a failed allocation
 * answers 500 and the lab keeps serving. SIGTERM and SIGINT end lab_run.
 */
#include "lab/lab.h"
#include "lab/lab_internal.h"

#include "cli/cli.h"
#include "core/buf.h"
#include "core/limits.h"
#include "core/time.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Per-connection state from the URI callback to the completion callback. */
struct lab_conn {
    char *uri; /* with the query, as sent */
    struct buf body;
    bool started;
    bool too_big;
};

typedef bool (*lab_vendor_fn)(struct lab_req *r);

/* Order matters only where paths overlap: Carbon Black's /api/alerts/v7/...
 * before Defender's /api/alerts, Slack's /services/T.../B... before Splunk. */
static const lab_vendor_fn vendors[] = {
    lab_microsoft_login, lab_crowdstrike, lab_carbonblack, lab_cylance, lab_virustotal,
    lab_abuseipdb,       lab_okta,        lab_defender,    lab_msgraph, lab_webhook,
    lab_splunk,          lab_misp,        lab_elastic,
};

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
    (void)cls;
    (void)conn;
    struct lab_conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->uri = strdup(uri != NULL ? uri : "/");
    buf_init(&c->body, RP_LAB_BODY_MAX);
    return c;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)cls;
    (void)conn;
    (void)toe;
    struct lab_conn *c = *con_cls;
    if (c == NULL)
        return;
    buf_fini(&c->body);
    free(c->uri);
    free(c);
    *con_cls = NULL;
}

static enum MHD_Result send_reply(struct MHD_Connection *conn, struct lab_req *r)
{
    struct MHD_Response *resp;
    if (r->out != NULL) {
        resp = MHD_create_response_from_buffer(r->out_len, r->out, MHD_RESPMEM_MUST_FREE);
        r->out = NULL;
    } else {
        resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    }
    if (resp == NULL)
        return MHD_NO;
    if (r->ctype[0] != '\0')
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->ctype);
    for (size_t i = 0; i < r->nhdr; i++)
        MHD_add_response_header(resp, r->hdr[i].name, r->hdr[i].value);
    enum MHD_Result ret = MHD_queue_response(conn, r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/* A fault's answer, in a shape every vendor's client can read as an error. */
static void fault_reply(struct lab_req *r, const struct lab_fault *f)
{
    if (f->kind == LAB_FAULT_429) {
        char ra[24];
        snprintf(ra, sizeof(ra), "%u", f->retry_after);
        lab_reply_header(r, "Retry-After", ra);
        lab_reply_json(r, 429,
                       json_pack("{s:{s:s,s:s}}", "error", "code", "TooManyRequests", "message",
                                 "lab fault: too many requests"));
    } else {
        lab_reply_json(r, 500,
                       json_pack("{s:{s:s,s:s}}", "error", "code", "InternalServerError", "message",
                                 "lab fault: internal server error"));
    }
}

/* Cuts the answer to a prefix that is not valid JSON, keeping status 200. */
static void make_malformed(struct lab_req *r)
{
    static const char broken[] = "{\"resources\": [{\"id\": \"trunc";
    if (r->out != NULL && r->out_len > 8) {
        r->out_len = r->out_len / 2;
        r->out[r->out_len] = '\0';
    } else {
        free(r->out);
        r->out = strdup(broken);
        r->out_len = r->out != NULL ? strlen(broken) : 0;
    }
    r->status = 200;
    snprintf(r->ctype, sizeof(r->ctype), "application/json");
}

static void route(struct lab_req *r)
{
    for (size_t i = 0; i < sizeof(vendors) / sizeof(vendors[0]); i++)
        if (vendors[i](r))
            return;
    char msg[RP_LAB_PATH_MAX + 64];
    snprintf(msg, sizeof(msg), "the lab serves nothing at %s %s", r->method, r->path);
    lab_reply_json(r, 404, json_pack("{s:s}", "error", msg));
}

static enum MHD_Result dispatch(struct lab *lab, struct MHD_Connection *conn, struct lab_conn *c,
                                const char *method, const char *url)
{
    struct lab_req r;
    memset(&r, 0, sizeof(r));
    r.lab = lab;
    r.conn = conn;
    r.method = method;
    r.body = c->body.data != NULL ? c->body.data : "";
    r.body_len = c->body.len;
    r.now_ms = time_now_ms();
    if (strlen(url) >= sizeof(r.path)) {
        lab_reply_json(&r, 414, json_pack("{s:s}", "error", "the path is too long"));
        return send_reply(conn, &r);
    }
    snprintf(r.path, sizeof(r.path), "%s", url);

    pthread_mutex_lock(&lab->mu);
    r.org = lab->org;
    if (lab_prefix(r.path, "/_lab/") || strcmp(r.path, "/_lab") == 0) {
        if (c->too_big)
            lab_reply_json(&r, 413, json_pack("{s:s}", "error", "the body is too large"));
        else if (!lab_control(&r))
            lab_reply_json(&r, 404, json_pack("{s:s}", "error", "no such lab control"));
        pthread_mutex_unlock(&lab->mu);
        return send_reply(conn, &r);
    }
    json_t *entry = lab_log_begin(lab, &r, c->uri);
    struct lab_fault *f = lab_fault_take(lab, method, r.path);
    struct lab_fault fc;
    memset(&fc, 0, sizeof(fc));
    if (f != NULL)
        fc = *f;
    if (f != NULL && fc.kind == LAB_FAULT_CLOSE) {
        lab_log_end(entry, 0, "close");
        pthread_mutex_unlock(&lab->mu);
        return MHD_NO; /* libmicrohttpd closes the connection without an answer */
    }
    if (f != NULL && (fc.kind == LAB_FAULT_500 || fc.kind == LAB_FAULT_429)) {
        fault_reply(&r, &fc);
        lab_log_end(entry, r.status, fc.kind == LAB_FAULT_500 ? "500" : "429");
        pthread_mutex_unlock(&lab->mu);
        return send_reply(conn, &r);
    }
    if (f != NULL && fc.kind == LAB_FAULT_SLOW) {
        pthread_mutex_unlock(&lab->mu);
        struct timespec ts = {.tv_sec = fc.delay_ms / 1000,
                              .tv_nsec = (long)(fc.delay_ms % 1000) * 1000000L};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
        pthread_mutex_lock(&lab->mu);
        r.org = lab->org; /* a reset may have come meanwhile */
        r.now_ms = time_now_ms();
    }
    if (c->too_big)
        lab_reply_json(&r, 413, json_pack("{s:s}", "error", "the body is over the lab's limit"));
    else
        route(&r);
    if (f != NULL && fc.kind == LAB_FAULT_MALFORMED)
        make_malformed(&r);
    lab_log_end(entry, r.status,
                f == NULL                   ? NULL
                : fc.kind == LAB_FAULT_SLOW ? "slow"
                                            : "malformed");
    pthread_mutex_unlock(&lab->mu);
    return send_reply(conn, &r);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)version;
    struct lab *lab = cls;
    struct lab_conn *c = *con_cls;
    if (c == NULL || c->uri == NULL)
        return MHD_NO;
    if (!c->started) {
        c->started = true;
        const char *cl =
            MHD_lookup_connection_value(conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
        if (cl != NULL && strtoull(cl, NULL, 10) > RP_LAB_BODY_MAX) {
            struct lab_req r;
            memset(&r, 0, sizeof(r));
            lab_reply_json(&r, 413,
                           json_pack("{s:s}", "error", "the body is over the lab's limit"));
            return send_reply(conn, &r);
        }
        return MHD_YES;
    }
    if (*upload_data_size > 0) {
        if (!c->too_big && buf_append(&c->body, upload_data, *upload_data_size) != RP_OK)
            c->too_big = true;
        *upload_data_size = 0;
        return MHD_YES;
    }
    return dispatch(lab, conn, c, method, url);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    (void)fmt;
    (void)ap; /* the lab is a test tool: libmicrohttpd's own messages are noise */
}

/* --- the lab's life -------------------------------------------------------------------------- */

rp_status lab_new(const struct lab_opts *o, struct lab **out, struct rp_error *err)
{
    rp_status st = RP_OK;
    struct lab *lab = calloc(1, sizeof(*lab));
    if (lab == NULL)
        return rp_error_set(err, RP_E_NOMEM, "out of memory");
    pthread_mutex_init(&lab->mu, NULL);
    lab->listen_fd = -1;
    lab->seed = o->seed;
    lab->ttl_s = o->token_ttl_s > 0 ? o->token_ttl_s : RP_LAB_TOKEN_TTL_S;
    lab->base_ms = o->base_ms > 0 ? o->base_ms : time_now_ms();
    lab->org = calloc(1, sizeof(*lab->org));
    if (lab->org == NULL) {
        st = rp_error_set(err, RP_E_NOMEM, "out of memory for the organisation");
        goto fail;
    }
    lab_org_init(lab->org, lab->seed, lab->base_ms);

    st = server_listen_parse(o->listen != NULL ? o->listen : "127.0.0.1:8900", &lab->addr, err);
    if (st != RP_OK)
        goto fail;
    int fd = socket(lab->addr.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        st = rp_error_set(err, RP_E_IO, "socket: %s", strerror(errno));
        goto fail;
    }
    lab->listen_fd = fd;
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (const struct sockaddr *)&lab->addr.ss, lab->addr.len) != 0 ||
        listen(fd, 64) != 0) {
        st = rp_error_set(err, RP_E_IO, "cannot listen on %s: %s", lab->addr.text, strerror(errno));
        goto fail;
    }
    struct sockaddr_storage got;
    socklen_t glen = sizeof(got);
    char host[INET6_ADDRSTRLEN] = "127.0.0.1";
    unsigned port = 0;
    if (getsockname(fd, (struct sockaddr *)&got, &glen) == 0) {
        if (got.ss_family == AF_INET6) {
            struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&got;
            char h6[INET6_ADDRSTRLEN];
            inet_ntop(AF_INET6, &s6->sin6_addr, h6, sizeof(h6));
            snprintf(host, sizeof(host), "[%.*s]", (int)sizeof(host) - 3, h6);
            port = ntohs(s6->sin6_port);
        } else {
            struct sockaddr_in *s4 = (struct sockaddr_in *)&got;
            inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
            port = ntohs(s4->sin_port);
        }
    }
    snprintf(lab->url, sizeof(lab->url), "http://%s:%u", host, port);

    unsigned flags = MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                     MHD_USE_POLL | MHD_USE_ERROR_LOG;
    lab->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, lab, MHD_OPTION_LISTEN_SOCKET,
                                (MHD_socket)fd, MHD_OPTION_URI_LOG_CALLBACK, on_uri, lab,
                                MHD_OPTION_NOTIFY_COMPLETED, on_completed, lab,
                                MHD_OPTION_CONNECTION_LIMIT, (unsigned)RP_LAB_CONNECTIONS_MAX,
                                MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)120,
                                MHD_OPTION_EXTERNAL_LOGGER, mhd_log, lab, MHD_OPTION_END);
    if (lab->mhd == NULL) {
        st = rp_error_set(err, RP_E_IO, "cannot start the HTTP server on %s", lab->addr.text);
        goto fail;
    }
    lab->listen_fd = -1; /* libmicrohttpd's now */
    *out = lab;
    return RP_OK;
fail:
    lab_free(lab);
    return st;
}

const char *lab_url(const struct lab *lab)
{
    return lab->url;
}

rp_status lab_run(struct lab *lab, struct rp_error *err)
{
    (void)lab;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    int sig = 0;
    if (sigwait(&set, &sig) != 0)
        return rp_error_set(err, RP_E_IO, "sigwait failed");
    return RP_OK;
}

void lab_free(struct lab *lab)
{
    if (lab == NULL)
        return;
    if (lab->mhd != NULL)
        MHD_stop_daemon(lab->mhd);
    if (lab->listen_fd >= 0)
        close(lab->listen_fd);
    if (lab->org != NULL) {
        lab_org_fini(lab->org);
        free(lab->org);
    }
    for (size_t i = 0; i < RP_LAB_LOG_MAX; i++)
        json_decref(lab->log[i]);
    pthread_mutex_destroy(&lab->mu);
    free(lab);
}

/* --- the command ----------------------------------------------------------------------------- */

static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    if (s == NULL || *s == '\0' || strspn(s, "0123456789") != strlen(s) || strlen(s) > 19)
        return false;
    unsigned long long v = strtoull(s, NULL, 10);
    if (v > max)
        return false;
    *out = v;
    return true;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: riposte lab [--listen HOST:PORT] [--seed N] [--token-ttl SECONDS]\n"
               "                   [--base-time EPOCH_SECONDS]\n"
               "Serves simulated vendor APIs over a synthetic organisation (docs/lab.md).\n"
               "  --listen     where to listen (default 127.0.0.1:8900; port 0: any free port)\n"
               "  --seed       the organisation's seed (default 1)\n"
               "  --token-ttl  lifetime of issued OAuth/JWT tokens (default 300)\n"
               "  --base-time  the instant detection times count back from (default: now)\n");
}

int cli_lab(int argc, char **argv)
{
    struct lab_opts o = {.listen = "127.0.0.1:8900", .seed = 1};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t n = 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return CLI_EXIT_OK;
        }
        if (v == NULL) {
            cli_errorf("lab: %s needs a value", a);
            return CLI_EXIT_USAGE;
        }
        if (strcmp(a, "--listen") == 0) {
            struct server_addr sa;
            struct rp_error perr;
            if (server_listen_parse(v, &sa, &perr) != RP_OK) {
                cli_errorf("lab: %s", perr.msg);
                return CLI_EXIT_USAGE;
            }
            o.listen = v;
        } else if (strcmp(a, "--seed") == 0) {
            if (!parse_u64(v, UINT64_MAX, &n)) {
                cli_errorf("lab: --seed must be a non-negative integer, not %s", v);
                return CLI_EXIT_USAGE;
            }
            o.seed = n;
        } else if (strcmp(a, "--token-ttl") == 0) {
            if (!parse_u64(v, RP_LAB_TOKEN_TTL_MAX_S, &n) || n == 0) {
                cli_errorf("lab: --token-ttl must be 1-%d seconds, not %s", RP_LAB_TOKEN_TTL_MAX_S,
                           v);
                return CLI_EXIT_USAGE;
            }
            o.token_ttl_s = (int64_t)n;
        } else if (strcmp(a, "--base-time") == 0) {
            if (!parse_u64(v, 32503680000ull, &n) || n == 0) {
                cli_errorf("lab: --base-time must be epoch seconds, not %s", v);
                return CLI_EXIT_USAGE;
            }
            o.base_ms = (int64_t)n * 1000;
        } else {
            cli_errorf("lab: unknown option %s", a);
            usage(stderr);
            return CLI_EXIT_USAGE;
        }
        i++;
    }
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    struct rp_error err = {{0}};
    struct lab *lab = NULL;
    if (lab_new(&o, &lab, &err) != RP_OK) {
        cli_errorf("lab: %s", err.msg);
        return CLI_EXIT_FAIL;
    }
    printf("%s\n", lab_url(lab));
    fflush(stdout);
    rp_status st = lab_run(lab, &err);
    lab_free(lab);
    if (st != RP_OK) {
        cli_errorf("lab: %s", err.msg);
        return CLI_EXIT_FAIL;
    }
    return CLI_EXIT_OK;
}

/*
 * syslog_listener.c: UDP and TCP syslog receivers on a libuv loop; see the
 * header for framing and delivery. Each TCP connection keeps a bounded buffer of
 * one incomplete frame; everything else is handed to the pending batch at once.
 */
#include "ingest/syslog_listener.h"

#include "core/buf.h"
#include "core/limits.h"
#include "core/log.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct conn {
    uv_tcp_t tcp;
    struct syslog_listener *l;
    struct buf in;
    struct conn *next, *prev;
};

struct syslog_listener {
    uv_loop_t *loop;
    const struct config *cfg;
    syslog_submit_fn submit;
    void *arg;
    uv_udp_t udp;
    uv_tcp_t tcp;
    uv_timer_t flush;
    bool has_udp, has_tcp, stopped;
    int open_handles;
    struct ingest_batch *pending;
    uint64_t seq; /* message number, for reports */
    struct conn *conns;
    size_t nconns;
    char udp_buf[65536];
    struct syslog_listener_stats stats;
};

static rp_status new_batch(struct syslog_listener *l)
{
    struct ingest_opts o = {l->cfg, "syslog", "syslog", "syslog", 0, {FORMAT_AUTO, NULL}};
    return ingest_batch_new(&o, &l->pending);
}

static void flush(struct syslog_listener *l)
{
    uv_timer_stop(&l->flush);
    if (l->pending == NULL || ingest_batch_records(l->pending) == 0)
        return;
    size_t n = ingest_batch_records(l->pending);
    if (l->submit(l->arg, l->pending) == RP_OK) {
        l->stats.stored += n;
    } else {
        l->stats.dropped += n;
        log_error("syslog.dropped", "messages=%zu reason=\"the store refused the batch\"", n);
    }
    ingest_batch_free(l->pending);
    l->pending = NULL;
}

static void on_flush(uv_timer_t *t)
{
    flush(t->data);
}

/* One message into the pending batch. */
static void take(struct syslog_listener *l, const char *p, size_t n)
{
    while (n > 0 && (p[n - 1] == '\n' || p[n - 1] == '\r' || p[n - 1] == '\0'))
        n--;
    if (n == 0)
        return;
    l->stats.messages++;
    if (l->pending == NULL && new_batch(l) != RP_OK) {
        l->stats.dropped++;
        log_error("syslog.dropped", "messages=1 reason=\"out of memory\"");
        return;
    }
    l->seq++;
    rp_status st = n > RP_INGEST_LINE_MAX
                       ? ingest_batch_reject(l->pending, p, n, l->seq, 1, "message too long")
                       : ingest_batch_add(l->pending, p, n, l->seq, 1);
    if (st != RP_OK) {
        l->stats.dropped++;
        log_error("syslog.dropped", "messages=1 reason=%s", rp_status_str(st));
    }
    if (ingest_batch_records(l->pending) >= RP_COMMIT_GROUP_MAX)
        flush(l);
    else if (!uv_is_active((uv_handle_t *)&l->flush))
        uv_timer_start(&l->flush, on_flush, RP_SYSLOG_FLUSH_MS, 0);
}

/* --- UDP ------------------------------------------------------------------------------ */

static void udp_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)suggested;
    struct syslog_listener *l = h->data;
    b->base = l->udp_buf;
    b->len = sizeof(l->udp_buf);
}

static void udp_recv(uv_udp_t *h, ssize_t nread, const uv_buf_t *b, const struct sockaddr *from,
                     unsigned flags)
{
    (void)from;
    struct syslog_listener *l = h->data;
    if (nread <= 0)
        return;
    if (flags & UV_UDP_PARTIAL) {
        l->stats.dropped++;
        log_warn("syslog.dropped", "messages=1 reason=\"datagram larger than 64 KiB\"");
        return;
    }
    take(l, b->base, (size_t)nread);
}

/* --- TCP ------------------------------------------------------------------------------ */

static void on_closed(uv_handle_t *h)
{
    struct syslog_listener *l = h->data;
    l->open_handles--;
}

static void conn_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    buf_fini(&c->in);
    free(c);
}

static void conn_close(struct conn *c)
{
    struct syslog_listener *l = c->l;
    if (c->prev)
        c->prev->next = c->next;
    else
        l->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    l->nconns--;
    uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

/* Takes every complete frame from the connection's buffer. Returns false when
 * the stream is broken (a frame longer than a line): the connection closes. */
static bool frames(struct conn *c)
{
    size_t pos = 0;
    struct buf *in = &c->in;
    while (pos < in->len) {
        const char *p = in->data + pos;
        size_t n = in->len - pos;
        if (isdigit((unsigned char)p[0])) {
            /* octet counting: "LEN SP MSG" */
            size_t i = 0, len = 0;
            while (i < n && i < 7 && isdigit((unsigned char)p[i]))
                len = len * 10 + (size_t)(p[i++] - '0');
            if (i == n)
                break; /* the length is not all here yet */
            if (p[i] != ' ' || len == 0 || len > RP_INGEST_LINE_MAX)
                return false;
            if (n - i - 1 < len)
                break;
            take(c->l, p + i + 1, len);
            pos += i + 1 + len;
        } else {
            const char *nl = memchr(p, '\n', n);
            if (nl == NULL)
                break;
            take(c->l, p, (size_t)(nl - p));
            pos += (size_t)(nl - p) + 1;
        }
    }
    buf_consume(in, pos);
    return in->len <= RP_INGEST_LINE_MAX + 16;
}

static void conn_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    (void)suggested;
    struct conn *c = h->data;
    size_t want = 64 * 1024;
    if (buf_reserve(&c->in, want) != RP_OK) {
        b->base = NULL;
        b->len = 0;
        return;
    }
    b->base = c->in.data + c->in.len;
    b->len = want;
}

static void conn_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *b)
{
    (void)b;
    struct conn *c = s->data;
    if (nread < 0) {
        if (c->in.len > 0)
            take(c->l, c->in.data, c->in.len); /* a last line without its newline */
        conn_close(c);
        return;
    }
    c->in.len += (size_t)nread;
    if (!frames(c)) {
        c->l->stats.dropped++;
        log_warn("syslog.tcp_broken", "reason=\"frame longer than a line or bad length\" "
                                      "action=\"connection closed\"");
        conn_close(c);
    }
}

static void on_connection(uv_stream_t *server, int status)
{
    struct syslog_listener *l = server->data;
    if (status != 0)
        return;
    struct conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return;
    c->l = l;
    buf_init(&c->in, RP_INGEST_LINE_MAX + 16 + 64 * 1024);
    uv_tcp_init(l->loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0 ||
        l->nconns >= RP_SYSLOG_TCP_CONNECTIONS_MAX) {
        if (l->nconns >= RP_SYSLOG_TCP_CONNECTIONS_MAX)
            log_warn("syslog.tcp_refused", "connections=%zu reason=limit", l->nconns);
        uv_close((uv_handle_t *)&c->tcp, conn_closed);
        return;
    }
    c->next = l->conns;
    if (l->conns)
        l->conns->prev = c;
    l->conns = c;
    l->nconns++;
    uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read);
}

/* --- life ------------------------------------------------------------------------------ */

rp_status syslog_listener_new(uv_loop_t *loop, const struct config *cfg, const struct sockaddr *udp,
                              const struct sockaddr *tcp, syslog_submit_fn submit, void *arg,
                              struct syslog_listener **out, struct rp_error *err)
{
    struct syslog_listener *l = calloc(1, sizeof(*l));
    if (l == NULL)
        return rp_error_set(err, RP_E_NOMEM, "out of memory");
    l->loop = loop;
    l->cfg = cfg;
    l->submit = submit;
    l->arg = arg;
    uv_timer_init(loop, &l->flush);
    l->flush.data = l;
    l->open_handles = 1;
    int rc;
    if (udp != NULL) {
        uv_udp_init(loop, &l->udp);
        l->udp.data = l;
        l->has_udp = true;
        l->open_handles++;
        if ((rc = uv_udp_bind(&l->udp, udp, 0)) != 0 ||
            (rc = uv_udp_recv_start(&l->udp, udp_alloc, udp_recv)) != 0) {
            *out = l;
            syslog_listener_stop(l);
            return rp_error_set(err, RP_E_IO, "syslog.udp: cannot listen: %s", uv_strerror(rc));
        }
    }
    if (tcp != NULL) {
        uv_tcp_init(loop, &l->tcp);
        l->tcp.data = l;
        l->has_tcp = true;
        l->open_handles++;
        if ((rc = uv_tcp_bind(&l->tcp, tcp, 0)) != 0 ||
            (rc = uv_listen((uv_stream_t *)&l->tcp, 128, on_connection)) != 0) {
            *out = l;
            syslog_listener_stop(l);
            return rp_error_set(err, RP_E_IO, "syslog.tcp: cannot listen: %s", uv_strerror(rc));
        }
    }
    *out = l;
    return RP_OK;
}

void syslog_listener_stop(struct syslog_listener *l)
{
    if (l == NULL || l->stopped)
        return;
    l->stopped = true;
    if (l->has_udp) {
        uv_udp_recv_stop(&l->udp);
        uv_close((uv_handle_t *)&l->udp, on_closed);
    }
    if (l->has_tcp)
        uv_close((uv_handle_t *)&l->tcp, on_closed);
    while (l->conns != NULL) {
        struct conn *c = l->conns;
        if (c->in.len > 0)
            take(l, c->in.data, c->in.len);
        conn_close(c);
    }
    flush(l);
    uv_close((uv_handle_t *)&l->flush, on_closed);
    log_info("syslog.stop", "messages=%llu stored=%llu dropped=%llu",
             (unsigned long long)l->stats.messages, (unsigned long long)l->stats.stored,
             (unsigned long long)l->stats.dropped);
}

void syslog_listener_free(struct syslog_listener *l)
{
    if (l == NULL)
        return;
    RP_ASSERT(l->stopped && l->open_handles == 0);
    ingest_batch_free(l->pending);
    free(l);
}

void syslog_listener_get_stats(const struct syslog_listener *l, struct syslog_listener_stats *out)
{
    *out = l->stats;
}

/*
 * loadgen.c: bench_loadgen, the HTTP/1.1 load generator of the ingest benchmark
 * (bench/run.sh). It only ever connects to 127.0.0.1.
 *
 *   bench_loadgen --port P --token T --file F [--conns N] [--per-request K]
 *                 [--max-requests R] [--duration S] [--timeout S] [--path PATH]
 *       N keep-alive connections, one thread each, send POST PATH requests whose
 *       bodies are K consecutive lines of the NDJSON file F (K = 1: one alert per
 *       request, as application/json; K > 1: application/x-ndjson), each waiting
 *       for its answer before sending the next. The file is cut into
 *       ceil(lines / K) requests, handed out in order; the run stops when they
 *       are all answered, after R requests, or when S seconds have passed. An
 *       answer 429 or 503 (backpressure) is counted and the same request is sent
 *       again after a short pause. Prints one JSON object:
 *       {conns, per_request, requests, alerts, accepted, rejected, seconds,
 *        requests_per_s, alerts_per_s, p50_ms, p90_ms, p99_ms, max_ms, errors,
 *        retries, complete, status_counts{...}}
 *       where alerts counts alerts in requests answered 2xx, accepted/rejected add
 *       up the "accepted"/"rejected" numbers of the answers, latency is from the
 *       first byte sent to the last byte of the final answer of a request, and
 *       complete means every request of the run was answered 2xx (exit status 0;
 *       otherwise 1).
 *   bench_loadgen --port P --wait PATH [--timeout S]
 *       GETs PATH until it answers 200 (exit 0) or S seconds pass (exit 1).
 *   bench_loadgen --free-port
 *       Prints a TCP port on 127.0.0.1 that is free right now.
 *
 * Threads: the main thread maps the file, starts the workers and reports; each
 * worker owns one connection and its buffers; the shared state is atomics (the
 * next request, the latency slots) and per-worker counters merged at the end.
 * Bounded: requests by the file and R, time by S plus the socket timeout (a
 * watchdog ends the process if a worker is stuck beyond that), an answer by
 * LG_RESPONSE_MAX. Failures of the target (refused, reset, timeout) are counted
 * as errors; the request is retried on a new connection a bounded number of times.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

/* Connections (threads): enough to saturate a server, few enough for a laptop. */
#define LG_CONNS_MAX 1024
/* Alerts per request: the API's own limit is by bytes (32 MiB). */
#define LG_PER_REQUEST_MAX 100000
/* Lines indexed from the file: 8 bytes each. */
#define LG_LINES_MAX 100000000ULL
/* One answer, headers and body: a batch answer lists ids and errors. */
#define LG_RESPONSE_MAX     (16u * 1024u * 1024u)
#define LG_RESPONSE_INITIAL (64u * 1024u)
/* Header block of a request: the token is at most this long too. */
#define LG_HEADER_MAX 2048
#define LG_TOKEN_MAX  512
#define LG_PATH_MAX   256
/* Sends of one request: backpressure answers and broken connections. */
#define LG_ATTEMPTS_MAX 1000
/* Connection attempts in a row before a worker gives up. */
#define LG_CONNECT_TRIES 50
#define LG_DURATION_MAX  3600
#define LG_TIMEOUT_MAX   600

struct options {
    int port;
    const char *token;
    const char *file;
    const char *path;
    const char *wait_path;
    int conns;
    int per_request;
    uint64_t max_requests;
    int duration_s;
    int timeout_s;
    bool free_port;
};

/* Shared, read-only while the workers run (except the atomics). */
struct run {
    const struct options *opt;
    const char *data;      /* the mapped file */
    const uint64_t *lines; /* start offset of each non-empty line */
    const uint64_t *ends;  /* end offset (exclusive, without the newline) */
    uint64_t nlines;
    uint64_t nrequests;        /* requests in this run */
    atomic_uint_fast64_t next; /* next request to send */
    atomic_uint_fast64_t done; /* answered requests: index into lat_us */
    uint32_t *lat_us;          /* latency of each answered request, microseconds */
    double deadline;           /* monotonic seconds: no request starts after */
    double start;
};

struct worker {
    struct run *run;
    pthread_t tid;
    int fd;
    char *buf;
    size_t cap, len;
    /* results */
    uint64_t requests, ok, alerts, accepted, rejected, errors, retries;
    uint64_t status[600];
    double last_answer; /* monotonic time of the worker's last answer */
    bool gave_up;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* --- connections ------------------------------------------------------------------ */

/* Opens a connection to 127.0.0.1:port with send/receive timeouts. -1 on failure. */
static int lg_connect(int port, int timeout_s)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct timeval tv = {timeout_s, 0};
    int one = 1;
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* loopback only, by construction */
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Sends all of iov[0..n). false on error or timeout. */
static bool send_all(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        struct msghdr mh;
        memset(&mh, 0, sizeof(mh));
        mh.msg_iov = iov;
        mh.msg_iovlen = (size_t)n;
        ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return false;
        }
        size_t left = (size_t)w;
        while (n > 0 && left >= iov->iov_len) {
            left -= iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + left;
            iov->iov_len -= left;
        }
    }
    return true;
}

/* Reads more bytes into w->buf, growing it up to LG_RESPONSE_MAX. false on
 * EOF, error, timeout or an answer too large. */
static bool read_more(struct worker *w)
{
    if (w->len == w->cap) {
        if (w->cap >= LG_RESPONSE_MAX)
            return false;
        size_t ncap = w->cap * 2 > LG_RESPONSE_MAX ? LG_RESPONSE_MAX : w->cap * 2;
        char *nb = realloc(w->buf, ncap);
        if (nb == NULL)
            return false;
        w->buf = nb;
        w->cap = ncap;
    }
    for (;;) {
        ssize_t r = recv(w->fd, w->buf + w->len, w->cap - w->len, 0);
        if (r > 0) {
            w->len += (size_t)r;
            return true;
        }
        if (r < 0 && errno == EINTR)
            continue;
        return false;
    }
}

/* Finds needle in [p, p + n). */
static const char *find(const char *p, size_t n, const char *needle)
{
    return memmem(p, n, needle, strlen(needle));
}

/* The value of "key": (an unsigned integer) in a JSON body, 0 when absent. */
static uint64_t json_count(const char *body, size_t n, const char *key)
{
    char pat[64];
    int k = snprintf(pat, sizeof(pat), "\"%s\":", key);
    if (k < 0 || (size_t)k >= sizeof(pat))
        return 0;
    const char *p = memmem(body, n, pat, (size_t)k);
    if (p == NULL)
        return 0;
    const char *end = body + n;
    p += k;
    while (p < end && *p == ' ')
        p++;
    uint64_t v = 0;
    while (p < end && *p >= '0' && *p <= '9' && v < UINT64_MAX / 10)
        v = v * 10 + (uint64_t)(*p++ - '0');
    return v;
}

struct answer {
    int status;
    size_t body_off, body_len;
    bool close;
    size_t consumed; /* bytes of w->buf this answer took */
};

/* Reads one HTTP/1.1 answer (Content-Length, chunked, or until close). */
static bool read_answer(struct worker *w, struct answer *a)
{
    memset(a, 0, sizeof(*a));
    const char *eoh;
    while ((eoh = find(w->buf, w->len, "\r\n\r\n")) == NULL)
        if (!read_more(w))
            return false;
    size_t hlen = (size_t)(eoh - w->buf) + 4;
    if (hlen < 12 || memcmp(w->buf, "HTTP/1.", 7) != 0)
        return false;
    a->status = atoi(w->buf + 9);
    if (a->status < 100 || a->status > 599)
        return false;

    long long clen = -1;
    bool chunked = false;
    const char *line = memchr(w->buf, '\n', hlen);
    while (line != NULL && (size_t)(line + 1 - w->buf) < hlen) {
        line++;
        const char *eol = memchr(line, '\n', hlen - (size_t)(line - w->buf));
        if (eol == NULL)
            break;
        size_t ll = (size_t)(eol - line);
        if (ll > 15 && strncasecmp(line, "content-length:", 15) == 0)
            clen = atoll(line + 15);
        else if (ll > 18 && strncasecmp(line, "transfer-encoding:", 18) == 0)
            chunked = find(line, ll, "chunked") != NULL;
        else if (ll > 11 && strncasecmp(line, "connection:", 11) == 0)
            a->close = find(line, ll, "close") != NULL || find(line, ll, "Close") != NULL;
        line = eol;
    }

    a->body_off = hlen;
    if (chunked) {
        /* Decode in place: chunk data moves down to the end of the body so far. */
        size_t pos = hlen, out = hlen;
        for (;;) {
            const char *crlf;
            while ((crlf = find(w->buf + pos, w->len - pos, "\r\n")) == NULL)
                if (!read_more(w))
                    return false;
            unsigned long long size = strtoull(w->buf + pos, NULL, 16);
            if (size > LG_RESPONSE_MAX)
                return false;
            pos = (size_t)(crlf - w->buf) + 2;
            if (size == 0) {
                /* Trailers (none expected) end with an empty line. */
                while ((crlf = find(w->buf + pos, w->len - pos, "\r\n")) == NULL)
                    if (!read_more(w))
                        return false;
                while (crlf != w->buf + pos) {
                    pos = (size_t)(crlf - w->buf) + 2;
                    while ((crlf = find(w->buf + pos, w->len - pos, "\r\n")) == NULL)
                        if (!read_more(w))
                            return false;
                }
                pos += 2;
                break;
            }
            while (w->len - pos < size + 2)
                if (!read_more(w))
                    return false;
            memmove(w->buf + out, w->buf + pos, (size_t)size);
            out += (size_t)size;
            pos += (size_t)size + 2;
        }
        a->body_len = out - hlen;
        a->consumed = pos;
        /* The decoded body lies at [hlen, out); what follows pos is the next
         * answer's. Close the gap so consumed bytes are contiguous. */
        if (pos < w->len && out < pos) {
            memmove(w->buf + out, w->buf + pos, w->len - pos);
            w->len -= pos - out;
            a->consumed = out;
        }
        return true;
    }
    if (clen >= 0) {
        if ((unsigned long long)clen > LG_RESPONSE_MAX)
            return false;
        while (w->len - hlen < (size_t)clen)
            if (!read_more(w))
                return false;
        a->body_len = (size_t)clen;
        a->consumed = hlen + (size_t)clen;
        return true;
    }
    if (a->status == 204 || a->status == 304 || a->status < 200) {
        a->consumed = hlen;
        return true;
    }
    /* No length: the body runs to the end of the connection. */
    while (read_more(w))
        ;
    a->body_len = w->len - hlen;
    a->consumed = w->len;
    a->close = true;
    return true;
}

static void drop_answer(struct worker *w, const struct answer *a)
{
    memmove(w->buf, w->buf + a->consumed, w->len - a->consumed);
    w->len -= a->consumed;
}

static void conn_close(struct worker *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    w->len = 0;
}

static bool conn_ensure(struct worker *w)
{
    const struct options *o = w->run->opt;
    for (int i = 0; w->fd < 0 && i < LG_CONNECT_TRIES; i++) {
        w->fd = lg_connect(o->port, o->timeout_s);
        if (w->fd < 0) {
            w->errors++;
            sleep_ms(20);
        }
    }
    return w->fd >= 0;
}

/* --- the load ------------------------------------------------------------------------- */

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct run *r = w->run;
    const struct options *o = r->opt;
    const char *ctype = o->per_request == 1 ? "application/json" : "application/x-ndjson";

    for (;;) {
        if (now_s() > r->deadline)
            break;
        uint64_t q = atomic_fetch_add(&r->next, 1);
        if (q >= r->nrequests)
            break;
        uint64_t first = q * (uint64_t)o->per_request;
        uint64_t last = first + (uint64_t)o->per_request; /* exclusive */
        if (last > r->nlines)
            last = r->nlines;
        /* Lines are consecutive in the file: a request's body is one slice of it,
         * sent without copying (NDJSON for K > 1, the last newline left out). */
        const char *body = r->data + r->lines[first];
        size_t body_len = (size_t)(r->ends[last - 1] - r->lines[first]);

        char hdr[LG_HEADER_MAX];
        int hl = snprintf(hdr, sizeof(hdr),
                          "POST %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n"
                          "Content-Type: %s\r\nContent-Length: %zu\r\n\r\n",
                          o->path, o->port, o->token, ctype, body_len);
        if (hl < 0 || (size_t)hl >= sizeof(hdr)) {
            w->errors++;
            break;
        }

        double t0 = now_s();
        bool answered = false;
        for (int attempt = 0; attempt < LG_ATTEMPTS_MAX && !answered; attempt++) {
            if (attempt > 0 && now_s() > r->deadline + o->timeout_s)
                break;
            if (!conn_ensure(w)) {
                w->gave_up = true;
                break;
            }
            struct iovec iov[2] = {{hdr, (size_t)hl}, {(void *)body, body_len}};
            struct answer a;
            if (!send_all(w->fd, iov, 2) || !read_answer(w, &a)) {
                w->errors++;
                w->retries++;
                conn_close(w);
                continue;
            }
            w->status[a.status]++;
            if (a.status == 429 || a.status == 503) {
                drop_answer(w, &a);
                if (a.close)
                    conn_close(w);
                w->retries++;
                sleep_ms(attempt < 10 ? 2 : 20);
                continue;
            }
            answered = true;
            double t1 = now_s();
            uint64_t slot = atomic_fetch_add(&r->done, 1);
            double us = (t1 - t0) * 1e6;
            r->lat_us[slot] = us > 4e9 ? UINT32_MAX : (uint32_t)us;
            w->requests++;
            w->last_answer = t1;
            if (a.status >= 200 && a.status < 300) {
                w->ok++;
                w->alerts += last - first;
                w->accepted += json_count(w->buf + a.body_off, a.body_len, "accepted");
                w->rejected += json_count(w->buf + a.body_off, a.body_len, "rejected");
            }
            drop_answer(w, &a);
            if (a.close)
                conn_close(w);
        }
        if (w->gave_up)
            break;
    }
    conn_close(w);
    return NULL;
}

static void on_watchdog(int sig)
{
    (void)sig;
    static const char msg[] = "bench_loadgen: run exceeded its time bound, stopped\n";
    ssize_t w = write(STDERR_FILENO, msg, sizeof(msg) - 1);
    (void)w;
    _exit(3);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static double pct_ms(const uint32_t *sorted, uint64_t n, double p)
{
    if (n == 0)
        return 0;
    uint64_t i = (uint64_t)(p * (double)(n - 1) + 0.5);
    return sorted[i] / 1000.0;
}

/* Indexes the non-empty lines of the file. */
static bool index_lines(struct run *r, size_t size)
{
    uint64_t n = 0, cap = 1024;
    uint64_t *starts = malloc(cap * sizeof(*starts));
    uint64_t *ends = malloc(cap * sizeof(*ends));
    if (starts == NULL || ends == NULL)
        goto fail;
    size_t pos = 0;
    while (pos < size) {
        const char *nl = memchr(r->data + pos, '\n', size - pos);
        size_t end = nl != NULL ? (size_t)(nl - r->data) : size;
        size_t e = end;
        if (e > pos && r->data[e - 1] == '\r')
            e--;
        if (e > pos) {
            if (n == LG_LINES_MAX) {
                fprintf(stderr, "bench_loadgen: more than %llu lines\n", LG_LINES_MAX);
                goto fail;
            }
            if (n == cap) {
                cap *= 2;
                uint64_t *ns = realloc(starts, cap * sizeof(*starts));
                if (ns == NULL)
                    goto fail;
                starts = ns;
                uint64_t *ne = realloc(ends, cap * sizeof(*ends));
                if (ne == NULL)
                    goto fail;
                ends = ne;
            }
            starts[n] = pos;
            ends[n] = e;
            n++;
        }
        pos = end + 1;
    }
    r->lines = starts;
    r->ends = ends;
    r->nlines = n;
    return true;
fail:
    free(starts);
    free(ends);
    return false;
}

static int run_load(const struct options *o)
{
    int rc = 1;
    int fd = -1;
    void *map = MAP_FAILED;
    size_t size = 0;
    struct worker *ws = NULL;
    struct run r;
    memset(&r, 0, sizeof(r));
    r.opt = o;

    fd = open(o->file, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0) {
        fprintf(stderr, "bench_loadgen: cannot read %s: %s\n", o->file,
                fd < 0 ? strerror(errno) : "empty");
        goto out;
    }
    size = (size_t)st.st_size;
    map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED) {
        fprintf(stderr, "bench_loadgen: mmap %s: %s\n", o->file, strerror(errno));
        goto out;
    }
    r.data = map;
    if (!index_lines(&r, size))
        goto out;
    if (r.nlines == 0) {
        fprintf(stderr, "bench_loadgen: %s has no records\n", o->file);
        goto out;
    }
    r.nrequests = (r.nlines + (uint64_t)o->per_request - 1) / (uint64_t)o->per_request;
    if (o->max_requests > 0 && o->max_requests < r.nrequests)
        r.nrequests = o->max_requests;
    r.lat_us = calloc(r.nrequests, sizeof(*r.lat_us));
    ws = calloc((size_t)o->conns, sizeof(*ws));
    if (r.lat_us == NULL || ws == NULL) {
        fprintf(stderr, "bench_loadgen: out of memory\n");
        goto out;
    }

    /* The watchdog: a stuck worker cannot keep the run going past its bound. */
    signal(SIGALRM, on_watchdog);
    alarm((unsigned)(o->duration_s + 2 * o->timeout_s + 10));

    r.start = now_s();
    r.deadline = r.start + o->duration_s;
    int started = 0;
    for (int i = 0; i < o->conns; i++) {
        ws[i].run = &r;
        ws[i].fd = -1;
        ws[i].cap = LG_RESPONSE_INITIAL;
        ws[i].buf = malloc(ws[i].cap);
        if (ws[i].buf == NULL || pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]) != 0) {
            fprintf(stderr, "bench_loadgen: cannot start worker %d\n", i);
            free(ws[i].buf);
            ws[i].buf = NULL;
            break;
        }
        started++;
    }
    for (int i = 0; i < started; i++)
        pthread_join(ws[i].tid, NULL);
    alarm(0);

    uint64_t requests = 0, oks = 0, alerts = 0, accepted = 0, rejected = 0, errors = 0;
    uint64_t retries = 0;
    uint64_t status[600] = {0};
    double end = r.start;
    bool gave_up = false;
    for (int i = 0; i < started; i++) {
        requests += ws[i].requests;
        oks += ws[i].ok;
        alerts += ws[i].alerts;
        accepted += ws[i].accepted;
        rejected += ws[i].rejected;
        errors += ws[i].errors;
        retries += ws[i].retries;
        gave_up |= ws[i].gave_up;
        for (int s = 0; s < 600; s++)
            status[s] += ws[i].status[s];
        if (ws[i].last_answer > end)
            end = ws[i].last_answer;
    }
    uint64_t n = atomic_load(&r.done);
    qsort(r.lat_us, (size_t)n, sizeof(*r.lat_us), cmp_u32);
    double secs = end - r.start;
    /* Complete: every request of the run was answered 2xx. */
    bool complete = started == o->conns && oks == r.nrequests && !gave_up;
    double div = secs > 0 ? secs : 1e-9;

    printf("{\"conns\":%d,\"per_request\":%d,\"requests\":%" PRIu64 ",\"alerts\":%" PRIu64
           ",\"accepted\":%" PRIu64 ",\"rejected\":%" PRIu64 ",\"seconds\":%.3f,"
           "\"requests_per_s\":%.0f,\"alerts_per_s\":%.0f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
           "\"p99_ms\":%.3f,\"max_ms\":%.3f,\"errors\":%" PRIu64 ",\"retries\":%" PRIu64
           ",\"complete\":%s,\"status_counts\":{",
           started, o->per_request, requests, alerts, accepted, rejected, secs,
           (double)requests / div, (double)alerts / div, pct_ms(r.lat_us, n, 0.50),
           pct_ms(r.lat_us, n, 0.90), pct_ms(r.lat_us, n, 0.99),
           n > 0 ? r.lat_us[n - 1] / 1000.0 : 0.0, errors, retries, complete ? "true" : "false");
    const char *sep = "";
    for (int s = 100; s < 600; s++) {
        if (status[s] == 0)
            continue;
        printf("%s\"%d\":%" PRIu64, sep, s, status[s]);
        sep = ",";
    }
    printf("}}\n");
    rc = complete ? 0 : 1;

out:
    if (ws != NULL)
        for (int i = 0; i < o->conns; i++)
            free(ws[i].buf);
    free(ws);
    free(r.lat_us);
    free((void *)r.lines);
    free((void *)r.ends);
    if (map != MAP_FAILED)
        munmap(map, size);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* --- the small modes --------------------------------------------------------------------- */

static int run_wait(const struct options *o)
{
    double until = now_s() + o->timeout_s;
    char req[LG_HEADER_MAX];
    int n = snprintf(req, sizeof(req),
                     "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n",
                     o->wait_path, o->port);
    if (n < 0 || (size_t)n >= sizeof(req))
        return 2;
    struct worker w;
    memset(&w, 0, sizeof(w));
    w.cap = LG_RESPONSE_INITIAL;
    w.buf = malloc(w.cap);
    if (w.buf == NULL)
        return 1;
    int rc = 1;
    while (now_s() < until) {
        w.fd = lg_connect(o->port, 2);
        w.len = 0;
        if (w.fd >= 0) {
            struct iovec iov = {req, (size_t)n};
            struct answer a;
            bool ok = send_all(w.fd, &iov, 1) && read_answer(&w, &a) && a.status == 200;
            close(w.fd);
            if (ok) {
                rc = 0;
                break;
            }
        }
        sleep_ms(50);
    }
    free(w.buf);
    if (rc != 0)
        fprintf(stderr, "bench_loadgen: 127.0.0.1:%d%s did not answer 200 within %d s\n", o->port,
                o->wait_path, o->timeout_s);
    return rc;
}

static int run_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa;
    socklen_t sl = sizeof(sa);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) != 0) {
        fprintf(stderr, "bench_loadgen: no free port: %s\n", strerror(errno));
        if (fd >= 0)
            close(fd);
        return 1;
    }
    printf("%d\n", ntohs(sa.sin_port));
    close(fd);
    return 0;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: bench_loadgen --port P --token T --file F [--conns N] [--per-request K]\n"
            "                     [--max-requests R] [--duration S] [--timeout S] [--path PATH]\n"
            "       bench_loadgen --port P --wait PATH [--timeout S]\n"
            "       bench_loadgen --free-port\n"
            "Connects to 127.0.0.1 only. Defaults: 16 connections, 1 alert per request,\n"
            "every record of F, 120 s, 30 s socket timeout, /api/v1/alerts.\n");
}

static bool int_arg(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

int main(int argc, char **argv)
{
    struct options o = {.conns = 16,
                        .per_request = 1,
                        .duration_s = 120,
                        .timeout_s = 30,
                        .path = "/api/v1/alerts"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        long n;
        if (strcmp(a, "--free-port") == 0) {
            o.free_port = true;
            continue;
        }
        if (v == NULL) {
            usage();
            return 2;
        }
        i++;
        if (strcmp(a, "--port") == 0 && int_arg(v, 1, 65535, &n))
            o.port = (int)n;
        else if (strcmp(a, "--token") == 0 && strlen(v) <= LG_TOKEN_MAX)
            o.token = v;
        else if (strcmp(a, "--file") == 0)
            o.file = v;
        else if (strcmp(a, "--path") == 0 && v[0] == '/' && strlen(v) <= LG_PATH_MAX)
            o.path = v;
        else if (strcmp(a, "--wait") == 0 && v[0] == '/' && strlen(v) <= LG_PATH_MAX)
            o.wait_path = v;
        else if (strcmp(a, "--conns") == 0 && int_arg(v, 1, LG_CONNS_MAX, &n))
            o.conns = (int)n;
        else if (strcmp(a, "--per-request") == 0 && int_arg(v, 1, LG_PER_REQUEST_MAX, &n))
            o.per_request = (int)n;
        else if (strcmp(a, "--max-requests") == 0 && int_arg(v, 0, LONG_MAX, &n))
            o.max_requests = (uint64_t)n;
        else if (strcmp(a, "--duration") == 0 && int_arg(v, 1, LG_DURATION_MAX, &n))
            o.duration_s = (int)n;
        else if (strcmp(a, "--timeout") == 0 && int_arg(v, 1, LG_TIMEOUT_MAX, &n))
            o.timeout_s = (int)n;
        else {
            fprintf(stderr, "bench_loadgen: bad argument %s %s\n", a, v);
            usage();
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    if (o.free_port)
        return run_free_port();
    if (o.port == 0) {
        usage();
        return 2;
    }
    if (o.wait_path != NULL)
        return run_wait(&o);
    if (o.token == NULL || o.file == NULL) {
        usage();
        return 2;
    }
    return run_load(&o);
}

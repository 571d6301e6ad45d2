/*
 * engine_bench.c: durable playbook runs per second (issue 4's benchmark;
 * bench/RESULTS-engine.md has the figures and the method).
 *
 *   bench_engine [--runs N] [--paced N] [--waiting N] DB_DIR
 *
 * Three phases, each on a fresh SQLite database in DB_DIR (WAL,
 * synchronous=FULL, as the daemon runs it), one core, one loop:
 *   throughput  N runs of a 5-step playbook (switch, set, two no-op actions,
 *               a case note), all started at once; runs/s, steps/s;
 *   baseline    the physical floor beside it: the same number of rows the
 *               engine wrote (counted from the database afterwards) inserted
 *               into the same tables with SQLite alone, in transactions of the
 *               same average size; rows/s and the engine's ratio to it;
 *   latency     runs started at 1,000 a second for --paced N runs; the time
 *               from engine_start (the alert acknowledged) to the first
 *               action's call, p50 and p99;
 *   waiting     --waiting N runs parked on a prompt; resident memory;
 *   http        --http N runs of the same playbook with its two actions as
 *               HTTP calls (the `http` connector, libcurl's multi on the
 *               loop) to a local responder thread that answers 200 {} on
 *               keep-alive connections.
 * Prints one JSON object. Timings never fail: exit 1 only when a run did not
 * succeed.
 */
#include "connect/connector.h"
#include "core/time.h"
#include "engine/action.h"
#include "engine/engine.h"
#include "playbook/playbook.h"
#include "store/store.h"

#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_engine: %s: %s\n", what, msg);
    exit(2);
}

static const char PB_FIVE[] = "playbook: bench\n"
                              "steps:\n"
                              "  - id: check\n"
                              "    switch: \"alert.severity >= 50 and 'high' or 'low'\"\n"
                              "    cases: { high: enrich, low: enrich }\n"
                              "  - id: enrich\n"
                              "    set: { sev: \"{{ alert.severity }}\" }\n"
                              "  - id: first\n"
                              "    action: bench.first\n"
                              "    with: { host: \"{{ alert.host.name }}\" }\n"
                              "  - id: second\n"
                              "    action: noop\n"
                              "  - id: note\n"
                              "    case: { note: \"bench severity {{ vars.sev }}\" }\n";

static const char PB_WAITING[] = "playbook: waiting\n"
                                 "steps:\n"
                                 "  - id: ask\n"
                                 "    prompt: { to: \"{{ alert.user.email }}\", question: \"Was "
                                 "this you?\", options: [yes, no], timeout: 4h, default: no }\n";

static const char PB_HTTP[] = "playbook: bench-http\n"
                              "steps:\n"
                              "  - id: check\n"
                              "    switch: \"alert.severity >= 50 and 'high' or 'low'\"\n"
                              "    cases: { high: enrich, low: enrich }\n"
                              "  - id: enrich\n"
                              "    set: { sev: \"{{ alert.severity }}\" }\n"
                              "  - id: first\n"
                              "    action: resp.request\n"
                              "    with: { method: POST, path: /a, body: { host: \"{{ "
                              "alert.host.name }}\" } }\n"
                              "  - id: second\n"
                              "    action: resp.request\n"
                              "    with: { method: GET, path: /b }\n"
                              "  - id: note\n"
                              "    case: { note: \"bench severity {{ vars.sev }}\" }\n";

/* --- a local HTTP responder: one thread, poll() over keep-alive connections -- */

static int responder_fd = -1;

static void *responder(void *arg)
{
    (void)arg;
    enum { MAXC = 256 };
    struct pollfd pf[MAXC + 1];
    int n = 0;
    pf[0] = (struct pollfd){.fd = responder_fd, .events = POLLIN};
    static const char answer[] = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                 "Content-Length: 2\r\n\r\n{}";
    char buf[65536];
    for (;;) {
        if (poll(pf, (nfds_t)n + 1, -1) < 0)
            continue;
        if (pf[0].revents & POLLIN) {
            int c = accept(responder_fd, NULL, NULL);
            if (c >= 0 && n < MAXC)
                pf[++n] = (struct pollfd){.fd = c, .events = POLLIN};
            else if (c >= 0)
                close(c);
        }
        for (int i = 1; i <= n; i++) {
            if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t got = read(pf[i].fd, buf, sizeof buf);
            if (got <= 0) {
                close(pf[i].fd);
                pf[i] = pf[n--];
                i--;
                continue;
            }
            /* one answer per request head in what arrived (bodies are small
             * and come in the same read as their head) */
            for (ssize_t k = 0; k + 3 < got; k++)
                if (memcmp(buf + k, "\r\n\r\n", 4) == 0 &&
                    write(pf[i].fd, answer, sizeof answer - 1) < 0)
                    break;
        }
    }
    return NULL;
}

static int responder_start(void)
{
    responder_fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    if (responder_fd < 0 || bind(responder_fd, (struct sockaddr *)&a, sizeof a) != 0 ||
        listen(responder_fd, 128) != 0 ||
        getsockname(responder_fd, (struct sockaddr *)&a, &len) != 0)
        die("responder", "cannot listen");
    pthread_t t;
    pthread_create(&t, NULL, responder, NULL);
    pthread_detach(t);
    return ntohs(a.sin_port);
}

/* --- the first action: records when it was called ------------------------- */

static int64_t *first_at; /* run index -> ns of the first action */
static json_t *index_of;  /* run id -> index */

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static rp_status first_start(struct action_call *call)
{
    if (first_at != NULL) {
        char id[ULID_LEN + 1];
        snprintf(id, sizeof id, "%.*s", ULID_LEN, call->key);
        json_t *i = json_object_get(index_of, id);
        if (i != NULL)
            first_at[json_integer_value(i)] = now_ns();
    }
    action_succeed(call, json_object());
    return RP_OK;
}

static const struct action_def FIRST = {.name = "bench.first",
                                        .effect = ACTION_EFFECT_READ,
                                        .honours_keys = true,
                                        .help = "bench: records the call time",
                                        .start = first_start};

/* --- set-up ----------------------------------------------------------------- */

struct ctx {
    uv_loop_t loop;
    struct store *st;
    struct engine *e;
    size_t done, failed;
};

static void on_done(void *arg, const char *run_id, const char *status)
{
    (void)run_id;
    struct ctx *c = arg;
    c->done++;
    if (strcmp(status, "succeeded") != 0)
        c->failed++;
}

static void open_all(struct ctx *c, const char *path, const char *pb_text)
{
    struct rp_error err;
    unlink(path);
    char wal[1100];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(wal);
    if (store_open(path, &c->st, &err) != RP_OK)
        die("store", err.msg);
    uv_loop_init(&c->loop);
    struct engine_opts o = {.mode = ENGINE_LIVE, .on_run_done = on_done, .ctx = c};
    if (engine_new(&c->loop, c->st, &o, &c->e, &err) != RP_OK)
        die("engine", err.msg);
    struct playbook *pb = NULL;
    if (playbook_load_string("bench.yml", pb_text, strlen(pb_text), &pb, &err) != RP_OK)
        die("playbook", err.msg);
    if (engine_playbook_add(c->e, pb, &err) != RP_OK)
        die("playbook", err.msg);
    c->done = c->failed = 0;
}

static void close_all(struct ctx *c)
{
    engine_free(c->e);
    uv_run(&c->loop, UV_RUN_DEFAULT);
    uv_loop_close(&c->loop);
    store_close(c->st);
}

/* Cases for the runs' notes: one per 100 runs, as correlation would make. */
static void make_cases(struct ctx *c, size_t n, char (*ids)[ULID_LEN + 1])
{
    if (store_begin(c->st) != RP_OK)
        die("store", store_errmsg(c->st));
    for (size_t i = 0; i < n; i++) {
        struct case_row row = {0};
        if (ulid_new(row.id) != RP_OK)
            die("ulid", "no randomness");
        snprintf(row.fingerprint, sizeof row.fingerprint, "bench-%zu", i);
        snprintf(row.title, sizeof row.title, "bench case %zu", i);
        snprintf(row.kind, sizeof row.kind, "endpoint");
        snprintf(row.source, sizeof row.source, "bench");
        row.status = CASE_NEW;
        row.severity = 70;
        row.created_ms = row.updated_ms = row.detected_ms = time_now_ms();
        if (store_case_insert(c->st, &row) != RP_OK)
            die("case", store_errmsg(c->st));
        memcpy(ids[i], row.id, sizeof ids[i]);
    }
    if (store_commit(c->st) != RP_OK)
        die("store", store_errmsg(c->st));
}

static json_t *bench_alert(size_t i)
{
    char host[32];
    snprintf(host, sizeof host, "ws-%05zu", i % 50000);
    return json_pack("{s:s,s:s,s:i,s:{s:s},s:{s:s}}", "kind", "endpoint", "rule", "bench",
                     "severity", (int)(i % 100), "host", "name", host, "user", "email",
                     "alice@example.org");
}

/* --- phases ------------------------------------------------------------------ */

static double throughput(const char *dir, size_t n, const char *pb_text, const char *pb_name,
                         int64_t *rows_out, double *tx_out)
{
    struct ctx c;
    char path[1024];
    snprintf(path, sizeof path, "%s/engine-throughput.db", dir);
    open_all(&c, path, pb_text);
    size_t ncases = n / 100 + 1;
    char(*cases)[ULID_LEN + 1] = calloc(ncases, sizeof *cases);
    make_cases(&c, ncases, cases);
    int64_t t0 = now_ns();
    /* start in slices so that the loop interleaves starting and running */
    size_t started = 0;
    while (started < n || c.done < n) {
        for (size_t k = 0; k < 1000 && started < n; k++, started++) {
            json_t *a = bench_alert(started);
            struct rp_error err;
            if (engine_start(c.e, pb_name, a, cases[started / 100], NULL, "manual", NULL, NULL,
                             &err) != RP_OK)
                die("start", err.msg);
            json_decref(a);
        }
        uv_run(&c.loop, UV_RUN_NOWAIT);
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    if (c.failed > 0)
        die("throughput", "a run failed");
    sqlite3 *db = NULL;
    sqlite3_open(path, &db);
    sqlite3_stmt *s = NULL;
    sqlite3_prepare_v2(db,
                       "SELECT (SELECT count(*) FROM run_events) + (SELECT count(*) FROM "
                       "runs) + (SELECT count(*) FROM timeline)",
                       -1, &s, NULL);
    sqlite3_step(s);
    *rows_out = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    /* the engine committed once per loop turn; about how many turns it took
     * is not known from outside: the baseline uses groups of 1,000 rows, which
     * is what a busy loop turn writes */
    *tx_out = 1000;
    close_all(&c);
    free(cases);
    char wal[1100];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(path);
    unlink(wal);
    return secs;
}

/* SQLite alone: rows of the same shape into the same tables. */
static double baseline(const char *dir, int64_t rows, double per_tx)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/engine-baseline.db", dir);
    unlink(path);
    struct store *st = NULL;
    struct rp_error err;
    if (store_open(path, &st, &err) != RP_OK) /* the same schema and pragmas */
        die("store", err.msg);
    json_t *data = json_pack("{s:s,s:{s:s}}", "status", "done", "out", "host", "ws-00001");
    int64_t t0 = now_ns();
    int64_t left = rows;
    int64_t seq = 0;
    char run[ULID_LEN + 1];
    while (left > 0) {
        if (store_begin(st) != RP_OK)
            die("store", store_errmsg(st));
        for (int64_t k = 0; k < (int64_t)per_tx && left > 0; k++, left--) {
            if (seq % 13 == 0 && ulid_new(run) != RP_OK)
                die("ulid", "no randomness");
            if (store_run_event_add(st, run, ++seq, time_now_ms(), "step_done", "first", data) !=
                RP_OK)
                die("baseline", store_errmsg(st));
        }
        if (store_commit(st) != RP_OK)
            die("store", store_errmsg(st));
    }
    double secs = (double)(now_ns() - t0) / 1e9;
    json_decref(data);
    store_close(st);
    char wal[1100];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(path);
    unlink(wal);
    return secs;
}

struct paced {
    struct ctx *c;
    size_t n, started;
    int64_t *start_ns;
    char (*cases)[ULID_LEN + 1];
    uv_timer_t timer;
};

static void paced_tick(uv_timer_t *t)
{
    struct paced *p = t->data;
    if (p->started >= p->n) {
        uv_timer_stop(t);
        return;
    }
    json_t *a = bench_alert(p->started);
    struct rp_error err;
    char id[ULID_LEN + 1];
    p->start_ns[p->started] = now_ns();
    if (engine_start(p->c->e, "bench", a, p->cases[0], NULL, "manual", NULL, id, &err) != RP_OK)
        die("start", err.msg);
    json_object_set_new(index_of, id, json_integer((json_int_t)p->started));
    json_decref(a);
    p->started++;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static void latency(const char *dir, size_t n, double *p50, double *p99)
{
    struct ctx c;
    char path[1024];
    snprintf(path, sizeof path, "%s/engine-latency.db", dir);
    open_all(&c, path, PB_FIVE);
    char(*cases)[ULID_LEN + 1] = calloc(1, sizeof *cases);
    make_cases(&c, 1, cases);
    struct paced p = {.c = &c, .n = n, .cases = cases};
    p.start_ns = calloc(n, sizeof *p.start_ns);
    first_at = calloc(n, sizeof *first_at);
    index_of = json_object();
    uv_timer_init(&c.loop, &p.timer);
    p.timer.data = &p;
    uv_timer_start(&p.timer, paced_tick, 1, 1); /* 1,000 a second */
    while (c.done < n)
        uv_run(&c.loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&p.timer, NULL);
    int64_t *lat = calloc(n, sizeof *lat);
    for (size_t i = 0; i < n; i++)
        lat[i] = first_at[i] - p.start_ns[i];
    qsort(lat, n, sizeof *lat, cmp_i64);
    *p50 = (double)lat[n / 2] / 1e6;
    *p99 = (double)lat[(n * 99) / 100] / 1e6;
    free(lat);
    free(p.start_ns);
    free(first_at);
    first_at = NULL;
    json_decref(index_of);
    index_of = NULL;
    close_all(&c);
    free(cases);
    unlink(path);
}

static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "VmRSS:", 6) == 0)
            kb = strtol(line + 6, NULL, 10);
    if (f != NULL)
        fclose(f);
    return kb;
}

static void waiting(const char *dir, size_t n, long *before_kb, long *after_kb)
{
    struct ctx c;
    char path[1024];
    snprintf(path, sizeof path, "%s/engine-waiting.db", dir);
    open_all(&c, path, PB_WAITING);
    uv_run(&c.loop, UV_RUN_NOWAIT);
    *before_kb = rss_kb();
    for (size_t i = 0; i < n; i++) {
        json_t *a = bench_alert(i);
        struct rp_error err;
        if (engine_start(c.e, "waiting", a, NULL, NULL, "manual", NULL, NULL, &err) != RP_OK)
            die("start", err.msg);
        json_decref(a);
        if (i % 1000 == 999)
            uv_run(&c.loop, UV_RUN_NOWAIT);
    }
    for (int k = 0; k < 100; k++)
        uv_run(&c.loop, UV_RUN_NOWAIT);
    *after_kb = rss_kb();
    if (engine_active(c.e) != n)
        die("waiting", "runs did not all wait");
    close_all(&c);
    unlink(path);
}

int main(int argc, char **argv)
{
    size_t runs = 100000, paced_n = 5000, wait_n = 10000, http_n = 20000;
    const char *dir = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc)
            runs = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--paced") == 0 && i + 1 < argc)
            paced_n = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--waiting") == 0 && i + 1 < argc)
            wait_n = strtoul(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--http") == 0 && i + 1 < argc)
            http_n = strtoul(argv[++i], NULL, 10);
        else
            dir = argv[i];
    }
    if (dir == NULL || runs == 0 || paced_n == 0) {
        fprintf(stderr, "usage: bench_engine [--runs N] [--paced N] [--waiting N] DB_DIR\n");
        return 2;
    }
    action_registry_init();
    if (action_register(&FIRST) != RP_OK)
        die("registry", "bench.first");
    /* waiting first: the resident size of the later phases' freed heap would
     * count otherwise */
    long rss0 = 0, rss1 = 0;
    waiting(dir, wait_n, &rss0, &rss1);
    int64_t rows = 0;
    double per_tx = 0;
    double t_engine = throughput(dir, runs, PB_FIVE, "bench", &rows, &per_tx);
    double t_base = baseline(dir, rows, per_tx);
    double p50 = 0, p99 = 0;
    latency(dir, paced_n, &p50, &p99);
    /* the same playbook with its two actions as HTTP calls */
    double t_http = 0;
    if (http_n > 0) {
        int port = responder_start();
        char conf[256];
        snprintf(conf, sizeof conf,
                 "{\"resp\": {\"type\": \"http\", \"url\": \"http://127.0.0.1:%d\", "
                 "\"effect\": \"read\"}}",
                 port);
        json_t *section = json_loads(conf, 0, NULL);
        struct connector_env env = {.secrets = NULL, .packs_dir = "packs"};
        struct connectors *cs = NULL;
        struct rp_error err;
        if (connectors_load(section, &env, &cs, &err) != RP_OK)
            die("http connector", err.msg);
        json_decref(section);
        int64_t hrows = 0;
        double htx = 0;
        t_http = throughput(dir, http_n, PB_HTTP, "bench-http", &hrows, &htx);
        /* the instance's actions stay registered until exit */
        (void)cs;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double steps = (double)runs * 5;
    printf("{\"runs\":%zu,\"seconds\":%.3f,\"runs_per_s\":%.0f,\"steps_per_s\":%.0f,"
           "\"rows_written\":%lld,\"rows_per_run\":%.1f,"
           "\"baseline_rows_per_s\":%.0f,\"engine_rows_per_s\":%.0f,\"ratio_to_sqlite\":%.2f,"
           "\"paced_runs\":%zu,\"first_action_p50_ms\":%.3f,\"first_action_p99_ms\":%.3f,"
           "\"waiting_runs\":%zu,\"rss_before_kb\":%ld,\"rss_waiting_kb\":%ld,"
           "\"peak_rss_kb\":%ld,\"http_runs\":%zu,\"http_runs_per_s\":%.0f,"
           "\"http_steps_per_s\":%.0f}\n",
           runs, t_engine, (double)runs / t_engine, steps / t_engine, (long long)rows,
           (double)rows / (double)runs, (double)rows / t_base, (double)rows / t_engine,
           t_base / t_engine, paced_n, p50, p99, wait_n, rss0, rss1, ru.ru_maxrss, http_n,
           t_http > 0 ? (double)http_n / t_http : 0, t_http > 0 ? (double)http_n * 5 / t_http : 0);
    return 0;
}

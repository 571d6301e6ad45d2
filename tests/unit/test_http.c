/*
 * test_http.c: the http module (connect/http.c): retry decisions, token
 * refresh times, masking of secrets, dotted paths, JWT signing; and, against
 * a tiny responder on 127.0.0.1 started by the test (a thread answering
 * canned responses chosen by path), whole actions driven through a uv loop:
 * 200 JSON with output extraction and rendered templates, 429 with
 * Retry-After, 500 then 200, an answer slower than the timeout, malformed
 * JSON, a refused connection, OAuth2 token caching and refresh on 401,
 * Link paging; and no secret in the log lines written meanwhile.
 */
#include "connect/http_internal.h"
#include "core/log.h"
#include "engine/action.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

/* --- pure functions ------------------------------------------------------------- */

static void test_retry_delay(void **state)
{
    (void)state;
    static const struct {
        long status;
        bool refused;
        const char *ra;
        int attempt, max;
        int64_t want;
        bool too_long;
    } cases[] = {
        {429, false, "2", 1, 4, 2000, false},
        {429, false, NULL, 1, 4, 500, false},
        {429, false, NULL, 3, 4, 2000, false},
        {503, false, "0", 1, 4, 0, false},
        {500, false, NULL, 2, 4, 1000, false},
        {502, false, "7", 1, 4, 1000 * 0 + 500, false}, /* Retry-After only on 429/503 */
        {500, false, NULL, 4, 4, -1, false},
        {404, false, NULL, 1, 4, -1, false},
        {401, false, NULL, 1, 4, -1, false},
        {200, false, NULL, 1, 4, -1, false},
        {0, true, NULL, 1, 4, 500, false},
        {0, false, NULL, 1, 4, -1, false}, /* a transfer error after sending: not again */
        {429, false, "100000", 1, 4, -1, true},
        {429, false, "Wed, 21 Oct 2015 07:28:00 GMT", 1, 4, 0, false}, /* in the past */
        {500, false, NULL, 20, 30, 30000, false},                      /* capped */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool tl = false;
        int64_t d = http_retry_delay(cases[i].status, cases[i].refused, cases[i].ra,
                                     cases[i].attempt, cases[i].max, 500, 1700000000, &tl);
        if (d != cases[i].want || tl != cases[i].too_long)
            fail_msg("case %zu: status %ld: got %lld (too_long %d), want %lld", i, cases[i].status,
                     (long long)d, tl, (long long)cases[i].want);
    }
    /* an HTTP date 30 s ahead */
    bool tl;
    int64_t d =
        http_retry_delay(429, false, "Tue, 14 Nov 2023 22:13:50 GMT", 1, 4, 500, 1700000000, &tl);
    assert_int_equal(d, 30000);
}

static void test_token_refresh(void **state)
{
    (void)state;
    assert_int_equal(http_token_refresh_at(1000, 3600), 1000 + 3600000 - 60000);
    assert_int_equal(http_token_refresh_at(1000, 100), 1000 + 100000 - 10000);
    assert_int_equal(http_token_refresh_at(0, 0),
                     RP_HTTPC_TOKEN_DEFAULT_MS - RP_HTTPC_TOKEN_MARGIN_MS);
    struct http_auth a = {0};
    assert_false(http_token_valid(&a, 5));
    a.access_token = "t";
    a.expires_ms = 10;
    assert_true(http_token_valid(&a, 9));
    assert_false(http_token_valid(&a, 10));
}

static void test_mask(void **state)
{
    (void)state;
    struct http_service svc;
    struct rp_error err;
    assert_int_equal(http_service_init(&svc, "t", &err), RP_OK);
    assert_int_equal(http_service_add_secret(&svc, "s3cr3t"), RP_OK);
    assert_int_equal(http_service_add_secret(&svc, ""), RP_OK); /* ignored */
    char *m = http_mask(&svc, "a s3cr3t b s3cr3ts3cr3t");
    assert_string_equal(m, "a *** b ******");
    free(m);
    m = http_mask(&svc, "nothing here");
    assert_string_equal(m, "nothing here");
    free(m);
    json_t *j = json_pack("{s:[s,{s:s}],s:s}", "a", "x s3cr3t", "b", "s3cr3t", "s3cr3t", "k");
    http_mask_json(&svc, j);
    char *t = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT);
    assert_null(strstr(t, "s3cr3t"));
    assert_non_null(strstr(t, "\"x ***\""));
    free(t);
    json_decref(j);
    assert_string_equal(http_header_log_value("Authorization", "Bearer x"), "***");
    assert_string_equal(http_header_log_value("X-Auth-Token", "a/b"), "***");
    assert_string_equal(http_header_log_value("x-apikey", "k"), "***");
    assert_string_equal(http_header_log_value("Key", "k"), "***");
    assert_string_equal(http_header_log_value("Accept", "application/json"), "application/json");
    http_service_fini(&svc);
}

static void test_path(void **state)
{
    (void)state;
    json_t *j = json_loads("{\"a\":{\"b\":1},\"@odata.nextLink\":\"u\",\"resources\":[{\"id\":"
                           "\"x\"},{\"id\":\"y\"}],\"kibana.alert.rule.name\":\"r\",\"k\":{"
                           "\"x.y\":{\"z\":2}}}",
                           0, NULL);
    assert_int_equal(json_integer_value(http_path_get(j, "a.b")), 1);
    assert_string_equal(json_string_value(http_path_get(j, "@odata.nextLink")), "u");
    assert_string_equal(json_string_value(http_path_get(j, "resources.1.id")), "y");
    assert_string_equal(json_string_value(http_path_get(j, "kibana.alert.rule.name")), "r");
    assert_int_equal(json_integer_value(http_path_get(j, "k.x.y.z")), 2);
    assert_ptr_equal(http_path_get(j, "."), j);
    assert_null(http_path_get(j, "a.c"));
    assert_null(http_path_get(j, "resources.9.id"));
    assert_null(http_path_get(j, "resources.x"));
    assert_null(http_path_get(j, "a.b.c"));
    json_decref(j);
}

static void test_jwt(void **state)
{
    (void)state;
    json_t *c = json_pack("{s:s}", "sub", "app");
    char *t = NULL;
    assert_int_equal(http_jwt_hs256(c, "key", &t), RP_OK);
    assert_string_equal(t, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhcHAifQ."
                           "SVJs0lJlPf82nzpwbVVKW-soJHoINj5aTV6eF2QoqU8");
    free(t);
    json_decref(c);
}

static void test_spec_check(void **state)
{
    (void)state;
    static const struct {
        const char *spec;
        const char *err; /* NULL: accepted */
    } cases[] = {
        {"{\"method\":\"GET\",\"path\":\"/x\"}", NULL},
        {"{\"method\":\"{{ inputs.m }}\",\"path\":\"/x\"}", NULL},
        {"{\"method\":\"FETCH\",\"path\":\"/x\"}", "method"},
        {"{\"path\":\"/x\",\"json\":{},\"form\":{}}", "at most one"},
        {"{\"path\":\"/x\",\"json\":\"{{ a }}\",\"form\":\"{{ b }}\"}", NULL},
        {"{\"path\":\"/x\",\"url\":\"http://h\"}", "not both"},
        {"{\"path\":\"/x\",\"verb\":\"GET\"}", "unknown key"},
        {"{\"path\":\"/x\",\"paging\":{\"type\":\"link\"}}", "paging.items"},
        {"{\"path\":\"/x\",\"paging\":{\"type\":\"next\",\"items\":\"v\"}}", "paging.type"},
        {"{\"path\":\"/x\",\"paging\":{\"type\":\"cursor\",\"items\":\"v\",\"param\":\"a\"}}",
         "paging.from"},
        {"{\"path\":\"/x\",\"paging\":{\"type\":\"offset\",\"items\":\"v\"}}", "paging.param"},
        {"{\"path\":\"/x\",\"paging\":{\"type\":\"link\",\"items\":\"v\",\"max_pages\":1000}}",
         "max_pages"},
        {"{\"path\":\"/x\",\"accept\":404}", "accept"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        json_t *s = json_loads(cases[i].spec, 0, NULL);
        char msg[256] = "";
        rp_status st = http_spec_check(s, true, msg, sizeof msg);
        json_decref(s);
        if (cases[i].err == NULL && st != RP_OK)
            fail_msg("case %zu refused: %s", i, msg);
        if (cases[i].err != NULL && (st == RP_OK || strstr(msg, cases[i].err) == NULL))
            fail_msg("case %zu: want an error with \"%s\", got \"%s\"", i, cases[i].err, msg);
    }
}

/* --- the responder ------------------------------------------------------------------ */

#define SECRET_ID     "client-1"
#define SECRET_SECRET "very-secret-value-42"
#define SECRET_KEY    "api-key-XYZ-987"

struct responder {
    int fd;
    int port;
    pthread_t th;
    volatile int stop;
    pthread_mutex_t mu;
    char log[65536]; /* every request as received, separated by "\n=====\n" */
    size_t loglen;
    int hits_429, hits_500, hits_token, hits_secure, hits_alerts;
};

static struct responder R;

static void send_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

static void answer(int fd, int status, const char *extra, const char *ctype, const char *body)
{
    char head[1024];
    int n = snprintf(head, sizeof head,
                     "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%sConnection: "
                     "close\r\n\r\n",
                     status, ctype, strlen(body), extra != NULL ? extra : "");
    send_all(fd, head, (size_t)n);
    send_all(fd, body, strlen(body));
}

static void dispatch(int c, const char *req, const char *path);

static void handle(int c)
{
    char req[16384];
    size_t len = 0;
    /* headers, then Content-Length bytes */
    for (;;) {
        ssize_t r = read(c, req + len, sizeof req - 1 - len);
        if (r <= 0)
            return;
        len += (size_t)r;
        req[len] = '\0';
        char *eoh = strstr(req, "\r\n\r\n");
        if (eoh == NULL)
            continue;
        const char *cl = strcasestr(req, "Content-Length:");
        size_t want = cl != NULL && cl < eoh ? (size_t)atoi(cl + 15) : 0;
        if (len >= (size_t)(eoh + 4 - req) + want || len >= sizeof req - 1)
            break;
    }
    pthread_mutex_lock(&R.mu);
    if (R.loglen + len + 8 < sizeof R.log) {
        memcpy(R.log + R.loglen, req, len);
        R.loglen += len;
        memcpy(R.log + R.loglen, "\n=====\n", 7);
        R.loglen += 7;
        R.log[R.loglen] = '\0';
    }
    pthread_mutex_unlock(&R.mu);
    char path[2048];
    sscanf(req, "%*s %2047s", path);
    if (strncmp(path, "/slow", 5) == 0) {
        usleep(2500 * 1000);
        answer(c, 200, NULL, "application/json", "{}");
        return;
    }
    pthread_mutex_lock(&R.mu);
    dispatch(c, req, path);
    pthread_mutex_unlock(&R.mu);
}

static void dispatch(int c, const char *req, const char *path)
{
    if (strncmp(path, "/ok", 3) == 0) {
        answer(c, 200, NULL, "application/json",
               "{\"a\":{\"b\":1},\"resources\":[{\"id\":\"d1\"},{\"id\":\"d2\"}],\"echo\":"
               "\"" SECRET_KEY "\"}");
    } else if (strncmp(path, "/alerts", 7) == 0) {
        if (R.hits_alerts++ == 0)
            answer(c, 200, NULL, "application/json",
                   "{\"alerts\":[{\"id\":\"a\",\"t\":\"2025-01-01T00:00:01Z\"},{\"id\":\"b\","
                   "\"t\":\"2025-01-01T00:00:02Z\"}]}");
        else
            answer(c, 200, NULL, "application/json",
                   "{\"alerts\":[{\"id\":\"b\",\"t\":\"2025-01-01T00:00:02Z\"},{\"id\":\"c\","
                   "\"t\":\"2025-01-01T00:00:02Z\"}]}");
    } else if (strncmp(path, "/t429", 5) == 0) {
        if (R.hits_429++ % 2 == 0)
            answer(c, 429, "Retry-After: 1\r\n", "application/json", "{\"error\":\"slow down\"}");
        else
            answer(c, 200, NULL, "application/json", "{\"ok\":true}");
    } else if (strncmp(path, "/t500", 5) == 0) {
        if (R.hits_500++ % 2 == 0)
            answer(c, 500, NULL, "text/plain", "boom");
        else
            answer(c, 200, NULL, "application/json", "{\"ok\":true}");
    } else if (strncmp(path, "/always500", 10) == 0) {
        answer(c, 503, NULL, "text/plain", "down");
    } else if (strncmp(path, "/bad", 4) == 0) {
        answer(c, 200, NULL, "application/json", "{\"a\": [1, 2");
    } else if (strncmp(path, "/notfound", 9) == 0) {
        answer(c, 404, NULL, "application/json", "{\"error\":{\"code\":\"NotFoundError\"}}");
    } else if (strncmp(path, "/oauth/token", 12) == 0) {
        char body[128];
        int n = ++R.hits_token;
        snprintf(body, sizeof body, "{\"access_token\":\"tok-%d\",\"expires_in\":1799}", n);
        answer(c, 200, NULL, "application/json", body);
    } else if (strncmp(path, "/secure", 7) == 0) {
        R.hits_secure++;
        /* tok-1 is "expired": the first token is refused */
        if (strstr(req, "Authorization: Bearer tok-1\r\n") != NULL ||
            strstr(req, "Authorization: Bearer ") == NULL)
            answer(c, 401, NULL, "application/json", "{\"errors\":[\"expired\"]}");
        else
            answer(c, 200, NULL, "application/json", "{\"ok\":true}");
    } else if (strncmp(path, "/pages", 6) == 0) {
        int p = 1;
        const char *q = strstr(path, "p=");
        if (q != NULL)
            p = atoi(q + 2);
        char link[256] = "", body[128];
        if (p < 3)
            snprintf(link, sizeof link,
                     "Link: <http://127.0.0.1:%d/pages?p=%d>; rel=\"next\", <http://x/first>; "
                     "rel=\"self\"\r\n",
                     R.port, p + 1);
        snprintf(body, sizeof body, "{\"items\":[%d,%d]}", p * 10, p * 10 + 1);
        answer(c, 200, link, "application/json", body);
    } else {
        answer(c, 404, NULL, "text/plain", "no such path");
    }
}

static void *conn_main(void *arg)
{
    int c = (int)(intptr_t)arg;
    handle(c);
    close(c);
    return NULL;
}

static void *responder_main(void *arg)
{
    (void)arg;
    while (!R.stop) {
        struct pollfd p = {.fd = R.fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        int c = accept(R.fd, NULL, NULL);
        if (c < 0)
            continue;
        /* a thread per connection: a slow answer must not hold the others */
        pthread_t th;
        if (pthread_create(&th, NULL, conn_main, (void *)(intptr_t)c) != 0)
            close(c);
        else
            pthread_detach(th);
    }
    return NULL;
}

static int responder_setup(void **state)
{
    (void)state;
    memset(&R, 0, sizeof R);
    pthread_mutex_init(&R.mu, NULL);
    R.fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int one = 1;
    setsockopt(R.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(R.fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(R.fd, 64) != 0)
        return -1;
    socklen_t al = sizeof a;
    getsockname(R.fd, (struct sockaddr *)&a, &al);
    R.port = ntohs(a.sin_port);
    return pthread_create(&R.th, NULL, responder_main, NULL);
}

static int responder_teardown(void **state)
{
    (void)state;
    R.stop = 1;
    pthread_join(R.th, NULL);
    close(R.fd);
    return 0;
}

/* A port nothing listens on: bound, then closed. */
static int closed_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(fd, (struct sockaddr *)&a, sizeof a);
    socklen_t al = sizeof a;
    getsockname(fd, (struct sockaddr *)&a, &al);
    close(fd);
    return ntohs(a.sin_port);
}

/* --- driving actions --------------------------------------------------------------- */

struct outcome {
    bool done;
    rp_status st;
    json_t *output;
    char error[512];
};

static void on_done(struct action_call *call, struct action_result *res)
{
    struct outcome *o = call->engine;
    o->done = true;
    o->st = res->st;
    o->output = res->output;
    snprintf(o->error, sizeof o->error, "%s", res->error);
}

/* Runs action name with params (JSON text) on a fresh loop until done. */
static struct outcome run_action(const char *name, const char *params)
{
    struct outcome o = {0};
    const struct action_def *def = action_find(name);
    if (def == NULL)
        fail_msg("no action %s", name);
    uv_loop_t loop;
    uv_loop_init(&loop);
    json_t *p = json_loads(params, 0, NULL);
    struct action_call call = {.def = def,
                               .params = p,
                               .key = "k1",
                               .attempt = 1,
                               .loop = &loop,
                               .done = on_done,
                               .engine = &o};
    rp_status st = def->start(&call);
    assert_int_equal(st, RP_OK);
    while (!o.done && uv_run(&loop, UV_RUN_ONCE) != 0) {
    }
    assert_true(o.done);
    uv_run(&loop, UV_RUN_DEFAULT); /* let handles close */
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(http_loop_active(&loop), 0);
    json_decref(p);
    return o;
}

static struct pack_inst *instances[16];
static size_t ninstances;

static struct pack_inst *make_instance(const char *instance, const char *pack_json,
                                       const char *conf_json)
{
    json_error_t je;
    json_t *pack = json_loads(pack_json, 0, &je);
    if (pack == NULL)
        fail_msg("pack JSON: %s", je.text);
    json_t *conf = json_loads(conf_json, 0, &je);
    if (conf == NULL)
        fail_msg("conf JSON: %s", je.text);
    char path[256], msg[512];
    if (pack_validate(pack, path, sizeof path, msg, sizeof msg) != RP_OK)
        fail_msg("pack invalid: %s", msg);
    struct pack_inst *p = NULL;
    struct rp_error err;
    if (pack_instance_new(instance, "test", pack, conf, NULL, &p, &err) != RP_OK)
        fail_msg("instance: %s", err.msg);
    json_decref(pack);
    json_decref(conf);
    instances[ninstances++] = p;
    return p;
}

static char *conf_for(const char *extra)
{
    static char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"pack\":\"t\",\"url\":\"http://127.0.0.1:%d\",\"client_id\":\"" SECRET_ID
             "\",\"client_secret\":\"" SECRET_SECRET "\",\"api_key\":\"" SECRET_KEY "\"%s%s}",
             R.port, extra[0] ? "," : "", extra);
    return buf;
}

static const char PACK_KEY[] =
    "{\"name\":\"t\",\"settings\":{\"url\":{\"required\":true},\"client_id\":{},"
    "\"client_secret\":{\"secret\":true},\"api_key\":{\"secret\":true}},"
    "\"headers\":{\"User-Agent\":\"riposte-test\"},"
    "\"auth\":{\"type\":\"api_key\",\"header\":\"X-Auth-Token\",\"value\":\"${api_key}/"
    "${client_id}\"},"
    "\"actions\":{"
    "\"get\":{\"effect\":\"read\",\"help\":\"h\",\"inputs\":{\"id\":{\"required\":true}},"
    "\"request\":{\"method\":\"GET\",\"path\":\"/ok/{{ inputs.id }}\",\"query\":{\"filter\":"
    "\"hostname:'{{ inputs.host }}'\",\"ids\":\"{{ inputs.ids }}\",\"none\":\"{{ inputs.nothing "
    "}}\"}},"
    "\"output\":{\"b\":\"a.b\",\"first\":\"resources.0.id\",\"n\":\"{{ #item.resources }}\","
    "\"host\":\"{{ inputs.host }}\",\"echo\":\"echo\"}},"
    "\"post\":{\"effect\":\"modify\",\"help\":\"h\",\"request\":{\"method\":\"POST\",\"path\":"
    "\"/ok\",\"json\":{\"ids\":[\"{{ inputs.id }}\"],\"comment\":\"{{ vars.client_id }}\"}}},"
    "\"form\":{\"effect\":\"modify\",\"help\":\"h\",\"request\":{\"method\":\"POST\",\"path\":"
    "\"/ok\",\"form\":{\"ruleUIDs\":[\"a b\",\"c&d\"],\"status\":\"2\"}}},"
    "\"two\":{\"effect\":\"read\",\"help\":\"h\",\"requests\":["
    "{\"id\":\"q\",\"path\":\"/ok/q\"},"
    "{\"id\":\"skipped\",\"when\":\"false\",\"path\":\"/never\"},"
    "{\"id\":\"e\",\"path\":\"/ok/e\",\"query\":{\"ids\":\"{{ steps.q.resources[1].id }}\"}}],"
    "\"output\":{\"q\":\"{{ steps.q.a.b }}\",\"skipped\":\"{{ steps.skipped }}\"}},"
    "\"r429\":{\"effect\":\"read\",\"help\":\"h\",\"request\":{\"path\":\"/t429\"}},"
    "\"r500\":{\"effect\":\"read\",\"help\":\"h\",\"request\":{\"path\":\"/t500\"}},"
    "\"down\":{\"effect\":\"read\",\"help\":\"h\",\"request\":{\"path\":\"/always500\"}},"
    "\"slow\":{\"effect\":\"read\",\"help\":\"h\",\"request\":{\"path\":\"/slow\"}},"
    "\"bad\":{\"effect\":\"read\",\"help\":\"h\",\"request\":{\"path\":\"/bad\"}},"
    "\"nf\":{\"effect\":\"read\",\"help\":\"h\",\"request\":{\"path\":\"/notfound\"}},"
    "\"nf_ok\":{\"effect\":\"read\",\"help\":\"h\",\"request\":{\"path\":\"/notfound\","
    "\"accept\":[404]}},"
    "\"pages\":{\"effect\":\"read\",\"help\":\"h\",\"request\":{\"path\":\"/pages\",\"paging\":{"
    "\"type\":\"link\",\"items\":\"items\"}},\"output\":\"items\"},"
    "\"dots\":{\"effect\":\"read\",\"help\":\"h\",\"request\":{\"path\":\"/ok/{{ inputs.p }}\"}},"
    "\"lua\":{\"effect\":\"read\",\"help\":\"h\",\"timeout\":\"20s\",\"lua\":\"local r = "
    "http.get('/ok/lua', {query = {x = inputs.x}})\\nlocal ok, e = pcall(http.get, "
    "'/notfound')\\nsleep(0.01)\\nlog('seen ' .. vars.client_id)\\nreturn {b = r.body.a.b, "
    "status = r.status, n = #r.body.resources, failed = not ok, msg = e, enc = "
    "json.encode({1,2}), dec = json.decode('{\\\"z\\\":3}').z}\"},"
    "\"luaerr\":{\"effect\":\"read\",\"help\":\"h\",\"lua\":\"error('nope ' .. "
    "inputs.x)\"},"
    "\"luaspin\":{\"effect\":\"read\",\"help\":\"h\",\"lua\":\"while true do end\"},"
    "\"luaslow\":{\"effect\":\"read\",\"help\":\"h\",\"timeout\":\"1s\",\"lua\":\"sleep(30) "
    "return 1\"}"
    "}}";

static int log_fd = -1;
static char log_path[] = "/tmp/test_http_log_XXXXXX";

static int capture_setup(void **state)
{
    if (responder_setup(state) != 0)
        return -1;
    log_fd = mkstemp(log_path);
    fflush(stderr);
    int saved = dup(2);
    dup2(log_fd, 2);
    log_set_level(LOG_DEBUG);
    *state = (void *)(intptr_t)saved;
    return 0;
}

static int capture_teardown(void **state)
{
    int saved = (int)(intptr_t)*state;
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    responder_teardown(state);
    return 0;
}

static void test_key_actions(void **state)
{
    (void)state;
    make_instance("tk", PACK_KEY, conf_for("\"timeout\":\"1s\",\"retries\":2"));

    /* 200 JSON, rendered templates, output extraction */
    struct outcome o = run_action("tk.get", "{\"id\":\"abc x\",\"host\":\"WS01\",\"ids\":[\"1\","
                                            "\"2\"]}");
    assert_int_equal(o.st, RP_OK);
    char *out = json_dumps(o.output, JSON_SORT_KEYS | JSON_COMPACT);
    assert_string_equal(out, "{\"b\":1,\"echo\":\"***\",\"first\":\"d1\",\"host\":\"WS01\","
                             "\"n\":2}");
    free(out);
    json_decref(o.output);
    assert_non_null(strstr(R.log, "GET /ok/abc%20x?filter=hostname%3A%27WS01%27&ids=1&ids=2 "));
    assert_non_null(strstr(R.log, "X-Auth-Token: " SECRET_KEY "/" SECRET_ID "\r\n"));
    assert_non_null(strstr(R.log, "User-Agent: riposte-test\r\n"));
    assert_non_null(strstr(R.log, "Accept: application/json\r\n"));

    /* a required input missing */
    o = run_action("tk.get", "{}");
    assert_int_equal(o.st, RP_E_INVALID);
    assert_non_null(strstr(o.error, "input id is required"));

    /* JSON body and form body */
    o = run_action("tk.post", "{\"id\":\"h1\"}");
    assert_int_equal(o.st, RP_OK);
    json_decref(o.output);
    assert_non_null(strstr(R.log, "Content-Type: application/json\r\n"));
    if (strstr(R.log, "{\"ids\":[\"h1\"],\"comment\":\"" SECRET_ID "\"}") == NULL)
        fail_msg("%s", R.log);
    o = run_action("tk.form", "{}");
    assert_int_equal(o.st, RP_OK);
    json_decref(o.output);
    assert_non_null(strstr(R.log, "ruleUIDs=a%20b&ruleUIDs=c%26d&status=2"));

    /* requests in order, when, steps */
    o = run_action("tk.two", "{}");
    assert_int_equal(o.st, RP_OK);
    assert_int_equal(json_integer_value(json_object_get(o.output, "q")), 1);
    assert_true(json_is_null(json_object_get(o.output, "skipped")));
    json_decref(o.output);
    assert_non_null(strstr(R.log, "GET /ok/e?ids=d1 "));
    assert_null(strstr(R.log, "/never"));

    /* 429 with Retry-After, then 200 */
    o = run_action("tk.r429", "{}");
    assert_int_equal(o.st, RP_OK);
    json_decref(o.output);
    assert_int_equal(R.hits_429, 2);
    /* 500 then 200 */
    o = run_action("tk.r500", "{}");
    assert_int_equal(o.st, RP_OK);
    json_decref(o.output);
    assert_int_equal(R.hits_500, 2);
    /* always 503: bounded attempts (retries: 2 -> 3) then a clear failure */
    o = run_action("tk.down", "{}");
    assert_int_equal(o.st, RP_E_IO);
    assert_non_null(strstr(o.error, "HTTP 503 after retries: down"));
    /* slower than the 1 s timeout */
    o = run_action("tk.slow", "{}");
    assert_int_equal(o.st, RP_E_IO);
    assert_non_null(strstr(o.error, "timed out"));
    /* malformed JSON */
    o = run_action("tk.bad", "{}");
    assert_int_equal(o.st, RP_E_INVALID);
    assert_non_null(strstr(o.error, "malformed JSON"));
    /* 404: an error, unless accepted */
    o = run_action("tk.nf", "{}");
    assert_int_equal(o.st, RP_E_NOTFOUND);
    assert_non_null(strstr(o.error, "HTTP 404"));
    o = run_action("tk.nf_ok", "{}");
    assert_int_equal(o.st, RP_OK);
    json_decref(o.output);
    /* Link paging: three pages merged */
    o = run_action("tk.pages", "{}");
    assert_int_equal(o.st, RP_OK);
    out = json_dumps(o.output, JSON_COMPACT);
    assert_string_equal(out, "[10,11,20,21,30,31]");
    free(out);
    json_decref(o.output);
    /* a value cannot climb out of the path */
    o = run_action("tk.dots", "{\"p\":\"../admin\"}");
    assert_int_equal(o.st, RP_E_INVALID);
    o = run_action("tk.dots", "{\"p\":\"x?y=1#z\"}");
    assert_int_equal(o.st, RP_OK); /* encoded: asks for /ok/x%3Fy=1%23z */
    json_decref(o.output);
    assert_non_null(strstr(R.log, "GET /ok/x%3Fy=1%23z "));
}

static void test_lua_actions(void **state)
{
    (void)state;
    struct outcome o = run_action("tk.lua", "{\"x\":\"1\"}");
    if (o.st != RP_OK)
        fail_msg("lua: %s", o.error);
    char *out = json_dumps(o.output, JSON_SORT_KEYS | JSON_COMPACT);
    assert_non_null(strstr(out, "\"b\":1"));
    assert_non_null(strstr(out, "\"n\":2"));
    assert_non_null(strstr(out, "\"status\":200"));
    assert_non_null(strstr(out, "\"failed\":true"));
    assert_non_null(strstr(out, "\"enc\":\"[1,2]\""));
    assert_non_null(strstr(out, "\"dec\":3"));
    assert_non_null(strstr(out, "HTTP 404"));
    free(out);
    json_decref(o.output);
    assert_non_null(strstr(R.log, "GET /ok/lua?x=1 "));
    o = run_action("tk.luaerr", "{\"x\":\"y\"}");
    assert_int_equal(o.st, RP_E_INVALID);
    assert_non_null(strstr(o.error, "nope y"));
    o = run_action("tk.luaspin", "{}");
    assert_int_equal(o.st, RP_E_INVALID);
    assert_non_null(strstr(o.error, "instruction limit"));
    o = run_action("tk.luaslow", "{}");
    assert_int_equal(o.st, RP_E_IO);
    assert_non_null(strstr(o.error, "time limit"));
}

static void test_refused(void **state)
{
    (void)state;
    char conf[512];
    snprintf(conf, sizeof conf,
             "{\"url\":\"http://127.0.0.1:%d\",\"retries\":1,\"connect_timeout\":\"2s\"}",
             closed_port());
    make_instance("tr",
                  "{\"name\":\"t\",\"settings\":{\"url\":{}},\"actions\":{\"get\":{\"effect\":"
                  "\"read\",\"help\":\"h\",\"request\":{\"path\":\"/x\"}}}}",
                  conf);
    struct outcome o = run_action("tr.get", "{}");
    assert_int_equal(o.st, RP_E_IO);
    assert_non_null(strstr(o.error, "connection failed"));
    assert_non_null(strstr(o.error, "attempt 2 of 2"));
}

static const char PACK_OAUTH[] =
    "{\"name\":\"o\",\"settings\":{\"url\":{\"required\":true},\"client_id\":{},"
    "\"client_secret\":{\"secret\":true},\"api_key\":{\"secret\":true}},"
    "\"auth\":{\"type\":\"oauth2\",\"token_url\":\"${url}/oauth/token\",\"client_id\":"
    "\"${client_id}\",\"client_secret\":\"${client_secret}\"},"
    "\"actions\":{\"secure\":{\"effect\":\"read\",\"help\":\"h\",\"request\":{\"path\":"
    "\"/secure\"}},\"ok\":{\"effect\":\"read\",\"help\":\"h\",\"request\":{\"path\":\"/ok\"}}}}";

static void test_oauth(void **state)
{
    (void)state;
    make_instance("to", PACK_OAUTH, conf_for(""));
    int before = R.hits_token;
    /* first token (tok-1) refused with 401: refreshed once, then accepted */
    struct outcome o = run_action("to.secure", "{}");
    if (o.st != RP_OK)
        fail_msg("secure: %s", o.error);
    json_decref(o.output);
    assert_int_equal(R.hits_token - before, 2);
    assert_int_equal(R.hits_secure, 2);
    /* cached: no new token request */
    o = run_action("to.secure", "{}");
    assert_int_equal(o.st, RP_OK);
    json_decref(o.output);
    o = run_action("to.ok", "{}");
    assert_int_equal(o.st, RP_OK);
    json_decref(o.output);
    assert_int_equal(R.hits_token - before, 2);
    assert_non_null(strstr(R.log, "POST /oauth/token "));
    assert_non_null(strstr(R.log, "grant_type=client_credentials&client_id=" SECRET_ID
                                  "&client_secret=" SECRET_SECRET));
}

struct sink_log {
    int calls;
    char got[4][512];
    char origin[64];
    char format[32];
};

static rp_status sink_submit(void *ctx, const char *source, const char *format, const char *data,
                             size_t len)
{
    struct sink_log *l = ctx;
    if (l->calls < 4)
        snprintf(l->got[l->calls], sizeof l->got[0], "%.*s", (int)len, data);
    l->calls++;
    snprintf(l->origin, sizeof l->origin, "%s", source);
    snprintf(l->format, sizeof l->format, "%s", format);
    return RP_OK;
}

static void stop_fired(uv_timer_t *t)
{
    pack_instance_stop(t->data);
    uv_close((uv_handle_t *)t, NULL);
}

static void test_source_cursor(void **state)
{
    (void)state;
    char conf[256];
    snprintf(conf, sizeof conf,
             "{\"url\":\"http://127.0.0.1:%d\",\"sources\":{\"alerts\":{\"every\":\"1s\"}}}",
             R.port);
    struct pack_inst *p = make_instance(
        "ts",
        "{\"name\":\"t\",\"settings\":{\"url\":{}},\"sources\":{\"alerts\":{\"format\":"
        "\"json\",\"request\":{\"path\":\"/alerts\",\"query\":{\"since\":\"{{ inputs.cursor "
        "}}\"}},\"items\":\"alerts\",\"cursor\":{\"field\":\"t\",\"id\":\"id\",\"initial\":"
        "\"2025-01-01T00:00:00Z\"}}}}",
        conf);
    uv_loop_t loop;
    uv_loop_init(&loop);
    struct sink_log log = {0};
    struct source_sink sink = {.submit = sink_submit, .ctx = &log};
    struct rp_error err;
    assert_int_equal(pack_instance_sources(p, &loop, &sink, &err), RP_OK);
    uv_timer_t stop;
    uv_timer_init(&loop, &stop);
    stop.data = p;
    uv_timer_start(&stop, stop_fired, 1600, 0);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(log.calls, 2);
    assert_string_equal(log.got[0], "[{\"id\":\"a\",\"t\":\"2025-01-01T00:00:01Z\"},{\"id\":\"b\","
                                    "\"t\":\"2025-01-01T00:00:02Z\"}]");
    /* b was seen at the boundary: only c is new */
    assert_string_equal(log.got[1], "[{\"id\":\"c\",\"t\":\"2025-01-01T00:00:02Z\"}]");
    assert_string_equal(log.origin, "ts.alerts");
    assert_string_equal(log.format, "json");
    assert_non_null(strstr(R.log, "GET /alerts?since=2025-01-01T00%3A00%3A00Z "));
    assert_non_null(strstr(R.log, "GET /alerts?since=2025-01-01T00%3A00%3A02Z "));
}

static void test_no_secret_in_logs(void **state)
{
    (void)state;
    fflush(stderr);
    FILE *f = fopen(log_path, "r");
    assert_non_null(f);
    static char text[1 << 20];
    size_t n = fread(text, 1, sizeof text - 1, f);
    fclose(f);
    text[n] = '\0';
    assert_non_null(strstr(text, "http.request")); /* debug lines were written */
    assert_non_null(strstr(text, "X-Auth-Token: ***"));
    assert_null(strstr(text, SECRET_SECRET));
    assert_null(strstr(text, SECRET_KEY));
    assert_null(strstr(text, "tok-2"));
    unlink(log_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_retry_delay),   cmocka_unit_test(test_token_refresh),
        cmocka_unit_test(test_mask),          cmocka_unit_test(test_path),
        cmocka_unit_test(test_jwt),           cmocka_unit_test(test_spec_check),
        cmocka_unit_test(test_key_actions),   cmocka_unit_test(test_lua_actions),
        cmocka_unit_test(test_refused),       cmocka_unit_test(test_oauth),
        cmocka_unit_test(test_source_cursor), cmocka_unit_test(test_no_secret_in_logs),
    };
    action_registry_init();
    int failed = cmocka_run_group_tests_name("http", tests, capture_setup, capture_teardown);
    for (size_t i = 0; i < ninstances; i++)
        pack_instance_free(instances[i]);
    return failed;
}

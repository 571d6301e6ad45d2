/*
 * test_dns.c: the dns connector (connect/dns.c) through a libuv loop, with no
 * network: "localhost" and 127.0.0.1 come from /etc/hosts. The timeout path is
 * made deterministic by filling libuv's thread pool with sleeping jobs so the
 * lookup waits in the queue; the engine's cancel is exercised the same way.
 * Rejected names and addresses fail before anything is asked.
 */
#include "connect/connect_internal.h"
#include "connect/connector.h"
#include "engine/action.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

/* The pool size the test sets, so that it knows how many jobs fill it. */
#define POOL 4

struct outcome {
    int calls;
    rp_status st;
    json_t *output;
    char error[512];
};

static void on_done(struct action_call *call, struct action_result *res)
{
    struct outcome *o = call->engine;
    o->calls++;
    o->st = res->st;
    o->output = res->output;
    snprintf(o->error, sizeof o->error, "%s", res->error);
}

struct running {
    struct action_call call;
    struct outcome o;
    json_t *params;
};

static void start(uv_loop_t *loop, struct running *r, const char *name, const char *params)
{
    memset(r, 0, sizeof *r);
    const struct action_def *def = action_find(name);
    assert_non_null(def);
    r->params = json_loads(params, JSON_ALLOW_NUL, NULL);
    assert_non_null(r->params);
    r->call = (struct action_call){.def = def,
                                   .params = r->params,
                                   .key = "k",
                                   .attempt = 1,
                                   .loop = loop,
                                   .done = on_done,
                                   .engine = &r->o};
    assert_int_equal(def->start(&r->call), RP_OK);
}

/* Runs action name to completion on a fresh loop. */
static struct outcome run(const char *name, const char *params)
{
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    struct running r;
    start(&loop, &r, name, params);
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0); /* every handle closed */
    assert_int_equal(r.o.calls, 1);
    json_decref(r.params);
    return r.o;
}

static void *instance, *slow_instance;

static rp_status create(const char *name, const char *conf_text, void **out, struct rp_error *err)
{
    const struct connector_type *t = connector_type_find("dns");
    assert_non_null(t);
    json_t *conf = json_loads(conf_text, 0, NULL);
    assert_non_null(conf);
    rp_status st = t->create(name, conf, NULL, out, err);
    json_decref(conf);
    return st;
}

static int setup(void **state)
{
    (void)state;
    action_registry_init();
    struct rp_error err = {{0}};
    if (create("dns", "{\"type\": \"dns\"}", &instance, &err) != RP_OK ||
        create("dns2", "{\"type\": \"dns\", \"timeout\": \"50ms\"}", &slow_instance, &err) !=
            RP_OK) {
        fprintf(stderr, "# create: %s\n", err.msg);
        return -1;
    }
    return 0;
}

static void t_resolve_localhost(void **state)
{
    (void)state;
    /* (not "localhost.": /etc/hosts does not match it, so it would go to DNS) */
    const char *names[] = {"localhost", "LocalHost"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char params[128];
        snprintf(params, sizeof params, "{\"name\": \"%s\"}", names[i]);
        struct outcome o = run("dns.resolve", params);
        if (o.st != RP_OK)
            print_error("%s: %s\n", names[i], o.error);
        assert_int_equal(o.st, RP_OK);
        json_t *out = o.output;
        assert_string_equal(json_string_value(json_object_get(out, "name")), names[i]);
        assert_true(json_is_true(json_object_get(out, "found")));
        json_t *a = json_object_get(out, "a");
        bool seen = false;
        size_t k;
        json_t *v;
        json_array_foreach(a, k, v) seen = seen || strcmp(json_string_value(v), "127.0.0.1") == 0;
        assert_true(seen);
        assert_true(json_is_array(json_object_get(out, "aaaa")));
        assert_int_equal(json_array_size(json_object_get(out, "addresses")),
                         json_array_size(a) + json_array_size(json_object_get(out, "aaaa")));
        assert_int_equal(json_integer_value(json_object_get(out, "truncated")), 0);
        json_decref(out);
    }
}

static void t_reverse_loopback(void **state)
{
    (void)state;
    struct outcome o = run("dns.reverse", "{\"ip\": \"127.0.0.1\"}");
    if (o.st != RP_OK)
        print_error("%s\n", o.error);
    assert_int_equal(o.st, RP_OK);
    assert_string_equal(json_string_value(json_object_get(o.output, "ip")), "127.0.0.1");
    assert_true(json_is_true(json_object_get(o.output, "found")));
    json_t *names = json_object_get(o.output, "names");
    assert_int_equal(json_array_size(names), 1);
    assert_string_equal(json_string_value(json_array_get(names, 0)), "localhost");
    json_decref(o.output);
}

static void t_rejected_input(void **state)
{
    (void)state;
    char long_label[128], long_name[300];
    memset(long_label, 'a', 64);
    long_label[64] = '\0';
    /* 254 characters: 63 x 4 labels and the dots */
    snprintf(long_name, sizeof long_name, "%.63s.%.63s.%.63s.%.63s", long_label, long_label,
             long_label, long_label);
    char p1[256], p2[400];
    snprintf(p1, sizeof p1, "{\"name\": \"%s.example\"}", long_label);
    snprintf(p2, sizeof p2, "{\"name\": \"%sa\"}", long_name);
    const char *bad_names[] = {
        "{}",
        "{\"name\": 5}",
        "{\"name\": \"\"}",
        "{\"name\": \".\"}",
        "{\"name\": \".example.org\"}",
        "{\"name\": \"example..org\"}",
        "{\"name\": \"-example.org\"}",
        "{\"name\": \"example-.org\"}",
        "{\"name\": \"exa mple.org\"}",
        "{\"name\": \"example.org/x\"}",
        "{\"name\": \"b\\u00fccher.example\"}",
        "{\"name\": \"localhost\\u0000.evil\"}",
        "{\"name\": \"example.org..\"}",
        p1,
        p2,
    };
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++) {
        struct outcome o = run("dns.resolve", bad_names[i]);
        if (o.st == RP_OK)
            print_error("%s: accepted\n", bad_names[i]);
        assert_int_equal(o.st, RP_E_INVALID);
        assert_null(o.output);
    }
    const char *bad_ips[] = {
        "{}",
        "{\"ip\": \"localhost\"}",
        "{\"ip\": \"1.2.3\"}",
        "{\"ip\": \"1.2.3.4.5\"}",
        "{\"ip\": \"::1%lo\"}",
        "{\"ip\": \"300.1.1.1\"}",
        "{\"ip\": \"127.0.0.1\\u0000\"}",
        "{\"ip\": [\"127.0.0.1\"]}",
    };
    for (size_t i = 0; i < sizeof bad_ips / sizeof bad_ips[0]; i++) {
        struct outcome o = run("dns.reverse", bad_ips[i]);
        if (o.st == RP_OK)
            print_error("%s: accepted\n", bad_ips[i]);
        assert_int_equal(o.st, RP_E_INVALID);
        assert_null(o.output);
    }
}

/* Jobs that hold every pool thread for a while. */
static void sleep_work(uv_work_t *w)
{
    (void)w;
    usleep(400 * 1000);
}

static void sleep_after(uv_work_t *w, int status)
{
    (void)w;
    (void)status;
}

static void fill_pool(uv_loop_t *loop, uv_work_t jobs[POOL])
{
    for (int i = 0; i < POOL; i++)
        assert_int_equal(uv_queue_work(loop, &jobs[i], sleep_work, sleep_after), 0);
    usleep(50 * 1000); /* let the threads pick them up */
}

static void t_timeout(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    uv_work_t jobs[POOL];
    fill_pool(&loop, jobs);
    struct running r;
    start(&loop, &r, "dns2.resolve", "{\"name\": \"localhost\"}");
    struct running r2;
    start(&loop, &r2, "dns2.reverse", "{\"ip\": \"127.0.0.1\"}");
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(r.o.calls, 1);
    assert_int_equal(r.o.st, RP_E_IO);
    assert_non_null(strstr(r.o.error, "within 50 ms"));
    assert_int_equal(r2.o.calls, 1);
    assert_int_equal(r2.o.st, RP_E_IO);
    json_decref(r.params);
    json_decref(r2.params);
}

static void t_engine_cancel(void **state)
{
    (void)state;
    uv_loop_t loop;
    assert_int_equal(uv_loop_init(&loop), 0);
    uv_work_t jobs[POOL];
    fill_pool(&loop, jobs);
    struct running r;
    start(&loop, &r, "dns.resolve", "{\"name\": \"localhost\"}");
    r.call.def->cancel(&r.call);
    r.call.def->cancel(&r.call); /* twice is harmless */
    uv_run(&loop, UV_RUN_DEFAULT);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(r.o.calls, 0); /* no done after cancel */
    json_decref(r.params);

    /* a cancel after the answer came changes nothing */
    assert_int_equal(uv_loop_init(&loop), 0);
    start(&loop, &r, "dns.resolve", "{\"name\": \"localhost\"}");
    uv_run(&loop, UV_RUN_DEFAULT);
    r.call.def->cancel(&r.call);
    assert_int_equal(uv_loop_close(&loop), 0);
    assert_int_equal(r.o.calls, 1);
    json_decref(r.o.output);
    json_decref(r.params);
}

static void t_bad_config(void **state)
{
    (void)state;
    const struct {
        const char *conf, *want;
    } cases[] = {
        {"{\"type\": \"dns\", \"server\": \"1.1.1.1\"}", "connectors.d1.server: unknown key"},
        {"{\"type\": \"dns\", \"timeout\": \"soon\"}", "connectors.d1.timeout"},
        {"{\"type\": \"dns\", \"timeout\": 0}", "connectors.d1.timeout"},
        {"{\"type\": \"dns\", \"timeout\": -5}", "connectors.d1.timeout"},
        {"{\"type\": \"dns\", \"timeout\": \"2m\"}", "connectors.d1.timeout: 1 ms to 60000 ms"},
        {"{\"type\": \"dns\", \"timeout\": [1]}", "connectors.d1.timeout"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        void *inst = NULL;
        struct rp_error err = {{0}};
        assert_int_not_equal(create("d1", cases[i].conf, &inst, &err), RP_OK);
        assert_null(inst);
        if (strstr(err.msg, cases[i].want) == NULL)
            print_error("%s: %s\n", cases[i].conf, err.msg);
        assert_non_null(strstr(err.msg, cases[i].want));
    }
    assert_null(action_find("d1.resolve"));
    void *inst = NULL;
    struct rp_error err = {{0}};
    assert_int_equal(create("dns", "{\"type\": \"dns\"}", &inst, &err), RP_E_EXISTS);
    assert_int_equal(create("d3", "{\"type\": \"dns\", \"timeout\": 1500}", &inst, &err), RP_OK);
    assert_non_null(action_find("d3.reverse"));
}

int main(void)
{
    setenv("UV_THREADPOOL_SIZE", "4", 1); /* POOL; read when the pool starts */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_resolve_localhost), cmocka_unit_test(t_reverse_loopback),
        cmocka_unit_test(t_rejected_input),    cmocka_unit_test(t_timeout),
        cmocka_unit_test(t_engine_cancel),     cmocka_unit_test(t_bad_config),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}

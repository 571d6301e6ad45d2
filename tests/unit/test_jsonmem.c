/*
 * test_jsonmem.c: the per-thread cache behind jansson (src/core/jsonmem.c).
 *
 * The cache is installed once for the whole process, before the first JSON
 * value, as the binary does. Under AddressSanitizer it refuses to install (so
 * a use after free of a node stays visible): the tests then check only that
 * JSON still works and that nothing is cached.
 */
#include "core/jsonmem.h"
#include "core/limits.h"

#include <jansson.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

static bool active;

#define CACHE_CAP ((RP_JSONMEM_MAX_BLOCK / 16u) * (size_t)RP_JSONMEM_CLASS_BYTES)

/* An alert-like object: a dozen small strings, a nested object, an array. */
static json_t *alert_like(int i)
{
    json_t *a = json_pack("{s:s, s:s, s:i, s:{s:s, s:s}, s:[s, s, s]}", "kind", "auth.failure",
                          "host", "ws-01.corp.example", "n", i, "user", "name", "alice", "domain",
                          "CORP", "tags", "ssh", "brute", "linux");
    assert_non_null(a);
    return a;
}

static void t_reuse(void **state)
{
    (void)state;
    jsonmem_flush();
    assert_int_equal(jsonmem_cached_blocks(), 0);
    json_t *a = alert_like(1);
    char *before = json_dumps(a, JSON_SORT_KEYS);
    json_decref(a);
    size_t cached = jsonmem_cached_blocks();
    if (!active) {
        assert_int_equal(cached, 0);
        free(before);
        return;
    }
    assert_true(cached >= 10); /* every node, string and key pair came back */
    /* the next alert is made from the cached blocks, and is the same */
    a = alert_like(1);
    assert_true(jsonmem_cached_blocks() < cached / 2);
    char *after = json_dumps(a, JSON_SORT_KEYS);
    assert_string_equal(before, after);
    json_decref(a);
    free(before);
    free(after);
}

static void t_bounded(void **state)
{
    (void)state;
    jsonmem_flush();
    /* a burst of 100,000 values freed at once keeps at most the cap */
    json_t *arr = json_array();
    for (int i = 0; i < 100000; i++)
        assert_int_equal(json_array_append_new(arr, json_sprintf("value %d", i)), 0);
    json_decref(arr);
    assert_true(jsonmem_cached_bytes() <= CACHE_CAP);
    if (active)
        assert_true(jsonmem_cached_bytes() > 0);

    /* a long string's buffer is never cached: only its node is */
    jsonmem_flush();
    char big[4096];
    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    json_decref(json_string(big));
    assert_true(jsonmem_cached_bytes() <= RP_JSONMEM_MAX_BLOCK);
    jsonmem_flush();
    assert_int_equal(jsonmem_cached_bytes(), 0);
}

struct handoff {
    json_t *made;  /* made by the thread, freed by the main thread */
    json_t *given; /* made by the main thread, freed by the thread */
    size_t kept;   /* blocks the thread held before it exited */
    char *dump;
};

static void *worker(void *arg)
{
    struct handoff *h = arg;
    h->made = alert_like(7);
    json_decref(h->given); /* joins this thread's lists */
    for (int i = 0; i < 1000; i++)
        json_decref(alert_like(i));
    h->kept = jsonmem_cached_blocks();
    return NULL; /* the thread-exit hook frees what it holds */
}

static void t_threads(void **state)
{
    (void)state;
    jsonmem_flush();
    struct handoff h = {NULL, alert_like(3), 0, NULL};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, worker, &h), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    if (active)
        assert_true(h.kept > 0);
    else
        assert_int_equal(h.kept, 0);
    /* the main thread's lists saw none of it; the thread's value is intact */
    assert_int_equal(jsonmem_cached_blocks(), 0);
    assert_string_equal(json_string_value(json_object_get(h.made, "host")), "ws-01.corp.example");
    assert_int_equal(json_integer_value(json_object_get(h.made, "n")), 7);
    json_decref(h.made);
    if (active)
        assert_true(jsonmem_cached_blocks() > 0);
    jsonmem_flush();
}

int main(void)
{
    /* the environment switch is read before anything is installed */
    setenv("RIPOSTE_JSONMEM", "0", 1);
    if (jsonmem_install()) {
        fprintf(stderr, "RIPOSTE_JSONMEM=0 did not keep the cache out\n");
        return 1;
    }
    unsetenv("RIPOSTE_JSONMEM");
    active = jsonmem_install();
    if (jsonmem_install() != active) { /* a second call changes nothing */
        fprintf(stderr, "a second jsonmem_install() changed the answer\n");
        return 1;
    }
    const struct CMUnitTest t[] = {
        cmocka_unit_test(t_reuse),
        cmocka_unit_test(t_bounded),
        cmocka_unit_test(t_threads),
    };
    return cmocka_run_group_tests(t, NULL, NULL);
}

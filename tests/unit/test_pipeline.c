/*
 * test_pipeline.c: input bytes through normalize, correlate and store in one
 * transaction: counts, dead letters, duplicates by id, several batches in one
 * commit, and the result JSON the API answers with.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ingest/pipeline.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fx {
    char dir[64];
    char path[128];
    struct store *s;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/riposte-pipe-XXXXXX");
    if (f == NULL || mkdtemp(f->dir) == NULL)
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/t.db", f->dir);
    struct rp_error err;
    if (store_open(f->path, &f->s, &err) != RP_OK)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    store_close(f->s);
    char p[160];
    const char *sfx[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", f->path, sfx[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static struct ingest_batch *prepare(const char *input)
{
    struct ingest_opts o = {NULL, "test", "unit", "src", 0};
    struct ingest_batch *b;
    assert_int_equal(ingest_batch_new(&o, &b), RP_OK);
    assert_int_equal(ingest_batch_add_input(b, input, strlen(input)), RP_OK);
    return b;
}

static void t_counts_and_deadletters(void **state)
{
    struct fx *f = *state;
    const char *in = "{\"rule\":\"r1\",\"host\":{\"name\":\"h1\"},\"severity\":20}\n"
                     "{\"rule\":\"r1\",\"host\":{\"name\":\"h1\"},\"severity\":80}\n"
                     "{\"rule\":\"r2\",\"host\":{\"name\":\"h1\"}}\n"
                     "{\"rule\":\"r3\",\"severity\":\"abc\"}\n"
                     "not json\n"
                     "{\"rule\":\"r1\",\"host\":{\"name\":\"H1\"}}\n";
    struct ingest_batch *b = prepare(in);
    assert_int_equal(ingest_batch_records(b), 6);
    struct rp_error err;
    assert_int_equal(ingest_commit(f->s, NULL, &b, 1, &err), RP_OK);
    const struct ingest_counts *c = ingest_batch_counts(b);
    assert_int_equal(c->accepted, 4);
    assert_int_equal(c->rejected, 2);
    assert_int_equal(c->cases_created, 2);
    assert_int_equal(c->cases_updated, 2);
    assert_int_equal(c->duplicates, 0);
    int64_t dl = 0;
    assert_int_equal(store_deadletter_count(f->s, &dl), RP_OK);
    assert_int_equal(dl, 2);

    json_t *r = ingest_batch_result_json(b, 10);
    assert_int_equal(json_array_size(json_object_get(r, "ids")), 4);
    json_t *errors = json_object_get(r, "errors");
    assert_int_equal(json_array_size(errors), 2);
    json_t *e0 = json_array_get(errors, 0);
    assert_int_equal(json_integer_value(json_object_get(e0, "line")), 4);
    assert_non_null(strstr(json_string_value(json_object_get(e0, "error")), "severity"));
    json_t *e1 = json_array_get(errors, 1);
    assert_int_equal(json_integer_value(json_object_get(e1, "record")), 5);
    assert_non_null(strstr(json_string_value(json_object_get(e1, "error")), "invalid JSON"));
    /* records 1, 2 and 6 are one case: severity the max, three alerts */
    json_t *cases = json_object_get(r, "cases");
    const char *case1 = json_string_value(json_array_get(cases, 0));
    assert_string_equal(case1, json_string_value(json_array_get(cases, 1)));
    assert_string_equal(case1, json_string_value(json_array_get(cases, 3)));
    assert_string_not_equal(case1, json_string_value(json_array_get(cases, 2)));
    struct case_row row;
    assert_int_equal(store_case_get(f->s, case1, &row), RP_OK);
    assert_int_equal(row.alert_count, 3);
    assert_int_equal(row.severity, 80);
    assert_int_equal(row.status, CASE_NEW);
    json_decref(r);
    /* errors listed are capped, the count is not */
    r = ingest_batch_result_json(b, 1);
    assert_int_equal(json_array_size(json_object_get(r, "errors")), 1);
    assert_int_equal(json_integer_value(json_object_get(r, "rejected")), 2);
    json_decref(r);
    ingest_batch_free(b);
}

static void t_duplicate_ids(void **state)
{
    struct fx *f = *state;
    const char *in = "{\"id\":\"01KB0000000000000000000001\",\"title\":\"x\"}";
    struct ingest_batch *b[2] = {prepare(in), prepare(in)};
    struct rp_error err;
    /* two deliveries of the same alert in one commit, and again later */
    assert_int_equal(ingest_commit(f->s, NULL, b, 2, &err), RP_OK);
    assert_int_equal(ingest_batch_counts(b[0])->cases_created, 1);
    assert_int_equal(ingest_batch_counts(b[1])->duplicates, 1);
    assert_int_equal(ingest_batch_counts(b[1])->accepted, 1);
    struct ingest_batch *again = prepare(in);
    assert_int_equal(ingest_commit(f->s, NULL, &again, 1, &err), RP_OK);
    assert_int_equal(ingest_batch_counts(again)->duplicates, 1);
    bool found = false;
    assert_int_equal(store_alert_exists(f->s, "01KB0000000000000000000001", &found), RP_OK);
    assert_true(found);
    ingest_batch_free(b[0]);
    ingest_batch_free(b[1]);
    ingest_batch_free(again);
}

static void t_array_and_object(void **state)
{
    struct fx *f = *state;
    struct ingest_batch *b = prepare("[{\"title\":\"a\"},{\"title\":\"b\"},7]");
    struct rp_error err;
    assert_int_equal(ingest_commit(f->s, NULL, &b, 1, &err), RP_OK);
    assert_int_equal(ingest_batch_counts(b)->accepted, 2);
    assert_int_equal(ingest_batch_counts(b)->rejected, 1);
    ingest_batch_free(b);
    b = prepare("{\n \"title\": \"pretty\"\n}\n");
    assert_int_equal(ingest_commit(f->s, NULL, &b, 1, &err), RP_OK);
    assert_int_equal(ingest_batch_counts(b)->accepted, 1);
    ingest_batch_free(b);
}

static void t_window_from_config(void **state)
{
    struct fx *f = *state;
    struct config cfg;
    config_init(&cfg);
    cfg.correlate_window_ms = 1000;
    struct ingest_opts o = {&cfg, "test", "unit", "src", 1796032116000LL};
    struct ingest_batch *a, *b;
    const char *in = "{\"rule\":\"w\"}";
    assert_int_equal(ingest_batch_new(&o, &a), RP_OK);
    assert_int_equal(ingest_batch_add_input(a, in, strlen(in)), RP_OK);
    o.received_ms += 5000; /* beyond the 1 s window */
    assert_int_equal(ingest_batch_new(&o, &b), RP_OK);
    assert_int_equal(ingest_batch_add_input(b, in, strlen(in)), RP_OK);
    struct rp_error err;
    assert_int_equal(ingest_commit(f->s, &cfg, &a, 1, &err), RP_OK);
    assert_int_equal(ingest_commit(f->s, &cfg, &b, 1, &err), RP_OK);
    assert_int_equal(ingest_batch_counts(a)->cases_created, 1);
    assert_int_equal(ingest_batch_counts(b)->cases_created, 1);
    ingest_batch_free(a);
    ingest_batch_free(b);
}

/* An API page is one record of several alerts: each element is stored alone,
 * a bad one is rejected with its element number and the line it starts on. */
static void t_record_of_several(void **state)
{
    struct fx *f = *state;
    const char *in = "{\"@odata.context\": \"x\",\n"
                     " \"value\": [\n"
                     "  {\"machineId\": \"m1\", \"computerDnsName\": \"ws01\", \"title\": \"a\","
                     " \"alertCreationTime\": \"2024-05-01T10:00:00Z\"},\n"
                     "  {\"title\": \"b\", \"severity\": \"abc\"},\n"
                     "  {\"title\": \"c\"}\n"
                     " ]}\n";
    struct ingest_batch *b = prepare(in);
    assert_int_equal(ingest_batch_records(b), 3);
    struct rp_error err;
    assert_int_equal(ingest_commit(f->s, NULL, &b, 1, &err), RP_OK);
    assert_int_equal(ingest_batch_counts(b)->accepted, 2);
    assert_int_equal(ingest_batch_counts(b)->rejected, 1);
    int64_t dl = 0;
    assert_int_equal(store_deadletter_count(f->s, &dl), RP_OK);
    assert_int_equal(dl, 1);
    json_t *r = ingest_batch_result_json(b, 10);
    json_t *e = json_array_get(json_object_get(r, "errors"), 0);
    assert_int_equal(json_integer_value(json_object_get(e, "record")), 1);
    assert_int_equal(json_integer_value(json_object_get(e, "element")), 2);
    assert_int_equal(json_integer_value(json_object_get(e, "line")), 4);
    const char *why = json_string_value(json_object_get(e, "error"));
    assert_non_null(strstr(why, "element 2 (byte "));
    assert_non_null(strstr(why, "severity"));
    assert_int_equal(json_array_size(json_object_get(r, "ids")), 2);
    json_decref(r);
    ingest_batch_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(t_counts_and_deadletters, setup, teardown),
        cmocka_unit_test_setup_teardown(t_duplicate_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(t_array_and_object, setup, teardown),
        cmocka_unit_test_setup_teardown(t_window_from_config, setup, teardown),
        cmocka_unit_test_setup_teardown(t_record_of_several, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

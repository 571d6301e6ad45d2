/*
 * test_correlate.c: alerts into cases: join within the window, a new case after
 * it or after the case closed, the highest severity, and a timeline entry for
 * every change.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/time.h"
#include "correlate/correlate.h"
#include "model/alert.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T0     1796032116000LL
#define WINDOW 60000LL

struct fx {
    char dir[64];
    char path[128];
    struct store *s;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    if (f == NULL)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/riposte-corr-XXXXXX");
    if (mkdtemp(f->dir) == NULL)
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

/* Correlates one alert (fingerprint fp, severity sev, received at ms) in its own
 * transaction, or in the caller's when c is given. */
static void one(struct fx *f, struct correlate *c, const char *fp, int sev, int64_t ms,
                struct correlate_outcome *out)
{
    char text[256];
    char ts[TIME_RFC3339_LEN];
    time_format_rfc3339(ms, ts);
    snprintf(text, sizeof(text), "{\"title\":\"t-%s\",\"severity\":%d,\"fingerprint\":\"%s\"}", fp,
             sev, fp);
    json_t *in = json_loads(text, 0, NULL);
    json_t *a = NULL;
    struct alert_opts o = {ms, "test", NULL};
    assert_int_equal(alert_normalize(in, &o, &a, NULL), RP_OK);
    bool own = c == NULL;
    if (own) {
        assert_int_equal(store_begin(f->s), RP_OK);
        assert_int_equal(correlate_new(f->s, WINDOW, &c), RP_OK);
    }
    assert_int_equal(correlate_alert(c, a, out), RP_OK);
    if (own) {
        assert_int_equal(correlate_flush(c), RP_OK);
        correlate_free(c);
        assert_int_equal(store_commit(f->s), RP_OK);
    }
    json_decref(a);
    json_decref(in);
}

static void t_join_and_window(void **state)
{
    struct fx *f = *state;
    struct correlate_outcome a, b, c, d, e;
    one(f, NULL, "fp1", 30, T0, &a);
    assert_true(a.created);
    one(f, NULL, "fp1", 70, T0 + 30000, &b); /* inside the window */
    assert_false(b.created);
    assert_string_equal(a.case_id, b.case_id);
    one(f, NULL, "fp1", 10, T0 + 80000, &c); /* the window slides from the last alert */
    assert_false(c.created);
    assert_string_equal(a.case_id, c.case_id);
    one(f, NULL, "fp1", 10, T0 + 80000 + WINDOW + 1, &d); /* beyond it */
    assert_true(d.created);
    assert_string_not_equal(a.case_id, d.case_id);
    one(f, NULL, "fp2", 10, T0 + 30000, &e); /* another fingerprint */
    assert_true(e.created);

    struct case_row row;
    assert_int_equal(store_case_get(f->s, a.case_id, &row), RP_OK);
    assert_int_equal(row.alert_count, 3);
    assert_int_equal(row.severity, 70); /* the highest */
    assert_int_equal(row.first_seen_ms, T0);
    assert_int_equal(row.last_seen_ms, T0 + 80000);
    assert_int_equal(row.detected_ms, T0);
    assert_string_equal(row.title, "t-fp1");

    /* timeline: created, alert_added, severity (30 -> 70), alert_added */
    json_t *show = NULL;
    assert_int_equal(store_case_show_json(f->s, a.case_id, &show), RP_OK);
    json_t *tl = json_object_get(show, "timeline");
    const char *want[] = {"created", "alert_added", "severity", "alert_added"};
    assert_int_equal(json_array_size(tl), 4);
    for (size_t i = 0; i < 4; i++) {
        json_t *ev = json_array_get(tl, i);
        assert_string_equal(json_string_value(json_object_get(ev, "event")), want[i]);
        assert_string_equal(json_string_value(json_object_get(ev, "actor")), "correlate");
    }
    json_t *sev = json_object_get(json_array_get(tl, 2), "detail");
    assert_int_equal(json_integer_value(json_object_get(sev, "from")), 30);
    assert_int_equal(json_integer_value(json_object_get(sev, "to")), 70);
    json_decref(show);
}

static void t_closed_not_joined(void **state)
{
    struct fx *f = *state;
    struct correlate_outcome a, b;
    one(f, NULL, "fpc", 50, T0, &a);
    struct case_row row;
    assert_int_equal(store_case_get(f->s, a.case_id, &row), RP_OK);
    json_t *events = json_array();
    struct case_update u = {"closed", -1, NULL, NULL};
    assert_int_equal(case_apply_update(&row, &u, T0 + 1000, events, NULL), RP_OK);
    assert_int_equal(row.closed_ms, T0 + 1000);
    assert_int_equal(row.resolved_ms, T0 + 1000);
    assert_int_equal(row.acknowledged_ms, T0 + 1000);
    assert_int_equal(store_begin(f->s), RP_OK);
    assert_int_equal(store_case_save(f->s, &row), RP_OK);
    assert_int_equal(store_commit(f->s), RP_OK);
    json_decref(events);
    one(f, NULL, "fpc", 50, T0 + 2000, &b);
    assert_true(b.created);
    assert_string_not_equal(a.case_id, b.case_id);
}

static void t_burst_in_one_transaction(void **state)
{
    struct fx *f = *state;
    struct correlate *c;
    assert_int_equal(store_begin(f->s), RP_OK);
    assert_int_equal(correlate_new(f->s, WINDOW, &c), RP_OK);
    struct correlate_outcome first, o;
    one(f, c, "burst", 10, T0, &first);
    assert_true(first.created);
    char fp[32];
    for (int i = 0; i < 500; i++) {
        one(f, c, "burst", 10 + i % 50, T0 + i, &o);
        assert_false(o.created);
        assert_string_equal(o.case_id, first.case_id);
        snprintf(fp, sizeof(fp), "other-%d", i); /* grow the map past its first size */
        one(f, c, fp, 10, T0 + i, &o);
        assert_true(o.created);
    }
    assert_int_equal(correlate_flush(c), RP_OK);
    correlate_free(c);
    assert_int_equal(store_commit(f->s), RP_OK);
    struct case_row row;
    assert_int_equal(store_case_get(f->s, first.case_id, &row), RP_OK);
    assert_int_equal(row.alert_count, 501);
    assert_int_equal(row.severity, 59);
}

static void t_update_rules(void **state)
{
    (void)state;
    struct case_row row;
    memset(&row, 0, sizeof(row));
    row.status = CASE_NEW;
    row.severity = 40;
    json_t *ev = json_array();
    struct rp_error err;
    struct case_update bad = {"done", -1, NULL, NULL};
    assert_int_equal(case_apply_update(&row, &bad, T0, ev, &err), RP_E_INVALID);
    assert_non_null(strstr(err.msg, "'done'"));
    struct case_update bad2 = {NULL, 101, NULL, NULL};
    assert_int_equal(case_apply_update(&row, &bad2, T0, ev, &err), RP_E_INVALID);
    assert_int_equal(json_array_size(ev), 0);
    struct case_update assign = {NULL, -1, "alice", NULL};
    assert_int_equal(case_apply_update(&row, &assign, T0, ev, &err), RP_OK);
    assert_int_equal(row.acknowledged_ms, T0);
    assert_string_equal(row.assignee, "alice");
    struct case_update contain = {"contained", 90, "alice", "isolated"};
    assert_int_equal(case_apply_update(&row, &contain, T0 + 5, ev, &err), RP_OK);
    assert_int_equal(row.acknowledged_ms, T0); /* first time only */
    assert_int_equal(row.contained_ms, T0 + 5);
    assert_int_equal(row.severity, 90);
    /* assignee, status, severity, note: the same assignee again is no event */
    assert_int_equal(json_array_size(ev), 4);
    assert_string_equal(json_string_value(json_object_get(json_array_get(ev, 3), "event")), "note");
    json_decref(ev);
    char t[8];
    case_copy_text(t, sizeof(t), "abcd\xc3\xa9\xc3\xa9"); /* cut between characters */
    assert_string_equal(t, "abcd\xc3\xa9");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(t_join_and_window, setup, teardown),
        cmocka_unit_test_setup_teardown(t_closed_not_joined, setup, teardown),
        cmocka_unit_test_setup_teardown(t_burst_in_one_transaction, setup, teardown),
        cmocka_unit_test(t_update_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * test_detect.c: the failed-login detector (detect/detect.h): thresholds,
 * sliding windows in event time, group_by user / device / user+device,
 * suppression, what is not counted, the raised alert's fields (normalized as
 * the daemon would), and eviction at the key limit. Table-driven where the
 * cases are sequences of failures.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/time.h"
#include "detect/detect.h"
#include "model/alert.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1767225600000LL /* 2026-01-01T00:00:00Z */
#define S  1000LL
#define M  (60 * S)

/* What the sink received: normalized like the daemon's ingest would. */
struct sink {
    json_t *alerts; /* array */
};

static rp_status sink_submit(void *ctx, const char *source, const char *format, const char *data,
                             size_t len)
{
    struct sink *s = ctx;
    assert_string_equal(source, DETECT_SOURCE);
    assert_string_equal(format, "json");
    json_error_t je;
    json_t *in = json_loadb(data, len, 0, &je);
    assert_non_null(in);
    struct alert_opts o = {.received_ms = T0 + 3600 * S, .default_source = source};
    json_t *out = NULL;
    struct rp_error err;
    rp_status st = alert_normalize(in, &o, &out, &err);
    if (st != RP_OK)
        fail_msg("the raised alert does not normalize: %s", err.msg);
    json_decref(in);
    json_array_append_new(s->alerts, out);
    return RP_OK;
}

static json_t *failure(const char *user, const char *host, const char *ip, int64_t t)
{
    char when[TIME_RFC3339_LEN];
    time_format_rfc3339(t, when);
    json_t *a = json_pack("{s:s,s:s,s:s,s:{s:s}}", "kind", "auth", "source", "sshd", "event_time",
                          when, "auth", "result", "failure");
    if (user != NULL)
        json_object_set_new(a, "user", json_pack("{s:s}", "name", user));
    if (host != NULL)
        json_object_set_new(a, "host", json_pack("{s:s}", "name", host));
    if (ip != NULL)
        json_object_set_new(a, "src", json_pack("{s:s}", "ip", ip));
    return a;
}

static struct config_detect_rule rule(const char *name, uint32_t threshold, int64_t window,
                                      enum config_group_by by, int64_t suppress)
{
    struct config_detect_rule r = {(char *)name, threshold, window, by, 70, suppress};
    return r;
}

/* Feeds one failure; the number raised. */
static int feed(struct detect *d, const char *user, const char *host, const char *ip, int64_t t)
{
    json_t *a = failure(user, host, ip, t);
    int n = detect_observe(d, a);
    json_decref(a);
    return n;
}

/* --- thresholds and windows, as tables ------------------------------------------ */

struct seq_case {
    const char *what;
    uint32_t threshold;
    int64_t window, suppress;
    int64_t times[16]; /* offsets from T0; ends at -1 */
    int raised;        /* alerts expected in all */
};

static const struct seq_case SEQ[] = {
    {"at the threshold: nothing", 3, 10 * M, 30 * M, {0, S, 2 * S, -1}, 0},
    {"one past it: raised", 3, 10 * M, 30 * M, {0, S, 2 * S, 3 * S, -1}, 1},
    {"spread wider than the window: nothing",
     3,
     10 * M,
     30 * M,
     {0, 4 * M, 8 * M, 12 * M, 16 * M, 20 * M, -1},
     0},
    {"the window slides: the last four fit",
     3,
     10 * M,
     30 * M,
     {0, 20 * M, 21 * M, 22 * M, 23 * M, -1},
     1},
    {"out of order inside the window counts",
     3,
     10 * M,
     30 * M,
     {5 * M, 4 * M, 3 * M, 6 * M, -1},
     1},
    {"older than the window is dropped", 3, 10 * M, 30 * M, {30 * M, 31 * M, 32 * M, 0, -1}, 0},
    {"suppressed within suppress", 2, 10 * M, 30 * M, {0, S, 2 * S, 3 * S, 4 * S, 5 * S, -1}, 1},
    {"raised again after suppress",
     2,
     10 * M,
     5 * M,
     {0, S, 2 * S, 6 * M, 6 * M + S, 6 * M + 2 * S, -1},
     2},
    {"threshold 1", 1, M, M, {0, 30 * S, -1}, 1},
};

static void t_sequences(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof SEQ / sizeof SEQ[0]; i++) {
        const struct seq_case *c = &SEQ[i];
        struct config_detect_rule r =
            rule("r", c->threshold, c->window, CONFIG_GROUP_USER, c->suppress);
        struct detect *d = NULL;
        assert_int_equal(detect_new(&r, 1, NULL, NULL, &d), RP_OK);
        int raised = 0;
        for (size_t k = 0; c->times[k] >= 0; k++)
            raised += feed(d, "alice", "ws-01", "203.0.113.7", T0 + c->times[k]);
        if (raised != c->raised)
            fail_msg("%s: raised %d, want %d", c->what, raised, c->raised);
        detect_free(d);
    }
}

/* --- group_by ---------------------------------------------------------------------- */

static void t_group_by(void **state)
{
    (void)state;
    struct config_detect_rule rules[] = {
        rule("by-user", 2, 10 * M, CONFIG_GROUP_USER, 30 * M),
        rule("by-device", 2, 10 * M, CONFIG_GROUP_DEVICE, 30 * M),
        rule("by-pair", 2, 10 * M, CONFIG_GROUP_USER_DEVICE, 30 * M),
    };
    struct sink s = {json_array()};
    struct detect *d = NULL;
    assert_int_equal(detect_new(rules, 3, sink_submit, &s, &d), RP_OK);
    /* alice from three hosts: per user yes, per device and per pair no */
    assert_int_equal(feed(d, "alice", "ws-01", "10.0.0.1", T0), 0);
    assert_int_equal(feed(d, "alice", "ws-02", "10.0.0.2", T0 + S), 0);
    assert_int_equal(feed(d, "Alice", "ws-03", "10.0.0.3", T0 + 2 * S), 1);
    assert_int_equal(json_array_size(s.alerts), 1);
    json_t *a = json_array_get(s.alerts, 0);
    assert_string_equal(json_string_value(json_object_get(a, "rule")), "by-user");
    json_t *x = json_object_get(a, "extra");
    assert_string_equal(json_string_value(json_object_get(x, "key")), "alice");
    assert_int_equal(json_array_size(json_object_get(x, "src_ips")), 3);
    assert_int_equal(json_array_size(json_object_get(x, "hosts")), 3);
    /* three users on one device, by address when there is no host: per device */
    assert_int_equal(feed(d, "bob", NULL, "198.51.100.9", T0), 0);
    assert_int_equal(feed(d, "carol", NULL, "198.51.100.9", T0 + S), 0);
    assert_int_equal(feed(d, "dave", NULL, "198.51.100.9", T0 + 2 * S), 1);
    a = json_array_get(s.alerts, 1);
    assert_string_equal(json_string_value(json_object_get(a, "rule")), "by-device");
    assert_string_equal(json_string_value(json_object_get(json_object_get(a, "extra"), "key")),
                        "198.51.100.9");
    assert_int_equal(json_array_size(json_object_get(json_object_get(a, "extra"), "users")), 3);
    /* the same user on the same host: per pair (and per user, per device) */
    assert_int_equal(feed(d, "erin", "srv-db-01", NULL, T0), 0);
    assert_int_equal(feed(d, "erin", "srv-db-01", NULL, T0 + S), 0);
    assert_int_equal(feed(d, "erin", "srv-db-01", NULL, T0 + 2 * S), 3);
    a = json_array_get(s.alerts, 4);
    assert_string_equal(json_string_value(json_object_get(a, "rule")), "by-pair");
    assert_string_equal(json_string_value(json_object_get(json_object_get(a, "extra"), "key")),
                        "erin@srv-db-01");
    /* a failure without the group's field is not counted by that rule */
    assert_int_equal(feed(d, NULL, NULL, "192.0.2.1", T0), 0);
    assert_int_equal(feed(d, NULL, NULL, "192.0.2.1", T0 + S), 0);
    assert_int_equal(feed(d, NULL, NULL, "192.0.2.1", T0 + 2 * S), 1); /* by device only */
    json_decref(s.alerts);
    detect_free(d);
}

/* --- the raised alert -------------------------------------------------------------- */

static void t_alert(void **state)
{
    (void)state;
    struct config_detect_rule r = rule("ssh-brute", 3, 10 * M, CONFIG_GROUP_USER, 30 * M);
    r.severity = 85;
    struct sink s = {json_array()};
    struct detect *d = NULL;
    assert_int_equal(detect_new(&r, 1, sink_submit, &s, &d), RP_OK);
    for (int i = 0; i < 4; i++) {
        json_t *f = failure("alice", "ws-01", i < 2 ? "203.0.113.7" : "203.0.113.8", T0 + i * S);
        json_object_set_new(json_object_get(f, "user"), "email", json_string("alice@localhost"));
        detect_observe(d, f);
        json_decref(f);
    }
    assert_int_equal(json_array_size(s.alerts), 1);
    json_t *a = json_array_get(s.alerts, 0);
    assert_string_equal(json_string_value(json_object_get(a, "kind")), "auth");
    assert_string_equal(json_string_value(json_object_get(a, "source")), "detect");
    assert_string_equal(json_string_value(json_object_get(a, "rule")), "ssh-brute");
    assert_int_equal(json_integer_value(json_object_get(a, "severity")), 85);
    json_t *au = json_object_get(a, "auth");
    assert_int_equal(json_integer_value(json_object_get(au, "count")), 4);
    assert_int_equal(json_integer_value(json_object_get(au, "window_s")), 600);
    assert_string_equal(json_string_value(json_object_get(au, "result")), "failure");
    assert_string_equal(json_string_value(json_object_get(json_object_get(a, "user"), "email")),
                        "alice@localhost");
    assert_string_equal(json_string_value(json_object_get(json_object_get(a, "src"), "ip")),
                        "203.0.113.8");
    assert_int_equal(json_array_size(json_object_get(json_object_get(a, "extra"), "src_ips")), 2);
    assert_int_equal(alert_time_ms(a, "event_time", 0), T0 + 3 * S);
    const char *fp = json_string_value(json_object_get(a, "fingerprint"));
    assert_non_null(fp);
    /* the raised alert fed back is not counted; a success is not either */
    assert_int_equal(detect_observe(d, a), 0);
    json_t *ok = failure("alice", "ws-01", NULL, T0 + 5 * S);
    json_object_set_new(json_object_get(ok, "auth"), "result", json_string("success"));
    assert_int_equal(detect_observe(d, ok), 0);
    json_decref(ok);
    json_t *other = failure("alice", "ws-01", NULL, T0 + 5 * S);
    json_object_set_new(other, "kind", json_string("endpoint"));
    assert_int_equal(detect_observe(d, other), 0);
    json_decref(other);
    /* after suppression the same group raises again into the same fingerprint */
    for (int i = 0; i < 4; i++)
        feed(d, "alice", "ws-01", "203.0.113.7", T0 + 31 * M + i * S);
    assert_int_equal(json_array_size(s.alerts), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(s.alerts, 1), "fingerprint")), fp);
    struct detect_stats st;
    detect_stats_get(d, &st);
    assert_int_equal(st.raised, 2);
    assert_true(st.suppressed == 0);
    json_decref(s.alerts);
    detect_free(d);
    assert_int_equal(detect_observe(NULL, a), 0);
    detect_free(NULL);
}

/* --- limits -------------------------------------------------------------------------- */

static void t_eviction(void **state)
{
    (void)state;
    struct config_detect_rule r = rule("spray", 2, 10 * M, CONFIG_GROUP_USER, 30 * M);
    struct detect *d = NULL;
    assert_int_equal(detect_new(&r, 1, NULL, NULL, &d), RP_OK);
    /* "first" starts a burst, then a spray over more users than can be kept */
    feed(d, "first", NULL, NULL, T0);
    feed(d, "first", NULL, NULL, T0 + S);
    char name[32];
    for (int i = 0; i < RP_DETECT_KEYS_MAX + 100; i++) {
        snprintf(name, sizeof name, "user%d", i);
        assert_int_equal(feed(d, name, NULL, NULL, T0 + 2 * S), 0);
    }
    struct detect_stats st;
    detect_stats_get(d, &st);
    assert_int_equal(st.keys, RP_DETECT_KEYS_MAX);
    assert_int_equal(st.evicted, 101);
    /* "first" was the least recently seen: evicted, its count forgotten */
    assert_int_equal(feed(d, "first", NULL, NULL, T0 + 3 * S), 0);
    /* a recent key kept its count */
    snprintf(name, sizeof name, "user%d", RP_DETECT_KEYS_MAX + 99);
    assert_int_equal(feed(d, name, NULL, NULL, T0 + 3 * S), 0);
    assert_int_equal(feed(d, name, NULL, NULL, T0 + 4 * S), 1);
    detect_stats_get(d, &st);
    assert_true(st.times <= (size_t)RP_DETECT_KEYS_MAX * 3);
    detect_free(d);
}

static void t_bounded_times(void **state)
{
    (void)state;
    /* a long burst keeps at most threshold+1 times per key */
    struct config_detect_rule r = rule("loud", 5, 10 * M, CONFIG_GROUP_DEVICE, 30 * M);
    struct detect *d = NULL;
    assert_int_equal(detect_new(&r, 1, NULL, NULL, &d), RP_OK);
    int raised = 0;
    for (int i = 0; i < 1000; i++)
        raised += feed(d, "x", "ws-09", NULL, T0 + i * 100);
    assert_int_equal(raised, 1);
    struct detect_stats st;
    detect_stats_get(d, &st);
    assert_int_equal(st.times, 6);
    assert_int_equal(st.suppressed, 994);
    detect_free(d);
}

static void t_new(void **state)
{
    (void)state;
    struct detect *d = (struct detect *)1;
    assert_int_equal(detect_new(NULL, 0, NULL, NULL, &d), RP_OK);
    assert_null(d); /* no rules: no detector */
    struct config_detect_rule bad = rule("b", 0, M, CONFIG_GROUP_USER, M);
    assert_int_equal(detect_new(&bad, 1, NULL, NULL, &d), RP_E_INVALID);
    bad = rule("b", 1, 0, CONFIG_GROUP_USER, M);
    assert_int_equal(detect_new(&bad, 1, NULL, NULL, &d), RP_E_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_sequences), cmocka_unit_test(t_group_by),      cmocka_unit_test(t_alert),
        cmocka_unit_test(t_eviction),  cmocka_unit_test(t_bounded_times), cmocka_unit_test(t_new),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

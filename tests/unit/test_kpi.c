/*
 * test_kpi.c: the KPIs over a fixture store with known timestamps equal the
 * values computed by hand below; the period and options parsers accept and
 * reject what they should; the metrics registry renders valid text.
 */
#include "core/buf.h"
#include "core/metrics.h"
#include "kpi/kpi.h"
#include "kpi/report.h"
#include "model/case.h"
#include "store/store.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#define MIN  (60LL * 1000)
#define HOUR (60 * MIN)
#define DAY  (24 * HOUR)
/* the period: [T0, T0 + 7d); the previous one: [T0 - 7d, T0) */
#define T0 1767225600000LL /* 2026-01-01T00:00:00Z */

static void add_case(struct store *s, const char *id, int sev, const char *kind, const char *src,
                     int64_t detected, int64_t created, int64_t ack, int64_t contained,
                     int64_t resolved, enum case_status status, const char *human)
{
    struct case_row c;
    memset(&c, 0, sizeof c);
    snprintf(c.id, sizeof c.id, "%s", id);
    snprintf(c.fingerprint, sizeof c.fingerprint, "fp-%s", id);
    snprintf(c.title, sizeof c.title, "case %s", id);
    snprintf(c.kind, sizeof c.kind, "%s", kind);
    snprintf(c.source, sizeof c.source, "%s", src);
    c.status = status;
    c.severity = sev;
    c.alert_count = 1;
    c.detected_ms = detected;
    c.created_ms = c.updated_ms = c.first_seen_ms = c.last_seen_ms = created;
    c.acknowledged_ms = ack;
    c.contained_ms = contained;
    c.resolved_ms = resolved;
    assert_int_equal(store_case_insert(s, &c), RP_OK);
    assert_int_equal(store_timeline_add(s, id, created, "correlate", "created", NULL), RP_OK);
    if (resolved > 0)
        assert_int_equal(
            store_timeline_add(s, id, resolved, human ? human : "playbook:auto", "status", NULL),
            RP_OK);
}

static struct store *fixture(void)
{
    struct store *s = NULL;
    struct rp_error err;
    assert_int_equal(store_open(":memory:", &s, &err), RP_OK);
    assert_int_equal(store_begin(s), RP_OK);
    /*            id                            sev kind        src   detect        created   ack
     * contain    resolve */
    /* A critical, resolved in 30 min by the playbook: SLA 1h met; automated */
    add_case(s, "01AAAAAAAAAAAAAAAAAAAAAAA1", 90, "endpoint", "edr", T0 + HOUR - 10 * MIN,
             T0 + HOUR, T0 + HOUR + 5 * MIN, T0 + HOUR + 10 * MIN, T0 + HOUR + 30 * MIN,
             CASE_RESOLVED, NULL);
    /* B critical, resolved in 2h by alice: breached */
    add_case(s, "01AAAAAAAAAAAAAAAAAAAAAAA2", 85, "endpoint", "edr", T0 + DAY - 2 * MIN, T0 + DAY,
             T0 + DAY + 15 * MIN, 0, T0 + DAY + 2 * HOUR, CASE_RESOLVED, "alice");
    /* C high, resolved in 1h by api:bot (a person through the API): met */
    add_case(s, "01AAAAAAAAAAAAAAAAAAAAAAA3", 70, "phishing", "mail", T0 + 2 * DAY - 4 * MIN,
             T0 + 2 * DAY, T0 + 2 * DAY + 60 * MIN, 0, T0 + 2 * DAY + HOUR, CASE_RESOLVED,
             "api:bot");
    /* D high, open since day 3: judged at the period's end (day 7): breached open */
    add_case(s, "01AAAAAAAAAAAAAAAAAAAAAAA4", 65, "phishing", "mail", T0 + 3 * DAY - 6 * MIN,
             T0 + 3 * DAY, 0, 0, 0, CASE_NEW, NULL);
    /* E previous period: medium, resolved in 10h automatically */
    add_case(s, "01AAAAAAAAAAAAAAAAAAAAAAA5", 50, "auth", "okta", T0 - 3 * DAY - MIN, T0 - 3 * DAY,
             T0 - 3 * DAY + HOUR, 0, T0 - 3 * DAY + 10 * HOUR, CASE_RESOLVED, NULL);
    json_t *rails = json_pack("[s,s]", "budget contain 5/h", "protect dc-*");
    assert_int_equal(store_postmortem_add(s, "01AAAAAAAAAAAAAAAAAAAAAAA2", "phished admin", "MFA",
                                          rails, "alice", T0 + 2 * DAY),
                     RP_OK);
    json_decref(rails);
    /* guard decisions in the period: 2 holds by a budget, 1 deny, 3 allow */
    const char *verdicts[] = {"hold", "hold", "deny", "allow", "allow", "allow"};
    const char *rules[] = {"budget contain", "budget contain", "protected hosts[0]",
                           "none",           "none",           "none"};
    for (int i = 0; i < 6; i++) {
        char detail[256], hash[65];
        snprintf(detail, sizeof detail, "{\"verdict\":\"%s\",\"rule\":\"%s\"}", verdicts[i],
                 rules[i]);
        snprintf(hash, sizeof hash, "h%d", i);
        assert_int_equal(
            store_audit_put(s, i + 1, T0 + DAY + i, "guard", "decision", detail, "", hash), RP_OK);
    }
    assert_int_equal(store_commit(s), RP_OK);
    return s;
}

static double num(json_t *k, const char *a, const char *b, const char *c, const char *d)
{
    json_t *j = json_object_get(k, a);
    if (b)
        j = json_object_get(j, b);
    if (c)
        j = json_object_get(j, c);
    if (d)
        j = json_object_get(j, d);
    assert_true(json_is_number(j));
    return json_number_value(j);
}

#define NEAR(a, b) assert_true(fabs((a) - (b)) < 1e-6)

static void t_kpis_by_hand(void **state)
{
    (void)state;
    struct store *s = fixture();
    struct kpi_options o;
    kpi_options_init(&o);
    json_t *k = NULL;
    struct rp_error err;
    assert_int_equal(kpi_compute(s, &o, T0, T0 + 7 * DAY, T0 + 30 * DAY, &k, &err), RP_OK);
    json_t *cur = json_object_get(k, "current"), *prev = json_object_get(k, "previous");
    json_t *times = json_object_get(cur, "times");

    NEAR(num(cur, "cases", "total", NULL, NULL), 4);
    NEAR(num(cur, "cases", "by_severity", "critical", NULL), 2);
    NEAR(num(cur, "cases", "by_status", "resolved", NULL), 3);
    /* detect: 10, 2, 4, 6 min -> mean 5.5 min = 330 s; sorted 2,4,6,10:
     * p50 = 2nd = 4 min, p90 = ceil(3.6) = 4th = 10 min */
    json_t *d = json_object_get(json_object_get(times, "detect"), "all");
    NEAR(num(d, "mean_s", NULL, NULL, NULL), 330);
    NEAR(num(d, "p50_s", NULL, NULL, NULL), 240);
    NEAR(num(d, "p90_s", NULL, NULL, NULL), 600);
    /* resolve: 30 min, 2 h, 1 h -> mean 70 min; p50 = 2nd of 30,60,120 = 60 min;
     * p90 = 3rd = 120 min */
    json_t *r = json_object_get(json_object_get(times, "resolve"), "all");
    NEAR(num(r, "count", NULL, NULL, NULL), 3);
    NEAR(num(r, "mean_s", NULL, NULL, NULL), 70 * 60);
    NEAR(num(r, "p50_s", NULL, NULL, NULL), 3600);
    NEAR(num(r, "p90_s", NULL, NULL, NULL), 7200);
    /* by severity: critical 30 min and 2 h -> mean 75 min, p50 30 min */
    json_t *rc = json_object_get(json_object_get(json_object_get(times, "resolve"), "by_severity"),
                                 "critical");
    NEAR(num(rc, "mean_s", NULL, NULL, NULL), 75 * 60);
    NEAR(num(rc, "p50_s", NULL, NULL, NULL), 30 * 60);
    /* by kind: phishing resolve only C (1 h) */
    json_t *rp =
        json_object_get(json_object_get(json_object_get(times, "resolve"), "by_kind"), "phishing");
    NEAR(num(rp, "count", NULL, NULL, NULL), 1);
    NEAR(num(rp, "mean_s", NULL, NULL, NULL), 3600);
    /* acknowledge: 5, 15, 60 min -> mean 80/3 min */
    NEAR(num(times, "acknowledge", "all", "mean_s", NULL), 80.0 / 3 * 60);
    /* contain: only A, 10 min */
    NEAR(num(times, "contain", "all", "count", NULL), 1);
    NEAR(num(times, "contain", "all", "p90_s", NULL), 600);
    /* automation: 3 resolved, A only without a person -> 1/3 */
    NEAR(num(cur, "automation", "automated", NULL, NULL), 1);
    NEAR(num(cur, "automation", "rate", NULL, NULL), 1.0 / 3);
    /* SLA: critical 1h: A met, B breached; high 4h: C met, D open 4 days -> breached */
    NEAR(num(cur, "sla", "met", NULL, NULL), 2);
    NEAR(num(cur, "sla", "breached", NULL, NULL), 2);
    NEAR(num(cur, "sla", "breached_open", NULL, NULL), 1);
    NEAR(num(cur, "sla", "by_severity", "critical", "breached"), 1);
    NEAR(num(cur, "sla", "compliance", NULL, NULL), 0.5);
    /* guard: 6 decisions, 2 holds, 1 denial, 2 budget hits, 3 interventions */
    NEAR(num(cur, "guard", "decisions", NULL, NULL), 6);
    NEAR(num(cur, "guard", "holds", NULL, NULL), 2);
    NEAR(num(cur, "guard", "denials", NULL, NULL), 1);
    NEAR(num(cur, "guard", "budget_hits", NULL, NULL), 2);
    NEAR(num(cur, "guard", "interventions", NULL, NULL), 3);
    NEAR(num(cur, "guard", "by_rule", "budget contain", "hold"), 2);
    /* post-mortems */
    NEAR(num(cur, "postmortems", "cases_with", NULL, NULL), 1);
    NEAR(num(cur, "postmortems", "guard_rails_added", NULL, NULL), 2);
    /* the previous period: E alone, automated, 10 h */
    NEAR(num(prev, "cases", "total", NULL, NULL), 1);
    NEAR(num(prev, "automation", "rate", NULL, NULL), 1);
    NEAR(num(prev, "times", "resolve", "all", "mean_s"), 36000);
    NEAR(num(prev, "sla", "by_severity", "medium", "met"), 1);
    /* the trend: days; day 0 has A (critical, 30 min) */
    json_t *pts = json_object_get(json_object_get(k, "trend"), "points");
    assert_int_equal(json_array_size(pts), 7);
    NEAR(num(json_array_get(pts, 0), "resolve_mean_s", "critical", NULL, NULL), 1800);
    assert_true(json_is_null(
        json_object_get(json_object_get(json_array_get(pts, 0), "resolve_mean_s"), "high")));
    /* open high cases: D only */
    assert_int_equal(json_array_size(json_object_get(k, "open_high_severity_cases")), 1);

    /* every format renders */
    for (int f = REPORT_HTML; f <= REPORT_CSV; f++) {
        struct buf b;
        buf_init(&b, RP_KPI_REPORT_MAX);
        assert_int_equal(report_render(k, (enum report_format)f, &b), RP_OK);
        assert_true(b.len > 100);
        if (f == REPORT_CSV)
            assert_non_null(strstr(b.data, "\ntimes.resolve.mean_s,all,4200,36000\n"));
        if (f == REPORT_HTML)
            assert_null(strstr(b.data, "<script"));
        buf_fini(&b);
    }
    json_decref(k);
    kpi_options_fini(&o);
    store_close(s);
}

static void t_percentile(void **state)
{
    (void)state;
    int64_t v[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10};
    assert_int_equal(kpi_percentile(v, 10, 50), 5);
    assert_int_equal(kpi_percentile(v, 10, 90), 9);
    assert_int_equal(kpi_percentile(v, 10, 100), 10);
    assert_int_equal(kpi_percentile(v, 1, 90), 1);
    assert_int_equal(kpi_percentile(v, 3, 50), 2);
}

static void t_period(void **state)
{
    (void)state;
    struct rp_error err;
    int64_t f, t;
    assert_int_equal(kpi_period_parse(NULL, NULL, NULL, T0, &f, &t, &err), RP_OK);
    assert_true(t == T0 && f == T0 - 30 * DAY);
    assert_int_equal(kpi_period_parse("7d", NULL, NULL, T0, &f, &t, &err), RP_OK);
    assert_true(f == T0 - 7 * DAY);
    assert_int_equal(kpi_period_parse(NULL, "2026-01-01", "2026-01-08", 0, &f, &t, &err), RP_OK);
    assert_true(f == T0 && t == T0 + 7 * DAY);
    assert_int_equal(
        kpi_period_parse(NULL, "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z", 0, &f, &t, &err),
        RP_OK);
    static const char *const bad[][3] = {
        {"7d", "2026-01-01", "2026-01-02"},
        {NULL, "2026-01-01", NULL},
        {NULL, NULL, "2026-01-01"},
        {"x", NULL, NULL},
        {"0s", NULL, NULL},
        {NULL, "2026-01-02", "2026-01-01"},
        {NULL, "01/01/2026", "2026-01-02"},
        {"100000d", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(kpi_period_parse(bad[i][0], bad[i][1], bad[i][2], T0, &f, &t, &err),
                         RP_E_USAGE);
}

static void t_options(void **state)
{
    (void)state;
    struct kpi_options o;
    kpi_options_init(&o);
    struct rp_error err;
    json_t *ok = json_loads("{\"minutes_saved\":{\"default\":3,\"edr.contain_host\":15},"
                            "\"sla\":{\"critical\":\"30m\",\"info\":600}}",
                            0, NULL);
    assert_int_equal(kpi_options_from_json(&o, ok, &err), RP_OK);
    assert_true(o.minutes_default == 3 && o.sla_ms[4] == 30 * MIN && o.sla_ms[0] == 600000);
    assert_true(o.sla_ms[3] == 4 * HOUR); /* defaults kept */
    json_decref(ok);
    static const char *const bad[] = {
        "{\"sla\":{\"urgent\":\"1h\"}}",
        "{\"sla\":{\"high\":\"soon\"}}",
        "{\"minutes_saved\":{\"x\":-1}}",
        "{\"minutes_saved\":[1]}",
        "{\"other\":1}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *j = json_loads(bad[i], 0, NULL);
        assert_int_equal(kpi_options_from_json(&o, j, &err), RP_E_INVALID);
        json_decref(j);
    }
    assert_true(o.sla_ms[4] == 30 * MIN); /* unchanged by the failures */
    kpi_options_fini(&o);
}

static void t_metrics(void **state)
{
    (void)state;
    metrics_reset();
    metrics_inc("riposte_actions_total", "edr.contain_host", "ok");
    metrics_inc("riposte_actions_total", "edr.isolate", "ok");
    metrics_count_ingest("http", 3, 1);
    metrics_observe("riposte_ingest_commit_seconds", "http", 0.02);
    metrics_observe("riposte_ingest_commit_seconds", "http", 100);
    metrics_gauge_add("riposte_engine_runs_in_memory", 2);
    metrics_gauge_add("riposte_engine_runs_in_memory", -1);
    metrics_inc("riposte_runs_finished_total", "a\"b\\c\nd", NULL);
    struct buf b;
    buf_init(&b, RP_METRICS_PAGE_MAX);
    assert_int_equal(metrics_render(&b), RP_OK);
    assert_non_null(strstr(b.data, "riposte_actions_total{connector=\"edr\",result=\"ok\"} 2\n"));
    assert_non_null(
        strstr(b.data, "riposte_ingest_alerts_total{channel=\"http\",result=\"rejected\"} 1\n"));
    assert_non_null(
        strstr(b.data, "riposte_ingest_commit_seconds_bucket{channel=\"http\",le=\"0.025\"} 1\n"));
    assert_non_null(
        strstr(b.data, "riposte_ingest_commit_seconds_bucket{channel=\"http\",le=\"+Inf\"} 2\n"));
    assert_non_null(strstr(b.data, "riposte_ingest_commit_seconds_count{channel=\"http\"} 2\n"));
    assert_non_null(strstr(b.data, "riposte_engine_runs_in_memory 1\n"));
    assert_non_null(strstr(b.data, "status=\"a\\\"b\\\\c\\nd\""));
    assert_non_null(strstr(b.data, "# TYPE riposte_guard_decisions_total counter\n"));
    buf_fini(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_kpis_by_hand), cmocka_unit_test(t_percentile),
        cmocka_unit_test(t_period),       cmocka_unit_test(t_options),
        cmocka_unit_test(t_metrics),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

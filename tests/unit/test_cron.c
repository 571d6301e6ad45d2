/*
 * test_cron.c: cron schedules (playbook/cron.h): the next run from fixed
 * instants for a table of specs (steps, lists, names, Sunday as 0 and 7,
 * Vixie's day-of-month/day-of-week rule, macros, leap days, year ends), and the
 * specs that are refused with their messages.
 */
#include "core/time.h"
#include "playbook/cron.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static int64_t at(const char *rfc3339)
{
    int64_t ms = 0;
    struct rp_error err;
    assert_int_equal(time_parse_rfc3339(rfc3339, strlen(rfc3339), &ms, &err), RP_OK);
    return ms;
}

static const struct {
    const char *spec;
    const char *from;
    const char *next; /* NULL: none within five years */
} NEXT[] = {
    /* strictly after: the instant itself never counts */
    {"*/5 * * * *", "2026-01-01T00:00:00Z", "2026-01-01T00:05:00.000Z"},
    {"*/5 * * * *", "2026-01-01T00:03:59.999Z", "2026-01-01T00:05:00.000Z"},
    {"* * * * *", "2026-01-01T00:00:30Z", "2026-01-01T00:01:00.000Z"},
    {"10-30/10 * * * *", "2026-01-01T00:00:00Z", "2026-01-01T00:10:00.000Z"},
    {"10-30/10 * * * *", "2026-01-01T00:30:00Z", "2026-01-01T01:10:00.000Z"},
    {"0,30 9-17/4 * * *", "2026-01-01T13:31:00Z", "2026-01-01T17:00:00.000Z"},
    {"0,30 9-17/4 * * *", "2026-01-01T17:30:00Z", "2026-01-02T09:00:00.000Z"},
    /* weekdays: 2026-01-03 is a Saturday */
    {"0 8 * * 1-5", "2026-01-03T09:00:00Z", "2026-01-05T08:00:00.000Z"},
    {"0 8 * * mon-fri", "2026-01-05T08:00:00Z", "2026-01-06T08:00:00.000Z"},
    {"30 2 1,15 * *", "2026-01-15T02:30:00Z", "2026-02-01T02:30:00.000Z"},
    {"30 2 1,15 * *", "2026-01-14T23:59:00Z", "2026-01-15T02:30:00.000Z"},
    /* names, either case; the first Sunday of July 2026 is the 5th */
    {"0 0 * jan,jul sun", "2026-02-01T00:00:00Z", "2026-07-05T00:00:00.000Z"},
    {"0 0 1 JAN *", "2026-03-01T00:00:00Z", "2027-01-01T00:00:00.000Z"},
    /* Sunday is 0 and 7 */
    {"0 12 * * 7", "2026-01-01T00:00:00Z", "2026-01-04T12:00:00.000Z"},
    {"0 12 * * 0", "2026-01-01T00:00:00Z", "2026-01-04T12:00:00.000Z"},
    {"0 0 * * 5-7", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00.000Z"},
    {"0 0 * * 5-7", "2026-01-04T00:00:00Z", "2026-01-09T00:00:00.000Z"},
    /* both day fields restricted: either matches (the 18th is a Wednesday,
     * the 20th a Friday) */
    {"0 0 18 * 5", "2026-02-14T00:00:00Z", "2026-02-18T00:00:00.000Z"},
    {"0 0 18 * 5", "2026-02-18T00:00:00Z", "2026-02-20T00:00:00.000Z"},
    /* a day field that starts with '*' makes both required (Vixie's rule):
     * odd days that are Mondays */
    {"0 0 */2 * 1", "2026-01-01T00:00:00Z", "2026-01-05T00:00:00.000Z"},
    {"0 0 */2 * 1", "2026-01-05T00:00:00Z", "2026-01-19T00:00:00.000Z"},
    /* leap days */
    {"0 0 29 2 *", "2025-01-01T00:00:00Z", "2028-02-29T00:00:00.000Z"},
    {"0 0 29 2 *", "2028-02-29T00:00:00Z", "2032-02-29T00:00:00.000Z"},
    {"0 0 29 2 *", "2097-01-01T00:00:00Z", NULL}, /* 2100 is not leap: 2104 is too far */
    {"0 0 31 2 *", "2026-01-01T00:00:00Z", NULL},
    {"0 0 31 4,6,9,11 *", "2026-01-01T00:00:00Z", NULL},
    {"@daily", "2026-02-28T00:00:00Z", "2026-03-01T00:00:00.000Z"},
    {"@daily", "2028-02-28T00:00:00Z", "2028-02-29T00:00:00.000Z"},
    /* the last minute of a year and the rollovers */
    {"59 23 31 12 *", "2026-12-31T23:58:00Z", "2026-12-31T23:59:00.000Z"},
    {"59 23 31 12 *", "2026-12-31T23:59:00Z", "2027-12-31T23:59:00.000Z"},
    {"0 0 1 1 *", "2026-12-31T23:59:59.999Z", "2027-01-01T00:00:00.000Z"},
    {"* * * * *", "2026-12-31T23:59:00Z", "2027-01-01T00:00:00.000Z"},
    {"@hourly", "2026-12-31T23:30:00Z", "2027-01-01T00:00:00.000Z"},
    {"@yearly", "2026-06-01T00:00:00Z", "2027-01-01T00:00:00.000Z"},
    {"@annually", "2026-06-01T00:00:00Z", "2027-01-01T00:00:00.000Z"},
    {"@monthly", "2026-01-31T12:00:00Z", "2026-02-01T00:00:00.000Z"},
    {"@weekly", "2026-01-01T00:00:00Z", "2026-01-04T00:00:00.000Z"},
    {"  @midnight  ", "2026-01-01T00:00:00Z", "2026-01-02T00:00:00.000Z"},
    {" 15  3\t* * * ", "2026-01-01T04:00:00Z", "2026-01-02T03:15:00.000Z"},
    /* the far end of the calendar */
    {"0 0 1 1 *", "9999-06-01T00:00:00Z", NULL},
};

static void test_next_table(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(NEXT) / sizeof(NEXT[0]); i++) {
        struct cron *c = NULL;
        struct rp_error err = {{0}};
        rp_status st = cron_parse(NEXT[i].spec, &c, &err);
        if (st != RP_OK)
            fail_msg("%s: %s", NEXT[i].spec, err.msg);
        int64_t got = cron_next(c, at(NEXT[i].from));
        char text[TIME_RFC3339_LEN] = "-1";
        if (got >= 0)
            time_format_rfc3339(got, text);
        if (NEXT[i].next == NULL ? got != -1 : strcmp(text, NEXT[i].next) != 0)
            fail_msg("%s from %s: got %s, want %s", NEXT[i].spec, NEXT[i].from, text,
                     NEXT[i].next ? NEXT[i].next : "-1");
        cron_free(c);
    }
}

/* Every result is itself a match: following a schedule from its own results
 * for a year never goes backwards and never repeats. */
static void test_next_chain(void **state)
{
    (void)state;
    struct cron *c = NULL;
    struct rp_error err;
    assert_int_equal(cron_parse("*/7 */5 1-10,20 * mon,wed", &c, &err), RP_OK);
    int64_t t = at("2026-01-01T00:00:00Z"), end = at("2027-01-01T00:00:00Z");
    int n = 0;
    while (t < end) {
        int64_t next = cron_next(c, t);
        assert_true(next > t);
        assert_int_equal(next % 60000, 0);
        t = next;
        n++;
    }
    assert_true(n > 1000);
    cron_free(c);
}

static void test_before_epoch(void **state)
{
    (void)state;
    struct cron *c = NULL;
    struct rp_error err;
    assert_int_equal(cron_parse("* * * * *", &c, &err), RP_OK);
    assert_int_equal(cron_next(c, -30000), 0);
    assert_int_equal(cron_next(c, -60000), 0);
    assert_int_equal(cron_next(c, 0), 60000);
    cron_free(c);
}

static const struct {
    const char *spec;
    const char *msg;
} BAD[] = {
    {"", "cron: empty schedule"},
    {"   ", "cron: empty schedule"},
    {"* * * *", "cron: expected 5 fields (minute hour day-of-month month day-of-week)"},
    {"* * * * * *", "cron: expected 5 fields (minute hour day-of-month month day-of-week)"},
    {"60 * * * *", "cron: minute: 60 is out of range 0-59"},
    {"0 24 * * *", "cron: hour: 24 is out of range 0-23"},
    {"0 0 0 * *", "cron: day-of-month: 0 is out of range 1-31"},
    {"0 0 32 * *", "cron: day-of-month: 32 is out of range 1-31"},
    {"0 0 * 13 *", "cron: month: 13 is out of range 1-12"},
    {"0 0 * 0 *", "cron: month: 0 is out of range 1-12"},
    {"0 0 * * 8", "cron: day-of-week: 8 is out of range 0-7"},
    {"99999999999 * * * *", "cron: minute: number too large"},
    {"*/0 * * * *", "cron: minute: bad step \"0\""},
    {"*/ * * * *", "cron: minute: bad step \"\""},
    {"*/61 * * * *", "cron: minute: bad step \"61\""},
    {"5-1 * * * *", "cron: minute: range 5-1 is backwards"},
    {"5/10 * * * *", "cron: minute: a step needs a range or *"},
    {"0 0 * foo *", "cron: month: bad value \"foo\""},
    {"0 0 * * monday", "cron: day-of-week: bad value \"monday\""},
    {"0 0 * * mon-", "cron: day-of-week: bad value \"\""},
    {"0 0 jan * *", "cron: day-of-month: bad value \"jan\""},
    {"1,,2 * * * *", "cron: minute: bad value \"\""},
    {"1, * * * *", "cron: minute: list ends with ','"},
    {"*x * * * *", "cron: minute: unexpected \"x\""},
    {"1-2-3 * * * *", "cron: minute: unexpected \"-\""},
    {"-1 * * * *", "cron: minute: bad value \"\""},
    {"@reboot", "cron: unknown macro \"@reboot\" (@hourly, @daily, @weekly, @monthly, @yearly)"},
    {"@daily 5", "cron: unknown macro \"@daily\" (@hourly, @daily, @weekly, @monthly, @yearly)"},
    {"@", "cron: unknown macro \"@\" (@hourly, @daily, @weekly, @monthly, @yearly)"},
};

static void test_rejected(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(BAD) / sizeof(BAD[0]); i++) {
        struct cron *c = (struct cron *)&c; /* must be reset to NULL */
        struct rp_error err = {{0}};
        rp_status st = cron_parse(BAD[i].spec, &c, &err);
        if (st != RP_E_INVALID || c != NULL || strcmp(err.msg, BAD[i].msg) != 0)
            fail_msg("\"%s\": status %d, message \"%s\", want \"%s\"", BAD[i].spec, (int)st,
                     err.msg, BAD[i].msg);
    }
    cron_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_next_table),
        cmocka_unit_test(test_next_chain),
        cmocka_unit_test(test_before_epoch),
        cmocka_unit_test(test_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

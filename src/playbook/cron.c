/*
 * cron.c: five-field cron schedules (cron.h), in UTC.
 *
 * A schedule is kept as one bit set per field. cron_next walks forward from
 * the given instant by the coarsest field that does not match: a month that
 * does not match skips to the first of the next month, a day to the next
 * midnight, an hour to the next full hour, and minutes are looked up in the
 * bit set, so five years are crossed in a few thousand steps at most. The
 * calendar is the C library's UTC one (gmtime_r, timegm), so leap years are
 * its business.
 *
 * Pure functions; a struct cron is immutable and any thread may read it.
 */
#include "playbook/cron.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

struct cron {
    uint64_t minutes; /* bit m: minute m (0-59) */
    uint32_t hours;   /* bit h (0-23) */
    uint32_t mdays;   /* bit d (1-31) */
    uint32_t months;  /* bit m (1-12) */
    uint32_t wdays;   /* bit d (0-6, 0 Sunday) */
    bool mday_star;   /* the field began with '*' (Vixie's DOM_STAR) */
    bool wday_star;
};

struct field {
    const char *name;
    int lo, hi;
    const char *const *names; /* three-letter names, for lo..hi, or NULL */
};

static const char *const MONTHS[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                     "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const DAYS[] = {"sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun"};

static const struct field FIELDS[5] = {
    {"minute", 0, 59, NULL},  {"hour", 0, 23, NULL},       {"day-of-month", 1, 31, NULL},
    {"month", 1, 12, MONTHS}, {"day-of-week", 0, 7, DAYS},
};

/* One number or name at *p; advances p. */
static rp_status read_value(const struct field *f, const char **p, const char *end, int *out,
                            struct rp_error *err)
{
    const char *s = *p;
    if (s < end && isdigit((unsigned char)*s)) {
        int v = 0;
        while (s < end && isdigit((unsigned char)*s)) {
            if (v > 1000)
                return rp_error_set(err, RP_E_INVALID, "cron: %s: number too large", f->name);
            v = v * 10 + (*s++ - '0');
        }
        if (v < f->lo || v > f->hi)
            return rp_error_set(err, RP_E_INVALID, "cron: %s: %d is out of range %d-%d", f->name, v,
                                f->lo, f->hi);
        *p = s;
        *out = v;
        return RP_OK;
    }
    if (f->names != NULL && end - s >= 3 && (end - s == 3 || !isalpha((unsigned char)s[3]))) {
        for (int i = 0; i <= f->hi - f->lo; i++) {
            if (strncasecmp(s, f->names[i], 3) == 0) {
                *p = s + 3;
                *out = f->lo + i;
                return RP_OK;
            }
        }
    }
    int n = 0;
    while (s + n < end && s[n] != ',' && s[n] != '-' && s[n] != '/' && n < 16)
        n++;
    return rp_error_set(err, RP_E_INVALID, "cron: %s: bad value \"%.*s\"", f->name, n, s);
}

/* One field of text [s, end) into a bit set. */
static rp_status parse_field(const struct field *f, const char *s, const char *end, uint64_t *bits,
                             bool *star, struct rp_error *err)
{
    rp_status st;
    *bits = 0;
    *star = *s == '*';
    while (s < end) {
        int lo, hi, step = 1;
        bool range = true;
        if (*s == '*') {
            lo = f->lo;
            hi = f->hi;
            s++;
        } else {
            if ((st = read_value(f, &s, end, &lo, err)) != RP_OK)
                return st;
            hi = lo;
            range = s < end && *s == '-';
            if (range) {
                s++;
                if ((st = read_value(f, &s, end, &hi, err)) != RP_OK)
                    return st;
                if (hi < lo)
                    return rp_error_set(err, RP_E_INVALID, "cron: %s: range %d-%d is backwards",
                                        f->name, lo, hi);
            }
        }
        if (s < end && *s == '/') {
            const char *q = ++s;
            step = 0;
            while (s < end && isdigit((unsigned char)*s) && step <= f->hi)
                step = step * 10 + (*s++ - '0');
            if (s == q || step == 0 || step > f->hi - f->lo + 1 ||
                (s < end && isdigit((unsigned char)*s)))
                return rp_error_set(err, RP_E_INVALID, "cron: %s: bad step \"%.*s\"", f->name,
                                    (int)(s - q), q);
            if (!range)
                return rp_error_set(err, RP_E_INVALID, "cron: %s: a step needs a range or *",
                                    f->name);
        }
        for (int v = lo; v <= hi; v += step)
            *bits |= (uint64_t)1 << v;
        if (s < end && *s != ',')
            return rp_error_set(err, RP_E_INVALID, "cron: %s: unexpected \"%c\"", f->name, *s);
        if (s < end && ++s == end)
            return rp_error_set(err, RP_E_INVALID, "cron: %s: list ends with ','", f->name);
    }
    return RP_OK;
}

static const struct {
    const char *name;
    const char *spec;
} MACROS[] = {
    {"@yearly", "0 0 1 1 *"}, {"@annually", "0 0 1 1 *"}, {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"}, {"@daily", "0 0 * * *"},    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
};

rp_status cron_parse(const char *text, struct cron **out, struct rp_error *err)
{
    struct cron c = {0};
    const char *p = text;
    *out = NULL;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '@') {
        size_t n = strcspn(p, " \t\r\n");
        const char *rest = p + n + strspn(p + n, " \t\r\n");
        for (size_t i = 0; i < sizeof(MACROS) / sizeof(MACROS[0]); i++)
            if (strlen(MACROS[i].name) == n && strncmp(p, MACROS[i].name, n) == 0 && !*rest)
                return cron_parse(MACROS[i].spec, out, err);
        return rp_error_set(err, RP_E_INVALID,
                            "cron: unknown macro \"%.*s\" (@hourly, @daily, @weekly, @monthly, "
                            "@yearly)",
                            (int)(n < 32 ? n : 32), p);
    }
    uint64_t bits[5];
    bool star[5];
    int nf = 0;
    while (*p) {
        const char *end = p + strcspn(p, " \t\r\n");
        if (nf == 5) {
            nf++;
            break;
        }
        rp_status st = parse_field(&FIELDS[nf], p, end, &bits[nf], &star[nf], err);
        if (st != RP_OK)
            return st;
        nf++;
        p = end + strspn(end, " \t\r\n");
    }
    if (nf != 5)
        return rp_error_set(err, RP_E_INVALID,
                            nf == 0 ? "cron: empty schedule"
                                    : "cron: expected 5 fields (minute hour day-of-month month "
                                      "day-of-week)");
    c.minutes = bits[0];
    c.hours = (uint32_t)bits[1];
    c.mdays = (uint32_t)bits[2];
    c.months = (uint32_t)bits[3];
    c.wdays = (uint32_t)((bits[4] | bits[4] >> 7) & 0x7f); /* 7 is Sunday too */
    c.mday_star = star[2];
    c.wday_star = star[4];
    if ((*out = malloc(sizeof(c))) == NULL)
        return rp_error_set(err, RP_E_NOMEM, "cron: out of memory");
    **out = c;
    return RP_OK;
}

void cron_free(struct cron *c)
{
    free(c);
}

/* Vixie cron: when either day field is '*' both must match (the '*' one always
 * does); when both are restricted, either may. */
static bool day_matches(const struct cron *c, const struct tm *tm)
{
    bool md = c->mdays >> tm->tm_mday & 1, wd = c->wdays >> tm->tm_wday & 1;
    if (c->mday_star || c->wday_star)
        return md && wd;
    return md || wd;
}

/* Days from now the search gives up: five years and the leap days in them. */
#define CRON_HORIZON_S (5LL * 365 * 86400 + 2 * 86400)

/* Latest start: 9999-12-31, so that gmtime and the horizon cannot overflow. */
#define CRON_LAST_S 253402300799LL

int64_t cron_next(const struct cron *c, int64_t after_ms)
{
    if (after_ms > CRON_LAST_S * 1000)
        return -1;
    int64_t t = (after_ms >= 0 ? after_ms / 1000 : (after_ms - 999) / 1000);
    t = (t >= 0 ? t / 60 : (t - 59) / 60) * 60 + 60; /* the next whole minute */
    int64_t limit = t + CRON_HORIZON_S < CRON_LAST_S ? t + CRON_HORIZON_S : CRON_LAST_S;
    while (t <= limit) {
        time_t tt = (time_t)t;
        struct tm tm;
        if (gmtime_r(&tt, &tm) == NULL)
            return -1;
        if (!(c->months >> (tm.tm_mon + 1) & 1)) {
            tm.tm_mon++;
            tm.tm_mday = 1;
            tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
            t = (int64_t)timegm(&tm); /* normalises month 12 to January */
        } else if (!day_matches(c, &tm)) {
            t += 86400 - (tm.tm_hour * 3600 + tm.tm_min * 60);
        } else if (!(c->hours >> tm.tm_hour & 1)) {
            t += 3600 - tm.tm_min * 60;
        } else {
            uint64_t later = c->minutes >> tm.tm_min;
            if (later == 0) {
                t += 3600 - tm.tm_min * 60;
                continue;
            }
            t += (int64_t)__builtin_ctzll(later) * 60;
            return t <= limit ? t * 1000 : -1;
        }
    }
    return -1;
}

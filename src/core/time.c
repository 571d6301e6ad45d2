/*
 * time.c: clocks, RFC 3339 and durations. The calendar arithmetic is done by
 * hand (days from civil date) because timegm() depends on the C library's
 * locale-free extensions and mktime() on the time zone.
 */
#include "core/time.h"

#include <ctype.h>
#include <limits.h>
#include <string.h>
#include <time.h>

int64_t time_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t time_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t time_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

void time_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

int time_days_in_month(int y, int m)
{
    static const int md[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
        return 29;
    return md[m - 1];
}

/* v as n decimal digits at p, zero-padded (v >= 0 and below 10^n). */
static void put_digits(char *p, int64_t v, int n)
{
    while (n-- > 0) {
        p[n] = (char)('0' + v % 10);
        v /= 10;
    }
}

void time_format_rfc3339(int64_t ms, char out[TIME_RFC3339_LEN])
{
    int64_t secs = ms >= 0 ? ms / 1000 : (ms - 999) / 1000;
    int64_t frac = ms - secs * 1000;
    int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
    int64_t rem = secs - days * 86400;
    int64_t y;
    unsigned m, d;
    time_civil_from_days(days, &y, &m, &d);
    memcpy(out, "0000-00-00T00:00:00.000Z", TIME_RFC3339_LEN);
    if (y < 0 || y > 9999)
        return;
    put_digits(out, y, 4);
    put_digits(out + 5, m, 2);
    put_digits(out + 8, d, 2);
    put_digits(out + 11, rem / 3600, 2);
    put_digits(out + 14, rem / 60 % 60, 2);
    put_digits(out + 17, rem % 60, 2);
    put_digits(out + 20, frac, 3);
}

static int digits(const char *s, size_t n, size_t at, size_t count, int *out)
{
    if (at + count > n)
        return 0;
    int v = 0;
    for (size_t i = 0; i < count; i++) {
        if (!isdigit((unsigned char)s[at + i]))
            return 0;
        v = v * 10 + (s[at + i] - '0');
    }
    *out = v;
    return 1;
}

rp_status time_parse_rfc3339(const char *s, size_t n, int64_t *ms, struct rp_error *err)
{
    int y, mo, d, h, mi, se;
    if (!digits(s, n, 0, 4, &y) || n < 19 || s[4] != '-' || !digits(s, n, 5, 2, &mo) ||
        s[7] != '-' || !digits(s, n, 8, 2, &d) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        !digits(s, n, 11, 2, &h) || s[13] != ':' || !digits(s, n, 14, 2, &mi) || s[16] != ':' ||
        !digits(s, n, 17, 2, &se))
        return rp_error_set(err, RP_E_INVALID, "not an RFC 3339 date-time (YYYY-MM-DDTHH:MM:SSZ)");
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > time_days_in_month(y, mo) || h > 23 ||
        mi > 59 || se > 60)
        return rp_error_set(err, RP_E_INVALID, "date-time out of range");
    if (se == 60)
        se = 59; /* a leap second is folded into the second before it */
    size_t i = 19;
    int frac = 0;
    if (i < n && s[i] == '.') {
        i++;
        size_t start = i;
        int scale = 100;
        while (i < n && isdigit((unsigned char)s[i])) {
            frac += (s[i] - '0') * scale;
            scale /= 10;
            i++;
        }
        if (i == start || i - start > 9)
            return rp_error_set(err, RP_E_INVALID, "bad fraction of a second");
    }
    int offset_min = 0;
    if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < n && (s[i] == '+' || s[i] == '-')) {
        int oh, om;
        if (!digits(s, n, i + 1, 2, &oh) || i + 3 >= n || s[i + 3] != ':' ||
            !digits(s, n, i + 4, 2, &om) || oh > 23 || om > 59)
            return rp_error_set(err, RP_E_INVALID, "bad time zone offset (+HH:MM)");
        offset_min = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
        i += 6;
    } else {
        return rp_error_set(err, RP_E_INVALID, "time zone missing (Z or +HH:MM)");
    }
    if (i != n)
        return rp_error_set(err, RP_E_INVALID, "trailing characters after date-time");
    int64_t days = time_days_from_civil(y, (unsigned)mo, (unsigned)d);
    int64_t secs = days * 86400 + h * 3600 + mi * 60 + se - (int64_t)offset_min * 60;
    /* an offset can move a time across the range's ends; keep what can be
     * formatted back (1970-01-01 to 9999-12-31 UTC) */
    if (secs < 0 || secs > 253402300799LL)
        return rp_error_set(err, RP_E_INVALID, "date-time out of range (1970-9999 UTC)");
    *ms = secs * 1000 + frac;
    return RP_OK;
}

rp_status time_parse_duration(const char *s, int64_t *ms, struct rp_error *err)
{
    const char *p = s;
    int64_t total = 0;
    if (*p == '\0')
        return rp_error_set(err, RP_E_INVALID, "empty duration");
    while (*p) {
        if (!isdigit((unsigned char)*p))
            return rp_error_set(err, RP_E_INVALID, "bad duration '%s' (e.g. 30s, 15m, 24h, 7d)", s);
        int64_t v = 0;
        while (isdigit((unsigned char)*p)) {
            if (v > (INT64_MAX - 9) / 10)
                return rp_error_set(err, RP_E_INVALID, "duration '%s' is too long", s);
            v = v * 10 + (*p++ - '0');
        }
        int64_t unit;
        if (strncmp(p, "ms", 2) == 0) {
            unit = 1;
            p += 2;
        } else if (*p == 's' || *p == '\0') {
            unit = 1000;
            p += *p == 's';
        } else if (*p == 'm') {
            unit = 60000;
            p++;
        } else if (*p == 'h') {
            unit = 3600000;
            p++;
        } else if (*p == 'd') {
            unit = 86400000;
            p++;
        } else if (*p == 'w') {
            unit = 7 * 86400000LL;
            p++;
        } else {
            return rp_error_set(err, RP_E_INVALID, "bad duration unit in '%s' (ms, s, m, h, d, w)",
                                s);
        }
        if (v > INT64_MAX / unit || total > INT64_MAX - v * unit)
            return rp_error_set(err, RP_E_INVALID, "duration '%s' is too long", s);
        total += v * unit;
    }
    *ms = total;
    return RP_OK;
}

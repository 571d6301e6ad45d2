/*
 * lines_check.h: what the unit tests of the line formats (syslog, CEF, LEEF,
 * auth lines) share: a fixed clock and time zone, and a check of an alert's
 * fields given as "path=value|path=value" (dotted paths, array indices as
 * numbers; "path=-" means absent), after which the alert must pass
 * alert_normalize(). Include after cmocka.h; static functions only.
 */
#ifndef RP_TESTS_LINES_CHECK_H
#define RP_TESTS_LINES_CHECK_H

#include "core/time.h"
#include "model/alert.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* 2026-11-30T10:00:00Z: "now" for the year of RFC 3164 times. */
#define LC_NOW_MS 1796032800000LL

/* Local time is UTC in these tests. */
static void lc_utc(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
}

static json_t *lc_get(json_t *v, const char *path)
{
    char part[128];
    while (v != NULL && *path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof(part))
            return NULL;
        memcpy(part, path, n);
        part[n] = '\0';
        if (json_is_array(v))
            v = json_array_get(v, (size_t)atoi(part));
        else
            v = json_object_get(v, part);
        path += n + (dot ? 1 : 0);
    }
    return v;
}

/* Checks every "path=value" of spec ('|' between them; "||" is a '|' in a
 * value) against alert. */
static void lc_expect(json_t *alert, const char *spec, const char *what)
{
    char buf[4096];
    size_t n = 0;
    for (const char *p = spec;; p++) {
        if (*p == '|' && p[1] == '|') {
            buf[n++] = '|';
            p++;
            continue;
        }
        if (*p != '|' && *p != '\0') {
            assert_true(n + 1 < sizeof(buf));
            buf[n++] = *p;
            continue;
        }
        buf[n] = '\0';
        n = 0;
        char *eq = strchr(buf, '=');
        assert_non_null(eq);
        *eq = '\0';
        const char *want = eq + 1;
        json_t *v = lc_get(alert, buf);
        char got[4096];
        if (v == NULL)
            snprintf(got, sizeof(got), "-");
        else if (json_is_string(v))
            snprintf(got, sizeof(got), "%s", json_string_value(v));
        else if (json_is_integer(v))
            snprintf(got, sizeof(got), "%lld", (long long)json_integer_value(v));
        else
            snprintf(got, sizeof(got), "<%s>", json_is_object(v) ? "object" : "other");
        if (strcmp(got, want) != 0) {
            char *dump = json_dumps(alert, JSON_COMPACT | JSON_SORT_KEYS);
            print_error("%s: %s: want \"%s\", got \"%s\"\n  in %s\n", what, buf, want, got,
                        dump ? dump : "?");
            free(dump);
            fail();
        }
        if (*p == '\0')
            break;
    }
}

/* The alert must pass the gate; returns the normalized form (caller frees). */
static json_t *lc_normalize(json_t *alert, const char *what)
{
    struct alert_opts opts = {.received_ms = LC_NOW_MS, .default_source = "test"};
    json_t *out = NULL;
    struct rp_error err;
    err.msg[0] = '\0';
    rp_status st = alert_normalize(alert, &opts, &out, &err);
    if (st != RP_OK) {
        print_error("%s: alert_normalize: %s\n", what, err.msg);
        fail();
    }
    return out;
}

#endif

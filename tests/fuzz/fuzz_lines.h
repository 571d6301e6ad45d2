/*
 * fuzz_lines.h: the invariants the line formats' fuzz targets (fuzz_syslog,
 * fuzz_cef, fuzz_leef) check on every alert a parser hands out, and their fixed
 * clock and zone. A parser's alert must be an object whose raw is the line as a
 * string, and alert_normalize() must take it: the one thing a line parser
 * cannot see is a time more than an hour ahead of the clock (and an RFC 5424 or
 * CEF time may be one), so that refusal alone is allowed. A refused line must
 * say why and hand nothing out. Broken invariants abort().
 */
#ifndef RP_FUZZ_LINES_H
#define RP_FUZZ_LINES_H

#include "model/alert.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* 2025-11-30T09:48:36Z: a fixed clock keeps runs reproducible. */
#define FUZZ_NOW_MS 1764496116000LL

static void fuzz_lines_init(void)
{
    static int done;
    if (!done) {
        setenv("TZ", "UTC", 1);
        tzset();
        done = 1;
    }
}

static void fuzz_lines_check(rp_status st, json_t *alert, const struct rp_error *err)
{
    if (st != RP_OK) {
        if (alert != NULL)
            abort(); /* nothing is handed out on failure */
        if ((st == RP_E_INVALID || st == RP_E_NOTFOUND) && err->msg[0] == '\0')
            abort(); /* a refusal always says why */
        if (st != RP_E_INVALID && st != RP_E_NOTFOUND && st != RP_E_NOMEM)
            abort();
        return;
    }
    if (!json_is_object(alert) || !json_is_string(json_object_get(alert, "raw")))
        abort();
    struct alert_opts opts = {.received_ms = FUZZ_NOW_MS, .default_source = "fuzz"};
    json_t *out = NULL;
    struct rp_error e;
    e.msg[0] = '\0';
    rp_status n = alert_normalize(alert, &opts, &out, &e);
    if (n != RP_OK && !(n == RP_E_INVALID && strncmp(e.msg, "event_time:", 11) == 0))
        abort(); /* the parser built an alert the gate refuses: e.msg says which field */
    if (n == RP_OK) {
        char *text = json_dumps(out, JSON_COMPACT);
        if (text == NULL)
            abort(); /* valid UTF-8 throughout */
        free(text);
        json_decref(out);
    }
    json_decref(alert);
}

#endif

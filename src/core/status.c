/*
 * status.c: names of statuses and the error-message helpers. Pure functions, any
 * thread.
 */
#include "core/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *rp_status_str(rp_status st)
{
    switch (st) {
    case RP_OK:
        return "ok";
    case RP_E_INVALID:
        return "invalid input";
    case RP_E_NOMEM:
        return "out of memory";
    case RP_E_IO:
        return "i/o error";
    case RP_E_NOTFOUND:
        return "not found";
    case RP_E_EXISTS:
        return "already exists";
    case RP_E_AMBIGUOUS:
        return "ambiguous";
    case RP_E_LIMIT:
        return "limit reached";
    case RP_E_BUSY:
        return "busy";
    case RP_E_STORE:
        return "store error";
    case RP_E_DENIED:
        return "denied";
    case RP_E_USAGE:
        return "usage error";
    }
    return "unknown status";
}

static void mark_truncated(char *msg, size_t cap, int n)
{
    if (n >= 0 && (size_t)n >= cap && cap > 4)
        memcpy(msg + cap - 4, "...", 4);
}

rp_status rp_error_set(struct rp_error *err, rp_status st, const char *fmt, ...)
{
    if (err == NULL)
        return st;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    mark_truncated(err->msg, sizeof(err->msg), n);
    return st;
}

void rp_error_prefix(struct rp_error *err, const char *fmt, ...)
{
    if (err == NULL)
        return;
    char prefix[RP_ERROR_MAX];
    char old[RP_ERROR_MAX];
    memcpy(old, err->msg, sizeof(old));
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    n = snprintf(err->msg, sizeof(err->msg), "%s: %s", prefix, old);
    mark_truncated(err->msg, sizeof(err->msg), n);
}

void rp_abort(const char *file, int line, const char *what)
{
    fprintf(stderr, "riposte: internal error at %s:%d: %s\n", file, line, what);
    abort();
}

/*
 * status.h: the one result type of Riposte.
 *
 * Every fallible function returns an rp_status and is marked RP_MUST_CHECK, so a
 * caller cannot drop an error by accident. Messages for people travel separately
 * in a struct rp_error filled by the function that found the problem, because the
 * code says what kind of failure it was and the message says what and where.
 * (rp_status is the one typedef'd enum of the project: it appears in every
 * signature.)
 */
#ifndef RP_CORE_STATUS_H
#define RP_CORE_STATUS_H

#include <stddef.h>

#define RP_MUST_CHECK   __attribute__((warn_unused_result))
#define RP_PRINTF(f, a) __attribute__((format(printf, f, a)))

typedef enum rp_status {
    RP_OK = 0,
    RP_E_INVALID,   /* bad input from outside: rejected, counted, never fatal */
    RP_E_NOMEM,     /* an allocation failed */
    RP_E_IO,        /* a file, socket or pipe failed */
    RP_E_NOTFOUND,  /* the thing asked for does not exist */
    RP_E_EXISTS,    /* the thing to create exists already */
    RP_E_AMBIGUOUS, /* an id prefix matched more than one thing */
    RP_E_LIMIT,     /* a limit of limits.h was reached */
    RP_E_BUSY,      /* a bounded queue is full: try again later */
    RP_E_STORE,     /* the database refused or failed */
    RP_E_DENIED,    /* not authorised */
    RP_E_USAGE,     /* a command line or configuration mistake */
} rp_status;

/* Static string naming the status ("ok", "invalid input", ...). */
const char *rp_status_str(rp_status st);

/* A message for people: what went wrong and where. Fixed size so that filling it
 * cannot fail; long messages are truncated with "..." */
#define RP_ERROR_MAX 512
struct rp_error {
    char msg[RP_ERROR_MAX];
};

/* Sets err->msg (if err is not NULL) and returns st, so that a caller can write
 * `return rp_error_set(err, RP_E_INVALID, "field %s: ...", path);`. */
rp_status rp_error_set(struct rp_error *err, rp_status st, const char *fmt, ...) RP_PRINTF(3, 4);

/* Puts "prefix: " in front of the message already in err. */
void rp_error_prefix(struct rp_error *err, const char *fmt, ...) RP_PRINTF(2, 3);

/* Aborts with file and line: for broken internal invariants only, never for input. */
#define RP_ASSERT(c)                                                                               \
    do {                                                                                           \
        if (!(c))                                                                                  \
            rp_abort(__FILE__, __LINE__, #c);                                                      \
    } while (0)
_Noreturn void rp_abort(const char *file, int line, const char *what);

#endif

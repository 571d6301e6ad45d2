/*
 * buf.h: a growable byte buffer with a maximum.
 *
 * Every growable buffer in Riposte is created with the most it may ever hold
 * (from limits.h), so that input can make it fail with RP_E_LIMIT but never make
 * it grow without bound. The data is always NUL-terminated for convenience; len
 * does not count the NUL. Not thread-safe: one owner at a time.
 */
#ifndef RP_CORE_BUF_H
#define RP_CORE_BUF_H

#include "core/status.h"

#include <stddef.h>

struct buf {
    char *data; /* NULL until the first append; owned */
    size_t len;
    size_t cap;
    size_t max; /* len never exceeds max */
};

/* Prepares an empty buffer that will hold at most max bytes. Allocates nothing. */
void buf_init(struct buf *b, size_t max);

/* Frees the data; the buffer can be initialised again. Accepts NULL. */
void buf_fini(struct buf *b);

/* Empties the buffer, keeping its memory. */
void buf_reset(struct buf *b);

/* Appends n bytes. RP_E_LIMIT (nothing appended) if len + n would exceed max. */
rp_status buf_append(struct buf *b, const void *p, size_t n) RP_MUST_CHECK;

/* Appends a NUL-terminated string. */
rp_status buf_puts(struct buf *b, const char *s) RP_MUST_CHECK;

/* Appends formatted text; RP_E_LIMIT (nothing appended) if it would not fit. */
rp_status buf_printf(struct buf *b, const char *fmt, ...) RP_PRINTF(2, 3) RP_MUST_CHECK;

/* Makes room for at least n more bytes without changing len. */
rp_status buf_reserve(struct buf *b, size_t n) RP_MUST_CHECK;

/* Removes the first n bytes (n <= len), moving the rest to the front. */
void buf_consume(struct buf *b, size_t n);

/* Hands the data to the caller (who frees it) and leaves the buffer empty. May
 * return NULL when nothing was ever appended. */
char *buf_steal(struct buf *b);

/* Formats into a fixed array: always NUL-terminated; returns false when the
 * text was cut to fit (callers decide whether a cut matters). */
#include <stdbool.h>
bool rp_fmt(char *out, size_t cap, const char *fmt, ...) RP_PRINTF(3, 4);

#endif

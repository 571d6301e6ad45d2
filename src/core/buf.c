/*
 * buf.c: bounded growable buffers. Growth doubles up to the maximum.
 */
#include "core/buf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

void buf_fini(struct buf *b)
{
    if (b == NULL)
        return;
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void buf_reset(struct buf *b)
{
    b->len = 0;
    if (b->data != NULL)
        b->data[0] = '\0';
}

rp_status buf_reserve(struct buf *b, size_t n)
{
    if (n > b->max || b->len > b->max - n)
        return RP_E_LIMIT;
    size_t need = b->len + n + 1; /* + NUL */
    if (need <= b->cap)
        return RP_OK;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    if (b->max < SIZE_MAX && cap > b->max + 1) /* max + 1 would wrap for SIZE_MAX */
        cap = b->max + 1;
    char *p = realloc(b->data, cap);
    if (p == NULL)
        return RP_E_NOMEM;
    b->data = p;
    b->cap = cap;
    return RP_OK;
}

rp_status buf_append(struct buf *b, const void *p, size_t n)
{
    rp_status st = buf_reserve(b, n);
    if (st != RP_OK)
        return st;
    if (n > 0)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return RP_OK;
}

rp_status buf_puts(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

rp_status buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return RP_E_INVALID;
    rp_status st = buf_reserve(b, (size_t)n);
    if (st != RP_OK)
        return st;
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return RP_OK;
}

void buf_consume(struct buf *b, size_t n)
{
    RP_ASSERT(n <= b->len);
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    if (b->data != NULL)
        b->data[b->len] = '\0';
}

char *buf_steal(struct buf *b)
{
    char *p = b->data;
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}

bool rp_fmt(char *out, size_t cap, const char *fmt, ...)
{
    if (cap == 0)
        return false;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    if (n < 0) {
        out[0] = '\0';
        return false;
    }
    return (size_t)n < cap;
}

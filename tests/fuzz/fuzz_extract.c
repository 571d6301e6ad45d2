/*
 * fuzz_extract.c: libFuzzer target for IOC extraction (intel/extract.h).
 *
 * The input is the text. Broken invariants abort(): the status is RP_OK or
 * RP_E_LIMIT; every indicator has a known type, a non-empty value that is a C
 * string of its length, valid UTF-8 without spaces or control characters, and
 * an offset inside the text, no smaller than the one before (order of first
 * appearance); no (type, value) comes twice; at most RP_IOC_MAX come; and each
 * value, extracted on its own, is reported again, unchanged, with its type, at
 * offset 0 (the canonical form is a fixed point of extraction).
 * Memory: the values are copied into a list freed before returning.
 */
#include "core/limits.h"
#include "intel/extract.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

struct hit {
    enum ioc_type type;
    char *value;
    size_t len;
};

struct fz {
    size_t n;         /* length of the text */
    size_t last;      /* offset of the previous indicator */
    struct hit *hits; /* every indicator, in order */
    size_t count, cap;
};

static bool utf8_clean(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        unsigned char c = p[i];
        size_t l = c < 0x80                 ? 1
                   : c >= 0xc2 && c <= 0xdf ? 2
                   : c >= 0xe0 && c <= 0xef ? 3
                   : c >= 0xf0 && c <= 0xf4 ? 4
                                            : 0;
        if (l == 0 || i + l > n)
            return false;
        if (l == 1 && (c <= 0x20 || c == 0x7f))
            return false;
        for (size_t k = 1; k < l; k++)
            if ((p[i + k] & 0xc0) != 0x80)
                return false;
        i += l;
    }
    return true;
}

static int on_hit(void *arg, enum ioc_type type, const char *value, size_t len, size_t offset)
{
    struct fz *z = arg;
    if ((int)type < 0 || type >= IOC_TYPE_COUNT || value == NULL || len == 0)
        abort();
    if (strlen(value) != len || !utf8_clean((const unsigned char *)value, len))
        abort();
    if (offset >= z->n || (z->count > 0 && offset < z->last))
        abort();
    z->last = offset;
    for (size_t k = 0; k < z->count; k++)
        if (z->hits[k].type == type && z->hits[k].len == len &&
            memcmp(z->hits[k].value, value, len) == 0)
            abort(); /* reported twice */
    if (z->count == z->cap) {
        size_t ncap = z->cap ? z->cap * 2 : 16;
        struct hit *nh = realloc(z->hits, ncap * sizeof(*nh));
        if (nh == NULL)
            abort();
        z->hits = nh;
        z->cap = ncap;
    }
    char *copy = malloc(len + 1);
    if (copy == NULL)
        abort();
    memcpy(copy, value, len + 1);
    z->hits[z->count++] = (struct hit){type, copy, len};
    return 0;
}

struct again {
    const struct hit *want;
    bool found;
};

static int on_again(void *arg, enum ioc_type type, const char *value, size_t len, size_t offset)
{
    struct again *a = arg;
    if (type == a->want->type && len == a->want->len && memcmp(value, a->want->value, len) == 0) {
        if (offset != 0)
            abort(); /* the value starts where it starts */
        a->found = true;
        return 1;
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    struct fz z = {n, 0, NULL, 0, 0};
    rp_status st = extract_iocs((const char *)d, n, on_hit, &z);
    if (st != RP_OK && st != RP_E_LIMIT)
        abort();
    if (z.count > RP_IOC_MAX)
        abort();
    for (size_t k = 0; k < z.count; k++) {
        struct again a = {&z.hits[k], false};
        if (extract_iocs(z.hits[k].value, z.hits[k].len, on_again, &a) != RP_OK || !a.found)
            abort(); /* a reported value is found again, unchanged, on its own */
    }
    for (size_t k = 0; k < z.count; k++)
        free(z.hits[k].value);
    free(z.hits);
    return 0;
}

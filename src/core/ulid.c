/*
 * ulid.c: ULID generation. A mutex guards the last id so that ids from all
 * threads of one process are strictly increasing (monotonic ULIDs).
 */
#include "core/ulid.h"

#include "core/time.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/random.h>

static const char B32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

static pthread_mutex_t last_mu = PTHREAD_MUTEX_INITIALIZER;
static int64_t last_ms = -1;
static uint8_t last_rand[10];

rp_status rand_bytes(void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = getrandom(p, n, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return RP_E_IO;
        }
        p += r;
        n -= (size_t)r;
    }
    return RP_OK;
}

static void encode(int64_t ms, const uint8_t rnd[10], char out[ULID_LEN + 1])
{
    uint64_t t = (uint64_t)ms;
    for (int i = 9; i >= 0; i--) {
        out[i] = B32[t & 31];
        t >>= 5;
    }
    /* 80 random bits as 16 base32 digits, most significant first */
    uint64_t hi = 0, lo = 0;
    for (int i = 0; i < 2; i++)
        hi = hi << 8 | rnd[i];
    for (int i = 2; i < 10; i++)
        lo = lo << 8 | rnd[i];
    /* bits: hi (16) then lo (64) = 80 */
    for (int i = 25; i >= 10; i--) {
        out[i] = B32[lo & 31];
        lo = lo >> 5 | (hi & 31) << 59;
        hi >>= 5;
    }
    out[ULID_LEN] = '\0';
}

/* clamp: an earlier ms than the last id's is moved forward (the clock stepped
 * back), keeping ids increasing; otherwise an earlier ms gets fresh random bits
 * and keeps its time (imports, tests). */
static rp_status generate(int64_t ms, bool clamp, char out[ULID_LEN + 1])
{
    uint8_t rnd[10];
    pthread_mutex_lock(&last_mu);
    if (!clamp && ms < last_ms) {
        pthread_mutex_unlock(&last_mu);
        if (rand_bytes(rnd, sizeof(rnd)) != RP_OK)
            return RP_E_IO;
        encode(ms, rnd, out);
        return RP_OK;
    }
    if (ms <= last_ms) {
        /* same (or earlier: clock stepped back) millisecond: increment */
        ms = last_ms;
        int i = 9;
        while (i >= 0 && ++last_rand[i] == 0)
            i--;
        if (i < 0)
            ms = ++last_ms; /* 2^80 ids in one ms: move to the next */
        memcpy(rnd, last_rand, sizeof(rnd));
    } else {
        if (rand_bytes(last_rand, sizeof(last_rand)) != RP_OK) {
            pthread_mutex_unlock(&last_mu);
            return RP_E_IO;
        }
        last_rand[0] &= 0x7f; /* room to increment without overflow */
        last_ms = ms;
        memcpy(rnd, last_rand, sizeof(rnd));
    }
    pthread_mutex_unlock(&last_mu);
    encode(ms, rnd, out);
    return RP_OK;
}

rp_status ulid_new_at(int64_t ms, char out[ULID_LEN + 1])
{
    return generate(ms, false, out);
}

rp_status ulid_new(char out[ULID_LEN + 1])
{
    return generate(time_now_ms(), true, out);
}

static int b32_value(char c)
{
    c = (char)toupper((unsigned char)c);
    const char *p = strchr(B32, c);
    return (c != '\0' && p != NULL) ? (int)(p - B32) : -1;
}

bool ulid_valid(const char *s, size_t n)
{
    if (n != ULID_LEN)
        return false;
    if (b32_value(s[0]) > 7) /* 48-bit time: first digit at most 7 */
        return false;
    for (size_t i = 0; i < n; i++)
        if (b32_value(s[i]) < 0)
            return false;
    return true;
}

int64_t ulid_time_ms(const char *s)
{
    uint64_t t = 0;
    for (int i = 0; i < 10; i++)
        t = t << 5 | (uint64_t)b32_value(s[i]);
    return (int64_t)t;
}

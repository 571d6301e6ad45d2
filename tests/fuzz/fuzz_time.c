/*
 * fuzz_time.c: libFuzzer target for RFC 3339 times and durations (core/time.h).
 *
 * The whole input is parsed as an RFC 3339 date-time (pointer and length) and,
 * up to its first NUL, as a duration. Broken invariants abort(): a parsed time,
 * formatted with time_format_rfc3339 and parsed again, gives the same
 * milliseconds (whatever is accepted can be stored and read back); a parsed
 * duration is not negative.
 * Memory: the NUL-terminated copy is freed before returning.
 */
#include "core/time.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rp_error err;
    int64_t ms = 0;
    if (time_parse_rfc3339((const char *)data, size, &ms, &err) == RP_OK) {
        char text[TIME_RFC3339_LEN];
        time_format_rfc3339(ms, text);
        int64_t again = 0;
        if (time_parse_rfc3339(text, strlen(text), &again, &err) != RP_OK || again != ms)
            abort();
    }

    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    int64_t d = 0;
    if (time_parse_duration(s, &d, &err) == RP_OK && d < 0)
        abort();
    free(s);
    return 0;
}

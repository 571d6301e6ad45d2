/*
 * ulid.h: ULID identifiers (26 characters of Crockford base32: 48 bits of
 * milliseconds, 80 random bits). They sort by creation time, which keeps the
 * store's primary-key indexes append-only, and are unguessable enough that an id
 * leaks nothing. Within one millisecond the random part is incremented, so ids
 * made by one process are strictly increasing. Thread-safe.
 */
#ifndef RP_CORE_ULID_H
#define RP_CORE_ULID_H

#include "core/status.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ULID_LEN 26

/* Writes a new ULID and a NUL into out. RP_E_IO if the system has no randomness. */
rp_status ulid_new(char out[ULID_LEN + 1]) RP_MUST_CHECK;

/* Same, with the time part taken from ms (for tests and imports). */
rp_status ulid_new_at(int64_t ms, char out[ULID_LEN + 1]) RP_MUST_CHECK;

/* True if s (n bytes) is a well-formed ULID (upper or lower case). */
bool ulid_valid(const char *s, size_t n);

/* The millisecond time encoded in a valid ULID. */
int64_t ulid_time_ms(const char *s);

/* Fills buf with n cryptographically random bytes (getrandom). */
rp_status rand_bytes(void *buf, size_t n) RP_MUST_CHECK;

#endif

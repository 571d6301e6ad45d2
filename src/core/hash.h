/*
 * hash.h: SHA-256 through OpenSSL's libcrypto, as bytes or lower-case hex.
 * Pure functions, any thread.
 */
#ifndef RP_CORE_HASH_H
#define RP_CORE_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_SHA256_LEN     32
#define HASH_SHA256_HEX_LEN 64

void hash_sha256(const void *p, size_t n, uint8_t out[HASH_SHA256_LEN]);

/* Hex of the SHA-256 of p, NUL-terminated. */
void hash_sha256_hex(const void *p, size_t n, char out[HASH_SHA256_HEX_LEN + 1]);

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void hash_hex(const uint8_t *p, size_t n, char *out);

#endif

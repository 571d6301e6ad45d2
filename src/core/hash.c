/*
 * hash.c: SHA-256 helpers over OpenSSL's one-shot EVP_Digest.
 */
#include "core/hash.h"

#include "core/status.h"

#include <openssl/evp.h>

void hash_sha256(const void *p, size_t n, uint8_t out[HASH_SHA256_LEN])
{
    unsigned int len = 0;
    int ok = EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
    RP_ASSERT(ok == 1 && len == HASH_SHA256_LEN);
}

void hash_hex(const uint8_t *p, size_t n, char *out)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = hex[p[i] >> 4];
        out[2 * i + 1] = hex[p[i] & 15];
    }
    out[2 * n] = '\0';
}

void hash_sha256_hex(const void *p, size_t n, char out[HASH_SHA256_HEX_LEN + 1])
{
    uint8_t md[HASH_SHA256_LEN];
    hash_sha256(p, n, md);
    hash_hex(md, sizeof(md), out);
}

/*
 * hash.c: SHA-256 helpers over OpenSSL's one-shot EVP_Digest. Any thread.
 *
 * The digest is fetched from the provider once for the process: EVP_sha256()
 * makes EVP_Digest() fetch it again on every call, which was a third of the
 * cost of hashing an alert's fingerprint (a hundred bytes). The fetched
 * digest lives until exit.
 */
#include "core/hash.h"

#include "core/status.h"

#include <openssl/evp.h>
#include <pthread.h>

static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void hash_sha256(const void *p, size_t n, uint8_t out[HASH_SHA256_LEN])
{
    pthread_once(&sha256_once, sha256_fetch);
    unsigned int len = 0;
    int ok = EVP_Digest(p, n, out, &len, sha256_md != NULL ? sha256_md : EVP_sha256(), NULL);
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

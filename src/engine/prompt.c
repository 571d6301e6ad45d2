/*
 * prompt.c: prompt links, signed and checked (prompt.h). No state; any thread.
 */
#include "engine/prompt.h"

#include "core/hash.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void mac_hex(const unsigned char key[PROMPT_KEY_BYTES], const char *msg, size_t n,
                    char out[65])
{
    unsigned char mac[32];
    unsigned int len = sizeof mac;
    HMAC(EVP_sha256(), key, PROMPT_KEY_BYTES, (const unsigned char *)msg, n, mac, &len);
    hash_hex(mac, sizeof mac, out);
}

void prompt_token_make(const unsigned char key[PROMPT_KEY_BYTES], const char *prompt_id,
                       int64_t deadline_ms, char out[PROMPT_TOKEN_MAX])
{
    char msg[ULID_LEN + 32];
    int n = snprintf(msg, sizeof msg, "%s.%lld", prompt_id, (long long)deadline_ms);
    char mac[65];
    mac_hex(key, msg, (size_t)n, mac);
    snprintf(out, PROMPT_TOKEN_MAX, "%s.%s", msg, mac);
}

rp_status prompt_token_verify(const unsigned char key[PROMPT_KEY_BYTES], const char *token,
                              int64_t now_ms, char prompt_id[ULID_LEN + 1], struct rp_error *err)
{
    size_t n = strnlen(token, PROMPT_TOKEN_MAX);
    const char *dot2 = n < PROMPT_TOKEN_MAX ? strrchr(token, '.') : NULL;
    if (dot2 == NULL || strlen(dot2 + 1) != 64 || dot2 - token < ULID_LEN + 2 ||
        token[ULID_LEN] != '.' || !ulid_valid(token, ULID_LEN))
        return rp_error_set(err, RP_E_DENIED, "not a valid answer link");
    long long deadline = 0;
    for (const char *p = token + ULID_LEN + 1; p < dot2; p++) {
        if (*p < '0' || *p > '9' || deadline > 1000000000000000LL)
            return rp_error_set(err, RP_E_DENIED, "not a valid answer link");
        deadline = deadline * 10 + (*p - '0');
    }
    char mac[65];
    mac_hex(key, token, (size_t)(dot2 - token), mac);
    if (CRYPTO_memcmp(mac, dot2 + 1, 64) != 0)
        return rp_error_set(err, RP_E_DENIED, "not a valid answer link");
    memcpy(prompt_id, token, ULID_LEN);
    prompt_id[ULID_LEN] = '\0';
    if (now_ms > deadline)
        return rp_error_set(err, RP_E_LIMIT, "this question closed at its deadline");
    return RP_OK;
}

rp_status prompt_key_load(const char *path, unsigned char key[PROMPT_KEY_BYTES],
                          struct rp_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) {
        if (rand_bytes(key, PROMPT_KEY_BYTES) != RP_OK)
            return rp_error_set(err, RP_E_IO, "%s: no randomness for a new key", path);
        fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd < 0)
            return rp_error_set(err, RP_E_IO, "%s: cannot create: %s", path, strerror(errno));
        ssize_t w = write(fd, key, PROMPT_KEY_BYTES);
        int bad = w != PROMPT_KEY_BYTES || fsync(fd) != 0;
        bad |= close(fd) != 0;
        if (bad)
            return rp_error_set(err, RP_E_IO, "%s: cannot write the new key", path);
        return RP_OK;
    }
    if (fd < 0)
        return rp_error_set(err, RP_E_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    rp_status ret = RP_OK;
    if (fstat(fd, &sb) != 0 || (sb.st_mode & 077) != 0)
        ret = rp_error_set(err, RP_E_DENIED, "%s: the prompt key must be mode 0600", path);
    else if (read(fd, key, PROMPT_KEY_BYTES) != PROMPT_KEY_BYTES)
        ret = rp_error_set(err, RP_E_IO, "%s: not a %d-byte key", path, PROMPT_KEY_BYTES);
    close(fd);
    return ret;
}

/*
 * auth.c: the tokens the lab issues (OAuth2 client credentials for CrowdStrike
 * and Microsoft, Cylance's access token, Splunk session keys), Base64, and the
 * HS256 JWT check of Cylance's token exchange.
 *
 * Tokens live in a ring of RP_LAB_TOKENS_MAX in struct lab, under the lab's
 * mutex; each has a realm (the vendor that accepts it) and an expiry. They are
 * random (getrandom), not derived from the seed: the organisation is
 * deterministic, credentials need not be.
 */
#include "lab/lab_internal.h"

#include "core/hash.h"
#include "core/time.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

void lab_token_issue(struct lab *lab, const char *realm, int64_t ttl_s, char *out, size_t cap)
{
    uint8_t raw[20];
    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw)) {
        /* No entropy: a counter still gives distinct tokens, which is all a lab needs. */
        memset(raw, 0, sizeof(raw));
        memcpy(raw, &lab->tok_next, sizeof(lab->tok_next));
    }
    struct lab_token *t = &lab->tokens[lab->tok_next % RP_LAB_TOKENS_MAX];
    lab->tok_next++;
    char hex[sizeof(raw) * 2 + 1];
    hash_hex(raw, sizeof(raw), hex);
    snprintf(t->value, sizeof(t->value), "lab.%s", hex);
    snprintf(t->realm, sizeof(t->realm), "%s", realm);
    t->expires_ms = time_now_ms() + ttl_s * 1000;
    snprintf(out, cap, "%s", t->value);
}

enum lab_tok lab_token_check(struct lab *lab, const char *realm, const char *scheme,
                             const char *authorization)
{
    if (authorization == NULL || *authorization == '\0')
        return LAB_TOK_MISSING;
    const char *sch = scheme != NULL ? scheme : "Bearer";
    size_t sl = strlen(sch);
    if (strncasecmp(authorization, sch, sl) != 0 || authorization[sl] != ' ')
        return LAB_TOK_INVALID;
    const char *tok = authorization + sl + 1;
    while (*tok == ' ')
        tok++;
    int64_t now = time_now_ms();
    for (size_t i = 0; i < RP_LAB_TOKENS_MAX; i++) {
        const struct lab_token *t = &lab->tokens[i];
        if (t->value[0] == '\0' || strcmp(t->value, tok) != 0)
            continue;
        if (strcmp(t->realm, realm) != 0)
            return LAB_TOK_INVALID;
        return now >= t->expires_ms ? LAB_TOK_EXPIRED : LAB_TOK_OK;
    }
    return LAB_TOK_INVALID;
}

int64_t lab_token_ttl(const struct lab *lab)
{
    return lab->ttl_s;
}

/* --- Base64 ------------------------------------------------------------------------------------
 */

static const char b64std[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

bool lab_b64_encode(const unsigned char *in, size_t n, bool url, char *out, size_t cap)
{
    const char *al = url ? b64url : b64std;
    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        char q[4] = {al[(v >> 18) & 63], al[(v >> 12) & 63], i + 1 < n ? al[(v >> 6) & 63] : '=',
                     i + 2 < n ? al[v & 63] : '='};
        for (int k = 0; k < 4; k++) {
            if (url && q[k] == '=')
                continue;
            if (o + 1 >= cap)
                return false;
            out[o++] = q[k];
        }
    }
    if (o >= cap)
        return false;
    out[o] = '\0';
    return true;
}

long lab_b64_decode(const char *in, size_t n, bool url, unsigned char *out, size_t cap)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = in[i];
        int v;
        if (c >= 'A' && c <= 'Z')
            v = c - 'A';
        else if (c >= 'a' && c <= 'z')
            v = c - 'a' + 26;
        else if (c >= '0' && c <= '9')
            v = c - '0' + 52;
        else if (c == (url ? '-' : '+'))
            v = 62;
        else if (c == (url ? '_' : '/'))
            v = 63;
        else if (c == '=')
            break;
        else
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o + 1 >= cap)
                return -1;
            out[o++] = (unsigned char)((acc >> bits) & 0xff);
        }
    }
    if (o >= cap)
        return -1;
    out[o] = '\0';
    return (long)o;
}

/* --- JWT (HS256) -------------------------------------------------------------------------------
 */

json_t *lab_jwt_verify(const char *jwt, const char *secret, char *why, size_t cap)
{
    const char *d1 = strchr(jwt, '.');
    const char *d2 = d1 != NULL ? strchr(d1 + 1, '.') : NULL;
    if (d1 == NULL || d2 == NULL || strchr(d2 + 1, '.') != NULL) {
        snprintf(why, cap, "the token is not a JWT (header.payload.signature)");
        return NULL;
    }
    unsigned char buf[4096];
    long n = lab_b64_decode(jwt, (size_t)(d1 - jwt), true, buf, sizeof(buf));
    json_t *hdr = n > 0 ? json_loadb((const char *)buf, (size_t)n, 0, NULL) : NULL;
    const char *alg = json_string_value(json_object_get(hdr, "alg"));
    bool hs256 = alg != NULL && strcmp(alg, "HS256") == 0;
    json_decref(hdr);
    if (!hs256) {
        snprintf(why, cap, "the JWT header must name alg HS256");
        return NULL;
    }
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    if (HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)jwt,
             (size_t)(d2 - jwt), mac, &maclen) == NULL) {
        snprintf(why, cap, "cannot compute HMAC");
        return NULL;
    }
    unsigned char sig[128];
    long sl = lab_b64_decode(d2 + 1, strlen(d2 + 1), true, sig, sizeof(sig));
    if (sl != (long)maclen || CRYPTO_memcmp(sig, mac, maclen) != 0) {
        snprintf(why, cap, "bad JWT signature (sign with the application secret)");
        return NULL;
    }
    n = lab_b64_decode(d1 + 1, (size_t)(d2 - d1 - 1), true, buf, sizeof(buf));
    json_t *claims = n > 0 ? json_loadb((const char *)buf, (size_t)n, 0, NULL) : NULL;
    if (!json_is_object(claims)) {
        json_decref(claims);
        snprintf(why, cap, "the JWT payload is not a JSON object");
        return NULL;
    }
    return claims;
}

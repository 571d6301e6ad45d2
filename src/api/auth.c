/*
 * auth.c: API tokens (making, hashing, verifying) and what each role may do.
 *
 * The verifier's cache is a fixed table of RP_AUTH_CACHE_MAX slots keyed by
 * the SHA-256 of the token (uniform, so its first bytes index the table) with a
 * short linear probe; an entry expires after ttl_ms so that a revoke made by
 * another process takes effect within that time. When the probe window is full
 * the entry closest to expiry gives way. Only known tokens are cached: an
 * unknown one always goes to the store, so a flood of wrong tokens cannot push
 * the good ones out. Any HTTP thread; one mutex, held for a table probe only.
 */
#include "api/auth.h"

#include "core/time.h"
#include "core/ulid.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Slots probed from a key's home slot. */
#define AUTH_PROBE 8

static const char *const role_names[AUTH_ROLE_COUNT] = {
    [AUTH_ROLE_ADMIN] = "admin",         [AUTH_ROLE_ANALYST] = "analyst",
    [AUTH_ROLE_RESPONDER] = "responder", [AUTH_ROLE_VIEWER] = "viewer",
    [AUTH_ROLE_INGEST] = "ingest",
};

const char *auth_role_name(enum auth_role r)
{
    if ((unsigned)r >= AUTH_ROLE_COUNT)
        return "unknown";
    return role_names[r];
}

const char *auth_role_names(void)
{
    return "admin, analyst, responder, viewer, ingest";
}

rp_status auth_role_parse(const char *s, enum auth_role *out)
{
    for (int i = 0; i < AUTH_ROLE_COUNT; i++) {
        if (strcmp(s, role_names[i]) == 0) {
            *out = (enum auth_role)i;
            return RP_OK;
        }
    }
    return RP_E_USAGE;
}

bool auth_role_allows(enum auth_role r, enum auth_action a)
{
    switch (r) {
    case AUTH_ROLE_ADMIN:
        return true;
    case AUTH_ROLE_RESPONDER:
        return a == AUTH_READ || a == AUTH_INGEST || a == AUTH_WRITE || a == AUTH_RESPOND;
    case AUTH_ROLE_ANALYST:
        return a == AUTH_READ || a == AUTH_INGEST || a == AUTH_WRITE;
    case AUTH_ROLE_VIEWER:
        return a == AUTH_READ;
    case AUTH_ROLE_INGEST:
        return a == AUTH_INGEST;
    case AUTH_ROLE_COUNT:
        break;
    }
    return false;
}

bool auth_token_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > RP_TOKEN_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!(isalnum(c) || c == '.' || c == '_' || c == '@' || c == '-'))
            return false;
    }
    return true;
}

bool auth_token_well_formed(const char *s, size_t n)
{
    if (n != AUTH_TOKEN_LEN || memcmp(s, AUTH_TOKEN_PREFIX, AUTH_TOKEN_PREFIX_LEN) != 0)
        return false;
    for (size_t i = AUTH_TOKEN_PREFIX_LEN; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

rp_status auth_token_generate(char out[AUTH_TOKEN_LEN + 1])
{
    uint8_t rnd[RP_TOKEN_BYTES];
    rp_status st = rand_bytes(rnd, sizeof(rnd));
    if (st != RP_OK)
        return st;
    memcpy(out, AUTH_TOKEN_PREFIX, AUTH_TOKEN_PREFIX_LEN);
    hash_hex(rnd, sizeof(rnd), out + AUTH_TOKEN_PREFIX_LEN);
    memset(rnd, 0, sizeof(rnd));
    return RP_OK;
}

void auth_token_hash(const char *token, size_t n, char out[HASH_SHA256_HEX_LEN + 1])
{
    hash_sha256_hex(token, n, out);
}

bool auth_bearer(const char *header, const char **tok, size_t *n)
{
    if (header == NULL)
        return false;
    while (*header == ' ' || *header == '\t')
        header++;
    if (strncasecmp(header, "Bearer", 6) != 0 || (header[6] != ' ' && header[6] != '\t'))
        return false;
    const char *p = header + 6;
    while (*p == ' ' || *p == '\t')
        p++;
    size_t len = 0;
    while (p[len] != '\0' && p[len] != ' ' && p[len] != '\t')
        len++;
    const char *rest = p + len;
    while (*rest == ' ' || *rest == '\t')
        rest++;
    if (len == 0 || *rest != '\0')
        return false;
    *tok = p;
    *n = len;
    return true;
}

rp_status auth_token_create(struct store *s, const char *name, enum auth_role role,
                            char token[AUTH_TOKEN_LEN + 1], struct rp_error *err)
{
    if (!auth_token_name_valid(name))
        return rp_error_set(err, RP_E_USAGE,
                            "token name must be 1-%d characters of A-Z a-z 0-9 . _ @ -",
                            RP_TOKEN_NAME_MAX);
    if ((unsigned)role >= AUTH_ROLE_COUNT)
        return rp_error_set(err, RP_E_USAGE, "unknown role");
    rp_status st = auth_token_generate(token);
    if (st != RP_OK)
        return rp_error_set(err, st, "no randomness available to make a token");
    char hex[HASH_SHA256_HEX_LEN + 1];
    auth_token_hash(token, AUTH_TOKEN_LEN, hex);
    st = store_token_put(s, name, hex, auth_role_name(role), time_now_ms());
    if (st == RP_E_EXISTS) {
        memset(token, 0, AUTH_TOKEN_LEN + 1);
        return rp_error_set(err, st, "a token named %s exists already", name);
    }
    if (st != RP_OK) {
        memset(token, 0, AUTH_TOKEN_LEN + 1);
        return rp_error_set(err, st, "cannot store the token: %s", store_errmsg(s));
    }
    return RP_OK;
}

/* --- verifier ------------------------------------------------------------------ */

struct auth_entry {
    uint8_t key[HASH_SHA256_LEN];
    int64_t expires_ms; /* 0: empty slot */
    struct auth_identity who;
};

struct auth {
    pthread_mutex_t mu;
    int64_t ttl_ms;
    struct auth_stats stats;
    struct auth_entry slots[RP_AUTH_CACHE_MAX];
};

rp_status auth_new(int64_t ttl_ms, struct auth **out)
{
    struct auth *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return RP_E_NOMEM;
    if (pthread_mutex_init(&a->mu, NULL) != 0) {
        free(a);
        return RP_E_NOMEM;
    }
    a->ttl_ms = ttl_ms < 0 ? 0 : ttl_ms;
    *out = a;
    return RP_OK;
}

void auth_free(struct auth *a)
{
    if (a == NULL)
        return;
    pthread_mutex_destroy(&a->mu);
    free(a);
}

static size_t slot_home(const uint8_t key[HASH_SHA256_LEN])
{
    uint64_t h = 0;
    for (int i = 0; i < 8; i++)
        h = h << 8 | key[i];
    return (size_t)(h % RP_AUTH_CACHE_MAX);
}

/* With a->mu held: the live entry for key, or NULL. */
static struct auth_entry *cache_find(struct auth *a, const uint8_t key[HASH_SHA256_LEN],
                                     int64_t now)
{
    size_t home = slot_home(key);
    for (size_t i = 0; i < AUTH_PROBE; i++) {
        struct auth_entry *e = &a->slots[(home + i) % RP_AUTH_CACHE_MAX];
        if (e->expires_ms > now && memcmp(e->key, key, HASH_SHA256_LEN) == 0)
            return e;
    }
    return NULL;
}

/* With a->mu held: remembers who for key until now + ttl. */
static void cache_put(struct auth *a, const uint8_t key[HASH_SHA256_LEN],
                      const struct auth_identity *who, int64_t now)
{
    size_t home = slot_home(key);
    struct auth_entry *victim = NULL;
    for (size_t i = 0; i < AUTH_PROBE; i++) {
        struct auth_entry *e = &a->slots[(home + i) % RP_AUTH_CACHE_MAX];
        if (e->expires_ms <= now || memcmp(e->key, key, HASH_SHA256_LEN) == 0) {
            victim = e;
            break;
        }
        if (victim == NULL || e->expires_ms < victim->expires_ms)
            victim = e;
    }
    memcpy(victim->key, key, HASH_SHA256_LEN);
    victim->who = *who;
    victim->expires_ms = now + a->ttl_ms;
}

static void copy_name(char dst[RP_TOKEN_NAME_MAX + 1], const char *src)
{
    size_t n = strnlen(src, RP_TOKEN_NAME_MAX);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

rp_status auth_verify(struct auth *a, struct store *s, const char *token, size_t n,
                      struct auth_identity *who, struct rp_error *err)
{
    if (!auth_token_well_formed(token, n)) {
        pthread_mutex_lock(&a->mu);
        a->stats.denied++;
        pthread_mutex_unlock(&a->mu);
        return rp_error_set(err, RP_E_DENIED, "malformed token (expected rpt_ and 64 hex digits)");
    }
    uint8_t key[HASH_SHA256_LEN];
    hash_sha256(token, n, key);
    int64_t now = time_mono_ms();

    pthread_mutex_lock(&a->mu);
    struct auth_entry *e = a->ttl_ms > 0 ? cache_find(a, key, now) : NULL;
    if (e != NULL) {
        *who = e->who;
        a->stats.hits++;
        pthread_mutex_unlock(&a->mu);
        return RP_OK;
    }
    a->stats.misses++;
    pthread_mutex_unlock(&a->mu);

    char hex[HASH_SHA256_HEX_LEN + 1];
    hash_hex(key, sizeof(key), hex);
    char name[RP_NAME_MAX_BYTES + 1];
    char role[32];
    rp_status st = store_token_find(s, hex, name, role);
    enum auth_role r = AUTH_ROLE_VIEWER;
    if (st == RP_OK && auth_role_parse(role, &r) != RP_OK)
        st = RP_E_DENIED;
    if (st != RP_OK) {
        if (st == RP_E_NOTFOUND || st == RP_E_DENIED) {
            pthread_mutex_lock(&a->mu);
            a->stats.denied++;
            pthread_mutex_unlock(&a->mu);
            if (st == RP_E_DENIED)
                return rp_error_set(err, RP_E_DENIED, "token has an unknown role");
            return rp_error_set(err, RP_E_DENIED, "unknown or revoked token");
        }
        return rp_error_set(err, RP_E_STORE, "token lookup failed: %s", store_errmsg(s));
    }
    copy_name(who->name, name);
    who->role = r;
    if (a->ttl_ms > 0) {
        pthread_mutex_lock(&a->mu);
        cache_put(a, key, who, time_mono_ms());
        pthread_mutex_unlock(&a->mu);
    }
    return RP_OK;
}

void auth_forget(struct auth *a)
{
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < RP_AUTH_CACHE_MAX; i++)
        a->slots[i].expires_ms = 0;
    pthread_mutex_unlock(&a->mu);
}

void auth_get_stats(struct auth *a, struct auth_stats *out)
{
    pthread_mutex_lock(&a->mu);
    *out = a->stats;
    pthread_mutex_unlock(&a->mu);
}

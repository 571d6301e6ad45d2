/*
 * auth.h: API tokens and roles.
 *
 * A token is "rpt_" followed by 64 lower-case hex digits (RP_TOKEN_BYTES random
 * bytes). It is shown once, when it is made; the store keeps only the hex
 * SHA-256 of the whole token string, its name and its role. A request presents
 * it as `Authorization: Bearer rpt_...`; the daemon hashes what it is given and
 * looks the hash up. A token is 256 random bits, so a plain hash (no salt, no
 * slow KDF) is enough: there is no dictionary to attack.
 *
 * struct auth is the daemon's verifier: a small cache (RP_AUTH_CACHE_MAX
 * entries, each trusted for ttl milliseconds) in front of the store, so a
 * request costs one SHA-256 and a table probe, not a database read. Tokens are
 * never kept in memory, only their hashes; nothing here logs a token.
 *
 * Roles, from most to least allowed:
 *   admin      everything, including token management
 *   responder  read, ingest, change cases, run response actions
 *   analyst    read, ingest, change cases
 *   viewer     read only (GET)
 *   ingest     POST alerts only
 *
 * Threads: the pure functions run anywhere; a struct auth is shared by all HTTP
 * threads (a mutex guards the cache), each passing its own store handle.
 */
#ifndef RP_API_AUTH_H
#define RP_API_AUTH_H

#include "core/hash.h"
#include "core/limits.h"
#include "core/status.h"
#include "store/store.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_TOKEN_PREFIX     "rpt_"
#define AUTH_TOKEN_PREFIX_LEN 4
#define AUTH_TOKEN_LEN        (AUTH_TOKEN_PREFIX_LEN + 2 * RP_TOKEN_BYTES)

enum auth_role {
    AUTH_ROLE_ADMIN,
    AUTH_ROLE_ANALYST,
    AUTH_ROLE_RESPONDER,
    AUTH_ROLE_VIEWER,
    AUTH_ROLE_INGEST,
    AUTH_ROLE_COUNT
};

/* What a request wants to do; a role allows a set of these. */
enum auth_action {
    AUTH_READ,    /* GET anything but secrets */
    AUTH_INGEST,  /* POST /api/v1/alerts */
    AUTH_WRITE,   /* change cases: status, assignee, notes */
    AUTH_RESPOND, /* run or approve response actions */
    AUTH_ADMIN,   /* tokens, configuration */
};

/* Who made a request, once verified. */
struct auth_identity {
    char name[RP_TOKEN_NAME_MAX + 1];
    enum auth_role role;
};

/* "admin", "analyst", ... (static string). */
const char *auth_role_name(enum auth_role r);

/* Parses a role name; RP_E_USAGE for anything else. */
rp_status auth_role_parse(const char *s, enum auth_role *out) RP_MUST_CHECK;

/* The role names for messages: "admin, analyst, responder, viewer, ingest". */
const char *auth_role_names(void);

/* True if role r may do a. */
bool auth_role_allows(enum auth_role r, enum auth_action a);

/* True if name is 1..RP_TOKEN_NAME_MAX bytes of [A-Za-z0-9._@-]. */
bool auth_token_name_valid(const char *name);

/* True if s (n bytes) has the shape of a token: the prefix and 64 lower-case
 * hex digits. Says nothing about whether it exists. */
bool auth_token_well_formed(const char *s, size_t n);

/* Writes a new random token and a NUL into out. RP_E_IO without randomness. */
rp_status auth_token_generate(char out[AUTH_TOKEN_LEN + 1]) RP_MUST_CHECK;

/* The stored form of a token: hex SHA-256 of its n bytes, NUL-terminated. */
void auth_token_hash(const char *token, size_t n, char out[HASH_SHA256_HEX_LEN + 1]);

/* Finds the token in an Authorization header value ("Bearer <token>", the
 * scheme in any case, spaces around). Points *tok into header; false when the
 * header is not a bearer credential. */
bool auth_bearer(const char *header, const char **tok, size_t *n);

/* Makes a token named name with role, stores its hash in s and writes the token
 * (to show once) into token. RP_E_USAGE for a bad name, RP_E_EXISTS when the
 * name is taken, RP_E_STORE/RP_E_IO otherwise; err says which. */
rp_status auth_token_create(struct store *s, const char *name, enum auth_role role,
                            char token[AUTH_TOKEN_LEN + 1], struct rp_error *err) RP_MUST_CHECK;

/* --- the daemon's verifier ------------------------------------------------------- */

struct auth;

/* A verifier whose cache trusts an entry for ttl_ms (0: no caching). */
rp_status auth_new(int64_t ttl_ms, struct auth **out) RP_MUST_CHECK;

/* Frees the verifier. Accepts NULL. */
void auth_free(struct auth *a);

/* Verifies the n-byte token with the store handle s (the caller's thread's).
 * RP_OK fills *who. RP_E_DENIED (malformed, unknown or revoked token) and
 * RP_E_STORE (the lookup failed) set err; err never contains the token. */
rp_status auth_verify(struct auth *a, struct store *s, const char *token, size_t n,
                      struct auth_identity *who, struct rp_error *err) RP_MUST_CHECK;

/* Drops every cached entry (after a revoke in this process). */
void auth_forget(struct auth *a);

struct auth_stats {
    uint64_t hits;   /* verified from the cache */
    uint64_t misses; /* looked up in the store */
    uint64_t denied; /* refused tokens */
};
void auth_get_stats(struct auth *a, struct auth_stats *out);

#endif

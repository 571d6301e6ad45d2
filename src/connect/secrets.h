/*
 * secrets.h: the secret store. API keys, passwords and OAuth client secrets
 * are kept in the database encrypted with libsodium (XChaCha20-Poly1305
 * AEAD, a fresh random nonce per value, the name as additional data) under a
 * 32-byte master key that never enters the database: it comes from $RIPOSTE_SECRET_KEY (64
 * hex digits) or from a key file of mode 0600 (created with a new random key
 * by `riposte secret set` when neither exists). The name is bound to the
 * ciphertext, so a row moved to another name does not decrypt.
 *
 *   riposte secret set NAME        (value from stdin, never from argv)
 *   riposte secret list            (names and dates, never values)
 *   riposte secret rm NAME
 *
 * Values returned are in memory from sodium_malloc (guarded, locked where the
 * system allows) and must be released with secrets_value_free, which wipes
 * them. Nothing here logs a value. A struct secrets belongs to one thread.
 */
#ifndef RP_CONNECT_SECRETS_H
#define RP_CONNECT_SECRETS_H

#include "core/status.h"

#include <stdbool.h>
#include <stddef.h>

struct secrets;

/* Opens the secret store of the database at db_path with the master key from
 * $RIPOSTE_SECRET_KEY, else key_file (NULL: "DB.secret-key"). create_key: make
 * the key file (0600, random key) when no key exists; otherwise that is an
 * error naming both places to put one. RP_E_DENIED for a key file others can
 * read. */
rp_status secrets_open(const char *db_path, const char *key_file, bool create_key,
                       struct secrets **out, struct rp_error *err) RP_MUST_CHECK;

/* Accepts NULL. */
void secrets_close(struct secrets *s);

/* Stores (or replaces) a value; len <= RP_SECRET_VALUE_MAX. */
rp_status secrets_set(struct secrets *s, const char *name, const char *value, size_t len,
                      struct rp_error *err) RP_MUST_CHECK;

/* The value of name, NUL-terminated, in *value (free with secrets_value_free).
 * RP_E_NOTFOUND when there is none; RP_E_DENIED when it does not decrypt
 * (another key, or the row was tampered with). */
rp_status secrets_get(struct secrets *s, const char *name, char **value, size_t *len,
                      struct rp_error *err) RP_MUST_CHECK;

/* Wipes and frees a value from secrets_get. Accepts NULL. */
void secrets_value_free(char *value);

/* Removes name; RP_E_NOTFOUND when there is none. */
rp_status secrets_remove(struct secrets *s, const char *name, struct rp_error *err) RP_MUST_CHECK;

/* Names and update times, as a JSON array [{name, updated}] (a new reference). */
#include <jansson.h>
rp_status secrets_list(struct secrets *s, json_t **out, struct rp_error *err) RP_MUST_CHECK;

#endif

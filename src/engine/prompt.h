/*
 * prompt.h: the signed links that answer a prompt (`/respond/{token}`).
 *
 * A token is PROMPT_ID.DEADLINE_MS.MAC where MAC is the hex HMAC-SHA-256 of
 * "PROMPT_ID.DEADLINE_MS" under the installation's prompt key. The MAC makes
 * a token unforgeable and the deadline in it lets a late link be refused
 * before the store is read; that a prompt takes one answer is the store's job
 * (store_prompt_answer), so a replayed link finds the prompt closed.
 *
 * The key is 32 random bytes in a file of mode 0600 (created on first use),
 * so that links outlive a restart. Any thread.
 */
#ifndef RP_ENGINE_PROMPT_H
#define RP_ENGINE_PROMPT_H

#include "core/status.h"
#include "core/ulid.h"

#include <stdint.h>

#define PROMPT_KEY_BYTES 32
#define PROMPT_TOKEN_MAX 128

/* Writes the token for a prompt into out. */
void prompt_token_make(const unsigned char key[PROMPT_KEY_BYTES], const char *prompt_id,
                       int64_t deadline_ms, char out[PROMPT_TOKEN_MAX]);

/* Checks a token: RP_E_DENIED when it is malformed or its MAC is wrong,
 * RP_E_LIMIT when its deadline has passed. On RP_OK prompt_id holds the id. */
rp_status prompt_token_verify(const unsigned char key[PROMPT_KEY_BYTES], const char *token,
                              int64_t now_ms, char prompt_id[ULID_LEN + 1],
                              struct rp_error *err) RP_MUST_CHECK;

/* Reads the key from path, creating the file (mode 0600, new random key) when
 * it does not exist. Refuses a key file that others can read. */
rp_status prompt_key_load(const char *path, unsigned char key[PROMPT_KEY_BYTES],
                          struct rp_error *err) RP_MUST_CHECK;

#endif

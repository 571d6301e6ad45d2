/*
 * audit.c: the hash of one entry of the audit chain (guard.h).
 *
 * The encoding is fixed and unambiguous, so that no two different entries
 * hash the same message and a verifier in any language can recompute it:
 *
 *   SHA-256( str("riposte-audit-1") || str(prev_hash) || be64(seq) ||
 *            be64(ts_ms) || str(actor) || str(kind) || str(detail_json) )
 *
 * where str(s) is the 8-byte big-endian length of s followed by the SHA-256
 * of its bytes (32 bytes), and be64 is an 8-byte big-endian two's complement
 * integer. A NULL string is the empty string (the first entry's prev_hash).
 * Hashing each string first keeps the message at a fixed 216 bytes: no
 * allocation, nothing that can fail, whatever the size of the detail.
 *
 * In Python: h = lambda b: len(b).to_bytes(8, "big") + sha256(b).digest();
 * sha256(h(b"riposte-audit-1") + h(prev) + seq.to_bytes(8, "big", signed=True)
 * + ts.to_bytes(8, "big", signed=True) + h(actor) + h(kind) + h(detail)).
 *
 * Pure function, any thread.
 */
#include "core/hash.h"
#include "guard/guard.h"

#include <string.h>

#define AUDIT_TAG "riposte-audit-1"

static uint8_t *put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (uint8_t)(v & 0xff);
        v >>= 8;
    }
    return p + 8;
}

static uint8_t *put_str(uint8_t *p, const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    p = put_be64(p, (uint64_t)n);
    hash_sha256(s != NULL ? s : "", n, p);
    return p + HASH_SHA256_LEN;
}

void audit_hash(const char *prev_hash, int64_t seq, int64_t ts_ms, const char *actor,
                const char *kind, const char *detail_json, char out[65])
{
    uint8_t msg[5 * (8 + HASH_SHA256_LEN) + 2 * 8];
    uint8_t *p = msg;
    p = put_str(p, AUDIT_TAG);
    p = put_str(p, prev_hash);
    p = put_be64(p, (uint64_t)seq);
    p = put_be64(p, (uint64_t)ts_ms);
    p = put_str(p, actor);
    p = put_str(p, kind);
    p = put_str(p, detail_json);
    RP_ASSERT(p == msg + sizeof(msg));
    hash_sha256_hex(msg, sizeof(msg), out);
}

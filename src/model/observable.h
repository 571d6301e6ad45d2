/*
 * observable.h: typed values seen in alerts (DESIGN.md §2), in canonical form so
 * that the same thing written two ways is stored and matched once:
 *   ipv4, ipv6   parsed and printed back (IPv4-mapped IPv6 becomes ipv4)
 *   domain       refanged, lower case, no trailing dot, labels checked
 *   hostname     lower case, no trailing dot
 *   url          refanged, scheme and host lower case
 *   email        refanged, lower case
 *   md5, sha1, sha256   hex of the right length, lower case
 *   filename, user      trimmed, no control characters
 * Pure functions, any thread.
 */
#ifndef RP_MODEL_OBSERVABLE_H
#define RP_MODEL_OBSERVABLE_H

#include "core/buf.h"
#include "core/status.h"

#include <stdbool.h>
#include <stddef.h>

enum obs_type {
    OBS_IPV4,
    OBS_IPV6,
    OBS_DOMAIN,
    OBS_URL,
    OBS_EMAIL,
    OBS_MD5,
    OBS_SHA1,
    OBS_SHA256,
    OBS_FILENAME,
    OBS_HOSTNAME,
    OBS_USER,
    OBS_TYPE_COUNT
};

/* "ipv4", "domain", ... */
const char *observable_type_name(enum obs_type t);

/* Looks a type up by name; RP_E_INVALID for an unknown name. */
rp_status observable_type_parse(const char *name, enum obs_type *out) RP_MUST_CHECK;

/* Writes the canonical form of value (n bytes) of type t into out (which is reset
 * first). RP_E_INVALID with the reason in err when value is not a t. An IP given
 * as OBS_IPV4 or OBS_IPV6 may come back as the other family; *actual (if not
 * NULL) tells which. */
rp_status observable_canonical(enum obs_type t, const char *value, size_t n, struct buf *out,
                               enum obs_type *actual, struct rp_error *err) RP_MUST_CHECK;

/* Canonical IP address (either family) of s; *is_v6 tells which. */
rp_status observable_ip(const char *s, size_t n, struct buf *out, bool *is_v6,
                        struct rp_error *err) RP_MUST_CHECK;

/* Undoes the usual defangs: hxxp(s) -> http(s), [.] (.) [dot] -> ., [@] [at] -> @,
 * [:] -> :, [://] -> ://. Writes into out (reset first). */
rp_status observable_refang(const char *s, size_t n, struct buf *out) RP_MUST_CHECK;

#endif

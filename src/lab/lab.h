/*
 * lab.h: the lab, one process that simulates the vendor APIs Riposte's packs
 * speak (CrowdStrike, Carbon Black, Cylance, Defender, Graph, Splunk, Elastic,
 * VirusTotal, AbuseIPDB, MISP, Okta, Slack and Teams webhooks) over a synthetic
 * organisation generated from a seed, with state, the vendors' auth flows, a
 * request log and fault injection for tests. docs/lab.md is the user's guide.
 *
 * Threads: lab_new starts libmicrohttpd (one thread per connection); lab_run
 * blocks the caller until SIGTERM or SIGINT. The organisation lives in memory
 * under one mutex; nothing is written to disk.
 */
#ifndef RP_LAB_LAB_H
#define RP_LAB_LAB_H

#include "core/status.h"

#include <stdint.h>

struct lab;

struct lab_opts {
    const char *listen;  /* "HOST:PORT"; port 0 picks a free one */
    uint64_t seed;       /* same seed, same organisation */
    int64_t token_ttl_s; /* lifetime of issued tokens; 0: RP_LAB_TOKEN_TTL_S */
    int64_t base_ms;     /* timestamps count back from here; 0: the start time */
};

/* Builds the organisation and starts serving. The caller owns *out (lab_free). SIGINT and SIGTERM
 * must be blocked in the calling thread before (lab_run waits for them), so that the server's
 * threads inherit the mask. */
rp_status lab_new(const struct lab_opts *o, struct lab **out, struct rp_error *err) RP_MUST_CHECK;

/* "http://HOST:PORT", owned by the lab. */
const char *lab_url(const struct lab *lab);

/* Waits for SIGTERM or SIGINT (blocked by the caller), then stops serving. */
rp_status lab_run(struct lab *lab, struct rp_error *err) RP_MUST_CHECK;

/* Stops the server and frees everything. Accepts NULL. */
void lab_free(struct lab *lab);

#endif

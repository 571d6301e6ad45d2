/*
 * correlate.h: alerts into cases (DESIGN.md §2).
 *
 * An alert whose fingerprint matches an open case whose newest alert arrived
 * within the window joins that case (the window slides with each alert);
 * otherwise it opens a new case. A case's severity is the highest of its
 * alerts'. Every change is a timeline entry with its time and actor
 * ("correlate").
 *
 * A struct correlate lives for one write transaction: it remembers the cases it
 * touched so that a burst of duplicates costs one case lookup and one case write
 * per transaction, not per alert; correlate_flush() writes them before commit.
 * Writer thread only.
 */
#ifndef RP_CORRELATE_CORRELATE_H
#define RP_CORRELATE_CORRELATE_H

#include "core/status.h"
#include "store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

struct correlate;

rp_status correlate_new(struct store *s, int64_t window_ms, struct correlate **out) RP_MUST_CHECK;
void correlate_free(struct correlate *c);

struct correlate_outcome {
    char case_id[ULID_LEN + 1];
    bool created; /* a new case was opened; else the alert joined case_id */
};

/* Finds or opens the case of a normalized alert and records the join on the
 * timeline. Does not store the alert itself. Inside a store batch. */
rp_status correlate_alert(struct correlate *c, json_t *alert,
                          struct correlate_outcome *out) RP_MUST_CHECK;

/* Writes the touched cases. Call before store_commit(). */
rp_status correlate_flush(struct correlate *c) RP_MUST_CHECK;

#endif

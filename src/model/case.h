/*
 * case.h: case statuses and their rules. A case is open while its status is new,
 * triage or contained; alerts join only open cases. Pure functions.
 */
#ifndef RP_MODEL_CASE_H
#define RP_MODEL_CASE_H

#include "core/limits.h"
#include "core/status.h"
#include "core/ulid.h"

#include <jansson.h>
#include <stdint.h>

#include <stdbool.h>

enum case_status {
    CASE_NEW,
    CASE_TRIAGE,
    CASE_CONTAINED,
    CASE_RESOLVED,
    CASE_CLOSED,
    CASE_FALSE_POSITIVE,
    CASE_STATUS_COUNT
};

const char *case_status_name(enum case_status s);
rp_status case_status_parse(const char *s, enum case_status *out) RP_MUST_CHECK;
bool case_status_open(enum case_status s);

/* A list of every status name for messages: "new, triage, contained, ..." */
const char *case_status_names(void);

/* One row of the cases table. Times are epoch ms; 0 means "not yet". */
struct case_row {
    char id[ULID_LEN + 1];
    char fingerprint[RP_FINGERPRINT_MAX + 1];
    char title[RP_CASE_TITLE_MAX + 1];
    char kind[16];
    char source[RP_NAME_MAX_BYTES + 1];
    char assignee[RP_NAME_MAX_BYTES + 1]; /* "" when unassigned */
    enum case_status status;
    int severity;
    int64_t alert_count;
    int64_t detected_ms; /* earliest event time of its alerts */
    int64_t created_ms;  /* when Riposte opened it */
    int64_t updated_ms;  /* last change of any kind */
    int64_t first_seen_ms;
    int64_t last_seen_ms; /* received time of the newest alert: the window slides */
    int64_t acknowledged_ms;
    int64_t contained_ms;
    int64_t resolved_ms;
    int64_t closed_ms;
};

/* A change asked for by a person or the API; NULL / -1 fields are left alone. */
struct case_update {
    const char *status;   /* a status name */
    int severity;         /* 0-100, or -1 */
    const char *assignee; /* "" unassigns */
    const char *note;
};

/* Applies u to c at time now: sets the fields, the KPI timestamps (acknowledged
 * when the case first leaves "new" or gets an assignee; contained, resolved and
 * closed when it first reaches those states; false_positive counts as resolved
 * and closed) and appends one {event, detail} object per change to events (a
 * JSON array) for the timeline. RP_E_INVALID with err on a bad status, severity
 * or an over-long value; c is unchanged then. A change to the same value is not
 * an event. */
rp_status case_apply_update(struct case_row *c, const struct case_update *u, int64_t now,
                            json_t *events, struct rp_error *err) RP_MUST_CHECK;

/* Copies s into a fixed field of cap bytes, cut on a UTF-8 character boundary. */
void case_copy_text(char *dst, size_t cap, const char *s);

#endif

/*
 * case.h: case statuses and their rules. A case is open while its status is new,
 * triage or contained; alerts join only open cases. Pure functions.
 */
#ifndef RP_MODEL_CASE_H
#define RP_MODEL_CASE_H

#include "core/status.h"

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

#endif

/*
 * case.c: case status names. Pure functions.
 */
#include "model/case.h"

#include <string.h>

static const char *const NAMES[CASE_STATUS_COUNT] = {
    "new", "triage", "contained", "resolved", "closed", "false_positive",
};

const char *case_status_name(enum case_status s)
{
    return (s >= 0 && s < CASE_STATUS_COUNT) ? NAMES[s] : "unknown";
}

rp_status case_status_parse(const char *s, enum case_status *out)
{
    for (int i = 0; i < CASE_STATUS_COUNT; i++) {
        if (strcmp(s, NAMES[i]) == 0) {
            *out = (enum case_status)i;
            return RP_OK;
        }
    }
    return RP_E_INVALID;
}

bool case_status_open(enum case_status s)
{
    return s == CASE_NEW || s == CASE_TRIAGE || s == CASE_CONTAINED;
}

const char *case_status_names(void)
{
    return "new, triage, contained, resolved, closed, false_positive";
}

void case_copy_text(char *dst, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (n >= cap) {
        n = cap - 1;
        /* step back over UTF-8 continuation bytes so no character is split */
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
}

static rp_status add_event(json_t *events, const char *event, json_t *detail)
{
    if (detail == NULL)
        return RP_E_NOMEM;
    json_t *e = json_pack("{s:s, s:o}", "event", event, "detail", detail);
    if (e == NULL || json_array_append_new(events, e) != 0)
        return RP_E_NOMEM;
    return RP_OK;
}

static void stamp(int64_t *field, int64_t now)
{
    if (*field == 0)
        *field = now;
}

rp_status case_apply_update(struct case_row *c, const struct case_update *u, int64_t now,
                            json_t *events, struct rp_error *err)
{
    struct case_row n = *c;
    enum case_status status = c->status;
    if (u->status != NULL && case_status_parse(u->status, &status) != RP_OK)
        return rp_error_set(err, RP_E_INVALID, "status '%s' is not one of %s", u->status,
                            case_status_names());
    if (u->severity != -1 && (u->severity < 0 || u->severity > 100))
        return rp_error_set(err, RP_E_INVALID, "severity %d is not in 0-100", u->severity);
    if (u->assignee != NULL && strlen(u->assignee) > RP_NAME_MAX_BYTES)
        return rp_error_set(err, RP_E_INVALID, "assignee longer than %u bytes", RP_NAME_MAX_BYTES);
    if (u->note != NULL && (u->note[0] == '\0' || strlen(u->note) > RP_FIELD_MAX_BYTES))
        return rp_error_set(err, RP_E_INVALID, "a note must be 1-%u bytes", RP_FIELD_MAX_BYTES);

    size_t mark = json_array_size(events);
    rp_status st = RP_OK;
    if (status != c->status) {
        n.status = status;
        st = add_event(events, "status",
                       json_pack("{s:s, s:s}", "from", case_status_name(c->status), "to",
                                 case_status_name(status)));
        if (status != CASE_NEW)
            stamp(&n.acknowledged_ms, now);
        if (status == CASE_CONTAINED)
            stamp(&n.contained_ms, now);
        if (status == CASE_RESOLVED || status == CASE_CLOSED || status == CASE_FALSE_POSITIVE)
            stamp(&n.resolved_ms, now);
        if (status == CASE_CLOSED || status == CASE_FALSE_POSITIVE)
            stamp(&n.closed_ms, now);
    }
    if (st == RP_OK && u->severity != -1 && u->severity != c->severity) {
        n.severity = u->severity;
        st = add_event(events, "severity",
                       json_pack("{s:i, s:i}", "from", c->severity, "to", u->severity));
    }
    if (st == RP_OK && u->assignee != NULL && strcmp(u->assignee, c->assignee) != 0) {
        case_copy_text(n.assignee, sizeof(n.assignee), u->assignee);
        st = add_event(events, "assignee",
                       json_pack("{s:s?, s:s?}", "from", c->assignee[0] ? c->assignee : NULL, "to",
                                 u->assignee[0] ? u->assignee : NULL));
        if (u->assignee[0] != '\0')
            stamp(&n.acknowledged_ms, now);
    }
    if (st == RP_OK && u->note != NULL)
        st = add_event(events, "note", json_pack("{s:s}", "text", u->note));
    if (st != RP_OK) {
        while (json_array_size(events) > mark)
            json_array_remove(events, json_array_size(events) - 1);
        return rp_error_set(err, st, "out of memory");
    }
    if (json_array_size(events) > mark)
        n.updated_ms = now;
    *c = n;
    return RP_OK;
}

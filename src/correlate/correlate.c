/*
 * correlate.c: alerts into cases. See correlate.h for the rule.
 *
 * Per transaction, a small open-addressing map from fingerprint to the case the
 * transaction has seen for it: the first alert of a fingerprint costs one index
 * lookup in the store, the following ones none, and each touched case is written
 * once at flush. The map grows with the number of distinct fingerprints in the
 * transaction, which is bounded by the records in it. Writer thread only.
 */
#include "correlate/correlate.h"

#include "core/time.h"
#include "model/alert.h"

#include <stdlib.h>
#include <string.h>

struct entry {
    struct case_row row;
    bool dirty;
};

struct correlate {
    struct store *store;
    int64_t window_ms;
    struct entry *entries; /* every case touched, in order */
    size_t n, cap;
    size_t *slots; /* index + 1 into entries; 0 = empty */
    size_t nslots;
};

rp_status correlate_new(struct store *s, int64_t window_ms, struct correlate **out)
{
    struct correlate *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return RP_E_NOMEM;
    c->store = s;
    c->window_ms = window_ms > 0 ? window_ms : RP_CORRELATE_WINDOW_DEFAULT_MS;
    *out = c;
    return RP_OK;
}

void correlate_free(struct correlate *c)
{
    if (c == NULL)
        return;
    free(c->entries);
    free(c->slots);
    free(c);
}

static uint64_t fnv1a(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    while (*s) {
        h ^= (unsigned char)*s++;
        h *= 1099511628211ULL;
    }
    return h;
}

static size_t *slot_for(struct correlate *c, const char *fp)
{
    size_t mask = c->nslots - 1;
    for (size_t i = (size_t)fnv1a(fp) & mask;; i = (i + 1) & mask) {
        if (c->slots[i] == 0 || strcmp(c->entries[c->slots[i] - 1].row.fingerprint, fp) == 0)
            return &c->slots[i];
    }
}

static rp_status grow(struct correlate *c)
{
    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 64;
        struct entry *e = realloc(c->entries, cap * sizeof(*e));
        if (e == NULL)
            return RP_E_NOMEM;
        c->entries = e;
        c->cap = cap;
    }
    if ((c->n + 1) * 2 > c->nslots) {
        size_t ns = c->nslots ? c->nslots * 2 : 128;
        size_t *slots = calloc(ns, sizeof(*slots));
        if (slots == NULL)
            return RP_E_NOMEM;
        free(c->slots);
        c->slots = slots;
        c->nslots = ns;
        /* rehash: the newest entry of a fingerprint wins */
        for (size_t i = 0; i < c->n; i++)
            *slot_for(c, c->entries[i].row.fingerprint) = i + 1;
    }
    return RP_OK;
}

static rp_status remember(struct correlate *c, const struct case_row *row, struct entry **out)
{
    rp_status st = grow(c);
    if (st != RP_OK)
        return st;
    c->entries[c->n].row = *row;
    c->entries[c->n].dirty = false;
    *slot_for(c, row->fingerprint) = ++c->n;
    *out = &c->entries[c->n - 1];
    return RP_OK;
}

rp_status correlate_alert(struct correlate *c, json_t *alert, struct correlate_outcome *out)
{
    const char *fp = alert_str(alert, "fingerprint");
    const char *alert_id = alert_str(alert, "id");
    int severity = alert_severity(alert);
    int64_t now = time_now_ms();
    int64_t received = alert_time_ms(alert, "received_time", now);
    int64_t event = alert_time_ms(alert, "event_time", received);
    int64_t since = received - c->window_ms;
    rp_status st;

    struct entry *e = NULL;
    if (c->nslots > 0) {
        size_t idx = *slot_for(c, fp);
        if (idx != 0)
            e = &c->entries[idx - 1];
    }
    if (e != NULL && (!case_status_open(e->row.status) || e->row.last_seen_ms < since))
        e = NULL; /* outside the window: a new case replaces it in the map */
    if (e == NULL) {
        struct case_row row;
        bool found = false;
        st = store_case_find_open(c->store, fp, since, &row, &found);
        if (st != RP_OK)
            return st;
        if (found && (st = remember(c, &row, &e)) != RP_OK)
            return st;
    }

    if (e == NULL) {
        struct case_row row;
        memset(&row, 0, sizeof(row));
        if ((st = ulid_new(row.id)) != RP_OK)
            return st;
        case_copy_text(row.fingerprint, sizeof(row.fingerprint), fp);
        case_copy_text(row.title, sizeof(row.title), alert_str(alert, "title"));
        case_copy_text(row.kind, sizeof(row.kind), alert_str(alert, "kind"));
        case_copy_text(row.source, sizeof(row.source), alert_str(alert, "source"));
        row.status = CASE_NEW;
        row.severity = severity;
        row.alert_count = 1;
        row.detected_ms = event;
        row.created_ms = now;
        row.updated_ms = now;
        row.first_seen_ms = received;
        row.last_seen_ms = received;
        if ((st = store_case_insert(c->store, &row)) != RP_OK)
            return st;
        if ((st = remember(c, &row, &e)) != RP_OK)
            return st;
        json_t *d = json_pack("{s:s, s:s, s:i}", "alert", alert_id, "title", row.title, "severity",
                              severity);
        st = d ? store_timeline_add(c->store, row.id, now, "correlate", "created", d) : RP_E_NOMEM;
        json_decref(d);
        if (st != RP_OK)
            return st;
        memcpy(out->case_id, row.id, sizeof(out->case_id));
        out->created = true;
        return RP_OK;
    }

    struct case_row *row = &e->row;
    row->alert_count++;
    if (received > row->last_seen_ms)
        row->last_seen_ms = received;
    if (event < row->detected_ms)
        row->detected_ms = event;
    row->updated_ms = now;
    e->dirty = true;
    json_t *d = json_pack("{s:s, s:i}", "alert", alert_id, "severity", severity);
    st = d ? store_timeline_add(c->store, row->id, now, "correlate", "alert_added", d) : RP_E_NOMEM;
    json_decref(d);
    if (st == RP_OK && severity > row->severity) {
        d = json_pack("{s:i, s:i, s:s}", "from", row->severity, "to", severity, "alert", alert_id);
        st =
            d ? store_timeline_add(c->store, row->id, now, "correlate", "severity", d) : RP_E_NOMEM;
        json_decref(d);
        row->severity = severity;
    }
    if (st != RP_OK)
        return st;
    memcpy(out->case_id, row->id, sizeof(out->case_id));
    out->created = false;
    return RP_OK;
}

rp_status correlate_flush(struct correlate *c)
{
    for (size_t i = 0; i < c->n; i++) {
        if (!c->entries[i].dirty)
            continue;
        rp_status st = store_case_save(c->store, &c->entries[i].row);
        if (st != RP_OK)
            return st;
        c->entries[i].dirty = false;
    }
    return RP_OK;
}

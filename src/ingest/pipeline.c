/*
 * pipeline.c: input bytes -> normalized alerts -> cases and stored rows. See
 * pipeline.h for the two halves and which thread runs each.
 *
 * A batch owns copies of everything it needs (the record bytes, the normalized
 * alert, its serialised form), so the input buffer can be freed as soon as the
 * batch is prepared, and the commit can be retried after a failure.
 */
#include "ingest/pipeline.h"

#include "core/buf.h"
#include "core/limits.h"
#include "core/log.h"
#include "core/time.h"
#include "correlate/correlate.h"
#include "ingest/reader.h"
#include "model/alert.h"

#include <stdlib.h>
#include <string.h>

struct ingest_rec {
    uint64_t number;
    uint64_t line;
    size_t element; /* 1-based element of a record of several alerts; 0: the record */
    char *raw;      /* the record's bytes; for a rejected one, truncated */
    size_t raw_len;
    json_t *alert; /* normalized; NULL when rejected */
    char *json;    /* alert serialised */
    size_t json_len;
    char *reason; /* why it was rejected or ignored; NULL when accepted */
    bool ignored; /* no security event: neither stored nor dead-lettered */
    bool explicit_id;
    /* after commit */
    char case_id[ULID_LEN + 1];
    bool created;
    bool duplicate;
};

struct ingest_batch {
    struct ingest_opts opts; /* strings point into the copies below */
    char *channel;
    char *origin;
    char *default_source;
    struct ingest_rec *recs;
    size_t n, cap;
    size_t bytes;
    size_t nrejected;
    struct ingest_counts counts;
};

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

rp_status ingest_batch_new(const struct ingest_opts *opts, struct ingest_batch **out)
{
    struct ingest_batch *b = calloc(1, sizeof(*b));
    if (b == NULL)
        return RP_E_NOMEM;
    b->opts = *opts;
    b->channel = dup_or_null(opts->channel ? opts->channel : "cli");
    b->origin = dup_or_null(opts->origin ? opts->origin : "-");
    b->default_source = dup_or_null(opts->default_source ? opts->default_source : "unknown");
    if (b->channel == NULL || b->origin == NULL || b->default_source == NULL) {
        ingest_batch_free(b);
        return RP_E_NOMEM;
    }
    b->opts.channel = b->channel;
    b->opts.origin = b->origin;
    b->opts.default_source = b->default_source;
    if (b->opts.received_ms == 0)
        b->opts.received_ms = time_now_ms();
    *out = b;
    return RP_OK;
}

static void rec_fini(struct ingest_rec *r)
{
    free(r->raw);
    json_decref(r->alert);
    free(r->json);
    free(r->reason);
}

void ingest_batch_free(struct ingest_batch *b)
{
    if (b == NULL)
        return;
    for (size_t i = 0; i < b->n; i++)
        rec_fini(&b->recs[i]);
    free(b->recs);
    free(b->channel);
    free(b->origin);
    free(b->default_source);
    free(b);
}

static rp_status new_rec(struct ingest_batch *b, const char *data, size_t len, size_t keep,
                         uint64_t number, uint64_t line, struct ingest_rec **out)
{
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 16;
        struct ingest_rec *r = realloc(b->recs, cap * sizeof(*r));
        if (r == NULL)
            return RP_E_NOMEM;
        b->recs = r;
        b->cap = cap;
    }
    struct ingest_rec *r = &b->recs[b->n];
    memset(r, 0, sizeof(*r));
    if (keep > len)
        keep = len;
    r->raw = malloc(keep + 1);
    if (r->raw == NULL)
        return RP_E_NOMEM;
    memcpy(r->raw, data, keep);
    r->raw[keep] = '\0';
    r->raw_len = keep;
    r->number = number;
    r->line = line;
    b->n++;
    b->bytes += keep;
    *out = r;
    return RP_OK;
}

rp_status ingest_batch_reject(struct ingest_batch *b, const char *data, size_t len, uint64_t number,
                              uint64_t line, const char *reason)
{
    struct ingest_rec *r;
    rp_status st = new_rec(b, data, len, RP_DEADLETTER_RAW_MAX, number, line, &r);
    if (st != RP_OK)
        return st;
    r->reason = strdup(reason);
    if (r->reason == NULL)
        return RP_E_NOMEM;
    b->nrejected++;
    return RP_OK;
}

static rp_status batch_ignore(struct ingest_batch *b, const char *data, size_t len, uint64_t number,
                              uint64_t line, const char *reason)
{
    struct ingest_rec *r;
    rp_status st = new_rec(b, data, len, 0, number, line, &r);
    if (st != RP_OK)
        return st;
    r->ignored = true;
    r->reason = strdup(reason);
    return r->reason ? RP_OK : RP_E_NOMEM;
}

/* One record being added: where its items are in the input. */
struct add_ctx {
    struct ingest_batch *b;
    const char *data;
    uint64_t number;
    uint64_t line;   /* the line where the last item seen starts */
    size_t line_off; /* ... and its offset in the record */
};

/* The reason of an element's rejection: where it is, then why. */
static void item_reason(const struct ingest_item *it, const char *why, char *out, size_t cap)
{
    if (it->element == 0)
        rp_fmt(out, cap, "%s", why);
    else
        rp_fmt(out, cap, "element %zu (byte %zu): %s", it->element, it->offset, why);
}

/* Takes one item of a record (ingest_item_fn): normalizes it and keeps it as
 * accepted, rejected or ignored, with the line where it starts. */
static rp_status add_item(void *arg, const struct ingest_item *it)
{
    struct add_ctx *a = arg;
    struct ingest_batch *b = a->b;
    if (it->element > 0 && it->offset >= a->line_off) {
        for (size_t i = a->line_off; i < it->offset; i++)
            a->line += a->data[i] == '\n';
        a->line_off = it->offset;
    }
    char why[RP_ERROR_MAX + 64];
    struct ingest_rec *r;
    rp_status st;
    if (it->st == RP_E_NOTFOUND || it->st == RP_E_INVALID) {
        item_reason(it, it->reason ? it->reason : "", why, sizeof(why));
        st = it->st == RP_E_NOTFOUND
                 ? batch_ignore(b, it->raw, it->raw_len, a->number, a->line, why)
                 : ingest_batch_reject(b, it->raw, it->raw_len, a->number, a->line, why);
        if (st == RP_OK)
            b->recs[b->n - 1].element = it->element;
        return st;
    }
    if (it->st != RP_OK) {
        json_decref(it->alert);
        return it->st;
    }
    json_t *in = it->alert; /* ours now */
    struct rp_error err;
    struct alert_opts ao = {b->opts.received_ms, b->opts.default_source, b->opts.config};
    json_t *alert = NULL;
    st = alert_normalize(in, &ao, &alert, &err);
    bool explicit_id = json_is_string(json_object_get(in, "id"));
    json_decref(in);
    if (st == RP_E_INVALID) {
        item_reason(it, err.msg, why, sizeof(why));
        st = ingest_batch_reject(b, it->raw, it->raw_len, a->number, a->line, why);
        if (st == RP_OK)
            b->recs[b->n - 1].element = it->element;
        return st;
    }
    if (st != RP_OK)
        return st;
    st = new_rec(b, it->raw, it->raw_len, it->raw_len, a->number, a->line, &r);
    if (st != RP_OK) {
        json_decref(alert);
        return st;
    }
    r->element = it->element;
    r->alert = alert;
    r->explicit_id = explicit_id;
    r->json = json_dumps(alert, JSON_COMPACT);
    if (r->json == NULL)
        return RP_E_NOMEM;
    r->json_len = strlen(r->json);
    b->bytes += r->json_len;
    return RP_OK;
}

rp_status ingest_batch_add(struct ingest_batch *b, const char *data, size_t len, uint64_t number,
                           uint64_t line)
{
    struct add_ctx a = {b, data, number, line, 0};
    return ingest_format_read_each(&b->opts.format, data, len, add_item, &a);
}

enum reader_framing ingest_framing_for(const struct ingest_format_spec *spec, const char *data,
                                       size_t len, enum ingest_format *detected)
{
    enum ingest_format f = spec->format;
    if (f == FORMAT_AUTO)
        f = ingest_format_detect(data, len);
    if (detected != NULL)
        *detected = f;
    switch (ingest_format_framing(f)) {
    case FRAMING_JSON:
        return READER_JSON;
    case FRAMING_WHOLE:
        return READER_WHOLE;
    case FRAMING_LINES:
        break;
    }
    return READER_LINES;
}

rp_status ingest_batch_add_input(struct ingest_batch *b, const char *data, size_t len)
{
    struct reader *rd;
    enum ingest_format f;
    enum reader_framing framing = ingest_framing_for(&b->opts.format, data, len, &f);
    /* as in cli/stream.c: a JSON or whole input's records are read in its format */
    if (framing != READER_LINES)
        b->opts.format.format = f;
    rp_status st = reader_new_mem_framed(framing, data, len, ingest_format_record_max(f), &rd);
    if (st != RP_OK)
        return st;
    for (;;) {
        struct reader_record rec;
        bool have;
        st = reader_next(rd, true, &rec, &have);
        if (st != RP_OK || !have)
            break;
        st = rec.error ? ingest_batch_reject(b, rec.data, rec.len, rec.number, rec.line, rec.error)
                       : ingest_batch_add(b, rec.data, rec.len, rec.number, rec.line);
        if (st != RP_OK)
            break;
    }
    reader_free(rd);
    return st;
}

size_t ingest_batch_records(const struct ingest_batch *b)
{
    return b->n;
}

size_t ingest_batch_bytes(const struct ingest_batch *b)
{
    return b->bytes;
}

const struct ingest_counts *ingest_batch_counts(const struct ingest_batch *b)
{
    return &b->counts;
}

static rp_status commit_one(struct store *s, struct correlate *corr, struct ingest_batch *b,
                            int64_t now)
{
    memset(&b->counts, 0, sizeof(b->counts));
    for (size_t i = 0; i < b->n; i++) {
        struct ingest_rec *r = &b->recs[i];
        rp_status st;
        if (r->ignored) {
            b->counts.ignored++;
            continue;
        }
        if (r->alert == NULL) {
            char where[512];
            if (r->element > 0)
                rp_fmt(where, sizeof(where), "%s record %llu line %llu element %zu", b->origin,
                       (unsigned long long)r->number, (unsigned long long)r->line, r->element);
            else
                rp_fmt(where, sizeof(where), "%s record %llu line %llu", b->origin,
                       (unsigned long long)r->number, (unsigned long long)r->line);
            st = store_deadletter_add(s, now, b->channel, where, r->reason, r->raw, r->raw_len);
            if (st != RP_OK)
                return st;
            b->counts.rejected++;
            continue;
        }
        const char *id = alert_str(r->alert, "id");
        r->duplicate = false;
        if (r->explicit_id) {
            bool found = false;
            if ((st = store_alert_exists(s, id, &found)) != RP_OK)
                return st;
            if (found) {
                r->duplicate = true;
                r->case_id[0] = '\0';
                b->counts.accepted++;
                b->counts.duplicates++;
                continue;
            }
        }
        struct correlate_outcome out;
        if ((st = correlate_alert(corr, r->alert, &out)) != RP_OK)
            return st;
        memcpy(r->case_id, out.case_id, sizeof(r->case_id));
        r->created = out.created;
        int64_t received = alert_time_ms(r->alert, "received_time", b->opts.received_ms);
        int64_t event = alert_time_ms(r->alert, "event_time", received);
        struct store_alert sa = {
            .id = id,
            .case_id = r->case_id,
            .fingerprint = alert_str(r->alert, "fingerprint"),
            .source = alert_str(r->alert, "source"),
            .kind = alert_str(r->alert, "kind"),
            .severity = alert_severity(r->alert),
            .event_ms = event,
            .received_ms = received,
            .raw = r->raw,
            .raw_len = r->raw_len,
            .json = r->json,
            .json_len = r->json_len,
            .observables = json_object_get(r->alert, "observables"),
        };
        if ((st = store_alert_put(s, &sa)) != RP_OK)
            return st;
        b->counts.accepted++;
        if (out.created)
            b->counts.cases_created++;
        else
            b->counts.cases_updated++;
    }
    return RP_OK;
}

rp_status ingest_commit(struct store *s, const struct config *config, struct ingest_batch **batches,
                        size_t n, struct rp_error *err)
{
    struct correlate *corr = NULL;
    int64_t window = config ? config->correlate_window_ms : RP_CORRELATE_WINDOW_DEFAULT_MS;
    rp_status st = store_begin(s);
    if (st != RP_OK)
        return rp_error_set(err, st, "cannot start a transaction: %s", store_errmsg(s));
    st = correlate_new(s, window, &corr);
    int64_t now = time_now_ms();
    for (size_t i = 0; st == RP_OK && i < n; i++)
        st = commit_one(s, corr, batches[i], now);
    if (st == RP_OK)
        st = correlate_flush(corr);
    correlate_free(corr);
    if (st == RP_OK)
        st = store_commit(s);
    if (st != RP_OK) {
        rp_error_set(err, st, "nothing stored: %s (%s)", rp_status_str(st), store_errmsg(s));
        store_rollback(s);
        for (size_t i = 0; i < n; i++)
            memset(&batches[i]->counts, 0, sizeof(batches[i]->counts));
        return st;
    }
    return RP_OK;
}

void ingest_batch_each_reject(const struct ingest_batch *b,
                              void (*fn)(void *arg, uint64_t number, uint64_t line,
                                         const char *reason),
                              void *arg)
{
    for (size_t i = 0; i < b->n; i++)
        if (b->recs[i].alert == NULL && !b->recs[i].ignored)
            fn(arg, b->recs[i].number, b->recs[i].line, b->recs[i].reason);
}

void ingest_batch_each(const struct ingest_batch *b,
                       void (*fn)(void *arg, uint64_t number, uint64_t line, json_t *alert,
                                  bool ignored, const char *reason),
                       void *arg)
{
    for (size_t i = 0; i < b->n; i++) {
        const struct ingest_rec *r = &b->recs[i];
        fn(arg, r->number, r->line, r->alert, r->ignored, r->reason);
    }
}

json_t *ingest_batch_result_json(const struct ingest_batch *b, size_t max_errors)
{
    const struct ingest_counts *c = &b->counts;
    json_t *ids = json_array(), *cases = json_array(), *errors = json_array();
    json_t *o =
        json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "accepted", (json_int_t)c->accepted, "rejected",
                  (json_int_t)c->rejected, "ignored", (json_int_t)c->ignored, "duplicates",
                  (json_int_t)c->duplicates, "cases_created", (json_int_t)c->cases_created,
                  "cases_updated", (json_int_t)c->cases_updated);
    if (ids == NULL || cases == NULL || errors == NULL || o == NULL)
        goto fail;
    for (size_t i = 0; i < b->n; i++) {
        const struct ingest_rec *r = &b->recs[i];
        int bad;
        if (r->alert != NULL) {
            bad = json_array_append_new(ids, json_string(alert_str(r->alert, "id")));
            bad |=
                json_array_append_new(cases, r->duplicate ? json_null() : json_string(r->case_id));
        } else if (r->ignored) {
            bad = 0;
        } else if (json_array_size(errors) < max_errors) {
            json_t *e = json_pack("{s:I, s:I, s:s}", "record", (json_int_t)r->number, "line",
                                  (json_int_t)r->line, "error", r->reason);
            if (e != NULL && r->element > 0 &&
                json_object_set_new(e, "element", json_integer((json_int_t)r->element)) != 0) {
                json_decref(e);
                e = NULL;
            }
            bad = json_array_append_new(errors, e);
        } else {
            bad = 0;
        }
        if (bad)
            goto fail;
    }
    if (json_object_set_new(o, "ids", ids) || json_object_set_new(o, "cases", cases) ||
        json_object_set_new(o, "errors", errors)) {
        ids = cases = errors = NULL;
        goto fail;
    }
    return o;
fail:
    json_decref(ids);
    json_decref(cases);
    json_decref(errors);
    json_decref(o);
    return NULL;
}

void ingest_batch_each_stored(const struct ingest_batch *b,
                              void (*fn)(void *arg, json_t *alert, const char *case_id), void *arg)
{
    for (size_t i = 0; i < b->n; i++) {
        const struct ingest_rec *r = &b->recs[i];
        if (r->alert != NULL && !r->ignored && !r->duplicate && r->case_id[0] != '\0')
            fn(arg, r->alert, r->case_id);
    }
}

/*
 * loop.c: the engine's turn of the loop, its group commit, and the playbook
 * versions it can run (engine_internal.h). Loop thread only.
 *
 * The pump is an idle handle: active while some run is dirty, some write is
 * queued or some call waits for a commit, so the loop never sleeps on work.
 * One pump callback: walk every dirty run, commit every queued write in one
 * transaction, send the calls that waited for that commit, release finished
 * runs. A failed commit keeps everything queued and retries on a timer.
 */
#include "core/log.h"
#include "core/time.h"
#include "engine/engine_internal.h"
#include "expr/expr.h"
#include "model/case.h"
#include "playbook/cron.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

static void pump(uv_idle_t *h);

void engine_kick(struct engine *e)
{
    if (!e->pump_on && !e->closing && !e->commit_failing) {
        e->pump_on = true;
        uv_idle_start(&e->pump, pump);
    }
}

void engine_queue_write(struct engine *e, struct pending_write *w)
{
    w->next = NULL;
    *e->writes_tail = w;
    e->writes_tail = &w->next;
    e->nwrites++;
    engine_kick(e);
}

void engine_write_free(struct pending_write *w)
{
    if (w == NULL)
        return;
    free(w->key);
    json_decref(w->data);
    free(w->value);
    free(w->error);
    free(w->actor_playbook);
    op_prompt_free_row(w->prompt);
    free(w);
}

void engine_after_commit(struct engine *e, struct op *o)
{
    *e->after_commit_tail = o;
    e->after_commit_tail = op_next_commit(o);
    *e->after_commit_tail = NULL;
    engine_kick(e);
}

/* A case operation of a run, applied inside the commit. */
static rp_status write_case_op(struct engine *e, struct pending_write *w)
{
    struct case_row c;
    rp_status st = store_case_get(e->store, w->case_id, &c);
    if (st != RP_OK)
        return st;
    char actor[RP_NAME_MAX_BYTES + 16];
    snprintf(actor, sizeof actor, "playbook:%s", w->actor_playbook);
    int64_t now = time_now_ms();
    if (strcmp(w->op, "task") == 0) {
        json_t *d = json_pack("{s:s,s:s}", "task", w->value, "run", w->run_id);
        st = store_timeline_add(e->store, c.id, now, actor, "task", d);
        json_decref(d);
        return st;
    }
    struct case_update u = {.severity = -1};
    if (strcmp(w->op, "status") == 0)
        u.status = w->value;
    else if (strcmp(w->op, "severity") == 0)
        u.severity = w->severity;
    else if (strcmp(w->op, "assignee") == 0)
        u.assignee = w->value;
    else
        u.note = w->value;
    json_t *events = json_array();
    struct rp_error err;
    st = case_apply_update(&c, &u, now, events, &err);
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        if (st != RP_OK)
            break;
        json_t *detail = json_object_get(ev, "detail");
        json_object_set_new(detail, "run", json_string(w->run_id));
        st = store_timeline_add(e->store, c.id, now, actor,
                                json_string_value(json_object_get(ev, "event")), detail);
    }
    json_decref(events);
    if (st == RP_OK)
        st = store_case_save(e->store, &c);
    return st;
}

static rp_status write_run_insert(struct engine *e, json_t *row)
{
    struct store_run r = {
        .id = json_string_value(json_object_get(row, "id")),
        .playbook = json_string_value(json_object_get(row, "playbook")),
        .version = (int)json_integer_value(json_object_get(row, "version")),
        .trigger = json_string_value(json_object_get(row, "trigger")),
        .dedup_key = json_string_value(json_object_get(row, "dedup_key")),
        .alert_id = json_string_value(json_object_get(row, "alert_id")),
        .case_id = json_string_value(json_object_get(row, "case_id")),
        .mode = json_string_value(json_object_get(row, "mode")),
        .context = json_object_get(row, "context"),
        .created_ms = json_integer_value(json_object_get(row, "created")),
    };
    return store_run_insert(e->store, &r);
}

static rp_status write_one(struct engine *e, struct pending_write *w)
{
    switch (w->kind) {
    case PW_RUN_INSERT:
        return write_run_insert(e, w->data);
    case PW_EVENT:
        return store_run_event_add(e->store, w->run_id, w->seq, w->ts_ms, w->type, w->key, w->data);
    case PW_RUN_STATUS:
        return store_run_status(e->store, w->run_id, w->value, w->error, w->ts_ms);
    case PW_PROMPT:
        return op_prompt_write(e, w->prompt);
    case PW_TIMELINE:
        return store_timeline_add(e->store, w->case_id, w->ts_ms, w->actor_playbook, w->type,
                                  w->data);
    case PW_GUARD_ACTION:
    case PW_AUDIT:
    case PW_CONTAINMENT:
    case PW_CONTAINMENT_SET:
        return rails_write(e, w);
    case PW_CASE_OP: {
        rp_status st = write_case_op(e, w);
        if (st == RP_E_NOTFOUND || st == RP_E_INVALID) {
            /* the case went away or the value is refused: the step has
             * already been recorded; say so in the log, keep the batch */
            log_warn("run.case_op", "run=%s case=%s op=%s error=%s", w->run_id, w->case_id, w->op,
                     rp_status_str(st));
            st = RP_OK;
        }
        return st;
    }
    }
    return RP_OK;
}

static void retry_fired(uv_timer_t *t)
{
    struct engine *e = t->data;
    e->commit_failing = false;
    engine_kick(e);
}

/* Commits every queued write in one transaction. False when it failed (the
 * writes stay queued). */
static bool flush(struct engine *e)
{
    if (e->writes == NULL)
        return true;
    rp_status st = store_begin(e->store);
    struct pending_write *w = e->writes;
    json_t *dropped = NULL; /* runs another process started first */
    for (; st == RP_OK && w != NULL; w = w->next) {
        if (dropped != NULL && json_object_get(dropped, w->run_id) != NULL)
            continue;
        st = write_one(e, w);
        if (st == RP_E_EXISTS && w->kind == PW_RUN_INSERT) {
            if (dropped == NULL)
                dropped = json_object();
            json_object_set_new(dropped, w->run_id, json_true());
            st = RP_OK;
        }
    }
    if (st == RP_OK)
        st = store_commit(e->store);
    if (st != RP_OK) {
        json_decref(dropped);
        store_rollback(e->store);
        rails_committed(e, false);
        if (!e->commit_failing)
            log_error("engine.commit", "writes=%zu error=%s: retrying", e->nwrites,
                      store_errmsg(e->store));
        e->commit_failing = true;
        uv_timer_start(&e->retry, retry_fired, RP_ENGINE_RETRY_MS, 0);
        return false;
    }
    while (e->writes != NULL) {
        struct pending_write *n = e->writes->next;
        engine_write_free(e->writes);
        e->writes = n;
    }
    e->writes_tail = &e->writes;
    e->nwrites = 0;
    json_object_clear(e->pending_dedup);
    rails_committed(e, true);
    const char *id;
    json_t *v;
    json_object_foreach(dropped, id, v)
    {
        struct run *r = engine_run_find(e, id);
        if (r != NULL) {
            log_info("run.duplicate", "run=%s action=dropped reason=\"started elsewhere\"", id);
            r->duplicate = true;
            r->finished = true;
            r->next_finished = e->finished;
            e->finished = r;
            op_cancel_all(r);
        }
    }
    json_decref(dropped);
    return true;
}

static void admit_queued(struct engine *e)
{
    struct run **pp = &e->queued;
    while (*pp != NULL) {
        struct run *r = *pp;
        int max = r->pbv->pb->max_concurrent;
        if (max > 0 && r->pbv->active >= max) {
            pp = &r->next_queued;
            continue;
        }
        *pp = r->next_queued;
        r->next_queued = NULL;
        r->admitted = true;
        r->pbv->active++;
        run_mark_dirty(r);
    }
}

void engine_admit(struct engine *e, struct run *r)
{
    int max = r->pbv->pb->max_concurrent;
    if (max > 0 && r->pbv->active >= max) {
        struct run **pp = &e->queued;
        while (*pp != NULL)
            pp = &(*pp)->next_queued;
        *pp = r;
        return;
    }
    r->admitted = true;
    r->pbv->active++;
    run_mark_dirty(r);
}

static void release_finished(struct engine *e)
{
    bool freed = false;
    struct run **pp = &e->finished;
    while (*pp != NULL) {
        struct run *r = *pp;
        if (r->ops != NULL) { /* a call without cancel is still out */
            pp = &r->next_finished;
            continue;
        }
        *pp = r->next_finished;
        {
            if (r->admitted)
                r->pbv->active--;
            if (e->opts.on_run_done != NULL && !r->duplicate) {
                const char *status = r->end_failure || r->error[0] != '\0' ? "failed" : "succeeded";
                e->opts.on_run_done(e->opts.ctx, r->id, status);
            }
            engine_run_release(e, r);
            freed = true;
        }
    }
    if (freed)
        admit_queued(e);
}

static void pump(uv_idle_t *h)
{
    struct engine *e = h->data;
    for (int round = 0; round < RP_ENGINE_WALK_ROUNDS && e->dirty != NULL; round++) {
        struct run *list = e->dirty;
        e->dirty = NULL;
        while (list != NULL) {
            struct run *r = list;
            list = r->next_dirty;
            r->dirty = false;
            r->next_dirty = NULL;
            run_walk(r);
        }
    }
    if (!flush(e)) {
        e->pump_on = false;
        uv_idle_stop(&e->pump);
        return;
    }
    struct op *o = e->after_commit;
    e->after_commit = NULL;
    e->after_commit_tail = &e->after_commit;
    while (o != NULL) {
        struct op *n = *op_next_commit(o);
        op_dispatch(o);
        o = n;
    }
    op_send_prompt_mails(e);
    release_finished(e);
    if (e->dirty == NULL && e->writes == NULL && e->after_commit == NULL) {
        e->pump_on = false;
        uv_idle_stop(&e->pump);
    }
}

/* Prompts answered by another process (`riposte prompt answer`, another
 * node's API) reach the engine through the store. */
static void poll_fired(uv_timer_t *t)
{
    struct engine *e = t->data;
    rails_refresh(e);
    if (e->opts.mode == ENGINE_LIVE)
        rails_release_due(e);
    if (e->nprompts_waiting == 0)
        return;
    int64_t now = time_now_ms();
    json_t *ids = NULL;
    /* a little overlap: an answer committed while the last poll read */
    if (store_prompt_answered_since(e->store, e->poll_since_ms - 2000, &ids) != RP_OK)
        return;
    e->poll_since_ms = now;
    size_t i;
    json_t *id;
    json_array_foreach(ids, i, id)(void) op_prompt_answered(e, json_string_value(id));
    json_decref(ids);
}

rp_status engine_new(uv_loop_t *loop, struct store *st, const struct engine_opts *opts,
                     struct engine **out, struct rp_error *err)
{
    struct engine *e = calloc(1, sizeof *e);
    if (e == NULL)
        return rp_error_set(err, RP_E_NOMEM, "engine: out of memory");
    e->loop = loop;
    e->store = st;
    if (opts != NULL)
        e->opts = *opts;
    e->writes_tail = &e->writes;
    e->after_commit_tail = &e->after_commit;
    e->poll_since_ms = time_now_ms();
    if (e->opts.prompt_key != NULL)
        memcpy(e->prompt_key, e->opts.prompt_key, sizeof e->prompt_key);
    else if (rand_bytes(e->prompt_key, sizeof e->prompt_key) != RP_OK) {
        free(e);
        return rp_error_set(err, RP_E_IO, "engine: no randomness for the prompt key");
    }
    rp_status rc = expr_env_new(&e->expr, err);
    if (rc != RP_OK) {
        free(e);
        return rc;
    }
    e->plan = json_object();
    e->pending_dedup = json_object();
    e->run_index = json_object();
    e->guard_pending = json_array();
    e->mail_queue = json_array();
    e->policy = e->opts.policy;
    e->prompt_index = json_object();
    uv_idle_init(loop, &e->pump);
    e->pump.data = e;
    uv_timer_init(loop, &e->retry);
    e->retry.data = e;
    uv_timer_init(loop, &e->poll);
    e->poll.data = e;
    uv_timer_start(&e->poll, poll_fired, RP_PROMPT_POLL_MS, RP_PROMPT_POLL_MS);
    uv_unref((uv_handle_t *)&e->poll); /* polling alone must not keep a CLI run alive */
    action_registry_init();
    rails_refresh(e); /* the kill switch holds from the first decision */
    *out = e;
    return RP_OK;
}

/* The engine goes when the last of its three handles has closed (libuv runs
 * close callbacks in no promised order). */
static void handle_freed(uv_handle_t *h)
{
    struct engine *e = h->data;
    if (--e->handles_open == 0)
        free(e);
}

void engine_free(struct engine *e)
{
    if (e == NULL)
        return;
    e->closing = true;
    for (struct run *r = e->runs; r != NULL; r = r->next)
        op_cancel_all(r);
    while (e->runs != NULL)
        engine_run_release(e, e->runs);
    while (e->writes != NULL) {
        struct pending_write *n = e->writes->next;
        engine_write_free(e->writes);
        e->writes = n;
    }
    while (e->versions != NULL) {
        struct pb_version *n = e->versions->next;
        playbook_free(e->versions->pb);
        free(e->versions);
        e->versions = n;
    }
    json_decref(e->plan);
    json_decref(e->pending_dedup);
    json_decref(e->run_index);
    json_decref(e->guard_pending);
    json_decref(e->mail_queue);
    json_decref(e->prompt_index);
    expr_env_free(e->expr);
    e->handles_open = 3;
    uv_close((uv_handle_t *)&e->pump, handle_freed);
    uv_close((uv_handle_t *)&e->retry, handle_freed);
    uv_close((uv_handle_t *)&e->poll, handle_freed);
}

/* --- playbook versions --------------------------------------------------------- */

struct pb_version *engine_playbook_current(struct engine *e, const char *name)
{
    for (struct pb_version *v = e->versions; v != NULL; v = v->next)
        if (v->current && strcmp(v->pb->name, name) == 0)
            return v;
    return NULL;
}

static struct pb_version *version_find(struct engine *e, const char *name, int version)
{
    for (struct pb_version *v = e->versions; v != NULL; v = v->next)
        if (v->version == version && strcmp(v->pb->name, name) == 0)
            return v;
    return NULL;
}

struct pb_version *engine_playbook_version(struct engine *e, const char *name, int version,
                                           struct rp_error *err)
{
    struct pb_version *v = version_find(e, name, version);
    if (v != NULL)
        return v;
    char *text = NULL;
    size_t len = 0;
    int got = 0;
    if (store_playbook_text(e->store, name, version, &text, &len, &got) != RP_OK) {
        rp_error_set(err, RP_E_NOTFOUND, "playbook %s version %d: %s", name, version,
                     store_errmsg(e->store));
        return NULL;
    }
    char label[RP_NAME_MAX_BYTES + 32];
    snprintf(label, sizeof label, "%s@v%d", name, got);
    struct playbook *pb = NULL;
    rp_status st = playbook_load_string_flags(label, text, len, PB_LOAD_ANY_ACTION, &pb, err);
    free(text);
    if (st != RP_OK)
        return NULL;
    v = calloc(1, sizeof *v);
    if (v == NULL) {
        playbook_free(pb);
        rp_error_set(err, RP_E_NOMEM, "out of memory");
        return NULL;
    }
    v->pb = pb;
    v->version = got;
    v->next = e->versions;
    e->versions = v;
    return v;
}

rp_status engine_playbook_add(struct engine *e, struct playbook *pb, struct rp_error *err)
{
    int version = 0;
    bool created = false;
    if (store_playbook_put(e->store, pb->name, pb->sha256, pb->text, pb->text_len, time_now_ms(),
                           &version, &created) != RP_OK) {
        rp_status st =
            rp_error_set(err, RP_E_STORE, "playbook %s: %s", pb->name, store_errmsg(e->store));
        playbook_free(pb);
        return st;
    }
    for (struct pb_version *v = e->versions; v != NULL; v = v->next)
        if (strcmp(v->pb->name, pb->name) == 0)
            v->current = false;
    struct pb_version *v = version_find(e, pb->name, version);
    if (v != NULL) {
        /* the same text again: keep the loaded one (runs point at it) */
        playbook_free(pb);
        v->current = true;
        return RP_OK;
    }
    v = calloc(1, sizeof *v);
    if (v == NULL) {
        playbook_free(pb);
        return rp_error_set(err, RP_E_NOMEM, "out of memory");
    }
    v->pb = pb;
    v->version = version;
    v->current = true;
    v->next = e->versions;
    e->versions = v;
    if (created)
        log_info("playbook.version", "playbook=%s version=%d sha256=%.12s", pb->name, version,
                 pb->sha256);
    return RP_OK;
}

int engine_playbook_version_of(struct engine *e, const char *name)
{
    struct pb_version *v = engine_playbook_current(e, name);
    return v != NULL ? v->version : 0;
}

/* --- plan ---------------------------------------------------------------------- */

void engine_plan_add(struct engine *e, const char *run_id, const char *line)
{
    json_t *arr = json_object_get(e->plan, run_id);
    if (arr == NULL) {
        arr = json_array();
        json_object_set_new(e->plan, run_id, arr);
    }
    json_array_append_new(arr, json_string(line));
}

void engine_plan_print(struct engine *e, const char *run_id, FILE *out)
{
    json_t *arr = json_object_get(e->plan, run_id);
    size_t i;
    json_t *l;
    json_array_foreach(arr, i, l) fprintf(out, "%zu. %s\n", i + 1, json_string_value(l));
    if (json_array_size(arr) == 0)
        fputs("(no actions)\n", out);
}

void engine_set_policy(struct engine *e, struct policy *p)
{
    e->policy = p;
}

void engine_prompt_answered(struct engine *e, const char *prompt_id)
{
    (void)op_prompt_answered(e, prompt_id);
}

void engine_playbook_retire_except(struct engine *e, const char *const *names, size_t n)
{
    for (struct pb_version *v = e->versions; v != NULL; v = v->next) {
        if (!v->current)
            continue;
        bool keep = false;
        for (size_t i = 0; i < n && !keep; i++)
            keep = strcmp(names[i], v->pb->name) == 0;
        if (!keep) {
            v->current = false;
            log_info("playbook.retired", "playbook=%s version=%d", v->pb->name, v->version);
        }
    }
}

void engine_poll_prompts(struct engine *e)
{
    poll_fired(&e->poll);
}

void engine_fire_schedules(struct engine *e, int64_t from_ms, int64_t now_ms)
{
    for (struct pb_version *v = e->versions; v != NULL; v = v->next) {
        const struct playbook *pb = v->pb;
        if (!v->current || pb->trigger.type != PB_TRIGGER_SCHEDULE || pb->trigger.cron == NULL)
            continue;
        int64_t due = cron_next(pb->trigger.cron, from_ms);
        if (due < 0 || due > now_ms)
            continue;
        /* the minute is in the key: a restart inside that minute does not fire twice */
        char dedup[RP_NAME_MAX_BYTES + 64];
        snprintf(dedup, sizeof dedup, "schedule/%s/%d/%lld", pb->name, v->version, (long long)due);
        struct rp_error err;
        rp_status st = engine_start(e, pb->name, NULL, NULL, NULL, "schedule", dedup, NULL, &err);
        if (st != RP_OK && st != RP_E_EXISTS)
            log_warn("schedule.refused", "playbook=%s error=\"%s\"", pb->name, err.msg);
    }
}

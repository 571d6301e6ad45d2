/*
 * engine.c: durable playbook runs on one libuv loop (engine.h has the model;
 * docs/internals/engine.md the reasoning).
 *
 * Data: each run keeps `records`, a JSON object from step key to what the log
 * says of that step ({"s": state, "out": output, "err": message, ...}). Every
 * event the run produces is applied to records at once and queued for the
 * store; the same apply function rebuilds records from the log on recovery.
 * Step keys are the step id, prefixed inside iterations and sub-playbooks
 * ("hosts[3]/contain", "sub/ask").
 *
 * Turn of the loop: runs whose state changed are marked dirty; the pump (an
 * idle handle, so the loop does not sleep while work is queued) walks every
 * dirty run, then commits the queued writes of all runs in one transaction,
 * then sends the action calls that were waiting for that commit. A call's
 * completion, a timer or an answer marks its run dirty again.
 *
 * Failure: a commit that fails leaves the writes queued and the calls unsent;
 * the pump retries after RP_ENGINE_RETRY_MS and logs once per failure. Bad
 * playbook content (an expression error, an unknown action) fails the step,
 * with on_error deciding what follows; it never stops the loop.
 */
#include "engine/engine.h"

#include "core/limits.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/time.h"
#include "core/ulid.h"
#include "engine/action.h"
#include "engine/engine_internal.h"
#include "expr/expr.h"
#include "model/alert.h"
#include "model/case.h"
#include "store/store.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* --- small helpers ------------------------------------------------------------ */

static char *xstrdup(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

static const char *rec_state(json_t *rec)
{
    const char *s = json_string_value(json_object_get(rec, "s"));
    return s != NULL ? s : "";
}

static bool rec_is(json_t *rec, const char *state)
{
    return strcmp(rec_state(rec), state) == 0;
}

static bool rec_final(json_t *rec)
{
    return rec_is(rec, "done") || rec_is(rec, "failed") || rec_is(rec, "skipped") ||
           rec_is(rec, "ended");
}

/* --- runs and their events --------------------------------------------------- */

struct run *engine_run_find(struct engine *e, const char *id)
{
    json_t *p = json_object_get(e->run_index, id);
    return p != NULL ? (struct run *)(intptr_t)json_integer_value(p) : NULL;
}

void run_mark_dirty(struct run *r)
{
    struct engine *e = r->e;
    if (!r->dirty && !r->finished) {
        r->dirty = true;
        r->next_dirty = e->dirty;
        e->dirty = r;
    }
    engine_kick(e);
}

/* Applies one event to r->records (live and on recovery). */
static void apply_event(struct run *r, const char *type, const char *key, json_t *data)
{
    if (key == NULL)
        return;
    json_t *rec = json_object_get(r->records, key);
    if (rec == NULL) {
        rec = json_object();
        if (rec == NULL || json_object_set_new(r->records, key, rec) != 0)
            return; /* out of memory: the walk will fail the step on its next look */
    }
    if (strcmp(type, "step_started") == 0) {
        json_object_set_new(rec, "s", json_string("running"));
        json_object_update(rec, data);
    } else if (strcmp(type, "action_requested") == 0) {
        json_object_set_new(rec, "s", json_string("running"));
        json_object_set(rec, "attempt", json_object_get(data, "attempt"));
        json_object_set(rec, "params", json_object_get(data, "params"));
        if (json_is_true(json_object_get(data, "redacted")))
            json_object_set_new(rec, "redacted", json_true());
        json_object_set_new(rec, "requested", json_true());
        json_object_del(rec, "due");
    } else if (strcmp(type, "action_done") == 0) {
        json_object_set_new(rec, "requested", json_false());
    } else if (strcmp(type, "retry_wait") == 0 || strcmp(type, "timer_set") == 0) {
        json_object_set_new(rec, "s", json_string("running"));
        json_object_set(rec, "due", json_object_get(data, "due"));
        if (json_object_get(data, "attempt") != NULL)
            json_object_set(rec, "next_attempt", json_object_get(data, "attempt"));
    } else if (strcmp(type, "prompt_sent") == 0) {
        json_object_set_new(rec, "s", json_string("running"));
        json_object_set(rec, "prompt", json_object_get(data, "prompt"));
        json_object_set(rec, "deadline", json_object_get(data, "deadline"));
    } else if (strcmp(type, "hold") == 0) {
        json_object_set(rec, "hold", json_object_get(data, "prompt"));
        json_object_set(rec, "hold_deadline", json_object_get(data, "deadline"));
    } else if (strcmp(type, "hold_done") == 0) {
        json_object_del(rec, "hold");
        const char *a = json_string_value(json_object_get(data, "answer"));
        json_object_set_new(rec, "approved", json_boolean(a != NULL && strcmp(a, "approve") == 0));
    } else if (strcmp(type, "step_done") == 0) {
        json_object_set(rec, "s", json_object_get(data, "status"));
        json_t *out = json_object_get(data, "out");
        if (out != NULL)
            json_object_set(rec, "out", out);
        json_t *err = json_object_get(data, "err");
        if (err != NULL)
            json_object_set(rec, "err", err);
        json_t *jump = json_object_get(data, "jump");
        if (jump != NULL)
            json_object_set(rec, "jump", jump);
    }
}

/* Records an event: applied to the run now, written at the next commit. Takes
 * data (may be NULL). */
void run_event(struct run *r, const char *type, const char *key, json_t *data)
{
    run_event_split(r, type, key, json_incref(data), data);
}

/* The same with what the run sees (applied, taken) apart from what is stored
 * (data, taken): for outputs that hold a secret. */
void run_event_split(struct run *r, const char *type, const char *key, json_t *applied,
                     json_t *data)
{
    struct engine *e = r->e;
    apply_event(r, type, key, applied);
    json_decref(applied);
    struct pending_write *w = calloc(1, sizeof *w);
    if (w == NULL) {
        /* The event is applied but cannot be kept: the run must not go on as
         * if it were durable. */
        json_decref(data);
        r->broken = true;
        return;
    }
    w->kind = PW_EVENT;
    snprintf(w->run_id, sizeof w->run_id, "%s", r->id);
    w->seq = ++r->seq;
    w->ts_ms = time_now_ms();
    w->type = type;
    w->key = xstrdup(key);
    w->data = data;
    engine_queue_write(e, w);
}

static void step_done(struct run *r, const char *key, const char *status, json_t *out,
                      const char *err, int jump)
{
    json_t *d = json_object();
    json_object_set_new(d, "status", json_string(status));
    if (out != NULL)
        json_object_set_new(d, "out", out);
    if (err != NULL)
        json_object_set_new(d, "err", json_string(err));
    if (jump >= 0)
        json_object_set_new(d, "jump", json_integer(jump));
    run_event(r, "step_done", key, d);
    metrics_inc("riposte_steps_total", status, NULL);
}

static void step_fail(struct run *r, const char *key, const struct pb_step *s, const char *fmt, ...)
    RP_PRINTF(4, 5);

static void step_fail(struct run *r, const char *key, const struct pb_step *s, const char *fmt, ...)
{
    char msg[RP_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char full[RP_ERROR_MAX + 256];
    snprintf(full, sizeof full, "playbook %s, step %s: %s", r->pbv->pb->name, s->id, msg);
    step_done(r, key, "failed", NULL, full, -1);
}

/* --- expressions -------------------------------------------------------------- */

static void scope_of(struct run *r, const struct frame *f, struct expr_scope *sc)
{
    *sc = (struct expr_scope){.alert = r->alert,
                              .case_ = r->case_json,
                              .steps = f->steps,
                              .vars = f->vars,
                              .inputs = f->inputs,
                              .item = f->item,
                              .index = f->index};
}

static bool eval_bool(struct run *r, const struct frame *f, const char *src, bool *out,
                      struct rp_error *err)
{
    struct expr_scope sc;
    scope_of(r, f, &sc);
    return expr_eval_bool(r->e->expr, src, &sc, out, err) == RP_OK;
}

static json_t *eval(struct run *r, const struct frame *f, const char *src, struct rp_error *err)
{
    struct expr_scope sc;
    scope_of(r, f, &sc);
    json_t *out = NULL;
    if (expr_eval(r->e->expr, src, &sc, &out, err) != RP_OK)
        return NULL;
    return out;
}

static json_t *render(struct run *r, const struct frame *f, const char *tmpl, struct rp_error *err)
{
    struct expr_scope sc;
    scope_of(r, f, &sc);
    json_t *out = NULL;
    if (expr_render(r->e->expr, tmpl, &sc, &out, err) != RP_OK)
        return NULL;
    return out;
}

static json_t *render_json(struct run *r, const struct frame *f, json_t *in, struct rp_error *err)
{
    if (in == NULL)
        return json_object();
    struct expr_scope sc;
    scope_of(r, f, &sc);
    json_t *out = NULL;
    if (expr_render_json(r->e->expr, in, &sc, &out, err) != RP_OK)
        return NULL;
    return out;
}

/* A rendered template as text (caller frees); NULL with err on failure. */
static char *render_text(struct run *r, const struct frame *f, const char *tmpl,
                         struct rp_error *err)
{
    json_t *v = render(r, f, tmpl, err);
    if (v == NULL)
        return NULL;
    char *t = expr_value_text(v);
    json_decref(v);
    if (t == NULL)
        rp_error_set(err, RP_E_NOMEM, "out of memory");
    return t;
}

/* --- the walk ----------------------------------------------------------------- */

enum walk {
    W_DONE,
    W_PENDING,
    W_FAILED,
    W_ENDED,
};

static enum walk walk_list(struct run *r, const struct pb_list *l, struct frame *f);

/* Formats a step key or prefix; false when it does not fit (nesting beyond
 * what RP_STEP_KEY_MAX allows: the step fails rather than share a key). */
static bool keyf(char *out, size_t cap, const char *fmt, ...) RP_PRINTF(3, 4);

static bool keyf(char *out, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, cap, fmt, ap);
    va_end(ap);
    return n >= 0 && (size_t)n < cap;
}

static void key_of(char *key, size_t cap, const struct frame *f, const char *id)
{
    if (!keyf(key, cap, "%s%s", f->prefix, id))
        key[0] = '\0'; /* an empty key has no record: the walk fails it below */
}

/* The frame for the body of an iteration or sub-playbook: a shallow copy of
 * the steps seen so far (outputs are shared, not copied) under a new prefix. */
static bool frame_child(struct frame *child, const struct frame *parent, const char *prefix)
{
    *child = *parent;
    memcpy(child->prefix, prefix, strlen(prefix) + 1); /* both RP_STEP_KEY_MAX */
    child->steps = json_copy(parent->steps);
    return child->steps != NULL;
}

static void frame_child_fini(struct frame *child)
{
    json_decref(child->steps);
}

/* Starts a leaf step that has no record yet. */
static void leaf_start(struct run *r, const struct pb_step *s, const char *key, struct frame *f);

/* Container steps: walk their bodies; record the step once they are all done. */
static enum walk container(struct run *r, const struct pb_step *s, const char *key, struct frame *f,
                           json_t *rec);

/* Settles one step at this position: returns W_DONE when it has a final
 * record (then *rec is it), W_PENDING while it runs. */
static enum walk step_visit(struct run *r, const struct pb_step *s, const char *key,
                            struct frame *f, json_t **recp)
{
    json_t *rec = json_object_get(r->records, key);
    if (rec != NULL && rec_final(rec)) {
        *recp = rec;
        return W_DONE;
    }
    if (rec == NULL && s->when != NULL) {
        struct rp_error err;
        bool yes = false;
        if (!eval_bool(r, f, s->when, &yes, &err)) {
            step_fail(r, key, s, "when: %s", err.msg);
        } else if (!yes) {
            step_done(r, key, "skipped", NULL, NULL, -1);
        }
        rec = json_object_get(r->records, key);
        if (rec != NULL && rec_final(rec)) {
            *recp = rec;
            return W_DONE;
        }
    }
    switch (s->kind) {
    case PB_FOR_EACH:
    case PB_WHILE:
    case PB_PARALLEL:
    case PB_GROUP:
    case PB_SUB: {
        enum walk w = container(r, s, key, f, rec);
        if (w != W_DONE)
            return w;
        break;
    }
    default:
        if (rec == NULL)
            leaf_start(r, s, key, f);
        else
            op_resume(r, s, key, f, rec); /* running: make sure something is waiting on it */
        break;
    }
    rec = json_object_get(r->records, key);
    if (rec != NULL && rec_final(rec)) {
        *recp = rec;
        return W_DONE;
    }
    return W_PENDING;
}

static void apply_set_output(struct frame *f, json_t *out)
{
    const char *k;
    json_t *v;
    json_object_foreach(out, k, v) json_object_set(f->vars, k, v);
}

/* After a step is final: makes its output visible and says where to go. */
static enum walk step_after(struct run *r, const struct pb_step *s, json_t *rec, struct frame *f,
                            size_t i, size_t *next)
{
    (void)r;
    *next = i + 1;
    if (rec_is(rec, "skipped"))
        return W_DONE;
    if (rec_is(rec, "ended"))
        return W_ENDED;
    if (rec_is(rec, "failed")) {
        json_t *fo = json_pack("{s:b,s:O}", "failed", 1, "error", json_object_get(rec, "err"));
        json_object_set_new(f->steps, s->id, fo);
        switch (s->on_error) {
        case PB_ON_ERROR_CONTINUE:
            break;
        case PB_ON_ERROR_GOTO:
            *next = (size_t)s->on_error_target.index;
            break;
        default:
            return W_FAILED;
        }
        return W_DONE;
    }
    json_t *out = json_object_get(rec, "out");
    json_object_set(f->steps, s->id, out != NULL ? out : json_null());
    if (s->kind == PB_SET)
        apply_set_output(f, out);
    json_t *jump = json_object_get(rec, "jump");
    if (json_is_integer(jump) && json_integer_value(jump) >= 0)
        *next = (size_t)json_integer_value(jump);
    else if (s->next.index >= 0)
        *next = (size_t)s->next.index;
    return W_DONE;
}

static enum walk walk_list(struct run *r, const struct pb_list *l, struct frame *f)
{
    size_t i = 0;
    size_t visits = 0;
    while (i < l->n) {
        /* jumps are acyclic (the loader checks), so a list is visited at most
         * once per step; the bound only guards that promise */
        if (++visits > l->n + 1) {
            snprintf(r->error, sizeof r->error, "playbook %s: a jump cycle was taken",
                     r->pbv->pb->name);
            return W_FAILED;
        }
        const struct pb_step *s = &l->steps[i];
        char key[RP_STEP_KEY_MAX];
        key_of(key, sizeof key, f, s->id);
        if (key[0] == '\0') {
            snprintf(r->error, sizeof r->error, "step %s: nested too deep for a step key", s->id);
            return W_FAILED;
        }
        json_t *rec = NULL;
        enum walk w = step_visit(r, s, key, f, &rec);
        if (w != W_DONE)
            return w;
        size_t next = i + 1;
        w = step_after(r, s, rec, f, i, &next);
        if (w == W_FAILED) {
            const char *err = json_string_value(json_object_get(rec, "err"));
            snprintf(r->error, sizeof r->error, "%s", err != NULL ? err : "step failed");
            return W_FAILED;
        }
        if (w == W_ENDED) {
            json_t *out = json_object_get(rec, "out");
            r->end_failure = json_is_true(json_object_get(out, "failure"));
            if (r->end_failure)
                snprintf(r->error, sizeof r->error, "step %s ended the run as failed", s->id);
            return W_ENDED;
        }
        i = next;
    }
    return W_DONE;
}

/* A body walk's result turned into the container's own record. */
static enum walk container_settle(struct run *r, const struct pb_step *s, const char *key,
                                  enum walk w, json_t *out)
{
    switch (w) {
    case W_DONE:
        step_done(r, key, "done", out, NULL, -1);
        return W_DONE;
    case W_FAILED:
        json_decref(out);
        step_done(r, key, "failed", NULL, r->error, -1);
        return W_DONE; /* final: the parent list applies on_error */
    case W_ENDED:
        json_decref(out);
        step_done(r, key, "ended", json_pack("{s:b}", "failure", r->end_failure), NULL, -1);
        return W_DONE;
    default:
        json_decref(out);
        (void)s;
        return W_PENDING;
    }
}

static enum walk walk_for_each(struct run *r, const struct pb_step *s, const char *key,
                               struct frame *f, json_t *rec)
{
    if (rec == NULL) {
        struct rp_error err;
        json_t *items = eval(r, f, s->u.for_each.items, &err);
        if (items == NULL) {
            step_fail(r, key, s, "for_each: %s", err.msg);
            return W_DONE;
        }
        if (json_is_null(items)) {
            json_decref(items);
            items = json_array();
        }
        if (!json_is_array(items)) {
            json_decref(items);
            step_fail(r, key, s, "for_each: the expression did not give a list");
            return W_DONE;
        }
        if (json_array_size(items) > RP_FOR_EACH_ITEMS_MAX) {
            json_decref(items);
            step_fail(r, key, s, "for_each: more than %d items", RP_FOR_EACH_ITEMS_MAX);
            return W_DONE;
        }
        run_event(r, "step_started", key, json_pack("{s:o}", "items", items));
        rec = json_object_get(r->records, key);
    }
    json_t *items = json_object_get(rec, "items");
    size_t n = json_array_size(items);
    int running = 0;
    enum walk result = W_DONE;
    json_t *results = json_array();
    for (size_t i = 0; i < n; i++) {
        if (running >= s->u.for_each.concurrency) {
            result = W_PENDING;
            break;
        }
        char prefix[RP_STEP_KEY_MAX];
        struct frame child;
        if (!keyf(prefix, sizeof prefix, "%s[%zu]/", key, i + 1) ||
            !frame_child(&child, f, prefix)) {
            result = W_FAILED;
            snprintf(r->error, sizeof r->error, "out of memory");
            break;
        }
        json_t *index = json_integer((json_int_t)(i + 1));
        child.item = json_array_get(items, i);
        child.index = index;
        enum walk w = walk_list(r, &s->u.for_each.body, &child);
        if (w == W_DONE) {
            json_t *one = json_object();
            for (size_t b = 0; b < s->u.for_each.body.n; b++) {
                const char *id = s->u.for_each.body.steps[b].id;
                json_t *v = json_object_get(child.steps, id);
                if (v != NULL)
                    json_object_set(one, id, v);
            }
            json_array_append_new(results, one);
        }
        json_decref(index);
        frame_child_fini(&child);
        if (w == W_PENDING) {
            running++;
            result = W_PENDING;
        } else if (w == W_FAILED || w == W_ENDED) {
            result = w;
            break;
        }
    }
    if (result == W_PENDING) {
        json_decref(results);
        return W_PENDING;
    }
    json_t *out = json_pack("{s:I,s:o}", "count", (json_int_t)n, "results", results);
    return container_settle(r, s, key, result, out);
}

static enum walk walk_while(struct run *r, const struct pb_step *s, const char *key,
                            struct frame *f, json_t *rec)
{
    if (rec == NULL)
        run_event(r, "step_started", key, json_object());
    for (int k = 1;; k++) {
        char ckey[RP_STEP_KEY_MAX];
        if (!keyf(ckey, sizeof ckey, "%s#%d", key, k)) {
            step_fail(r, key, s, "nested too deep for a step key");
            return W_DONE;
        }
        json_t *c = json_object_get(r->records, ckey);
        if (c == NULL) {
            struct rp_error err;
            bool yes = false;
            if (!eval_bool(r, f, s->u.loop.cond, &yes, &err)) {
                step_fail(r, key, s, "while: %s", err.msg);
                return W_DONE;
            }
            if (yes && k > s->u.loop.max_iterations) {
                step_fail(r, key, s, "while: still true after max %d iterations",
                          s->u.loop.max_iterations);
                return W_DONE;
            }
            step_done(r, ckey, "done", json_boolean(yes), NULL, -1);
            c = json_object_get(r->records, ckey);
        }
        if (!json_is_true(json_object_get(c, "out")))
            return container_settle(r, s, key, W_DONE, json_pack("{s:i}", "iterations", k - 1));
        char prefix[RP_STEP_KEY_MAX];
        struct frame child;
        if (!keyf(prefix, sizeof prefix, "%s[%d]/", key, k) || !frame_child(&child, f, prefix)) {
            step_fail(r, key, s, "nested too deep for a step key, or out of memory");
            return W_DONE;
        }
        enum walk w = walk_list(r, &s->u.loop.body, &child);
        /* the body's outputs of the last finished iteration stay visible */
        if (w == W_DONE)
            json_object_update(f->steps, child.steps);
        frame_child_fini(&child);
        if (w != W_DONE)
            return container_settle(r, s, key, w, NULL);
    }
}

static enum walk walk_parallel(struct run *r, const struct pb_step *s, const char *key,
                               struct frame *f, json_t *rec)
{
    if (rec == NULL)
        run_event(r, "step_started", key, json_object());
    enum walk result = W_DONE;
    for (size_t b = 0; b < s->u.parallel.branches.n; b++) {
        struct pb_list one = {&s->u.parallel.branches.steps[b], 1};
        enum walk w = walk_list(r, &one, f);
        if (w == W_FAILED || w == W_ENDED) {
            result = w;
            break;
        }
        if (w == W_PENDING)
            result = W_PENDING;
    }
    return container_settle(r, s, key, result, result == W_DONE ? json_object() : NULL);
}

static enum walk walk_sub(struct run *r, const struct pb_step *s, const char *key, struct frame *f,
                          json_t *rec)
{
    if (rec == NULL) {
        struct pb_version *v = engine_playbook_current(r->e, s->u.sub.playbook);
        if (v == NULL) {
            step_fail(r, key, s, "no playbook named %s", s->u.sub.playbook);
            return W_DONE;
        }
        struct rp_error err;
        json_t *inputs = render_json(r, f, s->u.sub.inputs, &err);
        if (inputs == NULL) {
            step_fail(r, key, s, "inputs: %s", err.msg);
            return W_DONE;
        }
        run_event(r, "step_started", key,
                  json_pack("{s:i,s:o}", "version", v->version, "inputs", inputs));
        rec = json_object_get(r->records, key);
    }
    int version = (int)json_integer_value(json_object_get(rec, "version"));
    struct rp_error err;
    struct pb_version *v = engine_playbook_version(r->e, s->u.sub.playbook, version, &err);
    if (v == NULL) {
        step_fail(r, key, s, "%s", err.msg);
        return W_DONE;
    }
    if (r->depth >= RP_SUB_DEPTH_MAX) {
        step_fail(r, key, s, "sub-playbooks nested deeper than %d", RP_SUB_DEPTH_MAX);
        return W_DONE;
    }
    struct frame child = {.item = NULL, .index = NULL};
    if (!keyf(child.prefix, sizeof child.prefix, "%s/", key)) {
        step_fail(r, key, s, "nested too deep for a step key");
        return W_DONE;
    }
    child.steps = json_object();
    json_t *inputs = json_copy(v->pb->inputs);
    json_object_update(inputs, json_object_get(rec, "inputs"));
    child.inputs = inputs;
    child.vars = json_deep_copy(v->pb->vars);
    const struct playbook *saved = r->walk_pb;
    r->walk_pb = v->pb;
    r->depth++;
    enum walk w = walk_list(r, &v->pb->steps, &child);
    r->depth--;
    r->walk_pb = saved;
    json_t *out =
        w == W_DONE ? json_pack("{s:O,s:O}", "vars", child.vars, "steps", child.steps) : NULL;
    json_decref(child.steps);
    json_decref(child.vars);
    json_decref(inputs);
    if (w == W_ENDED && !r->end_failure)
        w = W_DONE, out = json_object(); /* `end: success` ends the sub-playbook only */
    return container_settle(r, s, key, w, out);
}

static enum walk container(struct run *r, const struct pb_step *s, const char *key, struct frame *f,
                           json_t *rec)
{
    switch (s->kind) {
    case PB_FOR_EACH:
        return walk_for_each(r, s, key, f, rec);
    case PB_WHILE:
        return walk_while(r, s, key, f, rec);
    case PB_PARALLEL:
        return walk_parallel(r, s, key, f, rec);
    case PB_SUB:
        return walk_sub(r, s, key, f, rec);
    default: {
        if (rec == NULL)
            run_event(r, "step_started", key, json_object());
        enum walk w = walk_list(r, &s->u.group.body, f);
        return container_settle(r, s, key, w, w == W_DONE ? json_object() : NULL);
    }
    }
}

/* --- leaf steps ------------------------------------------------------------------- */

static void leaf_set(struct run *r, const struct pb_step *s, const char *key, struct frame *f)
{
    struct rp_error err;
    json_t *out = render_json(r, f, s->u.set.values, &err);
    if (out == NULL)
        step_fail(r, key, s, "set: %s", err.msg);
    else
        step_done(r, key, "done", out, NULL, -1);
}

static void leaf_switch(struct run *r, const struct pb_step *s, const char *key, struct frame *f)
{
    struct rp_error err;
    json_t *v = eval(r, f, s->u.sw.expr, &err);
    if (v == NULL) {
        step_fail(r, key, s, "switch: %s", err.msg);
        return;
    }
    char *text = expr_value_text(v);
    json_decref(v);
    if (text == NULL) {
        step_fail(r, key, s, "switch: out of memory");
        return;
    }
    const struct pb_ref *target = &s->u.sw.default_target;
    for (size_t i = 0; i < s->u.sw.ncases; i++) {
        if (strcmp(s->u.sw.cases[i].value, text) == 0) {
            target = &s->u.sw.cases[i].target;
            break;
        }
    }
    json_t *out = json_pack("{s:s,s:s?}", "value", text, "target", target->id);
    free(text);
    step_done(r, key, "done", out, NULL, target->id != NULL ? target->index : -1);
}

static void leaf_case(struct run *r, const struct pb_step *s, const char *key, struct frame *f)
{
    if (r->case_id[0] == '\0') {
        step_fail(r, key, s, "case: the run has no case");
        return;
    }
    struct rp_error err;
    char *value = render_text(r, f, s->u.case_op.value, &err);
    if (value == NULL) {
        step_fail(r, key, s, "case: %s", err.msg);
        return;
    }
    static const char *const OPS[] = {"status", "severity", "assignee", "note", "task"};
    struct pending_write *w = calloc(1, sizeof *w);
    if (w == NULL) {
        free(value);
        step_fail(r, key, s, "case: out of memory");
        return;
    }
    w->kind = PW_CASE_OP;
    snprintf(w->run_id, sizeof w->run_id, "%s", r->id);
    snprintf(w->case_id, sizeof w->case_id, "%s", r->case_id);
    w->op = OPS[s->u.case_op.op];
    w->value = value;
    w->actor_playbook = strdup(r->pbv->pb->name);
    if (s->u.case_op.op == PB_CASE_SEVERITY) {
        char *end = NULL;
        long n = strtol(value, &end, 10);
        int sev = -1;
        if (end != value && *end == '\0' && n >= 0 && n <= 100)
            sev = (int)n;
        else if (severity_from_label(value, &sev) != RP_OK)
            sev = -1;
        if (sev < 0) {
            engine_write_free(w);
            step_fail(r, key, s, "case: severity \"%s\" is neither 0-100 nor a label", value);
            return;
        }
        w->severity = sev;
    } else if (s->u.case_op.op == PB_CASE_STATUS) {
        enum case_status cs;
        if (case_status_parse(value, &cs) != RP_OK) {
            step_fail(r, key, s, "case: \"%s\" is not a case status (%s)", value,
                      case_status_names());
            engine_write_free(w);
            return;
        }
    }
    engine_queue_write(r->e, w);
    step_done(r, key, "done", json_pack("{s:s,s:s}", "op", OPS[s->u.case_op.op], "value", value),
              NULL, -1);
}

static void leaf_start(struct run *r, const struct pb_step *s, const char *key, struct frame *f)
{
    switch (s->kind) {
    case PB_SET:
        leaf_set(r, s, key, f);
        break;
    case PB_SWITCH:
        leaf_switch(r, s, key, f);
        break;
    case PB_CASE:
        leaf_case(r, s, key, f);
        break;
    case PB_END:
        step_done(r, key, "ended", json_pack("{s:b}", "failure", s->u.end.failure), NULL, -1);
        break;
    case PB_ACTION:
        op_action_start(r, s, key, f);
        break;
    case PB_PROMPT:
        op_prompt_start(r, s, key, f);
        break;
    case PB_WAIT:
        op_wait_start(r, s, key, f);
        break;
    default:
        step_fail(r, key, s, "step kind %s cannot start here", pb_kind_name(s->kind));
        break;
    }
}

/* --- walking a run ----------------------------------------------------------------- */

static void run_finish(struct run *r, const char *status, const char *error)
{
    r->finished = true;
    r->next_finished = r->e->finished;
    r->e->finished = r;
    json_t *d = json_pack("{s:s,s:s?}", "status", status, "error", error);
    run_event(r, "run_done", NULL, d);
    metrics_inc("riposte_runs_finished_total", status, NULL);
    struct pending_write *w = calloc(1, sizeof *w);
    if (w != NULL) {
        w->kind = PW_RUN_STATUS;
        w->ts_ms = time_now_ms();
        snprintf(w->run_id, sizeof w->run_id, "%s", r->id);
        w->value = strdup(status);
        w->error = xstrdup(error);
        engine_queue_write(r->e, w);
    } else {
        r->broken = true;
    }
    op_cancel_all(r);
    log_info("run.done", "run=%s playbook=%s status=%s", r->id, r->pbv->pb->name, status);
}

void run_walk(struct run *r)
{
    if (r->finished)
        return;
    if (r->broken) {
        run_finish(r, "failed", "out of memory while recording the run");
        return;
    }
    struct frame f = {.item = NULL, .index = NULL};
    f.prefix[0] = '\0';
    f.steps = json_object();
    f.vars = json_deep_copy(r->pbv->pb->vars);
    f.inputs = r->inputs;
    r->walk_pb = r->pbv->pb;
    r->error[0] = '\0';
    enum walk w = walk_list(r, &r->pbv->pb->steps, &f);
    json_decref(r->vars_seen);
    r->vars_seen = f.vars;
    json_decref(f.steps);
    switch (w) {
    case W_DONE:
        run_finish(r, "succeeded", NULL);
        break;
    case W_ENDED:
        run_finish(r, r->end_failure ? "failed" : "succeeded", r->end_failure ? r->error : NULL);
        break;
    case W_FAILED:
        run_finish(r, "failed", r->error[0] != '\0' ? r->error : "failed");
        break;
    case W_PENDING: {
        /* "waiting" in the store while only people or time can move it on,
         * so that lists show which runs need someone */
        bool waiting = op_run_waiting_only(r);
        if (waiting != r->waiting) {
            struct pending_write *pw = calloc(1, sizeof *pw);
            if (pw != NULL) {
                pw->kind = PW_RUN_STATUS;
                pw->ts_ms = time_now_ms();
                snprintf(pw->run_id, sizeof pw->run_id, "%s", r->id);
                pw->value = strdup(waiting ? "waiting" : "running");
                engine_queue_write(r->e, pw);
                r->waiting = waiting;
            }
        }
        break;
    }
    }
}

/* --- starting and recovering runs ---------------------------------------------------- */

static void run_free(struct run *r)
{
    if (r == NULL)
        return;
    json_decref(r->records);
    json_decref(r->alert);
    json_decref(r->inputs);
    json_decref(r->case_json);
    json_decref(r->vars_seen);
    json_decref(r->secrets);
    free(r);
}

static struct run *run_new(struct engine *e, struct pb_version *v, const char *id)
{
    struct run *r = calloc(1, sizeof *r);
    if (r == NULL)
        return NULL;
    r->e = e;
    r->pbv = v;
    snprintf(r->id, sizeof r->id, "%s", id);
    r->records = json_object();
    if (r->records == NULL) {
        free(r);
        return NULL;
    }
    if (json_object_set_new(e->run_index, r->id, json_integer((json_int_t)(intptr_t)r)) != 0) {
        json_decref(r->records);
        free(r);
        return NULL;
    }
    r->next = e->runs;
    if (e->runs != NULL)
        e->runs->prev = r;
    e->runs = r;
    e->nruns++;
    metrics_gauge_add("riposte_engine_runs_in_memory", 1);
    return r;
}

static void run_load_case(struct run *r)
{
    if (r->case_id[0] == '\0')
        return;
    struct case_row c;
    if (store_case_get(r->e->store, r->case_id, &c) == RP_OK) {
        json_decref(r->case_json);
        r->case_json = store_case_row_json(&c);
    }
}

rp_status engine_start(struct engine *e, const char *name, json_t *alert, const char *case_id,
                       json_t *inputs, const char *trigger, const char *dedup_key, char *run_id,
                       struct rp_error *err)
{
    struct pb_version *v = engine_playbook_current(e, name);
    if (v == NULL)
        return rp_error_set(err, RP_E_NOTFOUND, "no playbook named %s", name);
    if (e->nruns >= RP_ENGINE_RUNS_MAX)
        return rp_error_set(err, RP_E_BUSY, "%d runs in flight: try again later",
                            RP_ENGINE_RUNS_MAX);
    char id[ULID_LEN + 1];
    if (ulid_new(id) != RP_OK)
        return rp_error_set(err, RP_E_IO, "no randomness for a run id");
    json_t *all_inputs = json_copy(v->pb->inputs);
    if (all_inputs == NULL)
        all_inputs = json_object();
    if (json_is_object(inputs))
        json_object_update(all_inputs, inputs);
    if (dedup_key != NULL) {
        /* a read, not a write: the row itself goes in with the run's first
         * group commit (one fsync for many starts) */
        bool found = json_object_get(e->pending_dedup, dedup_key) != NULL;
        if (!found && store_run_dedup_exists(e->store, dedup_key, &found) != RP_OK) {
            json_decref(all_inputs);
            return rp_error_set(err, RP_E_STORE, "%s", store_errmsg(e->store));
        }
        if (found) {
            json_decref(all_inputs);
            return rp_error_set(err, RP_E_EXISTS, "a run for '%s' exists already", dedup_key);
        }
    }
    const char *alert_id = json_string_value(json_object_get(alert, "id"));
    json_t *row = json_pack(
        "{s:s,s:s,s:i,s:s,s:s?,s:s?,s:s?,s:s,s:{s:O?,s:O},s:I}", "id", id, "playbook", v->pb->name,
        "version", v->version, "trigger", trigger, "dedup_key", dedup_key, "alert_id", alert_id,
        "case_id", case_id, "mode", e->opts.mode == ENGINE_PLAN ? "plan" : "live", "context",
        "alert", alert, "inputs", all_inputs, "created", (json_int_t)time_now_ms());
    struct pending_write *w = row != NULL ? calloc(1, sizeof *w) : NULL;
    if (w == NULL) {
        json_decref(row);
        json_decref(all_inputs);
        return rp_error_set(err, RP_E_NOMEM, "out of memory");
    }
    w->kind = PW_RUN_INSERT;
    snprintf(w->run_id, sizeof w->run_id, "%s", id);
    w->data = row;
    if (dedup_key != NULL)
        json_object_set_new(e->pending_dedup, dedup_key, json_true());
    engine_queue_write(e, w);
    struct run *r = run_new(e, v, id);
    if (r == NULL) {
        json_decref(all_inputs);
        return rp_error_set(err, RP_E_NOMEM, "out of memory");
    }
    r->alert = json_incref(alert);
    r->inputs = all_inputs;
    if (case_id != NULL)
        snprintf(r->case_id, sizeof r->case_id, "%s", case_id);
    run_load_case(r);
    metrics_inc("riposte_runs_started_total", trigger, NULL);
    run_event(r, "run_started", NULL,
              json_pack("{s:s,s:i,s:s}", "playbook", v->pb->name, "version", v->version, "trigger",
                        trigger));
    log_info("run.start", "run=%s playbook=%s version=%d trigger=%s", id, v->pb->name, v->version,
             trigger);
    if (run_id != NULL)
        memcpy(run_id, id, ULID_LEN + 1);
    engine_admit(e, r);
    return RP_OK;
}

rp_status engine_recover(struct engine *e, int *resumed, struct rp_error *err)
{
    *resumed = 0;
    json_t *rows = NULL;
    if (store_run_unfinished(e->store, &rows) != RP_OK)
        return rp_error_set(err, RP_E_STORE, "%s", store_errmsg(e->store));
    size_t i;
    json_t *row;
    rp_status ret = RP_OK;
    json_array_foreach(rows, i, row)
    {
        const char *id = json_string_value(json_object_get(row, "id"));
        const char *name = json_string_value(json_object_get(row, "playbook"));
        int version = (int)json_integer_value(json_object_get(row, "version"));
        if (id == NULL || name == NULL || engine_run_find(e, id) != NULL)
            continue;
        struct rp_error e2;
        struct pb_version *v = engine_playbook_version(e, name, version, &e2);
        json_t *events = NULL;
        if (v == NULL) {
            log_error("run.recover", "run=%s cannot resume: %s", id, e2.msg);
            if (store_run_status(e->store, id, "failed", e2.msg, time_now_ms()) != RP_OK)
                ret = rp_error_set(err, RP_E_STORE, "%s", store_errmsg(e->store));
            continue;
        }
        if (store_run_events(e->store, id, &events) != RP_OK) {
            ret = rp_error_set(err, RP_E_STORE, "%s", store_errmsg(e->store));
            break;
        }
        struct run *r = run_new(e, v, id);
        if (r == NULL) {
            json_decref(events);
            ret = rp_error_set(err, RP_E_NOMEM, "out of memory");
            break;
        }
        r->recovered = true;
        json_t *ctx = json_object_get(row, "context");
        r->alert = json_incref(json_object_get(ctx, "alert"));
        if (json_is_null(r->alert)) {
            json_decref(r->alert);
            r->alert = NULL;
        }
        r->inputs = json_incref(json_object_get(ctx, "inputs"));
        const char *case_id = json_string_value(json_object_get(row, "case_id"));
        if (case_id != NULL)
            snprintf(r->case_id, sizeof r->case_id, "%s", case_id);
        run_load_case(r);
        size_t k;
        json_t *ev;
        json_array_foreach(events, k, ev)
        {
            apply_event(r, json_string_value(json_object_get(ev, "type")),
                        json_string_value(json_object_get(ev, "key")), json_object_get(ev, "data"));
            r->seq = json_integer_value(json_object_get(ev, "seq"));
        }
        json_decref(events);
        log_info("run.resume", "run=%s playbook=%s version=%d events=%lld", id, name, version,
                 (long long)r->seq);
        engine_admit(e, r);
        (*resumed)++;
    }
    json_decref(rows);
    return ret;
}

rp_status engine_trigger_alert(struct engine *e, json_t *alert, const char *case_id, int *started,
                               struct rp_error *err)
{
    *started = 0;
    const char *kind = json_string_value(json_object_get(alert, "kind"));
    const char *alert_id = json_string_value(json_object_get(alert, "id"));
    if (alert_id == NULL)
        return rp_error_set(err, RP_E_INVALID, "trigger: the alert has no id");
    for (struct pb_version *v = e->versions; v != NULL; v = v->next) {
        const struct playbook *pb = v->pb;
        if (!v->current || pb->trigger.type != PB_TRIGGER_ALERT)
            continue;
        if (pb->trigger.kind != NULL && (kind == NULL || strcmp(pb->trigger.kind, kind) != 0))
            continue;
        if (pb->trigger.when != NULL) {
            struct expr_scope sc = {.alert = alert};
            bool yes = false;
            struct rp_error e2;
            if (expr_eval_bool(e->expr, pb->trigger.when, &sc, &yes, &e2) != RP_OK) {
                char q[RP_ERROR_MAX];
                log_warn("trigger.error", "playbook=%s alert=%s error=%s", pb->name, alert_id,
                         log_quote(q, sizeof q, e2.msg));
                continue;
            }
            if (!yes)
                continue;
        }
        char dedup[ULID_LEN + 1 + 64 + 16];
        snprintf(dedup, sizeof dedup, "%s/%s/%d", alert_id, pb->name, v->version);
        struct rp_error e2;
        rp_status st = engine_start(e, pb->name, alert, case_id, NULL, "alert", dedup, NULL, &e2);
        if (st == RP_OK)
            (*started)++;
        else if (st != RP_E_EXISTS)
            return rp_error_set(err, st, "%s", e2.msg);
    }
    return RP_OK;
}

size_t engine_active(const struct engine *e)
{
    return e->nruns;
}

/* Drops a finished run from memory (after its last writes are committed). */
void engine_run_release(struct engine *e, struct run *r)
{
    if (r->prev != NULL)
        r->prev->next = r->next;
    else
        e->runs = r->next;
    if (r->next != NULL)
        r->next->prev = r->prev;
    e->nruns--;
    metrics_gauge_add("riposte_engine_runs_in_memory", -1);
    json_object_del(e->run_index, r->id);
    run_free(r);
}

/*
 * op.c: what a run waits on. An op is one action call (with its timeout and
 * retry timers), one wait timer, or one prompt (with its deadline timer). Each
 * op owns a uv timer, so freeing an op always goes through uv_close. Loop
 * thread only.
 *
 * Actions follow the outbox rule: op_action_start records action_requested
 * and queues the op; the loop sends it (op_dispatch) only after that event is
 * committed. Completions record action_done and then step_done, or
 * retry_wait when attempts remain.
 */
#include "core/hash.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/time.h"
#include "engine/engine_internal.h"
#include "engine/prompt.h"
#include "expr/expr.h"
#include "guard/guard.h"
#include "store/store.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

enum op_type {
    OP_CALL,
    OP_WAIT,
    OP_PROMPT,
    OP_HOLD, /* a call the guard held: waits for an approval (a prompt to a role) */
};

struct op {
    enum op_type type;
    struct run *run;
    const struct pb_step *step;
    char key[RP_STEP_KEY_MAX];
    char idem[ULID_LEN + 1 + RP_STEP_KEY_MAX];
    const struct action_def *def;
    struct action_call call;
    json_t *params;
    int attempt;
    bool in_flight;     /* the call was started and has not completed */
    bool retrying;      /* the timer waits for the next attempt */
    bool dead;          /* cancelled: ignore whatever arrives */
    bool approved;      /* the guard held it and someone approved: no second decision */
    int64_t contain_ms; /* an allowed contain: released after this long (0: never) */
    char prompt_id[ULID_LEN + 1];
    uv_timer_t timer;
    struct op *next;        /* the run's ops */
    struct op *next_commit; /* the engine's after-commit queue */
};

struct op **op_next_commit(struct op *o)
{
    return &o->next_commit;
}

static struct op *op_find(struct run *r, const char *key)
{
    for (struct op *o = r->ops; o != NULL; o = o->next)
        if (!o->dead && strcmp(o->key, key) == 0)
            return o;
    return NULL;
}

static struct op *op_new(struct run *r, enum op_type type, const struct pb_step *s, const char *key)
{
    struct op *o = calloc(1, sizeof *o);
    if (o == NULL)
        return NULL;
    o->type = type;
    o->run = r;
    o->step = s;
    snprintf(o->key, sizeof o->key, "%s", key);
    snprintf(o->idem, sizeof o->idem, "%s/%s", r->id, key);
    uv_timer_init(r->e->loop, &o->timer);
    o->timer.data = o;
    o->next = r->ops;
    r->ops = o;
    return o;
}

static void op_closed(uv_handle_t *h)
{
    struct op *o = h->data;
    json_decref(o->params);
    free(o);
}

/* Unlinks o from its run and frees it (through the timer's close). */
static void op_free(struct op *o)
{
    struct run *r = o->run;
    if (r != NULL) {
        struct op **pp = &r->ops;
        while (*pp != NULL && *pp != o)
            pp = &(*pp)->next;
        if (*pp == o)
            *pp = o->next;
        o->run = NULL;
        if (o->type == OP_PROMPT || o->type == OP_HOLD) {
            if (r->e->nprompts_waiting > 0)
                r->e->nprompts_waiting--;
            json_object_del(r->e->prompt_index, o->prompt_id);
        }
        if (r->finished && r->ops == NULL)
            engine_kick(r->e); /* the run can be released now */
    }
    uv_timer_stop(&o->timer);
    if (!uv_is_closing((uv_handle_t *)&o->timer))
        uv_close((uv_handle_t *)&o->timer, op_closed);
}

void op_cancel_all(struct run *r)
{
    while (r->ops != NULL) {
        struct op *o = r->ops;
        o->dead = true;
        if (o->in_flight) {
            if (o->def->cancel != NULL) {
                o->def->cancel(&o->call);
                o->in_flight = false;
            } else {
                /* an action without cancel completes on its own; keep the op
                 * alive until then, unlinked from the run */
                r->ops = o->next;
                o->run = NULL;
                continue;
            }
        }
        op_free(o);
    }
}

static void fail_step(struct run *r, const struct pb_step *s, const char *key, const char *fmt, ...)
    RP_PRINTF(4, 5);

static void fail_step(struct run *r, const struct pb_step *s, const char *key, const char *fmt, ...)
{
    char msg[RP_ERROR_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    char full[RP_ERROR_MAX + 256];
    snprintf(full, sizeof full, "playbook %s, step %s: %s",
             r->walk_pb != NULL ? r->walk_pb->name : r->pbv->pb->name, s->id, msg);
    run_event(r, "step_done", key, json_pack("{s:s,s:s}", "status", "failed", "err", full));
}

static void scope_of(struct run *r, struct frame *f, struct expr_scope *sc)
{
    *sc = (struct expr_scope){.alert = r->alert,
                              .case_ = r->case_json,
                              .steps = f->steps,
                              .vars = f->vars,
                              .inputs = f->inputs,
                              .item = f->item,
                              .index = f->index};
}

/* --- actions -------------------------------------------------------------------- */

static void plan_line(struct run *r, const char *fmt, ...) RP_PRINTF(2, 3);

static void plan_line(struct run *r, const char *fmt, ...)
{
    if (r->e->opts.mode != ENGINE_PLAN)
        return;
    char line[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    engine_plan_add(r->e, r->id, line);
}

/* A copy of v with every occurrence of a secret value of the run replaced by
 * "[secret]" in every string; *hit tells whether anything was replaced. */
static json_t *redact(json_t *v, json_t *secrets, bool *hit)
{
    if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *out = NULL;
        size_t i;
        json_t *sec;
        json_array_foreach(secrets, i, sec)
        {
            const char *needle = json_string_value(sec);
            const char *src = out != NULL ? out : s;
            if (needle == NULL || strstr(src, needle) == NULL)
                continue;
            size_t nl = strlen(needle), cap = strlen(src) + 1;
            char *dst = malloc(cap + 16 * (cap / nl + 1));
            if (dst == NULL)
                continue;
            size_t w = 0;
            for (const char *p = src; *p != '\0';) {
                if (strncmp(p, needle, nl) == 0) {
                    memcpy(dst + w, "[secret]", 8);
                    w += 8;
                    p += nl;
                } else {
                    dst[w++] = *p++;
                }
            }
            dst[w] = '\0';
            free(out);
            out = dst;
            *hit = true;
        }
        json_t *r = out != NULL ? json_string(out) : json_incref(v);
        free(out);
        return r;
    }
    if (json_is_object(v)) {
        json_t *o = json_object();
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x) json_object_set_new(o, k, redact(x, secrets, hit));
        return o;
    }
    if (json_is_array(v)) {
        json_t *a = json_array();
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x) json_array_append_new(a, redact(x, secrets, hit));
        return a;
    }
    return json_incref(v);
}

static void request(struct op *o)
{
    struct run *r = o->run;
    json_t *ev = json_pack("{s:s,s:s,s:i,s:O,s:s}", "action", o->def->name, "effect",
                           action_effect_name(o->def->effect), "attempt", o->attempt, "params",
                           o->params, "idempotency_key", o->idem);
    bool hit = false;
    json_t *stored = r->secrets != NULL ? redact(o->params, r->secrets, &hit) : NULL;
    if (hit) {
        /* a template carried a secret output into these parameters: the call
         * gets them, the log gets [secret] and a mark that the request cannot
         * be sent again from the log after a restart */
        json_t *shown = json_deep_copy(ev);
        json_object_set_new(shown, "params", stored);
        json_object_set_new(shown, "redacted", json_true());
        json_object_set_new(ev, "redacted", json_true());
        run_event_split(r, "action_requested", o->key, ev, shown);
    } else {
        json_decref(stored);
        run_event(r, "action_requested", o->key, ev);
    }
    engine_after_commit(r->e, o);
}

void op_action_start(struct run *r, const struct pb_step *s, const char *key, struct frame *f)
{
    const struct action_def *def = action_find(s->u.action.name);
    if (def == NULL) {
        fail_step(r, s, key, "unknown action %s", s->u.action.name);
        return;
    }
    struct expr_scope sc;
    scope_of(r, f, &sc);
    json_t *params = NULL;
    struct rp_error err;
    json_t *with = s->u.action.with;
    json_t *empty = NULL;
    if (with == NULL)
        with = empty = json_object();
    rp_status st = expr_render_json(r->e->expr, with, &sc, &params, &err);
    json_decref(empty);
    if (st != RP_OK) {
        fail_step(r, s, key, "with: %s", err.msg);
        return;
    }
    struct op *o = op_new(r, OP_CALL, s, key);
    if (o == NULL) {
        json_decref(params);
        fail_step(r, s, key, "out of memory");
        return;
    }
    o->def = def;
    o->params = params;
    o->attempt = 1;
    request(o);
}

static void action_finish(struct op *o, struct action_result *res);

static void call_done(struct action_call *call, struct action_result *res)
{
    struct op *o = call->engine;
    o->in_flight = false;
    if (o->dead || o->run == NULL) {
        json_decref(res->output);
        if (o->run == NULL)
            op_free(o);
        return;
    }
    uv_timer_stop(&o->timer);
    action_finish(o, res);
}

static void retry_fired(uv_timer_t *t)
{
    struct op *o = t->data;
    if (o->dead || o->run == NULL)
        return;
    o->retrying = false;
    request(o);
}

static void timeout_fired(uv_timer_t *t)
{
    struct op *o = t->data;
    if (!o->in_flight || o->dead)
        return;
    if (o->def->cancel != NULL)
        o->def->cancel(&o->call);
    o->in_flight = false;
    struct action_result res = {.st = RP_E_IO, .output = NULL};
    snprintf(res.error, sizeof res.error, "%s timed out after %lld ms", o->def->name,
             (long long)o->step->timeout_ms);
    action_finish(o, &res);
}

static void action_finish(struct op *o, struct action_result *res)
{
    struct run *r = o->run;
    const struct pb_step *s = o->step;
    bool ok = res->st == RP_OK;
    json_t *d = json_pack("{s:i,s:b}", "attempt", o->attempt, "ok", ok);
    if (!ok)
        json_object_set_new(d, "error", json_string(res->error));
    run_event(r, "action_done", o->key, d);
    metrics_inc("riposte_actions_total", o->def->name, ok ? "ok" : "failed");
    if (ok) {
        json_t *out = res->output != NULL ? res->output : json_object();
        if (o->contain_ms > 0)
            rails_contained(r->e, r, o->def, o->params, o->contain_ms);
        json_t *done = json_pack("{s:s,s:o}", "status", "done", "out", out);
        if (o->def->secret_outputs != NULL) {
            /* the run sees the value; the log, traces and the API never do */
            json_t *shown = json_deep_copy(done);
            json_t *so = json_object_get(shown, "out");
            for (const char *const *k = o->def->secret_outputs; *k != NULL; k++) {
                const char *val = json_string_value(json_object_get(out, *k));
                /* remembered so that later parameters carrying it are redacted
                 * too (values this short would redact unrelated text) */
                if (val != NULL && strlen(val) >= 6) {
                    if (r->secrets == NULL)
                        r->secrets = json_array();
                    json_array_append_new(r->secrets, json_string(val));
                }
                if (json_object_get(so, *k) != NULL)
                    json_object_set_new(so, *k, json_string("[secret]"));
            }
            run_event_split(r, "step_done", o->key, done, shown);
        } else {
            run_event(r, "step_done", o->key, done);
        }
        op_free(o);
    } else if (o->attempt <= s->retry_count) {
        int shift = o->attempt - 1 < 20 ? o->attempt - 1 : 20;
        int64_t backoff = s->retry_backoff_ms << shift;
        int64_t due = time_now_ms() + backoff;
        o->attempt++;
        o->retrying = true;
        run_event(r, "retry_wait", o->key,
                  json_pack("{s:I,s:i,s:s}", "due", (json_int_t)due, "attempt", o->attempt, "error",
                            res->error));
        uv_timer_start(&o->timer, retry_fired, (uint64_t)backoff, 0);
    } else {
        fail_step(r, s, o->key, "%s", res->error);
        op_free(o);
    }
    run_mark_dirty(r);
}

/* The recorded answer for a step or action in plan mode's --replay file. */
static json_t *replayed(struct engine *e, const struct pb_step *s, const struct action_def *def)
{
    if (e->opts.replay == NULL)
        return NULL;
    json_t *v = json_object_get(e->opts.replay, s->id);
    if (v == NULL)
        v = json_object_get(e->opts.replay, def->name);
    return v;
}

static bool guard_gate(struct op *o);
static void hold_arm(struct op *o, const char *prompt_id, int64_t deadline);

void op_dispatch(struct op *o)
{
    o->next_commit = NULL;
    struct run *r = o->run;
    if (o->dead || r == NULL || r->finished) {
        if (r == NULL || o->dead)
            return;
        op_free(o);
        return;
    }
    struct engine *e = r->e;
    char *params = json_dumps(o->params, JSON_COMPACT | JSON_SORT_KEYS);
    const char *name = o->def->name;
    const char *effect = action_effect_name(o->def->effect);
    if (e->opts.mode == ENGINE_PLAN) {
        json_t *rec = replayed(e, o->step, o->def);
        if (o->def->effect != ACTION_EFFECT_READ) {
            plan_line(r, "%s: %s (%s) %s -> simulated", o->key, name, effect,
                      params != NULL ? params : "{}");
            free(params);
            struct action_result res = {.st = RP_OK, .output = json_pack("{s:b}", "simulated", 1)};
            action_finish(o, &res);
            return;
        }
        if (rec != NULL) {
            plan_line(r, "%s: %s (%s) %s -> replayed", o->key, name, effect,
                      params != NULL ? params : "{}");
            free(params);
            struct action_result res = {.st = RP_OK, .output = json_deep_copy(rec)};
            action_finish(o, &res);
            return;
        }
        plan_line(r, "%s: %s (%s) %s -> called", o->key, name, effect,
                  params != NULL ? params : "{}");
    }
    free(params);
    if (e->opts.mode == ENGINE_LIVE && o->def->effect > ACTION_EFFECT_READ && !o->approved &&
        !guard_gate(o))
        return;
    o->call = (struct action_call){.def = o->def,
                                   .params = o->params,
                                   .key = o->idem,
                                   .attempt = o->attempt,
                                   .loop = e->loop,
                                   .store = e->store,
                                   .done = call_done,
                                   .engine = o};
    o->in_flight = true;
    if (o->step->timeout_ms > 0)
        uv_timer_start(&o->timer, timeout_fired, (uint64_t)o->step->timeout_ms, 0);
    rp_status st = o->def->start(&o->call);
    if (st != RP_OK && o->in_flight) {
        o->in_flight = false;
        uv_timer_stop(&o->timer);
        struct action_result res = {.st = st, .output = NULL};
        snprintf(res.error, sizeof res.error, "%s could not start: %s", name, rp_status_str(st));
        action_finish(o, &res);
    }
}

/* --- waits --------------------------------------------------------------------------- */

static void wait_fired(uv_timer_t *t)
{
    struct op *o = t->data;
    struct run *r = o->run;
    if (o->dead || r == NULL)
        return;
    run_event(r, "step_done", o->key,
              json_pack("{s:s,s:{s:I}}", "status", "done", "out", "waited_ms",
                        (json_int_t)o->step->u.wait.duration_ms));
    op_free(o);
    run_mark_dirty(r);
}

static void wait_arm(struct run *r, const struct pb_step *s, const char *key, int64_t due)
{
    struct op *o = op_new(r, OP_WAIT, s, key);
    if (o == NULL) {
        fail_step(r, s, key, "out of memory");
        return;
    }
    int64_t left = due - time_now_ms();
    if (r->e->opts.mode == ENGINE_PLAN || left < 0)
        left = 0; /* plan mode does not wait */
    uv_timer_start(&o->timer, wait_fired, (uint64_t)left, 0);
}

void op_wait_start(struct run *r, const struct pb_step *s, const char *key, struct frame *f)
{
    int64_t due = 0;
    if (s->u.wait.until != NULL) {
        struct expr_scope sc;
        scope_of(r, f, &sc);
        json_t *v = NULL;
        struct rp_error err;
        if (expr_render(r->e->expr, s->u.wait.until, &sc, &v, &err) != RP_OK) {
            fail_step(r, s, key, "wait until: %s", err.msg);
            return;
        }
        const char *t = json_string_value(v);
        if (json_is_integer(v))
            due = json_integer_value(v);
        else if (t == NULL || time_parse_rfc3339(t, strlen(t), &due, &err) != RP_OK) {
            json_decref(v);
            fail_step(r, s, key, "wait until: not an RFC 3339 time or epoch ms");
            return;
        }
        json_decref(v);
    } else {
        due = time_now_ms() + s->u.wait.duration_ms;
    }
    run_event(r, "timer_set", key, json_pack("{s:I}", "due", (json_int_t)due));
    plan_line(r, "%s: wait until %lld", key, (long long)due);
    wait_arm(r, s, key, due);
}

/* --- prompts ---------------------------------------------------------------------------- */

struct store_prompt_row {
    char id[ULID_LEN + 1];
    char run_id[ULID_LEN + 1];
    char *key, *to, *role, *question, *default_option;
    json_t *options;
    int64_t created_ms, deadline_ms;
};

void op_prompt_free_row(struct store_prompt_row *p)
{
    if (p == NULL)
        return;
    free(p->key);
    free(p->to);
    free(p->role);
    free(p->question);
    free(p->default_option);
    json_decref(p->options);
    free(p);
}

rp_status op_prompt_write(struct engine *e, struct store_prompt_row *p)
{
    struct store_prompt sp = {.id = p->id,
                              .run_id = p->run_id,
                              .step_key = p->key,
                              .to = p->to,
                              .role = p->role,
                              .question = p->question,
                              .options = p->options,
                              .default_option = p->default_option,
                              .created_ms = p->created_ms,
                              .deadline_ms = p->deadline_ms};
    return store_prompt_put(e->store, &sp);
}

static void timeline(struct run *r, const char *event, json_t *detail)
{
    if (r->case_id[0] == '\0') {
        json_decref(detail);
        return;
    }
    struct pending_write *w = calloc(1, sizeof *w);
    if (w == NULL) {
        json_decref(detail);
        return;
    }
    w->kind = PW_TIMELINE;
    snprintf(w->case_id, sizeof w->case_id, "%s", r->case_id);
    w->ts_ms = time_now_ms();
    char actor[RP_NAME_MAX_BYTES + 16];
    snprintf(actor, sizeof actor, "playbook:%s", r->pbv->pb->name);
    w->actor_playbook = strdup(actor);
    w->type = event;
    w->data = detail;
    engine_queue_write(r->e, w);
}

static void deadline_fired(uv_timer_t *t);

static void prompt_arm(struct run *r, const struct pb_step *s, const char *key, const char *id,
                       int64_t deadline)
{
    struct op *o = op_new(r, OP_PROMPT, s, key);
    if (o == NULL) {
        fail_step(r, s, key, "out of memory");
        return;
    }
    snprintf(o->prompt_id, sizeof o->prompt_id, "%s", id);
    r->e->nprompts_waiting++;
    json_object_set_new(r->e->prompt_index, id, json_string(r->id));
    int64_t left = deadline - time_now_ms();
    uv_timer_start(&o->timer, deadline_fired, (uint64_t)(left > 0 ? left : 0), 0);
}

void op_prompt_start(struct run *r, const struct pb_step *s, const char *key, struct frame *f)
{
    struct expr_scope sc;
    scope_of(r, f, &sc);
    struct rp_error err;
    json_t *q = NULL, *to = NULL;
    if (expr_render(r->e->expr, s->u.prompt.question, &sc, &q, &err) != RP_OK) {
        fail_step(r, s, key, "question: %s", err.msg);
        return;
    }
    if (s->u.prompt.to != NULL &&
        expr_render(r->e->expr, s->u.prompt.to, &sc, &to, &err) != RP_OK) {
        json_decref(q);
        fail_step(r, s, key, "to: %s", err.msg);
        return;
    }
    char *qt = expr_value_text(q);
    char *tt = to != NULL ? expr_value_text(to) : NULL;
    json_decref(q);
    json_decref(to);
    if (r->e->opts.mode == ENGINE_PLAN) {
        /* plan mode answers with the replayed answer, else the default, else
         * the first option, and says so */
        json_t *rep = r->e->opts.replay != NULL ? json_object_get(r->e->opts.replay, s->id) : NULL;
        const char *ans = json_string_value(json_object_get(rep, "answer"));
        if (ans == NULL)
            ans = s->u.prompt.default_option;
        if (ans == NULL)
            ans = json_string_value(json_array_get(s->u.prompt.options, 0));
        plan_line(r, "%s: prompt %s: \"%s\" -> answer %s", key,
                  tt != NULL ? tt : (s->u.prompt.role != NULL ? s->u.prompt.role : "?"),
                  qt != NULL ? qt : "", ans);
        run_event(
            r, "step_done", key,
            json_pack("{s:s,s:{s:s,s:b}}", "status", "done", "out", "answer", ans, "simulated", 1));
        free(qt);
        free(tt);
        return;
    }
    struct store_prompt_row *p = calloc(1, sizeof *p);
    if (p == NULL || qt == NULL || ulid_new(p->id) != RP_OK) {
        free(qt);
        free(tt);
        op_prompt_free_row(p);
        fail_step(r, s, key, "out of memory");
        return;
    }
    snprintf(p->run_id, sizeof p->run_id, "%s", r->id);
    p->key = strdup(key);
    p->to = tt;
    p->role = s->u.prompt.role != NULL ? strdup(s->u.prompt.role) : NULL;
    p->question = qt;
    p->default_option =
        s->u.prompt.default_option != NULL ? strdup(s->u.prompt.default_option) : NULL;
    p->options = json_incref(s->u.prompt.options);
    p->created_ms = time_now_ms();
    p->deadline_ms = p->created_ms + s->u.prompt.timeout_ms;
    char token[PROMPT_TOKEN_MAX];
    prompt_token_make(r->e->prompt_key, p->id, p->deadline_ms, token);
    char url[PROMPT_TOKEN_MAX + 256];
    const char *base =
        r->e->opts.public_url != NULL ? r->e->opts.public_url : "http://127.0.0.1:8080";
    size_t blen = strlen(base);
    while (blen > 0 && base[blen - 1] == '/') /* the link adds its own */
        blen--;
    snprintf(url, sizeof url, "%.*s/respond/%s", (int)(blen < 200 ? blen : 200), base, token);
    json_t *detail = json_pack("{s:s,s:s?,s:s?,s:s,s:O,s:I}", "prompt", p->id, "to", p->to, "role",
                               p->role, "question", p->question, "options", p->options, "deadline",
                               (json_int_t)p->deadline_ms);
    run_event(r, "prompt_sent", key, json_deep_copy(detail));
    timeline(r, "prompt", detail);
    if (r->e->opts.prompt_mail_action != NULL && p->to != NULL) {
        /* the question goes out by mail once the prompt is committed; the
         * link in it is the only copy of the credential outside the engine */
        json_t *options = json_array();
        size_t oi;
        json_t *ov;
        char text[4096];
        int n = snprintf(text, sizeof text, "%s\n\nOptions: ", p->question);
        json_array_foreach(p->options, oi, ov)
        {
            if (n > 0 && (size_t)n < sizeof text)
                n += snprintf(text + n, sizeof text - (size_t)n, "%s%s", oi ? ", " : "",
                              json_string_value(ov));
            json_array_append(options, ov);
        }
        char deadline[TIME_RFC3339_LEN];
        time_format_rfc3339(p->deadline_ms, deadline);
        if (n > 0 && (size_t)n < sizeof text)
            snprintf(text + n, sizeof text - (size_t)n,
                     "\n\nAnswer here before %s (the link works once):\n%s\n", deadline, url);
        json_array_append_new(r->e->mail_queue,
                              json_pack("{s:s,s:s,s:s,s:s,s:s}", "run", r->id, "key", key, "to",
                                        p->to, "subject", "A question from your security team",
                                        "text", text));
        json_decref(options);
    }
    /* the link is a credential: it goes to the person, never to the log */
    log_info("prompt.sent", "run=%s prompt=%s step=%s", r->id, p->id, s->id);
    struct pending_write *w = calloc(1, sizeof *w);
    if (w == NULL) {
        op_prompt_free_row(p);
        fail_step(r, s, key, "out of memory");
        return;
    }
    char id[ULID_LEN + 1];
    memcpy(id, p->id, sizeof id);
    int64_t deadline = p->deadline_ms;
    w->kind = PW_PROMPT;
    w->prompt = p;
    engine_queue_write(r->e, w);
    prompt_arm(r, s, key, id, deadline);
}

static struct op *prompt_op(struct engine *e, const char *prompt_id)
{
    const char *run_id = json_string_value(json_object_get(e->prompt_index, prompt_id));
    struct run *r = run_id != NULL ? engine_run_find(e, run_id) : NULL;
    if (r == NULL)
        return NULL;
    for (struct op *o = r->ops; o != NULL; o = o->next)
        if ((o->type == OP_PROMPT || o->type == OP_HOLD) && !o->dead &&
            strcmp(o->prompt_id, prompt_id) == 0)
            return o;
    return NULL;
}

static void hold_arm(struct op *o, const char *prompt_id, int64_t deadline)
{
    struct run *r = o->run;
    o->type = OP_HOLD;
    snprintf(o->prompt_id, sizeof o->prompt_id, "%s", prompt_id);
    r->e->nprompts_waiting++;
    json_object_set_new(r->e->prompt_index, prompt_id, json_string(r->id));
    int64_t left = deadline - time_now_ms();
    uv_timer_start(&o->timer, deadline_fired, (uint64_t)(left > 0 ? left : 0), 0);
}

/* A held call's approval came in (or its deadline passed with its rule). */
static bool hold_settle(struct op *o, json_t *row)
{
    struct run *r = o->run;
    const char *status = json_string_value(json_object_get(row, "status"));
    if (status == NULL || strcmp(status, "open") == 0)
        return false;
    const char *answer = json_string_value(json_object_get(row, "answer"));
    const char *by = json_string_value(json_object_get(row, "answered_by"));
    bool expired = strcmp(status, "answered") != 0;
    if (expired)
        answer = json_string_value(json_object_get(row, "default"));
    bool approve = answer != NULL && strcmp(answer, "approve") == 0;
    json_t *d = json_pack("{s:s,s:s,s:s?,s:b}", "approval", o->prompt_id, "answer",
                          approve ? "approve" : "deny", "by", expired ? "deadline" : by, "expired",
                          expired);
    rails_audit(r->e, by != NULL && !expired ? by : "deadline", "approval", json_deep_copy(d));
    timeline(r, approve ? "approved" : "denied", json_deep_copy(d));
    run_event(r, "hold_done", o->key, d);
    if (r->e->nprompts_waiting > 0)
        r->e->nprompts_waiting--;
    json_object_del(r->e->prompt_index, o->prompt_id);
    uv_timer_stop(&o->timer);
    o->type = OP_CALL;
    if (approve) {
        o->approved = true;
        engine_after_commit(r->e, o); /* the approval is committed before the call goes */
    } else {
        struct action_result res = {.st = RP_E_DENIED};
        snprintf(res.error, sizeof res.error, "%s was held and %s", o->def->name,
                 expired ? "no approval came by the deadline" : "the approver denied it");
        o->attempt = o->step->retry_count + 1;
        action_finish(o, &res);
    }
    run_mark_dirty(r);
    return true;
}

/* Settles a prompt op from the store's row. True when the run moved on. */
static bool prompt_settle(struct op *o, json_t *row)
{
    struct run *r = o->run;
    if (o->type == OP_HOLD)
        return hold_settle(o, row);
    const char *status = json_string_value(json_object_get(row, "status"));
    if (status == NULL || strcmp(status, "open") == 0)
        return false;
    if (strcmp(status, "answered") == 0) {
        json_t *out =
            json_pack("{s:O,s:O,s:O,s:s,s:b}", "answer", json_object_get(row, "answer"),
                      "answered_by", json_object_get(row, "answered_by"), "answered_at",
                      json_object_get(row, "answered"), "prompt", o->prompt_id, "timed_out", 0);
        timeline(r, "prompt_answered", json_deep_copy(out));
        run_event(r, "step_done", o->key, json_pack("{s:s,s:o}", "status", "done", "out", out));
    } else if (o->step->u.prompt.default_option != NULL) {
        json_t *out = json_pack("{s:s,s:n,s:s,s:b}", "answer", o->step->u.prompt.default_option,
                                "answered_by", "prompt", o->prompt_id, "timed_out", 1);
        timeline(r, "prompt_expired", json_deep_copy(out));
        run_event(r, "step_done", o->key, json_pack("{s:s,s:o}", "status", "done", "out", out));
    } else {
        timeline(r, "prompt_expired", json_pack("{s:s}", "prompt", o->prompt_id));
        fail_step(r, o->step, o->key, "prompt %s: no answer by the deadline", o->prompt_id);
    }
    op_free(o);
    run_mark_dirty(r);
    return true;
}

bool op_prompt_answered(struct engine *e, const char *prompt_id)
{
    if (prompt_id == NULL)
        return false;
    struct op *o = prompt_op(e, prompt_id);
    if (o == NULL)
        return false;
    json_t *row = NULL;
    if (store_prompt_get_json(e->store, prompt_id, &row) != RP_OK)
        return false;
    bool moved = prompt_settle(o, row);
    json_decref(row);
    return moved;
}

static void deadline_fired(uv_timer_t *t)
{
    struct op *o = t->data;
    if (o->dead || o->run == NULL)
        return;
    struct engine *e = o->run->e;
    rp_status st = store_prompt_expire(e->store, o->prompt_id, time_now_ms());
    if (st != RP_OK && st != RP_E_EXISTS) {
        /* the store is failing: look again shortly */
        uv_timer_start(&o->timer, deadline_fired, RP_ENGINE_RETRY_MS, 0);
        return;
    }
    json_t *row = NULL;
    if (store_prompt_get_json(e->store, o->prompt_id, &row) == RP_OK) {
        (void)prompt_settle(o, row);
        json_decref(row);
    }
}

/* --- recovery ----------------------------------------------------------------------- */

void op_resume(struct run *r, const struct pb_step *s, const char *key, struct frame *f,
               json_t *rec)
{
    (void)f;
    if (op_find(r, key) != NULL)
        return; /* live: something is already waiting on it */
    json_t *due = json_object_get(rec, "due");
    switch (s->kind) {
    case PB_ACTION: {
        const struct action_def *def = action_find(s->u.action.name);
        if (def == NULL) {
            fail_step(r, s, key, "unknown action %s", s->u.action.name);
            return;
        }
        struct op *o = op_new(r, OP_CALL, s, key);
        if (o == NULL) {
            fail_step(r, s, key, "out of memory");
            return;
        }
        o->def = def;
        o->params = json_incref(json_object_get(rec, "params"));
        if (due != NULL) {
            /* it was waiting to retry */
            o->attempt = (int)json_integer_value(json_object_get(rec, "next_attempt"));
            int64_t left = json_integer_value(due) - time_now_ms();
            o->retrying = true;
            uv_timer_start(&o->timer, retry_fired, (uint64_t)(left > 0 ? left : 0), 0);
            return;
        }
        o->attempt = (int)json_integer_value(json_object_get(rec, "attempt"));
        if (o->attempt < 1)
            o->attempt = 1;
        const char *hold = json_string_value(json_object_get(rec, "hold"));
        if (hold != NULL) {
            /* it was waiting for an approval: wait again (answered meanwhile?) */
            hold_arm(o, hold, json_integer_value(json_object_get(rec, "hold_deadline")));
            (void)op_prompt_answered(r->e, hold);
            return;
        }
        if (json_is_true(json_object_get(rec, "approved")))
            o->approved = true; /* approved before the stop: no second decision */
        if (json_is_true(json_object_get(rec, "redacted"))) {
            op_free(o);
            run_event(r, "action_done", key,
                      json_pack("{s:b,s:s}", "ok", 0, "error", "outcome unknown"));
            fail_step(r, s, key,
                      "%s was in flight when the engine stopped and its parameters held a "
                      "secret that a restart does not keep: not sent again; check by hand",
                      def->name);
            return;
        }
        if (def->honours_keys) {
            /* the request is in the log already: send it again, same key */
            log_info("run.resend", "run=%s step=%s action=%s attempt=%d", r->id, key, def->name,
                     o->attempt);
            engine_after_commit(r->e, o);
        } else {
            op_free(o);
            run_event(r, "action_done", key,
                      json_pack("{s:b,s:s}", "ok", 0, "error", "outcome unknown"));
            fail_step(r, s, key,
                      "outcome unknown: %s was in flight when the engine stopped and cannot "
                      "be repeated safely; check its effect by hand",
                      def->name);
        }
        return;
    }
    case PB_WAIT:
        if (due != NULL) {
            wait_arm(r, s, key, json_integer_value(due));
            return;
        }
        break;
    case PB_PROMPT: {
        const char *id = json_string_value(json_object_get(rec, "prompt"));
        json_t *dl = json_object_get(rec, "deadline");
        if (id != NULL && dl != NULL) {
            prompt_arm(r, s, key, id, json_integer_value(dl));
            (void)op_prompt_answered(r->e, id); /* answered while we were down */
            return;
        }
        break;
    }
    default:
        break;
    }
    fail_step(r, s, key, "the step was interrupted and cannot be resumed");
}

bool op_run_waiting_only(const struct run *r)
{
    if (r->ops == NULL)
        return false;
    for (const struct op *o = r->ops; o != NULL; o = o->next)
        if (o->type == OP_CALL)
            return false;
    return true; /* prompts, holds and waits: people or time */
}

/* --- guard rails ---------------------------------------------------------------------- */

/* Asks the guard about a call above read. True: send it now. Otherwise the
 * op was settled (denied, simulated) or parked (held for an approval). */
static bool guard_gate(struct op *o)
{
    struct run *r = o->run;
    struct engine *e = r->e;
    struct guard_decision d;
    json_t *targets = NULL;
    if (rails_decide(e, r, o->key, o->def, o->params, &targets, &d) != RP_OK) {
        json_decref(targets);
        fail_step(r, o->step, o->key, "guard: cannot decide");
        op_free(o);
        run_mark_dirty(r);
        return false;
    }
    json_t *gd = json_pack("{s:s,s:s,s:s,s:o}", "verdict", guard_verdict_name(d.verdict), "rule",
                           d.rule, "reason", d.reason, "targets", targets);
    if (d.verdict != GUARD_HOLD) { /* a hold has its own entry below */
        json_t *tl = json_deep_copy(gd);
        json_object_set_new(tl, "action", json_string(o->def->name));
        json_object_set_new(tl, "step", json_string(o->key));
        timeline(r, "guard", tl);
    }
    run_event(r, "guard", o->key, gd);
    switch (d.verdict) {
    case GUARD_ALLOW:
        o->contain_ms = d.contain_ms;
        return true;
    case GUARD_SIMULATE: {
        struct action_result res = {
            .st = RP_OK, .output = json_pack("{s:b,s:s}", "simulated", 1, "rule", d.rule)};
        action_finish(o, &res);
        return false;
    }
    case GUARD_DENY: {
        struct action_result res = {.st = RP_E_DENIED};
        snprintf(res.error, sizeof res.error, "guard denied %.100s (%.100s): %.280s", o->def->name,
                 d.rule, d.reason);
        o->attempt = o->step->retry_count + 1; /* a denial is not retried */
        action_finish(o, &res);
        return false;
    }
    case GUARD_HOLD:
        break;
    }
    /* hold: an approval is a prompt to the approver's role */
    struct store_prompt_row *p = calloc(1, sizeof *p);
    char question[1024];
    snprintf(question, sizeof question, "Approve %.100s (%s) in run %s step %.200s? %.100s: %.400s",
             o->def->name, action_effect_name(o->def->effect), r->id, o->key, d.rule, d.reason);
    if (p == NULL || ulid_new(p->id) != RP_OK) {
        free(p);
        fail_step(r, o->step, o->key, "guard: out of memory for a hold");
        op_free(o);
        run_mark_dirty(r);
        return false;
    }
    snprintf(p->run_id, sizeof p->run_id, "%s", r->id);
    p->key = strdup(o->key);
    p->role = strdup(d.approver[0] != '\0' ? d.approver : "admin");
    p->question = strdup(question);
    p->default_option = strdup(d.on_timeout_allow ? "approve" : "deny");
    p->options = json_pack("[s,s]", "approve", "deny");
    p->created_ms = time_now_ms();
    p->deadline_ms = d.deadline_ms > p->created_ms ? d.deadline_ms : p->created_ms + 3600 * 1000;
    char id[ULID_LEN + 1];
    memcpy(id, p->id, sizeof id);
    int64_t deadline = p->deadline_ms;
    run_event(r, "hold", o->key,
              json_pack("{s:s,s:I,s:s,s:s}", "prompt", id, "deadline", (json_int_t)deadline,
                        "approver", p->role, "rule", d.rule));
    timeline(r, "hold",
             json_pack("{s:s,s:s,s:s,s:s}", "approval", id, "action", o->def->name, "rule", d.rule,
                       "reason", d.reason));
    log_info("guard.hold", "run=%s step=%s action=%s approval=%s rule=\"%s\"", r->id, o->key,
             o->def->name, id, d.rule);
    struct pending_write *w = calloc(1, sizeof *w);
    if (w == NULL) {
        op_prompt_free_row(p);
    } else {
        w->kind = PW_PROMPT;
        w->prompt = p;
        engine_queue_write(e, w);
    }
    hold_arm(o, id, deadline);
    run_mark_dirty(r);
    return false;
}

/* --- prompt mails ------------------------------------------------------------------- */

struct prompt_mail {
    struct action_call call;
    struct engine *e;
    json_t *params;
    char run_id[ULID_LEN + 1];
    char key[RP_STEP_KEY_MAX + 16];
};

static void prompt_mail_done(struct action_call *call, struct action_result *res)
{
    struct prompt_mail *m = call->engine;
    json_decref(res->output);
    char q[RP_ERROR_MAX];
    if (res->st == RP_OK)
        log_info("prompt.mailed", "run=%s action=%s", m->run_id, call->def->name);
    else
        log_warn("prompt.mail_failed", "run=%s action=%s error=%s", m->run_id, call->def->name,
                 log_quote(q, sizeof q, res->error));
    struct run *r = engine_run_find(m->e, m->run_id);
    if (r != NULL && !r->finished)
        run_event(r, "prompt_mailed", m->key + 5 /* after "mail/" */,
                  json_pack("{s:b,s:s}", "ok", res->st == RP_OK, "error",
                            res->st == RP_OK ? "" : res->error));
    json_decref(m->params);
    free(m);
}

void op_send_prompt_mails(struct engine *e)
{
    if (json_array_size(e->mail_queue) == 0)
        return;
    json_t *queue = e->mail_queue;
    e->mail_queue = json_array();
    const struct action_def *def = action_find(e->opts.prompt_mail_action);
    size_t i;
    json_t *m;
    json_array_foreach(queue, i, m)
    {
        const char *run_id = json_string_value(json_object_get(m, "run"));
        if (def == NULL) {
            log_warn("prompt.mail_failed", "run=%s error=\"no action %s\"", run_id,
                     e->opts.prompt_mail_action);
            continue;
        }
        struct prompt_mail *pm = calloc(1, sizeof *pm);
        if (pm == NULL)
            break;
        pm->e = e;
        snprintf(pm->run_id, sizeof pm->run_id, "%s", run_id);
        snprintf(pm->key, sizeof pm->key, "mail/%s", json_string_value(json_object_get(m, "key")));
        pm->params = json_pack("{s:O,s:O,s:O}", "to", json_object_get(m, "to"), "subject",
                               json_object_get(m, "subject"), "text", json_object_get(m, "text"));
        pm->call = (struct action_call){.def = def,
                                        .params = pm->params,
                                        .key = pm->key,
                                        .attempt = 1,
                                        .loop = e->loop,
                                        .store = e->store,
                                        .done = prompt_mail_done,
                                        .engine = pm};
        if (def->start(&pm->call) != RP_OK) {
            struct action_result res = {.st = RP_E_IO};
            snprintf(res.error, sizeof res.error, "%s could not start", def->name);
            prompt_mail_done(&pm->call, &res);
        }
    }
    json_decref(queue);
}

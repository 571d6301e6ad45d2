/*
 * rails.c: the guard rails inside the engine (guard/guard.h has the rules;
 * docs/internals/engine.md the flow). Loop thread only.
 *
 * Before an action above read goes out, op.c asks rails_decide. The counters
 * the decision needs come from the store (allowed effects are rows of
 * guard_actions, so budgets hold across restarts and nodes) plus the ones
 * allowed in this loop turn and not committed yet (guard_pending), so that a
 * burst inside one turn cannot slip past a budget. Every decision is audited
 * (a hash chain in the store, written in the same commit as the run's
 * events). Allowed contains with a duration become containment rows; an
 * expired one is released by calling the action's release action with the
 * same parameters, outside any run, with its own idempotency key.
 */
#include "core/log.h"
#include "core/metrics.h"
#include "core/time.h"
#include "engine/engine_internal.h"
#include "guard/guard.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

static struct pending_write *pw_new(enum pw_kind kind)
{
    struct pending_write *w = calloc(1, sizeof *w);
    if (w != NULL) {
        w->kind = kind;
        w->ts_ms = time_now_ms();
    }
    return w;
}

void rails_audit(struct engine *e, const char *actor, const char *kind, json_t *detail)
{
    struct pending_write *w = pw_new(PW_AUDIT);
    if (w == NULL) {
        json_decref(detail);
        log_error("audit.lost", "kind=%s reason=\"out of memory\"", kind);
        return;
    }
    w->actor_playbook = strdup(actor);
    w->type = kind; /* static */
    w->data = detail;
    engine_queue_write(e, w);
}

/* --- counters for guard_decide ----------------------------------------------- */

static bool pending_match(json_t *p, int64_t since, const char *action, int effect,
                          const char *playbook)
{
    if (json_integer_value(json_object_get(p, "ts")) < since)
        return false;
    if (action != NULL && strcmp(action, json_string_value(json_object_get(p, "action"))) != 0)
        return false;
    if (effect >= 0 && effect != (int)json_integer_value(json_object_get(p, "effect")))
        return false;
    if (playbook != NULL &&
        strcmp(playbook, json_string_value(json_object_get(p, "playbook"))) != 0)
        return false;
    return true;
}

static rp_status count_since(void *ctx, int64_t since_ms, const char *action, int effect,
                             const char *playbook, int64_t *out)
{
    struct engine *e = ctx;
    rp_status st = store_guard_count(e->store, since_ms, action, effect, playbook, out);
    if (st != RP_OK)
        return st;
    size_t i;
    json_t *p;
    json_array_foreach(e->guard_pending, i,
                       p) if (pending_match(p, since_ms, action, effect, playbook))(*out)++;
    return RP_OK;
}

static void target_keys(json_t *targets, json_t *set)
{
    size_t i;
    json_t *t;
    json_array_foreach(targets, i, t)
    {
        char k[600];
        snprintf(k, sizeof k, "%s:%s", json_string_value(json_object_get(t, "type")),
                 json_string_value(json_object_get(t, "value")));
        json_object_set_new(set, k, json_true());
    }
}

static rp_status run_targets(void *ctx, const char *run_id, int effect, json_t *adding,
                             int64_t *out)
{
    struct engine *e = ctx;
    json_t *stored = NULL;
    rp_status st = store_guard_run_targets(e->store, run_id, effect, &stored);
    if (st != RP_OK)
        return st;
    json_t *set = json_object();
    size_t i;
    json_t *v;
    json_array_foreach(stored, i, v) json_object_set_new(set, json_string_value(v), json_true());
    json_array_foreach(e->guard_pending, i, v)
    {
        if (strcmp(json_string_value(json_object_get(v, "run")), run_id) == 0 &&
            (int)json_integer_value(json_object_get(v, "effect")) == effect)
            target_keys(json_object_get(v, "targets"), set);
    }
    target_keys(adding, set);
    *out = (int64_t)json_object_size(set);
    json_decref(set);
    json_decref(stored);
    return RP_OK;
}

rp_status rails_decide(struct engine *e, struct run *r, const char *step_key,
                       const struct action_def *def, json_t *params, json_t **targets_out,
                       struct guard_decision *d)
{
    json_t *targets = guard_targets(params);
    struct guard_request req = {.run_id = r->id,
                                .playbook = r->pbv->pb->name,
                                .step_key = step_key,
                                .action = def->name,
                                .effect = def->effect,
                                .params = params,
                                .targets = targets,
                                .now_ms = time_now_ms()};
    /* the kill switch stops what changes the world; reads and the
     * notifications the policy allows go on */
    struct guard_counts c = {.actions_since = count_since,
                             .run_targets = run_targets,
                             .stopped = e->stopped && def->effect > ACTION_EFFECT_NOTIFY,
                             .ctx = e};
    struct rp_error err;
    rp_status st = guard_decide(e->policy, &c, &req, d, &err);
    if (st != RP_OK) {
        /* when in doubt, do not act: hold for an administrator */
        memset(d, 0, sizeof *d);
        d->verdict = GUARD_HOLD;
        snprintf(d->rule, sizeof d->rule, "guard error");
        snprintf(d->reason, sizeof d->reason, "the guard could not decide: %.400s", err.msg);
        snprintf(d->approver, sizeof d->approver, "admin");
        d->deadline_ms = req.now_ms + 3600 * 1000;
    }
    json_t *detail =
        json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:O,s:s}", "run", r->id, "playbook", r->pbv->pb->name,
                  "step", step_key, "action", def->name, "effect", action_effect_name(def->effect),
                  "verdict", guard_verdict_name(d->verdict), "targets", targets, "rule", d->rule);
    json_object_set_new(detail, "reason", json_string(d->reason));
    rails_audit(e, "guard", "decision", detail);
    metrics_inc("riposte_guard_decisions_total", guard_verdict_name(d->verdict), NULL);
    if (d->verdict == GUARD_ALLOW) {
        json_array_append_new(e->guard_pending,
                              json_pack("{s:I,s:s,s:i,s:s,s:s,s:O}", "ts", (json_int_t)req.now_ms,
                                        "action", def->name, "effect", (int)def->effect, "playbook",
                                        r->pbv->pb->name, "run", r->id, "targets", targets));
        struct pending_write *w = pw_new(PW_GUARD_ACTION);
        if (w != NULL) {
            snprintf(w->run_id, sizeof w->run_id, "%s", r->id);
            w->actor_playbook = strdup(r->pbv->pb->name);
            w->value = strdup(def->name);
            w->severity = (int)def->effect;
            w->data = json_incref(targets);
            engine_queue_write(e, w);
        }
    }
    *targets_out = targets;
    return RP_OK;
}

/* After an allowed contain succeeded with a duration: its release is due. */
void rails_contained(struct engine *e, struct run *r, const struct action_def *def, json_t *params,
                     int64_t contain_ms)
{
    if (contain_ms <= 0 || def->release == NULL)
        return;
    struct pending_write *w = pw_new(PW_CONTAINMENT);
    if (w == NULL || ulid_new(w->case_id) != RP_OK) { /* case_id holds the containment id */
        free(w);
        log_error("containment.lost", "run=%s action=%s reason=\"out of memory\"", r->id,
                  def->name);
        return;
    }
    snprintf(w->run_id, sizeof w->run_id, "%s", r->id);
    w->value = strdup(def->name);
    w->error = strdup(def->release);
    w->data = json_incref(params);
    w->seq = w->ts_ms + contain_ms;
    engine_queue_write(e, w);
    rails_audit(e, "guard", "containment",
                json_pack("{s:s,s:s,s:s,s:s,s:I}", "id", w->case_id, "run", r->id, "action",
                          def->name, "release", def->release, "until", (json_int_t)w->seq));
}

/* --- writes inside the commit ------------------------------------------------ */

static rp_status audit_write(struct engine *e, struct pending_write *w)
{
    if (!e->audit_loaded) {
        rp_status st = store_audit_last(e->store, &e->audit_seq, e->audit_hash);
        if (st != RP_OK)
            return st;
        e->audit_loaded = true;
    }
    char *detail = json_dumps(w->data, JSON_COMPACT | JSON_SORT_KEYS);
    if (detail == NULL)
        return RP_E_NOMEM;
    char hash[65];
    int64_t seq = e->audit_seq + 1;
    audit_hash(e->audit_hash, seq, w->ts_ms, w->actor_playbook, w->type, detail, hash);
    rp_status st = store_audit_put(e->store, seq, w->ts_ms, w->actor_playbook, w->type, detail,
                                   e->audit_hash, hash);
    free(detail);
    if (st == RP_OK) {
        e->audit_seq = seq;
        memcpy(e->audit_hash, hash, sizeof hash);
    }
    return st;
}

rp_status rails_write(struct engine *e, struct pending_write *w)
{
    switch (w->kind) {
    case PW_GUARD_ACTION:
        return store_guard_action_add(e->store, w->ts_ms, w->run_id, w->actor_playbook, w->value,
                                      w->severity, w->data);
    case PW_AUDIT:
        return audit_write(e, w);
    case PW_CONTAINMENT:
        return store_containment_add(e->store, w->case_id, w->run_id, w->value, w->error, w->data,
                                     w->seq, w->ts_ms);
    case PW_CONTAINMENT_SET:
        return store_containment_set(e->store, w->key, w->value, w->seq, w->ts_ms);
    default:
        return RP_OK;
    }
}

void rails_committed(struct engine *e, bool ok)
{
    if (ok)
        json_array_clear(e->guard_pending);
    else
        e->audit_loaded = false; /* the chain's tail is read again: the failed writes are gone */
}

/* --- the kill switch and expired containments -------------------------------- */

void rails_refresh(struct engine *e)
{
    bool stopped = false;
    int64_t since = 0;
    char by[128];
    if (store_guard_state_get(e->store, &stopped, &since, by, sizeof by) != RP_OK)
        return; /* keep the last known state */
    if (stopped != e->stopped)
        log_warn("guard.kill_switch", "state=%s by=%s", stopped ? "stopped" : "resumed", by);
    e->stopped = stopped;
}

struct release {
    struct action_call call;
    struct engine *e;
    char id[ULID_LEN + 1];
    char key[ULID_LEN + 16];
    json_t *params;
};

static void release_done(struct action_call *call, struct action_result *res)
{
    struct release *rel = call->engine;
    struct engine *e = rel->e;
    e->releases_in_flight--;
    bool ok = res->st == RP_OK;
    json_decref(res->output);
    struct pending_write *w = pw_new(PW_CONTAINMENT_SET);
    if (w != NULL) {
        w->key = strdup(rel->id);
        w->value = strdup(ok ? "released" : "failed");
        engine_queue_write(e, w);
    }
    rails_audit(e, "guard", "release",
                json_pack("{s:s,s:s,s:b,s:s}", "id", rel->id, "action", call->def->name, "ok", ok,
                          "error", ok ? "" : res->error));
    log_info("containment.release", "id=%s action=%s ok=%d", rel->id, call->def->name, ok);
    json_decref(rel->params);
    free(rel);
}

void rails_release_due(struct engine *e)
{
    if (e->releases_in_flight > 0)
        return; /* one round at a time: a release in flight is not due again */
    json_t *due = NULL;
    if (store_containment_due(e->store, time_now_ms(), &due) != RP_OK)
        return;
    size_t i;
    json_t *row;
    json_array_foreach(due, i, row)
    {
        const char *id = json_string_value(json_object_get(row, "id"));
        const char *release = json_string_value(json_object_get(row, "release_action"));
        const struct action_def *def = action_find(release);
        if (id == NULL)
            continue;
        if (def == NULL) {
            struct pending_write *w = pw_new(PW_CONTAINMENT_SET);
            if (w != NULL) {
                w->key = strdup(id);
                w->value = strdup("failed");
                engine_queue_write(e, w);
            }
            rails_audit(e, "guard", "release",
                        json_pack("{s:s,s:s?,s:b,s:s}", "id", id, "action", release, "ok", 0,
                                  "error", "no such action"));
            continue;
        }
        struct release *rel = calloc(1, sizeof *rel);
        if (rel == NULL)
            break;
        rel->e = e;
        snprintf(rel->id, sizeof rel->id, "%s", id);
        snprintf(rel->key, sizeof rel->key, "release/%s", id);
        rel->params = json_incref(json_object_get(row, "params"));
        rel->call = (struct action_call){.def = def,
                                         .params = rel->params,
                                         .key = rel->key,
                                         .attempt = 1,
                                         .loop = e->loop,
                                         .store = e->store,
                                         .done = release_done,
                                         .engine = rel};
        e->releases_in_flight++;
        if (def->start(&rel->call) != RP_OK) {
            struct action_result res = {.st = RP_E_IO};
            snprintf(res.error, sizeof res.error, "%s could not start", def->name);
            release_done(&rel->call, &res);
        }
    }
    json_decref(due);
}

/*
 * runner.c: the playbook engine inside the daemon (runner.h).
 *
 * Loop thread: everything that touches the engine. Other threads only push
 * onto `inbox` (manual starts, under a mutex) or set flags and send the
 * async handle. The playbook list for GET /api/v1/playbooks is a JSON
 * snapshot replaced under the same mutex at each (re)load.
 *
 * Failure: a playbook directory that does not load at start stops the daemon
 * (the operator must see it); at a reload, the running set is kept and the
 * error is logged and returned to the API caller through the log only.
 */
#include "api/runner.h"

#include "core/limits.h"
#include "core/log.h"
#include "core/time.h"
#include "detect/detect.h"
#include "engine/engine.h"
#include "engine/prompt.h"
#include "guard/guard.h"
#include "playbook/cron.h"
#include "playbook/playbook.h"
#include "store/store.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <uv.h>

/* Manual starts waiting for the loop. The API answers 503 beyond this. */
#define RUNNER_INBOX_MAX 1024

/* How often schedules are looked at; cron's resolution is a minute. */
#define RUNNER_SCHEDULE_TICK_MS 1000

struct submission {
    char *name;
    json_t *alert, *inputs;
    struct submission *next;
};

struct runner {
    uv_loop_t *loop;
    struct store *store;
    struct engine *engine;
    char *dir;
    char *policy_path;
    char *prompt_mail;
    struct detect *detect; /* fed every stored alert; NULL without rules */
    struct policy *policy;
    unsigned char key[PROMPT_KEY_BYTES];
    char *public_url;
    uv_async_t async;
    uv_timer_t schedule;
    int64_t schedule_from_ms;
    atomic_bool want_reload, want_prompts;
    pthread_mutex_t mu;
    struct submission *inbox, **inbox_tail;
    size_t ninbox;
    json_t *playbooks; /* snapshot, under mu */
    bool handles;
    int handles_open; /* while closing */
};

static bool is_dir(const char *p)
{
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* Loads the policy file (at start and at each reload); on error the policy in
 * force stays. */
static rp_status load_policy(struct runner *r, struct rp_error *err)
{
    if (r->policy_path == NULL)
        return RP_OK;
    struct policy *p = NULL;
    rp_status st = policy_load_file(r->policy_path, &p, err);
    if (st != RP_OK)
        return st;
    if (r->engine != NULL)
        engine_set_policy(r->engine, p);
    policy_free(r->policy);
    r->policy = p;
    log_info("policy.loaded", "file=%s", r->policy_path);
    return RP_OK;
}

static rp_status load_dir(struct runner *r, struct rp_error *err)
{
    if (r->dir == NULL)
        return RP_OK;
    struct playbook_set set = {0};
    rp_status st = playbook_set_load_dir(r->dir, &set, err);
    if (st != RP_OK)
        return st;
    json_t *list = json_array();
    const char **names = calloc(set.n + 1, sizeof *names);
    for (size_t i = 0; i < set.n && st == RP_OK; i++) {
        struct playbook *pb = set.items[i];
        set.items[i] = NULL;
        char name[RP_NAME_MAX_BYTES + 1];
        snprintf(name, sizeof name, "%s", pb->name);
        st = engine_playbook_add(r->engine, pb, err);
        if (st == RP_OK) {
            json_array_append_new(list, json_pack("{s:s,s:i}", "name", name, "version",
                                                  engine_playbook_version_of(r->engine, name)));
        }
    }
    if (st == RP_OK && names != NULL) {
        size_t i;
        json_t *p;
        json_array_foreach(list, i, p) names[i] = json_string_value(json_object_get(p, "name"));
        engine_playbook_retire_except(r->engine, names, json_array_size(list));
    }
    free(names);
    playbook_set_fini(&set);
    if (st == RP_OK) {
        pthread_mutex_lock(&r->mu);
        json_decref(r->playbooks);
        r->playbooks = list;
        pthread_mutex_unlock(&r->mu);
        log_info("playbooks.loaded", "dir=%s count=%zu", r->dir, json_array_size(list));
    } else {
        json_decref(list);
    }
    return st;
}

static void take_inbox(struct runner *r)
{
    pthread_mutex_lock(&r->mu);
    struct submission *s = r->inbox;
    r->inbox = NULL;
    r->inbox_tail = &r->inbox;
    r->ninbox = 0;
    pthread_mutex_unlock(&r->mu);
    while (s != NULL) {
        struct submission *n = s->next;
        struct rp_error err;
        char id[ULID_LEN + 1];
        if (engine_start(r->engine, s->name, s->alert, NULL, s->inputs, "manual", NULL, id, &err) !=
            RP_OK)
            log_warn("run.refused", "playbook=%s error=\"%s\"", s->name, err.msg);
        free(s->name);
        json_decref(s->alert);
        json_decref(s->inputs);
        free(s);
        s = n;
    }
}

static void on_async(uv_async_t *h)
{
    struct runner *r = h->data;
    if (atomic_exchange(&r->want_reload, false)) {
        struct rp_error err;
        if (load_policy(r, &err) != RP_OK)
            log_error("policy.reload", "error=\"%s\" action=\"kept the policy in force\"", err.msg);
        if (load_dir(r, &err) != RP_OK)
            log_error("playbooks.reload", "error=\"%s\" action=\"kept the running set\"", err.msg);
    }
    if (atomic_exchange(&r->want_prompts, false))
        engine_poll_prompts(r->engine);
    take_inbox(r);
}

static void on_schedule(uv_timer_t *t)
{
    struct runner *r = t->data;
    int64_t now = time_now_ms();
    engine_fire_schedules(r->engine, r->schedule_from_ms, now);
    r->schedule_from_ms = now;
}

rp_status runner_new(uv_loop_t *loop, struct store *st, const struct runner_opts *o,
                     struct runner **out, struct rp_error *err)
{
    struct runner *r = calloc(1, sizeof *r);
    if (r == NULL)
        return rp_error_set(err, RP_E_NOMEM, "out of memory");
    r->loop = loop;
    r->store = st;
    r->inbox_tail = &r->inbox;
    pthread_mutex_init(&r->mu, NULL);
    r->playbooks = json_array();
    rp_status s = RP_OK;
    if (o->playbooks_dir != NULL)
        r->dir = strdup(o->playbooks_dir);
    else if (is_dir("playbooks"))
        r->dir = strdup("playbooks");
    char keypath[1024];
    if (o->prompt_key_path != NULL)
        snprintf(keypath, sizeof keypath, "%s", o->prompt_key_path);
    else
        snprintf(keypath, sizeof keypath, "%s.prompt-key", o->db_path);
    if ((s = prompt_key_load(keypath, r->key, err)) != RP_OK)
        goto fail;
    if (o->public_url != NULL) {
        r->public_url = strdup(o->public_url);
        size_t n = r->public_url != NULL ? strlen(r->public_url) : 0;
        while (n > 0 && r->public_url[n - 1] == '/') /* links add "/respond/" */
            r->public_url[--n] = '\0';
    }
    if (o->policy_path != NULL)
        r->policy_path = strdup(o->policy_path);
    if (o->prompt_mail != NULL)
        r->prompt_mail = strdup(o->prompt_mail);
    if ((s = load_policy(r, err)) != RP_OK)
        goto fail;
    struct engine_opts eo = {.mode = ENGINE_LIVE,
                             .prompt_key = r->key,
                             .public_url = r->public_url,
                             .policy = r->policy,
                             .prompt_mail_action = r->prompt_mail};
    if ((s = engine_new(loop, st, &eo, &r->engine, err)) != RP_OK)
        goto fail;
    if ((s = detect_new(o->detect, o->ndetect, o->detect_submit, o->detect_ctx, &r->detect)) !=
        RP_OK) {
        rp_error_set(err, s, "detect: cannot start the failed-login detector");
        goto fail;
    }
    uv_async_init(loop, &r->async, on_async);
    r->async.data = r;
    uv_timer_init(loop, &r->schedule);
    r->schedule.data = r;
    r->handles = true;
    r->schedule_from_ms = time_now_ms();
    uv_timer_start(&r->schedule, on_schedule, RUNNER_SCHEDULE_TICK_MS, RUNNER_SCHEDULE_TICK_MS);
    if (r->dir != NULL && (s = load_dir(r, err)) != RP_OK) {
        rp_error_prefix(err, "playbooks");
        goto fail;
    }
    int resumed = 0;
    if ((s = engine_recover(r->engine, &resumed, err)) != RP_OK)
        goto fail;
    if (resumed > 0)
        log_info("runs.resumed", "count=%d", resumed);
    *out = r;
    return RP_OK;
fail:
    runner_free(r);
    return s;
}

static void runner_release(struct runner *r)
{
    while (r->inbox != NULL) {
        struct submission *n = r->inbox->next;
        free(r->inbox->name);
        json_decref(r->inbox->alert);
        json_decref(r->inbox->inputs);
        free(r->inbox);
        r->inbox = n;
    }
    json_decref(r->playbooks);
    pthread_mutex_destroy(&r->mu);
    free(r->dir);
    free(r->public_url);
    free(r->policy_path);
    free(r->prompt_mail);
    detect_free(r->detect);
    policy_free(r->policy);
    free(r);
}

/* The runner goes when both of its handles have closed. */
static void closed(uv_handle_t *h)
{
    struct runner *r = h->data;
    if (--r->handles_open == 0)
        runner_release(r);
}

void runner_free(struct runner *r)
{
    if (r == NULL)
        return;
    engine_free(r->engine);
    r->engine = NULL;
    if (!r->handles) {
        runner_release(r);
        return;
    }
    r->handles_open = 2;
    uv_close((uv_handle_t *)&r->async, closed);
    uv_close((uv_handle_t *)&r->schedule, closed);
}

static void trigger_one(void *arg, json_t *alert, const char *case_id)
{
    struct runner *r = arg;
    int started = 0;
    struct rp_error err;
    if (engine_trigger_alert(r->engine, alert, case_id, &started, &err) != RP_OK)
        log_warn("trigger.failed", "alert=%s error=\"%s\"",
                 json_string_value(json_object_get(alert, "id")), err.msg);
    detect_observe(r->detect, alert); /* may ingest (and trigger) an alert of its own */
}

void runner_alerts_committed(struct runner *r, struct ingest_batch **batches, size_t n)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < n; i++)
        ingest_batch_each_stored(batches[i], trigger_one, r);
}

void runner_wake_prompts(struct runner *r)
{
    atomic_store(&r->want_prompts, true);
    uv_async_send(&r->async);
}

void runner_request_reload(struct runner *r)
{
    atomic_store(&r->want_reload, true);
    uv_async_send(&r->async);
}

const unsigned char *runner_prompt_key(const struct runner *r)
{
    return r->key;
}

rp_status runner_submit(struct runner *r, const char *name, json_t *alert, json_t *inputs,
                        struct rp_error *err)
{
    struct submission *s = calloc(1, sizeof *s);
    if (s == NULL || (s->name = strdup(name)) == NULL) {
        free(s);
        json_decref(alert);
        json_decref(inputs);
        return rp_error_set(err, RP_E_NOMEM, "out of memory");
    }
    s->alert = alert;
    s->inputs = inputs;
    pthread_mutex_lock(&r->mu);
    bool full = r->ninbox >= RUNNER_INBOX_MAX;
    if (!full) {
        *r->inbox_tail = s;
        r->inbox_tail = &s->next;
        r->ninbox++;
    }
    pthread_mutex_unlock(&r->mu);
    if (full) {
        free(s->name);
        json_decref(s->alert);
        json_decref(s->inputs);
        free(s);
        return rp_error_set(err, RP_E_BUSY, "too many runs waiting to start: retry later");
    }
    uv_async_send(&r->async);
    return RP_OK;
}

json_t *runner_playbooks_json(struct runner *r)
{
    pthread_mutex_lock(&r->mu);
    json_t *copy = json_deep_copy(r->playbooks);
    pthread_mutex_unlock(&r->mu);
    return copy;
}

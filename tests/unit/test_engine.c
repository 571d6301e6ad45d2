/*
 * test_engine.c: the durable run engine (engine/engine.h), its answer links
 * (engine/prompt.h) and the action registry (engine/action.h), on an
 * in-memory store and a private libuv loop.
 */
#include "core/time.h"
#include "engine/action.h"
#include "engine/engine.h"
#include "engine/prompt.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

struct fx {
    uv_loop_t loop;
    struct store *st;
    struct engine *e;
    int done, failed;
    char last_status[16];
};

static void on_done(void *ctx, const char *run_id, const char *status)
{
    (void)run_id;
    struct fx *f = ctx;
    f->done++;
    if (strcmp(status, "succeeded") != 0)
        f->failed++;
    snprintf(f->last_status, sizeof f->last_status, "%s", status);
}

static void fx_engine(struct fx *f)
{
    struct rp_error err;
    struct engine_opts o = {.mode = ENGINE_LIVE, .on_run_done = on_done, .ctx = f};
    assert_int_equal(engine_new(&f->loop, f->st, &o, &f->e, &err), RP_OK);
}

static void fx_open(struct fx *f, const char *path)
{
    memset(f, 0, sizeof *f);
    struct rp_error err;
    assert_int_equal(store_open(path, &f->st, &err), RP_OK);
    assert_int_equal(uv_loop_init(&f->loop), 0);
    fx_engine(f);
}

static void fx_stop_engine(struct fx *f)
{
    engine_free(f->e);
    f->e = NULL;
    uv_run(&f->loop, UV_RUN_DEFAULT);
}

static void fx_close(struct fx *f)
{
    fx_stop_engine(f);
    assert_int_equal(uv_loop_close(&f->loop), 0);
    store_close(f->st);
}

static void add(struct fx *f, const char *yaml)
{
    struct playbook *pb = NULL;
    struct rp_error err;
    if (playbook_load_string("t.yml", yaml, strlen(yaml), &pb, &err) != RP_OK)
        fail_msg("%s", err.msg);
    assert_int_equal(engine_playbook_add(f->e, pb, &err), RP_OK);
}

static void run_until(struct fx *f, int done)
{
    for (int i = 0; i < 100000 && f->done < done; i++)
        uv_run(&f->loop, UV_RUN_ONCE);
    assert_int_equal(f->done, done);
}

/* step key -> step_done data of a stored run */
static json_t *outputs(struct fx *f, const char *run_id)
{
    json_t *run = NULL;
    assert_int_equal(store_run_show_json(f->st, run_id, &run), RP_OK);
    json_t *out = json_object();
    size_t i;
    json_t *ev;
    json_array_foreach(json_object_get(run, "events"), i, ev)
    {
        if (strcmp(json_string_value(json_object_get(ev, "type")), "step_done") == 0)
            json_object_set(out, json_string_value(json_object_get(ev, "key")),
                            json_object_get(ev, "data"));
    }
    json_decref(run);
    return out;
}

static void t_runs_to_completion(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, ":memory:");
    add(&f,
        "playbook: p\nsteps:\n"
        "  - id: a\n    action: echo\n    with: { x: \"{{ 6 * 7 }}\" }\n"
        "  - id: b\n    set: { y: \"{{ steps.a.x + 1 }}\" }\n"
        "  - id: c\n    when: vars.y == 43\n    action: echo\n    with: { y: \"{{ vars.y }}\" }\n");
    char id[ULID_LEN + 1];
    struct rp_error err;
    assert_int_equal(engine_start(f.e, "p", NULL, NULL, NULL, "manual", NULL, id, &err), RP_OK);
    run_until(&f, 1);
    assert_string_equal(f.last_status, "succeeded");
    json_t *out = outputs(&f, id);
    assert_int_equal(
        json_integer_value(json_object_get(json_object_get(json_object_get(out, "c"), "out"), "y")),
        43);
    json_decref(out);
    assert_int_equal(engine_active(f.e), 0);
    fx_close(&f);
}

static void t_unknown_playbook_and_dedup(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, ":memory:");
    add(&f, "playbook: p\nsteps:\n  - id: a\n    action: noop\n");
    struct rp_error err;
    assert_int_equal(engine_start(f.e, "nope", NULL, NULL, NULL, "manual", NULL, NULL, &err),
                     RP_E_NOTFOUND);
    assert_int_equal(engine_start(f.e, "p", NULL, NULL, NULL, "alert", "k1", NULL, &err), RP_OK);
    /* the same key before the first row is committed, then after */
    assert_int_equal(engine_start(f.e, "p", NULL, NULL, NULL, "alert", "k1", NULL, &err),
                     RP_E_EXISTS);
    run_until(&f, 1);
    assert_int_equal(engine_start(f.e, "p", NULL, NULL, NULL, "alert", "k1", NULL, &err),
                     RP_E_EXISTS);
    fx_close(&f);
}

static void t_trigger_kind_and_when(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, ":memory:");
    add(&f, "playbook: p\ntrigger: { kind: auth, when: \"alert.severity >= 50\" }\n"
            "steps:\n  - id: a\n    action: noop\n");
    struct rp_error err;
    int n = -1;
    json_t *low = json_pack("{s:s,s:s,s:i}", "id", "A1", "kind", "auth", "severity", 10);
    json_t *other = json_pack("{s:s,s:s,s:i}", "id", "A2", "kind", "endpoint", "severity", 90);
    json_t *hit = json_pack("{s:s,s:s,s:i}", "id", "A3", "kind", "auth", "severity", 90);
    assert_int_equal(engine_trigger_alert(f.e, low, NULL, &n, &err), RP_OK);
    assert_int_equal(n, 0);
    assert_int_equal(engine_trigger_alert(f.e, other, NULL, &n, &err), RP_OK);
    assert_int_equal(n, 0);
    assert_int_equal(engine_trigger_alert(f.e, hit, NULL, &n, &err), RP_OK);
    assert_int_equal(n, 1);
    assert_int_equal(engine_trigger_alert(f.e, hit, NULL, &n, &err), RP_OK);
    assert_int_equal(n, 0); /* the same alert never starts the same version twice */
    run_until(&f, 1);
    json_decref(low);
    json_decref(other);
    json_decref(hit);
    fx_close(&f);
}

static void t_versions(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, ":memory:");
    add(&f, "playbook: p\nsteps:\n  - id: a\n    action: noop\n");
    assert_int_equal(engine_playbook_version_of(f.e, "p"), 1);
    add(&f, "playbook: p\nsteps:\n  - id: a\n    action: noop\n");
    assert_int_equal(engine_playbook_version_of(f.e, "p"), 1); /* same text, same version */
    add(&f, "playbook: p\nsteps:\n  - id: a\n    action: echo\n");
    assert_int_equal(engine_playbook_version_of(f.e, "p"), 2);
    fx_close(&f);
}

static void t_max_concurrent(void **state)
{
    (void)state;
    struct fx f;
    fx_open(&f, ":memory:");
    add(&f, "playbook: p\nmax_concurrent: 1\nsteps:\n"
            "  - id: a\n    action: sleep\n    with: { ms: 20 }\n");
    struct rp_error err;
    char ids[3][ULID_LEN + 1];
    for (int i = 0; i < 3; i++)
        assert_int_equal(engine_start(f.e, "p", NULL, NULL, NULL, "manual", NULL, ids[i], &err),
                         RP_OK);
    run_until(&f, 3);
    /* one at a time: each run's sleep started after the previous one ended */
    int64_t prev_end = 0;
    for (int i = 0; i < 3; i++) {
        json_t *run = NULL;
        assert_int_equal(store_run_show_json(f.st, ids[i], &run), RP_OK);
        int64_t start = 0, end = 0;
        size_t k;
        json_t *ev;
        json_array_foreach(json_object_get(run, "events"), k, ev)
        {
            const char *type = json_string_value(json_object_get(ev, "type"));
            const char *ts = json_string_value(json_object_get(ev, "ts"));
            int64_t ms = 0;
            struct rp_error e2;
            assert_int_equal(time_parse_rfc3339(ts, strlen(ts), &ms, &e2), RP_OK);
            if (strcmp(type, "action_requested") == 0)
                start = ms;
            if (strcmp(type, "action_done") == 0)
                end = ms;
        }
        assert_true(start >= prev_end);
        prev_end = end;
        json_decref(run);
    }
    fx_close(&f);
}

/* A run whose action was requested and committed, then the process died:
 * recovery re-sends it with the same key when the action honours keys, and
 * fails it as "outcome unknown" when it does not. */
static void crash_after_request(const char *action, const char *want_status)
{
    char path[] = "/tmp/riposte-test-engine-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    unlink(path);
    struct fx f;
    fx_open(&f, path);
    char yaml[256];
    snprintf(yaml, sizeof yaml, "playbook: p\nsteps:\n  - id: a\n    action: %s\n", action);
    add(&f, yaml);
    struct rp_error err;
    char id[ULID_LEN + 1];
    assert_int_equal(engine_start(f.e, "p", NULL, NULL, NULL, "manual", NULL, id, &err), RP_OK);
    /* commit what the first turn wrote, then pretend to die: drop the engine
     * before the call's result is recorded */
    json_t *ev = NULL;
    for (int i = 0; i < 1000; i++) {
        uv_run(&f.loop, UV_RUN_NOWAIT);
        json_decref(ev);
        ev = NULL;
        assert_int_equal(store_run_events(f.st, id, &ev), RP_OK);
        if (json_array_size(ev) >= 2)
            break;
    }
    json_decref(ev);
    /* the call went out after that commit and its result is only queued:
     * freeing the engine now loses it, as a crash would */
    fx_stop_engine(&f);
    f.done = 0;
    fx_engine(&f);
    int resumed = 0;
    assert_int_equal(engine_recover(f.e, &resumed, &err), RP_OK);
    assert_int_equal(resumed, 1);
    run_until(&f, 1);
    assert_string_equal(f.last_status, want_status);
    fx_close(&f);
    unlink(path);
    char wal[64];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", path);
    unlink(wal);
}

static void t_crash_resends_with_key(void **state)
{
    (void)state;
    crash_after_request("echo", "succeeded");
}

static void t_crash_without_keys_is_outcome_unknown(void **state)
{
    (void)state;
    crash_after_request("log", "failed");
}

static void t_prompt_tokens(void **state)
{
    (void)state;
    unsigned char key[PROMPT_KEY_BYTES], other[PROMPT_KEY_BYTES];
    memset(key, 7, sizeof key);
    memset(other, 8, sizeof other);
    char id[ULID_LEN + 1];
    assert_int_equal(ulid_new(id), RP_OK);
    char tok[PROMPT_TOKEN_MAX], got[ULID_LEN + 1];
    struct rp_error err;
    prompt_token_make(key, id, 5000, tok);
    assert_int_equal(prompt_token_verify(key, tok, 4000, got, &err), RP_OK);
    assert_string_equal(got, id);
    assert_int_equal(prompt_token_verify(key, tok, 5001, got, &err), RP_E_LIMIT);
    assert_int_equal(prompt_token_verify(other, tok, 4000, got, &err), RP_E_DENIED);
    char forged[PROMPT_TOKEN_MAX];
    memcpy(forged, tok, sizeof forged);
    size_t n = strlen(forged);
    forged[n - 1] = forged[n - 1] == '0' ? '1' : '0';
    assert_int_equal(prompt_token_verify(key, forged, 4000, got, &err), RP_E_DENIED);
    /* a later deadline with the old MAC */
    char moved[PROMPT_TOKEN_MAX];
    snprintf(moved, sizeof moved, "%s.9999%s", id, strrchr(tok, '.'));
    assert_int_equal(prompt_token_verify(key, moved, 4000, got, &err), RP_E_DENIED);
    static const char *const BAD[] = {"", "x", "..", "not-a-token.1.2", NULL};
    for (const char *const *b = BAD; *b != NULL; b++)
        assert_int_equal(prompt_token_verify(key, *b, 0, got, &err), RP_E_DENIED);
}

static void t_registry(void **state)
{
    (void)state;
    action_registry_init();
    action_registry_init(); /* idempotent */
    const struct action_def *d = action_find("log");
    assert_non_null(d);
    assert_int_equal(d->effect, ACTION_EFFECT_NOTIFY);
    assert_null(action_find("edr.contian"));
    assert_int_equal(action_register(d), RP_E_EXISTS);
    enum action_effect e;
    assert_int_equal(action_effect_parse("destroy", &e), RP_OK);
    assert_int_equal(e, ACTION_EFFECT_DESTROY);
    assert_int_equal(action_effect_parse("nuke", &e), RP_E_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_runs_to_completion),
        cmocka_unit_test(t_unknown_playbook_and_dedup),
        cmocka_unit_test(t_trigger_kind_and_when),
        cmocka_unit_test(t_versions),
        cmocka_unit_test(t_max_concurrent),
        cmocka_unit_test(t_crash_resends_with_key),
        cmocka_unit_test(t_crash_without_keys_is_outcome_unknown),
        cmocka_unit_test(t_prompt_tokens),
        cmocka_unit_test(t_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * action.c: the action registry and the built-in actions.
 *
 * The registry is a fixed array filled at start-up on the main thread and read
 * by the engine's loop afterwards (no locks: nothing registers once the loop
 * runs). Built-ins are the actions every installation has, with no connector:
 *
 *   noop   read    does nothing; output {}
 *   echo   read    output = its parameters (for trying templates)
 *   fail   read    fails with parameter `message` (for trying on_error)
 *   sleep  read    completes after parameter `ms` (on the loop: a timer)
 *   log    notify  writes parameter `message` to the daemon's log
 *   blocklist.add  modify  adds indicators to a named blocklist that other
 *                  tools read as plain text (GET /blocklists/NAME.txt):
 *                  {list, type, value | values, ttl}
 *
 * With RIPOSTE_TEST_ACTIONS=1 in the environment, test actions exist for tests
 * and rehearsals: test.record (modify), test.notify, test.contain (released by
 * test.release), test.destroy. Each appends {action, key, params} as a JSON
 * line to the file named by RIPOSTE_TEST_RECORD and, like a real API that
 * deduplicates, answers a repeated key with the first answer instead of acting
 * twice.
 */
#include "engine/action.h"

#include "core/log.h"
#include "core/time.h"
#include "model/observable.h"
#include "store/store.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

/* Actions in one process: built-ins plus every pack's (a large pack offers a
 * few dozen; ten packs stay far below). */
#define ACTION_REGISTRY_MAX 1024

static const struct action_def *registry[ACTION_REGISTRY_MAX];
static size_t nregistry;

static const char *const EFFECT_NAMES[] = {"read", "notify", "contain", "modify", "destroy"};

const char *action_effect_name(enum action_effect e)
{
    if ((size_t)e < sizeof EFFECT_NAMES / sizeof EFFECT_NAMES[0])
        return EFFECT_NAMES[e];
    return "?";
}

rp_status action_effect_parse(const char *name, enum action_effect *out)
{
    for (size_t i = 0; i < sizeof EFFECT_NAMES / sizeof EFFECT_NAMES[0]; i++) {
        if (name != NULL && strcmp(name, EFFECT_NAMES[i]) == 0) {
            *out = (enum action_effect)i;
            return RP_OK;
        }
    }
    return RP_E_INVALID;
}

rp_status action_register(const struct action_def *def)
{
    if (action_find(def->name) != NULL)
        return RP_E_EXISTS;
    if (nregistry == ACTION_REGISTRY_MAX)
        return RP_E_LIMIT;
    registry[nregistry++] = def;
    return RP_OK;
}

const struct action_def *action_find(const char *name)
{
    if (name == NULL)
        return NULL;
    for (size_t i = 0; i < nregistry; i++) {
        if (strcmp(registry[i]->name, name) == 0)
            return registry[i];
    }
    return NULL;
}

void action_each(void (*f)(const struct action_def *def, void *ctx), void *ctx)
{
    for (size_t i = 0; i < nregistry; i++)
        f(registry[i], ctx);
}

void action_succeed(struct action_call *call, json_t *output)
{
    struct action_result res = {.st = RP_OK, .output = output};
    res.error[0] = '\0';
    call->done(call, &res);
}

void action_fail(struct action_call *call, rp_status st, const char *fmt, ...)
{
    struct action_result res = {.st = st == RP_OK ? RP_E_INVALID : st, .output = NULL};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(res.error, sizeof res.error, fmt, ap);
    va_end(ap);
    call->done(call, &res);
}

/* --- built-ins ------------------------------------------------------------- */

static rp_status noop_start(struct action_call *call)
{
    action_succeed(call, json_object());
    return RP_OK;
}

static rp_status echo_start(struct action_call *call)
{
    action_succeed(call, json_deep_copy(call->params));
    return RP_OK;
}

static rp_status fail_start(struct action_call *call)
{
    const char *msg = json_string_value(json_object_get(call->params, "message"));
    action_fail(call, RP_E_INVALID, "%s", msg != NULL ? msg : "failed as asked");
    return RP_OK;
}

static rp_status log_start(struct action_call *call)
{
    const char *msg = json_string_value(json_object_get(call->params, "message"));
    char q[1024];
    log_info("action.log", "key=%s message=%s", call->key,
             log_quote(q, sizeof q, msg != NULL ? msg : ""));
    action_succeed(call, json_object());
    return RP_OK;
}

/* sleep: a libuv timer on the engine's loop; impl holds the timer, freed in
 * its close callback. */
struct sleep_state {
    uv_timer_t timer;
    struct action_call *call;
};

static void sleep_closed(uv_handle_t *h)
{
    free(h->data);
}

static void sleep_fired(uv_timer_t *t)
{
    struct sleep_state *st = t->data;
    struct action_call *call = st->call;
    call->impl = NULL;
    uv_close((uv_handle_t *)&st->timer, sleep_closed);
    action_succeed(call, json_object());
}

/* A sleep above a day is a mistake in a playbook, not a wait: waits are `wait`
 * steps, which are durable; a sleep is not. */
#define SLEEP_MAX_MS (24LL * 3600 * 1000)

static rp_status sleep_start(struct action_call *call)
{
    json_t *ms = json_object_get(call->params, "ms");
    if (!json_is_integer(ms) || json_integer_value(ms) < 0 ||
        json_integer_value(ms) > SLEEP_MAX_MS) {
        action_fail(call, RP_E_INVALID, "sleep: parameter ms must be an integer 0..%lld",
                    SLEEP_MAX_MS);
        return RP_OK;
    }
    if (call->loop == NULL) {
        action_fail(call, RP_E_INVALID, "sleep: no event loop");
        return RP_OK;
    }
    struct sleep_state *st = calloc(1, sizeof *st);
    if (st == NULL)
        return RP_E_NOMEM;
    st->call = call;
    uv_timer_init(call->loop, &st->timer);
    st->timer.data = st;
    call->impl = st;
    uv_timer_start(&st->timer, sleep_fired, (uint64_t)json_integer_value(ms), 0);
    return RP_OK;
}

static void sleep_cancel(struct action_call *call)
{
    struct sleep_state *st = call->impl;
    if (st == NULL)
        return;
    call->impl = NULL;
    uv_timer_stop(&st->timer);
    uv_close((uv_handle_t *)&st->timer, sleep_closed);
}

/* test.record: see the file comment. The file is read whole to find the key;
 * it is a test's file of at most thousands of lines. */
static rp_status record_start(struct action_call *call)
{
    const char *path = getenv("RIPOSTE_TEST_RECORD");
    if (path == NULL || path[0] == '\0') {
        action_fail(call, RP_E_INVALID, "test.record: RIPOSTE_TEST_RECORD is not set");
        return RP_OK;
    }
    FILE *f = fopen(path, "a+");
    if (f == NULL) {
        action_fail(call, RP_E_IO, "test.record: cannot open %s", path);
        return RP_OK;
    }
    char line[8192];
    rewind(f);
    while (fgets(line, sizeof line, f) != NULL) {
        json_t *j = json_loads(line, 0, NULL);
        const char *k = json_string_value(json_object_get(j, "key"));
        if (k != NULL && strcmp(k, call->key) == 0) {
            json_t *out = json_pack("{s:b}", "deduplicated", 1);
            json_decref(j);
            fclose(f);
            action_succeed(call, out);
            return RP_OK;
        }
        json_decref(j);
    }
    json_t *rec = json_pack("{s:s,s:s,s:O}", "action", call->def->name, "key", call->key, "params",
                            call->params);
    char *text = rec != NULL ? json_dumps(rec, JSON_COMPACT) : NULL;
    json_decref(rec);
    if (text == NULL) {
        fclose(f);
        return RP_E_NOMEM;
    }
    int bad = fprintf(f, "%s\n", text) < 0;
    free(text);
    bad |= fclose(f) != 0;
    if (bad) {
        action_fail(call, RP_E_IO, "test.record: cannot write %s", path);
        return RP_OK;
    }
    action_succeed(call, json_pack("{s:b}", "deduplicated", 0));
    return RP_OK;
}

/* blocklist.add: each value is refanged and made canonical for its type (an
 * IP parsed, a domain lower-cased, a hash checked), so the list holds what a
 * firewall or proxy can use. A bad value fails the step naming it. */
static rp_status blocklist_start(struct action_call *call)
{
    const char *list = json_string_value(json_object_get(call->params, "list"));
    const char *type = json_string_value(json_object_get(call->params, "type"));
    json_t *values = json_object_get(call->params, "values");
    json_t *one = json_object_get(call->params, "value");
    const char *ttl = json_string_value(json_object_get(call->params, "ttl"));
    enum obs_type t;
    if (list == NULL || list[0] == '\0' || strlen(list) > 64 ||
        strspn(list, "abcdefghijklmnopqrstuvwxyz0123456789_-") != strlen(list)) {
        action_fail(call, RP_E_INVALID, "blocklist.add: list must be 1-64 of a-z 0-9 _ -");
        return RP_OK;
    }
    if (type == NULL || observable_type_parse(type, &t) != RP_OK) {
        action_fail(call, RP_E_INVALID,
                    "blocklist.add: type must be an observable type (ipv4, "
                    "ipv6, domain, url, email, md5, sha1, sha256)");
        return RP_OK;
    }
    if (call->store == NULL) {
        action_fail(call, RP_E_INVALID, "blocklist.add: no store here");
        return RP_OK;
    }
    int64_t now = time_now_ms(), expires = 0;
    struct rp_error err;
    if (ttl != NULL) {
        int64_t ms = 0;
        if (time_parse_duration(ttl, &ms, &err) != RP_OK || ms <= 0) {
            action_fail(call, RP_E_INVALID, "blocklist.add: ttl \"%s\" is not a duration", ttl);
            return RP_OK;
        }
        expires = now + ms;
    }
    json_t *all = json_array();
    if (json_is_string(one))
        json_array_append(all, one);
    size_t i;
    json_t *v;
    json_array_foreach(values, i, v) json_array_append(all, v);
    json_t *added = json_array();
    struct buf raw, canon;
    buf_init(&raw, 16384);
    buf_init(&canon, 16384);
    rp_status st = RP_OK;
    json_array_foreach(all, i, v)
    {
        const char *s = json_string_value(v);
        if (s == NULL || observable_refang(s, strlen(s), &raw) != RP_OK ||
            observable_canonical(t, raw.data, raw.len, &canon, NULL, &err) != RP_OK) {
            action_fail(call, RP_E_INVALID, "blocklist.add: value %zu is not a %s", i + 1, type);
            st = RP_E_INVALID;
            break;
        }
        if (store_blocklist_add(call->store, list, type, canon.data, expires, call->key, now) !=
            RP_OK) {
            action_fail(call, RP_E_STORE, "blocklist.add: %s", store_errmsg(call->store));
            st = RP_E_STORE;
            break;
        }
        json_array_append_new(added, json_string(canon.data));
    }
    buf_fini(&raw);
    buf_fini(&canon);
    json_decref(all);
    if (st == RP_OK)
        action_succeed(call, json_pack("{s:s,s:o}", "list", list, "added", added));
    else
        json_decref(added);
    return RP_OK;
}

static const struct action_def BUILTINS[] = {
    {.name = "noop",
     .effect = ACTION_EFFECT_READ,
     .honours_keys = true,
     .help = "does nothing",
     .start = noop_start},
    {.name = "echo",
     .effect = ACTION_EFFECT_READ,
     .honours_keys = true,
     .help = "returns its parameters",
     .start = echo_start},
    {.name = "fail",
     .effect = ACTION_EFFECT_READ,
     .honours_keys = true,
     .help = "fails with parameter message",
     .start = fail_start},
    {.name = "sleep",
     .effect = ACTION_EFFECT_READ,
     .honours_keys = true,
     .help = "completes after parameter ms",
     .start = sleep_start,
     .cancel = sleep_cancel},
    {.name = "log",
     .effect = ACTION_EFFECT_NOTIFY,
     .honours_keys = false,
     .help = "writes parameter message to the log",
     .start = log_start},
    {.name = "blocklist.add",
     .effect = ACTION_EFFECT_MODIFY,
     .honours_keys = true,
     .help = "adds indicators to a blocklist served as /blocklists/NAME.txt",
     .start = blocklist_start},
};

/* Test actions of every effect above read, all recording their calls; a
 * contain names its release so that time-boxed containment can be tested. */
static const struct action_def TEST_ACTIONS[] = {
    {.name = "test.record",
     .effect = ACTION_EFFECT_MODIFY,
     .honours_keys = true,
     .help = "tests only: records each call in $RIPOSTE_TEST_RECORD",
     .start = record_start},
    {.name = "test.notify",
     .effect = ACTION_EFFECT_NOTIFY,
     .honours_keys = true,
     .help = "tests only: a notification, recorded",
     .start = record_start},
    {.name = "test.contain",
     .effect = ACTION_EFFECT_CONTAIN,
     .honours_keys = true,
     .help = "tests only: a containment, recorded",
     .start = record_start,
     .release = "test.release"},
    {.name = "test.release",
     .effect = ACTION_EFFECT_MODIFY,
     .honours_keys = true,
     .help = "tests only: lifts a containment, recorded",
     .start = record_start},
    {.name = "test.destroy",
     .effect = ACTION_EFFECT_DESTROY,
     .honours_keys = true,
     .help = "tests only: a destruction, recorded",
     .start = record_start},
};

void action_registry_init(void)
{
    /* On a second call every name exists already: nothing to do. The array
     * is far below ACTION_REGISTRY_MAX, so only EXISTS can come back. */
    for (size_t i = 0; i < sizeof BUILTINS / sizeof BUILTINS[0]; i++) {
        rp_status st = action_register(&BUILTINS[i]);
        RP_ASSERT(st == RP_OK || st == RP_E_EXISTS);
    }
    const char *t = getenv("RIPOSTE_TEST_ACTIONS");
    if (t != NULL && strcmp(t, "1") == 0) {
        for (size_t i = 0; i < sizeof TEST_ACTIONS / sizeof TEST_ACTIONS[0]; i++) {
            rp_status st = action_register(&TEST_ACTIONS[i]);
            RP_ASSERT(st == RP_OK || st == RP_E_EXISTS);
        }
    }
}

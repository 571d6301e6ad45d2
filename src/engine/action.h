/*
 * action.h: the registry of actions a playbook step can call, and the calling
 * convention between the engine and whatever does the work (built-in actions
 * here, connectors and packs later: DESIGN.md §4).
 *
 * Every action declares its effect. The engine (and the guard rails) treat
 * anything above `read` as an effect on the world: plan mode simulates it, the
 * policy decides on it, and its request is committed before it goes out.
 *
 * A call is asynchronous: start() begins the work and, now or later on the
 * engine's loop thread, calls call->done exactly once. A start() that fails
 * at once may instead return an error (then done is never called). The
 * idempotency key is the same for every attempt of one step iteration of one
 * run, including the attempt made after a crash; an action that cannot pass it
 * to the far side says so with honours_keys = false, and the engine then marks
 * a call interrupted by a crash "outcome unknown" instead of repeating it.
 *
 * Threads: the registry is filled at start-up (action_registry_init, then
 * connectors) before the loop starts, and only read afterwards.
 */
#ifndef RP_ENGINE_ACTION_H
#define RP_ENGINE_ACTION_H

#include "core/status.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

enum action_effect {
    ACTION_EFFECT_READ,    /* looks, changes nothing */
    ACTION_EFFECT_NOTIFY,  /* tells a person (mail, chat) */
    ACTION_EFFECT_CONTAIN, /* isolates something, reversibly */
    ACTION_EFFECT_MODIFY,  /* changes state (reset a password, block an IOC) */
    ACTION_EFFECT_DESTROY, /* removes something (delete a mail everywhere) */
};

const char *action_effect_name(enum action_effect e);
rp_status action_effect_parse(const char *name, enum action_effect *out) RP_MUST_CHECK;

struct action_call;
struct store;

struct action_result {
    rp_status st;    /* RP_OK: success */
    json_t *output;  /* owned by the result; the engine takes it (may be NULL) */
    char error[512]; /* for people, when st != RP_OK */
};

struct action_def {
    const char *name; /* "noop", "edr.contain_host" */
    enum action_effect effect;
    bool honours_keys; /* the far side deduplicates by the idempotency key */
    const char *help;  /* one line for `riposte check` and the docs */
    /* Begins the call. Returns RP_OK when done will be called (possibly before
     * start returns); an error when nothing was started. */
    rp_status (*start)(struct action_call *call);
    /* Abandons a call that timed out: done must not be called after cancel
     * returns. NULL when start always completes synchronously. */
    void (*cancel)(struct action_call *call);
    void *data; /* for the implementation */
    /* A contain action: the full name of the action that undoes it (called with
     * the same parameters when a time-boxed containment expires); NULL when
     * there is none. */
    const char *release;
    /* Top-level output keys that hold a secret (a temporary password): the
     * engine keeps their value in memory for later steps of the run but
     * stores, logs and shows "[secret]" instead. NULL-terminated, or NULL.
     * After a restart the value is gone, which is the safe way to fail. */
    const char *const *secret_outputs;
};

struct action_call {
    const struct action_def *def;
    json_t *params;      /* the rendered `with`; borrowed until done */
    const char *key;     /* idempotency key, borrowed until done */
    int attempt;         /* 1 for the first */
    void *loop;          /* the engine's uv_loop_t, for asynchronous work */
    struct store *store; /* the engine's store handle (loop thread), for built-ins that record */
    void *impl;          /* for the implementation */
    /* Set by the engine: report the result (the engine takes res->output). */
    void (*done)(struct action_call *call, struct action_result *res);
    void *engine; /* for the engine */
};

/* Registers the built-in actions (noop, echo, fail, sleep, log,
 * blocklist.add). Idempotent. */
void action_registry_init(void);

/* Adds an action; RP_E_EXISTS when the name is taken, RP_E_LIMIT when the
 * registry is full. def must outlive the registry (static, or owned by a
 * connector that lives as long as the process). */
rp_status action_register(const struct action_def *def) RP_MUST_CHECK;

/* NULL when no action has that name. */
const struct action_def *action_find(const char *name);

/* Calls f for every registered action, in registration order. */
void action_each(void (*f)(const struct action_def *def, void *ctx), void *ctx);

/* Helpers for implementations: complete a call with success (output taken) or
 * with an error message. */
void action_succeed(struct action_call *call, json_t *output);
void action_fail(struct action_call *call, rp_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif

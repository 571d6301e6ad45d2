/*
 * engine.h: durable playbook runs (DESIGN.md §3, docs/internals/engine.md).
 *
 * A run is an append-only log of events in the store plus a small row. The
 * engine never keeps a program counter: to move a run on it walks the
 * playbook from the top, taking every step that already has a result from the
 * log, and starts the first steps that have none. A walk is cheap (a hash
 * lookup per finished step) and makes recovery trivial: after a crash the log
 * is read back and the same walk resumes the run where it was, timers and
 * prompts included. Decisions (a skipped `when`, a switch's branch, the items
 * of a for_each) are results like any other, so a walk after a restart takes
 * exactly the path the run took before it.
 *
 * Outbox rule: an action's `action_requested` event (with its idempotency key
 * run/step-key) is committed before the call goes out, its result after. A
 * request found without a result on recovery is sent again with the same key
 * when the action honours keys, and fails the step as "outcome unknown"
 * otherwise, so no effect happens twice unseen.
 *
 * Group commit: the events every run produces during one turn of the loop are
 * committed in one transaction at the end of the turn (a uv_check handle);
 * calls wait for that commit. One fsync serves many steps.
 *
 * Threads: an engine lives on one libuv loop and is used only from that loop's
 * thread; so are the store handle and expression env it is given.
 */
#ifndef RP_ENGINE_ENGINE_H
#define RP_ENGINE_ENGINE_H

#include "core/status.h"
#include "playbook/playbook.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct store;
struct engine;
struct uv_loop_s;

enum engine_mode {
    ENGINE_LIVE, /* effects happen */
    ENGINE_PLAN, /* every action above read is simulated (plan mode) */
};

struct engine_opts {
    enum engine_mode mode;
    /* plan mode: recorded responses, {"ACTION": output, "STEP-ID": output}; a
     * read action with a recording is answered from it instead of called. */
    json_t *replay;
    /* Called when a run finishes (after its run_done is committed); may be NULL. */
    void (*on_run_done)(void *ctx, const char *run_id, const char *status);
    void *ctx;
    /* The prompt signing key (RP_PROMPT_KEY_BYTES); NULL: prompts get a random
     * key per process (links then die with it: fine for the CLI). */
    const unsigned char *prompt_key;
    const char *public_url; /* base for /respond links; NULL: http://127.0.0.1:8080 */
    /* The guard rails' policy (guard/guard.h), borrowed; NULL: no policy (the
     * kill switch still holds effects). */
    struct policy *policy;
    /* The action that mails a prompt to its `to:` address (e.g. "mail.send",
     * an smtp connector's send); NULL: prompts are only in the API and CLI. It
     * is called with {to, subject, text} after the prompt is committed. */
    const char *prompt_mail_action;
};

/* An engine on loop, writing to st (which it does not own). */
rp_status engine_new(struct uv_loop_s *loop, struct store *st, const struct engine_opts *opts,
                     struct engine **out, struct rp_error *err) RP_MUST_CHECK;

/* Stops timers and abandons calls in flight (their requests stay in the log
 * for the next start to settle). Accepts NULL. Run uv_run once more
 * afterwards so that closed handles are released. */
void engine_free(struct engine *e);

/* Records pb's text in the store (a new version when it changed) and makes it
 * available to runs by name. The engine takes pb. */
rp_status engine_playbook_add(struct engine *e, struct playbook *pb,
                              struct rp_error *err) RP_MUST_CHECK;

/* Starts a run of playbook name (its current version) with alert (may be NULL),
 * case_id (may be NULL), inputs (may be NULL). dedup_key (may be NULL): a second
 * start with the same key is refused with RP_E_EXISTS (a re-delivered alert).
 * run_id receives the new run's id (ULID_LEN + 1 bytes). */
rp_status engine_start(struct engine *e, const char *name, json_t *alert, const char *case_id,
                       json_t *inputs, const char *trigger, const char *dedup_key, char *run_id,
                       struct rp_error *err) RP_MUST_CHECK;

/* Starts every alert-triggered playbook whose trigger matches alert (stored,
 * with id and kind). Returns how many runs started in *started. */
rp_status engine_trigger_alert(struct engine *e, json_t *alert, const char *case_id, int *started,
                               struct rp_error *err) RP_MUST_CHECK;

/* Resumes every unfinished run found in the store (start-up). */
rp_status engine_recover(struct engine *e, int *resumed, struct rp_error *err) RP_MUST_CHECK;

/* Delivers an answer to a prompt the engine is waiting on (the store has
 * already accepted it as the single valid answer). */
void engine_prompt_answered(struct engine *e, const char *prompt_id);

/* The current version of a playbook the engine has, 0 when none. */
int engine_playbook_version_of(struct engine *e, const char *name);

/* Makes every playbook whose name is not in names stop being current (a file
 * removed from the directory): no new runs; runs in flight finish. */
void engine_playbook_retire_except(struct engine *e, const char *const *names, size_t n);

/* Looks now for prompts answered in the store (the API answered one). */
void engine_poll_prompts(struct engine *e);

/* Starts the scheduled playbooks due in (from_ms, now_ms]. */
void engine_fire_schedules(struct engine *e, int64_t from_ms, int64_t now_ms);

/* Replaces the policy (borrowed; the caller frees the old one after this
 * call). Decisions from now on use it. */
struct policy;
void engine_set_policy(struct engine *e, struct policy *p);

/* Runs in flight (started and not finished). */
size_t engine_active(const struct engine *e);

/* The plan of a run so far (plan mode): one line per action, in order. */
void engine_plan_print(struct engine *e, const char *run_id, FILE *out);

#endif

/*
 * runner.h: the playbook engine inside `riposte serve`.
 *
 * The runner owns the engine (engine/engine.h) on the daemon's writer loop: it
 * loads the playbook directory at start (and again on SIGHUP or POST
 * /api/v1/playbooks/reload), resumes unfinished runs, starts the playbooks
 * that stored alerts trigger, fires schedules, and takes manual starts and
 * prompt answers from the HTTP threads.
 *
 * Threads: runner_new, runner_alerts_committed, runner_free run on the loop
 * thread. runner_wake_prompts, runner_request_reload and runner_submit may be
 * called from any thread (they hand work to the loop through a uv_async).
 */
#ifndef RP_API_RUNNER_H
#define RP_API_RUNNER_H

#include "core/status.h"
#include "detect/detect.h"
#include "ingest/pipeline.h"

#include <jansson.h>
#include <stddef.h>

struct runner;
struct store;
struct uv_loop_s;

struct runner_opts {
    const char *playbooks_dir;   /* NULL: "playbooks" when that directory exists */
    const char *prompt_key_path; /* NULL: "<db>.prompt-key" */
    const char *db_path;
    const char *public_url;  /* base of the answer links; NULL: http://LISTEN */
    const char *policy_path; /* the guard rails' policy; NULL: none (the kill switch holds) */
    const char *prompt_mail; /* the action that mails prompts, or NULL */
    const struct config_detect_rule *detect; /* failed-login rules (detect/detect.h), or NULL */
    size_t ndetect;
    detect_submit_fn detect_submit; /* where the detector's alerts are ingested */
    void *detect_ctx;
};

rp_status runner_new(struct uv_loop_s *loop, struct store *st, const struct runner_opts *o,
                     struct runner **out, struct rp_error *err) RP_MUST_CHECK;

/* Closes the engine's handles; run the loop once more afterwards. Accepts NULL. */
void runner_free(struct runner *r);

/* After the writer committed these batches: starts what their alerts trigger
 * and feeds each alert to the failed-login detector. */
void runner_alerts_committed(struct runner *r, struct ingest_batch **batches, size_t n);

/* Any thread: a prompt was answered in the store; tell the engine now. */
void runner_wake_prompts(struct runner *r);

/* Any thread: reload the playbook directory on the loop. */
void runner_request_reload(struct runner *r);

/* Any thread: the key that signs answer links (read-only after runner_new). */
const unsigned char *runner_prompt_key(const struct runner *r);

/* Any thread: asks for a manual run of playbook name with inputs and alert (may
 * be NULL; both are taken). The run starts on the loop; RP_E_BUSY when too many
 * requests wait. */
rp_status runner_submit(struct runner *r, const char *name, json_t *alert, json_t *inputs,
                        struct rp_error *err) RP_MUST_CHECK;

/* Any thread: the names of the playbooks loaded, with their versions
 * (a new reference). */
json_t *runner_playbooks_json(struct runner *r);

#endif

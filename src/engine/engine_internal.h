/*
 * engine_internal.h: what the engine's files share (engine.c walks runs,
 * loop.c owns the turn of the loop, the commit and the playbook versions,
 * op.c the things a run waits on: calls, timers, prompts). Loop thread only.
 */
#ifndef RP_ENGINE_ENGINE_INTERNAL_H
#define RP_ENGINE_ENGINE_INTERNAL_H

#include "core/limits.h"
#include "core/ulid.h"
#include "engine/action.h"
#include "engine/engine.h"

#include <jansson.h>
#include <stdbool.h>
#include <uv.h>

/* A playbook version the engine can run: the current one of each name, and
 * older ones that unfinished runs still use. */
struct pb_version {
    struct playbook *pb;
    int version;
    bool current;
    int active; /* runs of this version admitted and not finished */
    struct pb_version *next;
};

/* The scope of one list being walked. */
struct frame {
    char prefix[RP_STEP_KEY_MAX];
    json_t *steps;  /* step id -> output, as seen so far on this path */
    json_t *vars;   /* owned by the walk's top */
    json_t *inputs; /* borrowed */
    json_t *item;   /* for_each: borrowed */
    json_t *index;
};

struct op;

struct run {
    struct engine *e;
    char id[ULID_LEN + 1];
    char case_id[ULID_LEN + 1];
    struct pb_version *pbv;
    const struct playbook *walk_pb; /* the playbook whose list is being walked (sub-playbooks) */
    int depth;
    json_t *alert;     /* may be NULL */
    json_t *inputs;    /* object */
    json_t *case_json; /* the case as the run last read it; may be NULL */
    json_t *records;   /* step key -> record */
    json_t *vars_seen; /* the variables after the last walk (for traces) */
    json_t *secrets;   /* values of secret outputs seen by this run (memory only), or NULL */
    int64_t seq;       /* last event number */
    bool dirty, finished, broken, recovered, admitted, end_failure, duplicate;
    bool waiting; /* the stored status says \"waiting\" */
    char error[RP_ERROR_MAX + 256];
    struct op *ops;          /* what it waits on */
    struct run *next, *prev; /* the engine's runs */
    struct run *next_finished;
    struct run *next_dirty;
    struct run *next_queued; /* waiting for a slot of its playbook's max_concurrent */
};

enum pw_kind {
    PW_RUN_INSERT, /* data: the run's row (see engine_start) */
    PW_EVENT,
    PW_RUN_STATUS,
    PW_PROMPT,
    PW_CASE_OP,
    PW_TIMELINE,     /* case_id, ts_ms, actor_playbook (the actor), type (event), data */
    PW_GUARD_ACTION, /* run_id, ts_ms, actor_playbook (playbook), value (action), severity (effect),
                        data (targets) */
    PW_AUDIT,        /* ts_ms, actor_playbook (actor), type (kind), data (detail) */
    PW_CONTAINMENT,  /* run_id, key (id), value (action), error (release action), data (params), seq
                        (until) */
    PW_CONTAINMENT_SET, /* key (id), value (status), seq (until) */
};

/* A write queued for the next group commit. */
struct pending_write {
    enum pw_kind kind;
    char run_id[ULID_LEN + 1];
    char case_id[ULID_LEN + 1];
    int64_t seq, ts_ms;
    const char *type; /* static */
    char *key;
    json_t *data;
    /* PW_RUN_STATUS: value = status, error; PW_CASE_OP: op, value, severity */
    const char *op;
    char *value;
    char *error;
    char *actor_playbook;
    int severity;
    struct store_prompt_row *prompt;
    struct pending_write *next;
};

struct store_prompt_row; /* op.c */

struct engine {
    uv_loop_t *loop;
    struct store *store;
    struct expr_env *expr;
    struct engine_opts opts;
    unsigned char prompt_key[32];
    struct pb_version *versions;
    struct run *runs;
    size_t nruns;
    json_t *run_index;    /* run id -> (json_int_t)(intptr_t)struct run * */
    json_t *prompt_index; /* prompt id -> run id, for prompts waiting */
    struct run *finished; /* finished, to release once their writes are committed */
    struct run *dirty;
    struct run *queued; /* admitted later, oldest first */
    struct pending_write *writes, **writes_tail;
    size_t nwrites;
    struct op *after_commit, **after_commit_tail; /* calls waiting for the commit */
    uv_idle_t pump;
    uv_timer_t retry;
    uv_timer_t poll; /* prompts answered by another process */
    int64_t poll_since_ms;
    bool pump_on, commit_failing, closing;
    json_t *plan;          /* plan mode: run id -> array of lines */
    json_t *pending_dedup; /* dedup keys of runs whose row is not committed yet */
    size_t nprompts_waiting;
    int handles_open; /* while closing */
    /* guard rails */
    struct policy *policy; /* NULL: no policy (the kill switch still holds) */
    bool stopped;          /* the kill switch, as last read from the store */
    json_t *guard_pending; /* allowed effects not committed yet: [{ts, action, effect, playbook,
                              run, targets}] */
    bool audit_loaded;
    int64_t audit_seq;
    char audit_hash[65];
    size_t releases_in_flight;
    json_t *mail_queue; /* prompt mails waiting for their prompt's commit */
};

/* engine.c */
void run_mark_dirty(struct run *r);
void run_event(struct run *r, const char *type, const char *key, json_t *data);
void run_event_split(struct run *r, const char *type, const char *key, json_t *applied,
                     json_t *data);
void run_walk(struct run *r);
void engine_run_release(struct engine *e, struct run *r);
struct run *engine_run_find(struct engine *e, const char *id);

/* loop.c */
void engine_kick(struct engine *e);
void engine_queue_write(struct engine *e, struct pending_write *w);
void engine_write_free(struct pending_write *w);
void engine_after_commit(struct engine *e, struct op *o);
void engine_admit(struct engine *e, struct run *r);
struct pb_version *engine_playbook_current(struct engine *e, const char *name);
struct pb_version *engine_playbook_version(struct engine *e, const char *name, int version,
                                           struct rp_error *err);
void engine_plan_add(struct engine *e, const char *run_id, const char *line);

/* op.c */
void op_action_start(struct run *r, const struct pb_step *s, const char *key, struct frame *f);
void op_prompt_start(struct run *r, const struct pb_step *s, const char *key, struct frame *f);
void op_wait_start(struct run *r, const struct pb_step *s, const char *key, struct frame *f);
/* A running leaf with no live op (after a restart): settle or re-arm it. */
void op_resume(struct run *r, const struct pb_step *s, const char *key, struct frame *f,
               json_t *rec);
void op_dispatch(struct op *o); /* after the commit: send the call */
struct op **op_next_commit(struct op *o);
void op_cancel_all(struct run *r);
/* True when all the run waits on is people or time (prompts, waits). */
bool op_run_waiting_only(const struct run *r);

/* rails.c: the guard rails in the engine */
struct guard_decision;
rp_status rails_decide(struct engine *e, struct run *r, const char *step_key,
                       const struct action_def *def, json_t *params, json_t **targets_out,
                       struct guard_decision *d);
void rails_contained(struct engine *e, struct run *r, const struct action_def *def, json_t *params,
                     int64_t contain_ms);
void rails_audit(struct engine *e, const char *actor, const char *kind, json_t *detail);
void rails_refresh(struct engine *e);                             /* kill switch from the store */
void rails_release_due(struct engine *e);                         /* expired containments */
rp_status rails_write(struct engine *e, struct pending_write *w); /* inside the commit */
void rails_committed(struct engine *e, bool ok); /* after a commit (or its failure) */

/* op.c: prompt mails, sent once their prompts are committed */
void op_send_prompt_mails(struct engine *e);
bool op_prompt_answered(struct engine *e, const char *prompt_id);
void op_prompt_free_row(struct store_prompt_row *p);
rp_status op_prompt_write(struct engine *e, struct store_prompt_row *p);

#endif

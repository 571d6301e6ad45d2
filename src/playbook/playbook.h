/*
 * playbook.h: a playbook as the engine runs it, and the loader that builds it
 * from YAML (DESIGN.md §3, docs/playbooks.md).
 *
 *   playbook: failed-logins
 *   version: 3
 *   trigger: { kind: auth, when: "alert.auth.count >= 10" }
 *   steps:
 *     - id: where
 *       action: geoip.lookup
 *       with: { ip: "{{ alert.src.ip }}" }
 *     - id: ask
 *       prompt: { to: "{{ alert.user.email }}", question: "...", options: [yes, no],
 *                 timeout: 4h, default: no }
 *
 * The loader validates everything it can before a run ever starts: unknown keys
 * and step kinds, missing or repeated ids, references to steps that do not
 * exist, cycles among `next`, `switch` and `on_error` jumps, actions the
 * registry does not know (engine/action.h), durations and cron specs that do
 * not parse, and the syntax of every expression and template (expr/expr.h).
 * Errors read `file:line:col: what is wrong`.
 *
 * Shape: steps form lists. A list runs in order; a step's `next` (or a switch
 * case, or `on_error: ID`) jumps to a later or earlier step of the *same* list,
 * and the jumps must not form a cycle (loops are for_each and while, which have
 * bounds). Nested lists are the bodies of for_each, while, group and the
 * branches of parallel. Step ids are unique across the whole playbook, nested
 * ones included, so that `steps.ID` in an expression is never ambiguous.
 *
 * A struct playbook is immutable once loaded and owned by whoever loaded it;
 * every string and json_t in it belongs to it and goes with playbook_free().
 * Any thread may read a loaded playbook.
 */
#ifndef RP_PLAYBOOK_PLAYBOOK_H
#define RP_PLAYBOOK_PLAYBOOK_H

#include "core/status.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum pb_kind {
    PB_ACTION,   /* action: NAME, with: {...} */
    PB_PROMPT,   /* prompt: {to|role, question, options, timeout, default} */
    PB_SET,      /* set: {var: template, ...} */
    PB_SWITCH,   /* switch: EXPR, cases: {value: ID, ...}, default: ID */
    PB_FOR_EACH, /* for_each: EXPR, concurrency: N, steps: [...] */
    PB_WHILE,    /* while: EXPR, max: N, steps: [...] */
    PB_PARALLEL, /* parallel: [step, ...] (each branch one step; a group for more) */
    PB_GROUP,    /* steps: [...] (a sequence; the body of a parallel branch) */
    PB_WAIT,     /* wait: DURATION | {until: TEMPLATE} */
    PB_SUB,      /* playbook: NAME, inputs: {...} */
    PB_CASE,     /* case: {status|severity|assignee|note|task: TEMPLATE} */
    PB_END,      /* end: success | failure */
};

/* Static name of a kind as YAML spells it ("action", "for_each", ...). */
const char *pb_kind_name(enum pb_kind k);

enum pb_on_error {
    PB_ON_ERROR_FAIL,     /* the default: the run fails */
    PB_ON_ERROR_CONTINUE, /* the step counts as done (status "failed") and the list goes on */
    PB_ON_ERROR_GOTO,     /* jump to on_error_target in the same list */
};

/* Where in the YAML a thing was written (1-based). */
struct pb_pos {
    int line;
    int col;
};

struct pb_list {
    struct pb_step *steps;
    size_t n;
};

/* A jump target: the id as written and its index in the step's list. */
struct pb_ref {
    char *id;  /* NULL: no jump */
    int index; /* resolved by the loader; -1 when id is NULL */
};

struct pb_switch_case {
    char *value; /* compared with the switch expression's value as a string */
    struct pb_ref target;
};

enum pb_case_op {
    PB_CASE_STATUS,
    PB_CASE_SEVERITY,
    PB_CASE_ASSIGNEE,
    PB_CASE_NOTE,
    PB_CASE_TASK,
};

struct pb_step {
    char *id; /* given, or made by the loader for parallel branches ("PARENT.N") */
    enum pb_kind kind;
    struct pb_pos pos;
    char *name; /* optional label for traces */
    char *when; /* Lua expression; NULL: always. False: the step is "skipped". */
    struct pb_ref next;
    int64_t timeout_ms;       /* 0: none beyond the action's own */
    int retry_count;          /* extra attempts after the first */
    int64_t retry_backoff_ms; /* doubled at each attempt */
    enum pb_on_error on_error;
    struct pb_ref on_error_target;

    union {
        struct {
            char *name;   /* registry name, e.g. "edr.contain_host" */
            json_t *with; /* object; strings inside may hold {{ }} templates */
        } action;
        struct {
            char *to;             /* template: an address; NULL when role is set */
            char *role;           /* an analyst role; NULL when to is set */
            char *question;       /* template */
            json_t *options;      /* array of strings, at least one */
            int64_t timeout_ms;   /* deadline after the question goes out */
            char *default_option; /* NULL: no answer by the deadline fails the step */
        } prompt;
        struct {
            json_t *values; /* object name -> template (string) or literal */
        } set;
        struct {
            char *expr;
            struct pb_switch_case *cases;
            size_t ncases;
            struct pb_ref default_target; /* id NULL: fall through to the next step */
        } sw;
        struct {
            char *items;     /* expression yielding an array */
            int concurrency; /* >= 1 */
            struct pb_list body;
        } for_each;
        struct {
            char *cond;
            int max_iterations; /* >= 1; reaching it fails the step */
            struct pb_list body;
        } loop;
        struct {
            struct pb_list branches;
        } parallel;
        struct {
            struct pb_list body;
        } group;
        struct {
            int64_t duration_ms; /* > 0, or 0 when until is set */
            char *until;         /* template yielding an RFC 3339 time */
        } wait;
        struct {
            char *playbook;
            json_t *inputs; /* object of templates, may be NULL */
        } sub;
        struct {
            enum pb_case_op op;
            char *value; /* template */
        } case_op;
        struct {
            bool failure; /* end: failure ends the run as failed */
        } end;
    } u;
};

enum pb_trigger_type {
    PB_TRIGGER_MANUAL,   /* only `riposte run` and the API start it */
    PB_TRIGGER_ALERT,    /* every stored alert of kind (and when) starts it */
    PB_TRIGGER_SCHEDULE, /* cron */
};

struct pb_trigger {
    enum pb_trigger_type type;
    char *kind;        /* alert kind ("auth"); NULL: any kind */
    char *when;        /* Lua expression over alert; NULL: always */
    char *schedule;    /* cron text as written */
    struct cron *cron; /* parsed schedule (playbook/cron.h) */
};

struct playbook {
    char *name;  /* `playbook:`; [a-z0-9][a-z0-9_.-]*, unique among loaded playbooks */
    int version; /* as the author wrote it (default 1); the store versions by content */
    char *description;
    char *path; /* the file it came from, or the name given to playbook_load_string */
    char *text; /* the YAML as read */
    size_t text_len;
    char sha256[65]; /* hex SHA-256 of text: the store's version key */
    struct pb_trigger trigger;
    json_t *inputs;      /* object: declared inputs and their defaults, may be empty */
    json_t *vars;        /* object: initial variables, may be empty */
    int max_concurrent;  /* runs of this playbook at once; 0: no limit but the engine's */
    size_t nsteps_total; /* steps in all lists together */
    struct pb_list steps;
};

/* Reads and validates the playbook in the file at path. On error *out is NULL
 * and err reads "path:line:col: problem". The caller owns *out. */
rp_status playbook_load_file(const char *path, struct playbook **out,
                             struct rp_error *err) RP_MUST_CHECK;

/* The same from a buffer; name stands for the file in messages and in ->path. */
rp_status playbook_load_string(const char *name, const char *text, size_t len,
                               struct playbook **out, struct rp_error *err) RP_MUST_CHECK;

/* Loader flags. PB_LOAD_ANY_ACTION accepts action names the registry does not
 * know (a CACAO import names command types no connector may offer yet); the
 * engine refuses to run such a step ("unknown action") instead. */
#define PB_LOAD_ANY_ACTION 0x1u

rp_status playbook_load_string_flags(const char *name, const char *text, size_t len, unsigned flags,
                                     struct playbook **out, struct rp_error *err) RP_MUST_CHECK;

/* Accepts NULL. */
void playbook_free(struct playbook *pb);

/* Finds a step by id anywhere in the playbook; NULL when absent. */
const struct pb_step *playbook_step(const struct playbook *pb, const char *id);

/* Parses "30s", "5m", "4h", "2d", "1h30m", "500ms" into milliseconds (> 0).
 * RP_E_INVALID with a message naming the text otherwise. */
rp_status pb_duration_parse(const char *text, int64_t *out_ms, struct rp_error *err) RP_MUST_CHECK;

/* --- a directory of playbooks (serve) --------------------------------------- */

struct playbook_set {
    struct playbook **items;
    size_t n;
};

/* Loads every *.yml and *.yaml file of dir (not recursive). All or nothing: on
 * the first invalid file nothing is kept and err names it, so that a reload with
 * a broken file leaves the running set as it was. Two files with the same
 * playbook name are an error. */
rp_status playbook_set_load_dir(const char *dir, struct playbook_set *out,
                                struct rp_error *err) RP_MUST_CHECK;

/* Frees the playbooks and empties the set. */
void playbook_set_fini(struct playbook_set *set);

const struct playbook *playbook_set_find(const struct playbook_set *set, const char *name);

#endif

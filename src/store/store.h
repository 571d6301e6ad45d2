/*
 * store.h: the store interface. Everything Riposte keeps goes through here; the
 * backend behind it is SQLite (store/sqlite.c, the embedded default) and, later,
 * PostgreSQL (store/postgres.c) for many nodes.
 *
 * Writes are grouped: a writer calls store_begin(), puts many records, and
 * store_commit() makes them durable together (one fsync for the group). Nothing
 * written is visible to other handles, or acknowledged to anyone, before the
 * commit returns RP_OK.
 *
 * Threads: a struct store is one connection and belongs to one thread at a time.
 * The daemon gives its writer one handle and each API thread its own read handle;
 * SQLite's WAL lets them work side by side, and lets a CLI process write while
 * the daemon runs (each waits up to RP_STORE_BUSY_TIMEOUT_MS for the write lock).
 *
 * Strings passed in are copied by the backend (or bound for the length of the
 * call); json_t results are new references that the caller owns.
 */
#ifndef RP_STORE_STORE_H
#define RP_STORE_STORE_H

#include "core/limits.h"
#include "core/status.h"
#include "core/ulid.h"
#include "model/case.h"

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct store;

/* Where the database is: the --db flag, else $RIPOSTE_DB, else "riposte.db". */
const char *store_default_path(const char *flag);

/* Opens (creating if needed) the database at path and brings its schema to the
 * current version, each migration in its own transaction. err says what failed
 * (cannot open, not a Riposte database, newer schema than this binary knows). */
rp_status store_open(const char *path, struct store **out, struct rp_error *err) RP_MUST_CHECK;

/* Closes the connection. Accepts NULL. A batch still open is rolled back. */
void store_close(struct store *s);

/* The schema version this binary migrates to, and the one found in the file. */
int store_schema_version_latest(void);
rp_status store_schema_version(struct store *s, int *out) RP_MUST_CHECK;

/* --- write batches ---------------------------------------------------------- */

rp_status store_begin(struct store *s) RP_MUST_CHECK;
rp_status store_commit(struct store *s) RP_MUST_CHECK;
void store_rollback(struct store *s);

/* --- alerts ------------------------------------------------------------------- */

struct store_alert {
    const char *id; /* ULID */
    const char *case_id;
    const char *fingerprint;
    const char *source;
    const char *kind;
    int severity;
    int64_t event_ms;
    int64_t received_ms;
    const char *raw; /* the bytes as received */
    size_t raw_len;
    const char *json; /* the normalized alert, serialised */
    size_t json_len;
    json_t *observables; /* array of {type, value, role}: one row each */
};

/* Stores one alert, its observables and its link to its case. Inside a batch. */
rp_status store_alert_put(struct store *s, const struct store_alert *a) RP_MUST_CHECK;

/* True in *found if an alert with this id is stored. */
rp_status store_alert_exists(struct store *s, const char *id, bool *found) RP_MUST_CHECK;

/* --- cases -------------------------------------------------------------------- */

/* struct case_row (one row of the cases table) is in model/case.h. */

/* The open case (status new, triage or contained) of this fingerprint whose last
 * alert arrived at or after since_ms; *found false when there is none. When
 * several match, the most recent. */
rp_status store_case_find_open(struct store *s, const char *fingerprint, int64_t since_ms,
                               struct case_row *out, bool *found) RP_MUST_CHECK;

/* Loads a case by id or by a unique id prefix (at least 6 characters):
 * RP_E_NOTFOUND, RP_E_AMBIGUOUS. */
rp_status store_case_get(struct store *s, const char *id_or_prefix,
                         struct case_row *out) RP_MUST_CHECK;

rp_status store_case_insert(struct store *s, const struct case_row *c) RP_MUST_CHECK;

/* Writes every mutable column of c (matched by id). */
rp_status store_case_save(struct store *s, const struct case_row *c) RP_MUST_CHECK;

/* --- timeline ------------------------------------------------------------------- */

/* Appends an entry: what happened (event: "created", "alert_added", "severity",
 * "status", "assignee", "note", ...), when, who (actor: "correlate", a user
 * name, "api:<token name>"), and detail (a JSON object, may be NULL). */
rp_status store_timeline_add(struct store *s, const char *case_id, int64_t ts_ms, const char *actor,
                             const char *event, json_t *detail) RP_MUST_CHECK;

/* --- reading for people ----------------------------------------------------------- */

/* Cases as JSON summaries, newest first. status < 0: every status. At most limit
 * (<= RP_CASE_LIST_MAX). */
rp_status store_case_list_json(struct store *s, int status, size_t limit,
                               json_t **out) RP_MUST_CHECK;

/* One case as JSON with its alerts (normalized, newest RP_CASE_ALERTS_SHOW_MAX)
 * and its timeline (oldest first, newest RP_TIMELINE_SHOW_MAX); the counts are
 * exact. NOTFOUND / AMBIGUOUS as store_case_get. */
rp_status store_case_show_json(struct store *s, const char *id_or_prefix,
                               json_t **out) RP_MUST_CHECK;

/* The JSON summary of a case row, as the list and show calls give it. */
json_t *store_case_row_json(const struct case_row *c);

/* --- dead letters -------------------------------------------------------------------- */

/* Keeps a rejected input record: where it came from ("cli", "http"), where in
 * it (file and record/line, or request), why, and its bytes (truncated to
 * RP_DEADLETTER_RAW_MAX). May be called inside or outside a batch. */
rp_status store_deadletter_add(struct store *s, int64_t ts_ms, const char *channel,
                               const char *location, const char *reason, const char *raw,
                               size_t raw_len) RP_MUST_CHECK;

/* Number of dead letters stored. */
rp_status store_deadletter_count(struct store *s, int64_t *out) RP_MUST_CHECK;

/* --- API tokens ---------------------------------------------------------------------- */

/* Stores a token by name with the hex SHA-256 of its secret and a role.
 * RP_E_EXISTS when the name is taken. */
rp_status store_token_put(struct store *s, const char *name, const char *hash_hex, const char *role,
                          int64_t created_ms) RP_MUST_CHECK;

/* Finds a token by the hash of its secret; NOTFOUND when there is none. name and
 * role are copied into the caller's buffers (RP_NAME_MAX_BYTES + 1 and 32). */
rp_status store_token_find(struct store *s, const char *hash_hex, char *name,
                           char *role) RP_MUST_CHECK;

rp_status store_token_count(struct store *s, int64_t *out) RP_MUST_CHECK;

/* Tokens as JSON [{name, role, created}] (never their hashes). */
rp_status store_token_list_json(struct store *s, json_t **out) RP_MUST_CHECK;

/* Removes a token by name; NOTFOUND when there is none. */
rp_status store_token_revoke(struct store *s, const char *name) RP_MUST_CHECK;

/* --- playbooks and runs ---------------------------------------------------------------- */

/* Records a playbook's text under name. Versions count up from 1 per name; the
 * same text again (same sha256) gives back the version it already has with
 * *created false. Inside or outside a batch. */
rp_status store_playbook_put(struct store *s, const char *name, const char *sha256,
                             const char *text, size_t len, int64_t now_ms, int *version,
                             bool *created) RP_MUST_CHECK;

/* The text of one version (version 0: the newest). The caller frees *text.
 * NOTFOUND when there is none. */
rp_status store_playbook_text(struct store *s, const char *name, int version, char **text,
                              size_t *len, int *version_out) RP_MUST_CHECK;

/* One run's row. Strings are borrowed for the call. */
struct store_run {
    const char *id; /* ULID */
    const char *playbook;
    int version;
    const char *trigger;   /* "alert", "manual", "schedule" */
    const char *dedup_key; /* NULL, or unique among runs (alert id + playbook version) */
    const char *alert_id;  /* may be NULL */
    const char *case_id;   /* may be NULL */
    const char *mode;      /* "live" or "plan" */
    json_t *context;       /* {alert, inputs}: what the run started from */
    int64_t created_ms;
};

/* Inserts a run with status "running". RP_E_EXISTS when dedup_key (or the id)
 * is taken; that does not abort the batch it is part of. */
rp_status store_run_insert(struct store *s, const struct store_run *r) RP_MUST_CHECK;

/* True in *found when a run with this dedup key is stored. */
rp_status store_run_dedup_exists(struct store *s, const char *key, bool *found) RP_MUST_CHECK;

/* Sets a run's status ("running", "waiting", "succeeded", "failed") and, for a
 * finished run, its error text (may be NULL). */
rp_status store_run_status(struct store *s, const char *id, const char *status, const char *error,
                           int64_t now_ms) RP_MUST_CHECK;

/* Appends an event to a run's log: seq counts from 1 per run; key is the step
 * key (may be NULL); data may be NULL. Inside a batch. */
rp_status store_run_event_add(struct store *s, const char *run_id, int64_t seq, int64_t ts_ms,
                              const char *type, const char *key, json_t *data) RP_MUST_CHECK;

/* A run's events in order: [{seq, ts, type, key, data}]. */
rp_status store_run_events(struct store *s, const char *run_id, json_t **out) RP_MUST_CHECK;

/* Unfinished runs (running or waiting), oldest first, as JSON rows
 * [{id, playbook, version, trigger, alert_id, case_id, mode, context, created}]. */
rp_status store_run_unfinished(struct store *s, json_t **out) RP_MUST_CHECK;

/* Runs as JSON summaries, newest first; status NULL: any. At most limit. */
rp_status store_run_list_json(struct store *s, const char *status, size_t limit,
                              json_t **out) RP_MUST_CHECK;

/* One run (by id or unique prefix of at least 6 characters) with its events. */
rp_status store_run_show_json(struct store *s, const char *id_or_prefix,
                              json_t **out) RP_MUST_CHECK;

/* --- prompts ------------------------------------------------------------------------------ */

struct store_prompt {
    const char *id; /* ULID */
    const char *run_id;
    const char *step_key;
    const char *to;   /* address or NULL */
    const char *role; /* role or NULL */
    const char *question;
    json_t *options;            /* array of strings */
    const char *default_option; /* may be NULL */
    int64_t created_ms;
    int64_t deadline_ms;
};

rp_status store_prompt_put(struct store *s, const struct store_prompt *p) RP_MUST_CHECK;

/* One prompt as JSON {id, run_id, step_key, to, role, question, options,
 * default, created, deadline, status, answer, answered_by, answered}; NOTFOUND. */
rp_status store_prompt_get_json(struct store *s, const char *id, json_t **out) RP_MUST_CHECK;

/* Takes the one answer a prompt accepts. RP_E_NOTFOUND: no such prompt;
 * RP_E_EXISTS: answered already (or closed); RP_E_LIMIT: past its deadline;
 * RP_E_INVALID: option is not one of its options. Commits by itself when
 * called outside a batch. */
rp_status store_prompt_answer(struct store *s, const char *id, const char *option, const char *by,
                              int64_t now_ms) RP_MUST_CHECK;

/* Closes an open prompt at its deadline (status "expired"); EXISTS when it was
 * answered first. */
rp_status store_prompt_expire(struct store *s, const char *id, int64_t now_ms) RP_MUST_CHECK;

/* Ids of the prompts answered at or after since_ms, as a JSON array of strings
 * (at most RP_PROMPT_POLL_MAX, oldest answers first). */
rp_status store_prompt_answered_since(struct store *s, int64_t since_ms,
                                      json_t **out) RP_MUST_CHECK;

/* Prompts as JSON, newest first; status NULL: any ("open", "answered", "expired"). */
rp_status store_prompt_list_json(struct store *s, const char *status, size_t limit,
                                 json_t **out) RP_MUST_CHECK;

/* --- secrets (connect/secrets.h) ------------------------------------------------------- */

/* The store keeps only what connect/secrets.c encrypted: a nonce and a
 * ciphertext per name. It never sees a key or a value. */

/* Stores (or replaces) the row of name. Commits by itself outside a batch. */
rp_status store_secret_put(struct store *s, const char *name, const unsigned char *nonce,
                           size_t nonce_len, const unsigned char *ct, size_t ct_len,
                           int64_t updated_ms) RP_MUST_CHECK;

/* The row of name: *nonce and *ct are new buffers (malloc) the caller frees;
 * NOTFOUND when there is none. */
rp_status store_secret_get(struct store *s, const char *name, unsigned char **nonce,
                           size_t *nonce_len, unsigned char **ct, size_t *ct_len) RP_MUST_CHECK;

/* Names and update times as JSON [{name, updated}], by name, at most
 * RP_SECRETS_LIST_MAX. */
rp_status store_secret_list_json(struct store *s, json_t **out) RP_MUST_CHECK;

/* Removes the row of name; NOTFOUND when there is none. */
rp_status store_secret_remove(struct store *s, const char *name) RP_MUST_CHECK;

/* --- guard rails ------------------------------------------------------------------------- */

/* One effect the guard allowed (budgets and blast radius count these).
 * targets: [{type, value}]. Inside a batch. */
rp_status store_guard_action_add(struct store *s, int64_t ts_ms, const char *run_id,
                                 const char *playbook, const char *action, int effect,
                                 json_t *targets) RP_MUST_CHECK;

/* Allowed effects since since_ms matching action, effect (< 0: any) and
 * playbook (NULL: any). */
rp_status store_guard_count(struct store *s, int64_t since_ms, const char *action, int effect,
                            const char *playbook, int64_t *out) RP_MUST_CHECK;

/* The distinct targets ("type:value") of effect in one run, as a JSON array. */
rp_status store_guard_run_targets(struct store *s, const char *run_id, int effect,
                                  json_t **out) RP_MUST_CHECK;

/* The kill switch: stopped or not, since when and by whom. */
rp_status store_guard_state_get(struct store *s, bool *stopped, int64_t *changed_ms, char *by,
                                size_t by_cap) RP_MUST_CHECK;
rp_status store_guard_state_set(struct store *s, bool stopped, const char *by,
                                int64_t ts_ms) RP_MUST_CHECK;

/* The audit chain: the last entry's seq and hash ("" and 0 when empty), and
 * appending one entry (the caller computed its hash with audit_hash). Inside
 * the batch that holds what it records. */
rp_status store_audit_last(struct store *s, int64_t *seq, char hash[65]) RP_MUST_CHECK;
rp_status store_audit_put(struct store *s, int64_t seq, int64_t ts_ms, const char *actor,
                          const char *kind, const char *detail, const char *prev_hash,
                          const char *hash) RP_MUST_CHECK;

/* Entries after seq in order, at most limit, as [{seq, ts_ms, actor, kind, detail,
 * prev_hash, hash}] with ts_ms an integer and detail the stored text. */
rp_status store_audit_rows(struct store *s, int64_t after_seq, size_t limit,
                           json_t **out) RP_MUST_CHECK;

/* Time-boxed containments: one row per contain that must be released at
 * until_ms by release_action with params. status: active, released, extended,
 * failed. */
rp_status store_containment_add(struct store *s, const char *id, const char *run_id,
                                const char *action, const char *release_action, json_t *params,
                                int64_t until_ms, int64_t ts_ms) RP_MUST_CHECK;
rp_status store_containment_due(struct store *s, int64_t now_ms, json_t **out) RP_MUST_CHECK;
rp_status store_containment_set(struct store *s, const char *id, const char *status,
                                int64_t until_ms, int64_t ts_ms) RP_MUST_CHECK;
rp_status store_containment_list_json(struct store *s, json_t **out) RP_MUST_CHECK;

/* --- source positions ------------------------------------------------------------------------ */

/* Where a connector source is in its feed (a JSON value it wrote): NULL in
 * *out when nothing is saved. Commits by itself outside a batch. */
rp_status store_source_cursor_get(struct store *s, const char *name, json_t **out) RP_MUST_CHECK;
rp_status store_source_cursor_put(struct store *s, const char *name, json_t *state,
                                  int64_t now_ms) RP_MUST_CHECK;

/* --- blocklists ------------------------------------------------------------------------------ */

/* Adds value (of type ip, domain, url, md5, sha1, sha256, email) to the named
 * list; expires_ms 0: never. Adding it again keeps the later expiry. Commits
 * by itself outside a batch. */
rp_status store_blocklist_add(struct store *s, const char *name, const char *type,
                              const char *value, int64_t expires_ms, const char *source,
                              int64_t now_ms) RP_MUST_CHECK;

/* Calls fn for each value of the list not expired at now_ms, in order, at most
 * limit. */
rp_status store_blocklist_each(struct store *s, const char *name, int64_t now_ms, size_t limit,
                               void (*fn)(void *ctx, const char *value), void *ctx) RP_MUST_CHECK;

/* --- post-mortems and KPIs (kpi/kpi.h, docs/kpis.md) ------------------------------------ */

/* Stores a post-mortem of case_id (checked by the caller): the root cause,
 * the lessons (text), the guard rails added after it (a JSON array of
 * strings), who wrote it and when. A case may have several. Inside a batch
 * or alone. */
rp_status store_postmortem_add(struct store *s, const char *case_id, const char *root_cause,
                               const char *lessons, json_t *guard_rails, const char *author,
                               int64_t created_ms) RP_MUST_CHECK;

/* The post-mortems of one case (its full id), oldest first, as
 * [{root_cause, lessons, guard_rails, author, created}]. */
rp_status store_postmortem_list_json(struct store *s, const char *case_id,
                                     json_t **out) RP_MUST_CHECK;

/* One case as the KPIs read it. The strings are the backend's, valid only
 * during the callback. */
struct store_kpi_case {
    const char *id;
    const char *kind;
    const char *source;
    const char *status;
    int severity;
    int64_t detected_ms, created_ms, acknowledged_ms, contained_ms, resolved_ms; /* 0: not yet */
    bool human;            /* a person acted on it (timeline) up to its resolution */
    bool postmortem;       /* it has at least one post-mortem */
    const char *playbooks; /* distinct playbooks of its live runs, comma-separated; "" none */
};

typedef rp_status (*store_kpi_case_fn)(void *arg, const struct store_kpi_case *c);

/* Calls fn for each case created in [from_ms, to_ms), oldest first, at most
 * limit of them; stops at the first status other than RP_OK that fn returns
 * and returns it. Read-only. */
rp_status store_kpi_cases(struct store *s, int64_t from_ms, int64_t to_ms, size_t limit,
                          store_kpi_case_fn fn, void *arg) RP_MUST_CHECK;

/* The aggregate queries of the KPIs (docs/kpis.md), over [a, b) unless said:
 *   ACTIONS     [{action, effect, ok, n}]: action calls of live runs that ended
 *   PROMPTS     [{status, wait}]: prompts asked; wait in ms for answered ones
 *   GUARD       [{kind, verdict, rule, n}]: guard decisions from the audit
 *   POSTMORTEMS [{written, cases, guard_rails}]: post-mortems written
 *   OPEN_CASES  [{id, title, status, severity, assignee, kind, source, created}]:
 *               open cases of severity >= a (b unused), worst and oldest first
 * At most limit rows, as a new array in *out. */
enum store_kpi_query {
    STORE_KPI_ACTIONS,
    STORE_KPI_PROMPTS,
    STORE_KPI_GUARD,
    STORE_KPI_POSTMORTEMS,
    STORE_KPI_OPEN_CASES,
};

rp_status store_kpi_rows_json(struct store *s, enum store_kpi_query q, int64_t a, int64_t b,
                              size_t limit, json_t **out) RP_MUST_CHECK;

/* The backend's last error text (for logs), never NULL. */
const char *store_errmsg(struct store *s);

#endif

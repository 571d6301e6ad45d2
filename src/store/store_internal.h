/*
 * store_internal.h: what the store's backends share with store.c, and nothing
 * else includes.
 *
 * A backend is a table of functions (struct store_backend), one per operation of
 * store.h that takes a handle, and an open function. Each backend's handle
 * starts with a struct store whose ops point at its table, so that store.c can
 * dispatch on any handle without knowing the backend, and the backend can cast
 * the handle back to its own type. The entries have the contracts of the
 * store.h functions of the same name; store.c has already checked that the
 * handle and the pointers the contract requires are not NULL.
 */
#ifndef RP_STORE_STORE_INTERNAL_H
#define RP_STORE_STORE_INTERNAL_H

#include "store/store.h"

struct store_backend {
    const char *name; /* "sqlite", for messages */

    void (*close)(struct store *s);
    rp_status (*schema_version)(struct store *s, int *out);

    rp_status (*begin)(struct store *s);
    rp_status (*commit)(struct store *s);
    void (*rollback)(struct store *s);

    rp_status (*alert_put)(struct store *s, const struct store_alert *a);
    rp_status (*alert_exists)(struct store *s, const char *id, bool *found);

    rp_status (*case_find_open)(struct store *s, const char *fingerprint, int64_t since_ms,
                                struct case_row *out, bool *found);
    rp_status (*case_get)(struct store *s, const char *id_or_prefix, struct case_row *out);
    rp_status (*case_insert)(struct store *s, const struct case_row *c);
    rp_status (*case_save)(struct store *s, const struct case_row *c);

    rp_status (*timeline_add)(struct store *s, const char *case_id, int64_t ts_ms,
                              const char *actor, const char *event, json_t *detail);

    rp_status (*case_list_json)(struct store *s, int status, size_t limit, json_t **out);
    rp_status (*case_show_json)(struct store *s, const char *id_or_prefix, json_t **out);

    rp_status (*deadletter_add)(struct store *s, int64_t ts_ms, const char *channel,
                                const char *location, const char *reason, const char *raw,
                                size_t raw_len);
    rp_status (*deadletter_count)(struct store *s, int64_t *out);

    rp_status (*token_put)(struct store *s, const char *name, const char *hash_hex,
                           const char *role, int64_t created_ms);
    rp_status (*token_find)(struct store *s, const char *hash_hex, char *name, char *role);
    rp_status (*token_count)(struct store *s, int64_t *out);
    rp_status (*token_list_json)(struct store *s, json_t **out);
    rp_status (*token_revoke)(struct store *s, const char *name);

    rp_status (*playbook_put)(struct store *s, const char *name, const char *sha256,
                              const char *text, size_t len, int64_t now_ms, int *version,
                              bool *created);
    rp_status (*playbook_text)(struct store *s, const char *name, int version, char **text,
                               size_t *len, int *version_out);
    rp_status (*run_insert)(struct store *s, const struct store_run *r);
    rp_status (*run_dedup_exists)(struct store *s, const char *key, bool *found);
    rp_status (*run_status)(struct store *s, const char *id, const char *status, const char *error,
                            int64_t now_ms);
    rp_status (*run_event_add)(struct store *s, const char *run_id, int64_t seq, int64_t ts_ms,
                               const char *type, const char *key, json_t *data);
    rp_status (*run_events)(struct store *s, const char *run_id, json_t **out);
    rp_status (*run_unfinished)(struct store *s, json_t **out);
    rp_status (*run_list_json)(struct store *s, const char *status, size_t limit, json_t **out);
    rp_status (*run_show_json)(struct store *s, const char *id_or_prefix, json_t **out);
    rp_status (*prompt_put)(struct store *s, const struct store_prompt *p);
    rp_status (*prompt_get_json)(struct store *s, const char *id, json_t **out);
    rp_status (*prompt_answer)(struct store *s, const char *id, const char *option, const char *by,
                               int64_t now_ms);
    rp_status (*prompt_expire)(struct store *s, const char *id, int64_t now_ms);
    rp_status (*prompt_answered_since)(struct store *s, int64_t since_ms, json_t **out);
    rp_status (*prompt_list_json)(struct store *s, const char *status, size_t limit, json_t **out);

    rp_status (*secret_put)(struct store *s, const char *name, const unsigned char *nonce,
                            size_t nonce_len, const unsigned char *ct, size_t ct_len,
                            int64_t updated_ms);
    rp_status (*secret_get)(struct store *s, const char *name, unsigned char **nonce,
                            size_t *nonce_len, unsigned char **ct, size_t *ct_len);
    rp_status (*secret_list_json)(struct store *s, json_t **out);
    rp_status (*secret_remove)(struct store *s, const char *name);

    rp_status (*guard_action_add)(struct store *s, int64_t ts_ms, const char *run_id,
                                  const char *playbook, const char *action, int effect,
                                  json_t *targets);
    rp_status (*guard_count)(struct store *s, int64_t since_ms, const char *action, int effect,
                             const char *playbook, int64_t *out);
    rp_status (*guard_run_targets)(struct store *s, const char *run_id, int effect, json_t **out);
    rp_status (*guard_state_get)(struct store *s, bool *stopped, int64_t *changed_ms, char *by,
                                 size_t by_cap);
    rp_status (*guard_state_set)(struct store *s, bool stopped, const char *by, int64_t ts_ms);
    rp_status (*audit_last)(struct store *s, int64_t *seq, char hash[65]);
    rp_status (*audit_put)(struct store *s, int64_t seq, int64_t ts_ms, const char *actor,
                           const char *kind, const char *detail, const char *prev_hash,
                           const char *hash);
    rp_status (*audit_rows)(struct store *s, int64_t after_seq, size_t limit, json_t **out);
    rp_status (*containment_add)(struct store *s, const char *id, const char *run_id,
                                 const char *action, const char *release_action, json_t *params,
                                 int64_t until_ms, int64_t ts_ms);
    rp_status (*containment_due)(struct store *s, int64_t now_ms, json_t **out);
    rp_status (*containment_set)(struct store *s, const char *id, const char *status,
                                 int64_t until_ms, int64_t ts_ms);
    rp_status (*containment_list_json)(struct store *s, json_t **out);
    rp_status (*blocklist_add)(struct store *s, const char *name, const char *type,
                               const char *value, int64_t expires_ms, const char *source,
                               int64_t now_ms);
    rp_status (*source_cursor_get)(struct store *s, const char *name, json_t **out);
    rp_status (*source_cursor_put)(struct store *s, const char *name, json_t *state,
                                   int64_t now_ms);
    rp_status (*blocklist_each)(struct store *s, const char *name, int64_t now_ms, size_t limit,
                                void (*fn)(void *ctx, const char *value), void *ctx);

    rp_status (*postmortem_add)(struct store *s, const char *case_id, const char *root_cause,
                                const char *lessons, json_t *guard_rails, const char *author,
                                int64_t created_ms);
    rp_status (*postmortem_list_json)(struct store *s, const char *case_id, json_t **out);
    rp_status (*kpi_cases)(struct store *s, int64_t from_ms, int64_t to_ms, size_t limit,
                           store_kpi_case_fn fn, void *arg);
    rp_status (*kpi_rows_json)(struct store *s, enum store_kpi_query q, int64_t a, int64_t b,
                               size_t limit, json_t **out);

    const char *(*errmsg)(struct store *s);
};

/* The first member of every backend's handle. */
struct store {
    const struct store_backend *ops;
};

/* Size of the role buffer store_token_find() fills (see store.h). */
#define STORE_TOKEN_ROLE_MAX 32

/* --- the SQLite backend (store/sqlite.c) --------------------------------------------- */

/* Opens path as store_open() does. */
rp_status store_sqlite_open(const char *path, struct store **out,
                            struct rp_error *err) RP_MUST_CHECK;

/* The number of SQLite migrations this binary knows. */
int store_sqlite_schema_latest(void);

#endif

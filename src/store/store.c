/*
 * store.c: the store's front door. It picks the backend from the database path
 * (a postgres:// URL or a SQLite file), then hands every call to the backend
 * through its table of functions (store_internal.h). It also builds the JSON
 * summary of a case row, which is the same whatever the backend.
 *
 * Threads: no state of its own; a handle belongs to one thread at a time (see
 * store.h). Failures are the backend's, passed through unchanged.
 */
#include "store/store.h"

#include "core/time.h"
#include "model/alert.h"
#include "store/store_internal.h"

#include <stdlib.h>
#include <string.h>

const char *store_default_path(const char *flag)
{
    if (flag != NULL)
        return flag;
    const char *env = getenv("RIPOSTE_DB");
    if (env != NULL && env[0] != '\0')
        return env;
    return "riposte.db";
}

static bool has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

rp_status store_open(const char *path, struct store **out, struct rp_error *err)
{
    RP_ASSERT(path != NULL && out != NULL);
    *out = NULL;
    if (path[0] == '\0')
        return rp_error_set(err, RP_E_USAGE, "empty database path");
    if (has_prefix(path, "postgres://") || has_prefix(path, "postgresql://"))
        return rp_error_set(err, RP_E_USAGE, "%s: PostgreSQL backend not built yet", path);
    return store_sqlite_open(path, out, err);
}

void store_close(struct store *s)
{
    if (s != NULL)
        s->ops->close(s);
}

int store_schema_version_latest(void)
{
    return store_sqlite_schema_latest();
}

rp_status store_schema_version(struct store *s, int *out)
{
    RP_ASSERT(s != NULL && out != NULL);
    return s->ops->schema_version(s, out);
}

rp_status store_begin(struct store *s)
{
    RP_ASSERT(s != NULL);
    return s->ops->begin(s);
}

rp_status store_commit(struct store *s)
{
    RP_ASSERT(s != NULL);
    return s->ops->commit(s);
}

void store_rollback(struct store *s)
{
    RP_ASSERT(s != NULL);
    s->ops->rollback(s);
}

rp_status store_alert_put(struct store *s, const struct store_alert *a)
{
    RP_ASSERT(s != NULL && a != NULL && a->id != NULL);
    return s->ops->alert_put(s, a);
}

rp_status store_alert_exists(struct store *s, const char *id, bool *found)
{
    RP_ASSERT(s != NULL && id != NULL && found != NULL);
    return s->ops->alert_exists(s, id, found);
}

rp_status store_case_find_open(struct store *s, const char *fingerprint, int64_t since_ms,
                               struct case_row *out, bool *found)
{
    RP_ASSERT(s != NULL && fingerprint != NULL && out != NULL && found != NULL);
    return s->ops->case_find_open(s, fingerprint, since_ms, out, found);
}

rp_status store_case_get(struct store *s, const char *id_or_prefix, struct case_row *out)
{
    RP_ASSERT(s != NULL && id_or_prefix != NULL && out != NULL);
    return s->ops->case_get(s, id_or_prefix, out);
}

rp_status store_case_insert(struct store *s, const struct case_row *c)
{
    RP_ASSERT(s != NULL && c != NULL);
    return s->ops->case_insert(s, c);
}

rp_status store_case_save(struct store *s, const struct case_row *c)
{
    RP_ASSERT(s != NULL && c != NULL);
    return s->ops->case_save(s, c);
}

rp_status store_timeline_add(struct store *s, const char *case_id, int64_t ts_ms, const char *actor,
                             const char *event, json_t *detail)
{
    RP_ASSERT(s != NULL && case_id != NULL && actor != NULL && event != NULL);
    return s->ops->timeline_add(s, case_id, ts_ms, actor, event, detail);
}

rp_status store_case_list_json(struct store *s, int status, size_t limit, json_t **out)
{
    RP_ASSERT(s != NULL && out != NULL);
    *out = NULL;
    return s->ops->case_list_json(s, status, limit, out);
}

rp_status store_case_show_json(struct store *s, const char *id_or_prefix, json_t **out)
{
    RP_ASSERT(s != NULL && id_or_prefix != NULL && out != NULL);
    *out = NULL;
    return s->ops->case_show_json(s, id_or_prefix, out);
}

rp_status store_deadletter_add(struct store *s, int64_t ts_ms, const char *channel,
                               const char *location, const char *reason, const char *raw,
                               size_t raw_len)
{
    RP_ASSERT(s != NULL && channel != NULL && location != NULL && reason != NULL);
    RP_ASSERT(raw != NULL || raw_len == 0);
    return s->ops->deadletter_add(s, ts_ms, channel, location, reason, raw, raw_len);
}

rp_status store_deadletter_count(struct store *s, int64_t *out)
{
    RP_ASSERT(s != NULL && out != NULL);
    return s->ops->deadletter_count(s, out);
}

rp_status store_token_put(struct store *s, const char *name, const char *hash_hex, const char *role,
                          int64_t created_ms)
{
    RP_ASSERT(s != NULL && name != NULL && hash_hex != NULL && role != NULL);
    return s->ops->token_put(s, name, hash_hex, role, created_ms);
}

rp_status store_token_find(struct store *s, const char *hash_hex, char *name, char *role)
{
    RP_ASSERT(s != NULL && hash_hex != NULL && name != NULL && role != NULL);
    return s->ops->token_find(s, hash_hex, name, role);
}

rp_status store_token_count(struct store *s, int64_t *out)
{
    RP_ASSERT(s != NULL && out != NULL);
    return s->ops->token_count(s, out);
}

rp_status store_token_list_json(struct store *s, json_t **out)
{
    RP_ASSERT(s != NULL && out != NULL);
    *out = NULL;
    return s->ops->token_list_json(s, out);
}

rp_status store_token_revoke(struct store *s, const char *name)
{
    RP_ASSERT(s != NULL && name != NULL);
    return s->ops->token_revoke(s, name);
}

/* --- playbooks, runs, prompts: see store.h ---------------------------------------------- */

rp_status store_playbook_put(struct store *s, const char *name, const char *sha256,
                             const char *text, size_t len, int64_t now_ms, int *version,
                             bool *created)
{
    RP_ASSERT(s != NULL && name != NULL && sha256 != NULL && text != NULL && version != NULL &&
              created != NULL);
    return s->ops->playbook_put(s, name, sha256, text, len, now_ms, version, created);
}

rp_status store_playbook_text(struct store *s, const char *name, int version, char **text,
                              size_t *len, int *version_out)
{
    RP_ASSERT(s != NULL && name != NULL && text != NULL && len != NULL && version_out != NULL);
    return s->ops->playbook_text(s, name, version, text, len, version_out);
}

rp_status store_run_insert(struct store *s, const struct store_run *r)
{
    RP_ASSERT(s != NULL && r != NULL && r->id != NULL && r->playbook != NULL &&
              r->trigger != NULL && r->mode != NULL && r->context != NULL);
    return s->ops->run_insert(s, r);
}

rp_status store_run_dedup_exists(struct store *s, const char *key, bool *found)
{
    RP_ASSERT(s != NULL && key != NULL && found != NULL);
    return s->ops->run_dedup_exists(s, key, found);
}

rp_status store_run_status(struct store *s, const char *id, const char *status, const char *error,
                           int64_t now_ms)
{
    RP_ASSERT(s != NULL && id != NULL && status != NULL);
    return s->ops->run_status(s, id, status, error, now_ms);
}

rp_status store_run_event_add(struct store *s, const char *run_id, int64_t seq, int64_t ts_ms,
                              const char *type, const char *key, json_t *data)
{
    RP_ASSERT(s != NULL && run_id != NULL && type != NULL);
    return s->ops->run_event_add(s, run_id, seq, ts_ms, type, key, data);
}

rp_status store_run_events(struct store *s, const char *run_id, json_t **out)
{
    RP_ASSERT(s != NULL && run_id != NULL && out != NULL);
    return s->ops->run_events(s, run_id, out);
}

rp_status store_run_unfinished(struct store *s, json_t **out)
{
    RP_ASSERT(s != NULL && out != NULL);
    return s->ops->run_unfinished(s, out);
}

rp_status store_run_list_json(struct store *s, const char *status, size_t limit, json_t **out)
{
    RP_ASSERT(s != NULL && out != NULL);
    return s->ops->run_list_json(s, status, limit, out);
}

rp_status store_run_show_json(struct store *s, const char *id_or_prefix, json_t **out)
{
    RP_ASSERT(s != NULL && id_or_prefix != NULL && out != NULL);
    return s->ops->run_show_json(s, id_or_prefix, out);
}

rp_status store_prompt_put(struct store *s, const struct store_prompt *p)
{
    RP_ASSERT(s != NULL && p != NULL && p->id != NULL && p->run_id != NULL && p->step_key != NULL &&
              p->question != NULL && p->options != NULL);
    return s->ops->prompt_put(s, p);
}

rp_status store_prompt_get_json(struct store *s, const char *id, json_t **out)
{
    RP_ASSERT(s != NULL && id != NULL && out != NULL);
    return s->ops->prompt_get_json(s, id, out);
}

rp_status store_prompt_answer(struct store *s, const char *id, const char *option, const char *by,
                              int64_t now_ms)
{
    RP_ASSERT(s != NULL && id != NULL && option != NULL && by != NULL);
    return s->ops->prompt_answer(s, id, option, by, now_ms);
}

rp_status store_prompt_expire(struct store *s, const char *id, int64_t now_ms)
{
    RP_ASSERT(s != NULL && id != NULL);
    return s->ops->prompt_expire(s, id, now_ms);
}

rp_status store_prompt_answered_since(struct store *s, int64_t since_ms, json_t **out)
{
    RP_ASSERT(s != NULL && out != NULL);
    return s->ops->prompt_answered_since(s, since_ms, out);
}

rp_status store_prompt_list_json(struct store *s, const char *status, size_t limit, json_t **out)
{
    RP_ASSERT(s != NULL && out != NULL);
    return s->ops->prompt_list_json(s, status, limit, out);
}

rp_status store_secret_put(struct store *s, const char *name, const unsigned char *nonce,
                           size_t nonce_len, const unsigned char *ct, size_t ct_len,
                           int64_t updated_ms)
{
    RP_ASSERT(s != NULL && name != NULL && nonce != NULL && ct != NULL);
    return s->ops->secret_put(s, name, nonce, nonce_len, ct, ct_len, updated_ms);
}

rp_status store_secret_get(struct store *s, const char *name, unsigned char **nonce,
                           size_t *nonce_len, unsigned char **ct, size_t *ct_len)
{
    RP_ASSERT(s != NULL && name != NULL && nonce != NULL && nonce_len != NULL && ct != NULL &&
              ct_len != NULL);
    *nonce = NULL;
    *ct = NULL;
    return s->ops->secret_get(s, name, nonce, nonce_len, ct, ct_len);
}

rp_status store_secret_list_json(struct store *s, json_t **out)
{
    RP_ASSERT(s != NULL && out != NULL);
    *out = NULL;
    return s->ops->secret_list_json(s, out);
}

rp_status store_secret_remove(struct store *s, const char *name)
{
    RP_ASSERT(s != NULL && name != NULL);
    return s->ops->secret_remove(s, name);
}

/* --- guard rails: see store.h ------------------------------------------------------------ */

rp_status store_guard_action_add(struct store *s, int64_t ts_ms, const char *run_id,
                                 const char *playbook, const char *action, int effect,
                                 json_t *targets)
{
    RP_ASSERT(s != NULL && run_id != NULL && playbook != NULL && action != NULL);
    return s->ops->guard_action_add(s, ts_ms, run_id, playbook, action, effect, targets);
}

rp_status store_guard_count(struct store *s, int64_t since_ms, const char *action, int effect,
                            const char *playbook, int64_t *out)
{
    RP_ASSERT(s != NULL && out != NULL);
    return s->ops->guard_count(s, since_ms, action, effect, playbook, out);
}

rp_status store_guard_run_targets(struct store *s, const char *run_id, int effect, json_t **out)
{
    RP_ASSERT(s != NULL && run_id != NULL && out != NULL);
    return s->ops->guard_run_targets(s, run_id, effect, out);
}

rp_status store_guard_state_get(struct store *s, bool *stopped, int64_t *changed_ms, char *by,
                                size_t by_cap)
{
    RP_ASSERT(s != NULL && stopped != NULL && changed_ms != NULL);
    return s->ops->guard_state_get(s, stopped, changed_ms, by, by_cap);
}

rp_status store_guard_state_set(struct store *s, bool stopped, const char *by, int64_t ts_ms)
{
    RP_ASSERT(s != NULL && by != NULL);
    return s->ops->guard_state_set(s, stopped, by, ts_ms);
}

rp_status store_audit_last(struct store *s, int64_t *seq, char hash[65])
{
    RP_ASSERT(s != NULL && seq != NULL && hash != NULL);
    return s->ops->audit_last(s, seq, hash);
}

rp_status store_audit_put(struct store *s, int64_t seq, int64_t ts_ms, const char *actor,
                          const char *kind, const char *detail, const char *prev_hash,
                          const char *hash)
{
    RP_ASSERT(s != NULL && actor != NULL && kind != NULL && detail != NULL && prev_hash != NULL &&
              hash != NULL);
    return s->ops->audit_put(s, seq, ts_ms, actor, kind, detail, prev_hash, hash);
}

rp_status store_audit_rows(struct store *s, int64_t after_seq, size_t limit, json_t **out)
{
    RP_ASSERT(s != NULL && out != NULL);
    return s->ops->audit_rows(s, after_seq, limit, out);
}

rp_status store_containment_add(struct store *s, const char *id, const char *run_id,
                                const char *action, const char *release_action, json_t *params,
                                int64_t until_ms, int64_t ts_ms)
{
    RP_ASSERT(s != NULL && id != NULL && run_id != NULL && action != NULL &&
              release_action != NULL);
    return s->ops->containment_add(s, id, run_id, action, release_action, params, until_ms, ts_ms);
}

rp_status store_containment_due(struct store *s, int64_t now_ms, json_t **out)
{
    RP_ASSERT(s != NULL && out != NULL);
    return s->ops->containment_due(s, now_ms, out);
}

rp_status store_containment_set(struct store *s, const char *id, const char *status,
                                int64_t until_ms, int64_t ts_ms)
{
    RP_ASSERT(s != NULL && id != NULL && status != NULL);
    return s->ops->containment_set(s, id, status, until_ms, ts_ms);
}

rp_status store_containment_list_json(struct store *s, json_t **out)
{
    RP_ASSERT(s != NULL && out != NULL);
    return s->ops->containment_list_json(s, out);
}

rp_status store_source_cursor_get(struct store *s, const char *name, json_t **out)
{
    RP_ASSERT(s != NULL && name != NULL && out != NULL);
    return s->ops->source_cursor_get(s, name, out);
}

rp_status store_source_cursor_put(struct store *s, const char *name, json_t *state, int64_t now_ms)
{
    RP_ASSERT(s != NULL && name != NULL && state != NULL);
    return s->ops->source_cursor_put(s, name, state, now_ms);
}

rp_status store_blocklist_add(struct store *s, const char *name, const char *type,
                              const char *value, int64_t expires_ms, const char *source,
                              int64_t now_ms)
{
    RP_ASSERT(s != NULL && name != NULL && type != NULL && value != NULL);
    return s->ops->blocklist_add(s, name, type, value, expires_ms, source, now_ms);
}

rp_status store_blocklist_each(struct store *s, const char *name, int64_t now_ms, size_t limit,
                               void (*fn)(void *ctx, const char *value), void *ctx)
{
    RP_ASSERT(s != NULL && name != NULL && fn != NULL);
    return s->ops->blocklist_each(s, name, now_ms, limit, fn, ctx);
}

/* --- post-mortems and KPIs: see store.h ------------------------------------------------ */

rp_status store_postmortem_add(struct store *s, const char *case_id, const char *root_cause,
                               const char *lessons, json_t *guard_rails, const char *author,
                               int64_t created_ms)
{
    RP_ASSERT(s != NULL && case_id != NULL && root_cause != NULL && lessons != NULL &&
              json_is_array(guard_rails) && author != NULL);
    return s->ops->postmortem_add(s, case_id, root_cause, lessons, guard_rails, author, created_ms);
}

rp_status store_postmortem_list_json(struct store *s, const char *case_id, json_t **out)
{
    RP_ASSERT(s != NULL && case_id != NULL && out != NULL);
    *out = NULL;
    return s->ops->postmortem_list_json(s, case_id, out);
}

rp_status store_kpi_cases(struct store *s, int64_t from_ms, int64_t to_ms, size_t limit,
                          store_kpi_case_fn fn, void *arg)
{
    RP_ASSERT(s != NULL && fn != NULL);
    return s->ops->kpi_cases(s, from_ms, to_ms, limit, fn, arg);
}

rp_status store_kpi_rows_json(struct store *s, enum store_kpi_query q, int64_t a, int64_t b,
                              size_t limit, json_t **out)
{
    RP_ASSERT(s != NULL && out != NULL);
    *out = NULL;
    return s->ops->kpi_rows_json(s, q, a, b, limit, out);
}

const char *store_errmsg(struct store *s)
{
    if (s == NULL)
        return "no store";
    return s->ops->errmsg(s);
}

/* --- the JSON summary of a case ------------------------------------------------------- */

/* An RFC 3339 string, or null for 0 ("not yet"). */
static json_t *time_json(int64_t ms)
{
    if (ms == 0)
        return json_null();
    char buf[TIME_RFC3339_LEN];
    time_format_rfc3339(ms, buf);
    return json_string(buf);
}

/* Sets key to v (stealing it); false when v is NULL or the set fails. */
static bool put(json_t *o, const char *key, json_t *v)
{
    return json_object_set_new(o, key, v) == 0;
}

/* Returns a new object, or NULL when memory runs out or a text field is not
 * UTF-8 (which the normalizer rules out for everything the store is given). */
json_t *store_case_row_json(const struct case_row *c)
{
    RP_ASSERT(c != NULL);
    RP_ASSERT((int)c->status >= 0 && c->status < CASE_STATUS_COUNT);
    json_t *o = json_object();
    if (o == NULL)
        return NULL;
    bool ok = put(o, "id", json_string(c->id));
    ok = ok && put(o, "title", json_string(c->title));
    ok = ok && put(o, "kind", json_string(c->kind));
    ok = ok && put(o, "source", json_string(c->source));
    ok = ok && put(o, "fingerprint", json_string(c->fingerprint));
    ok = ok && put(o, "status", json_string(case_status_name(c->status)));
    ok = ok && put(o, "severity", json_integer(c->severity));
    ok = ok && put(o, "severity_label", json_string(severity_label(c->severity)));
    ok = ok && put(o, "assignee", c->assignee[0] ? json_string(c->assignee) : json_null());
    ok = ok && put(o, "alert_count", json_integer(c->alert_count));
    ok = ok && put(o, "detected", time_json(c->detected_ms));
    ok = ok && put(o, "created", time_json(c->created_ms));
    ok = ok && put(o, "updated", time_json(c->updated_ms));
    ok = ok && put(o, "first_seen", time_json(c->first_seen_ms));
    ok = ok && put(o, "last_seen", time_json(c->last_seen_ms));
    ok = ok && put(o, "acknowledged", time_json(c->acknowledged_ms));
    ok = ok && put(o, "contained", time_json(c->contained_ms));
    ok = ok && put(o, "resolved", time_json(c->resolved_ms));
    ok = ok && put(o, "closed", time_json(c->closed_ms));
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

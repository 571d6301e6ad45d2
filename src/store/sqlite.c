/*
 * sqlite.c: the SQLite backend of the store, the embedded default (one file,
 * WAL mode). docs/internals/store.md explains the schema and each choice below.
 *
 * One handle is one connection, opened without SQLite's mutexes because a handle
 * belongs to one thread at a time (store.h); WAL lets the daemon's writer, its
 * API readers and a CLI process use the file side by side. Every statement is
 * prepared once per handle, on first use, and reused (reset and cleared after
 * each call), so the ingest path never parses SQL.
 *
 * Durability: synchronous=FULL, so a COMMIT that returned has reached the disk
 * and survives a crash or a power loss; a write batch (store_begin/commit) pays
 * one fsync for all its rows.
 *
 * Failures: SQLite's errors become RP_E_STORE (RP_E_NOMEM, RP_E_EXISTS for a
 * taken key) with the text kept for store_errmsg(). The handle owns its
 * connection, its statements and its last error text; nothing else.
 */
#include "core/limits.h"
#include "core/log.h"
#include "core/time.h"
#include "model/case.h"
#include "store/store_internal.h"

#include <ctype.h>
#include <sqlite3.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Page cache per handle, in KiB (a negative cache_size is KiB for SQLite). The
 * writer's hot pages are the right edges of the id indexes and the inner pages
 * of the observable index, whose inserts land at random: 64 MiB keeps those of
 * tens of millions of observables in memory. Readers fill it only as they read. */
#define SQ_CACHE_KIB 65536

/* Timeline details up to this size are serialised on the stack; longer ones
 * (rare: long notes) are allocated. */
#define SQ_DETAIL_STACK 512

/* The statuses of an open case, as case_status_name() spells them; the partial
 * index cases_open and the query that uses it must name the same ones. */
#define SQ_OPEN_STATUSES "('new', 'triage', 'contained')"

/* --- schema --------------------------------------------------------------------------- */

/* Migration i brings the schema from version i to i + 1. Never edit one that has
 * shipped; append a new one. The runner records the version in meta. */
static const char *const MIGRATIONS[] = {
    /* 1: the first schema */
    "CREATE TABLE meta ("
    "  key TEXT PRIMARY KEY NOT NULL,"
    "  value"
    ") WITHOUT ROWID;"
    "INSERT INTO meta (key, value) VALUES ('application', 'riposte');"

    /* large rows (raw and json): a rowid table, with the ULID's unique index */
    "CREATE TABLE alerts ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  case_id TEXT,"
    "  fingerprint TEXT,"
    "  source TEXT,"
    "  kind TEXT,"
    "  severity INTEGER,"
    "  event_ms INTEGER,"
    "  received_ms INTEGER,"
    "  raw BLOB,"
    "  json TEXT"
    ");"

    /* clustered by case: a case's alerts are one range, newest last */
    "CREATE TABLE case_alerts ("
    "  case_id TEXT NOT NULL,"
    "  alert_id TEXT NOT NULL,"
    "  added_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (case_id, alert_id)"
    ") WITHOUT ROWID;"

    /* the key is the (type, value) index: one b-tree, not a table plus an index */
    "CREATE TABLE alert_observables ("
    "  alert_id TEXT NOT NULL,"
    "  type TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  role TEXT NOT NULL,"
    "  PRIMARY KEY (type, value, alert_id, role)"
    ") WITHOUT ROWID;"

    "CREATE TABLE cases ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  fingerprint TEXT NOT NULL,"
    "  title TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  source TEXT NOT NULL,"
    "  assignee TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  severity INTEGER NOT NULL,"
    "  alert_count INTEGER NOT NULL,"
    "  detected_ms INTEGER NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL,"
    "  first_seen_ms INTEGER NOT NULL,"
    "  last_seen_ms INTEGER NOT NULL,"
    "  acknowledged_ms INTEGER NOT NULL,"
    "  contained_ms INTEGER NOT NULL,"
    "  resolved_ms INTEGER NOT NULL,"
    "  closed_ms INTEGER NOT NULL"
    ") WITHOUT ROWID;"
    /* only open cases: small, and a closed case leaves it */
    "CREATE INDEX cases_open ON cases (fingerprint, last_seen_ms)"
    "  WHERE status IN " SQ_OPEN_STATUSES ";"

    "CREATE TABLE timeline ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  case_id TEXT NOT NULL,"
    "  ts_ms INTEGER NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  event TEXT NOT NULL,"
    "  detail TEXT"
    ");"
    "CREATE INDEX timeline_case ON timeline (case_id, id);"

    "CREATE TABLE deadletters ("
    "  id INTEGER PRIMARY KEY,"
    "  ts_ms INTEGER NOT NULL,"
    "  channel TEXT NOT NULL,"
    "  location TEXT NOT NULL,"
    "  reason TEXT NOT NULL,"
    "  raw BLOB"
    ");"

    "CREATE TABLE tokens ("
    "  name TEXT PRIMARY KEY NOT NULL,"
    "  hash TEXT NOT NULL UNIQUE,"
    "  role TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL"
    ") WITHOUT ROWID;",

    /* 2: playbooks, runs and their event logs, prompts */
    "CREATE TABLE playbooks ("
    "  name TEXT NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  sha256 TEXT NOT NULL,"
    "  text TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (name, version),"
    "  UNIQUE (name, sha256)"
    ");"

    "CREATE TABLE runs ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  playbook TEXT NOT NULL,"
    "  version INTEGER NOT NULL,"
    "  trigger TEXT NOT NULL,"
    "  dedup_key TEXT UNIQUE," /* NULLs are distinct: manual runs have none */
    "  alert_id TEXT,"
    "  case_id TEXT,"
    "  mode TEXT NOT NULL,"
    "  context TEXT NOT NULL,"
    "  status TEXT NOT NULL,"
    "  error TEXT,"
    "  created_ms INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL,"
    "  finished_ms INTEGER"
    ");"
    /* recovery reads the unfinished ones at every start */
    "CREATE INDEX runs_unfinished ON runs (status) WHERE status IN ('running', 'waiting');"

    /* the log: appended in groups, read back whole on recovery and by run-show */
    "CREATE TABLE run_events ("
    "  run_id TEXT NOT NULL,"
    "  seq INTEGER NOT NULL,"
    "  ts_ms INTEGER NOT NULL,"
    "  type TEXT NOT NULL,"
    "  key TEXT,"
    "  data TEXT,"
    "  PRIMARY KEY (run_id, seq)"
    ") WITHOUT ROWID;"

    "CREATE TABLE prompts ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  run_id TEXT NOT NULL,"
    "  step_key TEXT NOT NULL,"
    "  to_addr TEXT,"
    "  role TEXT,"
    "  question TEXT NOT NULL,"
    "  options TEXT NOT NULL,"
    "  default_option TEXT,"
    "  created_ms INTEGER NOT NULL,"
    "  deadline_ms INTEGER NOT NULL,"
    "  status TEXT NOT NULL DEFAULT 'open',"
    "  answer TEXT,"
    "  answered_by TEXT,"
    "  answered_ms INTEGER"
    ");"
    "CREATE INDEX prompts_answered ON prompts (answered_ms) WHERE answered_ms IS NOT NULL;",

    /* 3: the secret store (connect/secrets.c): ciphertexts only, never a key */
    "CREATE TABLE secrets ("
    "  name TEXT PRIMARY KEY NOT NULL,"
    "  nonce BLOB NOT NULL,"
    "  ciphertext BLOB NOT NULL,"
    "  updated_ms INTEGER NOT NULL"
    ") WITHOUT ROWID;",

    /* 4: the guard rails: allowed effects (budgets, blast radius), the kill
     * switch, the audit chain, time-boxed containments */
    "CREATE TABLE guard_actions ("
    "  id INTEGER PRIMARY KEY,"
    "  ts_ms INTEGER NOT NULL,"
    "  run_id TEXT NOT NULL,"
    "  playbook TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  effect INTEGER NOT NULL"
    ");"
    "CREATE INDEX guard_actions_ts ON guard_actions (ts_ms);"
    "CREATE TABLE guard_targets ("
    "  action_id INTEGER NOT NULL,"
    "  run_id TEXT NOT NULL,"
    "  effect INTEGER NOT NULL,"
    "  target TEXT NOT NULL"
    ");"
    "CREATE INDEX guard_targets_run ON guard_targets (run_id, effect);"
    "CREATE TABLE guard_state ("
    "  id INTEGER PRIMARY KEY CHECK (id = 1),"
    "  stopped INTEGER NOT NULL,"
    "  changed_ms INTEGER NOT NULL,"
    "  changed_by TEXT NOT NULL"
    ");"
    "CREATE TABLE audit ("
    "  seq INTEGER PRIMARY KEY,"
    "  ts_ms INTEGER NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  detail TEXT NOT NULL,"
    "  prev_hash TEXT NOT NULL,"
    "  hash TEXT NOT NULL"
    ");"
    "CREATE TABLE containments ("
    "  id TEXT PRIMARY KEY NOT NULL,"
    "  run_id TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  release_action TEXT NOT NULL,"
    "  params TEXT NOT NULL,"
    "  until_ms INTEGER NOT NULL,"
    "  status TEXT NOT NULL DEFAULT 'active',"
    "  created_ms INTEGER NOT NULL,"
    "  updated_ms INTEGER NOT NULL"
    ");"
    "CREATE INDEX containments_due ON containments (until_ms) "
    "WHERE status IN ('active', 'extended');",

    /* 5: blocklists: indicators other tools read as plain-text lists */
    "CREATE TABLE blocklists ("
    "  name TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  type TEXT NOT NULL,"
    "  added_ms INTEGER NOT NULL,"
    "  expires_ms INTEGER,"
    "  source TEXT,"
    "  PRIMARY KEY (name, value)"
    ") WITHOUT ROWID;",
    /* 6: post-mortems (cli/case.c), and what the KPIs (kpi/kpi.c) look up per
     * case: its runs (by case and by alert) and the cases of a period */
    "CREATE TABLE postmortems ("
    "  id INTEGER PRIMARY KEY,"
    "  case_id TEXT NOT NULL,"
    "  root_cause TEXT NOT NULL,"
    "  lessons TEXT NOT NULL,"
    "  guard_rails TEXT NOT NULL," /* a JSON array of strings */
    "  author TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL"
    ");"
    "CREATE INDEX postmortems_case ON postmortems (case_id);"
    "CREATE INDEX postmortems_created ON postmortems (created_ms);"
    "CREATE INDEX runs_case ON runs (case_id) WHERE case_id IS NOT NULL;"
    "CREATE INDEX runs_alert ON runs (alert_id) WHERE alert_id IS NOT NULL;"
    "CREATE INDEX cases_created ON cases (created_ms);",

    /* 7: where each connector source is in its feed, across restarts */
    "CREATE TABLE source_cursors ("
    "  name TEXT PRIMARY KEY NOT NULL,"
    "  state TEXT NOT NULL,"
    "  updated_ms INTEGER NOT NULL"
    ") WITHOUT ROWID;",
};

#define SQ_MIGRATIONS ((int)(sizeof(MIGRATIONS) / sizeof(MIGRATIONS[0])))

int store_sqlite_schema_latest(void)
{
    return SQ_MIGRATIONS;
}

/* --- statements ----------------------------------------------------------------------- */

/* The columns of struct case_row, in the order case_read() and case_bind() use. */
#define CASE_COLS                                                                                  \
    "id, fingerprint, title, kind, source, assignee, status, severity, alert_count, "              \
    "detected_ms, created_ms, updated_ms, first_seen_ms, last_seen_ms, acknowledged_ms, "          \
    "contained_ms, resolved_ms, closed_ms"

enum stmt_id {
    ST_BEGIN,
    ST_COMMIT,
    ST_ROLLBACK,
    ST_SCHEMA_VERSION,
    ST_ALERT_INSERT,
    ST_OBSERVABLE_INSERT,
    ST_LINK_INSERT,
    ST_ALERT_EXISTS,
    ST_CASE_FIND_OPEN,
    ST_CASE_GET_RANGE,
    ST_CASE_INSERT,
    ST_CASE_SAVE,
    ST_TIMELINE_ADD,
    ST_CASE_LIST,
    ST_CASE_ALERTS,
    ST_CASE_ALERTS_COUNT,
    ST_TIMELINE_TAIL,
    ST_TIMELINE_COUNT,
    ST_DEADLETTER_ADD,
    ST_DEADLETTER_COUNT,
    ST_TOKEN_PUT,
    ST_TOKEN_FIND,
    ST_TOKEN_COUNT,
    ST_TOKEN_LIST,
    ST_TOKEN_REVOKE,
    ST_PLAYBOOK_FIND,
    ST_PLAYBOOK_MAXVER,
    ST_PLAYBOOK_INSERT,
    ST_PLAYBOOK_TEXT,
    ST_RUN_INSERT,
    ST_RUN_DEDUP,
    ST_RUN_STATUS,
    ST_RUN_EVENT_ADD,
    ST_RUN_EVENTS,
    ST_RUN_UNFINISHED,
    ST_RUN_LIST,
    ST_RUN_GET_RANGE,
    ST_PROMPT_PUT,
    ST_PROMPT_GET,
    ST_PROMPT_ANSWER,
    ST_PROMPT_EXPIRE,
    ST_PROMPT_LIST,
    ST_PROMPT_ANSWERED_SINCE,
    ST_SECRET_PUT,
    ST_SECRET_GET,
    ST_SECRET_LIST,
    ST_SECRET_REMOVE,
    ST_GUARD_ACTION_ADD,
    ST_GUARD_TARGET_ADD,
    ST_GUARD_COUNT,
    ST_GUARD_RUN_TARGETS,
    ST_GUARD_STATE_GET,
    ST_GUARD_STATE_SET,
    ST_AUDIT_LAST,
    ST_AUDIT_PUT,
    ST_AUDIT_ROWS,
    ST_CONTAINMENT_ADD,
    ST_CONTAINMENT_DUE,
    ST_CONTAINMENT_SET,
    ST_CONTAINMENT_LIST,
    ST_BLOCKLIST_ADD,
    ST_BLOCKLIST_LIST,
    ST_CURSOR_GET,
    ST_CURSOR_PUT,
    ST_POSTMORTEM_ADD,
    ST_POSTMORTEM_LIST,
    ST_KPI_CASES,
    ST_KPI_ACTIONS,
    ST_KPI_PROMPTS,
    ST_KPI_GUARD,
    ST_KPI_POSTMORTEMS,
    ST_KPI_OPEN_CASES,
    ST_COUNT
};

static const char *const SQL[ST_COUNT] = {
    [ST_BEGIN] = "BEGIN IMMEDIATE",
    [ST_COMMIT] = "COMMIT",
    [ST_ROLLBACK] = "ROLLBACK",
    [ST_SCHEMA_VERSION] = "SELECT value FROM meta WHERE key = 'schema_version'",
    [ST_ALERT_INSERT] = "INSERT INTO alerts (id, case_id, fingerprint, source, kind, severity, "
                        "event_ms, received_ms, raw, json) "
                        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    /* OR IGNORE: the same observable twice in one alert is one row */
    [ST_OBSERVABLE_INSERT] = "INSERT OR IGNORE INTO alert_observables (alert_id, type, value, "
                             "role) VALUES (?1, ?2, ?3, ?4)",
    [ST_LINK_INSERT] = "INSERT INTO case_alerts (case_id, alert_id, added_ms) VALUES (?1, ?2, ?3)",
    [ST_ALERT_EXISTS] = "SELECT 1 FROM alerts WHERE id = ?1",
    [ST_CASE_FIND_OPEN] =
        "SELECT " CASE_COLS " FROM cases "
        "WHERE fingerprint = ?1 AND status IN " SQ_OPEN_STATUSES " AND last_seen_ms >= ?2 "
        "ORDER BY last_seen_ms DESC, id DESC LIMIT 1",
    /* ?1 <= id < ?1 || '~': the ids that start with ?1 ('~' sorts after every
     * base32 digit); LIMIT 2 is enough to tell unique from ambiguous */
    [ST_CASE_GET_RANGE] = "SELECT " CASE_COLS " FROM cases "
                          "WHERE id >= ?1 AND id < ?1 || '~' ORDER BY id LIMIT 2",
    [ST_CASE_INSERT] = "INSERT INTO cases (" CASE_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
                       "?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)",
    [ST_CASE_SAVE] = "UPDATE cases SET fingerprint = ?2, title = ?3, kind = ?4, source = ?5, "
                     "assignee = ?6, status = ?7, severity = ?8, alert_count = ?9, "
                     "detected_ms = ?10, created_ms = ?11, updated_ms = ?12, first_seen_ms = ?13, "
                     "last_seen_ms = ?14, acknowledged_ms = ?15, contained_ms = ?16, "
                     "resolved_ms = ?17, closed_ms = ?18 WHERE id = ?1",
    [ST_TIMELINE_ADD] = "INSERT INTO timeline (case_id, ts_ms, actor, event, detail) "
                        "VALUES (?1, ?2, ?3, ?4, ?5)",
    /* newest first is id order: ULIDs sort by creation time */
    [ST_CASE_LIST] = "SELECT " CASE_COLS " FROM cases WHERE ?1 IS NULL OR status = ?1 "
                     "ORDER BY id DESC LIMIT ?2",
    [ST_CASE_ALERTS] = "SELECT ca.alert_id, a.json FROM case_alerts ca "
                       "JOIN alerts a ON a.id = ca.alert_id "
                       "WHERE ca.case_id = ?1 ORDER BY ca.alert_id DESC LIMIT ?2",
    [ST_CASE_ALERTS_COUNT] = "SELECT count(*) FROM case_alerts WHERE case_id = ?1",
    [ST_TIMELINE_TAIL] = "SELECT ts_ms, actor, event, detail FROM "
                         "(SELECT id, ts_ms, actor, event, detail FROM timeline "
                         " WHERE case_id = ?1 ORDER BY id DESC LIMIT ?2) ORDER BY id",
    [ST_TIMELINE_COUNT] = "SELECT count(*) FROM timeline WHERE case_id = ?1",
    [ST_DEADLETTER_ADD] = "INSERT INTO deadletters (ts_ms, channel, location, reason, raw) "
                          "VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_DEADLETTER_COUNT] = "SELECT count(*) FROM deadletters",
    [ST_TOKEN_PUT] = "INSERT INTO tokens (name, hash, role, created_ms) VALUES (?1, ?2, ?3, ?4)",
    [ST_TOKEN_FIND] = "SELECT name, role FROM tokens WHERE hash = ?1",
    [ST_TOKEN_COUNT] = "SELECT count(*) FROM tokens",
    [ST_TOKEN_LIST] = "SELECT name, role, created_ms FROM tokens ORDER BY name",
    [ST_TOKEN_REVOKE] = "DELETE FROM tokens WHERE name = ?1",
    /* Column names matter below: rows_json() turns NAME_ms into an RFC 3339
     * "NAME" and NAME_json into the parsed JSON "NAME". */
    [ST_PLAYBOOK_FIND] = "SELECT version FROM playbooks WHERE name = ?1 AND sha256 = ?2",
    [ST_PLAYBOOK_MAXVER] = "SELECT coalesce(max(version), 0) FROM playbooks WHERE name = ?1",
    [ST_PLAYBOOK_INSERT] = "INSERT INTO playbooks (name, version, sha256, text, created_ms) "
                           "VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_PLAYBOOK_TEXT] = "SELECT version, text FROM playbooks WHERE name = ?1 "
                         "AND (?2 = 0 OR version = ?2) ORDER BY version DESC LIMIT 1",
    [ST_RUN_INSERT] =
        "INSERT OR IGNORE INTO runs (id, playbook, version, trigger, dedup_key, alert_id, "
        "case_id, mode, context, status, created_ms, updated_ms) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, 'running', ?10, ?10)",
    [ST_RUN_DEDUP] = "SELECT 1 FROM runs WHERE dedup_key = ?1",
    [ST_RUN_STATUS] = "UPDATE runs SET status = ?2, error = ?3, updated_ms = ?4, finished_ms = "
                      "CASE WHEN ?2 IN ('succeeded', 'failed') THEN ?4 END WHERE id = ?1",
    [ST_RUN_EVENT_ADD] = "INSERT INTO run_events (run_id, seq, ts_ms, type, key, data) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_RUN_EVENTS] = "SELECT seq, ts_ms AS ts_ms, type, key, data AS data_json FROM run_events "
                      "WHERE run_id = ?1 ORDER BY seq",
    [ST_RUN_UNFINISHED] = "SELECT id, playbook, version, trigger, alert_id, case_id, mode, "
                          "context AS context_json, created_ms FROM runs "
                          "WHERE status IN ('running', 'waiting') ORDER BY id",
    [ST_RUN_LIST] = "SELECT id, playbook, version, trigger, alert_id, case_id, mode, status, "
                    "error, created_ms, updated_ms, finished_ms FROM runs "
                    "WHERE ?1 IS NULL OR status = ?1 ORDER BY id DESC LIMIT ?2",
    [ST_RUN_GET_RANGE] = "SELECT id, playbook, version, trigger, alert_id, case_id, mode, status, "
                         "error, created_ms, updated_ms, finished_ms FROM runs "
                         "WHERE id >= ?1 AND id < ?1 || '~' ORDER BY id LIMIT 2",
    [ST_PROMPT_PUT] = "INSERT INTO prompts (id, run_id, step_key, to_addr, role, question, "
                      "options, default_option, created_ms, deadline_ms) "
                      "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    [ST_PROMPT_GET] = "SELECT id, run_id, step_key, to_addr AS \"to\", role, question, "
                      "options AS options_json, default_option AS \"default\", created_ms, "
                      "deadline_ms, status, answer, answered_by, answered_ms FROM prompts "
                      "WHERE id = ?1",
    [ST_PROMPT_ANSWER] = "UPDATE prompts SET status = 'answered', answer = ?2, answered_by = ?3, "
                         "answered_ms = ?4 WHERE id = ?1 AND status = 'open'",
    [ST_PROMPT_EXPIRE] = "UPDATE prompts SET status = 'expired', answered_ms = ?2 "
                         "WHERE id = ?1 AND status = 'open'",
    [ST_PROMPT_LIST] = "SELECT id, run_id, step_key, to_addr AS \"to\", role, question, "
                       "options AS options_json, default_option AS \"default\", created_ms, "
                       "deadline_ms, status, answer, answered_by, answered_ms FROM prompts "
                       "WHERE ?1 IS NULL OR status = ?1 ORDER BY id DESC LIMIT ?2",
    [ST_PROMPT_ANSWERED_SINCE] = "SELECT id FROM prompts WHERE answered_ms >= ?1 "
                                 "AND status = 'answered' ORDER BY answered_ms LIMIT ?2",
    [ST_SECRET_PUT] = "INSERT INTO secrets (name, nonce, ciphertext, updated_ms) "
                      "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (name) DO UPDATE SET "
                      "nonce = excluded.nonce, ciphertext = excluded.ciphertext, "
                      "updated_ms = excluded.updated_ms",
    [ST_SECRET_GET] = "SELECT nonce, ciphertext FROM secrets WHERE name = ?1",
    [ST_SECRET_LIST] = "SELECT name, updated_ms FROM secrets ORDER BY name LIMIT ?2",
    [ST_SECRET_REMOVE] = "DELETE FROM secrets WHERE name = ?1",
    [ST_GUARD_ACTION_ADD] = "INSERT INTO guard_actions (ts_ms, run_id, playbook, action, effect) "
                            "VALUES (?1, ?2, ?3, ?4, ?5)",
    [ST_GUARD_TARGET_ADD] = "INSERT INTO guard_targets (action_id, run_id, effect, target) "
                            "VALUES (?1, ?2, ?3, ?4)",
    [ST_GUARD_COUNT] = "SELECT count(*) FROM guard_actions WHERE ts_ms >= ?1 "
                       "AND (?2 IS NULL OR action = ?2) AND (?3 IS NULL OR effect = ?3) "
                       "AND (?4 IS NULL OR playbook = ?4)",
    [ST_GUARD_RUN_TARGETS] = "SELECT DISTINCT target FROM guard_targets "
                             "WHERE run_id = ?1 AND effect = ?2",
    [ST_GUARD_STATE_GET] = "SELECT stopped, changed_ms, changed_by FROM guard_state WHERE id = 1",
    [ST_GUARD_STATE_SET] = "INSERT INTO guard_state (id, stopped, changed_ms, changed_by) "
                           "VALUES (1, ?1, ?2, ?3) ON CONFLICT (id) DO UPDATE SET "
                           "stopped = ?1, changed_ms = ?2, changed_by = ?3",
    [ST_AUDIT_LAST] = "SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1",
    [ST_AUDIT_PUT] = "INSERT INTO audit (seq, ts_ms, actor, kind, detail, prev_hash, hash) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    /* ts_ms AS ts: the raw integer (rows_json would format a _ms column) */
    [ST_AUDIT_ROWS] = "SELECT seq, ts_ms AS ts, actor, kind, detail, prev_hash, hash FROM audit "
                      "WHERE seq > ?1 ORDER BY seq LIMIT ?2",
    [ST_CONTAINMENT_ADD] = "INSERT INTO containments (id, run_id, action, release_action, params, "
                           "until_ms, created_ms, updated_ms) "
                           "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)",
    [ST_CONTAINMENT_DUE] = "SELECT id, run_id, action, release_action, params AS params_json, "
                           "until_ms FROM containments "
                           "WHERE status IN ('active', 'extended') AND until_ms <= ?1 "
                           "ORDER BY until_ms LIMIT 100",
    [ST_CONTAINMENT_SET] = "UPDATE containments SET status = ?2, "
                           "until_ms = CASE WHEN ?3 > 0 THEN ?3 ELSE until_ms END, "
                           "updated_ms = ?4 WHERE id = ?1",
    /* a value added again refreshes its expiry (the longer one wins) */
    [ST_BLOCKLIST_ADD] = "INSERT INTO blocklists (name, value, type, added_ms, expires_ms, source) "
                         "VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (name, value) DO UPDATE SET "
                         "expires_ms = CASE WHEN expires_ms IS NULL OR ?5 IS NULL THEN NULL "
                         "ELSE max(expires_ms, ?5) END",
    [ST_BLOCKLIST_LIST] = "SELECT value FROM blocklists WHERE name = ?1 "
                          "AND (expires_ms IS NULL OR expires_ms > ?2) ORDER BY value LIMIT ?3",
    [ST_CURSOR_GET] = "SELECT state FROM source_cursors WHERE name = ?1",
    [ST_CURSOR_PUT] = "INSERT INTO source_cursors (name, state, updated_ms) VALUES (?1, ?2, ?3) "
                      "ON CONFLICT (name) DO UPDATE SET state = ?2, updated_ms = ?3",
    [ST_CONTAINMENT_LIST] = "SELECT id, run_id, action, release_action, params AS params_json, "
                            "until_ms, status, created_ms, updated_ms FROM containments "
                            "WHERE ?1 IS NULL ORDER BY created_ms DESC LIMIT 1000",
    [ST_POSTMORTEM_ADD] = "INSERT INTO postmortems (case_id, root_cause, lessons, guard_rails, "
                          "author, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    [ST_POSTMORTEM_LIST] = "SELECT root_cause, lessons, guard_rails AS guard_rails_json, author, "
                           "created_ms FROM postmortems WHERE case_id = ?1 ORDER BY id",
    /* The KPIs (kpi/kpi.c, docs/kpis.md). The cases created in [?1, ?2) with,
     * per case: whether a person acted on it up to its resolution (any actor
     * but the automation's: correlate, guard, deadline, playbook:NAME),
     * whether it has a post-mortem, and the distinct playbooks of the live
     * runs started for it or for one of its alerts. */
    [ST_KPI_CASES] =
        "SELECT c.id, c.kind, c.source, c.status, c.severity, c.detected_ms, c.created_ms, "
        "c.acknowledged_ms, c.contained_ms, c.resolved_ms, "
        "EXISTS (SELECT 1 FROM timeline t WHERE t.case_id = c.id "
        "  AND (c.resolved_ms = 0 OR t.ts_ms <= c.resolved_ms) "
        "  AND t.actor NOT IN ('correlate', 'guard', 'deadline') "
        "  AND t.actor NOT LIKE 'playbook:%'), "
        "EXISTS (SELECT 1 FROM postmortems p WHERE p.case_id = c.id), "
        "(SELECT group_concat(DISTINCT r.playbook) FROM runs r WHERE r.mode = 'live' AND "
        "  (r.case_id = c.id OR r.alert_id IN "
        "   (SELECT ca.alert_id FROM case_alerts ca WHERE ca.case_id = c.id))) "
        "FROM cases c WHERE c.created_ms >= ?1 AND c.created_ms < ?2 ORDER BY c.created_ms "
        "LIMIT ?3",
    /* the action calls of live runs that ended in [?1, ?2), by action, effect
     * and outcome: an action_done joined to the action_requested of its attempt */
    [ST_KPI_ACTIONS] =
        "SELECT json_extract(q.data, '$.action') AS action, "
        "json_extract(q.data, '$.effect') AS effect, json_extract(d.data, '$.ok') AS ok, "
        "count(*) AS n FROM run_events d "
        "JOIN runs r ON r.id = d.run_id AND r.mode = 'live' "
        "JOIN run_events q ON q.run_id = d.run_id AND q.key = d.key "
        "  AND q.type = 'action_requested' "
        "  AND json_extract(q.data, '$.attempt') = json_extract(d.data, '$.attempt') "
        "WHERE d.type = 'action_done' AND d.ts_ms >= ?1 AND d.ts_ms < ?2 "
        "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 LIMIT ?3",
    /* prompts asked in [?1, ?2); wait: ms from asking to the answer */
    [ST_KPI_PROMPTS] = "SELECT status, CASE WHEN status = 'answered' THEN answered_ms - created_ms "
                       "END AS wait FROM prompts WHERE created_ms >= ?1 AND created_ms < ?2 "
                       "ORDER BY id LIMIT ?3",
    [ST_KPI_GUARD] = "SELECT kind, coalesce(json_extract(detail, '$.verdict'), '') AS verdict, "
                     "coalesce(json_extract(detail, '$.rule'), '') AS rule, count(*) AS n "
                     "FROM audit WHERE ts_ms >= ?1 AND ts_ms < ?2 AND kind = 'decision' "
                     "GROUP BY 1, 2, 3 ORDER BY 1, 2, 3 LIMIT ?3",
    [ST_KPI_POSTMORTEMS] = "SELECT count(*) AS written, count(DISTINCT case_id) AS cases, "
                           "coalesce(sum(json_array_length(guard_rails)), 0) AS guard_rails "
                           "FROM postmortems WHERE created_ms >= ?1 AND created_ms < ?2 LIMIT ?3",
    /* the open cases of severity >= ?1, worst and oldest first; ?2 unused */
    [ST_KPI_OPEN_CASES] = "SELECT id, title, status, severity, assignee, kind, source, created_ms "
                          "FROM cases WHERE status IN " SQ_OPEN_STATUSES " AND severity >= ?1 "
                          "AND ?2 = ?2 ORDER BY severity DESC, created_ms LIMIT ?3",
};

/* --- the handle ----------------------------------------------------------------------- */

struct sqlite_store {
    struct store base; /* first: store.c sees only this */
    sqlite3 *db;
    sqlite3_stmt *stmt[ST_COUNT]; /* prepared on first use; NULL until then */
    char errmsg[RP_ERROR_MAX];
};

static struct sqlite_store *sq(struct store *s)
{
    return (struct sqlite_store *)s;
}

/* Keeps a message for store_errmsg(); returns st. */
static rp_status set_err(struct sqlite_store *s, rp_status st, const char *fmt, ...)
    RP_PRINTF(3, 4);

static rp_status set_err(struct sqlite_store *s, rp_status st, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n >= sizeof(s->errmsg))
        memcpy(s->errmsg + sizeof(s->errmsg) - 4, "...", 4);
    return st;
}

/* The status for a SQLite result code (extended codes are on). */
static rp_status status_of(int rc)
{
    switch (rc & 0xff) { /* the primary code of an extended one */
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return RP_E_BUSY; /* another writer: retrying later can succeed */
    case SQLITE_FULL:
    case SQLITE_IOERR:
        return RP_E_IO; /* the environment: disk full or failing */
    default:
        break;
    }
    switch (rc) {
    case SQLITE_NOMEM:
        return RP_E_NOMEM;
    case SQLITE_CONSTRAINT_PRIMARYKEY:
    case SQLITE_CONSTRAINT_UNIQUE:
        return RP_E_EXISTS;
    default:
        return RP_E_STORE;
    }
}

/* Records the connection's error for what was being done; returns its status. */
static rp_status db_err(struct sqlite_store *s, int rc, const char *what)
{
    return set_err(s, status_of(rc), "%s: %s", what, sqlite3_errmsg(s->db));
}

/* The prepared statement id, preparing it on first use. */
static rp_status stmt_get(struct sqlite_store *s, enum stmt_id id, sqlite3_stmt **out)
{
    if (s->stmt[id] == NULL) {
        int rc =
            sqlite3_prepare_v3(s->db, SQL[id], -1, SQLITE_PREPARE_PERSISTENT, &s->stmt[id], NULL);
        if (rc != SQLITE_OK)
            return db_err(s, rc, "preparing a statement");
    }
    *out = s->stmt[id];
    return RP_OK;
}

/* Makes a statement ready for the next call: ends its step (releasing what it
 * holds) and forgets the bindings, which may point into the caller's memory. */
static void stmt_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* A statement's parameters, bound as ?1, ?2, ... in their order: a list that
 * reads like the SQL and is checked once. Text and blobs are bound
 * SQLITE_STATIC: they are the caller's and outlive the step, which happens
 * inside the same call. A NULL text or blob binds SQL NULL. */
enum sq_arg_kind { SQ_ARG_NULL, SQ_ARG_INT, SQ_ARG_TEXT, SQ_ARG_TEXTN, SQ_ARG_BLOB };

struct sq_arg {
    enum sq_arg_kind kind;
    int64_t i;     /* SQ_ARG_INT */
    const void *p; /* SQ_ARG_TEXT, SQ_ARG_TEXTN, SQ_ARG_BLOB */
    size_t n;      /* SQ_ARG_TEXTN, SQ_ARG_BLOB: the length in bytes */
};

struct sq_args {
    const struct sq_arg *v;
    size_t n;
};

#define A_NULL          ((struct sq_arg){.kind = SQ_ARG_NULL})
#define A_INT(x)        ((struct sq_arg){.kind = SQ_ARG_INT, .i = (x)})
#define A_TEXT(x)       ((struct sq_arg){.kind = SQ_ARG_TEXT, .p = (x)})
#define A_TEXTN(x, len) ((struct sq_arg){.kind = SQ_ARG_TEXTN, .p = (x), .n = (len)})
#define A_BLOB(x, len)  ((struct sq_arg){.kind = SQ_ARG_BLOB, .p = (x), .n = (len)})

/* The list of its arguments (sizeof does not evaluate them a second time). */
#define ARGS(...)                                                                                  \
    ((struct sq_args){(const struct sq_arg[]){__VA_ARGS__},                                        \
                      sizeof((const struct sq_arg[]){__VA_ARGS__}) / sizeof(struct sq_arg)})
#define NO_ARGS ((struct sq_args){NULL, 0})

/* Text from a fixed char array of cap bytes: must be NUL-terminated in it. */
static struct sq_arg a_field(const char *v, size_t cap)
{
    size_t n = strnlen(v, cap);
    RP_ASSERT(n < cap);
    return A_TEXTN(v, n);
}

/* Binds args to st; the first failure's SQLite code, or SQLITE_OK. */
static int bind_args(sqlite3_stmt *st, struct sq_args args)
{
    int rc = SQLITE_OK;
    for (size_t k = 0; k < args.n && rc == SQLITE_OK; k++) {
        const struct sq_arg *a = &args.v[k];
        int i = (int)k + 1;
        if (a->kind == SQ_ARG_INT)
            rc = sqlite3_bind_int64(st, i, a->i);
        else if (a->kind == SQ_ARG_NULL || a->p == NULL)
            rc = sqlite3_bind_null(st, i);
        else if (a->kind == SQ_ARG_TEXT)
            rc = sqlite3_bind_text(st, i, a->p, -1, SQLITE_STATIC);
        else if (a->kind == SQ_ARG_TEXTN)
            rc = sqlite3_bind_text64(st, i, a->p, a->n, SQLITE_STATIC, SQLITE_UTF8);
        else
            rc = sqlite3_bind_blob64(st, i, a->p, a->n, SQLITE_STATIC);
    }
    return rc;
}

/* Reads the current row of st into what ctx points to; a failure (with its
 * message set) ends the query with that status. */
typedef rp_status (*sq_row_fn)(struct sqlite_store *s, sqlite3_stmt *st, void *ctx);

/* Runs statement id with args and hands each row it yields to row, until row
 * fails or the rows end. A failure of SQLite's is recorded against what. */
static rp_status query_rows(struct sqlite_store *s, enum stmt_id id, struct sq_args args,
                            sq_row_fn row, void *ctx, const char *what)
{
    sqlite3_stmt *st = NULL;
    rp_status ret = stmt_get(s, id, &st);
    if (ret != RP_OK)
        return ret;
    int rc = bind_args(st, args);
    while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
        ret = row(s, st, ctx);
        if (ret != RP_OK)
            break;
        rc = SQLITE_OK;
    }
    if (ret == RP_OK && rc != SQLITE_DONE)
        ret = db_err(s, rc, what);
    stmt_done(st);
    return ret;
}

/* Runs statement id with args and reads its first row, if there is one, with
 * row (NULL: nothing to read). *found says whether there was one; on a
 * failure it is left as it was. */
static rp_status query_one(struct sqlite_store *s, enum stmt_id id, struct sq_args args,
                           sq_row_fn row, void *ctx, bool *found, const char *what)
{
    sqlite3_stmt *st = NULL;
    rp_status ret = stmt_get(s, id, &st);
    if (ret != RP_OK)
        return ret;
    int rc = bind_args(st, args);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (row != NULL)
            ret = row(s, st, ctx);
        if (ret == RP_OK)
            *found = true;
    } else if (rc == SQLITE_DONE) {
        *found = false;
    } else {
        ret = db_err(s, rc, what);
    }
    stmt_done(st);
    return ret;
}

/* Runs statement id, which returns no rows, with args; what names the action
 * in an error. */
static rp_status exec_args(struct sqlite_store *s, enum stmt_id id, struct sq_args args,
                           const char *what)
{
    bool row = false;
    return query_one(s, id, args, NULL, NULL, &row, what);
}

/* What the row functions of query_array() get: the array to append to, and
 * what their messages name. */
struct sq_rows {
    json_t *arr;
    const char *about;
};

/* Runs query_rows() with a new array as the rows' target, handing it out in
 * *out on success (the caller owns it). nomem names the list when the array
 * cannot be made (NULL: no message); what names the query, also for row. */
static rp_status query_array(struct sqlite_store *s, enum stmt_id id, struct sq_args args,
                             sq_row_fn row, const char *nomem, const char *what, json_t **out)
{
    struct sq_rows rows = {json_array(), what};
    if (rows.arr == NULL)
        return nomem != NULL ? set_err(s, RP_E_NOMEM, "%s: out of memory", nomem) : RP_E_NOMEM;
    rp_status ret = query_rows(s, id, args, row, &rows, what);
    if (ret != RP_OK) {
        json_decref(rows.arr);
        return ret;
    }
    *out = rows.arr;
    return RP_OK;
}

/* Copies text column col into dst (cap bytes with the NUL); NULL reads as "".
 * False when it does not fit. */
static bool col_copy(sqlite3_stmt *st, int col, char *dst, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    if (t == NULL)
        n = 0;
    if (n >= cap)
        return false;
    if (n > 0)
        memcpy(dst, t, n);
    dst[n] = '\0';
    return true;
}

/* A column's text, "" for NULL; valid until the statement moves on. */
static const char *col_text(sqlite3_stmt *st, int col)
{
    const unsigned char *t = sqlite3_column_text(st, col);
    return t != NULL ? (const char *)t : "";
}

/* Sets key of o to v, stealing v (also on failure, and when o is NULL); false
 * when o or v is NULL or the set fails. */
static bool put(json_t *o, const char *key, json_t *v)
{
    if (o == NULL) {
        json_decref(v);
        return false;
    }
    return json_object_set_new(o, key, v) == 0;
}

/* A row function: the integer in column 0 into the int64_t ctx points to. */
static rp_status row_int64(struct sqlite_store *s, sqlite3_stmt *st, void *ctx)
{
    (void)s;
    *(int64_t *)ctx = sqlite3_column_int64(st, 0);
    return RP_OK;
}

/* Runs a one-row count query with args. */
static rp_status count_query(struct sqlite_store *s, enum stmt_id id, struct sq_args args,
                             int64_t *out, const char *what)
{
    bool found = false;
    rp_status ret = query_one(s, id, args, row_int64, out, &found, what);
    if (ret == RP_OK && !found)
        ret = set_err(s, RP_E_STORE, "%s: no result", what);
    return ret;
}

/* --- open, migrate, close ------------------------------------------------------------- */

static void sq_close(struct store *base)
{
    struct sqlite_store *s = sq(base);
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    /* an open batch is rolled back by closing the connection */
    sqlite3_close_v2(s->db);
    free(s);
}

/* Runs SQL that returns nothing, for open and migrations only (not hot). */
static rp_status exec_sql(struct sqlite_store *s, const char *sql, const char *path,
                          struct rp_error *err)
{
    int rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        return rp_error_set(err, status_of(rc), "%s: %s", path, sqlite3_errmsg(s->db));
    return RP_OK;
}

/* One integer from a query, for open only. *found false when it gives no row or
 * a value that is not an integer. */
static int query_int(sqlite3 *db, const char *sql, int64_t *out, bool *found)
{
    sqlite3_stmt *st = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
    if (rc != SQLITE_OK)
        return rc;
    *found = false;
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        if (sqlite3_column_type(st, 0) == SQLITE_INTEGER) {
            *out = sqlite3_column_int64(st, 0);
            *found = true;
        }
        rc = SQLITE_OK;
    } else if (rc == SQLITE_DONE) {
        rc = SQLITE_OK;
    }
    sqlite3_finalize(st);
    return rc;
}

/* The schema version of the file: 0 when it is empty (no tables), else the one
 * recorded in meta. Anything else is not a Riposte database: RP_E_USAGE, since
 * the path names the wrong file. */
static rp_status read_version(struct sqlite_store *s, const char *path, int *out,
                              struct rp_error *err)
{
    int64_t n = 0;
    bool found = false;
    int rc = query_int(s->db, "SELECT count(*) FROM sqlite_master", &n, &found);
    if (rc == SQLITE_NOTADB)
        return rp_error_set(err, RP_E_USAGE, "%s: not a Riposte database (%s)", path,
                            sqlite3_errmsg(s->db));
    if (rc != SQLITE_OK)
        return rp_error_set(err, status_of(rc), "%s: %s", path, sqlite3_errmsg(s->db));
    if (n == 0) {
        *out = 0;
        return RP_OK;
    }
    rc = query_int(s->db,
                   "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'meta'", &n,
                   &found);
    if (rc == SQLITE_OK && n == 1) {
        rc = query_int(s->db,
                       "SELECT count(*) FROM meta WHERE key = 'application' AND value = 'riposte'",
                       &n, &found);
        if (rc == SQLITE_ERROR) /* another application's meta, without these columns */
            return rp_error_set(err, RP_E_USAGE, "%s: not a Riposte database (%s)", path,
                                sqlite3_errmsg(s->db));
    }
    if (rc != SQLITE_OK)
        return rp_error_set(err, status_of(rc), "%s: %s", path, sqlite3_errmsg(s->db));
    if (n != 1)
        return rp_error_set(err, RP_E_USAGE,
                            "%s: not a Riposte database (it has tables, but no Riposte meta "
                            "table)",
                            path);
    int64_t v = 0;
    rc = query_int(s->db, "SELECT value FROM meta WHERE key = 'schema_version'", &v, &found);
    if (rc != SQLITE_OK)
        return rp_error_set(err, status_of(rc), "%s: %s", path, sqlite3_errmsg(s->db));
    if (!found || v < 1 || v > 1000000)
        return rp_error_set(err, RP_E_USAGE,
                            "%s: not a Riposte database (no valid schema_version in meta)", path);
    if (v > SQ_MIGRATIONS)
        return rp_error_set(err, RP_E_USAGE,
                            "%s: schema version %d is newer than this riposte knows (%d): "
                            "use a newer riposte",
                            path, (int)v, SQ_MIGRATIONS);
    *out = (int)v;
    return RP_OK;
}

/* Applies the migrations the file lacks, each in its own transaction. The
 * version is read again under the write lock, so that two processes opening a
 * new file at once apply each migration once. */
static rp_status migrate(struct sqlite_store *s, const char *path, int from, struct rp_error *err)
{
    int v = from;
    while (v < SQ_MIGRATIONS) {
        rp_status st = exec_sql(s, "BEGIN IMMEDIATE", path, err);
        if (st != RP_OK)
            return st;
        st = read_version(s, path, &v, err);
        if (st == RP_OK && v < SQ_MIGRATIONS) {
            st = exec_sql(s, MIGRATIONS[v], path, err);
            if (st != RP_OK)
                rp_error_prefix(err, "migration %d", v + 1);
        }
        if (st == RP_OK && v < SQ_MIGRATIONS) {
            char sql[128];
            int n = snprintf(sql, sizeof(sql),
                             "INSERT OR REPLACE INTO meta (key, value) "
                             "VALUES ('schema_version', %d)",
                             v + 1);
            RP_ASSERT(n > 0 && (size_t)n < sizeof(sql));
            st = exec_sql(s, sql, path, err);
        }
        if (st == RP_OK)
            st = exec_sql(s, "COMMIT", path, err);
        if (st != RP_OK) {
            sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
            return st;
        }
        if (v < SQ_MIGRATIONS) {
            char qpath[256];
            log_info("store.migrate", "db=%s version=%d", log_quote(qpath, sizeof(qpath), path),
                     v + 1);
            v++;
        }
    }
    return RP_OK;
}

static const struct store_backend SQLITE_BACKEND;

rp_status store_sqlite_open(const char *path, struct store **out, struct rp_error *err)
{
    rp_status st = RP_OK;
    struct sqlite_store *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return rp_error_set(err, RP_E_NOMEM, "%s: out of memory", path);
    s->base.ops = &SQLITE_BACKEND;

    int rc = sqlite3_open_v2(
        path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
    if (rc != SQLITE_OK) {
        st = rp_error_set(err, RP_E_STORE, "cannot open %s: %s", path,
                          s->db != NULL ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        goto fail;
    }
    sqlite3_extended_result_codes(s->db, 1);

    /* Nothing is read or written before the file is known to be ours (or
     * empty), so that a file that is not is left as it was. */
    char sql[256];
    int n = snprintf(sql, sizeof(sql), "PRAGMA busy_timeout = %d", RP_STORE_BUSY_TIMEOUT_MS);
    RP_ASSERT(n > 0 && (size_t)n < sizeof(sql));
    st = exec_sql(s, sql, path, err);
    if (st != RP_OK)
        goto fail;

    int version = 0;
    st = read_version(s, path, &version, err);
    if (st != RP_OK)
        goto fail;

    /* Settings of this connection. foreign_keys stays off: see
     * docs/internals/store.md. */
    n = snprintf(sql, sizeof(sql),
                 "PRAGMA temp_store = MEMORY; PRAGMA cache_size = -%d; "
                 "PRAGMA foreign_keys = OFF;",
                 SQ_CACHE_KIB);
    RP_ASSERT(n > 0 && (size_t)n < sizeof(sql));
    st = exec_sql(s, sql, path, err);
    if (st != RP_OK)
        goto fail;

    /* WAL persists in the file; synchronous is per connection. In WAL mode
     * FULL syncs the log at every commit: a commit that returned survives a
     * power loss. */
    sqlite3_stmt *jm = NULL;
    rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &jm, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(jm)) == SQLITE_ROW) {
        const char *mode = col_text(jm, 0);
        /* an in-memory database (":memory:", tests) cannot be WAL */
        if (strcmp(mode, "wal") != 0 && strcmp(mode, "memory") != 0) {
            st = rp_error_set(err, RP_E_STORE, "%s: cannot use WAL mode (journal mode is %s)", path,
                              mode);
        }
        rc = SQLITE_OK;
    }
    sqlite3_finalize(jm);
    if (rc != SQLITE_OK)
        st = rp_error_set(err, status_of(rc), "%s: setting WAL mode: %s", path,
                          sqlite3_errmsg(s->db));
    if (st != RP_OK)
        goto fail;
    st = exec_sql(s, "PRAGMA synchronous = FULL", path, err);
    if (st != RP_OK)
        goto fail;

    st = migrate(s, path, version, err);
    if (st != RP_OK)
        goto fail;
    *out = &s->base;
    return RP_OK;

fail:
    sq_close(&s->base);
    return st;
}

static rp_status sq_schema_version(struct store *base, int *out)
{
    struct sqlite_store *s = sq(base);
    int64_t v = 0;
    rp_status st = count_query(s, ST_SCHEMA_VERSION, NO_ARGS, &v, "reading the schema version");
    if (st == RP_OK)
        *out = (int)v;
    return st;
}

/* --- batches ------------------------------------------------------------------------- */

static rp_status sq_begin(struct store *base)
{
    return exec_args(sq(base), ST_BEGIN, NO_ARGS, "begin");
}

static void sq_rollback(struct store *base)
{
    struct sqlite_store *s = sq(base);
    /* SQLite may have rolled back already (disk full, I/O error) */
    if (sqlite3_get_autocommit(s->db))
        return;
    if (exec_args(s, ST_ROLLBACK, NO_ARGS, "rollback") != RP_OK)
        log_error("store.rollback", "error=\"%s\"", s->errmsg);
}

/* A failed commit rolls back, so that on any failure nothing of the batch is
 * kept and the handle is ready for the next one. */
static rp_status sq_commit(struct store *base)
{
    struct sqlite_store *s = sq(base);
    rp_status st = exec_args(s, ST_COMMIT, NO_ARGS, "commit");
    if (st != RP_OK && !sqlite3_get_autocommit(s->db)) {
        char keep[RP_ERROR_MAX];
        memcpy(keep, s->errmsg, sizeof(keep));
        sq_rollback(base);
        memcpy(s->errmsg, keep, sizeof(keep));
    }
    return st;
}

/* Outside a batch, begins one of the caller's own, so that what it writes is
 * stored together or not at all; *own says whether it did. */
static rp_status own_begin(struct sqlite_store *s, bool *own)
{
    *own = sqlite3_get_autocommit(s->db) != 0;
    return *own ? sq_begin(&s->base) : RP_OK;
}

/* Ends what own_begin() began: commits when ret is RP_OK, else rolls back.
 * Returns ret, or the commit's failure. */
static rp_status own_end(struct sqlite_store *s, bool own, rp_status ret)
{
    if (!own)
        return ret;
    if (ret == RP_OK)
        return sq_commit(&s->base);
    sq_rollback(&s->base);
    return ret;
}

/* --- alerts ----------------------------------------------------------------------------- */

/* Checks an alert's observables before anything is written, so that bad ones
 * leave the batch as it was. */
static rp_status observables_check(struct sqlite_store *s, const struct store_alert *a)
{
    if (a->observables == NULL)
        return RP_OK;
    if (!json_is_array(a->observables))
        return set_err(s, RP_E_INVALID, "alert %s: observables: not an array", a->id);
    if (json_array_size(a->observables) > RP_OBSERVABLES_MAX)
        return set_err(s, RP_E_LIMIT, "alert %s: %zu observables, more than %d", a->id,
                       json_array_size(a->observables), RP_OBSERVABLES_MAX);
    size_t i;
    json_t *o;
    json_array_foreach(a->observables, i, o)
    {
        json_t *role = json_object_get(o, "role");
        if (!json_is_string(json_object_get(o, "type")) ||
            !json_is_string(json_object_get(o, "value")) || (role != NULL && !json_is_string(role)))
            return set_err(s, RP_E_INVALID,
                           "alert %s: observables[%zu]: needs string type and value (and role)",
                           a->id, i);
    }
    return RP_OK;
}

static rp_status alert_rows(struct sqlite_store *s, const struct store_alert *a)
{
    rp_status ret = exec_args(s, ST_ALERT_INSERT,
                              ARGS(A_TEXT(a->id), A_TEXT(a->case_id), A_TEXT(a->fingerprint),
                                   A_TEXT(a->source), A_TEXT(a->kind), A_INT(a->severity),
                                   A_INT(a->event_ms), A_INT(a->received_ms),
                                   A_BLOB(a->raw, a->raw_len), A_TEXTN(a->json, a->json_len)),
                              "storing an alert");
    if (ret == RP_E_EXISTS)
        return set_err(s, RP_E_EXISTS, "alert %s is stored already", a->id);
    if (ret != RP_OK)
        return ret;
    /* from here on a failure leaves rows behind: never RP_E_EXISTS */

    size_t i;
    json_t *o;
    json_array_foreach(a->observables, i, o)
    {
        const char *type = json_string_value(json_object_get(o, "type"));
        const char *value = json_string_value(json_object_get(o, "value"));
        const char *role = json_string_value(json_object_get(o, "role"));
        ret = exec_args(
            s, ST_OBSERVABLE_INSERT,
            ARGS(A_TEXT(a->id), A_TEXT(type), A_TEXT(value), A_TEXT(role != NULL ? role : "")),
            "storing an observable");
        if (ret != RP_OK)
            return ret == RP_E_EXISTS ? RP_E_STORE : ret;
    }

    if (a->case_id != NULL && a->case_id[0] != '\0')
        ret = exec_args(s, ST_LINK_INSERT,
                        ARGS(A_TEXT(a->case_id), A_TEXT(a->id), A_INT(a->received_ms)),
                        "linking an alert to its case");
    return ret == RP_E_EXISTS ? RP_E_STORE : ret;
}

/* Outside a batch the alert gets one of its own, so that its rows are stored
 * together or not at all. Inside one, a failure before the first row
 * (RP_E_INVALID, RP_E_LIMIT, RP_E_EXISTS for a known id) writes nothing and the
 * batch may go on; after it (RP_E_STORE, RP_E_NOMEM) the caller rolls back. */
static rp_status sq_alert_put(struct store *base, const struct store_alert *a)
{
    struct sqlite_store *s = sq(base);
    rp_status ret = observables_check(s, a);
    if (ret != RP_OK)
        return ret;
    bool own = false;
    ret = own_begin(s, &own);
    if (ret != RP_OK)
        return ret;
    return own_end(s, own, alert_rows(s, a));
}

static rp_status sq_alert_exists(struct store *base, const char *id, bool *found)
{
    return query_one(sq(base), ST_ALERT_EXISTS, ARGS(A_TEXT(id)), NULL, NULL, found,
                     "looking up an alert");
}

/* --- cases ------------------------------------------------------------------------------ */

/* The number of CASE_COLS. */
#define CASE_NCOLS 18

/* A row function: the CASE_COLS of the current row into the struct case_row
 * ctx points to. */
static rp_status case_read(struct sqlite_store *s, sqlite3_stmt *st, void *ctx)
{
    struct case_row *out = ctx;
    memset(out, 0, sizeof(*out));
    static const char *const names[] = {"id", "fingerprint", "title", "kind", "source", "assignee"};
    char *dst[] = {out->id, out->fingerprint, out->title, out->kind, out->source, out->assignee};
    size_t cap[] = {sizeof(out->id),   sizeof(out->fingerprint), sizeof(out->title),
                    sizeof(out->kind), sizeof(out->source),      sizeof(out->assignee)};
    for (int i = 0; i < 6; i++) {
        if (!col_copy(st, i, dst[i], cap[i]))
            return set_err(s, RP_E_STORE, "case %s: stored %s is longer than %zu bytes",
                           col_text(st, 0), names[i], cap[i] - 1);
    }
    if (case_status_parse(col_text(st, 6), &out->status) != RP_OK)
        return set_err(s, RP_E_STORE, "case %s: unknown status '%s' stored", out->id,
                       col_text(st, 6));
    out->severity = sqlite3_column_int(st, 7);
    out->alert_count = sqlite3_column_int64(st, 8);
    out->detected_ms = sqlite3_column_int64(st, 9);
    out->created_ms = sqlite3_column_int64(st, 10);
    out->updated_ms = sqlite3_column_int64(st, 11);
    out->first_seen_ms = sqlite3_column_int64(st, 12);
    out->last_seen_ms = sqlite3_column_int64(st, 13);
    out->acknowledged_ms = sqlite3_column_int64(st, 14);
    out->contained_ms = sqlite3_column_int64(st, 15);
    out->resolved_ms = sqlite3_column_int64(st, 16);
    out->closed_ms = sqlite3_column_int64(st, 17);
    return RP_OK;
}

/* The CASE_COLS of c as ?1 .. ?18, written into a, which the list points to. */
static struct sq_args case_args(const struct case_row *c, struct sq_arg a[CASE_NCOLS])
{
    RP_ASSERT((int)c->status >= 0 && c->status < CASE_STATUS_COUNT);
    a[0] = a_field(c->id, sizeof(c->id));
    a[1] = a_field(c->fingerprint, sizeof(c->fingerprint));
    a[2] = a_field(c->title, sizeof(c->title));
    a[3] = a_field(c->kind, sizeof(c->kind));
    a[4] = a_field(c->source, sizeof(c->source));
    a[5] = a_field(c->assignee, sizeof(c->assignee));
    a[6] = A_TEXT(case_status_name(c->status));
    a[7] = A_INT(c->severity);
    a[8] = A_INT(c->alert_count);
    a[9] = A_INT(c->detected_ms);
    a[10] = A_INT(c->created_ms);
    a[11] = A_INT(c->updated_ms);
    a[12] = A_INT(c->first_seen_ms);
    a[13] = A_INT(c->last_seen_ms);
    a[14] = A_INT(c->acknowledged_ms);
    a[15] = A_INT(c->contained_ms);
    a[16] = A_INT(c->resolved_ms);
    a[17] = A_INT(c->closed_ms);
    return (struct sq_args){a, CASE_NCOLS};
}

/* Case ids are upper-case ULIDs, so that prefix lookups can upper-case theirs. */
static bool case_id_ok(const char *id)
{
    size_t n = strnlen(id, ULID_LEN + 1);
    if (n != ULID_LEN || !ulid_valid(id, n))
        return false;
    for (size_t i = 0; i < n; i++)
        if (islower((unsigned char)id[i]))
            return false;
    return true;
}

static rp_status sq_case_find_open(struct store *base, const char *fingerprint, int64_t since_ms,
                                   struct case_row *out, bool *found)
{
    *found = false;
    return query_one(sq(base), ST_CASE_FIND_OPEN, ARGS(A_TEXT(fingerprint), A_INT(since_ms)),
                     case_read, out, found, "looking up the open case of a fingerprint");
}

/* What case_pick() fills: the case of a prefix, and how many it matched. */
struct case_pick {
    struct case_row *out;
    const char *prefix;
    int rows;
};

/* A row function: the first row into the case_pick's case; a second one means
 * the prefix is ambiguous. */
static rp_status case_pick(struct sqlite_store *s, sqlite3_stmt *st, void *ctx)
{
    struct case_pick *p = ctx;
    if (p->rows++ > 0)
        return set_err(s, RP_E_AMBIGUOUS, "case '%s': the prefix matches several cases", p->prefix);
    return case_read(s, st, p->out);
}

/* The case whose id is, or starts with, id_or_prefix (any case, at least 6
 * characters); NOTFOUND and AMBIGUOUS with a message otherwise. */
static rp_status case_lookup(struct sqlite_store *s, const char *id_or_prefix, struct case_row *out)
{
    size_t n = strnlen(id_or_prefix, ULID_LEN + 1);
    if (n < 6)
        return set_err(s, RP_E_NOTFOUND, "case '%.*s': an id prefix needs at least 6 characters",
                       (int)n, id_or_prefix);
    if (n > ULID_LEN)
        return set_err(s, RP_E_NOTFOUND, "no case '%.*s...': longer than an id", ULID_LEN,
                       id_or_prefix);
    static const char B32[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    char key[ULID_LEN + 1];
    for (size_t i = 0; i < n; i++) {
        key[i] = (char)toupper((unsigned char)id_or_prefix[i]);
        if (strchr(B32, key[i]) == NULL)
            return set_err(s, RP_E_NOTFOUND, "no case '%s': not an id", id_or_prefix);
    }
    key[n] = '\0';

    struct case_pick pick = {out, id_or_prefix, 0};
    rp_status ret =
        query_rows(s, ST_CASE_GET_RANGE, ARGS(A_TEXT(key)), case_pick, &pick, "looking up a case");
    if (ret == RP_OK && pick.rows == 0)
        ret = set_err(s, RP_E_NOTFOUND, "no case '%s'", id_or_prefix);
    return ret;
}

static rp_status sq_case_get(struct store *base, const char *id_or_prefix, struct case_row *out)
{
    return case_lookup(sq(base), id_or_prefix, out);
}

static rp_status sq_case_insert(struct store *base, const struct case_row *c)
{
    struct sqlite_store *s = sq(base);
    if (!case_id_ok(c->id))
        return set_err(s, RP_E_INVALID, "case id '%.*s' is not an upper-case ULID", ULID_LEN,
                       c->id);
    struct sq_arg a[CASE_NCOLS];
    rp_status ret = exec_args(s, ST_CASE_INSERT, case_args(c, a), "storing a case");
    if (ret == RP_E_EXISTS)
        set_err(s, RP_E_EXISTS, "case %s exists already", c->id);
    return ret;
}

static rp_status sq_case_save(struct store *base, const struct case_row *c)
{
    struct sqlite_store *s = sq(base);
    if (!case_id_ok(c->id))
        return set_err(s, RP_E_NOTFOUND, "no case '%.*s'", ULID_LEN, c->id);
    struct sq_arg a[CASE_NCOLS];
    rp_status ret = exec_args(s, ST_CASE_SAVE, case_args(c, a), "saving a case");
    if (ret == RP_OK && sqlite3_changes(s->db) == 0)
        ret = set_err(s, RP_E_NOTFOUND, "no case %s to save", c->id);
    return ret;
}

/* --- timeline ---------------------------------------------------------------------------- */

static rp_status sq_timeline_add(struct store *base, const char *case_id, int64_t ts_ms,
                                 const char *actor, const char *event, json_t *detail)
{
    struct sqlite_store *s = sq(base);
    if (detail != NULL && !json_is_object(detail))
        return set_err(s, RP_E_INVALID, "timeline of case %s: detail of '%s' is not an object",
                       case_id, event);
    char stackbuf[SQ_DETAIL_STACK];
    char *text = NULL;
    size_t len = 0;
    if (detail != NULL) {
        len = json_dumpb(detail, stackbuf, sizeof(stackbuf), JSON_COMPACT);
        if (len == 0)
            return set_err(s, RP_E_NOMEM, "timeline of case %s: cannot serialise detail", case_id);
        text = stackbuf;
        if (len > sizeof(stackbuf)) {
            text = malloc(len);
            if (text == NULL)
                return set_err(s, RP_E_NOMEM, "timeline: out of memory");
            if (json_dumpb(detail, text, len, JSON_COMPACT) != len) {
                free(text);
                return set_err(s, RP_E_NOMEM, "timeline of case %s: cannot serialise detail",
                               case_id);
            }
        }
    }
    rp_status ret = exec_args(
        s, ST_TIMELINE_ADD,
        ARGS(A_TEXT(case_id), A_INT(ts_ms), A_TEXT(actor), A_TEXT(event), A_TEXTN(text, len)),
        "adding to a timeline");
    if (text != stackbuf)
        free(text);
    return ret;
}

/* --- reading for people ------------------------------------------------------------------ */

/* A row function: the case of the current row, as JSON, onto the sq_rows. */
static rp_status case_json_row(struct sqlite_store *s, sqlite3_stmt *st, void *ctx)
{
    struct sq_rows *rows = ctx;
    struct case_row c;
    rp_status ret = case_read(s, st, &c);
    if (ret == RP_OK && json_array_append_new(rows->arr, store_case_row_json(&c)) != 0)
        ret = set_err(s, RP_E_NOMEM, "case %s: cannot build its JSON", c.id);
    return ret;
}

static rp_status sq_case_list_json(struct store *base, int status, size_t limit, json_t **out)
{
    struct sqlite_store *s = sq(base);
    if (status >= CASE_STATUS_COUNT)
        return set_err(s, RP_E_USAGE, "case list: no status %d", status);
    if (limit > RP_CASE_LIST_MAX)
        return set_err(s, RP_E_LIMIT, "case list: at most %d cases at a time, not %zu",
                       RP_CASE_LIST_MAX, limit);
    const char *name = status < 0 ? NULL : case_status_name((enum case_status)status);
    return query_array(s, ST_CASE_LIST, ARGS(A_TEXT(name), A_INT((int64_t)limit)), case_json_row,
                       "case list", "listing cases", out);
}

/* A row function: the stored JSON of the current row's alert onto the
 * sq_rows, whose about is the case. */
static rp_status alert_json_row(struct sqlite_store *s, sqlite3_stmt *st, void *ctx)
{
    struct sq_rows *rows = ctx;
    const char *text = (const char *)sqlite3_column_text(st, 1);
    size_t n = (size_t)sqlite3_column_bytes(st, 1);
    json_error_t jerr;
    json_t *alert = text != NULL ? json_loadb(text, n, 0, &jerr) : NULL;
    if (alert == NULL)
        return set_err(s, RP_E_STORE, "alert %s: stored JSON unreadable: %s", col_text(st, 0),
                       text != NULL ? jerr.text : "missing");
    if (json_array_append_new(rows->arr, alert) != 0)
        return set_err(s, RP_E_NOMEM, "case %s: out of memory", rows->about);
    return RP_OK;
}

/* The newest RP_CASE_ALERTS_SHOW_MAX normalized alerts of a case, newest first. */
static rp_status show_alerts(struct sqlite_store *s, const char *case_id, json_t *arr)
{
    struct sq_rows rows = {arr, case_id};
    return query_rows(s, ST_CASE_ALERTS, ARGS(A_TEXT(case_id), A_INT(RP_CASE_ALERTS_SHOW_MAX)),
                      alert_json_row, &rows, "reading a case's alerts");
}

/* A row function: the current row's timeline entry onto the sq_rows, whose
 * about is the case. */
static rp_status timeline_json_row(struct sqlite_store *s, sqlite3_stmt *st, void *ctx)
{
    struct sq_rows *rows = ctx;
    char ts[TIME_RFC3339_LEN];
    time_format_rfc3339(sqlite3_column_int64(st, 0), ts);
    json_t *detail = json_null();
    const char *text = (const char *)sqlite3_column_text(st, 3);
    if (text != NULL) {
        json_error_t jerr;
        detail = json_loadb(text, (size_t)sqlite3_column_bytes(st, 3), 0, &jerr);
        if (detail == NULL)
            return set_err(s, RP_E_STORE, "case %s: timeline detail unreadable: %s", rows->about,
                           jerr.text);
    }
    json_t *e = json_object();
    bool ok = put(e, "detail", detail); /* steals detail, also on failure */
    ok = ok && put(e, "ts", json_string(ts));
    ok = ok && put(e, "actor", json_string(col_text(st, 1)));
    ok = ok && put(e, "event", json_string(col_text(st, 2)));
    if (!ok) {
        json_decref(e);
        e = NULL;
    }
    if (e == NULL || json_array_append_new(rows->arr, e) != 0)
        return set_err(s, RP_E_NOMEM, "case %s: cannot build its timeline", rows->about);
    return RP_OK;
}

/* The newest RP_TIMELINE_SHOW_MAX entries of a case's timeline, oldest first. */
static rp_status show_timeline(struct sqlite_store *s, const char *case_id, json_t *arr)
{
    struct sq_rows rows = {arr, case_id};
    return query_rows(s, ST_TIMELINE_TAIL, ARGS(A_TEXT(case_id), A_INT(RP_TIMELINE_SHOW_MAX)),
                      timeline_json_row, &rows, "reading a case's timeline");
}

static rp_status sq_case_show_json(struct store *base, const char *id_or_prefix, json_t **out)
{
    struct sqlite_store *s = sq(base);
    struct case_row c;
    rp_status ret = case_lookup(s, id_or_prefix, &c);
    if (ret != RP_OK)
        return ret;
    int64_t alerts_total = 0, timeline_total = 0;
    json_t *alerts = json_array();
    json_t *timeline = json_array();
    json_t *row = store_case_row_json(&c);
    json_t *o = NULL;
    if (alerts == NULL || timeline == NULL || row == NULL) {
        ret = set_err(s, RP_E_NOMEM, "case %s: cannot build its JSON", c.id);
        goto done;
    }
    ret = show_alerts(s, c.id, alerts);
    if (ret == RP_OK)
        ret = count_query(s, ST_CASE_ALERTS_COUNT, ARGS(A_TEXT(c.id)), &alerts_total,
                          "counting alerts");
    if (ret == RP_OK)
        ret = show_timeline(s, c.id, timeline);
    if (ret == RP_OK)
        ret = count_query(s, ST_TIMELINE_COUNT, ARGS(A_TEXT(c.id)), &timeline_total,
                          "counting a timeline");
    if (ret != RP_OK)
        goto done;
    o = json_object();
    /* put() steals the references, also when it fails */
    bool ok = put(o, "case", row);
    ok = put(o, "alerts", alerts) && ok;
    ok = put(o, "timeline", timeline) && ok;
    row = alerts = timeline = NULL;
    ok = ok && put(o, "alerts_total", json_integer(alerts_total));
    ok = ok && put(o, "timeline_total", json_integer(timeline_total));
    if (!ok) {
        json_decref(o);
        o = NULL;
        ret = set_err(s, RP_E_NOMEM, "case %s: cannot build its JSON", c.id);
    }
done:
    json_decref(row);
    json_decref(alerts);
    json_decref(timeline);
    if (ret == RP_OK)
        *out = o;
    return ret;
}

/* --- dead letters ------------------------------------------------------------------------- */

static rp_status sq_deadletter_add(struct store *base, int64_t ts_ms, const char *channel,
                                   const char *location, const char *reason, const char *raw,
                                   size_t raw_len)
{
    size_t n = raw_len > RP_DEADLETTER_RAW_MAX ? RP_DEADLETTER_RAW_MAX : raw_len;
    return exec_args(
        sq(base), ST_DEADLETTER_ADD,
        ARGS(A_INT(ts_ms), A_TEXT(channel), A_TEXT(location), A_TEXT(reason), A_BLOB(raw, n)),
        "storing a dead letter");
}

static rp_status sq_deadletter_count(struct store *base, int64_t *out)
{
    return count_query(sq(base), ST_DEADLETTER_COUNT, NO_ARGS, out, "counting dead letters");
}

/* --- tokens ---------------------------------------------------------------------------------- */

static rp_status sq_token_put(struct store *base, const char *name, const char *hash_hex,
                              const char *role, int64_t created_ms)
{
    struct sqlite_store *s = sq(base);
    /* store_token_find() copies them into buffers of these sizes */
    if (name[0] == '\0' || strnlen(name, RP_NAME_MAX_BYTES + 1) > RP_NAME_MAX_BYTES)
        return set_err(s, RP_E_INVALID, "token name: 1 to %u bytes", RP_NAME_MAX_BYTES);
    if (role[0] == '\0' || strnlen(role, STORE_TOKEN_ROLE_MAX) >= STORE_TOKEN_ROLE_MAX)
        return set_err(s, RP_E_INVALID, "token role: 1 to %d bytes", STORE_TOKEN_ROLE_MAX - 1);
    rp_status ret = exec_args(s, ST_TOKEN_PUT,
                              ARGS(A_TEXT(name), A_TEXT(hash_hex), A_TEXT(role), A_INT(created_ms)),
                              "storing a token");
    if (ret == RP_E_EXISTS)
        set_err(s, RP_E_EXISTS, "a token named '%s' exists already", name);
    return ret;
}

/* Where token_read() copies a token's name and role (store_token_find()'s
 * buffers). */
struct token_out {
    char *name;
    char *role;
};

/* A row function: the current row's name and role into the token_out. */
static rp_status token_read(struct sqlite_store *s, sqlite3_stmt *st, void *ctx)
{
    struct token_out *t = ctx;
    if (!col_copy(st, 0, t->name, RP_NAME_MAX_BYTES + 1) ||
        !col_copy(st, 1, t->role, STORE_TOKEN_ROLE_MAX))
        return set_err(s, RP_E_STORE, "a stored token's name or role is too long");
    return RP_OK;
}

/* The hash is of 256 random bits, so the time an index lookup takes tells an
 * attacker nothing usable about a secret. */
static rp_status sq_token_find(struct store *base, const char *hash_hex, char *name, char *role)
{
    struct sqlite_store *s = sq(base);
    struct token_out t = {name, role};
    bool found = false;
    rp_status ret = query_one(s, ST_TOKEN_FIND, ARGS(A_TEXT(hash_hex)), token_read, &t, &found,
                              "looking up a token");
    if (ret == RP_OK && !found)
        ret = set_err(s, RP_E_NOTFOUND, "no such token");
    return ret;
}

static rp_status sq_token_count(struct store *base, int64_t *out)
{
    return count_query(sq(base), ST_TOKEN_COUNT, NO_ARGS, out, "counting tokens");
}

/* A row function: the current row's token, as JSON, onto the sq_rows. */
static rp_status token_json_row(struct sqlite_store *s, sqlite3_stmt *st, void *ctx)
{
    struct sq_rows *rows = ctx;
    char created[TIME_RFC3339_LEN];
    time_format_rfc3339(sqlite3_column_int64(st, 2), created);
    json_t *t = json_pack("{s:s, s:s, s:s}", "name", col_text(st, 0), "role", col_text(st, 1),
                          "created", created);
    if (t == NULL || json_array_append_new(rows->arr, t) != 0)
        return set_err(s, RP_E_NOMEM, "token list: out of memory");
    return RP_OK;
}

static rp_status sq_token_list_json(struct store *base, json_t **out)
{
    return query_array(sq(base), ST_TOKEN_LIST, NO_ARGS, token_json_row, "token list",
                       "listing tokens", out);
}

static rp_status sq_token_revoke(struct store *base, const char *name)
{
    struct sqlite_store *s = sq(base);
    rp_status ret = exec_args(s, ST_TOKEN_REVOKE, ARGS(A_TEXT(name)), "revoking a token");
    if (ret == RP_OK && sqlite3_changes(s->db) == 0)
        ret = set_err(s, RP_E_NOTFOUND, "no token named '%s'", name);
    return ret;
}

/* --- rows as JSON ------------------------------------------------------------------------------
 */

/* A row function: the current row onto the sq_rows as an object keyed by
 * column name: NULL as null, integers and text as they are, a column NAME_ms
 * as the RFC 3339 time "NAME" (null for NULL), a column NAME_json as the
 * parsed JSON "NAME". The messages name the sq_rows' about. */
static rp_status row_json(struct sqlite_store *s, sqlite3_stmt *st, void *ctx)
{
    struct sq_rows *rows = ctx;
    const char *what = rows->about;
    int ncol = sqlite3_column_count(st);
    json_t *row = json_object();
    if (row == NULL || json_array_append_new(rows->arr, row) != 0)
        return set_err(s, RP_E_NOMEM, "%s: out of memory", what);
    for (int c = 0; c < ncol; c++) {
        const char *name = sqlite3_column_name(st, c);
        size_t n = strlen(name);
        char key[64];
        json_t *v = NULL;
        int type = sqlite3_column_type(st, c);
        if (n > 3 && strcmp(name + n - 3, "_ms") == 0) {
            snprintf(key, sizeof key, "%.*s", (int)(n - 3), name);
            if (type == SQLITE_NULL) {
                v = json_null();
            } else {
                char t[TIME_RFC3339_LEN];
                time_format_rfc3339(sqlite3_column_int64(st, c), t);
                v = json_string(t);
            }
        } else if (n > 5 && strcmp(name + n - 5, "_json") == 0) {
            snprintf(key, sizeof key, "%.*s", (int)(n - 5), name);
            v = type == SQLITE_NULL
                    ? json_null()
                    : json_loadb((const char *)sqlite3_column_text(st, c),
                                 (size_t)sqlite3_column_bytes(st, c), JSON_DECODE_ANY, NULL);
            if (v == NULL)
                return set_err(s, RP_E_STORE, "%s: column %s holds bad JSON", what, name);
        } else {
            snprintf(key, sizeof key, "%s", name);
            if (type == SQLITE_NULL)
                v = json_null();
            else if (type == SQLITE_INTEGER)
                v = json_integer(sqlite3_column_int64(st, c));
            else
                v = json_stringn(col_text(st, c), (size_t)sqlite3_column_bytes(st, c));
        }
        if (!put(row, key, v))
            return set_err(s, RP_E_NOMEM, "%s: out of memory", what);
    }
    return RP_OK;
}

/* Runs statement id with args, collecting the rows as row_json() does into a
 * new array *out (the caller's). */
static rp_status query_json(struct sqlite_store *s, enum stmt_id id, struct sq_args args,
                            json_t **out, const char *what)
{
    return query_array(s, id, args, row_json, what, what, out);
}

/* A JSON value as compact text for a column; NULL stays NULL. */
static char *json_text(json_t *v)
{
    return v != NULL ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
}

/* --- playbooks ----------------------------------------------------------------------------------
 */

static rp_status sq_playbook_put(struct store *base, const char *name, const char *sha256,
                                 const char *text, size_t len, int64_t now_ms, int *version,
                                 bool *created)
{
    struct sqlite_store *s = sq(base);
    int64_t known = 0;
    bool found = false;
    rp_status ret = query_one(s, ST_PLAYBOOK_FIND, ARGS(A_TEXT(name), A_TEXT(sha256)), row_int64,
                              &known, &found, "looking up a playbook version");
    if (ret != RP_OK)
        return ret;
    if (found) {
        *version = (int)known;
        *created = false;
        return RP_OK;
    }
    int64_t maxv = 0;
    ret = count_query(s, ST_PLAYBOOK_MAXVER, ARGS(A_TEXT(name)), &maxv,
                      "numbering a playbook version");
    if (ret != RP_OK)
        return ret;
    ret = exec_args(
        s, ST_PLAYBOOK_INSERT,
        ARGS(A_TEXT(name), A_INT(maxv + 1), A_TEXT(sha256), A_TEXTN(text, len), A_INT(now_ms)),
        "storing a playbook version");
    if (ret == RP_OK) {
        *version = (int)(maxv + 1);
        *created = true;
    }
    return ret;
}

/* Where playbook_read() puts a version's text (malloc'd, the caller's), its
 * length and its number. */
struct playbook_out {
    char **text;
    size_t *len;
    int *version;
};

/* A row function: the current row's version and a copy of its text into the
 * playbook_out. */
static rp_status playbook_read(struct sqlite_store *s, sqlite3_stmt *st, void *ctx)
{
    struct playbook_out *p = ctx;
    size_t n = (size_t)sqlite3_column_bytes(st, 1);
    char *t = malloc(n + 1);
    if (t == NULL)
        return set_err(s, RP_E_NOMEM, "playbook text: out of memory");
    memcpy(t, col_text(st, 1), n);
    t[n] = '\0';
    *p->text = t;
    *p->len = n;
    *p->version = sqlite3_column_int(st, 0);
    return RP_OK;
}

static rp_status sq_playbook_text(struct store *base, const char *name, int version, char **text,
                                  size_t *len, int *version_out)
{
    struct sqlite_store *s = sq(base);
    struct playbook_out p = {text, len, version_out};
    bool found = false;
    rp_status ret = query_one(s, ST_PLAYBOOK_TEXT, ARGS(A_TEXT(name), A_INT(version)),
                              playbook_read, &p, &found, "reading a playbook version");
    if (ret == RP_OK && !found)
        ret = set_err(s, RP_E_NOTFOUND, "no playbook '%s' version %d", name, version);
    return ret;
}

/* --- runs ----------------------------------------------------------------------------------------
 */

static rp_status sq_run_insert(struct store *base, const struct store_run *r)
{
    struct sqlite_store *s = sq(base);
    char *context = json_text(r->context);
    if (context == NULL)
        return set_err(s, RP_E_NOMEM, "run context: out of memory");
    rp_status ret =
        exec_args(s, ST_RUN_INSERT,
                  ARGS(A_TEXT(r->id), A_TEXT(r->playbook), A_INT(r->version), A_TEXT(r->trigger),
                       A_TEXT(r->dedup_key), A_TEXT(r->alert_id), A_TEXT(r->case_id),
                       A_TEXT(r->mode), A_TEXT(context), A_INT(r->created_ms)),
                  "storing a run");
    /* OR IGNORE: a taken dedup key is an answer, not a failed statement
     * that would abort the group's transaction */
    if (ret == RP_OK && sqlite3_changes(s->db) == 0)
        ret = set_err(s, RP_E_EXISTS, "a run for '%s' exists already",
                      r->dedup_key != NULL ? r->dedup_key : r->id);
    free(context);
    return ret;
}

static rp_status sq_run_dedup_exists(struct store *base, const char *key, bool *found)
{
    return query_one(sq(base), ST_RUN_DEDUP, ARGS(A_TEXT(key)), NULL, NULL, found,
                     "looking up a run");
}

static rp_status sq_run_status(struct store *base, const char *id, const char *status,
                               const char *error, int64_t now_ms)
{
    struct sqlite_store *s = sq(base);
    rp_status ret =
        exec_args(s, ST_RUN_STATUS, ARGS(A_TEXT(id), A_TEXT(status), A_TEXT(error), A_INT(now_ms)),
                  "updating a run");
    if (ret == RP_OK && sqlite3_changes(s->db) == 0)
        ret = set_err(s, RP_E_NOTFOUND, "no run '%s'", id);
    return ret;
}

static rp_status sq_run_event_add(struct store *base, const char *run_id, int64_t seq,
                                  int64_t ts_ms, const char *type, const char *key, json_t *data)
{
    struct sqlite_store *s = sq(base);
    char *text = NULL;
    if (data != NULL && (text = json_text(data)) == NULL)
        return set_err(s, RP_E_NOMEM, "run event: out of memory");
    rp_status ret = exec_args(
        s, ST_RUN_EVENT_ADD,
        ARGS(A_TEXT(run_id), A_INT(seq), A_INT(ts_ms), A_TEXT(type), A_TEXT(key), A_TEXT(text)),
        "storing a run event");
    free(text);
    return ret;
}

static rp_status sq_run_events(struct store *base, const char *run_id, json_t **out)
{
    return query_json(sq(base), ST_RUN_EVENTS, ARGS(A_TEXT(run_id)), out, "reading a run's events");
}

static rp_status sq_run_unfinished(struct store *base, json_t **out)
{
    return query_json(sq(base), ST_RUN_UNFINISHED, NO_ARGS, out, "reading unfinished runs");
}

/* A list's LIMIT: none (NULL) unless it is positive as an int64_t. */
static struct sq_arg a_limit(size_t limit)
{
    int64_t n = (int64_t)limit;
    return n > 0 ? A_INT(n) : A_NULL;
}

static rp_status sq_run_list_json(struct store *base, const char *status, size_t limit,
                                  json_t **out)
{
    return query_json(sq(base), ST_RUN_LIST, ARGS(A_TEXT(status), a_limit(limit)), out,
                      "listing runs");
}

static rp_status sq_run_show_json(struct store *base, const char *id_or_prefix, json_t **out)
{
    struct sqlite_store *s = sq(base);
    size_t n = strnlen(id_or_prefix, ULID_LEN + 1);
    if (n < 6 || n > ULID_LEN)
        return set_err(s, RP_E_NOTFOUND, "no run '%.*s': give 6 to %d characters of its id",
                       (int)(n > ULID_LEN ? ULID_LEN : n), id_or_prefix, ULID_LEN);
    char key[ULID_LEN + 1];
    for (size_t i = 0; i <= n; i++)
        key[i] = (char)toupper((unsigned char)id_or_prefix[i]);
    json_t *rows = NULL;
    rp_status ret = query_json(s, ST_RUN_GET_RANGE, ARGS(A_TEXT(key)), &rows, "looking up a run");
    if (ret != RP_OK)
        return ret;
    if (json_array_size(rows) != 1) {
        ret = json_array_size(rows) == 0
                  ? set_err(s, RP_E_NOTFOUND, "no run '%s'", id_or_prefix)
                  : set_err(s, RP_E_AMBIGUOUS, "run '%s': the prefix matches several runs",
                            id_or_prefix);
        json_decref(rows);
        return ret;
    }
    json_t *run = json_incref(json_array_get(rows, 0));
    json_decref(rows);
    json_t *events = NULL;
    ret = sq_run_events(base, json_string_value(json_object_get(run, "id")), &events);
    if (ret == RP_OK && !put(run, "events", events))
        ret = set_err(s, RP_E_NOMEM, "run: out of memory");
    if (ret != RP_OK) {
        json_decref(run);
        return ret;
    }
    *out = run;
    return RP_OK;
}

/* --- prompts -------------------------------------------------------------------------------------
 */

static rp_status sq_prompt_put(struct store *base, const struct store_prompt *p)
{
    struct sqlite_store *s = sq(base);
    char *options = json_text(p->options);
    if (options == NULL)
        return set_err(s, RP_E_NOMEM, "prompt: out of memory");
    rp_status ret =
        exec_args(s, ST_PROMPT_PUT,
                  ARGS(A_TEXT(p->id), A_TEXT(p->run_id), A_TEXT(p->step_key), A_TEXT(p->to),
                       A_TEXT(p->role), A_TEXT(p->question), A_TEXT(options),
                       A_TEXT(p->default_option), A_INT(p->created_ms), A_INT(p->deadline_ms)),
                  "storing a prompt");
    free(options);
    return ret;
}

static rp_status sq_prompt_get_json(struct store *base, const char *id, json_t **out)
{
    struct sqlite_store *s = sq(base);
    json_t *rows = NULL;
    rp_status ret = query_json(s, ST_PROMPT_GET, ARGS(A_TEXT(id)), &rows, "reading a prompt");
    if (ret != RP_OK)
        return ret;
    if (json_array_size(rows) == 0) {
        json_decref(rows);
        return set_err(s, RP_E_NOTFOUND, "no prompt '%s'", id);
    }
    *out = json_incref(json_array_get(rows, 0));
    json_decref(rows);
    return RP_OK;
}

/* Checks and takes the answer inside the caller's transaction. */
static rp_status prompt_answer_tx(struct sqlite_store *s, const char *id, const char *option,
                                  const char *by, int64_t now_ms)
{
    json_t *p = NULL;
    rp_status ret = sq_prompt_get_json(&s->base, id, &p);
    if (ret != RP_OK)
        return ret;
    const char *status = json_string_value(json_object_get(p, "status"));
    json_t *opts = json_object_get(p, "options");
    bool known = false;
    size_t i;
    json_t *o;
    json_array_foreach(opts, i, o) known |=
        json_is_string(o) && strcmp(json_string_value(o), option) == 0;
    int64_t deadline = 0;
    const char *dl = json_string_value(json_object_get(p, "deadline"));
    struct rp_error e;
    if (dl == NULL || time_parse_rfc3339(dl, strlen(dl), &deadline, &e) != RP_OK)
        deadline = 0;
    if (status == NULL || strcmp(status, "open") != 0)
        ret = set_err(s, RP_E_EXISTS, "prompt %s is %s: it takes one answer", id,
                      status != NULL ? status : "closed");
    else if (now_ms > deadline)
        ret = set_err(s, RP_E_LIMIT, "prompt %s: the answer came after the deadline %s", id,
                      dl != NULL ? dl : "?");
    else if (!known)
        ret = set_err(s, RP_E_INVALID, "prompt %s: '%s' is not one of its options", id, option);
    json_decref(p);
    if (ret != RP_OK)
        return ret;
    ret =
        exec_args(s, ST_PROMPT_ANSWER, ARGS(A_TEXT(id), A_TEXT(option), A_TEXT(by), A_INT(now_ms)),
                  "answering a prompt");
    if (ret == RP_OK && sqlite3_changes(s->db) == 0)
        ret = set_err(s, RP_E_EXISTS, "prompt %s was answered already", id);
    return ret;
}

static rp_status sq_prompt_answer(struct store *base, const char *id, const char *option,
                                  const char *by, int64_t now_ms)
{
    struct sqlite_store *s = sq(base);
    bool own = false;
    rp_status ret = own_begin(s, &own);
    if (ret != RP_OK)
        return ret;
    return own_end(s, own, prompt_answer_tx(s, id, option, by, now_ms));
}

static rp_status sq_prompt_expire(struct store *base, const char *id, int64_t now_ms)
{
    struct sqlite_store *s = sq(base);
    rp_status ret =
        exec_args(s, ST_PROMPT_EXPIRE, ARGS(A_TEXT(id), A_INT(now_ms)), "expiring a prompt");
    if (ret == RP_OK && sqlite3_changes(s->db) == 0)
        ret = set_err(s, RP_E_EXISTS, "prompt %s is not open", id);
    return ret;
}

/* A row function: the current row's prompt id onto the sq_rows. */
static rp_status prompt_id_row(struct sqlite_store *s, sqlite3_stmt *st, void *ctx)
{
    struct sq_rows *rows = ctx;
    if (json_array_append_new(rows->arr, json_string(col_text(st, 0))) != 0)
        return set_err(s, RP_E_NOMEM, "prompts: out of memory");
    return RP_OK;
}

static rp_status sq_prompt_answered_since(struct store *base, int64_t since_ms, json_t **out)
{
    return query_array(sq(base), ST_PROMPT_ANSWERED_SINCE,
                       ARGS(A_INT(since_ms), A_INT(RP_PROMPT_POLL_MAX)), prompt_id_row, "prompts",
                       "polling answered prompts", out);
}

static rp_status sq_prompt_list_json(struct store *base, const char *status, size_t limit,
                                     json_t **out)
{
    return query_json(sq(base), ST_PROMPT_LIST, ARGS(A_TEXT(status), a_limit(limit)), out,
                      "listing prompts");
}

/* --- secrets ------------------------------------------------------------------------------- */

static rp_status sq_secret_put(struct store *base, const char *name, const unsigned char *nonce,
                               size_t nonce_len, const unsigned char *ct, size_t ct_len,
                               int64_t updated_ms)
{
    return exec_args(
        sq(base), ST_SECRET_PUT,
        ARGS(A_TEXT(name), A_BLOB(nonce, nonce_len), A_BLOB(ct, ct_len), A_INT(updated_ms)),
        "storing a secret");
}

/* A copy of blob column col in a new buffer (at least one byte, so that an
 * empty blob is not mistaken for a failed allocation). */
static unsigned char *col_blob(sqlite3_stmt *st, int col, size_t *len)
{
    const void *p = sqlite3_column_blob(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    unsigned char *out = malloc(n > 0 ? n : 1);
    if (out != NULL && n > 0)
        memcpy(out, p, n);
    *len = n;
    return out;
}

/* Where secret_read() puts copies of a secret's nonce and ciphertext (the
 * caller's, to free). */
struct secret_out {
    unsigned char **nonce;
    size_t *nonce_len;
    unsigned char **ct;
    size_t *ct_len;
};

/* A row function: copies of the current row's nonce and ciphertext into the
 * secret_out; both or neither. */
static rp_status secret_read(struct sqlite_store *s, sqlite3_stmt *st, void *ctx)
{
    struct secret_out *o = ctx;
    *o->nonce = col_blob(st, 0, o->nonce_len);
    *o->ct = col_blob(st, 1, o->ct_len);
    if (*o->nonce == NULL || *o->ct == NULL) {
        free(*o->nonce);
        free(*o->ct);
        *o->nonce = *o->ct = NULL;
        return set_err(s, RP_E_NOMEM, "reading a secret: out of memory");
    }
    return RP_OK;
}

static rp_status sq_secret_get(struct store *base, const char *name, unsigned char **nonce,
                               size_t *nonce_len, unsigned char **ct, size_t *ct_len)
{
    struct sqlite_store *s = sq(base);
    struct secret_out o = {nonce, nonce_len, ct, ct_len};
    bool found = false;
    rp_status ret = query_one(s, ST_SECRET_GET, ARGS(A_TEXT(name)), secret_read, &o, &found,
                              "reading a secret");
    if (ret == RP_OK && !found)
        ret = set_err(s, RP_E_NOTFOUND, "no secret named '%s'", name);
    return ret;
}

static rp_status sq_secret_list_json(struct store *base, json_t **out)
{
    return query_json(sq(base), ST_SECRET_LIST, ARGS(A_NULL, A_INT(RP_SECRETS_LIST_MAX)), out,
                      "listing secrets");
}

static rp_status sq_secret_remove(struct store *base, const char *name)
{
    struct sqlite_store *s = sq(base);
    rp_status ret = exec_args(s, ST_SECRET_REMOVE, ARGS(A_TEXT(name)), "removing a secret");
    if (ret == RP_OK && sqlite3_changes(s->db) == 0)
        ret = set_err(s, RP_E_NOTFOUND, "no secret named '%s'", name);
    return ret;
}

/* --- guard rails --------------------------------------------------------------------------- */

static rp_status sq_guard_action_add(struct store *base, int64_t ts_ms, const char *run_id,
                                     const char *playbook, const char *action, int effect,
                                     json_t *targets)
{
    struct sqlite_store *s = sq(base);
    rp_status ret = exec_args(
        s, ST_GUARD_ACTION_ADD,
        ARGS(A_INT(ts_ms), A_TEXT(run_id), A_TEXT(playbook), A_TEXT(action), A_INT(effect)),
        "recording a guarded action");
    if (ret != RP_OK)
        return ret;
    int64_t id = sqlite3_last_insert_rowid(s->db);
    size_t i;
    json_t *t;
    json_array_foreach(targets, i, t)
    {
        char key[600];
        snprintf(key, sizeof key, "%s:%s", json_string_value(json_object_get(t, "type")),
                 json_string_value(json_object_get(t, "value")));
        ret = exec_args(s, ST_GUARD_TARGET_ADD,
                        ARGS(A_INT(id), A_TEXT(run_id), A_INT(effect), A_TEXT(key)),
                        "recording a guarded target");
        if (ret != RP_OK)
            return ret;
    }
    return RP_OK;
}

static rp_status sq_guard_count(struct store *base, int64_t since_ms, const char *action,
                                int effect, const char *playbook, int64_t *out)
{
    return count_query(sq(base), ST_GUARD_COUNT,
                       ARGS(A_INT(since_ms), A_TEXT(action), effect >= 0 ? A_INT(effect) : A_NULL,
                            A_TEXT(playbook)),
                       out, "counting guarded actions");
}

/* A row function: the current row's text onto the sq_rows. A value that
 * cannot be added is left out. */
static rp_status target_row(struct sqlite_store *s, sqlite3_stmt *st, void *ctx)
{
    (void)s;
    struct sq_rows *rows = ctx;
    json_array_append_new(rows->arr, json_string(col_text(st, 0)));
    return RP_OK;
}

static rp_status sq_guard_run_targets(struct store *base, const char *run_id, int effect,
                                      json_t **out)
{
    return query_array(sq(base), ST_GUARD_RUN_TARGETS, ARGS(A_TEXT(run_id), A_INT(effect)),
                       target_row, NULL, "reading a run's targets", out);
}

/* Where guard_state_read() puts the kill switch's state. */
struct guard_state_out {
    bool *stopped;
    int64_t *changed_ms;
    char *by;
    size_t by_cap;
};

/* A row function: the current row's kill switch state into the
 * guard_state_out; a changer's name too long for it reads as "". */
static rp_status guard_state_read(struct sqlite_store *s, sqlite3_stmt *st, void *ctx)
{
    (void)s;
    struct guard_state_out *g = ctx;
    *g->stopped = sqlite3_column_int(st, 0) != 0;
    *g->changed_ms = sqlite3_column_int64(st, 1);
    if (g->by_cap > 0 && !col_copy(st, 2, g->by, g->by_cap))
        g->by[0] = '\0';
    return RP_OK;
}

static rp_status sq_guard_state_get(struct store *base, bool *stopped, int64_t *changed_ms,
                                    char *by, size_t by_cap)
{
    *stopped = false;
    *changed_ms = 0;
    if (by_cap > 0)
        by[0] = '\0';
    struct guard_state_out g = {stopped, changed_ms, by, by_cap};
    bool found = false;
    return query_one(sq(base), ST_GUARD_STATE_GET, NO_ARGS, guard_state_read, &g, &found,
                     "reading the kill switch");
}

static rp_status sq_guard_state_set(struct store *base, bool stopped, const char *by, int64_t ts_ms)
{
    return exec_args(sq(base), ST_GUARD_STATE_SET,
                     ARGS(A_INT(stopped ? 1 : 0), A_INT(ts_ms), A_TEXT(by)),
                     "setting the kill switch");
}

/* Where audit_last_read() puts the audit chain's last link. */
struct audit_out {
    int64_t *seq;
    char *hash; /* 65 bytes */
};

/* A row function: the current row's sequence number and hash into the
 * audit_out. */
static rp_status audit_last_read(struct sqlite_store *s, sqlite3_stmt *st, void *ctx)
{
    struct audit_out *a = ctx;
    *a->seq = sqlite3_column_int64(st, 0);
    if (!col_copy(st, 1, a->hash, 65))
        return set_err(s, RP_E_STORE, "audit: a stored hash is too long");
    return RP_OK;
}

static rp_status sq_audit_last(struct store *base, int64_t *seq, char hash[65])
{
    *seq = 0;
    hash[0] = '\0';
    struct audit_out a = {seq, hash};
    bool found = false;
    return query_one(sq(base), ST_AUDIT_LAST, NO_ARGS, audit_last_read, &a, &found,
                     "reading the audit chain");
}

static rp_status sq_audit_put(struct store *base, int64_t seq, int64_t ts_ms, const char *actor,
                              const char *kind, const char *detail, const char *prev_hash,
                              const char *hash)
{
    return exec_args(sq(base), ST_AUDIT_PUT,
                     ARGS(A_INT(seq), A_INT(ts_ms), A_TEXT(actor), A_TEXT(kind), A_TEXT(detail),
                          A_TEXT(prev_hash), A_TEXT(hash)),
                     "appending to the audit chain");
}

static rp_status sq_audit_rows(struct store *base, int64_t after_seq, size_t limit, json_t **out)
{
    return query_array(sq(base), ST_AUDIT_ROWS, ARGS(A_INT(after_seq), A_INT((int64_t)limit)),
                       row_json, NULL, "reading the audit chain", out);
}

static rp_status sq_containment_add(struct store *base, const char *id, const char *run_id,
                                    const char *action, const char *release_action, json_t *params,
                                    int64_t until_ms, int64_t ts_ms)
{
    struct sqlite_store *s = sq(base);
    char *text = json_text(params);
    if (text == NULL)
        return set_err(s, RP_E_NOMEM, "containment: out of memory");
    rp_status ret =
        exec_args(s, ST_CONTAINMENT_ADD,
                  ARGS(A_TEXT(id), A_TEXT(run_id), A_TEXT(action), A_TEXT(release_action),
                       A_TEXT(text), A_INT(until_ms), A_INT(ts_ms)),
                  "recording a containment");
    free(text);
    return ret;
}

static rp_status sq_containment_due(struct store *base, int64_t now_ms, json_t **out)
{
    return query_array(sq(base), ST_CONTAINMENT_DUE, ARGS(A_INT(now_ms)), row_json, NULL,
                       "reading due containments", out);
}

static rp_status sq_containment_set(struct store *base, const char *id, const char *status,
                                    int64_t until_ms, int64_t ts_ms)
{
    struct sqlite_store *s = sq(base);
    rp_status ret = exec_args(s, ST_CONTAINMENT_SET,
                              ARGS(A_TEXT(id), A_TEXT(status), A_INT(until_ms), A_INT(ts_ms)),
                              "updating a containment");
    if (ret == RP_OK && sqlite3_changes(s->db) == 0)
        ret = set_err(s, RP_E_NOTFOUND, "no containment '%s'", id);
    return ret;
}

static rp_status sq_containment_list_json(struct store *base, json_t **out)
{
    return query_json(sq(base), ST_CONTAINMENT_LIST, ARGS(A_NULL), out, "listing containments");
}

static rp_status sq_blocklist_add(struct store *base, const char *name, const char *type,
                                  const char *value, int64_t expires_ms, const char *source,
                                  int64_t now_ms)
{
    return exec_args(sq(base), ST_BLOCKLIST_ADD,
                     ARGS(A_TEXT(name), A_TEXT(value), A_TEXT(type), A_INT(now_ms),
                          expires_ms > 0 ? A_INT(expires_ms) : A_NULL, A_TEXT(source)),
                     "adding to a blocklist");
}

/* The caller's function for each value of a blocklist, and its argument. */
struct blocklist_each {
    void (*fn)(void *ctx, const char *value);
    void *ctx;
};

/* A row function: the current row's value to the blocklist_each's function. */
static rp_status blocklist_row(struct sqlite_store *s, sqlite3_stmt *st, void *ctx)
{
    (void)s;
    struct blocklist_each *e = ctx;
    e->fn(e->ctx, col_text(st, 0));
    return RP_OK;
}

static rp_status sq_blocklist_each(struct store *base, const char *name, int64_t now_ms,
                                   size_t limit, void (*fn)(void *ctx, const char *value),
                                   void *ctx)
{
    struct blocklist_each e = {fn, ctx};
    return query_rows(sq(base), ST_BLOCKLIST_LIST,
                      ARGS(A_TEXT(name), A_INT(now_ms), A_INT((int64_t)limit)), blocklist_row, &e,
                      "reading a blocklist");
}

/* --- post-mortems and KPIs ------------------------------------------------------------------ */

static rp_status sq_postmortem_add(struct store *base, const char *case_id, const char *root_cause,
                                   const char *lessons, json_t *guard_rails, const char *author,
                                   int64_t created_ms)
{
    struct sqlite_store *s = sq(base);
    char *rails = json_text(guard_rails);
    if (rails == NULL)
        return set_err(s, RP_E_NOMEM, "post-mortem: out of memory");
    rp_status ret = exec_args(s, ST_POSTMORTEM_ADD,
                              ARGS(A_TEXT(case_id), A_TEXT(root_cause), A_TEXT(lessons),
                                   A_TEXT(rails), A_TEXT(author), A_INT(created_ms)),
                              "storing a post-mortem");
    free(rails);
    return ret;
}

static rp_status sq_postmortem_list_json(struct store *base, const char *case_id, json_t **out)
{
    return query_json(sq(base), ST_POSTMORTEM_LIST, ARGS(A_TEXT(case_id)), out,
                      "reading post-mortems");
}

/* A KPI query's LIMIT: limit, capped at what SQLite's integer holds. */
static struct sq_arg a_kpi_limit(size_t limit)
{
    return A_INT(limit > INT64_MAX ? INT64_MAX : (int64_t)limit);
}

/* The caller's function for each case of a period, and its argument. */
struct kpi_each {
    store_kpi_case_fn fn;
    void *arg;
};

/* A row function: the current row's case to the kpi_each's function, whose
 * failure ends the query. */
static rp_status kpi_case_row(struct sqlite_store *s, sqlite3_stmt *st, void *ctx)
{
    (void)s;
    struct kpi_each *e = ctx;
    struct store_kpi_case c = {
        .id = col_text(st, 0),
        .kind = col_text(st, 1),
        .source = col_text(st, 2),
        .status = col_text(st, 3),
        .severity = sqlite3_column_int(st, 4),
        .detected_ms = sqlite3_column_int64(st, 5),
        .created_ms = sqlite3_column_int64(st, 6),
        .acknowledged_ms = sqlite3_column_int64(st, 7),
        .contained_ms = sqlite3_column_int64(st, 8),
        .resolved_ms = sqlite3_column_int64(st, 9),
        .human = sqlite3_column_int(st, 10) != 0,
        .postmortem = sqlite3_column_int(st, 11) != 0,
        .playbooks = col_text(st, 12),
    };
    return e->fn(e->arg, &c);
}

static rp_status sq_kpi_cases(struct store *base, int64_t from_ms, int64_t to_ms, size_t limit,
                              store_kpi_case_fn fn, void *arg)
{
    struct kpi_each e = {fn, arg};
    return query_rows(sq(base), ST_KPI_CASES,
                      ARGS(A_INT(from_ms), A_INT(to_ms), a_kpi_limit(limit)), kpi_case_row, &e,
                      "reading the cases of a period");
}

static rp_status sq_kpi_rows_json(struct store *base, enum store_kpi_query q, int64_t a, int64_t b,
                                  size_t limit, json_t **out)
{
    static const enum stmt_id IDS[] = {
        [STORE_KPI_ACTIONS] = ST_KPI_ACTIONS,       [STORE_KPI_PROMPTS] = ST_KPI_PROMPTS,
        [STORE_KPI_GUARD] = ST_KPI_GUARD,           [STORE_KPI_POSTMORTEMS] = ST_KPI_POSTMORTEMS,
        [STORE_KPI_OPEN_CASES] = ST_KPI_OPEN_CASES,
    };
    struct sqlite_store *s = sq(base);
    if ((size_t)q >= sizeof IDS / sizeof IDS[0])
        return set_err(s, RP_E_USAGE, "no KPI query %d", (int)q);
    return query_array(s, IDS[q], ARGS(A_INT(a), A_INT(b), a_kpi_limit(limit)), row_json, "KPIs",
                       "reading KPIs", out);
}

/* A row function: the current row's JSON text, parsed, into the json_t * ctx
 * points to (NULL when it is not JSON). */
static rp_status cursor_read(struct sqlite_store *s, sqlite3_stmt *st, void *ctx)
{
    (void)s;
    *(json_t **)ctx = json_loadb(col_text(st, 0), (size_t)sqlite3_column_bytes(st, 0), 0, NULL);
    return RP_OK;
}

static rp_status sq_source_cursor_get(struct store *base, const char *name, json_t **out)
{
    struct sqlite_store *s = sq(base);
    *out = NULL;
    bool found = false;
    rp_status ret = query_one(s, ST_CURSOR_GET, ARGS(A_TEXT(name)), cursor_read, out, &found,
                              "reading a source position");
    if (ret == RP_OK && found && *out == NULL)
        ret = set_err(s, RP_E_STORE, "the saved position of source %s is not JSON", name);
    return ret;
}

static rp_status sq_source_cursor_put(struct store *base, const char *name, json_t *state,
                                      int64_t now_ms)
{
    struct sqlite_store *s = sq(base);
    char *text = json_text(state);
    if (text == NULL)
        return set_err(s, RP_E_NOMEM, "source position: out of memory");
    rp_status ret = exec_args(s, ST_CURSOR_PUT, ARGS(A_TEXT(name), A_TEXT(text), A_INT(now_ms)),
                              "saving a source position");
    free(text);
    return ret;
}

static const char *sq_errmsg(struct store *base)
{
    return sq(base)->errmsg;
}

static const struct store_backend SQLITE_BACKEND = {
    .name = "sqlite",
    .close = sq_close,
    .schema_version = sq_schema_version,
    .begin = sq_begin,
    .commit = sq_commit,
    .rollback = sq_rollback,
    .alert_put = sq_alert_put,
    .alert_exists = sq_alert_exists,
    .case_find_open = sq_case_find_open,
    .case_get = sq_case_get,
    .case_insert = sq_case_insert,
    .case_save = sq_case_save,
    .timeline_add = sq_timeline_add,
    .case_list_json = sq_case_list_json,
    .case_show_json = sq_case_show_json,
    .deadletter_add = sq_deadletter_add,
    .deadletter_count = sq_deadletter_count,
    .token_put = sq_token_put,
    .token_find = sq_token_find,
    .token_count = sq_token_count,
    .token_list_json = sq_token_list_json,
    .token_revoke = sq_token_revoke,
    .playbook_put = sq_playbook_put,
    .playbook_text = sq_playbook_text,
    .run_insert = sq_run_insert,
    .run_dedup_exists = sq_run_dedup_exists,
    .run_status = sq_run_status,
    .run_event_add = sq_run_event_add,
    .run_events = sq_run_events,
    .run_unfinished = sq_run_unfinished,
    .run_list_json = sq_run_list_json,
    .run_show_json = sq_run_show_json,
    .prompt_put = sq_prompt_put,
    .prompt_get_json = sq_prompt_get_json,
    .prompt_answer = sq_prompt_answer,
    .prompt_expire = sq_prompt_expire,
    .prompt_answered_since = sq_prompt_answered_since,
    .prompt_list_json = sq_prompt_list_json,
    .secret_put = sq_secret_put,
    .secret_get = sq_secret_get,
    .secret_list_json = sq_secret_list_json,
    .secret_remove = sq_secret_remove,
    .guard_action_add = sq_guard_action_add,
    .guard_count = sq_guard_count,
    .guard_run_targets = sq_guard_run_targets,
    .guard_state_get = sq_guard_state_get,
    .guard_state_set = sq_guard_state_set,
    .audit_last = sq_audit_last,
    .audit_put = sq_audit_put,
    .audit_rows = sq_audit_rows,
    .containment_add = sq_containment_add,
    .containment_due = sq_containment_due,
    .containment_set = sq_containment_set,
    .containment_list_json = sq_containment_list_json,
    .blocklist_add = sq_blocklist_add,
    .blocklist_each = sq_blocklist_each,
    .source_cursor_get = sq_source_cursor_get,
    .source_cursor_put = sq_source_cursor_put,
    .postmortem_add = sq_postmortem_add,
    .postmortem_list_json = sq_postmortem_list_json,
    .kpi_cases = sq_kpi_cases,
    .kpi_rows_json = sq_kpi_rows_json,
    .errmsg = sq_errmsg,
};

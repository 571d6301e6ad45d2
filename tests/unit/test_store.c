/*
 * test_store.c: the store interface (store/store.h) on its SQLite backend.
 *
 * Each test gets a fresh database in its own temporary directory, removed
 * afterwards. Assertions about what is on disk go through a separate, plain
 * SQLite connection, so that they do not trust the code under test.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "core/limits.h"
#include "core/time.h"
#include "core/ulid.h"
#include "model/case.h"
#include "store/store.h"

#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* --- fixture ----------------------------------------------------------------------------- */

struct fx {
    char dir[256];
    char path[300];
    struct store *s;
};

static int fx_setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    const char *tmp = getenv("TMPDIR");
    int n = snprintf(f->dir, sizeof(f->dir), "%s/test_store.XXXXXX",
                     tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
    assert_true(n > 0 && (size_t)n < sizeof(f->dir));
    assert_non_null(mkdtemp(f->dir));
    n = snprintf(f->path, sizeof(f->path), "%s/riposte.db", f->dir);
    assert_true(n > 0 && (size_t)n < sizeof(f->path));
    *state = f;
    return 0;
}

static int fx_teardown(void **state)
{
    struct fx *f = *state;
    store_close(f->s);
    DIR *d = opendir(f->dir);
    if (d != NULL) {
        struct dirent *e;
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char p[600];
            int n = snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
            if (n > 0 && (size_t)n < sizeof(p))
                unlink(p);
        }
        closedir(d);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Fails the test with the store's message when st is not RP_OK. */
#define OK(s, expr)                                                                                \
    do {                                                                                           \
        rp_status st_ = (expr);                                                                    \
        if (st_ != RP_OK)                                                                          \
            fail_msg("%s: %s (%s)", #expr, rp_status_str(st_), store_errmsg(s));                   \
    } while (0)

static struct store *fx_open(struct fx *f)
{
    struct rp_error err = {{0}};
    rp_status st = store_open(f->path, &f->s, &err);
    if (st != RP_OK)
        fail_msg("store_open: %s: %s", rp_status_str(st), err.msg);
    return f->s;
}

/* One number from a plain connection to the file. */
static int64_t raw_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL),
                     SQLITE_OK);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        fail_msg("%s: %s", sql, sqlite3_errmsg(db));
    sqlite3_close(db);
}

static void copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    assert_true(n < cap);
    memcpy(dst, src, n + 1);
}

static void make_case(struct case_row *c, const char *id, const char *fp, enum case_status status,
                      int64_t last_seen_ms)
{
    memset(c, 0, sizeof(*c));
    copy(c->id, sizeof(c->id), id);
    copy(c->fingerprint, sizeof(c->fingerprint), fp);
    copy(c->title, sizeof(c->title), "Suspicious PowerShell");
    copy(c->kind, sizeof(c->kind), "endpoint");
    copy(c->source, sizeof(c->source), "edr");
    c->status = status;
    c->severity = 50;
    c->alert_count = 1;
    c->created_ms = last_seen_ms;
    c->updated_ms = last_seen_ms;
    c->first_seen_ms = last_seen_ms;
    c->last_seen_ms = last_seen_ms;
    c->detected_ms = last_seen_ms - 10;
}

static void make_id(int64_t ms, char out[ULID_LEN + 1])
{
    assert_int_equal(ulid_new_at(ms, out), RP_OK);
}

/* Stores an alert of case_id with the given id and two observables. */
static rp_status put_alert(struct store *s, const char *id, const char *case_id, int64_t ms)
{
    char json[256];
    int n = snprintf(json, sizeof(json), "{\"id\":\"%s\",\"title\":\"t\",\"received_ms\":%lld}", id,
                     (long long)ms);
    assert_true(n > 0 && (size_t)n < sizeof(json));
    json_t *obs = json_pack("[{s:s, s:s, s:s}, {s:s, s:s}]", "type", "ipv4", "value", "10.0.0.1",
                            "role", "src", "type", "user", "value", "alice");
    assert_non_null(obs);
    struct store_alert a = {
        .id = id,
        .case_id = case_id,
        .fingerprint = "fp",
        .source = "edr",
        .kind = "endpoint",
        .severity = 40,
        .event_ms = ms - 5,
        .received_ms = ms,
        .raw = "raw bytes",
        .raw_len = 9,
        .json = json,
        .json_len = (size_t)n,
        .observables = obs,
    };
    rp_status st = store_alert_put(s, &a);
    json_decref(obs);
    return st;
}

/* --- open, migrate, refuse ---------------------------------------------------------------- */

static void t_default_path(void **state)
{
    (void)state;
    assert_string_equal(store_default_path("x.db"), "x.db");
    setenv("RIPOSTE_DB", "/var/lib/riposte/r.db", 1);
    assert_string_equal(store_default_path(NULL), "/var/lib/riposte/r.db");
    assert_string_equal(store_default_path("flag.db"), "flag.db");
    setenv("RIPOSTE_DB", "", 1);
    assert_string_equal(store_default_path(NULL), "riposte.db");
    unsetenv("RIPOSTE_DB");
    assert_string_equal(store_default_path(NULL), "riposte.db");
}

static void t_open_migrate_reopen(void **state)
{
    struct fx *f = *state;
    struct store *s = fx_open(f);
    assert_true(store_schema_version_latest() >= 1);
    int v = -1;
    OK(s, store_schema_version(s, &v));
    assert_int_equal(v, store_schema_version_latest());
    store_close(s);
    f->s = NULL;

    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM pragma_journal_mode "
                                      "WHERE journal_mode = 'wal'"),
                     1);

    s = fx_open(f);
    OK(s, store_schema_version(s, &v));
    assert_int_equal(v, store_schema_version_latest());
    /* reopening applied nothing twice */
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM meta"), 2);
}

static void t_open_refused(void **state)
{
    struct fx *f = *state;
    struct rp_error err = {{0}};
    struct store *s = NULL;

    assert_int_equal(store_open("postgres://db/riposte", &s, &err), RP_E_USAGE);
    assert_null(s);
    assert_non_null(strstr(err.msg, "PostgreSQL backend not built yet"));
    assert_int_equal(store_open("postgresql://db/riposte", &s, &err), RP_E_USAGE);
    assert_int_equal(store_open("", &s, &err), RP_E_USAGE);

    char nodir[400];
    int n = snprintf(nodir, sizeof(nodir), "%s/missing/dir/r.db", f->dir);
    assert_true(n > 0 && (size_t)n < sizeof(nodir));
    assert_int_equal(store_open(nodir, &s, &err), RP_E_STORE);
    assert_non_null(strstr(err.msg, "cannot open"));
    assert_null(s);
}

/* Files that are not Riposte databases, and one from a newer Riposte. */
static void t_open_foreign(void **state)
{
    struct fx *f = *state;
    static const struct {
        const char *name;
        const char *sql;     /* run on a fresh SQLite file; NULL: write text instead */
        bool riposte_first;  /* make a Riposte database first */
        const char *message; /* expected in the error */
    } cases[] = {
        {"other app", "CREATE TABLE users (id INTEGER PRIMARY KEY);", false,
         "not a Riposte database"},
        {"other meta", "CREATE TABLE meta (k, v); INSERT INTO meta VALUES ('a', 'b');", false,
         "not a Riposte database"},
        {"text file", NULL, false, "not a Riposte database"},
        {"no version", "DELETE FROM meta WHERE key = 'schema_version';", true,
         "no valid schema_version"},
        {"newer", "UPDATE meta SET value = value + 1 WHERE key = 'schema_version';", true,
         "newer than this riposte knows"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char path[400];
        int n = snprintf(path, sizeof(path), "%s/foreign%zu.db", f->dir, i);
        assert_true(n > 0 && (size_t)n < sizeof(path));
        if (cases[i].riposte_first) {
            struct store *s = NULL;
            struct rp_error err = {{0}};
            assert_int_equal(store_open(path, &s, &err), RP_OK);
            store_close(s);
        }
        if (cases[i].sql != NULL) {
            raw_exec(path, cases[i].sql);
        } else {
            FILE *fp = fopen(path, "w");
            assert_non_null(fp);
            for (int k = 0; k < 100; k++)
                fputs("this is not a database, it is a text file\n", fp);
            fclose(fp);
        }
        struct store *s = NULL;
        struct rp_error err = {{0}};
        rp_status st = store_open(path, &s, &err);
        if (st != RP_E_USAGE || strstr(err.msg, cases[i].message) == NULL)
            fail_msg("%s: got %s '%s'", cases[i].name, rp_status_str(st), err.msg);
        assert_null(s);
        assert_non_null(strstr(err.msg, path));
    }
    /* a refused SQLite file is left as it was: not switched to WAL */
    char path[400];
    int n = snprintf(path, sizeof(path), "%s/foreign0.db", f->dir);
    assert_true(n > 0 && (size_t)n < sizeof(path));
    assert_int_equal(raw_int(path, "SELECT count(*) FROM pragma_journal_mode "
                                   "WHERE journal_mode = 'delete'"),
                     1);
    assert_int_equal(raw_int(path, "SELECT count(*) FROM sqlite_master"), 1);
}

/* --- alerts ------------------------------------------------------------------------------ */

static void t_alert_put(void **state)
{
    struct fx *f = *state;
    struct store *s = fx_open(f);
    char id[ULID_LEN + 1], case_id[ULID_LEN + 1];
    make_id(1000, id);
    make_id(900, case_id);

    OK(s, store_begin(s));
    OK(s, put_alert(s, id, case_id, 1000));
    bool found = false;
    OK(s, store_alert_exists(s, id, &found));
    assert_true(found);
    /* the same id again: refused, nothing written, the batch goes on */
    assert_int_equal(put_alert(s, id, case_id, 1000), RP_E_EXISTS);
    assert_non_null(strstr(store_errmsg(s), id));
    OK(s, store_commit(s));

    OK(s, store_alert_exists(s, "01ARZ3NDEKTSV4RRFFQ69G5FAV", &found));
    assert_false(found);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM alerts"), 1);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM alert_observables"), 2);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM alert_observables WHERE type = "
                                      "'ipv4' AND value = '10.0.0.1' AND role = 'src'"),
                     1);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM alert_observables WHERE type = "
                                      "'user' AND role = ''"),
                     1);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM case_alerts"), 1);
    assert_int_equal(raw_int(f->path, "SELECT length(raw) FROM alerts"), 9);
    assert_int_equal(raw_int(f->path, "SELECT severity + event_ms FROM alerts"), 40 + 995);

    /* the same observable twice in one alert is one row */
    char id3[ULID_LEN + 1];
    make_id(3000, id3);
    json_t *dup =
        json_pack("[{s:s, s:s, s:s}, {s:s, s:s, s:s}]", "type", "ipv4", "value", "192.0.2.7",
                  "role", "dst", "type", "ipv4", "value", "192.0.2.7", "role", "dst");
    assert_non_null(dup);
    struct store_alert a3 = {.id = id3, .json = "{}", .json_len = 2, .observables = dup};
    OK(s, store_alert_put(s, &a3));
    json_decref(dup);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM alert_observables WHERE value = "
                                      "'192.0.2.7'"),
                     1);
    /* no case: no link */
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM case_alerts"), 1);

    /* outside a batch an alert is stored whole, on its own */
    char id2[ULID_LEN + 1];
    make_id(2000, id2);
    OK(s, put_alert(s, id2, case_id, 2000));
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM alerts"), 3);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM alert_observables"), 5);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM case_alerts"), 2);
}

/* Observables the store refuses: nothing of the alert is written. */
static void t_alert_bad_observables(void **state)
{
    struct fx *f = *state;
    struct store *s = fx_open(f);
    json_t *many = json_array();
    for (int i = 0; i <= RP_OBSERVABLES_MAX; i++)
        assert_int_equal(
            json_array_append_new(many, json_pack("{s:s, s:o}", "type", "ipv4", "value",
                                                  json_sprintf("10.0.%d.%d", i / 256, i % 256))),
            0);
    struct {
        const char *name;
        json_t *obs;
        rp_status want;
    } cases[] = {
        {"object", json_pack("{s:s}", "type", "ipv4"), RP_E_INVALID},
        {"no type", json_pack("[{s:s}]", "value", "x"), RP_E_INVALID},
        {"number value", json_pack("[{s:s, s:i}]", "type", "ipv4", "value", 1), RP_E_INVALID},
        {"number role", json_pack("[{s:s, s:s, s:i}]", "type", "user", "value", "a", "role", 2),
         RP_E_INVALID},
        {"not objects", json_pack("[s]", "ipv4"), RP_E_INVALID},
        {"too many", many, RP_E_LIMIT},
    };
    OK(s, store_begin(s));
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_non_null(cases[i].obs);
        char id[ULID_LEN + 1];
        make_id(1000 + (int64_t)i, id);
        struct store_alert a = {
            .id = id, .case_id = "C", .json = "{}", .json_len = 2, .observables = cases[i].obs};
        rp_status st = store_alert_put(s, &a);
        if (st != cases[i].want)
            fail_msg("%s: got %s (%s)", cases[i].name, rp_status_str(st), store_errmsg(s));
        bool found = true;
        OK(s, store_alert_exists(s, id, &found));
        assert_false(found);
        json_decref(cases[i].obs);
    }
    OK(s, store_commit(s));
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM alerts"), 0);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM alert_observables"), 0);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM case_alerts"), 0);
}

/* --- cases ------------------------------------------------------------------------------- */

static void t_case_find_open(void **state)
{
    struct fx *f = *state;
    struct store *s = fx_open(f);
    char id[ULID_LEN + 1];
    static const struct {
        const char *name;
        enum case_status status;
        int64_t since;
        bool found;
    } cases[] = {
        {"new, inside", CASE_NEW, 999, true},
        {"new, on the boundary", CASE_NEW, 1000, true},
        {"new, just outside", CASE_NEW, 1001, false},
        {"triage", CASE_TRIAGE, 0, true},
        {"contained", CASE_CONTAINED, 0, true},
        {"resolved", CASE_RESOLVED, 0, false},
        {"closed", CASE_CLOSED, 0, false},
        {"false positive", CASE_FALSE_POSITIVE, 0, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char fp[32];
        int n = snprintf(fp, sizeof(fp), "fp%zu", i);
        assert_true(n > 0 && (size_t)n < sizeof(fp));
        struct case_row c, got;
        make_id(500 + (int64_t)i, id);
        make_case(&c, id, fp, cases[i].status, 1000);
        OK(s, store_case_insert(s, &c));
        bool found = !cases[i].found;
        OK(s, store_case_find_open(s, fp, cases[i].since, &got, &found));
        if (found != cases[i].found)
            fail_msg("%s: found %d", cases[i].name, found);
        if (found)
            assert_string_equal(got.id, id);
    }
    bool found = true;
    struct case_row got;
    OK(s, store_case_find_open(s, "unknown", 0, &got, &found));
    assert_false(found);

    /* two open cases of one fingerprint: the one seen most recently */
    struct case_row a, b;
    char ida[ULID_LEN + 1], idb[ULID_LEN + 1];
    make_id(3000, ida);
    make_id(2000, idb);
    make_case(&a, ida, "twice", CASE_NEW, 5000);
    make_case(&b, idb, "twice", CASE_TRIAGE, 6000);
    OK(s, store_case_insert(s, &a));
    OK(s, store_case_insert(s, &b));
    OK(s, store_case_find_open(s, "twice", 0, &got, &found));
    assert_true(found);
    assert_string_equal(got.id, idb);
    /* the newer one closes: the other is found */
    b.status = CASE_CLOSED;
    OK(s, store_case_save(s, &b));
    OK(s, store_case_find_open(s, "twice", 0, &got, &found));
    assert_true(found);
    assert_string_equal(got.id, ida);
}

static void t_case_prefix(void **state)
{
    struct fx *f = *state;
    struct store *s = fx_open(f);
    static const char *const ids[] = {
        "01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "01ARZ3NDEKTSV4RRFFQ69G5FAW",
        "01BX5ZZKBKACTAV9WEVGEMMVRZ",
    };
    for (size_t i = 0; i < 3; i++) {
        struct case_row c;
        make_case(&c, ids[i], "fp", CASE_NEW, 1000);
        OK(s, store_case_insert(s, &c));
    }
    static const struct {
        const char *query;
        rp_status want;
        int index;           /* of ids, when found */
        const char *message; /* in store_errmsg, when not */
    } cases[] = {
        {"01ARZ3NDEKTSV4RRFFQ69G5FAV", RP_OK, 0, NULL},
        {"01arz3ndektsv4rrffq69g5faw", RP_OK, 1, NULL},
        {"01BX5Z", RP_OK, 2, NULL},
        {"01bx5zzkb", RP_OK, 2, NULL},
        {"01ARZ3", RP_E_AMBIGUOUS, 0, "several"},
        {"01ARZ3NDEKTSV4RRFFQ69G5FA", RP_E_AMBIGUOUS, 0, "several"},
        {"01CCCC", RP_E_NOTFOUND, 0, "no case"},
        {"01BX5", RP_E_NOTFOUND, 0, "at least 6"},
        {"", RP_E_NOTFOUND, 0, "at least 6"},
        {"01BX5ZZKBKACTAV9WEVGEMMVRZ0", RP_E_NOTFOUND, 0, "longer than an id"},
        {"01BX5%", RP_E_NOTFOUND, 0, "not an id"},
        {"01BX5*", RP_E_NOTFOUND, 0, "not an id"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct case_row got;
        rp_status st = store_case_get(s, cases[i].query, &got);
        if (st != cases[i].want)
            fail_msg("'%s': got %s (%s)", cases[i].query, rp_status_str(st), store_errmsg(s));
        if (st == RP_OK)
            assert_string_equal(got.id, ids[cases[i].index]);
        else if (strstr(store_errmsg(s), cases[i].message) == NULL)
            fail_msg("'%s': message '%s'", cases[i].query, store_errmsg(s));
        json_t *show = NULL;
        assert_int_equal(store_case_show_json(s, cases[i].query, &show), cases[i].want);
        assert_true((show != NULL) == (st == RP_OK));
        json_decref(show);
    }
}

static void t_case_insert_save(void **state)
{
    struct fx *f = *state;
    struct store *s = fx_open(f);
    struct case_row c, got;
    make_case(&c, "01BX5ZZKBKACTAV9WEVGEMMVRZ", "fp-save", CASE_NEW, 1000);
    OK(s, store_case_insert(s, &c));
    assert_int_equal(store_case_insert(s, &c), RP_E_EXISTS);
    assert_non_null(strstr(store_errmsg(s), "exists"));

    struct case_row bad = c;
    copy(bad.id, sizeof(bad.id), "01bx5zzkbkactav9wevgemmvrq");
    assert_int_equal(store_case_insert(s, &bad), RP_E_INVALID);
    copy(bad.id, sizeof(bad.id), "short");
    assert_int_equal(store_case_insert(s, &bad), RP_E_INVALID);

    /* every mutable column goes to disk and back */
    copy(c.title, sizeof(c.title), "Ransomware on FIN-LAPTOP-7 — contained");
    copy(c.kind, sizeof(c.kind), "network");
    copy(c.source, sizeof(c.source), "siem");
    copy(c.assignee, sizeof(c.assignee), "alice");
    c.status = CASE_CONTAINED;
    c.severity = 85;
    c.alert_count = 1234567890123;
    c.detected_ms = 11;
    c.updated_ms = 12;
    c.first_seen_ms = 13;
    c.last_seen_ms = 14;
    c.acknowledged_ms = 15;
    c.contained_ms = 16;
    c.resolved_ms = 17;
    c.closed_ms = 18;
    OK(s, store_case_save(s, &c));
    OK(s, store_case_get(s, c.id, &got));
    assert_string_equal(got.id, c.id);
    assert_string_equal(got.fingerprint, c.fingerprint);
    assert_string_equal(got.title, c.title);
    assert_string_equal(got.kind, c.kind);
    assert_string_equal(got.source, c.source);
    assert_string_equal(got.assignee, c.assignee);
    assert_int_equal(got.status, CASE_CONTAINED);
    assert_int_equal(got.severity, 85);
    assert_int_equal(got.alert_count, 1234567890123);
    int64_t want[] = {11, 1000, 12, 13, 14, 15, 16, 17, 18};
    int64_t have[] = {got.detected_ms,   got.created_ms,   got.updated_ms,
                      got.first_seen_ms, got.last_seen_ms, got.acknowledged_ms,
                      got.contained_ms,  got.resolved_ms,  got.closed_ms};
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_int_equal(have[i], want[i]);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM cases WHERE status = 'contained'"), 1);

    struct case_row missing = c;
    copy(missing.id, sizeof(missing.id), "01BX5ZZKBKACTAV9WEVGEMMVRQ");
    assert_int_equal(store_case_save(s, &missing), RP_E_NOTFOUND);
}

/* --- timeline and show ------------------------------------------------------------------- */

static void t_timeline(void **state)
{
    struct fx *f = *state;
    struct store *s = fx_open(f);
    struct case_row c;
    make_case(&c, "01BX5ZZKBKACTAV9WEVGEMMVRZ", "fp", CASE_NEW, 1000);
    OK(s, store_case_insert(s, &c));

    /* a long detail (serialised on the heap rather than the stack) */
    char note[2000];
    memset(note, 'n', sizeof(note) - 1);
    note[sizeof(note) - 1] = '\0';
    json_t *d1 = json_pack("{s:s}", "alert_id", "A1");
    json_t *d3 = json_pack("{s:s}", "note", note);
    /* added out of time order: the timeline keeps the order of addition */
    OK(s, store_timeline_add(s, c.id, 3000, "correlate", "created", d1));
    OK(s, store_timeline_add(s, c.id, 1000, "alice", "status", NULL));
    OK(s, store_timeline_add(s, c.id, 2000, "api:ci", "note", d3));
    json_t *arr = json_array();
    assert_int_equal(store_timeline_add(s, c.id, 4000, "x", "bad", arr), RP_E_INVALID);
    json_decref(arr);

    json_t *show = NULL;
    OK(s, store_case_show_json(s, "01BX5ZZK", &show));
    json_t *tl = json_object_get(show, "timeline");
    assert_int_equal(json_array_size(tl), 3);
    assert_int_equal(json_integer_value(json_object_get(show, "timeline_total")), 3);
    static const char *const events[] = {"created", "status", "note"};
    static const char *const actors[] = {"correlate", "alice", "api:ci"};
    for (size_t i = 0; i < 3; i++) {
        json_t *e = json_array_get(tl, i);
        assert_string_equal(json_string_value(json_object_get(e, "event")), events[i]);
        assert_string_equal(json_string_value(json_object_get(e, "actor")), actors[i]);
    }
    json_t *e0 = json_array_get(tl, 0);
    assert_string_equal(json_string_value(json_object_get(e0, "ts")), "1970-01-01T00:00:03.000Z");
    assert_true(json_equal(json_object_get(e0, "detail"), d1));
    assert_true(json_is_null(json_object_get(json_array_get(tl, 1), "detail")));
    assert_true(json_equal(json_object_get(json_array_get(tl, 2), "detail"), d3));
    json_decref(d1);
    json_decref(d3);
    json_decref(show);
}

static void t_show_json(void **state)
{
    struct fx *f = *state;
    struct store *s = fx_open(f);
    int64_t t0 = 1764496116123; /* 2025-11-30T09:48:36.123Z */
    struct case_row c;
    char case_id[ULID_LEN + 1], other_id[ULID_LEN + 1];
    make_id(t0, case_id);
    make_id(t0 + 1, other_id);
    make_case(&c, case_id, "fp", CASE_TRIAGE, t0);
    c.severity = 80;
    c.acknowledged_ms = 0;
    OK(s, store_case_insert(s, &c));

    /* more alerts and timeline entries than are shown, and some of another case */
    int alerts = RP_CASE_ALERTS_SHOW_MAX + 5, entries = RP_TIMELINE_SHOW_MAX + 7;
    char first_alert[ULID_LEN + 1] = "", last_alert[ULID_LEN + 1] = "";
    OK(s, store_begin(s));
    for (int i = 0; i < alerts; i++) {
        char id[ULID_LEN + 1];
        make_id(t0 + i, id);
        OK(s, put_alert(s, id, case_id, t0 + i));
        if (i == 0)
            memcpy(first_alert, id, sizeof(id));
        memcpy(last_alert, id, sizeof(id));
    }
    for (int i = 0; i < 3; i++) {
        char id[ULID_LEN + 1];
        make_id(t0 + 10000 + i, id);
        OK(s, put_alert(s, id, other_id, t0 + 10000 + i));
    }
    for (int i = 0; i < entries; i++) {
        json_t *d = json_pack("{s:i}", "n", i);
        OK(s, store_timeline_add(s, case_id, t0 + i, "correlate", "alert_added", d));
        json_decref(d);
    }
    OK(s, store_timeline_add(s, other_id, t0, "correlate", "created", NULL));
    OK(s, store_commit(s));

    json_t *show = NULL;
    OK(s, store_case_show_json(s, case_id, &show));
    json_t *kase = json_object_get(show, "case");
    assert_string_equal(json_string_value(json_object_get(kase, "id")), case_id);
    assert_string_equal(json_string_value(json_object_get(kase, "status")), "triage");
    assert_string_equal(json_string_value(json_object_get(kase, "severity_label")), "critical");
    assert_int_equal(json_integer_value(json_object_get(kase, "severity")), 80);
    assert_true(json_is_null(json_object_get(kase, "assignee")));
    assert_true(json_is_null(json_object_get(kase, "acknowledged")));
    assert_string_equal(json_string_value(json_object_get(kase, "created")),
                        "2025-11-30T09:48:36.123Z");

    json_t *al = json_object_get(show, "alerts");
    assert_int_equal(json_array_size(al), RP_CASE_ALERTS_SHOW_MAX);
    assert_int_equal(json_integer_value(json_object_get(show, "alerts_total")), alerts);
    /* newest first, parsed from the stored JSON */
    assert_string_equal(json_string_value(json_object_get(json_array_get(al, 0), "id")),
                        last_alert);
    assert_int_equal(json_integer_value(json_object_get(json_array_get(al, 0), "received_ms")),
                     t0 + alerts - 1);
    json_t *oldest_shown = json_array_get(al, RP_CASE_ALERTS_SHOW_MAX - 1);
    assert_int_equal(json_integer_value(json_object_get(oldest_shown, "received_ms")),
                     t0 + alerts - RP_CASE_ALERTS_SHOW_MAX);
    assert_string_not_equal(json_string_value(json_object_get(oldest_shown, "id")), first_alert);

    json_t *tl = json_object_get(show, "timeline");
    assert_int_equal(json_array_size(tl), RP_TIMELINE_SHOW_MAX);
    assert_int_equal(json_integer_value(json_object_get(show, "timeline_total")), entries);
    /* the newest entries, oldest of them first */
    for (size_t i = 0; i < RP_TIMELINE_SHOW_MAX; i++) {
        json_t *d = json_object_get(json_array_get(tl, i), "detail");
        assert_int_equal(json_integer_value(json_object_get(d, "n")),
                         entries - RP_TIMELINE_SHOW_MAX + (int)i);
    }
    json_decref(show);
}

static void t_case_list(void **state)
{
    struct fx *f = *state;
    struct store *s = fx_open(f);
    static const enum case_status statuses[] = {CASE_NEW, CASE_CLOSED, CASE_NEW, CASE_TRIAGE,
                                                CASE_NEW};
    char ids[5][ULID_LEN + 1];
    for (int i = 0; i < 5; i++) {
        make_id(1000 + i, ids[i]);
        struct case_row c;
        make_case(&c, ids[i], "fp", statuses[i], 1000 + i);
        OK(s, store_case_insert(s, &c));
    }
    static const struct {
        int status;
        size_t limit;
        int want[5]; /* indexes into ids, newest first; -1 ends */
    } cases[] = {
        {-1, 100, {4, 3, 2, 1, 0}},  {-1, 2, {4, 3, -1}},        {CASE_NEW, 100, {4, 2, 0, -1}},
        {CASE_CLOSED, 100, {1, -1}}, {CASE_RESOLVED, 100, {-1}}, {-1, 0, {-1}},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_t *list = NULL;
        OK(s, store_case_list_json(s, cases[i].status, cases[i].limit, &list));
        size_t n = 0;
        while (n < 5 && cases[i].want[n] >= 0)
            n++;
        assert_int_equal(json_array_size(list), n);
        for (size_t k = 0; k < n; k++)
            assert_string_equal(json_string_value(json_object_get(json_array_get(list, k), "id")),
                                ids[cases[i].want[k]]);
        json_decref(list);
    }
    json_t *list = NULL;
    assert_int_equal(store_case_list_json(s, -1, RP_CASE_LIST_MAX + 1, &list), RP_E_LIMIT);
    assert_null(list);
    assert_int_equal(store_case_list_json(s, CASE_STATUS_COUNT, 10, &list), RP_E_USAGE);
}

static void t_row_json(void **state)
{
    (void)state;
    static const struct {
        int severity;
        const char *label;
    } cases[] = {
        {0, "info"},    {19, "info"}, {20, "low"},  {39, "low"},      {40, "medium"},
        {59, "medium"}, {60, "high"}, {79, "high"}, {80, "critical"}, {100, "critical"},
    };
    struct case_row c;
    make_case(&c, "01BX5ZZKBKACTAV9WEVGEMMVRZ", "fp", CASE_FALSE_POSITIVE, 1000);
    copy(c.assignee, sizeof(c.assignee), "bob");
    c.closed_ms = 1764496116123;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        c.severity = cases[i].severity;
        json_t *o = store_case_row_json(&c);
        assert_non_null(o);
        assert_string_equal(json_string_value(json_object_get(o, "severity_label")),
                            cases[i].label);
        json_decref(o);
    }
    json_t *o = store_case_row_json(&c);
    static const char *const keys[] = {
        "id",           "title",     "kind",           "source",     "fingerprint",
        "status",       "severity",  "severity_label", "assignee",   "alert_count",
        "detected",     "created",   "updated",        "first_seen", "last_seen",
        "acknowledged", "contained", "resolved",       "closed",
    };
    assert_int_equal(json_object_size(o), sizeof(keys) / sizeof(keys[0]));
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (json_object_get(o, keys[i]) == NULL)
            fail_msg("no key %s", keys[i]);
    assert_string_equal(json_string_value(json_object_get(o, "status")), "false_positive");
    assert_string_equal(json_string_value(json_object_get(o, "assignee")), "bob");
    assert_string_equal(json_string_value(json_object_get(o, "closed")),
                        "2025-11-30T09:48:36.123Z");
    assert_true(json_is_null(json_object_get(o, "resolved")));
    json_decref(o);
}

/* --- dead letters and tokens ------------------------------------------------------------- */

static void t_deadletters(void **state)
{
    struct fx *f = *state;
    struct store *s = fx_open(f);
    int64_t n = -1;
    OK(s, store_deadletter_count(s, &n));
    assert_int_equal(n, 0);
    OK(s, store_deadletter_add(s, 1000, "cli", "alerts.ndjson:3", "severity: not a number",
                               "{\"severity\":\"x\"}", 16));
    OK(s, store_begin(s));
    size_t big_len = RP_DEADLETTER_RAW_MAX + 100;
    char *big = malloc(big_len);
    assert_non_null(big);
    memset(big, 'x', big_len);
    OK(s, store_deadletter_add(s, 1001, "http", "POST /v1/alerts #2", "record too long", big,
                               big_len));
    OK(s, store_deadletter_add(s, 1002, "http", "POST /v1/alerts", "empty", NULL, 0));
    OK(s, store_commit(s));
    free(big);
    OK(s, store_deadletter_count(s, &n));
    assert_int_equal(n, 3);
    assert_int_equal(raw_int(f->path, "SELECT length(raw) FROM deadletters WHERE ts_ms = 1001"),
                     RP_DEADLETTER_RAW_MAX);
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM deadletters WHERE channel = 'cli' "
                                      "AND location = 'alerts.ndjson:3' AND length(raw) = 16"),
                     1);
}

static void t_tokens(void **state)
{
    struct fx *f = *state;
    struct store *s = fx_open(f);
    static const char h1[] = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    static const char h2[] = "60303ae22b998861bce3b28f33eec1be758a213c86c93c076dbe9f558c11c752";
    OK(s, store_token_put(s, "ci", h1, "ingest", 1764496116123));
    OK(s, store_token_put(s, "alice", h2, "admin", 1764496116124));
    assert_int_equal(store_token_put(s, "ci", "00", "admin", 1), RP_E_EXISTS);
    assert_non_null(strstr(store_errmsg(s), "ci"));
    assert_int_equal(store_token_put(s, "other", h1, "admin", 1), RP_E_EXISTS);
    assert_int_equal(store_token_put(s, "", "01", "admin", 1), RP_E_INVALID);
    assert_int_equal(store_token_put(s, "r", "02", "a-role-name-that-is-far-too-long-0123", 1),
                     RP_E_INVALID);

    char name[RP_NAME_MAX_BYTES + 1], role[32];
    OK(s, store_token_find(s, h1, name, role));
    assert_string_equal(name, "ci");
    assert_string_equal(role, "ingest");
    assert_int_equal(store_token_find(s, "ffff", name, role), RP_E_NOTFOUND);

    int64_t n = 0;
    OK(s, store_token_count(s, &n));
    assert_int_equal(n, 2);

    json_t *list = NULL;
    OK(s, store_token_list_json(s, &list));
    assert_int_equal(json_array_size(list), 2);
    json_t *t0 = json_array_get(list, 0);
    assert_string_equal(json_string_value(json_object_get(t0, "name")), "alice");
    assert_string_equal(json_string_value(json_object_get(t0, "role")), "admin");
    assert_string_equal(json_string_value(json_object_get(t0, "created")),
                        "2025-11-30T09:48:36.124Z");
    char *dump = json_dumps(list, 0);
    assert_non_null(dump);
    assert_null(strstr(dump, "hash"));
    assert_null(strstr(dump, h1));
    assert_null(strstr(dump, h2));
    free(dump);
    json_decref(list);

    OK(s, store_token_revoke(s, "ci"));
    assert_int_equal(store_token_find(s, h1, name, role), RP_E_NOTFOUND);
    assert_int_equal(store_token_revoke(s, "ci"), RP_E_NOTFOUND);
    OK(s, store_token_count(s, &n));
    assert_int_equal(n, 1);
}

/* --- batches ---------------------------------------------------------------------------- */

static void t_rollback(void **state)
{
    struct fx *f = *state;
    struct store *s = fx_open(f);
    char id[ULID_LEN + 1];
    make_id(1000, id);
    struct case_row c;
    make_case(&c, "01BX5ZZKBKACTAV9WEVGEMMVRZ", "fp", CASE_NEW, 1000);

    OK(s, store_begin(s));
    OK(s, put_alert(s, id, c.id, 1000));
    OK(s, store_case_insert(s, &c));
    OK(s, store_timeline_add(s, c.id, 1000, "correlate", "created", NULL));
    OK(s, store_deadletter_add(s, 1000, "cli", "f:1", "bad", "x", 1));
    OK(s, store_token_put(s, "t", "ab", "admin", 1));
    store_rollback(s);
    store_rollback(s); /* nothing open: harmless */

    static const char *const tables[] = {"alerts",   "alert_observables", "case_alerts", "cases",
                                         "timeline", "deadletters",       "tokens"};
    for (size_t i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
        char sql[64];
        int n = snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", tables[i]);
        assert_true(n > 0 && (size_t)n < sizeof(sql));
        if (raw_int(f->path, sql) != 0)
            fail_msg("%s kept rows after rollback", tables[i]);
    }
    bool found = true;
    OK(s, store_alert_exists(s, id, &found));
    assert_false(found);
    struct case_row got;
    assert_int_equal(store_case_get(s, c.id, &got), RP_E_NOTFOUND);

    /* the handle works on after a rollback */
    OK(s, store_begin(s));
    OK(s, store_case_insert(s, &c));
    OK(s, store_commit(s));
    OK(s, store_case_get(s, c.id, &got));

    /* a batch left open at close is rolled back */
    char id2[ULID_LEN + 1];
    make_id(2000, id2);
    OK(s, store_begin(s));
    OK(s, put_alert(s, id2, c.id, 2000));
    store_close(s);
    s = fx_open(f);
    OK(s, store_alert_exists(s, id2, &found));
    assert_false(found);
    assert_int_equal(store_begin(s), RP_OK);
    /* a batch inside a batch is refused, and the first one is still usable */
    assert_int_equal(store_begin(s), RP_E_STORE);
    OK(s, store_commit(s));
}

/* A second handle sees what the first committed, never what it has not yet. */
static void t_isolation(void **state)
{
    struct fx *f = *state;
    struct store *w = fx_open(f);
    struct store *r = NULL;
    struct rp_error err = {{0}};
    assert_int_equal(store_open(f->path, &r, &err), RP_OK);

    char id[ULID_LEN + 1];
    make_id(1000, id);
    struct case_row c, got;
    make_case(&c, "01BX5ZZKBKACTAV9WEVGEMMVRZ", "fp", CASE_NEW, 1000);
    OK(w, store_begin(w));
    OK(w, put_alert(w, id, c.id, 1000));
    OK(w, store_case_insert(w, &c));

    bool found = true;
    OK(r, store_alert_exists(r, id, &found));
    assert_false(found);
    assert_int_equal(store_case_get(r, c.id, &got), RP_E_NOTFOUND);
    bool open_found = true;
    OK(r, store_case_find_open(r, "fp", 0, &got, &open_found));
    assert_false(open_found);

    OK(w, store_commit(w));
    OK(r, store_alert_exists(r, id, &found));
    assert_true(found);
    OK(r, store_case_get(r, "01bx5zzk", &got));
    assert_string_equal(got.id, c.id);
    json_t *show = NULL;
    OK(r, store_case_show_json(r, c.id, &show));
    assert_int_equal(json_integer_value(json_object_get(show, "alerts_total")), 1);
    json_decref(show);
    store_close(r);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_default_path),
        T(t_open_migrate_reopen),
        T(t_open_refused),
        T(t_open_foreign),
        T(t_alert_put),
        T(t_alert_bad_observables),
        T(t_case_find_open),
        T(t_case_prefix),
        T(t_case_insert_save),
        T(t_timeline),
        T(t_show_json),
        T(t_case_list),
        cmocka_unit_test(t_row_json),
        T(t_deadletters),
        T(t_tokens),
        T(t_rollback),
        T(t_isolation),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}

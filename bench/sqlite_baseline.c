/*
 * sqlite_baseline.c: bench_sqlite, the storage limit of the ingest benchmark
 * (bench/run.sh): how fast SQLite alone takes the rows Riposte writes for each
 * alert, with no JSON parsing, no normalization and no HTTP.
 *
 *   bench_sqlite FILE DB [alerts|full] [--synchronous off|normal|full] [--cache-mb N]
 *
 * Creates the database DB (deleting any old one with its -wal and -shm) with the
 * tables and settings of src/store/sqlite.c, reads the NDJSON file FILE and, for
 * each line, in transactions of BS_COMMIT_GROUP alerts (RP_COMMIT_GROUP_MAX),
 * with prepared statements:
 *   alerts: inserts one alert row (ULID-like id, fingerprint, source, kind,
 *           severity, times, the line as `raw` and a stand-in for the normalized
 *           alert as `json`): SQLite's raw insert rate of alert-sized rows;
 *   full:   (the default) the same plus what correlation writes: a lookup of the
 *           open case of the fingerprint, a case insert or a full case update, a
 *           timeline row, a case_alerts row, and an alert_observables row for each
 *           observable, explicit or derived from the typed fields (host and user
 *           names, addresses, hashes, mail addresses, the first link) as Riposte
 *           derives them.
 * The rows come out the size of Riposte's (checked against a database written
 * by `riposte ingest` from the same file: about 5.7 observables an alert, and a
 * `json` of about 1 KB for a 680-byte line).
 * The fingerprint is a 256-bit hash of the line without its event_time, so a
 * repeat from bench_gen finds its original's case, as in Riposte. Values are
 * cut out of the line by scanning (the generator's fixed layout), not parsed.
 * Defaults follow Riposte: synchronous FULL, 64 MiB cache.
 * Prints {"mode", "synchronous", "cache_mb", "records", "rows", "cases",
 * "seconds", "records_per_s", "rows_per_s", "db_bytes"}.
 *
 * Single-threaded. Exit 1 when the file cannot be read or SQLite fails (with
 * SQLite's message).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* Riposte's RP_COMMIT_GROUP_MAX: alerts per transaction. */
#define BS_COMMIT_GROUP 4096
/* Riposte's RP_CORRELATE_WINDOW_DEFAULT_MS. */
#define BS_WINDOW_MS (24LL * 3600 * 1000)
/* Short fields cut out of a line (source, kind, observable type and value). */
#define BS_FIELD_MAX 1024
/* Observables of one alert (Riposte's RP_OBSERVABLES_MAX). */
#define BS_OBS_MAX 256
/* The stand-in normalized alert: longer lines are stored as they are. */
#define BS_JSON_MAX (64u * 1024u)
#define BS_PATH_MAX 4096

/* The tables and indexes that an alert touches, as in migration 1 of
 * src/store/sqlite.c (keep the two in step), with the same connection settings
 * (WAL, synchronous FULL, 64 MiB page cache, temp_store MEMORY). */
static const char schema[] =
    "CREATE TABLE alerts(id TEXT PRIMARY KEY NOT NULL, case_id TEXT, fingerprint TEXT,"
    " source TEXT, kind TEXT, severity INTEGER, event_ms INTEGER, received_ms INTEGER,"
    " raw BLOB, json TEXT);"
    "CREATE TABLE case_alerts(case_id TEXT NOT NULL, alert_id TEXT NOT NULL,"
    " added_ms INTEGER NOT NULL, PRIMARY KEY (case_id, alert_id)) WITHOUT ROWID;"
    "CREATE TABLE alert_observables(alert_id TEXT NOT NULL, type TEXT NOT NULL,"
    " value TEXT NOT NULL, role TEXT NOT NULL, PRIMARY KEY (type, value, alert_id, role))"
    " WITHOUT ROWID;"
    "CREATE TABLE cases(id TEXT PRIMARY KEY NOT NULL, fingerprint TEXT NOT NULL,"
    " title TEXT NOT NULL, kind TEXT NOT NULL, source TEXT NOT NULL, assignee TEXT NOT NULL,"
    " status TEXT NOT NULL, severity INTEGER NOT NULL, alert_count INTEGER NOT NULL,"
    " detected_ms INTEGER NOT NULL, created_ms INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
    " first_seen_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL,"
    " acknowledged_ms INTEGER NOT NULL, contained_ms INTEGER NOT NULL,"
    " resolved_ms INTEGER NOT NULL, closed_ms INTEGER NOT NULL) WITHOUT ROWID;"
    "CREATE INDEX cases_open ON cases(fingerprint, last_seen_ms)"
    " WHERE status IN ('new', 'triage', 'contained');"
    "CREATE TABLE timeline(id INTEGER PRIMARY KEY AUTOINCREMENT, case_id TEXT NOT NULL,"
    " ts_ms INTEGER NOT NULL, actor TEXT NOT NULL, event TEXT NOT NULL, detail TEXT);"
    "CREATE INDEX timeline_case ON timeline(case_id, id);";

struct db {
    sqlite3 *h;
    sqlite3_stmt *alert, *obs, *link, *case_find, *case_ins, *case_upd, *tl;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool ok(struct db *d, int rc, const char *what)
{
    if (rc == SQLITE_OK || rc == SQLITE_DONE || rc == SQLITE_ROW)
        return true;
    fprintf(stderr, "bench_sqlite: %s: %s\n", what, sqlite3_errmsg(d->h));
    return false;
}

static bool exec(struct db *d, const char *sql)
{
    return ok(d, sqlite3_exec(d->h, sql, NULL, NULL, NULL), sql);
}

static bool prepare(struct db *d, const char *sql, sqlite3_stmt **st)
{
    return ok(d, sqlite3_prepare_v3(d->h, sql, -1, SQLITE_PREPARE_PERSISTENT, st, NULL), sql);
}

/* Runs a bound statement to completion and resets it. */
static bool step(struct db *d, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return ok(d, rc, sqlite3_sql(st));
}

/* The string value of "key":"..." in line (no escapes in bench_gen's short
 * fields), copied into out; "" when absent or too long. */
static const char *field(const char *line, size_t len, const char *key, char out[BS_FIELD_MAX])
{
    char pat[64];
    int k = snprintf(pat, sizeof(pat), "\"%s\":\"", key);
    out[0] = '\0';
    if (k < 0 || (size_t)k >= sizeof(pat))
        return out;
    const char *p = memmem(line, len, pat, (size_t)k);
    if (p == NULL)
        return out;
    p += k;
    const char *q = memchr(p, '"', len - (size_t)(p - line));
    if (q == NULL || (size_t)(q - p) >= BS_FIELD_MAX)
        return out;
    memcpy(out, p, (size_t)(q - p));
    out[q - p] = '\0';
    return out;
}

static int int_field(const char *line, size_t len, const char *key)
{
    char pat[64];
    int k = snprintf(pat, sizeof(pat), "\"%s\":", key);
    if (k < 0 || (size_t)k >= sizeof(pat))
        return 0;
    const char *p = memmem(line, len, pat, (size_t)k);
    if (p == NULL)
        return 0;
    p += k;
    int v = 0;
    while (p < line + len && *p >= '0' && *p <= '9' && v < 100000)
        v = v * 10 + (*p++ - '0');
    return v;
}

/* FNV-1a over 8-byte words (the tail bytewise): fast enough not to matter. */
static uint64_t fnv(uint64_t h, const char *p, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h ^= w;
        h *= 0x100000001b3ULL;
        h ^= h >> 29;
    }
    for (; i < n; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* 64 hex digits from the line without its "event_time" value: a repeat of an
 * alert gets its original's fingerprint. */
static void fingerprint(const char *line, size_t len, char out[65])
{
    const char *t = memmem(line, len, "\"event_time\":\"", 14);
    size_t a = t != NULL ? (size_t)(t - line) : len;
    size_t b = len;
    if (t != NULL) {
        const char *q = memchr(t + 14, '"', len - a - 14);
        b = q != NULL ? (size_t)(q - line) : len;
    }
    /* One pass over the bytes, widened to 256 bits by mixing: the cost of a
     * hash without the cost of a cryptographic one. */
    uint64_t h = fnv(fnv(0xcbf29ce484222325ULL, line, a), line + b, len - b);
    for (int i = 0; i < 4; i++) {
        uint64_t z = (h += 0x9e3779b97f4a7c15ULL);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
        snprintf(out + i * 16, 17, "%016" PRIx64, z ^ (z >> 31));
    }
}

static bool open_db(struct db *d, const char *path, const char *sync, int cache_mb, bool full)
{
    char p[BS_PATH_MAX];
    static const char *const sfx[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        int n = snprintf(p, sizeof(p), "%s%s", path, sfx[i]);
        if (n < 0 || (size_t)n >= sizeof(p))
            return false;
        if (unlink(p) != 0 && errno != ENOENT) {
            fprintf(stderr, "bench_sqlite: cannot remove %s: %s\n", p, strerror(errno));
            return false;
        }
    }
    if (sqlite3_open(path, &d->h) != SQLITE_OK) {
        fprintf(stderr, "bench_sqlite: cannot open %s\n", path);
        return false;
    }
    char pragma[128];
    snprintf(pragma, sizeof(pragma), "PRAGMA synchronous=%s", sync);
    char cache[128];
    snprintf(cache, sizeof(cache), "PRAGMA cache_size=%d", -cache_mb * 1024);
    if (!exec(d, "PRAGMA journal_mode=WAL") || !exec(d, pragma) || !exec(d, cache) ||
        !exec(d, "PRAGMA temp_store=MEMORY") || !exec(d, schema))
        return false;
    if (!prepare(d,
                 "INSERT INTO alerts(id,case_id,fingerprint,source,kind,severity,event_ms,"
                 "received_ms,raw,json) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10)",
                 &d->alert))
        return false;
    if (!full)
        return true;
    return prepare(d,
                   "INSERT OR IGNORE INTO alert_observables(alert_id,type,value,role) "
                   "VALUES(?1,?2,?3,'related')",
                   &d->obs) &&
           prepare(d, "INSERT INTO case_alerts(case_id,alert_id,added_ms) VALUES(?1,?2,?3)",
                   &d->link) &&
           prepare(d,
                   "SELECT id,alert_count,first_seen_ms,detected_ms FROM cases WHERE "
                   "fingerprint=?1 AND status IN ('new', 'triage', 'contained') AND "
                   "last_seen_ms>=?2 ORDER BY last_seen_ms DESC, id DESC LIMIT 1",
                   &d->case_find) &&
           prepare(d,
                   "INSERT INTO cases(id,fingerprint,title,kind,source,assignee,status,severity,"
                   "alert_count,detected_ms,created_ms,updated_ms,first_seen_ms,last_seen_ms,"
                   "acknowledged_ms,contained_ms,resolved_ms,closed_ms) "
                   "VALUES(?1,?2,?3,?4,?5,'','new',?6,1,?7,?7,?7,?7,?7,0,0,0,0)",
                   &d->case_ins) &&
           /* Riposte saves every mutable column of the case row. */
           prepare(d,
                   "UPDATE cases SET fingerprint=?2,title=?3,kind=?4,source=?5,assignee='',"
                   "status='new',severity=?6,alert_count=?7,detected_ms=?8,created_ms=?9,"
                   "updated_ms=?10,first_seen_ms=?9,last_seen_ms=?10,acknowledged_ms=0,"
                   "contained_ms=0,resolved_ms=0,closed_ms=0 WHERE id=?1",
                   &d->case_upd) &&
           prepare(d,
                   "INSERT INTO timeline(case_id,ts_ms,actor,event,detail) VALUES(?1,?2,"
                   "'correlate',?3,?4)",
                   &d->tl);
}

static void close_db(struct db *d)
{
    sqlite3_stmt *all[] = {d->alert,    d->obs,      d->link, d->case_find,
                           d->case_ins, d->case_upd, d->tl};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        sqlite3_finalize(all[i]);
    sqlite3_close(d->h);
}

struct counts {
    uint64_t records, rows, cases;
};

/* The observables of one alert, as Riposte would list them: the explicit ones
 * and those it derives from typed fields, one per (type, value). Values point
 * into the line. */
struct obs_list {
    size_t n;
    size_t explicit_n; /* the first explicit_n came from the line's own list */
    struct {
        const char *type;
        const char *v;
        size_t len;
    } o[BS_OBS_MAX];
};

static void obs_add(struct obs_list *l, const char *type, const char *v, size_t len)
{
    if (len == 0 || l->n == BS_OBS_MAX)
        return;
    for (size_t i = 0; i < l->n; i++)
        if (l->o[i].len == len && strcmp(l->o[i].type, type) == 0 && memcmp(l->o[i].v, v, len) == 0)
            return;
    l->o[l->n].type = type;
    l->o[l->n].v = v;
    l->o[l->n].len = len;
    l->n++;
}

/* The string after each occurrence of pat (which ends with an opening quote),
 * up to the closing quote, added as type (NULL: "ipv4"/"ipv6" by its form). */
static void obs_scan(struct obs_list *l, const char *line, size_t len, const char *pat,
                     const char *type, bool first_only)
{
    size_t k = strlen(pat);
    const char *p = line, *end = line + len;
    while (p < end) {
        const char *m = memmem(p, (size_t)(end - p), pat, k);
        if (m == NULL)
            return;
        const char *v = m + k;
        const char *q = memchr(v, '"', (size_t)(end - v));
        if (q == NULL)
            return;
        size_t n = (size_t)(q - v);
        obs_add(l, type != NULL ? type : memchr(v, ':', n) != NULL ? "ipv6" : "ipv4", v, n);
        if (first_only)
            return;
        p = q;
    }
}

/* Types of the explicit observables, so that the list can point at constants. */
static const char *const obs_types[] = {"ipv4", "ipv6",   "domain",   "url",      "email", "md5",
                                        "sha1", "sha256", "filename", "hostname", "user"};

static void obs_collect(struct obs_list *l, const char *line, size_t len)
{
    l->n = 0;
    const char *p = memmem(line, len, "\"observables\":[", 15);
    const char *end = line + len;
    char type[BS_FIELD_MAX];
    while (p != NULL && p < end) {
        const char *o = memmem(p, (size_t)(end - p), "{\"type\":\"", 9);
        if (o == NULL)
            break;
        field(o, (size_t)(end - o), "type", type);
        const char *v = memmem(o, (size_t)(end - o), "\"value\":\"", 9);
        const char *q = v != NULL ? memchr(v + 9, '"', (size_t)(end - v - 9)) : NULL;
        for (size_t t = 0; q != NULL && t < sizeof(obs_types) / sizeof(obs_types[0]); t++)
            if (strcmp(type, obs_types[t]) == 0)
                obs_add(l, obs_types[t], v + 9, (size_t)(q - v - 9));
        p = o + 9;
    }
    l->explicit_n = l->n;
    /* what Riposte derives from typed fields */
    obs_scan(l, line, len, "\"host\":{\"name\":\"", "hostname", true);
    obs_scan(l, line, len, "\"user\":{\"name\":\"", "user", true);
    obs_scan(l, line, len, "\"ip\":\"", NULL, false);
    obs_scan(l, line, len, "\"md5\":\"", "md5", false);
    obs_scan(l, line, len, "\"sha1\":\"", "sha1", false);
    obs_scan(l, line, len, "\"sha256\":\"", "sha256", false);
    obs_scan(l, line, len, "\"email\":\"", "email", false);
    obs_scan(l, line, len, "\"from\":\"", "email", false);
    obs_scan(l, line, len, "\"to\":[\"", "email", true);
    obs_scan(l, line, len, "\"urls\":[\"", "url", true);
}

/* Writes the observable rows of one alert. */
static bool put_observables(struct db *d, const char *id, const struct obs_list *l,
                            struct counts *c)
{
    for (size_t i = 0; i < l->n; i++) {
        sqlite3_bind_text(d->obs, 1, id, -1, SQLITE_STATIC);
        sqlite3_bind_text(d->obs, 2, l->o[i].type, -1, SQLITE_STATIC);
        sqlite3_bind_text(d->obs, 3, l->o[i].v, (int)l->o[i].len, SQLITE_STATIC);
        if (!step(d, d->obs))
            return false;
        c->rows++;
    }
    return true;
}

/* A stand-in for the normalized alert Riposte stores in `json`: the line plus
 * what normalization adds (id, fingerprint, label, received time, the derived
 * observables), so that the row has about the size of Riposte's. */
static size_t json_build(char *out, size_t cap, const char *line, size_t len, const char *id,
                         const char *fp, const struct obs_list *l)
{
    if (len < 2 || len - 1 >= cap)
        return 0;
    memcpy(out, line, len - 1); /* without the closing brace */
    size_t n = len - 1;
    int k = snprintf(out + n, cap - n,
                     ",\"id\":\"%s\",\"fingerprint\":\"%s\",\"severity_label\":\"medium\","
                     "\"received_time\":\"2026-01-01T00:00:00.000Z\",\"derived\":[",
                     id, fp);
    if (k < 0 || (size_t)k >= cap - n)
        return 0;
    n += (size_t)k;
    for (size_t i = l->explicit_n; i < l->n; i++) {
        k = snprintf(out + n, cap - n,
                     "%s{\"type\":\"%s\",\"value\":\"%.*s\",\"role\":\"related\"}",
                     i > l->explicit_n ? "," : "", l->o[i].type, (int)l->o[i].len, l->o[i].v);
        if (k < 0 || (size_t)k >= cap - n)
            return 0;
        n += (size_t)k;
    }
    if (cap - n < 3)
        return 0;
    out[n++] = ']';
    out[n++] = '}';
    return n;
}

static bool put_alert(struct db *d, bool full, const char *line, size_t len, struct counts *c)
{
    char id[32], case_id[32], fp[65], source[BS_FIELD_MAX], kind[BS_FIELD_MAX];
    char title[BS_FIELD_MAX];
    int64_t now = wall_ms();
    snprintf(id, sizeof(id), "01A%023" PRIu64, c->records);
    fingerprint(line, len, fp);
    struct obs_list obs;
    obs_collect(&obs, line, len);
    static char json[BS_JSON_MAX];
    size_t json_len = json_build(json, sizeof(json), line, len, id, fp, &obs);
    field(line, len, "source", source);
    field(line, len, "kind", kind);
    int severity = int_field(line, len, "severity");
    case_id[0] = '\0';

    if (full) {
        bool found = false;
        int64_t count = 0, first = 0, detected = 0;
        sqlite3_bind_text(d->case_find, 1, fp, -1, SQLITE_STATIC);
        sqlite3_bind_int64(d->case_find, 2, now - BS_WINDOW_MS);
        int rc = sqlite3_step(d->case_find);
        if (rc == SQLITE_ROW) {
            found = true;
            snprintf(case_id, sizeof(case_id), "%s",
                     (const char *)sqlite3_column_text(d->case_find, 0));
            count = sqlite3_column_int64(d->case_find, 1);
            first = sqlite3_column_int64(d->case_find, 2);
            detected = sqlite3_column_int64(d->case_find, 3);
        }
        sqlite3_reset(d->case_find);
        if (!ok(d, rc, "case lookup"))
            return false;
        field(line, len, "title", title);
        sqlite3_stmt *cs = found ? d->case_upd : d->case_ins;
        if (!found)
            snprintf(case_id, sizeof(case_id), "01C%023" PRIu64, c->records);
        sqlite3_bind_text(cs, 1, case_id, -1, SQLITE_STATIC);
        if (found) {
            sqlite3_bind_text(cs, 2, fp, -1, SQLITE_STATIC);
            sqlite3_bind_text(cs, 3, title, -1, SQLITE_STATIC);
            sqlite3_bind_text(cs, 4, kind, -1, SQLITE_STATIC);
            sqlite3_bind_text(cs, 5, source, -1, SQLITE_STATIC);
            sqlite3_bind_int(cs, 6, severity);
            sqlite3_bind_int64(cs, 7, count + 1);
            sqlite3_bind_int64(cs, 8, detected);
            sqlite3_bind_int64(cs, 9, first);
            sqlite3_bind_int64(cs, 10, now);
        } else {
            sqlite3_bind_text(cs, 2, fp, -1, SQLITE_STATIC);
            sqlite3_bind_text(cs, 3, title, -1, SQLITE_STATIC);
            sqlite3_bind_text(cs, 4, kind, -1, SQLITE_STATIC);
            sqlite3_bind_text(cs, 5, source, -1, SQLITE_STATIC);
            sqlite3_bind_int(cs, 6, severity);
            sqlite3_bind_int64(cs, 7, now);
            c->cases++;
        }
        if (!step(d, cs))
            return false;
        c->rows++;
        sqlite3_bind_text(d->tl, 1, case_id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(d->tl, 2, now);
        sqlite3_bind_text(d->tl, 3, found ? "alert_added" : "created", -1, SQLITE_STATIC);
        sqlite3_bind_text(d->tl, 4, found ? NULL : "{\"alert\":1}", -1, SQLITE_STATIC);
        if (!step(d, d->tl))
            return false;
        c->rows++;
        sqlite3_bind_text(d->link, 1, case_id, -1, SQLITE_STATIC);
        sqlite3_bind_text(d->link, 2, id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(d->link, 3, now);
        if (!step(d, d->link))
            return false;
        c->rows++;
        if (!put_observables(d, id, &obs, c))
            return false;
    }

    sqlite3_bind_text(d->alert, 1, id, -1, SQLITE_STATIC);
    if (full)
        sqlite3_bind_text(d->alert, 2, case_id, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(d->alert, 2);
    sqlite3_bind_text(d->alert, 3, fp, -1, SQLITE_STATIC);
    sqlite3_bind_text(d->alert, 4, source, -1, SQLITE_STATIC);
    sqlite3_bind_text(d->alert, 5, kind, -1, SQLITE_STATIC);
    sqlite3_bind_int(d->alert, 6, severity);
    sqlite3_bind_int64(d->alert, 7, now);
    sqlite3_bind_int64(d->alert, 8, now);
    sqlite3_bind_blob(d->alert, 9, line, (int)len, SQLITE_STATIC);
    if (json_len > 0)
        sqlite3_bind_text(d->alert, 10, json, (int)json_len, SQLITE_STATIC);
    else
        sqlite3_bind_text(d->alert, 10, line, (int)len, SQLITE_STATIC);
    if (!step(d, d->alert))
        return false;
    c->rows++;
    c->records++;
    return true;
}

int main(int argc, char **argv)
{
    const char *mode = "full", *sync = "full";
    int cache_mb = 64;
    if (argc < 3 || argc > 8)
        goto usage;
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "alerts") == 0 || strcmp(argv[i], "full") == 0)
            mode = argv[i];
        else if (strcmp(argv[i], "--synchronous") == 0 && i + 1 < argc &&
                 (strcmp(argv[i + 1], "off") == 0 || strcmp(argv[i + 1], "normal") == 0 ||
                  strcmp(argv[i + 1], "full") == 0))
            sync = argv[++i];
        else if (strcmp(argv[i], "--cache-mb") == 0 && i + 1 < argc && atoi(argv[i + 1]) >= 1 &&
                 atoi(argv[i + 1]) <= 4096)
            cache_mb = atoi(argv[++i]);
        else
            goto usage;
    }
    bool full = strcmp(mode, "full") == 0;

    int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size <= 0 || st.st_size > INT32_MAX * 16LL) {
        fprintf(stderr, "bench_sqlite: cannot read %s\n", argv[1]);
        if (fd >= 0)
            close(fd);
        return 1;
    }
    size_t size = (size_t)st.st_size;
    const char *data = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    close(fd);
    if (data == MAP_FAILED) {
        fprintf(stderr, "bench_sqlite: mmap %s: %s\n", argv[1], strerror(errno));
        return 1;
    }

    struct db d;
    memset(&d, 0, sizeof(d));
    struct counts c = {0, 0, 0};
    int rc = 1;
    if (!open_db(&d, argv[2], sync, cache_mb, full))
        goto out;

    double t0 = now_s();
    size_t pos = 0;
    unsigned in_tx = 0;
    while (pos < size) {
        const char *nl = memchr(data + pos, '\n', size - pos);
        size_t end = nl != NULL ? (size_t)(nl - data) : size;
        size_t len = end - pos;
        if (len > 0 && len < INT32_MAX) {
            if (in_tx == 0 && !exec(&d, "BEGIN IMMEDIATE"))
                goto out;
            if (!put_alert(&d, full, data + pos, len, &c))
                goto out;
            if (++in_tx == BS_COMMIT_GROUP) {
                if (!exec(&d, "COMMIT"))
                    goto out;
                in_tx = 0;
            }
        }
        pos = end + 1;
    }
    if (in_tx > 0 && !exec(&d, "COMMIT"))
        goto out;
    double secs = now_s() - t0;
    double div = secs > 0 ? secs : 1e-9;

    struct stat dbst, walst;
    char wal[BS_PATH_MAX];
    snprintf(wal, sizeof(wal), "%s-wal", argv[2]);
    int64_t dbbytes = (stat(argv[2], &dbst) == 0 ? dbst.st_size : 0) +
                      (stat(wal, &walst) == 0 ? walst.st_size : 0);
    printf("{\"mode\":\"%s\",\"synchronous\":\"%s\",\"cache_mb\":%d,\"records\":%" PRIu64
           ",\"rows\":%" PRIu64 ",\"cases\":%" PRIu64
           ",\"seconds\":%.3f,\"records_per_s\":%.0f,\"rows_per_s\":%.0f,"
           "\"db_bytes\":%" PRId64 "}\n",
           mode, sync, cache_mb, c.records, c.rows, c.cases, secs, (double)c.records / div,
           (double)c.rows / div, dbbytes);
    rc = 0;
out:
    close_db(&d);
    munmap((void *)data, size);
    return rc;

usage:
    fprintf(stderr, "usage: bench_sqlite FILE DB [alerts|full] [--synchronous off|normal|full]"
                    " [--cache-mb N]\n");
    return 2;
}

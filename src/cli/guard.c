/*
 * guard.c: the guard rails' commands (docs/policy.md).
 *
 *   riposte guard stop|resume [--by NAME]    the kill switch (every node reads it within a second)
 *   riposte guard status                     the switch and the containments
 *   riposte guard extend ID DURATION         push a time-boxed containment's release back
 *   riposte approve ID [--by NAME]           approve a held action
 *   riposte deny ID [--by NAME]              deny it
 *   riposte audit verify                     check the audit chain
 *
 * Each takes --db PATH. Main thread.
 */
#include "cli/cli.h"

#include "core/time.h"
#include "guard/guard.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>

struct gargs {
    const char *db, *by;
    const char *pos[4];
    int npos;
};

static int parse(int argc, char **argv, struct gargs *a)
{
    *a = (struct gargs){0};
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
            a->db = argv[++i];
        else if (strcmp(argv[i], "--by") == 0 && i + 1 < argc)
            a->by = argv[++i];
        else if (argv[i][0] != '-' && a->npos < 4)
            a->pos[a->npos++] = argv[i];
        else {
            cli_errorf("%s: unknown argument %s (see riposte help %s)", argv[0], argv[i], argv[0]);
            return CLI_EXIT_USAGE;
        }
    }
    return CLI_EXIT_OK;
}

static void who(const struct gargs *a, char *out, size_t cap)
{
    const char *user = getenv("USER");
    snprintf(out, cap, "cli:%s", a->by != NULL ? a->by : (user != NULL ? user : "?"));
}

static struct store *open_store(const char *db)
{
    struct store *st = NULL;
    struct rp_error err;
    if (store_open(store_default_path(db), &st, &err) != RP_OK) {
        cli_errorf("%s", err.msg);
        return NULL;
    }
    return st;
}

static void print_json(json_t *j)
{
    char *t = json_dumps(j, JSON_INDENT(2));
    if (t != NULL)
        puts(t);
    free(t);
}

int cli_guard(int argc, char **argv)
{
    struct gargs a;
    int rc = parse(argc, argv, &a);
    if (rc != CLI_EXIT_OK)
        return rc;
    const char *sub = a.pos[0];
    if (sub == NULL) {
        cli_errorf("guard: stop | resume | status | extend ID DURATION");
        return CLI_EXIT_USAGE;
    }
    struct store *st = open_store(a.db);
    if (st == NULL)
        return CLI_EXIT_USAGE;
    char by[RP_NAME_MAX_BYTES + 8];
    who(&a, by, sizeof by);
    int64_t now = time_now_ms();
    rc = CLI_EXIT_OK;
    if (strcmp(sub, "stop") == 0 || strcmp(sub, "resume") == 0) {
        bool stop = strcmp(sub, "stop") == 0;
        if (store_guard_state_set(st, stop, by, now) != RP_OK) {
            cli_errorf("%s", store_errmsg(st));
            rc = CLI_EXIT_FAIL;
        } else {
            printf("guard: %s by %s: %s\n", stop ? "stopped" : "resumed", by,
                   stop ? "every new effect above read is held (reads and notifications go on)"
                        : "effects are decided by the policy again");
        }
    } else if (strcmp(sub, "status") == 0) {
        bool stopped = false;
        int64_t since = 0;
        char who_by[128];
        json_t *c = NULL;
        if (store_guard_state_get(st, &stopped, &since, who_by, sizeof who_by) != RP_OK ||
            store_containment_list_json(st, &c) != RP_OK) {
            cli_errorf("%s", store_errmsg(st));
            rc = CLI_EXIT_FAIL;
        } else {
            char t[TIME_RFC3339_LEN] = "-";
            if (since > 0)
                time_format_rfc3339(since, t);
            json_t *o = json_pack("{s:s,s:s,s:s,s:o}", "kill_switch", stopped ? "stopped" : "off",
                                  "changed", t, "changed_by", who_by, "containments", c);
            print_json(o);
            json_decref(o);
        }
    } else if (strcmp(sub, "extend") == 0 && a.npos == 3) {
        int64_t ms = 0;
        struct rp_error err;
        if (time_parse_duration(a.pos[2], &ms, &err) != RP_OK || ms <= 0) {
            cli_errorf("guard extend: %s is not a duration (4h, 30m...)", a.pos[2]);
            rc = CLI_EXIT_USAGE;
        } else if (store_containment_set(st, a.pos[1], "extended", now + ms, now) != RP_OK) {
            cli_errorf("%s", store_errmsg(st));
            rc = CLI_EXIT_FAIL;
        } else {
            char t[TIME_RFC3339_LEN];
            time_format_rfc3339(now + ms, t);
            printf("containment %s: released at %s\n", a.pos[1], t);
        }
    } else {
        cli_errorf("guard: stop | resume | status | extend ID DURATION");
        rc = CLI_EXIT_USAGE;
    }
    store_close(st);
    return rc;
}

static int decide(int argc, char **argv, const char *answer)
{
    struct gargs a;
    int rc = parse(argc, argv, &a);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (a.npos != 1) {
        cli_errorf("%s: which held action? (riposte %s ID; riposte prompt list shows them)",
                   argv[0], argv[0]);
        return CLI_EXIT_USAGE;
    }
    struct store *st = open_store(a.db);
    if (st == NULL)
        return CLI_EXIT_USAGE;
    char by[RP_NAME_MAX_BYTES + 8];
    who(&a, by, sizeof by);
    if (store_prompt_answer(st, a.pos[0], answer, by, time_now_ms()) != RP_OK) {
        cli_errorf("%s", store_errmsg(st));
        rc = CLI_EXIT_FAIL;
    } else {
        printf("%s: %s by %s\n", a.pos[0], strcmp(answer, "approve") == 0 ? "approved" : "denied",
               by);
    }
    store_close(st);
    return rc;
}

int cli_approve(int argc, char **argv)
{
    return decide(argc, argv, "approve");
}

int cli_deny(int argc, char **argv)
{
    return decide(argc, argv, "deny");
}

/* Walks the chain in pages and reports the first entry whose link or hash
 * does not hold: changed (its hash no longer matches its fields), removed or
 * reordered (its prev_hash is not the hash before it, or seq jumps). */
int cli_audit(int argc, char **argv)
{
    struct gargs a;
    int rc = parse(argc, argv, &a);
    if (rc != CLI_EXIT_OK)
        return rc;
    if (a.npos != 1 || strcmp(a.pos[0], "verify") != 0) {
        cli_errorf("audit: riposte audit verify");
        return CLI_EXIT_USAGE;
    }
    struct store *st = open_store(a.db);
    if (st == NULL)
        return CLI_EXIT_USAGE;
    char prev[65] = "";
    int64_t expect = 1, n = 0;
    const char *problem = NULL;
    int64_t bad_seq = 0;
    for (;;) {
        json_t *rows = NULL;
        if (store_audit_rows(st, expect - 1, 1000, &rows) != RP_OK) {
            cli_errorf("%s", store_errmsg(st));
            store_close(st);
            return CLI_EXIT_FAIL;
        }
        size_t i;
        json_t *row;
        json_array_foreach(rows, i, row)
        {
            int64_t seq = json_integer_value(json_object_get(row, "seq"));
            const char *ph = json_string_value(json_object_get(row, "prev_hash"));
            const char *h = json_string_value(json_object_get(row, "hash"));
            char want[65];
            audit_hash(prev, seq, json_integer_value(json_object_get(row, "ts")),
                       json_string_value(json_object_get(row, "actor")),
                       json_string_value(json_object_get(row, "kind")),
                       json_string_value(json_object_get(row, "detail")), want);
            if (seq != expect)
                problem = "missing before it (an entry was removed)";
            else if (ph == NULL || strcmp(ph, prev) != 0)
                problem = "does not follow the entry before it (removed or reordered)";
            else if (h == NULL || strcmp(h, want) != 0)
                problem = "was changed (its hash does not match its content)";
            if (problem != NULL) {
                bad_seq = seq != expect ? expect : seq;
                break;
            }
            snprintf(prev, sizeof prev, "%s", h);
            expect++;
            n++;
        }
        size_t got = json_array_size(rows);
        json_decref(rows);
        if (problem != NULL || got < 1000)
            break;
    }
    store_close(st);
    if (problem != NULL) {
        printf("audit: entry %lld %s\n", (long long)bad_seq, problem);
        return CLI_EXIT_FAIL;
    }
    printf("audit: %lld entries, chain intact\n", (long long)n);
    return CLI_EXIT_OK;
}

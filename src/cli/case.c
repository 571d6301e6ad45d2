/*
 * case.c: `riposte case list|show|update|postmortem`. Reads and writes through
 * the store; an update (or a post-mortem) is one transaction: the case row
 * and its timeline entries commit together or not at all. Main thread.
 */
#include "cli/cli.h"

#include "core/buf.h"
#include "core/limits.h"
#include "core/time.h"
#include "model/alert.h"
#include "model/case.h"
#include "store/store.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct case_args {
    const char *db;
    const char *config;
    bool json;
    const char *status;
    long limit;
    int severity;
    const char *assignee;
    const char *note;
    const char *actor;
    const char *id;
    /* postmortem: --root-cause, --lesson (repeatable), --guard-rail (repeatable) */
    const char *root_cause;
    json_t *lessons;
    json_t *guard_rails;
};

static int parse_args(int argc, char **argv, struct case_args *a)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},       {"config", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},           {"status", required_argument, NULL, 's'},
        {"limit", required_argument, NULL, 'l'},    {"severity", required_argument, NULL, 'v'},
        {"assignee", required_argument, NULL, 'a'}, {"note", required_argument, NULL, 'n'},
        {"actor", required_argument, NULL, 'A'},    {"root-cause", required_argument, NULL, 'R'},
        {"lesson", required_argument, NULL, 'L'},   {"guard-rail", required_argument, NULL, 'G'},
        {"help", no_argument, NULL, 'h'},           {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof(*a));
    a->severity = -1;
    a->limit = 100;
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        char *end;
        switch (o) {
        case 'd':
            a->db = optarg;
            break;
        case 'c':
            a->config = optarg;
            break;
        case 'j':
            a->json = true;
            break;
        case 's':
            a->status = optarg;
            break;
        case 'l':
            a->limit = strtol(optarg, &end, 10);
            if (*end || a->limit < 1 || a->limit > RP_CASE_LIST_MAX) {
                cli_errorf("case: --limit must be 1-%d", RP_CASE_LIST_MAX);
                return CLI_EXIT_USAGE;
            }
            break;
        case 'v': {
            long v = strtol(optarg, &end, 10);
            if (*end || optarg[0] == '\0' || v < 0 || v > 100) {
                cli_errorf("case: --severity must be an integer 0-100, not '%s'", optarg);
                return CLI_EXIT_USAGE;
            }
            a->severity = (int)v;
            break;
        }
        case 'a':
            a->assignee = optarg;
            break;
        case 'n':
            a->note = optarg;
            break;
        case 'A':
            a->actor = optarg;
            break;
        case 'R':
            a->root_cause = optarg;
            break;
        case 'L':
        case 'G': {
            json_t **list = o == 'L' ? &a->lessons : &a->guard_rails;
            if (*list == NULL)
                *list = json_array();
            if (json_array_size(*list) >= RP_POSTMORTEM_ITEMS_MAX) {
                cli_errorf("case postmortem: at most %d of --%s", RP_POSTMORTEM_ITEMS_MAX,
                           o == 'L' ? "lesson" : "guard-rail");
                return CLI_EXIT_USAGE;
            }
            if (strlen(optarg) > RP_POSTMORTEM_TEXT_MAX || optarg[0] == '\0') {
                cli_errorf("case postmortem: --%s must be 1-%d bytes",
                           o == 'L' ? "lesson" : "guard-rail", RP_POSTMORTEM_TEXT_MAX);
                return CLI_EXIT_USAGE;
            }
            json_t *v = json_string(optarg);
            if (v == NULL) {
                cli_errorf("case postmortem: --%s is not UTF-8 text",
                           o == 'L' ? "lesson" : "guard-rail");
                return CLI_EXIT_USAGE;
            }
            json_array_append_new(*list, v);
            break;
        }
        case 'h':
            cli_help_print(stdout, "case");
            return -1;
        default:
            cli_help_print(stderr, "case");
            return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc)
        a->id = argv[optind++];
    if (optind < argc) {
        cli_errorf("case: unexpected argument '%s'", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

static void case_args_fini(struct case_args *a)
{
    json_decref(a->lessons);
    json_decref(a->guard_rails);
    a->lessons = a->guard_rails = NULL;
}

static void print_json(json_t *j)
{
    char *s = json_dumps(j, JSON_INDENT(2));
    if (s != NULL) {
        puts(s);
        free(s);
    }
}

static int case_list(struct store *s, const struct case_args *a)
{
    int status = -1;
    if (a->status != NULL) {
        enum case_status cs;
        if (case_status_parse(a->status, &cs) != RP_OK) {
            cli_errorf("case list: status '%s' is not one of %s", a->status, case_status_names());
            return CLI_EXIT_USAGE;
        }
        status = (int)cs;
    }
    json_t *list = NULL;
    if (store_case_list_json(s, status, (size_t)a->limit, &list) != RP_OK) {
        cli_errorf("case list: %s", store_errmsg(s));
        return CLI_EXIT_FAIL;
    }
    if (a->json) {
        print_json(list);
    } else {
        printf("%-26s  %-14s  %-8s  %6s  %-24s  %s\n", "ID", "STATUS", "SEVERITY", "ALERTS",
               "LAST SEEN", "TITLE");
        size_t i;
        json_t *c;
        json_array_foreach(list, i, c)
        {
            printf("%-26s  %-14s  %-3lld %-4s  %6lld  %-24s  %s\n", alert_str(c, "id"),
                   alert_str(c, "status"),
                   (long long)json_integer_value(json_object_get(c, "severity")),
                   alert_str(c, "severity_label"),
                   (long long)json_integer_value(json_object_get(c, "alert_count")),
                   alert_str(c, "last_seen"), alert_str(c, "title"));
        }
    }
    json_decref(list);
    return CLI_EXIT_OK;
}

static int not_found(struct store *s, rp_status st, const char *id)
{
    if (st == RP_E_NOTFOUND)
        cli_errorf("case: no case '%s'", id);
    else if (st == RP_E_AMBIGUOUS)
        cli_errorf("case: '%s' matches more than one case; give more of the id", id);
    else if (st == RP_E_INVALID)
        cli_errorf("case: '%s' is not a case id (give the id or at least 6 characters of it)", id);
    else
        cli_errorf("case: %s", store_errmsg(s));
    return CLI_EXIT_FAIL;
}

static void print_detail(json_t *detail)
{
    const char *k;
    json_t *v;
    json_object_foreach(detail, k, v)
    {
        char *s = json_is_string(v) ? NULL : json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
        printf(" %s=%s", k, json_is_string(v) ? json_string_value(v) : (s ? s : "?"));
        free(s);
    }
}

static int case_show(struct store *s, const struct case_args *a)
{
    json_t *j = NULL;
    rp_status st = store_case_show_json(s, a->id, &j);
    if (st != RP_OK)
        return not_found(s, st, a->id);
    json_t *pms = NULL;
    if (store_postmortem_list_json(s, alert_str(json_object_get(j, "case"), "id"), &pms) != RP_OK) {
        cli_errorf("case show: %s", store_errmsg(s));
        json_decref(j);
        return CLI_EXIT_FAIL;
    }
    json_object_set_new(j, "postmortems", pms);
    if (a->json) {
        print_json(j);
        json_decref(j);
        return CLI_EXIT_OK;
    }
    json_t *c = json_object_get(j, "case");
    printf("case      %s\n", alert_str(c, "id"));
    printf("title     %s\n", alert_str(c, "title"));
    printf("status    %s\n", alert_str(c, "status"));
    printf("severity  %lld (%s)\n", (long long)json_integer_value(json_object_get(c, "severity")),
           alert_str(c, "severity_label"));
    printf("kind      %s\n", alert_str(c, "kind"));
    printf("source    %s\n", alert_str(c, "source"));
    printf("assignee  %s\n", alert_str(c, "assignee")[0] ? alert_str(c, "assignee") : "-");
    printf("alerts    %lld\n", (long long)json_integer_value(json_object_get(c, "alert_count")));
    static const char *const times[] = {"detected",     "created",   "first_seen", "last_seen",
                                        "acknowledged", "contained", "resolved",   "closed"};
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
        printf("%-13s %s\n", times[i], alert_str(c, times[i])[0] ? alert_str(c, times[i]) : "-");
    printf("\nalerts (%lld):\n", (long long)json_integer_value(json_object_get(j, "alerts_total")));
    size_t i;
    json_t *al;
    json_array_foreach(json_object_get(j, "alerts"), i, al)
    {
        json_t *host = json_object_get(al, "host");
        json_t *user = json_object_get(al, "user");
        printf("  %s  %s  sev %lld  host=%s user=%s  %s\n", alert_str(al, "id"),
               alert_str(al, "event_time"), (long long)alert_severity(al),
               host ? alert_str(host, "name") : "", user ? alert_str(user, "name") : "",
               alert_str(al, "title"));
    }
    printf("\ntimeline (%lld):\n",
           (long long)json_integer_value(json_object_get(j, "timeline_total")));
    json_t *ev;
    json_array_foreach(json_object_get(j, "timeline"), i, ev)
    {
        printf("  %s  %-12s %-10s", alert_str(ev, "ts"), alert_str(ev, "actor"),
               alert_str(ev, "event"));
        print_detail(json_object_get(ev, "detail"));
        putchar('\n');
    }
    json_t *pm;
    json_array_foreach(pms, i, pm)
    {
        printf("\npost-mortem by %s, %s\n", alert_str(pm, "author"), alert_str(pm, "created"));
        printf("  root cause   %s\n", alert_str(pm, "root_cause"));
        printf("  lessons      %s\n", alert_str(pm, "lessons"));
        size_t k;
        json_t *g;
        json_array_foreach(json_object_get(pm, "guard_rails"), k, g)
            printf("  guard rail   %s\n", json_string_value(g));
    }
    json_decref(j);
    return CLI_EXIT_OK;
}

/* The actor of a change: --actor, else $USER, else "cli"; NULL when too long. */
static const char *actor_of(const struct case_args *a)
{
    const char *actor = a->actor ? a->actor : getenv("USER");
    if (actor == NULL || actor[0] == '\0')
        actor = "cli";
    return strlen(actor) > RP_NAME_MAX_BYTES ? NULL : actor;
}

/* `case postmortem ID --root-cause TEXT --lesson TEXT [--guard-rail TEXT]`:
 * one row in postmortems and one "postmortem" entry on the case timeline, in
 * one transaction. Lessons are kept one per line. */
static int case_postmortem(struct store *s, const struct case_args *a)
{
    if (a->root_cause == NULL || a->root_cause[0] == '\0' || a->lessons == NULL) {
        cli_errorf("case postmortem: give --root-cause TEXT and at least one --lesson TEXT");
        return CLI_EXIT_USAGE;
    }
    if (strlen(a->root_cause) > RP_POSTMORTEM_TEXT_MAX) {
        cli_errorf("case postmortem: --root-cause is longer than %d bytes", RP_POSTMORTEM_TEXT_MAX);
        return CLI_EXIT_USAGE;
    }
    const char *actor = actor_of(a);
    if (actor == NULL) {
        cli_errorf("case postmortem: --actor too long");
        return CLI_EXIT_USAGE;
    }
    json_t *rails = a->guard_rails != NULL ? json_incref(a->guard_rails) : json_array();
    struct buf lessons;
    buf_init(&lessons, (size_t)RP_POSTMORTEM_ITEMS_MAX * (RP_POSTMORTEM_TEXT_MAX + 1));
    size_t i;
    json_t *l;
    rp_status st = RP_OK;
    json_array_foreach(a->lessons, i, l)
    {
        if (st == RP_OK && i > 0)
            st = buf_puts(&lessons, "\n");
        if (st == RP_OK)
            st = buf_puts(&lessons, json_string_value(l));
    }
    json_t *detail = json_pack("{s:s,s:O,s:O}", "root_cause", a->root_cause, "lessons", a->lessons,
                               "guard_rails", rails);
    if (st != RP_OK || rails == NULL || detail == NULL) {
        cli_errorf("case postmortem: out of memory");
        json_decref(rails);
        json_decref(detail);
        buf_fini(&lessons);
        return CLI_EXIT_FAIL;
    }
    int rc = CLI_EXIT_OK;
    struct case_row row;
    int64_t now = time_now_ms();
    st = store_begin(s);
    if (st == RP_OK) {
        st = store_case_get(s, a->id, &row);
        if (st != RP_OK) {
            rc = not_found(s, st, a->id);
        } else {
            st = store_postmortem_add(s, row.id, a->root_cause,
                                      lessons.data != NULL ? lessons.data : "", rails, actor, now);
            if (st == RP_OK)
                st = store_timeline_add(s, row.id, now, actor, "postmortem", detail);
            if (st == RP_OK)
                st = store_commit(s);
        }
    }
    if (st != RP_OK) {
        store_rollback(s);
        if (rc == CLI_EXIT_OK) {
            cli_errorf("case postmortem: %s", store_errmsg(s));
            rc = CLI_EXIT_FAIL;
        }
    } else if (a->json) {
        print_json(detail);
    } else {
        printf("%s: post-mortem recorded (%zu lesson%s, %zu guard rail%s)\n", row.id,
               json_array_size(a->lessons), json_array_size(a->lessons) == 1 ? "" : "s",
               json_array_size(rails), json_array_size(rails) == 1 ? "" : "s");
    }
    json_decref(rails);
    json_decref(detail);
    buf_fini(&lessons);
    return rc;
}

static int case_update(struct store *s, const struct case_args *a)
{
    if (a->status == NULL && a->severity == -1 && a->assignee == NULL && a->note == NULL) {
        cli_errorf("case update: nothing to change (--status, --severity, --assignee, --note)");
        return CLI_EXIT_USAGE;
    }
    const char *actor = a->actor ? a->actor : getenv("USER");
    if (actor == NULL || actor[0] == '\0')
        actor = "cli";
    if (strlen(actor) > RP_NAME_MAX_BYTES) {
        cli_errorf("case update: --actor too long");
        return CLI_EXIT_USAGE;
    }
    struct case_update u = {a->status, a->severity, a->assignee, a->note};
    struct case_row row;
    struct rp_error err;
    json_t *events = json_array();
    if (events == NULL)
        return CLI_EXIT_FAIL;
    int rc = CLI_EXIT_OK;
    rp_status st = store_begin(s);
    if (st == RP_OK) {
        st = store_case_get(s, a->id, &row);
        if (st != RP_OK) {
            rc = not_found(s, st, a->id);
        } else {
            int64_t now = time_now_ms();
            st = case_apply_update(&row, &u, now, events, &err);
            if (st != RP_OK) {
                cli_errorf("case update: %s", err.msg);
                rc = CLI_EXIT_USAGE;
            }
            size_t i;
            json_t *e;
            json_array_foreach(events, i, e)
            {
                if (st == RP_OK)
                    st = store_timeline_add(s, row.id, now, actor,
                                            json_string_value(json_object_get(e, "event")),
                                            json_object_get(e, "detail"));
            }
            if (st == RP_OK && json_array_size(events) > 0)
                st = store_case_save(s, &row);
            if (st == RP_OK)
                st = store_commit(s);
        }
    }
    if (st != RP_OK) {
        store_rollback(s);
        if (rc == CLI_EXIT_OK) {
            cli_errorf("case update: %s", store_errmsg(s));
            rc = CLI_EXIT_FAIL;
        }
    } else if (a->json) {
        json_t *j = store_case_row_json(&row);
        print_json(j);
        json_decref(j);
    } else {
        printf("%s: %zu change%s\n", row.id, json_array_size(events),
               json_array_size(events) == 1 ? "" : "s");
    }
    json_decref(events);
    return rc;
}

int cli_case(int argc, char **argv)
{
    if (argc < 2) {
        cli_help_print(stderr, "case");
        return CLI_EXIT_USAGE;
    }
    const char *sub = argv[1];
    struct case_args a;
    int rc = parse_args(argc - 1, argv + 1, &a);
    if (rc != CLI_EXIT_OK) {
        case_args_fini(&a);
        return rc < 0 ? CLI_EXIT_OK : rc;
    }
    bool needs_id =
        strcmp(sub, "show") == 0 || strcmp(sub, "update") == 0 || strcmp(sub, "postmortem") == 0;
    if (strcmp(sub, "postmortem") != 0 &&
        (a.root_cause != NULL || a.lessons != NULL || a.guard_rails != NULL)) {
        cli_errorf("case %s: --root-cause, --lesson and --guard-rail belong to case postmortem",
                   sub);
        rc = CLI_EXIT_USAGE;
    } else if (strcmp(sub, "list") != 0 && !needs_id) {
        cli_errorf("case: unknown subcommand '%s' (list, show, update, postmortem)", sub);
        rc = CLI_EXIT_USAGE;
    }
    if (rc != CLI_EXIT_OK) {
        case_args_fini(&a);
        return rc;
    }
    if (needs_id && a.id == NULL) {
        cli_errorf("case %s: give a case ID", sub);
        case_args_fini(&a);
        return CLI_EXIT_USAGE;
    }
    if (!needs_id && a.id != NULL) {
        cli_errorf("case list: unexpected argument '%s'", a.id);
        case_args_fini(&a);
        return CLI_EXIT_USAGE;
    }
    struct config cfg;
    if (!cli_config_load(&cfg, a.config)) {
        config_fini(&cfg);
        case_args_fini(&a);
        return CLI_EXIT_USAGE;
    }
    struct store *s = NULL;
    struct rp_error err;
    if (store_open(store_default_path(a.db ? a.db : cfg.db_path), &s, &err) != RP_OK) {
        cli_errorf("%s", err.msg);
        config_fini(&cfg);
        case_args_fini(&a);
        return CLI_EXIT_USAGE;
    }
    if (strcmp(sub, "list") == 0)
        rc = case_list(s, &a);
    else if (strcmp(sub, "show") == 0)
        rc = case_show(s, &a);
    else if (strcmp(sub, "postmortem") == 0)
        rc = case_postmortem(s, &a);
    else
        rc = case_update(s, &a);
    store_close(s);
    config_fini(&cfg);
    case_args_fini(&a);
    return rc;
}

/*
 * run.c: the playbook commands of the CLI.
 *
 *   riposte run PLAYBOOK [--alert FILE] [--case ID] [--input K=V]... [--db P]
 *   riposte plan PLAYBOOK [--alert FILE] [--replay FILE] [--db P]
 *   riposte check PLAYBOOK...
 *   riposte run-list [--status S] [--limit N] [--json] [--db P]
 *   riposte run-show ID [--json] [--db P]
 *   riposte prompt list|show ID|answer ID OPTION [--by NAME] [--db P]
 *
 * `run` and `plan` drive the same engine as the daemon, on a loop of their
 * own, until the run finishes; `plan` simulates every effect above read and
 * prints the actions in order as stable text. Main thread.
 */
#include "cli/cli.h"

#include "connect/connector.h"
#include "connect/secrets.h"
#include "core/time.h"
#include "engine/action.h"
#include "engine/engine.h"
#include "guard/guard.h"
#include "model/alert.h"
#include "playbook/playbook.h"
#include "store/store.h"

#include <stdlib.h>
#include <string.h>
#include <uv.h>

struct run_args {
    const char *playbook;
    const char *alert_path;
    const char *replay_path;
    const char *case_id;
    const char *db;
    const char *config;
    const char *playbooks_dir;
    const char *policy;
    json_t *inputs;
};

static bool parse_input(json_t *inputs, const char *kv)
{
    const char *eq = strchr(kv, '=');
    if (eq == NULL || eq == kv) {
        cli_errorf("--input %s: expected NAME=VALUE", kv);
        return false;
    }
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)(eq - kv), kv);
    /* a JSON value when it parses as one (numbers, true, lists), else text */
    json_t *v = json_loads(eq + 1, JSON_DECODE_ANY, NULL);
    if (v == NULL)
        v = json_string(eq + 1);
    json_object_set_new(inputs, name, v);
    return true;
}

static int parse_run_args(int argc, char **argv, struct run_args *a, bool plan)
{
    *a = (struct run_args){.inputs = json_object()};
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(o, "--alert") == 0 && v != NULL) {
            a->alert_path = v;
            i++;
        } else if (strcmp(o, "--db") == 0 && v != NULL) {
            a->db = v;
            i++;
        } else if (strcmp(o, "--config") == 0 && v != NULL) {
            a->config = v;
            i++;
        } else if (strcmp(o, "--playbooks") == 0 && v != NULL) {
            a->playbooks_dir = v;
            i++;
        } else if (strcmp(o, "--policy") == 0 && v != NULL) {
            a->policy = v;
            i++;
        } else if (strcmp(o, "--case") == 0 && v != NULL && !plan) {
            a->case_id = v;
            i++;
        } else if (strcmp(o, "--input") == 0 && v != NULL) {
            if (!parse_input(a->inputs, v))
                return CLI_EXIT_USAGE;
            i++;
        } else if (strcmp(o, "--replay") == 0 && v != NULL && plan) {
            a->replay_path = v;
            i++;
        } else if (o[0] == '-') {
            cli_errorf("%s: unknown option %s (see riposte help %s)", argv[0], o, argv[0]);
            return CLI_EXIT_USAGE;
        } else if (a->playbook == NULL) {
            a->playbook = o;
        } else {
            cli_errorf("%s: one playbook at a time", argv[0]);
            return CLI_EXIT_USAGE;
        }
    }
    if (a->playbook == NULL) {
        cli_errorf("%s: which playbook? (riposte %s PLAYBOOK.yml)", argv[0], argv[0]);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

/* The alert a manual run starts from: a JSON object in Riposte's input schema,
 * normalized as ingest would. */
static json_t *load_alert(const char *path)
{
    json_error_t je;
    json_t *in = json_load_file(path, JSON_REJECT_DUPLICATES, &je);
    if (in == NULL) {
        cli_errorf("%s:%d:%d: %s", path, je.line, je.column, je.text);
        return NULL;
    }
    struct alert_opts ao = {.received_ms = time_now_ms(), .default_source = "manual"};
    json_t *out = NULL;
    struct rp_error err;
    if (alert_normalize(in, &ao, &out, &err) != RP_OK) {
        cli_errorf("%s: %s", path, err.msg);
        out = NULL;
    }
    json_decref(in);
    return out;
}

/* --- traces ------------------------------------------------------------------- */

static void short_json(json_t *v, char *out, size_t cap)
{
    char *t = v != NULL ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY) : NULL;
    if (t == NULL) {
        snprintf(out, cap, "-");
        return;
    }
    if (strlen(t) >= cap && cap > 4)
        snprintf(out, cap, "%.*s...", (int)cap - 4, t);
    else
        snprintf(out, cap, "%s", t);
    free(t);
}

/* Prints a run (store_run_show_json's shape) for people: one line per step
 * with its start, end, status and a summary of its output. */
static void print_trace(json_t *run, FILE *f)
{
    fprintf(f, "run %s  playbook %s v%lld  %s  trigger %s\n",
            json_string_value(json_object_get(run, "id")),
            json_string_value(json_object_get(run, "playbook")),
            (long long)json_integer_value(json_object_get(run, "version")),
            json_string_value(json_object_get(run, "status")),
            json_string_value(json_object_get(run, "trigger")));
    json_t *events = json_object_get(run, "events");
    json_t *starts = json_object();
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev)
    {
        const char *type = json_string_value(json_object_get(ev, "type"));
        const char *key = json_string_value(json_object_get(ev, "key"));
        const char *ts = json_string_value(json_object_get(ev, "ts"));
        json_t *data = json_object_get(ev, "data");
        if (key == NULL || type == NULL)
            continue;
        if (strcmp(type, "step_done") != 0) {
            if (json_object_get(starts, key) == NULL && ts != NULL)
                json_object_set_new(starts, key, json_string(ts));
            if (strcmp(type, "action_requested") == 0)
                fprintf(f, "  %-24s action %s (%s) attempt %lld\n", key,
                        json_string_value(json_object_get(data, "action")),
                        json_string_value(json_object_get(data, "effect")),
                        (long long)json_integer_value(json_object_get(data, "attempt")));
            else if (strcmp(type, "retry_wait") == 0)
                fprintf(f, "  %-24s retry after: %s\n", key,
                        json_string_value(json_object_get(data, "error")));
            else if (strcmp(type, "guard") == 0)
                fprintf(f, "  %-24s guard %s (%s): %s\n", key,
                        json_string_value(json_object_get(data, "verdict")),
                        json_string_value(json_object_get(data, "rule")),
                        json_string_value(json_object_get(data, "reason")));
            else if (strcmp(type, "hold") == 0)
                fprintf(f, "  %-24s held for approval %s by %s\n", key,
                        json_string_value(json_object_get(data, "prompt")),
                        json_string_value(json_object_get(data, "approver")));
            else if (strcmp(type, "hold_done") == 0)
                fprintf(f, "  %-24s approval: %s\n", key,
                        json_string_value(json_object_get(data, "answer")));
            else if (strcmp(type, "prompt_sent") == 0)
                fprintf(f, "  %-24s prompt %s waiting for an answer\n", key,
                        json_string_value(json_object_get(data, "prompt")));
            continue;
        }
        const char *start = json_string_value(json_object_get(starts, key));
        const char *status = json_string_value(json_object_get(data, "status"));
        const char *err = json_string_value(json_object_get(data, "err"));
        char out[160];
        short_json(json_object_get(data, "out"), out, sizeof out);
        fprintf(f, "  %-24s %-8s %s .. %s  %s\n", key, status != NULL ? status : "?",
                start != NULL ? start + 11 : (ts != NULL ? ts + 11 : "?"),
                ts != NULL ? ts + 11 : "?", err != NULL ? err : out);
    }
    json_decref(starts);
    const char *error = json_string_value(json_object_get(run, "error"));
    if (error != NULL)
        fprintf(f, "error: %s\n", error);
}

/* --- run and plan --------------------------------------------------------------- */

struct run_wait {
    bool done;
    char status[16];
};

static void on_done(void *ctx, const char *run_id, const char *status)
{
    (void)run_id;
    struct run_wait *w = ctx;
    w->done = true;
    snprintf(w->status, sizeof w->status, "%s", status);
}

static int run_or_plan(int argc, char **argv, bool plan)
{
    struct run_args a;
    int rc = parse_run_args(argc, argv, &a, plan);
    json_t *alert = NULL, *replay = NULL;
    struct store *st = NULL;
    struct engine *e = NULL;
    struct playbook *pb = NULL;
    struct rp_error err;
    uv_loop_t loop;
    bool loop_ok = false;
    struct config cfg;
    config_init(&cfg);
    struct secrets *secrets = NULL;
    struct connectors *conns = NULL;
    struct playbook_set subs = {0};
    struct policy *policy = NULL;
    if (rc != CLI_EXIT_OK)
        goto out;
    rc = CLI_EXIT_USAGE;
    if (!cli_config_load(&cfg, a.config))
        goto out;
    const char *db_flag = a.db != NULL ? a.db : (getenv("RIPOSTE_DB") == NULL ? cfg.db_path : NULL);
    if (!cli_connectors_load(&cfg, store_default_path(db_flag), &secrets, &conns))
        goto out;
    const char *policy_path = a.policy != NULL ? a.policy : cfg.policy_path;
    if (policy_path != NULL && policy_load_file(policy_path, &policy, &err) != RP_OK) {
        cli_errorf("%s", err.msg);
        goto out;
    }
    const char *pb_dir = a.playbooks_dir != NULL ? a.playbooks_dir : cfg.playbooks_dir;
    if (pb_dir != NULL && playbook_set_load_dir(pb_dir, &subs, &err) != RP_OK) {
        cli_errorf("%s", err.msg);
        goto out;
    }
    if (playbook_load_file(a.playbook, &pb, &err) != RP_OK) {
        cli_errorf("%s", err.msg);
        goto out;
    }
    if (a.alert_path != NULL && (alert = load_alert(a.alert_path)) == NULL)
        goto out;
    if (a.replay_path != NULL) {
        json_error_t je;
        replay = json_load_file(a.replay_path, JSON_REJECT_DUPLICATES, &je);
        if (!json_is_object(replay)) {
            cli_errorf("%s:%d:%d: %s", a.replay_path, je.line, je.column,
                       replay == NULL ? je.text : "a replay file is a JSON object");
            goto out;
        }
    }
    /* plan mode writes to a throw-away database unless one is named: a plan
     * must leave no trace in the real one */
    const char *db = plan && a.db == NULL ? ":memory:" : store_default_path(db_flag);
    if (store_open(db, &st, &err) != RP_OK) {
        cli_errorf("%s", err.msg);
        goto out;
    }
    if (uv_loop_init(&loop) != 0) {
        cli_errorf("cannot start an event loop");
        goto out;
    }
    loop_ok = true;
    struct run_wait wait = {.done = false};
    struct engine_opts eo = {.mode = plan ? ENGINE_PLAN : ENGINE_LIVE,
                             .replay = replay,
                             .on_run_done = on_done,
                             .ctx = &wait,
                             .policy = policy,
                             .prompt_mail_action = cfg.prompt_mail,
                             .public_url = cfg.public_url};
    if (engine_new(&loop, st, &eo, &e, &err) != RP_OK) {
        cli_errorf("%s", err.msg);
        goto out;
    }
    /* the directory's playbooks first (sub-playbooks), then the one to run,
     * which wins when it has the same name */
    for (size_t i = 0; i < subs.n; i++) {
        struct playbook *sp = subs.items[i];
        subs.items[i] = NULL;
        if (strcmp(sp->name, pb->name) == 0) {
            playbook_free(sp);
            continue;
        }
        if (engine_playbook_add(e, sp, &err) != RP_OK) {
            cli_errorf("%s", err.msg);
            goto out;
        }
    }
    char name[RP_NAME_MAX_BYTES + 1];
    snprintf(name, sizeof name, "%s", pb->name);
    struct playbook *taken = pb;
    pb = NULL;
    if (engine_playbook_add(e, taken, &err) != RP_OK) {
        cli_errorf("%s", err.msg);
        goto out;
    }
    char run_id[ULID_LEN + 1];
    if (engine_start(e, name, alert, a.case_id, a.inputs, "manual", NULL, run_id, &err) != RP_OK) {
        cli_errorf("%s", err.msg);
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    while (!wait.done && uv_run(&loop, UV_RUN_ONCE) != 0) {
    }
    if (!wait.done) {
        cli_errorf("run %s stopped without finishing", run_id);
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    if (plan) {
        printf("plan: playbook %s version %d\n", name, engine_playbook_version_of(e, name));
        engine_plan_print(e, run_id, stdout);
        printf("result: %s\n", wait.status);
    } else {
        json_t *run = NULL;
        if (store_run_show_json(st, run_id, &run) == RP_OK) {
            print_trace(run, stdout);
            json_decref(run);
        }
    }
    rc = strcmp(wait.status, "succeeded") == 0 ? CLI_EXIT_OK : CLI_EXIT_FAIL;
out:
    if (e != NULL) {
        engine_free(e);
        uv_run(&loop, UV_RUN_DEFAULT); /* let closed handles go */
    }
    if (loop_ok)
        (void)uv_loop_close(&loop);
    playbook_free(pb);
    playbook_set_fini(&subs);
    policy_free(policy);
    store_close(st);
    connectors_free(conns);
    secrets_close(secrets);
    config_fini(&cfg);
    json_decref(alert);
    json_decref(replay);
    json_decref(a.inputs);
    return rc;
}

int cli_run(int argc, char **argv)
{
    return run_or_plan(argc, argv, false);
}

int cli_plan(int argc, char **argv)
{
    return run_or_plan(argc, argv, true);
}

/* --- check -------------------------------------------------------------------------- */

static void effects_of(const struct pb_list *l, json_t *effects, json_t *unknown);

/* With a policy: what bounds each action above read, and whether a protected
 * asset rule covers it. Returns true when an unbounded contain or destroy is
 * reachable (the command then exits non-zero: a change review gate). */
static bool check_policy(const struct pb_list *l, const struct policy *p, const char *file)
{
    bool bad = false;
    for (size_t i = 0; i < l->n; i++) {
        const struct pb_step *s = &l->steps[i];
        const struct pb_list *body = NULL;
        if (s->kind == PB_FOR_EACH)
            body = &s->u.for_each.body;
        else if (s->kind == PB_WHILE)
            body = &s->u.loop.body;
        else if (s->kind == PB_PARALLEL)
            body = &s->u.parallel.branches;
        else if (s->kind == PB_GROUP)
            body = &s->u.group.body;
        if (body != NULL) {
            bad |= check_policy(body, p, file);
            continue;
        }
        if (s->kind != PB_ACTION)
            continue;
        const struct action_def *d = action_find(s->u.action.name);
        if (d == NULL || d->effect == ACTION_EFFECT_READ)
            continue;
        json_t *b = guard_bounds(p, d->name, d->effect);
        json_t *rules = json_object_get(b, "bounds");
        bool prot = json_is_true(json_object_get(b, "protected"));
        bool unbounded = json_array_size(rules) == 0;
        char *t = rules != NULL ? json_dumps(rules, JSON_COMPACT) : NULL;
        printf("  %-20s %-8s %s%s%s\n", s->id, action_effect_name(d->effect),
               unbounded ? "UNBOUNDED" : "bounded by ", unbounded ? "" : (t != NULL ? t : ""),
               prot ? ", protected assets checked" : ", no protected-asset rule");
        free(t);
        if (unbounded &&
            (d->effect == ACTION_EFFECT_CONTAIN || d->effect == ACTION_EFFECT_DESTROY)) {
            fprintf(stderr,
                    "%s: step %s: %s (%s) is reachable and no budget or blast radius "
                    "bounds it\n",
                    file, s->id, d->name, action_effect_name(d->effect));
            bad = true;
        }
        json_decref(b);
    }
    return bad;
}

static void effects_of(const struct pb_list *l, json_t *effects, json_t *unknown)
{
    for (size_t i = 0; i < l->n; i++) {
        const struct pb_step *s = &l->steps[i];
        switch (s->kind) {
        case PB_ACTION: {
            const struct action_def *d = action_find(s->u.action.name);
            if (d == NULL) {
                json_array_append_new(unknown, json_string(s->u.action.name));
                break;
            }
            json_t *list = json_object_get(effects, action_effect_name(d->effect));
            if (list == NULL) {
                list = json_array();
                json_object_set_new(effects, action_effect_name(d->effect), list);
            }
            char label[600];
            snprintf(label, sizeof label, "%s (%s)", s->id, d->name);
            json_array_append_new(list, json_string(label));
            break;
        }
        case PB_FOR_EACH:
            effects_of(&s->u.for_each.body, effects, unknown);
            break;
        case PB_WHILE:
            effects_of(&s->u.loop.body, effects, unknown);
            break;
        case PB_PARALLEL:
            effects_of(&s->u.parallel.branches, effects, unknown);
            break;
        case PB_GROUP:
            effects_of(&s->u.group.body, effects, unknown);
            break;
        default:
            break;
        }
    }
}

int cli_check(int argc, char **argv)
{
    if (argc < 2) {
        cli_errorf("check: which playbooks? (riposte check PLAYBOOK.yml...)");
        return CLI_EXIT_USAGE;
    }
    struct config cfg;
    config_init(&cfg);
    struct secrets *secrets = NULL;
    struct connectors *conns = NULL;
    int first = 1;
    const char *config_path = NULL, *policy_path = NULL;
    while (first + 1 < argc &&
           (strcmp(argv[first], "--config") == 0 || strcmp(argv[first], "--policy") == 0)) {
        if (strcmp(argv[first], "--config") == 0)
            config_path = argv[first + 1];
        else
            policy_path = argv[first + 1];
        first += 2;
    }
    if (!cli_config_load(&cfg, config_path))
        return CLI_EXIT_USAGE;
    if (policy_path == NULL)
        policy_path = cfg.policy_path;
    struct policy *policy = NULL;
    struct rp_error perr;
    if (policy_path != NULL && policy_load_file(policy_path, &policy, &perr) != RP_OK) {
        cli_errorf("%s", perr.msg);
        config_fini(&cfg);
        return CLI_EXIT_USAGE;
    }
    if (!cli_connectors_load(&cfg, store_default_path(cfg.db_path), &secrets, &conns)) {
        config_fini(&cfg);
        return CLI_EXIT_USAGE;
    }
    int rc = CLI_EXIT_OK;
    for (int i = first; i < argc; i++) {
        struct playbook *pb = NULL;
        struct rp_error err;
        if (playbook_load_file(argv[i], &pb, &err) != RP_OK) {
            fprintf(stderr, "%s\n", err.msg);
            rc = CLI_EXIT_FAIL;
            continue;
        }
        json_t *effects = json_object(), *unknown = json_array();
        effects_of(&pb->steps, effects, unknown);
        printf("%s: playbook %s version %d, %zu steps: ok\n", argv[i], pb->name, pb->version,
               pb->nsteps_total);
        static const char *const ORDER[] = {"read", "notify", "contain", "modify", "destroy"};
        for (size_t k = 0; k < 5; k++) {
            json_t *list = json_object_get(effects, ORDER[k]);
            if (list == NULL)
                continue;
            printf("  %-8s", ORDER[k]);
            size_t j;
            json_t *v;
            json_array_foreach(list, j, v) printf("%s%s", j ? ", " : " ", json_string_value(v));
            printf("\n");
        }
        if (policy != NULL) {
            printf("  under %s:\n", policy_path);
            if (check_policy(&pb->steps, policy, argv[i]))
                rc = CLI_EXIT_FAIL;
        }
        json_decref(effects);
        json_decref(unknown);
        playbook_free(pb);
    }
    connectors_free(conns);
    secrets_close(secrets);
    policy_free(policy);
    config_fini(&cfg);
    return rc;
}

/* --- run-list, run-show ---------------------------------------------------------------- */

static int open_db(const char *db, struct store **st)
{
    struct rp_error err;
    if (store_open(store_default_path(db), st, &err) != RP_OK) {
        cli_errorf("%s", err.msg);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

int cli_run_list(int argc, char **argv)
{
    const char *db = NULL, *status = NULL;
    long limit = 50;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
            db = argv[++i];
        else if (strcmp(argv[i], "--status") == 0 && i + 1 < argc)
            status = argv[++i];
        else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc)
            limit = strtol(argv[++i], NULL, 10);
        else if (strcmp(argv[i], "--json") == 0)
            json = true;
        else {
            cli_errorf("run-list: unknown argument %s", argv[i]);
            return CLI_EXIT_USAGE;
        }
    }
    if (limit < 1 || limit > RP_CASE_LIST_MAX) {
        cli_errorf("run-list: --limit must be 1..%d", RP_CASE_LIST_MAX);
        return CLI_EXIT_USAGE;
    }
    struct store *st = NULL;
    int rc = open_db(db, &st);
    if (rc != CLI_EXIT_OK)
        return rc;
    json_t *runs = NULL;
    if (store_run_list_json(st, status, (size_t)limit, &runs) != RP_OK) {
        cli_errorf("%s", store_errmsg(st));
        store_close(st);
        return CLI_EXIT_FAIL;
    }
    size_t i;
    json_t *r;
    json_array_foreach(runs, i, r)
    {
        if (json) {
            char *t = json_dumps(r, JSON_COMPACT);
            if (t != NULL)
                puts(t);
            free(t);
        } else {
            printf("%s  %-10s %-24s v%-3lld %-8s %s\n", json_string_value(json_object_get(r, "id")),
                   json_string_value(json_object_get(r, "status")),
                   json_string_value(json_object_get(r, "playbook")),
                   (long long)json_integer_value(json_object_get(r, "version")),
                   json_string_value(json_object_get(r, "trigger")),
                   json_string_value(json_object_get(r, "created")));
        }
    }
    json_decref(runs);
    store_close(st);
    return CLI_EXIT_OK;
}

int cli_run_show(int argc, char **argv)
{
    const char *db = NULL, *id = NULL;
    bool json = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
            db = argv[++i];
        else if (strcmp(argv[i], "--json") == 0)
            json = true;
        else if (argv[i][0] != '-' && id == NULL)
            id = argv[i];
        else {
            cli_errorf("run-show: unknown argument %s", argv[i]);
            return CLI_EXIT_USAGE;
        }
    }
    if (id == NULL) {
        cli_errorf("run-show: which run? (riposte run-show ID)");
        return CLI_EXIT_USAGE;
    }
    struct store *st = NULL;
    int rc = open_db(db, &st);
    if (rc != CLI_EXIT_OK)
        return rc;
    json_t *run = NULL;
    if (store_run_show_json(st, id, &run) != RP_OK) {
        cli_errorf("%s", store_errmsg(st));
        store_close(st);
        return CLI_EXIT_FAIL;
    }
    if (json) {
        char *t = json_dumps(run, JSON_INDENT(2));
        if (t != NULL)
            puts(t);
        free(t);
    } else {
        print_trace(run, stdout);
    }
    json_decref(run);
    store_close(st);
    return CLI_EXIT_OK;
}

/* --- prompts -------------------------------------------------------------------------- */

int cli_prompt(int argc, char **argv)
{
    const char *db = NULL, *by = NULL;
    const char *pos[3] = {NULL, NULL, NULL};
    int npos = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--db") == 0 && i + 1 < argc)
            db = argv[++i];
        else if (strcmp(argv[i], "--by") == 0 && i + 1 < argc)
            by = argv[++i];
        else if (argv[i][0] != '-' && npos < 3)
            pos[npos++] = argv[i];
        else {
            cli_errorf("prompt: unknown argument %s", argv[i]);
            return CLI_EXIT_USAGE;
        }
    }
    const char *sub = pos[0];
    if (sub == NULL ||
        !((strcmp(sub, "list") == 0 && npos == 1) || (strcmp(sub, "show") == 0 && npos == 2) ||
          (strcmp(sub, "answer") == 0 && npos == 3))) {
        cli_errorf("prompt: use prompt list | prompt show ID | prompt answer ID OPTION");
        return CLI_EXIT_USAGE;
    }
    struct store *st = NULL;
    int rc = open_db(db, &st);
    if (rc != CLI_EXIT_OK)
        return rc;
    json_t *out = NULL;
    rp_status s;
    if (strcmp(sub, "list") == 0) {
        s = store_prompt_list_json(st, NULL, 100, &out);
    } else if (strcmp(sub, "show") == 0) {
        s = store_prompt_get_json(st, pos[1], &out);
    } else {
        char who[RP_NAME_MAX_BYTES + 8];
        const char *user = getenv("USER");
        snprintf(who, sizeof who, "cli:%s", by != NULL ? by : (user != NULL ? user : "?"));
        s = store_prompt_answer(st, pos[1], pos[2], who, time_now_ms());
        if (s == RP_OK)
            printf("prompt %s answered: %s\n", pos[1], pos[2]);
    }
    if (s != RP_OK) {
        cli_errorf("%s", store_errmsg(st));
        rc = CLI_EXIT_FAIL;
    } else if (out != NULL) {
        char *t = json_dumps(out, JSON_INDENT(2));
        if (t != NULL)
            puts(t);
        free(t);
    }
    json_decref(out);
    store_close(st);
    return rc;
}

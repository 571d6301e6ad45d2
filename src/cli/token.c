/*
 * token.c: `riposte token create --name N [--role R]`, `riposte token list
 * [--json]`, `riposte token revoke NAME`, each with [--db PATH] [--config FILE].
 *
 * create prints the new token once, on stdout, alone on its line (so that
 * `T=$(riposte token create --name ci)` works); the store keeps only its hash
 * (api/auth.h). A running daemon sees a new token at once and refuses a revoked
 * one within RP_AUTH_CACHE_TTL_MS. The database is found as for serve: --db,
 * then $RIPOSTE_DB, then the configuration's db:, then the default. Main thread.
 * Exit codes as in cli/cli.h: 0 done, 1 refused (name taken, no such token),
 * 2 usage or store failure.
 */
#include "cli/cli.h"

#include "api/auth.h"
#include "core/time.h"
#include "store/store.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct token_args {
    const char *name;
    const char *role;
    const char *db;
    const char *config;
    const char *positional;
    bool json;
};

/* Parses the arguments after the action: 0 parsed, 1 help was asked (and
 * printed), -1 a mistake (message printed). */
static int parse_args(const char *action, int argc, char **argv, int first, struct token_args *t)
{
    memset(t, 0, sizeof(*t));
    for (int i = first; i < argc; i++) {
        struct {
            const char *name;
            const char **dst;
        } flags[] = {
            {"--name", &t->name},
            {"--role", &t->role},
            {"--db", &t->db},
            {"--config", &t->config},
        };
        int m = 0;
        for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]) && m == 0; f++)
            m = cli_flag_value(argc, argv, &i, flags[f].name, flags[f].dst);
        if (m < 0) {
            cli_errorf("token %s: %s needs a value", action, argv[i]);
            return -1;
        }
        if (m > 0)
            continue;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            cli_help_print(stdout, "token");
            return 1;
        } else if (strcmp(argv[i], "--json") == 0) {
            t->json = true;
        } else if (argv[i][0] != '-' && t->positional == NULL) {
            t->positional = argv[i];
        } else {
            cli_errorf("token %s: unknown argument %s (see riposte help token)", action, argv[i]);
            return -1;
        }
    }
    return 0;
}

/* Opens the store named by --db, $RIPOSTE_DB, the configuration or the default. */
static struct store *open_store(const struct token_args *t)
{
    struct config cfg;
    config_init(&cfg);
    struct store *s = NULL;
    if (!cli_config_load(&cfg, t->config))
        goto out;
    const char *path = t->db;
    if (path == NULL && getenv("RIPOSTE_DB") == NULL && cfg.db_path != NULL)
        path = cfg.db_path;
    path = store_default_path(path);
    struct rp_error err = {{0}};
    if (store_open(path, &s, &err) != RP_OK) {
        cli_errorf("%s", err.msg);
        s = NULL;
    }
out:
    config_fini(&cfg);
    return s;
}

static int token_create(const struct token_args *t)
{
    if (t->name == NULL) {
        cli_errorf("token create: --name is required");
        return CLI_EXIT_USAGE;
    }
    if (t->positional != NULL || t->json) {
        cli_errorf("token create: unexpected argument (usage: token create --name N [--role R])");
        return CLI_EXIT_USAGE;
    }
    enum auth_role role = AUTH_ROLE_ADMIN;
    if (t->role != NULL && auth_role_parse(t->role, &role) != RP_OK) {
        cli_errorf("token create: --role must be one of: %s", auth_role_names());
        return CLI_EXIT_USAGE;
    }
    if (!auth_token_name_valid(t->name)) {
        cli_errorf("token create: a token name is 1-%d characters of A-Z a-z 0-9 . _ @ -",
                   RP_TOKEN_NAME_MAX);
        return CLI_EXIT_USAGE;
    }
    struct store *s = open_store(t);
    if (s == NULL)
        return CLI_EXIT_USAGE;
    char token[AUTH_TOKEN_LEN + 1];
    struct rp_error err = {{0}};
    rp_status st = auth_token_create(s, t->name, role, token, &err);
    store_close(s);
    if (st != RP_OK) {
        cli_errorf("token create: %s", err.msg);
        return st == RP_E_EXISTS ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
    }
    printf("%s\n", token);
    fflush(stdout);
    memset(token, 0, sizeof(token));
    fprintf(stderr,
            "riposte: token %s (role %s) created. It is shown only this once: keep it now.\n",
            t->name, auth_role_name(role));
    return CLI_EXIT_OK;
}

static void print_created(const json_t *v)
{
    if (json_is_integer(v)) {
        char ts[TIME_RFC3339_LEN];
        time_format_rfc3339((int64_t)json_integer_value(v), ts);
        printf("%s\n", ts);
    } else if (json_is_string(v)) {
        printf("%s\n", json_string_value(v));
    } else {
        printf("-\n");
    }
}

static int token_list(const struct token_args *t)
{
    if (t->positional != NULL || t->name != NULL || t->role != NULL) {
        cli_errorf("token list: unexpected argument (usage: token list [--json])");
        return CLI_EXIT_USAGE;
    }
    struct store *s = open_store(t);
    if (s == NULL)
        return CLI_EXIT_USAGE;
    json_t *list = NULL;
    if (store_token_list_json(s, &list) != RP_OK) {
        cli_errorf("token list: %s", store_errmsg(s));
        store_close(s);
        return CLI_EXIT_USAGE;
    }
    store_close(s);
    if (t->json) {
        json_dumpf(list, stdout, JSON_INDENT(2));
        printf("\n");
    } else if (json_array_size(list) == 0) {
        fprintf(stderr, "riposte: no API tokens (the API is open on loopback only)\n");
    } else {
        printf("%-32s %-10s %s\n", "NAME", "ROLE", "CREATED");
        size_t i;
        json_t *e;
        json_array_foreach(list, i, e)
        {
            const char *name = json_string_value(json_object_get(e, "name"));
            const char *role = json_string_value(json_object_get(e, "role"));
            printf("%-32s %-10s ", name ? name : "?", role ? role : "?");
            print_created(json_object_get(e, "created"));
        }
    }
    json_decref(list);
    return CLI_EXIT_OK;
}

static int token_revoke(const struct token_args *t)
{
    const char *name = t->positional != NULL ? t->positional : t->name;
    if (name == NULL || (t->positional != NULL && t->name != NULL) || t->role != NULL || t->json) {
        cli_errorf("token revoke: usage: token revoke NAME");
        return CLI_EXIT_USAGE;
    }
    struct store *s = open_store(t);
    if (s == NULL)
        return CLI_EXIT_USAGE;
    rp_status st = store_token_revoke(s, name);
    int rc = CLI_EXIT_OK;
    if (st == RP_E_NOTFOUND) {
        cli_errorf("token revoke: no token named %s", name);
        rc = CLI_EXIT_FAIL;
    } else if (st != RP_OK) {
        cli_errorf("token revoke: %s", store_errmsg(s));
        rc = CLI_EXIT_USAGE;
    } else {
        fprintf(stderr, "riposte: token %s revoked\n", name);
    }
    store_close(s);
    return rc;
}

int cli_token(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        cli_help_print(argc < 2 ? stderr : stdout, "token");
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    const char *action = argv[1];
    int (*run)(const struct token_args *) = NULL;
    if (strcmp(action, "create") == 0)
        run = token_create;
    else if (strcmp(action, "list") == 0)
        run = token_list;
    else if (strcmp(action, "revoke") == 0)
        run = token_revoke;
    if (run != NULL) {
        struct token_args t;
        int p = parse_args(action, argc, argv, 2, &t);
        if (p != 0)
            return p > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
        return run(&t);
    }
    cli_errorf("token: unknown action %s (create, list or revoke)", action);
    return CLI_EXIT_USAGE;
}

/*
 * serve.c: `riposte serve [--config FILE] [--listen HOST:PORT] [--db PATH]
 *                         [--log-level L] [--threads N]`
 *
 * Resolves the settings (flags over RIPOSTE_DB over the configuration file over
 * the defaults), starts the API server (api/server.h) and runs its loop in this,
 * the main, thread until SIGTERM or SIGINT. Exit codes as in cli/cli.h: 0 after
 * a clean stop, 2 when the daemon cannot start (bad flag or address, a
 * non-loopback address without API tokens, store or socket failure), 1 when it
 * fails while running.
 */
#include "cli/cli.h"

#include "connect/connector.h"
#include "connect/secrets.h"

#include "api/server.h"
#include "core/limits.h"
#include "core/log.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SERVE_LISTEN_DEFAULT "127.0.0.1:8080"

int cli_serve(int argc, char **argv)
{
    const char *config_path = NULL, *listen = NULL, *db = NULL, *level = NULL, *threads_s = NULL;
    const char *playbooks = NULL, *prompt_key = NULL, *public_url = NULL, *policy = NULL;
    struct {
        const char *name;
        const char **dst;
    } flags[] = {
        {"--config", &config_path},    {"--listen", &listen},         {"--db", &db},
        {"--log-level", &level},       {"--threads", &threads_s},     {"--playbooks", &playbooks},
        {"--prompt-key", &prompt_key}, {"--public-url", &public_url}, {"--policy", &policy},
    };
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            cli_help_print(stdout, "serve");
            return CLI_EXIT_OK;
        }
        int m = 0;
        for (size_t f = 0; f < sizeof(flags) / sizeof(flags[0]) && m == 0; f++)
            m = cli_flag_value(argc, argv, &i, flags[f].name, flags[f].dst);
        if (m < 0) {
            cli_errorf("serve: %s needs a value", argv[i]);
            return CLI_EXIT_USAGE;
        }
        if (m == 0) {
            cli_errorf("serve: unknown argument %s (see riposte help serve)", argv[i]);
            return CLI_EXIT_USAGE;
        }
    }

    int rc = CLI_EXIT_USAGE;
    struct config cfg;
    config_init(&cfg);
    struct server *srv = NULL;
    struct secrets *secrets = NULL;
    struct connectors *conns = NULL;
    if (!cli_config_load(&cfg, config_path))
        goto out;
    enum log_level lv = cfg.log_level;
    if (level != NULL && log_level_parse(level, &lv) != RP_OK) {
        cli_errorf("serve: --log-level must be debug, info, warn, error or off");
        goto out;
    }
    log_set_level(lv);
    unsigned threads = 0;
    if (threads_s != NULL) {
        char *end = NULL;
        unsigned long t = strtoul(threads_s, &end, 10);
        if (end == threads_s || *end != '\0' || t < 1 || t > RP_HTTP_THREADS_MAX) {
            cli_errorf("serve: --threads must be 1-%d", RP_HTTP_THREADS_MAX);
            goto out;
        }
        threads = (unsigned)t;
    }
    /* --db, then $RIPOSTE_DB, then the file's db:, then the default */
    const char *db_path = db;
    if (db_path == NULL && getenv("RIPOSTE_DB") == NULL && cfg.db_path != NULL)
        db_path = cfg.db_path;
    db_path = store_default_path(db_path);
    if (listen == NULL)
        listen = cfg.listen != NULL ? cfg.listen : SERVE_LISTEN_DEFAULT;

    if (!cli_connectors_load(&cfg, db_path, &secrets, &conns))
        goto out;
    struct server_opts o = {
        .config = &cfg,
        .db_path = db_path,
        .listen = listen,
        .threads = threads,
        .playbooks_dir = playbooks != NULL ? playbooks : cfg.playbooks_dir,
        .prompt_key_path = prompt_key != NULL ? prompt_key : cfg.prompt_key,
        .public_url = public_url != NULL ? public_url : cfg.public_url,
        .connectors = conns,
        .policy_path = policy != NULL ? policy : cfg.policy_path,
        .prompt_mail = cfg.prompt_mail,
    };
    struct rp_error err = {{0}};
    if (server_new(&o, &srv, &err) != RP_OK) {
        cli_errorf("serve: %s", err.msg);
        goto out;
    }
    if (server_run(srv, &err) != RP_OK) {
        cli_errorf("serve: %s", err.msg);
        rc = CLI_EXIT_FAIL;
        goto out;
    }
    rc = CLI_EXIT_OK;
out:
    server_free(srv);
    connectors_free(conns);
    secrets_close(secrets);
    config_fini(&cfg);
    return rc;
}

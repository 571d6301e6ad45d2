/*
 * main.c: the riposte binary's entry point: global flags and the dispatch to
 * one subcommand. Main thread.
 */
#include "cli/cli.h"
#include "config.h"
#include "core/jsonmem.h"

#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cli_errorf(const char *fmt, ...)
{
    va_list ap;
    fputs("riposte: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

/* Matches argv[*i] against "--name VALUE" or "--name=VALUE"; see cli.h. */
int cli_flag_value(int argc, char **argv, int *i, const char *name, const char **v)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0)
        return 0;
    if (a[n] == '=') {
        *v = a + n + 1;
        return 1;
    }
    if (a[n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *v = argv[++*i];
    return 1;
}

bool cli_config_load(struct config *c, const char *path)
{
    config_init(c);
    if (path == NULL || path[0] == '\0')
        path = getenv("RIPOSTE_CONFIG");
    if (path == NULL || path[0] == '\0')
        return true;
    struct rp_error err;
    if (config_load(c, path, &err) != RP_OK) {
        cli_errorf("%s", err.msg);
        return false;
    }
    log_set_level(c->log_level);
    return true;
}

static const struct {
    const char *name;
    int (*fn)(int, char **);
} COMMANDS[] = {
    {"ingest", cli_ingest},     {"case", cli_case},     {"serve", cli_serve},
    {"token", cli_token},       {"help", cli_help},     {"parse", cli_parse},
    {"extract", cli_extract},   {"cacao", cli_cacao},   {"run", cli_run},
    {"plan", cli_plan},         {"check", cli_check},   {"run-list", cli_run_list},
    {"run-show", cli_run_show}, {"prompt", cli_prompt}, {"lab", cli_lab},
    {"secret", cli_secret},     {"guard", cli_guard},   {"approve", cli_approve},
    {"deny", cli_deny},         {"report", cli_report}, {"audit", cli_audit},
    {"demo", cli_demo},
};

int main(int argc, char **argv)
{
    /* Ingest frees many small JSON nodes and then allocates buffers of a few
     * KB; with glibc's fastbins each such allocation first consolidates every
     * freed node, which cost a tenth of ingest time. Without fastbins small
     * blocks still go through the per-thread cache. */
    mallopt(M_MXFAST, 0);
    /* An alert is about 80 small JSON allocations; a per-thread cache in front
     * of malloc() takes them back (src/core/jsonmem.h). */
    jsonmem_install();
    /* A peer that closes a socket must give an error, not kill the process. */
    signal(SIGPIPE, SIG_IGN);
    /* libuv's pool runs blocking connector calls (LDAP, SMTP, IMAP, DNS):
     * its default of 4 threads would let four slow directories stall every
     * other such call. The environment still wins. */
    setenv("UV_THREADPOOL_SIZE", "16", 0);
    if (argc < 2) {
        cli_help_print(stderr, NULL);
        return CLI_EXIT_USAGE;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
        printf("riposte %s\n", RIPOSTE_VERSION);
        return CLI_EXIT_OK;
    }
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        cli_help_print(stdout, NULL);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(COMMANDS) / sizeof(COMMANDS[0]); i++) {
        if (strcmp(cmd, COMMANDS[i].name) == 0)
            return COMMANDS[i].fn(argc - 1, argv + 1);
    }
    cli_errorf("unknown command '%s' (see: riposte help)", cmd);
    return CLI_EXIT_USAGE;
}

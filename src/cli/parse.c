/*
 * parse.c: `riposte parse [--format F] FILE...|-`: the normalized alerts of any
 * input format as NDJSON on stdout, stored nowhere. Rejected records go to
 * stderr with their record number, line and reason; ignored ones (no security
 * event) are counted. For trying a source's output before pointing it at
 * Riposte, and for tests. Main thread.
 */
#include "cli/cli.h"

#include "core/limits.h"

#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

struct parse_ctx {
    size_t alerts, rejected, ignored;
    const char *file;
    bool show_ignored;
};

static void print_record(void *arg, uint64_t number, uint64_t line, json_t *alert, bool ignored,
                         const char *reason)
{
    struct parse_ctx *pc = arg;
    if (alert != NULL) {
        char *s = json_dumps(alert, JSON_COMPACT);
        if (s != NULL) {
            puts(s);
            free(s);
        }
        pc->alerts++;
    } else if (ignored) {
        pc->ignored++;
        if (pc->show_ignored)
            fprintf(stderr, "riposte: %s: record %llu (line %llu): ignored: %s\n", pc->file,
                    (unsigned long long)number, (unsigned long long)line, reason);
    } else {
        pc->rejected++;
        fprintf(stderr, "riposte: %s: record %llu (line %llu): %s\n", pc->file,
                (unsigned long long)number, (unsigned long long)line, reason);
    }
}

static rp_status print_batch(void *arg, struct ingest_batch *b, const char *name)
{
    struct parse_ctx *pc = arg;
    pc->file = name;
    ingest_batch_each(b, print_record, pc);
    return RP_OK;
}

int cli_parse(int argc, char **argv)
{
    static const struct option opts[] = {
        {"format", required_argument, NULL, 'f'}, {"source", required_argument, NULL, 's'},
        {"config", required_argument, NULL, 'c'}, {"show-ignored", no_argument, NULL, 'i'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    struct ingest_format_spec format = {FORMAT_AUTO, NULL};
    const char *source = "cli", *config_path = NULL;
    struct parse_ctx pc = {0, 0, 0, NULL, false};
    struct rp_error err;
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'f':
            if (ingest_format_from_name(optarg, &format, &err) != RP_OK) {
                cli_errorf("parse: %s", err.msg);
                return CLI_EXIT_USAGE;
            }
            break;
        case 's':
            source = optarg;
            break;
        case 'c':
            config_path = optarg;
            break;
        case 'i':
            pc.show_ignored = true;
            break;
        case 'h':
            cli_help_print(stdout, "parse");
            return CLI_EXIT_OK;
        default:
            cli_help_print(stderr, "parse");
            return CLI_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        cli_errorf("parse: no input (give FILE... or - for stdin)");
        return CLI_EXIT_USAGE;
    }
    struct config cfg;
    if (!cli_config_load(&cfg, config_path)) {
        config_fini(&cfg);
        return CLI_EXIT_USAGE;
    }
    int rc = CLI_EXIT_OK;
    for (int i = optind; i < argc && rc == CLI_EXIT_OK; i++) {
        bool is_stdin = strcmp(argv[i], "-") == 0;
        FILE *f = is_stdin ? stdin : fopen(argv[i], "rb");
        if (f == NULL) {
            cli_errorf("parse: %s: %s", argv[i], strerror(errno));
            rc = CLI_EXIT_USAGE;
            break;
        }
        const char *name = is_stdin ? "<stdin>" : argv[i];
        struct ingest_opts io = {&cfg, "cli", name, source, 0, format};
        if (cli_stream(f, name, &io, print_batch, &pc) != RP_OK)
            rc = CLI_EXIT_USAGE;
        if (!is_stdin)
            fclose(f);
    }
    config_fini(&cfg);
    fflush(stdout);
    fprintf(stderr, "riposte: parse: %zu alerts, %zu rejected, %zu ignored\n", pc.alerts,
            pc.rejected, pc.ignored);
    if (rc == CLI_EXIT_OK && pc.rejected > 0)
        rc = CLI_EXIT_REJECTED;
    return rc;
}

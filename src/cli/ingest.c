/*
 * ingest.c: `riposte ingest`: files or stdin into the store, streamed
 * (cli/stream.c). Records are committed in groups of RP_COMMIT_GROUP_MAX (one
 * transaction each), so memory stays at one read chunk plus one group however
 * large the input, and a failure part-way keeps every group already committed.
 * Main thread.
 */
#include "cli/cli.h"

#include "core/limits.h"
#include "ingest/pipeline.h"
#include "ingest/reader.h"
#include "store/store.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct totals {
    struct ingest_counts c;
};

struct reject_ctx {
    const char *file;
};

static void print_reject(void *arg, uint64_t number, uint64_t line, const char *reason)
{
    struct reject_ctx *rc = arg;
    fprintf(stderr, "riposte: %s: record %llu (line %llu): %s\n", rc->file,
            (unsigned long long)number, (unsigned long long)line, reason);
}

static void add_counts(struct totals *t, const struct ingest_counts *c)
{
    t->c.accepted += c->accepted;
    t->c.rejected += c->rejected;
    t->c.ignored += c->ignored;
    t->c.duplicates += c->duplicates;
    t->c.cases_created += c->cases_created;
    t->c.cases_updated += c->cases_updated;
}

struct ingest_ctx {
    struct store *store;
    const struct config *cfg;
    struct totals *t;
};

/* cli_stream's callback: commit one group, report its rejects, count it. */
static rp_status commit_batch(void *arg, struct ingest_batch *b, const char *file)
{
    struct ingest_ctx *ic = arg;
    struct rp_error err;
    rp_status st = ingest_commit(ic->store, ic->cfg, &b, 1, &err);
    if (st != RP_OK) {
        cli_errorf("%s: %s", file, err.msg);
        return st;
    }
    struct reject_ctx rc = {file};
    ingest_batch_each_reject(b, print_reject, &rc);
    add_counts(ic->t, ingest_batch_counts(b));
    return RP_OK;
}

int cli_ingest(int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},     {"config", required_argument, NULL, 'c'},
        {"source", required_argument, NULL, 's'}, {"format", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *db = NULL, *config_path = NULL, *source = "cli";
    struct ingest_format_spec format = {FORMAT_AUTO, NULL};
    struct rp_error ferr;
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'd':
            db = optarg;
            break;
        case 'c':
            config_path = optarg;
            break;
        case 's':
            source = optarg;
            break;
        case 'f':
            if (ingest_format_from_name(optarg, &format, &ferr) != RP_OK) {
                cli_errorf("ingest: %s", ferr.msg);
                return CLI_EXIT_USAGE;
            }
            break;
        case 'h':
            cli_help_print(stdout, "ingest");
            return CLI_EXIT_OK;
        default:
            cli_help_print(stderr, "ingest");
            return CLI_EXIT_USAGE;
        }
    }
    if (optind >= argc) {
        cli_errorf("ingest: no input (give FILE... or - for stdin)");
        cli_help_print(stderr, "ingest");
        return CLI_EXIT_USAGE;
    }
    if (source[0] == '\0' || strlen(source) > RP_NAME_MAX_BYTES) {
        cli_errorf("ingest: --source must be 1-%u characters", RP_NAME_MAX_BYTES);
        return CLI_EXIT_USAGE;
    }

    /* open every input first: a missing file stores nothing */
    int nfiles = argc - optind;
    FILE **files = calloc((size_t)nfiles, sizeof(*files));
    if (files == NULL)
        return CLI_EXIT_USAGE;
    int rc = CLI_EXIT_OK;
    for (int i = 0; i < nfiles; i++) {
        const char *path = argv[optind + i];
        files[i] = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
        if (files[i] == NULL) {
            cli_errorf("ingest: %s: %s", path, strerror(errno));
            rc = CLI_EXIT_USAGE;
        }
    }
    struct config cfg;
    struct store *s = NULL;
    config_init(&cfg);
    if (rc == CLI_EXIT_OK && !cli_config_load(&cfg, config_path))
        rc = CLI_EXIT_USAGE;
    if (rc == CLI_EXIT_OK) {
        struct rp_error err;
        const char *path = store_default_path(db ? db : cfg.db_path);
        if (store_open(path, &s, &err) != RP_OK) {
            cli_errorf("%s", err.msg);
            rc = CLI_EXIT_USAGE;
        }
    }
    struct totals t;
    memset(&t, 0, sizeof(t));
    for (int i = 0; rc == CLI_EXIT_OK && i < nfiles; i++) {
        const char *name = strcmp(argv[optind + i], "-") == 0 ? "<stdin>" : argv[optind + i];
        struct ingest_opts io = {&cfg, "cli", name, source, 0, format};
        struct ingest_ctx ic = {s, &cfg, &t};
        if (cli_stream(files[i], name, &io, commit_batch, &ic) != RP_OK)
            rc = CLI_EXIT_USAGE;
    }
    for (int i = 0; i < nfiles; i++)
        if (files[i] != NULL && files[i] != stdin)
            fclose(files[i]);
    free(files);
    store_close(s);
    config_fini(&cfg);
    if (s != NULL || rc == CLI_EXIT_OK) {
        printf("{\"accepted\":%zu,\"rejected\":%zu,\"cases_created\":%zu,\"cases_updated\":%zu,"
               "\"duplicates\":%zu,\"ignored\":%zu}\n",
               t.c.accepted, t.c.rejected, t.c.cases_created, t.c.cases_updated, t.c.duplicates,
               t.c.ignored);
    }
    if (rc == CLI_EXIT_OK && t.c.rejected > 0)
        rc = CLI_EXIT_REJECTED;
    return rc;
}

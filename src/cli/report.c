/*
 * report.c: `riposte report [--since 30d | --from DATE --to DATE]
 * [--format html|json|csv] [--out FILE]`: the KPIs of a period (kpi/kpi.h)
 * rendered by kpi/report.h, to stdout or to a file. The `kpi:` section of
 * the configuration sets the minutes each action saves and the SLA targets.
 *
 * Main thread; reads the store only. A file given with --out is written to a
 * temporary name beside it and renamed, so that a reader never sees half a
 * report.
 */
#include "cli/cli.h"

#include "core/buf.h"
#include "core/limits.h"
#include "core/time.h"
#include "kpi/kpi.h"
#include "kpi/report.h"
#include "store/store.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct report_args {
    const char *db, *config, *since, *from, *to, *format, *out;
};

static int parse(int argc, char **argv, struct report_args *a)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'd'},
        {"config", required_argument, NULL, 'c'},
        {"since", required_argument, NULL, 's'},
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"format", required_argument, NULL, 'F'},
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    a->format = "html";
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (o) {
        case 'd':
            a->db = optarg;
            break;
        case 'c':
            a->config = optarg;
            break;
        case 's':
            a->since = optarg;
            break;
        case 'f':
            a->from = optarg;
            break;
        case 't':
            a->to = optarg;
            break;
        case 'F':
            a->format = optarg;
            break;
        case 'o':
            a->out = optarg;
            break;
        case 'h':
            cli_help_print(stdout, "report");
            return -1;
        default:
            cli_help_print(stderr, "report");
            return CLI_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        cli_errorf("report: unexpected argument '%s'", argv[optind]);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

/* Writes data to path through a temporary file and a rename. */
static bool write_file(const char *path, const char *data, size_t len)
{
    char tmp[4096];
    if (!rp_fmt(tmp, sizeof tmp, "%s.tmp", path)) {
        cli_errorf("report: --out %s: path too long", path);
        return false;
    }
    FILE *f = fopen(tmp, "wb");
    if (f == NULL) {
        cli_errorf("report: %s: %s", tmp, strerror(errno));
        return false;
    }
    bool ok = fwrite(data, 1, len, f) == len;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        cli_errorf("report: cannot write %s: %s", path, strerror(errno));
        remove(tmp);
        return false;
    }
    return true;
}

int cli_report(int argc, char **argv)
{
    struct report_args a;
    int rc = parse(argc, argv, &a);
    if (rc != CLI_EXIT_OK)
        return rc < 0 ? CLI_EXIT_OK : rc;
    enum report_format fmt;
    if (report_format_parse(a.format, &fmt) != RP_OK) {
        cli_errorf("report: --format must be html, json or csv, not '%s'", a.format);
        return CLI_EXIT_USAGE;
    }
    struct rp_error err;
    int64_t now = time_now_ms(), from = 0, to = 0;
    if (kpi_period_parse(a.since, a.from, a.to, now, &from, &to, &err) != RP_OK) {
        cli_errorf("report: %s", err.msg);
        return CLI_EXIT_USAGE;
    }
    struct config cfg;
    struct kpi_options ko;
    kpi_options_init(&ko);
    struct store *s = NULL;
    json_t *k = NULL;
    struct buf out;
    buf_init(&out, RP_KPI_REPORT_MAX);
    rc = CLI_EXIT_USAGE;
    if (!cli_config_load(&cfg, a.config))
        goto done;
    if (kpi_options_from_json(&ko, cfg.kpi, &err) != RP_OK) {
        cli_errorf("%s: %s", a.config ? a.config : "configuration", err.msg);
        goto done;
    }
    if (store_open(store_default_path(a.db ? a.db : cfg.db_path), &s, &err) != RP_OK) {
        cli_errorf("%s", err.msg);
        goto done;
    }
    rc = CLI_EXIT_FAIL;
    if (kpi_compute(s, &ko, from, to, now, &k, &err) != RP_OK) {
        cli_errorf("report: %s", err.msg);
        goto done;
    }
    if (report_render(k, fmt, &out) != RP_OK) {
        cli_errorf("report: the report does not fit in %u bytes", RP_KPI_REPORT_MAX);
        goto done;
    }
    if (a.out != NULL && strcmp(a.out, "-") != 0) {
        if (!write_file(a.out, out.data, out.len))
            goto done;
    } else if (fwrite(out.data, 1, out.len, stdout) != out.len || fflush(stdout) != 0) {
        cli_errorf("report: cannot write to stdout");
        rc = CLI_EXIT_USAGE;
        goto done;
    }
    rc = CLI_EXIT_OK;
done:
    buf_fini(&out);
    json_decref(k);
    store_close(s);
    kpi_options_fini(&ko);
    config_fini(&cfg);
    return rc;
}

/*
 * cacao.c: `riposte cacao import FILE` and `riposte cacao export PLAYBOOK`:
 * OASIS CACAO 2.0 playbooks (JSON) to and from Riposte's YAML (docs/cacao.md).
 *
 * Import prints the YAML only once the playbook loader has accepted it (with
 * PB_LOAD_ANY_ACTION: the `cacao.*` actions are for connectors to come), so
 * what it prints always loads. Export loads the YAML the same way and prints
 * CACAO JSON. Both read the whole input (bounded by the limits of
 * core/limits.h) and write stdout or --out. Main thread.
 */
#include "cli/cli.h"

#include "core/limits.h"
#include "playbook/cacao.h"
#include "playbook/playbook.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads all of path ("-": stdin) up to max bytes into *out (NUL-terminated). */
static bool read_all(const char *path, size_t max, char **out, size_t *len)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    *out = NULL;
    if (f == NULL) {
        cli_errorf("cacao: %s: %s", path, strerror(errno));
        return false;
    }
    size_t cap = 64 * 1024, n = 0;
    char *buf = malloc(cap + 1);
    bool ok = buf != NULL;
    while (ok) {
        if (n == cap) {
            if (cap > max) {
                cli_errorf("cacao: %s: larger than %zu bytes", path, max);
                ok = false;
                break;
            }
            char *grow = realloc(buf, cap * 2 + 1);
            if (grow == NULL) {
                ok = false;
                break;
            }
            buf = grow;
            cap *= 2;
        }
        size_t k = fread(buf + n, 1, cap - n, f);
        n += k;
        if (k == 0) {
            if (ferror(f)) {
                cli_errorf("cacao: %s: %s", path, strerror(errno));
                ok = false;
            }
            break;
        }
    }
    if (ok && n > max) {
        cli_errorf("cacao: %s: larger than %zu bytes", path, max);
        ok = false;
    }
    if (f != stdin)
        fclose(f);
    if (!ok) {
        free(buf);
        return false;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return true;
}

static int write_out(const char *out_path, const char *text, size_t len)
{
    FILE *f = out_path ? fopen(out_path, "wb") : stdout;
    if (f == NULL) {
        cli_errorf("cacao: %s: %s", out_path, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    bool ok = fwrite(text, 1, len, f) == len;
    if (f != stdout)
        ok = fclose(f) == 0 && ok;
    else
        ok = fflush(f) == 0 && ok;
    if (!ok) {
        cli_errorf("cacao: %s: write failed", out_path ? out_path : "stdout");
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

static int cacao_import_cmd(const char *path, const char *out_path)
{
    char *json = NULL, *yaml = NULL;
    size_t len = 0, ylen = 0;
    struct rp_error err;
    struct playbook *pb = NULL;
    int rc = CLI_EXIT_FAIL;
    if (!read_all(path, RP_CACAO_MAX_BYTES, &json, &len))
        return CLI_EXIT_USAGE;
    if (cacao_import(json, len, &yaml, &ylen, &err) != RP_OK) {
        cli_errorf("cacao import: %s: refused: %s", path, err.msg);
        goto out;
    }
    if (playbook_load_string_flags(path, yaml, ylen, PB_LOAD_ANY_ACTION, &pb, &err) != RP_OK) {
        cli_errorf("cacao import: %s: refused: the playbook made from it does not load: %s", path,
                   err.msg);
        goto out;
    }
    rc = write_out(out_path, yaml, ylen);
out:
    playbook_free(pb);
    free(yaml);
    free(json);
    return rc;
}

static int cacao_export_cmd(const char *path, const char *out_path)
{
    char *yaml = NULL, *text = NULL;
    size_t len = 0;
    struct rp_error err;
    struct playbook *pb = NULL;
    json_t *doc = NULL;
    int rc = CLI_EXIT_FAIL;
    if (!read_all(path, RP_PLAYBOOK_MAX_BYTES, &yaml, &len))
        return CLI_EXIT_USAGE;
    if (playbook_load_string_flags(path, yaml, len, PB_LOAD_ANY_ACTION, &pb, &err) != RP_OK) {
        cli_errorf("cacao export: %s", err.msg);
        goto out;
    }
    if (cacao_export(pb, &doc, &err) != RP_OK) {
        cli_errorf("cacao export: %s: %s", path, err.msg);
        goto out;
    }
    text = json_dumps(doc, JSON_INDENT(2));
    if (text == NULL) {
        cli_errorf("cacao export: %s: out of memory", path);
        goto out;
    }
    size_t n = strlen(text);
    char *nl = realloc(text, n + 2);
    if (nl == NULL) {
        cli_errorf("cacao export: %s: out of memory", path);
        goto out;
    }
    text = nl;
    memcpy(text + n, "\n", 2);
    rc = write_out(out_path, text, n + 1);
out:
    free(text);
    json_decref(doc);
    playbook_free(pb);
    free(yaml);
    return rc;
}

int cli_cacao(int argc, char **argv)
{
    static const struct option opts[] = {
        {"out", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *out_path = NULL;
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "o:", opts, NULL)) != -1) {
        switch (o) {
        case 'o':
            out_path = optarg;
            break;
        case 'h':
            cli_help_print(stdout, "cacao");
            return CLI_EXIT_OK;
        default:
            cli_help_print(stderr, "cacao");
            return CLI_EXIT_USAGE;
        }
    }
    if (argc - optind != 2) {
        cli_help_print(stderr, "cacao");
        return CLI_EXIT_USAGE;
    }
    const char *verb = argv[optind], *path = argv[optind + 1];
    if (strcmp(verb, "import") == 0)
        return cacao_import_cmd(path, out_path);
    if (strcmp(verb, "export") == 0)
        return cacao_export_cmd(path, out_path);
    cli_errorf("cacao: unknown subcommand \"%s\" (import or export)", verb);
    cli_help_print(stderr, "cacao");
    return CLI_EXIT_USAGE;
}

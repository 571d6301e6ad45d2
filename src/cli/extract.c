/*
 * extract.c: `riposte extract FILE|-`: the indicators of compromise in a text
 * (intel/extract.h) as NDJSON on stdout, one {"type":...,"value":...} line per
 * distinct indicator in order of first appearance. Reads the whole input (at
 * most RP_IOC_INPUT_MAX bytes, a clear error beyond) because an indicator may
 * sit anywhere, then scans it once. Main thread.
 *
 * Exit: 0 done; 1 more than RP_IOC_MAX indicators (the first ones are
 * printed) or out of memory; 2 usage, input or output error, or no public
 * suffix list.
 */
#include "cli/cli.h"

#include "core/buf.h"
#include "core/limits.h"
#include "intel/extract.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

static const char USAGE[] =
    "usage: riposte extract FILE|-\n"
    "\n"
    "Prints each indicator of compromise found in the text of FILE (- for stdin)\n"
    "as one JSON line {\"type\":...,\"value\":...}, once, in order of first\n"
    "appearance. Types: ipv4, ipv6, domain, url, email, md5, sha1, sha256, sha512,\n"
    "cve. Defanged indicators (hxxp://, [.], (.), [dot], [@], [at], [:], [://])\n"
    "are refanged; values are canonical (lower case, IPv6 compressed, CVE ids upper\n"
    "case). A domain needs a top-level domain of the public suffix list; version\n"
    "numbers, file names (invoice.pdf, setup.py) and hex runs that are not a whole\n"
    "hash are not reported. A URL's host and an address's domain are reported too.\n"
    "\n"
    "Input: at most 64 MiB. Output: at most 10000 indicators.\n"
    "exit: 0 done; 1 more than 10000 indicators (the first are printed);\n"
    "      2 usage, I/O error or input too large.\n";

struct extract_ctx {
    size_t printed;
    bool failed; /* an indicator could not be encoded (out of memory) */
};

static int print_ioc(void *arg, enum ioc_type type, const char *value, size_t len, size_t offset)
{
    struct extract_ctx *x = arg;
    (void)offset;
    json_t *o = json_object();
    json_t *v = json_stringn(value, len);
    char *s = NULL;
    if (o != NULL && v != NULL &&
        json_object_set_new(o, "type", json_string(ioc_type_name(type))) == 0 &&
        json_object_set(o, "value", v) == 0)
        s = json_dumps(o, JSON_COMPACT);
    json_decref(v);
    json_decref(o);
    if (s == NULL) {
        x->failed = true;
        return 1;
    }
    fputs(s, stdout);
    fputc('\n', stdout);
    free(s);
    x->printed++;
    return 0;
}

/* Reads all of f into b (whose maximum is RP_IOC_INPUT_MAX). */
static rp_status read_all(FILE *f, struct buf *b)
{
    char chunk[65536];
    size_t r;
    while ((r = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        rp_status st = buf_append(b, chunk, r);
        if (st != RP_OK)
            return st;
    }
    return ferror(f) ? RP_E_IO : RP_OK;
}

int cli_extract(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            fputs(USAGE, stdout);
            return CLI_EXIT_OK;
        }
        if (argv[i][0] == '-' && argv[i][1] != '\0' && strcmp(argv[i], "--") != 0) {
            cli_errorf("extract: unknown option '%s'", argv[i]);
            fputs(USAGE, stderr);
            return CLI_EXIT_USAGE;
        }
        if (strcmp(argv[i], "--") == 0 && i + 1 < argc && path == NULL) {
            path = argv[++i];
            continue;
        }
        if (path != NULL) {
            cli_errorf("extract: one input only (got '%s' and '%s')", path, argv[i]);
            return CLI_EXIT_USAGE;
        }
        path = argv[i];
    }
    if (path == NULL) {
        fputs(USAGE, stderr);
        return CLI_EXIT_USAGE;
    }

    bool is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "stdin" : path;
    FILE *f = is_stdin ? stdin : fopen(path, "rb");
    if (f == NULL) {
        cli_errorf("extract: %s: %s", path, strerror(errno));
        return CLI_EXIT_USAGE;
    }
    int code = CLI_EXIT_OK;
    struct buf text;
    buf_init(&text, RP_IOC_INPUT_MAX);
    errno = 0;
    rp_status st = read_all(f, &text);
    int read_errno = errno;
    if (!is_stdin)
        fclose(f);
    if (st == RP_E_LIMIT) {
        cli_errorf("extract: %s: input larger than %u MiB (the most extract reads)", name,
                   RP_IOC_INPUT_MAX / (1024u * 1024u));
        code = CLI_EXIT_USAGE;
        goto out;
    }
    if (st != RP_OK) {
        cli_errorf("extract: %s: %s", name,
                   st == RP_E_IO && read_errno != 0 ? strerror(read_errno) : rp_status_str(st));
        code = st == RP_E_IO ? CLI_EXIT_USAGE : CLI_EXIT_FAIL;
        goto out;
    }

    struct extract_ctx x = {0, false};
    st = extract_iocs(text.data, text.len, print_ioc, &x);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        cli_errorf("extract: writing the output: %s", strerror(errno));
        code = CLI_EXIT_USAGE;
    } else if (x.failed) {
        cli_errorf("extract: %s: out of memory encoding an indicator", name);
        code = CLI_EXIT_FAIL;
    } else if (st == RP_E_LIMIT) {
        cli_errorf("extract: %s: more indicators than the limit; the first %zu were printed", name,
                   x.printed);
        code = CLI_EXIT_FAIL;
    } else if (st == RP_E_IO) {
        cli_errorf("extract: no public suffix list (install the publicsuffix package)");
        code = CLI_EXIT_USAGE;
    } else if (st != RP_OK) {
        cli_errorf("extract: %s: %s", name, rp_status_str(st));
        code = CLI_EXIT_FAIL;
    }
out:
    buf_fini(&text);
    return code;
}

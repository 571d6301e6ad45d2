/*
 * secret.c: `riposte secret set NAME`, `riposte secret list [--json]`,
 * `riposte secret rm NAME`, each with [--db PATH] [--key-file FILE]
 * [--config FILE] (connect/secrets.h).
 *
 * set reads the value from stdin, never from the command line (argv is
 * visible to every user through /proc): from a terminal it asks with echo
 * off and takes one line; from a pipe or a file it takes everything up to end
 * of input. One trailing newline is dropped; an empty value, a NUL byte or
 * more than RP_SECRET_VALUE_MAX bytes is refused. The value is read into
 * locked memory and wiped after use. Nothing here prints a value.
 *
 * The database is found as for serve: --db, then $RIPOSTE_DB, then the
 * configuration's db:, then the default; the key from $RIPOSTE_SECRET_KEY,
 * else --key-file, else the configuration's secrets.key_file, else
 * DB.secret-key (set creates that file, mode 0600, when no key exists yet).
 * Main thread. Exit codes as in cli/cli.h: 0 done, 1 refused (no such secret,
 * wrong key, key file others can read), 2 usage, I/O or store failure.
 */
#include "cli/cli.h"

#include "connect/secrets.h"
#include "core/limits.h"
#include "store/store.h"

#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

/* Printed when help.c has no entry for secret yet. */
static const char USAGE[] =
    "usage: riposte secret set NAME [--db PATH] [--key-file FILE] [--config FILE]\n"
    "       riposte secret list [--json] [--db PATH] [--key-file FILE] [--config FILE]\n"
    "       riposte secret rm NAME [--db PATH] [--key-file FILE] [--config FILE]\n";

struct secret_args {
    const char *db;
    const char *key_file;
    const char *config;
    const char *positional;
    bool json;
};

static void usage(FILE *f)
{
    if (!cli_help_print(f, "secret"))
        fputs(USAGE, f);
}

/* Parses the arguments after the action: 0 parsed, 1 help was asked (and
 * printed), -1 a mistake (message printed). */
static int parse_args(const char *action, int argc, char **argv, struct secret_args *a)
{
    memset(a, 0, sizeof *a);
    for (int i = 2; i < argc; i++) {
        struct {
            const char *name;
            const char **dst;
        } flags[] = {{"--db", &a->db}, {"--key-file", &a->key_file}, {"--config", &a->config}};
        int m = 0;
        for (size_t f = 0; f < sizeof flags / sizeof flags[0] && m == 0; f++)
            m = cli_flag_value(argc, argv, &i, flags[f].name, flags[f].dst);
        if (m < 0) {
            cli_errorf("secret %s: %s needs a value", action, argv[i]);
            return -1;
        }
        if (m > 0)
            continue;
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            usage(stdout);
            return 1;
        } else if (strcmp(argv[i], "--json") == 0) {
            a->json = true;
        } else if (argv[i][0] != '-' && a->positional == NULL) {
            a->positional = argv[i];
        } else {
            cli_errorf("secret %s: unknown argument %s (see riposte help secret)", action, argv[i]);
            return -1;
        }
    }
    return 0;
}

/* Opens the secret store named by the flags, the environment and the
 * configuration; NULL (message printed) on failure, with *denied telling a
 * refusal (wrong key, exposed key file) from other failures. */
static struct secrets *open_secrets(const struct secret_args *a, bool create_key, bool *denied)
{
    struct config cfg;
    struct secrets *s = NULL;
    *denied = false;
    if (!cli_config_load(&cfg, a->config)) {
        config_fini(&cfg);
        return NULL;
    }
    const char *path = a->db;
    if (path == NULL && getenv("RIPOSTE_DB") == NULL && cfg.db_path != NULL)
        path = cfg.db_path;
    path = store_default_path(path);
    const char *key_file = a->key_file != NULL ? a->key_file : cfg.secret_key_file;
    char deflt[4096];
    if (key_file == NULL) {
        int n = snprintf(deflt, sizeof deflt, "%s.secret-key", path);
        if (n < 0 || (size_t)n >= sizeof deflt) {
            cli_errorf("secret: database path too long");
            config_fini(&cfg);
            return NULL;
        }
        key_file = deflt;
    }
    const char *env = getenv("RIPOSTE_SECRET_KEY");
    bool had_key_file = access(key_file, F_OK) == 0;
    struct rp_error err = {{0}};
    rp_status st = secrets_open(path, key_file, create_key, &s, &err);
    if (st != RP_OK) {
        cli_errorf("secret: %s", err.msg);
        *denied = st == RP_E_DENIED;
        s = NULL;
    } else if ((env == NULL || env[0] == '\0') && !had_key_file && access(key_file, F_OK) == 0) {
        fprintf(stderr,
                "riposte: created the key file %s (mode 0600). Back it up apart from the "
                "database: without it the secrets cannot be read.\n",
                key_file);
    }
    config_fini(&cfg);
    return s;
}

/* --- reading the value --------------------------------------------------------------------- */

static struct termios saved_tty;
static volatile sig_atomic_t tty_changed;

/* Puts echo back if the user interrupts while it is off, then dies of the
 * signal as usual. */
static void restore_on_signal(int sig)
{
    if (tty_changed)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* Reads the value into buf (cap bytes of locked memory): one line from a
 * terminal with echo off, else all of stdin. *len excludes one trailing
 * newline. False (message printed) when it is too long or reading failed. */
static bool read_value(const char *name, char *buf, size_t cap, size_t *len)
{
    bool tty = isatty(STDIN_FILENO) != 0;
    bool ok = true;
    size_t n = 0;
    if (tty) {
        if (tcgetattr(STDIN_FILENO, &saved_tty) != 0) {
            cli_errorf("secret set: cannot read the terminal's settings: %s", strerror(errno));
            return false;
        }
        struct termios quiet = saved_tty;
        quiet.c_lflag &= (tcflag_t) ~(ECHO | ECHONL);
        quiet.c_lflag |= ICANON;
        signal(SIGINT, restore_on_signal);
        signal(SIGTERM, restore_on_signal);
        signal(SIGHUP, restore_on_signal);
        signal(SIGQUIT, restore_on_signal);
        fprintf(stderr, "value of secret %s (not shown): ", name);
        fflush(stderr);
        tty_changed = 1;
        if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) != 0) {
            tty_changed = 0;
            cli_errorf("secret set: cannot turn echo off: %s", strerror(errno));
            return false;
        }
    }
    for (;;) {
        if (n == cap) {
            cli_errorf("secret set: the value is longer than %u bytes", RP_SECRET_VALUE_MAX);
            ok = false;
            break;
        }
        ssize_t r = read(STDIN_FILENO, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            cli_errorf("secret set: reading stdin: %s", strerror(errno));
            ok = false;
            break;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (tty && buf[n - 1] == '\n')
            break; /* a terminal gives one line per read in canonical mode */
    }
    if (tty) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
        tty_changed = 0;
        fputc('\n', stderr);
    }
    if (ok && n > 0 && buf[n - 1] == '\n') {
        n--;
        if (n > 0 && buf[n - 1] == '\r')
            n--;
    }
    if (ok && n > RP_SECRET_VALUE_MAX) {
        cli_errorf("secret set: the value is longer than %u bytes", RP_SECRET_VALUE_MAX);
        ok = false;
    }
    *len = n;
    return ok;
}

/* --- actions ------------------------------------------------------------------------------- */

static int secret_set(const struct secret_args *a)
{
    const char *name = a->positional;
    if (name == NULL || a->json) {
        cli_errorf("secret set: usage: secret set NAME (the value is read from stdin)");
        return CLI_EXIT_USAGE;
    }
    if (sodium_init() < 0) {
        cli_errorf("secret set: libsodium failed to initialise");
        return CLI_EXIT_USAGE;
    }
    /* room for the limit, a CR LF, and one byte to see that it was exceeded */
    size_t cap = RP_SECRET_VALUE_MAX + 3;
    char *buf = sodium_malloc(cap);
    if (buf == NULL) {
        cli_errorf("secret set: out of memory");
        return CLI_EXIT_USAGE;
    }
    int rc = CLI_EXIT_USAGE;
    size_t len = 0;
    struct secrets *s = NULL;
    if (!read_value(name, buf, cap, &len))
        goto out;
    if (len == 0) {
        cli_errorf("secret set: the value is empty (nothing was stored)");
        goto out;
    }
    if (memchr(buf, '\0', len) != NULL) {
        cli_errorf("secret set: the value contains a NUL byte (values are text)");
        goto out;
    }
    bool denied = false;
    s = open_secrets(a, true, &denied);
    if (s == NULL) {
        rc = denied ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
        goto out;
    }
    struct rp_error err = {{0}};
    rp_status st = secrets_set(s, name, buf, len, &err);
    if (st != RP_OK) {
        cli_errorf("secret set: %s", err.msg);
        rc = st == RP_E_DENIED ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
        goto out;
    }
    fprintf(stderr, "riposte: secret %s stored (%zu bytes, encrypted)\n", name, len);
    rc = CLI_EXIT_OK;
out:
    secrets_close(s);
    sodium_free(buf); /* wipes the value */
    return rc;
}

static int secret_list(const struct secret_args *a)
{
    if (a->positional != NULL) {
        cli_errorf("secret list: unexpected argument %s (usage: secret list [--json])",
                   a->positional);
        return CLI_EXIT_USAGE;
    }
    bool denied = false;
    struct secrets *s = open_secrets(a, false, &denied);
    if (s == NULL)
        return denied ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
    json_t *list = NULL;
    struct rp_error err = {{0}};
    rp_status st = secrets_list(s, &list, &err);
    secrets_close(s);
    if (st != RP_OK) {
        cli_errorf("secret list: %s", err.msg);
        return CLI_EXIT_USAGE;
    }
    if (a->json) {
        json_dumpf(list, stdout, JSON_INDENT(2));
        printf("\n");
    } else if (json_array_size(list) == 0) {
        fprintf(stderr, "riposte: no secrets\n");
    } else {
        printf("%-*s %s\n", RP_SECRET_NAME_MAX / 2, "NAME", "UPDATED");
        size_t i;
        json_t *e;
        json_array_foreach(list, i, e)
        {
            const char *n = json_string_value(json_object_get(e, "name"));
            const char *u = json_string_value(json_object_get(e, "updated"));
            printf("%-*s %s\n", RP_SECRET_NAME_MAX / 2, n ? n : "?", u ? u : "-");
        }
    }
    json_decref(list);
    return CLI_EXIT_OK;
}

static int secret_rm(const struct secret_args *a)
{
    if (a->positional == NULL || a->json) {
        cli_errorf("secret rm: usage: secret rm NAME");
        return CLI_EXIT_USAGE;
    }
    bool denied = false;
    struct secrets *s = open_secrets(a, false, &denied);
    if (s == NULL)
        return denied ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
    struct rp_error err = {{0}};
    rp_status st = secrets_remove(s, a->positional, &err);
    secrets_close(s);
    if (st != RP_OK) {
        cli_errorf("secret rm: %s", err.msg);
        return st == RP_E_NOTFOUND ? CLI_EXIT_FAIL : CLI_EXIT_USAGE;
    }
    fprintf(stderr, "riposte: secret %s removed\n", a->positional);
    return CLI_EXIT_OK;
}

int cli_secret(int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_EXIT_USAGE : CLI_EXIT_OK;
    }
    const char *action = argv[1];
    int (*run)(const struct secret_args *) = NULL;
    if (strcmp(action, "set") == 0)
        run = secret_set;
    else if (strcmp(action, "list") == 0)
        run = secret_list;
    else if (strcmp(action, "rm") == 0)
        run = secret_rm;
    if (run == NULL) {
        cli_errorf("secret: unknown action %s (set, list or rm)", action);
        return CLI_EXIT_USAGE;
    }
    struct secret_args a;
    int p = parse_args(action, argc, argv, &a);
    if (p != 0)
        return p > 0 ? CLI_EXIT_OK : CLI_EXIT_USAGE;
    return run(&a);
}

/*
 * cli.h: the subcommands of the riposte binary and the helpers they share.
 * Each subcommand is `int cli_X(int argc, char **argv)` with argv[0] being the
 * subcommand's name, and returns the process exit code:
 *   0 success, 1 failure (not found, refused), 2 usage or I/O error,
 *   3 some input records were rejected (the rest were stored).
 * Main thread only.
 */
#ifndef RP_CLI_CLI_H
#define RP_CLI_CLI_H

#include "core/config.h"
#include "core/status.h"

#define CLI_EXIT_OK       0
#define CLI_EXIT_FAIL     1
#define CLI_EXIT_USAGE    2
#define CLI_EXIT_REJECTED 3

int cli_ingest(int argc, char **argv);
int cli_case(int argc, char **argv);
int cli_serve(int argc, char **argv);
int cli_token(int argc, char **argv);
int cli_help(int argc, char **argv);
int cli_parse(int argc, char **argv);
int cli_extract(int argc, char **argv);
int cli_cacao(int argc, char **argv);
int cli_run(int argc, char **argv);
int cli_plan(int argc, char **argv);
int cli_check(int argc, char **argv);
int cli_run_list(int argc, char **argv);
int cli_run_show(int argc, char **argv);
int cli_prompt(int argc, char **argv);
int cli_lab(int argc, char **argv);
int cli_secret(int argc, char **argv);
int cli_guard(int argc, char **argv);
int cli_report(int argc, char **argv);
int cli_approve(int argc, char **argv);
int cli_deny(int argc, char **argv);
int cli_audit(int argc, char **argv);
int cli_demo(int argc, char **argv);

/* Prints the help of one command (or the overview when name is NULL) to f.
 * Returns false when there is no such command. */
#include <stdbool.h>
#include <stdio.h>
bool cli_help_print(FILE *f, const char *name);

/* Loads the connectors of cfg (registering their actions) and the secret
 * store they may need, for a command that runs playbooks. Prints the error and
 * returns false on failure. Free with connectors_free and secrets_close. */
struct secrets;
struct connectors;
bool cli_connectors_load(const struct config *cfg, const char *db_path, struct secrets **secrets,
                         struct connectors **out);

/* Prints "riposte: <msg>" to stderr. */
void cli_errorf(const char *fmt, ...) RP_PRINTF(1, 2);

/* Matches argv[*i] against "--name VALUE" or "--name=VALUE". 1: matched, *v
 * set to the value (which stays in argv) and *i moved past it; 0: another
 * argument, nothing changed; -1: the value is missing (the caller prints). */
int cli_flag_value(int argc, char **argv, int *i, const char *name, const char **v);

/* Loads the configuration: the --config path when given, else $RIPOSTE_CONFIG
 * when set, else the defaults. Prints the error and returns false on failure. */
bool cli_config_load(struct config *c, const char *path);

/* Streams one open input through the reader (framing chosen from the format,
 * or detected from the first bytes) into batches of up to RP_COMMIT_GROUP_MAX
 * records prepared with opts, and calls fn with each (cli_stream frees each batch
 * after fn returns). An I/O error still hands
 * over what was read before it, then returns RP_E_IO. */
#include "ingest/pipeline.h"
typedef rp_status (*cli_batch_fn)(void *arg, struct ingest_batch *b, const char *name);
rp_status cli_stream(FILE *f, const char *name, const struct ingest_opts *opts, cli_batch_fn fn,
                     void *arg) RP_MUST_CHECK;

#endif

/*
 * help.c: `riposte help [COMMAND]` and the usage texts every command prints on
 * a usage error. The README's CLI reference follows these texts.
 */
#include "cli/cli.h"

#include <string.h>

static const struct {
    const char *name;
    const char *text;
} HELP[] = {
    {NULL, "usage: riposte COMMAND [ARGS]\n"
           "\n"
           "Riposte: security orchestration, automation and response.\n"
           "\n"
           "commands:\n"
           "  serve     run the daemon: HTTP API, ingest, cases\n"
           "  ingest    read alerts from files or stdin into cases\n"
           "  parse     print the normalized alerts of any input, store nothing\n"
           "  extract   print the indicators (IPs, domains, URLs, hashes...) in a text\n"
           "  case      list, show and update cases\n"
           "  token     create, list and revoke API tokens\n"
           "  help      show help for a command\n"
           "\n"
           "global:\n"
           "  riposte --version    print the version\n"
           "  riposte help COMMAND help for one command\n"
           "\n"
           "The database is --db PATH, else $RIPOSTE_DB, else ./riposte.db.\n"
           "The configuration is --config FILE, else $RIPOSTE_CONFIG (YAML).\n"},
    {"ingest", "usage: riposte ingest [--db PATH] [--config FILE] [--source NAME] [--format F]\n"
               "                      FILE...|-\n"
               "\n"
               "Reads alerts from each FILE, or stdin for -, normalizes them, groups them\n"
               "into cases and stores them. Prints one JSON line on stdout:\n"
               "  {\"accepted\":N,\"rejected\":M,\"cases_created\":X,\"cases_updated\":Y,\n"
               "   \"duplicates\":D,\"ignored\":I}\n"
               "(cases_updated counts alerts that joined an existing case; duplicates are\n"
               "records whose id was already stored; ignored are well-formed records that\n"
               "are no security event, such as an sshd disconnect.) Each rejected record is\n"
               "reported on stderr with its file, record number, line and reason, and kept\n"
               "in the dead-letter table.\n"
               "\n"
               "  --source NAME   source of alerts that do not name one (default: cli)\n"
               "  --format F      auto (default: from the first bytes), json, syslog, cef,\n"
               "                  leef, mail, winxml, or a vendor's JSON: crowdstrike,\n"
               "                  carbonblack, cylance, defender, msgraph, splunk, elastic,\n"
               "                  okta, azuread, windows\n"
               "\n"
               "exit: 0 all stored; 3 some records rejected (the rest stored);\n"
               "      2 usage or I/O error.\n"},
    {"case", "usage: riposte case list [--json] [--status S] [--limit N] [--db PATH]\n"
             "       riposte case show ID [--json] [--db PATH]\n"
             "       riposte case update ID [--status S] [--severity N] [--assignee NAME]\n"
             "                          [--note TEXT] [--actor NAME] [--json] [--db PATH]\n"
             "\n"
             "ID is a case id or a unique prefix of at least 6 characters.\n"
             "Statuses: new, triage, contained, resolved, closed, false_positive.\n"
             "Severity: 0-100 (info <20, low <40, medium <60, high <80, critical).\n"
             "Every change is written to the case timeline with the actor (--actor,\n"
             "else $USER). --assignee '' unassigns.\n"},
    {"serve", "usage: riposte serve [--config FILE] [--listen ADDR:PORT] [--db PATH]\n"
              "                     [--log-level L] [--threads N]\n"
              "\n"
              "Runs the daemon: the HTTP API (default 127.0.0.1:8080).\n"
              "  POST /api/v1/alerts        any input format (?format=F, ?source=NAME);\n"
              "                             202 once stored\n"
              "  GET  /api/v1/cases         ?status=S&limit=N\n"
              "  GET  /api/v1/cases/{id}\n"
              "  GET  /healthz              no token needed\n"
              "With syslog.udp / syslog.tcp in the configuration it also receives\n"
              "syslog (CEF, LEEF, auth lines...) on those addresses.\n"
              "Every other endpoint needs 'Authorization: Bearer TOKEN' (riposte token\n"
              "create). Listening beyond loopback without any token is refused.\n"
              "SIGTERM or SIGINT: stop accepting, store what was acknowledged, exit 0.\n"},
    {"token", "usage: riposte token create --name NAME [--role ROLE] [--db PATH] [--config FILE]\n"
              "       riposte token list [--json] [--db PATH] [--config FILE]\n"
              "       riposte token revoke NAME [--db PATH] [--config FILE]\n"
              "\n"
              "create prints the new token once; only its hash is stored.\n"
              "Roles: admin (default), analyst, responder, viewer (read only),\n"
              "ingest (may only send alerts).\n"},
    {"parse", "usage: riposte parse [--format F] [--source NAME] [--config FILE] [--show-ignored]\n"
              "                     FILE...|-\n"
              "\n"
              "Prints the normalized alert of every record as one JSON line on stdout and\n"
              "stores nothing. Formats as for ingest. Rejected records are reported on\n"
              "stderr; --show-ignored also reports the records that are no security event.\n"
              "exit: 0 every record read; 3 some rejected; 2 usage or I/O error.\n"},
    {"extract", "usage: riposte extract FILE|-\n"
                "\n"
                "Prints each indicator found in the text as one JSON line\n"
                "{\"type\":...,\"value\":...}: ipv4, ipv6, domain, url, email, md5, sha1,\n"
                "sha256, sha512, cve. Defanged indicators (hxxp, [.], [@]...) are refanged.\n"},
    {"help", "usage: riposte help [COMMAND]\n"},
};

bool cli_help_print(FILE *f, const char *name)
{
    for (size_t i = 0; i < sizeof(HELP) / sizeof(HELP[0]); i++) {
        if ((name == NULL && HELP[i].name == NULL) ||
            (name != NULL && HELP[i].name != NULL && strcmp(name, HELP[i].name) == 0)) {
            fputs(HELP[i].text, f);
            return true;
        }
    }
    return false;
}

int cli_help(int argc, char **argv)
{
    if (argc > 2) {
        cli_help_print(stderr, "help");
        return CLI_EXIT_USAGE;
    }
    if (!cli_help_print(stdout, argc == 2 ? argv[1] : NULL)) {
        cli_errorf("no command '%s' (see: riposte help)", argv[1]);
        return CLI_EXIT_USAGE;
    }
    return CLI_EXIT_OK;
}

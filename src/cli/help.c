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
           "  run       run a playbook once and print its trace\n"
           "  plan      show what a playbook would do, every effect simulated\n"
           "  check     validate playbooks and list the effects they can reach\n"
           "  run-list  list playbook runs\n"
           "  run-show  show one run and its steps\n"
           "  prompt    list, show and answer the questions playbooks ask\n"
           "  cacao     import and export OASIS CACAO 2.0 playbooks\n"
           "  guard     the kill switch, containments (stop, resume, status, extend)\n"
           "  approve   approve an action the guard rails held\n"
           "  deny      deny an action the guard rails held\n"
           "  audit     verify the audit chain\n"
           "  secret    keep connector secrets (API keys, passwords) encrypted\n"
           "  token     create, list and revoke API tokens\n"
           "  demo      play a scripted day against the lab and print what happened\n"
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
             "else $USER). --assignee '' unassigns.\n"
             "       riposte case postmortem ID --root-cause TEXT --lesson TEXT...\n"
             "                          [--guard-rail TEXT]... [--actor NAME] [--db PATH]\n"
             "Records a post-mortem with the case (and on its timeline); the KPIs\n"
             "count it (docs/kpis.md). --lesson and --guard-rail may repeat.\n"},
    {"report", "usage: riposte report [--since 30d | --from DATE --to DATE]\n"
               "                      [--format html|json|csv] [--out FILE]\n"
               "                      [--config FILE] [--db PATH]\n"
               "\n"
               "The KPIs of a period and of the period before it (docs/kpis.md):\n"
               "times to detect, acknowledge, contain and resolve; automation rate;\n"
               "SLA breaches; time saved; communication; guard rails; post-mortems.\n"
               "DATE is YYYY-MM-DD (UTC) or an RFC 3339 time; --to is exclusive.\n"
               "Default: --since 30d --format html (one self-contained page).\n"
               "The configuration's kpi: section sets minutes_saved and sla targets.\n"},
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
    {"run", "usage: riposte run PLAYBOOK.yml [--alert FILE] [--case ID] [--input NAME=VALUE]...\n"
            "                   [--db PATH]\n"
            "\n"
            "Runs the playbook once, durably (in the database like the daemon's runs),\n"
            "waits for it to finish (prompts included: answer them with riposte\n"
            "prompt answer from another shell) and prints its trace: each step with its\n"
            "start, end, status and a summary of its output. --alert takes a JSON alert\n"
            "in the ingest schema. Exit 0 when the run succeeded, 1 when it failed.\n"},
    {"plan", "usage: riposte plan PLAYBOOK.yml [--alert FILE] [--replay FILE] [--db PATH]\n"
             "\n"
             "Runs the playbook with every action above read simulated, prompts answered\n"
             "with their default (or the first option) and waits skipped, and prints the\n"
             "actions it would take, in order, with their parameters: stable text to\n"
             "review and diff. --replay FILE is a JSON object of recorded answers by step\n"
             "id or action name ({\"look\": {...}, \"ask\": {\"answer\": \"yes\"}}); a read\n"
             "action with a recording is answered from it. Nothing is stored unless --db\n"
             "is given.\n"},
    {"check", "usage: riposte check [--config FILE] [--policy FILE] PLAYBOOK.yml...\n"
              "\n"
              "Validates each playbook (errors as file:line:col: problem) and lists the\n"
              "actions it can reach by effect: read, notify, contain, modify, destroy.\n"
              "With --policy FILE (first), also which budgets or blast radius bound each\n"
              "effect and whether protected-asset rules cover it. Exit 1 when one does\n"
              "not load, or when an unbounded contain or destroy is reachable.\n"},
    {"run-list", "usage: riposte run-list [--status S] [--limit N] [--json] [--db PATH]\n"
                 "\n"
                 "Lists runs, newest first (status running, succeeded or failed).\n"},
    {"run-show", "usage: riposte run-show ID [--json] [--db PATH]\n"
                 "\n"
                 "Prints a run's trace (or, with --json, the run and its event log). ID is\n"
                 "the run id or a unique prefix of at least 6 characters.\n"},
    {"prompt", "usage: riposte prompt list | show ID | answer ID OPTION [--by NAME]\n"
               "                      [--db PATH]\n"
               "\n"
               "The questions playbooks ask. answer takes the one answer a prompt accepts\n"
               "(a second answer, a late one or an option it does not offer is refused);\n"
               "the waiting run, in this process or a daemon, goes on within a second.\n"},
    {"cacao", "usage: riposte cacao import FILE|- [--out FILE]\n"
              "       riposte cacao export PLAYBOOK.yml [--out FILE]\n"
              "\n"
              "OASIS CACAO 2.0 playbooks (JSON); see docs/cacao.md.\n"
              "\n"
              "import  reads a CACAO playbook and prints the Riposte playbook (YAML) made\n"
              "        from it, once it loads. Each command becomes an action step\n"
              "        cacao.<command-type> (no connector runs these yet); variables\n"
              "        __name__ become vars; conditions (STIX comparisons) become Lua.\n"
              "        A playbook that breaks the specification or cannot be written as\n"
              "        Riposte lists is refused with the field or step named.\n"
              "export  loads a Riposte playbook and prints it as CACAO 2.0 JSON with stable\n"
              "        ids (UUIDv5 of the playbook name and step ids); what CACAO cannot\n"
              "        say travels in a Riposte extension, so import gives it back.\n"
              "\n"
              "  --out FILE   write FILE instead of stdout\n"
              "\n"
              "exit: 0 done; 1 refused (the reason on stderr); 2 usage or I/O error.\n"},
    {"guard", "usage: riposte guard stop|resume [--by NAME] | status | extend ID DURATION\n"
              "                     [--db PATH]\n"
              "\n"
              "stop     the kill switch: every new effect above notify (contain, modify,\n"
              "         destroy) is held for an approval, on every node within a second;\n"
              "         reads and notifications go on.\n"
              "resume   decisions follow the policy again.\n"
              "status   the switch and the time-boxed containments.\n"
              "extend   push a containment's release back by DURATION from now.\n"},
    {"approve", "usage: riposte approve ID [--by NAME] [--db PATH]\n"
                "\n"
                "Approves an action the guard rails held (ID from riposte prompt list). An\n"
                "approval after the deadline is refused.\n"},
    {"deny", "usage: riposte deny ID [--by NAME] [--db PATH]\n"
             "\n"
             "Denies an action the guard rails held: its step fails.\n"},
    {"demo", "usage: riposte demo [--keep] [--seed N]\n\n"
             "Starts the lab and a daemon (the three playbooks, examples/policy.yml) in a\n"
             "temporary directory, plays a scripted day through the API (EDR detections,\n"
             "failed logins, a phishing campaign, a runaway case), answers the prompts as\n"
             "the users would, and prints per case what happened and the KPIs (docs/demo.md).\n"
             "  --keep    keep the temporary directory and print its path\n"
             "  --seed N  the lab's organisation (default 1)\n"
             "exit: 0 every scripted step happened as expected; 1 otherwise (each named);\n"
             "      2 the demo could not start.\n"},
    {"audit", "usage: riposte audit verify [--db PATH]\n"
              "\n"
              "Walks the audit chain (each entry holds the hash of the one before) and\n"
              "reports the first entry that was changed, removed or reordered. Exit 1 then.\n"},
    {"secret", "usage: riposte secret set NAME [--db PATH] [--key-file FILE] [--config FILE]\n"
               "       riposte secret list [--json] [--db PATH] [--key-file FILE] [--config FILE]\n"
               "       riposte secret rm NAME [--db PATH] [--key-file FILE] [--config FILE]\n"
               "\n"
               "Keeps the API keys and passwords connectors use, encrypted in the database\n"
               "(XChaCha20-Poly1305) under a master key that never enters it. A configuration\n"
               "names a secret as { secret: NAME }.\n"
               "\n"
               "set reads the value from stdin, never from the command line: at a terminal\n"
               "one line with echo off, else everything to end of input; one trailing newline\n"
               "is dropped; empty values, NUL bytes and values over 64 KiB are refused.\n"
               "list prints names and update times, never values. rm deletes one.\n"
               "\n"
               "The key: $RIPOSTE_SECRET_KEY (64 hex digits), else --key-file, else the\n"
               "configuration's secrets.key_file, else DB.secret-key. set creates that file\n"
               "(mode 0600, a random key) when there is no key yet: back it up. A key file\n"
               "that group or others can read is refused.\n"
               "\n"
               "exit: 0 done; 1 refused (no such secret, another key, exposed key file);\n"
               "      2 usage or I/O error.\n"},
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

/* placeholder: being written */
#include "cli/cli.h"

int cli_parse(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_errorf("parse: not built yet");
    return CLI_EXIT_USAGE;
}

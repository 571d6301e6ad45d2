/* placeholder: being written */
#include "cli/cli.h"

int cli_lab(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_errorf("lab: not built yet");
    return CLI_EXIT_USAGE;
}

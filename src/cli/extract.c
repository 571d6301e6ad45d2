/* placeholder: being written */
#include "cli/cli.h"

int cli_extract(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_errorf("extract: not built yet");
    return CLI_EXIT_USAGE;
}

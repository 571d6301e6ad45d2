/* placeholder: being written */
#include "cli/cli.h"

int cli_secret(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_errorf("secret: not built yet");
    return CLI_EXIT_USAGE;
}

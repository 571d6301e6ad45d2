/* placeholder: being written */
#include "cli/cli.h"
int cli_cacao(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    return CLI_EXIT_USAGE;
}

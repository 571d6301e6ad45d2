/* placeholder: being written */
#include "engine/action.h"

#include <string.h>

const struct action_def *action_find(const char *name)
{
    (void)name;
    return NULL;
}

/* placeholder: being written */
#include "playbook/playbook.h"

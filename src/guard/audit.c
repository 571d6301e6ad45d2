/* placeholder: being written */
#include "guard/guard.h"

/* placeholder: being written */
#include "expr/expr.h"

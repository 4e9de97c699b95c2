/* placeholder: being written */
#include "common.h"

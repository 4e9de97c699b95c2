/* placeholder: being written */
#include "../../store/common.h"

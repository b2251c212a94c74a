#include "client/policy_file.h"

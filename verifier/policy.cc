#include "verifier/policy.h"

#include <gtest/gtest.h>

#include "client/policy_file.h"

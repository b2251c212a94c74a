#include <gtest/gtest.h>

#include "client/report_html.h"

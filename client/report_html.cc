#include "client/report_html.h"

// SPDX-License-Identifier: GPL-2.0-only
/* lttng-tracer: see pylttng-stub.h. */
#include "pylttng-stub.h"

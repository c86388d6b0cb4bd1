// SPDX-License-Identifier: GPL-2.0-only
/* lttng-lib-ring-buffer: see pylttng-stub.h. */
#include "pylttng-stub.h"

// SPDX-License-Identifier: GPL-2.0-only
/* lttng-uprobes: see pylttng-stub.h. */
#include "pylttng-stub.h"

// SPDX-License-Identifier: GPL-2.0-only
/* lttng-kprobes: see pylttng-stub.h. */
#include "pylttng-stub.h"

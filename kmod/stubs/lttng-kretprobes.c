// SPDX-License-Identifier: GPL-2.0-only
/* lttng-kretprobes: see pylttng-stub.h. */
#include "pylttng-stub.h"

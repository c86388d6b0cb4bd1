// SPDX-License-Identifier: GPL-2.0-only
/* lttng-ring-buffer-client-mmap-discard: see pylttng-stub.h. */
#include "pylttng-stub.h"

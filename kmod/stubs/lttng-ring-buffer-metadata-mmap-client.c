// SPDX-License-Identifier: GPL-2.0-only
/* lttng-ring-buffer-metadata-mmap-client: see pylttng-stub.h. */
#include "pylttng-stub.h"

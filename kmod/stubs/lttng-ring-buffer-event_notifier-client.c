// SPDX-License-Identifier: GPL-2.0-only
/* lttng-ring-buffer-event_notifier-client: see pylttng-stub.h. */
#include "pylttng-stub.h"

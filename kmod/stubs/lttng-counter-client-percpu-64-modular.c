// SPDX-License-Identifier: GPL-2.0-only
/* lttng-counter-client-percpu-64-modular: see pylttng-stub.h. */
#include "pylttng-stub.h"

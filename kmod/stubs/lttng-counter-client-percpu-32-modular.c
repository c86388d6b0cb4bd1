// SPDX-License-Identifier: GPL-2.0-only
/* lttng-counter-client-percpu-32-modular: see pylttng-stub.h. */
#include "pylttng-stub.h"

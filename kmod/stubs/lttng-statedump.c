// SPDX-License-Identifier: GPL-2.0-only
/* lttng-statedump: see pylttng-stub.h. */
#include "pylttng-stub.h"

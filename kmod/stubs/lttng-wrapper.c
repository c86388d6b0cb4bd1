// SPDX-License-Identifier: GPL-2.0-only
/* lttng-wrapper: see pylttng-stub.h. */
#include "pylttng-stub.h"

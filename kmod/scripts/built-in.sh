#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Graft pylttng into a kernel source tree, as lttng-modules' own script does:
# a "pylttng" link to this kmod directory, its Kconfig sourced from the
# top-level Kconfig, and the directory added to the top-level build.  Then
# enable CONFIG_PYLTTNG (y: in the kernel image, m: as modules) and build.
# Running it again changes nothing.
#
#   kmod/scripts/built-in.sh KERNEL_SRC

set -eu

usage() {
	echo "usage: $0 <kernel source tree>" >&2
	exit 1
}

[ "$#" -eq 1 ] || usage
KERNEL_DIR="$(readlink --canonicalize-existing "$1")" || usage
KMOD_DIR="$(cd "$(dirname "$0")/.." && pwd)"

[ -f "$KERNEL_DIR/Makefile" ] || { echo "$0: $KERNEL_DIR has no Makefile" >&2; exit 1; }

# Link the sources in, never over an unrelated directory.
if [ -e "$KERNEL_DIR/pylttng" ] && [ ! -L "$KERNEL_DIR/pylttng" ]; then
	echo "$0: $KERNEL_DIR/pylttng exists and is not our link" >&2
	exit 1
fi
ln -sfn "$KMOD_DIR" "$KERNEL_DIR/pylttng"

# append_once FILE LINE: add LINE to FILE unless it is there already.
append_once() {
	grep -qxF "$2" "$1" 2>/dev/null || echo "$2" >> "$1"
}

append_once "$KERNEL_DIR/Kconfig" 'source "pylttng/Kconfig"'

# Since v6.1 the top-level directories are listed in Kbuild, before in Makefile.
if grep -qE '^obj-y[[:space:]]+\+= kernel/' "$KERNEL_DIR/Kbuild" 2>/dev/null; then
	append_once "$KERNEL_DIR/Kbuild" 'obj-y			+= pylttng/'
elif grep -qE '\+= kernel/' "$KERNEL_DIR/Makefile"; then
	grep -qE '\+= kernel/.* pylttng/' "$KERNEL_DIR/Makefile" ||
		sed -i 's#+= kernel/#+= kernel/ pylttng/#' "$KERNEL_DIR/Makefile"
else
	echo "$0: cannot find where $KERNEL_DIR lists kernel/ to build" >&2
	exit 1
fi

echo >&2
echo "    $0: done." >&2
echo "    $0: now enable CONFIG_PYLTTNG (y or m) and build the kernel." >&2
echo >&2

#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# dkms-conflicts.sh RELEASE - refuse to install beside LTTng-modules (DKMS PRE_INSTALL).
#
# pylttng conflicts with LTTng-modules, as a Debian "Conflicts: lttng-modules-dkms"
# would say: both own /proc/lttng, and pylttng's stub modules carry the names the
# stock lttng-sessiond loads (lttng-tracer, lttng-ring-buffer-client-discard, ...),
# which are LTTng-modules' own module names.  Installing both would leave modprobe
# to pick one module of each name.
set -u
release=$1
found=

# Debian's lttng-modules-dkms (or any LTTng-modules source handed to DKMS).
for dir in /usr/src/lttng-modules-*; do
	[ -e "$dir" ] && found="$found $dir"
done
if command -v dkms >/dev/null && dkms status lttng-modules 2>/dev/null | grep -q .; then
	found="$found dkms:lttng-modules"
fi
# An lttng-tracer module of this kernel that is not one of pylttng's stubs.
for ko in $(find "/lib/modules/$release" -name 'lttng-tracer.ko*' 2>/dev/null); do
	modinfo -F depends "$ko" 2>/dev/null | grep -qw pylttng || found="$found $ko"
done

[ -z "$found" ] && exit 0
cat >&2 <<MSG
pylttng: not installed for $release: it conflicts with LTTng-modules, found here:
 $found
Both provide /proc/lttng and the modules lttng-tracer, lttng-ring-buffer-client-*,
lttng-statedump, ... that lttng-sessiond loads.  Keep one of them:
  apt remove lttng-modules-dkms          (keep pylttng)
  dkms remove pylttng --all               (keep LTTng-modules)
MSG
exit 1

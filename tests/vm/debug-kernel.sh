#!/bin/bash
# debug-kernel.sh OUT - build Debian's linux-source-6.1 in OUT with the checkers of
# tests/vm/debug-kernel.config over virtme-ng's minimal config (make debug-kernel).
#
# Each step is skipped when done: unpacking for the same source version, configuring
# and building for the same version and fragment.  The build runs at nice 19 (the
# machine is shared with test VMs).  Leaves OUT/linux-source-6.1, the tree that
# `make KERNELDIR=...` builds the module against and `runner.py --kernel-tree` boots,
# with its modules installed under its modroot/ (tests/vm/kernels.py: built_tree).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
fragment=$here/debug-kernel.config
pkg=linux-source-6.1
out=$(mkdir -p "$1" && cd "$1" && pwd)
tree=$out/$pkg

if ! dpkg -s $pkg >/dev/null 2>&1; then
	apt-get update -q
	DEBIAN_FRONTEND=noninteractive apt-get install -y -q $pkg
fi
version=$(dpkg-query -W -f='${Version}' $pkg)
key="$version $(sha256sum <"$fragment" | cut -d' ' -f1)"

if [ "$(cat "$out/built" 2>/dev/null)" = "$key" ]; then
	echo "debug-kernel: built in $tree"
	exit 0
fi

if [ "$(cat "$out/unpacked" 2>/dev/null)" != "$version" ]; then
	rm -rf "$tree" "$out/unpacked" "$out/configured" "$out/built"
	tar -C "$out" -xaf /usr/src/$pkg.tar.xz
	echo "$version" >"$out/unpacked"
fi

if [ "$(cat "$out/configured" 2>/dev/null)" != "$key" ]; then
	(cd "$tree" && virtme-configkernel --defconfig --custom "$fragment")
	make -s -C "$tree" olddefconfig
	# A line that olddefconfig dropped (an unmet dependency) is a kernel without a checker.
	missing=0
	while read -r line; do
		case "$line" in
		CONFIG_*=*) grep -qxF "$line" "$tree/.config" ;;
		"# CONFIG_"*" is not set")
			name=${line#\# } && ! grep -q "^${name%% *}=" "$tree/.config" ;;
		*) continue ;;
		esac || { echo "debug-kernel: .config lacks: $line" >&2; missing=1; }
	done <"$fragment"
	[ $missing = 0 ] || exit 1
	echo "$key" >"$out/configured"
fi

start=$(date +%s)
nice -n 19 make -s -C "$tree" -j2 bzImage modules
rm -rf "$tree/modroot"
make -s -C "$tree" INSTALL_MOD_PATH="$tree/modroot" modules_install
echo "$key" >"$out/built"
echo "debug-kernel: built in $(( $(date +%s) - start )) s in $tree"

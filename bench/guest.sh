#!/bin/sh
# Runs inside the test VM as root (booted by `tests/vm/runner.py bench`).
# Installs pylttng.ko where modprobe finds it, runs the benchmark (bench/run.py),
# and leaves results.json, its log and the kernel log in the shared output folder.
# Usage: guest.sh SRC OUT PYTHON [bench.run args...]
set -u
SRC=$1 OUT=$2 PY=$3
shift 3
exec >"$OUT/guest.log" 2>&1
set -x

export HOME="$OUT/home" LTTNG_HOME="$OUT/home"
export PATH="$(dirname "$PY"):$PATH"
# This checkout's pylttng package (the runner's link tree) and the bench package.
export PYTHONPATH="$OUT/pypath:$SRC"
export PYTHONDONTWRITEBYTECODE=1 PYLTTNG_SRC="$SRC" PYLTTNG_VM_OUT="$OUT"
mkdir -p "$HOME"

# /lib is a throw-away overlay in the guest: install as `make modules_install` would.
KVER=$(uname -r)
mkdir -p "/lib/modules/$KVER/extra"
cp "$OUT"/modroot/lib/modules/"$KVER"/extra/*.ko "/lib/modules/$KVER/extra/"
cp "$OUT"/modroot/lib/modules/"$KVER"/modules.* "/lib/modules/$KVER/"

dmesg --clear 2>/dev/null || true
cd "$OUT"
"$PY" -m bench.run --out "$OUT" "$@" >"$OUT/bench.log" 2>&1
echo $? >"$OUT/rc"
dmesg >"$OUT/dmesg.txt"
sync

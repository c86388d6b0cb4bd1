#!/bin/sh
# Runs inside the test VM as root (booted by `tests/vm/runner.py bench`).
# Installs pylttng.ko where modprobe finds it, runs the benchmark (bench.run) or the
# profiles (bench.profile), and leaves their results, log and the kernel log in the
# shared output folder.
# Usage: guest.sh SRC OUT PYTHON MODULE [MODULE args...]
set -u
SRC=$1 OUT=$2 PY=$3 MODULE=$4
shift 4
exec >"$OUT/guest.log" 2>&1
set -x

export HOME="$OUT/home" LTTNG_HOME="$OUT/home"
export PATH="$(dirname "$PY"):$PATH"
# This checkout's pylttng package (the runner's link tree) and the bench package.
export PYTHONPATH="$OUT/pypath:$SRC"
export PYTHONDONTWRITEBYTECODE=1 PYLTTNG_SRC="$SRC" PYLTTNG_VM_OUT="$OUT"
mkdir -p "$HOME"

. "$SRC/tests/vm/guest-modules.sh"
cd "$OUT"
"$PY" -m "$MODULE" --out "$OUT" "$@" >"$OUT/bench.log" 2>&1
echo $? >"$OUT/rc"
dmesg >"$OUT/dmesg.txt"
sync

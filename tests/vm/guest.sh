#!/bin/sh
# Runs inside the test VM as root (booted by tests/vm/runner.py).
# Installs pylttng.ko where modprobe finds it, runs the VM test suite,
# and leaves results and the kernel log in the shared output folder.
# Usage: guest.sh SRC OUT PYTHON [pytest args...]
set -u
SRC=$1 OUT=$2 PY=$3
shift 3
exec >"$OUT/guest.log" 2>&1
set -x

export HOME="$OUT/home" LTTNG_HOME="$OUT/home"
export PATH="$(dirname "$PY"):$PATH"
# Import this checkout's package (the runner's link tree), whatever is installed.
export PYTHONPATH="$OUT/pypath"
export PYTHONDONTWRITEBYTECODE=1 PYLTTNG_SRC="$SRC" PYLTTNG_VM_OUT="$OUT"
mkdir -p "$HOME"

. "$SRC/tests/vm/guest-modules.sh"
cd "$OUT"
# The whole suite, unless the arguments name test files (absolute paths).
TESTS="$SRC/tests/vm"
for arg in "$@"; do
	case "$arg" in *.py | *.py::*) TESTS= ;; esac
done
# Should the guest hang, the host still has the kernel log up to that point, and a test
# stuck for 20 minutes dumps every Python thread's stack into pytest.log.
dmesg -w >"$OUT/dmesg-live.txt" 2>&1 &
DMESG_PID=$!
# ... and what every process was doing a minute ago at the latest (state, kernel wait).
while sleep 60; do
	ps -eo pid,ppid,stat,wchan:32,etime,args >"$OUT/ps-live.txt.new" &&
		mv "$OUT/ps-live.txt.new" "$OUT/ps-live.txt"
done &
PS_PID=$!
"$PY" -m pytest $TESTS -p no:cacheprovider -o console_output_style=classic \
	-o faulthandler_timeout=1200 \
	-rA --durations=25 --junitxml="$OUT/junit.xml" "$@" >"$OUT/pytest.log" 2>&1
echo $? >"$OUT/rc"
kill "$DMESG_PID" "$PS_PID"
# A kernel with kmemleak (make debug-kernel): with pylttng's modules gone, what they
# allocated and no one points at any more is a leak; the scan's report goes into the
# kernel log, where the runner looks for "unreferenced object".
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
if [ -w /sys/kernel/debug/kmemleak ]; then
	# The stub modules (its users in /proc/modules), then pylttng.
	users=$(awk '$1 == "pylttng" { gsub(/[-,]/, " ", $4); print $4 }' /proc/modules)
	grep -q '^pylttng ' /proc/modules && rmmod $users pylttng
	echo scan >/sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak >"$OUT/kmemleak.txt"
	sed 's/^/kmemleak: /' "$OUT/kmemleak.txt" >/dev/kmsg
fi
dmesg >"$OUT/dmesg.txt"
sync

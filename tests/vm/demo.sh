#!/bin/sh
# The newcomer's session, typed inside the test VM (booted by `make demo`):
# the stock lttng CLI spawns pylttng-sessiond, traces the scheduler while a
# small workload forks and execs, and babeltrace2 prints the trace.
# Usage: demo.sh SRC OUT PYTHON
SRC=$1 OUT=$2 PY=$3
export HOME="$OUT/home" LTTNG_HOME="$OUT/home"
export PATH="$(dirname "$PY"):$PATH"
export PYTHONDONTWRITEBYTECODE=1
mkdir -p "$HOME"
KVER=$(uname -r)
mkdir -p "/lib/modules/$KVER/extra"
cp "$SRC/kmod/pylttng.ko" "/lib/modules/$KVER/extra/"
depmod -a "$KVER"
dmesg --clear
export LTTNG_SESSIOND_PATH="$(command -v pylttng-sessiond)"

{
	set -x
	lttng create demo
	lttng enable-event -k sched_switch,sched_process_fork,sched_process_exec
	lttng start
	for i in 1 2 3; do /bin/true; /bin/echo "workload $i" >/dev/null; done
	lttng stop
	lttng destroy
	babeltrace2 "$HOME"/lttng-traces/demo-* >"$OUT/demo-trace.txt"
	echo "babeltrace2 exit code: $?"
	set +x
	echo "--- first 20 events ---"
	head -n 20 "$OUT/demo-trace.txt"
	echo "--- the workload's forks and execs ---"
	grep -E 'sched_process_(fork|exec)' "$OUT/demo-trace.txt" | grep -E '"(true|echo)"|/bin/(true|echo)' || true
	echo "--- $(wc -l <"$OUT/demo-trace.txt") events in all ---"
} >"$OUT/demo.log" 2>&1
echo $? >"$OUT/rc"
dmesg >"$OUT/dmesg.txt"
sync

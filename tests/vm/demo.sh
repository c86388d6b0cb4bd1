#!/bin/sh
# The newcomer's session, typed inside the test VM (booted by `make demo`):
# the stock lttng CLI spawns pylttng-sessiond, traces the scheduler while a
# small workload forks and execs, and babeltrace2 prints the trace.
# Usage: demo.sh SRC OUT PYTHON
SRC=$1 OUT=$2 PY=$3
export HOME="$OUT/home" LTTNG_HOME="$OUT/home"
export PATH="$(dirname "$PY"):$PATH"
# Import this checkout's package (the runner's link tree), whatever is installed.
export PYTHONPATH="$OUT/pypath"
export PYTHONDONTWRITEBYTECODE=1
mkdir -p "$HOME"
. "$SRC/tests/vm/guest-modules.sh"
export LTTNG_SESSIOND_PATH="$(command -v pylttng-sessiond)"

demo() {
	set -ex
	lttng create demo
	lttng enable-event -k sched_switch,sched_process_fork,sched_process_exec
	lttng start
	for i in 1 2 3; do /bin/true; /bin/echo "workload $i" >/dev/null; done
	lttng stop
	lttng destroy
	babeltrace2 "$HOME"/lttng-traces/demo-* >"$OUT/demo-trace.txt"
	set +x
	echo "--- babeltrace2 exited 0; the first 20 events ---"
	head -n 20 "$OUT/demo-trace.txt"
	echo "--- the workload's forks and execs ---"
	grep -E 'sched_process_exec: .*filename = "/bin/(true|echo)"' "$OUT/demo-trace.txt"
	echo "--- $(wc -l <"$OUT/demo-trace.txt") events in all ---"
}

(demo) >"$OUT/demo.log" 2>&1
echo $? >"$OUT/rc"
# The daemons log under /var/run/lttng, a throw-away overlay in the guest.
mkdir -p "$OUT/logs"
find /var/run/lttng -name '*.log' -exec cp {} "$OUT/logs/" \;
dmesg >"$OUT/dmesg.txt"
sync

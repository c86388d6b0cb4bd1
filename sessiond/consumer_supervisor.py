"""run_consumerd: keep a pylttng-consumerd child process running for the sessiond."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
from collections.abc import Sequence
from dataclasses import dataclass

import trio
from pylttng.consumerd.daemon import SHUTDOWN_DRAIN_S

from .consumer_link import ConsumerError
from .paths import open_log

log = logging.getLogger("pylttng.sessiond.consumer_supervisor")

# A starting consumerd is waited for while it works: it is hung only once it has used no
# CPU for IDLE_TIMEOUT_S (lttng-sessiond's wait for its consumerd: 30 s).  A busy one
# may take minutes -- its imports alone, on a debug kernel under TCG -- but no longer
# than START_TIMEOUT_S.
IDLE_TIMEOUT_S = 30.0
START_TIMEOUT_S = 900.0
_PROBE_INTERVAL_S = 0.02
# A child that dies sooner than this after starting counts as a crash loop: back off.
_HEALTHY_AFTER_S = 2.0
_MAX_BACKOFF_S = 10.0


@dataclass
class ConsumerdProcess:
    """What run_consumerd reports when started; ``pid`` follows restarts.

    ``restarts`` counts replacements that are up and listening.
    """

    socket_path: str
    pid: int = 0
    restarts: int = 0


def consumerd_command(socket_path: str) -> list[str]:
    """The installed console script, else the same code through this interpreter."""
    search = os.pathsep.join([sysconfig.get_path("scripts"), os.environ.get("PATH", "")])
    script = shutil.which("pylttng-consumerd", path=search)
    args = ["--socket", socket_path, "--session-daemon-pid", str(os.getpid())]
    if script:
        return [script, *args]
    return [sys.executable, "-m", "pylttng.consumerd", *args]


async def run_consumerd(
    socket_path: str,
    *,
    command: Sequence[str] | None = None,
    extra_args: Sequence[str] = (),
    task_status: trio.TaskStatus[ConsumerdProcess] = trio.TASK_STATUS_IGNORED,
) -> None:
    """Start the consumerd, report started once its socket accepts, restart it if it dies.

    Runs until cancelled; then it asks the child to drain and exit (SIGTERM) and kills it
    if it does not.  Raises ConsumerError if the very first start fails.
    """
    argv = list(command) if command is not None else consumerd_command(socket_path)
    argv += extra_args
    handle = ConsumerdProcess(socket_path)
    started = False
    quick_deaths = 0
    # The daemonized sessiond has no stderr: the consumer logs beside its socket.
    log_path = os.path.join(os.path.dirname(socket_path) or ".", "pylttng-consumerd.log")
    while True:
        log_fd = open_log(log_path)
        try:
            proc = await trio.lowlevel.open_process(argv, stdin=subprocess.DEVNULL, stderr=log_fd)
        finally:
            os.close(log_fd)
        handle.pid = proc.pid
        born = trio.current_time()
        try:
            listening = await _wait_listening(socket_path, proc)
            if not listening and not started:
                raise ConsumerError(_start_failure(argv, socket_path, proc))
            if listening and not started:
                started = True
                task_status.started(handle)
            elif listening:
                handle.restarts += 1
                log.warning("pylttng-consumerd restarted (pid %d)", proc.pid)
            status = await proc.wait()
        finally:
            with trio.CancelScope(shield=True):
                await _stop(proc)
        log.warning(
            "pylttng-consumerd (pid %d) died unexpectedly (%s); restarting it",
            proc.pid,
            _describe(status),
        )
        quick_deaths = quick_deaths + 1 if trio.current_time() - born < _HEALTHY_AFTER_S else 0
        if quick_deaths:
            await trio.sleep(min(0.1 * 2**quick_deaths, _MAX_BACKOFF_S))


async def _wait_listening(socket_path: str, proc: trio.Process) -> bool:
    """True once a connection to the socket succeeds; False if the child exits or hangs."""
    cpu, progress = cpu_ticks(proc.pid), trio.current_time()
    with trio.move_on_after(START_TIMEOUT_S):
        while proc.poll() is None:
            probe = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                await probe.connect(socket_path)
                return True
            except OSError:
                pass
            finally:
                probe.close()
            now_cpu = cpu_ticks(proc.pid)
            if now_cpu != cpu:
                cpu, progress = now_cpu, trio.current_time()
            elif trio.current_time() - progress > IDLE_TIMEOUT_S:
                break
            await trio.sleep(_PROBE_INTERVAL_S)
    return False


def cpu_ticks(pid: int) -> int | None:
    """The CPU time a process has used (user + system, clock ticks); None once it is gone."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            # Fields after the command name, which may hold spaces and parentheses:
            # state is field 3 (proc(5)), utime and stime are fields 14 and 15.
            fields = stat.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return int(fields[11]) + int(fields[12])


def _start_failure(argv: Sequence[str], socket_path: str, proc: trio.Process) -> str:
    command = " ".join(argv)
    if proc.returncode is None:
        return (f"{command} did not listen on {socket_path}: idle for {IDLE_TIMEOUT_S:g} s "
                f"or still starting after {START_TIMEOUT_S:g} s")
    return f"{command} exited ({_describe(proc.returncode)}) before listening on {socket_path}"


def _describe(status: int) -> str:
    if status < 0:
        return f"killed by signal {status * -1}"
    return f"exit status {status}"


async def _stop(proc: trio.Process) -> None:
    if proc.returncode is not None:
        return
    proc.terminate()  # SIGTERM: the consumerd drains its sessions, then exits
    with trio.move_on_after(SHUTDOWN_DRAIN_S + 2):
        await proc.wait()
        return
    log.error("pylttng-consumerd (pid %d) ignored SIGTERM; killing it", proc.pid)
    proc.kill()
    await proc.wait()

"""Record what the stock `lttng` 2.13 CLI sends to a session daemon: the corpus of
test_sessiond_fuzz.py (data/lttng-2.13-cli-requests.json).

    PYTHONSAFEPATH=1 PYTHONPATH=build/pypath python3 tests/host/capture_cli_requests.py

A proxy listens on the root client socket (/var/run/lttng/client-lttng-sessiond) and
relays every connection, fds included, to a daemon that answers for real, recording what
the CLI sends: the stock lttng-sessiond for the session, user-space and trigger commands
(it implements them all), pylttng-sessiond over the fake kernel tracer (fake_kernel.py)
for the kernel-domain ones (the host has no LTTng kernel tracer, and the CLI asks more
once the first answers succeed). Everything runs in the fuzz test's sandbox (a private
mount namespace, its own /tmp and /run, all else read-only); the CLI's home is
cli_corpus.CAPTURE_HOME. The requests vary a little from one recording to the next
(dates in --shm-path, the order the CLI lists channels in).
Needs root (the namespace, the root client socket), lttng-tools 2.13 and gcc.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import socket
import subprocess
import sys

import trio

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from cli_corpus import (
    CAPTURE_HOME,
    CORPUS,
    FDS_CMSG_SPACE,
    CapturedRequest,
    dump,
    received_fds,
    sandbox_available,
    sandboxed,
    send_stream,
)

CLI_SOCKET = "/var/run/lttng/client-lttng-sessiond"
BACKEND_DIR = "/run/pylttng-capture"
FAKE_KERNEL = pathlib.Path(__file__).parent / "fake_kernel.py"
SDT_SOURCE = pathlib.Path(__file__).parent / "data" / "sdt_probes.c"
LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6"
H = CAPTURE_HOME
COMMAND_TIMEOUT_S = 10

KERNEL_TRIGGERS = [
    (
        "add-trigger --name=tk --condition=event-rule-matches --type=kernel:syscall:entry+exit"
        " --name='open*' --filter='fd > 2' --action=notify"
    ),
    (
        "add-trigger --name=tkp --condition=event-rule-matches --type=kernel:kprobe"
        " --location=do_sys_open+0x10 --event-name=kp --action=notify"
    ),
    (
        "add-trigger --name=tup --condition=event-rule-matches --type=kernel:uprobe"
        f" --location=elf:{LIBC}:malloc --event-name=up --action=stop-session k1"
    ),
]

# (backend, lttng command lines), run in order; each backend starts afresh.
STOCK = [
    "create s1",
    f"create s10 --snapshot -o {H}/snap",
    "create s2 --snapshot --no-output",
    "create s3 --live",
    "create s4 --live=2000000 -U net://127.0.0.1",
    "create s5 -U net://127.0.0.1:5342:5343/sub",
    "create s6 -C tcp://127.0.0.1:5342 -D tcp://127.0.0.1:5343",
    "create s7 --no-output",
    f"create s8 -o {H}/out8",
    f"create s9 --shm-path={H}/shm",
    "create",
    "set-session s1",
    "list",
    "status",
    (
        "enable-channel -u -s s1 --overwrite --subbuf-size=8k --num-subbuf=4 --switch-timer=1000"
        " --read-timer=2000 --monitor-timer=3000 --output=mmap --buffers-uid"
        " --tracefile-size=65536 --tracefile-count=3 c1"
    ),
    "enable-channel -u -s s1 --discard --blocking-timeout=10 c2",
    "enable-channel -u -s s8 --buffers-pid cp",
    "enable-event -u -s s8 -c cp pid:tp",
    "regenerate metadata -s s8",
    "enable-channel -u -s s1 --blocking-timeout=inf c3",
    "enable-event -u -s s1 -c c1 app:tp1,app:tp2",
    "enable-event -u -s s1 -c c1 --loglevel=TRACE_INFO lvl:range",
    "enable-event -u -s s1 -c c1 --loglevel-only=TRACE_ERR lvl:single",
    # In a session never listed: listing these crashes lttng-sessiond 2.13.9.
    (
        "enable-event -u -s s7 prov:* --exclude=prov:a,prov:b"
        " --filter='intfield > 3 && $ctx.vtid == 5 || str == \"x*\"'"
    ),
    "enable-event -u -s s7 --all",
    "enable-event -u -s s1 -c c2 c2:tp",
    "enable-event -j -s s1 jul.logger --loglevel=JUL_INFO",
    "enable-event -l -s s1 log4j.logger --loglevel-only=LOG4J_WARN",
    "enable-event -p -s s1 py.logger --filter='msg == \"hi\"'",
    "enable-event -p -s s1 --all",
    "add-context -u -s s1 -c c1 -t vpid -t vtid -t procname -t ip -t pthread_id",
    "add-context -u -s s1 -c c1 -t '$app.myprov:myctx'",
    "add-context -u -s s1 -c c2 -t perf:thread:cpu-cycles -t perf:thread:raw:r0013c:rawctr",
    "add-context -j -s s1 -t vpid",
    "track -u -s s1 --vpid=1,2 --vuid=0 --vgid=0",
    "track -u -s s1 --vuid=root --vgid=root",
    "untrack -u -s s1 --vpid=1",
    "untrack -u -s s1 --all --vgid",
    "track -u -s s1 --all --vgid",
    "list s1",
    "list s1 -u",
    "list s1 -c c1",
    "list -u",
    "list -u -f",
    "list -j",
    "list -l",
    "list -p",
    "list -d",
    "disable-event -u -s s1 -c c1 app:tp1",
    "disable-event -u -s s1 -c c2 --all-events",
    "disable-event -j -s s1 jul.logger",
    "disable-channel -u -s s1 c3",
    "enable-channel -u -s s1 c3",
    "enable-rotation -s s1 --timer=10s",
    "enable-rotation -s s1 --size=1M",
    "list s1",
    "disable-rotation -s s1 --timer",
    "start s1",
    "regenerate metadata -s s1",
    "regenerate statedump -s s1",
    "metadata regenerate -s s1",
    "rotate s1",
    "rotate --no-wait s1",
    "stop s1",
    "clear s1",
    "start s1",
    "stop --no-wait s1",
    "enable-channel -u -s s2 sc",
    "enable-event -u -s s2 -c sc 'snap:*'",
    f"snapshot add-output -s s2 -n local2 -m 1M {H}/snapout",
    "snapshot add-output -s s2 -n net2 net://127.0.0.1",
    "snapshot add-output -s s2 -C tcp://127.0.0.1:5342 -D tcp://127.0.0.1:5343",
    "snapshot list-output -s s2",
    "snapshot del-output -s s2 net2",
    "snapshot del-output -s s2 1",
    "start s2",
    "snapshot record -s s2",
    f"snapshot record -s s2 -n rec1 -m 4M {H}/snaprec",
    "save s1",
    f"save -a -o {H}/saved -f",
    f"load -f -i {H}/saved s1",
    (
        "add-trigger --name=t1 --condition=event-rule-matches --type=user --name='my_app:*'"
        " --log-level=TRACE_WARNING.. --filter='x > 1' --exclude-name=my_app:no"
        " --capture=x --capture='$ctx.vpid' --capture='$app.p:c' --capture='arr[2]'"
        " --action=notify --rate-policy=every:10"
    ),
    (
        "add-trigger --name=t2 --condition=event-rule-matches --type=python --name=py.log"
        " --action=start-session s1 --action=stop-session s1 --action=rotate-session s1"
        " --action=snapshot-session s2 --rate-policy=once-after:40"
    ),
    "add-trigger --condition=event-rule-matches --type=jul --action=notify",
    *KERNEL_TRIGGERS,
    "list-triggers",
    "remove-trigger t2",
    "remove-trigger t1",
    "destroy s3",
    "destroy --all",
]

FAKE = [
    "create k1",
    f"create k2 --snapshot -o {H}/ksnap",
    f"create k3 -o {H}/k3",
    "create k4 --no-output",
    (
        "enable-channel -k -s k1 --overwrite --subbuf-size=1M --num-subbuf=8"
        " --switch-timer=100000 --read-timer=200000 --monitor-timer=1000000 --output=splice"
        " --buffers-global --tracefile-size=1M --tracefile-count=4 kc1"
    ),
    "enable-channel -k -s k1 --discard --output=mmap --subbuf-size=4k --num-subbuf=2 kc2",
    "enable-channel -k -s k1 kc3,kc4",
    "enable-event -k -s k1 -c kc1 sched_switch,sched_wakeup",
    "enable-event -k -s k1 -c kc1 --tracepoint 'sched_*' --filter='$ctx.pid == 1 && prev_comm == \"a*\"'",
    "enable-event -k -s k1 -c kc2 --all",
    "enable-event -k -s k1 -c kc2 --syscall open,close",
    "enable-event -k -s k1 -c kc2 --syscall --all --filter='fd < 3'",
    "enable-event -k -s k1 -c kc3 --probe=do_sys_open+0x10 kprobe_sym",
    "enable-event -k -s k1 -c kc3 --probe=0xffffffff81000000 kprobe_addr",
    "enable-event -k -s k1 -c kc3 --function=do_sys_open kretprobe_fn",
    f"enable-event -k -s k1 -c kc3 --userspace-probe=elf:{LIBC}:malloc uprobe_fn",
    f"enable-event -k -s k1 -c kc3 --userspace-probe=sdt:{H}/sdt_probes:pyl:tick uprobe_sdt",
    "enable-event -k -s k1 -c kc4 --all --syscall",
    "enable-event -k -s k1 sched_process_fork",
    (
        "add-context -k -s k1 -c kc1 -t pid -t tid -t procname -t prio -t nice -t vpid -t vtid"
        " -t ppid -t vppid -t hostname -t interruptible -t preemptible -t need_reschedule"
        " -t migratable -t callstack-kernel -t callstack-user -t cgroup_ns -t ipc_ns -t mnt_ns"
        " -t net_ns -t pid_ns -t time_ns -t user_ns -t uts_ns -t uid -t euid -t suid -t gid"
        " -t egid -t sgid -t vuid -t veuid -t vsuid -t vgid -t vegid -t vsgid"
    ),
    (
        "add-context -k -s k1 -c kc2 -t perf:cpu:cpu-cycles -t perf:cpu:raw:r0013c:rawcpu"
        " -t perf:cpu:L1-dcache-load-misses -t perf:cpu:page-fault"
    ),
    "add-context -k -s k1 -t pid",
    "add-context -k -s k1 -t '$app.myprov:myctx'",
    "track -k -s k1 --pid=1,2 --vpid=3 --uid=0 --vuid=0 --gid=0 --vgid=0",
    "track -k -s k1 --uid=root --vuid=root --gid=root --vgid=root",
    "untrack -k -s k1 --pid=1",
    "untrack -k -s k1 --all --pid",
    "track -k -s k1 --all --vgid",
    "list k1",
    "list k1 -k",
    "list k1 -c kc1",
    "list -k",
    "list -k --syscall",
    "list -k -f",
    "disable-channel -k -s k1 kc4",
    "enable-channel -k -s k1 kc4",
    "start k1",
    "regenerate statedump -s k1",
    "regenerate metadata -s k1",
    "rotate k1",
    "stop k1",
    "disable-event -k -s k1 -c kc1 sched_switch",
    "disable-event -k -s k1 -c kc2 --syscall close",
    "disable-event -k -s k1 -c kc3 --probe kprobe_sym",
    "disable-event -k -s k1 -c kc3 --function kretprobe_fn",
    "disable-event -k -s k1 -c kc2 --all-events",
    "clear k1",
    "enable-channel -k -s k2 ksc",
    "enable-event -k -s k2 -c ksc sched_switch",
    "start k2",
    "snapshot record -s k2",
    "stop k2",
    "save k1",
    *KERNEL_TRIGGERS,
    "list-triggers",
    "remove-trigger tk",
    "destroy k1",
    "destroy --all",
]

SCENARIOS = [("stock", STOCK), ("fake", FAKE)]

ABOUT = (
    "{version} CLI requests, recorded by tests/host/capture_cli_requests.py: one entry per"
    " connection, data = base64(zlib(bytes the CLI sent)), fds = [stream offset, [paths of"
    " the fds passed there]]"
)


def cli_env() -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": CAPTURE_HOME,
        "LTTNG_HOME": CAPTURE_HOME,
        "LC_ALL": "C.UTF-8",
        # Never spawn a daemon: the proxy is the daemon.
        "LTTNG_SESSIOND_PATH": "/bin/false",
    }


def backend_argv(backend: str, sock: str) -> list[str]:
    if backend == "stock":
        return ["lttng-sessiond", f"--client-sock={sock}", "--quiet"]
    return [sys.executable, str(FAKE_KERNEL), sock]


class Proxy:
    """Relays CLI connections to the backend socket, recording the CLI's side."""

    def __init__(self, backend_socket: str) -> None:
        self.backend_socket = backend_socket
        self.open_connections = 0
        self.recorded: list[tuple[bytes, list[tuple[int, tuple[str, ...]]]]] = []

    async def relay(
        self, src: trio.socket.SocketType, dst: trio.socket.SocketType, record: bool
    ) -> None:
        """Copy src to dst until EOF; when recording, store what came once src is done."""
        data_in = bytearray()
        fds_at: list[tuple[int, tuple[str, ...]]] = []
        forward = True
        while True:
            try:
                data, anc, _flags, _addr = await src.recvmsg(65536, FDS_CMSG_SPACE)
            except OSError:
                break
            fds = received_fds(anc)
            try:
                if not data:
                    break
                # One recvmsg may join the byte that carries fds to the bytes before it
                # (never to those after): the fds belong to its last byte.
                passed = [(len(data) - 1, fds)] if fds else []
                if record and fds:
                    paths = tuple(os.readlink(f"/proc/self/fd/{fd}") for fd in fds)
                    fds_at.append((len(data_in) + len(data) - 1, paths))
                data_in += data
                if forward:
                    try:
                        await send_stream(dst, data, passed)
                    except OSError:
                        # The stock daemon answers some errors before reading the payload:
                        # keep reading the CLI so that the whole request is recorded.
                        forward = False
            finally:
                for fd in fds:
                    os.close(fd)
        if record and data_in:
            self.recorded.append((bytes(data_in), fds_at))
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass

    async def serve_connection(self, cli: trio.socket.SocketType) -> None:
        self.open_connections += 1
        try:
            with cli, trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as daemon:
                try:
                    await daemon.connect(self.backend_socket)
                except OSError:
                    return  # the stock daemon, starting, checks that no other one runs
                async with trio.open_nursery() as nursery:
                    nursery.start_soon(self.relay, cli, daemon, True)
                    nursery.start_soon(self.relay, daemon, cli, False)
        finally:
            self.open_connections -= 1

    async def serve(self, listener: trio.socket.SocketType, nursery: trio.Nursery) -> None:
        while True:
            conn, _ = await listener.accept()
            nursery.start_soon(self.serve_connection, conn)


async def wait_for_socket(path: str, proc: trio.Process) -> None:
    with trio.fail_after(20):
        while True:
            if proc.returncode is not None:
                raise RuntimeError(f"backend exited with {proc.returncode}")
            with trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
                try:
                    await probe.connect(path)
                    return
                except OSError:
                    await trio.sleep(0.05)


async def run_scenario(backend: str, commands: list[str]) -> list[CapturedRequest]:
    """The commands against a fresh backend; the requests in the order the CLI sent them."""
    out: list[CapturedRequest] = []
    proxy = Proxy(f"{BACKEND_DIR}/{backend}-client")
    proc = await trio.lowlevel.open_process(backend_argv(backend, proxy.backend_socket))
    try:
        await wait_for_socket(proxy.backend_socket, proc)
        # Bound once the backend runs: the stock daemon refuses to start while something
        # answers on the default client socket.
        with trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as listener:
            await listener.bind(CLI_SOCKET)
            listener.listen(64)
            async with trio.open_nursery() as nursery:
                nursery.start_soon(proxy.serve, listener, nursery)
                for command in commands:
                    argv = f"lttng {command}"
                    status = "timed out"
                    # Some commands wait for what never comes here (a relay daemon).
                    with trio.move_on_after(COMMAND_TIMEOUT_S):
                        result = await trio.run_process(
                            ["sh", "-c", f"exec {argv}"],
                            env=cli_env(),
                            capture_stdout=True,
                            stderr=subprocess.STDOUT,
                            check=False,
                        )
                        last = result.stdout.decode(errors="replace").strip().splitlines()[-1:]
                        status = f"rc={result.returncode} {last}"
                    with trio.move_on_after(COMMAND_TIMEOUT_S):
                        while proxy.open_connections:
                            await trio.sleep(0.01)
                    print(f"[{backend}] {argv}: {status}", file=sys.stderr, flush=True)
                    out += [
                        CapturedRequest(argv, backend, data, tuple(fds))
                        for data, fds in proxy.recorded
                    ]
                    proxy.recorded.clear()
                nursery.cancel_scope.cancel()
        os.unlink(CLI_SOCKET)
    finally:
        proc.terminate()
        await proc.wait()
    return out


async def capture() -> list[CapturedRequest]:
    os.makedirs(CAPTURE_HOME, exist_ok=True)
    os.makedirs(os.path.dirname(CLI_SOCKET), exist_ok=True)
    os.makedirs(BACKEND_DIR, exist_ok=True)
    await trio.run_process(["gcc", "-O1", "-o", f"{CAPTURE_HOME}/sdt_probes", str(SDT_SOURCE)])
    out: dict[tuple[bytes, tuple[tuple[int, tuple[str, ...]], ...]], CapturedRequest] = {}
    for backend, commands in SCENARIOS:
        for request in await run_scenario(backend, commands):
            out.setdefault((request.data, request.fds), request)  # the CLI repeats itself
    return list(out.values())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=pathlib.Path, default=CORPUS)
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        version = subprocess.run(["lttng", "--version"], capture_output=True, text=True, check=True)
        requests = trio.run(capture)
        # The corpus goes to stdout: this namespace has its own /tmp.
        sys.stdout.write(dump(requests, ABOUT.format(version=version.stdout.strip())))
        return 0
    if not (sandbox_available() and shutil.which("lttng") and shutil.which("lttng-sessiond")):
        sys.exit("needs root, unshare, lttng and lttng-sessiond")
    partial = args.out.with_suffix(".partial")
    with partial.open("w") as out:
        me = [sys.executable, str(pathlib.Path(__file__).resolve()), "--inner"]
        rc = subprocess.run(sandboxed(me, read_only=True), stdout=out, check=False).returncode
    if rc == 0:
        partial.rename(args.out)
        print(f"written to {args.out}", file=sys.stderr)
    return rc


if __name__ == "__main__":
    sys.exit(main())

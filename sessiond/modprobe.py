"""Load the pylttng kernel module on demand and explain precisely when that fails."""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import dataclass

import trio
from pylttng.protocol import kernel_abi as abi
from pylttng.protocol.client.constants import ErrorCode

from .errors import CommandError
from .kernel_tracer import KernelTracer, KernelTracerError

log = logging.getLogger("pylttng.sessiond.modprobe")

MODULE_NAME = "pylttng"


@dataclass(frozen=True)
class KernelUnavailable:
    """Why the kernel tracer cannot be used, and the lttng error code the client gets."""

    reason: str
    code: ErrorCode


async def _modprobe() -> KernelUnavailable | None:
    modprobe = shutil.which("modprobe", path="/usr/sbin:/sbin:/usr/bin:/bin")
    if modprobe is None:
        return KernelUnavailable("modprobe is not installed", ErrorCode.KERN_NA)
    result = await trio.run_process(
        [modprobe, MODULE_NAME], capture_stdout=True, capture_stderr=True, check=False
    )
    if result.returncode == 0:
        return None
    stderr = result.stderr.decode(errors="replace").strip()
    release = os.uname().release
    if "not found" in stderr:
        return KernelUnavailable(
            f"module {MODULE_NAME} is not installed for kernel {release} ({stderr})",
            ErrorCode.KERN_NA,
        )
    return KernelUnavailable(
        f"loading module {MODULE_NAME} was refused (modprobe exit {result.returncode}: {stderr})",
        ErrorCode.KERN_NA,
    )


async def load_kernel_tracer(*, no_kernel: bool) -> KernelTracer | KernelUnavailable:
    """Open /proc/lttng, modprobing the module first when needed (init_kernel_tracer())."""
    is_root = os.geteuid() == 0
    if no_kernel:
        code = ErrorCode.KERN_NA if is_root else ErrorCode.NEED_ROOT_SESSIOND
        return KernelUnavailable("kernel tracing disabled (--no-kernel)", code)
    if not is_root:
        return KernelUnavailable(
            "kernel tracing needs a root session daemon", ErrorCode.NEED_ROOT_SESSIOND
        )
    if not os.path.exists(abi.PROC_PATH):
        failure = await _modprobe()
        if failure is not None:
            return failure
    try:
        tracer = KernelTracer.open()
    except OSError as exc:
        return KernelUnavailable(f"cannot open {abi.PROC_PATH}: {exc.strerror}", ErrorCode.KERN_NA)
    try:
        major, minor = tracer.abi_version()
    except KernelTracerError as exc:
        tracer.close()
        return KernelUnavailable(
            f"{abi.PROC_PATH} does not answer the ABI version ioctl: {exc.strerror}",
            ErrorCode.KERN_VERSION,
        )
    if major != abi.ABI_MAJOR_VERSION:
        tracer.close()
        return KernelUnavailable(
            f"kernel tracer ABI {major}.{minor} is not compatible with "
            f"{abi.ABI_MAJOR_VERSION}.{abi.ABI_MINOR_VERSION}",
            ErrorCode.KERN_VERSION,
        )
    log.info("kernel tracer ready (ABI %d.%d)", major, minor)
    return tracer


class TracerLoader:
    """The kernel tracer, loaded on the first kernel command and retried on each one
    until it works (init_kernel_tracer())."""

    def __init__(self, *, no_kernel: bool, tracer: KernelTracer | None = None) -> None:
        self._no_kernel = no_kernel
        self._tracer = tracer  # given by tests
        self.unavailable: KernelUnavailable | None = None

    @property
    def loaded(self) -> KernelTracer | None:
        return self._tracer

    async def get(self) -> KernelTracer:
        if self._tracer is not None and not self._tracer.answers():
            # /proc/lttng pins no module: with no session left, `rmmod` (or the stock
            # lttng-sessiond's `modprobe -r` at exit) may unload it under an open fd, whose
            # ioctls then fail (ENOTTY). Load and open it again, as on the first command.
            log.warning("kernel tracer unloaded since it was opened: loading it again")
            self._tracer.close()
            self._tracer = None
        if self._tracer is None:
            loaded = await load_kernel_tracer(no_kernel=self._no_kernel)
            if isinstance(loaded, KernelUnavailable):
                self.unavailable = loaded
                log.warning("kernel tracer not available: %s", loaded.reason)
                raise CommandError(loaded.code, loaded.reason)
            self._tracer = loaded
            self.unavailable = None
        return self._tracer

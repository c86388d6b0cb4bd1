"""Command line of pylttng-sessiond (options follow lttng-sessiond where they overlap)."""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import sys

import trio

from .daemon import AlreadyRunning, Config, run
from .daemonize import Readiness, daemonize
from .paths import RunPaths

LOG_FILE_NAME = "pylttng-sessiond.log"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pylttng-sessiond", description="LTTng-compatible session daemon (kernel domain)"
    )
    p.add_argument("-d", "--daemonize", action="store_true", help="start as a daemon")
    p.add_argument(
        "-b", "--background", action="store_true", help="start as a daemon, keep console open"
    )
    p.add_argument(
        "-S", "--sig-parent", action="store_true", help="send SIGUSR1 to the parent when ready"
    )
    p.add_argument("--no-kernel", action="store_true", help="disable the kernel tracer")
    p.add_argument(
        "--consumerd-cmd",
        "--kconsumerd-cmd",
        metavar="PATH",
        help="kernel consumer daemon to run (default: pylttng-consumerd)",
    )
    p.add_argument("-v", "--verbose", action="count", default=0, help="more logging")
    p.add_argument("-q", "--quiet", action="store_true", help="no output on the console")
    return p


def _setup_logging(verbose: int, quiet: bool, rundir: str) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    handlers: list[logging.Handler] = []
    if not quiet:
        handlers.append(logging.StreamHandler(sys.stderr))
    try:
        os.makedirs(rundir, exist_ok=True)
        # Daemonized stderr goes to /dev/null: keep a log where the user can read why.
        handlers.append(logging.FileHandler(os.path.join(rundir, LOG_FILE_NAME)))
    except OSError:
        pass
    logging.basicConfig(
        level=min(level, logging.INFO),
        handlers=handlers,
        format="%(asctime)s pylttng-sessiond[%(process)d] %(levelname)s %(name)s: %(message)s",
    )
    for handler in handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(
            handler, logging.FileHandler
        ):
            handler.setLevel(level)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    paths = RunPaths.for_current_user()
    readiness_fd: int | None = None
    parent_pid = os.getppid()
    if args.daemonize or args.background:
        readiness_fd = daemonize(close_std=args.daemonize)
    _setup_logging(args.verbose, args.quiet, paths.rundir)
    consumerd_cmd = shlex.split(args.consumerd_cmd) if args.consumerd_cmd else None
    config = Config(paths=paths, no_kernel=args.no_kernel, consumerd_cmd=consumerd_cmd)
    readiness = Readiness(readiness_fd, parent_pid if args.sig_parent else None)
    try:
        trio.run(run, config, readiness)
    except AlreadyRunning:
        logging.getLogger("pylttng.sessiond").error(
            "a session daemon is already running in %s", paths.rundir
        )
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())

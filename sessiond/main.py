"""Command line of pylttng-sessiond: the options of lttng-sessiond 2.13 (options.py)."""

from __future__ import annotations

import dataclasses
import logging
import os
import resource
import shlex
import sys

import trio

from . import options
from .daemon import AlreadyRunning, Config, LoadFailed, run
from .daemonize import Readiness, daemonize
from .paths import RunPaths, open_log

LOG_FILE_NAME = "pylttng-sessiond.log"


def _setup_logging(verbose: int, quiet: bool, rundir: str) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    handlers: list[logging.Handler] = []
    if not quiet:
        handlers.append(logging.StreamHandler(sys.stderr))
    try:
        os.makedirs(rundir, exist_ok=True)
        # Daemonized stderr goes to /dev/null: keep a log where the user can read why.
        log_path = os.path.join(rundir, LOG_FILE_NAME)
        os.close(open_log(log_path))  # created, or its mode set, before it is written
        handlers.append(logging.FileHandler(log_path))
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


# set_ulimit() of lttng-sessiond's main.c: every enabled kernel event, channel and stream
# holds a file descriptor, and a session enabling each tracepoint by name needs more than
# the usual 1024. The consumer daemon, started by this one, inherits the limit.
OPEN_FILES_LIMIT = 65535


def _raise_open_files_limit() -> None:
    """To OPEN_FILES_LIMIT, else (without CAP_SYS_RESOURCE, in a container) to the hard limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = max(soft, OPEN_FILES_LIMIT)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, max(hard, wanted)))
    except (OSError, ValueError):
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, hard), hard))
        except (OSError, ValueError) as exc:
            logging.getLogger("pylttng.sessiond").warning(
                "failed to set open files limit: %s", exc)


def main(argv: list[str] | None = None) -> int:
    try:
        args = options.parse(argv, os.environ)
    except options.ConfigError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    if args.version:
        print(options.VERSION)  # print_version() of main.c: the version alone
        return 0
    # sessiond_config_resolve_paths(): absolute, since the daemon moves to "/".
    paths = dataclasses.replace(
        RunPaths.for_current_user(),
        client_socket_path=args.client_sock and os.path.abspath(args.client_sock),
        pid_file_path=args.pidfile and os.path.abspath(args.pidfile),
    )
    readiness_fd: int | None = None
    parent_pid = os.getppid()
    if args.daemonize or args.background:
        readiness_fd = daemonize(close_std=args.daemonize)
    _setup_logging(args.verbose, args.quiet, paths.rundir)
    if os.geteuid() == 0:
        _raise_open_files_limit()
    for line in options.not_applied(args, os.environ):
        logging.getLogger("pylttng.sessiond").info("%s", line)
    consumerd_cmd = shlex.split(args.consumerd_cmd) if args.consumerd_cmd else None
    config = Config(
        paths=paths,
        no_kernel=args.no_kernel,
        consumerd_cmd=consumerd_cmd,
        group=args.group or "tracing",
        verbose_consumer=bool(args.verbose_consumer),
        load_path=args.load and os.path.abspath(args.load),
    )
    readiness = Readiness(readiness_fd, parent_pid if args.sig_parent else None)
    try:
        trio.run(run, config, readiness)
    except AlreadyRunning:
        logging.getLogger("pylttng.sessiond").error(
            "a session daemon is already running in %s", paths.rundir
        )
        return 1
    except LoadFailed as exc:
        logging.getLogger("pylttng.sessiond").error("session load failed: %s", exc)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())

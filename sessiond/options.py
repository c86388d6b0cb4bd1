"""The options of lttng-sessiond 2.13, from the environment, lttng.conf files and the
command line, in that order of precedence (src/bin/lttng-sessiond/main.c set_options(),
sessiond-config.c sessiond_config_apply_env_config(), lttng-sessiond(8)).

Every option of the stock daemon is known; those that have no meaning for a daemon
driving pylttng.ko alone (user space tracing, agents, triggers' error counters, the
kernel probe modules) are accepted and reported by `not_applied()`.
"""

from __future__ import annotations

import argparse
import configparser
import logging
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from .paths import home_dir

log = logging.getLogger("pylttng.sessiond")

# The lttng-tools release whose protocol and behaviour pylttng-sessiond follows.
VERSION = "2.13.9"
SYSTEM_CONFIG = "/etc/lttng/lttng.conf"  # DEFAULT_DAEMON_SYSTEM_CONFIGPATH (Debian)
CONFIG_SECTION = "sessiond"
# config_ignore_options[]: meaningless in a configuration file, silently skipped.
CONFIG_IGNORED = ("help", "version", "config")
MAX_VERBOSE = 3


def _port(text: str) -> int:
    """--agent-tcp-port: 1 to 65534 (set_option())."""
    if not text[:1].isdigit() or not 0 < int(text, 0) < 65535:
        raise argparse.ArgumentTypeError(f"wrong value {text!r}")
    return int(text, 0)


def _slots(text: str) -> int:
    """--event-notifier-error-buffer-size-*: a positive number of counters."""
    if not text[:1].isdigit() or int(text, 0) <= 0:
        raise argparse.ArgumentTypeError(f"wrong value {text!r}")
    return int(text, 0)


def _nonempty(text: str) -> str:
    """set_option(): an empty argument is invalid."""
    if not text:
        raise argparse.ArgumentTypeError("empty argument")
    return text


@dataclass(frozen=True)
class Option:
    long: str
    kind: str  # "flag", "count" or "value"
    help: str
    short: str = ""
    # Why pylttng does not apply it; "" when it does.
    not_applied: str = ""
    parse: Callable[[str], object] = _nonempty
    metavar: str = "PATH"


_UST = "user space tracing is not provided"
_PROBES = "pylttng.ko provides every tracepoint: there are no probe modules to load"
_SOCKET = "pylttng-consumerd has one socket, beside the session daemon's"
OPTIONS = (
    Option("daemonize", "flag", "start as a daemon, close the console", "d"),
    Option("background", "flag", "start as a daemon, keep the console open", "b"),
    Option("sig-parent", "flag", "send SIGUSR1 to the parent when ready", "S"),
    Option("config", "value", "read this INI configuration file too", "f"),
    Option("group", "value", "the tracing group (default: tracing)", "g", metavar="GROUP"),
    Option("load", "value", "load session configurations from PATH (file or folder)", "l"),
    Option("pidfile", "value", "write the pid to PATH", "p"),
    Option("client-sock", "value", "the client socket path", "c"),
    Option("no-kernel", "flag", "disable the kernel tracer"),
    Option("kmod-probes", "value", "probe modules to load (ignored)", not_applied=_PROBES,
           metavar="PROBE[,PROBE]..."),
    Option("extra-kmod-probes", "value", "more probe modules to load (ignored)",
           not_applied=_PROBES, metavar="PROBE[,PROBE]..."),
    Option("kconsumerd-cmd-sock", "value", "(ignored)", not_applied=_SOCKET),
    Option("kconsumerd-err-sock", "value", "(ignored)", not_applied=_SOCKET),
    Option("apps-sock", "value", "(ignored)", "a", not_applied=_UST),
    Option("agent-tcp-port", "value", "(ignored)", not_applied=_UST, parse=_port,
           metavar="PORT"),
    *(Option(f"ustconsumerd{bits}-{kind}-sock", "value", "(ignored)", not_applied=_UST)
      for bits in (32, 64) for kind in ("cmd", "err")),
    *(Option(f"consumerd{bits}-{kind}", "value", "(ignored)", not_applied=_UST)
      for bits in (32, 64) for kind in ("path", "libdir")),
    *(Option(f"event-notifier-error-buffer-size-{domain}", "value", "(ignored)",
             not_applied="triggers are not provided", parse=_slots, metavar="SLOTS")
      for domain in ("kernel", "userspace")),
    Option("verbose", "count", "more logging (up to 3 times)", "v"),
    Option("verbose-consumer", "count", "more logging from the consumer daemon"),
    Option("quiet", "flag", "no output on the console", "q"),
    Option("version", "flag", "show the version and quit", "V"),
    # pylttng's own: the consumer daemon to run.
    Option("consumerd-cmd", "value", "kernel consumer daemon to run "
           "(default: pylttng-consumerd)"),
)
_BY_NAME = {option.long: option for option in OPTIONS}
# sessiond_config_apply_env_config(): variables that set an option's default.
ENV_OPTIONS = {"LTTNG_KMOD_PROBES": "kmod-probes",
               "LTTNG_EXTRA_KMOD_PROBES": "extra-kmod-probes"}
# Other variables lttng-sessiond(8) names, and why pylttng does not use them.
ENV_NOT_APPLIED = {
    "LTTNG_APP_SOCKET_TIMEOUT": _UST,
    **{f"LTTNG_CONSUMERD{bits}_{kind}": _UST for bits in (32, 64) for kind in ("BIN", "LIBDIR")},
    "LTTNG_UST_CLOCK_PLUGIN": _UST,
    "LTTNG_NETWORK_SOCKET_TIMEOUT": "streaming to a relay daemon is not provided",
    "LTTNG_ABORT_ON_ERROR": "errors are logged, never aborted on",
    "LTTNG_DEBUG_NOCLONE": "the run-as child is a plain fork, safe under a debugger",
}


def dest(name: str) -> str:
    return name.replace("-", "_")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pylttng-sessiond",
        description="LTTng-compatible session daemon (kernel domain), options of "
        "lttng-sessiond 2.13",
    )
    for option in OPTIONS:
        flags = [f"--{option.long}"] + ([f"-{option.short}"] if option.short else [])
        if option.long == "consumerd-cmd":
            flags.append("--kconsumerd-cmd")
        if option.kind == "flag":
            p.add_argument(*flags, action="store_true", help=option.help)
        elif option.kind == "count":
            p.add_argument(*flags, action="count", default=0, help=option.help)
        else:
            p.add_argument(*flags, type=option.parse, metavar=option.metavar, help=option.help)
    return p


def env_defaults(environ: Mapping[str, str]) -> dict[str, str]:
    """The options the environment sets, by destination name."""
    return {dest(name): environ[var] for var, name in ENV_OPTIONS.items() if environ.get(var)}


def config_paths(override: str | None) -> list[str]:
    """config_get_section_entries(): the system file, the user's ($LTTNG_HOME), then
    --config's."""
    paths = [SYSTEM_CONFIG, os.path.join(home_dir(), ".lttng", "lttng.conf")]
    return [*paths, override] if override else paths


class ConfigError(Exception):
    """The file --config names cannot be read."""


def config_entries(paths: Sequence[str], required: str | None) -> dict[str, str]:
    """The [sessiond] entries of the files that exist, later ones winning."""
    entries: dict[str, str] = {}
    for path in paths:
        ini = configparser.ConfigParser(interpolation=None, strict=False,
                                        inline_comment_prefixes=(";",))
        ini.optionxform = str  # type: ignore[assignment,method-assign]  # keys as written
        try:
            with open(path, encoding="utf-8", errors="replace") as text:
                ini.read_file(text)
        except OSError:
            if path == required:
                raise ConfigError(f"failed to open daemon configuration file at {path}")
            continue
        except configparser.Error as exc:
            # ini.c reports a bad line and goes on; configparser keeps what it read.
            log.warning("%s: %s", path, exc)
        if ini.has_section(CONFIG_SECTION):
            entries.update(ini.items(CONFIG_SECTION))
    return entries


def config_argv(entries: Mapping[str, str]) -> list[str]:
    """config_entry_handler(): each entry as the command-line option it names. A switch
    is on for a non-zero number or true/yes/on; verbosity takes the number itself."""
    argv: list[str] = []
    for name, value in entries.items():
        option = _BY_NAME.get(name)
        if name in CONFIG_IGNORED:
            continue
        if option is None:
            log.warning('unrecognized option "%s" in daemon configuration file', name)
            continue
        if option.kind == "value":
            try:
                option.parse(value)
            except (argparse.ArgumentTypeError, ValueError):
                log.warning('invalid argument provided for option "%s", using default value',
                            name)
                continue
            argv += [f"--{name}", value]
            continue
        count = _switch_value(value)
        if count is None:
            log.warning('invalid configuration value "%s" for option %s', value, name)
            continue
        times = min(count, MAX_VERBOSE) if option.kind == "count" else min(count, 1)
        argv += [f"--{name}"] * times
    return argv


def _switch_value(value: str) -> int | None:
    """config_parse_value()."""
    digits = len(value) - len(value.lstrip("0123456789"))
    if digits:
        return int(value[:digits])
    lowered = value.lower()
    if lowered in ("yes", "true", "on"):
        return 1
    if lowered in ("no", "false", "off"):
        return 0
    return None


def parse(argv: Sequence[str] | None, environ: Mapping[str, str]) -> argparse.Namespace:
    """Environment, then configuration files, then the command line (set_options())."""
    p = parser()
    args = list(argv) if argv is not None else None
    cli = p.parse_args(args)  # an unknown option stops here, before any file is read
    p.set_defaults(**env_defaults(environ))
    required = os.path.abspath(cli.config) if cli.config else None
    from_files = config_argv(config_entries(config_paths(required), required))
    namespace = p.parse_args(from_files)
    namespace = p.parse_args(args, namespace=namespace)
    namespace.verbose = min(namespace.verbose, MAX_VERBOSE)
    return namespace


def not_applied(args: argparse.Namespace, environ: Mapping[str, str]) -> list[str]:
    """One line per option or variable that is set but means nothing here."""
    lines = [f"option --{o.long} ignored: {o.not_applied}" for o in OPTIONS
             if o.not_applied and getattr(args, dest(o.long)) is not None]
    lines += [f"{var} ignored: {why}" for var, why in ENV_NOT_APPLIED.items()
              if var in environ]
    return lines

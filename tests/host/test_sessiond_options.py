"""The options of pylttng-sessiond: lttng-sessiond 2.13's, from the environment, the
lttng.conf files and the command line (sessiond/options.py), and the daemon process
honouring them."""

from __future__ import annotations

import logging
import os
import pathlib
import shlex
import subprocess

import pytest
from pylttng.sessiond import options
from test_sessiond_cli import OURS, STOCK_SESSIOND, UNSHARE, _daemon_env


@pytest.fixture
def home(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    monkeypatch.setenv("LTTNG_HOME", str(tmp_path))
    monkeypatch.setattr(options, "SYSTEM_CONFIG", str(tmp_path / "no-system.conf"))
    return tmp_path


def write_conf(path: pathlib.Path, body: str) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(body)
    return path


def test_command_line_over_files_over_environment(home: pathlib.Path) -> None:
    write_conf(home / ".lttng" / "lttng.conf",
               "[sessiond]\ngroup = from-user\nkmod-probes=user\nverbose=2\n")
    extra = write_conf(home / "extra.conf",
                       "; a comment\n[other]\ngroup = not-mine\n[sessiond]\n"
                       "kmod-probes = file ; inline comment\ndaemonize=yes\nno-kernel=off\n")
    env = {"LTTNG_KMOD_PROBES": "env", "LTTNG_EXTRA_KMOD_PROBES": "env-extra"}
    args = options.parse(["--config", str(extra), "-v", "-g", "cli"], env)
    assert args.group == "cli"
    assert args.kmod_probes == "file"  # --config's file over the user's over the env
    assert args.extra_kmod_probes == "env-extra"
    assert args.verbose == 3  # the file sets 2, -v adds one (set_option())
    assert args.daemonize and not args.no_kernel
    args = options.parse(["--kmod-probes", "cli"], env)
    assert (args.kmod_probes, args.group, args.daemonize) == ("cli", "from-user", False)


def test_bad_configuration_entries_are_reported_and_skipped(
        home: pathlib.Path, caplog: pytest.LogCaptureFixture) -> None:
    conf = write_conf(home / "c.conf", "[sessiond]\nno-such-option=1\nno-kernel=maybe\n"
                      "agent-tcp-port=99999\ngroup=\nversion=yes\nquiet=1\n")
    with caplog.at_level(logging.WARNING):
        args = options.parse(["-f", str(conf)], {})
    text = caplog.text
    assert 'unrecognized option "no-such-option"' in text
    assert 'invalid configuration value "maybe" for option no-kernel' in text
    assert 'invalid argument provided for option "agent-tcp-port"' in text
    assert 'invalid argument provided for option "group"' in text
    assert not args.version  # config_ignore_options[]
    assert args.quiet and not args.no_kernel and args.agent_tcp_port is None


def test_missing_config_file_is_an_error(home: pathlib.Path) -> None:
    with pytest.raises(options.ConfigError):
        options.parse(["--config", str(home / "nope.conf")], {})


def test_what_does_not_apply_is_named(home: pathlib.Path) -> None:
    args = options.parse(["--kmod-probes", "sched", "--apps-sock", "/x",
                          "--event-notifier-error-buffer-size-kernel", "8"], {})
    lines = options.not_applied(args, {"LTTNG_NETWORK_SOCKET_TIMEOUT": "5",
                                       "LTTNG_CONSUMERD64_BIN": "/x"})
    assert any(line.startswith("option --kmod-probes ignored: pylttng.ko provides every")
               for line in lines)
    assert any(line.startswith("option --apps-sock ignored") for line in lines)
    assert any(line.startswith("option --event-notifier-error-buffer-size-kernel ignored")
               for line in lines)
    assert any(line.startswith("LTTNG_NETWORK_SOCKET_TIMEOUT ignored") for line in lines)
    assert any(line.startswith("LTTNG_CONSUMERD64_BIN ignored") for line in lines)
    assert options.not_applied(options.parse([], {}), {}) == []


def sessiond(*args: str, home: pathlib.Path) -> subprocess.CompletedProcess[str]:
    env = dict(_daemon_env(), HOME=str(home), LTTNG_HOME=str(home))
    return subprocess.run([str(OURS), *args], capture_output=True, text=True, env=env,
                          timeout=60, check=False)


needs_ours = pytest.mark.skipif(not OURS, reason="pylttng-sessiond is not installed")


@needs_ours
def test_version_as_the_stock_daemon_prints_it(tmp_path: pathlib.Path) -> None:
    ours = sessiond("--version", home=tmp_path)
    assert (ours.returncode, ours.stdout, ours.stderr) == (0, f"{options.VERSION}\n", "")
    assert sessiond("-V", home=tmp_path).stdout == ours.stdout
    if STOCK_SESSIOND:
        stock = subprocess.run([STOCK_SESSIOND, "--version"], capture_output=True, text=True,
                               timeout=60, check=False)
        assert stock.stdout == ours.stdout


@needs_ours
def test_option_errors(tmp_path: pathlib.Path) -> None:
    unknown = sessiond("--no-such-option", home=tmp_path)
    assert unknown.returncode == 2 and "unrecognized arguments" in unknown.stderr
    missing = sessiond("--config", str(tmp_path / "nope.conf"), "-V", home=tmp_path)
    assert missing.returncode == 1 and "nope.conf" in missing.stderr
    assert missing.stdout == ""  # the configuration is read before --version answers


@pytest.mark.skipif(not (OURS and UNSHARE and os.geteuid() == 0),
                    reason="needs root, unshare and pylttng-sessiond")
def test_daemon_honours_pidfile_socket_group_and_logs_ignored_options(
        tmp_path: pathlib.Path) -> None:
    pid_file, sock = tmp_path / "d.pid", tmp_path / "client.sock"
    conf = write_conf(tmp_path / "d.conf", "[sessiond]\nextra-kmod-probes=a,b\n")
    daemon = " ".join(shlex.quote(a) for a in (
        str(OURS), "--daemonize", "--no-kernel", "--pidfile", str(pid_file), "-c", str(sock),
        "--group", "no-such-group-xyz", "--config", str(conf), "--verbose-consumer"))
    script = "\n".join([
        "mount -t tmpfs tmpfs /run",
        f"export HOME={shlex.quote(str(tmp_path))} LTTNG_HOME={shlex.quote(str(tmp_path))}",
        f"LTTNG_NETWORK_SOCKET_TIMEOUT=3 {daemon}; echo rc=$?",
        f"test -S {shlex.quote(str(sock))} && echo socket-ok",
        f"kill $(cat {shlex.quote(str(pid_file))}) && echo killed; sleep 1",
        f"test -e {shlex.quote(str(pid_file))} || echo pidfile-removed",
        "cat /run/lttng/pylttng-sessiond.log",
    ])
    done = subprocess.run([str(UNSHARE), "-m", "--propagation", "private", "bash", "-c", script],
                          capture_output=True, text=True, timeout=120, check=False,
                          env=_daemon_env())
    out = done.stdout
    for expected in ("rc=0", "socket-ok", "killed", "pidfile-removed",
                     "option --extra-kmod-probes ignored: pylttng.ko provides every tracepoint",
                     "LTTNG_NETWORK_SOCKET_TIMEOUT ignored",
                     "no tracing group 'no-such-group-xyz'"):
        assert expected in out, out + done.stderr

"""Issue 21, `lttng save` and `lttng load`: pylttng-sessiond writes the configuration the
stock lttng-sessiond 2.13 writes, and the stock CLI's `load` (liblttng-ctl, client side)
recreates the session from it, with --override-name and --override-url too; trackers,
trace file limits, the monitor timer, rotation schedules and relay daemon outputs
included, live sessions and snapshot outputs on a relay daemon too."""

from __future__ import annotations

import os
import re
import time
from pathlib import Path

import pytest
from conftest import (
    Lttng,
    build_c_program,
    read_trace,
    run,
    start_stock_sessiond,
    stop_daemons,
)
from lxml import etree
from test_probes import SYMBOL, touch_files
from test_uprobes import FUNCTION, PROGRAM, run_program

XSD = etree.XMLSchema(etree.parse("/usr/share/xml/lttng/session.xsd"))
# Listings whose order is a list's: `load` recreates channels and events in the saved
# order, and both daemons keep them newest first, so a round trip reverses them.
UNORDERED = frozenset({"channels", "events"})


@pytest.fixture
def program(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    return build_c_program(request, tmp_path, "saved", PROGRAM, "-O2")


def saved_dir(request: pytest.FixtureRequest, tmp_path: Path, what: str) -> Path:
    """A folder kept with the run's output when there is one, for a look afterwards."""
    out = os.environ.get("PYLTTNG_VM_OUT")
    return Path(out, "saved", request.node.name, what) if out else tmp_path / what


def build_session(lttng: Lttng, name: str, program: Path) -> None:
    """Several channels, every kind of kernel event, a disabled one, contexts."""
    lttng.ok("create", name)
    lttng.ok("enable-channel", "-k", "big", "--subbuf-size", "2M", "--num-subbuf", "8",
             "--switch-timer", "500000", "--overwrite")
    lttng.ok("enable-channel", "-k", "small", "--output", "mmap", "--read-timer", "100000")
    lttng.ok("enable-event", "-k", "-c", "big", "sched_switch,sched_process_fork")
    lttng.ok("disable-event", "-k", "-c", "big", "sched_process_fork")
    lttng.ok("enable-event", "-k", "-c", "small", "--syscall", "openat,close")
    lttng.ok("enable-event", "-k", "-c", "small", "--probe", f"{SYMBOL}+0x0", "myprobe")
    lttng.ok("enable-event", "-k", "-c", "small", "--function", SYMBOL, "myret")
    lttng.ok("enable-event", "-k", "-c", "small", "--userspace-probe",
             f"elf:{program}:{FUNCTION}", "myuprobe")
    lttng.ok("add-context", "-k", "-c", "big", "-t", "pid", "-t", "procname",
             "-t", "perf:cpu:page-fault")
    lttng.ok("add-context", "-k", "-t", "tid")  # every channel


def canonical(element: etree._Element, unordered: frozenset[str] = UNORDERED
              ) -> tuple[object, ...]:
    """An element as (tag, text, children), namespaces dropped, the order of the
    children of `unordered` elements ignored."""
    tag = etree.QName(element).localname
    children = [canonical(child, unordered) for child in element]
    if tag in unordered:
        children.sort(key=repr)
    return (tag, (element.text or "").strip(), tuple(children))


def mi_list(lttng: Lttng, session: str) -> tuple[object, ...]:
    listed = lttng.ok("--mi", "xml", "list", session).out
    return canonical(etree.fromstring(listed.encode()))


def session_path(lttng: Lttng, session: str) -> str:
    listed = etree.fromstring(lttng.ok("--mi", "xml", "list", session).out.encode())
    [path] = listed.xpath("//*[local-name()='session']/*[local-name()='path']/text()")
    return str(path)


def replaced(tree: tuple[object, ...], old: str, new: str) -> tuple[object, ...]:
    tag, text, children = tree
    return (tag, new if text == old else text,
            tuple(replaced(child, old, new) for child in children))  # type: ignore[arg-type]


def test_save_then_load_recreates_the_session(
        lttng: Lttng, program: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    build_session(lttng, "sv", program)
    before = mi_list(lttng, "sv")
    folder = saved_dir(request, tmp_path, "pylttng")
    lttng.ok("save", "sv", "-o", str(folder))
    saved = folder / "sv.lttng"
    assert XSD.validate(etree.parse(str(saved))), XSD.error_log
    again = lttng("save", "sv", "-o", str(folder))
    assert again.rc != 0 and "Session file already exists" in again.text, again.text
    lttng.ok("save", "sv", "-o", str(folder), "-f")
    lttng.ok("destroy", "sv")

    lttng.ok("load", "-i", str(folder), "sv")
    assert mi_list(lttng, "sv") == before
    lttng.ok("start", "sv")
    pid = run_program(program, 3)
    touch_files(3)
    time.sleep(0.5)
    lttng.ok("stop", "sv")
    lttng.ok("destroy", "sv")
    lines = read_trace(lttng, "sv")
    assert any(" sched_switch: " in line for line in lines)
    assert not any(" sched_process_fork: " in line for line in lines)  # saved disabled
    assert sum(" myuprobe: " in line and f"tid = {pid}" in line for line in lines) == 3
    assert any(" myprobe: " in line for line in lines)
    assert any(" syscall_entry_openat: " in line for line in lines)

    lttng.ok("load", "-i", str(folder), "--override-name", "sv2", "sv")
    assert mi_list(lttng, "sv2") == replaced(before, "sv", "sv2")
    lttng.ok("destroy", "sv2")

    elsewhere = tmp_path / "elsewhere"
    lttng.ok("load", "-i", str(folder), "--override-url", f"file://{elsewhere}", "sv")
    moved = session_path(lttng, "sv")
    assert moved.rstrip("/") == str(elsewhere)
    assert mi_list(lttng, "sv") == replaced(before, session_path_of(before), moved)
    lttng.ok("destroy", "sv")


def test_daemon_loads_saved_sessions_at_start(
        lttng: Lttng, program: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """pylttng-sessiond --load FOLDER applies the files itself, before it is ready."""
    build_session(lttng, "atstart", program)
    before = mi_list(lttng, "atstart")
    folder = saved_dir(request, tmp_path, "load")
    lttng.ok("save", "atstart", "-o", str(folder))
    lttng.ok("destroy", "atstart")
    stop_daemons()
    sessiond = lttng.env["LTTNG_SESSIOND_PATH"]
    started = run(sessiond, "--daemonize", "--load", str(folder), env=lttng.env)
    assert started.rc == 0, started.text
    assert mi_list(lttng, "atstart") == before
    lttng.ok("start", "atstart")
    touch_files(3)
    time.sleep(0.5)
    lttng.ok("stop", "atstart")
    lttng.ok("destroy", "atstart")
    assert any(" myprobe: " in line for line in read_trace(lttng, "atstart"))


def session_path_of(tree: tuple[object, ...]) -> str:
    """The <path> of the listed session in a canonical MI listing."""
    tag, text, children = tree
    if tag == "path":
        return str(text)
    for child in children:
        found = session_path_of(child)  # type: ignore[arg-type]
        if found:
            return found
    return ""


def normalized_file(path: Path) -> str:
    return re.sub(r"-\d{8}-\d{6}", "-DATE", path.read_text())


def test_saved_file_matches_the_stock_daemons(
        lttng: Lttng, program: Path, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """The same session saved by pylttng-sessiond and by the stock lttng-sessiond on
    pylttng.ko: the same file but for the dates in the trace paths."""
    files = {}
    for daemon in ("pylttng", "stock"):
        if daemon == "stock":
            stop_daemons()
            env = {k: v for k, v in lttng.env.items() if k != "LTTNG_SESSIOND_PATH"}
            start_stock_sessiond(env)
        build_session(lttng, "cmp", program)
        folder = saved_dir(request, tmp_path, daemon)
        lttng.ok("save", "cmp", "-o", str(folder))
        lttng.ok("destroy", "cmp")
        files[daemon] = folder / "cmp.lttng"
    texts = {daemon: normalized_file(path) for daemon, path in files.items()}
    # Element for element first (the clearer failure), then byte for byte.
    trees = {daemon: canonical(etree.fromstring(text.encode()), frozenset())
             for daemon, text in texts.items()}
    assert trees["pylttng"] == trees["stock"]
    assert texts["pylttng"] == texts["stock"]


# --- trackers, trace file limits, monitor timer, rotation schedules ---------------------

TRACKED_VALUES = {  # the values of each saved tracker, as the stock daemon keeps them too
    "pid": [("id", "42"), ("id", "7")],
    "vpid": [],  # untrack --all: excludes everyone, saved as an empty set
    "vuid": [("name", "root"), ("id", "1000")],
    "gid": [("id", "5")],  # 0 untracked again
}


def build_tracked_session(lttng: Lttng, name: str, output: Path) -> None:
    """Trackers of every policy, with ids and a user name; a channel writing at most 3
    trace files of 1 MiB each, monitored every 250 ms; a periodic and a size rotation."""
    lttng.ok("create", name, "-o", str(output))
    lttng.ok("enable-channel", "-k", "-s", name, "files", "--subbuf-size", "64k",
             "--num-subbuf", "4", "--tracefile-size", "1M", "--tracefile-count", "3",
             "--monitor-timer", "250000")
    lttng.ok("enable-event", "-k", "-s", name, "-c", "files", "sched_switch")
    lttng.ok("track", "-k", "-s", name, "--pid=42,7")
    lttng.ok("track", "-k", "-s", name, "--vuid=root,1000")
    lttng.ok("track", "-k", "-s", name, "--gid=0,5")
    lttng.ok("untrack", "-k", "-s", name, "--gid=0")
    lttng.ok("untrack", "-k", "-s", name, "--all", "--vpid")
    lttng.ok("enable-rotation", "-s", name, "--timer", "5s")
    lttng.ok("enable-rotation", "-s", name, "--size", "16M")


def saved_trackers(root: etree._Element) -> dict[str, list[tuple[str, str]]]:
    trackers = root.find("session/domains/domain/process_attr_trackers")
    assert trackers is not None
    saved = {}
    for tracker in trackers:
        kind = tracker.tag.removesuffix("_process_attr_tracker")
        values = tracker.find("process_attr_values")
        assert values is not None and all(v.tag == kind for v in values)
        saved[kind] = [(c.tag, c.text or "") for v in values for c in v]
    return saved


def test_trackers_and_rotation_schedules_saved_and_loaded(
        lttng: Lttng, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    build_tracked_session(lttng, "trk", tmp_path / "trk-out")
    before = mi_list(lttng, "trk")
    listed = lttng.ok("list", "trk").out
    folder = saved_dir(request, tmp_path, "trackers")
    lttng.ok("save", "trk", "-o", str(folder))
    root = etree.parse(str(folder / "trk.lttng")).getroot()
    assert XSD.validate(root), XSD.error_log
    assert saved_trackers(root) == TRACKED_VALUES  # pid, vpid, vuid, gid: save.c's order
    [chan] = root.findall("session/domains/domain/channels/channel")
    assert [chan.findtext(t) for t in ("tracefile_size", "tracefile_count",
                                       "monitor_timer_interval")] == [
        str(1 << 20), "3", "250000"]
    assert [(e.tag, e[0].tag, e[0].text)
            for e in root.findall("session/attributes/rotation_schedules/*")] == [
        ("periodic", "time_us", "5000000"), ("size_threshold", "bytes", str(16 << 20))]
    lttng.ok("destroy", "trk")

    # The stock CLI's load sends `lttng track` and `enable-rotation`'s commands.
    lttng.ok("load", "-i", str(folder), "trk")
    assert mi_list(lttng, "trk") == before
    assert lttng.ok("list", "trk").out == listed
    lttng.ok("destroy", "trk")

    # pylttng-sessiond --load runs the same walk and the same handlers itself.
    stop_daemons()
    started = run(lttng.env["LTTNG_SESSIOND_PATH"], "--daemonize", "--load",
                  str(folder / "trk.lttng"), env=lttng.env)
    assert started.rc == 0, started.text
    assert mi_list(lttng, "trk") == before
    lttng.ok("destroy", "trk")


def test_tracked_session_saved_as_the_stock_daemon_saves_it(
        lttng: Lttng, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    """The same file from both daemons, element for element; the stock daemon writes an
    inclusion set in its hash table's order, so the values are compared as a set."""
    trees = {}
    for daemon in ("pylttng", "stock"):
        if daemon == "stock":
            stop_daemons()
            env = {k: v for k, v in lttng.env.items() if k != "LTTNG_SESSIOND_PATH"}
            start_stock_sessiond(env)
        build_tracked_session(lttng, "tcmp", tmp_path / "tcmp-out")
        folder = saved_dir(request, tmp_path, daemon)
        lttng.ok("save", "tcmp", "-o", str(folder))
        lttng.ok("destroy", "tcmp")
        root = etree.parse(str(folder / "tcmp.lttng")).getroot()
        trees[daemon] = canonical(root, frozenset({"process_attr_values"}))
    assert trees["pylttng"] == trees["stock"]


NET_OUTPUT = (
    "<output><consumer_output><enabled>true</enabled><destination><net_output>"
    "<control_uri>tcp://127.0.0.1:5342</control_uri><data_uri>tcp://127.0.0.1:5343"
    "</data_uri></net_output></destination></consumer_output></output>")


def test_load_streamed_live_and_net_snapshot(lttng: Lttng, tmp_path: Path) -> None:
    """A session streamed to lttng-relayd loads with its relay URLs (SET_CONSUMER_URI after
    a creation without output, as liblttng-ctl sends them), a live one too (created live
    without output first), and a snapshot session's net:// output becomes its snapshot
    output on that relay daemon."""
    live = "<attributes><live_timer_interval>1000000</live_timer_interval></attributes>"
    snapshot = ("<attributes><snapshot_mode>true</snapshot_mode></attributes><output>"
                "<snapshot_outputs><output><name>out</name><max_size>0</max_size>"
                + NET_OUTPUT.removeprefix("<output>").removesuffix("</output>")
                + "</output></snapshot_outputs></output>")
    for name, attributes, output in (("streamed", "", NET_OUTPUT), ("live", live, NET_OUTPUT),
                                     ("snap", snapshot, "")):
        path = tmp_path / f"{name}.lttng"
        path.write_text(f"<sessions><session><name>{name}</name><started>false</started>"
                        f"{attributes}{output}</session></sessions>")
        assert XSD.validate(etree.parse(str(path))), XSD.error_log
    # `lttng load` spawns no session daemon: `create` does.
    lttng.ok("create", "spawn", "--no-output")
    lttng.ok("destroy", "spawn")
    lttng.ok("load", "-i", str(tmp_path / "streamed.lttng"))
    listed = lttng.ok("list", "streamed").text
    assert "Trace output: tcp4://127.0.0.1:5342/ [data: 5343]" in listed, listed
    lttng.ok("save", "-o", str(tmp_path / "again"), "streamed")
    again = (tmp_path / "again" / "streamed.lttng").read_text()
    assert "<control_uri>tcp4://127.0.0.1:5342/</control_uri>" in again, again
    assert "<data_uri>tcp4://127.0.0.1:5343/</data_uri>" in again, again
    lttng.ok("load", "-i", str(tmp_path / "live.lttng"))
    listed = lttng.ok("list", "live").text
    assert "Trace output: tcp4://127.0.0.1:5342/ [data: 5343]" in listed, listed
    lttng.ok("save", "-o", str(tmp_path / "again"), "live")
    again = (tmp_path / "again" / "live.lttng").read_text()
    assert "<live_timer_interval>1000000</live_timer_interval>" in again, again
    lttng.ok("load", "-i", str(tmp_path / "snap.lttng"))
    outputs = lttng.ok("snapshot", "list-output", "-s", "snap").text
    assert "[1] out: tcp4://127.0.0.1:5342/" in outputs, outputs

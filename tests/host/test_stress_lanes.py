"""make stress's lanes and guests (tests/vm/stress.py): the VM suite dealt out over the VM
slots, and a run cut short resumed from the verdicts kept."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2]
sys.path.append(str(SRC / "tests" / "vm"))

import stress


def test_files_are_dealt_longest_first_to_the_least_loaded_lane() -> None:
    seconds = {"test_a.py": 100.0, "test_b.py": 60.0, "test_c.py": 50.0, "test_d.py": 10.0}
    lanes = stress.deal(sorted(seconds), seconds, 2)
    assert [lane.files for lane in lanes] == [["test_a.py", "test_d.py"],
                                              ["test_b.py", "test_c.py"]]
    assert [lane.weight for lane in lanes] == [110.0, 110.0]
    # Every file once, whatever the number of lanes; no empty lane.
    assert [lane.files for lane in stress.deal(["test_a.py"], seconds, 3)] == [["test_a.py"]]


def test_an_untimed_file_counts_as_unknown_length() -> None:
    [lane] = stress.deal(["test_new.py"], {}, 1)
    assert lane.weight == stress.UNKNOWN_FILE_S


def write_junit(path: Path, cases: str) -> Path:
    path.write_text(f'<testsuites><testsuite name="pytest">{cases}</testsuite></testsuites>')
    return path


def test_file_seconds_sum_each_files_tests_the_newest_junit_winning(tmp_path: Path) -> None:
    old = write_junit(tmp_path / "old.xml",
                      '<testcase classname="tests.vm.test_x" name="test_1" time="9.0"/>')
    new = write_junit(
        tmp_path / "new.xml",
        '<testcase classname="tests.vm.test_x" name="test_1" time="1.5"/>'
        '<testcase classname="tests.vm.test_x.TestGroup" name="test_2" time="2.0"/>'
        '<testcase classname="tests.vm.test_y" name="test_3" time="4.0"/>')
    os.utime(old, (1, 1))
    assert stress.file_seconds([new, old, tmp_path / "missing.xml"]) == {
        "test_x.py": 3.5, "test_y.py": 4.0}


def test_file_counts_pass_only_tests_that_neither_failed_nor_erred_nor_skipped(
        tmp_path: Path) -> None:
    junit = write_junit(
        tmp_path / "junit.xml",
        '<testcase classname="tests.vm.test_x" name="a" time="1"/>'
        '<testcase classname="tests.vm.test_x" name="b" time="1"><failure message="no"/>'
        '</testcase>'
        '<testcase classname="tests.vm.test_y" name="c" time="1"><skipped/></testcase>'
        '<testcase classname="tests.vm.test_z" name="d" time="1"><error message="x"/>'
        '</testcase>'
        '<testcase classname="tests.vm.test_z" name="e" time="1"/>')
    assert stress.file_counts(junit) == {"test_x.py": [1, 2], "test_y.py": [0, 1],
                                         "test_z.py": [1, 2]}
    assert stress.file_counts(tmp_path / "missing.xml") == {}


def test_a_lanes_files_go_to_guests_of_bounded_length_in_order() -> None:
    lane = stress.Lane(0, ["test_a.py", "test_b.py", "test_c.py", "test_d.py"])
    seconds = {"test_a.py": 50.0, "test_b.py": 40.0, "test_c.py": 30.0, "test_d.py": 200.0}
    assert stress.guests(lane, seconds, 100.0) == [["test_a.py", "test_b.py"],
                                                   ["test_c.py"], ["test_d.py"]]
    assert stress.guests(lane, seconds, 1000.0) == [lane.files]


def guest(scan: str = "done", dmesg: str = "clean", **counts: list[int]) -> stress.Guest:
    return stress.Guest(0, [f"{name}.py" for name in counts],
                        {f"{name}.py": c for name, c in counts.items()}, dmesg, scan)


def test_a_file_passes_with_every_test_passed_a_clean_log_and_its_leak_scan() -> None:
    assert guest(test_x=[3, 3]).passed("test_x.py")
    assert not guest(test_x=[2, 3]).passed("test_x.py")
    assert not guest(test_x=[0, 0]).passed("test_x.py")
    assert not guest(test_x=[3, 3]).passed("test_y.py")
    assert not guest(dmesg="1 trouble lines", test_x=[3, 3]).passed("test_x.py")


@pytest.mark.parametrize(("scan", "green"), [("done", True), ("no kmemleak", True),
                                             ("missing", False), ("not run", False)])
def test_a_guest_without_its_leak_scan_passes_nothing(scan: str, green: bool) -> None:
    assert guest(scan, test_x=[3, 3]).passed("test_x.py") is green


def test_a_record_resumes_only_for_the_same_commit_and_kernel(tmp_path: Path) -> None:
    path = tmp_path / "record.json"
    record = stress.Record("k1", runs=1, guests=[guest(test_x=[3, 3], test_y=[1, 2])])
    record.save(path)
    again = stress.Record.load(path, "k1")
    assert again == record
    assert again.passed("test_x.py") and not again.passed("test_y.py")
    assert stress.Record.load(path, "k2") == stress.Record("k2")
    assert stress.Record.load(tmp_path / "none.json", "k1") == stress.Record("k1")


def test_a_records_time_is_each_runs_longest_lane_summed() -> None:
    runs = [(1, 0, 100.0), (1, 0, 50.0), (1, 1, 120.0), (2, 1, 30.0)]
    record = stress.Record("k", 2, [stress.Guest(lane, [], seconds=s, run=run)
                                    for run, lane, s in runs])
    assert record.seconds() == 150.0 + 30.0


def test_the_run_key_names_the_kernel_build(tmp_path: Path) -> None:
    tree = tmp_path / "linux"
    tree.mkdir()
    (tmp_path / "built").write_text("6.1.192-3 aaaa\n")
    first = stress.run_key(tree, "6.1.192-pylttng-debug")
    assert stress.run_key(tree, "6.1.192-pylttng-debug") == first
    (tmp_path / "built").write_text("6.1.192-3 bbbb\n")
    assert stress.run_key(tree, "6.1.192-pylttng-debug") != first
    assert stress.run_key(None, "6.1.0-57-amd64") != stress.run_key(None, "6.12.118+deb12-amd64")

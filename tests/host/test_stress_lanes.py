"""make stress's lanes (tests/vm/stress.py): the VM suite dealt out over the VM slots."""

from __future__ import annotations

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


def test_file_seconds_sum_each_files_tests(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<testsuites><testsuite name="pytest" tests="3">'
        '<testcase classname="tests.vm.test_x" name="test_1" time="1.5"/>'
        '<testcase classname="tests.vm.test_x.TestGroup" name="test_2" time="2.0"/>'
        '<testcase classname="tests.vm.test_y" name="test_3" time="4.0"/>'
        "</testsuite></testsuites>")
    assert stress.file_seconds([junit, tmp_path / "missing.xml"]) == {
        "test_x.py": 3.5, "test_y.py": 4.0}


def test_a_lane_is_green_only_with_every_test_passed_a_clean_log_and_its_leak_scan() -> None:
    lane = stress.Lane(0, ["test_x.py"], passed=3, tests=3, dmesg="clean", leak_scan="done")
    assert lane.green()
    assert not stress.Lane(0, passed=2, tests=3, dmesg="clean", leak_scan="done").green()
    assert not stress.Lane(0, passed=3, tests=3, dmesg="1 trouble lines",
                           leak_scan="done").green()
    assert not stress.Lane(0, dmesg="clean", leak_scan="done").green()


@pytest.mark.parametrize(("scan", "green"), [("done", True), ("no kmemleak", True),
                                             ("missing", False), ("not run", False)])
def test_a_stress_lane_without_its_leak_scan_is_not_green(scan: str, green: bool) -> None:
    lane = stress.Lane(0, ["test_x.py"], passed=3, tests=3, dmesg="clean", leak_scan=scan)
    assert lane.green() is green

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
                        {f"{name}.py": c for name, c in counts.items()}, dmesg, scan,
                        keys={f"{name}.py": "k" for name in counts})


def test_a_file_passes_with_every_test_passed_a_clean_log_and_its_leak_scan() -> None:
    assert guest(test_x=[3, 3]).passed("test_x.py", "k")
    assert not guest(test_x=[3, 3]).passed("test_x.py", "changed since")
    assert not guest(test_x=[2, 3]).passed("test_x.py", "k")
    assert not guest(test_x=[0, 0]).passed("test_x.py", "k")
    assert not guest(test_x=[3, 3]).passed("test_y.py", "k")
    assert not guest(dmesg="1 trouble lines", test_x=[3, 3]).passed("test_x.py", "k")


@pytest.mark.parametrize(("scan", "green"), [("done", True), ("no kmemleak", True),
                                             ("missing", False), ("not run", False)])
def test_a_guest_without_its_leak_scan_passes_nothing(scan: str, green: bool) -> None:
    assert guest(scan, test_x=[3, 3]).passed("test_x.py", "k") is green


def test_a_record_is_kept_whole(tmp_path: Path) -> None:
    path = tmp_path / "record.json"
    record = stress.Record(runs=1, guests=[guest(test_x=[3, 3], test_y=[1, 2])])
    record.save(path)
    again = stress.Record.load(path)
    assert again == record
    assert again.passed("test_x.py", "k") and not again.passed("test_y.py", "k")
    assert stress.Record.load(tmp_path / "none.json") == stress.Record()


def test_a_records_time_is_each_current_runs_longest_lane_summed() -> None:
    runs = [(1, 0, 100.0, "old"), (1, 0, 50.0, "old"), (1, 1, 120.0, "old"),
            (2, 1, 30.0, "new"), (3, 0, 70.0, "new"), (3, 1, 20.0, "new")]
    record = stress.Record(3, [stress.Guest(lane, ["test_x.py"], seconds=s, run=run,
                                            keys={"test_x.py": key})
                               for run, lane, s, key in runs])
    assert record.seconds({"test_x.py": "new"}) == 30.0 + 70.0
    assert record.seconds({"test_x.py": "old"}) == 150.0
    assert record.seconds({"test_x.py": "none"}) == 0.0


def fake_tests(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    (tmp_path / "test_a.py").write_text("from test_helper import X\n")
    (tmp_path / "test_helper.py").write_text("X = 1\n")
    (tmp_path / "test_b.py").write_text("import os\n")
    monkeypatch.setattr(stress, "VM_TESTS", tmp_path)


def test_a_files_key_follows_the_code_it_runs(monkeypatch: pytest.MonkeyPatch,
                                              tmp_path: Path) -> None:
    fake_tests(monkeypatch, tmp_path)
    blobs = {"sessiond/main.py": "s1", "tests/vm/conftest.py": "c1",
             "tests/vm/stress.py": "o1", "tests/vm/test_a.py": "a1",
             "tests/vm/test_helper.py": "h1", "tests/vm/test_b.py": "b1", "README.md": "r1"}
    files = ["test_a.py", "test_b.py"]
    base = stress.file_keys(files, blobs, "6.1.192-3 aaaa")

    def keys(changed: dict[str, str], kernel: str = "6.1.192-3 aaaa") -> dict[str, str]:
        return stress.file_keys(files, {**blobs, **changed}, kernel)

    # Its own file and the test files it imports: that file's verdict only.
    changed = keys({"tests/vm/test_b.py": "b2"})
    assert changed["test_a.py"] == base["test_a.py"]
    assert changed["test_b.py"] != base["test_b.py"]
    changed = keys({"tests/vm/test_helper.py": "h2"})
    assert changed["test_a.py"] != base["test_a.py"]
    assert changed["test_b.py"] == base["test_b.py"]
    # The product, the harness or the kernel build: every verdict.
    for other in (keys({"sessiond/main.py": "s2"}), keys({"tests/vm/conftest.py": "c2"}),
                  keys({}, "6.1.192-3 bbbb")):
        assert all(other[f] != base[f] for f in files)
    # What runs in no guest: none.
    assert keys({"tests/vm/stress.py": "o2"}) == base
    assert keys({"README.md": "r2"}) == base

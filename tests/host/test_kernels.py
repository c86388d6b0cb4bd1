"""The kernel matrix (tests/vm/kernels.py) and the private layouts read at build time."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2]
sys.path.append(str(SRC / "tests" / "vm"))

import kernels

LAYOUTS = SRC / "kmod" / "scripts" / "private-layouts.sh"


def test_six_kernels_two_versions_three_flavours() -> None:
    assert len({k.image for k in kernels.KERNELS}) == 6
    suites = {k.name: k.ci_suites for k in kernels.KERNELS}
    assert (suites["6.1"], suites["6.12"]) == (("kernel", "daemons"), ("quick",))
    assert {s for name, s in suites.items() if name not in ("6.1", "6.12")} == {("smoke",)}
    assert kernels.KERNELS[0].image == "linux-image-amd64"  # the default KVER
    for k in kernels.KERNELS:
        assert k.headers == k.image.replace("linux-image-", "linux-headers-")


def test_quick_and_smoke_tests_exist() -> None:
    for name in (*kernels.QUICK_TESTS, *kernels.SMOKE_TESTS):
        assert (SRC / "tests" / "vm" / name.split("::")[0]).exists(), name


def test_ci_suites() -> None:
    assert kernels.ci_tests("full") == []
    assert kernels.ci_tests("kernel") == ["--ci-suite=kernel"]
    assert kernels.ci_tests("quick") == ["--ci-suite=quick"]
    assert kernels.guest_name("6.1.0-1-amd64", "full") == "6.1.0-1-amd64"
    assert kernels.guest_name("6.1.0-1-amd64", "daemons") == "6.1.0-1-amd64.daemons"
    for name in kernels.DAEMON_TESTS:
        assert (SRC / "tests" / "vm" / name).exists(), name


def test_junit_counts_skips_do_not_pass(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text('<testsuites><testsuite name="pytest" tests="10" failures="1" '
                     'errors="1" skipped="2"/></testsuites>')
    assert kernels.junit_counts(junit) == (6, 10, 0)
    assert kernels.junit_counts(tmp_path / "missing.xml") == (0, 0, 0)


def test_strict_xfails_are_known_failures_not_passes(tmp_path: Path) -> None:
    junit = tmp_path / "junit.xml"
    junit.write_text(
        '<testsuites><testsuite name="pytest" tests="4" failures="0" errors="0" skipped="2">'
        '<testcase name="a"/><testcase name="b"/>'
        '<testcase name="c"><skipped type="pytest.xfail" message="a known bug"/></testcase>'
        '<testcase name="d"><skipped type="pytest.skip" message="not here"/></testcase>'
        "</testsuite></testsuites>")
    assert kernels.junit_counts(junit) == (2, 4, 1)
    row = kernels.Row("6.1", "6.1.0-1-amd64", dkms="installed", build="clean", passed=2,
                      tests=4, known=1, dmesg="clean")
    assert not row.green()  # the plain skip counts against it
    assert kernels.Row(**{**row.__dict__, "passed": 3}).green()
    assert "3 / 4, 1 known failures (xfail)" in kernels.table(
        [kernels.Row(**{**row.__dict__, "passed": 3})], {})


def test_a_row_is_green_only_when_everything_is() -> None:
    row = kernels.Row("6.1", "6.1.0-1-amd64", dkms="installed", build="clean", passed=5,
                      tests=5, dmesg="clean")
    assert row.green()
    assert not kernels.Row(**{**row.__dict__, "passed": 4}).green()
    assert not kernels.Row(**{**row.__dict__, "tests": 0, "passed": 0}).green()
    assert not kernels.Row(**{**row.__dict__, "dmesg": "2 trouble lines"}).green()
    assert not kernels.Row(**{**row.__dict__, "dkms": "FAILED"}).green()
    text = kernels.table([row], {"6.1": ("kernel", "daemons")})
    assert ("| 6.1 | 6.1.0-1-amd64 | installed | clean | 5 / 5 (kernel + daemons) | clean "
            "| - | - |") in text


def run(guest: str, passed: int, tests: int, dmesg: str = "clean") -> kernels.GuestRun:
    return kernels.GuestRun(guest, passed, tests, 0, dmesg, "-", "-", 10.0)


def test_a_kernel_tested_in_two_guests_is_green_only_if_both_are() -> None:
    row = kernels.Row("6.1", "6.1.0-1-amd64", dkms="installed", build="clean")
    kernels.add_run(row, run("6.1.0-1-amd64.kernel", 3, 3))
    kernels.add_run(row, run("6.1.0-1-amd64.daemons", 2, 2))
    assert row.green() and (row.passed, row.tests, row.seconds) == (5, 5, 20.0)
    hung = kernels.Row("6.1", "6.1.0-1-amd64", dkms="installed", build="clean")
    kernels.add_run(hung, run("6.1.0-1-amd64.kernel", 3, 3))
    kernels.add_run(hung, run("6.1.0-1-amd64.daemons", 0, 0, "no result"))
    assert not hung.green()
    noisy = kernels.Row("6.1", "6.1.0-1-amd64", dkms="installed", build="clean")
    kernels.add_run(noisy, run("6.1.0-1-amd64.kernel", 3, 3, "2 trouble lines"))
    kernels.add_run(noisy, run("6.1.0-1-amd64.daemons", 2, 2))
    assert not noisy.green() and noisy.dmesg == "2 trouble lines"


def test_ci_starts_each_kernels_guests_once_its_module_is_built(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    builds: list[str] = []
    guests: list[str] = []
    first_guest_started = threading.Event()
    rows = [kernels.Row(k.name, f"r-{k.name.replace(' ', '-')}") for k in kernels.KERNELS]

    def build_one(row: kernels.Row, out_root: Path) -> None:
        # Every build after the first waits for the first guest: were the guests held
        # back until every build was done, this would time out.
        if builds:
            assert first_guest_started.wait(timeout=10)
        builds.append(row.kernel)
        row.build = "clean"

    def test_one(release: str, suite: str, out_root: Path) -> kernels.GuestRun:
        guests.append(f"{release} {suite}")
        first_guest_started.set()
        return run(kernels.guest_name(release, suite), 2, 2)

    monkeypatch.setattr(kernels, "installed_rows", lambda: rows)
    monkeypatch.setattr(kernels, "dkms_check", lambda rows, out: "refused, saying why")
    monkeypatch.setattr(kernels, "build_one", build_one)
    monkeypatch.setattr(kernels, "test_one", test_one)
    monkeypatch.setattr(kernels, "default_release", lambda: "r-6.1")
    monkeypatch.setattr(kernels.subprocess, "run", lambda *a, **k: None)
    monkeypatch.setattr(kernels.vm_slots, "count", lambda: 1)
    for row in rows:
        row.dkms = "installed"
    assert kernels.check(True, tmp_path) == 0
    # The longest suites first: 6.1's two halves, then 6.12's quick tier, then the smokes.
    assert builds[:2] == ["6.1", "6.12"]
    assert guests[:3] == ["r-6.1 kernel", "r-6.1 daemons", "r-6.12 quick"]
    assert sorted(guests) == sorted(f"{row.release} {suite}" for row, k in
                                    zip(rows, kernels.KERNELS) for suite in k.ci_suites)
    assert (rows[0].passed, rows[0].tests, rows[0].green()) == (4, 4, True)
    assert "4 / 4 (kernel + daemons)" in (tmp_path / "table.md").read_text()


def test_a_red_row_says_which_tests_failed(tmp_path: Path) -> None:
    (tmp_path / "6.1.0-1-amd64").mkdir()
    (tmp_path / "6.1.0-1-amd64" / "junit.xml").write_text(
        '<testsuites><testsuite name="pytest" tests="2" failures="1" errors="0">'
        '<testcase classname="test_x" name="test_a"/>'
        '<testcase classname="test_x" name="test_b">'
        '<failure message="AssertionError: 3 != 4&#10;second line">trace</failure>'
        "</testcase></testsuite></testsuites>")
    row = kernels.Row("6.1", "6.1.0-1-amd64", dkms="installed", build="clean", passed=1,
                      tests=2, dmesg="clean", guests=["6.1.0-1-amd64"])
    assert kernels.why_red(row, tmp_path) == [
        "kernels: 6.1.0-1-amd64: test_x::test_b: AssertionError: 3 != 4",
        "kernels: 6.1.0-1-amd64: second line"]
    assert kernels.why_red(kernels.Row(**{**row.__dict__, "passed": 2}), tmp_path) == []
    (tmp_path / "vm-6.1.0-2-amd64.log").write_text("booting\nKernel panic\n")
    panicked = kernels.Row("6.1", "6.1.0-2-amd64", dkms="installed", build="clean",
                           guests=["6.1.0-2-amd64"])
    assert kernels.why_red(panicked, tmp_path)[-1] == "kernels: 6.1.0-2-amd64: Kernel panic"


def layouts(release: str) -> str:
    return subprocess.run(["sh", str(LAYOUTS), release], capture_output=True, text=True,
                          check=True).stdout


def test_layouts_unknown_without_an_image() -> None:
    text = layouts("0.0.0-no-such-kernel")
    assert '#define PYL_LAYOUTS_UNKNOWN "no /boot/vmlinuz-0.0.0-no-such-kernel' in text
    assert "PYL_LAYOUT_ftrace" not in text


@pytest.mark.parametrize("kernel", kernels.KERNELS, ids=lambda k: k.name)
def test_layouts_read_from_each_installed_kernel(kernel: kernels.Kernel) -> None:
    release = kernel.release()
    if release is None:
        pytest.fail(f"{kernel.image} is not installed: make kernels")
    text = layouts(release)
    assert "PYL_LAYOUTS_UNKNOWN" not in text, text
    # What pylttng-compat.h checks its mirrors against.
    for member in ("link 0", "name 16", "type 24", "offset 36", "size 40", "is_signed 44"):
        assert f"#define PYL_LAYOUT_ftrace_event_field_{member}\n" in text, text
    assert "#define PYL_LAYOUT_mnt_namespace_ns 0\n" in text
    # v6.12.y made is_signed the first bit of a bit-field word (needs_test the next).
    if release.startswith("6.12"):
        assert "#define PYL_LAYOUT_ftrace_event_field_is_signed_BIT 0\n" in text, text
        assert "#define PYL_LAYOUT_ftrace_event_field_needs_test_BIT 1\n" in text, text

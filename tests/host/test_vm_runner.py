"""The test VM's QEMU command line: the benchmark's instruction clock (tests/vm/runner.py)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parents[2] / "tests" / "vm"))

import kernels
import runner

KERNEL = kernels.installed("6.1.0-1-amd64")


def option(cmd: list[str], name: str) -> str:
    return cmd[cmd.index(name) + 1]


def test_instruction_clock_means_one_vcpu_and_icount() -> None:
    machine = runner.Machine(("tsc=reliable",), instruction_clock=True)
    cmd = runner.vng_command(KERNEL, Path("/out"), False, ["true"], machine)
    assert option(cmd, "--cpus") == "1"
    assert "--qemu-opts=-accel tcg,thread=single -icount shift=0" in cmd
    assert "tsc=reliable" in cmd


def test_default_machine_has_two_vcpus_and_the_host_clock() -> None:
    cmd = runner.vng_command(KERNEL, Path("/out"), False, ["true"])
    assert option(cmd, "--cpus") == "2"
    assert "--qemu-opts=-accel tcg,thread=single" in cmd
    assert not any("icount" in arg for arg in cmd)


def test_a_kernel_tree_boots_its_own_image(tmp_path: Path) -> None:
    generated = tmp_path / "include" / "generated"
    generated.mkdir(parents=True)
    (generated / "utsrelease.h").write_text('#define UTS_RELEASE "6.1.192-pylttng-debug"\n')
    kernel = kernels.built_tree(tmp_path)
    assert kernel.release == "6.1.192-pylttng-debug"
    assert kernel.modules == tmp_path / "modroot/lib/modules/6.1.192-pylttng-debug"
    cmd = runner.vng_command(kernel, Path("/out"), False, ["true"])
    assert option(cmd, "-r") == str(tmp_path / "arch/x86/boot/bzImage")
    assert "--skip-modules" in cmd
    assert "--skip-modules" not in runner.vng_command(KERNEL, Path("/out"), False, ["true"])


def test_kvm_keeps_the_real_clock() -> None:
    machine = runner.Machine(instruction_clock=True)
    assert machine.on(kvm=True).instruction_clock is False  # what results.json is told
    assert machine.on(kvm=False).instruction_clock is True
    cmd = runner.vng_command(KERNEL, Path("/out"), True, ["true"], machine)
    assert option(cmd, "--cpus") == "2"
    assert "--disable-kvm" not in cmd and not any("icount" in arg for arg in cmd)

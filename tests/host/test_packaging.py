"""Kernel packaging: kmod/scripts/built-in.sh, kmod/Kconfig and kmod/dkms.conf."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path

import pytest

KMOD = Path(__file__).resolve().parents[2] / "kmod"
BUILT_IN = KMOD / "scripts" / "built-in.sh"
HEADERS = sorted(glob.glob("/usr/src/linux-headers-*-common"))
KCONF = sorted(glob.glob("/usr/lib/linux-kbuild-*/scripts/kconfig/conf"))

# The top-level Kbuild of a v6.1 source tree lists the directories to build.
KBUILD_61 = "obj-y\t\t\t+= init/\nobj-y\t\t\t+= kernel/\nobj-y\t\t\t+= mm/\n"


def graft(tree: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BUILT_IN), str(tree)], capture_output=True, text=True,
                          check=False)


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A throw-away copy of the Debian headers tree's top level (its Makefile)."""
    if not HEADERS:
        pytest.skip("no Debian linux-headers-*-common tree")
    dest = tmp_path / "linux"
    dest.mkdir()
    shutil.copy(Path(HEADERS[-1]) / "Makefile", dest / "Makefile")
    return dest


def test_headers_alone_are_refused(tree: Path) -> None:
    # Debian's headers lack the top-level Kbuild/Kconfig of a source tree.
    done = graft(tree)
    assert done.returncode == 1
    assert "cannot find where" in done.stderr


def test_v61_tree_is_grafted_once(tree: Path) -> None:
    (tree / "Kbuild").write_text(KBUILD_61)
    (tree / "Kconfig").write_text('mainmenu "Linux"\nsource "init/Kconfig"\n')
    makefile = (tree / "Makefile").read_text()
    for _ in range(2):
        done = graft(tree)
        assert done.returncode == 0, done.stderr
    assert (tree / "pylttng").is_symlink()
    assert (tree / "pylttng").resolve() == KMOD
    assert (tree / "pylttng" / "Kbuild").is_file()
    assert (tree / "Kconfig").read_text().count('source "pylttng/Kconfig"\n') == 1
    assert (tree / "Kbuild").read_text().count("+= pylttng/\n") == 1
    assert (tree / "Makefile").read_text() == makefile


def test_pre_61_tree_gets_the_makefile_edit(tree: Path) -> None:
    (tree / "Makefile").write_text("core-y\t\t+= kernel/ certs/ mm/ fs/\n")
    (tree / "Kconfig").write_text("")
    for _ in range(2):
        assert graft(tree).returncode == 0
    assert (tree / "Makefile").read_text() == "core-y\t\t+= kernel/ pylttng/ certs/ mm/ fs/\n"


def test_a_foreign_pylttng_directory_is_left_alone(tree: Path) -> None:
    (tree / "Kbuild").write_text(KBUILD_61)
    (tree / "pylttng").mkdir()
    assert graft(tree).returncode == 1
    assert not (tree / "pylttng").is_symlink()


@pytest.mark.skipif(not KCONF, reason="no kconfig 'conf' (linux-kbuild)")
def test_kconfig_entry(tmp_path: Path) -> None:
    deps = "".join(f"config {name}\n\tdef_bool y\n" for name in
                   ("TRACING", "EVENT_TRACING", "PERF_EVENTS", "KPROBES", "KALLSYMS", "PROC_FS"))
    (tmp_path / "Kconfig").write_text(deps + 'config MODULES\n\tdef_bool y\n\tmodules\n'
                                      'source "pylttng/Kconfig"\n')
    (tmp_path / "pylttng").symlink_to(KMOD)
    done = subprocess.run([KCONF[-1], "--olddefconfig", "Kconfig"], cwd=tmp_path,
                          env=dict(os.environ, srctree="."), capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "CONFIG_PYLTTNG=m\n" in (tmp_path / ".config").read_text()


def test_dkms_conf_lists_every_module(tmp_path: Path) -> None:
    (tmp_path / "pylttng-2.13.23").symlink_to(KMOD)
    script = ('kernel_source_dir=/k dkms_tree=/var/lib/dkms source_tree="$1"; '
              'source "$2"; echo "$PACKAGE_NAME $PACKAGE_VERSION $AUTOINSTALL"; '
              'for i in "${!BUILT_MODULE_NAME[@]}"; do '
              'echo "${BUILT_MODULE_LOCATION[$i]:-.}/${BUILT_MODULE_NAME[$i]}'
              ' ${DEST_MODULE_LOCATION[$i]}"; done; echo "$MAKE"')
    out = subprocess.run(["bash", "-c", script, "-", str(tmp_path), str(KMOD / "dkms.conf")],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0] == "pylttng 2.13.23 yes"
    modules = {line.split()[0] for line in out[1:-1]}
    assert all(line.split()[1] == "/extra" for line in out[1:-1])
    stubs = {f"stubs//{p.stem}" for p in (KMOD / "stubs").glob("*.c")
             if not p.name.endswith(".mod.c")}
    assert modules == {"./pylttng"} | stubs
    assert "lttng-ring-buffer-client-discard" in {m.rsplit("/", 1)[1] for m in modules}
    assert out[-1] == "make -C /k M=/var/lib/dkms/pylttng/2.13.23/build modules"

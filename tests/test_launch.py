"""``vpt.launch``: the ``vpt`` command re-executes itself once with malloc's huge-page tunable."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vpt.launch import HUGETLB_TUNABLE, glibc_version, hugepage_environment, hugepages_active, thp_mode


@pytest.mark.parametrize(
    ("environ", "thp", "glibc", "tunables"),
    [
        ({}, "madvise", (2, 36), HUGETLB_TUNABLE),
        ({"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"}, "madvise", (2, 35), "glibc.malloc.arena_max=2:" + HUGETLB_TUNABLE),
        ({"GLIBC_TUNABLES": "glibc.malloc.hugetlb=0"}, "madvise", (2, 36), None),  # the user's own choice stays
        ({"VPT_HUGEPAGES": "0"}, "madvise", (2, 36), None),
        ({}, "always", (2, 36), None),  # the kernel gives large blocks huge pages already
        ({}, "never", (2, 36), None),
        ({}, None, (2, 36), None),
        ({}, "madvise", (2, 34), None),  # the tunable is glibc 2.35's
        ({}, "madvise", None, None),  # musl, macOS, Windows
    ],
)
def test_huge_pages_only_where_they_help(environ, thp, glibc, tunables):
    env = hugepage_environment({"PATH": "/bin", **environ}, thp, glibc)
    if tunables is None:
        assert env is None
    else:
        assert env == {"PATH": "/bin", **environ, "GLIBC_TUNABLES": tunables} and hugepages_active(env)


def test_machine_readings(tmp_path):
    f = tmp_path / "enabled"
    f.write_text("always [madvise] never\n")
    assert thp_mode(str(f)) == "madvise" and thp_mode(str(tmp_path / "missing")) is None
    v = glibc_version()
    assert v is None or (len(v) == 2 and v >= (2, 0))
    assert not hugepages_active({"GLIBC_TUNABLES": "glibc.malloc.hugetlb=0"}) and not hugepages_active({})


@pytest.mark.skipif(shutil.which("vpt", path=str(Path(sys.executable).parent)) is None, reason="vpt command not installed")
def test_the_vpt_command_runs_with_huge_pages_where_they_help():
    """The installed command re-executes once (same arguments) and reports it in ``vpt info``."""
    vpt = shutil.which("vpt", path=str(Path(sys.executable).parent))
    env = {k: v for k, v in os.environ.items() if k not in ("GLIBC_TUNABLES", "VPT_HUGEPAGES")}
    expected = hugepage_environment(env, thp_mode(), glibc_version()) is not None
    for extra, want in (({}, expected), ({"VPT_HUGEPAGES": "0"}, False)):
        out = subprocess.run([vpt, "info", "--json"], env={**env, **extra}, capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr
        assert json.loads(out.stdout)["machine"]["malloc_hugepages"] is want

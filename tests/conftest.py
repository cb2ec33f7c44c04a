"""Fixtures shared by several test modules."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable

import pytest


@pytest.fixture
def two_cpu_processes(tmp_path) -> Callable[[str, int], None]:
    """``run(code, port)``: run Python ``code`` under ``torchrun`` as 2 CPU processes (gloo), one
    thread each, and fail the test with the end of stderr if it does not exit cleanly."""

    def run(code: str, port: int) -> None:
        script = tmp_path / "ddp.py"
        script.write_text(code)
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_port",
                            str(port), str(script)], capture_output=True, text=True, timeout=600, env=env)  # fmt: skip
        assert r.returncode == 0, r.stderr[-3000:]

    return run

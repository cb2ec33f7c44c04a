"""The experiment scripts in ``scripts/`` pass the right commands to ``vpt`` (a recording stand-in)."""

from __future__ import annotations

import os
import shlex
import subprocess
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _run(script: str, args: list[str], tmp_path: Path, **env: str) -> tuple[subprocess.CompletedProcess, list[list[str]]]:
    """Run ``script`` with ``VPT`` set to a stand-in that records each command line it gets."""
    calls_dir = tmp_path / "calls"  # one file per call: runs started side by side cannot interleave
    calls_dir.mkdir(exist_ok=True)
    for old in calls_dir.iterdir():
        old.unlink()
    fake = tmp_path / "vpt"
    fake.write_text(f'#!/usr/bin/env bash\nprintf "%q " "$@" > "$(mktemp -p {shlex.quote(str(calls_dir))})"\n')
    fake.chmod(0o755)
    result = subprocess.run(["bash", str(SCRIPTS / script), *args], capture_output=True, text=True,
                            env={**os.environ, "VPT": str(fake), **env}, cwd=tmp_path)  # fmt: skip
    calls = [shlex.split(f.read_text()) for f in calls_dir.iterdir()]
    return result, calls


def _option(call: list[str], name: str) -> str:
    return call[call.index(name) + 1]


def test_rl_compare_runs_three_at_equal_steps(tmp_path):
    result, calls = _run("rl_compare.sh", ["models/p", "out"], tmp_path, GUI_SCALE="2", ITERATIONS="10")
    assert result.returncode == 0, result.stderr
    runs = {_option(c, "--out"): c for c in calls if c[:2] in (["rl", "train"], ["rl", "sb3"])}
    assert set(runs) == {"out/ppo_prior", "out/ppo_scratch", "out/sb3_scratch"}
    assert _option(runs["out/ppo_prior"], "--iterations") == "10" and _option(runs["out/sb3_scratch"], "--steps") == "2560"
    assert [a for a in runs["out/ppo_prior"] if a.startswith("models/")] == ["models/p.model", "models/p.weights"]
    assert all('"gui_scale": 2' in _option(c, "--world") and _option(c, "--seed") == "0" for c in runs.values())
    table = next(c for c in calls if c[:2] == ["rl", "table"])
    assert table[2:5] == ["out/ppo_prior", "out/ppo_scratch", "out/sb3_scratch"]


def test_rl_compare_another_seed_of_one_run(tmp_path):
    result, calls = _run("rl_compare.sh", ["p", "out"], tmp_path, SEED="1", ONLY="ppo_prior")
    assert result.returncode == 0, result.stderr
    trained = [c for c in calls if c[0] == "rl" and c[1] in ("train", "sb3")]
    assert len(trained) == 1 and _option(trained[0], "--out") == "out/ppo_prior" and _option(trained[0], "--seed") == "1"
    assert next(c for c in calls if c[:2] == ["rl", "plot"])[2:3] == ["out/ppo_prior"]
    result, calls = _run("rl_compare.sh", ["p", "out2"], tmp_path, ONLY="ppo_prior typo")
    assert result.returncode == 2 and "unknown run typo" in result.stderr

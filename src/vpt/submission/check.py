"""``check``: validate a submission folder and run its entry points as the evaluator would.

1. Layout: the files the harness needs, ``aicrowd.json``'s fields, ``environment.yml``, the
   model manifest, every model file present with its recorded SHA-256 and loadable with the
   strict loader. All problems are reported together.
2. Run: ``run.py`` with ``EVALUATION_STAGE=all`` in a child process (``python -m
   vpt.submission.harness``), a few short episodes per task on the embedded simulator behind
   MineRL's old gym API; every entry point must have played its episodes.
Any failure raises :class:`~vpt.submission.runtime.SubmissionError` with a message that names
the file, field or task.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from vpt.agent import ModelConfigError, ModelFileError, load_policy
from vpt.env.minerl_backend import MINERL_TASKS
from vpt.submission.build import entry_points
from vpt.submission.runtime import CHALLENGE_ID, RESULT_PREFIX, SubmissionError, read_manifest, verify_models

__all__ = ["CheckReport", "check"]


@dataclass
class CheckReport:
    """What ``check`` verified."""

    directory: Path
    track: str
    models: dict[str, str]
    """task -> weights file name."""
    episodes: list[str] = field(default_factory=list)
    """One line per played episode, as the entry points printed them."""
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _check_aicrowd(path: Path, problems: list[str]) -> str | None:
    if not path.is_file():
        problems.append(f"{path.name}: missing")
        return None
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        problems.append(f"{path.name}: not valid JSON ({e})")
        return None
    if not isinstance(data, dict):
        problems.append(f"{path.name}: must be a JSON object")
        return None
    if data.get("challenge_id") != CHALLENGE_ID:
        problems.append(f"{path.name}: challenge_id is {data.get('challenge_id')!r}, must be {CHALLENGE_ID!r}")
    if data.get("track") not in ("basalt", "intro"):
        problems.append(f"{path.name}: track is {data.get('track')!r}, must be 'basalt' or 'intro'")
    authors = data.get("authors")
    if not (isinstance(authors, list) and authors and all(isinstance(a, str) and a for a in authors)):
        problems.append(f"{path.name}: authors must be a non-empty list of names, got {authors!r}")
    if not isinstance(data.get("description"), str):
        problems.append(f"{path.name}: description must be a string")
    for key in ("gpu", "debug"):
        if not isinstance(data.get(key), bool):
            problems.append(f"{path.name}: {key} must be true or false, got {data.get(key)!r}")
    return data.get("track") if data.get("track") in ("basalt", "intro") else None


def _check_layout(root: Path, warnings: list[str]) -> tuple[str, dict[str, str]]:
    problems: list[str] = []
    track = _check_aicrowd(root / "aicrowd.json", problems)
    needed = ["run.py", "config.py", "agent.py", "environment.yml", "apt.txt", "vpt/__init__.py"]
    if track is not None:
        needed += [f"{m}.py" for m in entry_points(track)] + (["train.py"] if track == "basalt" else [])
    problems += [f"{name}: missing" for name in needed if not (root / name).is_file()]
    if (root / "environment.yml").is_file():
        try:
            env = yaml.safe_load((root / "environment.yml").read_text())
            if not (isinstance(env, dict) and isinstance(env.get("dependencies"), list)):
                problems.append("environment.yml: needs a 'dependencies' list")
        except yaml.YAMLError as e:
            problems.append(f"environment.yml: not valid YAML ({e})")
    models: dict[str, str] = {}
    try:
        manifest = read_manifest(root)
        if track is not None and manifest.get("track") != track:
            problems.append(f"train/vpt_models.json: track {manifest.get('track')!r} differs from aicrowd.json's {track!r}")
        if track is not None:
            for module, task in entry_points(track).items():
                if task not in manifest["tasks"]:
                    problems.append(
                        f"train/vpt_models.json: no model for {task} (played by {module}.py); add one with "
                        f"`vpt submission build --task {task} --model M --weights W --out {root}`"
                    )
        verify_models(root)
        for pair in {(e["model"], e["weights"]) for e in manifest["tasks"].values()}:
            try:
                load_policy(root / "train" / pair[0], root / "train" / pair[1])
            except (ModelFileError, ModelConfigError) as e:
                problems.append(f"train/{pair[1]}: does not load with the strict loader: {e}")
        models = {t: e["weights"] for t, e in manifest["tasks"].items()}
    except SubmissionError as e:
        problems.append(str(e))
    if problems:
        raise SubmissionError(f"{root}: broken submission:\n  - " + "\n  - ".join(problems))
    if json.loads((root / "aicrowd.json").read_text())["debug"]:
        warnings.append("aicrowd.json: debug is true, so the evaluator plays 1 episode of 100 steps per task")
    assert track is not None
    return track, models


def _last_error(stderr: str) -> str:
    lines = [ln for ln in stderr.strip().splitlines() if ln.strip()]
    for ln in reversed(lines):
        if re.match(r"^[\w.]+(Error|Exception|Exit|Interrupt)\b", ln):
            return ln
    return lines[-1] if lines else "(no output)"


def check(
    directory: str | os.PathLike[str],
    *,
    episodes: int = 2,
    max_steps: int = 20,
    timeout_s: float = 900.0,
    world_size: int = 64,
) -> CheckReport:
    """Validate the submission at ``directory`` and run it for ``episodes`` × ``max_steps`` per task."""
    if episodes < 1 or max_steps < 1:
        raise ValueError(f"episodes and max_steps must be >= 1, got {episodes}, {max_steps}")
    root = Path(directory).resolve()
    if not root.is_dir():
        raise SubmissionError(f"{root}: no such folder")
    t0 = time.monotonic()
    report = CheckReport(root, "", {})
    report.track, report.models = _check_layout(root, report.warnings)
    env = {
        **os.environ,
        "EVALUATION_STAGE": "all",
        "AICROWD_NUM_EVAL_EPISODES": str(episodes),
        "AICROWD_NUM_EVAL_MAX_STEPS": str(max_steps),
        "PYTHONPATH": "",
    }
    cmd = [sys.executable, "-m", "vpt.submission.harness", "--max-episode-steps", str(max_steps), "--world-size", str(world_size)]
    try:
        proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired as e:
        raise SubmissionError(f"{root}: run.py did not finish within {timeout_s:g} s") from e
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-15:])
        raise SubmissionError(f"{root}: run.py failed: {_last_error(proc.stderr)}\n--- end of its output ---\n{tail}")
    result_lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT_PREFIX)]
    if not result_lines:
        raise SubmissionError(f"{root}: run.py exited without finishing the harness (did it call sys.exit?)")
    summary = json.loads(result_lines[-1][len(RESULT_PREFIX):])
    if Path(summary["vpt"]) != root / "vpt":
        raise SubmissionError(f"{root}: run.py used vpt from {summary['vpt']}, not the submission's own vpt/")
    problems = []
    for module, task in entry_points(report.track).items():
        env_id = MINERL_TASKS[task].minerl_id
        seen = [e for e in summary["envs"] if e["env_id"] == env_id]
        if not seen:
            problems.append(f"{module}.py never made {env_id}")
        elif sum(e["resets"] for e in seen) != episodes or sum(e["steps"] for e in seen) < episodes:
            problems.append(
                f"{module}.py played {sum(e['resets'] for e in seen)} episode(s) and {sum(e['steps'] for e in seen)} "
                f"step(s) of {env_id}; expected {episodes} episode(s)"
            )
        elif not all(e["closed"] for e in seen):
            report.warnings.append(f"{module}.py did not close its env (the evaluator may run out of memory)")
    if problems:
        raise SubmissionError(f"{root}: " + "; ".join(problems))
    report.episodes = [ln for ln in proc.stdout.splitlines() if re.match(r"^\[\w+\] episode ", ln)]
    report.seconds = time.monotonic() - t0
    return report

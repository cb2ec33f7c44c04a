"""Code that runs inside a built submission, on the competition's evaluator.

A submission built by :func:`vpt.submission.build` carries a copy of this package; its
``test_<Task>.py`` entry points call :func:`run_episodes` with the env the harness gives
(``aicrowd_gym.make``, MineRL's old gym API) and the agent ``agent.py`` loads through
:func:`load_task_agent`; ``train.py`` calls :func:`verify_models`. The models are described by
``train/vpt_models.json`` (:data:`MANIFEST`): task name -> ``.model`` / ``.weights`` file names
under ``train/`` and their SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from vpt.actions import InvalidActionError, noop_env_action
from vpt.env.minerl_backend import DEFAULT_SETTINGS, BadObservationError, check_observation, to_minerl_action

__all__ = [
    "MANIFEST",
    "BASALT_TASKS",
    "INTRO_TASK",
    "CHALLENGE_ID",
    "RESULT_PREFIX",
    "SubmissionError",
    "EpisodeResult",
    "sha256_file",
    "read_manifest",
    "verify_models",
    "load_task_agent",
    "run_episodes",
]

log = logging.getLogger(__name__)

#: Where the models of a submission are listed, relative to its root.
MANIFEST = "train/vpt_models.json"
#: BASALT 2022's four tasks, in the order the harness's ``run.py`` runs them.
BASALT_TASKS: tuple[str, ...] = ("BuildVillageHouse", "CreateVillageAnimalPen", "FindCave", "MakeWaterfall")
#: The intro track's task.
INTRO_TASK = "ObtainDiamondShovel"
#: ``aicrowd.json``'s challenge id for BASALT 2022 (both tracks).
CHALLENGE_ID = "neurips-2022-minerl-basalt-competition"
#: Prefix of the summary line ``python -m vpt.submission.harness`` prints for ``check``.
RESULT_PREFIX = "VPT-SUBMISSION-CHECK "


class SubmissionError(RuntimeError):
    """A broken submission, or an agent misbehaving in one; the message says what and where."""


@dataclass(frozen=True)
class EpisodeResult:
    """How one evaluation episode went."""

    task: str
    episode: int
    steps: int
    reward: float
    ended_by: str
    """``done`` (the env ended it: ESC, time limit, death, error) or ``max_steps``."""
    bad_observations: int
    """Observations that were not shown to the agent (malformed, noise, MineRL errors)."""


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_manifest(root: Path) -> dict[str, Any]:
    """``train/vpt_models.json`` of the submission at ``root``, structurally checked."""
    path = Path(root) / MANIFEST
    if not path.is_file():
        raise SubmissionError(f"{path}: missing; build the submission with `vpt submission build`")
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise SubmissionError(f"{path}: not readable JSON ({e})") from e
    tasks = data.get("tasks") if isinstance(data, dict) else None
    if not isinstance(tasks, dict) or not tasks:
        raise SubmissionError(f"{path}: must be an object with a non-empty 'tasks' object")
    for task, entry in tasks.items():
        if not (isinstance(entry, dict) and all(isinstance(entry.get(k), str) for k in ("model", "weights"))):
            raise SubmissionError(f"{path}: tasks.{task} needs 'model' and 'weights' file names")
        if not isinstance(entry.get("sha256"), dict):
            raise SubmissionError(f"{path}: tasks.{task} needs a 'sha256' object")
    return data


def _task_files(root: Path, task: str) -> tuple[Path, Path, dict[str, str]]:
    tasks = read_manifest(root)["tasks"]
    if task not in tasks:
        raise SubmissionError(
            f"{Path(root) / MANIFEST}: no model for task {task!r} (has: {sorted(tasks)}); add one with "
            f"`vpt submission build --task {task} --model M --weights W --out {root}`"
        )
    entry = tasks[task]
    return Path(root) / "train" / entry["model"], Path(root) / "train" / entry["weights"], entry["sha256"]


def verify_models(root: Path) -> None:
    """Check every model file of the submission exists and has its recorded SHA-256."""
    for task in read_manifest(root)["tasks"]:
        model, weights, sums = _task_files(root, task)
        for path, kind in ((model, "model"), (weights, "weights")):
            if not path.is_file():
                raise SubmissionError(f"{path}: missing (the {kind} file of task {task})")
            digest, expected = sha256_file(path), sums.get(path.name)
            if digest != expected:
                raise SubmissionError(f"{path}: SHA-256 {digest[:12]}… differs from the manifest's {str(expected)[:12]}…")
        log.info("%s: model files intact", task)


def load_task_agent(root: Path, task: str, device: str | None = None) -> Any:
    """The :class:`vpt.agent.Agent` for ``task``, loaded strictly from ``train/`` (GPU if any)."""
    import torch  # noqa: PLC0415 - keep importing this module light

    from vpt.agent import Agent  # noqa: PLC0415

    model, weights, _ = _task_files(root, task)
    for path in (model, weights):
        if not path.is_file():
            raise SubmissionError(f"{path}: missing (needed by task {task})")
    return Agent.load(model, weights, device=device or ("cuda" if torch.cuda.is_available() else "cpu"))


def run_episodes(
    env: Any,
    agent: Any,
    *,
    episodes: int,
    max_steps: float,
    task: str,
    resolution: tuple[int, int] = DEFAULT_SETTINGS.resolution,
    report: Callable[[str], None] = print,
) -> list[EpisodeResult]:
    """Play ``episodes`` episodes of at most ``max_steps`` steps in a MineRL (old gym API) env.

    Every action sent is complete (24 keys, ``ESC`` 0 unless the agent sets it) and validated:
    an invalid one raises :class:`SubmissionError` naming the task, episode, step and key.
    An observation that fails :func:`~vpt.env.minerl_backend.check_observation` is not shown to
    the agent; a no-op is sent instead and the episode goes on (the harness owns the env and its
    restarts). The agent's memory is reset at each episode start.
    """
    if episodes < 0 or not (max_steps > 0):
        raise ValueError(f"episodes must be >= 0 and max_steps > 0, got {episodes}, {max_steps}")
    results = []
    for episode in range(episodes):
        obs = env.reset()
        agent.reset()
        steps, total, bad, ended_by = 0, 0.0, 0, "max_steps"
        while steps < max_steps:
            try:
                check_observation(obs, resolution)
                action = agent.get_action(obs)
            except BadObservationError as e:
                bad += 1
                log.warning("%s episode %d step %d: observation not shown to the agent: %s", task, episode, steps, e)
                action = noop_env_action()
            try:
                minerl_action = to_minerl_action(action)
            except InvalidActionError as e:
                raise SubmissionError(f"{task}: episode {episode}, step {steps}: the agent emitted an invalid action: {e}") from e
            obs, reward, done, info = env.step(minerl_action)
            steps += 1
            if isinstance(reward, (int, float, np.number)) and math.isfinite(float(reward)):
                total += float(reward)
            if isinstance(info, dict) and "error" in info:
                bad += 1
                log.warning("%s episode %d step %d: MineRL reported %r", task, episode, steps, info["error"])
            if done:
                ended_by = "done"
                break
        results.append(EpisodeResult(task, episode, steps, total, ended_by, bad))
        report(f"[{task}] episode {episode + 1}/{episodes}: {steps} steps, reward {total:g}, ended by {ended_by}"
               + (f", {bad} bad observation(s)" if bad else ""))
    return results

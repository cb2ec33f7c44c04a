"""Run an agent in an environment for some episodes and write each episode as an mp4 (H.264,
20 fps), optionally with a contractor-format ``.jsonl`` of the actions (one line per frame)."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np

from vpt.data.frames import draw_cursor
from vpt.data.video import VideoWriter
from vpt.env.recorder import ContractorRecorder

#: A policy: (observation, info) -> MineRL action dict.
Policy = Callable[[Mapping[str, Any], Mapping[str, Any]], Mapping[str, Any]]


@dataclass
class EpisodeResult:
    """What one played episode produced."""

    path: Path
    steps: int
    seconds: float
    terminated: bool
    items_obtained: list[str] = field(default_factory=list)

    @property
    def steps_per_second(self) -> float:
        return self.steps / max(self.seconds, 1e-9)


def random_policy(action_space: gymnasium.spaces.Dict, seed: int | None = None, camera_std: float = 5.0) -> Policy:
    """Uniformly random buttons (``action_space.sample()``) with a small random camera motion
    (normal, ``camera_std`` degrees), so that the videos stay watchable."""
    action_space.seed(seed)
    rng = np.random.default_rng(seed)

    def act(obs: Mapping[str, Any], info: Mapping[str, Any]) -> dict[str, Any]:
        a = action_space.sample()
        a["camera"] = np.clip(rng.normal(0.0, camera_std, 2), -180, 180).astype(np.float32)
        return a

    return act


def play_episodes(
    env: gymnasium.Env,
    policy: Policy,
    episodes: int,
    out_dir: str | Path,
    *,
    max_steps: int | None = None,
    seed: int | None = None,
    jsonl: bool = False,
    on_episode_start: Callable[[], None] | None = None,
    on_step: Callable[[int, int], None] | None = None,
) -> list[EpisodeResult]:
    """Play ``episodes`` episodes and write ``out_dir/episode_NNN.mp4`` (+ ``.jsonl``).

    Args:
        env: any env with MineRL's interface (``obs["pov"]`` RGB uint8 of even size).
        policy: called once per step with (obs, info), returns the action.
        max_steps: stop an episode after this many steps (it is then truncated).
        seed: seed of the first reset (episode ``k`` uses ``seed + k``); None: unseeded.
        jsonl: write each episode as a contractor recording (:class:`~vpt.env.recorder.ContractorRecorder`:
            the video and the recorder's ``.jsonl``, line ``i`` the action taken on frame ``i``),
            which the data tools read like OpenAI's. Their loader draws the cursor from the jsonl,
            so the env should draw none (the simulator's ``cursor_size=0``, with the policy wrapped
            in :func:`with_loader_cursor`, as ``vpt play --jsonl`` does).
        on_episode_start: called before each episode (e.g. ``agent.reset``).
        on_step: called after each step with (episode index, step index).
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    recorder = None
    if jsonl:
        h, w = env.observation_space["pov"].shape[:2]
        recorder = ContractorRecorder(env, out, name_fn=lambda k: f"episode_{k:03d}", resolution=(w, h))
        env = recorder
    results = []
    for k in range(episodes):
        if on_episode_start is not None:
            on_episode_start()
        obs, info = env.reset(seed=None if seed is None else seed + k)
        path = out / f"episode_{k:03d}.mp4"
        if recorder is not None:  # it records every step itself: the jsonl lands first, the mp4 last
            write, finish, abort = None, recorder.end_episode, recorder.discard_episode
        else:
            writer = VideoWriter(path, obs["pov"].shape[1], obs["pov"].shape[0])
            write, finish, abort = writer.write, writer.close, writer.abort
        t0 = time.perf_counter()
        steps, terminated = 0, False
        try:
            while max_steps is None or steps < max_steps:
                action = policy(obs, info)
                if write is not None:
                    write(obs["pov"])
                obs, _, terminated, truncated, info = env.step(action)
                steps += 1
                if on_step is not None:
                    on_step(k, steps)
                if terminated or truncated:
                    break
        except BaseException:
            abort()
            raise
        seconds = time.perf_counter() - t0
        finish()
        results.append(EpisodeResult(path, steps, seconds, bool(terminated), list(info.get("items_obtained", []))))
    return results


def with_loader_cursor(policy: Policy) -> Policy:
    """``policy`` shown the frames as a data loader shows a contractor recording: while a screen
    is open, the loader's cursor (:func:`vpt.data.draw_cursor`) drawn at ``info["cursor"]``. For
    an env that draws no cursor of its own (the simulator's ``cursor_size=0``) so that its
    frames can be recorded as contractor data."""

    def act(obs: Mapping[str, Any], info: Mapping[str, Any]) -> Mapping[str, Any]:
        if info.get("gui_open") and "cursor" in info:
            obs = {**obs, "pov": draw_cursor(np.array(obs["pov"]), *(float(c) for c in info["cursor"]))}
        return policy(obs, info)

    return act

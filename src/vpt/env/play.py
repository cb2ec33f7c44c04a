"""Run an agent in an environment for some episodes and write each episode as an mp4 (H.264,
20 fps), optionally with a contractor-format ``.jsonl`` of the actions (one line per frame)."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np

from vpt.data.jsonl import env_action_to_jsonl_line
from vpt.data.video import VideoWriter, atomic_path

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
        jsonl: also write the contractor-recorder ``.jsonl`` (one line per frame: the action
            taken on that frame).
        on_episode_start: called before each episode (e.g. ``agent.reset``).
        on_step: called after each step with (episode index, step index).
    """
    if episodes < 1:
        raise ValueError(f"episodes must be >= 1, got {episodes}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    results = []
    for k in range(episodes):
        if on_episode_start is not None:
            on_episode_start()
        obs, info = env.reset(seed=None if seed is None else seed + k)
        path = out / f"episode_{k:03d}"
        lines: list[dict[str, Any]] = []
        writer = VideoWriter(path.with_suffix(".mp4"), obs["pov"].shape[1], obs["pov"].shape[0])
        t0 = time.perf_counter()
        steps, terminated = 0, False
        try:
            while max_steps is None or steps < max_steps:
                action = policy(obs, info)
                writer.write(obs["pov"])
                obs, _, terminated, truncated, info = env.step(action)
                steps += 1
                if jsonl:
                    lines.append(env_action_to_jsonl_line(
                        action, hotbar=int(info.get("selected", 0)), gui_open=bool(info.get("gui_open", False)),
                        cursor=tuple(float(c) for c in info.get("cursor", (640.0, 360.0))),
                        extra=_state_fields(info)))
                if on_step is not None:
                    on_step(k, steps)
                if terminated or truncated:
                    break
            if jsonl:  # the recorder's protocol: the jsonl lands first, the mp4 last
                tmp = atomic_path(path.with_suffix(".jsonl"))
                tmp.write_text("".join(json.dumps(line, separators=(",", ":")) + "\n" for line in lines))
                os.replace(tmp, path.with_suffix(".jsonl"))
        except BaseException:
            writer.abort()
            raise
        seconds = time.perf_counter() - t0
        writer.close()
        results.append(EpisodeResult(path.with_suffix(".mp4"), steps, seconds, bool(terminated),
                                     list(info.get("items_obtained", []))))
    return results


def _state_fields(info: Mapping[str, Any]) -> dict[str, Any]:
    """The recorder's state fields that the env's ``info`` provides."""
    out: dict[str, Any] = {}
    if "position" in info:
        x, y, z = (float(v) for v in info["position"])
        out.update(xpos=x, ypos=y, zpos=z)
    for key in ("yaw", "pitch"):
        if key in info:
            out[key] = float(info[key])
    if "tick" in info:
        out["tick"] = int(info["tick"])
    if "inventory" in info:
        out["inventory"] = [{"type": name, "quantity": int(n)} for name, n in info["inventory"].items() if n]
    return out

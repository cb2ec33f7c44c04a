"""A MineRL stand-in for tests and ``vpt submission check``: the embedded simulator behind
MineRL 1.0's *old* gym API, with MineRL's task semantics and injectable failures.

:class:`OldGymSimEnv` drives the real simulator (:class:`vpt.env.sim.SimEnv`) and behaves the
way ``shared/reference/minerl.md`` §2 describes MineRL: ``reset() -> obs``, ``step(a) -> (obs,
reward, done, info)``, ``seed(s)`` applied at the next reset only, unknown action keys ignored,
missing ones not pressed. In BASALT tasks an action without ``ESC`` raises ``KeyError``,
``ESC=1`` ends the episode and ``step`` after the end raises ``RuntimeError``; the time limit
ends episodes with ``info["TimeLimit.truncated"]`` as gym's ``TimeLimit`` does. HumanSurvival and
ObtainDiamondShovel observations carry ``inventory`` as MineRL's do.

A :class:`FailurePlan` injects the failures seen in long MineRL runs: a crash (the Java process
dies; every later call raises), a freeze (the call blocks until ``close()``), the random
observation MineRL returns after a socket timeout (with or without its ``info["error"]``), and
a malformed observation. Step numbers count over the instance's whole life, as crashes in long
runs do. This module is not a MineRL emulation for playing: use real MineRL for that.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vpt.actions import ENV_KEYS, env_action_space
from vpt.env.minerl_backend import DEFAULT_SETTINGS, MineRLTask, resolve_task
from vpt.env.sim import SimEnv

__all__ = ["FailurePlan", "OldGymSimEnv", "OldGymSimFactory", "MinecraftCrashed"]

#: How long a frozen call waits for ``close()`` before it gives up by itself.
_FREEZE_LIMIT_S = 600.0


class MinecraftCrashed(RuntimeError):
    """The stand-in's "Java process" has died (as MineRL reports a finished Minecraft process)."""


@dataclass(frozen=True)
class FailurePlan:
    """Failures one stand-in instance will show. Steps are 1-based over the instance's life."""

    crash_on_step: int | None = None
    """This step raises, and so does every later call (the game process died)."""
    freeze_on_step: int | None = None
    """This step blocks until the instance is closed (a frozen game), then raises."""
    random_obs_on_step: int | None = None
    """MineRL's socket-timeout path: a sampled (noise) observation, done, ``info["error"]``."""
    noise_obs_on_step: int | None = None
    """A noise observation with no error report (only the adapter's sanity check can tell)."""
    malformed_obs_on_step: int | None = None
    """An observation whose ``pov`` has the wrong shape."""
    crash_on_reset: bool = False
    """The first ``reset()`` raises (Minecraft finished unexpectedly at reset)."""


class OldGymSimEnv:
    """The embedded simulator behind MineRL's old gym API, for one MineRL task.

    Args:
        env_id: a MineRL task name or id (``"FindCave"``, ``"MineRLBasaltFindCave-v0"``, ...).
            BASALT tasks and ObtainDiamondShovel run in the simulator's survival world; only
            their episode rules (ESC, time limit) are MineRL's.
        max_episode_steps: the time limit; default the task's (None for HumanSurvival).
        resolution: (width, height) of ``pov`` (MineRL's kwarg; BASALT's is 640x360).
        fov_range: MineRL's kwarg, passed to the simulator.
        world: simulator world options (see :class:`vpt.env.sim.WorldOptions`).
        failures: what to inject.
    """

    def __init__(
        self,
        env_id: str = "HumanSurvival",
        *,
        max_episode_steps: int | None = None,
        resolution: tuple[int, int] = DEFAULT_SETTINGS.resolution,
        fov_range: tuple[float, float] = DEFAULT_SETTINGS.fov_range,
        world: Mapping[str, Any] | None = None,
        failures: FailurePlan = FailurePlan(),
    ) -> None:
        self.task: MineRLTask = resolve_task(env_id)
        self.max_episode_steps = self.task.max_episode_steps if max_episode_steps is None else int(max_episode_steps)
        self.failures = failures
        self.sim = SimEnv(resolution=resolution, fov_range=fov_range, world=world, render_mode=None)
        self.observation_space = self.sim.observation_space
        self.action_space = env_action_space()
        self.steps = 0
        """Steps over the instance's life."""
        self.episode_steps = 0
        self.resets = 0
        self.closed = False
        self.crashed = False
        self._closed_event = threading.Event()
        self._pending_seed: int | None = None
        self._done = True
        self._inventory_obs = self.task.name in ("HumanSurvival", "ObtainDiamondShovel")

    def seed(self, seed: int | None = None) -> None:
        """Seed the next ``reset()`` only (MineRL 1.0 clears the seed after using it)."""
        self._pending_seed = None if seed is None else int(seed)

    def _alive(self) -> None:
        if self.closed:
            raise MinecraftCrashed("the Minecraft instance was closed")
        if self.crashed:
            raise MinecraftCrashed("Minecraft process finished unexpectedly")

    def _obs(self, pov: np.ndarray, info: Mapping[str, Any]) -> dict[str, Any]:
        obs: dict[str, Any] = {"pov": pov}
        if self._inventory_obs:
            obs["inventory"] = {k: np.int32(v) for k, v in info["inventory"].items()}
        return obs

    def reset(self) -> dict[str, Any]:
        """Start an episode in a fresh world; returns the observation only."""
        self._alive()
        if self.failures.crash_on_reset and self.resets == 0:
            self.crashed = True
            raise MinecraftCrashed("Minecraft process finished unexpectedly (at reset)")
        self.resets += 1
        seed, self._pending_seed = self._pending_seed, None
        obs, info = self.sim.reset(seed=seed)
        self.episode_steps = 0
        self._done = False
        return self._obs(obs["pov"], info)

    def step(self, action: Mapping[str, Any]) -> tuple[dict[str, Any], float, bool, dict[str, Any]]:
        """One tick. Returns ``(obs, reward, done, info)``."""
        self._alive()
        if self._done:
            raise RuntimeError("step() called after the episode ended; call reset()")
        esc = bool(action["ESC"]) if self.task.esc_ends_episode else False  # KeyError like BASALT
        self.steps += 1
        f = self.failures
        if self.steps == f.crash_on_step:
            self.crashed = True
            raise MinecraftCrashed(f"Minecraft process finished unexpectedly (step {self.steps})")
        if self.steps == f.freeze_on_step:
            self._closed_event.wait(_FREEZE_LIMIT_S)
            raise ConnectionError("socket closed while waiting for Minecraft")
        if self.steps == f.random_obs_on_step:
            self._done = True
            return self.observation_space.sample(), 0.0, True, {"error": "Connection timed out!"}
        sim_action = {k: v for k, v in action.items() if k in ENV_KEYS}  # MineRL ignores the rest
        obs, reward, terminated, truncated, info = self.sim.step(sim_action)
        self.episode_steps += 1
        out_info: dict[str, Any] = {}
        done = bool(terminated or truncated or esc)
        if not done and self.max_episode_steps is not None and self.episode_steps >= self.max_episode_steps:
            done = True
            out_info["TimeLimit.truncated"] = True
        self._done = done
        pov = obs["pov"]
        if self.steps == f.noise_obs_on_step:
            pov = self.observation_space.sample()["pov"]
        if self.steps == f.malformed_obs_on_step:
            pov = pov[: pov.shape[0] // 2]
        return self._obs(pov, info), float(reward), done, out_info

    def close(self) -> None:
        """Stop the instance; a frozen call wakes up and raises."""
        self.closed = True
        self._closed_event.set()
        self.sim.close()


class OldGymSimFactory:
    """Builds :class:`OldGymSimEnv` instances for :class:`vpt.env.minerl_backend.MineRLEnv`:
    the i-th instance gets ``failures[i]`` (none past the end). ``instances`` keeps them all."""

    def __init__(self, env_id: str = "HumanSurvival", *, failures: Sequence[FailurePlan] = (), **kwargs: Any) -> None:
        self.env_id = env_id
        self.failures = tuple(failures)
        self.kwargs = kwargs
        self.instances: list[OldGymSimEnv] = []

    def __call__(self) -> OldGymSimEnv:
        i = len(self.instances)
        plan = self.failures[i] if i < len(self.failures) else FailurePlan()
        inst = OldGymSimEnv(self.env_id, failures=plan, **self.kwargs)
        self.instances.append(inst)
        return inst


"""The stable-baselines3 baseline: "RL from scratch" with a well-known PPO implementation.

:class:`DiscreteMineRL` exposes any MineRL-interface task with a multi-discrete view of the
native action space and a small image observation, so that SB3's ``CnnPolicy`` can train on it;
:func:`train_sb3` runs SB3's PPO and records episodes in the same ``episodes.jsonl`` format as
:mod:`vpt.rl.ppo`, so that both appear in one plot.

Action view (``MultiDiscrete``), one entry per group of the native interface:

=====  ===========  ===============================================
index  size         meaning
=====  ===========  ===============================================
0      3            none / forward / back
1      3            none / left / right
2      2            jump
3      3            none / sprint / sneak
4      2            attack
5      2            use
6      2            inventory
7      10           none / hotbar.1 … hotbar.9
8      11           camera pitch bin (VPT's mu-law bins, 5 = still)
9      11           camera yaw bin
=====  ===========  ===============================================
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import gymnasium
import numpy as np

from vpt import actions
from vpt.atomic import atomic_output, atomic_write_json

__all__ = ["DiscreteMineRL", "ACTION_NVEC", "train_sb3"]

ACTION_NVEC = np.array([3, 3, 2, 3, 2, 2, 2, 10, actions.N_CAMERA_BINS, actions.N_CAMERA_BINS], dtype=np.int64)


class DiscreteMineRL(gymnasium.Wrapper):
    """Multi-discrete actions and a ``size``×``size`` RGB observation over a MineRL-interface env.

    ``info`` is passed through unchanged (inventory, items obtained ...).
    """

    def __init__(self, env: gymnasium.Env, size: int = 64) -> None:
        super().__init__(env)
        self.size = size
        self.action_space = gymnasium.spaces.MultiDiscrete(ACTION_NVEC)
        self.observation_space = gymnasium.spaces.Box(0, 255, (size, size, 3), dtype=np.uint8)

    def _obs(self, obs: dict[str, np.ndarray]) -> np.ndarray:
        pov = obs["pov"]
        if pov.shape[:2] != (self.size, self.size):
            pov = cv2.resize(pov, (self.size, self.size), interpolation=cv2.INTER_AREA)
        return np.ascontiguousarray(pov, dtype=np.uint8)

    def to_env_action(self, a: np.ndarray) -> dict[str, Any]:
        """The complete MineRL action dict for a multi-discrete action."""
        a = np.asarray(a, dtype=np.int64).reshape(-1)
        env = actions.noop_env_action()
        env["forward"], env["back"] = int(a[0] == 1), int(a[0] == 2)
        env["left"], env["right"] = int(a[1] == 1), int(a[1] == 2)
        env["jump"] = int(a[2])
        env["sprint"], env["sneak"] = int(a[3] == 1), int(a[3] == 2)
        env["attack"], env["use"], env["inventory"] = int(a[4]), int(a[5]), int(a[6])
        if a[7]:
            env[f"hotbar.{a[7]}"] = 1
        env["camera"] = actions.bins_to_camera(a[8:10]).astype(np.float32)
        return env

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        return self._obs(obs), info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(self.to_env_action(action))
        return self._obs(obs), float(reward), terminated, truncated, info


def train_sb3(
    task: str,
    out: str | Path,
    *,
    total_steps: int = 20_000,
    num_envs: int = 4,
    env_kwargs: dict[str, Any] | None = None,
    size: int = 64,
    seed: int = 0,
    ppo_kwargs: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Train SB3's PPO (``CnnPolicy``) from scratch on a task; writes ``model.zip``,
    ``episodes.jsonl`` (return and items per episode) and TensorBoard logs under ``out``."""
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    import vpt.env  # noqa: F401

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    kwargs = {"resolution": [size, size], **(env_kwargs or {})}
    venv = make_vec_env(lambda: DiscreteMineRL(gymnasium.make(task, **kwargs), size), n_envs=num_envs, seed=seed)
    episodes: list[dict[str, Any]] = []
    returns = np.zeros(num_envs)
    log = (out / "episodes.jsonl").open("w")  # one line per finished episode, as it finishes

    class Record(BaseCallback):
        def _on_step(self) -> bool:
            returns[:] += self.locals["rewards"]
            for i, done in enumerate(self.locals["dones"]):
                if done:
                    info = self.locals["infos"][i]
                    episodes.append({"env_steps": int(self.num_timesteps), "return": float(returns[i]),
                                     "items": list(info.get("items_obtained", []))})  # fmt: skip
                    log.write(json.dumps(episodes[-1]) + "\n")
                    log.flush()
                    returns[i] = 0.0
            return True

    params = {"n_steps": 128, "batch_size": 128, "learning_rate": 2.5e-4, "ent_coef": 0.01, **(ppo_kwargs or {})}
    model = PPO("CnnPolicy", venv, seed=seed, verbose=0, tensorboard_log=str(out / "tb"), **params)
    try:
        model.learn(total_timesteps=total_steps, callback=Record())
    finally:
        log.close()
    with atomic_output(out / "model.zip") as tmp:  # the suffix is kept: SB3 would append ".zip"
        model.save(tmp)
    venv.close()
    summary = {"env_steps": int(model.num_timesteps), "episodes": len(episodes),
               "mean_return": float(np.mean([e["return"] for e in episodes])) if episodes else 0.0}  # fmt: skip
    atomic_write_json(out / "summary.json", summary)  # last: marks the run finished
    return summary

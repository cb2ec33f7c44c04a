"""Backend selection for ``gymnasium.make("vpt/<Task>-v0", backend=...)``.

``backend="sim"`` (the default) builds the embedded simulator's env for the task;
``backend="minerl"`` builds the same task in real Minecraft through
:func:`vpt.env.minerl_backend.make_minerl_env` (MineRL's own kwargs). Tasks only MineRL has
(the BASALT tasks, ObtainDiamondShovel) are registered with no simulator entry point, so they
need ``backend="minerl"``.
"""

from __future__ import annotations

from typing import Any

import gymnasium
from gymnasium.envs.registration import load_env_creator

from vpt.env.minerl_backend import make_minerl_env

__all__ = ["BACKENDS", "make_env"]

#: The backends ``make_env`` knows.
BACKENDS: tuple[str, ...] = ("sim", "minerl")


def make_env(*, task: str, sim_entry_point: str | None, backend: str = "sim", **kwargs: Any) -> gymnasium.Env:
    """Build ``task`` (a registered id such as ``vpt/HumanSurvival-v0``) on ``backend``.

    ``task`` and ``sim_entry_point`` come from the registration; ``kwargs`` go to the backend.
    """
    if backend == "minerl":
        if task == "vpt/ObtainDiamondPickaxe-v0":
            # MineRL has no such task: the item-sequence reward over HumanSurvival.
            from vpt.env.tasks import ItemSequenceReward

            max_steps = kwargs.pop("max_steps", 12_000)
            return ItemSequenceReward(make_minerl_env("vpt/HumanSurvival-v0", **kwargs), max_steps=max_steps)
        return make_minerl_env(task, **kwargs)
    if backend != "sim":
        raise ValueError(f"{task}: backend must be one of {list(BACKENDS)}, got {backend!r}")
    if sim_entry_point is None:
        raise ValueError(f"the embedded simulator has no {task}; it exists in real Minecraft only: pass backend='minerl'")
    return load_env_creator(sim_entry_point)(**kwargs)


# gymnasium.make reads the entry point's render modes from here.
make_env.metadata = {"render_modes": ["rgb_array"], "render_fps": 20}  # type: ignore[attr-defined]

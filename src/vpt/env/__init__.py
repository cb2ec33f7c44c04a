"""Gymnasium environments with MineRL 1.0's interface.

``import vpt.env`` registers them (or name the module in the id:
``gymnasium.make("vpt.env:vpt/HumanSurvival-v0")``):

* ``vpt/HumanSurvival-v0`` — the embedded simulator (:class:`vpt.env.sim.SimEnv`), open-ended
  survival, no reward, no time limit (pass ``max_episode_steps``).
* ``vpt/ObtainDiamondPickaxe-v0`` — the VPT item-sequence reward, 10 minutes
  (:mod:`vpt.env.tasks`; ``max_steps=`` changes the limit).
* ``vpt/BuildHouse-v0`` — the contractors' house task: building material at the start,
  10 minutes, ``info["house_score"]`` at the end. Keyword arguments:
  ``resolution=(W, H)``, ``world={...}`` (:class:`vpt.env.sim.WorldOptions`), ``fov_range``,
  ``view_distance``, ``frameskip=1``, ``rules_path``.

Every id takes ``backend="sim"`` (default) or ``backend="minerl"`` (real Minecraft through MineRL
1.0, :mod:`vpt.env.minerl_backend`, with MineRL's kwargs). ``vpt/FindCave-v0``,
``vpt/MakeWaterfall-v0``, ``vpt/CreateVillageAnimalPen-v0``, ``vpt/BuildVillageHouse-v0`` and
``vpt/ObtainDiamondShovel-v0`` exist in MineRL only (``backend="minerl"``).
"""

from __future__ import annotations

import gymnasium

_ENVS = {
    "vpt/HumanSurvival-v0": "vpt.env.sim.env:SimEnv",
    "vpt/ObtainDiamondPickaxe-v0": "vpt.env.tasks:make_obtain_diamond_pickaxe",
    "vpt/BuildHouse-v0": "vpt.env.tasks:make_build_house",
}
#: Tasks only real Minecraft has (``backend="minerl"``).
_MINERL_ONLY = ("FindCave", "MakeWaterfall", "CreateVillageAnimalPen", "BuildVillageHouse", "ObtainDiamondShovel")


def register_envs() -> None:
    """Register this package's environments with Gymnasium (idempotent)."""
    minerl_only = {f"vpt/{name}-v0": None for name in _MINERL_ONLY}
    for env_id, entry_point in {**_ENVS, **minerl_only}.items():
        if env_id not in gymnasium.registry:  # vpt.env.backends dispatches on backend="sim"|"minerl"
            gymnasium.register(
                id=env_id,
                entry_point="vpt.env.backends:make_env",
                kwargs={"task": env_id, "sim_entry_point": entry_point},
            )


register_envs()

__all__ = ["register_envs"]

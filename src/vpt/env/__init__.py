"""Gymnasium environments with MineRL 1.0's interface.

``import vpt.env`` registers them (or name the module in the id:
``gymnasium.make("vpt.env:vpt/HumanSurvival-v0")``):

* ``vpt/HumanSurvival-v0`` — the embedded simulator (:class:`vpt.env.sim.SimEnv`), open-ended
  survival, no reward, no time limit (pass ``max_episode_steps``). Keyword arguments:
  ``resolution=(W, H)``, ``world={...}`` (:class:`vpt.env.sim.WorldOptions`), ``fov_range``,
  ``view_distance``, ``frameskip=1``, ``rules_path``.
"""

from __future__ import annotations

import gymnasium

_ENVS = {"vpt/HumanSurvival-v0": "vpt.env.sim.env:SimEnv"}


def register_envs() -> None:
    """Register this package's environments with Gymnasium (idempotent)."""
    for env_id, entry_point in _ENVS.items():
        if env_id not in gymnasium.registry:
            gymnasium.register(id=env_id, entry_point=entry_point)


register_envs()

__all__ = ["register_envs"]

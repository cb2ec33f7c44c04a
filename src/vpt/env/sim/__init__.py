"""The embedded simulator: a Minecraft-like voxel world behind MineRL 1.0's interface.

``rules.yaml`` (read by :mod:`.rules`) declares every block, item, recipe and smelting rule;
:mod:`.world` generates worlds, :mod:`.player` moves and mines, :mod:`.render` draws frames, and
:class:`.env.SimEnv` is the Gymnasium environment (registered as ``vpt/HumanSurvival-v0`` by
``import vpt.env``).
"""

from vpt.env.sim.env import SimEnv
from vpt.env.sim.rules import Rules, load_rules
from vpt.env.sim.world import WorldOptions

__all__ = ["SimEnv", "Rules", "WorldOptions", "load_rules"]

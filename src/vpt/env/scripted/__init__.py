"""Scripted "contractor" players for the embedded simulator.

They read the simulator's state (privileged) but act only through MineRL action dicts, with
human-like noise. :data:`PLAYERS` maps a name to its class; every class has ``MILESTONES`` (for
success-rate tables) and ``START_INVENTORY`` (the world's start inventory it expects).
"""

from vpt.env.scripted.base import ScriptedPlayer, SkillFailed
from vpt.env.scripted.house import BLUEPRINTS, Blueprint, HouseBuilder
from vpt.env.scripted.techtree import TechTreePlayer

PLAYERS: dict[str, type[ScriptedPlayer]] = {"tech-tree": TechTreePlayer, "house": HouseBuilder}

__all__ = ["PLAYERS", "BLUEPRINTS", "Blueprint", "HouseBuilder", "ScriptedPlayer", "SkillFailed", "TechTreePlayer"]

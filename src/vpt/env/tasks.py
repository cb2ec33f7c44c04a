"""Tasks: rewards, time limits and metrics on top of any MineRL-interface environment.

* :class:`ItemSequenceReward` — the VPT paper's reward for the diamond-pickaxe tech tree
  (:data:`ITEM_SEQUENCE`): each item pays a fixed reward per unit for its first ``units`` units
  obtained in the episode. Works on any backend whose ``info`` reports item gains (the embedded
  simulator's ``obtained``, or inventory counts, from which gains are derived).
* :class:`BuildHouseTask` — the contractors' house task: a start inventory of building
  material, a time limit, and a :func:`house_score` computed from the world at episode end.
* :class:`TaskEnv` — the time limit inside the task (so the task knows when the episode ends).

Registered ids (see :mod:`vpt.env`): ``vpt/ObtainDiamondPickaxe-v0``, ``vpt/BuildHouse-v0``;
``vpt/HumanSurvival-v0`` has no reward. The wrappers can also be applied to any env by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import gymnasium
import numpy as np

__all__ = [
    "ITEM_SEQUENCE",
    "HOUSE_START_INVENTORY",
    "EPISODE_STEPS",
    "TASK_IDS",
    "ItemSequenceReward",
    "TaskEnv",
    "BuildHouseTask",
    "HouseScore",
    "house_score",
    "make_obtain_diamond_pickaxe",
    "make_build_house",
]

#: Ten minutes of game time.
EPISODE_STEPS = 12_000

#: Ids of the task envs, whose time limit is their own ``max_steps`` kwarg (so that the task
#: sees the end of the episode, e.g. to score a house).
TASK_IDS: tuple[str, ...] = ("vpt/ObtainDiamondPickaxe-v0", "vpt/BuildHouse-v0")


@dataclass(frozen=True)
class RewardItem:
    """``units`` units of ``item`` are rewarded, ``reward`` each; ``matches`` are the item
    names that count (a tag such as logs lists every kind of log)."""

    item: str
    units: int
    reward: float
    matches: tuple[str, ...]


#: The VPT item-sequence reward (paper, RL fine-tuning): item, units rewarded, reward per unit.
ITEM_SEQUENCE: tuple[RewardItem, ...] = (
    RewardItem("log", 8, 1 / 8, ("oak_log", "log")),
    RewardItem("planks", 20, 1 / 20, ("oak_planks", "planks")),
    RewardItem("stick", 16, 1 / 16, ("stick",)),
    RewardItem("crafting_table", 1, 1.0, ("crafting_table",)),
    RewardItem("wooden_pickaxe", 1, 1.0, ("wooden_pickaxe",)),
    RewardItem("cobblestone", 11, 1 / 11, ("cobblestone",)),
    RewardItem("stone_pickaxe", 1, 1.0, ("stone_pickaxe",)),
    RewardItem("furnace", 1, 1.0, ("furnace",)),
    RewardItem("coal", 5, 2 / 5, ("coal",)),
    RewardItem("torch", 16, 1 / 8, ("torch",)),
    RewardItem("iron_ore", 3, 4 / 3, ("iron_ore",)),
    RewardItem("iron_ingot", 3, 4 / 3, ("iron_ingot",)),
    RewardItem("iron_pickaxe", 1, 4.0, ("iron_pickaxe",)),
    RewardItem("diamond", 3, 8 / 3, ("diamond",)),
    RewardItem("diamond_pickaxe", 1, 8.0, ("diamond_pickaxe",)),
)

#: What the contractors' house task starts with (building material and a few tools).
HOUSE_START_INVENTORY: dict[str, int] = {
    "oak_planks": 64 * 3, "oak_log": 32, "oak_door": 2, "oak_fence": 16, "glass": 16, "torch": 8,
    "oak_slab": 32, "stone_pickaxe": 1, "stone_axe": 1, "stone_shovel": 1,
}  # fmt: skip


class TaskEnv(gymnasium.Wrapper):
    """Base of the task wrappers: a step limit (truncation) that the task itself sees."""

    def __init__(self, env: gymnasium.Env, max_steps: int | None = EPISODE_STEPS) -> None:
        super().__init__(env)
        self.max_steps = max_steps
        self.steps = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        self.steps = 0
        return self.env.reset(seed=seed, options=options)

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.steps += 1
        if self.max_steps is not None and self.steps >= self.max_steps:
            truncated = True
        return obs, reward, terminated, truncated, info


def _gains(info: Mapping[str, Any], previous: dict[str, int]) -> dict[str, int]:
    """Units gained this step per item name, from ``obtained`` (preferred) or ``inventory``."""
    if "obtained" in info:
        now = {k: int(v) for k, v in info["obtained"].items()}
        gained = {k: v - previous.get(k, 0) for k, v in now.items() if v > previous.get(k, 0)}
        previous.clear()
        previous.update(now)
        return gained
    inv = {k: int(v) for k, v in info.get("inventory", {}).items()}
    gained = {k: v - previous.get(k, 0) for k, v in inv.items() if v > previous.get(k, 0)}
    previous.clear()
    previous.update(inv)
    return gained


class ItemSequenceReward(TaskEnv):
    """The VPT item-sequence reward over any env whose ``info`` reports items.

    Adds to ``info``: ``task_items`` (item → units rewarded so far this episode) and
    ``task_obtained`` (items of the sequence obtained at least once, in order of first
    obtaining). Without item information in ``info`` the reward is always 0 (and
    ``info["task_warning"]`` says so).
    """

    def __init__(self, env: gymnasium.Env, max_steps: int | None = EPISODE_STEPS, sequence: tuple[RewardItem, ...] = ITEM_SEQUENCE) -> None:
        super().__init__(env, max_steps)
        self.sequence = sequence
        self._match = {name: it for it in sequence for name in it.matches}
        self._prev: dict[str, int] = {}
        self.units: dict[str, int] = {}
        self.obtained: list[str] = []

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, info = super().reset(seed=seed, options=options)
        self._prev = {}
        _gains(info, self._prev)  # the start inventory is not a gain
        if "obtained" not in info:
            self._prev = {k: int(v) for k, v in info.get("inventory", {}).items()}
        self.units = {it.item: 0 for it in self.sequence}
        self.obtained = []
        return obs, self._annotate(info)

    def step(self, action):
        obs, _, terminated, truncated, info = super().step(action)
        reward = 0.0
        for name, n in _gains(info, self._prev).items():
            it = self._match.get(name)
            if it is None:
                continue
            paid = min(n, it.units - self.units[it.item])
            if paid > 0:
                reward += paid * it.reward
                self.units[it.item] += paid
            if it.item not in self.obtained:
                self.obtained.append(it.item)
        return obs, reward, terminated, truncated, self._annotate(info)

    def _annotate(self, info: dict[str, Any]) -> dict[str, Any]:
        info = dict(info)
        info["task_items"] = dict(self.units)
        info["task_obtained"] = list(self.obtained)
        if "obtained" not in info and "inventory" not in info:
            info["task_warning"] = "the environment reports no items: the item-sequence reward is 0"
        return info


# --- house score ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HouseScore:
    """A house score and its parts (each in [0, 1]); ``score`` = mean of the parts when there is
    an enclosed floor, else 0."""

    score: float
    floor: float
    """Enclosed floor area, as a fraction of 25 blocks (capped at 1)."""
    walls: float
    """Mean height of the wall ring around the floor, as a fraction of 3 blocks."""
    roof: float
    """Fraction of the floor covered within 5 blocks above head height."""
    door: float
    """1 if a door is set in the wall ring."""
    enclosed_cells: int

    def as_dict(self) -> dict[str, float]:
        return {"house_score": self.score, "house_floor": self.floor, "house_walls": self.walls,
                "house_roof": self.roof, "house_door": self.door, "house_enclosed_cells": float(self.enclosed_cells)}  # fmt: skip


def _flood_outside(open_: np.ndarray) -> np.ndarray:
    """Cells of a 2D grid reachable from the border through ``open_`` cells (4-connected)."""
    reach = np.zeros_like(open_)
    reach[0, :], reach[-1, :], reach[:, 0], reach[:, -1] = open_[0, :], open_[-1, :], open_[:, 0], open_[:, -1]
    while True:
        grown = reach.copy()
        grown[1:, :] |= reach[:-1, :]
        grown[:-1, :] |= reach[1:, :]
        grown[:, 1:] |= reach[:, :-1]
        grown[:, :-1] |= reach[:, 1:]
        grown &= open_
        if np.array_equal(grown, reach):
            return reach
        reach = grown


def house_score(blocks: np.ndarray, before: np.ndarray, solid: np.ndarray, door_ids: set[int] | frozenset[int]) -> HouseScore:
    """Score what the player built: ``blocks`` now, ``before`` at reset (both ``[x, y, z]`` ids),
    ``solid`` per block id, ``door_ids`` the door blocks.

    Only the neighbourhood of placed blocks is examined. For each floor level, a cell is *floor*
    when it has a solid block under it and two free blocks above it, and it is *enclosed* when it
    cannot be reached from outside that neighbourhood through free cells (doors count as closed).
    Levels whose wall ring is less than half player-built are skipped (a pit in the terrain is
    not a house). The best level is scored: floor area, height of the built wall around it, cover
    by a built roof, and a door in the wall. A pillar or a line of blocks encloses nothing and scores 0; an open box scores below a
    roofed house with a door.
    """
    placed = (blocks != before) & (blocks != 0)
    if not placed.any():
        return HouseScore(0.0, 0.0, 0.0, 0.0, 0.0, 0)
    xs, ys, zs = np.nonzero(placed)
    m = 2
    x0, x1 = max(0, xs.min() - m), min(blocks.shape[0], xs.max() + m + 1)
    z0, z1 = max(0, zs.min() - m), min(blocks.shape[2], zs.max() + m + 1)
    y_lo, y_hi = max(1, ys.min() - 1), min(blocks.shape[1] - 2, ys.max() + 1)
    region = blocks[x0:x1, :, z0:z1]
    built = placed[x0:x1, :, z0:z1]
    is_solid = solid[region]
    is_door = np.isin(region, list(door_ids))
    wall = is_solid | is_door
    best: HouseScore | None = None
    for y in range(y_lo, y_hi + 1):
        free = ~wall[:, y, :] & ~wall[:, y + 1, :]
        floor = free & is_solid[:, y - 1, :]
        enclosed = floor & ~_flood_outside(free)
        n = int(enclosed.sum())
        if n == 0:
            continue
        ring = np.zeros_like(enclosed)
        ring[1:, :] |= enclosed[:-1, :]
        ring[:-1, :] |= enclosed[1:, :]
        ring[:, 1:] |= enclosed[:, :-1]
        ring[:, :-1] |= enclosed[:, 1:]
        ring &= ~enclosed
        top = min(region.shape[1], y + 3)
        # Walls count only what the player built: a pit in the terrain is not a house.
        heights = built[:, y:top, :].sum(axis=1)[ring]
        if not heights.size or (heights > 0).mean() < 0.5:
            continue
        walls = float(np.clip(heights, 0, 3).mean() / 3)
        above = (built & is_solid)[:, y + 2 : min(region.shape[1], y + 7), :].any(axis=1)
        roof = float(above[enclosed].mean())
        door = float((is_door[:, y, :] | is_door[:, y + 1, :])[ring].any())
        floor_part = min(n, 25) / 25
        s = HouseScore((floor_part + walls + roof + door) / 4, floor_part, walls, roof, door, n)
        if best is None or s.score > best.score:
            best = s
    return best or HouseScore(0.0, 0.0, 0.0, 0.0, 0.0, 0)


class BuildHouseTask(TaskEnv):
    """The house task on the embedded simulator: no reward during the episode; at the end,
    ``info`` carries the :func:`house_score` parts (``house_score``, ``house_floor`` ...)."""

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, info = super().reset(seed=seed, options=options)
        sim = self.env.unwrapped
        if not hasattr(sim, "world"):
            raise TypeError("BuildHouseTask needs the embedded simulator (it scores the world's blocks)")
        self._before = sim.world.blocks.copy()
        return obs, info

    def score(self) -> HouseScore:
        """The house score of the world as it is now."""
        sim = self.env.unwrapped
        doors = {i for i, n in enumerate(sim.rules.block_names) if n.endswith("_door")}
        return house_score(sim.world.blocks, self._before, sim.rules.solid, doors)

    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        if terminated or truncated:
            info = {**info, **self.score().as_dict()}
        return obs, reward, terminated, truncated, info


def _world_with(kwargs: dict[str, Any], start_inventory: Mapping[str, int]) -> dict[str, Any]:
    world = dict(kwargs.pop("world", None) or {})
    if not hasattr(world, "items"):
        world = world.__dict__
    inv = dict(start_inventory)
    inv.update(world.get("start_inventory", {}))
    world["start_inventory"] = inv
    return world


def make_obtain_diamond_pickaxe(max_steps: int | None = EPISODE_STEPS, **kwargs: Any) -> gymnasium.Env:
    """``vpt/ObtainDiamondPickaxe-v0`` on the embedded simulator."""
    from vpt.env.sim.env import SimEnv

    return ItemSequenceReward(SimEnv(**kwargs), max_steps=max_steps)


def make_build_house(max_steps: int | None = EPISODE_STEPS, **kwargs: Any) -> gymnasium.Env:
    """``vpt/BuildHouse-v0`` on the embedded simulator (start inventory: :data:`HOUSE_START_INVENTORY`)."""
    from vpt.env.sim.env import SimEnv

    kwargs["world"] = _world_with(kwargs, HOUSE_START_INVENTORY)
    return BuildHouseTask(SimEnv(**kwargs), max_steps=max_steps)

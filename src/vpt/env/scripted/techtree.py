"""A scripted tech-tree player: wood → … → diamond pickaxe.

The episode is a list of stages. *World* stages are played here: chop logs, dig down to stone
with a pickaxe (every stone block mined gives cobblestone), tunnel to the nearest coal, iron and
diamond ore and mine it with the right tier. *Crafting* stages (planks, sticks, crafting table,
pickaxes, furnace, smelting) go through a :class:`Crafter` — by default
:class:`~vpt.env.scripted.crafting.GuiCrafter`, which operates the simulator's GUI screens with
the cursor; a stage whose item is already in the inventory is skipped, and without a crafter
the episode ends at the first item that would need one, with the reason in ``stats.failures``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from vpt.env.scripted.base import Action, Script, ScriptedPlayer, SkillFailed
from vpt.env.scripted.crafting import RECIPES, GuiCrafter
from vpt.env.sim.rules import load_rules
from vpt.env.scripted.skills import dig_down, gather_logs, nearest_block, tunnel_to

__all__ = ["Crafter", "TechTreePlayer", "TECH_TREE"]

#: (item, how many the player wants) in the order it works for them. The number of logs is the
#: player's (:class:`TechTreePlayer`: whole trunks, at least :attr:`TechTreePlayer.MIN_LOGS`).
TECH_TREE: tuple[tuple[str, int], ...] = (
    ("oak_log", 6), ("oak_planks", 1), ("stick", 1), ("crafting_table", 1), ("wooden_pickaxe", 1),
    ("cobblestone", 11), ("stone_pickaxe", 1), ("furnace", 1), ("coal", 2), ("iron_ore", 3),
    ("iron_ingot", 3), ("iron_pickaxe", 1), ("diamond", 3), ("diamond_pickaxe", 1),
)


def _screen(item: str | None) -> str | None:
    """The screen ``item`` is crafted on (None for world items and smelting)."""
    return RECIPES[item][0] if item in RECIPES else None


_CRAFTED = {"oak_planks", "stick", "crafting_table", "wooden_pickaxe", "stone_pickaxe", "furnace",
            "iron_ingot", "iron_pickaxe", "diamond_pickaxe"}


def _planks(item: str) -> int:
    """Planks one craft of ``item`` takes (the scripted crafter's recipe)."""
    _, cells, per_cell = RECIPES[item]
    return sum(per_cell or 1 for ing in cells.values() if ing == "oak_planks")


def _planks_per_log() -> int:
    """Planks one log makes (the rules' recipe)."""
    rules = load_rules()
    return next(r.count for r in rules.recipes if r.output == rules.item_id("oak_planks"))


class Crafter(Protocol):
    """Makes an item through the game's screens (cursor moves and clicks only)."""

    def craft(self, player: ScriptedPlayer, item: str, *, keep_open: bool = False) -> Script:
        """Yield the actions that craft (or smelt) ``item``; raise SkillFailed if it cannot.
        ``keep_open`` leaves the screen open for the next recipe made on it."""

    def peek(self, player: ScriptedPlayer) -> Script:
        """Open the inventory, look, close it again."""

    def close(self, player: ScriptedPlayer) -> Script:
        """Close whatever screen is open."""


class TechTreePlayer(ScriptedPlayer):
    """Climb the tech tree as far as possible. Milestones are the item names of
    :data:`TECH_TREE`, reached when the player first holds the wanted number.

    Like a person (and so that a policy cloned from these episodes can learn *when* to craft):
    the player chops the first tree's whole trunk (every log in reach: 3-5), and more trees only
    if that gave fewer than :attr:`MIN_LOGS`, then crafts. The count follows the trees, and the
    moment to craft is one a policy can see: the trunk is gone (the hotbar's count digits are
    about one pixel at 128×128; with a drawn count of 3-6 logs, BC priors opened the inventory
    at a constant rate once they held any log). Planks, sticks and the crafting table are made
    in one visit to the inventory; and some episodes start with a glance at the still-empty
    inventory (:attr:`PEEK_PROB`), which shows what to do with an empty one: close it.

    Args (beyond :class:`ScriptedPlayer`'s):
        crafter: how crafting stages are done: ``"gui"`` (default) a :class:`GuiCrafter`
            working the screens; None ends the episode at the first one whose item is missing.
        logs: exactly this many logs before crafting; None (default): whole trunks, at least
            :attr:`MIN_LOGS`.
        first_log_table: open the inventory as soon as the first log is held and turn it into
            planks and a crafting table, then chop on (the rest of the trunk, at least
            :attr:`LOGS_AFTER_FIRST_VISIT`) and go on as usual. The moment to craft is then a log
            appearing in the empty hotbar, which needs no count, and log → planks → crafting
            table come in the first minute. The same as ``first_crafts=["oak_planks",
            "crafting_table"]``.
        first_crafts: what the first log is turned into, in one visit to the inventory as soon
            as it is held (as ``first_log_table``): ``["oak_planks"]``, ``["oak_planks",
            "stick"]`` (log → planks → sticks, the item-sequence reward's first three items, in
            the first minute) or ``["oak_planks", "crafting_table"]``; the rest of the tree
            follows as usual.
        peek_prob: chance of the opening glance into the empty inventory (default
            :attr:`PEEK_PROB`).
        peek_rate: per-tick chance, while walking to chop with no log held, of the same glance
            (at most :attr:`MAX_PEEKS` an episode). A cloned policy opens the inventory by
            mistake now and then; these show it what to do then: close it again.
    """

    MILESTONES = tuple(item for item, _ in TECH_TREE)
    #: logs needed for the first crafting (3 make a wooden pickaxe)
    MIN_LOGS = 3
    #: chance that an episode starts with a look into the empty inventory (at 0.4, BC priors
    #: learnt the early look best of all and opened the inventory before their first log)
    PEEK_PROB = 0.1
    #: with ``first_crafts``: logs chopped after the first visit (2 make the rest up to the pickaxe)
    LOGS_AFTER_FIRST_VISIT = 2
    #: most glances per episode from ``peek_rate``
    MAX_PEEKS = 2

    def __init__(self, env, rng: np.random.Generator, skill: float | None = None,
                 crafter: Crafter | None | str = "gui", logs: int | None = None, first_log_table: bool = False,
                 peek_prob: float | None = None, peek_rate: float = 0.0, first_crafts: Sequence[str] = ()) -> None:
        super().__init__(env, rng, skill)
        self.crafter = GuiCrafter() if crafter == "gui" else crafter
        self.logs = logs
        self.first_crafts = self._first_crafts(first_log_table, first_crafts)
        self.peek_prob = self.PEEK_PROB if peek_prob is None else float(peek_prob)
        self.peek_rate = float(peek_rate)
        self._stage: str | None = None  # the item being worked for
        self._peek: Script | None = None  # a glance under way (played before the script goes on)
        self._peeks = 0
        self._last: Action | None = None  # the script's last action

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> None:
        """As :meth:`ScriptedPlayer.check_options`, and ``first_crafts`` must be one a log can make."""
        super().check_options(options)
        cls._first_crafts(options.get("first_log_table", False), options.get("first_crafts", ()))

    @staticmethod
    def _first_crafts(first_log_table: bool, first_crafts: Sequence[str]) -> tuple[str, ...]:
        """The first visit's items; ValueError for two options at once or more than a log makes."""
        if first_log_table and first_crafts:
            raise ValueError("give first_log_table or first_crafts, not both")
        items = ("oak_planks", "crafting_table") if first_log_table else tuple(first_crafts)
        made = set(items[1:])
        if items and (items[0] != "oak_planks" or not made <= {"stick", "crafting_table"}
                      or sum(_planks(item) for item in made) > _planks_per_log()):
            raise ValueError(f"first_crafts {list(items)}: one log makes oak_planks and then at most one of "
                             f"stick or crafting_table")
        return items

    def reset(self, info: dict[str, Any]) -> None:
        super().reset(info)
        self._stage, self._peek, self._peeks, self._last = None, None, 0, None

    def act(self, info: dict[str, Any]) -> Action | None:
        """The script's next action, or a glance into the inventory (``peek_rate``) slipped in
        while it walks to a tree with no log held."""
        self.info = info  # what the glance sees (the script's turn sets it too)
        if self._may_peek(info) and self.rng.random() < self.peek_rate:  # no draw unless it may
            self._peek, self._peeks = self.crafter.peek(self), self._peeks + 1
        if self._peek is not None:
            try:
                return next(self._peek)
            except StopIteration:
                self._peek = None
        self._last = super().act(info)
        return self._last

    def _may_peek(self, info: dict[str, Any]) -> bool:
        """A glance may start now: working for logs with none held, no screen open, not mining
        (the last action did not attack), fewer than MAX_PEEKS so far."""
        walking = self._last is not None and not self._last.get("attack")
        return (self.peek_rate > 0 and self._peek is None and self.crafter is not None and walking
                and self._stage == "oak_log" and self._peeks < self.MAX_PEEKS and not info.get("gui")
                and int(info.get("inventory", {}).get("oak_log", 0)) == 0)

    def _stages(self) -> list[tuple[str, int]]:
        """(item, how many) in the order this player works for them."""
        if not self.first_crafts:
            return [(item, (self.logs or self.MIN_LOGS) if item == "oak_log" else n) for item, n in TECH_TREE]
        first = [("oak_log", 1)] + [(item, 1) for item in self.first_crafts]
        # planks for what the first visit did not make, up to the pickaxe
        planks = sum(_planks(item) for item in ("stick", "crafting_table", "wooden_pickaxe") if item not in self.first_crafts)
        wanted = {"oak_log": self.logs or self.LOGS_AFTER_FIRST_VISIT, "oak_planks": planks}
        return first + [(item, wanted.get(item, n)) for item, n in TECH_TREE]

    def run(self) -> Script:
        yield from self.pause(5, 20)
        if self.crafter is not None and self.rng.random() < self.peek_prob:
            yield from self.crafter.peek(self)
        stages = self._stages()
        for i, (item, n) in enumerate(stages):
            self._stage = item
            screen = _screen(item)
            if self.info.get("gui") and self.info.get("gui") != screen:
                yield from self.crafter.close(self)
            if self.count(item) >= n:
                self.milestone(item)
                continue
            try:
                if item in _CRAFTED:
                    if self.crafter is None:
                        raise SkillFailed(f"{item} needs crafting screens, which this simulator lacks")
                    after = stages[i + 1][0] if i + 1 < len(stages) else None
                    yield from self.crafter.craft(self, item, keep_open=screen == "inventory" == _screen(after))
                else:  # the first log of ``first_crafts`` is just that: one log
                    yield from self.gather(item, n, whole_trunk=self.logs is None and not (self.first_crafts and i == 0))
            except SkillFailed as e:
                self.stats.failures.append(f"{item}: {e}")
                break
            if self.count(item) < n:
                self.stats.failures.append(f"{item}: have {self.count(item)} of {n}")
                break
            self.milestone(item)
            yield from self.pause()
        if self.info.get("gui"):
            yield from self.crafter.close(self)
        yield from self.pause(10, 30)

    # -- world stages ----------------------------------------------------------------------
    def best_pickaxe(self) -> str | None:
        for tool in ("diamond_pickaxe", "iron_pickaxe", "stone_pickaxe", "wooden_pickaxe"):
            if self.count(tool):
                return tool
        return None

    def _hold_pickaxe(self) -> Script:
        tool = self.best_pickaxe()
        if tool is None:
            raise SkillFailed("no pickaxe")
        if isinstance(self.crafter, GuiCrafter):
            yield from self.crafter.to_hotbar(self, tool)
        yield from self.select(tool)

    def gather(self, item: str, n: int, *, whole_trunk: bool = True) -> Script:
        """Collect ``n`` of a world item (logs, cobblestone, coal, iron ore, diamond);
        ``whole_trunk``: finish the trunk being chopped (logs)."""
        if item == "oak_log":
            yield from gather_logs(self, n - self.count(item), whole_trunk=whole_trunk)
            return
        yield from self._hold_pickaxe()
        avoid = {self.bid("water"), self.bid("bedrock")}
        if item == "cobblestone":  # dig down to the stone layer, then mine the stone nearest by
            stone = self.bid("stone")
            while self.pos[1] > 6:
                x, y, z = int(np.floor(self.pos[0])), int(np.floor(self.pos[1] + 0.01)) - 1, int(np.floor(self.pos[2]))
                if self.blocks[x, y, z] == stone:
                    break
                yield from dig_down(self, y, avoid=avoid)
        block = {"cobblestone": "stone", "coal": "coal_ore", "iron_ore": "iron_ore", "diamond": "diamond_ore"}[item]
        failed: set[tuple[int, int, int]] = set()
        while self.count(item) < n:
            cell = nearest_block(self, block, exclude=failed, vertical_weight=1.5)
            if cell is None or len(failed) > 8:
                raise SkillFailed(f"no reachable {block}")
            try:
                yield from tunnel_to(self, cell, avoid=avoid)
                yield from self._hold_pickaxe()
                yield from self.mine(cell, max_ticks=400)
            except SkillFailed:
                failed.add(cell)

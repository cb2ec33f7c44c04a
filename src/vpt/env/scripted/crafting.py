"""Crafting and smelting through the simulator's GUI screens, with the cursor, like a person.

:class:`GuiCrafter` opens the inventory screen (``inventory`` key), a crafting table or a furnace
(looking at it and pressing ``use``), moves the cursor in whole mouse pixels along smooth,
jittered paths to slot centres (:func:`vpt.env.sim.gui.slot_center`) and clicks: left click
takes a whole stack, right click puts one item into a grid cell, sneak + click on the result
crafts all. Stations are placed next to the player when none is in reach (a new crafting table
is crafted from planks if needed).
"""

from __future__ import annotations

import math

import numpy as np

from vpt.env.scripted.base import Script, ScriptedPlayer, SkillFailed
from vpt.env.sim.gui import WINDOW, slot_center

__all__ = ["GuiCrafter", "RECIPES"]

_PICK = (0, 1, 2, 4, 7)  # 3×3 cells of a pickaxe: material across the top, sticks down the middle
#: item → (screen, {grid cell: ingredient}, items per cell; None = the whole stack in one cell)
RECIPES: dict[str, tuple[str, dict[int, str], int | None]] = {
    "oak_planks": ("inventory", {0: "oak_log"}, None),
    "stick": ("inventory", {0: "oak_planks", 2: "oak_planks"}, 2),
    "crafting_table": ("inventory", {0: "oak_planks", 1: "oak_planks", 2: "oak_planks", 3: "oak_planks"}, 1),
    "wooden_pickaxe": ("crafting_table", dict(zip(_PICK, ["oak_planks"] * 3 + ["stick"] * 2)), 1),
    "stone_pickaxe": ("crafting_table", dict(zip(_PICK, ["cobblestone"] * 3 + ["stick"] * 2)), 1),
    "iron_pickaxe": ("crafting_table", dict(zip(_PICK, ["iron_ingot"] * 3 + ["stick"] * 2)), 1),
    "diamond_pickaxe": ("crafting_table", dict(zip(_PICK, ["diamond"] * 3 + ["stick"] * 2)), 1),
    "furnace": ("crafting_table", {i: "cobblestone" for i in (0, 1, 2, 3, 5, 6, 7, 8)}, 1),
}


def _slot(p: ScriptedPlayer, screen: str, kind: str, index: int = 0) -> tuple[float, float]:
    """Window position of a slot's centre at the simulator's GUI scale."""
    return slot_center(screen, kind, index, gui_scale=p.sim.screens.gui_scale)


class GuiCrafter:
    """Makes tech-tree items through the screens (see the module docstring)."""

    #: chance that a cursor move first strays, past its target or anywhere in the window, and
    #: then comes back: people do, and a policy cloned from these moves sees the way back from
    #: where its own cursor strays (otherwise it never sees the cursor off the straight paths)
    STRAY_PROB = 0.15

    def craft(self, p: ScriptedPlayer, item: str, *, keep_open: bool = False) -> Script:
        """Craft ``item``; with ``keep_open`` the screen stays open for the next recipe (a person
        crafts planks, sticks and a table in one visit to the inventory). A screen already open
        is used as it is."""
        if item == "iron_ingot":
            yield from self.smelt(p, "iron_ore", 3)
            return
        if item not in RECIPES:
            raise SkillFailed(f"no recipe for {item}")
        screen, cells, per_cell = RECIPES[item]
        need: dict[str, int] = {}
        for ing in cells.values():
            need[ing] = need.get(ing, 0) + (per_cell or 1)
        for ing, n in need.items():
            if p.count(ing) < n:
                raise SkillFailed(f"{item} needs {n} {ing}, have {p.count(ing)}")
        before = p.count(item)
        if p.info.get("gui") != screen:  # a screen left open by the previous recipe is used as it is
            if screen == "inventory":
                yield from self._open_inventory(p)
            else:
                yield from self._open_station(p, "crafting_table")
        by_item: dict[str, list[int]] = {}
        for cell, ing in cells.items():
            by_item.setdefault(ing, []).append(cell)
        for ing, where in by_item.items():
            yield from self._fill(p, screen, ing, where, per_cell)
        yield from self._click(p, _slot(p, screen, "result"), button="attack", quick=True)
        yield from p.pause(2, 8)
        if not keep_open:
            yield from self.close(p)
        if p.count(item) <= before:
            raise SkillFailed(f"crafting {item} produced nothing")

    def smelt(self, p: ScriptedPlayer, ore: str, n: int) -> Script:
        """Smelt ``n`` of ``ore`` in a furnace (placed if none is in reach), with coal or planks."""
        if p.count(ore) < n:
            raise SkillFailed(f"smelting needs {n} {ore}, have {p.count(ore)}")
        fuel, per = ("coal", 1) if p.count("coal") else ("oak_planks", 2)
        if p.count(fuel) < per:
            raise SkillFailed("no fuel to smelt with")
        yield from self._open_station(p, "furnace")
        yield from self._fill(p, "furnace", ore, ["input"], None)
        yield from self._fill(p, "furnace", fuel, ["fuel"], per)
        furnace = p.sim.screens.furnace
        for _ in range(200 * n + 120):
            if furnace is None or furnace.count[2] >= n or (furnace.count[0] == 0 and furnace.cook == 0):
                break
            yield p.action(p._jitter())
        yield from self._click(p, _slot(p, "furnace", "output"), button="attack", quick=True)
        yield from self.close(p)

    # -- screens ---------------------------------------------------------------------------
    def _open_inventory(self, p: ScriptedPlayer) -> Script:
        yield p.action(inventory=1)
        yield p.action()
        yield from self._wait_screen(p, "inventory")

    def _wait_screen(self, p: ScriptedPlayer, screen: str) -> Script:
        for _ in range(10):
            if p.info.get("gui") == screen:
                yield from p.pause(2, 8)
                return
            yield p.action()
        raise SkillFailed(f"the {screen} screen did not open")

    def peek(self, p: ScriptedPlayer) -> Script:
        """Open the inventory, look at it for a moment (the cursor wanders a little), close it."""
        yield from self._open_inventory(p)
        for _ in range(int(p.rng.integers(4, 20))):
            yield p.action(p._jitter() if p.rng.random() < 0.7 else tuple(p.rng.integers(-6, 7, size=2)))
        yield from self.close(p)

    def close(self, p: ScriptedPlayer) -> Script:
        """Close whatever screen is open (inventory key), then a reaction pause."""
        if p.info.get("gui"):
            yield p.action(inventory=1)
            yield p.action()
        yield from p.pause(2, 8)

    def _open_station(self, p: ScriptedPlayer, block: str) -> Script:
        cell = self._station_in_reach(p, block)
        if cell is None:
            if p.count(block) == 0:
                if block != "crafting_table":
                    raise SkillFailed(f"no {block} to place")
                yield from self.craft(p, "crafting_table")
            cell = yield from self._place_near(p, block)
        yield from p.look_at(p.face_point(cell), tol=2.0)
        for _ in range(20):
            target = p.sim.player.target
            if target is not None and tuple(target) == tuple(cell):
                break
            yield from p.look_at(p.face_point(cell), tol=1.0, max_ticks=5)
        yield p.action(use=1)
        yield p.action()
        yield from self._wait_screen(p, block)

    def _station_in_reach(self, p: ScriptedPlayer, block: str) -> tuple[int, int, int] | None:
        cells = np.argwhere(p.blocks == p.bid(block))
        if len(cells) == 0:
            return None
        d = np.linalg.norm(cells + 0.5 - np.array(p.eye), axis=1)
        i = int(np.argmin(d))
        return tuple(int(v) for v in cells[i]) if d[i] < p.sim.player.p["reach"] - 0.7 else None  # type: ignore[return-value]

    def _place_near(self, p: ScriptedPlayer, block: str):
        """Place ``block`` on the floor next to the player (clearing a wall cell if needed);
        returns its cell."""
        yield from self.to_hotbar(p, block)
        x, y, z = (int(math.floor(v)) for v in (p.pos[0], p.pos[1] + 0.01, p.pos[2]))
        options = [(x + dx, y, z + dz) for dx in (-2, -1, 0, 1, 2) for dz in (-2, -1, 0, 1, 2)
                   if (dx, dz) != (0, 0) and not p.overlaps_player((x + dx, y, z + dz))]
        p.rng.shuffle(options)
        options.sort(key=lambda c: (p.solid(*c), abs(c[0] - x) + abs(c[2] - z)))  # free and near first
        for cell in options[:8]:
            if not p.solid(cell[0], cell[1] - 1, cell[2]):
                continue
            try:
                if p.solid(*cell):
                    yield from p.mine(cell, max_ticks=300, avoid=(p.bid("water"), p.bid("bedrock")))
                yield from p.place(cell, block)
                return cell
            except SkillFailed:
                continue
        raise SkillFailed(f"no room to place a {block}")

    def to_hotbar(self, p: ScriptedPlayer, item: str) -> Script:
        """Make sure ``item`` is in the hotbar: sneak-click it from the main inventory, or, when
        the hotbar is full, swap it with the least useful hotbar stack."""
        inv = p.sim.player.inventory
        iid = p.sim.rules.item_id(item)
        if (inv.item[:9] == iid).any():
            return
        slots = np.nonzero(inv.item[:36] == iid)[0]
        if len(slots) == 0:
            raise SkillFailed(f"no {item} in the inventory")
        yield from self._open_inventory(p)
        src = _slot(p, "inventory", "inventory", int(slots[0]))
        if (inv.item[:9] >= 0).all():  # a full hotbar: swap with the least useful stack
            names = p.sim.rules.item_names
            junk = ("dirt", "gravel", "sand", "oak_log", "wooden_pickaxe", "cobblestone", "oak_planks")
            rank = [junk.index(names[i]) if names[i] in junk else len(junk) for i in inv.item[:9]]
            dst = _slot(p, "inventory", "inventory", int(np.argmin(rank)))
            for at in (src, dst, src):  # take, swap, put the other stack where it came from
                yield from self._click(p, at)
        else:
            yield from self._click(p, src, quick=True)
        yield from self.close(p)
        if not (inv.item[:9] == iid).any():
            raise SkillFailed(f"could not move {item} to the hotbar (full?)")

    # -- cursor and clicks -----------------------------------------------------------------
    def _move_cursor(self, p: ScriptedPlayer, target: tuple[float, float], tol: float = 4.0, *, stray: bool = True) -> Script:
        if stray and p.rng.random() < self.STRAY_PROB:
            yield from self._move_cursor(p, self._stray_point(p, target), tol=16.0, stray=False)
        speed = p.rng.uniform(50, 90) + 40 * p.skill
        aim = (target[0] + p.rng.uniform(-4, 4), target[1] + p.rng.uniform(-4, 4))
        for _ in range(60):
            cx, cy = (float(v) for v in p.info.get("cursor", (640.0, 360.0)))
            ex, ey = aim[0] - cx, aim[1] - cy
            if abs(ex) < tol and abs(ey) < tol:
                return
            step = []
            for e in (ex, ey):
                s = e * p.rng.uniform(0.3, 0.55)
                s = max(-speed, min(speed, s)) + p.rng.normal(0.0, 0.7)
                if abs(e) < 3:
                    s = math.copysign(1.0, e)
                step.append(int(round(s)) or int(math.copysign(1, e)))
            yield p.action((step[0], step[1]))
        raise SkillFailed(f"cursor did not reach {target}")

    @staticmethod
    def _stray_point(p: ScriptedPlayer, target: tuple[float, float]) -> tuple[float, float]:
        """Where a straying move goes first: past the target (half the time), or anywhere."""
        if p.rng.random() < 0.5:
            cx, cy = (float(v) for v in p.info.get("cursor", (640.0, 360.0)))
            k = p.rng.uniform(0.2, 0.6)
            x, y = target[0] + k * (target[0] - cx), target[1] + k * (target[1] - cy)
            x, y = x + p.rng.normal(0, 15), y + p.rng.normal(0, 15)
        else:
            x, y = p.rng.uniform(0, WINDOW[0]), p.rng.uniform(0, WINDOW[1])
        return min(max(x, 16.0), WINDOW[0] - 16.0), min(max(y, 16.0), WINDOW[1] - 16.0)

    def _click(self, p: ScriptedPlayer, at: tuple[float, float], *, button: str = "attack", quick: bool = False) -> Script:
        yield from self._move_cursor(p, at)
        extra = {"sneak": 1} if quick else {}
        if quick:
            yield p.action(**extra)
        yield p.action(**{button: 1}, **extra)
        yield p.action(**extra)
        if p.rng.random() < 0.5:
            yield p.action()

    def _fill(self, p: ScriptedPlayer, screen: str, item: str, cells: list, per_cell: int | None) -> Script:
        """Pick up the biggest stack of ``item``, put ``per_cell`` (or all) into each cell (grid
        indices, or furnace slot kinds), and put the rest back."""
        inv = p.sim.player.inventory
        iid = p.sim.rules.item_id(item)
        slots = np.nonzero(inv.item[:36] == iid)[0]
        if len(slots) == 0:
            raise SkillFailed(f"no {item} in the inventory")
        slot = int(slots[np.argmax(inv.count[slots])])
        home = _slot(p, screen, "inventory", slot)
        yield from self._click(p, home)
        for cell in cells:
            at = _slot(p, screen, "grid", cell) if isinstance(cell, int) else _slot(p, screen, cell)
            if per_cell is None:
                yield from self._click(p, at)
            else:
                for _ in range(per_cell):
                    yield from self._click(p, at, button="use")
        if p.sim.screens.held[1] > 0:
            yield from self._click(p, home)

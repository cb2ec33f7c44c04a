"""A scripted house builder: gathers a few logs, then builds a house from a blueprint.

Blueprints vary the footprint (5×5, 5×6, 5×7), the wall material (planks, logs, cobblestone)
and glass windows. The house has two-high walls, a one-high door in the north wall and a flat
roof. The builder works from inside: it places the wall rings from the middle of the floor,
knocks the door hole out of the finished wall and sets the door, pillar-jumps onto one block to
lay the roof, mines the pillar away and closes the last roof cell from below.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from vpt.env.scripted.base import Script, ScriptedPlayer, SkillFailed
from vpt.env.scripted.skills import gather_logs
from vpt.env.sim.player import ON_GROUND

__all__ = ["Blueprint", "HouseBuilder", "HOUSE_START_INVENTORY", "BLUEPRINTS"]

#: What the builder starts with (like the contractors' house task: building blocks, a door, tools).
HOUSE_START_INVENTORY: dict[str, int] = {
    "oak_planks": 128, "oak_log": 64, "cobblestone": 64, "glass": 8, "oak_door": 1, "wooden_axe": 1,
}


@dataclass(frozen=True)
class Blueprint:
    """A house: outer footprint ``width`` (x) × ``depth`` (z), wall and roof items, windows."""

    width: int
    depth: int
    wall: str
    roof: str
    windows: bool


BLUEPRINTS: tuple[Blueprint, ...] = tuple(
    Blueprint(w, d, wall, "oak_planks", windows)
    for (w, d) in ((5, 5), (5, 6), (5, 7))
    for wall in ("oak_planks", "oak_log", "cobblestone")
    for windows in (False, True)
)


class HouseBuilder(ScriptedPlayer):
    """Gather logs, pick a flat site near by, build a house from a random blueprint (up to three
    tries, each at a new site with a new blueprint).

    Milestones: ``log``, ``site``, ``walls``, ``door``, ``roof``, ``house`` (every planned block
    in place at the end).
    """

    MILESTONES = ("log", "site", "walls", "door", "roof", "house")
    START_INVENTORY = HOUSE_START_INVENTORY

    def run(self) -> Script:
        yield from self.pause(5, 20)
        try:
            yield from gather_logs(self, int(self.rng.integers(2, 5)), max_ticks=1500)
        except SkillFailed as e:
            self.stats.failures.append(f"logs: {e}")
        if self.count("oak_log") > 0:
            self.milestone("log")
        self._failed_sites: list[tuple[int, int]] = []
        for _ in range(3):  # a failed build is abandoned for another site, as a person would
            bp = BLUEPRINTS[int(self.rng.integers(len(BLUEPRINTS)))]
            self.blueprint = bp
            try:
                yield from self.build(bp)
                break
            except SkillFailed as e:
                self.stats.failures.append(f"house: {e}")
                yield from self.pause(10, 40)
        yield from self.pause(10, 30)

    # -- planning --------------------------------------------------------------------------
    def find_site(self, w: int, d: int, radius: int = 64) -> tuple[int, int, int] | None:
        """(x0, ground y, z0) of the nearest flat, dry, tree-free w×d footprint (away from sites
        that failed before), or None."""
        blocks = self.blocks
        W, H, D = blocks.shape
        rules = self.sim.rules
        solid = rules.solid[blocks]
        top = H - 1 - np.argmax(solid[:, ::-1, :], axis=1)  # highest solid per column
        water, log, leaves = self.bid("water"), self.bid("oak_log"), self.bid("oak_leaves")
        px, py, pz = int(self.pos[0]), self.pos[1], int(self.pos[2])
        best, best_d = None, 1e9
        for x0 in range(max(2, px - radius), min(W - 2 - w, px + radius)):
            for z0 in range(max(2, pz - radius), min(D - 2 - d, pz + radius)):
                dist = math.hypot(x0 + w / 2 - px, z0 + d / 2 - pz)
                if dist >= best_d or any(abs(x0 - fx) < 8 and abs(z0 - fz) < 8 for fx, fz in self._failed_sites):
                    continue
                t = top[x0:x0 + w, z0:z0 + d]
                g = int(t[0, 0])
                dist += 4.0 * abs(g + 1 - py)  # climbing is slow: prefer sites at the player's level
                if dist >= best_d:
                    continue
                if (t != g).any() or g + 6 >= H:
                    continue
                ground = blocks[x0:x0 + w, g, z0:z0 + d]
                if np.isin(ground, (log, leaves)).any():
                    continue
                above = blocks[x0 - 1:x0 + w + 1, g + 1:g + 6, z0 - 1:z0 + d + 1]
                if (above != 0).any() or (blocks[x0:x0 + w, g + 1, z0:z0 + d] == water).any():
                    continue
                best, best_d = (x0, g, z0), dist
        return best

    def plan(self, bp: Blueprint, x0: int, g: int, z0: int) -> dict[str, Any]:
        """Cells of the walls (two rings), the door, the windows and the roof."""
        w, d = bp.width, bp.depth
        cx, cz = x0 + w // 2, z0 + d // 2
        ring = [(x, z) for x in range(x0, x0 + w) for z in range(z0, z0 + d)
                if x in (x0, x0 + w - 1) or z in (z0, z0 + d - 1)]
        # corners first (later, their neighbours would hide them from the middle), then around
        corners = {(x0, z0), (x0 + w - 1, z0), (x0, z0 + d - 1), (x0 + w - 1, z0 + d - 1)}
        ring.sort(key=lambda c: (c not in corners, math.atan2(c[1] + 0.5 - (cz + 0.5), c[0] + 0.5 - (cx + 0.5))))
        door = (cx, g + 1, z0)  # north wall (doors sit on their cell's north edge)
        windows = set()
        if bp.windows:
            windows = {(x0, g + 2, cz), (x0 + w - 1, g + 2, cz)}
        roof = [(x, g + 3, z) for x in range(x0, x0 + w) for z in range(z0, z0 + d)]
        # lay the roof from the rim inwards (every new cell touches a placed one)

        def ring_key(c: tuple[int, int, int]) -> tuple[int, bool]:
            k = min(c[0] - x0, x0 + w - 1 - c[0], c[2] - z0, z0 + d - 1 - c[2])
            corner = c[0] in (x0 + k, x0 + w - 1 - k) and c[2] in (z0 + k, z0 + d - 1 - k)
            return k, not corner  # rim first, each ring's corners first

        roof.sort(key=ring_key)
        return {"centre": (cx, cz), "ring": ring, "door": door, "windows": windows, "roof": roof, "g": g}

    # -- building --------------------------------------------------------------------------
    def build(self, bp: Blueprint) -> Script:
        site = self.find_site(bp.width, bp.depth)
        if site is None:
            raise SkillFailed(f"no flat {bp.width}x{bp.depth} site within reach")
        x0, g, z0 = site
        self._failed_sites.append((x0, z0))  # until it is finished
        plan = self.plan(bp, x0, g, z0)
        self.milestone("site")
        cx, cz = plan["centre"]
        yield from self.walk_to((cx + 0.5, cz + 0.5), within=0.35, max_ticks=2000, dig=True,
                                avoid={self.bid("water")}, climb="oak_log")
        yield from self.pause()
        for layer in (1, 2):
            for x, z in plan["ring"]:
                cell = (x, g + layer, z)
                item = "glass" if cell in plan["windows"] else bp.wall
                below = (x, g + layer - 1, z)
                if layer == 1 and not self.sim.rules.solid[self.blocks[below]]:
                    yield from self._place_from_centre(below, bp.wall, (cx, cz))  # fill a hole first
                if not self.sim.rules.solid[self.blocks[cell]]:
                    yield from self._place_from_centre(cell, item, (cx, cz))
            yield from self.pause(3, 15)
        self.milestone("walls")
        yield from self.mine(plan["door"], max_ticks=400)
        yield from self.pause()
        yield from self.place(plan["door"], "oak_door")
        self.milestone("door")
        yield from self.pillar_up(bp.wall, (cx, g + 1, cz))
        deferred = []
        for cell in plan["roof"]:
            if self.overlaps_player(cell):
                deferred.append(cell)
                continue
            yield from self.place(cell, bp.roof)
        yield from self.pause()
        yield from self.look(self.sim.player.yaw, 88.0, tol=3.0)
        yield from self.mine((cx, g + 1, cz), max_ticks=400)
        for _ in range(30):  # fall back to the floor
            if self.sim.player.state[ON_GROUND] > 0 and self.pos[1] < g + 1.5:
                break
            yield self.action()
        for cell in deferred:
            yield from self.place(cell, bp.roof)
        self.milestone("roof")
        self._failed_sites.pop()
        if self._complete(plan, bp):
            self.milestone("house")

    def _place_from_centre(self, cell: tuple[int, int, int], item: str, centre: tuple[int, int]) -> Script:
        """Place a wall block, first stepping back to the floor's middle if the player drifted."""
        if math.hypot(self.pos[0] - centre[0] - 0.5, self.pos[2] - centre[1] - 0.5) > 0.6:
            yield from self.walk_to((centre[0] + 0.5, centre[1] + 0.5), within=0.35, max_ticks=300)
        yield from self.place(cell, item)

    def pillar_up(self, item: str, cell: tuple[int, int, int], max_ticks: int = 120) -> Script:
        """Look straight down, jump and place ``item`` under the feet (a one-block pillar)."""
        yield from self.select(item)
        yield from self.look(self.sim.player.yaw, 89.0, tol=2.0)
        bid = self.sim.rules.item_block[self.sim.rules.item_id(item)]
        for _ in range(max_ticks):
            if self.blocks[cell] == bid and self.sim.player.state[ON_GROUND] > 0:
                yield self.action()
                return
            yield self.action(self._jitter(), jump=int(self.blocks[cell] != bid), use=1)
        raise SkillFailed("could not pillar up")

    def _complete(self, plan: dict[str, Any], bp: Blueprint) -> bool:
        rules = self.sim.rules
        g = plan["g"]
        for layer in (1, 2):
            for x, z in plan["ring"]:
                cell = (x, g + layer, z)
                want = "oak_door" if cell == plan["door"] else ("glass" if cell in plan["windows"] else bp.wall)
                if self.blocks[cell] != rules.item_block[rules.item_id(want)]:
                    return False
        return all(self.blocks[c] == rules.item_block[rules.item_id(bp.roof)] for c in plan["roof"])

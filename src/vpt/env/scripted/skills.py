"""Composite world skills shared by the scripted players: chop trees, dig down, tunnel to ore."""

from __future__ import annotations

import math

import numpy as np

from vpt.env.scripted.base import Script, ScriptedPlayer, SkillFailed

__all__ = ["gather_logs", "dig_down", "tunnel_to", "nearest_block"]


def nearest_block(p: ScriptedPlayer, block: str, *, exclude: set[tuple[int, int, int]] = frozenset(),
                  max_y: int | None = None, vertical_weight: float = 1.0) -> tuple[int, int, int] | None:
    """The nearest cell holding ``block`` (distance with vertical offsets weighted), or None."""
    cells = np.argwhere(p.blocks == p.bid(block))
    if max_y is not None:
        cells = cells[cells[:, 1] <= max_y]
    if len(cells) == 0:
        return None
    pos = p.pos
    d = np.hypot(cells[:, 0] + 0.5 - pos[0], cells[:, 2] + 0.5 - pos[2]) + vertical_weight * np.abs(cells[:, 1] + 0.5 - pos[1])
    for i in np.argsort(d)[:64]:
        c = tuple(int(v) for v in cells[i])
        if c not in exclude:
            return c  # type: ignore[return-value]
    return None


def gather_logs(p: ScriptedPlayer, n: int, *, whole_trunk: bool = False, max_ticks: int = 3000) -> Script:
    """Chop until ``n`` more logs are in the inventory: walk to the nearest trunk, mine its logs
    bottom up. With ``whole_trunk`` the trunk being chopped is finished first (every log of it
    in reach), so the count depends on the trees and the end is visible: the trunk is gone.
    Raises :class:`SkillFailed` when no tree is left or time runs out."""
    goal = p.count("oak_log") + n
    start = int(p.info.get("tick", 0))
    failed: set[tuple[int, int, int]] = set()
    last: tuple[int, int, int] | None = None
    log = p.bid("oak_log")
    while True:
        above = (last[0], last[1] + 1, last[2]) if last is not None else None
        if whole_trunk and above is not None and above not in failed and p.blocks[above] == log:
            cell = above
        elif p.count("oak_log") >= goal:
            return
        else:
            cell = nearest_block(p, "oak_log", exclude=failed, vertical_weight=2.0)
            if cell is None:
                raise SkillFailed("no reachable tree left")
        if int(p.info.get("tick", 0)) - start > max_ticks:
            raise SkillFailed(f"only {p.count('oak_log')} of {goal} logs in {max_ticks} ticks")
        try:
            yield from p.walk_to((cell[0] + 0.5, cell[2] + 0.5), within=2.4 + 0.6 * p.rng.random(), max_ticks=900,
                                 dig=True, avoid={p.bid("water")})
            yield from p.pause(1, 8)
            yield from p.mine(cell, max_ticks=300)
            last = cell
            yield from p.pause(0, 5)
            if p.rng.random() < 0.35:
                yield from p.shuffle()
        except SkillFailed:
            failed.add(cell)  # too high or hidden: try the next log
            if len(failed) > 40:
                raise


def dig_down(p: ScriptedPlayer, to_y: int, *, avoid: set[int] | None = None, max_ticks: int = 3000) -> Script:
    """Dig straight down (looking at the feet, holding attack) until the feet are at ``to_y``.
    Raises :class:`SkillFailed` on an unbreakable floor or when time runs out."""
    avoid = avoid or set()
    start = int(p.info.get("tick", 0))
    yield from p.look(p.sim.player.yaw, 89.0, tol=3.0)
    while p.pos[1] > to_y + 0.01:
        if int(p.info.get("tick", 0)) - start > max_ticks:
            raise SkillFailed(f"digging down to y={to_y} took too long")
        half = p.sim.player.p["width"] / 2 - 1e-3
        y = int(math.floor(p.pos[1] + 0.01)) - 1
        under = {(int(math.floor(p.pos[0] + sx * half)), y, int(math.floor(p.pos[2] + sz * half)))
                 for sx in (-1, 1) for sz in (-1, 1)}  # every block the hitbox stands on
        solid = [c for c in under if p.sim.rules.solid[p.blocks[c]]]
        if not solid:
            yield p.action()  # falling / swimming
            continue
        x, y, z = min(solid, key=lambda c: abs(c[0] + 0.5 - p.pos[0]) + abs(c[2] + 0.5 - p.pos[2]))
        b = int(p.blocks[x, y, z])
        if b in avoid or p.sim.rules.hardness[b] < 0:
            raise SkillFailed(f"cannot dig through block {b} at {(x, y, z)}")
        yield from p.mine((x, y, z), max_ticks=400, avoid=avoid)


def tunnel_to(p: ScriptedPlayer, cell: tuple[int, int, int], *, avoid: set[int] | None = None,
              max_ticks: int = 4000) -> Script:
    """Reach ``cell`` (to mine it) through the ground: dig down to its level, then walk a
    two-high tunnel along x then z, breaking whatever is in the way, until it is within reach."""
    avoid = avoid or set()
    reach = p.sim.player.p["reach"] - 0.8
    if p.pos[1] > cell[1] + 0.01:
        yield from dig_down(p, cell[1], avoid=avoid, max_ticks=max_ticks)
    start = int(p.info.get("tick", 0))
    while math.dist(p.eye, np.array(cell) + 0.5) > reach:
        if int(p.info.get("tick", 0)) - start > max_ticks:
            raise SkillFailed(f"tunnel to {cell} took too long")
        pos = p.pos
        dx, dz = cell[0] + 0.5 - pos[0], cell[2] + 0.5 - pos[2]
        if abs(dx) > reach * 0.6:
            waypoint = (pos[0] + math.copysign(min(abs(dx), 6.0), dx), math.floor(pos[2]) + 0.5)
        else:
            waypoint = (math.floor(pos[0]) + 0.5, pos[2] + math.copysign(min(abs(dz), 6.0), dz))
        yield from p.walk_to(waypoint, within=0.6, max_ticks=600, dig=True, avoid=avoid)

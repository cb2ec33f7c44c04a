"""The scripted player's body: human-like mouse and keys, and world skills.

A :class:`ScriptedPlayer` reads the simulator's state (privileged: the block grid, its own
position and view, the targeted block, the inventory) but acts *only* through MineRL action
dicts, one per tick, like a person at a keyboard. Behaviour is written as Python generators
that ``yield`` one action per tick (``yield from self.walk_to(...)``); :meth:`ScriptedPlayer.act`
returns the next action, or ``None`` when the script is over.

Human-like noise: the mouse moves in whole pixels (0.15° each, MineRL's scaling) along smooth
curves with a per-movement speed, jitter and overshoot-free settling; reactions are delayed by
random pauses; walks take occasional detours and the player sometimes presses a wrong hotbar
key or hits the wrong block before correcting.
"""

from __future__ import annotations

import inspect
import math
from abc import ABC, abstractmethod
from collections.abc import Generator, Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vpt.data.jsonl import CAMERA_DEGREES_PER_PIXEL
from vpt.env.sim.env import SimEnv
from vpt.env.sim.player import COLL_H, IN_WATER, ON_GROUND, VY, X, Y, Z

__all__ = ["Action", "Script", "ScriptedPlayer", "SkillFailed", "angles_to", "camera_from_pixels"]

Action = dict[str, Any]
Script = Generator[Action, None, Any]


class SkillFailed(RuntimeError):
    """A skill could not reach its goal (blocked, out of reach, timed out)."""


def camera_from_pixels(dx: int, dy: int) -> np.ndarray:
    """The env camera ``[pitch, yaw]`` (float32 degrees) for a mouse move of (dx, dy) pixels."""
    return np.array([dy * CAMERA_DEGREES_PER_PIXEL, dx * CAMERA_DEGREES_PER_PIXEL], np.float32)


def angles_to(eye: Iterable[float], point: Iterable[float]) -> tuple[float, float]:
    """(yaw, pitch) in degrees, Minecraft's convention, that look from ``eye`` at ``point``."""
    ex, ey, ez = eye
    px, py, pz = point
    dx, dy, dz = px - ex, py - ey, pz - ez
    return math.degrees(math.atan2(-dx, dz)), math.degrees(-math.atan2(dy, math.hypot(dx, dz)))


def _wrap(deg: float) -> float:
    return (deg + 180.0) % 360.0 - 180.0


_FACES = ((1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1))


@dataclass
class Stats:
    """What a scripted episode achieved, for success-rate tables."""

    milestones: dict[str, int] = field(default_factory=dict)
    """Milestone name → tick first reached."""
    failures: list[str] = field(default_factory=list)


class ScriptedPlayer(ABC):
    """Base class: a player with privileged access to a :class:`SimEnv` acting via actions.

    Args:
        env: the environment (any wrapper around a :class:`SimEnv`).
        rng: randomness for the human-like noise.
        skill: 0..1, how steady and quick the player is (mouse speed, fewer pauses/mistakes).
    """

    #: milestones this player reports, in order (for tables)
    MILESTONES: tuple[str, ...] = ()
    #: the start inventory the player's world should have (``WorldOptions.start_inventory``)
    START_INVENTORY: dict[str, int] = {}

    def __init__(self, env: Any, rng: np.random.Generator, skill: float | None = None) -> None:
        sim = getattr(env, "unwrapped", env)
        if not isinstance(sim, SimEnv):
            raise TypeError(f"scripted players need the embedded simulator (SimEnv), got {type(sim).__name__}")
        self.sim = sim
        self.rng = rng
        self.skill = float(rng.uniform(0.3, 1.0) if skill is None else skill)
        self.stats = Stats()
        self.info: dict[str, Any] = {}
        self._script: Script | None = None
        self._held: dict[str, int] = {}

    @classmethod
    def check_options(cls, options: dict[str, Any]) -> None:
        """Raise ValueError unless ``options`` are keyword arguments of this player's ``__init__``
        (beyond ``env`` and ``rng``), so a typo fails before any episode is played."""
        if not isinstance(options, dict):
            raise ValueError(f"player options must be a JSON object of name: value, got {options!r}")
        allowed = [n for n in inspect.signature(cls.__init__).parameters if n not in ("self", "env", "rng")]
        unknown = sorted(set(options) - set(allowed))
        if unknown:
            raise ValueError(f"unknown option(s) {unknown} for player {cls.__name__}; it takes {allowed}")

    # -- driving ---------------------------------------------------------------------------
    def reset(self, info: dict[str, Any]) -> None:
        """Start the script for a freshly reset env (``info`` from ``reset``)."""
        self.info = info
        self.stats = Stats()
        self._held = {}
        self._script = self.run()

    def act(self, info: dict[str, Any]) -> Action | None:
        """The next action given the latest ``info``; None when the script has finished."""
        if self._script is None:
            raise RuntimeError("call reset(info) before act()")
        self.info = info
        try:
            return next(self._script)
        except StopIteration:
            self._script = None
            return None

    @abstractmethod
    def run(self) -> Script:
        """The whole episode's behaviour (each player defines it)."""

    def milestone(self, name: str) -> None:
        """Record that ``name`` was reached now (first time only)."""
        self.stats.milestones.setdefault(name, int(self.info.get("tick", 0)))

    # -- state -----------------------------------------------------------------------------
    @property
    def blocks(self) -> np.ndarray:
        return self.sim.world.blocks

    def bid(self, name: str) -> int:
        return self.sim.rules.block_id(name)

    @property
    def pos(self) -> np.ndarray:
        s = self.sim.player.state
        return np.array([s[X], s[Y], s[Z]])

    @property
    def eye(self) -> tuple[float, float, float]:
        return self.sim.player.eye

    def count(self, item: str) -> int:
        return int(self.info.get("inventory", {}).get(item, 0))

    def solid(self, x: int, y: int, z: int) -> bool:
        W, H, D = self.blocks.shape
        if not (0 <= x < W and 0 <= y < H and 0 <= z < D):
            return True
        return bool(self.sim.rules.solid[self.blocks[x, y, z]])

    def overlaps_player(self, cell: tuple[int, int, int]) -> bool:
        """True when the block cell intersects the player's hitbox."""
        x, y, z = self.pos
        half = self.sim.player.p["width"] / 2
        top = y + self.sim.player.height
        return (cell[0] < x + half and cell[0] + 1 > x - half and cell[2] < z + half and cell[2] + 1 > z - half
                and cell[1] < top and cell[1] + 1 > y)

    # -- actions ---------------------------------------------------------------------------
    def action(self, px: tuple[int, int] = (0, 0), **buttons: int) -> Action:
        """An action dict: the given buttons, the held ones, and a mouse move of ``px``."""
        a: Action = dict(self._held)
        a.update({k: int(v) for k, v in buttons.items()})
        a["camera"] = camera_from_pixels(int(px[0]), int(px[1]))
        return a

    def pause(self, low: int = 2, high: int = 12) -> Script:
        """Idle for a random reaction time (shorter for skilled players)."""
        n = int(self.rng.integers(low, max(low + 1, int(high * (1.4 - self.skill)))))
        for _ in range(n):
            yield self.action(self._jitter())

    def _jitter(self) -> tuple[int, int]:
        """Hand tremor: mostly still, now and then a pixel."""
        r = self.rng.random(2)
        return int((r[0] < 0.15) * self.rng.choice((-1, 1))), int((r[1] < 0.1) * self.rng.choice((-1, 1)))

    def mouse_step(self, dyaw: float, dpitch: float, speed: float) -> tuple[int, int]:
        """Pixels to move this tick to reduce an angular error (degrees) smoothly."""
        out = []
        for err, cap in ((dyaw, speed), (dpitch, speed * 0.7)):
            px = err / CAMERA_DEGREES_PER_PIXEL
            step = px * self.rng.uniform(0.25, 0.45)
            step = max(-cap, min(cap, step)) + self.rng.normal(0.0, 0.6)
            if abs(px) < 1.0:
                step = 0.0 if self.rng.random() < 0.8 else math.copysign(1.0, px)
            out.append(int(round(step)))
        return out[0], out[1]

    def look(self, yaw: float, pitch: float, *, tol: float = 1.0, max_ticks: int = 60, **buttons: int) -> Script:
        """Turn the view to (yaw, pitch) with a smooth jittered mouse, holding ``buttons``."""
        speed = self.rng.uniform(25, 45) + 40 * self.skill
        pitch = max(-89.0, min(89.0, pitch))
        for _ in range(max_ticks):
            p = self.sim.player
            dy, dp = _wrap(yaw - p.yaw), pitch - p.pitch
            if abs(dy) < tol and abs(dp) < tol:
                return
            yield self.action(self.mouse_step(dy, dp, speed), **buttons)

    def look_at(self, point: Iterable[float], *, tol: float = 1.0, max_ticks: int = 60, **buttons: int) -> Script:
        """Look at a world point."""
        yaw, pitch = angles_to(self.eye, tuple(point))
        yield from self.look(yaw, pitch, tol=tol, max_ticks=max_ticks, **buttons)

    def select(self, item: str) -> Script:
        """Select the hotbar slot holding ``item`` with its number key (sometimes a wrong key
        first). Raises :class:`SkillFailed` when the item is not in the hotbar."""
        inv = self.sim.player.inventory
        iid = self.sim.rules.item_id(item)
        slots = [s for s in range(9) if inv.item[s] == iid]
        if not slots:
            raise SkillFailed(f"{item} is not in the hotbar")
        if self.sim.player.selected == slots[0]:
            return
        if self.rng.random() < 0.08 * (1.2 - self.skill):  # a wrong key, noticed after a moment
            wrong = int(self.rng.integers(9))
            yield self.action(**{f"hotbar.{wrong + 1}": 1})
            yield from self.pause(3, 10)
        yield self.action(**{f"hotbar.{slots[0] + 1}": 1})
        yield from self.pause(1, 5)

    # -- world skills ----------------------------------------------------------------------
    def face_point(self, cell: tuple[int, int, int], spread: float = 0.3) -> np.ndarray:
        """A point on the face of ``cell`` that is exposed and turned towards the eye."""
        eye = np.array(self.eye)
        c = np.array(cell, float) + 0.5
        best, best_score = None, -1e9
        for n in _FACES:
            nb = (cell[0] + n[0], cell[1] + n[1], cell[2] + n[2])
            if self.solid(*nb):
                continue
            center = c + 0.5 * np.array(n)
            score = float(np.dot(n, eye - center))
            if score > best_score:
                best, best_score = (center, n), score
        if best is None:
            return c
        center, n = best
        jitter = self.rng.uniform(-spread, spread, 3) * (1 - np.abs(np.array(n)))
        return center + jitter

    def mine(self, cell: tuple[int, int, int], *, max_ticks: int = 400, avoid: Iterable[int] = ()) -> Script:
        """Break the block at ``cell`` (aiming at an exposed face and holding attack), breaking
        what is in the way unless its id is in ``avoid``. Raises :class:`SkillFailed` when it is
        out of reach, unbreakable, or takes longer than ``max_ticks``."""
        avoid = set(avoid)
        x, y, z = cell
        aim = self.face_point(cell)
        yield from self.look_at(aim, tol=2.0)
        for t in range(max_ticks):
            if not self.sim.rules.solid[self.blocks[x, y, z]]:
                yield self.action(self._jitter())  # release attack the tick after the break
                return
            if t % 20 == 19:
                aim = self.face_point(cell)
            target = self.sim.player.target
            yaw, pitch = angles_to(self.eye, aim)
            p = self.sim.player
            dy, dp = _wrap(yaw - p.yaw), pitch - p.pitch
            px = self.mouse_step(dy, dp, 20.0) if abs(dy) > 1.5 or abs(dp) > 1.5 else self._jitter()
            if target is None:
                if math.dist(self.eye, np.array(cell) + 0.5) > self.sim.player.p["reach"] + 0.9:
                    raise SkillFailed(f"block {cell} is out of reach")
                yield self.action(px)
                continue
            tb = int(self.blocks[target])
            if tuple(target) != tuple(cell) and (tb in avoid or self.sim.rules.hardness[tb] < 0):
                raise SkillFailed(f"block {cell} is behind an unbreakable or protected block at {target}")
            if self.sim.rules.hardness[tb] < 0:
                raise SkillFailed(f"block {cell} is unbreakable")
            yield self.action(px, attack=1)
        raise SkillFailed(f"mining {cell} took more than {max_ticks} ticks")

    def place(self, cell: tuple[int, int, int], item: str, *, max_ticks: int = 80) -> Script:
        """Place ``item`` (selected from the hotbar) into the empty ``cell`` by using a solid
        neighbour's face. Raises :class:`SkillFailed` when no neighbour face can be hit."""
        yield from self.select(item)
        x, y, z = cell
        bid = self.sim.rules.item_block[self.sim.rules.item_id(item)]
        eye = np.array(self.eye)
        options = []
        for n in _FACES:
            nb = (x - n[0], y - n[1], z - n[2])
            if not self.solid(*nb) or self.blocks[nb] == self.bid("barrier"):
                continue
            point = np.array(cell, float) + 0.5 - 0.5 * np.array(n)  # the shared face
            if np.dot(eye - point, n) <= 0.05:
                continue  # the face turns away from the eye
            options.append((np.linalg.norm(eye - point), point, nb, n))
        if not options:
            raise SkillFailed(f"no face to place {item} into {cell}")
        options.sort(key=lambda o: o[0])
        for _, point, nb, n in options[:3]:
            aim = point + self.rng.uniform(-0.25, 0.25, 3) * (1 - np.abs(np.array(n)))
            yield from self.look_at(aim, tol=1.5)
            for _ in range(max_ticks // 3):
                if self.blocks[x, y, z] == bid:
                    yield self.action(self._jitter())
                    return
                if self.sim.player.target is not None and tuple(self.sim.player.target) == nb \
                        and tuple(self.sim.player.target_face) == tuple(n):
                    yield self.action(self._jitter(), use=1)
                else:
                    yaw, pitch = angles_to(self.eye, aim)
                    p = self.sim.player
                    yield self.action(self.mouse_step(_wrap(yaw - p.yaw), pitch - p.pitch, 15.0))
            yield self.action()
        if self.blocks[x, y, z] != bid:
            raise SkillFailed(f"could not place {item} into {cell}")

    def walk_to(self, goal: tuple[float, float], *, within: float = 1.0, max_ticks: int = 1200,
                dig: bool = False, avoid: Iterable[int] = (), climb: str | None = None) -> Script:
        """Walk to within ``within`` blocks (horizontally) of ``goal`` = (x, z) the way people
        do: turn towards it and hold forward, sprint on long stretches, correct small misses by
        strafing (alone or with forward) instead of turning, step back when the goal is just
        behind, jump over steps, swim, take short random detours, and when stuck (pushing a wall
        for a reaction time, or little headway in 1.5 s) react (:meth:`_unstick`).

        Sprinting is latched in the game (it lasts while forward is held), so the sprint key is
        held for the whole run and the run ends by letting go of forward: the key is down
        exactly when the player sprints, which keeps it learnable from video."""
        gx, gz = goal
        last_pos, last_t, stuck = self.pos, 0, 0
        sprint = False
        detour = 0
        avoid = set(avoid)
        strafer = self.rng.random() < 0.7  # most people strafe to correct their course
        # ticks of pushing against a wall before reacting (a step up takes ~5)
        react = int(self.rng.integers(7, 15 - int(6 * self.skill)))
        blocked, prev = 0, self.pos
        for t in range(max_ticks):
            pos = self.pos
            p = self.sim.player
            pushing = p.state[COLL_H] > 0 and np.hypot(*(pos - prev)[[0, 2]]) < 0.02
            blocked, prev = (blocked + 1 if pushing else 0), pos
            dist = math.hypot(gx - pos[0], gz - pos[2])
            if dist <= within:
                yield self.action(self._jitter())
                return
            yaw, _ = angles_to((pos[0], 0, pos[2]), (gx, 0, gz))
            if detour > 0:
                detour -= 1
                yaw += self._detour_dir * 40.0
            elif self.rng.random() < 0.004 * (1.3 - self.skill):
                detour, self._detour_dir = int(self.rng.integers(10, 30)), float(self.rng.choice((-1, 1)))
            dyaw = _wrap(yaw - p.yaw)
            pitch_goal = 10.0 + 5.0 * math.sin(t / 23.0)
            walled = blocked >= react  # pushed a wall for a reaction time: react as a person would
            if walled or t - last_t >= 30:
                moved = np.hypot(*(pos - last_pos)[[0, 2]])
                last_pos, last_t = pos, t
                if walled or moved < 0.6:
                    blocked, sprint = 0, False
                    stuck += 1
                    yield from self._unstick(stuck, climb=climb, dig=dig, avoid=avoid)
                    if stuck > 12:
                        raise SkillFailed(f"stuck on the way to {goal}")
                    continue
            keys = {"forward": int(abs(dyaw) < 50), "left": 0, "right": 0, "back": 0}
            turn = dyaw
            if dist < 3.0 and abs(dyaw) > 130 and detour == 0:
                keys["forward"], keys["back"], turn = 0, 1, 0.0  # just behind: step back
            elif strafer and detour == 0 and (dist < 4.0 and 25 < abs(dyaw) < 110 or 12 < abs(dyaw) < 40):
                r = math.radians(p.yaw)  # strafe towards it (strafe positive = left), turning less
                left = (gx - pos[0]) * math.cos(r) + (gz - pos[2]) * math.sin(r) > 0
                keys["left" if left else "right"] = 1
                keys["forward"] = int(abs(dyaw) < 70)
                turn = dyaw * 0.3
            px = self.mouse_step(turn, pitch_goal - p.pitch, 35.0 + 30 * self.skill)
            if sprint and (dist < 3.0 or self.rng.random() < 0.01 or not keys["forward"] or keys["back"]):
                sprint = False  # stop running: let go of forward (and sprint) for a moment
                for _ in range(int(self.rng.integers(1, 4))):
                    yield self.action(self._jitter())
                continue
            if not sprint and dist > 4.5 and keys["forward"] and not keys["back"] \
                    and self.rng.random() < 0.05 + 0.15 * self.skill:
                sprint = True
            st = p.state
            jump = int(self._can_jump() and (keys["forward"] or keys["left"] or keys["right"])
                       and (st[COLL_H] > 0 or st[IN_WATER] > 0 or self._step_ahead(self._ahead_cells(p.yaw))))
            yield self.action(px, jump=jump, sprint=int(sprint), **keys)
        raise SkillFailed(f"could not reach {goal} in {max_ticks} ticks")

    def _can_jump(self) -> bool:
        """Whether space should be down now when a jump is wanted: on the ground or in water to
        start one, or still rising. It is let go at the top of the jump: held in the air it does
        nothing, and a key the video cannot show cannot be learnt from it."""
        st = self.sim.player.state
        return bool(st[ON_GROUND] > 0 or st[IN_WATER] > 0 or st[VY] > 0)

    def _unstick(self, stuck: int, *, climb: str | None, dig: bool, avoid: set[int]) -> Script:
        """What a walker does on its ``stuck``-th time without headway: (with ``climb``, an item
        to build with) pillar up one block in front of a wall or out of a pit, (with ``dig``, two
        times in three) break the blocks in the way, or else hop back and sideways."""
        p = self.sim.player
        ax, ay, az = self._ahead_cells(p.yaw)
        if climb is not None and self.count(climb) and (self.solid(ax, ay + 1, az) or stuck % 2 == 0):
            yield from self._pillar_once(climb)
        elif dig and stuck % 3 != 0:
            yield from self._dig_ahead(avoid)
        else:
            side = "left" if self.rng.random() < 0.5 else "right"
            for _ in range(int(self.rng.integers(6, 16))):
                yield self.action(self._jitter(), **{side: 1, "jump": int(self._can_jump()), "back": 1})

    def shuffle(self) -> Script:
        """The small repositioning step people take between actions: back off, or sidestep (now
        and then backwards-diagonally), for a few ticks, looking where they were looking."""
        key = str(self.rng.choice(("back", "left", "right", "back")))
        keys = {key: 1}
        if key != "back" and self.rng.random() < 0.3:
            keys["back"] = 1
        for _ in range(int(self.rng.integers(2, 8))):
            yield self.action(self._jitter(), **keys)
        yield from self.pause(0, 4)

    def _pillar_once(self, item: str, max_ticks: int = 40) -> Script:
        """Jump and place ``item`` under the feet (one block higher)."""
        try:
            yield from self.select(item)
        except SkillFailed:
            return
        y0 = self.pos[1]
        head = (int(math.floor(self.pos[0])), int(math.floor(y0 + 0.01)) + 2, int(math.floor(self.pos[2])))
        if self.solid(*head):  # make headroom first
            try:
                yield from self.mine(head, max_ticks=300, avoid=(self.bid("water"),))
            except SkillFailed:
                return
        yield from self.look(self.sim.player.yaw, 89.0, tol=3.0)
        for _ in range(max_ticks):
            if self.pos[1] >= y0 + 0.99 and self.sim.player.state[ON_GROUND] > 0:
                break
            yield self.action(self._jitter(), jump=1, use=1)
        yield self.action()

    def _ahead_cells(self, yaw: float) -> tuple[int, int, int]:
        pos = self.pos
        r = math.radians(yaw)
        return (int(math.floor(pos[0] - 0.8 * math.sin(r))), int(math.floor(pos[1] + 0.01)),
                int(math.floor(pos[2] + 0.8 * math.cos(r))))

    def _step_ahead(self, cell: tuple[int, int, int]) -> bool:
        x, y, z = cell
        return self.solid(x, y, z) and not self.solid(x, y + 1, z) and not self.solid(x, y + 2, z)

    def _dig_ahead(self, avoid: set[int]) -> Script:
        """Break the blocks at feet and head height in the walking direction."""
        x, y, z = self._ahead_cells(self.sim.player.yaw)
        for cell in ((x, y + 1, z), (x, y, z)):
            b = int(self.blocks[cell])
            if b != 0 and self.sim.rules.solid[b] and b not in avoid and self.sim.rules.hardness[b] >= 0:
                try:
                    yield from self.mine(cell, max_ticks=300, avoid=avoid)
                except SkillFailed:
                    return

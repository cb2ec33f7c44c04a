"""The player: movement physics, collisions, camera, mining, placing, inventory, health and food.

Movement follows Minecraft 1.16's per-tick update (``LivingEntity.travel``): the input vector
(``±0.98``, times 0.3 when sneaking) is turned into an acceleration (movement speed 0.1, 0.13
sprinting, on the ground; 0.02 / 0.026 in the air), the player moves with axis-separated AABB
collisions (Y first, then the larger of X/Z), then ground friction (0.6 × 0.91) or air drag
(0.91) and gravity (``vy = (vy - 0.08) * 0.98``) apply. This gives Minecraft's 4.317 blocks/s
walking, 5.612 sprinting, 1.295 sneaking and a 1.25-block jump apex. Sneaking on the ground does
not walk off edges. The numbers come from ``rules.yaml`` (``player:``).

Mining follows Minecraft's break-time rule: each tick of ``attack`` on the same block adds
``speed / hardness / 30`` (``/ 100`` when the held item cannot harvest it), where ``speed`` is
the tool's speed if its kind is the block's preferred tool, else 1; in the air or under water
the speed is divided by 5. The block breaks at 1; it drops into the inventory only if harvested
with the needed tool tier. Progress resets when the target changes or attack is released, and
the next block takes damage only after a 5-tick delay.

The coordinate frame is Minecraft's: ``x`` east, ``y`` up, ``z`` south; yaw 0 faces +z (south) and
increases turning right (clockwise from above); pitch is positive looking down, clamped to ±90°.
"""

from __future__ import annotations

import math

import numba as nb
import numpy as np

from vpt.env.sim.rules import Rules
from vpt.env.sim.world import World

# indices into the player's physics state vector
X, Y, Z, VX, VY, VZ, ON_GROUND, FALL, COLL_H, IN_WATER, JUMP_TICKS = range(11)
N_STATE = 11

#: Length of the arm swing animation in ticks (Minecraft's ``getArmSwingAnimationEnd``).
SWING_TICKS = 6

#: Inventory layout: slots 0-8 hotbar, 9-35 main inventory, 36 off hand (Minecraft's order).
HOTBAR, MAIN_END, OFFHAND, N_SLOTS = 9, 36, 36, 37


# ------------------------------------------------------------------------------------------
# collisions (Numba)


@nb.njit(cache=True)
def _overlaps_solid(blocks, solid, box, x0, y0, z0, x1, y1, z1) -> bool:
    """True when the AABB overlaps any solid block box (outside the grid sideways or below
    counts as solid, above as air)."""
    W, H, D = blocks.shape
    for bx in range(int(math.floor(x0)), int(math.floor(x1)) + 1):
        for bz in range(int(math.floor(z0)), int(math.floor(z1)) + 1):
            for by in range(int(math.floor(y0)) - 1, int(math.floor(y1)) + 1):
                if by >= H:
                    continue
                if bx < 0 or bz < 0 or bx >= W or bz >= D or by < 0:
                    return True
                b = blocks[bx, by, bz]
                if not solid[b]:
                    continue
                if (bx + box[b, 0] < x1 and bx + box[b, 3] > x0 and by + box[b, 1] < y1
                        and by + box[b, 4] > y0 and bz + box[b, 2] < z1 and bz + box[b, 5] > z0):
                    return True
    return False


@nb.njit(cache=True)
def _clip(blocks, solid, box, x0, y0, z0, x1, y1, z1, axis, d):
    """Clip the movement ``d`` along ``axis`` of the AABB (x0, y0, z0)-(x1, y1, z1) against
    solid boxes (cells outside the grid sideways or below are solid cubes)."""
    if d == 0.0:
        return 0.0
    W, H, D = blocks.shape
    sx0, sy0, sz0, sx1, sy1, sz1 = x0, y0, z0, x1, y1, z1  # the swept box
    if axis == 0:
        if d > 0:
            sx1 += d
        else:
            sx0 += d
    elif axis == 1:
        if d > 0:
            sy1 += d
        else:
            sy0 += d
    elif d > 0:
        sz1 += d
    else:
        sz0 += d
    eps = 1e-7
    for bx in range(int(math.floor(sx0)), int(math.floor(sx1)) + 1):
        for bz in range(int(math.floor(sz0)), int(math.floor(sz1)) + 1):
            for by in range(int(math.floor(sy0)) - 1, int(math.floor(sy1)) + 1):
                if by >= H:
                    continue
                cx0, cy0, cz0 = float(bx), float(by), float(bz)
                cx1, cy1, cz1 = bx + 1.0, by + 1.0, bz + 1.0
                if not (bx < 0 or bz < 0 or bx >= W or bz >= D or by < 0):
                    b = blocks[bx, by, bz]
                    if not solid[b]:
                        continue
                    cx0, cy0, cz0 = bx + box[b, 0], by + box[b, 1], bz + box[b, 2]
                    cx1, cy1, cz1 = bx + box[b, 3], by + box[b, 4], bz + box[b, 5]
                if axis != 0 and not (cx0 < x1 - eps and cx1 > x0 + eps):
                    continue
                if axis != 1 and not (cy0 < y1 - eps and cy1 > y0 + eps):
                    continue
                if axis != 2 and not (cz0 < z1 - eps and cz1 > z0 + eps):
                    continue
                if axis == 0:
                    lo, hi, c0, c1 = x0, x1, cx0, cx1
                elif axis == 1:
                    lo, hi, c0, c1 = y0, y1, cy0, cy1
                else:
                    lo, hi, c0, c1 = z0, z1, cz0, cz1
                if d > 0 and c0 >= hi - eps:
                    d = min(d, c0 - hi)
                elif d < 0 and c1 <= lo + eps:
                    d = max(d, c1 - lo)
    return d


@nb.njit(cache=True)
def _move(blocks, solid, box, s, dx, dy, dz, half, height, sneak_edge, safe_fall):
    """Move the player AABB by (dx, dy, dz) with collisions; update position, velocity,
    on-ground, horizontal collision and fall distance in ``s``. Returns the fall damage."""
    x0, y0, z0 = s[X] - half, s[Y], s[Z] - half
    x1, y1, z1 = s[X] + half, s[Y] + height, s[Z] + half
    if sneak_edge and s[ON_GROUND] > 0 and dy <= 0.0:
        # Minecraft's sneaking: back off while the step would leave no support within 0.6
        step = 0.05
        while dx != 0.0 and not _overlaps_solid(blocks, solid, box, x0 + dx, y0 - 0.6, z0, x1 + dx, y1 - 0.6, z1):
            if abs(dx) < step:
                dx = 0.0
            elif dx > 0:
                dx -= step
            else:
                dx += step
        while dz != 0.0 and not _overlaps_solid(blocks, solid, box, x0, y0 - 0.6, z0 + dz, x1, y1 - 0.6, z1 + dz):
            if abs(dz) < step:
                dz = 0.0
            elif dz > 0:
                dz -= step
            else:
                dz += step
    ody, odx, odz = dy, dx, dz
    dy = _clip(blocks, solid, box, x0, y0, z0, x1, y1, z1, 1, dy)
    y0 += dy
    y1 += dy
    if abs(dx) < abs(dz):
        dz = _clip(blocks, solid, box, x0, y0, z0, x1, y1, z1, 2, dz)
        z0 += dz
        z1 += dz
        dx = _clip(blocks, solid, box, x0, y0, z0, x1, y1, z1, 0, dx)
    else:
        dx = _clip(blocks, solid, box, x0, y0, z0, x1, y1, z1, 0, dx)
        x0 += dx
        x1 += dx
        dz = _clip(blocks, solid, box, x0, y0, z0, x1, y1, z1, 2, dz)
    s[X] += dx
    s[Y] += dy
    s[Z] += dz
    s[COLL_H] = 1.0 if (dx != odx or dz != odz) else 0.0
    if dx != odx:
        s[VX] = 0.0
    if dz != odz:
        s[VZ] = 0.0
    s[ON_GROUND] = 1.0 if (dy != ody and ody < 0) else 0.0
    if dy != ody:
        s[VY] = 0.0
    damage = 0.0
    if s[ON_GROUND] > 0:
        if s[FALL] > safe_fall:
            damage = math.ceil(s[FALL] - safe_fall)
        s[FALL] = 0.0
    elif dy < 0:
        s[FALL] -= dy
    return damage


@nb.njit(cache=True)
def _in_block(blocks, block, x0, y0, z0, x1, y1, z1) -> bool:
    W, H, D = blocks.shape
    for bx in range(max(0, int(math.floor(x0))), min(W, int(math.floor(x1)) + 1)):
        for by in range(max(0, int(math.floor(y0))), min(H, int(math.floor(y1)) + 1)):
            for bz in range(max(0, int(math.floor(z0))), min(D, int(math.floor(z1)) + 1)):
                if blocks[bx, by, bz] == block:
                    return True
    return False


@nb.njit(cache=True)
def travel(blocks, solid, box, water, s, forward, strafe, yaw_deg, jumping, sprinting, sneaking,
           height, p) -> float:
    """One tick of Minecraft's movement for the player state ``s`` (modified in place).

    ``forward``/``strafe`` are the input in [-1, 1] (strafe positive = left), already scaled by
    0.98 and the sneak factor. ``p`` holds the constants (see :func:`physics_params`). Returns
    the fall damage taken this tick."""
    half = p[0] / 2.0
    for k in (VX, VY, VZ):
        if abs(s[k]) < 0.003:
            s[k] = 0.0
    if s[JUMP_TICKS] > 0:
        s[JUMP_TICKS] -= 1
    yaw = yaw_deg * math.pi / 180.0
    sn, cs = math.sin(yaw), math.cos(yaw)
    in_water = s[IN_WATER] > 0
    if jumping:
        if in_water:
            s[VY] += p[9]
        elif s[ON_GROUND] > 0 and s[JUMP_TICKS] == 0:
            s[VY] = p[5]
            if sprinting:
                s[VX] -= sn * p[6]
                s[VZ] += cs * p[6]
            s[JUMP_TICKS] = 10
    else:
        s[JUMP_TICKS] = 0
    if in_water:
        accel = p[10]
    elif s[ON_GROUND] > 0:
        speed = p[1] * (p[2] if sprinting else 1.0)
        accel = speed * (0.21600002 / (p[3] * p[3] * p[3]))
    else:
        accel = p[12] if sprinting else p[11]
    l2 = forward * forward + strafe * strafe
    if l2 >= 1e-7:
        f, st = forward, strafe
        if l2 > 1.0:
            n = math.sqrt(l2)
            f, st = f / n, st / n
        f *= accel
        st *= accel
        s[VX] += st * cs - f * sn
        s[VZ] += f * cs + st * sn
    slip = p[3] * p[4] if s[ON_GROUND] > 0 else p[4]
    damage = _move(blocks, solid, box, s, s[VX], s[VY], s[VZ], half, height, sneaking, p[15])
    if in_water:
        s[VX] *= p[13]
        s[VZ] *= p[13]
        s[VY] = s[VY] * p[13] - p[14]
        if s[COLL_H] > 0:
            s[VY] = 0.3
    else:
        s[VY] = (s[VY] - p[7]) * p[8]
        s[VX] *= slip
        s[VZ] *= slip
    s[IN_WATER] = 1.0 if _in_block(blocks, water, s[X] - half + 0.001, s[Y] + 0.001, s[Z] - half + 0.001,
                                   s[X] + half - 0.001, s[Y] + height - 0.001, s[Z] + half - 0.001) else 0.0
    if s[IN_WATER] > 0:
        s[FALL] = 0.0
    return damage


def physics_params(rules: Rules) -> np.ndarray:
    """The movement constants of ``rules.player`` in the order :func:`travel` reads them."""
    p = rules.player
    return np.array([p["width"], p["walk_speed"], p["sprint_multiplier"], p["ground_slipperiness"],
                     p["air_drag"], p["jump_velocity"], p["sprint_jump_boost"], p["gravity"],
                     p["vertical_drag"], p["water_swim_up"], p["water_accel"], p["air_accel"],
                     p["sprint_air_accel"], p["water_drag"], p["water_gravity"], p["safe_fall"]])


# ------------------------------------------------------------------------------------------
# ray casting for the targeted block


@nb.njit(cache=True, inline="always")
def _slab(o, d, lo, hi, tmin, tmax, axis, k):
    """One axis of the slab test: the updated (tmin, tmax, axis of tmin)."""
    if abs(d) < 1e-12:
        if o < lo or o > hi:
            return 1e30, -1e30, axis
        return tmin, tmax, axis
    t0 = (lo - o) / d
    t1 = (hi - o) / d
    if t0 > t1:
        t0, t1 = t1, t0
    if t0 > tmin:
        tmin, axis = t0, k
    return tmin, min(tmax, t1), axis


@nb.njit(cache=True, inline="always")
def dda_axis(o, d, i):
    """Grid-traversal (Amanatides-Woo) set-up on one axis for a ray at ``o`` going ``d``, in cell ``i``.

    Returns (step, t between cell borders, t to the first border); 1e30 for an axis the ray
    does not move along.
    """
    step = 1 if d > 0 else -1
    if d == 0:
        return step, 1e30, 1e30
    td = abs(1.0 / d)
    return step, td, ((i + 1 - o) if d > 0 else (o - i)) * td


@nb.njit(cache=True, inline="always")
def ray_box(ox, oy, oz, dx, dy, dz, x0, y0, z0, x1, y1, z1):
    """Slab test of a ray against an AABB: (t_enter, t_exit, axis of the entered face)."""
    tmin, tmax, axis = _slab(ox, dx, x0, x1, -1e30, 1e30, 0, 0)
    tmin, tmax, axis = _slab(oy, dy, y0, y1, tmin, tmax, axis, 1)
    return _slab(oz, dz, z0, z1, tmin, tmax, axis, 2)


@nb.njit(cache=True)
def raycast(blocks, render_kind, box, ox, oy, oz, dx, dy, dz, reach):
    """First targetable block along a unit ray within ``reach``.

    Returns (hit, bx, by, bz, nx, ny, nz): the block and the normal of the face hit. Invisible
    (barrier, air) and liquid blocks are not targetable; box-shaped blocks are hit on their box.
    """
    W, H, D = blocks.shape
    ix, iy, iz = int(math.floor(ox)), int(math.floor(oy)), int(math.floor(oz))
    sx, tdx, tx = dda_axis(ox, dx, ix)
    sy, tdy, ty = dda_axis(oy, dy, iy)
    sz, tdz, tz = dda_axis(oz, dz, iz)
    t = 0.0
    axis = -1
    while t <= reach:
        if 0 <= ix < W and 0 <= iy < H and 0 <= iz < D:
            b = blocks[ix, iy, iz]
            rk = render_kind[b]
            if rk == 1 or rk == 2:
                n = [0, 0, 0]
                if axis >= 0:
                    n[axis] = -(sx if axis == 0 else (sy if axis == 1 else sz))
                return True, ix, iy, iz, n[0], n[1], n[2]
            if rk == 4:
                t0, t1, ax = ray_box(ox, oy, oz, dx, dy, dz, ix + box[b, 0], iy + box[b, 1], iz + box[b, 2],
                                     ix + box[b, 3], iy + box[b, 4], iz + box[b, 5])
                if t0 <= t1 and t1 >= 0 and t0 <= reach:
                    d = (dx, dy, dz)
                    n = [0, 0, 0]
                    n[ax] = -1 if d[ax] > 0 else 1
                    return True, ix, iy, iz, n[0], n[1], n[2]
        elif iy >= H and dy >= 0:
            break
        if tx < ty and tx < tz:
            t, axis = tx, 0
            ix += sx
            tx += tdx
        elif ty < tz:
            t, axis = ty, 1
            iy += sy
            ty += tdy
        else:
            t, axis = tz, 2
            iz += sz
            tz += tdz
    return False, 0, 0, 0, 0, 0, 0


def look_vector(yaw_deg: float, pitch_deg: float) -> tuple[float, float, float]:
    """Unit view direction for Minecraft yaw/pitch (degrees)."""
    yaw, pitch = math.radians(yaw_deg), math.radians(pitch_deg)
    cp = math.cos(pitch)
    return -math.sin(yaw) * cp, -math.sin(pitch), math.cos(yaw) * cp


# ------------------------------------------------------------------------------------------
# inventory


class Inventory:
    """37 slots (Minecraft's order: hotbar 0-8, main 9-35, off hand 36) of (item, count,
    damage); item -1 is empty. Keeps the cumulative count of each item ever obtained."""

    def __init__(self, rules: Rules) -> None:
        self.rules = rules
        self.item = np.full(N_SLOTS, -1, np.int32)
        self.count = np.zeros(N_SLOTS, np.int32)
        self.damage = np.zeros(N_SLOTS, np.int32)
        self.obtained = np.zeros(rules.num_items, np.int64)

    def add(self, item: int, n: int, selected: int = 0) -> int:
        """Add ``n`` of ``item`` like Minecraft's pickup (the selected slot, the off hand, then
        matching stacks in slot order, then empty slots); returns how many did not fit (lost).
        Counts toward :attr:`obtained`."""
        self.obtained[item] += n
        stack = int(self.rules.stack[item])
        order = [selected, OFFHAND, *range(MAIN_END)]
        for s in order:
            if n == 0:
                break
            if self.item[s] == item and self.count[s] < stack:
                k = min(n, stack - int(self.count[s]))
                self.count[s] += k
                n -= k
        for s in range(MAIN_END):
            if n == 0:
                break
            if self.item[s] < 0:
                k = min(n, stack)
                self.item[s], self.count[s], self.damage[s] = item, k, 0
                n -= k
        return n

    def take(self, slot: int, n: int = 1) -> int:
        """Remove up to ``n`` items from ``slot``; returns how many were removed."""
        k = min(n, int(self.count[slot]))
        self.count[slot] -= k
        if self.count[slot] <= 0:
            self.item[slot], self.count[slot], self.damage[slot] = -1, 0, 0
        return k

    def counts(self) -> np.ndarray:
        """Total count per item id (int64 [num_items])."""
        held = self.item >= 0
        return np.bincount(self.item[held], weights=self.count[held], minlength=self.rules.num_items).astype(np.int64)

    def find(self, item: int) -> int:
        """First slot (0-35) holding ``item``, or -1."""
        hits = np.nonzero(self.item[:MAIN_END] == item)[0]
        return int(hits[0]) if len(hits) else -1


# ------------------------------------------------------------------------------------------
# the player


class Player:
    """Player state and its per-tick update from pressed buttons.

    Attributes:
        state: physics vector (position, velocity, on-ground, fall distance, ...).
        yaw, pitch: view angles in degrees (Minecraft's convention; pitch positive = down).
        selected: hotbar slot 0-8.
        health, food, saturation, exhaustion: Minecraft's survival stats.
        target: the targeted block (x, y, z) or None; ``target_face``: the normal of its hit face.
        break_progress: mining progress on ``target`` in [0, 1).
    """

    def __init__(self, rules: Rules, world: World, rng: np.random.Generator, start_inventory: dict[str, int],
                 break_speed: float = 1.0) -> None:
        self.rules = rules
        self.break_speed = break_speed
        self.world = world
        self.rng = rng
        p = rules.player
        self.p = p
        self.params = physics_params(rules)
        self.water = rules.block_id("water")
        self.state = np.zeros(N_STATE)
        self.state[X], self.state[Y], self.state[Z] = world.spawn
        self.state[ON_GROUND] = 1.0
        self.yaw, self.pitch = 0.0, 0.0
        self.selected = 0
        self.health = float(p["max_health"])
        self.food = int(p["max_food"])
        self.saturation = float(p["start_saturation"])
        self.exhaustion = 0.0
        self.food_timer = 0
        self.sprinting = False
        self.sneaking = False
        self.inventory = Inventory(rules)
        for name, n in start_inventory.items():
            left = self.inventory.add(rules.item_id(name), int(n))
            if left:
                raise ValueError(f"start inventory does not fit: {left} x {name} left over")
        self.inventory.obtained[:] = 0  # the start inventory is not "obtained" in the episode
        self.target: tuple[int, int, int] | None = None
        self.target_face = (0, 0, 0)
        self.break_progress = 0.0
        self.break_delay = 0
        self.place_delay = 0
        self.eat_ticks = 0
        self.swing_tick = -1
        """Ticks into the arm swing (-1: not swinging); see :meth:`swing_arm`."""
        self.update_target()

    # -- geometry --------------------------------------------------------------------------
    @property
    def position(self) -> tuple[float, float, float]:
        """Feet position (x, y, z)."""
        return float(self.state[X]), float(self.state[Y]), float(self.state[Z])

    @property
    def height(self) -> float:
        return self.p["sneak_height"] if self.sneaking else self.p["height"]

    @property
    def eye(self) -> tuple[float, float, float]:
        """Eye position (x, y, z)."""
        e = self.p["sneak_eye_height"] if self.sneaking else self.p["eye_height"]
        return float(self.state[X]), float(self.state[Y]) + e, float(self.state[Z])

    @property
    def held_item(self) -> int:
        """Item id in the selected hotbar slot, -1 if empty."""
        return int(self.inventory.item[self.selected])

    def update_target(self) -> None:
        """Recompute the targeted block from the eye along the view direction."""
        ex, ey, ez = self.eye
        dx, dy, dz = look_vector(self.yaw, self.pitch)
        r = self.rules
        hit, bx, by, bz, nx, ny, nz = raycast(self.world.blocks, r.render_kind, r.box, ex, ey, ez, dx, dy, dz,
                                              self.p["reach"])
        new = (bx, by, bz) if hit else None
        if new != self.target:
            self.break_progress = 0.0
        self.target = new
        self.target_face = (nx, ny, nz)

    # -- per tick --------------------------------------------------------------------------
    def look(self, dpitch: float, dyaw: float) -> None:
        """Turn the view by camera deltas (degrees): pitch clamped to ±90, yaw wrapped."""
        self.pitch = min(90.0, max(-90.0, self.pitch + dpitch))
        self.yaw = (self.yaw + dyaw + 180.0) % 360.0 - 180.0

    def move(self, forward: int, back: int, left: int, right: int, jump: bool, sneak: bool, sprint: bool) -> None:
        """One tick of movement from the movement keys."""
        p = self.p
        want_sneak = bool(sneak)
        if self.sneaking and not want_sneak:
            s = self.state
            half = p["width"] / 2
            if _overlaps_solid(self.world.blocks, self.rules.solid, self.rules.box, s[X] - half, s[Y], s[Z] - half,
                               s[X] + half, s[Y] + p["height"], s[Z] + half):
                want_sneak = True  # no headroom to stand up
        self.sneaking = want_sneak
        f = (forward - back) * p["input_factor"]
        st = (left - right) * p["input_factor"]
        if self.sneaking:
            f *= p["sneak_multiplier"]
            st *= p["sneak_multiplier"]
        can_sprint = self.food > 6 and not self.sneaking and forward and not back
        if self.sprinting and (not can_sprint or self.state[COLL_H] > 0):
            self.sprinting = False
        elif sprint and can_sprint:
            self.sprinting = True
        x0, z0 = self.state[X], self.state[Z]
        jumped = jump and self.state[ON_GROUND] > 0 and self.state[JUMP_TICKS] == 0 and self.state[IN_WATER] == 0
        r = self.rules
        damage = travel(self.world.blocks, r.solid, r.box, self.water, self.state, f, st, self.yaw, bool(jump),
                        self.sprinting, self.sneaking, self.height, self.params)
        if jumped:
            self.exhaustion += 0.2 if self.sprinting else 0.05
        if self.sprinting:
            self.exhaustion += 0.1 * math.hypot(self.state[X] - x0, self.state[Z] - z0)
        elif self.state[IN_WATER] > 0:
            self.exhaustion += 0.01 * math.hypot(self.state[X] - x0, self.state[Z] - z0)
        if damage > 0:
            self.hurt(damage)

    def hurt(self, amount: float) -> None:
        """Take damage (adds Minecraft's 0.1 exhaustion)."""
        self.health = max(0.0, self.health - amount)
        self.exhaustion += 0.1

    def swing_arm(self) -> None:
        """Start the arm swing (Minecraft's ``swingArm``): only when none is running or the
        running one is past half way, so holding attack on a block swings continuously."""
        if self.swing_tick < 0 or self.swing_tick >= SWING_TICKS // 2:
            self.swing_tick = 0

    def advance_swing(self) -> None:
        """One tick of the swing animation (Minecraft's ``updateArmSwingProgress``)."""
        if self.swing_tick >= 0:
            self.swing_tick += 1
            if self.swing_tick >= SWING_TICKS:
                self.swing_tick = -1

    @property
    def swing_progress(self) -> float:
        """Swing phase in (0, 1] for the renderer, 0 at rest."""
        return (self.swing_tick + 1) / SWING_TICKS if self.swing_tick >= 0 else 0.0

    def mine(self, attacking: bool) -> int | None:
        """One tick of the attack button. Returns the broken block id, or None."""
        if not attacking or self.target is None:
            self.break_progress = 0.0
            self.break_delay = 0 if not attacking else self.break_delay
            return None
        if self.break_delay > 0:
            self.break_delay -= 1
            return None
        r = self.rules
        x, y, z = self.target
        b = int(self.world.blocks[x, y, z])
        hardness = r.hardness[b]
        if hardness < 0:
            return None
        item = self.held_item
        tool = r.item_tool[item] if item >= 0 else 0
        tier = r.item_tier[item] if item >= 0 else 0
        need = r.block_tier[b]
        harvest = need == 0 or (tool == r.block_tool[b] and tier >= need)
        if hardness == 0:
            self.break_progress = 1.0
        else:
            speed = r.item_speed[item] if (item >= 0 and tool != 0 and tool == r.block_tool[b]) else 1.0
            if self.state[IN_WATER] > 0:
                speed /= 5.0
            if self.state[ON_GROUND] == 0:
                speed /= 5.0
            self.break_progress += self.break_speed * speed / hardness / (30.0 if harvest else 100.0)
        if self.break_progress < 1.0 - 1e-9:
            return None
        # broken
        self.world.set_block(x, y, z, 0)
        self.break_progress = 0.0
        self.break_delay = int(self.p["break_delay"]) if hardness > 0 else 0
        self.exhaustion += 0.005
        if item >= 0 and r.durability[item] > 0 and hardness > 0:
            self.inventory.damage[self.selected] += 1
            if self.inventory.damage[self.selected] >= r.durability[item]:
                self.inventory.take(self.selected, 1)
        if harvest:
            for d in r.drops[b]:
                if d.chance >= 1.0 or self.rng.random() < d.chance:
                    self.inventory.add(d.item, d.count, self.selected)
        self.target = None
        return b

    def use(self, pressed: bool, sneak: bool) -> str | None:
        """One tick of the use button: eat held food, open a block's screen, or place the held
        block on the targeted face (every ``place_delay`` ticks while held). Returns the name
        of a screen to open, or None."""
        if not pressed:
            self.place_delay = 0
            self.eat_ticks = 0
            return None
        r = self.rules
        item = self.held_item
        if item >= 0 and r.food[item] > 0 and self.food < self.p["max_food"]:
            self.eat_ticks += 1
            if self.eat_ticks >= self.p["eat_ticks"]:
                self.eat_ticks = 0
                self.food = min(int(self.p["max_food"]), self.food + int(r.food[item]))
                self.saturation = min(float(self.food), self.saturation + float(r.saturation[item]))
                self.inventory.take(self.selected, 1)
            return None
        if self.place_delay > 0:
            self.place_delay -= 1
            if self.place_delay > 0:
                return None
        if self.target is None:
            return None
        x, y, z = self.target
        b = int(self.world.blocks[x, y, z])
        if r.block_screen[b] is not None and not sneak:
            self.place_delay = int(self.p["place_delay"])
            return r.block_screen[b]
        if item < 0 or r.item_block[item] < 0:
            return None
        nb_ = int(r.item_block[item])
        nx, ny, nz = self.target_face
        px, py, pz = x + nx, y + ny, z + nz
        W, H, D = self.world.shape
        if not (0 <= px < W and 0 <= py < H and 0 <= pz < D):
            return None
        if not r.replaceable[self.world.blocks[px, py, pz]]:
            return None
        if r.solid[nb_]:
            s = self.state
            half = self.p["width"] / 2
            bx = r.box[nb_]
            if (px + bx[0] < s[X] + half and px + bx[3] > s[X] - half and py + bx[1] < s[Y] + self.height
                    and py + bx[4] > s[Y] and pz + bx[2] < s[Z] + half and pz + bx[5] > s[Z] - half):
                return None  # never inside the player
        self.world.set_block(px, py, pz, nb_)
        self.inventory.take(self.selected, 1)
        self.place_delay = int(self.p["place_delay"])
        return None

    def drop(self, whole_stack: bool) -> None:
        """Throw away one item (or the whole stack) from the selected slot."""
        self.inventory.take(self.selected, int(self.inventory.count[self.selected]) if whole_stack else 1)

    def swap_hands(self) -> None:
        """Swap the selected hotbar slot with the off hand."""
        inv = self.inventory
        for a in (inv.item, inv.count, inv.damage):
            a[self.selected], a[OFFHAND] = a[OFFHAND], a[self.selected]

    def pick_item(self) -> None:
        """Middle click: select the targeted block's item if it is in the hotbar, else swap it
        from the main inventory into the selected slot."""
        if self.target is None:
            return
        item = int(self.rules.block_item[self.world.blocks[self.target]])
        if item < 0:
            return
        slot = self.inventory.find(item)
        if 0 <= slot < HOTBAR:
            self.selected = slot
        elif slot >= HOTBAR:
            inv = self.inventory
            for a in (inv.item, inv.count, inv.damage):
                a[self.selected], a[slot] = a[slot], a[self.selected]

    def survival_tick(self) -> None:
        """Hunger, natural regeneration and starvation (Minecraft 1.16, normal difficulty)."""
        p = self.p
        if self.exhaustion > 4.0:
            self.exhaustion -= 4.0
            if self.saturation > 0:
                self.saturation = max(0.0, self.saturation - 1.0)
            else:
                self.food = max(0, self.food - 1)
        max_h = p["max_health"]
        if self.saturation > 0 and self.food >= 20 and self.health < max_h:
            self.food_timer += 1
            if self.food_timer >= 10:
                amount = min(self.saturation, 6.0)
                self.health = min(max_h, self.health + amount / 6.0)
                self.exhaustion += amount
                self.food_timer = 0
        elif self.food >= 18 and self.health < max_h:
            self.food_timer += 1
            if self.food_timer >= 80:
                self.health = min(max_h, self.health + 1.0)
                self.exhaustion += 6.0
                self.food_timer = 0
        elif self.food <= 0:
            self.food_timer += 1
            if self.food_timer >= 80:
                if self.health > 1.0:
                    self.hurt(1.0)
                self.food_timer = 0
        else:
            self.food_timer = 0

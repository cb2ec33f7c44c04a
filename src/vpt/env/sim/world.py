"""Seeded, deterministic world generation for the embedded simulator.

The world is a finite block grid ``blocks[x, y, z]`` (uint8 block ids from the rules file): ``x``
east, ``y`` up, ``z`` south, as in Minecraft. It is walled by invisible unbreakable ``barrier``
blocks and floored with ``bedrock``. Terrain is a fractal value-noise height map (grass, a few
layers of dirt, stone below; sand and still water around sea level), trees (log trunk, leaf
canopy), caves carved where two 3D noise fields are both near zero (tunnels), and ore veins by
depth: coal anywhere in stone, iron in the lower half, diamond near the bottom.

:class:`WorldOptions` makes an experiment easier without touching the rules: smaller worlds,
more trees, more ore, a start inventory.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numba as nb
import numpy as np

from vpt.env.sim.rules import Rules


@dataclass(frozen=True)
class WorldOptions:
    """Options of a generated world. Defaults are Minecraft-like.

    Attributes:
        size: (width along x, depth along z) in blocks, including the border walls; >= 8 each.
        height: world height in blocks (>= 16).
        sea_level: water surface height; default ``height // 2``.
        terrain_amplitude: height-map relief in blocks.
        tree_density: probability that a grass column starts a tree.
        caves: density of cave tunnels (0 = none).
        coal, iron, diamond: multipliers on the number of ore veins.
        start_inventory: item name -> count given at reset (filled into the hotbar first).
        break_speed: multiplier on mining speed (1 = Minecraft; 10 breaks a log by hand in 6
            ticks instead of 60: an easier world for short RL budgets).
        gui_scale: GUI scale of the HUD and the screens (MineRL's ``guiscale``): 1 is Minecraft's
            at 640×360 (VPT's setting); 2 draws the hotbar, the screens and their slots twice as
            large, so that a small policy at 128×128 can tell the items apart (a hotbar slot
            becomes ~7×13 pixels instead of ~3.5×6). DEVIATION: Minecraft caps the scale at 1
            on a 360-pixel-high window; the cursor keeps moving in the same 1280×720 window.
    """

    size: tuple[int, int] = (128, 128)
    height: int = 64
    sea_level: int | None = None
    terrain_amplitude: float = 7.0
    tree_density: float = 0.012
    caves: float = 1.0
    coal: float = 1.0
    iron: float = 1.0
    diamond: float = 1.0
    start_inventory: dict[str, int] = field(default_factory=dict)
    break_speed: float = 1.0
    gui_scale: int = 1

    def __post_init__(self) -> None:
        if len(self.size) != 2 or min(self.size) < 8:
            raise ValueError(f"world size must be (width, depth) with both >= 8, got {self.size}")
        if self.height < 16:
            raise ValueError(f"world height must be >= 16, got {self.height}")
        for name in ("tree_density", "caves", "coal", "iron", "diamond", "terrain_amplitude"):
            if getattr(self, name) < 0:
                raise ValueError(f"world option {name} must be >= 0")
        from vpt.env.sim.gui import check_gui_scale  # here: gui imports player, which imports this module

        check_gui_scale(self.gui_scale)
        if self.break_speed <= 0:
            raise ValueError(f"world option break_speed must be > 0, got {self.break_speed}")

    @property
    def sea(self) -> int:
        """The sea level actually used."""
        return self.sea_level if self.sea_level is not None else self.height // 2

    @classmethod
    def from_dict(cls, options: dict | WorldOptions | None) -> WorldOptions:
        """Build options from a plain dict (as passed through ``gymnasium.make``), with clear
        errors for unknown names."""
        if options is None:
            return cls()
        if isinstance(options, cls):
            return options
        known = set(cls.__dataclass_fields__)
        unknown = set(options) - known
        if unknown:
            raise ValueError(f"unknown world options {sorted(unknown)}; known: {sorted(known)}")
        opts = dict(options)
        if "size" in opts:
            opts["size"] = tuple(int(v) for v in opts["size"])
        return cls(**opts)


@nb.njit(cache=True, inline="always")
def _hash(x: int, y: int, z: int, seed: int) -> float:
    h = (x * 374761393 + y * 668265263 + z * 2147483647 + seed * 144665) & 0xFFFFFFFF
    h = ((h ^ (h >> 13)) * 1274126177) & 0xFFFFFFFF
    h = h ^ (h >> 16)
    return (h & 0xFFFFFF) / 16777216.0


@nb.njit(cache=True, inline="always")
def _smooth(t: float) -> float:
    return t * t * (3.0 - 2.0 * t)


@nb.njit(cache=True)
def _noise2(x: float, z: float, seed: int) -> float:
    xi, zi = int(np.floor(x)), int(np.floor(z))
    fx, fz = _smooth(x - xi), _smooth(z - zi)
    a = _hash(xi, 0, zi, seed) + fx * (_hash(xi + 1, 0, zi, seed) - _hash(xi, 0, zi, seed))
    b = _hash(xi, 0, zi + 1, seed) + fx * (_hash(xi + 1, 0, zi + 1, seed) - _hash(xi, 0, zi + 1, seed))
    return 2.0 * (a + fz * (b - a)) - 1.0


@nb.njit(cache=True)
def _noise3(x: float, y: float, z: float, seed: int) -> float:
    xi, yi, zi = int(np.floor(x)), int(np.floor(y)), int(np.floor(z))
    fx, fy, fz = _smooth(x - xi), _smooth(y - yi), _smooth(z - zi)
    v = 0.0
    for dz in range(2):
        wz = fz if dz else 1.0 - fz
        for dy in range(2):
            wy = fy if dy else 1.0 - fy
            for dx in range(2):
                wx = fx if dx else 1.0 - fx
                v += wx * wy * wz * _hash(xi + dx, yi + dy, zi + dz, seed)
    return 2.0 * v - 1.0


@nb.njit(cache=True)
def _generate(W: int, H: int, D: int, sea: int, amp: float, tree_density: float, caves: float,
              ore_rates: np.ndarray, seed: int, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    (AIR, BARRIER, BEDROCK, STONE, GRASS, DIRT, SAND, GRAVEL, WATER, LOG, LEAVES,
     COAL, IRON, DIAMOND) = (ids[0], ids[1], ids[2], ids[3], ids[4], ids[5], ids[6], ids[7],
                              ids[8], ids[9], ids[10], ids[11], ids[12], ids[13])
    blocks = np.zeros((W, H, D), np.uint8)
    height = np.zeros((W, D), np.int32)
    base = sea + 2
    for x in range(W):
        for z in range(D):
            n = (_noise2(x / 32.0, z / 32.0, seed) + 0.5 * _noise2(x / 16.0, z / 16.0, seed + 1)
                 + 0.25 * _noise2(x / 8.0, z / 8.0, seed + 2))
            h = int(base + amp * n)
            h = max(3, min(H - 12, h))
            height[x, z] = h
            blocks[x, 0, z] = BEDROCK
            dirt_depth = 3 + int(2 * _hash(x, 1, z, seed + 3))
            for y in range(1, h + 1):
                if y == h:
                    blocks[x, y, z] = SAND if h <= sea + 1 else GRASS
                elif y > h - dirt_depth:
                    blocks[x, y, z] = SAND if h <= sea + 1 else DIRT
                else:
                    blocks[x, y, z] = STONE
            for y in range(h + 1, sea + 1):
                blocks[x, y, z] = WATER
    # caves: tunnels where two noise fields are both close to zero
    if caves > 0:
        thr = 0.08 * np.sqrt(caves)
        for x in range(W):
            for z in range(D):
                h = height[x, z]
                top = h - 1 if h <= sea + 1 else h + 1
                for y in range(2, top):
                    a = _noise3(x / 12.0, y / 8.0, z / 12.0, seed + 10)
                    if abs(a) < thr:
                        b = _noise3(x / 12.0, y / 8.0, z / 12.0, seed + 11)
                        if abs(b) < thr:
                            blocks[x, y, z] = AIR
    # ore veins: (block, veins per 16x16 columns, vein size, max y)
    ore_block = (COAL, IRON, DIAMOND, GRAVEL)
    ore_size = (8, 6, 4, 12)
    ore_maxy = (min(H - 4, sea + 4), max(8, (sea * 7) // 8), max(6, sea // 3), sea)
    area = W * D / 256.0
    k = 0
    for o in range(4):
        n_veins = int(area * ore_rates[o] + _hash(o, 7, 7, seed + 20))
        for v in range(n_veins):
            cx = 1.0 + (W - 2) * _hash(k, 1, 0, seed + 30)
            cy = 1.0 + (ore_maxy[o] - 1) * _hash(k, 2, 0, seed + 30)
            cz = 1.0 + (D - 2) * _hash(k, 3, 0, seed + 30)
            k += 1
            for s in range(ore_size[o]):
                x = int(cx + 2.4 * (_hash(k, s, 1, seed + 31) - 0.5))
                y = int(cy + 2.4 * (_hash(k, s, 2, seed + 31) - 0.5))
                z = int(cz + 2.4 * (_hash(k, s, 3, seed + 31) - 0.5))
                if 1 <= x < W - 1 and 1 <= y < H and 1 <= z < D - 1 and blocks[x, y, z] == STONE:
                    blocks[x, y, z] = ore_block[o]
    # trees
    for x in range(3, W - 3):
        for z in range(3, D - 3):
            h = height[x, z]
            if blocks[x, h, z] != GRASS or _hash(x, 3, z, seed + 40) >= tree_density:
                continue
            trunk = 4 + int(3 * _hash(x, 4, z, seed + 40))
            if h + trunk + 2 >= H:
                continue
            top = h + trunk
            for y in range(top - 2, top + 2):
                r = 2 if y < top else 1
                for dx in range(-r, r + 1):
                    for dz in range(-r, r + 1):
                        corner = abs(dx) == r and abs(dz) == r
                        if corner and (y >= top or _hash(x + dx, y, z + dz, seed + 41) < 0.5):
                            continue
                        if blocks[x + dx, y, z + dz] == AIR:
                            blocks[x + dx, y, z + dz] = LEAVES
            for y in range(h + 1, top):
                blocks[x, y, z] = LOG
            blocks[x, h, z] = DIRT
    # border walls
    for y in range(H):
        for x in range(W):
            blocks[x, y, 0] = BARRIER
            blocks[x, y, D - 1] = BARRIER
        for z in range(D):
            blocks[0, y, z] = BARRIER
            blocks[W - 1, y, z] = BARRIER
    return blocks, height


@nb.njit(cache=True)
def _pack_region(blocks, visible, cells, x0, x1, y0, y1, z0, z1):
    """Write the renderer's cell codes of a region into ``cells`` (4×4×4 brick order, so that a
    ray stepping in any direction stays in one cache line): the block id for visible blocks,
    0 for invisible ones (air, barrier)."""
    W, H, D = blocks.shape
    nby, nbz = (H + 3) // 4, (D + 3) // 4
    for x in range(max(0, x0), min(W - 1, x1) + 1):
        for y in range(max(0, y0), min(H - 1, y1) + 1):
            for z in range(max(0, z0), min(D - 1, z1) + 1):
                b = blocks[x, y, z]
                i = (((x >> 2) * nby + (y >> 2)) * nbz + (z >> 2)) * 64 + ((x & 3) << 4) + ((y & 3) << 2) + (z & 3)
                cells[i] = b if visible[b] else 0


class World:
    """A generated block grid plus the facts the player and renderer need.

    Attributes:
        blocks: uint8 ``[W, H, D]`` block ids (``x`` east, ``y`` up, ``z`` south).
        spawn: feet position (x, y, z) of the player at reset.
        top: one above the highest visible block (the renderer stops upward rays above it).
        cells: the renderer's view of the grid: uint8, flat, in 4×4×4 bricks; a visible
            block's id, or 0 for an invisible one.
    """

    def __init__(self, blocks: np.ndarray, spawn: tuple[float, float, float], visible: np.ndarray) -> None:
        self.blocks = blocks
        self.spawn = spawn
        self.visible = visible
        self.top = int(np.nonzero(visible[blocks].any(axis=(0, 2)))[0].max()) + 1
        W, H, D = blocks.shape
        self.cells = np.zeros(((W + 3) // 4) * ((H + 3) // 4) * ((D + 3) // 4) * 64, np.uint8)
        _pack_region(blocks, visible, self.cells, 0, W - 1, 0, H - 1, 0, D - 1)

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.blocks.shape  # type: ignore[return-value]

    def set_block(self, x: int, y: int, z: int, block: int) -> None:
        """Change one cell (keeps :attr:`top` and :attr:`cells` up to date)."""
        self.blocks[x, y, z] = block
        if self.visible[block] and y + 1 > self.top:
            self.top = y + 1
        _pack_region(self.blocks, self.visible, self.cells, x, x, y, y, z, z)


def generate_world(options: WorldOptions, rules: Rules, seed: int) -> World:
    """Generate a world from ``options`` and ``seed`` (deterministic)."""
    W, D = options.size
    H = options.height
    names = ("air", "barrier", "bedrock", "stone", "grass_block", "dirt", "sand", "gravel", "water",
             "oak_log", "oak_leaves", "coal_ore", "iron_ore", "diamond_ore")
    ids = np.array([rules.block_id(n) for n in names], np.int64)
    rates = np.array([10.0 * options.coal, 8.0 * options.iron, 1.0 * options.diamond, 2.0])
    seed = int(seed) % (2**31)
    blocks, height = _generate(W, H, D, min(options.sea, H - 14), float(options.terrain_amplitude),
                               float(options.tree_density), float(options.caves), rates, seed, ids)
    spawn = _find_spawn(blocks, height, min(options.sea, H - 14), rules)
    return World(blocks, spawn, rules.render_kind != 0)


def _find_spawn(blocks: np.ndarray, height: np.ndarray, sea: int, rules: Rules) -> tuple[float, float, float]:
    """The dry, open column nearest the centre; feet on top of it."""
    W, H, D = blocks.shape
    cx, cz = W // 2, D // 2
    solid = rules.solid
    best = None
    for r in range(max(W, D)):
        for x in range(max(1, cx - r), min(W - 1, cx + r + 1)):
            for z in range(max(1, cz - r), min(D - 1, cz + r + 1)):
                if max(abs(x - cx), abs(z - cz)) != r:
                    continue
                h = int(height[x, z])
                col = blocks[x, h + 1:h + 3, z]
                if h > sea and solid[blocks[x, h, z]] and not solid[col].any() and not (col == rules.block_id("water")).any():
                    best = (x, h, z)
                    break
            if best:
                break
        if best:
            break
    if best is None:  # all water: stand on the highest column
        x, z = np.unravel_index(int(np.argmax(height)), height.shape)
        best = (int(x), int(height[x, z]), int(z))
        y = best[1] + 1
        while y < H - 2 and blocks[best[0], y, best[2]] != 0:
            y += 1
        return (best[0] + 0.5, float(y), best[2] + 0.5)
    return (best[0] + 0.5, float(best[1] + 1), best[2] + 0.5)

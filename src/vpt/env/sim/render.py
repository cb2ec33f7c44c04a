"""First-person renderer of the embedded simulator: a Numba ray caster over the block grid, plus
the HUD.

A ray walks the grid voxel by voxel (Amanatides–Woo DDA) from the eye until it hits a visible
block, leaves the world, or passes the view distance. Rays are traced on a sparse grid first
and the pixels between are filled coarse to fine from their neighbours' hits where no block
could hide between them (see :func:`render_world`), so only a few percent of the pixels need
a full walk. Each block face is
textured with a procedural 16×16 texture generated from ``rules.yaml`` (so camera motion gives
optical flow), shaded by face direction (top 1.0, south/north 0.8, east/west 0.6, bottom 0.5,
Minecraft's values) and blended into the sky colour by linear distance fog. Water is
see-through and tinted by the distance travelled in it; ``cutout`` blocks (glass) are
see-through where their texture's alpha is 0; ``box`` blocks (torch, slab, fence, door) are
intersected on their box. The targeted block gets an outline and Minecraft's 10 crack stages.
The first-person hand (the held item's icon, or the bare arm) sits at the bottom right and swings
on attack, as in Minecraft: an inverse dynamics model can see a held attack in every frame.

The field of view is vertical (70° by default, VPT's setting); any resolution is rendered
directly. The 2D layers (HUD, hand, screens, cursor stack, cursor) are laid out on Minecraft's
640×360 window at GUI scale 1 (:data:`BASE`) and resampled to the frame as a 640×360 frame
resized for a model would show them (:func:`resample_layer`: bilinear at ``cv2.INTER_LINEAR``'s
sample positions, the agent's resize), so a policy trained on recordings sees its training
pictures when it plays at 128×128.
The HUD (crosshair, hotbar with item icons, counts and the selected slot, health and food) is
built only for states not seen recently (a small cache keyed by what it shows), and
composited per frame from a sparse pixel list.

While a GUI screen is open (:meth:`Renderer.render_screen`) the world behind it cannot change,
so the dimmed world and HUD are rendered once and reused; the screen panel (Minecraft's 176×166
layout of :mod:`.gui`: slots, icons with counts, the hovered slot, crafting arrow, furnace
progress and flame) is built per content change and pasted, and the stack on the cursor is
drawn at the cursor. A GUI frame costs a copy and a paste, far less than a world frame.
"""

from __future__ import annotations

import functools
import math
import zlib
from collections.abc import Callable
from typing import Any

import cv2
import numba as nb
import numpy as np

from vpt.data.frames import cursor_sprite
from vpt.env.sim.gui import GUI_SCALE, LAYOUTS, SCREEN_SIZE, WINDOW, ScreenView, check_gui_scale, screen_origin
from vpt.env.sim.player import dda_axis, ray_box
from vpt.env.sim.rules import Rules

SKY_TOP = np.array([120.0, 167.0, 255.0])
SKY_HORIZON = np.array([192.0, 216.0, 255.0])


# ------------------------------------------------------------------------------------------
# procedural textures and icons


def _rng(name: str) -> np.random.Generator:
    return np.random.default_rng(zlib.crc32(name.encode()))


def make_texture(spec: dict, key: str) -> np.ndarray:
    """A 16×16 RGBA uint8 texture from a rules texture spec (colour, noise, pattern, accent)."""
    rng = _rng(key)
    base = np.asarray(spec.get("color", [128, 128, 128]), float)
    accent = np.asarray(spec.get("accent", base * 0.6), float)
    amp = float(spec.get("noise", 0.1))
    pattern = spec.get("pattern", "noise")
    yy, xx = np.mgrid[0:16, 0:16]
    shade = 1.0 + amp * rng.uniform(-1, 1, (16, 16))
    rgb = base[None, None] * shade[..., None]
    alpha = np.full((16, 16), 255.0)

    def paint(mask: np.ndarray, color: np.ndarray, vary: float = 0.1) -> None:
        rgb[mask] = color * (1.0 + vary * rng.uniform(-1, 1, (int(mask.sum()), 1)))

    if pattern == "speckle":
        paint(rng.random((16, 16)) < 0.25, base * 0.6)
    elif pattern == "cobble":
        cells = rng.integers(0, 5, (4, 4))
        rgb *= (0.85 + 0.08 * cells[yy // 4, xx // 4])[..., None]
        paint(((yy + (xx // 4) * 2) % 4 == 0) | ((xx + (yy // 4)) % 4 == 0), base * 0.55, 0.05)
    elif pattern == "grass_side":
        edge = 3 + rng.integers(0, 3, 16)
        paint(yy < edge[None, :], accent, 0.12)
    elif pattern == "bark":
        stripes = rng.integers(0, 2, 16).astype(bool)
        paint(stripes[None, :] & (rng.random((16, 16)) < 0.7), base * 0.7, 0.1)
    elif pattern == "rings":
        r = np.hypot(yy - 7.5, xx - 7.5)
        paint((r.astype(int) % 3 == 0) & (r < 7), accent * 1.2, 0.05)
        paint(r >= 7, accent, 0.1)
    elif pattern == "leaves":
        paint(rng.random((16, 16)) < 0.3, base * 0.55, 0.15)
    elif pattern == "planks":
        paint(yy % 4 == 3, base * 0.65, 0.05)
        seam = (xx == (yy // 4 * 5 + 3) % 16) & (yy % 4 != 3)
        paint(seam, base * 0.7, 0.05)
    elif pattern == "grid":
        paint((xx % 8 == 0) | (yy % 8 == 0) | (xx == 15) | (yy == 15), accent, 0.05)
    elif pattern == "tools":
        paint(yy < 3, base * 1.2, 0.05)
        paint((yy > 5) & (yy < 11) & ((xx == 4) | (xx == 11)), accent, 0.05)
        paint((yy == 6) & (xx > 2) & (xx < 7), accent, 0.05)
    elif pattern == "furnace_front":
        paint((yy > 8) & (yy < 14) & (xx > 3) & (xx < 12), accent, 0.1)
        paint((yy > 2) & (yy < 6) & (xx > 3) & (xx < 12), accent * 1.5, 0.1)
    elif pattern == "ore":
        blobs = np.zeros((16, 16), bool)
        for _ in range(5):
            cy, cx = rng.integers(2, 14, 2)
            blobs |= (np.abs(yy - cy) + np.abs(xx - cx)) <= rng.integers(1, 3)
        paint(blobs, accent, 0.15)
    elif pattern == "glass":
        border = (xx == 0) | (yy == 0) | (xx == 15) | (yy == 15)
        streak = (xx - yy == 4) & (xx > 5) & (xx < 10) | (xx - yy == 6) & (xx > 8) & (xx < 12)
        alpha[:] = 0
        alpha[border | streak] = 255
    elif pattern == "torch":
        paint(yy < 5, accent, 0.1)
    elif pattern == "door":
        paint((xx == 0) | (xx == 15) | (yy == 0) | (yy == 15) | (yy == 7), accent, 0.05)
        paint((yy > 1) & (yy < 6) & (xx > 2) & (xx < 13) & ((xx - 3) % 5 < 4), accent * 0.6, 0.05)
    elif pattern != "noise":
        raise ValueError(f"texture {key!r}: unknown pattern {pattern!r}")
    out = np.zeros((16, 16, 4), np.uint8)
    out[..., :3] = np.clip(rgb, 0, 255)
    out[..., 3] = alpha
    return out


def block_textures(rules: Rules) -> tuple[np.ndarray, np.ndarray]:
    """All face textures and, per block, the texture index of its top, bottom and side faces."""
    textures = [np.zeros((16, 16, 4), np.uint8)]
    index = np.zeros((rules.num_blocks, 3), np.int32)
    for b, (name, spec) in enumerate(zip(rules.block_names, rules.block_texture)):
        if not spec:
            continue
        base = {k: v for k, v in spec.items() if k not in ("top", "bottom", "side")}
        for f, face in enumerate(("top", "bottom", "side")):
            sub = spec.get(face)
            textures.append(make_texture(sub if sub else base, f"{name}.{face if sub else 'all'}"))
            index[b, f] = len(textures) - 1
    return np.stack(textures), index


def crack_masks() -> np.ndarray:
    """Minecraft's 10 break stages as growing 16×16 crack masks (bool [10, 16, 16])."""
    rng = _rng("cracks")
    order = np.zeros((16, 16))
    # random walks from the centre: earlier-visited texels appear at earlier stages
    step = 1
    for _ in range(6):
        y, x = 8, 8
        for _ in range(24):
            if order[y, x] == 0:
                order[y, x] = step
                step += 1
            dy, dx = [(0, 1), (1, 0), (0, -1), (-1, 0), (1, 1), (-1, -1)][rng.integers(0, 6)]
            y, x = min(15, max(0, y + dy)), min(15, max(0, x + dx))
    masks = np.zeros((10, 16, 16), bool)
    for s in range(10):
        masks[s] = (order > 0) & (order <= step * (s + 1) / 10)
    return masks


_ICON_SHAPES = {
    # pixel art on a 16×16 grid: lists of (row, col) spans "r:c0-c1"
    "stick": ["12:3-4", "11:4-5", "10:5-6", "9:6-7", "8:7-8", "7:8-9", "6:9-10", "5:10-11", "4:11-12", "3:12-13"],
    "lump": ["4:6-9", "5:4-11", "6:3-12", "7:3-12", "8:3-12", "9:3-12", "10:4-11", "11:5-10", "12:6-9"],
    "ingot": ["6:5-13", "7:4-12", "8:3-11", "9:2-10", "10:2-9"],
    "gem": ["3:6-9", "4:5-10", "5:4-11", "6:3-12", "7:4-11", "8:5-10", "9:6-9", "10:7-8"],
}


def _spans(spans: list[str]) -> np.ndarray:
    m = np.zeros((16, 16), bool)
    for s in spans:
        r, cols = s.split(":")
        c0, c1 = cols.split("-")
        m[int(r), int(c0):int(c1) + 1] = True
    return m


def make_icon(spec: dict, rules: Rules, textures: np.ndarray, tex_index: np.ndarray) -> np.ndarray:
    """A 16×16 RGBA item icon: an isometric cube for block items, pixel art otherwise."""
    icon = np.zeros((16, 16, 4), np.uint8)
    shape = spec["shape"]
    if shape == "block":
        top, side = textures[tex_index[spec["block"], 0]], textures[tex_index[spec["block"], 2]]
        for r in range(16):
            for c in range(16):
                u, v = (c - 8) / 7.5, (r - 4) / 3.75  # isometric top: |u| + |v| <= 1
                if abs(u) + abs(v) <= 1.0 and r <= 8:
                    a, b = (u + v + 1) / 2, (v - u + 1) / 2
                    px = top[min(15, int(b * 16)), min(15, int(a * 16))]
                    icon[r, c] = (*px[:3], 255)
                elif r > 4 and 0 < c < 15 and r <= 15 - abs(c - 8) // 2 and r >= 4 + (8 - abs(c - 8)) // 2:
                    sh = 0.8 if c < 8 else 0.6
                    px = side[min(15, int((r - 4) * 16 / 12)), (c * 2) % 16]
                    icon[r, c] = (*(px[:3] * sh).astype(np.uint8), 255)
        return icon
    color = np.asarray(spec["color"], float)
    handle = np.array([120.0, 90.0, 50.0])
    if shape in _ICON_SHAPES:
        m = _spans(_ICON_SHAPES[shape])
        icon[m, :3] = color
        icon[m, 3] = 255
        edge = m & ~np.roll(m, 1, 0)
        icon[edge, :3] = np.clip(color * 1.3, 0, 255)
        return icon
    stick = _spans(_ICON_SHAPES["stick"])
    icon[stick, :3] = handle
    icon[stick, 3] = 255
    if shape == "pickaxe":
        head = _spans(["2:5-11", "3:4-5", "3:11-12", "4:3-4", "4:12-13", "5:3-3", "5:13-13", "3:6-10"])
    elif shape == "axe":
        head = _spans(["2:9-11", "3:8-12", "4:8-13", "5:9-13", "6:10-12"])
    elif shape == "shovel":
        head = _spans(["2:11-13", "3:10-14", "4:10-14", "5:11-13"])
    else:
        raise ValueError(f"unknown icon shape {shape!r}")
    icon[head, :3] = color
    icon[head, 3] = 255
    return icon


# ------------------------------------------------------------------------------------------
# HUD (laid out at GUI scale 1 on 640×360, Minecraft's positions; on 320×180 at GUI scale 2)

_DIGITS = {
    "0": "111101101101111", "1": "010110010010111", "2": "111001111100111", "3": "111001111001111",
    "4": "101101111001001", "5": "111100111001111", "6": "111100111101111", "7": "111001001001001",
    "8": "111101111101111", "9": "111101111001111",
}
_HEART = ["0110110", "1111111", "1111111", "0111110", "0011100", "0001000"]
_DRUMSTICK = ["0001110", "0011111", "0011111", "0111110", "1110000", "1100000"]


def _arm() -> np.ndarray:
    """16×16 RGBA pixel art of the bare right arm, reaching up-left from the corner."""
    r, c = np.mgrid[0:16, 0:16]
    band = (np.abs(r - c) <= 3) & (r + c >= 10)
    art = np.zeros((16, 16, 4), np.uint8)
    skin = np.array([214, 160, 122])
    art[band, :3] = np.where((r > c)[band, None], skin * 0.8, skin).astype(np.uint8)
    art[band, 3] = 255
    return art


_ARM = _arm()


def _blit(canvas: np.ndarray, img: np.ndarray, y: int, x: int) -> None:
    """Alpha-blend an RGBA image onto an RGBA canvas at (y, x)."""
    h, w = min(img.shape[0], canvas.shape[0] - y), min(img.shape[1], canvas.shape[1] - x)
    img = img[:h, :w]
    a = img[..., 3:4].astype(float) / 255.0
    region = canvas[y:y + h, x:x + w]
    region[..., :3] = (region[..., :3] * (1 - a) + img[..., :3] * a).astype(np.uint8)
    region[..., 3] = np.maximum(region[..., 3], img[..., 3])


def _bitmap(rows: list[str], color: tuple[int, int, int], outline: bool = True) -> np.ndarray:
    m = np.array([[c == "1" for c in r] for r in rows])
    h, w = m.shape
    img = np.zeros((h + 2, w + 2, 4), np.uint8)
    if outline:
        for dy in (-1, 0, 1):
            for dx in (-1, 0, 1):
                img[1 + dy:1 + dy + h, 1 + dx:1 + dx + w][m] = (20, 20, 20, 255)
    img[1:1 + h, 1:1 + w][m] = (*color, 255)
    return img


def draw_number(canvas: np.ndarray, n: int, right: int, bottom: int) -> None:
    """Draw ``n`` right-aligned ending at (right, bottom) with a shadow, like item counts."""
    x = right
    for ch in reversed(str(n)):
        glyph = np.array([c == "1" for c in _DIGITS[ch]]).reshape(5, 3)
        x -= 4
        y = bottom - 5
        for (dy, dx), col in (((1, 1), (62, 62, 62)), ((0, 0), (255, 255, 255))):
            sub = canvas[y + dy:y + dy + 5, x + dx:x + dx + 3]
            sub[glyph] = (*col, 255)


def build_hud(items: np.ndarray, counts: np.ndarray, selected: int, health: float, food: int,
              icons: np.ndarray, size: tuple[int, int] = (640, 360)) -> np.ndarray:
    """The HUD in GUI pixels as RGBA: crosshair, hotbar (9 icons, counts, selection), hearts,
    food. ``size`` is the window in GUI pixels: 640×360 at GUI scale 1, 320×180 at scale 2."""
    width, height = size
    hud = np.zeros((height, width, 4), np.uint8)
    # crosshair (15×15 at the centre, a 1-px plus)
    cy, cx = height // 2, width // 2
    hud[cy - 7:cy + 8, cx, :] = (230, 230, 230, 200)
    hud[cy, cx - 7:cx + 8, :] = (230, 230, 230, 200)
    # hotbar: 182×22 at the bottom centre
    x0, y0 = width // 2 - 91, height - 22
    bar = np.zeros((22, 182, 4), np.uint8)
    bar[...] = (20, 20, 20, 150)
    bar[0, :], bar[-1, :], bar[:, 0], bar[:, -1] = (0, 0, 0, 230), (0, 0, 0, 230), (0, 0, 0, 230), (0, 0, 0, 230)
    for i in range(9):
        bar[2:20, 1 + 20 * i:3 + 20 * i] = (90, 90, 90, 200)
    _blit(hud, bar, y0, x0)
    sel = np.zeros((24, 24, 4), np.uint8)
    sel[:2, :], sel[-2:, :], sel[:, :2], sel[:, -2:] = (255, 255, 255, 255), (255, 255, 255, 255), (255, 255, 255, 255), (255, 255, 255, 255)
    _blit(hud, sel, y0 - 1, x0 - 1 + 20 * selected)
    for i in range(9):
        if items[i] >= 0:
            _blit(hud, icons[items[i]], y0 + 3, x0 + 3 + 20 * i)
            if counts[i] > 1:
                draw_number(hud, int(counts[i]), x0 + 3 + 20 * i + 17, y0 + 3 + 17)
    # health (left) and food (right), 10 icons each, 8 px apart, 39 px above the bottom
    heart, half_heart = _bitmap(_HEART, (220, 20, 20)), _bitmap(_HEART, (220, 20, 20))
    half_heart[:, 5:, :3] = (60, 10, 10)
    empty_heart = _bitmap(_HEART, (60, 10, 10))
    meat, half_meat = _bitmap(_DRUMSTICK, (190, 120, 60)), _bitmap(_DRUMSTICK, (190, 120, 60))
    half_meat[:, :4, :3] = (60, 40, 20)
    empty_meat = _bitmap(_DRUMSTICK, (60, 40, 20))
    hp = int(math.ceil(health))
    for i in range(10):
        img = heart if hp >= 2 * i + 2 else (half_heart if hp == 2 * i + 1 else empty_heart)
        _blit(hud, img, height - 39, x0 + 8 * i)
        img = meat if food >= 2 * i + 2 else (half_meat if food == 2 * i + 1 else empty_meat)
        _blit(hud, img, height - 39, x0 + 182 - 9 - 8 * i)
    return hud


_ARROW = ["000000000000000100000000", "000000000000000110000000", "111111111111111111000000",
          "111111111111111111100000", "111111111111111111110000", "111111111111111111100000",
          "111111111111111111000000", "000000000000000110000000", "000000000000000100000000"]
_FLAME = ["00000010000000", "00000110000000", "00001111000000", "00011111100000", "00111111110000",
          "00111111111000", "01111111111100", "01111111111100", "11111111111110", "11111111111110",
          "11111111111110", "01111111111100", "00111111111000", "00011111110000"]


def _mask(rows: list[str]) -> np.ndarray:
    return np.array([[c == "1" for c in r] for r in rows])


def build_screen(view: ScreenView, icons: np.ndarray) -> np.ndarray:
    """A GUI screen at GUI scale 1 as opaque RGBA [166, 176, 4]: Minecraft's grey panel, the
    slots of ``LAYOUTS[view.screen]`` with icons and counts, the hovered slot's highlight, the
    crafting arrow or the furnace's progress arrow and flame."""
    w, h = SCREEN_SIZE
    panel = np.zeros((h, w, 4), np.uint8)
    panel[...] = (198, 198, 198, 255)
    panel[0, :, :3] = panel[:, 0, :3] = 255
    panel[-1, :, :3] = panel[:, -1, :3] = 85
    slots = LAYOUTS[view.screen]
    if view.screen == "inventory":
        panel[8:78, 26:76, :3] = 0  # the player's portrait
    for i, s in enumerate(slots):
        cell = panel[s.y - 1:s.y + 17, s.x - 1:s.x + 17]
        big = s.kind in ("result", "output")
        if big:  # Minecraft's 26×26 result frame
            panel[s.y - 5:s.y + 21, s.x - 5:s.x + 21, :3] = (139, 139, 139)
            panel[s.y - 5, s.x - 5:s.x + 21, :3] = panel[s.y - 5:s.y + 21, s.x - 5, :3] = 55
            panel[s.y + 20, s.x - 5:s.x + 21, :3] = panel[s.y - 5:s.y + 21, s.x + 20, :3] = 255
        else:
            cell[..., :3] = (139, 139, 139)
            cell[0, :, :3] = cell[:, 0, :3] = 55
            cell[-1, :, :3] = cell[:, -1, :3] = 255
        if view.items[i] >= 0:
            _blit(panel, icons[view.items[i]], s.y, s.x)
            if view.counts[i] > 1:
                draw_number(panel, int(view.counts[i]), s.x + 17, s.y + 17)
        if i == view.hovered:
            icon = panel[s.y:s.y + 16, s.x:s.x + 16, :3]
            icon[...] = (icon.astype(np.uint16) + 255) // 2
    arrow = _mask(_ARROW)
    if view.screen == "furnace":
        y, x = 35, 80
        panel[y:y + 9, x:x + 24, :3][arrow] = (139, 139, 139)
        done = arrow.copy()
        done[:, view.arrow:] = False
        panel[y:y + 9, x:x + 24, :3][done] = (255, 255, 255)
        flame = _mask(_FLAME)
        panel[36:50, 57:71, :3][flame] = (139, 139, 139)
        lit = flame.copy()
        lit[:14 - view.flame] = False
        panel[36:50, 57:71, :3][lit] = (255, 160, 20)
    else:
        y, x = (31, 134) if view.screen == "inventory" else (39, 90)
        panel[y:y + 9, x:x + 18, :3][arrow[:, 6:]] = (139, 139, 139)
    return panel


#: Minecraft's window in the pixels the 2D layers are laid out in (GUI scale 1): 640×360, the
#: size of MineRL's frames and of contractor recordings.
BASE = (WINDOW[0] // GUI_SCALE, WINDOW[1] // GUI_SCALE)


@functools.lru_cache(maxsize=4096)  # layers come back to the same places (the cursor at rest, the hand)
def _axis_weights(start: int, length: int, base: int, size: int) -> tuple[int, np.ndarray | None, np.ndarray | None]:
    """How frame pixels along one axis show base pixels ``[start, start + length)`` of a layer.

    Returns ``(first, weights, index)`` for the frame pixels ``first, first + 1, ...`` that see
    the layer: at the base size ``(start, None, None)`` (one to one); smaller than the base,
    ``weights`` (n, length): bilinear at ``cv2.INTER_LINEAR``'s sample positions
    ``(i + 0.5) * base / size - 0.5`` (clamped at the window's edges), which is how the agent
    resizes a 640×360 frame; larger, ``index`` (n,): nearest, ``floor(i * base / size)`` as
    ``cv2.INTER_NEAREST``, so a larger frame shows the GUI's pixels enlarged, as Minecraft does.
    The arrays are cached: do not change them.
    """
    if size == base:
        return start, None, None
    i = np.arange(size)
    if size > base:
        src = np.floor(i * (base / size)).astype(np.int64) - start
        keep = np.nonzero((src >= 0) & (src < length))[0]
        return (int(keep[0]) if len(keep) else 0), None, src[keep]
    pos = np.clip((i + 0.5) * (base / size) - 0.5, 0, base - 1)
    lo = np.minimum(np.floor(pos).astype(np.int64), base - 2)
    t = pos - lo
    w = np.zeros((size, length + 2))  # columns: base pixel start - 1 ... start + length
    rows = np.arange(size)
    for off, wt in ((0, 1 - t), (1, t)):
        col = np.clip(lo + off - start + 1, 0, length + 1)
        np.add.at(w, (rows, col), wt)
    w = w[:, 1:-1]  # weights on pixels outside the layer (transparent) are dropped
    keep = np.nonzero(w.any(axis=1))[0]
    if len(keep) == 0:
        return 0, w[:0], None
    return int(keep[0]), w[keep[0]:keep[-1] + 1], None


def resample_layer(rgba: np.ndarray, x: int, y: int, width: int, height: int, dtype=np.float32
                   ) -> tuple[int, int, np.ndarray, np.ndarray]:
    """An RGBA uint8 layer with its top-left corner at (x, y) of the 640×360 window (:data:`BASE`),
    as it shows in a ``width`` × ``height`` frame (see :func:`_axis_weights`).

    Returns ``(fx, fy, rgb, alpha)``: the frame position of the box it covers (which may reach
    past the frame's edges: clip when pasting), its colour and
    alpha in [0, 1] as ``dtype`` arrays (h, w, 3) and (h, w, 1), ready for an alpha blend. The
    colour is resampled premultiplied, as in a frame resized after the layer was drawn on it.
    """
    fx, wx, ix = _axis_weights(x, rgba.shape[1], BASE[0], width)
    fy, wy, iy = _axis_weights(y, rgba.shape[0], BASE[1], height)
    blend = wx is not None or wy is not None  # otherwise pixels are copied: the layer's own colours
    a = rgba[..., 3:].astype(dtype) / 255.0
    rgb = rgba[..., :3].astype(dtype)
    img = np.concatenate([rgb * a if blend else rgb, a], axis=2)  # premultiplied where blended
    if iy is not None:
        img = img[iy]
    elif wy is not None:
        img = np.tensordot(wy.astype(dtype), img, axes=(1, 0))
    if ix is not None:
        img = img[:, ix]
    elif wx is not None:
        img = np.tensordot(img, wx.astype(dtype), axes=(1, 1)).transpose(0, 2, 1)
    rgb, alpha = img[..., :3], img[..., 3:]
    if blend:  # + 0.5: blends truncate to uint8, and a resized frame is rounded
        rgb = rgb / np.maximum(alpha, 1e-6) + 0.5
    return fx, fy, np.ascontiguousarray(rgb), np.ascontiguousarray(alpha)


def _bands(rgba: np.ndarray) -> list[tuple[int, int, np.ndarray]]:
    """The visible parts of a mostly transparent layer as ``(x, y, crop)``: one per run of rows
    with a visible pixel, cropped to its columns (the HUD: the crosshair and the bottom bar)."""
    rows = np.nonzero(rgba[..., 3].any(axis=1))[0]
    out = []
    for run in np.split(rows, np.nonzero(np.diff(rows) > 1)[0] + 1) if len(rows) else []:
        y0, y1 = int(run[0]), int(run[-1]) + 1
        cols = np.nonzero(rgba[y0:y1, :, 3].any(axis=0))[0]
        x0, x1 = int(cols[0]), int(cols[-1]) + 1
        out.append((x0, y0, rgba[y0:y1, x0:x1]))
    return out


def _remember(cache: dict, key: object, make: Callable[[], Any]) -> Any:
    """``cache[key]``, made by ``make()`` when missing; the cache keeps its 64 newest entries."""
    value = cache.get(key)
    if value is None:
        if len(cache) >= 64:
            del cache[next(iter(cache))]
        value = cache[key] = make()
    return value


def _enlarge(rgba: np.ndarray, k: int) -> np.ndarray:
    """GUI pixels at GUI scale ``k`` in 640×360 pixels (each one a k × k square)."""
    return rgba if k == 1 else np.repeat(np.repeat(rgba, k, axis=0), k, axis=1)


def hud_pixels(hud: np.ndarray, width: int, height: int, gui_scale: int = 1) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An RGBA HUD (:func:`build_hud`, in GUI pixels at ``gui_scale``) as it shows in the frame,
    listed as its visible pixels: (flat pixel index, alpha in [0, 1], RGB) for the per-frame
    composite."""
    idx, alphas, rgbs = [], [], []
    for x, y, crop in _bands(_enlarge(hud, gui_scale)):
        fx, fy, rgb, a = resample_layer(crop, x, y, width, height)
        yy, xx = np.nonzero(a[..., 0] > 0.02)
        inside = (yy + fy < height) & (xx + fx < width) & (yy + fy >= 0) & (xx + fx >= 0)
        yy, xx = yy[inside], xx[inside]
        idx.append((yy + fy) * width + xx + fx)
        alphas.append(a[yy, xx, 0])
        rgbs.append(rgb[yy, xx])
    if not idx:
        return np.zeros(0, np.int64), np.zeros(0, np.float32), np.zeros((0, 3), np.float32)
    return (np.concatenate(idx).astype(np.int64), np.concatenate(alphas).astype(np.float32),
            np.concatenate(rgbs).astype(np.float32))


@nb.njit(cache=True)
def composite(frame: np.ndarray, idx: np.ndarray, alpha: np.ndarray, rgb: np.ndarray) -> None:
    """Blend the HUD pixel list into the frame (uint8 [H, W, 3]) in place."""
    flat = frame.reshape(-1, 3)
    for k in range(idx.shape[0]):
        i = idx[k]
        a = alpha[k]
        for c in range(3):
            flat[i, c] = np.uint8(flat[i, c] * (1.0 - a) + rgb[k, c] * a)


# ------------------------------------------------------------------------------------------
# the ray caster


def ray_directions(width: int, height: int, fov_deg: float, aspect: float | None = None) -> np.ndarray:
    """Camera-space ray directions (right, up, forward) for each pixel, for a vertical FOV.
    ``aspect`` is the width/height of the view the frame shows (default: the frame's own);
    a frame of another shape shows that view resampled, as a resized screenshot would."""
    t = math.tan(math.radians(fov_deg) / 2)
    xs = ((np.arange(width) + 0.5) / width * 2 - 1) * t * (width / height if aspect is None else aspect)
    ys = (1 - (np.arange(height) + 0.5) / height * 2) * t
    d = np.zeros((height, width, 3))
    d[..., 0] = xs[None, :]
    d[..., 1] = ys[:, None]
    d[..., 2] = 1.0
    return d / np.linalg.norm(d, axis=-1, keepdims=True)


@nb.njit(cache=True, fastmath=True, inline="always")
def _brick_index(nby, nbz, ix, iy, iz):
    """Index of cell (ix, iy, iz) in the 4×4×4-brick order of ``World.cells``."""
    return (((ix >> 2) * nby + (iy >> 2)) * nbz + (iz >> 2)) * 64 + ((ix & 3) << 4) + ((iy & 3) << 2) + (iz & 3)


@nb.njit(cache=True, fastmath=True, inline="always")
def _texel(ax, u, v):
    """Texture (row, column) of face coordinates (u, v) on a face across axis ``ax``."""
    if ax == 1:
        row = max(0, min(15, int(v * 16.0)))
    else:
        row = max(0, min(15, int((1.0 - v) * 16.0)))
    return row, max(0, min(15, int(u * 16.0)))


@nb.njit(cache=True, fastmath=True)
def render_world(frame, cells, shape, top, render_kind, box, textures, tex_index, dirs, eye, basis,
                 view_dist, target, crack, cracks, sky_top, sky_horizon, info, tinfo, focal):
    """Ray-cast the world into ``frame`` (uint8 [H, W, 3]).

    ``cells`` is the world's brick-ordered cell codes (``World.cells``: the id of a visible
    block, 0 for an empty cell) of a grid of ``shape``; ``basis`` = rows right, up, forward
    (world); ``target`` the targeted voxel (or -1s) and ``crack`` its break stage (-1 none);
    ``info`` (int32 [H, W, 3]) and ``tinfo`` (float64 [H, W]) are scratch arrays; ``focal``
    is the focal length in pixels (``H / (2 tan(fov / 2))``).

    Every 8th pixel of every 8th row is traced; the others are filled coarse to fine (spacing
    4, 2, then 1) from their already-rendered neighbours: when the neighbours all saw the sky it
    gets the sky; when they all hit the same opaque face plane, its ray is intersected with
    that plane directly and kept if the cell there is an opaque cube with an empty cell in
    front of it; otherwise it is traced. Reuse is allowed only where no full block could hide
    between the neighbours: a block nearer than ``focal / spacing`` covers at least one of
    them, and a ray that saw the sky met nothing before it left the world (above the highest
    block, or past the border) or reached the view distance, whichever came first.
    (One function on purpose: array-taking helpers cost reference counting per pixel.)
    """
    Hf, Wf = frame.shape[0], frame.shape[1]
    W, H, D = shape[0], shape[1], shape[2]
    nby, nbz = (H + 3) // 4, (D + 3) // 4
    ox, oy, oz = eye[0], eye[1], eye[2]
    ex0, ey0, ez0 = int(math.floor(ox)), int(math.floor(oy)), int(math.floor(oz))
    tgx, tgy, tgz = target[0], target[1], target[2]
    fog_start = view_dist * 0.6
    inv_fog = 1.0 / (view_dist - fog_start)
    # passes: first every 8th pixel of every 8th row is traced; then, for half-spacings
    # h = 4, 2, 1, the pixels half-way between rendered ones, from their rendered neighbours
    # at distance h: horizontal (sub 1), vertical (sub 2), diagonal (sub 3)
    for pas in range(10):
        if pas == 0:
            h, sub, step, ry, rx = 4, 0, 8, 0, 0
        else:
            h = 4 >> ((pas - 1) // 3)
            sub = (pas - 1) % 3 + 1
            step = 2 * h
            ry = 0 if sub == 1 else h
            rx = 0 if sub == 2 else h
        # neighbours 2h apart can only both miss a full block nearer than this (it spans >= 2h px)
        reach = focal / (2 * h)
        lasty, lastx = (Hf - 1) // (2 * h) * (2 * h), (Wf - 1) // (2 * h) * (2 * h)
        for py in range(ry, Hf, step):
            for px in range(rx, Wf, step):
                cx, cy, cz = dirs[py, px, 0], dirs[py, px, 1], dirs[py, px, 2]
                dx = cx * basis[0, 0] + cy * basis[1, 0] + cz * basis[2, 0]
                dy = cx * basis[0, 1] + cy * basis[1, 1] + cz * basis[2, 1]
                dz = cx * basis[0, 2] + cy * basis[1, 2] + cz * basis[2, 2]
                # what the ray hit: kind 0 = nothing (sky/fog), 1 = an opaque cube face that
                # neighbours may reuse (axis, plane), 2 = a hit involving water, a cutout or a box
                kind = -1
                t = view_dist
                blk = 0
                ax = 0
                plane = 0
                u = v = 0.0
                ix = iy = iz = 0
                water_d = 0.0
                if sub > 0:
                    # the 2 (sub 1, 2) or 4 (sub 3) rendered neighbours; one past the image edge
                    # is replaced by the last rendered row/column (a duplicate of another)
                    ya, yb, xa, xb = py, py, px, px
                    if sub != 1:
                        ya, yb = py - h, min(py + h, lasty)
                    if sub != 2:
                        xa, xb = px - h, min(px + h, lastx)
                    k0, a0, p0 = info[ya, xa, 0], info[ya, xa, 1], info[ya, xa, 2]
                    tmax = max(max(tinfo[ya, xa], tinfo[yb, xb]), max(tinfo[ya, xb], tinfo[yb, xa]))
                    same = (info[yb, xb, 0] == k0 and info[yb, xb, 1] == a0 and info[yb, xb, 2] == p0
                            and info[ya, xb, 0] == k0 and info[ya, xb, 1] == a0 and info[ya, xb, 2] == p0
                            and info[yb, xa, 0] == k0 and info[yb, xa, 1] == a0 and info[yb, xa, 2] == p0)
                    if same and tmax <= reach:
                        if k0 == 0:
                            kind = 0
                            t = tmax
                        elif k0 == 1:
                            dd = dx if a0 == 0 else (dy if a0 == 1 else dz)
                            oo = ox if a0 == 0 else (oy if a0 == 1 else oz)
                            if dd != 0:
                                th = (p0 - oo) / dd
                                if th > 0:
                                    hx, hy, hz = ox + dx * th, oy + dy * th, oz + dz * th
                                    ix, iy, iz = int(math.floor(hx)), int(math.floor(hy)), int(math.floor(hz))
                                    fx, fy, fz = ix, iy, iz
                                    if a0 == 0:
                                        ix = p0 if dx > 0 else p0 - 1
                                        fx = ix - (1 if dx > 0 else -1)
                                        u, v = hz - iz, hy - iy
                                    elif a0 == 1:
                                        iy = p0 if dy > 0 else p0 - 1
                                        fy = iy - (1 if dy > 0 else -1)
                                        u, v = hx - ix, hz - iz
                                    else:
                                        iz = p0 if dz > 0 else p0 - 1
                                        fz = iz - (1 if dz > 0 else -1)
                                        u, v = hx - ix, hy - iy
                                    if (0 <= ix < W and 0 <= iz < D and 0 <= iy < top and 0 <= fx < W
                                            and 0 <= fz < D and 0 <= fy < H):
                                        b0 = cells[_brick_index(nby, nbz, ix, iy, iz)]
                                        front = cells[_brick_index(nby, nbz, fx, fy, fz)] if fy < top else 0
                                        if render_kind[b0] == 1 and front == 0:
                                            kind, blk, ax, plane, t = 1, b0, a0, p0, th
                if kind < 0:
                    # trace: DDA through the grid
                    ix, iy, iz = ex0, ey0, ez0
                    sx, tdx, tx = dda_axis(ox, dx, ix)
                    sy, tdy, ty = dda_axis(oy, dy, iy)
                    sz, tdz, tz = dda_axis(oz, dz, iz)
                    tt = 0.0
                    axis = 1
                    water_t0 = -1.0
                    complex_ = False
                    kind = 0
                    while tt < view_dist:
                        if ix < 0 or iz < 0 or ix >= W or iz >= D or iy < 0:
                            break
                        if iy >= top:
                            if sy > 0:
                                break
                        else:
                            c = cells[_brick_index(nby, nbz, ix, iy, iz)]
                            if c != 0:
                                rk = render_kind[c]
                                if rk == 3:
                                    complex_ = True
                                    if water_t0 < 0:
                                        water_t0 = tt
                                else:
                                    if water_t0 >= 0:
                                        water_d += tt - water_t0
                                        water_t0 = -1.0
                                    th = tt
                                    hax = axis
                                    ok = True
                                    if rk != 1:
                                        complex_ = True
                                    if rk == 4:
                                        t0, t1, hax = ray_box(ox, oy, oz, dx, dy, dz, ix + box[c, 0], iy + box[c, 1],
                                                              iz + box[c, 2], ix + box[c, 3], iy + box[c, 4],
                                                              iz + box[c, 5])
                                        ok = t0 <= t1 and t1 >= 0
                                        th = max(t0, 0.0)
                                    if ok:
                                        hx, hy, hz = ox + dx * th, oy + dy * th, oz + dz * th
                                        if hax == 0:
                                            uu, vv = hz - iz, hy - iy
                                        elif hax == 1:
                                            uu, vv = hx - ix, hz - iz
                                        else:
                                            uu, vv = hx - ix, hy - iy
                                        if rk == 2:  # cutout: see-through where the texel is clear
                                            row, col = _texel(hax, uu, vv)
                                            face = 2 if hax != 1 else (0 if dy < 0 else 1)
                                            ok = textures[tex_index[c, face], row, col, 3] != 0
                                        if ok:
                                            blk, ax, u, v, t = c, hax, uu, vv, th
                                            if hax == 0:
                                                plane = ix if dx > 0 else ix + 1
                                            elif hax == 1:
                                                plane = iy if dy > 0 else iy + 1
                                            else:
                                                plane = iz if dz > 0 else iz + 1
                                            kind = 2 if complex_ else 1
                                            break
                            elif water_t0 >= 0:
                                water_d += tt - water_t0
                                water_t0 = -1.0
                        if tx < ty and tx < tz:
                            tt = tx
                            axis = 0
                            ix += sx
                            tx += tdx
                        elif ty < tz:
                            tt = ty
                            axis = 1
                            iy += sy
                            ty += tdy
                        else:
                            tt = tz
                            axis = 2
                            iz += sz
                            tz += tdz
                    if kind == 0:
                        t = min(tt, view_dist)  # where the ray left the world: nothing beyond
                    if kind == 0 and water_t0 >= 0:
                        water_d += min(tt, view_dist) - water_t0
                    if kind == 0 and water_d > 0:
                        kind = 2
                info[py, px, 0] = kind
                info[py, px, 1] = ax if kind == 1 else 0
                info[py, px, 2] = plane if kind == 1 else 0
                tinfo[py, px] = t
                # colour
                gsky = min(1.0, max(0.0, dy * 2.0))
                sr = sky_horizon[0] + gsky * (sky_top[0] - sky_horizon[0])
                sg = sky_horizon[1] + gsky * (sky_top[1] - sky_horizon[1])
                sb = sky_horizon[2] + gsky * (sky_top[2] - sky_horizon[2])
                if blk == 0:
                    if water_d > 0:  # under water, looking at nothing: the water's colour
                        r, g, b = 40.0, 70.0, 190.0
                    else:
                        r, g, b = sr, sg, sb
                else:
                    row, col = _texel(ax, u, v)
                    if ax == 0:
                        shade, face = 0.6, 2
                    elif ax == 1:
                        shade, face = (1.0, 0) if dy < 0 else (0.5, 1)
                    else:
                        shade, face = 0.8, 2
                    tex = tex_index[blk, face]
                    r = textures[tex, row, col, 0] * shade
                    g = textures[tex, row, col, 1] * shade
                    b = textures[tex, row, col, 2] * shade
                    if ix == tgx and iy == tgy and iz == tgz:
                        if crack >= 0 and cracks[crack, row, col]:
                            r *= 0.35
                            g *= 0.35
                            b *= 0.35
                        if min(min(u, 1.0 - u), min(v, 1.0 - v)) < 0.015:
                            r, g, b = 20.0, 20.0, 20.0
                    if t > fog_start:
                        f = min(1.0, (t - fog_start) * inv_fog)
                        r += f * (sr - r)
                        g += f * (sg - g)
                        b += f * (sb - b)
                    if water_d > 0:
                        a = min(0.85, 0.35 + 0.08 * water_d)
                        r += a * (40.0 - r)
                        g += a * (70.0 - g)
                        b += a * (190.0 - b)
                frame[py, px, 0] = np.uint8(r)
                frame[py, px, 1] = np.uint8(g)
                frame[py, px, 2] = np.uint8(b)


def camera_basis(yaw_deg: float, pitch_deg: float) -> np.ndarray:
    """Rows right, up, forward of the camera in world coordinates (Minecraft yaw/pitch)."""
    yaw, pitch = math.radians(yaw_deg), math.radians(pitch_deg)
    sy, cy, sp, cp = math.sin(yaw), math.cos(yaw), math.sin(pitch), math.cos(pitch)
    fx, fy, fz = -sy * cp, -sp, cy * cp
    # right = (-cy, 0, -sy); up = right x forward
    return np.array([[-cy, 0.0, -sy], [sy * fy, -sy * fx + cy * fz, -cy * fy], [fx, fy, fz]])


class Renderer:
    """Renders frames of one resolution: the world view plus the HUD.

    Every frame shows Minecraft's 16:9 window (:data:`~vpt.env.sim.gui.WINDOW`) resampled to
    ``width`` × ``height``, like a 640×360 MineRL frame resized: at 128×128 the world, the hand,
    the HUD and the screens are squeezed horizontally exactly as in recordings made at 640×360
    and resized for a model, so a policy trained on recordings sees the same picture when it
    plays at 128×128.

    Args:
        rules: the game rules (textures and icons come from them).
        width, height: frame size in pixels.
        fov: vertical field of view in degrees.
        view_distance: blocks to the end of the fog (nothing is drawn beyond).
        cursor_size: size in 640×360 pixels of the cursor drawn on screens (0: none); the
            sprite is the data loader's (:func:`vpt.data.draw_cursor`).
        gui_scale: GUI scale of the HUD and the screens (1 = Minecraft's at 640×360; 2 doubles
            them, see :class:`~vpt.env.sim.world.WorldOptions`). The cursor keeps its size.
    """

    def __init__(self, rules: Rules, width: int, height: int, fov: float = 70.0, view_distance: float = 48.0,
                 cursor_size: int = 16, gui_scale: int = 1) -> None:
        self.rules = rules
        self.gui_scale = check_gui_scale(gui_scale)
        self.width, self.height = width, height
        self.view_distance = float(view_distance)
        self.textures, self.tex_index = block_textures(rules)
        self.cracks = crack_masks()
        self.icons = np.stack([make_icon(spec, rules, self.textures, self.tex_index) for spec in rules.item_icon])
        aspect = WINDOW[0] / WINDOW[1]
        self.dirs = ray_directions(width, height, fov, aspect)
        self.frame = np.zeros((height, width, 3), np.uint8)
        self._info = np.zeros((height, width, 3), np.int32)
        self._tinfo = np.zeros((height, width))
        t = math.tan(math.radians(fov) / 2)
        self.focal = min(height / (2 * t), width / (2 * t * aspect))  # pixels per unit, the coarser axis
        self._huds: dict[tuple, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._background: np.ndarray | None = None  # the dimmed world + HUD behind a screen
        self._background_key: tuple | None = None
        self._panels: dict[tuple, tuple] = {}  # resampled screen panels by content
        self._held: dict[tuple[int, int], np.ndarray] = {}  # cursor stacks (RGBA, 640x360 pixels)
        self._hands: dict[tuple, tuple] = {}  # resampled hands by item and position
        self._cursor: np.ndarray | None = None  # RGBA in 640x360 pixels
        if cursor_size:
            rgb, alpha = cursor_sprite()
            rgba = np.concatenate([rgb, np.round(alpha * 255).astype(np.uint8)], axis=2)
            self._cursor = cv2.resize(rgba, (cursor_size, cursor_size), interpolation=cv2.INTER_NEAREST)

    def render(self, cells: np.ndarray, shape: tuple[int, int, int], top: int, eye: tuple[float, float, float], yaw: float, pitch: float,
               target: tuple[int, int, int] | None, break_progress: float, hotbar_items: np.ndarray,
               hotbar_counts: np.ndarray, selected: int, health: float, food: int, swing: float = 0.0) -> np.ndarray:
        """Render one frame; returns the internal buffer (copy it to keep it). ``swing`` is the
        arm swing phase in [0, 1] (0 at rest) of the first-person hand."""
        self._background_key = None  # the world may have changed
        tgt = np.array(target if target is not None else (-1, -1, -1), np.int64)
        crack = int(break_progress * 10) if break_progress > 0 else -1
        render_world(self.frame, cells, np.array(shape), top, self.rules.render_kind, self.rules.box, self.textures,
                     self.tex_index, self.dirs, np.array(eye), camera_basis(yaw, pitch), self.view_distance,
                     tgt, min(crack, 9), self.cracks, SKY_TOP, SKY_HORIZON, self._info, self._tinfo, self.focal)
        key = (hotbar_items.tobytes(), hotbar_counts.tobytes(), selected, math.ceil(health), food)
        hud = _remember(self._huds, key, lambda: hud_pixels(
            build_hud(hotbar_items, hotbar_counts, selected, health, food, self.icons,
                      (BASE[0] // self.gui_scale, BASE[1] // self.gui_scale)),
            self.width, self.height, self.gui_scale))
        self._draw_hand(int(hotbar_items[selected]), swing)
        composite(self.frame, *hud)
        return self.frame

    def _draw_hand(self, item: int, swing: float) -> None:
        """The first-person hand at the bottom right: the held item's icon, or the bare arm.

        Like Minecraft's, it swings up and to the left on an attack (or a use at a block) and
        back over :data:`~vpt.env.sim.player.SWING_TICKS` ticks, which makes a held attack
        visible in every frame. The curve approximates Minecraft's (offsets in
        ``sin(pi * sqrt(s))`` and ``sin(pi * s)``); it is not a pixel match."""
        size = round(0.42 * BASE[1])  # a square of 42% of the window's height
        lift = math.sin(math.pi * math.sqrt(swing))
        x = round(BASE[0] - 0.95 * size - 0.3 * BASE[1] * lift)
        y = round(BASE[1] - 0.8 * size - 0.12 * BASE[1] * lift + 0.15 * BASE[1] * math.sin(math.pi * swing))

        def layer():
            art = self.icons[item] if item >= 0 else _ARM
            return self._layer(cv2.resize(art, (size, size), interpolation=cv2.INTER_NEAREST), x, y)

        self._paste(*_remember(self._hands, (item, x, y), layer))

    def _layer(self, rgba: np.ndarray, x: int, y: int, dtype=np.float32) -> tuple[np.ndarray, np.ndarray, int, int]:
        """An RGBA layer placed at (x, y) of the 640x360 window, resampled to this frame
        (:func:`resample_layer`), as :meth:`_paste`'s arguments."""
        fx, fy, rgb, a = resample_layer(rgba, x, y, self.width, self.height, dtype)
        return rgb, a, fx, fy

    def _paste(self, rgb: np.ndarray, a: np.ndarray, x: int, y: int) -> None:
        """Alpha-blend a sprite with its top-left corner at (x, y), clipped to the frame."""
        xa, ya = max(0, x), max(0, y)
        xb, yb = min(self.width, x + rgb.shape[1]), min(self.height, y + rgb.shape[0])
        if xa >= xb or ya >= yb:
            return
        region = self.frame[ya:yb, xa:xb]
        src, al = rgb[ya - y:yb - y, xa - x:xb - x], a[ya - y:yb - y, xa - x:xb - x]
        region[...] = (region * (1 - al) + src * al).astype(np.uint8)

    def render_screen(self, view: ScreenView, cursor: tuple[float, float], cells: np.ndarray,
                      shape: tuple[int, int, int], top: int, eye: tuple[float, float, float], yaw: float,
                      pitch: float, target: tuple[int, int, int] | None, break_progress: float,
                      hotbar_items: np.ndarray, hotbar_counts: np.ndarray, selected: int, health: float,
                      food: int, swing: float = 0.0) -> np.ndarray:
        """Render a frame with a GUI screen open: the dimmed world and HUD (the arguments after
        ``cursor`` are :meth:`render`'s; re-rendered only when they change, since nothing else
        changes the world while a screen is open), the screen of ``view``, and the cursor
        stack centred at ``cursor`` (window pixels) and the cursor. Returns the internal buffer."""
        key = (eye, yaw, pitch, target, break_progress, hotbar_items.tobytes(), hotbar_counts.tobytes(), selected,
               math.ceil(health), food, swing)
        if key != self._background_key:
            self.render(cells, shape, top, eye, yaw, pitch, target, break_progress, hotbar_items, hotbar_counts,
                        selected, health, food, swing)
            np.right_shift(self.frame, 2, out=self.frame)
            self.frame += 12
            self._background, self._background_key = self.frame.copy(), key
        else:
            self.frame[...] = self._background
        pkey = (view.screen, view.items.tobytes(), view.counts.tobytes(), view.hovered, view.arrow, view.flame)
        k = self.gui_scale
        (ox, oy) = screen_origin(k)
        self._paste(*_remember(self._panels, pkey, lambda: self._layer(_enlarge(build_screen(view, self.icons), k), ox * k, oy * k)))
        if view.held_count > 0:
            self._draw_held(view.held_item, view.held_count, cursor)
        if self._cursor is not None:  # top-left corner at the cursor, as the loader draws it
            # float64, as the loader blends: at 640x360 the two cursors match to the pixel
            self._paste(*self._layer(self._cursor, int(cursor[0] * BASE[0] / WINDOW[0]), int(cursor[1] * BASE[1] / WINDOW[1]),
                                     np.float64))
        return self.frame

    def _draw_held(self, item: int, count: int, cursor: tuple[float, float]) -> None:
        """The cursor stack, its icon centred on the cursor like Minecraft's."""
        k = self.gui_scale

        def sprite() -> np.ndarray:
            canvas = np.zeros((18, 18, 4), np.uint8)
            _blit(canvas, self.icons[item], 0, 0)
            if count > 1:
                draw_number(canvas, count, 17, 17)
            return _enlarge(canvas, k)

        px = GUI_SCALE * k  # window pixels per GUI pixel
        self._paste(*self._layer(_remember(self._held, (item, count), sprite),
                                 round((cursor[0] / px - 8) * k), round((cursor[1] / px - 8) * k)))

"""Frame preprocessing shared by training data, the IDM and the agent.

* :func:`draw_cursor` composites the 16×16 mouse-cursor sprite onto a GUI frame, exactly as the
  reference data loader does (vpt.md §3.4): top-left corner at ``int(x·s), int(y·s)`` with
  ``s = frame height / 720``, float blend truncated to uint8, clipped at the right/bottom edge.
* :func:`resize_to_agent` resizes to the networks' 128×128 with OpenCV ``INTER_LINEAR`` (no
  crop, no letterbox: the aspect ratio changes; the reference warns against any other
  interpolation).
* :func:`screen_open` tells from the pixels alone whether a screen (inventory, crafting table,
  furnace) is open, for videos without a jsonl (IDM-labelled footage).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import cv2
import numpy as np

__all__ = ["AGENT_RESOLUTION", "RECORDER_WINDOW", "cursor_sprite", "draw_cursor", "resize_to_agent", "screen_open"]

#: (width, height) of network inputs.
AGENT_RESOLUTION = (128, 128)
#: (width, height) of the contractor recorder's game window; mouse x/y are in these pixels.
RECORDER_WINDOW = (1280, 720)


@lru_cache(maxsize=1)
def cursor_sprite() -> tuple[np.ndarray, np.ndarray]:
    """The cursor as (RGB uint8 (16, 16, 3), alpha float64 (16, 16, 1) in [0, 1]).

    Reference quirk: the reference's cursor PNG is 256×256, of which only the top-left 16×16
    crop is used; this is that crop.
    """
    with resources.files("vpt.data").joinpath("cursor_16x16.npz").open("rb") as f:
        rgba = np.load(f)["rgba"]
    rgb = np.ascontiguousarray(rgba[..., :3])
    alpha = rgba[..., 3:].astype(np.float64) / 255.0
    rgb.setflags(write=False)
    alpha.setflags(write=False)
    return rgb, alpha


def draw_cursor(frame: np.ndarray, x: float, y: float) -> np.ndarray:
    """Draw the cursor in place on an RGB (or BGR: the sprite is grey) uint8 frame; returns it.

    ``x, y`` are the recorder's mouse position in 1280×720 window pixels.
    """
    scale = frame.shape[0] / RECORDER_WINDOW[1]
    cx, cy = int(x * scale), int(y * scale)
    rgb, alpha = cursor_sprite()
    # Left/top positions below zero are clamped (the reference would wrap around instead).
    sx, sy = max(0, -cx), max(0, -cy)
    cx, cy = max(cx, 0), max(cy, 0)
    ch = max(0, min(frame.shape[0] - cy, rgb.shape[0] - sy))
    cw = max(0, min(frame.shape[1] - cx, rgb.shape[1] - sx))
    if ch == 0 or cw == 0:
        return frame
    a = alpha[sy : sy + ch, sx : sx + cw]
    region = frame[cy : cy + ch, cx : cx + cw]
    region[...] = (region * (1 - a) + rgb[sy : sy + ch, sx : sx + cw] * a).astype(np.uint8)
    return frame


def resize_to_agent(frame: np.ndarray, resolution: tuple[int, int] = AGENT_RESOLUTION) -> np.ndarray:
    """Resize an (H, W, 3) uint8 frame to ``resolution`` (width, height) with bilinear interpolation."""
    if frame.shape[1] == resolution[0] and frame.shape[0] == resolution[1]:
        return frame
    return cv2.resize(frame, resolution, interpolation=cv2.INTER_LINEAR)


#: Minecraft's container screens are drawn on a flat light-grey panel of this colour (#C6C6C6).
SCREEN_PANEL_RGB = 198
#: A pixel within this many levels of the panel colour (per channel) counts as panel.
SCREEN_PANEL_TOLERANCE = 12
#: The fraction of panel pixels in the frame's central half above which a screen is open.
#: Measured on 44 scripted tech-tree recordings at ``gui_scale`` 2 (session 18; 20,521 frames,
#: 63% with a screen): screen frames 0.267 or more, world frames 0.018 at most, none wrong.
SCREEN_PANEL_FRACTION = 0.1


def screen_open(frames: np.ndarray) -> np.ndarray:
    """Whether each (..., H, W, 3) uint8 RGB frame shows an open screen: (...,) bool.

    A screen's panel covers the middle of the window in Minecraft's flat grey (#C6C6C6); the test
    is the fraction of pixels of that colour in the frame's central half. For videos that come
    without a jsonl (``isGuiOpen``), e.g. IDM-labelled footage trained with ``--gui-weight``.
    """
    h, w = frames.shape[-3:-1]
    centre = frames[..., h // 4 : h - h // 4, w // 4 : w - w // 4, :]
    lo, hi = SCREEN_PANEL_RGB - SCREEN_PANEL_TOLERANCE, SCREEN_PANEL_RGB + SCREEN_PANEL_TOLERANCE
    panel = ((centre >= lo) & (centre <= hi)).all(-1)  # uint8 compares: no wide copy of a long video
    return panel.mean((-2, -1)) > SCREEN_PANEL_FRACTION

"""Synthetic contractor recordings for tests and benchmarks (no simulator needed).

Frames are a moving procedural pattern (so video codecs see real motion) and the jsonl lines are
random but plausible recorder lines: held keys, mouse motion, clicks, hotbar scrolls and GUI
sessions with a cursor.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from vpt.data.jsonl import KEYBOARD_BUTTON_MAPPING
from vpt.data.recording import write_recording

__all__ = ["synthetic_frame", "synthetic_lines", "write_synthetic_recording"]

_KEYS = sorted(KEYBOARD_BUTTON_MAPPING)


def synthetic_frame(i: int, width: int = 640, height: int = 360) -> np.ndarray:
    """RGB frame ``i`` of a scrolling pattern: smooth gradients plus 16-px blocks."""
    y, x = np.mgrid[0:height, 0:width]
    r = (x + 2 * y + 9 * i) % 256
    g = (3 * x + y + 5 * i) % 256
    b = ((x // 16) * 29 + (y // 16) * 53 + 31 * i) % 256
    return np.stack([r, g, b], axis=-1).astype(np.uint8)


def synthetic_lines(n: int, seed: int = 0) -> list[dict[str, Any]]:
    """``n`` random recorder lines in the contractor jsonl format."""
    rng = np.random.default_rng(seed)
    lines: list[dict[str, Any]] = []
    hotbar, gui = 0, False
    for t in range(n):
        if rng.random() < 0.02:
            gui = not gui
        if rng.random() < 0.03:
            hotbar = int(rng.integers(0, 9))
        keys = [] if rng.random() < 0.3 else list(rng.choice(_KEYS, size=int(rng.integers(1, 3)), replace=False))
        buttons = [int(b) for b in rng.choice([0, 1], size=int(rng.integers(0, 2)), replace=False)]
        dx, dy = (0.0, 0.0) if rng.random() < 0.4 else (float(rng.normal(0, 20)), float(rng.normal(0, 10)))
        lines.append(
            {
                "mouse": {
                    "x": float(rng.uniform(0, 1280)), "y": float(rng.uniform(0, 720)),
                    "dx": dx, "dy": dy, "scaledX": 0.0, "scaledY": 0.0, "dwheel": 0.0,
                    "buttons": buttons, "newButtons": buttons,
                },
                "keyboard": {"keys": keys, "newKeys": [], "chars": ""},
                "isGuiOpen": gui, "isGuiInventory": gui, "hotbar": hotbar,
                "yaw": 0.0, "pitch": 0.0, "xpos": 0.0, "ypos": 64.0, "zpos": 0.0, "tick": t,
            }
        )  # fmt: skip
    return lines


def write_synthetic_recording(path: str | Path, n: int = 100, *, seed: int = 0, width: int = 640, height: int = 360) -> tuple[Path, Path]:
    """Write an ``n``-frame synthetic recording (mp4 + jsonl); returns their paths."""
    return write_recording(path, (synthetic_frame(i, width, height) for i in range(n)), synthetic_lines(n, seed))

"""Contractor ``.jsonl`` action lines: parsing, validation, and line → MineRL env action.

One JSON object per video frame (``shared/reference/vpt.md`` §3). The conversion reproduces
the reference's ``json_action_to_env_action`` exactly, with one deliberate fix:

* Reference bug (VPT issue 54): the reference stores camera degrees in an *integer* array, so
  they are truncated toward zero (``dx = 5`` px → 0.75° → 0). By default we keep fractional
  degrees; ``legacy_integer_camera=True`` reproduces the truncation (the fixtures use it).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

__all__ = [
    "RecordingError",
    "BadLine",
    "KEYBOARD_BUTTON_MAPPING",
    "MOUSE_BUTTON_MAPPING",
    "CAMERA_DEGREES_PER_PIXEL",
    "JSONL_ACTION_KEYS",
    "parse_jsonl",
    "read_jsonl",
    "jsonl_line_to_env_action",
    "env_action_to_jsonl_line",
    "camera_to_mouse_delta",
]

#: Recorder key name → MineRL env key (``KEYBOARD_BUTTON_MAPPING``). Other keys are ignored.
KEYBOARD_BUTTON_MAPPING: dict[str, str] = {
    "key.keyboard.escape": "ESC",
    "key.keyboard.s": "back",
    "key.keyboard.q": "drop",
    "key.keyboard.w": "forward",
    **{f"key.keyboard.{i}": f"hotbar.{i}" for i in range(1, 10)},
    "key.keyboard.e": "inventory",
    "key.keyboard.space": "jump",
    "key.keyboard.a": "left",
    "key.keyboard.d": "right",
    "key.keyboard.left.shift": "sneak",
    "key.keyboard.left.control": "sprint",
    "key.keyboard.f": "swapHands",
}

#: Held mouse button id → env key. Other ids are ignored.
MOUSE_BUTTON_MAPPING: dict[int, str] = {0: "attack", 1: "use", 2: "pickItem"}

#: 360° per 2400 px of mouse motion: MineRL's (and the recorder's) 0.15°/px.
CAMERA_DEGREES_PER_PIXEL = 360.0 / 2400.0

#: Key order of the env action the conversion produces (the reference's ``NOOP_ACTION``).
JSONL_ACTION_KEYS: tuple[str, ...] = (
    "ESC", "back", "drop", "forward", *(f"hotbar.{i}" for i in range(1, 10)), "inventory",
    "jump", "left", "right", "sneak", "sprint", "swapHands", "camera", "attack", "use", "pickItem",
)  # fmt: skip


class RecordingError(ValueError):
    """A recording (video or jsonl) that cannot be used as is. Says which file and line."""

    def __init__(self, message: str, *, path: str | Path | None = None, line: int | None = None):
        self.path = None if path is None else str(path)
        self.line = line
        self.reason = message
        where = ""
        if self.path is not None:
            where = self.path + (f":{line + 1}" if line is not None else "") + ": "
        elif line is not None:
            where = f"line {line + 1}: "
        super().__init__(where + message)


@dataclass(frozen=True)
class BadLine:
    """Placeholder for a jsonl line that could not be parsed; it still occupies its frame."""

    index: int
    error: str


def parse_jsonl(text: str, *, path: str | Path | None = None) -> list[dict | BadLine]:
    """Parse jsonl text into one entry per non-blank line.

    A line that is not a JSON object becomes a :class:`BadLine` at its position, so that the
    lines stay aligned with the video frames (unlike the reference, which fails on the whole
    file). Blank lines are not frames and are dropped.
    """
    out: list[dict | BadLine] = []
    for raw in text.splitlines():
        if not raw.strip():
            continue
        i = len(out)
        try:
            obj = json.loads(raw)
        except json.JSONDecodeError as e:
            out.append(BadLine(i, f"invalid JSON ({e.msg} at column {e.colno})"))
            continue
        out.append(obj if isinstance(obj, dict) else BadLine(i, f"expected a JSON object, got {type(obj).__name__}"))
    return out


def read_jsonl(path: str | Path) -> list[dict | BadLine]:
    """Read a ``.jsonl`` file (see :func:`parse_jsonl`); a missing or unreadable file raises."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise RecordingError(f"cannot read jsonl: {e}", path=p) from e
    return parse_jsonl(text, path=p)


def _field(obj: Any, key: str, kind: str, line: int | None, path: Any) -> Any:
    if not isinstance(obj, Mapping):
        raise RecordingError(f"expected an object holding {key!r}, got {type(obj).__name__}", path=path, line=line)
    if key not in obj:
        raise RecordingError(f"missing field {key!r}", path=path, line=line)
    value = obj[key]
    if value is None:
        raise RecordingError(f"field {key!r} is null (recorder 6.13 wrote such lines)", path=path, line=line)
    return value


def _number(obj: Any, key: str, line: int | None, path: Any) -> float:
    v = _field(obj, key, "number", line, path)
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise RecordingError(f"field {key!r} must be a finite number, got {v!r}", path=path, line=line)
    return float(v)


def _list(obj: Any, key: str, line: int | None, path: Any) -> list:
    v = _field(obj, key, "list", line, path)
    if not isinstance(v, list):
        raise RecordingError(f"field {key!r} must be a list, got {type(v).__name__}", path=path, line=line)
    return v


def mouse_buttons(line: Mapping[str, Any], *, index: int | None = None, path: Any = None) -> list:
    """The held mouse buttons of a line, validated."""
    return _list(_field(line, "mouse", "object", index, path), "buttons", index, path)


def jsonl_line_to_env_action(
    line: Mapping[str, Any],
    *,
    legacy_integer_camera: bool = False,
    index: int | None = None,
    path: str | Path | None = None,
) -> tuple[dict[str, Any], bool]:
    """Convert one recorder line to ``(env_action, is_null)``, like the reference.

    ``env_action`` has the 24 MineRL keys in the reference's order; buttons are ints, ``camera``
    is ``[pitch, yaw]`` degrees from ``(dy, dx) * 0.15`` (float64, or int64 truncated toward
    zero with ``legacy_integer_camera``). ``is_null`` is True when no mapped key, no mouse
    button and no mouse motion occurred (any nonzero dx/dy counts, even if it truncates to 0°).

    Raises :class:`RecordingError` (naming ``path`` and ``index`` when given) for a line that
    is not an object, misses ``mouse.dx``/``dy``/``buttons`` or ``keyboard.keys``, holds
    ``null`` there, or has values of the wrong type. Nothing else is raised.
    """
    if not isinstance(line, Mapping):
        raise RecordingError(f"expected a JSON object, got {type(line).__name__}", path=path, line=index)
    mouse = _field(line, "mouse", "object", index, path)
    keyboard = _field(line, "keyboard", "object", index, path)
    keys = _list(keyboard, "keys", index, path)
    buttons = _list(mouse, "buttons", index, path)
    dx = _number(mouse, "dx", index, path)
    dy = _number(mouse, "dy", index, path)

    action: dict[str, Any] = {k: 0 for k in JSONL_ACTION_KEYS}
    is_null = True
    for key in keys:
        if not isinstance(key, str):
            raise RecordingError(f"keyboard key names must be strings, got {key!r}", path=path, line=index)
        if key in KEYBOARD_BUTTON_MAPPING:
            action[KEYBOARD_BUTTON_MAPPING[key]] = 1
            is_null = False

    pitch, yaw = dy * CAMERA_DEGREES_PER_PIXEL, dx * CAMERA_DEGREES_PER_PIXEL
    if legacy_integer_camera:
        # Reference bug kept on request: an integer array truncates degrees toward zero.
        action["camera"] = np.array([int(pitch), int(yaw)], dtype=np.int64)
    else:
        action["camera"] = np.array([pitch, yaw], dtype=np.float64)
    if dx != 0 or dy != 0:
        is_null = False
    # (The reference's |camera| > 180 clamp only runs when dx = dy = 0, i.e. never: omitted.)

    for b in buttons:
        if isinstance(b, bool) or not isinstance(b, int):
            raise RecordingError(f"mouse button ids must be integers, got {b!r}", path=path, line=index)
        if b in MOUSE_BUTTON_MAPPING:
            action[MOUSE_BUTTON_MAPPING[b]] = 1
            is_null = False
    return action, is_null



_ENV_TO_KEY = {v: k for k, v in KEYBOARD_BUTTON_MAPPING.items()}
_ENV_TO_MOUSE = {v: k for k, v in MOUSE_BUTTON_MAPPING.items()}


def camera_to_mouse_delta(degrees: float) -> float:
    """Mouse pixels for a camera change in degrees, chosen so that converting back with
    ``CAMERA_DEGREES_PER_PIXEL`` gives exactly ``degrees`` (float64) whenever such a value exists
    within a few ulps of ``degrees / 0.15``."""
    px = degrees / CAMERA_DEGREES_PER_PIXEL
    if px * CAMERA_DEGREES_PER_PIXEL == degrees:
        return px
    for direction in (math.inf, -math.inf):
        cand = px
        for _ in range(4):
            cand = math.nextafter(cand, direction)
            if cand * CAMERA_DEGREES_PER_PIXEL == degrees:
                return cand
    return px


def env_action_to_jsonl_line(
    action: Mapping[str, Any],
    *,
    hotbar: int = 0,
    gui_open: bool = False,
    cursor: tuple[float, float] = (640.0, 360.0),
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The inverse of :func:`jsonl_line_to_env_action`: a recorder line for an env action.

    Buttons become held keys and mouse buttons, ``camera`` [pitch, yaw] degrees becomes mouse
    ``dy``/``dx`` pixels (0.15°/px). ``hotbar`` is the selected slot 0..8 after this tick,
    ``cursor`` the mouse position in 1280×720 window pixels (used while ``gui_open``).
    ``extra`` fields (yaw, pitch, position, inventory ...) are copied in.
    """
    keys = [_ENV_TO_KEY[k] for k in _ENV_TO_KEY if int(np.asarray(action.get(k, 0)).reshape(-1)[0])]
    buttons = [_ENV_TO_MOUSE[k] for k in ("attack", "use", "pickItem") if int(np.asarray(action.get(k, 0)).reshape(-1)[0])]
    cam = np.asarray(action.get("camera", (0.0, 0.0)), dtype=np.float64).reshape(-1)
    line: dict[str, Any] = {
        "mouse": {
            "x": float(cursor[0]), "y": float(cursor[1]),
            "dx": camera_to_mouse_delta(float(cam[1])), "dy": camera_to_mouse_delta(float(cam[0])),
            "scaledX": float(cursor[0]) - 640.0, "scaledY": float(cursor[1]) - 360.0, "dwheel": 0.0,
            "buttons": buttons, "newButtons": [],
        },
        "keyboard": {"keys": keys, "newKeys": [], "chars": ""},
        "isGuiOpen": bool(gui_open), "isGuiInventory": bool(gui_open), "hotbar": int(hotbar),
    }  # fmt: skip
    if extra:
        line.update(extra)
    return line

"""The loader stream: (video frames, jsonl lines) → training samples, like the reference loader.

Per file, lines in order (vpt.md §3.3):

* **Stuck attack** — if the first line's ``mouse.newButtons`` is exactly ``[0]``, attack is
  stuck: button 0 is removed from ``mouse.buttons`` until a later line whose ``newButtons``
  contains 0 (that line keeps its attack).
* **Hotbar** — a "last hotbar" starts at 0; a line whose ``hotbar`` differs gets
  ``hotbar.{hotbar+1}`` = 1 (this is how scroll-wheel changes become actions). Reference quirk:
  this runs after the null check, so a scroll change on an otherwise null line is lost, and the
  variable is updated on skipped lines too.
* **Frame sync** — one frame is consumed per line, null or not.
* **Null skipping** — null lines are dropped (optional here, ``skip_null``).
* **Frames** — the cursor is drawn when ``isGuiOpen``, then resized to 128×128.

Bad lines (broken JSON, missing or null fields) never shift the frames: with
``on_bad_line="skip"`` they are dropped and counted in :class:`StreamStats`; with ``"raise"``
(the default) a :class:`~vpt.data.jsonl.RecordingError` names the file and line.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from vpt import actions
from vpt.data.frames import draw_cursor, resize_to_agent
from vpt.data.jsonl import BadLine, RecordingError, jsonl_line_to_env_action

__all__ = ["Sample", "StreamStats", "iter_samples"]


@dataclass
class Sample:
    """One training sample of the loader stream."""

    line: int
    """Index of the source jsonl line (= video frame index)."""
    frame: np.ndarray
    """(128, 128, 3) RGB uint8, cursor drawn when the GUI was open."""
    env_action: dict[str, Any]
    """MineRL env action after loader handling (stuck attack removed, hotbar change added)."""
    policy_action: dict[str, int]
    """Joint policy indices ``{"buttons": 0..8640, "camera": 0..120}``."""
    is_null: bool
    """Null line (only present when ``skip_null=False``)."""
    gui_open: bool


@dataclass
class StreamStats:
    """What the stream saw: counts of lines, emitted samples, null and bad lines."""

    lines: int = 0
    samples: int = 0
    null: int = 0
    bad: int = 0
    errors: list[str] = field(default_factory=list)


def _check_hotbar(line: Mapping[str, Any], index: int, path: Any) -> int:
    h = line.get("hotbar")
    if isinstance(h, bool) or not isinstance(h, int) or not 0 <= h <= 8:
        raise RecordingError(f"field 'hotbar' must be an int in 0..8, got {h!r}", path=path, line=index)
    return h


def _new_buttons(line: Mapping[str, Any], index: int, path: Any) -> list:
    nb = line["mouse"].get("newButtons", [])
    if not isinstance(nb, list):
        raise RecordingError(f"field 'newButtons' must be a list, got {nb!r}", path=path, line=index)
    return nb


def screen_cursor(line: Mapping[str, Any]) -> tuple[float, float] | None:
    """A jsonl line's mouse ``x, y`` (window pixels, where the cursor is drawn on a screen
    frame), or None when they are not both numbers."""
    mouse = line.get("mouse")
    xy = (mouse.get("x"), mouse.get("y")) if isinstance(mouse, Mapping) else (None, None)
    return xy if all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in xy) else None


def iter_samples(
    frames: Iterable[np.ndarray],
    lines: Iterable[Mapping[str, Any] | BadLine],
    *,
    legacy_integer_camera: bool = False,
    skip_null: bool = True,
    on_bad_line: Literal["raise", "skip"] = "raise",
    resolution: tuple[int, int] = (128, 128),
    path: str | Path | None = None,
    stats: StreamStats | None = None,
) -> Iterator[Sample]:
    """Yield :class:`Sample` objects from aligned frames (RGB, any size, 640×360 for contractor
    data) and parsed jsonl lines. Lines are not modified.

    More lines than frames or more frames than lines raise a :class:`RecordingError` (after
    the aligned part has been yielded), or are counted as bad with ``on_bad_line="skip"``.
    """
    stats = stats if stats is not None else StreamStats()
    attack_stuck = False
    last_hotbar = 0
    frame_iter = iter(frames)
    index = -1

    def bad(msg: str | Exception, i: int | None) -> None:
        err = msg if isinstance(msg, RecordingError) else RecordingError(str(msg), path=path, line=i)
        if on_bad_line == "raise":
            raise err
        stats.bad += 1
        stats.errors.append(str(err))

    for index, raw in enumerate(lines):
        stats.lines += 1
        frame = next(frame_iter, None)
        if frame is None:
            bad(f"video ended at frame {index} but the jsonl has more lines", index)
            return
        try:
            if isinstance(raw, BadLine):
                raise RecordingError(raw.error, path=path, line=index)
            line = raw
            mouse = line.get("mouse") if isinstance(line, Mapping) else None
            if index == 0:
                attack_stuck = isinstance(mouse, Mapping) and mouse.get("newButtons") == [0]
            elif attack_stuck and isinstance(mouse, Mapping) and 0 in _new_buttons(line, index, path):
                attack_stuck = False
            if attack_stuck and isinstance(mouse, Mapping) and isinstance(mouse.get("buttons"), list):
                line = copy.copy(line)
                line["mouse"] = {**mouse, "buttons": [b for b in mouse["buttons"] if b != 0]}
            env_action, is_null = jsonl_line_to_env_action(
                line, legacy_integer_camera=legacy_integer_camera, index=index, path=path
            )
            hotbar = _check_hotbar(line, index, path)
            gui_open = bool(line.get("isGuiOpen", False))
            if gui_open:
                cursor = screen_cursor(line)
                if cursor is None:
                    mouse = line["mouse"]
                    raise RecordingError(f"GUI open but mouse x/y are {(mouse.get('x'), mouse.get('y'))!r}",
                                         path=path, line=index)
        except RecordingError as e:
            bad(e, index)
            continue
        if hotbar != last_hotbar:
            env_action[f"hotbar.{hotbar + 1}"] = 1
        last_hotbar = hotbar
        if is_null:
            stats.null += 1
            if skip_null:
                continue
        img = np.array(frame, dtype=np.uint8, copy=True) if gui_open else np.asarray(frame, dtype=np.uint8)
        if gui_open:
            draw_cursor(img, *cursor)
        pol = actions.env_to_policy(env_action)
        stats.samples += 1
        yield Sample(
            line=index,
            frame=resize_to_agent(img, resolution),
            env_action=env_action,
            policy_action={"buttons": int(pol["buttons"][0]), "camera": int(pol["camera"][0])},
            is_null=is_null,
            gui_open=gui_open,
        )
    if next(frame_iter, None) is not None:
        bad(f"video has more frames than the jsonl's {index + 1} lines", None)

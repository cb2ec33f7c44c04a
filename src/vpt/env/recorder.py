"""Record any env with the MineRL interface as a contractor recording (mp4 + jsonl).

:class:`ContractorRecorder` wraps an environment and writes one recording per episode in the
format of OpenAI's contractor data (``shared/reference/vpt.md`` §3): ``name.mp4`` (H.264, 20 fps,
640×360) and ``name.jsonl`` with one line per video frame. Line ``i`` describes the action taken
*after* frame ``i`` was shown, like the recorder: ``keyboard.keys`` (held keys),
``mouse.dx``/``dy`` (pixels, 0.15° each), ``mouse.buttons``/``newButtons``, ``mouse.x``/``y``
(the cursor in 1280×720 window pixels while a screen is open), ``isGuiOpen``, ``hotbar`` (the
slot selected after the action: ``info["selected"]``, or followed from the number keys for envs
that do not report it), and, when the env's ``info`` has them, ``yaw``, ``pitch``,
``xpos``/``ypos``/``zpos``, ``tick`` and ``inventory``.

Camera degrees are written as mouse pixels chosen so that the loader's ``dx * 0.15`` gives back
the env's float32 degrees: whole pixels when they do (scripted players move the mouse in whole
pixels), otherwise the float that converts back exactly. ``load_recording`` therefore returns the
same policy actions that were sent. Two recorder facts a player must respect to round-trip
exactly: the loader treats ``attack`` held on the very first line as a stuck button and drops it,
and it turns every change of the selected slot into a hotbar key.

Files are written atomically when the episode ends (terminated, truncated, the next ``reset`` or
``close``): the jsonl is moved into place first and the mp4 last, so a recording whose mp4
exists is complete.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import cv2
import gymnasium
import numpy as np

from vpt.atomic import atomic_path
from vpt.data.jsonl import CAMERA_DEGREES_PER_PIXEL, camera_to_mouse_delta, env_action_to_jsonl_line
from vpt.data.recording import recording_paths
from vpt.data.video import VideoWriter

__all__ = ["ContractorRecorder", "camera_pixels", "recorder_line"]

_MOUSE_IDS = {"attack": 0, "use": 1, "pickItem": 2}


def camera_pixels(degrees: float) -> float:
    """Mouse pixels for a float32 camera delta in degrees: a whole number when
    ``float32(round(px) * 0.15)`` equals it, else the float whose ``* 0.15`` is exactly it."""
    deg = float(np.float32(degrees))
    whole = round(deg / CAMERA_DEGREES_PER_PIXEL)
    if float(np.float32(whole * CAMERA_DEGREES_PER_PIXEL)) == deg:
        return float(whole)
    return camera_to_mouse_delta(deg)


def _inventory_list(inventory: Mapping[str, int]) -> list[dict[str, Any]]:
    return [{"type": k, "quantity": int(v)} for k, v in inventory.items() if int(v) > 0]


def recorder_line(action: Mapping[str, Any], before: Mapping[str, Any], after: Mapping[str, Any],
                  previous_buttons: set[int], previous_keys: set[str]) -> dict[str, Any]:
    """One recorder line for ``action`` taken in state ``before`` (the ``info`` of the frame it
    was taken on) leading to ``after``. ``previous_*`` are the mouse buttons / keys held on the
    previous line (for ``newButtons``/``newKeys``)."""
    cam = np.asarray(action.get("camera", (0.0, 0.0)), dtype=np.float32).reshape(-1)
    gui = bool(before.get("gui_open", False))
    cursor = tuple(float(c) for c in before.get("cursor", (640.0, 360.0)))
    line = env_action_to_jsonl_line(action, hotbar=int(after.get("selected", 0)), gui_open=gui, cursor=cursor)
    mouse, keyboard = line["mouse"], line["keyboard"]
    mouse["dx"], mouse["dy"] = camera_pixels(float(cam[1])), camera_pixels(float(cam[0]))
    mouse["newButtons"] = [b for b in mouse["buttons"] if b not in previous_buttons]
    keyboard["newKeys"] = [k for k in keyboard["keys"] if k not in previous_keys]
    line["isGuiInventory"] = gui and before.get("gui", "") == "inventory"
    if "yaw" in before:
        line["yaw"], line["pitch"] = float(before["yaw"]), float(before["pitch"])
    if "position" in before:
        x, y, z = (float(v) for v in np.asarray(before["position"]).reshape(3))
        line["xpos"], line["ypos"], line["zpos"] = x, y, z
    if "tick" in before:
        line["tick"] = int(before["tick"])
    if "inventory" in before:
        line["inventory"] = _inventory_list(before["inventory"])
    return line


class ContractorRecorder(gymnasium.Wrapper):
    """Gymnasium wrapper writing each episode as ``out_dir/<name>.mp4`` + ``.jsonl``.

    Args:
        env: an env with MineRL's action dict and ``{"pov": ...}`` observations.
        out_dir: folder for the recordings (created).
        name_fn: episode index (0, 1, ... counted by this wrapper) → file stem; default
            ``episode-000000``.
        resolution: (width, height) of the video; frames of another size are resized (area).
        fps, crf: video settings.
        min_frames: episodes shorter than this are not written.

    After an episode is written, :attr:`last_paths` holds its ``(mp4, jsonl)``.
    """

    def __init__(self, env: gymnasium.Env, out_dir: str | Path, *, name_fn: Callable[[int], str] | None = None,
                 resolution: tuple[int, int] = (640, 360), fps: int = 20, crf: int = 18, min_frames: int = 1) -> None:
        super().__init__(env)
        if len(resolution) != 2 or resolution[0] % 2 or resolution[1] % 2 or min(resolution) < 2:
            raise ValueError(f"recorder resolution must be an even (width, height), got {resolution}")
        self.out_dir = Path(out_dir)
        self.name_fn = name_fn or (lambda i: f"episode-{i:06d}")
        self.resolution = (int(resolution[0]), int(resolution[1]))
        self.fps, self.crf, self.min_frames = int(fps), int(crf), int(min_frames)
        self.episode = -1
        self.last_paths: tuple[Path, Path] | None = None
        self._writer: VideoWriter | None = None
        self._lines: list[dict[str, Any]] = []
        self._pending: tuple[np.ndarray, dict[str, Any]] | None = None
        self._buttons: set[int] = set()
        self._keys: set[str] = set()
        self._hotbar = 0

    # -- gymnasium API ---------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        self.end_episode()
        obs, info = self.env.reset(seed=seed, options=options)
        self.episode += 1
        self._lines, self._buttons, self._keys, self._hotbar = [], set(), set(), 0
        self._pending = (self._frame(obs), dict(info))
        return obs, info

    def step(self, action: Mapping[str, Any]) -> tuple[Any, float, bool, bool, dict]:
        if self._pending is None:
            raise RuntimeError("call reset() before step()")
        obs, reward, terminated, truncated, info = self.env.step(action)
        frame, before = self._pending
        if self._writer is None:
            mp4, _ = recording_paths(self.out_dir / self.name_fn(self.episode))
            self._writer = VideoWriter(mp4, *self.resolution, fps=self.fps, crf=self.crf)
        self._writer.write(frame)
        if "selected" not in info:  # an env that does not report the slot: follow the number keys
            if not before.get("gui_open", False):
                for i in range(9, 0, -1):
                    if int(np.asarray(action.get(f"hotbar.{i}", 0)).reshape(-1)[0]):
                        self._hotbar = i - 1
            info_for_line = {**info, "selected": self._hotbar}
        else:
            info_for_line = info
        line = recorder_line(action, before, info_for_line, self._buttons, self._keys)
        self._buttons, self._keys = set(line["mouse"]["buttons"]), set(line["keyboard"]["keys"])
        self._lines.append(line)
        self._pending = (self._frame(obs), dict(info))
        if terminated or truncated:
            self.end_episode()
        return obs, reward, terminated, truncated, info

    def close(self) -> None:
        self.end_episode()
        super().close()

    def end_episode(self) -> None:
        """Write the episode in progress (if long enough) and forget it: for episodes the caller
        stops (a step budget) before the env ends them."""
        writer, lines = self._writer, self._lines
        self._writer, self._lines, self._pending = None, [], None
        if writer is None:
            return
        if len(lines) < self.min_frames:
            writer.abort()
            return
        mp4, jsonl = recording_paths(writer.path)
        tmp = atomic_path(jsonl)
        try:
            with open(tmp, "w", encoding="utf-8") as f:
                for line in lines:
                    f.write(json.dumps(line, separators=(",", ":")) + "\n")
            os.replace(tmp, jsonl)
        except BaseException:
            writer.abort()
            tmp.unlink(missing_ok=True)
            raise
        writer.close()
        self.last_paths = (mp4, jsonl)

    def discard_episode(self) -> None:
        """Drop the episode in progress without writing anything (e.g. after an error)."""
        writer, self._writer, self._lines, self._pending = self._writer, None, [], None
        if writer is not None:
            writer.abort()

    # -- internals -------------------------------------------------------------------------
    def _frame(self, obs: Mapping[str, Any]) -> np.ndarray:
        pov = np.asarray(obs["pov"], dtype=np.uint8)
        if pov.ndim != 3 or pov.shape[2] != 3:
            raise ValueError(f"recorder expects obs['pov'] of shape (H, W, 3), got {pov.shape}")
        if (pov.shape[1], pov.shape[0]) != self.resolution:
            pov = cv2.resize(pov, self.resolution, interpolation=cv2.INTER_AREA)
        return pov

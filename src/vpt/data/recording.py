"""Contractor recordings on disk: ``name.mp4`` (20 fps) + ``name.jsonl`` (one line per frame)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from vpt.atomic import atomic_path
from vpt.data.frames import draw_cursor, resize_to_agent
from vpt.data.jsonl import read_jsonl
from vpt.data.stream import StreamStats, iter_samples, screen_cursor
from vpt.data.video import VideoWriter, read_video

__all__ = ["Recording", "load_recording", "write_recording", "recording_paths", "video_frames"]


@dataclass
class Recording:
    """A decoded recording, ready for training.

    With a jsonl, ``frames[i]`` is the frame of source line ``line_index[i]`` and the action
    arrays are aligned with it; null lines are absent unless loaded with ``skip_null=False``
    (then ``is_null`` marks them). Without a jsonl (a web video) only ``frames`` is set.
    """

    path: Path
    frames: np.ndarray
    """(N, H, W, 3) RGB uint8, 128×128 by default, cursor drawn on GUI frames."""
    line_index: np.ndarray
    """(N,) int64 source line / video frame index."""
    env_actions: list[dict[str, Any]] | None = None
    policy_actions: dict[str, np.ndarray] | None = None
    """``{"buttons": (N,) int64, "camera": (N,) int64}`` joint indices."""
    is_null: np.ndarray | None = None
    gui_open: np.ndarray | None = None
    stats: StreamStats = field(default_factory=StreamStats)

    def __len__(self) -> int:
        return len(self.frames)

    @property
    def has_actions(self) -> bool:
        return self.policy_actions is not None

    def contiguous_runs(self) -> list[tuple[int, int]]:
        """``(lo, hi)`` sample ranges of consecutive source lines (skipped bad or null lines cut
        the recording there): the pieces that can be treated as uninterrupted time."""
        cuts = (np.nonzero(np.diff(self.line_index) != 1)[0] + 1).tolist()
        return list(zip([0, *cuts], [*cuts, len(self)]))


def recording_paths(path: str | Path) -> tuple[Path, Path]:
    """``(mp4, jsonl)`` paths for a recording given as its mp4, its jsonl, or its stem."""
    p = Path(path)
    stem = p.with_suffix("") if p.suffix in (".mp4", ".jsonl") else p
    return stem.with_name(stem.name + ".mp4"), stem.with_name(stem.name + ".jsonl")


def load_recording(
    mp4_path: str | Path,
    jsonl_path: str | Path | None = None,
    *,
    legacy_integer_camera: bool = False,
    skip_null: bool = True,
    on_bad_line: Literal["raise", "skip"] = "raise",
    resolution: tuple[int, int] = (128, 128),
    threads: int | None = None,
) -> Recording:
    """Decode a recording into frames and actions, processed like the reference loader.

    ``jsonl_path`` defaults to the mp4's sibling ``.jsonl``; when there is none, the video is
    loaded alone (frames only). See :func:`vpt.data.iter_samples` for the options. Raises
    :class:`~vpt.data.jsonl.RecordingError` naming the file (and line) on bad input.
    """
    mp4, sibling = recording_paths(mp4_path)
    if Path(mp4_path).suffix not in ("", ".mp4", ".jsonl"):
        mp4 = Path(mp4_path)
    jsonl = Path(jsonl_path) if jsonl_path is not None else (sibling if sibling.exists() else None)
    frames = read_video(mp4, threads=threads)
    if jsonl is None:
        out = [resize_to_agent(f, resolution) for f in frames]
        arr = np.stack(out) if out else np.zeros((0, resolution[1], resolution[0], 3), np.uint8)
        return Recording(path=mp4, frames=arr, line_index=np.arange(len(arr), dtype=np.int64))
    lines = read_jsonl(jsonl)
    stats = StreamStats()
    samples = list(
        iter_samples(
            frames,
            lines,
            legacy_integer_camera=legacy_integer_camera,
            skip_null=skip_null,
            on_bad_line=on_bad_line,
            resolution=resolution,
            path=jsonl,
            stats=stats,
        )
    )
    n = len(samples)
    return Recording(
        path=mp4,
        frames=np.stack([s.frame for s in samples]) if n else np.zeros((0, resolution[1], resolution[0], 3), np.uint8),
        line_index=np.array([s.line for s in samples], dtype=np.int64),
        env_actions=[s.env_action for s in samples],
        policy_actions={
            "buttons": np.array([s.policy_action["buttons"] for s in samples], dtype=np.int64),
            "camera": np.array([s.policy_action["camera"] for s in samples], dtype=np.int64),
        },
        is_null=np.array([s.is_null for s in samples], dtype=bool),
        gui_open=np.array([s.gui_open for s in samples], dtype=bool),
        stats=stats,
    )


def video_frames(mp4_path: str | Path, *, resolution: tuple[int, int] = (128, 128),
                 threads: int | None = None) -> np.ndarray:
    """Every frame of a video at ``resolution``, as the recording loader shows it: when a
    contractor ``.jsonl`` lies beside the mp4, the cursor is drawn on the frames whose line says
    a screen is open (contractor videos leave the cursor to the loader, a screen capture shows
    it), so that an IDM labelling a held-out recording, and BC on those labels, see the frames
    that training on the recording sees. Lines that cannot be read, and frames past the last
    line, are left as decoded. Returns (N, H, W, 3) uint8."""
    mp4 = Path(mp4_path)
    jsonl = mp4.with_suffix(".jsonl")
    lines = read_jsonl(jsonl) if jsonl.exists() else []
    out = []
    for i, frame in enumerate(read_video(mp4, threads=threads)):
        line = lines[i] if i < len(lines) else None
        xy = screen_cursor(line) if isinstance(line, Mapping) and line.get("isGuiOpen") else None  # BadLine: no Mapping
        if xy is not None:
            frame = draw_cursor(np.array(frame, dtype=np.uint8, copy=True), *xy)
        out.append(resize_to_agent(frame, resolution))
    return np.stack(out) if out else np.zeros((0, resolution[1], resolution[0], 3), np.uint8)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {k: _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def write_recording(
    path: str | Path,
    frames: Iterable[np.ndarray],
    lines: Sequence[Mapping[str, Any]],
    *,
    fps: int = 20,
    crf: int = 18,
) -> tuple[Path, Path]:
    """Write ``path.mp4`` (H.264, ``fps``) and ``path.jsonl`` (one line per frame) atomically.

    The jsonl is renamed into place first and the mp4 last, so a recording whose mp4 exists is
    complete. The number of frames must equal the number of lines. Returns ``(mp4, jsonl)``.
    """
    mp4, jsonl = recording_paths(path)
    mp4.parent.mkdir(parents=True, exist_ok=True)
    tmp_jsonl = atomic_path(jsonl)
    with open(tmp_jsonl, "w", encoding="utf-8") as f:
        for line in lines:
            f.write(json.dumps(_jsonable(line), separators=(",", ":")) + "\n")
    writer: VideoWriter | None = None
    try:
        for frame in frames:
            if writer is None:
                writer = VideoWriter(mp4, frame.shape[1], frame.shape[0], fps=fps, crf=crf)
            writer.write(frame)
        if writer is None or writer.frames != len(lines):
            raise ValueError(f"{0 if writer is None else writer.frames} frames but {len(lines)} jsonl lines for {mp4}")
    except BaseException:
        if writer is not None:
            writer.abort()
        tmp_jsonl.unlink(missing_ok=True)
        raise
    os.replace(tmp_jsonl, jsonl)
    writer.close()
    return mp4, jsonl


"""Summaries of recordings and datasets (``vpt data inspect``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import av
import numpy as np

from vpt import actions
from vpt.data.dataset import RecordingRef, list_recordings
from vpt.data.jsonl import BadLine, RecordingError, jsonl_line_to_env_action, read_jsonl
from vpt.data.video import open_video

__all__ = ["RecordingSummary", "DatasetSummary", "count_frames", "inspect_recording", "inspect_dataset"]


@dataclass
class RecordingSummary:
    """Facts about one recording."""

    path: str
    width: int
    height: int
    fps: float
    frames: int
    duration_s: float
    lines: int | None = None
    null_lines: int = 0
    bad_lines: int = 0
    gui_seconds: float = 0.0
    key_rates: dict[str, float] = field(default_factory=dict)
    """Fraction of lines on which each env key is pressed."""
    camera_histogram: list[list[int]] = field(default_factory=list)
    """Counts per camera bin (0..10) for [pitch, yaw] over non-null lines."""
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DatasetSummary:
    """Totals over a dataset and the files that could not be read."""

    recordings: int
    with_actions: int
    lines: int
    frames: int
    duration_s: float
    gui_seconds: float
    null_lines: int
    bad_lines: int
    bad_files: dict[str, str]
    key_rates: dict[str, float]


def count_frames(path: str | Path) -> tuple[int, int, int, float]:
    """Decode a video without converting pixels: ``(frames, width, height, fps)``."""
    n = 0
    with open_video(path) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        fps = float(s.average_rate) if s.average_rate else float("nan")
        w, h = s.codec_context.width, s.codec_context.height
        try:
            for _ in c.decode(s):
                n += 1
        except av.error.FFmpegError as e:
            raise RecordingError(f"video is corrupt after {n} decoded frames ({e})", path=path) from e
    if n == 0:
        raise RecordingError("video has no decodable frames", path=path)
    return n, w, h, fps


def inspect_recording(ref: RecordingRef | str | Path) -> RecordingSummary:
    """Summarise a recording; raises :class:`RecordingError` if the video cannot be decoded."""
    if not isinstance(ref, RecordingRef):
        ref = list_recordings(ref)[0]
    n, w, h, fps = count_frames(ref.mp4)
    s = RecordingSummary(str(ref.mp4), w, h, fps, n, n / fps if fps == fps and fps > 0 else float("nan"))
    if ref.jsonl is None:
        return s
    lines = read_jsonl(ref.jsonl)
    s.lines = len(lines)
    if s.lines != n:
        s.problems.append(f"{s.lines} jsonl lines for {n} video frames")
    pressed: Counter[str] = Counter()
    hist = np.zeros((2, actions.N_CAMERA_BINS), dtype=np.int64)
    gui = 0
    for i, line in enumerate(lines):
        try:
            if isinstance(line, BadLine):
                raise RecordingError(line.error, path=ref.jsonl, line=i)
            env, is_null = jsonl_line_to_env_action(line, index=i, path=ref.jsonl)
        except RecordingError as e:
            s.bad_lines += 1
            if len(s.problems) < 20:
                s.problems.append(str(e))
            continue
        gui += bool(line.get("isGuiOpen", False))
        pressed.update(k for k, v in env.items() if k != "camera" and v)
        if is_null:
            s.null_lines += 1
        else:
            for axis, b in enumerate(actions.camera_to_bins(env["camera"])):
                hist[axis, b] += 1
    s.gui_seconds = gui / fps if fps > 0 else float("nan")
    s.key_rates = {k: pressed[k] / max(1, s.lines) for k in actions.ENV_BUTTONS if pressed[k]}
    s.camera_histogram = hist.tolist()
    return s


def inspect_dataset(source: str | Path) -> tuple[DatasetSummary, list[RecordingSummary]]:
    """Summarise every recording of a folder or index; bad files are listed, not raised."""
    summaries: list[RecordingSummary] = []
    bad: dict[str, str] = {}
    refs = list_recordings(source)
    for ref in refs:
        try:
            summaries.append(inspect_recording(ref))
        except RecordingError as e:
            bad[str(ref.mp4)] = e.reason
    lines = sum(s.lines or 0 for s in summaries)
    rates: Counter[str] = Counter()
    for s in summaries:
        for k, r in s.key_rates.items():
            rates[k] += r * (s.lines or 0)
    total = DatasetSummary(
        recordings=len(refs),
        with_actions=sum(s.lines is not None for s in summaries),
        lines=lines,
        frames=sum(s.frames for s in summaries),
        duration_s=sum(s.duration_s for s in summaries),
        gui_seconds=sum(s.gui_seconds for s in summaries),
        null_lines=sum(s.null_lines for s in summaries),
        bad_lines=sum(s.bad_lines for s in summaries),
        bad_files=bad,
        key_rates={k: v / max(1, lines) for k, v in sorted(rates.items())},
    )
    return total, summaries

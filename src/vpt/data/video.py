"""Video files: decode to RGB frames and encode H.264 mp4, with PyAV (FFmpeg).

OpenCV's own writer has no H.264 here, and PyAV decodes with FFmpeg's frame threads, so both
directions go through PyAV. Files are written to a temporary name and renamed, so a killed
writer never leaves a half file under the final name.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np

from vpt.atomic import atomic_path
from vpt.data.jsonl import RecordingError

__all__ = ["VideoInfo", "open_video", "probe_video", "read_video", "VideoWriter", "write_video"]


@dataclass(frozen=True)
class VideoInfo:
    """Basic facts of a video stream."""

    width: int
    height: int
    fps: float
    frames: int | None
    """Frame count from the container, if it says (it may be missing or approximate)."""


def open_video(path: str | Path) -> av.container.InputContainer:
    p = Path(path)
    if not p.exists():
        raise RecordingError("video file does not exist", path=p)
    try:
        container = av.open(str(p))
    except (av.error.FFmpegError, OSError, ValueError) as e:
        raise RecordingError(f"not a readable video ({e})", path=p) from e
    if not container.streams.video:
        container.close()
        raise RecordingError("file has no video stream", path=p)
    return container


def probe_video(path: str | Path) -> VideoInfo:
    """Width, height, fps and (if known) frame count, without decoding."""
    with open_video(path) as c:
        s = c.streams.video[0]
        fps = float(s.average_rate) if s.average_rate else float("nan")
        return VideoInfo(s.codec_context.width, s.codec_context.height, fps, s.frames or None)


def read_video(path: str | Path, *, threads: int | None = None) -> Iterator[np.ndarray]:
    """Yield RGB uint8 frames (H, W, 3) of a video, in order.

    ``threads`` (default: FFmpeg's choice) sets the decoder's frame threads. A truncated or
    corrupt file raises :class:`~vpt.data.jsonl.RecordingError` naming the file and the number of
    frames decoded before the damage (those frames have already been yielded).
    """
    container = open_video(path)
    n = 0
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if threads is not None:
            stream.thread_count = threads
        for frame in container.decode(stream):
            yield frame.to_ndarray(format="rgb24")
            n += 1
    except av.error.FFmpegError as e:
        raise RecordingError(f"video is corrupt after {n} decoded frames ({e})", path=path) from e
    finally:
        container.close()
    if n == 0:
        raise RecordingError("video has no decodable frames", path=path)


class VideoWriter:
    """Write RGB frames to an H.264 mp4 (yuv420p, ``fps`` frames per second) atomically.

    Use as a context manager; the file appears under its final name only on a clean exit.
    """

    def __init__(self, path: str | Path, width: int, height: int, *, fps: int = 20, crf: int = 18, preset: str = "veryfast"):
        if width % 2 or height % 2:
            raise ValueError(f"H.264 (yuv420p) needs an even frame size, got {width}x{height}")
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._tmp = atomic_path(self.path)
        self._container = av.open(str(self._tmp), mode="w", format="mp4")
        self._stream = self._container.add_stream("libx264", rate=fps)
        self._stream.width, self._stream.height = width, height
        self._stream.pix_fmt = "yuv420p"
        self._stream.options = {"crf": str(crf), "preset": preset}
        self.frames = 0

    def write(self, frame: np.ndarray) -> None:
        """Append one RGB uint8 frame of the writer's size."""
        if frame.shape != (self._stream.height, self._stream.width, 3):
            raise ValueError(
                f"frame {self.frames} has shape {frame.shape}, expected "
                f"({self._stream.height}, {self._stream.width}, 3)"
            )
        vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame, dtype=np.uint8), format="rgb24")
        for packet in self._stream.encode(vf):
            self._container.mux(packet)
        self.frames += 1

    def close(self) -> None:
        """Flush, close and move the file to its final name."""
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()
        os.replace(self._tmp, self.path)

    def abort(self) -> None:
        """Close and delete the temporary file."""
        try:
            self._container.close()
        finally:
            self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> "VideoWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def write_video(path: str | Path, frames: Iterable[np.ndarray], *, fps: int = 20, crf: int = 18) -> int:
    """Write RGB frames to an H.264 mp4 atomically; returns the number of frames written."""
    it = iter(frames)
    first = next(it, None)
    if first is None:
        raise ValueError("no frames to write")
    with VideoWriter(path, first.shape[1], first.shape[0], fps=fps, crf=crf) as w:
        w.write(first)
        for f in it:
            w.write(f)
        return w.frames

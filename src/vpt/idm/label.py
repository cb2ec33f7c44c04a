"""Labelling videos with the IDM at scale: the pseudo-labels that BC trains on.

* Videos are sharded by ``torchrun`` rank (video ``i`` goes to rank ``i % world_size``).
* The next videos are decoded and resized in worker threads while the model labels the current
  one (PyAV releases the GIL while decoding).
* Each video's image features are computed once; overlapping windows run the transformer
  (see :mod:`vpt.idm.predict`).
* One label file per video, written atomically (``.labels.npz``); a finished file is skipped on
  the next run, so a killed run resumes where it stopped and produces every file exactly once.
* A video that cannot be decoded is reported and counted; the rest goes on.

The label file format is :mod:`vpt.data.labels`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import torch

from vpt.data import RecordingError, video_frames
from vpt.data.labels import label_path, labels_to_jsonl, read_labels, write_labels
from vpt.idm.model import InverseDynamicsModel
from vpt.idm.predict import predict

__all__ = ["LabelReport", "label_videos", "label_path", "labels_to_jsonl", "read_labels"]


@dataclass
class LabelReport:
    """What a labelling run did."""

    videos: int = 0
    labelled: int = 0
    skipped_existing: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    frames: int = 0
    seconds: float = 0.0

    @property
    def frames_per_second(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else 0.0


def label_videos(
    model: InverseDynamicsModel,
    videos: Iterable[str | Path],
    out_dir: str | Path,
    *,
    root: str | Path | None = None,
    window: int | None = None,
    stride: int | None = None,
    batch_size: int = 8,
    chunk: int = 32,
    rank: int = 0,
    world_size: int = 1,
    decode_ahead: int = 2,
    model_name: str = "",
    mirror: bool = False,
    camera: str = "mode",
    on_video: Callable[[Path, int], None] | None = None,
) -> LabelReport:
    """Label every video (this rank's shard) into ``out_dir``; see the module docstring.
    ``mirror`` and ``camera`` as in :func:`~vpt.idm.predict.predict` (recorded in each file's meta).

    ``on_video(path, frames)`` is called after each finished video (for progress bars).
    """
    videos = [Path(v) for v in videos]
    mine = [v for i, v in enumerate(videos) if i % world_size == rank]
    report = LabelReport(videos=len(mine))
    todo = []
    for v in mine:
        if label_path(out_dir, v, root).exists():
            report.skipped_existing += 1
        else:
            todo.append(v)
    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=max(1, decode_ahead)) as pool:
        pending: list[tuple[Path, Future]] = [(v, pool.submit(video_frames, v)) for v in todo[:decode_ahead]]
        nxt = len(pending)
        while pending:
            video, fut = pending.pop(0)
            if nxt < len(todo):
                pending.append((todo[nxt], pool.submit(video_frames, todo[nxt])))
                nxt += 1
            try:
                frames = fut.result()
            except RecordingError as e:
                report.failed[str(video)] = e.reason
                continue
            with torch.inference_mode():
                pred = predict(model, frames, window=window, stride=stride, batch_size=batch_size, chunk=chunk,
                               mirror=mirror, camera=camera)  # fmt: skip
            meta = {
                "video": str(video),
                "frames": int(len(frames)),
                "model": model_name,
                "window": int(window or model.cfg.window),
                "stride": int(stride or max(1, (window or model.cfg.window) // 2)),
                "mirror": mirror,
                "camera": camera,
            }
            write_labels(label_path(out_dir, video, root), pred.buttons_logprob, pred.camera_logprob, meta, pred.camera_bins)
            report.labelled += 1
            report.frames += len(frames)
            if on_video is not None:
                on_video(video, len(frames))
    report.seconds = time.perf_counter() - start
    return report

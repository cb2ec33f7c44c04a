"""Labelling videos with the IDM at scale: the pseudo-labels that BC trains on.

* Videos are sharded by ``torchrun`` rank (video ``i`` goes to rank ``i % world_size``).
* The next videos are decoded and resized in worker threads while the model labels the current
  one (PyAV releases the GIL while decoding).
* Each video's image features are computed once; overlapping windows run the transformer
  (see :mod:`vpt.idm.predict`).
* One label file per video, written atomically (``.labels.npz``); a finished file is skipped on
  the next run, so a killed run resumes where it stopped and produces every file exactly once.
* A video that cannot be decoded is reported and counted; the rest goes on.

Label file contents (all arrays per frame ``t``):

=====================  ===========================  ============================================
``buttons``            (T,) int64                   joint buttons index (0..8640), the BC target
``camera``             (T,) int64                   joint camera index (0..120)
``factored_buttons``   (T, 20) uint8                argmax per button, ``vpt.actions.BUTTONS``
``camera_bins``        (T, 2) int64                 argmax bin per axis (pitch, yaw)
``button_probs``       (T, 20) float32              probability that each button is pressed
``camera_probs``       (T, 2, 11) float32           per-axis bin probabilities
``logprob``            (T,) float32                 log-probability of the chosen factored action
``meta``               JSON string                  video, frames, model, window, stride
=====================  ===========================  ============================================
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vpt import actions
from vpt.data import RecordingError, read_video, resize_to_agent
from vpt.data.jsonl import env_action_to_jsonl_line
from vpt.idm.model import InverseDynamicsModel
from vpt.idm.predict import IDMPrediction, predict

__all__ = ["LabelReport", "label_path", "write_labels", "read_labels", "label_videos", "labels_to_jsonl"]

LABEL_SUFFIX = ".labels.npz"


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


def label_path(out_dir: str | Path, video: str | Path, root: str | Path | None = None) -> Path:
    """Where the labels of ``video`` go: its path relative to ``root`` (or its name) under
    ``out_dir``, with the suffix ``.labels.npz``."""
    video = Path(video)
    rel = video.relative_to(root) if root is not None else Path(video.name)
    return Path(out_dir) / rel.with_suffix(LABEL_SUFFIX)


def write_labels(path: str | Path, pred: IDMPrediction, meta: dict[str, Any]) -> None:
    """Write one label file atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fb, cb = pred.factored_buttons, pred.camera_bins
    joint = pred.policy_actions
    chosen = np.take_along_axis(pred.buttons_logprob, fb[..., None].astype(np.int64), -1)[..., 0].sum(-1)
    chosen += np.take_along_axis(pred.camera_logprob, cb[..., None], -1)[..., 0].sum(-1)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
    np.savez(
        tmp,
        buttons=joint["buttons"],
        camera=joint["camera"],
        factored_buttons=fb,
        camera_bins=cb,
        button_probs=np.exp(pred.buttons_logprob[..., 1]).astype(np.float32),
        camera_probs=np.exp(pred.camera_logprob).astype(np.float32),
        logprob=chosen.astype(np.float32),
        meta=np.array(json.dumps(meta)),
    )
    os.replace(tmp, path)


def read_labels(path: str | Path) -> dict[str, Any]:
    """Read a label file (arrays, and ``meta`` as a dict)."""
    with np.load(path, allow_pickle=False) as z:
        out: dict[str, Any] = {k: z[k] for k in z.files}
    out["meta"] = json.loads(str(out["meta"]))
    return out


def labels_to_jsonl(labels: dict[str, Any] | str | Path, path: str | Path) -> Path:
    """Export labels as a contractor-format ``.jsonl`` (one line per frame), so that the video
    and this file form a recording that :func:`vpt.data.load_recording` reads back with the
    labelled actions. The hotbar field follows the predicted hotbar keys."""
    lab = read_labels(labels) if not isinstance(labels, dict) else labels
    env = actions.factored_to_env(lab["factored_buttons"], lab["camera_bins"])
    hotbar = 0
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w") as f:
        for t in range(len(lab["buttons"])):
            step = {k: v[t] for k, v in env.items()}
            for i in range(9, 0, -1):  # the loader lets the later hotbar key win
                if step[f"hotbar.{i}"]:
                    hotbar = i - 1
                    break
            f.write(json.dumps(env_action_to_jsonl_line(step, hotbar=hotbar, extra={"tick": t})) + "\n")
    os.replace(tmp, path)
    return path


def _decode(video: Path) -> np.ndarray:
    frames = [resize_to_agent(f) for f in read_video(video)]
    return np.stack(frames)


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
    on_video: Callable[[Path, int], None] | None = None,
) -> LabelReport:
    """Label every video (this rank's shard) into ``out_dir``; see the module docstring.

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
        pending: list[tuple[Path, Future]] = [(v, pool.submit(_decode, v)) for v in todo[:decode_ahead]]
        nxt = len(pending)
        while pending:
            video, fut = pending.pop(0)
            if nxt < len(todo):
                pending.append((todo[nxt], pool.submit(_decode, todo[nxt])))
                nxt += 1
            try:
                frames = fut.result()
            except RecordingError as e:
                report.failed[str(video)] = e.reason
                continue
            with torch.inference_mode():
                pred = predict(model, frames, window=window, stride=stride, batch_size=batch_size, chunk=chunk)
            meta = {
                "video": str(video),
                "frames": int(len(frames)),
                "model": model_name,
                "window": int(window or model.cfg.window),
                "stride": int(stride or max(1, (window or model.cfg.window) // 2)),
            }
            write_labels(label_path(out_dir, video, root), pred, meta)
            report.labelled += 1
            report.frames += len(frames)
            if on_video is not None:
                on_video(video, len(frames))
    report.seconds = time.perf_counter() - start
    return report

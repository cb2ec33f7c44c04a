"""IDM label files: per-frame pseudo-labels of one video, written atomically.

The IDM (``vpt idm label``) writes them; behavioural cloning reads them as targets; they export
to contractor-format ``.jsonl`` so that a video and its labels form an ordinary recording.

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
from pathlib import Path
from typing import Any

import numpy as np

from vpt import actions
from vpt.atomic import atomic_open, atomic_output
from vpt.data.jsonl import env_action_to_jsonl_line

__all__ = ["LABEL_SUFFIX", "label_path", "write_labels", "read_labels", "labels_to_jsonl"]

LABEL_SUFFIX = ".labels.npz"


def label_path(out_dir: str | Path, video: str | Path, root: str | Path | None = None) -> Path:
    """Where the labels of ``video`` go: its path relative to ``root`` (or its name) under
    ``out_dir``, with the suffix ``.labels.npz``."""
    video = Path(video)
    rel = video.relative_to(root) if root is not None else Path(video.name)
    return Path(out_dir) / rel.with_suffix(LABEL_SUFFIX)


def write_labels(path: str | Path, buttons_logprob: np.ndarray, camera_logprob: np.ndarray, meta: dict[str, Any],
                 camera_bins: np.ndarray | None = None) -> None:  # fmt: skip
    """Write one label file atomically from the IDM's per-frame log-probabilities
    ((T, 20, 2) per button and (T, 2, 11) per camera axis). The labels are each button's most
    probable state and ``camera_bins`` ((T, 2); default each axis's most probable bin)."""
    fb = buttons_logprob.argmax(-1).astype(np.uint8)
    cb = camera_logprob.argmax(-1).astype(np.int64) if camera_bins is None else np.asarray(camera_bins, dtype=np.int64)
    jb, jc = actions.factored_to_joint(fb, cb)
    chosen = np.take_along_axis(buttons_logprob, fb[..., None].astype(np.int64), -1)[..., 0].sum(-1)
    chosen += np.take_along_axis(camera_logprob, cb[..., None], -1)[..., 0].sum(-1)
    with atomic_output(path) as tmp:
        np.savez(
            tmp,
            buttons=jb,
            camera=jc,
            factored_buttons=fb,
            camera_bins=cb,
            button_probs=np.exp(buttons_logprob[..., 1]).astype(np.float32),
            camera_probs=np.exp(camera_logprob).astype(np.float32),
            logprob=chosen.astype(np.float32),
            meta=np.array(json.dumps(meta)),
        )


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
    with atomic_open(path, "w") as f:
        for t in range(len(lab["buttons"])):
            step = {k: v[t] for k, v in env.items()}
            for i in range(9, 0, -1):  # the loader lets the later hotbar key win
                if step[f"hotbar.{i}"]:
                    hotbar = i - 1
                    break
            f.write(json.dumps(env_action_to_jsonl_line(step, hotbar=hotbar, extra={"tick": t})) + "\n")
    return path

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

How an IDM's camera labels err is measured on held-out recordings (``vpt idm eval --confusion``)
and kept in a *camera confusion* file: ``counts`` (2, 2, 11, 11) int64, [world / screen open,
pitch / yaw, true bin, label bin], and ``meta``. :func:`camera_label_noise` turns it into the
probability of each joint camera label given the true joint camera, which ``vpt bc train
--label-noise`` uses to learn the true camera from noisy labels.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from vpt import actions
from vpt.atomic import atomic_open, atomic_output
from vpt.data.jsonl import env_action_to_jsonl_line

__all__ = ["LABEL_SUFFIX", "label_path", "write_labels", "read_labels", "labels_to_jsonl", "write_camera_confusion",
           "read_camera_confusion", "camera_label_noise"]

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


_CONFUSION_SHAPE = (2, 2, actions.N_CAMERA_BINS, actions.N_CAMERA_BINS)


def write_camera_confusion(path: str | Path, counts: np.ndarray, meta: dict[str, Any]) -> None:
    """Write a camera confusion file atomically (module docstring)."""
    counts = np.asarray(counts)
    if counts.shape != _CONFUSION_SHAPE:
        raise ValueError(f"camera confusion counts must have shape {_CONFUSION_SHAPE}, got {counts.shape}")
    with atomic_output(path) as tmp:
        np.savez(tmp, counts=counts.astype(np.int64), meta=np.array(json.dumps(meta)))


def read_camera_confusion(path: str | Path) -> tuple[np.ndarray, dict[str, Any]]:
    """``(counts, meta)`` of a camera confusion file; ValueError naming the file if it is not one."""
    try:
        with np.load(path, allow_pickle=False) as z:
            counts, meta = z["counts"], json.loads(str(z["meta"]))
    except (OSError, KeyError, ValueError) as e:
        raise ValueError(f"{path}: not a camera confusion file (vpt idm eval --confusion): {e}") from None
    if counts.shape != _CONFUSION_SHAPE or not np.issubdtype(counts.dtype, np.integer) or (counts < 0).any():
        raise ValueError(f"{path}: counts must be non-negative integers of shape {_CONFUSION_SHAPE}, "
                         f"got {counts.dtype} {counts.shape}")
    return counts, meta


def camera_label_noise(counts: np.ndarray, smoothing: float = 1.0) -> np.ndarray:
    """(2, 121, 121) float64 P(joint camera label | true joint camera) for world and screen frames,
    from confusion ``counts`` (module docstring), rows summing to 1.

    The axes are taken as independent (the joint probability is the product of the two axes'),
    and each true bin's row gets ``smoothing`` pseudo-counts on its own bin plus a 1e-3 floor, so
    that bins never seen held out (the extreme moves, often) are taken as labelled right."""
    counts = np.asarray(counts, dtype=np.float64)
    n = actions.N_CAMERA_BINS
    per_axis = counts + smoothing * np.eye(n) + 1e-3
    per_axis /= per_axis.sum(-1, keepdims=True)  # (2 contexts, 2 axes, true, label)
    bins = actions.CAMERA_INDEX_TO_BINS  # (121, 2): joint index -> (pitch bin, yaw bin)
    pitch = per_axis[:, 0][:, bins[:, 0][:, None], bins[:, 0][None, :]]
    yaw = per_axis[:, 1][:, bins[:, 1][:, None], bins[:, 1][None, :]]
    return pitch * yaw

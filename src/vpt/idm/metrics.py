"""Scoring an IDM on labelled recordings (held-out evaluation during training, ``vpt idm eval``).

Metrics of :func:`evaluate`, over every frame of the recordings:

* ``button_accuracy`` — mean over the 20 buttons of the per-frame accuracy;
* ``keypress_accuracy`` — fraction of frames whose whole 20-button state is predicted exactly;
* ``camera_bin_accuracy`` — fraction of frames with both camera bins right;
* ``camera_r2`` — R² of the predicted camera (bin centres, degrees) against the true degrees
  clipped to the bins' ±10°, pooled over both axes (and ``camera_r2_pitch``/``_yaw``). This is
  the camera the labels carry. Even the true bins' centres score below 1 (quantisation: ~0.99
  on the scripted recordings);
* ``camera_r2_mean`` — the same R² of the posterior-mean camera (bin centres weighted by the
  predicted probabilities, :attr:`IDMPrediction.camera_mean_degrees`): how much the IDM knows
  beyond its argmax bins.

Keypress, camera bin accuracy and R² are also reported separately for frames with a GUI screen
open (``<prefix>_gui/``: the camera moves the cursor) and without (``<prefix>_world/``: it turns
the view), from the recordings' ``isGuiOpen``. :func:`button_errors` says which buttons the
keypress misses come from.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import torch

from vpt import actions
from vpt.atomic import atomic_output
from vpt.data import DatasetReport, RecordingRef, iter_recordings
from vpt.idm.model import InverseDynamicsModel
from vpt.idm.predict import predict

__all__ = ["Segment", "FramePredictions", "load_segments", "predict_segments", "evaluate", "scores", "frame_metrics", "button_errors",
           "camera_confusion"]


@dataclass
class Segment:
    """Consecutive frames of one recording with their factored targets."""

    name: str
    frames: np.ndarray
    buttons: np.ndarray
    """(T, 20) uint8."""
    camera_bins: np.ndarray
    """(T, 2) int64."""
    camera_degrees: np.ndarray
    """(T, 2) float64 true camera (for R²)."""
    gui_open: np.ndarray
    """(T,) bool: a GUI screen was open (the camera moves the cursor, not the view)."""


def load_segments(refs: list, *, legacy_integer_camera: bool = False, report: DatasetReport | None = None,
                  cache: str | Path | None = None) -> list[Segment]:
    """Load recordings (every frame, null ones included: the IDM must see time as it is) and
    cut them into runs of consecutive lines (bad lines split a recording).

    With ``cache`` (a folder), each recording's decoded frames and targets are kept there
    (:func:`_cached`): the first load writes them, later loads memory-map the frames instead of
    decoding, so processes and runs on the same data share one copy of the frames in the page
    cache, and a dataset larger than memory can be trained on. The counts of ``report`` are the
    same either way (bad lines are counted, not warned about again, on a cached load)."""
    report = report if report is not None else DatasetReport()
    segments: list[Segment] = []
    for ref in refs:
        entry = _cache_entry(Path(cache), ref, legacy_integer_camera) if cache is not None else None
        targets = _cached(entry, report) if entry is not None else None
        if targets is None:
            targets = _decode_into(entry, ref, legacy_integer_camera, report)
        if targets is not None:
            segments += targets.segments(ref.name)
    return segments


def fill_cache(refs: list, cache: str | Path, *, legacy_integer_camera: bool = False) -> None:
    """Decode into ``cache`` the recordings it does not hold yet, as :func:`load_segments` would,
    without loading those it holds: processes sharing a cache each fill their part of it, then
    load it all. Errors are left for that load to count and report."""
    for ref in refs:
        entry = _cache_entry(Path(cache), ref, legacy_integer_camera)
        if entry is not None and not entry[1].exists():  # the targets file is written last: the entry is whole
            _decode_into(entry, ref, legacy_integer_camera, DatasetReport())


@dataclass
class _RecordingTargets:
    """One recording as :func:`load_segments` needs it: every frame with its factored targets,
    the runs of consecutive lines, and the loader's counts (for the report on a cached load)."""

    frames: np.ndarray
    buttons: np.ndarray
    camera_bins: np.ndarray
    camera_degrees: np.ndarray
    gui_open: np.ndarray
    runs: np.ndarray
    """(K, 2) int64: [lo, hi) of each run of consecutive lines."""
    counts: np.ndarray
    """(3,) int64: bad lines, null lines, samples."""

    def segments(self, name: str) -> list[Segment]:
        return [Segment(f"{name}[{lo}:{hi}]", self.frames[lo:hi], self.buttons[lo:hi], self.camera_bins[lo:hi],
                        self.camera_degrees[lo:hi], self.gui_open[lo:hi]) for lo, hi in self.runs.tolist()]  # fmt: skip

    def save(self, entry: tuple[Path, Path]) -> None:
        """Frames to the entry's ``.frames.npy``, then the rest to its ``.targets.npz`` (written
        last, so its presence says the entry is whole), each atomically; then the frames are mapped
        back from the file, so the decoding process does not keep a copy of its own either."""
        frames, targets = entry
        with atomic_output(frames) as tmp:
            np.save(tmp, self.frames)
        with atomic_output(targets) as tmp:
            np.savez(tmp, **{f.name: getattr(self, f.name) for f in fields(self) if f.name != "frames"})
        self.frames = np.load(frames, mmap_mode="c")


# Bump when what a cache entry holds, or how a recording is turned into targets, changes.
_CACHE_VERSION = 1


def _cache_entry(cache: Path, ref: RecordingRef, legacy_integer_camera: bool) -> tuple[Path, Path] | None:
    """A cache entry's two files, ``(frames .npy, targets .npz)``, named by the recording and a
    hash of where its files are, their sizes and modification times, and the loading options (a
    changed file misses the cache); None when a file cannot be read (decoding then reports it)."""
    h = hashlib.sha256(f"v{_CACHE_VERSION} legacy={legacy_integer_camera}".encode())
    try:
        for path in (p for p in (ref.mp4, ref.jsonl) if p is not None):
            st = Path(path).stat()
            h.update(f"|{Path(path).resolve()} {st.st_size} {st.st_mtime_ns}".encode())
    except OSError:
        return None
    stem = f"{ref.name}-{h.hexdigest()[:16]}"
    return cache / f"{stem}.frames.npy", cache / f"{stem}.targets.npz"


def _cached(entry: tuple[Path, Path], report: DatasetReport) -> _RecordingTargets | None:
    """A cache entry (frames memory-mapped copy-on-write: writable views that share the page
    cache), counted in ``report``; None when absent or unreadable (then it is rebuilt)."""
    frames, targets = entry
    try:
        with np.load(targets) as z:
            rest = {k: z[k] for k in z.files}
        loaded = _RecordingTargets(frames=np.load(frames, mmap_mode="c"), **rest)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    report.recordings += 1
    report.add_loaded(*loaded.counts.tolist())
    return loaded


def _decode_into(entry: tuple[Path, Path] | None, ref: RecordingRef, legacy_integer_camera: bool,
                 report: DatasetReport) -> _RecordingTargets | None:  # fmt: skip
    """:func:`_decode`, kept in the cache entry (if any) when the recording decodes."""
    targets = _decode(ref, legacy_integer_camera, report)
    if targets is not None and entry is not None:
        targets.save(entry)
    return targets


def _decode(ref: RecordingRef, legacy_integer_camera: bool, report: DatasetReport) -> _RecordingTargets | None:
    """Decode one recording (:func:`vpt.data.iter_recordings`: a bad file is counted in
    ``report`` and gives None, as does one without actions or frames)."""
    for _, rec in iter_recordings([ref], report=report, skip_null=False, legacy_integer_camera=legacy_integer_camera):
        if not rec.has_actions or len(rec) == 0:
            return None
        env = {k: np.array([a[k] for a in rec.env_actions]) for k in actions.BUTTONS}
        env["camera"] = np.stack([np.asarray(a["camera"], dtype=np.float64) for a in rec.env_actions])
        fac, bins = actions.env_to_factored(env)
        gui = rec.gui_open if rec.gui_open is not None else np.zeros(len(rec), bool)
        runs = np.array(rec.contiguous_runs(), dtype=np.int64).reshape(-1, 2)
        counts = np.array([rec.stats.bad, rec.stats.null, len(rec)], dtype=np.int64)
        return _RecordingTargets(rec.frames, fac, bins, env["camera"], gui, runs, counts)
    return None


@dataclass
class FramePredictions:
    """Truth and prediction for every frame of some segments, concatenated."""

    true_buttons: np.ndarray
    """(N, 20) uint8."""
    pred_buttons: np.ndarray
    """(N, 20) uint8."""
    true_bins: np.ndarray
    """(N, 2) int64."""
    pred_bins: np.ndarray
    """(N, 2) int64."""
    degrees: np.ndarray
    """(N, 2) float64 true camera."""
    gui_open: np.ndarray
    """(N,) bool."""
    pred_mean_degrees: np.ndarray | None = None
    """(N, 2) float64 posterior-mean camera (None: not scored)."""


@torch.no_grad()
def predict_segments(model: InverseDynamicsModel, segments: list[Segment], *, window: int | None = None,
                     mirror: bool = False, camera: str = "mode") -> FramePredictions:  # fmt: skip
    """Predict every segment with the labelling path's overlapping windows (model left as it
    was); ``mirror`` and ``camera`` as in :func:`~vpt.idm.predict.predict`."""
    was_training = model.training
    model.eval()
    preds = [predict(model, s.frames, window=window, mirror=mirror, camera=camera) for s in segments]
    model.train(was_training)
    cat = np.concatenate
    return FramePredictions(
        true_buttons=cat([s.buttons for s in segments]), pred_buttons=cat([p.factored_buttons for p in preds]),
        true_bins=cat([s.camera_bins for s in segments]), pred_bins=cat([p.camera_bins for p in preds]),
        degrees=cat([s.camera_degrees for s in segments]), gui_open=cat([s.gui_open for s in segments]),
        pred_mean_degrees=cat([p.camera_mean_degrees for p in preds]),
    )  # fmt: skip


def evaluate(model: InverseDynamicsModel, segments: list[Segment], *, window: int | None = None,
             prefix: str = "val") -> dict[str, float]:  # fmt: skip
    """The module docstring's metrics of ``model`` on ``segments``, keys ``<prefix>/...``,
    ``<prefix>_world/...``, ``<prefix>_gui/...`` and per button ``<prefix>_button/<name>``."""
    return scores(predict_segments(model, segments, window=window), prefix=prefix)


def scores(p: FramePredictions, *, prefix: str = "val") -> dict[str, float]:
    """:func:`evaluate`'s metrics of predictions already made."""
    per_button = (p.true_buttons == p.pred_buttons).mean(0)
    metrics = {f"{prefix}/button_accuracy": float(per_button.mean()), **frame_metrics(prefix, p), f"{prefix}/frames": float(len(p.gui_open))}
    metrics.update({f"{prefix}_button/{b}": float(a) for b, a in zip(actions.BUTTONS, per_button)})
    # The camera means different things with a GUI open (it moves the cursor), so report both.
    for name, mask in ((f"{prefix}_world", ~p.gui_open), (f"{prefix}_gui", p.gui_open)):
        if mask.sum() >= 2:
            metrics.update(frame_metrics(name, _select(p, mask)))
            metrics[f"{name}/frames"] = float(mask.sum())
    return metrics


def camera_confusion(p: FramePredictions) -> np.ndarray:
    """(2, 2, 11, 11) int64 counts of [world / screen open, pitch / yaw, true bin, predicted bin]:
    how an IDM's camera labels err (``vpt idm eval --confusion``, read by ``vpt bc train
    --label-noise``)."""
    n = actions.N_CAMERA_BINS
    counts = np.zeros((2, 2, n, n), dtype=np.int64)
    for ctx, mask in enumerate((~p.gui_open, p.gui_open)):
        for axis in range(2):
            np.add.at(counts[ctx, axis], (p.true_bins[mask, axis], p.pred_bins[mask, axis]), 1)
    return counts


def _select(p: FramePredictions, mask: np.ndarray) -> FramePredictions:
    return FramePredictions(*(v if (v := getattr(p, f.name)) is None else v[mask] for f in fields(p)))


def frame_metrics(prefix: str, p: FramePredictions) -> dict[str, float]:
    """Keypress accuracy, camera bin accuracy and camera R² (pooled and per axis) of some frames."""
    true_deg = p.degrees.clip(-actions.CAMERA_MAXVAL, actions.CAMERA_MAXVAL)
    ss_tot_axis = ((true_deg - true_deg.mean(0)) ** 2).sum(0)

    def r2(ss_res: float, ss_tot: float) -> float:
        return 1.0 - ss_res / ss_tot if ss_tot > 0 else float("nan")

    ss_res_axis = ((true_deg - actions.bins_to_camera(p.pred_bins)) ** 2).sum(0)
    m = {
        f"{prefix}/keypress_accuracy": float((p.true_buttons == p.pred_buttons).all(1).mean()),
        f"{prefix}/camera_bin_accuracy": float((p.true_bins == p.pred_bins).all(1).mean()),
        f"{prefix}/camera_r2": r2(float(ss_res_axis.sum()), float(ss_tot_axis.sum())),
    }
    for i, axis in enumerate(("pitch", "yaw")):
        m[f"{prefix}/camera_r2_{axis}"] = r2(float(ss_res_axis[i]), float(ss_tot_axis[i]))
    if p.pred_mean_degrees is not None:
        m[f"{prefix}/camera_r2_mean"] = r2(float(((true_deg - p.pred_mean_degrees) ** 2).sum()), float(ss_tot_axis.sum()))
    return m


def button_errors(p: FramePredictions) -> list[dict[str, float | str]]:
    """Where the keypress misses come from, one row per button that is ever pressed or predicted:
    how often it is pressed, recall and precision, missed presses and false presses as fractions
    of all frames (world and GUI apart), and ``share_of_misses`` — the fraction of frames with a
    wrong button state in which this button is wrong (a frame can count for several buttons).
    Sorted by that share, largest first."""
    tb, pb = p.true_buttons.astype(bool), p.pred_buttons.astype(bool)
    n = len(tb)
    missed_frames = max(int((tb != pb).any(1).sum()), 1)
    rows = []
    for i, name in enumerate(actions.BUTTONS):
        t, q = tb[:, i], pb[:, i]
        if not (t.any() or q.any()):
            continue
        fn, fp = t & ~q, q & ~t
        rows.append({
            "button": name,
            "pressed": float(t.mean()),
            "recall": float((t & q).sum() / t.sum()) if t.any() else float("nan"),
            "precision": float((t & q).sum() / q.sum()) if q.any() else float("nan"),
            "missed_world": float((fn & ~p.gui_open).sum() / n), "missed_gui": float((fn & p.gui_open).sum() / n),
            "false_world": float((fp & ~p.gui_open).sum() / n), "false_gui": float((fp & p.gui_open).sum() / n),
            "share_of_misses": float((fn | fp).sum() / missed_frames),
        })  # fmt: skip
    return sorted(rows, key=lambda r: -r["share_of_misses"])

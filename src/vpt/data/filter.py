"""``vpt data filter``: keep clean gameplay segments of web videos and drop near-duplicates.

Like VPT's filtering of web video before IDM labelling, in three steps:

1. **Clean classifier** — a small logistic-regression model over hand-made frame features
   (colour and edge statistics on a 4×4 grid, border uniformity, hue/value histograms) of frames
   decoded at 128×72. It is trained on a few hundred labelled frames chosen by an active-learning
   loop: start from a random handful, then repeatedly ask the oracle (the generated ground truth,
   standing in for a human labeller) for the frames the model is least sure about.
2. **Conservative threshold** — from cross-validated scores of the labelled frames, the
   threshold on p(clean) is set so that a target fraction (``bad_recall``) of bad frames falls
   below it; predictions are then eroded in time (a frame is kept only if its neighbours are)
   and only clean runs of at least ``min_segment`` frames are kept.
3. **Near-duplicate removal** — every kept frame gets a grading-invariant embedding (the ranks
   of a 16×9 grey thumbnail, so brightness, gamma and tint do not matter); embeddings are
   clustered with k-means and frames are compared only within their cluster. A segment whose
   frames mostly match frames of one earlier video is a near-duplicate and is dropped.

:func:`evaluate` reports frame precision/recall of "kept = clean" and video-level duplicate
precision/recall against the ground truth (``DIR/ground_truth/<name>.json``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np

from vpt.atomic import atomic_output, atomic_write_json
from vpt.data.jsonl import RecordingError
from vpt.data.video import open_video

__all__ = [
    "CleanClassifier", "FilterResult", "VideoFeatures", "decode_small", "evaluate", "filter_videos",
    "frame_features", "load_video_features", "train_active", "ground_truth", "run_filter", "list_videos",
    "clean_segments", "find_duplicates", "median_smooth", "dedup_embedding", "conservative_threshold",
    "read_folder_features",
]

FEATURE_SIZE = (128, 72)


def decode_small(path: str | Path, size: tuple[int, int] = FEATURE_SIZE) -> np.ndarray:
    """All frames of a video scaled to ``size`` (RGB uint8 ``(N, h, w, 3)``), decoded by FFmpeg."""
    container = open_video(path)
    frames = []
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for f in container.decode(stream):
            frames.append(f.reformat(width=size[0], height=size[1], format="rgb24").to_ndarray())
    except av.error.FFmpegError as e:
        raise RecordingError(f"video is corrupt after {len(frames)} decoded frames ({e})", path=path) from e
    finally:
        container.close()
    if not frames:
        raise RecordingError("video has no decodable frames", path=path)
    return np.stack(frames)


def frame_features(frames: np.ndarray, *, chunk: int = 64) -> np.ndarray:
    """(N, h, w, 3) RGB uint8 → (N, F) float32 features for the clean classifier.

    Computed ``chunk`` frames at a time: the per-pixel temporaries (8 float planes) then stay
    in cache, about 2× faster than one pass over a whole video, with identical results.
    """
    n, h, w, _ = frames.shape
    if h % 4 or w % 4:
        raise ValueError(f"frame size must be a multiple of 4, got {w}x{h}")
    if n > chunk:
        return np.concatenate([_frame_features(frames[i : i + chunk]) for i in range(0, n, chunk)])
    return _frame_features(frames)


def _frame_features(frames: np.ndarray) -> np.ndarray:
    n, h, w, _ = frames.shape
    f = frames.astype(np.float32) * (1.0 / 255.0)
    grey = f.mean(axis=3)
    edges = np.zeros((n, h, w), np.float32)
    edges[:, :-1, :-1] = (np.abs(np.diff(grey, axis=2))[:, :-1, :] + np.abs(np.diff(grey, axis=1))[:, :, :-1]) > 0.15
    sat = (frames.max(axis=3).astype(np.int16) - frames.min(axis=3)) > 153  # saturated colours (logos, captions)
    # per pixel: R, G, B, their squares, edge, saturated → sums over a 4×4 grid of cells
    planes = np.concatenate([f, f * f, edges[..., None], sat[..., None].astype(np.float32)], axis=3)
    cells = planes.reshape(n, 4, h // 4, 4, w // 4, 8).mean(axis=(2, 4)).reshape(n, 16, 8)
    mean, sq = cells[..., :3], cells[..., 3:6]
    std = np.sqrt(np.maximum(sq - mean * mean, 0.0))
    feats = [mean.reshape(n, -1), std.reshape(n, -1), cells[..., 6], cells[..., 7]]
    # border bands: uniform rows/columns (letterbox, title cards)
    for band in (grey[:, : h // 10], grey[:, -h // 10:], grey[:, :, : w // 12], grey[:, :, -w // 12:]):
        feats.append(band.std(axis=(1, 2))[:, None])
        feats.append(band.mean(axis=(1, 2))[:, None])
    hsv = cv2.cvtColor(np.ascontiguousarray(frames.reshape(n * h, w, 3)), cv2.COLOR_RGB2HSV).reshape(n, -1, 3)
    rows = np.arange(n)[:, None]
    hue = np.bincount((rows * 16 + np.minimum(hsv[..., 0] // 12, 15)).ravel(), minlength=n * 16).reshape(n, 16) / (h * w)
    val = np.bincount((rows * 8 + hsv[..., 2] // 32).ravel(), minlength=n * 8).reshape(n, 8) / (h * w)
    feats += [hue, val, grey.std(axis=(1, 2))[:, None], edges.mean(axis=(1, 2))[:, None]]
    return np.concatenate(feats, axis=1).astype(np.float32)


def dedup_embedding(frames: np.ndarray) -> np.ndarray:
    """(N, h, w, 3) → (N, 144) unit vectors: centred ranks of a 16×9 grey thumbnail (invariant to
    any monotonic change of brightness, gamma or contrast)."""
    grey = frames.astype(np.float32).mean(axis=3)
    thumbs = np.stack([cv2.resize(g, (16, 9), interpolation=cv2.INTER_AREA) for g in grey]).reshape(len(frames), -1)
    ranks = thumbs.argsort(axis=1).argsort(axis=1).astype(np.float32)
    ranks -= ranks.mean(axis=1, keepdims=True)
    return ranks / np.linalg.norm(ranks, axis=1, keepdims=True)


@dataclass
class VideoFeatures:
    """One video's per-frame classifier features and dedup embeddings."""

    name: str
    path: Path
    features: np.ndarray
    embeddings: np.ndarray


def load_video_features(path: str | Path) -> VideoFeatures:
    frames = decode_small(path)
    return VideoFeatures(Path(path).stem, Path(path), frame_features(frames), dedup_embedding(frames))


def read_folder_features(folder: str | Path, *, workers: int = 2, skipped: dict[str, str] | None = None,
                         on_video: Callable[[str], None] | None = None) -> list[VideoFeatures]:
    """:func:`load_video_features` of every video of ``folder`` (sorted), ``workers`` at a time
    (FFmpeg and NumPy release the GIL, so threads overlap one video's decoding with another's
    features). A corrupt video is left out and named in ``skipped`` (name → reason); the others go on.

    Raises:
        RecordingError: when no video of the folder could be read.
    """
    paths = list_videos(folder)
    out: list[VideoFeatures] = []
    with ThreadPoolExecutor(max(1, workers)) as pool:
        for p, job in [(p, pool.submit(load_video_features, p)) for p in paths]:
            try:
                out.append(job.result())
            except RecordingError as e:
                if skipped is not None:
                    skipped[p.name] = str(e)
            if on_video:
                on_video(p.name)
    if not out:
        raise RecordingError(f"none of its {len(paths)} videos could be read", path=folder)
    return out


def ground_truth(video: str | Path) -> dict[str, Any] | None:
    """The ground truth kept aside for a generated web video (``ground_truth/<name>.json``), or None."""
    p = Path(video)
    gt = p.parent / "ground_truth" / f"{p.stem}.json"
    return json.loads(gt.read_text()) if gt.exists() else None


# -- the classifier -------------------------------------------------------------------------------


def _fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iters: int = 25) -> np.ndarray:
    """L2-regularised logistic regression by Newton's method; x has a bias column."""
    w = np.zeros(x.shape[1])
    reg = l2 * np.eye(x.shape[1])
    reg[-1, -1] = 1e-6
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(x @ w, -30, 30)))
        grad = x.T @ (p - y) + reg @ w
        hess = (x * (p * (1 - p))[:, None]).T @ x + reg
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-6:
            break
    return w


@dataclass
class CleanClassifier:
    """Standardised features → logistic regression → p(clean); frames with p ≥ ``threshold`` pass."""

    mean: np.ndarray
    std: np.ndarray
    weights: np.ndarray
    threshold: float = 0.5

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, l2: float = 1.0) -> CleanClassifier:
        if len(np.unique(y)) < 2:
            raise ValueError("the labelled frames must contain both clean and non-clean examples")
        mean, std = x.mean(axis=0), x.std(axis=0) + 1e-6
        xs = np.concatenate([(x - mean) / std, np.ones((len(x), 1))], axis=1)
        return cls(mean, std, _fit_logistic(xs, y.astype(np.float64), l2))

    def proba(self, x: np.ndarray) -> np.ndarray:
        xs = np.concatenate([(x - self.mean) / self.std, np.ones((len(x), 1))], axis=1)
        return 1.0 / (1.0 + np.exp(-np.clip(xs @ self.weights, -30, 30)))

    def save(self, path: str | Path) -> None:
        path = Path(path)
        with atomic_output(path) as tmp:
            np.savez(tmp, mean=self.mean, std=self.std, weights=self.weights, threshold=self.threshold)

    @classmethod
    def load(cls, path: str | Path) -> CleanClassifier:
        try:
            d = np.load(path)
            return cls(d["mean"], d["std"], d["weights"], float(d["threshold"]))
        except (OSError, KeyError, ValueError) as e:
            raise ValueError(f"{path}: not a clean-classifier file ({e})") from e


def conservative_threshold(scores: np.ndarray, labels: np.ndarray, bad_recall: float) -> float:
    """The lowest threshold on p(clean) below which at least ``bad_recall`` of bad frames fall."""
    bad = np.sort(scores[labels == 0])
    if len(bad) == 0:
        return 0.5
    k = min(len(bad) - 1, int(np.ceil(bad_recall * len(bad))) - 1)
    return float(min(0.99, bad[max(k, 0)] + 1e-6))


def _cv_scores(x: np.ndarray, y: np.ndarray, folds: int, rng: np.random.Generator, l2: float) -> np.ndarray:
    order = rng.permutation(len(x))
    scores = np.zeros(len(x))
    for k in range(folds):
        test = order[k::folds]
        train = np.setdiff1d(order, test)
        if len(np.unique(y[train])) < 2:
            scores[test] = y[train].mean()
            continue
        scores[test] = CleanClassifier.fit(x[train], y[train], l2).proba(x[test])
    return scores


def train_active(features: np.ndarray, oracle: Callable[[np.ndarray], np.ndarray], *, budget: int = 300,
                 initial: int = 50, batch: int = 50, bad_recall: float = 0.95, l2: float = 1.0,
                 seed: int = 0) -> tuple[CleanClassifier, dict[str, Any]]:
    """Active learning over a pool of frame ``features``: label ``initial`` random frames, then
    ``batch`` at a time the frames with p(clean) nearest 0.5 (drawn among the 3×batch least
    certain, for variety) until ``budget`` labels; ``oracle(indices)`` returns their labels.
    Returns the classifier (conservative threshold set) and a log of the rounds."""
    if budget < initial or initial < 2:
        raise ValueError(f"need 2 <= initial ({initial}) <= budget ({budget})")
    rng = np.random.default_rng(seed)
    n = len(features)
    labelled = rng.choice(n, size=min(initial, n), replace=False)
    labels = oracle(labelled)
    rounds = []
    while True:
        if len(np.unique(labels)) < 2:  # keep sampling at random until both classes are seen
            clf = None
        else:
            clf = CleanClassifier.fit(features[labelled], labels, l2)
        rounds.append({"labelled": int(len(labelled)), "clean_fraction": float(labels.mean())})
        if len(labelled) >= min(budget, n):
            break
        rest = np.setdiff1d(np.arange(n), labelled)
        k = min(batch, budget - len(labelled), len(rest))
        if clf is None:
            pick = rng.choice(rest, size=k, replace=False)
        else:
            unsure = rest[np.argsort(np.abs(clf.proba(features[rest]) - 0.5))[: 3 * k]]
            pick = rng.choice(unsure, size=k, replace=False)
        labelled = np.concatenate([labelled, pick])
        labels = np.concatenate([labels, oracle(pick)])
    if clf is None:
        raise ValueError("the oracle labelled every frame the same; cannot train a classifier")
    clf.threshold = conservative_threshold(_cv_scores(features[labelled], labels, 5, rng, l2), labels, bad_recall)
    return clf, {"rounds": rounds, "threshold": clf.threshold, "labelled": int(len(labelled))}


# -- segments and duplicates ----------------------------------------------------------------------


def clean_segments(keep: np.ndarray, *, erode: int = 3, min_segment: int = 20) -> list[tuple[int, int]]:
    """[start, end) runs of kept frames after eroding each run by ``erode`` frames on both sides
    (a frame next to a bad one is dropped too), keeping runs of at least ``min_segment``."""
    keep = np.asarray(keep, bool)
    segs = []
    i, n = 0, len(keep)
    while i < n:
        if not keep[i]:
            i += 1
            continue
        j = i
        while j < n and keep[j]:
            j += 1
        s, e = (i + erode if i > 0 else i), (j - erode if j < n else j)
        if e - s >= min_segment:
            segs.append((s, e))
        i = j
    return segs


def _kmeans(x: np.ndarray, k: int, rng: np.random.Generator, iters: int = 20) -> np.ndarray:
    centres = x[rng.choice(len(x), size=k, replace=False)]
    assign = np.zeros(len(x), np.int64)
    for _ in range(iters):
        assign = np.argmax(x @ centres.T, axis=1)  # unit vectors: nearest = largest dot product
        new = np.stack([x[assign == c].mean(axis=0) if (assign == c).any() else centres[c] for c in range(k)])
        new /= np.linalg.norm(new, axis=1, keepdims=True) + 1e-9
        if np.allclose(new, centres):
            break
        centres = new
    return assign


def find_duplicates(videos: Sequence[VideoFeatures], segments: dict[str, list[tuple[int, int]]], *,
                    similarity: float = 0.95, min_match: float = 0.5, seed: int = 0) -> dict[str, dict[int, str]]:
    """For each video, the kept segments (by index) that duplicate an earlier video (by name
    order): ≥ ``min_match`` of the segment's frames have a frame of that video with cosine
    similarity ≥ ``similarity`` in the same k-means cluster."""
    rng = np.random.default_rng(seed)
    rows, owner, seg_of = [], [], []
    order = sorted(videos, key=lambda v: v.name)
    for vi, v in enumerate(order):
        for si, (s, e) in enumerate(segments.get(v.name, [])):
            rows.append(v.embeddings[s:e])
            owner += [vi] * len(rows[-1])
            seg_of += [si] * len(rows[-1])
    if not rows:
        return {}
    emb = np.concatenate(rows)
    owner_a, seg_a = np.array(owner), np.array(seg_of)
    k = max(1, min(len(emb) // 40, int(np.sqrt(len(emb)))))
    assign = _kmeans(emb, k, rng)
    # best match of each frame in each *earlier* video, within its cluster
    match = {}  # (frame index) -> set of earlier videos it matches
    for c in range(k):
        idx = np.nonzero(assign == c)[0]
        if len(idx) < 2:
            continue
        sims = emb[idx] @ emb[idx].T
        for a_pos, a in enumerate(idx):
            hits = idx[(sims[a_pos] >= similarity) & (owner_a[idx] < owner_a[a])]
            if len(hits):
                match[int(a)] = set(owner_a[hits].tolist())
    out: dict[str, dict[int, str]] = {}
    for vi, v in enumerate(order):
        for si in range(len(segments.get(v.name, []))):
            frames = np.nonzero((owner_a == vi) & (seg_a == si))[0]
            if len(frames) == 0:
                continue
            counts: dict[int, int] = {}
            for f in frames:
                for o in match.get(int(f), ()):
                    counts[o] = counts.get(o, 0) + 1
            if counts:
                best = max(counts, key=lambda o: counts[o])
                if counts[best] >= min_match * len(frames):
                    out.setdefault(v.name, {})[si] = order[best].name
    return out


# -- the whole filter ------------------------------------------------------------------------------


@dataclass
class FilterResult:
    """Per video: kept segments, segments dropped as near-duplicates (and of what), scores."""

    segments: dict[str, list[tuple[int, int]]]
    duplicates: dict[str, dict[int, str]]
    frames: dict[str, int]
    keep_mask: dict[str, np.ndarray] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        return {name: {"frames": self.frames[name],
                       "segments": [list(s) for i, s in enumerate(segs) if i not in self.duplicates.get(name, {})],
                       "duplicate_segments": [{"segment": list(segs[i]), "duplicate_of": of}
                                              for i, of in sorted(self.duplicates.get(name, {}).items())]}
                for name, segs in self.segments.items()}


def median_smooth(x: np.ndarray, window: int) -> np.ndarray:
    """Running median over ``window`` frames (odd), edges padded with the end values."""
    if window <= 1 or len(x) == 0:
        return x
    r = window // 2
    padded = np.concatenate([np.full(r, x[0]), x, np.full(r, x[-1])])
    return np.median(np.lib.stride_tricks.sliding_window_view(padded, window), axis=1)


def filter_videos(videos: Sequence[VideoFeatures], clf: CleanClassifier, *, smooth: int = 5, erode: int = 3,
                  min_segment: int = 20, similarity: float = 0.95) -> FilterResult:
    """Classify every frame (scores median-smoothed over ``smooth`` frames), keep clean segments
    (see :func:`clean_segments`), and find near-duplicate segments."""
    segments, masks, frames = {}, {}, {}
    for v in videos:
        score = median_smooth(clf.proba(v.features), smooth)
        segs = clean_segments(score >= clf.threshold, erode=erode, min_segment=min_segment)
        mask = np.zeros(len(v.features), bool)
        for s, e in segs:
            mask[s:e] = True
        segments[v.name], masks[v.name], frames[v.name] = segs, mask, len(v.features)
    dups = find_duplicates(videos, segments, similarity=similarity)
    for name, d in dups.items():
        for si in d:
            s, e = segments[name][si]
            masks[name][s:e] = False
    return FilterResult(segments, dups, frames, masks)


def evaluate(result: FilterResult, truths: dict[str, dict[str, Any]]) -> dict[str, float]:
    """Against the ground truth: frame precision/recall of "kept = clean" (before dedup), the
    share of bad frames rejected, and frame precision/recall of near-duplicate removal (None
    when there was nothing to find / nothing dropped)."""
    tp = fp = fn = tn = 0
    for name, truth in truths.items():
        clean = np.asarray(truth["clean"], bool)
        kept = np.zeros(len(clean), bool)
        for s, e in result.segments.get(name, []):
            kept[s:e] = True
        n = min(len(clean), len(kept))
        clean, kept = clean[:n], kept[:n]
        tp += int((kept & clean).sum())
        fp += int((kept & ~clean).sum())
        fn += int((~kept & clean).sum())
        tn += int((~kept & ~clean).sum())
    # near-duplicates, frame by frame: a kept frame of a re-upload is a true duplicate when the
    # gameplay frame it shows is also kept in the video it re-uploads
    kept_game: dict[str, set[int]] = {}
    for name, truth in truths.items():
        gi = np.asarray(truth.get("gameplay_index", []), np.int64)
        mask = result.keep_mask.get(name, np.zeros(0, bool))[: len(gi)]
        kept_game[name] = set(gi[: len(mask)][mask].tolist()) - {-1}
    dtp = dfp = dfn = 0
    for name, truth in truths.items():
        gi = np.asarray(truth.get("gameplay_index", []), np.int64)
        src = truth.get("duplicate_of")
        dropped = np.zeros(len(gi), bool)
        for si in result.duplicates.get(name, {}):
            s, e = result.segments[name][si]
            dropped[s:e] = True
        before = np.zeros(len(gi), bool)
        for s, e in result.segments.get(name, []):
            before[s:e] = True
        true_dup = before & np.isin(gi, list(kept_game.get(src, ()))) if src in kept_game else np.zeros(len(gi), bool)
        dtp += int((dropped & true_dup).sum())
        dfp += int((dropped & ~true_dup).sum())
        dfn += int((~dropped & true_dup).sum())
    return {
        "frames": tp + fp + fn + tn,
        "clean_precision": tp / max(1, tp + fp), "clean_recall": tp / max(1, tp + fn),
        "bad_recall": tn / max(1, tn + fp),
        "duplicate_frames": dtp + dfn, "duplicate_frames_dropped": dtp + dfp,
        "duplicate_precision": dtp / (dtp + dfp) if dtp + dfp else None,
        "duplicate_recall": dtp / (dtp + dfn) if dtp + dfn else None,
    }


def list_videos(folder: str | Path) -> list[Path]:
    """The mp4 files of a folder (sorted); a missing or empty folder raises."""
    d = Path(folder)
    if not d.is_dir():
        raise ValueError(f"{d}: not a folder of videos")
    videos = sorted(p for p in d.glob("*.mp4") if not p.name.startswith("."))
    if not videos:
        raise ValueError(f"{d}: no .mp4 files")
    return videos


def run_filter(videos_dir: str | Path, out: str | Path, *, train_dir: str | Path | None = None,
               model: str | Path | None = None, budget: int = 300, batch: int = 50, bad_recall: float = 0.95,
               similarity: float = 0.95, seed: int = 0, workers: int = 2,
               on_video: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Filter every video of ``videos_dir`` and write ``out/filter.json`` (kept segments,
    duplicates, the classifier's training log, videos that could not be read, and metrics where
    ground truth exists).

    The classifier comes from ``model`` (a saved ``classifier.npz``) or is trained by active
    learning on ``train_dir``'s videos with their ground truth as the oracle, then saved as
    ``out/classifier.npz``. When ``train_dir`` is ``videos_dir`` each video is decoded once.
    Corrupt videos are skipped and listed under ``skipped``.
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    skipped: dict[str, str] = {}
    read = partial(read_folder_features, workers=workers, skipped=skipped, on_video=on_video)

    log: dict[str, Any] = {}
    train: list[VideoFeatures] = []
    if model is not None:
        clf = CleanClassifier.load(model)
    else:
        if train_dir is None:
            raise ValueError("give --train (videos with ground truth to label from) or --model")
        train = read(train_dir)
        truths = [ground_truth(v.path) for v in train]
        missing = [v.path.name for v, t in zip(train, truths) if t is None]
        if missing:
            raise ValueError(f"{train_dir}: no ground truth for {missing[:3]} (expected ground_truth/<name>.json)")
        pool = np.concatenate([v.features for v in train])
        labels = np.concatenate([np.asarray(t["clean"], np.int64)[: len(v.features)]
                                 for v, t in zip(train, truths)])
        if len(labels) != len(pool):
            raise ValueError(f"{train_dir}: ground truth is shorter than the videos")
        clf, log = train_active(pool, lambda idx: labels[idx], budget=budget, batch=batch, bad_recall=bad_recall,
                                seed=seed)
        clf.save(out / "classifier.npz")
    if train and Path(train_dir).resolve() == Path(videos_dir).resolve():
        videos = train  # the classifier's own videos: already decoded
    else:
        videos = read(videos_dir)
    result = filter_videos(videos, clf, similarity=similarity)
    truths_eval = {v.name: t for v in videos if (t := ground_truth(v.path)) is not None}
    report = {"videos": result.to_dict(), "skipped": skipped, "classifier": {**log, "threshold": clf.threshold},
              "metrics": evaluate(result, truths_eval) if truths_eval else None}
    atomic_write_json(out / "filter.json", report)
    return report

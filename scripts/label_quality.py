"""How right label files' camera is, against the recordings' truth, on screen and world frames
(docs/results §2, session 27: the IDM's plain labels against its mirror-averaged ones).

For each label folder, over the label files whose video has a contractor ``.jsonl`` beside it
(the first ``--videos`` by name, the same names in every folder): the share of frames with both
camera bins right, the mean negative log-likelihood of the true bins under the label files'
``camera_probs`` (what ``vpt bc train --soft-camera`` trains towards; summed over pitch and yaw)
and the mean probability of the true bin, split by whether a screen was open (``isGuiOpen``).

    .venv/bin/python scripts/label_quality.py LABELS [LABELS ...] [--videos N]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from vpt.data.labels import LABEL_SUFFIX, read_labels

sys.path.insert(0, str(Path(__file__).parent))  # the scripts are not a package
from oracle_labels import label_truth  # noqa: E402


def label_quality(folder: str | Path, names: list[str]) -> dict[str, dict[str, float]]:
    """``{"screens"|"world": {"frames", "bins_right", "nll", "p_true"}}`` over the label files
    ``names`` (relative to ``folder``)."""
    rows: dict[str, list[np.ndarray]] = {"screens": [], "world": []}
    for name in names:
        lab = read_labels(Path(folder) / name)
        _, truth, gui = label_truth(Path(folder) / name, lab)
        p_true = np.take_along_axis(lab["camera_probs"], truth[..., None], -1)[..., 0]  # (T, 2)
        per_frame = np.stack([(lab["camera_bins"] == truth).all(1), -np.log(np.clip(p_true, 1e-6, 1.0)).sum(1),
                              p_true.mean(1)], 1)  # fmt: skip
        rows["screens"].append(per_frame[gui])
        rows["world"].append(per_frame[~gui])
    out = {}
    for kind, parts in rows.items():
        v = np.concatenate(parts) if parts else np.zeros((0, 3))
        means = v.mean(0) if len(v) else np.full(3, np.nan)
        out[kind] = {"frames": len(v), "bins_right": float(means[0]), "nll": float(means[1]), "p_true": float(means[2])}
    return out


def common_names(folders: list[str], videos: int = 0) -> list[str]:
    """Label files present in every folder, sorted, the first ``videos`` (0: all); raises
    ``ValueError`` for a folder without label files."""
    sets = []
    for f in folders:
        sets.append({str(p.relative_to(f)) for p in Path(f).rglob("*" + LABEL_SUFFIX)})
        if not sets[-1]:
            raise ValueError(f"no label files (*{LABEL_SUFFIX}) in {f}")
    names = sorted(set.intersection(*sets))
    return names[:videos] if videos else names


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("folders", nargs="+")
    ap.add_argument("--videos", type=int, default=0, help="the first N label files common to all folders (0: all)")
    a = ap.parse_args()
    try:
        names = common_names(a.folders, a.videos)
    except ValueError as e:
        raise SystemExit(f"error: {e}") from None
    if not names:
        raise SystemExit("error: no label file is in every folder (compare labels of the same videos)")
    print(f"{len(names)} label files in each folder\n")
    print("| labels | frames | screens: both bins right | NLL of true bins | p(true bin) | world: both bins right | NLL | p(true bin) |")
    print("| --- " * 8 + "|")
    for f in a.folders:
        q = label_quality(f, names)
        s, w = q["screens"], q["world"]
        print(f"| {f} | {s['frames']} + {w['frames']} | {s['bins_right']:.3f} | {s['nll']:.3f} | {s['p_true']:.3f} | "
              f"{w['bins_right']:.3f} | {w['nll']:.3f} | {w['p_true']:.3f} |")


if __name__ == "__main__":
    main()

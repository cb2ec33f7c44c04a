"""Label-file ablations: copy IDM label files with some frames' camera labels replaced by the truth
(docs/results §2, session 24).

The videos' contractor ``.jsonl`` (beside each label file's ``meta["video"]``) holds the true
camera. ``--where screens`` replaces it on every frame with a screen open, ``--where off`` only
where the cursor is also off the screen's panel (the simulator's layout at ``--gui-scale``).
``camera``, ``camera_bins`` and ``camera_probs`` (one-hot) change; the buttons stay the IDM's.
Training the same recipe on the copies and on the originals says what the IDM's camera labels
there cost. Finished copies are skipped, so a killed run resumes.

    .venv/bin/python scripts/oracle_labels.py SRC_LABELS DST_LABELS --where screens|off [--gui-scale 2]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from vpt import actions
from vpt.atomic import atomic_output
from vpt.data.jsonl import jsonl_line_to_env_action, read_jsonl
from vpt.data.labels import LABEL_SUFFIX, read_labels
from vpt.data.stream import screen_cursor
from vpt.env.sim.gui import inside_screen


def label_truth(label_file: Path, lab: dict) -> tuple[list[dict], np.ndarray, np.ndarray]:
    """The contractor ``.jsonl`` beside a label file's video: its lines, the true camera bins
    (T, 2) and whether a screen was open (T,); raises if the frame counts differ."""
    lines = read_jsonl(Path(lab["meta"]["video"]).with_suffix(".jsonl"))
    if len(lines) != len(lab["camera"]):
        raise ValueError(f"{label_file}: {len(lab['camera'])} labels but {len(lines)} jsonl lines")
    camera = np.array([jsonl_line_to_env_action(ln)[0]["camera"] for ln in lines], dtype=np.float64).reshape(-1, 2)
    return lines, actions.camera_to_bins(camera), np.array([bool(ln.get("isGuiOpen")) for ln in lines])


def oracle_labels(src: str | Path, dst: str | Path, where: str, gui_scale: int = 2) -> dict[str, int]:
    """Write the copies; returns counts of ``frames``, ``selected`` frames and ``changed`` labels."""
    if where not in ("screens", "off"):
        raise ValueError(f"where must be 'screens' or 'off', got {where!r}")
    src, dst = Path(src), Path(dst)
    counts = {"files": 0, "frames": 0, "selected": 0, "changed": 0}
    for lf in sorted(src.rglob("*" + LABEL_SUFFIX)):
        out = dst / lf.relative_to(src)
        if out.exists():
            continue
        lab = read_labels(lf)
        lines, true_bins, chosen = label_truth(lf, lab)
        if where == "off":
            chosen &= np.array([not (g and inside_screen(*screen_cursor(ln), gui_scale=gui_scale)) for g, ln in zip(chosen, lines)])
        bins = lab["camera_bins"].copy()
        counts["changed"] += int((bins[chosen] != true_bins[chosen]).any(1).sum())
        bins[chosen] = true_bins[chosen]
        buttons, camera = actions.factored_to_joint(lab["factored_buttons"], bins)
        probs = lab["camera_probs"].copy()
        probs[chosen] = np.eye(actions.N_CAMERA_BINS, dtype=np.float32)[true_bins[chosen]]
        arrays = {k: v for k, v in lab.items() if k != "meta"}
        arrays.update(buttons=buttons, camera=camera, camera_bins=bins, camera_probs=probs)
        with atomic_output(out) as tmp:
            np.savez(tmp, **arrays, meta=np.array(json.dumps({**lab["meta"], "oracle_camera": where})))
        counts["files"] += 1
        counts["frames"] += len(chosen)
        counts["selected"] += int(chosen.sum())
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--where", required=True, choices=("screens", "off"))
    ap.add_argument("--gui-scale", type=int, default=2)
    args = ap.parse_args()
    print(json.dumps(oracle_labels(args.src, args.dst, args.where, args.gui_scale)))


if __name__ == "__main__":
    main()

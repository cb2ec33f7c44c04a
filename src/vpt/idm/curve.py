"""IDM accuracy against hours of labelled training data (the VPT paper's data-scaling curve).

One IDM run per data budget, identical in everything else (architecture, steps, batch, seed,
held-out recordings), each in ``OUT/hours_<h>``: a run is resumable and a finished run is not
trained again, so several processes may share ``OUT`` with different budgets (one core each is
the fastest way to use a small CPU). :func:`write_curve` then tabulates every finished run in
``OUT`` as ``curve.md``, ``curve.json`` and ``curve.png``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from vpt.idm.train import IDMTrainConfig, train_idm

__all__ = ["run_curve", "read_curve", "write_curve"]

#: Held-out metrics shown in the table, with their column titles.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("val/keypress_accuracy", "keypress accuracy"),
    ("val/button_accuracy", "per-button accuracy"),
    ("val/camera_bin_accuracy", "camera bin accuracy"),
    ("val/camera_r2", "camera R²"),
    ("val/camera_r2_mean", "camera R², posterior mean"),
    ("val_world/camera_r2_pitch", "world pitch R²"),
    ("val_world/camera_r2_yaw", "world yaw R²"),
    ("val_world/keypress_accuracy", "world keypress accuracy"),
    ("val_gui/camera_r2", "screen camera R²"),
)


def _point_dir(out: Path, hours: float) -> Path:
    return out / f"hours_{hours:g}"


def run_curve(base: IDMTrainConfig, hours: Sequence[float], *,
              progress: Callable[[float, int, dict[str, float]], None] | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """Train (or resume) one run per budget in ``hours`` (0: all training recordings) under
    ``base.out``; returns their summaries. Runs whose ``summary.json`` shows ``base.steps`` steps
    are left as they are."""
    out = Path(base.out)
    summaries = []
    for h in hours:
        if h < 0:
            raise ValueError(f"hours must be >= 0 (0: all data), got {h}")
        cfg = replace(base, out=str(_point_dir(out, h)), max_hours=h)
        done = Path(cfg.out) / "summary.json"
        if not (done.exists() and json.loads(done.read_text()).get("steps", 0) >= cfg.steps):
            train_idm(cfg, progress=(lambda s, logs, h=h: progress(h, s, logs)) if progress else None)
        summaries.append(json.loads(done.read_text()))
    return summaries


def read_curve(out: str | Path) -> list[dict[str, Any]]:
    """The finished runs in ``out``, by hours of training data."""
    rows = []
    for d in sorted(Path(out).glob("hours_*")):
        s = d / "summary.json"
        if s.exists():
            rows.append({"run": d.name, **json.loads(s.read_text())})
    return sorted(rows, key=lambda r: r["train_hours"])


def write_curve(out: str | Path, *, command: str = "") -> Path:
    """``curve.md`` (table), ``curve.json`` and ``curve.png`` for the finished runs in ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    out = Path(out)
    rows = read_curve(out)
    if not rows:
        raise ValueError(f"no finished IDM runs (hours_*/summary.json) in {out}")
    (out / "curve.json").write_text(json.dumps(rows, indent=1))
    lines = ["# IDM accuracy against hours of training data", ""]
    if command:
        lines += ["Reproduce: `" + command + "`", ""]
    lines += ["| hours of training data | frames | steps | " + " | ".join(t for _, t in COLUMNS) + " |",
              "| --- | --- | --- | " + " | ".join("---" for _ in COLUMNS) + " |"]  # fmt: skip
    for r in rows:
        cells = " | ".join(f"{r.get(k, float('nan')):.3f}" for k, _ in COLUMNS)
        lines.append(f"| {r['train_hours']:.3f} | {r['train_frames']} | {r['steps']} | {cells} |")
    (out / "curve.md").write_text("\n".join(lines) + "\n")

    fig, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    hours = [r["train_hours"] for r in rows]
    for k, title in COLUMNS[:3]:
        axes[0].plot(hours, [r.get(k, float("nan")) for r in rows], marker="o", label=title)
    axes[0].set(xscale="log", xlabel="hours of labelled training data", ylim=(0, 1.02), title="IDM held-out accuracy")
    axes[0].legend(fontsize=7)
    for k, title in (("val/camera_r2", "all frames"), ("val_world/camera_r2_pitch", "world pitch"),
                     ("val_world/camera_r2_yaw", "world yaw"), ("val_gui/camera_r2", "screens")):  # fmt: skip
        axes[1].plot(hours, [r.get(k, float("nan")) for r in rows], marker="o", label=title)
    axes[1].set(xscale="log", xlabel="hours of labelled training data", title="camera R² (degrees)")
    axes[1].legend(fontsize=7)
    for ax in axes:  # label the budgets themselves, not log-scale minor ticks
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xticks(hours, [f"{h:.3g}" for h in hours])
    fig.tight_layout()
    fig.savefig(out / "curve.png", dpi=110)
    plt.close(fig)
    return out / "curve.md"

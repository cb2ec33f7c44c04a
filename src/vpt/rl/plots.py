"""Plots of RL runs: reward over episodes and per-item success over training.

Every run (ours or the SB3 baseline) writes ``episodes.jsonl``: one line per finished episode
with ``env_steps`` (when it ended), ``return`` and ``items`` (names first obtained, in order).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["read_episodes", "item_success", "compare_table", "plot_runs"]


def read_episodes(run: str | Path) -> list[dict[str, Any]]:
    """The episodes of a run folder (or of an ``episodes.jsonl`` file)."""
    p = Path(run)
    p = p / "episodes.jsonl" if p.is_dir() else p
    return [json.loads(line) for line in p.read_text().splitlines() if line.strip()] if p.exists() else []


def _names(item: str) -> set[str]:
    """The env item names that count as ``item``: a reward-sequence name ("log") counts every
    name it matches ("oak_log"), as the reward does; episodes list the env's item names."""
    from vpt.env.tasks import ITEM_SEQUENCE

    return next(({r.item, *r.matches} for r in ITEM_SEQUENCE if r.item == item), {item})


def item_success(episodes: Sequence[dict[str, Any]], items: Sequence[str]) -> dict[str, float]:
    """Fraction of episodes that obtained each item at least once."""
    n = max(1, len(episodes))
    names = {it: _names(it) for it in items}
    return {it: sum(not names[it].isdisjoint(e.get("items", [])) for e in episodes) / n for it in items}


def _rolling(x: np.ndarray, w: int) -> np.ndarray:
    if len(x) == 0:
        return x
    w = max(1, min(w, len(x)))
    c = np.cumsum(np.r_[0.0, x])
    end = np.arange(1, len(x) + 1)
    start = np.maximum(0, end - w)
    return (c[end] - c[start]) / (end - start)


def plot_runs(runs: dict[str, str | Path], out: str | Path, *, items: Sequence[str] = ("log", "planks", "crafting_table"), window: int = 20) -> Path:
    """One PNG: return over episodes (rolling mean) and per-item success over env steps, per run."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, axes = plt.subplots(1, 1 + len(items), figsize=(4.2 * (1 + len(items)), 3.4))
    for name, run in runs.items():
        eps = read_episodes(run)
        if not eps:
            continue
        ret = np.array([e["return"] for e in eps], dtype=float)
        axes[0].plot(np.arange(1, len(ret) + 1), _rolling(ret, window), label=name)
        steps = np.array([e.get("env_steps", i) for i, e in enumerate(eps)])
        for ax, it in zip(axes[1:], items):
            names = _names(it)
            got = np.array([not names.isdisjoint(e.get("items", [])) for e in eps], dtype=float)
            ax.plot(steps, _rolling(got, window), label=name)
    axes[0].set(title="reward over episodes", xlabel="episode", ylabel=f"return (mean of {window})")
    for ax, it in zip(axes[1:], items):
        ax.set(title=f"obtained {it}", xlabel="environment steps", ylabel="success rate", ylim=(-0.02, 1.02))
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(5))  # 76,800 steps: "0, 20k, 40k, ..."
        ax.xaxis.set_major_formatter(matplotlib.ticker.EngFormatter(sep=""))
    if axes[0].get_legend_handles_labels()[0]:  # no finished episode yet: nothing to label
        axes[0].legend(fontsize=8)
    fig.tight_layout()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def compare_table(runs: dict[str, str | Path], *, items: Sequence[str] = ("log", "planks", "stick", "crafting_table"),
                  max_env_steps: int | None = None) -> str:  # fmt: skip
    """A Markdown table comparing runs on the episodes that ended within ``max_env_steps``
    (default: the fewest steps any run reached, so that every run is judged at equal
    environment steps): episodes, mean return (all, and the last half), per-item success."""
    table = {name: read_episodes(run) for name, run in runs.items()}
    if max_env_steps is None:
        reached = [max((e.get("env_steps", 0) for e in eps), default=0) for eps in table.values()]
        max_env_steps = min(reached) if reached else 0
    lines = [f"Episodes that ended within {max_env_steps:,} environment steps of each run.", "",
             "| run | episodes | mean return | mean return, last half | " + " | ".join(items) + " |",
             "| --- | --- | --- | --- | " + " | ".join("---" for _ in items) + " |"]  # fmt: skip
    for name, eps in table.items():
        eps = [e for e in eps if e.get("env_steps", 0) <= max_env_steps]
        ret = [e["return"] for e in eps]
        late = ret[len(ret) // 2 :]
        succ = item_success(eps, items)
        cells = " | ".join(f"{succ[it]:.0%}" for it in items)
        lines.append(f"| {name} | {len(eps)} | {np.mean(ret) if ret else 0:.3f} | {np.mean(late) if late else 0:.3f} | {cells} |")
    return "\n".join(lines) + "\n"

"""Evaluating a policy on a task: per-item success rates, returns, house scores, videos.

:func:`evaluate` is the yardstick every stage reports (``vpt eval``, the pipeline, RL): it plays
``episodes`` episodes with several environments at once and returns an :class:`EvalReport`.
:func:`write_report` turns a report into Markdown + PNG plots.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np

from vpt.actions import complete_batched
from vpt.agent.agent import Agent
from vpt.atomic import atomic_write_json
from vpt.data.video import VideoWriter

__all__ = ["EvalReport", "evaluate", "write_report", "TECH_TREE"]

#: Items whose success rate is reported, in tech-tree order.
TECH_TREE: tuple[str, ...] = ("log", "planks", "stick", "crafting_table", "wooden_pickaxe", "cobblestone", "stone_pickaxe",
                              "furnace", "coal", "torch", "iron_ore", "iron_ingot", "iron_pickaxe", "diamond", "diamond_pickaxe")  # fmt: skip


@dataclass
class EvalReport:
    """What a policy did over ``len(returns)`` episodes of ``task``."""

    task: str
    returns: list[float] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    items: list[list[str]] = field(default_factory=list)
    """Per episode, the items obtained (task names when the task reports them, else env names)."""
    house_scores: list[float] = field(default_factory=list)
    videos: list[str] = field(default_factory=list)
    gui_fraction: list[float] = field(default_factory=list)
    """Per episode, the fraction of steps acted on with a GUI screen open (when the env says)."""
    inventory_presses: list[int] = field(default_factory=list)
    """Per episode, steps with the inventory key down."""
    first_inventory: list[int] = field(default_factory=list)
    """Per episode, the first step with the inventory key down (-1: never)."""
    first_log: list[int] = field(default_factory=list)
    """Per episode, the step its first log was obtained (-1: never; tasks with the item reward)."""
    cursor_off_screen: list[float] = field(default_factory=list)
    """Per episode with a screen open at some step, the fraction of those steps whose cursor was
    off the screen's panel, where no click does anything (when the env says)."""

    @property
    def mean_return(self) -> float:
        return float(np.mean(self.returns)) if self.returns else 0.0

    def item_success(self, items: Sequence[str] | None = None) -> dict[str, float]:
        """Fraction of episodes that obtained each item at least once."""
        names = list(items) if items is not None else sorted({i for ep in self.items for i in ep})
        n = max(1, len(self.items))
        return {it: sum(it in ep for ep in self.items) / n for it in names}

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"task": self.task, "episodes": len(self.returns), "mean_return": self.mean_return,
                               "item_success": self.item_success(_report_items(self))}  # fmt: skip
        if self.house_scores:
            out["mean_house_score"] = float(np.mean(self.house_scores))
        out["behaviour"] = self.behaviour()
        return out

    def behaviour(self) -> dict[str, float | None]:
        """How the policy uses the inventory: a BC prior that opens it before it has anything to
        craft wastes its episode in the GUI (``docs/results``, section 2)."""
        firsts = [f for f in self.first_inventory if f >= 0]
        early = [0 <= f and (g < 0 or f < g) for f, g in zip(self.first_inventory, self.first_log)]
        return {
            "gui_fraction": float(np.mean(self.gui_fraction)) if self.gui_fraction else None,
            "inventory_presses_per_episode": float(np.mean(self.inventory_presses)) if self.inventory_presses else None,
            "first_inventory_step_median": float(np.median(firsts)) if firsts else None,
            "inventory_before_first_log": float(np.mean(early)) if early else None,
            "cursor_off_screen": float(np.mean(self.cursor_off_screen)) if self.cursor_off_screen else None,
        }


def _report_items(report: EvalReport) -> list[str]:
    seen = {i for ep in report.items for i in ep}
    tree = [t for t in TECH_TREE if t in seen or report.task.endswith("ObtainDiamondPickaxe-v0")]
    return tree + sorted(seen - set(tree))


def evaluate(
    agent: Agent,
    task: str,
    *,
    episodes: int = 10,
    num_envs: int = 2,
    max_steps: int | None = None,
    env_kwargs: dict[str, Any] | None = None,
    seed: int = 0,
    deterministic: bool = False,
    video_dir: str | Path | None = None,
    videos: int = 2,
) -> EvalReport:
    """Play ``episodes`` episodes of ``task`` (a gymnasium id) with ``agent``.

    ``max_steps`` caps episode length (the task's own limit otherwise). The first ``videos``
    episodes of environment 0 are written as mp4 to ``video_dir``.
    """
    import vpt.env  # noqa: F401
    from vpt.env.tasks import TASK_IDS

    kwargs = dict(env_kwargs or {})
    if max_steps is not None:
        kwargs["max_steps" if task in TASK_IDS else "max_episode_steps"] = max_steps
    envs = gymnasium.vector.SyncVectorEnv(
        [lambda: gymnasium.make(task, **kwargs) for _ in range(num_envs)],
        autoreset_mode=gymnasium.vector.AutoresetMode.SAME_STEP,
    )
    report = EvalReport(task)
    obs, _ = envs.reset(seed=seed)
    agent.reset(num_envs)
    first = np.ones(num_envs, dtype=bool)
    ret = np.zeros(num_envs)
    length = np.zeros(num_envs, dtype=int)
    gui_steps, presses = np.zeros(num_envs, dtype=int), np.zeros(num_envs, dtype=int)
    first_press, first_log = np.full(num_envs, -1), np.full(num_envs, -1)
    gui_seen = np.zeros(num_envs, dtype=bool)  # the screen state of the observation acted on
    on_screen = np.zeros(num_envs, dtype=bool)  # ... and whether its cursor was over the panel
    off_steps = np.zeros(num_envs, dtype=int)
    has_cursor = False
    has_gui = False
    started = num_envs  # episodes begun
    active = np.ones(num_envs, dtype=bool)
    writer: VideoWriter | None = None
    video_dir = Path(video_dir) if video_dir is not None else None

    def open_video() -> VideoWriter | None:
        if video_dir is None or len(report.videos) >= videos:
            return None
        h, w = obs["pov"].shape[1:3]
        path = video_dir / f"episode{len(report.videos):03d}.mp4"
        report.videos.append(str(path))
        return VideoWriter(path, w - w % 2, h - h % 2)

    writer = open_video()
    while active.any():
        if writer is not None:
            f = obs["pov"][0]
            writer.write(f[: f.shape[0] - f.shape[0] % 2, : f.shape[1] - f.shape[1] % 2])
        action = complete_batched(agent.get_actions(obs, first=first, deterministic=deterministic), num_envs)
        inventory = np.asarray(action["inventory"]).reshape(num_envs).astype(bool) & active
        first_press = np.where((first_press < 0) & inventory, length, first_press)
        presses += inventory
        gui_steps += gui_seen & active
        off_steps += gui_seen & ~on_screen & active
        obs, reward, terminated, truncated, info = envs.step(action)
        ret += reward * active
        length += active
        if "gui_open" in info:  # a new episode's reset info says False
            has_gui, gui_seen = True, np.asarray(info["gui_open"], dtype=bool)
        if "cursor_on_screen" in info:
            has_cursor, on_screen = True, np.asarray(info["cursor_on_screen"], dtype=bool)
        done = (terminated | truncated) & active
        final = info.get("final_info", info)
        for src, rows in ((info, ~done), (final, done)):  # an ended episode's last items are in final_info
            logs = src.get("task_items", {}).get("log")
            if logs is not None:
                first_log = np.where(rows & active & (first_log < 0) & (np.asarray(logs) > 0), length - 1, first_log)
        for i in np.nonzero(done)[0]:
            ep_items = final.get("task_obtained", final.get("items_obtained"))
            report.items.append(list(ep_items[i]) if ep_items is not None else [])
            report.returns.append(float(ret[i]))
            report.lengths.append(int(length[i]))
            if "house_score" in final:
                report.house_scores.append(float(final["house_score"][i]))
            if has_gui:
                report.gui_fraction.append(float(gui_steps[i] / max(1, length[i])))
            if has_cursor and gui_steps[i] > 0:
                report.cursor_off_screen.append(float(off_steps[i] / gui_steps[i]))
            report.inventory_presses.append(int(presses[i]))
            report.first_inventory.append(int(first_press[i]))
            if "task_items" in final:
                report.first_log.append(int(first_log[i]))
            ret[i], length[i], gui_steps[i], presses[i], first_press[i], first_log[i] = 0.0, 0, 0, 0, -1, -1
            off_steps[i] = 0
            if i == 0 and writer is not None:
                writer.close()
                writer = open_video()
            if started < episodes:
                started += 1
            else:
                active[i] = False
        first = terminated | truncated
    if writer is not None:
        writer.abort()
        report.videos.pop()
    envs.close()
    return report


def write_report(report: EvalReport, out: str | Path, *, title: str | None = None) -> Path:
    """Write ``report.md``, plots (``items.png``, ``returns.png``) and, last and atomically,
    ``report.json`` to ``out``: a ``report.json`` there means a finished evaluation."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    summary = report.summary()
    success = summary["item_success"]
    fig, ax = plt.subplots(figsize=(max(4, 0.55 * len(success) + 1), 3.2))
    ax.bar(range(len(success)), list(success.values()), color="#4c72b0")
    ax.set_xticks(range(len(success)), list(success.keys()), rotation=45, ha="right")
    ax.set(ylim=(0, 1.02), ylabel="episodes that obtained it", title=f"{report.task}: per-item success")
    fig.tight_layout()
    fig.savefig(out / "items.png", dpi=110)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    ax.hist(report.returns, bins=min(20, max(3, len(report.returns))), color="#55a868")
    ax.set(xlabel="episode return", ylabel="episodes", title=f"mean return {report.mean_return:.2f}")
    fig.tight_layout()
    fig.savefig(out / "returns.png", dpi=110)
    plt.close(fig)
    lines = [f"# {title or 'Evaluation'}: {report.task}", "",
             f"{len(report.returns)} episodes, mean return **{report.mean_return:.3f}**"
             + (f", mean house score **{np.mean(report.house_scores):.3f}**" if report.house_scores else ""), "",
             "| item | success |", "| --- | --- |"]  # fmt: skip
    lines += [f"| {k} | {v:.0%} |" for k, v in success.items()]
    b = summary["behaviour"]
    if b["inventory_presses_per_episode"] is not None:
        gui = f"a GUI open on {b['gui_fraction']:.0%} of steps; " if b["gui_fraction"] is not None else ""
        first = b["first_inventory_step_median"]
        lines += ["", f"Behaviour: {gui}the inventory key down on {b['inventory_presses_per_episode']:.1f} steps per episode"
                  + (f", first at step {first:.0f} (median)." if first is not None else ", never.")]  # fmt: skip
        if b["inventory_before_first_log"] is not None:
            lines[-1] += f" {b['inventory_before_first_log']:.0%} of episodes opened it before their first log."
        if b["cursor_off_screen"] is not None:
            lines[-1] += f" With a screen open, the cursor was off its panel on {b['cursor_off_screen']:.0%} of those steps."
    lines += ["", "![per-item success](items.png) ![returns](returns.png)", ""]
    lines += [f"- video: [{Path(v).name}]({Path(v).relative_to(out) if Path(v).is_relative_to(out) else v})" for v in report.videos]
    (out / "report.md").write_text("\n".join(lines) + "\n")
    atomic_write_json(out / "report.json", {**summary, "episodes_detail": asdict(report)})
    return out / "report.md"

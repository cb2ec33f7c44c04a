"""The whole VPT method end to end on the embedded simulator (``vpt pipeline``).

Stages, in order (each writes into ``OUT/<stage>/`` and a marker ``OUT/stages/<stage>.json``
when it is complete; a rerun skips finished stages and every stage's own work resumes where it
was killed):

1. ``contractor`` — scripted tech-tree players recorded as contractor data (mp4 + jsonl);
2. ``house`` — scripted house builders (the fine-tuning data);
3. ``web`` — "web videos" (mp4 only: styles, overlays, non-gameplay segments);
4. ``filter`` — clean gameplay segments of the web videos (skipped if no filter is installed);
5. ``idm`` — the IDM trained on the first contractor recordings, evaluated on the rest;
6. ``label`` — the IDM labels the web videos and the held-out contractor videos;
7. ``foundation`` — BC from scratch on the web videos' pseudo-labels;
8. ``bc_true`` / ``bc_idm`` — the same BC on the held-out contractor videos with their true
   labels and with IDM labels (how much is lost to pseudo-labelling);
9. ``house_ft`` — the foundation fine-tuned by BC on the house recordings;
10. ``eval`` — each policy on ``vpt/ObtainDiamondPickaxe-v0`` (per-item success) and the
    foundation and fine-tuned policies on ``vpt/BuildHouse-v0`` (house score);
11. ``report`` — ``OUT/report.md`` with plots.

Scales: ``tiny`` (minutes on a 2-core CPU, the README's main command; shows the plumbing, not
learning), ``small`` (about an hour; shows learning), ``full`` (sized for GPUs; pass real data
with ``--contractor``/``--web``/``--house`` folders to skip generation).
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from vpt.atomic import atomic_write_json

__all__ = ["Scale", "SCALES", "STAGES", "run_pipeline"]


@dataclass(frozen=True)
class Scale:
    """How big each stage is."""

    contractor: int
    house: int
    web: int
    max_steps: int
    """Episode length of the tech-tree recordings, web videos and item evaluations."""
    world: dict[str, Any]
    workers: int = 2
    idm_preset: str = "tiny"
    idm_steps: int = 100
    idm_batch: int = 4
    idm_window: int = 32
    idm_lr: float = 3e-4
    heldout_fraction: float = 0.34
    policy_preset: str = "tiny"
    bc_steps: int = 100
    bc_batch: int = 4
    bc_chunk: int = 32
    bc_lr: float = 3e-4
    """BC from scratch (fine-tuning uses a third of it)."""
    ft_steps: int = 50
    house_steps: int = 0
    """Episode length of the house recordings and house evaluations (0: ``max_steps``)."""
    eval_episodes: int = 4
    eval_steps: int = 300
    eval_resolution: int = 128
    eval_world: dict[str, Any] = field(default_factory=dict)
    """World options added for the evaluations only (e.g. faster mining, so that item success is
    measurable at a small scale)."""
    player_options: dict[str, Any] = field(default_factory=dict)
    """Options of the tech-tree player that makes the contractor recordings and the web videos
    (:class:`~vpt.env.scripted.TechTreePlayer`, e.g. ``first_crafts``)."""
    precision: str = "fp32"
    """Training precision (``vpt.train.resolve_precision``); the hour-scale results are fp32."""
    extra: dict[str, Any] = field(default_factory=dict)


_EASY_WORLD = {"size": [48, 48], "height": 40, "tree_density": 0.05, "caves": 0.5}

SCALES: dict[str, Scale] = {
    # Seconds per stage: a smoke test of the whole chain (used by the test suite).
    "micro": Scale(contractor=3, house=1, web=2, max_steps=60, world=_EASY_WORLD, workers=1, idm_steps=4, idm_batch=2,
                   idm_window=16, bc_steps=4, bc_batch=2, bc_chunk=16, ft_steps=2, eval_episodes=2, eval_steps=20,
                   eval_resolution=64),
    "tiny": Scale(contractor=4, house=2, web=3, max_steps=300, world=_EASY_WORLD, idm_steps=40, bc_steps=40, ft_steps=20,
                  eval_episodes=4, eval_steps=200),
    # About an hour and a half on a 2-core CPU (docs/results/README.md has the measured run).
    "small": Scale(contractor=40, house=8, web=20, max_steps=1000, house_steps=2400, world=_EASY_WORLD,
                   idm_steps=1500, idm_batch=2, idm_window=32, idm_lr=1e-3, bc_steps=500, bc_batch=4, bc_chunk=32,
                   bc_lr=1e-3, ft_steps=150, eval_episodes=8, eval_steps=1000, eval_world={"break_speed": 10}),
    "full": Scale(contractor=2000, house=300, web=5000, max_steps=12000, world={}, workers=16, idm_preset="4x",
                  idm_steps=200_000, idm_batch=16, idm_window=128, policy_preset="1x", bc_steps=400_000, bc_batch=16,
                  bc_chunk=128, ft_steps=20_000, eval_episodes=100, eval_steps=12000, precision="auto"),
}


@dataclass
class Context:
    """What every stage sees."""

    out: Path
    scale: Scale
    seed: int
    sources: dict[str, Path]
    """User-supplied data folders (contractor / web / house) replacing generation."""
    results: dict[str, dict[str, Any]]
    log: Callable[[str], None]

    def path(self, *parts: str) -> Path:
        return self.out.joinpath(*parts)


def _generate(ctx: Context, name: str, player: str, episodes: int, web: bool) -> dict[str, Any]:
    if name in ctx.sources:
        return {"source": str(ctx.sources[name])}
    from vpt.data.generate import GenerateConfig, generate, success_rates

    offset = {"contractor": 0, "house": 100_000, "web": 200_000}[name]  # distinct worlds per data set
    steps = (ctx.scale.house_steps or ctx.scale.max_steps) if name == "house" else ctx.scale.max_steps
    options = dict(ctx.scale.player_options) if player == "tech-tree" else {}
    cfg = GenerateConfig(player=player, episodes=episodes, seed=ctx.seed + offset, max_steps=steps,
                         web=web, world=dict(ctx.scale.world), player_options=options)  # fmt: skip
    done = {"n": 0}

    def tick(_: dict[str, Any]) -> None:
        done["n"] += 1
        ctx.log(f"{name}: {done['n']}/{episodes} episodes")

    results = generate(cfg, ctx.path(name), workers=ctx.scale.workers, on_result=tick)
    milestones = sorted({m for r in results for m in r.get("milestones", [])})
    return {"source": str(ctx.path(name)), "episodes": len(results), "success": success_rates(results, tuple(milestones))}


def stage_contractor(ctx: Context) -> dict[str, Any]:
    return _generate(ctx, "contractor", "tech-tree", ctx.scale.contractor, web=False)


def stage_house(ctx: Context) -> dict[str, Any]:
    return _generate(ctx, "house", "house", ctx.scale.house, web=False)


def stage_web(ctx: Context) -> dict[str, Any]:
    return _generate(ctx, "web", "tech-tree", ctx.scale.web, web=True)


def stage_filter(ctx: Context) -> dict[str, Any]:
    """Clean, de-duplicated segments of the web videos (``filter/filter.json``). The classifier
    learns from a labelling budget of frames of these videos (their ground truth is the oracle,
    as a human labeller would be); with real web videos (no ground truth) give a trained model."""
    from vpt.data.filter import run_filter

    web = Path(ctx.results["web"]["source"])
    has_truth = (web / "ground_truth").is_dir()
    if not has_truth:
        return {"videos": str(web), "filtered": False, "keep": None}
    report = run_filter(web, ctx.path("filter"), train_dir=web, budget=min(300, 60 * max(1, ctx.scale.web)), seed=ctx.seed)
    return {"videos": str(web), "filtered": True, "keep": str(ctx.path("filter", "filter.json")), "metrics": report["metrics"]}


def _split_contractor(ctx: Context) -> tuple[list, list]:
    from vpt.data import list_recordings

    refs = list_recordings(ctx.results["contractor"]["source"], require_jsonl=True)
    n_held = max(1, round(len(refs) * ctx.scale.heldout_fraction)) if len(refs) > 1 else 0
    return refs[: len(refs) - n_held], refs[len(refs) - n_held :]


def _link_set(refs: list, folder: Path) -> Path:
    """A folder of symlinks to some recordings (so a stage can read 'a dataset' of them)."""
    folder.mkdir(parents=True, exist_ok=True)
    for r in refs:
        for src in (r.mp4, r.jsonl):
            if src is not None and not (folder / src.name).exists():
                os.symlink(os.path.abspath(src), folder / src.name)
    return folder


def stage_idm(ctx: Context) -> dict[str, Any]:
    """Train the IDM on the contractor recordings, or take a given one (``sources["idm"]``, a
    ``.model`` beside its ``.weights``, e.g. OpenAI's ``4x_idm``); either way report its
    held-out metrics on the last contractor recordings."""
    from vpt.idm.train import IDMTrainConfig, train_idm

    train, held = _split_contractor(ctx)
    if "idm" in ctx.sources:
        from vpt.idm import load_idm
        from vpt.idm.metrics import evaluate, load_segments

        model_path = ctx.sources["idm"]
        weights = model_path.with_suffix(".weights")
        idm = load_idm(model_path, weights)
        metrics = evaluate(idm, load_segments(held), window=ctx.scale.idm_window) if held else {}
        return {"model": str(model_path), "weights": str(weights), "given": True,
                **{k: v for k, v in metrics.items() if k.startswith("val/")}}  # fmt: skip
    data = _link_set(train + held, ctx.path("idm_data"))  # held-out = the last recordings (val)
    s = ctx.scale
    cfg = IDMTrainConfig(data=str(data), out=str(ctx.path("idm")), preset=s.idm_preset, window=s.idm_window,
                         batch_size=s.idm_batch, steps=s.idm_steps, lr=s.idm_lr, warmup=max(1, s.idm_steps // 20),
                         eval_every=max(1, s.idm_steps // 2), checkpoint_every=max(1, s.idm_steps // 10),
                         val_recordings=len(held), precision=s.precision, seed=ctx.seed)  # fmt: skip
    metrics = train_idm(cfg, progress=lambda st, lg: ctx.log(f"idm: step {st}/{s.idm_steps} loss {lg['loss']:.3f}"))
    return {"model": str(ctx.path("idm", "idm.model")), "weights": str(ctx.path("idm", "idm.weights")),
            **{k: v for k, v in metrics.items() if k.startswith("val/")}}  # fmt: skip


def stage_label(ctx: Context) -> dict[str, Any]:
    from vpt.data import list_recordings
    from vpt.idm import load_idm
    from vpt.idm.label import label_videos

    idm = load_idm(ctx.results["idm"]["model"], ctx.results["idm"]["weights"])
    idm.optimize_for_inference(channels_last=True)
    web = [r.mp4 for r in list_recordings(ctx.results["filter"]["videos"])]
    w = label_videos(idm, web, ctx.path("label", "web"), window=ctx.scale.idm_window,
                     on_video=lambda p, n: ctx.log(f"label: {p.name} ({n} frames)"))  # fmt: skip
    _, held = _split_contractor(ctx)
    h = label_videos(idm, [r.mp4 for r in held], ctx.path("label", "heldout"), window=ctx.scale.idm_window)
    return {"web_videos": w.labelled + w.skipped_existing, "web_frames_per_s": w.frames_per_second,
            "heldout_videos": h.labelled + h.skipped_existing, "failed": {**w.failed, **h.failed}}  # fmt: skip


def _bc(ctx: Context, name: str, data: Path, steps: int, init: str | None = None, keep: str | None = None) -> dict[str, Any]:
    from vpt.agent.bc import BCConfig, train_bc

    s = ctx.scale
    cfg = BCConfig(data=str(data), out=str(ctx.path(name)), preset=s.policy_preset, batch_size=s.bc_batch, chunk=s.bc_chunk,
                   steps=steps, warmup=max(1, steps // 20), checkpoint_every=max(1, steps // 10), precision=s.precision,
                   seed=ctx.seed, init_model=f"{init}.model" if init else None,
                   init_weights=f"{init}.weights" if init else None, lr=s.bc_lr if init is None else s.bc_lr / 3,
                   keep_segments=keep)  # fmt: skip
    logs = train_bc(cfg, progress=lambda st, lg: ctx.log(f"{name}: step {st}/{steps} loss {lg['loss']:.3f}"))
    return {"policy": str(ctx.path(name, "policy")), "final_loss": logs.get("loss"), "steps": steps}


def stage_foundation(ctx: Context) -> dict[str, Any]:
    return _bc(ctx, "foundation", ctx.path("label", "web"), ctx.scale.bc_steps, keep=ctx.results["filter"].get("keep"))


def stage_bc_true(ctx: Context) -> dict[str, Any]:
    _, held = _split_contractor(ctx)
    return _bc(ctx, "bc_true", _link_set(held, ctx.path("heldout_data")), ctx.scale.bc_steps)


def stage_bc_idm(ctx: Context) -> dict[str, Any]:
    return _bc(ctx, "bc_idm", ctx.path("label", "heldout"), ctx.scale.bc_steps)


def stage_house_ft(ctx: Context) -> dict[str, Any]:
    return _bc(ctx, "house_ft", Path(ctx.results["house"]["source"]), ctx.scale.ft_steps, init=ctx.results["foundation"]["policy"])


def stage_eval(ctx: Context) -> dict[str, Any]:
    from vpt.agent import Agent
    from vpt.agent.evaluate import evaluate, write_report

    s = ctx.scale
    out: dict[str, Any] = {}
    plan = [(p, "vpt/ObtainDiamondPickaxe-v0") for p in ("foundation", "bc_true", "bc_idm", "house_ft")]
    plan += [(p, "vpt/BuildHouse-v0") for p in ("foundation", "house_ft")]
    for policy, task in plan:
        base = ctx.results[policy]["policy"]
        agent = Agent.load(f"{base}.model", f"{base}.weights", seed=ctx.seed)
        ctx.log(f"eval: {policy} on {task}")
        steps = (s.house_steps or s.eval_steps) if task == "vpt/BuildHouse-v0" else s.eval_steps
        rep = evaluate(agent, task, episodes=s.eval_episodes, num_envs=min(2, s.eval_episodes), max_steps=steps,
                       env_kwargs={"resolution": (s.eval_resolution,) * 2, "world": {**s.world, **s.eval_world}}, seed=ctx.seed,
                       video_dir=ctx.path("eval", policy, task.split("/")[1], "videos"), videos=1)  # fmt: skip
        write_report(rep, ctx.path("eval", policy, task.split("/")[1]), title=policy)
        out[f"{policy}@{task}"] = rep.summary()
    return out


def stage_report(ctx: Context) -> dict[str, Any]:
    """``report.md`` + plots from every stage's results."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vpt.train import RunDir

    r = ctx.results
    plots = ctx.path("plots")
    plots.mkdir(parents=True, exist_ok=True)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    idm_metrics = list(RunDir(ctx.path("idm"), tensorboard=False).metrics())
    axes[0].plot([m["step"] for m in idm_metrics], [m["loss"] for m in idm_metrics])
    axes[0].set(title="IDM training loss", xlabel="step")
    vals = [m for m in idm_metrics if "val/keypress_accuracy" in m]
    for key in ("val/keypress_accuracy", "val/button_accuracy", "val/camera_bin_accuracy"):
        axes[1].plot([m["step"] for m in vals], [m[key] for m in vals], marker="o", label=key.split("/")[1])
    axes[1].set(title="IDM held-out accuracy", xlabel="step", ylim=(0, 1.02))
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(plots / "idm.png", dpi=110)
    plt.close(fig)
    fig, ax = plt.subplots(figsize=(5, 3.2))
    for name in ("foundation", "bc_true", "bc_idm", "house_ft"):
        ms = list(RunDir(ctx.path(name), tensorboard=False).metrics())
        ax.plot([m["step"] for m in ms], [m["loss"] for m in ms], label=name)
    ax.set(title="BC loss", xlabel="step")
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(plots / "bc_loss.png", dpi=110)
    plt.close(fig)
    items = ("log", "planks", "crafting_table", "wooden_pickaxe")
    fig, ax = plt.subplots(figsize=(6, 3.2))
    policies = ("foundation", "bc_true", "bc_idm", "house_ft")
    for k, p in enumerate(policies):
        succ = r["eval"][f"{p}@vpt/ObtainDiamondPickaxe-v0"]["item_success"]
        ax.bar([i + 0.2 * k for i in range(len(items))], [succ.get(it, 0) for it in items], width=0.2, label=p)
    ax.set_xticks([i + 0.3 for i in range(len(items))], items)
    ax.set(title="per-item success (ObtainDiamondPickaxe)", ylim=(0, 1.02))
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(plots / "items.png", dpi=110)
    plt.close(fig)

    idm = r["idm"]
    ev = r["eval"]
    lines = [f"# VPT pipeline report ({ctx.out.name})", "",
             "| stage | result |", "| --- | --- |",
             f"| contractor data | {r['contractor'].get('episodes', 'given')} episodes; scripted success {json.dumps(r['contractor'].get('success', {}))} |",
             f"| web videos | {r['web'].get('episodes', 'given')} videos; filter: {json.dumps(r['filter'].get('metrics'))} |",
             f"| IDM (held-out) | keypress accuracy {idm.get('val/keypress_accuracy', float('nan')):.3f}, button accuracy "
             f"{idm.get('val/button_accuracy', float('nan')):.3f}, camera bin accuracy {idm.get('val/camera_bin_accuracy', float('nan')):.3f}, "
             f"camera R² {idm.get('val/camera_r2', float('nan')):.3f} |",
             f"| labelling | {r['label']['web_videos']} web videos at {r['label']['web_frames_per_s']:.1f} frames/s |",
             ""]  # fmt: skip
    lines += ["## Evaluation", "", "| policy | task | mean return | " + " | ".join(items) + " | house score | GUI time |",
              "| --- | --- | --- | " + " | ".join("---" for _ in items) + " | --- | --- |"]  # fmt: skip
    for key, s in ev.items():
        policy, task = key.split("@")
        cells = " | ".join(f"{s['item_success'].get(it, 0):.0%}" for it in items)
        gui = s.get("behaviour", {}).get("gui_fraction")
        lines.append(f"| {policy} | {task} | {s['mean_return']:.3f} | {cells} | {s.get('mean_house_score', float('nan')):.3f} | "
                     + (f"{gui:.0%} |" if gui is not None else "– |"))  # fmt: skip
    lines += ["", "![IDM](plots/idm.png) ![BC loss](plots/bc_loss.png) ![items](plots/items.png)", ""]
    (ctx.out / "report.md").write_text("\n".join(lines) + "\n")
    return {"report": str(ctx.out / "report.md")}


STAGES: tuple[tuple[str, Callable[[Context], dict[str, Any]]], ...] = (
    ("contractor", stage_contractor), ("house", stage_house), ("web", stage_web), ("filter", stage_filter),
    ("bc_true", stage_bc_true), ("idm", stage_idm), ("label", stage_label), ("foundation", stage_foundation),
    ("bc_idm", stage_bc_idm), ("house_ft", stage_house_ft), ("eval", stage_eval), ("report", stage_report),
)  # fmt: skip


def run_pipeline(
    scale: str | Scale,
    out: str | Path,
    *,
    seed: int = 0,
    sources: dict[str, str | Path] | None = None,
    log: Callable[[str], None] = print,
    overrides: dict[str, Any] | None = None,
    redo: tuple[str, ...] = (),
    until: str | None = None,
) -> dict[str, dict[str, Any]]:
    """Run (or resume) the pipeline into ``out``; returns every stage's results.

    ``redo`` names stages to run again (their folders are removed first); ``until`` stops after
    that stage.
    """
    sc = SCALES[scale] if isinstance(scale, str) else scale
    if overrides:
        sc = replace(sc, **overrides)
    from vpt.env.scripted import TechTreePlayer

    TechTreePlayer.check_options(sc.player_options)  # a typo fails before any stage runs
    out = Path(out)
    (out / "stages").mkdir(parents=True, exist_ok=True)
    ctx = Context(out, sc, seed, {k: Path(v) for k, v in (sources or {}).items()}, {}, log)
    names = [name for name, _ in STAGES]
    for name in (*redo, *([until] if until else [])):
        if name not in names:
            raise ValueError(f"unknown stage {name!r}; stages: {', '.join(names)}")
    for name, fn in STAGES[: names.index(until) + 1 if until else len(STAGES)]:
        marker = out / "stages" / f"{name}.json"
        if name in redo:
            marker.unlink(missing_ok=True)
            shutil.rmtree(out / name, ignore_errors=True)
        if marker.exists():
            ctx.results[name] = json.loads(marker.read_text())["result"]
            continue
        log(f"stage {name} ...")
        t = time.perf_counter()
        result = fn(ctx)
        atomic_write_json(marker, {"result": result, "seconds": time.perf_counter() - t}, default=str)
        ctx.results[name] = result
        log(f"stage {name} done in {time.perf_counter() - t:.0f} s")
    return ctx.results

"""``vpt data generate``: scripted players on the simulator → contractor recordings or web videos.

Layout of the output folder::

    DIR/manifest.json             settings and every episode's name and seed (written first)
    DIR/<name>.mp4 + <name>.jsonl contractor recordings (``--web``: the mp4 only)
    DIR/ground_truth/<name>.json  web videos only: per-frame clean labels, style, duplicate-of
    DIR/results/<name>.json       per episode: frames, milestones reached, failures, seconds

An episode is finished when its result file exists; it is written after the video (itself
written atomically), so a killed run loses at most the episodes in progress and rerunning the
same command finishes the rest. Episodes run in worker processes (``workers``).

Web videos: each draws a :class:`~vpt.data.web.WebStyle` (resolution, field of view, grading)
and segments of overlays / menus / title cards; about one in six re-uploads an earlier episode's
gameplay (the same world and player seed, so the same frames) with another style — the
near-duplicates the filter must find (``duplicate_of`` in the ground truth).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from vpt.atomic import atomic_write_json

__all__ = ["GenerateConfig", "generate", "run_episode", "episode_plan", "success_rates", "load_results",
           "measure_players"]

MANIFEST_VERSION = 1


@dataclass(frozen=True)
class GenerateConfig:
    """Settings of a generation run (all of them go into the manifest)."""

    player: str
    episodes: int
    seed: int = 0
    max_steps: int = 12000
    web: bool = False
    resolution: tuple[int, int] = (640, 360)
    """contractor recordings: the video size (web videos draw theirs)"""
    world: dict[str, Any] = field(default_factory=dict)
    """extra :class:`~vpt.env.sim.WorldOptions` fields (the player's start inventory is added)"""
    player_options: dict[str, Any] = field(default_factory=dict)
    """keyword arguments of the scripted player's class, e.g. ``{"first_log_table": true}``"""

    def __post_init__(self) -> None:
        from vpt.env.scripted import PLAYERS

        if self.player not in PLAYERS:
            raise ValueError(f"unknown player {self.player!r}; choose from {sorted(PLAYERS)}")
        if self.episodes < 1:
            raise ValueError(f"episodes must be >= 1, got {self.episodes}")
        if self.max_steps < 1:
            raise ValueError(f"max_steps must be >= 1, got {self.max_steps}")
        PLAYERS[self.player].check_options(self.player_options)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["resolution"] = list(self.resolution)
        return d


def episode_plan(cfg: GenerateConfig) -> list[dict[str, Any]]:
    """Name, seed (and for web videos, the episode re-uploaded) of every episode."""
    prefix = ("web-" if cfg.web else "") + cfg.player
    plan = []
    for i in range(cfg.episodes):
        seed = int(np.random.SeedSequence([cfg.seed, i]).generate_state(1)[0])
        entry: dict[str, Any] = {"index": i, "name": f"{prefix}-{i:05d}", "seed": seed}
        rng = np.random.default_rng(seed)
        if cfg.web and i > 0 and rng.random() < 1 / 6:
            src = int(rng.integers(i))
            entry["duplicate_of"] = plan[src].get("duplicate_of", plan[src]["name"])
            entry["gameplay_seed"] = plan[src].get("gameplay_seed", plan[src]["seed"])
        plan.append(entry)
    return plan


def _make_env(cfg: GenerateConfig, resolution: tuple[int, int], fov: float, cursor_size: int):
    from vpt.env.scripted import PLAYERS
    from vpt.env.sim import SimEnv

    world = dict(cfg.world)
    inv = dict(PLAYERS[cfg.player].START_INVENTORY)
    inv.update(world.pop("start_inventory", {}))
    return SimEnv(resolution=resolution, world={**world, "start_inventory": inv}, fov_range=(fov, fov),
                  cursor_size=cursor_size)


def run_episode(cfg: GenerateConfig, out: str | Path, entry: dict[str, Any]) -> dict[str, Any]:
    """Play one episode and write its files; returns (and writes) its result."""
    from vpt.data.video import VideoWriter
    from vpt.data.web import WebComposer, WebStyle
    from vpt.env.recorder import ContractorRecorder
    from vpt.env.scripted import PLAYERS

    out = Path(out)
    name = entry["name"]
    gameplay_seed = int(entry.get("gameplay_seed", entry["seed"]))
    t0 = time.perf_counter()
    composer = writer = None
    if cfg.web:
        style_rng = np.random.default_rng([entry["seed"], 1])
        style = WebStyle.sample(style_rng)
        if "gameplay_seed" in entry:  # a re-upload: the footage (and so its field of view) is the source's
            style = replace(style, fov=WebStyle.sample(np.random.default_rng([gameplay_seed, 1])).fov)
        w, h = style.resolution
        render = (min(w, 640), min(h, 360))
        env = _make_env(cfg, render, style.fov, cursor_size=16)  # screen captures show the cursor
        composer = WebComposer(style, style_rng)
        writer = VideoWriter(out / f"{name}.mp4", w, h)
    else:
        # like OpenAI's recorder, no cursor in the video: the data loader draws it from mouse x/y
        env = ContractorRecorder(_make_env(cfg, cfg.resolution, 70.0, cursor_size=0), out, name_fn=lambda _: name,
                                 resolution=cfg.resolution)
    player = PLAYERS[cfg.player](env, np.random.default_rng(gameplay_seed), **cfg.player_options)
    try:
        steps = _play(env, player, gameplay_seed, cfg.max_steps,
                      None if composer is None else lambda pov: [writer.write(f) for f in composer.feed(pov)])
        if composer is not None:
            truth = composer.ground_truth()
            truth["duplicate_of"] = entry.get("duplicate_of")
            atomic_write_json(out / "ground_truth" / f"{name}.json", truth)
            writer.close()
        env.close()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    result = {
        "name": name, "seed": entry["seed"], "steps": steps, "frames": len(composer.labels) if composer else steps,
        "milestones": player.stats.milestones, "failures": player.stats.failures,
        "seconds": time.perf_counter() - t0, "pid": os.getpid(),
    }
    atomic_write_json(out / "results" / f"{name}.json", result)
    return result


def _play(env, player, seed: int, max_steps: int, on_frame: Callable[[np.ndarray], Any] | None) -> int:
    """Run one episode of ``player`` (up to ``max_steps`` ticks); returns the ticks played."""
    obs, info = env.reset(seed=seed)
    player.reset(info)
    steps = 0
    while steps < max_steps:
        action = player.act(info)
        if action is None:
            break
        if on_frame is not None:
            on_frame(obs["pov"])
        obs, _, terminated, truncated, info = env.step(action)
        steps += 1
        if terminated or truncated:
            break
    return steps


def _measure_one(args: tuple[dict[str, Any], dict[str, Any]]) -> dict[str, Any]:
    from vpt.env.scripted import PLAYERS

    cfg_dict, entry = args
    cfg = GenerateConfig(**{**cfg_dict, "resolution": tuple(cfg_dict["resolution"])})
    t0 = time.perf_counter()
    env = _make_env(cfg, (32, 18), 70.0, cursor_size=0)  # the players act on privileged state: pixels do not matter
    player = PLAYERS[cfg.player](env, np.random.default_rng(entry["seed"]), **cfg.player_options)
    steps = _play(env, player, entry["seed"], cfg.max_steps, None)
    return {"name": entry["name"], "seed": entry["seed"], "steps": steps, "milestones": player.stats.milestones,
            "failures": player.stats.failures, "seconds": time.perf_counter() - t0}


def measure_players(cfg: GenerateConfig, *, workers: int = 1,
                    on_result: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Play the episodes of ``cfg`` (same seeds as :func:`generate`) without writing videos, at a
    tiny render size, to measure the players' success rates; returns the results in order."""
    jobs = [(cfg.to_dict(), e) for e in episode_plan(cfg)]
    results = []
    if workers <= 1:
        for job in jobs:
            results.append(_measure_one(job))
            if on_result:
                on_result(results[-1])
    else:
        with mp.get_context("spawn").Pool(workers) as pool:
            for r in pool.imap_unordered(_measure_one, jobs):
                results.append(r)
                if on_result:
                    on_result(r)
    return sorted(results, key=lambda r: r["name"])


def _worker(args: tuple[dict[str, Any], str, dict[str, Any]]) -> dict[str, Any]:
    cfg_dict, out, entry = args
    cfg_dict = dict(cfg_dict)
    cfg_dict["resolution"] = tuple(cfg_dict["resolution"])
    return run_episode(GenerateConfig(**cfg_dict), out, entry)


def _check_manifest(out: Path, cfg: GenerateConfig, plan: list[dict[str, Any]]) -> None:
    path = out / "manifest.json"
    if path.exists():
        # runs made before player options existed had none
        old = {"player_options": {}, **json.loads(path.read_text()).get("config", {})}
        new = json.loads(json.dumps(cfg.to_dict()))  # as stored (tuples become lists)
        if old != new:
            diff = {k: (old.get(k), v) for k, v in new.items() if old.get(k) != v}
            raise ValueError(f"{out} holds a run with other settings {diff} (old, new); use another folder")
        return
    atomic_write_json(path, {"version": MANIFEST_VERSION, "config": cfg.to_dict(), "episodes": plan,
                             "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")})


def _clean_partial(out: Path) -> None:
    """Remove temporary files left by a killed run."""
    for d in (out, out / "results", out / "ground_truth"):
        if d.is_dir():
            for f in d.glob(".*.tmp*"):
                f.unlink(missing_ok=True)


def generate(cfg: GenerateConfig, out: str | Path, *, workers: int = 1,
             on_result: Callable[[dict[str, Any]], None] | None = None) -> list[dict[str, Any]]:
    """Run (or resume) a generation run into ``out``; returns the results of all episodes.

    ``on_result`` is called once per episode finished in this call (for progress bars).
    """
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    plan = episode_plan(cfg)
    _check_manifest(out, cfg, plan)
    _clean_partial(out)
    done = {p.stem for p in (out / "results").glob("*.json")} if (out / "results").is_dir() else set()
    todo = [e for e in plan if e["name"] not in done]
    jobs = [(cfg.to_dict(), str(out), e) for e in todo]
    if workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            r = _worker(job)
            if on_result:
                on_result(r)
    else:
        ctx = mp.get_context("spawn")
        with ctx.Pool(min(workers, len(jobs))) as pool:
            for r in pool.imap_unordered(_worker, jobs):
                if on_result:
                    on_result(r)
    return load_results(out)


def load_results(out: str | Path) -> list[dict[str, Any]]:
    """The result records of a run folder, in episode order."""
    d = Path(out) / "results"
    return sorted((json.loads(p.read_text()) for p in d.glob("*.json")), key=lambda r: r["name"]) if d.is_dir() else []


def success_rates(results: list[dict[str, Any]], milestones: tuple[str, ...]) -> dict[str, float]:
    """Fraction of episodes that reached each milestone."""
    n = max(1, len(results))
    return {m: sum(m in r["milestones"] for r in results) / n for m in milestones}

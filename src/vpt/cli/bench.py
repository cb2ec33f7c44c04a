"""``vpt bench NAME``: run a benchmark script from the repository's ``benchmarks/`` folder.

Benchmarks are scripts, not tests: each ``benchmarks/bench_<name>.py`` defines
``main(argv: list[str]) -> None`` and prints a table of medians. They live in the repository
(not the installed package), so this command looks for the folder next to the source tree, in
the current directory, or where ``$VPT_BENCHMARKS`` points.
"""

from __future__ import annotations

import importlib.util
import os
import statistics
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import typer

def benchmarks_dir() -> Path:
    """Find the ``benchmarks/`` folder, or raise a clear error."""
    candidates = []
    if os.environ.get("VPT_BENCHMARKS"):
        candidates.append(Path(os.environ["VPT_BENCHMARKS"]))
    candidates.append(Path(__file__).resolve().parents[3] / "benchmarks")
    candidates.append(Path.cwd() / "benchmarks")
    for c in candidates:
        if c.is_dir():
            return c
    raise typer.BadParameter(
        "no benchmarks/ folder found (looked in: " + ", ".join(map(str, candidates)) + "); "
        "run from a checkout of the repository or set VPT_BENCHMARKS"
    )


def available() -> list[str]:
    return sorted(p.stem.removeprefix("bench_") for p in benchmarks_dir().glob("bench_*.py"))


def run(
    ctx: typer.Context,
    name: str = typer.Argument(..., help="benchmark name, e.g. data, agent, env, idm, bc"),
) -> None:
    """Run benchmarks/bench_NAME.py; extra arguments are passed to it (try --help)."""
    path = benchmarks_dir() / f"bench_{name}.py"
    if not path.exists():
        raise typer.BadParameter(f"unknown benchmark {name!r}; available: {', '.join(available())}")
    spec = importlib.util.spec_from_file_location(f"vpt_bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    module.main(list(ctx.args))


def interleaved_medians(step: Callable[[], None], ways: Mapping[str, Callable[[], None]], repeats: int, warmup: int = 2) -> dict[str, float]:
    """Median seconds of ``step`` under each way, timed in turns: each round calls every way's
    setter then ``step`` once, so a noisy machine slows every way alike. The first ``warmup``
    rounds are not timed. For benchmarks that compare two code paths on one model."""
    times: dict[str, list[float]] = {name: [] for name in ways}
    for i in range(repeats + warmup):
        for name, select in ways.items():
            select()
            t = time.perf_counter()
            step()
            if i >= warmup:
                times[name].append(time.perf_counter() - t)
    return {name: statistics.median(ts) for name, ts in times.items()}

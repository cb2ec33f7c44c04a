"""``vpt pipeline``: the whole VPT method end to end, stages cached and resumable."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer
from rich.console import Console

console = Console()


def pipeline_command(
    scale: str = typer.Option("tiny", help="tiny (minutes), small (about an hour), full (GPUs / real data)"),
    out: Path = typer.Option(Path("runs/pipeline"), help="output folder (rerun to resume)"),
    contractor: Path = typer.Option(None, help="use these contractor recordings instead of generating them"),
    web: Path = typer.Option(None, help="use these web videos instead of generating them"),
    house: Path = typer.Option(None, help="use these house-building recordings instead of generating them"),
    idm: Path = typer.Option(None, help="use this IDM .model (its .weights beside it) instead of training one"),
    redo: list[str] = typer.Option([], help="stages to run again"),
    until: str = typer.Option(None, help="stop after this stage (rerun without it to go on)"),
    seed: int = typer.Option(0),
    player_options: str = typer.Option(None, "--player-options",
                                       help="the tech-tree player's options as JSON (replaces the scale's), "
                                            'e.g. \'{"first_crafts": ["oak_planks", "stick"]}\''),
) -> None:
    """Generate data → filter → train IDM → label → BC foundation → BC fine-tune → evaluate → report."""
    from vpt.cli.progress import json_option
    from vpt.pipeline import SCALES, run_pipeline

    if scale not in SCALES:
        raise typer.BadParameter(f"unknown scale {scale!r}; choose from {', '.join(SCALES)}")
    sources = {k: v for k, v in {"contractor": contractor, "web": web, "house": house, "idm": idm}.items() if v is not None}
    start = time.perf_counter()

    def log(msg: str) -> None:
        console.log(msg)

    overrides = {} if player_options is None else {"player_options": json_option(player_options, "--player-options")}
    results = run_pipeline(scale, out, seed=seed, sources=sources, log=log, overrides=overrides,
                           redo=tuple(redo), until=until)
    if until:
        console.print(f"stopped after stage {until}; rerun without --until to go on")
        return
    console.print(f"done in {(time.perf_counter() - start) / 60:.1f} min; report: {results['report']['report']}")
    console.print_json(json.dumps({k: v for k, v in results["eval"].items()}))

"""``vpt submission build|check``: BASALT 2022 competition submissions."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape

from vpt.cli.progress import print_error

app = typer.Typer(help="Competition submissions (MineRL BASALT 2022 layout).", no_args_is_help=True)
console = Console()


@app.command()
def build(
    model: Path = typer.Option(..., help="the VPT .model file"),
    weights: Path = typer.Option(..., help="its .weights file"),
    task: str = typer.Option(
        ..., help="FindCave, MakeWaterfall, CreateVillageAnimalPen, BuildVillageHouse, 'all' (the four), "
        "or ObtainDiamondShovel (intro track)"),
    out: Path = typer.Option(..., help="the submission folder (created, or updated with this task's model)"),
    author: list[str] = typer.Option(None, "--author", help="an author for aicrowd.json (repeatable)"),
    description: str = typer.Option(None, help="aicrowd.json's description"),
    gpu: bool = typer.Option(True, help="ask the evaluator for a GPU"),
    debug: bool = typer.Option(False, help="aicrowd.json debug flag (the evaluator plays 1 episode of 100 steps)"),
) -> None:
    """Write a BASALT 2022 submission that plays MODEL/WEIGHTS with this package's Agent."""
    from vpt.submission import SubmissionError
    from vpt.submission import build as build_submission

    try:
        path = build_submission(model, weights, task, out, authors=author or None, description=description,
                                gpu=gpu, debug=debug)
    except SubmissionError as e:
        print_error(console, e)
        raise typer.Exit(2) from e
    console.print(f"wrote {path} ({task}); check it with: vpt submission check {path}")


@app.command()
def check(
    directory: Path = typer.Argument(..., help="the submission folder"),
    episodes: int = typer.Option(2, min=1, help="episodes per task"),
    max_steps: int = typer.Option(20, "--max-steps", min=1, help="steps per episode"),
    timeout: float = typer.Option(900.0, help="seconds the whole run may take"),
) -> None:
    """Validate a submission's layout and play its entry points on the embedded simulator."""
    from vpt.submission import SubmissionError
    from vpt.submission import check as check_submission

    console.print(f"checking {directory}: layout, then {episodes} episode(s) of {max_steps} steps per task ...")
    try:
        report = check_submission(directory, episodes=episodes, max_steps=max_steps, timeout_s=timeout)
    except SubmissionError as e:
        print_error(console, e, "FAILED")
        raise typer.Exit(1) from e
    for line in report.episodes:
        console.print("  " + escape(line))
    for w in report.warnings:
        console.print(f"[yellow]warning:[/yellow] {escape(w)}")
    tasks = ", ".join(f"{t} ({w})" for t, w in report.models.items())
    console.print(f"[green]OK[/green]: {report.track} track, models: {tasks}; {report.seconds:.0f} s")

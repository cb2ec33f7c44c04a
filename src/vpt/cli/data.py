"""``vpt data ...``: inspect recordings and datasets, generate them with scripted players, filter web videos."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from vpt.atomic import atomic_write_json
from vpt.cli.progress import json_option, print_error
from vpt.data.inspect import inspect_dataset, inspect_recording
from vpt.data.jsonl import RecordingError

app = typer.Typer(help="Recordings and datasets: inspect, generate (scripted players), filter (web videos).", no_args_is_help=True)
console = Console()


def _histogram_line(counts: list[int]) -> str:
    blocks = " ▁▂▃▄▅▆▇█"
    top = max(counts) or 1
    return "".join(blocks[round(8 * c / top)] for c in counts)


@app.command()
def inspect(
    path: Path = typer.Argument(..., help="a recording (.mp4/.jsonl/stem), a folder, or an index .json"),
    as_json: bool = typer.Option(False, "--json", help="print machine-readable JSON"),
) -> None:
    """Frames, duration, fps, key-press rates, camera histogram and GUI time; for a folder,
    totals and the list of bad files."""
    single = path.suffix in (".mp4", ".jsonl") or (not path.exists() and path.with_suffix(".mp4").exists())
    try:
        if single:
            s = inspect_recording(path)
            if as_json:
                print(json.dumps(s.to_dict(), indent=1))
                return
            t = Table(title=str(s.path), show_header=False)
            t.add_row("frames", f"{s.frames} ({s.width}×{s.height} @ {s.fps:g} fps)")
            t.add_row("duration", f"{s.duration_s:.1f} s")
            if s.lines is not None:
                t.add_row("jsonl lines", f"{s.lines} ({s.null_lines} null, {s.bad_lines} bad)")
                t.add_row("GUI open", f"{s.gui_seconds:.1f} s")
                t.add_row("camera pitch bins", _histogram_line(s.camera_histogram[0]) + f"  {s.camera_histogram[0]}")
                t.add_row("camera yaw bins", _histogram_line(s.camera_histogram[1]) + f"  {s.camera_histogram[1]}")
                for k, r in sorted(s.key_rates.items(), key=lambda kv: -kv[1]):
                    t.add_row(f"  {k}", f"{100 * r:.1f}% of lines")
            else:
                t.add_row("actions", "none (video only)")
            for p in s.problems:
                t.add_row("[red]problem[/red]", p)
            console.print(t)
            return
        total, summaries = inspect_dataset(path)
    except RecordingError as e:
        print_error(console, e)
        raise typer.Exit(1) from e
    if as_json:
        print(json.dumps({"total": total.__dict__, "recordings": [s.to_dict() for s in summaries]}, indent=1))
        return
    t = Table(title=f"{path}: {total.recordings} recordings")
    for col in ("recording", "frames", "seconds", "lines", "null", "bad lines", "GUI s"):
        t.add_column(col)
    for s in summaries:
        t.add_row(Path(s.path).name, str(s.frames), f"{s.duration_s:.1f}", str(s.lines if s.lines is not None else "-"),
                  str(s.null_lines), str(s.bad_lines), f"{s.gui_seconds:.1f}")  # fmt: skip
    t.add_row("[b]total[/b]", str(total.frames), f"{total.duration_s:.1f}", str(total.lines), str(total.null_lines),
              str(total.bad_lines), f"{total.gui_seconds:.1f}")  # fmt: skip
    console.print(t)
    if total.bad_files:
        console.print(f"[red]{len(total.bad_files)} bad file(s):[/red]")
        for f, why in total.bad_files.items():
            console.print(f"  {f}: {why}")


@app.command()
def generate(
    player: str = typer.Option(..., "--player", help="scripted player: tech-tree or house"),
    episodes: int = typer.Option(..., "--episodes", min=1, help="number of episodes"),
    out: Path = typer.Option(..., "--out", help="output folder (rerun the same command to resume)"),
    workers: int = typer.Option(1, "--workers", min=1, help="worker processes"),
    max_steps: int = typer.Option(12000, "--max-steps", min=1, help="cap on ticks per episode"),
    seed: int = typer.Option(0, "--seed", help="base seed (episode seeds derive from it)"),
    web: bool = typer.Option(False, "--web", help="web videos: mp4 only, varied looks, overlays, ground truth aside"),
    stats_only: bool = typer.Option(False, "--stats-only", help="only measure success rates (no videos): DIR/stats.json"),
    world: str = typer.Option("{}", "--world", help='world options as JSON, e.g. \'{"tree_density": 0.05}\''),
    player_options: str = typer.Option("{}", "--player-options",
                                       help='the player\'s options as JSON, e.g. \'{"first_log_table": true}\''),
) -> None:
    """Play scripted episodes on the simulator and write contractor recordings (mp4 + jsonl) or
    web videos, in parallel, resumably, with a manifest of seeds and settings."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from vpt.data.generate import GenerateConfig, episode_plan, load_results, measure_players, success_rates
    from vpt.data.generate import generate as run_generate
    from vpt.env.scripted import PLAYERS

    try:
        cfg = GenerateConfig(player=player, episodes=episodes, seed=seed, max_steps=max_steps, web=web, world=json_option(world, "--world"),
                             player_options=json_option(player_options, "--player-options"))
    except ValueError as e:
        print_error(console, e)
        raise typer.Exit(2) from e
    already = 0 if stats_only else len(load_results(out))
    frames = 0
    with Progress(TextColumn("[b]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  TextColumn("{task.fields[rate]}"), console=console) as progress:
        task = progress.add_task(f"{player}{' (web)' if web else ''}", total=len(episode_plan(cfg)),
                                 completed=min(already, episodes), rate="")
        t0 = time.perf_counter()

        def on_result(r: dict) -> None:
            nonlocal frames
            frames += r.get("frames", r["steps"])
            dt = time.perf_counter() - t0
            progress.update(task, advance=1, rate=f"{frames / max(dt, 1e-9):.0f} frames/s")

        try:
            if stats_only:
                results = measure_players(cfg, workers=workers, on_result=on_result)
            else:
                results = run_generate(cfg, out, workers=workers, on_result=on_result)
        except ValueError as e:
            print_error(console, e)
            raise typer.Exit(2) from e
    rates = success_rates(results, PLAYERS[player].MILESTONES)
    if stats_only:
        atomic_write_json(out / "stats.json", {"config": cfg.to_dict(), "success": rates, "episodes": results})
    t = Table(title=f"{out}: {len(results)} episodes")
    t.add_column("milestone")
    t.add_column("success")
    for m, r in rates.items():
        t.add_row(m, f"{100 * r:.0f}%")
    console.print(t)


@app.command("filter")
def filter_cmd(
    videos: Path = typer.Argument(..., help="folder of web videos (mp4) to filter"),
    out: Path = typer.Option(..., "--out", help="output folder: filter.json (+ classifier.npz when trained)"),
    train: Path = typer.Option(None, "--train", help="videos with ground_truth/ to train the classifier from"),
    model: Path = typer.Option(None, "--model", help="a saved classifier.npz instead of training"),
    budget: int = typer.Option(300, "--budget", min=2, help="frames to label (active learning)"),
    batch: int = typer.Option(50, "--batch", min=1, help="frames labelled per round"),
    bad_recall: float = typer.Option(0.95, "--bad-recall", min=0.0, max=1.0, help="share of bad frames the threshold must reject"),
    similarity: float = typer.Option(0.95, "--similarity", help="cosine similarity of near-duplicate frames"),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Keep clean gameplay segments of web videos and drop near-duplicates; report precision and
    recall against the ground truth where it exists."""
    from vpt.data.filter import run_filter

    try:
        with console.status("reading videos") as status:
            report = run_filter(videos, out, train_dir=train, model=model, budget=budget, batch=batch,
                                bad_recall=bad_recall, similarity=similarity, seed=seed,
                                on_video=lambda name: status.update(f"features: {name}"))
    except (ValueError, RecordingError) as e:
        print_error(console, e)
        raise typer.Exit(2) from e
    kept = sum(e - s for v in report["videos"].values() for s, e in v["segments"])
    total = sum(v["frames"] for v in report["videos"].values())
    dups = sum(len(v["duplicate_segments"]) for v in report["videos"].values())
    console.print(f"kept {kept} of {total} frames in {len(report['videos'])} videos; {dups} near-duplicate "
                  f"segment(s) dropped; threshold p(clean) >= {report['classifier']['threshold']:.3f}")
    for name, why in report["skipped"].items():
        print_error(console, f"{name}: {why}", label="skipped")
    m = report["metrics"]
    if m:
        fmt = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
        console.print(f"clean frames: precision {m['clean_precision']:.3f}, recall {m['clean_recall']:.3f}; "
                      f"bad frames rejected {m['bad_recall']:.3f}; near-duplicate frames: precision "
                      f"{fmt(m['duplicate_precision'])}, recall {fmt(m['duplicate_recall'])} "
                      f"({m['duplicate_frames_dropped']} dropped, {m['duplicate_frames']} true)")
    console.print(f"wrote {out / 'filter.json'}")

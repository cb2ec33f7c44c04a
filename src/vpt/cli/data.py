"""``vpt data ...``: inspect recordings and datasets."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from vpt.data.inspect import inspect_dataset, inspect_recording
from vpt.data.jsonl import RecordingError

app = typer.Typer(help="Recordings and datasets: inspect (generate and filter come with the simulator).", no_args_is_help=True)
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
        console.print(f"[red]error:[/red] {e}")
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

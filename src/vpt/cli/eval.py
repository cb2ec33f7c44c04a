"""``vpt eval``: run a policy on a task and write a report (Markdown, JSON, plots, videos)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from vpt.cli.progress import ACT_BF16_HELP, ACT_COMPILE_HELP, ACT_INT8_HELP, json_option, load_agent

console = Console()


def eval_command(
    model: Path = typer.Option(..., help="policy .model"),
    weights: Path = typer.Option(..., help="policy .weights"),
    task: str = typer.Option("vpt/ObtainDiamondPickaxe-v0", help="gymnasium id of the task"),
    episodes: int = typer.Option(10),
    num_envs: int = typer.Option(2, help="environments played at once"),
    max_steps: int = typer.Option(0, help="cap on episode length (0: the task's own limit)"),
    resolution: int = typer.Option(128, help="square frames rendered by the simulator (the agent sees 128x128)"),
    world: str = typer.Option("{}", help="world options as JSON"),
    videos: int = typer.Option(2, help="episodes to save as mp4"),
    deterministic: bool = typer.Option(False, help="argmax actions instead of sampling"),
    temperature: float = typer.Option(0.0, help="sampling temperature replacing the model file's (0: the file's own)"),
    out: Path = typer.Option(Path("eval"), help="report folder"),
    seed: int = typer.Option(0),
    device: str = typer.Option("auto"),
    bf16: bool = typer.Option(False, help=ACT_BF16_HELP),
    int8: bool = typer.Option(False, "--int8", help=ACT_INT8_HELP),
    compile: bool = typer.Option(False, "--compile", help=ACT_COMPILE_HELP),
) -> None:
    """Play EPISODES episodes and report per-item success, mean return, house score, videos."""
    from vpt.agent.evaluate import evaluate, write_report
    from vpt.train import resolve_device

    if temperature < 0:
        raise typer.BadParameter(f"must be > 0 (or 0 for the model file's own), got {temperature}", param_hint="--temperature")
    agent = load_agent(console, model, weights, device=str(resolve_device(device)), seed=seed,
                       temperature=temperature or None, bf16=bf16, int8=int8, compile=compile)
    env_kwargs = {"resolution": (resolution, resolution)}
    world_options = json_option(world, "--world")
    if world_options:
        env_kwargs["world"] = world_options
    with console.status(f"playing {episodes} episodes of {task}"):
        report = evaluate(agent, task, episodes=episodes, num_envs=num_envs, max_steps=max_steps or None,
                          env_kwargs=env_kwargs, seed=seed, deterministic=deterministic, video_dir=out / "videos",
                          videos=videos)  # fmt: skip
    settings = [f"temperature {temperature:g}"] if temperature else []
    settings += [name for name, on in (("bf16", bf16), ("int8", int8), ("compiled", compile)) if on]
    title = model.name + (f" ({', '.join(settings)})" if settings else "")
    path = write_report(report, out, title=title)
    console.print_json(json.dumps(report.summary()))
    console.print(f"report: {path}")

"""``vpt play``: run an agent (random, or a VPT policy) for N episodes and write mp4 videos."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from vpt.cli.progress import ACT_BF16_HELP, ACT_COMPILE_HELP, ACT_INT8_HELP, load_agent, print_error

console = Console()


def _resolution(text: str) -> tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise typer.BadParameter(f"resolution must look like 640x360, got {text!r}") from None
    if w < 8 or h < 8 or w % 2 or h % 2:
        raise typer.BadParameter(f"resolution must be even and at least 8x8 (H.264), got {text!r}")
    return w, h


def play(
    out: Path = typer.Option(..., "--out", help="folder for episode_NNN.mp4 (and .jsonl)"),
    backend: str = typer.Option("sim", help="environment backend: 'sim' (the embedded simulator) or 'minerl' "
                                "(real Minecraft through MineRL 1.0; see README, 'Real Minecraft (MineRL)')"),
    episodes: int = typer.Option(1, min=1, help="number of episodes"),
    max_steps: int = typer.Option(2400, "--max-steps", min=1, help="steps per episode (20 per second)"),
    model: Path = typer.Option(None, help="a VPT .model file (with --weights); default: a random agent"),
    weights: Path = typer.Option(None, help="the .weights file of --model"),
    resolution: str = typer.Option("640x360", help="frame size WxH (MineRL's 640x360 by default)"),
    seed: int = typer.Option(0, help="seed of the first episode (episode k uses seed + k)"),
    world_size: int = typer.Option(128, "--world-size", min=8, help="simulator world width and depth in blocks"),
    jsonl: bool = typer.Option(False, help="write contractor recordings: the actions as .jsonl and a video without "
                               "the cursor, which the data loader draws"),
    device: str = typer.Option("cpu", help="torch device for --model"),
    bf16: bool = typer.Option(False, help=ACT_BF16_HELP),
    int8: bool = typer.Option(False, "--int8", help=ACT_INT8_HELP),
    compile: bool = typer.Option(False, "--compile", help=ACT_COMPILE_HELP),
) -> None:
    """Play N episodes with a random agent or a VPT policy and write each as an mp4 (20 fps)."""
    import gymnasium

    import vpt.env  # noqa: F401  (registers the environments)
    from vpt.env.play import play_episodes, random_policy, with_loader_cursor

    if backend not in ("sim", "minerl"):
        raise typer.BadParameter(f"unknown backend {backend!r}; available: sim, minerl")
    if (model is None) != (weights is None):
        raise typer.BadParameter("--model and --weights go together")
    if model is not None:  # before the game starts: a bad file fails fast
        agent = load_agent(console, model, weights, device=device, seed=seed, bf16=bf16, int8=int8, compile=compile)
    if backend == "minerl":  # MineRL's own kwargs; a crashed or frozen game restarts between episodes
        from vpt.env.minerl_backend import MineRLNotInstalledError

        try:
            env = gymnasium.make("vpt/HumanSurvival-v0", backend="minerl", resolution=_resolution(resolution))
        except MineRLNotInstalledError as e:
            print_error(console, e)
            raise typer.Exit(2) from e
    else:  # a recording's video has no cursor: the data loader draws it from the jsonl
        env = gymnasium.make("vpt/HumanSurvival-v0", resolution=_resolution(resolution),
                             world={"size": (world_size, world_size)}, cursor_size=0 if jsonl else 16)
    on_start = None
    if model is None:
        policy = random_policy(env.action_space, seed)
        name = "random agent"
    else:
        policy = lambda obs, info: agent.get_action(obs)  # noqa: E731
        on_start = agent.reset
        name = model.name
    if jsonl and backend == "sim":  # the policy sees the cursor the loader will draw
        policy = with_loader_cursor(policy)
    elif jsonl:
        console.print("[yellow]note:[/] MineRL draws its cursor into the frames and does not report where it is; "
                      "a loader reading these recordings draws a second one at the window's centre")
    console.print(f"{name} on {backend}, {episodes} episode(s) of up to {max_steps} steps -> {out}")
    with Progress(TextColumn("episode {task.fields[ep]}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=console) as progress:
        task = progress.add_task("play", total=episodes * max_steps, ep=1)

        def on_step(k: int, step: int) -> None:
            progress.update(task, completed=k * max_steps + step, ep=k + 1)

        results = play_episodes(env, policy, episodes, out, max_steps=max_steps, seed=seed, jsonl=jsonl,
                                on_episode_start=on_start, on_step=on_step)
    env.close()
    table = Table("episode", "steps", "steps/s", "died", "items obtained")
    for r in results:
        table.add_row(r.path.name, str(r.steps), f"{r.steps_per_second:.0f}", "yes" if r.terminated else "no",
                      ", ".join(r.items_obtained) or "-")
    console.print(table)

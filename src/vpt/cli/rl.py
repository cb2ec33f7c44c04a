"""``vpt rl ...``: PPO fine-tuning with a KL penalty to the prior, and the SB3 baseline."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from vpt.cli.progress import json_option, progress_bar

app = typer.Typer(help="Reinforcement learning on a task (item-sequence reward).", no_args_is_help=True)
console = Console()


def _env_kwargs(world: str, max_steps: int, **extra: object) -> dict[str, object]:
    """Task kwargs from the command line: world options (JSON) and the episode length."""
    kwargs: dict[str, object] = dict(extra)
    options = json_option(world, "--world")
    if options:
        kwargs["world"] = options
    if max_steps:
        kwargs["max_steps"] = max_steps
    return kwargs


@app.command()
def train(
    out: Path = typer.Option(..., help="run folder (resumes if it holds a checkpoint)"),
    task: str = typer.Option("vpt/ObtainDiamondPickaxe-v0", help="gymnasium id of the task"),
    init: list[str] = typer.Option(["none"], help="prior: MODEL WEIGHTS (repeat --init), or 'none' for RL from scratch"),
    preset: str = typer.Option("tiny", help="architecture for RL from scratch"),
    num_envs: int = typer.Option(4),
    rollout_steps: int = typer.Option(64),
    iterations: int = typer.Option(100),
    epochs: int = typer.Option(2),
    minibatch_envs: int = typer.Option(2),
    chunk: int = typer.Option(32),
    lr: float = typer.Option(2e-5),
    kl_coef: float = typer.Option(0.2),
    kl_decay: float = typer.Option(0.9995),
    value_warmup: int = typer.Option(0, help="iterations training only the value head"),
    resolution: int = typer.Option(128, help="square observation size rendered by the simulator"),
    world: str = typer.Option("{}", help="world options as JSON, e.g. '{\"tree_density\": 0.05}'"),
    max_steps: int = typer.Option(0, help="episode length in env steps (0: the task's own, 12,000)"),
    sync: bool = typer.Option(False, help="SyncVectorEnv instead of AsyncVectorEnv"),
    seed: int = typer.Option(0),
    device: str = typer.Option("auto"),
) -> None:
    """PPO + KL to the frozen prior (VPT's RL fine-tuning). Writes policy.model + policy.weights."""
    from vpt.rl.ppo import PPOConfig, train_ppo

    if init == ["none"]:
        init_model = init_weights = None
    elif len(init) == 2:
        init_model, init_weights = init
    else:
        raise typer.BadParameter("--init takes MODEL and WEIGHTS (--init m.model --init m.weights) or 'none'")
    env_kwargs = _env_kwargs(world, max_steps, resolution=[resolution, resolution])
    cfg = PPOConfig(out=str(out), task=task, env_kwargs=env_kwargs, init_model=init_model, init_weights=init_weights,
                    preset=preset, num_envs=num_envs, async_envs=not sync, rollout_steps=rollout_steps,
                    iterations=iterations, epochs=epochs, minibatch_envs=minibatch_envs, chunk=chunk, lr=lr,
                    kl_coef=kl_coef, kl_decay=kl_decay, value_warmup=value_warmup, seed=seed, device=device)  # fmt: skip
    with progress_bar("rl train", iterations, console) as update:

        def show(it: int, logs: dict[str, float]) -> None:
            update(completed=it, info=f"return {logs['return_recent']:.2f}  {logs['env_steps_per_s']:.0f} steps/s")

        summary = train_ppo(cfg, progress=show)
    console.print_json(json.dumps(summary))


@app.command()
def sb3(
    out: Path = typer.Option(..., help="run folder"),
    task: str = typer.Option("vpt/ObtainDiamondPickaxe-v0"),
    steps: int = typer.Option(20_000, help="environment steps"),
    num_envs: int = typer.Option(4),
    size: int = typer.Option(64, help="square observation size"),
    world: str = typer.Option("{}", help="world options as JSON"),
    max_steps: int = typer.Option(0, help="episode length in env steps (0: the task's own, 12,000)"),
    seed: int = typer.Option(0),
) -> None:
    """RL from scratch with stable-baselines3's PPO (CnnPolicy) on a multi-discrete action view."""
    from vpt.rl.sb3 import train_sb3

    env_kwargs = _env_kwargs(world, max_steps)
    console.print_json(json.dumps(train_sb3(task, out, total_steps=steps, num_envs=num_envs, env_kwargs=env_kwargs,
                                            size=size, seed=seed)))  # fmt: skip


@app.command()
def plot(
    runs: list[Path] = typer.Argument(..., help="run folders (ours or SB3's) to compare"),
    out: Path = typer.Option(Path("curves.png"), help="PNG to write"),
    items: str = typer.Option("log,planks,crafting_table", help="items whose success rate to plot"),
    window: int = typer.Option(20, help="rolling-mean window (episodes)"),
) -> None:
    """Reward over episodes and per-item success over environment steps, one line per run."""
    from vpt.rl.plots import plot_runs

    path = plot_runs({r.name: r for r in runs}, out, items=items.split(","), window=window)
    console.print(f"wrote {path}")


@app.command()
def table(
    runs: list[Path] = typer.Argument(..., help="run folders (ours or SB3's) to compare"),
    items: str = typer.Option("log,planks,stick,crafting_table", help="items whose success rate to show"),
    max_env_steps: int = typer.Option(0, help="judge episodes ended within this many env steps (0: the fewest any run reached)"),
) -> None:
    """Markdown table: episodes, mean return and per-item success of each run at equal env steps."""
    from vpt.rl.plots import compare_table

    typer.echo(compare_table({r.name: r for r in runs}, items=items.split(","), max_env_steps=max_env_steps or None))

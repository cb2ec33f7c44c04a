"""``vpt bc train``: behavioural cloning, from scratch (foundation) or from a model (fine-tuning)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from vpt.cli.progress import PRECISION_HELP, print_error, progress_bar

app = typer.Typer(help="Behavioural cloning on sequences (memory carried across chunks); scoring on held-out data.",
                  no_args_is_help=True)
console = Console()


@app.command()
def train(
    data: Path = typer.Option(..., help="recordings (mp4 + jsonl) or IDM label files (.labels.npz)"),
    out: Path = typer.Option(..., help="run folder (resumes if it holds a checkpoint)"),
    preset: str = typer.Option("small", help="architecture when training from scratch: tiny, small, 1x, 2x, 3x"),
    init_model: Path = typer.Option(None, help="fine-tune this .model (ours or OpenAI's)"),
    init_weights: Path = typer.Option(None, help="... with these .weights"),
    steps: int = typer.Option(1000),
    batch_size: int = typer.Option(4, help="parallel episode streams per process"),
    chunk: int = typer.Option(32, help="frames per chunk (truncated BPTT length)"),
    grad_accum: int = typer.Option(1),
    lr: float = typer.Option(1.81e-4),
    weight_decay: float = typer.Option(0.039),
    schedule: str = typer.Option("cosine", help="constant, linear or cosine (after warm-up)"),
    warmup: int = typer.Option(50),
    freeze: list[str] = typer.Option([], help="parameter-name prefixes to freeze, e.g. net.img_process"),
    anchor: float = typer.Option(0.0, help="L2 penalty towards the initial weights"),
    null_actions: bool = typer.Option(
        False, help="train on null actions too (the paper drops them; scripted demonstrations wait on purpose)"),
    null_rule: str = typer.Option("jsonl", help="null recording frames: jsonl (no key, no mouse move: the reference) "
                                  "or policy (no button, centre camera bin: as IDM label files)"),
    val_data: Path = typer.Option(None, help="held-out recordings or label files, scored every --eval-every steps"),
    eval_every: int = typer.Option(500),
    keep_segments: Path = typer.Option(None, help="train only on the frame ranges this JSON keeps: `vpt data filter`'s "
                                       "filter.json, or {\"videos\": {NAME: {\"segments\": [[START, END], ...]}}}"),
    gui_weight: float = typer.Option(1.0, help="loss weight of frames with a screen open (recordings); world frames weigh 1"),
    label_noise: Path = typer.Option(None, help="camera confusion .npz of the IDM that made the labels (vpt idm eval "
                                     "--confusion): learn the true camera from its noisy labels"),
    soft_camera: bool = typer.Option(False, help="train the camera on the IDM's posterior in the label files, "
                                     "not on its chosen bin"),
    precision: str = typer.Option("auto", help=PRECISION_HELP),
    seed: int = typer.Option(0),
    device: str = typer.Option("auto"),
) -> None:
    """Train a policy by BC; DDP when launched with torchrun. Writes policy.model + policy.weights."""
    from vpt.agent.bc import BCConfig, train_bc

    cfg = BCConfig(
        data=str(data), out=str(out), preset=preset, init_model=str(init_model) if init_model else None,
        init_weights=str(init_weights) if init_weights else None, steps=steps, batch_size=batch_size, chunk=chunk,
        grad_accum=grad_accum, lr=lr, weight_decay=weight_decay, schedule=schedule, warmup=warmup,
        freeze=list(freeze), anchor=anchor, null_actions=null_actions, null_rule=null_rule,
        val_data=str(val_data) if val_data else None, keep_segments=str(keep_segments) if keep_segments else None,
        eval_every=eval_every, gui_weight=gui_weight, label_noise=str(label_noise) if label_noise else None,
        soft_camera=soft_camera, precision=precision, seed=seed, device=device,
    )  # fmt: skip
    with progress_bar("bc train", steps, console) as update:

        def show(step: int, logs: dict[str, float]) -> None:
            update(completed=step, info=f"loss {logs['loss']:.3f}  {logs['frames_per_s']:.0f} frames/s")

        try:
            logs = train_bc(cfg, progress=show)
        except ValueError as e:  # data or option errors found while setting up (no episodes, no label files...)
            print_error(console, e)
            raise typer.Exit(2) from None
    console.print_json(json.dumps(logs))


@app.command("eval")
def evaluate(
    model: Path = typer.Option(..., help="policy .model (ours or OpenAI's)"),
    weights: Path = typer.Option(None, help="its .weights (default: beside the .model)"),
    data: Path = typer.Option(..., help="recordings (mp4 + jsonl) or IDM label files (.labels.npz)"),
    null_actions: bool = typer.Option(False, help="score null actions too (as a run trained with --null-actions)"),
    null_rule: str = typer.Option("jsonl", help="null recording frames, as vpt bc train --null-rule"),
    chunk: int = typer.Option(32, help="frames per forward pass (memory is carried across)"),
    precision: str = typer.Option("auto", help=PRECISION_HELP),
    device: str = typer.Option("auto"),
    out: Path = typer.Option(None, help="also write the metrics to this .json"),
) -> None:
    """Teacher-forced NLL and accuracy of a policy on recordings; with screen-open frames split out."""
    from vpt.agent.bc import evaluate_bc, load_episodes
    from vpt.agent.files import load_policy
    from vpt.data import DatasetReport
    from vpt.train import resolve_device, resolve_precision

    dev = resolve_device(device)
    policy = load_policy(model, weights or model.with_suffix(".weights"), dev)
    report = DatasetReport()
    try:
        episodes = load_episodes(data, report=report, null_actions=null_actions, null_rule=null_rule)
    except ValueError as e:
        raise typer.BadParameter(str(e), param_hint="--null-rule") from None
    for name, err in report.bad_files.items():
        console.print(f"[yellow]skipped[/] {name}: {err}")
    if not episodes:
        raise typer.BadParameter(f"no episodes in {data}", param_hint="--data")
    metrics = evaluate_bc(policy, episodes, chunk=chunk, device=dev, precision=resolve_precision(precision, dev))
    metrics.update({"episodes": len(episodes), "skipped_files": len(report.bad_files)})
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(metrics, indent=1))
    console.print_json(json.dumps(metrics))

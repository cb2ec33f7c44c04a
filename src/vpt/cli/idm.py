"""``vpt idm ...``: train the inverse dynamics model, label videos, export labels."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

from vpt.cli.progress import PRECISION_HELP, print_error, progress_bar, warn_emulated_bf16

app = typer.Typer(help="Inverse dynamics model: train on recordings, label videos.", no_args_is_help=True)
console = Console()

MIRROR_HELP = "also predict the left-right mirrored video and average the two (twice the compute; a better camera)"
FRAME_CACHE_HELP = ("keep the decoded recordings in this folder, memory-mapped: processes and later runs share one copy "
                    "(train on more recordings than fit in memory once per process)")
INT8_HELP = ("int8 image-encoder convs (x86 CPUs with AVX2; 7-bit weights without VNNI; vpt.nn.int8): with --bf16 "
             "--compile the fastest labelling on bf16 CPUs, with --compile alone on AVX2-only ones; coarser than bf16: "
             "check your model's scores with vpt idm eval --int8")
CAMERA_HELP = "camera label per axis: mode (the most probable bin, the reference) or mean (the bin nearest the posterior-mean move)"


def _check_camera(camera: str) -> None:
    """A bad ``--camera`` is an exit-2 error before any model is loaded."""
    from vpt.idm.predict import check_camera_estimate

    try:
        check_camera_estimate(camera)
    except ValueError as e:
        print_error(console, f"--{e}")
        raise typer.Exit(2) from e


def _optimize(idm, **settings: object) -> None:
    """``idm.optimize_for_inference(channels_last=True, **settings)``; ``--int8`` where it cannot
    run is an exit-2 error, ``--bf16`` where it is emulated a warning."""
    try:
        idm.optimize_for_inference(channels_last=True, **settings)
    except RuntimeError as e:
        print_error(console, e)
        raise typer.Exit(2) from e
    if settings.get("encoder_dtype") is not None:
        warn_emulated_bf16(console, idm.device)


@app.command()
def train(
    data: Path = typer.Option(..., help="recordings: a folder or an index .json"),
    out: Path = typer.Option(..., help="run folder (resumes if it holds a checkpoint)"),
    preset: str = typer.Option("small", help="architecture: tiny, small, 4x"),
    init_model: Path = typer.Option(None, help="start from this .model (e.g. OpenAI's 4x_idm.model)"),
    init_weights: Path = typer.Option(None, help="... and these .weights"),
    steps: int = typer.Option(2000),
    batch_size: int = typer.Option(8),
    window: int = typer.Option(0, help="frames per window (0: the model's timesteps)"),
    grad_accum: int = typer.Option(1),
    lr: float = typer.Option(3e-4),
    precision: str = typer.Option("auto", help=PRECISION_HELP),
    eval_every: int = typer.Option(500),
    val_recordings: int = typer.Option(0, help="held-out recordings (0: 10%)"),
    max_hours: float = typer.Option(0.0, help="train on only this many hours of recordings (0: all)"),
    mirror_prob: float = typer.Option(0.0, help="mirror this fraction of training windows left-right (yaw negated)"),
    color_jitter: float = typer.Option(0.0, help="recolour every training window: per-channel gains in [1-S, 1+S], "
                                       "brightness ±S×64 levels (0: off)"),
    shift: int = typer.Option(0, help="move every training window by up to N pixels each way, edges repeated (0: off)"),
    camera_target: str = typer.Option("bin", help="camera targets: bin (the reference's one bin per axis) or two-hot "
                                      "(the true degrees split between the two nearest bins: learns the posterior-mean camera)"),
    frame_cache: Path = typer.Option(None, help=FRAME_CACHE_HELP),
    keep_every: int = typer.Option(0, help="also keep the weights of every Nth step as idm.stepN.model/.weights (0: none)"),
    seed: int = typer.Option(0),
    device: str = typer.Option("auto"),
) -> None:
    """Train an IDM; DDP when launched with torchrun. Writes idm.model + idm.weights in OUT."""
    from vpt.idm.train import CAMERA_TARGETS, IDMTrainConfig, train_idm

    if camera_target not in CAMERA_TARGETS:
        print_error(console, f"--camera-target {camera_target!r}: choose from {', '.join(CAMERA_TARGETS)}")
        raise typer.Exit(2)
    if not 0 <= color_jitter < 1:
        print_error(console, f"--color-jitter {color_jitter}: a strength in [0, 1)")
        raise typer.Exit(2)
    if shift < 0:
        print_error(console, f"--shift {shift}: a number of pixels, 0 or more")
        raise typer.Exit(2)

    cfg = IDMTrainConfig(
        data=str(data), out=str(out), preset=preset, init_model=str(init_model) if init_model else None,
        init_weights=str(init_weights) if init_weights else None, steps=steps, batch_size=batch_size, window=window,
        grad_accum=grad_accum, lr=lr, precision=precision, eval_every=eval_every, val_recordings=val_recordings,
        max_hours=max_hours, mirror_prob=mirror_prob, color_jitter=color_jitter, shift=shift,
        camera_target=camera_target,
        frame_cache=str(frame_cache) if frame_cache else None, keep_every=keep_every, seed=seed, device=device,
    )  # fmt: skip
    with progress_bar("idm train", steps, console) as update:

        def show(step: int, logs: dict[str, float]) -> None:
            info = f"loss {logs['loss']:.3f}  {logs['frames_per_s']:.0f} frames/s"
            if "val/keypress_accuracy" in logs:
                info += f"  val keypress {logs['val/keypress_accuracy']:.3f} camera R² {logs['val/camera_r2']:.3f}"
            update(completed=step, info=info)

        metrics = train_idm(cfg, progress=show)
    console.print_json(json.dumps({k: v for k, v in metrics.items() if not k.startswith("val_button/")}))


@app.command()
def curve(
    data: Path = typer.Option(..., help="recordings: a folder or an index .json (the last --val-recordings are held out)"),
    out: Path = typer.Option(..., help="folder of runs, one per budget (hours_<h>/); resumable"),
    hours: str = typer.Option(..., help="comma-separated hours of training data per run, e.g. 0.02,0.05,0.1,0 (0: all)"),
    preset: str = typer.Option("tiny", help="architecture: tiny, small, 4x"),
    steps: int = typer.Option(1000, help="training steps of every run"),
    batch_size: int = typer.Option(4),
    window: int = typer.Option(32, help="frames per window"),
    lr: float = typer.Option(1e-3),
    precision: str = typer.Option("auto", help=PRECISION_HELP),
    val_recordings: int = typer.Option(3, help="held-out recordings (the same for every run)"),
    mirror_prob: float = typer.Option(0.0, help="mirror this fraction of training windows left-right (yaw negated)"),
    frame_cache: Path = typer.Option(None, help=FRAME_CACHE_HELP),
    seed: int = typer.Option(0),
    device: str = typer.Option("auto"),
) -> None:
    """IDM accuracy against hours of training data: one run per budget, then curve.md/.png of all
    finished runs in OUT (run several of these on one OUT with different --hours to use more cores)."""
    import shlex
    import sys

    from vpt.idm.curve import run_curve, write_curve
    from vpt.idm.train import IDMTrainConfig

    budgets = [float(h) for h in hours.split(",") if h.strip()]
    base = IDMTrainConfig(data=str(data), out=str(out), preset=preset, steps=steps, batch_size=batch_size, window=window,
                          lr=lr, precision=precision, eval_every=steps, val_recordings=val_recordings,
                          mirror_prob=mirror_prob, frame_cache=str(frame_cache) if frame_cache else None, seed=seed,
                          device=device)  # fmt: skip
    with progress_bar("idm curve", steps * len(budgets), console) as update:
        done = {h: 0 for h in budgets}

        def show(h: float, step: int, logs: dict[str, float]) -> None:
            done[h] = step
            update(completed=sum(done.values()), info=f"{h:g} h: step {step} loss {logs['loss']:.3f}")

        run_curve(base, budgets, progress=show)
    table = write_curve(out, command="vpt idm curve " + " ".join(shlex.quote(a) for a in sys.argv[3:]))
    console.print(table.read_text())


@app.command("eval")
def eval_(
    data: Path = typer.Option(..., help="labelled recordings: a folder or an index .json"),
    model: Path = typer.Option(..., help="IDM .model (ours or OpenAI's 4x_idm.model)"),
    weights: Path = typer.Option(..., help="... and its .weights"),
    last: int = typer.Option(0, help="score only the last N recordings (a training run's --val-recordings); 0: all"),
    window: int = typer.Option(0, help="frames per window (0: the model's timesteps)"),
    frame_cache: Path = typer.Option(None, help=FRAME_CACHE_HELP),
    out: Path = typer.Option(None, help="also write the metrics and per-button errors to this .json"),
    confusion: Path = typer.Option(None, help="also write the camera bins' confusion counts to this .npz "
                                   "(for vpt bc train --label-noise; score with the labels' --mirror/--camera)"),
    bf16: bool = typer.Option(False, help="bfloat16 image encoder, as in vpt idm label --bf16"),
    compile: bool = typer.Option(False, "--compile", help="compiled image encoder, as in vpt idm label --compile"),
    int8: bool = typer.Option(False, "--int8", help=INT8_HELP),
    mirror: bool = typer.Option(False, "--mirror", help=MIRROR_HELP),
    camera: str = typer.Option("mode", help=CAMERA_HELP),
    device: str = typer.Option("auto"),
) -> None:
    """Score an IDM on labelled recordings: keypress accuracy, camera R² (world and GUI apart),
    and which buttons the keypress misses come from."""
    _check_camera(camera)
    import torch
    from rich.table import Table

    from vpt.agent.files import ModelFileError
    from vpt.agent.policy import ModelConfigError
    from vpt.atomic import atomic_write_json
    from vpt.data import DatasetReport, list_recordings
    from vpt.idm import load_idm
    from vpt.idm.metrics import button_errors, camera_confusion, load_segments, predict_segments, scores
    from vpt.train import resolve_device

    refs = list_recordings(data, require_jsonl=True)[-last if last > 0 else 0 :]
    if not refs:
        print_error(console, f"no recordings with a .jsonl under {data}")
        raise typer.Exit(1)
    try:
        idm = load_idm(model, weights, device=resolve_device(device))
    except (ModelFileError, ModelConfigError) as e:
        print_error(console, e)
        raise typer.Exit(2) from e
    _optimize(idm, encoder_dtype=torch.bfloat16 if bf16 else None, compile=compile, int8=int8)
    report = DatasetReport()
    segments = load_segments(refs, report=report, cache=frame_cache)
    preds = predict_segments(idm, segments, window=window or None, mirror=mirror, camera=camera)
    metrics, errors = scores(preds, prefix="eval"), button_errors(preds)

    summary = Table(title=f"{len(refs)} recordings, {len(preds.gui_open)} frames")
    for col in ("split", "frames", "keypress", "camera bins", "camera R² (pitch / yaw)", "posterior-mean R²"):
        summary.add_column(col)
    for prefix, name in (("eval", "all"), ("eval_world", "world"), ("eval_gui", "GUI")):
        m = {k.removeprefix(prefix + "/"): v for k, v in metrics.items() if k.startswith(prefix + "/")}
        if "keypress_accuracy" in m:
            summary.add_row(name, f"{m['frames']:.0f}", f"{m['keypress_accuracy']:.3f}", f"{m['camera_bin_accuracy']:.3f}",
                            f"{m['camera_r2']:.3f} ({m['camera_r2_pitch']:.2f} / {m['camera_r2_yaw']:.2f})",
                            f"{m['camera_r2_mean']:.3f}")  # fmt: skip
    console.print(summary)
    columns = ("pressed", "recall", "precision", "missed_world", "missed_gui", "false_world", "false_gui", "share_of_misses")
    table = Table(title="where the keypress misses come from (fractions of all frames)")
    table.add_column("button", no_wrap=True)
    for col in columns:
        table.add_column(col.replace("_", " ").replace("gui", "GUI"), justify="right")
    for r in errors:
        table.add_row(str(r["button"]), *(f"{r[c]:.3f}" for c in columns))
    console.print(table)
    if report.bad_files or report.bad_lines:
        console.print(f"[yellow]skipped[/yellow] {len(report.bad_files)} bad files, {report.bad_lines} bad lines")
    if out is not None:
        payload = {"model": str(model), "recordings": [r.name for r in refs], "mirror": mirror, "camera": camera,
                   "metrics": metrics, "button_errors": errors}  # fmt: skip
        atomic_write_json(out, payload)
    if confusion is not None:
        from vpt.data.labels import write_camera_confusion

        meta = {"model": str(model), "window": window, "mirror": mirror, "camera": camera, "recordings": len(refs)}
        write_camera_confusion(confusion, camera_confusion(preds), meta)
        console.print(f"camera confusion: {confusion}")


@app.command()
def label(
    videos: list[Path] = typer.Argument(..., help="videos (.mp4) or folders of them"),
    model: Path = typer.Option(..., help="IDM .model"),
    weights: Path = typer.Option(..., help="IDM .weights"),
    out: Path = typer.Option(..., help="folder for the .labels.npz files"),
    window: int = typer.Option(0, help="frames per window (0: the model's timesteps)"),
    stride: int = typer.Option(0, help="frames between window starts (0: window/2)"),
    batch_size: int = typer.Option(8, help="windows per transformer call"),
    chunk: int = typer.Option(32, help="frames per image-encoder call"),
    bf16: bool = typer.Option(False, help="bfloat16 image encoder (GPUs, CPUs with native bf16; slow on AVX2-only CPUs)"),
    winograd: bool = typer.Option(False, help="Winograd 3x3 convs on CPU (about 1e-5 relative change): fp32 labelling of the 4x IDM 1.4x faster on an AVX2 CPU (session 34); with --bf16 the bf16 convs run instead"),
    compile: bool = typer.Option(False, "--compile", help="torch.compile the image encoder (frozen weights): faster on long jobs, a minute or more to compile first"),
    int8: bool = typer.Option(False, "--int8", help=INT8_HELP),
    jsonl: bool = typer.Option(False, help="also export contractor-format .jsonl next to each label file"),
    mirror: bool = typer.Option(False, "--mirror", help=MIRROR_HELP),
    camera: str = typer.Option("mode", help=CAMERA_HELP),
    device: str = typer.Option("auto"),
) -> None:
    """Label videos with an IDM: resumable, sharded by torchrun rank, decoding ahead in threads."""
    _check_camera(camera)
    import torch

    from vpt.data import list_recordings
    from vpt.idm import load_idm
    from vpt.idm.label import label_path, label_videos, labels_to_jsonl
    from vpt.train import init_distributed

    dist = init_distributed(device)
    idm = load_idm(model, weights, device=dist.device)
    _optimize(idm, winograd=winograd and dist.device.type == "cpu", encoder_dtype=torch.bfloat16 if bf16 else None,
              compile=compile, int8=int8)
    files: list[Path] = []
    root = None
    for v in videos:
        if v.is_dir():
            root = v if len(videos) == 1 else None
            files += [r.mp4 for r in list_recordings(v)]
        else:
            files.append(v)
    with progress_bar("idm label", len(files[dist.rank :: dist.world_size]), console) as update:
        seen = {"frames": 0}

        def done(path: Path, n: int) -> None:
            seen["frames"] += n
            update(advance=1, info=f"{path.name} ({n} frames)")
            if jsonl:
                p = label_path(out, path, root)
                labels_to_jsonl(p, p.with_name(p.name.removesuffix(".labels.npz") + ".jsonl"))

        report = label_videos(idm, files, out, root=root, window=window or None, stride=stride or None,
                              batch_size=batch_size, chunk=chunk, rank=dist.rank, world_size=dist.world_size,
                              model_name=str(model), mirror=mirror, camera=camera, on_video=done)  # fmt: skip
        update(completed=report.videos)
    console.print(
        f"labelled {report.labelled}, already done {report.skipped_existing}, failed {len(report.failed)}; "
        f"{report.frames} frames at {report.frames_per_second:.1f} frames/s"
    )
    for f, why in report.failed.items():
        console.print(f"  [red]failed[/red] {f}: {why}")
    if report.failed:
        raise typer.Exit(1)



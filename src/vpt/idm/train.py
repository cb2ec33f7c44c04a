"""Training the inverse dynamics model on labelled recordings (``vpt idm train``).

Read top to bottom: settings → data (whole recordings in memory, split by recording into train
and held-out sets) → model → optimiser → resume → the loop (random windows of ``window``
consecutive frames, per-button and per-camera-axis cross-entropy, gradient accumulation,
mixed precision, DDP under ``torchrun``) → periodic held-out evaluation with the same
overlapping-window prediction used for labelling → the official ``.model`` + ``.weights``
(``idm.model``: the last step; ``idm.best.model``: the best held-out mean of keypress accuracy
and camera R², issue 7's two targets, with its step in ``summary.json``'s ``best``).

Held-out metrics: :mod:`vpt.idm.metrics` (keypress accuracy, camera bin accuracy, camera R², world
and GUI frames apart).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch.nn.parallel import DistributedDataParallel

from vpt import actions
from vpt.data import DatasetReport, list_recordings
from vpt.idm.files import save_idm
from vpt.idm.model import IDMConfig, InverseDynamicsModel
from vpt.idm.metrics import Segment, evaluate, fill_cache, load_segments
from vpt.train import RunDir, autocast, close_distributed, init_distributed, lr_schedule, resolve_precision, rng_state, seed_everything, set_rng_state

__all__ = ["IDM_PRESETS", "IDMTrainConfig", "train_idm"]

#: Architectures by name. ``4x`` is OpenAI's released IDM; the small ones train on a CPU.
IDM_PRESETS: dict[str, dict[str, Any]] = {
    # tiny: half the channels of the first two stacks (3.2x the training frames/s of [16, 32, 32]
    # with conv3d_out=16 on one AVX2 core), sized for the hour-scale CPU experiments.
    "tiny": dict(hidsize=128, impala_width=1, impala_chans=[8, 16, 32], conv3d_out=8, heads=4, layers=1, timesteps=32),
    "small": dict(hidsize=256, impala_width=1, impala_chans=[16, 32, 32], conv3d_out=32, heads=4, layers=2, timesteps=64),
    "4x": dict(hidsize=4096, impala_width=16, impala_chans=[16, 32, 32], conv3d_out=128, heads=32, layers=2, timesteps=128),
}


def preset_kwargs(name: str) -> dict[str, Any]:
    """``.model`` network kwargs of a preset (same layout as OpenAI's ``4x_idm.model``)."""
    if name not in IDM_PRESETS:
        raise ValueError(f"unknown IDM preset {name!r}; choose from {sorted(IDM_PRESETS)}")
    p = IDM_PRESETS[name]
    return {
        "attention_heads": p["heads"], "attention_mask_style": "none",
        "attention_memory_size": p["timesteps"],
        "conv3d_params": {"inchan": 3, "kernel_size": [5, 1, 1], "outchan": p["conv3d_out"], "padding": [2, 0, 0]},
        "hidsize": p["hidsize"], "img_shape": [128, 128, p["conv3d_out"]], "impala_chans": p["impala_chans"],
        "impala_kwargs": {"post_pool_groups": 1}, "impala_width": p["impala_width"],
        "init_norm_kwargs": {"batch_norm": False, "group_norm_groups": 1}, "n_recurrence_layers": p["layers"],
        "only_img_input": True, "pointwise_ratio": 4, "pointwise_use_activation": False,
        "recurrence_is_residual": True, "recurrence_type": "transformer", "single_output": True,
        "timesteps": p["timesteps"], "use_pointwise_layer": True, "use_pre_lstm_ln": False,
    }  # fmt: skip


@dataclass
class IDMTrainConfig:
    """Settings of an IDM training run (saved as the run's ``config.json``)."""

    data: str
    out: str
    preset: str = "small"
    init_model: str | None = None
    init_weights: str | None = None
    window: int = 0
    """Frames per training window (0: the model's ``timesteps``)."""
    batch_size: int = 8
    grad_accum: int = 1
    steps: int = 2000
    lr: float = 3e-4
    weight_decay: float = 0.01
    warmup: int = 100
    schedule: str = "cosine"
    max_grad_norm: float = 1.0
    precision: str = "auto"
    """``vpt.train.resolve_precision``: bf16 autocast where it is native (GPUs, AMX CPUs), else fp32."""
    channels_last: bool = True
    val_fraction: float = 0.1
    val_recordings: int = 0
    """Held-out recordings (overrides ``val_fraction`` when > 0)."""
    eval_every: int = 500
    checkpoint_every: int = 200
    keep_every: int = 0
    """Also keep the weights at every this many steps as ``idm.step{N}.model`` + ``.weights``, to score
    a run along the way (``vpt idm eval``) without stopping it (0: none)."""
    seed: int = 0
    device: str = "auto"
    legacy_integer_camera: bool = False
    max_hours: float = 0.0
    """Use only the first recordings totalling this many hours of training data (0: all)."""
    mirror_prob: float = 0.0
    """Probability that a training window is mirrored left-right (:func:`mirror_window`)."""
    color_jitter: float = 0.0
    """Strength of the colour change given to every training window (:func:`jitter_window`; 0: none).
    Not yet measured on a full run; a small A/B in docs/results/README.md §1, session 34."""
    shift: int = 0
    """Largest shift, in pixels, of every training window (:func:`shift_window`; 0: none). At 3,000
    steps on 0.33 h it narrowed the train/held-out gap by fitting less, with no held-out gain
    (docs/results/README.md §1, session 35); not yet measured on a run long enough to memorise."""
    camera_target: str = "bin"
    """What the camera heads learn: ``"bin"``, the one quantised bin per axis (the reference IDM's
    targets), or ``"two-hot"``, the true degrees split between the two nearest bin centres
    (:func:`vpt.actions.camera_two_hot`): the posterior mean then learns the camera itself.
    Not shown to help: on the g2 data (tiny preset) the two scored alike at every held-out
    check (docs/results/README.md §1, session 30)."""
    frame_cache: str | None = None
    """A folder for the decoded recordings (:func:`vpt.idm.metrics.load_segments`): the processes
    fill it together (each decodes every world_size-th recording), then every process memory-maps
    the same frames, so the dataset is held once (in the page cache) rather than once per process,
    and later runs on the same recordings start without decoding. None: each process decodes into
    its own memory."""


CAMERA_TARGETS = ("bin", "two-hot")


def _sample_windows(segments: list[Segment], window: int, batch: int, rng: np.random.Generator,
                    mirror_prob: float = 0.0, camera_target: str = "bin", color_jitter: float = 0.0,
                    shift: int = 0) -> tuple[np.ndarray, ...]:  # fmt: skip
    """A batch of random windows, each segment weighted by its number of windows, each mirrored
    (:func:`mirror_window`) with probability ``mirror_prob``, recoloured (:func:`jitter_window`)
    with strength ``color_jitter`` and shifted (:func:`shift_window`) by up to ``shift`` pixels:
    frames, buttons and camera targets (bins, or per-bin weights with ``camera_target="two-hot"``).
    The random draws of an augmentation that is off are not made, so a run without it samples the
    same windows as before it existed."""
    usable = [s for s in segments if len(s.frames) >= window]
    if not usable:
        raise ValueError(f"no training segment has {window} consecutive frames")
    weights = np.array([len(s.frames) - window + 1 for s in usable], dtype=np.float64)
    picks = rng.choice(len(usable), size=batch, p=weights / weights.sum())
    f, b, c = [], [], []
    for i in picks:
        s = usable[i]
        t0 = int(rng.integers(0, len(s.frames) - window + 1))
        span = slice(t0, t0 + window)
        camera = s.camera_bins[span] if camera_target == "bin" else actions.camera_two_hot(s.camera_degrees[span])
        w = s.frames[span], s.buttons[span], camera
        if mirror_prob > 0 and rng.random() < mirror_prob:
            w = mirror_window(*w)
        if color_jitter > 0:
            w = jitter_window(w[0], rng, color_jitter), w[1], w[2]
        if shift > 0:
            w = shift_window(w[0], rng, shift), w[1], w[2]
        f.append(w[0]), b.append(w[1]), c.append(w[2])
    return np.stack(f), np.stack(b), np.stack(c)


def mirror_window(frames: np.ndarray, buttons: np.ndarray, camera: np.ndarray) -> tuple[np.ndarray, ...]:
    """The same window seen in a mirror: frames flipped left-right, yaw negated (its bin
    reflected about the centre bin; ``camera`` is bins (T, 2) or per-bin weights (T, 2, 11)),
    strafe left/right and hotbar slots 1..9 ↔ 9..1 swapped.

    Everything else that moves on screen moves consistently: with a GUI open the cursor moves
    the other way, as the negated yaw says. Augmentation for the camera: without it the tiny IDM
    learns what the scenes look like rather than which way they move (``docs/results``, §1).
    """
    if camera.ndim == buttons.ndim:  # bins
        camera = camera * [1, -1] + [0, actions.N_CAMERA_BINS - 1]
    else:  # per-bin weights: the bins are symmetric about the centre one
        camera = np.stack([camera[..., 0, :], camera[..., 1, ::-1]], axis=-2)
    return frames[..., ::-1, :], buttons[..., actions.MIRRORED_BUTTONS], camera


def jitter_window(frames: np.ndarray, rng: np.random.Generator, strength: float) -> np.ndarray:
    """The same window (uint8 (T, H, W, 3)) under other light: each colour channel scaled by a gain
    from [1 - strength, 1 + strength], then all of them shifted by up to ``strength`` x 64 levels
    either way, clipped to 0..255; one draw for the whole window, so what moves on screen, and how,
    is unchanged. Augmentation against learning what the training scenes look like (the tiny IDM
    scores camera R² ~0.976 on its own training recordings, ~0.935 on held-out ones:
    docs/results/README.md §1, session 32)."""
    gains = rng.uniform(1 - strength, 1 + strength, size=3)
    offset = rng.uniform(-strength, strength) * 64
    lut = np.clip(np.arange(256)[:, None] * gains + offset, 0, 255).round().astype(np.uint8)  # (256, 3)
    flat = np.ascontiguousarray(frames).reshape(-1, frames.shape[-2], 3)  # 2-D images for cv2.LUT
    return cv2.LUT(flat, lut[None]).reshape(frames.shape)


def shift_window(frames: np.ndarray, rng: np.random.Generator, pixels: int) -> np.ndarray:
    """The same window (uint8 (T, H, W, 3)) framed a little differently: every frame moved by one
    draw of (dy, dx), each in [-pixels, pixels], the uncovered border filled by repeating the edge
    pixels (DrQ's pad-and-crop, Kostrikov et al. 2020). One draw for the whole window, so the
    motion between frames, which the camera labels describe, is unchanged (a scale or rotation
    change would alter it). Augmentation against learning where things sit in the training scenes."""
    h, w = frames.shape[-3:-1]
    dy, dx = rng.integers(-pixels, pixels + 1, size=2)
    rows = np.clip(np.arange(h) + dy, 0, h - 1)
    cols = np.clip(np.arange(w) + dx, 0, w - 1)
    return frames[..., rows[:, None], cols[None, :], :]


def idm_loss(out, buttons: torch.Tensor, camera: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
    """Sum over the 20 buttons and 2 camera axes of the cross-entropy, mean over frames.
    ``camera``: the target bins (B, T, 2), or per-bin target weights (B, T, 2, 11)."""
    lb = F.nll_loss(out.buttons_logprob.reshape(-1, 2), buttons.reshape(-1).long(), reduction="sum")
    if camera.is_floating_point():
        lc = -(camera * out.camera_logprob.float()).sum()
    else:
        lc = F.nll_loss(out.camera_logprob.reshape(-1, actions.N_CAMERA_BINS), camera.reshape(-1), reduction="sum")
    frames = buttons.shape[0] * buttons.shape[1]
    loss = (lb + lc) / frames
    return loss, {"loss/buttons": lb.item() / frames, "loss/camera": lc.item() / frames}


def _within_budget(refs: list, frames: float) -> list:
    """The first recordings whose lines (one per frame) reach ``frames``: those a run with that
    budget trains on, counted without decoding. Bad lines count as frames here, so this can fall
    a recording short (loading then decodes that one itself); an unreadable file is left for
    loading to report."""
    if frames == float("inf"):
        return list(refs)
    chosen = []
    for ref in refs:
        if frames <= 0:
            break
        chosen.append(ref)
        try:
            with open(ref.jsonl, "rb") as f:
                frames -= sum(1 for _ in f)
        except OSError:
            continue
    return chosen


def split_recordings(refs: list, cfg: IDMTrainConfig) -> tuple[list, list]:
    """Held-out recordings: the last ``val_recordings`` (or ``val_fraction``) of the sorted list."""
    n_val = cfg.val_recordings or max(1, round(len(refs) * cfg.val_fraction)) if len(refs) > 1 else 0
    return refs[: len(refs) - n_val], refs[len(refs) - n_val :]


def _evaluate_held_out(model: InverseDynamicsModel, segments: list[Segment], window: int) -> dict[str, float]:
    """:func:`vpt.idm.metrics.evaluate`, plus ``val/target_mean``: the mean of issue 7's two
    targets (keypress accuracy and camera R²), the one number that picks the best model."""
    metrics = evaluate(model, segments, window=window)
    metrics["val/target_mean"] = (metrics["val/keypress_accuracy"] + metrics["val/camera_r2"]) / 2
    return metrics


def train_idm(cfg: IDMTrainConfig, *, progress: Callable[[int, dict[str, float]], None] | None = None) -> dict[str, float]:
    """Train (or resume) an IDM run; returns the final held-out metrics."""
    if cfg.camera_target not in CAMERA_TARGETS:
        raise ValueError(f"unknown camera target {cfg.camera_target!r}; choose from {', '.join(CAMERA_TARGETS)}")
    if not 0 <= cfg.color_jitter < 1:
        raise ValueError(f"color_jitter {cfg.color_jitter}: a strength in [0, 1)")
    if cfg.shift < 0:
        raise ValueError(f"shift {cfg.shift}: a number of pixels, 0 or more")
    # --- setup: processes, run folder, seeds ---------------------------------------------------
    dist = init_distributed(cfg.device)
    precision = resolve_precision(cfg.precision, dist.device)  # "auto" → what this device runs
    run = RunDir(cfg.out, is_main=dist.is_main)
    previous = run.read_config()
    if previous is not None and previous.get("data") != cfg.data:
        raise ValueError(f"{cfg.out} holds a run on {previous.get('data')!r}; refusing to resume it on {cfg.data!r}")
    run.write_config(asdict(cfg))
    seed_everything(cfg.seed + dist.rank)

    # --- data: recordings in memory, split by recording ----------------------------------------
    refs = list_recordings(cfg.data, require_jsonl=True)
    if not refs:
        raise ValueError(f"no recordings with a .jsonl under {cfg.data}")
    train_refs, val_refs = split_recordings(refs, cfg)
    report = DatasetReport()
    # With a budget, recordings are decoded only until it is filled (the first ones, in order).
    budget = cfg.max_hours * 3600 * 20 if cfg.max_hours > 0 else float("inf")
    load = partial(load_segments, legacy_integer_camera=cfg.legacy_integer_camera, report=report, cache=cfg.frame_cache)
    if cfg.frame_cache is not None and dist.enabled:
        # Every process decodes its share of the recordings into the cache (each every
        # world_size-th), so the first run on a dataset decodes on all cores; then each maps it all.
        needed = _within_budget(train_refs, budget) + val_refs
        fill_cache(needed[dist.rank :: dist.world_size], cfg.frame_cache, legacy_integer_camera=cfg.legacy_integer_camera)
        torch.distributed.barrier()
    train_segments: list[Segment] = []
    for ref in train_refs:
        if budget <= 0:
            break
        for s in load([ref]):
            if budget > 0:
                train_segments.append(s)
                budget -= len(s.frames)
    val_segments = load(val_refs)
    train_frames = sum(len(s.frames) for s in train_segments)

    # --- model and optimiser -------------------------------------------------------------------
    if cfg.init_model:
        from vpt.idm.files import load_idm

        model = load_idm(cfg.init_model, cfg.init_weights or Path(cfg.init_model).with_suffix(".weights"))
    else:
        model = InverseDynamicsModel(IDMConfig.from_kwargs(preset_kwargs(cfg.preset), {"temperature": 1.0}))
    model = model.to(dist.device).train()
    if cfg.channels_last:
        model.optimize_for_inference(channels_last=True)
    window = cfg.window or model.cfg.window
    optimizer = torch.optim.AdamW(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_schedule(cfg.schedule, warmup=cfg.warmup, total=cfg.steps))
    ddp = DistributedDataParallel(model) if dist.enabled else model

    # --- resume --------------------------------------------------------------------------------
    step = 0
    rng = np.random.default_rng(cfg.seed + 1000 * dist.rank)
    ckpt = run.load_checkpoint(dist.device)
    if ckpt is not None:
        model.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        step = int(ckpt["step"])
        set_rng_state(ckpt["rng"])
        rng.bit_generator.state = ckpt["sampler"]
        run.truncate_metrics(step)

    # --- the loop ------------------------------------------------------------------------------
    metrics: dict[str, float] = {}
    t_last, frames_since = time.perf_counter(), 0
    while step < cfg.steps:
        optimizer.zero_grad(set_to_none=True)
        logs: dict[str, float] = {}
        for _ in range(cfg.grad_accum):
            batch = _sample_windows(train_segments, window, cfg.batch_size, rng, cfg.mirror_prob, cfg.camera_target,
                                    cfg.color_jitter, cfg.shift)
            f, b, c = (torch.as_tensor(x, device=dist.device) for x in batch)
            with autocast(dist.device, precision):
                out = ddp(f)
            loss, parts = idm_loss(out, b, c)
            (loss / cfg.grad_accum).backward()
            for k, v in parts.items():
                logs[k] = logs.get(k, 0.0) + v / cfg.grad_accum
            frames_since += f.shape[0] * f.shape[1]
        grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.max_grad_norm)
        optimizer.step()
        scheduler.step()
        step += 1

        now = time.perf_counter()
        logs.update({"loss": logs["loss/buttons"] + logs["loss/camera"], "grad_norm": float(grad_norm),
                     "lr": scheduler.get_last_lr()[0], "frames_per_s": frames_since * dist.world_size / (now - t_last)})  # fmt: skip
        t_last, frames_since = now, 0
        if val_segments and dist.is_main and (step % cfg.eval_every == 0 or step == cfg.steps):
            metrics = _evaluate_held_out(model, val_segments, window)
            if run.improves("val/target_mean", metrics["val/target_mean"], higher_is_better=True):
                save_idm(model, run.path / "idm.best.model", run.path / "idm.best.weights")
            logs.update(metrics)
        run.log(step, logs)
        if progress is not None:
            progress(step, logs)
        if step % cfg.checkpoint_every == 0 or step == cfg.steps:
            run.save_checkpoint({"step": step, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                                 "scheduler": scheduler.state_dict(), "rng": rng_state(), "sampler": rng.bit_generator.state})  # fmt: skip
            if dist.is_main:
                save_idm(model, run.path / "idm.model", run.path / "idm.weights")
        if cfg.keep_every > 0 and step % cfg.keep_every == 0 and dist.is_main:
            save_idm(model, run.path / f"idm.step{step}.model", run.path / f"idm.step{step}.weights")

    if val_segments and dist.is_main and not metrics:  # a finished run started again: score it again
        metrics = _evaluate_held_out(model, val_segments, window)
    if dist.is_main:
        summary = {"train_frames": train_frames, "precision": precision, "train_hours": train_frames / 20 / 3600, "steps": step,
                   "bad_files": len(report.bad_files), "bad_lines": report.bad_lines, **metrics}  # fmt: skip
        if (best := run.best("val/target_mean", higher_is_better=True)) is not None:
            summary["best"] = {"step": best[0], "val/target_mean": best[1], "model": "idm.best.model"}
        run.write_summary(summary)
    run.close()
    close_distributed()
    return metrics

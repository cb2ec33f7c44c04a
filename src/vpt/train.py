"""Training infrastructure shared by IDM training, behavioural cloning and RL (written once).

The training loops themselves live with their models (``vpt.idm.train``, ``vpt.agent.bc``,
``vpt.rl.ppo``) and read top to bottom; they lean on this module for the plumbing:

* :func:`init_distributed` — one process, or DDP under ``torchrun`` (gloo on CPU, NCCL on GPU);
* :func:`autocast` — bf16/fp16 mixed precision on CPU or GPU, or nothing;
* :class:`RunDir` — a run folder: ``config.json``, atomic resumable checkpoints
  (model, optimizer, scheduler, step, RNG, data position), ``metrics.jsonl``, TensorBoard, and
  :meth:`RunDir.improves` to keep the best model on held-out data as well as the last;
* :func:`lr_schedule` — constant / linear / cosine with warm-up;
* :func:`seed_everything`, :func:`rng_state`, :func:`set_rng_state`.

Checkpoints are written to a temporary file and renamed, so a run killed at any moment resumes
from its last complete checkpoint.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import math
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist

from vpt.atomic import atomic_output, atomic_write_json, atomic_write_text

__all__ = [
    "Dist",
    "init_distributed",
    "close_distributed",
    "autocast",
    "native_bf16",
    "resolve_precision",
    "RunDir",
    "lr_schedule",
    "seed_everything",
    "rng_state",
    "set_rng_state",
    "atomic_torch_save",
    "resolve_device",
]


def resolve_device(device: str | None = None) -> torch.device:
    """``"auto"``/None → CUDA when available, else CPU."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def synchronize(device: torch.device) -> None:
    """Wait for the work queued on ``device`` (a no-op on the CPU): GPU timings need it."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


@dataclass(frozen=True)
class Dist:
    """Where this process sits in a (possibly single-process) training job."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1


def init_distributed(device: str | None = None) -> Dist:
    """Join the ``torchrun`` process group if launched by it (``WORLD_SIZE`` > 1), else run alone.

    On GPU each process takes ``cuda:LOCAL_RANK`` and NCCL; on CPU, gloo. Collectives wait up to
    2 hours (torch's default is 30 minutes): with a frame cache, the processes decode a whole
    dataset into it before they meet at a barrier (:class:`vpt.idm.train.IDMTrainConfig`).
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    local = int(os.environ.get("LOCAL_RANK", "0"))
    dev = resolve_device(device)
    if dev.type == "cuda" and world > 1:
        dev = torch.device("cuda", local)
        torch.cuda.set_device(dev)
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if dev.type == "cuda" else "gloo", timeout=datetime.timedelta(hours=2))
    return Dist(rank=rank, world_size=world, local_rank=local, device=dev)


def close_distributed() -> None:
    """Leave the process group, if any."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def native_bf16(device: torch.device) -> bool:
    """Whether bf16 matrix maths is fast on ``device``: a CUDA GPU that supports it, or a CPU with
    AMX or AVX-512 BF16 (measured on an AMX CPU: 2.9× the fp32 training frames/s of the ``small``
    IDM). AVX2-only CPUs emulate bf16 and run it several times *slower* than fp32."""
    if device.type == "cuda":
        return torch.cuda.is_bf16_supported()
    if device.type == "cpu":  # private torch.cpu probes; absent in some builds, then: not native
        probes = (getattr(torch.cpu, name, None) for name in ("_is_amx_tile_supported", "_is_avx512_bf16_supported"))
        return any(probe() for probe in probes if probe is not None)
    return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """``"auto"`` → ``"bf16"`` where :func:`native_bf16`, else ``"fp32"``; other values are checked
    and returned as they are."""
    if precision == "auto":
        return "bf16" if native_bf16(device) else "fp32"
    if precision not in ("fp32", "bf16", "fp16"):
        raise ValueError(f"precision must be auto, fp32, bf16 or fp16, got {precision!r}")
    return precision


def autocast(device: torch.device, precision: str = "fp32") -> contextlib.AbstractContextManager:
    """Mixed precision for the forward pass: ``"fp32"`` (off), ``"bf16"``, ``"fp16"`` (GPU only) or
    ``"auto"`` (:func:`resolve_precision`)."""
    precision = resolve_precision(precision, device)
    if precision == "fp32":
        return contextlib.nullcontext()
    if precision == "fp16" and device.type != "cuda":
        raise ValueError("fp16 autocast needs a GPU; use bf16 on CPU")
    return torch.autocast(device.type, dtype=torch.bfloat16 if precision == "bf16" else torch.float16)


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (all devices)."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    """Every RNG's state, loadable with ``torch.load(weights_only=True)``."""
    state: dict[str, Any] = {
        "python": list(_listify(random.getstate())),
        "numpy": np.random.get_state()[1].tolist(),
        "numpy_pos": int(np.random.get_state()[2]),
        "torch": torch.get_rng_state(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _listify(x: Any) -> Any:
    return [_listify(v) for v in x] if isinstance(x, (tuple, list)) else x


def _tuplify(x: Any) -> Any:
    return tuple(_tuplify(v) for v in x) if isinstance(x, list) else x


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` saved."""
    random.setstate(_tuplify(state["python"]))
    np.random.set_state(("MT19937", np.array(state["numpy"], dtype=np.uint32), state["numpy_pos"], 0, 0.0))
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def atomic_torch_save(obj: Any, path: str | Path) -> None:
    """``torch.save`` to a temporary sibling, then rename: the file is whole or absent."""
    with atomic_output(path) as tmp:
        torch.save(obj, tmp)


def lr_schedule(kind: str, *, warmup: int = 0, total: int = 1, final_fraction: float = 0.0):
    """A ``LambdaLR`` factor function: linear warm-up over ``warmup`` steps, then ``kind`` in
    ``constant`` / ``linear`` / ``cosine`` decaying to ``final_fraction`` at ``total`` steps."""
    if kind not in ("constant", "linear", "cosine"):
        raise ValueError(f"unknown schedule {kind!r} (constant, linear, cosine)")

    def factor(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        if kind == "constant":
            return 1.0
        p = min(1.0, (step - warmup) / max(1, total - warmup))
        decay = 1 - p if kind == "linear" else 0.5 * (1 + math.cos(math.pi * p))
        return final_fraction + (1 - final_fraction) * decay

    return factor


class RunDir:
    """A training run's folder.

    Layout: ``config.json`` (the run's settings), ``checkpoint.pt`` (latest resumable state,
    written atomically), ``metrics.jsonl`` (one JSON object per logged step), ``tb/``
    (TensorBoard) and, once the run has finished, ``summary.json``. Only the main process writes.
    """

    def __init__(self, path: str | Path, *, is_main: bool = True, tensorboard: bool = True) -> None:
        self.path = Path(path)
        self.is_main = is_main
        self._tb = None
        self._tensorboard = tensorboard
        if is_main:
            self.path.mkdir(parents=True, exist_ok=True)

    @property
    def checkpoint_path(self) -> Path:
        return self.path / "checkpoint.pt"

    def _write_json(self, name: str, obj: dict[str, Any], **dumps: Any) -> None:
        if self.is_main:
            atomic_write_json(self.path / name, obj, **dumps)

    def write_config(self, config: dict[str, Any]) -> None:
        """Save the settings; on resume, refuse settings that changed what the run is."""
        self._write_json("config.json", config, sort_keys=True, default=str)

    def write_summary(self, summary: dict[str, Any]) -> None:
        """Write ``summary.json``, atomically and last: it is what marks the run finished (the
        policy files are also written at every checkpoint, so they do not)."""
        self._write_json("summary.json", summary)

    def read_config(self) -> dict[str, Any] | None:
        p = self.path / "config.json"
        return json.loads(p.read_text()) if p.exists() else None

    def save_checkpoint(self, state: dict[str, Any]) -> None:
        """Atomically write the resumable state (main process only)."""
        if self.is_main:
            atomic_torch_save(state, self.checkpoint_path)

    def load_checkpoint(self, map_location: str | torch.device = "cpu") -> dict[str, Any] | None:
        """The latest checkpoint, or None. Loaded with ``weights_only=True``."""
        if not self.checkpoint_path.exists():
            return None
        return torch.load(self.checkpoint_path, map_location=map_location, weights_only=True)

    def log(self, step: int, metrics: dict[str, float]) -> None:
        """Append metrics to ``metrics.jsonl`` and TensorBoard (main process only)."""
        if not self.is_main:
            return
        clean = {k: float(v) for k, v in metrics.items()}
        with open(self.path / "metrics.jsonl", "a") as f:
            f.write(json.dumps({"step": step, **clean}) + "\n")
        if self._tensorboard:
            if self._tb is None:
                from torch.utils.tensorboard import SummaryWriter

                self._tb = SummaryWriter(str(self.path / "tb"))
            for k, v in clean.items():
                self._tb.add_scalar(k, v, step)

    def truncate_metrics(self, step: int) -> None:
        """Drop metrics logged after ``step`` (call on resume: they are about to be redone)."""
        p = self.path / "metrics.jsonl"
        if self.is_main and p.exists():
            keep = [line for line in p.read_text().splitlines() if line.strip() and json.loads(line)["step"] <= step]
            atomic_write_text(p, "".join(line + "\n" for line in keep))

    def best(self, key: str, *, higher_is_better: bool = False) -> tuple[int, float] | None:
        """Step and value of the best ``key`` logged so far (the earliest on ties; None: never).

        Read from ``metrics.jsonl``, which :meth:`truncate_metrics` cuts back on resume, so a
        resumed run compares only with the steps it kept. NaN is never best.
        """
        rows = [(int(m["step"]), m[key]) for m in self.metrics() if key in m and math.isfinite(m[key])]
        if not rows:
            return None
        return (max if higher_is_better else min)(rows, key=lambda row: row[1])

    def improves(self, key: str, value: float, *, higher_is_better: bool = False) -> bool:
        """Whether ``value`` beats :meth:`best` (call before logging this step's metrics)."""
        if not math.isfinite(value):
            return False
        best = self.best(key, higher_is_better=higher_is_better)
        return best is None or (value > best[1] if higher_is_better else value < best[1])

    def metrics(self) -> Iterator[dict[str, float]]:
        """Read back ``metrics.jsonl``."""
        p = self.path / "metrics.jsonl"
        if p.exists():
            for line in p.read_text().splitlines():
                if line.strip():
                    yield json.loads(line)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None

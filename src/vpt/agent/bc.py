"""Behavioural cloning on sequences: the foundation model and its fine-tunes (``vpt bc train``).

The reference's demo trains one frame of one recording at a time, without memory across frames.
Here the policy trains the way it acts: ``batch_size`` streams each play their episodes in
order, cut into chunks of ``chunk`` frames; the transformer memory is carried from chunk to
chunk (truncated backpropagation through time) and reset where an episode starts, even in the
middle of a chunk. Read top to bottom: data → model → optimiser → resume → loop → files.

Targets come from contractor ``.jsonl`` (``vpt.data.load_recording``) or from IDM label files
(``vpt.data.labels``). Frames with a null action are kept as context but carry no loss (the
VPT paper drops null actions; dropping frames would break the memory), unless ``null_actions``
is set: then waiting is trained on too, as scripted or other purposeful demonstrations need (a
policy that never waits keeps moving the cursor on a screen). Null means, per ``null_rule``:
``"jsonl"`` (recordings; the reference's loader) a line with no key and no mouse movement at all;
``"policy"`` no button and the centre camera bin, the only rule label files have. The two differ
on frames with a sub-bin mouse move: under ``"jsonl"`` they teach "no button, no camera".

IDM labels are noisy, the camera most (a move often lands in a neighbouring bin), and a policy
cloned from them learns that noise as its own: it moves the cursor less precisely than the same
policy cloned from the true labels. With ``label_noise`` (a camera confusion file of the
labelling IDM, ``vpt.data.labels``) the camera term is *forward-corrected*: the policy's camera
distribution is pushed through the IDM's noise, P(label) = Σ_a π(a) P(label | a), and that is
what the label scores, so that π itself estimates the true camera. With ``soft_camera`` the
camera term is instead the cross-entropy with the IDM's own posterior (the label file's per-axis
bin probabilities, taken as independent): where the IDM cannot tell a small move from none, the
policy learns that doubt rather than the argmax's consistent guess.
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.nn.parallel import DistributedDataParallel

from vpt import actions
from vpt.agent.files import load_policy, save_policy
from vpt.agent.policy import VPTPolicy, detach_state
from vpt.agent.presets import build_policy
from vpt.data import DatasetReport, iter_recordings, list_recordings, screen_open, video_frames
from vpt.data.jsonl import RecordingError
from vpt.data.labels import LABEL_SUFFIX, camera_label_noise, read_camera_confusion, read_labels
from vpt.nn.attention import AttentionState
from vpt.train import RunDir, autocast, close_distributed, init_distributed, lr_schedule, resolve_precision, rng_state, seed_everything, set_rng_state

__all__ = ["Episode", "load_episodes", "read_keep_segments", "EpisodeStreams", "bc_loss", "evaluate_bc", "BCConfig",
           "train_bc"]


@dataclass
class Episode:
    """One episode's frames and joint-action targets."""

    name: str
    frames: np.ndarray
    """(T, 128, 128, 3) uint8."""
    buttons: np.ndarray
    """(T,) int64 joint buttons index."""
    camera: np.ndarray
    """(T,) int64 joint camera index."""
    mask: np.ndarray
    """(T,) bool: the frame's action is trained on."""
    gui: np.ndarray | None = None
    """(T,) bool: a screen (inventory, crafting table...) is open: recordings' ``isGuiOpen``; for
    IDM labels, seen in the frames (:func:`vpt.data.screen_open`)."""
    camera_probs: np.ndarray | None = None
    """(T, 2, 11) float32: per-axis camera bin probabilities, the soft target (label files with
    ``soft_camera``); one-hot at ``camera`` where the label's camera is not the IDM's own (a
    frame with the inventory key keeps the camera still)."""


def _null(buttons: np.ndarray, camera: np.ndarray) -> np.ndarray:
    return (buttons == 0) & (camera == actions.NULL_CAMERA_INDEX)


def read_keep_segments(filter_json: str | Path) -> dict[str, list[tuple[int, int]]]:
    """Kept (clean, not duplicate) frame ranges per video name from ``vpt data filter``'s
    ``filter.json``."""
    try:
        videos = json.loads(Path(filter_json).read_text())["videos"]
        return {name: [(int(s), int(e)) for s, e in v["segments"]] for name, v in videos.items()}
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise ValueError(f"{filter_json}: not a filter.json ({{\"videos\": {{NAME: {{\"segments\": [[START, END], ...]}}}}}}): "
                         f"{type(e).__name__}: {e}") from None


def _kept(runs: list[tuple[int, int]], keep: dict[str, list[tuple[int, int]]] | None, name: str) -> list[tuple[int, int]]:
    """The parts of frame ranges ``runs`` that ``keep`` keeps of video ``name`` (all of them
    when ``keep`` does not name it)."""
    if keep is None or name not in keep:
        return list(runs)
    return [(max(lo, a), min(hi, b)) for lo, hi in runs for a, b in keep[name] if min(hi, b) > max(lo, a)]


def load_episodes(
    source: str | Path,
    *,
    report: DatasetReport | None = None,
    legacy_integer_camera: bool = False,
    keep: dict[str, list[tuple[int, int]]] | None = None,
    null_actions: bool = False,
    null_rule: str = "jsonl",
    shard: tuple[int, int] = (0, 1),
    soft_camera: bool = False,
) -> list[Episode]:
    """Episodes from a folder of recordings (mp4 + jsonl) or of IDM label files.

    Label files name their video in ``meta["video"]``; its frames are decoded as the IDM saw them
    (:func:`vpt.data.video_frames`: a web video as is, a held-out contractor video with the
    cursor its jsonl places). With ``keep`` (video name → frame ranges, e.g. from the web-video
    filter), only those ranges of a video become episodes; videos it does not name are used
    whole. Recordings are loaded with every frame (null ones masked), and a
    recording with bad lines is cut into separate episodes there. With ``null_actions`` every
    frame is trained on (see :attr:`BCConfig.null_actions`); otherwise recordings drop null frames
    by ``null_rule`` (module docstring), label files by the policy rule. ``shard = (i, n)`` loads only every
    n-th file from the i-th (one process's share under DDP). With ``soft_camera`` label files'
    episodes carry the IDM's camera posterior (:attr:`Episode.camera_probs`); recordings have none.
    """
    if null_rule not in ("jsonl", "policy"):
        raise ValueError(f"null_rule must be 'jsonl' or 'policy', got {null_rule!r}")
    source = Path(source)
    report = report if report is not None else DatasetReport()
    episodes: list[Episode] = []
    label_files = sorted(source.rglob("*" + LABEL_SUFFIX)) if source.is_dir() else []
    if label_files:
        for lf in label_files[shard[0] :: shard[1]]:
            report.recordings += 1
            try:
                lab = read_labels(lf)
                frames = video_frames(lab["meta"]["video"])
            except (RecordingError, OSError, KeyError, ValueError) as e:
                report.bad_files[str(lf)] = str(e)
                continue
            if len(frames) != len(lab["buttons"]):
                report.bad_files[str(lf)] = f"{len(lab['buttons'])} labels for {len(frames)} frames"
                continue
            report.ok += 1
            gui = screen_open(frames)  # footage has no isGuiOpen: the --gui-weight frames are seen
            name = Path(lab["meta"]["video"]).stem
            probs = _soft_camera(lab) if soft_camera else None
            for lo, hi in _kept([(0, len(frames))], keep, name):
                b, c = lab["buttons"][lo:hi], lab["camera"][lo:hi]
                episodes.append(Episode(f"{lf.name}[{lo}:{hi}]", frames[lo:hi], b, c, ~_null(b, c), gui[lo:hi],
                                        probs[lo:hi] if probs is not None else None))
    else:
        refs = list_recordings(source, require_jsonl=True)[shard[0] :: shard[1]]
        for ref, rec in iter_recordings(refs, report=report, skip_null=False, legacy_integer_camera=legacy_integer_camera):
            b, c = rec.policy_actions["buttons"], rec.policy_actions["camera"]
            gui = rec.gui_open.astype(bool) if rec.gui_open is not None else None
            trained = ~rec.is_null if null_rule == "jsonl" else ~_null(b, c)
            for lo, hi in _kept(rec.contiguous_runs(), keep, ref.name):
                episodes.append(Episode(f"{ref.name}[{lo}:{hi}]", rec.frames[lo:hi], b[lo:hi], c[lo:hi],
                                        trained[lo:hi], gui[lo:hi] if gui is not None else None))
    if null_actions:
        for ep in episodes:
            ep.mask = np.ones_like(ep.mask)
    return episodes


def _soft_camera(lab: dict[str, Any]) -> np.ndarray:
    """A label file's per-axis camera posterior (T, 2, 11), one-hot at the joint label where that
    is not the IDM's bins (the inventory key's still camera)."""
    probs = np.asarray(lab["camera_probs"], dtype=np.float32).copy()
    if probs.shape != (len(lab["camera"]), 2, actions.N_CAMERA_BINS):
        raise ValueError(f"camera_probs has shape {probs.shape}, expected ({len(lab['camera'])}, 2, {actions.N_CAMERA_BINS})")
    bins = actions.CAMERA_INDEX_TO_BINS[lab["camera"]]  # (T, 2) the joint label's bins
    own = (bins == lab["camera_bins"]).all(-1)
    probs[~own] = np.eye(actions.N_CAMERA_BINS, dtype=np.float32)[bins[~own]]
    return probs


class EpisodeStreams:
    """``n`` parallel streams, each playing episodes back to back, served in chunks.

    Episodes are dealt from a shuffled queue (reshuffled every pass); a stream that finishes an
    episode takes the next one, and the first frame of each episode is flagged ``first``.
    The whole position is a small dict (:meth:`state_dict`), so training resumes exactly.
    """

    def __init__(self, episodes: list[Episode], n: int, seed: int = 0, gui_weight: float = 1.0) -> None:
        if not episodes:
            raise ValueError("no episodes to train on")
        if len({e.camera_probs is None for e in episodes}) > 1:
            raise ValueError("some episodes have soft camera targets and some do not")
        if gui_weight < 0:
            raise ValueError(f"gui_weight must be >= 0, got {gui_weight}")
        self.episodes = episodes
        self.gui_weight = float(gui_weight)
        self.rng = np.random.default_rng(seed)
        self.queue: list[int] = []
        self.epoch = 0
        self.current = [self._deal() for _ in range(n)]
        self.pos = [0] * n

    def _deal(self) -> int:
        if not self.queue:
            self.queue = self.rng.permutation(len(self.episodes)).tolist()
            self.epoch += 1
        return self.queue.pop()

    def next_chunk(self, t: int) -> dict[str, np.ndarray]:
        """``{"frames" (n, t, H, W, 3), "first", "buttons", "camera", "mask", "weight", "gui"}``
        for the next ``t`` steps; ``weight`` is the frame's loss weight: 0 where ``mask`` is off,
        ``gui_weight`` on frames with a screen open (``gui``), else 1. Episodes with
        ``camera_probs`` add ``"camera_probs"`` (n, t, 2, 11)."""
        n = len(self.current)
        ep0 = self.episodes[0]
        frames = np.empty((n, t, *ep0.frames.shape[1:]), dtype=np.uint8)
        first = np.zeros((n, t), dtype=bool)
        buttons = np.zeros((n, t), dtype=np.int64)
        camera = np.zeros((n, t), dtype=np.int64)
        mask = np.zeros((n, t), dtype=bool)
        weight = np.zeros((n, t), dtype=np.float32)
        gui_open = np.zeros((n, t), dtype=bool)
        soft = ep0.camera_probs is not None
        camera_probs = np.zeros((n, t, 2, actions.N_CAMERA_BINS), dtype=np.float32) if soft else None
        for i in range(n):
            k = 0
            while k < t:
                ep = self.episodes[self.current[i]]
                if self.pos[i] >= len(ep.frames):
                    self.current[i], self.pos[i] = self._deal(), 0
                    continue
                take = min(t - k, len(ep.frames) - self.pos[i])
                sl = slice(self.pos[i], self.pos[i] + take)
                frames[i, k : k + take] = ep.frames[sl]
                buttons[i, k : k + take], camera[i, k : k + take] = ep.buttons[sl], ep.camera[sl]
                mask[i, k : k + take] = ep.mask[sl]
                if soft:
                    camera_probs[i, k : k + take] = ep.camera_probs[sl]
                gui = ep.gui[sl] if ep.gui is not None else False
                gui_open[i, k : k + take] = gui
                weight[i, k : k + take] = ep.mask[sl] * np.where(gui, self.gui_weight, 1.0)
                first[i, k] = self.pos[i] == 0
                self.pos[i] += take
                k += take
        chunk = {"frames": frames, "first": first, "buttons": buttons, "camera": camera, "mask": mask, "weight": weight,
                 "gui": gui_open}
        if soft:
            chunk["camera_probs"] = camera_probs
        return chunk

    def state_dict(self) -> dict[str, Any]:
        return {"rng": self.rng.bit_generator.state, "queue": list(self.queue), "epoch": self.epoch,
                "current": list(self.current), "pos": list(self.pos)}  # fmt: skip

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]
        self.queue, self.epoch = list(state["queue"]), int(state["epoch"])
        self.current, self.pos = list(state["current"]), list(state["pos"])


def bc_loss(out, buttons: torch.Tensor, camera: torch.Tensor, mask: torch.Tensor,
            weight: torch.Tensor | None = None, *, camera_noise: torch.Tensor | None = None,
            gui: torch.Tensor | None = None, camera_probs: torch.Tensor | None = None,
            ) -> tuple[torch.Tensor, dict[str, float]]:  # fmt: skip
    """Mean over trained frames of −log π(buttons) − log π(camera) (the camera term always, as
    the reference's log-probability); with ``weight`` (per frame, 0 off the mask) the weighted
    mean. The logged parts are weighted alike; ``trained_frames`` counts the mask.

    With ``camera_noise`` ((2, 121, 121) log P(label | true camera), indexed [world / screen,
    label, true]; :func:`label_noise_table`) the camera term is −log Σ_a π(a) P(label | a), the
    context of each frame from ``gui`` (None: world) — the module docstring's forward correction.
    With ``camera_probs`` ((..., 2, 11) per-axis bin probabilities) it is the cross-entropy
    −Σ_c q(c) log π(c), q(c) the product of c's two bins' probabilities (``soft_camera``);
    ``acc/camera`` still scores ``camera``."""
    if camera_noise is not None and camera_probs is not None:
        raise ValueError("a soft camera target and a label-noise correction do not combine")
    lb = out.buttons_logprob.gather(-1, buttons[..., None])[..., 0]
    if camera_probs is not None:
        bins = _CAMERA_BINS.to(camera_probs.device)
        q = camera_probs[..., 0, bins[:, 0]] * camera_probs[..., 1, bins[:, 1]]  # (..., 121) joint target
        lc = (q * out.camera_logprob.float()).sum(-1)
    elif camera_noise is None:
        lc = out.camera_logprob.gather(-1, camera[..., None])[..., 0]
    else:
        ctx = gui.long() if gui is not None else torch.zeros_like(camera)
        lc = torch.logsumexp(out.camera_logprob.float() + camera_noise[ctx, camera], dim=-1)
    m = (mask if weight is None else weight * mask).to(lb.dtype)
    n = m.sum().clamp_min(1e-6)  # no trained frame: the sums are 0 and so is the loss
    nll_b, nll_c = -(lb * m).sum() / n, -(lc * m).sum() / n
    with torch.no_grad():
        acc_b = ((out.buttons_logprob.argmax(-1) == buttons).to(m.dtype) * m).sum() / n
        acc_c = ((out.camera_logprob.argmax(-1) == camera).to(m.dtype) * m).sum() / n
    return nll_b + nll_c, {"nll/buttons": nll_b.item(), "nll/camera": nll_c.item(),
                           "acc/buttons": acc_b.item(), "acc/camera": acc_c.item(),
                           "trained_frames": float(mask.sum())}  # fmt: skip


def label_noise_table(counts: np.ndarray, device: torch.device | str = "cpu") -> torch.Tensor:
    """:func:`bc_loss`'s ``camera_noise`` from the counts of a camera confusion file
    (``vpt.data.labels.read_camera_confusion``)."""
    p = camera_label_noise(counts)  # [context, true, label]
    return torch.as_tensor(np.log(p).transpose(0, 2, 1).copy(), dtype=torch.float32, device=device)


#: (8641,) bool: joint buttons indices whose camera meta option is "move" (the camera head's
#: sample is used). The inventory index counts as moving, as the agent keeps the camera there.
_CAMERA_ON = torch.as_tensor(~actions.BUTTON_INDEX_CAMERA_META_OFF)
#: (121, 2) the (pitch, yaw) bins of each joint camera index.
_CAMERA_BINS = torch.as_tensor(actions.CAMERA_INDEX_TO_BINS.astype(np.int64))  # a copy: the table is read-only
#: (121, 2) the move in degrees (pitch, yaw) of each joint camera index.
_CAMERA_DEG = torch.as_tensor(actions.bins_to_camera(actions.CAMERA_INDEX_TO_BINS), dtype=torch.float32)


@torch.no_grad()
def evaluate_bc(policy: VPTPolicy, episodes: list[Episode], *, chunk: int = 32, batch_size: int = 8,
                device: str | torch.device = "cpu", precision: str = "fp32") -> dict[str, float]:
    """Teacher-forced metrics of ``policy`` on whole episodes (held-out data, or any policy on any
    recordings): each episode is played from its first frame with memory carried across chunks.

    Returns the trained-frame means of ``bc_loss``'s parts (``nll/*``, ``acc/*``), ``frames``,
    and, over the frames with a screen open (recordings only), the same parts under ``gui/`` plus
    ``gui/camera_on`` (share of those frames whose action moves the camera, i.e. the cursor) and
    ``gui/p_camera_on`` (the policy's probability of moving it: when it is well above
    ``camera_on``, the policy will not let the cursor rest on a slot) and ``gui/aim_sign`` (on
    the frames whose action moves the cursor, per moving axis, the share where the policy's
    expected move goes the same way: does it aim at the slot the demonstration goes to).
    """
    device = torch.device(device)
    was_training = policy.training
    policy.eval()
    camera_on, camera_deg = _CAMERA_ON.to(device), _CAMERA_DEG.to(device)
    # per prefix ("" all frames, "gui/" screen frames): frame-weighted sums, divided at the end
    sums: dict[str, dict[str, float]] = {"": defaultdict(float), "gui/": defaultdict(float)}

    def add(prefix: str, out, b: torch.Tensor, c: torch.Tensor, m: torch.Tensor) -> None:
        _, parts = bc_loss(out, b, c, m)
        n = parts.pop("trained_frames")
        acc = sums[prefix]
        acc["frames"] += n
        for k, v in parts.items():
            acc[k] += v * n
        if prefix:
            mf = m.float()
            acc["camera_on"] += (camera_on[b].float() * mf).sum().item()
            acc["p_camera_on"] += ((out.buttons_logprob.float().exp() * camera_on).sum(-1) * mf).sum().item()
            want = camera_deg[c] * (mf * camera_on[b].float())[..., None]  # (B, T, 2); 0 where not moving
            expect = out.camera_logprob.float().exp() @ camera_deg
            acc["aim_moves"] += (want != 0).sum().item()
            acc["aim_same"] += ((want != 0) & (torch.sign(expect) == torch.sign(want))).sum().item()

    for g in range(0, len(episodes), batch_size):
        group = episodes[g : g + batch_size]
        length = max(len(e.frames) for e in group)
        state = policy.initial_state(len(group), device)
        for t0 in range(0, length, chunk):
            t1 = min(length, t0 + chunk)
            frames = np.zeros((len(group), t1 - t0, *group[0].frames.shape[1:]), np.uint8)
            b = np.zeros((len(group), t1 - t0), np.int64)
            c = np.zeros_like(b)
            m = np.zeros((len(group), t1 - t0), bool)
            gui = np.zeros_like(m)
            for i, e in enumerate(group):
                sl = slice(t0, min(t1, len(e.frames)))
                k = sl.stop - sl.start
                if k <= 0:
                    continue
                frames[i, :k], b[i, :k], c[i, :k], m[i, :k] = e.frames[sl], e.buttons[sl], e.camera[sl], e.mask[sl]
                if e.gui is not None:
                    gui[i, :k] = e.gui[sl]
            first = torch.zeros(m.shape, dtype=torch.bool, device=device)
            first[:, 0] = t0 == 0
            with autocast(device, precision):
                out, state = policy(torch.as_tensor(frames, device=device), first, state)
            bt, ct, mt = (torch.as_tensor(x, device=device) for x in (b, c, m))
            add("", out, bt, ct, mt)
            if gui.any():
                add("gui/", out, bt, ct, mt & torch.as_tensor(gui, device=device))
    policy.train(was_training)
    metrics = {}
    for prefix, acc in sums.items():
        n = acc.get("frames", 0.0)
        if n:
            moves, same = acc.pop("aim_moves", 0.0), acc.pop("aim_same", 0.0)
            metrics.update({prefix + k: (v if k == "frames" else v / n) for k, v in acc.items()})
            if moves:
                metrics[prefix + "aim_sign"] = same / moves
            metrics[prefix + "loss"] = metrics[prefix + "nll/buttons"] + metrics[prefix + "nll/camera"]
    return metrics



@dataclass
class BCConfig:
    """Settings of a BC run (saved as the run's ``config.json``)."""

    data: str
    out: str
    preset: str = "small"
    init_model: str | None = None
    init_weights: str | None = None
    batch_size: int = 4
    """Parallel episode streams per process."""
    chunk: int = 32
    """Frames per chunk (memory is carried across chunks)."""
    grad_accum: int = 1
    steps: int = 1000
    lr: float = 1.81e-4
    weight_decay: float = 0.039
    warmup: int = 50
    schedule: str = "cosine"
    max_grad_norm: float = 5.0
    freeze: list[str] = field(default_factory=list)
    """Parameter-name prefixes to keep frozen, e.g. ``net.img_process``."""
    anchor: float = 0.0
    """L2 penalty towards the initial weights (fine-tuning), times this coefficient."""
    precision: str = "fp32"
    channels_last: bool = True
    checkpoint_every: int = 100
    seed: int = 0
    device: str = "auto"
    legacy_integer_camera: bool = False
    null_actions: bool = False
    """Train on null actions too (no button, no camera move). The paper drops them, since human
    contractors idle; scripted demonstrations wait on purpose (pauses, a still cursor)."""
    null_rule: str = "jsonl"
    """Which recording frames are null (module docstring): ``"jsonl"`` as the reference's loader,
    ``"policy"`` as label files (training on recordings and on IDM labels then drops the same
    frames). Applies to the held-out data too."""
    keep_segments: str | None = None
    """``filter.json`` of ``vpt data filter`` (or any JSON of that shape): train only on the
    kept frame ranges of the videos it names (label files and recordings alike)."""
    val_data: str | None = None
    """Held-out recordings or label files, scored by :func:`evaluate_bc` every ``eval_every``
    steps and at the end (``val/*`` in ``metrics.jsonl`` and the summary)."""
    eval_every: int = 500
    gui_weight: float = 1.0
    """Loss weight of frames with a screen open (recordings' ``isGuiOpen``; for label files seen
    in the frames, :func:`vpt.data.screen_open`). Screens are about half of the scripted
    tech-tree frames; below 1 the world frames (where the policy decides when to open the
    inventory) count for more."""
    label_noise: str | None = None
    """Camera confusion file of the IDM that made the label files (``vpt idm eval --confusion``,
    with the labels' own ``--mirror``/``--camera``): the camera loss is forward-corrected for
    that IDM's noise (module docstring). Label files only; the held-out loss is not corrected."""
    soft_camera: bool = False
    """Train the camera on the IDM's posterior (the label files' ``camera_probs``) instead of its
    chosen bin (module docstring). Label files only; not with ``label_noise``."""


def train_bc(cfg: BCConfig, *, progress: Callable[[int, dict[str, float]], None] | None = None) -> dict[str, float]:
    """Train (or resume) a BC run; writes ``policy.model`` + ``policy.weights`` in the run folder
    (the last step), and with ``val_data`` also ``policy.best.model`` + ``.weights`` (the lowest
    held-out loss so far; ``summary.json``'s ``best`` says which step)."""
    # --- setup ---------------------------------------------------------------------------------
    dist = init_distributed(cfg.device)
    precision = resolve_precision(cfg.precision, dist.device)  # "auto" → what this device runs
    run = RunDir(cfg.out, is_main=dist.is_main)
    run.write_config(asdict(cfg))
    seed_everything(cfg.seed + dist.rank)

    # --- data: this rank's share of the recordings (each decoded once), played by parallel streams
    report = DatasetReport()
    if cfg.soft_camera and cfg.label_noise:
        raise ValueError("soft_camera and label_noise are two answers to the same label noise: choose one")
    if cfg.label_noise or cfg.soft_camera:  # both are about IDM labels
        if not (Path(cfg.data).is_dir() and any(Path(cfg.data).rglob("*" + LABEL_SUFFIX))):
            what = "label_noise corrects IDM labels" if cfg.label_noise else "soft_camera trains on IDM posteriors"
            raise ValueError(f"{what}, but {cfg.data} holds no {LABEL_SUFFIX} files")
    camera_noise = label_noise_table(read_camera_confusion(cfg.label_noise)[0], dist.device) if cfg.label_noise else None
    keep = read_keep_segments(cfg.keep_segments) if cfg.keep_segments else None
    load = dict(legacy_integer_camera=cfg.legacy_integer_camera, keep=keep, null_actions=cfg.null_actions,
                null_rule=cfg.null_rule, soft_camera=cfg.soft_camera)
    mine = load_episodes(cfg.data, report=report, shard=(dist.rank, dist.world_size), **load)
    if not mine:  # fewer recordings than processes: this one trains on all of them
        mine = load_episodes(cfg.data, report=report, **load)
    data_stats = _all_gather((len(mine), sum(len(e.frames) for e in mine), report.bad_files), dist)
    val_episodes = _load_val(cfg) if dist.is_main else []
    streams = EpisodeStreams(mine, cfg.batch_size, seed=cfg.seed + dist.rank, gui_weight=cfg.gui_weight)

    # --- model: from scratch or from a .model/.weights pair --------------------------------------
    if cfg.init_model:
        policy: VPTPolicy = load_policy(cfg.init_model, cfg.init_weights or Path(cfg.init_model).with_suffix(".weights"))
    else:
        policy = build_policy(cfg.preset, seed=cfg.seed)
    policy = policy.to(dist.device).train()
    if cfg.channels_last:
        policy.optimize_for_inference(channels_last=True)
    # The value head is not trained by BC (nor by the reference).
    frozen = ("value_head", *cfg.freeze)
    for name, p in policy.named_parameters():
        if name.startswith(frozen):
            p.requires_grad_(False)
    trainable = [p for p in policy.parameters() if p.requires_grad]
    anchor = [p.detach().clone() for p in trainable] if cfg.anchor > 0 else None
    optimizer = torch.optim.AdamW(trainable, lr=cfg.lr, weight_decay=cfg.weight_decay)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lr_schedule(cfg.schedule, warmup=cfg.warmup, total=cfg.steps))
    model = DistributedDataParallel(policy) if dist.enabled else policy
    state = policy.initial_state(cfg.batch_size, dist.device)

    # --- resume ----------------------------------------------------------------------------------
    step = 0
    ckpt = run.load_checkpoint(dist.device)
    if ckpt is not None:
        policy.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        scheduler.load_state_dict(ckpt["scheduler"])
        streams.load_state_dict(ckpt["streams"][dist.rank])
        state = tuple(AttentionState(*s) for s in ckpt["memory"][dist.rank])
        if anchor is not None:
            anchor = [a.to(dist.device) for a in ckpt["anchor"]]
        set_rng_state(ckpt["rng"])
        step = int(ckpt["step"])
        run.truncate_metrics(step)

    # --- the loop --------------------------------------------------------------------------------
    t_last, frames_since, logs = time.perf_counter(), 0, {}
    while step < cfg.steps:
        optimizer.zero_grad(set_to_none=True)
        logs = {}
        for _ in range(cfg.grad_accum):
            batch = {k: torch.as_tensor(v, device=dist.device) for k, v in streams.next_chunk(cfg.chunk).items()}
            with autocast(dist.device, precision):
                out, state = model(batch["frames"], batch["first"], state)
            loss, parts = bc_loss(out, batch["buttons"], batch["camera"], batch["mask"], batch["weight"],
                                  camera_noise=camera_noise, gui=batch["gui"], camera_probs=batch.get("camera_probs"))  # fmt: skip
            if anchor is not None:
                penalty = sum(((p - a) ** 2).sum() for p, a in zip(trainable, anchor))
                loss = loss + cfg.anchor * penalty
                parts["anchor_l2"] = penalty.item()
            (loss / cfg.grad_accum).backward()
            state = detach_state(state)
            for k, v in parts.items():
                logs[k] = logs.get(k, 0.0) + v / cfg.grad_accum
            frames_since += batch["frames"].shape[0] * batch["frames"].shape[1]
        grad_norm = torch.nn.utils.clip_grad_norm_(trainable, cfg.max_grad_norm)
        optimizer.step()
        scheduler.step()
        step += 1

        now = time.perf_counter()
        logs.update({"loss": logs["nll/buttons"] + logs["nll/camera"], "grad_norm": float(grad_norm),
                     "lr": scheduler.get_last_lr()[0], "epoch": float(streams.epoch),
                     "frames_per_s": frames_since * dist.world_size / (now - t_last)})  # fmt: skip
        t_last, frames_since = now, 0
        if val_episodes and (step % cfg.eval_every == 0 or step == cfg.steps):
            val = evaluate_bc(policy, val_episodes, chunk=cfg.chunk, device=dist.device, precision=precision)
            if run.improves("val/loss", val["loss"]):  # keep the best on held-out data too
                save_policy(policy, run.path / "policy.best.model", run.path / "policy.best.weights")
            logs.update({"val/" + k: v for k, v in val.items()})
            t_last = time.perf_counter()  # the next step's speed leaves the evaluation out
        run.log(step, logs)
        if progress is not None:
            progress(step, logs)
        if step % cfg.checkpoint_every == 0 or step == cfg.steps:
            # Every rank's stream position and memory, so that each resumes where it was.
            memory = [tuple(t.cpu() for t in s) for s in state]
            streams_all, memory_all = zip(*_all_gather((streams.state_dict(), memory), dist))
            run.save_checkpoint({"step": step, "model": policy.state_dict(), "optimizer": optimizer.state_dict(),
                                 "scheduler": scheduler.state_dict(), "streams": list(streams_all), "memory": list(memory_all),
                                 "anchor": [a.cpu() for a in anchor] if anchor is not None else None, "rng": rng_state()})  # fmt: skip
            if dist.is_main:
                save_policy(policy, run.path / "policy.model", run.path / "policy.weights")

    if dist.is_main:
        summary = {"steps": step, "precision": precision, "episodes": sum(n for n, _, _ in data_stats),
                   "frames": int(sum(f for _, f, _ in data_stats)),
                   "bad_files": {k: v for _, _, bad in data_stats for k, v in bad.items()}, **logs}  # fmt: skip
        if (best := run.best("val/loss")) is not None:
            summary["best"] = {"step": best[0], "val/loss": best[1], "model": "policy.best.model"}
        run.write_summary(summary)
    run.close()
    close_distributed()
    return logs


def _load_val(cfg: BCConfig) -> list[Episode]:
    """The held-out episodes of ``cfg.val_data``, or [] without it."""
    if not cfg.val_data:
        return []
    report = DatasetReport()
    episodes = load_episodes(cfg.val_data, report=report, legacy_integer_camera=cfg.legacy_integer_camera,
                             null_actions=cfg.null_actions, null_rule=cfg.null_rule)
    if not episodes:
        raise ValueError(f"no held-out episodes in {cfg.val_data}: {report.bad_files or 'no recordings'}")
    return episodes


def _all_gather(obj: Any, dist) -> list[Any]:
    """Collect a per-rank object on every rank (a list indexed by rank)."""
    if not dist.enabled:
        return [obj]
    import torch.distributed as tdist

    out: list[Any] = [None] * dist.world_size
    tdist.all_gather_object(out, obj)
    return out

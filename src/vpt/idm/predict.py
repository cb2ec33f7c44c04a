"""Running the IDM over videos of any length.

Default: **overlapping windows over cached features.** The conv3d + CNN features of every
frame are computed once (:meth:`InverseDynamicsModel.encode`); the transformer then runs over
windows of ``window`` features every ``stride`` frames, and each frame keeps the prediction of
the window where it sits farthest from an edge, so every frame is predicted with past *and*
future context (except at the video's own ends).

``reference_windows=True`` reproduces the reference demo: consecutive non-overlapping windows of
``window`` frames, each an independent call (frames near a window edge see little context and
the temporal conv sees zeros across window edges).

Two options trade compute or bin accuracy for a better camera (``docs/results`` §1, session
21; ``models/idm_g2`` held out: camera R² 0.912 → 0.927 (either) → 0.943 (both), keypress 0.971 → 0.974):

* ``mirror=True`` also predicts the left-right mirrored video and averages the two (their
  log-probabilities, renormalised: the mirrored one's yaw bins and strafe/hotbar buttons mapped
  back through :data:`vpt.actions.MIRRORED_BUTTONS`). Twice the compute; the result is exactly
  mirror-symmetric.
* ``camera="mean"`` labels each camera axis with the bin nearest the posterior-mean move
  instead of the most probable bin (``"mode"``, the reference's argmax): less squared error in
  degrees, slightly fewer exact bins.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from vpt import actions
from vpt.idm.model import InverseDynamicsModel

__all__ = ["CAMERA_ESTIMATES", "check_camera_estimate", "IDMPrediction", "window_starts", "assign_windows", "predict", "decode_windows"]


CAMERA_ESTIMATES = ("mode", "mean")


def check_camera_estimate(camera: str) -> None:
    """Raise ``ValueError`` unless ``camera`` is one of :data:`CAMERA_ESTIMATES`."""
    if camera not in CAMERA_ESTIMATES:
        raise ValueError(f"camera must be one of {', '.join(CAMERA_ESTIMATES)}, got {camera!r}")


@dataclass
class IDMPrediction:
    """Per-frame IDM output for one video of ``T`` frames."""

    buttons_logprob: np.ndarray
    """(T, 20, 2) float32."""
    camera_logprob: np.ndarray
    """(T, 2, 11) float32."""
    camera: str = "mode"
    """Which bin :attr:`camera_bins` (and so the labels) take per axis: ``"mode"``, the most
    probable (the reference), or ``"mean"``, the one nearest the posterior-mean move."""

    def __post_init__(self) -> None:
        check_camera_estimate(self.camera)

    @property
    def factored_buttons(self) -> np.ndarray:
        """(T, 20) uint8 argmax per button."""
        return self.buttons_logprob.argmax(-1).astype(np.uint8)

    @property
    def camera_bins(self) -> np.ndarray:
        """(T, 2) int64 bin per axis (pitch, yaw), chosen as :attr:`camera` says."""
        if self.camera == "mean":
            return actions.camera_to_bins(self.camera_mean_degrees)
        return self.camera_logprob.argmax(-1).astype(np.int64)

    @property
    def camera_mean_degrees(self) -> np.ndarray:
        """(T, 2) float64 posterior-mean camera per axis: the bin centres (degrees) weighted by
        their probabilities, the estimate with the least expected squared error."""
        prob = np.exp(self.camera_logprob.astype(np.float64))
        prob /= prob.sum(-1, keepdims=True)
        return prob @ actions.bins_to_camera(np.arange(actions.N_CAMERA_BINS))

    @property
    def policy_actions(self) -> dict[str, np.ndarray]:
        """Joint indices ``{"buttons": (T,), "camera": (T,)}`` (the BC targets)."""
        b, c = actions.factored_to_joint(self.factored_buttons, self.camera_bins)
        return {"buttons": b, "camera": c}

    @property
    def env_actions(self) -> list[dict[str, Any]]:
        """One MineRL action dict per frame: the 20 buttons (0/1) and ``camera`` degrees."""
        env = actions.factored_to_env(self.factored_buttons, self.camera_bins)
        return [{k: (v[t].tolist()) for k, v in env.items()} for t in range(len(self.buttons_logprob))]


def window_starts(n: int, window: int, stride: int) -> np.ndarray:
    """Start frames of overlapping windows covering ``n`` frames (the last one ends at ``n``)."""
    if n <= window:
        return np.zeros(1, dtype=np.int64)
    starts = list(range(0, n - window + 1, stride))
    if starts[-1] != n - window:
        starts.append(n - window)
    return np.asarray(starts, dtype=np.int64)


def assign_windows(n: int, starts: np.ndarray, window: int) -> np.ndarray:
    """For each frame, the index of the window where it is farthest from both edges."""
    t = np.arange(n)[None, :]
    s = starts[:, None]
    inside = (t >= s) & (t < s + window)
    margin = np.where(inside, np.minimum(t - s, s + window - 1 - t), -1)
    # Ties go to the later window (more future context helps an inverse model).
    return (margin.shape[0] - 1 - np.argmax(margin[::-1], axis=0)).astype(np.int64)


@torch.inference_mode()
def decode_windows(
    model: InverseDynamicsModel, latents: torch.Tensor, window: int, stride: int, batch_size: int = 8
) -> tuple[torch.Tensor, torch.Tensor]:
    """Transformer over overlapping windows of one video's features (T, hid) → per-frame
    log-probabilities ((T, 20, 2), (T, 2, 11)), windows batched ``batch_size`` at a time."""
    n = latents.shape[0]
    w = min(window, n)
    starts = window_starts(n, w, stride)
    owner = assign_windows(n, starts, w)
    buttons = torch.empty(n, len(actions.BUTTONS), 2)
    camera = torch.empty(n, 2, actions.N_CAMERA_BINS)
    for i in range(0, len(starts), batch_size):
        group = starts[i : i + batch_size]
        out = model.decode(torch.stack([latents[s : s + w] for s in group]))
        for j, s in enumerate(group):
            frames = np.nonzero(owner == i + j)[0]
            buttons[frames] = out.buttons_logprob[j, frames - s].float().cpu()
            camera[frames] = out.camera_logprob[j, frames - s].float().cpu()
    return buttons, camera


@torch.inference_mode()
def predict(
    model: InverseDynamicsModel,
    frames: np.ndarray | torch.Tensor,
    *,
    window: int | None = None,
    stride: int | None = None,
    reference_windows: bool = False,
    batch_size: int = 8,
    chunk: int = 16,
    mirror: bool = False,
    camera: str = "mode",
) -> IDMPrediction:
    """Predict the actions behind a video.

    Args:
        model: the IDM (eval mode).
        frames: (T, 128, 128, 3) uint8 RGB frames.
        window: frames per window (default: the model's ``timesteps``).
        stride: frames between overlapping window starts (default ``window // 2``).
        reference_windows: run the reference's consecutive non-overlapping windows instead.
        batch_size: windows per transformer call.
        chunk: frames per encoder call (bounds memory; results do not depend on it).
        mirror: average with the prediction of the left-right mirrored video (module docstring).
        camera: the camera bin estimate, ``"mode"`` or ``"mean"`` (:attr:`IDMPrediction.camera`).
    """
    x = torch.as_tensor(np.asarray(frames)) if not isinstance(frames, torch.Tensor) else frames
    if x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"frames must be (T, H, W, 3), got {tuple(x.shape)}")
    if x.shape[0] == 0:
        raise ValueError("no frames to label")
    check_camera_estimate(camera)  # before the work, not after it
    window = window or model.cfg.window
    buttons, camera_lp = _logprobs(model, x, window, stride, reference_windows, batch_size, chunk)
    if mirror:
        mb, mc = _logprobs(model, x.flip(2), window, stride, reference_windows, batch_size, chunk)
        mc[:, 1] = mc[:, 1].flip(-1)  # mirrored yaw: bin b is 10 - b
        # The normalised geometric mean of the two posteriors.
        buttons = torch.log_softmax((buttons + mb[:, actions.MIRRORED_BUTTONS]) / 2, -1)
        camera_lp = torch.log_softmax((camera_lp + mc) / 2, -1)
    return IDMPrediction(buttons.numpy(), camera_lp.numpy(), camera=camera)


def _logprobs(model: InverseDynamicsModel, x: torch.Tensor, window: int, stride: int | None,
              reference_windows: bool, batch_size: int, chunk: int) -> tuple[torch.Tensor, torch.Tensor]:  # fmt: skip
    """:func:`predict`'s windows over one video: per-frame log-probabilities on the CPU."""
    if reference_windows:
        outs = [model(x[s : s + window][None].to(model.device)) for s in range(0, x.shape[0], window)]
        buttons = torch.cat([o.buttons_logprob[0].float().cpu() for o in outs])
        camera = torch.cat([o.camera_logprob[0].float().cpu() for o in outs])
    else:
        stride = stride or max(1, window // 2)
        latents = model.encode(x, chunk=chunk)
        buttons, camera = decode_windows(model, latents, window, stride, batch_size)
    return buttons, camera

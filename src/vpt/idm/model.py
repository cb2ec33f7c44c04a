"""The inverse dynamics model (IDM), weight-compatible with OpenAI's ``4x_idm`` (vpt.md §7).

``InverseDynamicsModel`` = ``net`` (temporal conv3d front → ImpalaCNN → non-causal transformer →
``final_ln``) + ``pi_head`` (per-button (20, 2) and per-camera-axis (2, 11) heads), built from
the shared blocks of :mod:`vpt.nn` with the reference's state-dict names.

Two ways to run it over a video:

* :meth:`InverseDynamicsModel.forward` — one call on ``(B, T)`` frames, exactly the reference
  (frames past the call's edges count as zeros for the temporal conv);
* :meth:`encode` + :meth:`decode` — the image features of a whole video are computed once
  (the temporal conv sees true neighbours, zeros only at the video's ends), then the
  transformer runs over overlapping windows of features. This is what :func:`vpt.idm.predict`
  uses: no frame's convolutions are ever computed twice.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from vpt.actions import BUTTONS, N_CAMERA_BINS
from vpt.agent.policy import ModelConfigError, PolicyConfig, build_trunk
from vpt.nn import ActionHeads, FanInInitReLULayer

__all__ = ["IDMConfig", "IDMOutput", "InverseDynamicsModel"]


@dataclass(frozen=True)
class IDMConfig:
    """Validated IDM architecture from ``.model`` kwargs (``conv3d_params`` + policy-style kwargs)."""

    trunk: PolicyConfig
    """The image encoder and transformer settings (``img_shape[2]`` = conv3d output channels)."""
    conv3d_in: int = 3
    conv3d_out: int = 128
    kernel_t: int = 5
    padding_t: int = 2
    kernel_hw: tuple[int, int] = (1, 1)
    """Spatial extent of the conv3d kernel: OpenAI's IDM uses (1, 1) (purely temporal); an odd
    larger kernel (e.g. (5, 5)) makes the first layer direction-selective. The reference builds
    ``nn.Conv3d(**conv3d_params)``, so such files still load there."""
    net_kwargs: dict[str, Any] = field(default_factory=dict, compare=False)

    @classmethod
    def from_kwargs(cls, net_kwargs: Mapping[str, Any], pi_head_opts: Mapping[str, Any] | None = None) -> IDMConfig:
        """Validate ``model.args.net.args`` of an IDM ``.model`` file.

        Raises:
            ModelConfigError: naming the offending kwarg.
        """
        kw = dict(net_kwargs)
        c3 = kw.pop("conv3d_params", None)
        if not isinstance(c3, Mapping):
            raise ModelConfigError("IDM kwargs need 'conv3d_params' (inchan, outchan, kernel_size, padding)")
        try:
            inchan, outchan = int(c3["inchan"]), int(c3["outchan"])
            kt, kh, kw_ = (int(v) for v in c3["kernel_size"])
            pt, ph, pw = (int(v) for v in c3["padding"])
        except (KeyError, TypeError, ValueError) as e:
            raise ModelConfigError(f"conv3d_params must have inchan, outchan, kernel_size[3], padding[3]: {c3!r}") from e
        if any(k % 2 == 0 or p != k // 2 for k, p in ((kt, pt), (kh, ph), (kw_, pw))) or inchan != 3:
            raise ModelConfigError(f"conv3d_params must be an odd, 'same'-padded conv over RGB (got {dict(c3)!r})")
        trunk = PolicyConfig.from_kwargs(kw, pi_head_opts)
        if trunk.img_shape[2] != outchan:
            raise ModelConfigError(f"img_shape[2] ({trunk.img_shape[2]}) must equal conv3d outchan ({outchan})")
        if trunk.attention_mask_style != "none":
            raise ModelConfigError("the IDM's attention_mask_style must be 'none' (it sees the future)")
        # The IDM's first conv normalises its input; pre-LN is never applied (vpt.md §7.2).
        trunk = replace(trunk, first_conv_norm=True, use_pre_lstm_ln=False)
        return cls(trunk, inchan, outchan, kt, pt, (kh, kw_), copy.deepcopy(dict(net_kwargs)))

    @property
    def window(self) -> int:
        """The training chunk length (``timesteps``): the natural window for prediction."""
        return self.trunk.timesteps or 128

    def to_model_dict(self) -> dict[str, Any]:
        return {
            "model": {
                "args": {
                    "net": {"args": copy.deepcopy(self.net_kwargs)},
                    "pi_head_opts": {"temperature": self.trunk.temperature},
                }
            }
        }


@dataclass
class IDMOutput:
    """Result of an IDM call (batch-first, time second)."""

    buttons_logprob: torch.Tensor
    """(B, T, 20, 2): per button (``BUTTONS`` order), log-probability of up / pressed."""
    camera_logprob: torch.Tensor
    """(B, T, 2, 11): per camera axis (pitch, yaw), log-probability of each bin."""
    cnn_latent: torch.Tensor | None = None
    final_latent: torch.Tensor | None = None


class IDMNet(nn.Module):
    """``net``: conv3d → image encoder → transformer blocks → ReLU → ``final_ln``."""

    def __init__(self, cfg: IDMConfig) -> None:
        super().__init__()
        # The trunk's config has ``first_conv_norm`` on, no pre-LN and no attention mask
        # (``IDMConfig.from_kwargs``). Reference quirk: ``lastlayer`` exists (its weights are in
        # the file) but its output is discarded: ``final_ln`` reads the ReLU of the transformer
        # output directly.
        self.img_process, _, self.recurrent_layer, self.lastlayer, self.final_ln = build_trunk(cfg.trunk)
        # Unused, so frozen: a parameter without a gradient would stop DDP at its first step.
        self.lastlayer.requires_grad_(False)
        self.conv3d_layer = FanInInitReLULayer(
            cfg.conv3d_in,
            cfg.conv3d_out,
            layer_type="conv3d",
            kernel_size=(cfg.kernel_t, *cfg.kernel_hw),
            padding=(cfg.padding_t, cfg.kernel_hw[0] // 2, cfg.kernel_hw[1] // 2),
            init_scale=1.0,
        )


class InverseDynamicsModel(nn.Module):
    """The VPT inverse dynamics model.

    Args:
        cfg: architecture (see :meth:`IDMConfig.from_kwargs`).
    """

    def __init__(self, cfg: IDMConfig) -> None:
        super().__init__()
        self.cfg = cfg
        self.net = IDMNet(cfg)
        self.pi_head = ActionHeads(
            cfg.trunk.hidsize,
            {"buttons": (2, (len(BUTTONS),)), "camera": (N_CAMERA_BINS, (2,))},
            temperature=cfg.trunk.temperature,
        )
        self.temporal_conv2d: bool | None = None
        """Run OpenAI's (kt, 1, 1) temporal conv as the equal (kt, 1) conv2d (True) or as PyTorch's
        conv3d, the reference's op (False; ``vpt bench conv3d`` compares the two in training).
        None: the conv2d when gradients are computed (forward + backward 2.8x the conv3d's at 8
        channels, 1.15x at 32, session 34; 2.2x and 1.7x oneDNN's conv3d's, session 37); at
        inference on CPUs oneDNN's conv3d called directly (2.7x the conv2d at 8 channels, 2.1x at
        32 on 2 threads, 3.5x and 1.9x on one; 36 frames, session 37, 2-core AVX2 CPU); elsewhere
        the conv2d for at most 16 output channels, the conv3d otherwise."""

    @property
    def device(self) -> torch.device:
        return self.net.final_ln.weight.device

    def optimize_for_inference(
        self,
        *,
        channels_last: bool = True,
        winograd: bool = False,
        encoder_dtype: torch.dtype | None = None,
        compile: bool = False,
        int8: bool = False,
    ) -> None:
        """Speed settings of the image encoder (see ``ImageEncoder.optimize_for_inference``);
        the state dict is unchanged. With ``compile``, :meth:`encode` feeds the CNN chunks of
        one size (the last one padded), so it compiles once per ``chunk``. ``int8``: int8 convs
        (``vpt.nn.int8``; x86 CPUs with AVX2, best with VNNI or AMX)."""
        self.net.img_process.optimize_for_inference(
            channels_last=channels_last, winograd=winograd, dtype=encoder_dtype, compile=compile, int8=int8
        )

    def initial_state(self, batch_size: int, device: torch.device | str | None = None):
        """Empty state (the IDM has no memory: ``attention_memory_size == timesteps``)."""
        return self.net.recurrent_layer.initial_state(batch_size, device or self.device)

    # --- the two halves -------------------------------------------------------------------

    def _temporal_conv(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, T, H, W, 3) uint8/float → (B, T, H, W, C) float after conv3d + ReLU.

        Frames past the edges of ``frames`` count as zeros (the conv's own padding).
        """
        x = frames.to(torch.float32)
        if self.cfg.trunk.scale_input_img:
            x = x / 255.0
        layer = self.net.conv3d_layer
        way = {True: "conv2d", False: "conv3d", None: None}[self.temporal_conv2d]
        if way is None:
            if torch.is_grad_enabled():
                way = "conv2d"
            elif x.device.type == "cpu" and torch.backends.mkldnn.is_available():
                way = "onednn"
            else:
                way = "conv2d" if self.cfg.conv3d_out <= 16 else "conv3d"
        if way == "conv2d" and self.cfg.kernel_hw != (1, 1):
            way = "conv3d"  # the conv2d form holds only for OpenAI's (kt, 1, 1) kernel
        if way != "conv2d":
            x = x.permute(0, 4, 1, 2, 3)  # (B, C, T, H, W), channels-last-3d strides
            if way == "onednn":
                # oneDNN's conv3d called directly. PyTorch's dispatch (ConvParams::use_mkldnn)
                # sends a (kt, 1, 1) kernel at batch 1 to its slow unfold path on one thread,
                # and on more below ~54 frames of 128 rows; that path also returns NCDHW, which
                # the channels-last CNN then copies: together ~40% of the small preset's encoding
                # at 32-frame chunks (session 37). Same sums (~1e-6); channels-last-3d in and out.
                c = layer.layer
                x = torch.mkldnn_convolution(x, c.weight, c.bias, c.padding, c.stride, c.dilation, c.groups)
                x = F.relu_(x) if layer.use_activation else x
            else:
                x = layer(x)
            # Channel-minor result as a (B, T, H, W, C) view: the CNN then runs channels-last.
            return x.permute(0, 2, 3, 4, 1)
        # OpenAI's (kt, 1, 1) kernel mixes frames, never pixels: it is a (kt, 1) conv2d over
        # (time, pixels), the same sums in another order (~1e-7). PyTorch runs such a conv3d on
        # its slow unfold path on CPUs; oneDNN runs the conv2d, here channels-last in and out,
        # so the (B, T, H, W, C) result is a view (2.8x faster forward + backward on the tiny
        # IDM's training windows: its training step 1.2x faster on an AVX2 CPU; `vpt bench conv3d`).
        b, t, h, w, c = x.shape
        x = F.conv2d(
            x.permute(0, 4, 1, 2, 3).reshape(b, c, t, h * w),
            layer.layer.weight[..., 0],
            layer.layer.bias,
            padding=(self.cfg.padding_t, 0),
        )
        if layer.use_activation:
            x = F.relu_(x)
        return x.permute(0, 2, 3, 1).reshape(b, x.shape[2], h, w, x.shape[1])

    def encode(self, frames: torch.Tensor, *, chunk: int = 16) -> torch.Tensor:
        """Image features of a whole video: (T, H, W, 3) uint8 → (T, hidsize).

        Each frame's temporal conv sees its true neighbours (zeros only before the first and
        after the last frame); frames are processed ``chunk`` at a time to bound memory.
        """
        if frames.ndim != 4 or tuple(frames.shape[1:]) != (*self.cfg.trunk.img_shape[:2], 3):
            raise ValueError(f"frames must be (T, {self.cfg.trunk.img_shape[0]}, {self.cfg.trunk.img_shape[1]}, 3), got {tuple(frames.shape)}")
        p = self.cfg.padding_t
        t_total = frames.shape[0]
        out = []
        for s in range(0, t_total, chunk):
            e = min(t_total, s + chunk)
            lo, hi = max(0, s - p), min(t_total, e + p)
            x = frames[lo:hi].to(self.device)
            # Zero frames where the video ends; the layer's own padding then adds p more
            # zeros on each side, which only the discarded outputs see.
            x = F.pad(x, (0, 0, 0, 0, 0, 0, p - (s - lo), p - (hi - e)))
            # [0, ...][None]: the batch stride of a fresh chunk, so that a compiled encoder sees
            # one layout for every chunk (a slice keeps the whole call's, and recompiles).
            y = self._temporal_conv(x[None])[0, p : p + (e - s)][None]
            if self.net.img_process.compiled and e - s < chunk:  # one input shape: no recompiling
                y = F.pad(y, (0, 0, 0, 0, 0, 0, 0, chunk - (e - s)))
            out.append(self.net.img_process(y)[0, : e - s])
        return torch.cat(out) if out else torch.zeros(0, self.cfg.trunk.hidsize, device=self.device)

    def decode(self, latents: torch.Tensor) -> IDMOutput:
        """Transformer + heads on feature windows: (B, W, hidsize) → :class:`IDMOutput`."""
        b, t = latents.shape[:2]
        first = torch.zeros(b, t, dtype=torch.bool, device=latents.device)
        h, _, _ = self.net.recurrent_layer(latents, first, self.initial_state(b, latents.device))
        h = self.net.final_ln(F.relu(h))
        logp = self.pi_head(h)
        return IDMOutput(logp["buttons"], logp["camera"], cnn_latent=latents, final_latent=h)

    def forward(self, frames: torch.Tensor, first: torch.Tensor | None = None, state: Any = None) -> IDMOutput:
        """One reference-style call: (B, T, H, W, 3) frames → per-frame log-probabilities.

        ``first`` and ``state`` are accepted for interface parity and unused: the IDM has no
        memory and its attention is unmasked.
        """
        if frames.ndim != 5:
            raise ValueError(f"frames must be (B, T, H, W, 3), got {tuple(frames.shape)}")
        latents = self.net.img_process(self._temporal_conv(frames))
        return self.decode(latents)

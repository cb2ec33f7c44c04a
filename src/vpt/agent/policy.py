"""The VPT policy network (``MinecraftAgentPolicy`` of the reference), weight-compatible.

``VPTPolicy`` = ``net`` (image encoder, transformer trunk, output trunk) + ``value_head`` +
``pi_head`` (``camera``: 121 joint camera classes, ``buttons``: 8641 joint button classes), with
the reference's state-dict names (vpt.md §4, §6.3). Build it from the kwargs of a ``.model``
file with ``PolicyConfig.from_kwargs`` or load both files with ``vpt.agent.load_policy``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from vpt.actions import N_BUTTON_INDICES, N_CAMERA_INDICES
from vpt.nn import (
    ActionHeads,
    AttentionState,
    FanInInitReLULayer,
    ImageEncoder,
    Linear,
    ResidualRecurrentBlocks,
    ScaledMSEHead,
    dense_norm_kwargs,
)

PolicyState = tuple[AttentionState, ...]
"""Recurrent state: one ``AttentionState`` (mask, K, V) per transformer layer."""

def detach_state(state: PolicyState) -> PolicyState:
    """Cut the autograd graph at a state (truncated backpropagation through time)."""
    return tuple(AttentionState(s.mask, s.k.detach(), s.v.detach()) for s in state)


class ModelConfigError(ValueError):
    """The network kwargs of a ``.model`` file are invalid or unsupported."""


def _int(kwargs: Mapping[str, Any], key: str, default: Any, minimum: int = 1) -> int:
    value = kwargs.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ModelConfigError(f"net kwarg {key!r} must be an integer >= {minimum}, got {value!r}")
    return value


def _bool(kwargs: Mapping[str, Any], key: str, default: bool) -> bool:
    value = kwargs.get(key, default)
    if not isinstance(value, bool):
        raise ModelConfigError(f"net kwarg {key!r} must be a bool, got {value!r}")
    return value


@dataclass(frozen=True)
class PolicyConfig:
    """Validated policy architecture, read from ``.model`` kwargs (defaults as the reference)."""

    hidsize: int = 512
    img_shape: tuple[int, int, int] = (128, 128, 3)
    impala_chans: tuple[int, ...] = (16, 32, 32)
    impala_width: int = 1
    post_pool_groups: int | None = None
    init_norm_kwargs: dict[str, Any] = field(default_factory=dict)
    first_conv_norm: bool = False
    scale_input_img: bool = True
    use_pre_lstm_ln: bool = True
    n_recurrence_layers: int = 1
    attention_heads: int = 8
    attention_memory_size: int = 2048
    timesteps: int = 0
    attention_mask_style: str = "clipped_causal"
    use_pointwise_layer: bool = True
    pointwise_ratio: int = 4
    pointwise_use_activation: bool = False
    recurrence_is_residual: bool = True
    temperature: float = 1.0
    net_kwargs: dict[str, Any] = field(default_factory=dict, compare=False)
    """The original kwargs dict, written back unchanged by ``save_policy``."""

    @property
    def maxlen(self) -> int:
        """Attention window / cache length: ``attention_memory_size - timesteps``."""
        return self.attention_memory_size - self.timesteps

    @property
    def cnn_chans(self) -> tuple[int, ...]:
        return tuple(int(self.impala_width * c) for c in self.impala_chans)

    @classmethod
    def from_kwargs(cls, net_kwargs: Mapping[str, Any], pi_head_opts: Mapping[str, Any] | None = None) -> PolicyConfig:
        """Validate ``model.args.net.args`` and ``model.args.pi_head_opts`` of a ``.model`` file.

        Raises:
            ModelConfigError: naming the offending kwarg.
        """
        kw = dict(net_kwargs)
        if "conv3d_params" in kw:
            raise ModelConfigError("these are inverse dynamics model kwargs (conv3d_params); load them with vpt.idm")
        rtype = kw.get("recurrence_type", "lstm")
        if rtype != "transformer":
            raise ModelConfigError(f"recurrence_type {rtype!r} is not supported (only 'transformer')")
        if kw.get("img_statistics") is not None:
            raise ModelConfigError("img_statistics (mean/std input normalisation) is not supported")
        img_shape = kw.get("img_shape")
        if (
            not isinstance(img_shape, (list, tuple))
            or len(img_shape) != 3
            or not all(isinstance(v, int) and v > 0 for v in img_shape)
        ):
            raise ModelConfigError(f"net kwarg 'img_shape' must be [H, W, C] positive ints, got {img_shape!r}")
        chans = kw.get("impala_chans", (16, 32, 32))
        if not isinstance(chans, (list, tuple)) or not chans or not all(isinstance(c, int) and c > 0 for c in chans):
            raise ModelConfigError(f"net kwarg 'impala_chans' must be a list of positive ints, got {chans!r}")
        width = kw.get("impala_width", 1)
        if isinstance(width, bool) or not isinstance(width, (int, float)) or width <= 0:
            raise ModelConfigError(f"net kwarg 'impala_width' must be a positive number, got {width!r}")
        impala_kwargs = kw.get("impala_kwargs", {}) or {}
        if not isinstance(impala_kwargs, Mapping) or set(impala_kwargs) - {"post_pool_groups"}:
            raise ModelConfigError(f"net kwarg 'impala_kwargs' supports only post_pool_groups, got {impala_kwargs!r}")
        ppg = impala_kwargs.get("post_pool_groups")
        if ppg is not None and (not isinstance(ppg, int) or ppg < 1):
            raise ModelConfigError(f"impala_kwargs.post_pool_groups must be a positive int, got {ppg!r}")
        norm = kw.get("init_norm_kwargs", {}) or {}
        if not isinstance(norm, Mapping) or set(norm) - {"batch_norm", "group_norm_groups", "layer_norm"}:
            raise ModelConfigError(f"net kwarg 'init_norm_kwargs' has unsupported keys: {norm!r}")
        mask = kw.get("attention_mask_style", "clipped_causal")
        if mask not in ("clipped_causal", "none"):
            raise ModelConfigError(f"attention_mask_style must be 'clipped_causal' or 'none', got {mask!r}")
        timesteps = kw.get("timesteps")
        if isinstance(timesteps, bool) or not isinstance(timesteps, int) or timesteps < 0:
            raise ModelConfigError(f"net kwarg 'timesteps' must be a non-negative int, got {timesteps!r}")
        hidsize = _int(kw, "hidsize", 512)
        heads = _int(kw, "attention_heads", 8)
        if hidsize % heads:
            raise ModelConfigError(f"hidsize ({hidsize}) must be divisible by attention_heads ({heads})")
        memory = _int(kw, "attention_memory_size", 2048)
        if memory - timesteps < (1 if mask == "clipped_causal" else 0):
            raise ModelConfigError(
                f"attention_memory_size ({memory}) minus timesteps ({timesteps}) must be >= 1 with mask {mask!r}"
            )
        opts = dict(pi_head_opts or {})
        if set(opts) - {"temperature"}:
            raise ModelConfigError(f"pi_head_opts supports only 'temperature', got keys {sorted(opts)}")
        try:
            # Reference quirk: the stored temperature may be an int; it is cast with float().
            temperature = float(opts.get("temperature", 1.0))
        except (TypeError, ValueError):
            raise ModelConfigError(f"pi_head_opts.temperature must be a number, got {opts['temperature']!r}") from None
        if not temperature > 0:
            raise ModelConfigError(f"pi_head_opts.temperature must be > 0, got {temperature!r}")
        return cls(
            hidsize=hidsize,
            img_shape=tuple(img_shape),  # type: ignore[arg-type]
            impala_chans=tuple(chans),
            impala_width=width,
            post_pool_groups=ppg,
            init_norm_kwargs=dict(norm),
            first_conv_norm=_bool(kw, "first_conv_norm", False),
            scale_input_img=_bool(kw, "scale_input_img", True),
            use_pre_lstm_ln=_bool(kw, "use_pre_lstm_ln", True),
            n_recurrence_layers=_int(kw, "n_recurrence_layers", 1),
            attention_heads=heads,
            attention_memory_size=memory,
            timesteps=timesteps,
            attention_mask_style=mask,
            use_pointwise_layer=_bool(kw, "use_pointwise_layer", True),
            pointwise_ratio=_int(kw, "pointwise_ratio", 4),
            pointwise_use_activation=_bool(kw, "pointwise_use_activation", False),
            recurrence_is_residual=_bool(kw, "recurrence_is_residual", True),
            temperature=temperature,
            net_kwargs=copy.deepcopy(dict(net_kwargs)),
        )

    def to_model_dict(self) -> dict[str, Any]:
        """The ``.model`` payload: ``{"model": {"args": {"net": {"args": ...}, "pi_head_opts": ...}}}``."""
        return {
            "model": {
                "args": {
                    "net": {"args": copy.deepcopy(self.net_kwargs)},
                    "pi_head_opts": {"temperature": self.temperature},
                }
            }
        }


@dataclass
class PolicyOutput:
    """Result of ``VPTPolicy.forward`` (all tensors batch-first, time second)."""

    buttons_logprob: torch.Tensor
    """(B, T, 8641) log-probabilities of the joint button classes."""
    camera_logprob: torch.Tensor
    """(B, T, 121) log-probabilities of the joint camera classes."""
    vpred_normalized: torch.Tensor
    """(B, T) raw value-head output."""
    vpred: torch.Tensor
    """(B, T) value after denormalisation."""
    cnn_latent: torch.Tensor
    """(B, T, hidsize) image-encoder output."""
    block_outputs: tuple[torch.Tensor, ...]
    """Output of each transformer block, (B, T, hidsize) each."""
    final_latent: torch.Tensor
    """(B, T, hidsize) output of ``final_ln``: the input of both heads."""


class Trunk(NamedTuple):
    """The modules the policy and the IDM share, named as in the reference's state dicts."""

    img_process: ImageEncoder
    pre_lstm_ln: nn.LayerNorm | None
    recurrent_layer: ResidualRecurrentBlocks
    lastlayer: FanInInitReLULayer
    final_ln: nn.LayerNorm


def build_trunk(cfg: PolicyConfig, *, reference_first_handling: bool = False) -> Trunk:
    """Image encoder → (pre-LN) → transformer blocks → ``lastlayer`` → ``final_ln`` of ``cfg``.

    ``VPTPolicy`` and the IDM (whose ``IDMConfig.trunk`` is a ``PolicyConfig``) both build their
    ``net`` from this, so a change of architecture is made in one place.
    """
    dense_kw = dense_norm_kwargs(cfg.init_norm_kwargs)
    return Trunk(
        img_process=ImageEncoder(
            cfg.img_shape,
            cfg.cnn_chans,
            cfg.hidsize,
            init_norm_kwargs=cfg.init_norm_kwargs,
            dense_init_norm_kwargs=dense_kw,
            first_conv_norm=cfg.first_conv_norm,
            post_pool_groups=cfg.post_pool_groups,
        ),
        pre_lstm_ln=nn.LayerNorm(cfg.hidsize) if cfg.use_pre_lstm_ln else None,
        recurrent_layer=ResidualRecurrentBlocks(
            cfg.n_recurrence_layers,
            hidsize=cfg.hidsize,
            heads=cfg.attention_heads,
            memory_size=cfg.attention_memory_size,
            timesteps=cfg.timesteps,
            mask=cfg.attention_mask_style,
            use_pointwise_layer=cfg.use_pointwise_layer,
            pointwise_ratio=cfg.pointwise_ratio,
            pointwise_use_activation=cfg.pointwise_use_activation,
            is_residual=cfg.recurrence_is_residual,
            reference_first_handling=reference_first_handling,
        ),
        lastlayer=FanInInitReLULayer(cfg.hidsize, cfg.hidsize, layer_type="linear", **dense_kw),
        final_ln=nn.LayerNorm(cfg.hidsize),
    )


class PolicyNet(nn.Module):
    """``net``: image encoder -> (pre-LN) -> transformer blocks -> ReLU -> ``lastlayer`` -> ``final_ln``."""

    def __init__(self, cfg: PolicyConfig, reference_first_handling: bool = False) -> None:
        super().__init__()
        self.cfg = cfg
        self.img_process, self.pre_lstm_ln, self.recurrent_layer, self.lastlayer, self.final_ln = build_trunk(
            cfg, reference_first_handling=reference_first_handling
        )

    def forward(
        self, x: torch.Tensor, first: torch.Tensor, state: PolicyState
    ) -> tuple[torch.Tensor, torch.Tensor, tuple[torch.Tensor, ...], PolicyState]:
        """Float images (B, T, H, W, C) -> (final latent, cnn latent, block outputs, state)."""
        cnn_latent = self.img_process(x)
        h = cnn_latent if self.pre_lstm_ln is None else self.pre_lstm_ln(cnn_latent)
        h, state, block_outputs = self.recurrent_layer(h, first, state)
        h = self.final_ln(self.lastlayer(F.relu(h)))
        return h, cnn_latent, block_outputs, state


class VPTPolicy(nn.Module):
    """The VPT Minecraft policy (``MinecraftAgentPolicy``).

    Args:
        cfg: architecture (see ``PolicyConfig.from_kwargs``).
        reference_first_handling: honour only ``first[:, 0]`` of a multi-step call, as the
            reference does. Default False: an episode start anywhere in a call resets that row's
            memory from that step on. Both agree when starts only occur at call starts.
    """

    def __init__(self, cfg: PolicyConfig, reference_first_handling: bool = False) -> None:
        super().__init__()
        self.cfg = cfg
        self.net = PolicyNet(cfg, reference_first_handling=reference_first_handling)
        self.value_head = ScaledMSEHead(cfg.hidsize)
        self.pi_head = ActionHeads(
            cfg.hidsize,
            {"camera": (N_CAMERA_INDICES, ()), "buttons": (N_BUTTON_INDICES, ())},
            temperature=cfg.temperature,
        )

    @property
    def reference_first_handling(self) -> bool:
        return self.net.recurrent_layer.blocks[0].r.reference_first_handling

    @reference_first_handling.setter
    def reference_first_handling(self, value: bool) -> None:
        for block in self.net.recurrent_layer.blocks:
            block.r.reference_first_handling = bool(value)

    @property
    def device(self) -> torch.device:
        return self.pi_head["buttons"].linear_layer.weight.device

    def set_temperature(self, temperature: float) -> None:
        """Divide the action logits by ``temperature`` from now on (the ``.model`` file's
        ``pi_head_opts.temperature``; ``save_policy`` writes the new value). Below 1 the policy
        samples closer to its most likely actions, above 1 more uniformly; training losses change
        with it too, so set it for acting."""
        temperature = float(temperature)
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature!r}")
        for head in self.pi_head.values():
            head.temperature = temperature
        self.cfg = replace(self.cfg, temperature=temperature)

    def optimize_for_inference(
        self,
        *,
        channels_last: bool = True,
        winograd: bool = False,
        encoder_dtype: torch.dtype | None = None,
        linear_dtype: torch.dtype | None = None,
        linear_max_rows: int | None = 1,
        compile: bool = False,
        int8: bool = False,
    ) -> None:
        """Speed settings for acting (gradient-free calls); the state dict is unchanged.

        Args:
            channels_last: store the conv weights channels-last (the input already arrives
                channel-minor, so no conversion is needed). Float32 results unchanged.
            winograd: compute the 3x3 convs with >= 16 input channels by Winograd F(4x4, 3x3)
                (``vpt.nn.winograd``): 4x fewer multiplications, about 1e-5 relative change.
            encoder_dtype: run the CNN from a copy of its weights in this dtype (e.g.
                ``torch.bfloat16``, fast on GPUs and CPUs with native bf16). None: float32.
            linear_dtype: keep copies of every Linear weight in this dtype (e.g.
                ``torch.float16``) for calls with at most ``linear_max_rows`` rows (None: all):
                batch-1 acting is bound by reading weights from memory, and half-size weights
                halve it; on CPUs without half-precision arithmetic larger calls are faster in
                float32.
                Changes log-probabilities by about 1e-3. None: float32.
            linear_max_rows: see ``vpt.nn.Linear.set_inference_dtype``.
            compile: run the CNN through ``torch.compile`` with frozen weights
                (``ImageEncoder.set_inference_copy``): each new batch shape compiles first, for
                a minute or more.
            int8: run the CNN's convs in int8 (``vpt.nn.int8``; x86 CPUs with AVX2, else a
                RuntimeError), the rest of the CNN in ``encoder_dtype``; combine with ``compile``
                (which then fuses each conv's norm and quantisation).
        """
        self.net.img_process.optimize_for_inference(
            channels_last=channels_last, winograd=winograd, dtype=encoder_dtype, compile=compile, int8=int8
        )
        for m in self.modules():
            if isinstance(m, Linear):
                m.set_inference_dtype(linear_dtype, linear_max_rows)

    def initial_state(self, batch_size: int, device: torch.device | str | None = None) -> PolicyState:
        """Empty memory for ``batch_size`` rows (on the policy's device unless given)."""
        return self.net.recurrent_layer.initial_state(batch_size, device or self.device)

    def forward(
        self, frames: torch.Tensor | np.ndarray, first: torch.Tensor | np.ndarray, state: PolicyState
    ) -> tuple[PolicyOutput, PolicyState]:
        """Run ``T`` steps for ``B`` rows.

        Args:
            frames: (B, T, H, W, C) images, uint8 (or float in [0, 255]), RGB, at ``img_shape``;
                a tensor or numpy array (moved to the policy's device).
            first: (B, T) bool episode-start flags (tensor or array).
            state: from ``initial_state`` or a previous call.

        Returns:
            ``(PolicyOutput, new_state)``.
        """
        frames = torch.as_tensor(frames, device=self.device)
        first = torch.as_tensor(first, device=self.device)
        if frames.ndim != 5 or tuple(frames.shape[2:]) != tuple(self.cfg.img_shape):
            raise ValueError(
                f"frames must have shape (B, T, {', '.join(map(str, self.cfg.img_shape))}), got {tuple(frames.shape)}"
            )
        if tuple(first.shape) != tuple(frames.shape[:2]):
            raise ValueError(f"first must have shape {tuple(frames.shape[:2])}, got {tuple(first.shape)}")
        x = frames.to(torch.float32)
        if self.cfg.scale_input_img:
            x = x / 255.0
        latent, cnn_latent, block_outputs, state = self.net(x, first.to(torch.bool), state)
        logp = self.pi_head(latent)
        v = self.value_head(latent)
        return (
            PolicyOutput(
                buttons_logprob=logp["buttons"],
                camera_logprob=logp["camera"],
                vpred_normalized=v[..., 0],
                vpred=self.value_head.denormalize(v)[..., 0],
                cnn_latent=cnn_latent,
                block_outputs=block_outputs,
                final_latent=latent,
            ),
            state,
        )

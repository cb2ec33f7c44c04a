"""Int8 convolutions for gradient-free CNN calls on x86 CPUs (opt-in: ``vpt idm label --int8``).

The IDM's image encoder is ~34 GMAC a frame at OpenAI's 4x size, nearly all in 3x3 convs, so
labelling on a CPU is bound by them. With VNNI (AVX-512 VNNI, AVX-VNNI) or AMX, oneDNN's
uint8 x int8 convolution does twice bfloat16's multiply-adds per instruction and four times
float32's (measured on a 2-core AVX-512 CPU, one 256-channel 3x3 conv at 64 x 64: float32 55,
bf16 115, int8 223 GMAC/s a core). On AVX2 without VNNI (e.g. AMD Zen 2 and 3) it still does
about twice float32's (2-core Zen 3, 128 channels at 64 x 64: float32 29, int8 55 GMAC/s a
core), but there oneDNN multiplies with ``vpmaddubsw``, which adds each pair of uint8 x int8
products into a *saturating* int16: 255 x 127 x 2 overflows it (on a worst-case input the
output is off by half). So without VNNI the weights are quantised to 7 bits (-63..63: a pair
sums to at most 2 x 255 x 63 = 32,130 < 32,767, exact again; :func:`weight_levels`). On
``models/idm_g2``'s held-out frames that moves the image features by 4.4% (8-bit weights: 3.7%;
7-bit activations instead would be 7.2%).

:func:`quantize_convs` turns every conv ``FanInInitReLULayer`` of a CNN copy into an
:class:`Int8Conv2d`:

* weights: int8 (-127..127 with VNNI, -63..63 without), symmetric, one scale per output
  channel, quantised and prepacked once;
* activations: the layer's input norm runs in the copy's dtype, then its output is quantised to
  uint8 on every call with one scale and zero point for the whole tensor, from its minimum and
  maximum (dynamic quantisation: nothing to calibrate, no data needed);
* one oneDNN call does the conv, adds the bias and applies the ReLU, and returns the copy's dtype.

The result is an approximation, like a bf16 copy but coarser: on random 4x IDM weights the image
features move by ~6% (L2, relative; a bf16 copy's ~2%). How much that moves labels is a property
of the trained weights: measure it (``vpt idm eval --int8`` against the same model without). On
``models/idm_g2`` no held-out score moved by more than 0.002 (0.004 with a bf16 copy). With a
bf16 copy and ``compile``, OpenAI's 4x IDM labels at 3.1x the reference style's frames/s on a
2-core AVX-512 CPU (bf16 alone: 2.0x; README, Performance). The float32 weights and the state
dict are untouched.
"""

from __future__ import annotations

import copy
import platform
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from vpt.nn.fanin import FanInInitReLULayer

_VNNI_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")


def int8_unavailable_reason(device: torch.device) -> str | None:
    """Why int8 convs cannot run on ``device`` (None: they can). They need oneDNN on an x86-64
    CPU with AVX2 (fastest, and with 8-bit weights, where it has VNNI or AMX)."""
    if device.type != "cpu":
        return f"int8 convs run on the CPU (oneDNN), not on {device}"
    return _cpu_unavailable_reason()


@lru_cache(maxsize=1)
def cpu_flags() -> frozenset[str]:
    """This CPU's feature flags as /proc/cpuinfo lists them (empty where there is none)."""
    cpuinfo = Path("/proc/cpuinfo")
    return frozenset(cpuinfo.read_text().split()) if cpuinfo.exists() else frozenset()


@lru_cache(maxsize=1)
def _cpu_unavailable_reason() -> str | None:
    if platform.machine().lower() not in ("x86_64", "amd64"):
        return f"int8 convs need an x86-64 CPU (this is {platform.machine()})"
    if not torch.backends.mkldnn.is_available():
        return "int8 convs need PyTorch built with oneDNN (torch.backends.mkldnn)"
    if "avx2" not in cpu_flags():
        return "int8 convs need a CPU with AVX2 (not in /proc/cpuinfo here)"
    return None


def has_vnni() -> bool:
    """Whether this CPU has VNNI (AVX-512 VNNI, AVX-VNNI) or AMX-INT8: int8 products summed in int32."""
    return bool(cpu_flags() & set(_VNNI_FLAGS))


def weight_levels() -> int:
    """The largest int8 weight magnitude on this CPU: 127 with VNNI or AMX (their products
    accumulate in int32), 63 without (oneDNN's AVX2 path sums each pair of uint8 x int8 products
    into a saturating int16; 7-bit weights keep every pair sum in range)."""
    return 127 if has_vnni() else 63


def _quantize_activations(
    x: torch.Tensor, norm_weight: torch.Tensor | None, norm_bias: torch.Tensor | None, groups: int, eps: float
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Input norm (GroupNorm when ``groups`` > 0) then uint8 quantisation: (q, scale, zero point).

    One scale for the whole tensor from its range (zero kept exactly representable). A plain
    function of tensors, so one ``torch.compile`` of it serves every layer.
    """
    if groups:
        x = F.group_norm(x, groups, norm_weight, norm_bias, eps)
    x = x.float()
    lo, hi = torch.aminmax(x)
    lo, hi = lo.clamp(max=0.0), hi.clamp(min=0.0)
    scale = ((hi - lo) / 255.0).clamp(min=1e-12)
    zero_point = torch.round(-lo / scale).clamp(0, 255)
    q = torch.clamp(torch.round(x / scale) + zero_point, 0, 255).to(torch.uint8)
    return q.contiguous(memory_format=torch.channels_last), scale, zero_point.to(torch.int32)


def _compiled_quantizer() -> Callable[..., tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """:func:`_quantize_activations` through ``torch.compile``: one graph per input shape, dtype
    and layout. Compiled code is cached per function, so every layer of every model in the
    process adds its shapes to one cache: dynamo's default of 8 graphs a function is too few
    (past it, calls silently run eagerly)."""
    import torch._dynamo.config as dynamo_config  # only here: a heavy import

    compiled = torch.compile(_quantize_activations, dynamic=False)

    def run(*args: object) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        with dynamo_config.patch(recompile_limit=256):
            return compiled(*args)

    return run


class Int8Conv2d(nn.Module):
    """A conv ``FanInInitReLULayer`` (norm -> conv -> ReLU) with int8 weights and activations.

    Args:
        layer: the float layer (its conv weights are read, not kept).
        norm: the input norm to apply (``layer.norm`` or its low-precision copy): GroupNorm or None.
        out_dtype: dtype of the output (the CNN copy's dtype).
        quantize: the activation quantiser (:func:`_quantize_activations`, compiled or not).
        levels: the largest weight magnitude (default :func:`weight_levels`: this CPU's).
    """

    def __init__(
        self,
        layer: FanInInitReLULayer,
        norm: nn.Module | None,
        out_dtype: torch.dtype,
        quantize: Callable[..., tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = _quantize_activations,
        levels: int | None = None,
    ) -> None:
        super().__init__()
        conv = layer.layer
        if not isinstance(conv, nn.Conv2d):
            raise TypeError(f"Int8Conv2d converts conv layers, got {type(conv).__name__}")
        if norm is not None and not isinstance(norm, nn.GroupNorm):
            raise ValueError(f"int8 convs support a GroupNorm input norm or none, got {type(norm).__name__}")
        if conv.groups != 1 or tuple(conv.dilation) != (1, 1):
            raise ValueError("int8 convs support groups=1, dilation=1 only")
        self.norm = norm
        self.relu = layer.use_activation
        self.out_dtype = out_dtype
        self.quantize = quantize
        self.stride, self.padding = list(conv.stride), list(conv.padding)
        self.levels = weight_levels() if levels is None else levels
        if not 1 <= self.levels <= 127:
            raise ValueError(f"weight levels must be in 1..127, got {self.levels}")
        w = conv.weight.detach().float()
        self.w_scale = (w.abs().amax(dim=(1, 2, 3)) / self.levels).clamp(min=1e-12)
        qw = torch.round(w / self.w_scale[:, None, None, None]).clamp(-self.levels, self.levels).to(torch.int8)
        self.w_zero_point = torch.zeros(w.shape[0], dtype=torch.int64)
        self.bias = None if conv.bias is None else conv.bias.detach().float()
        self.packed = torch.ops.onednn.qconv_prepack(
            qw.contiguous(memory_format=torch.channels_last), self.w_scale, 1.0, 0, self.stride, self.padding, [1, 1], 1, None
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norm = self.norm
        if norm is None:
            q, scale, zp = self.quantize(x, None, None, 0, 0.0)
        else:
            q, scale, zp = self.quantize(x, norm.weight, norm.bias, norm.num_groups, norm.eps)
        return torch.ops.onednn.qconv2d_pointwise.tensor(
            q, scale, zp, self.packed, self.w_scale, self.w_zero_point, self.bias, self.stride, self.padding, [1, 1], 1,
            1.0, 0, self.out_dtype, "relu" if self.relu else "none", [], "",
        )  # fmt: skip


def quantize_convs(cnn: nn.Module, dtype: torch.dtype = torch.float32, *, compile: bool = False) -> nn.Module:
    """A gradient-free copy of ``cnn`` in ``dtype`` with every conv ``FanInInitReLULayer`` int8.

    With ``compile``, each layer's norm and quantisation run as one compiled kernel (the convs
    themselves are oneDNN calls either way); each new input shape compiles first.
    """
    if (why := int8_unavailable_reason(next(cnn.parameters()).device)) is not None:
        raise RuntimeError(why)
    quantize = _compiled_quantizer() if compile else _quantize_activations
    with torch.inference_mode(False):
        out = copy.deepcopy(cnn).to(dtype).requires_grad_(False)
    for name, module in list(out.named_modules()):
        for child_name, child in list(module.named_children()):
            if isinstance(child, FanInInitReLULayer) and isinstance(child.layer, nn.Conv2d):
                source = cnn.get_submodule(f"{name}.{child_name}" if name else child_name)
                setattr(module, child_name, Int8Conv2d(source, child.norm, dtype, quantize))
    return out

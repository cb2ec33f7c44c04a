"""The IMPALA-style image encoder of VPT (vpt.md §4.3-4.5).

``ImpalaCNN`` is the conv trunk (``net.img_process.cnn``) and ``ImageEncoder`` wraps it with the
256 -> hidsize projection (``net.img_process``). Both take channel-last input
``(B, T, H, W, C)``; the IDM feeds them the output of its temporal conv instead of pixels.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from vpt.nn.fanin import FanInInitReLULayer
from vpt.nn.linear import weight_signature
from vpt.nn.norm import GroupNorm
from vpt.nn.int8 import int8_unavailable_reason, quantize_convs
from vpt.nn.winograd import Conv2d

CNN_OUTSIZE = 256
"""Width of the CNN's dense output. Reference quirk: fixed at 256, not a kwarg."""


class CnnBasicBlock(nn.Module):
    """Residual block ``x + conv1(conv0(x))``; each conv is norm -> 3x3 conv -> ReLU.

    Reference quirk: the second ReLU comes before the residual add; nothing follows the add.
    """

    def __init__(self, inchan: int, init_scale: float = 1.0, init_norm_kwargs: dict | None = None) -> None:
        super().__init__()
        s = math.sqrt(init_scale)
        kw = dict(init_norm_kwargs or {})
        self.conv0 = FanInInitReLULayer(inchan, inchan, kernel_size=3, padding=1, init_scale=s, **kw)
        self.conv1 = FanInInitReLULayer(inchan, inchan, kernel_size=3, padding=1, init_scale=s, **kw)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv1(self.conv0(x))


class CnnDownStack(nn.Module):
    """``firstconv`` -> max-pool 3x3/2 -> GroupNorm ``n`` -> ``nblock`` residual blocks.

    Args:
        inchan: input channels.
        nblock: number of residual blocks.
        outchan: output channels.
        init_scale: init scale of the stack (split over its blocks).
        post_pool_groups: groups of the post-pool GroupNorm ``n`` (None: no norm).
        init_norm_kwargs: conv norm kwargs (``group_norm_groups`` / ``batch_norm``).
        first_conv_norm: whether ``firstconv`` normalises its input. Reference quirk: the
            policy's very first conv has no norm (and therefore a bias); the IDM's has one.
    """

    def __init__(
        self,
        inchan: int,
        nblock: int,
        outchan: int,
        init_scale: float = 1.0,
        post_pool_groups: int | None = None,
        init_norm_kwargs: dict | None = None,
        first_conv_norm: bool = True,
    ) -> None:
        super().__init__()
        self.inchan = inchan
        self.outchan = outchan
        norm_kw = dict(init_norm_kwargs or {})
        first_kw = dict(norm_kw)
        if not first_conv_norm:
            first_kw["group_norm_groups"] = None
            first_kw["batch_norm"] = False
        self.firstconv = FanInInitReLULayer(inchan, outchan, kernel_size=3, padding=1, **first_kw)
        self.n: GroupNorm | None = None
        if post_pool_groups is not None:
            self.n = GroupNorm(post_pool_groups, outchan)
        self.blocks = nn.ModuleList(
            CnnBasicBlock(outchan, init_scale=init_scale / math.sqrt(nblock), init_norm_kwargs=norm_kw)
            for _ in range(nblock)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.firstconv(x)
        x = F.max_pool2d(x, kernel_size=3, stride=2, padding=1)
        if self.n is not None:
            x = self.n(x)
        for block in self.blocks:
            x = block(x)
        return x

    @staticmethod
    def output_hw(h: int, w: int) -> tuple[int, int]:
        """Spatial size after the stride-2 pool: ceil(h/2), ceil(w/2)."""
        return (h + 1) // 2, (w + 1) // 2


class ImpalaCNN(nn.Module):
    """Stacks of ``CnnDownStack`` then a dense layer (``dense``) to ``outsize`` features.

    Args:
        inshape: (H, W, C) of the input.
        chans: output channels of each stack.
        outsize: dense output width (256 in VPT).
        nblock: residual blocks per stack.
        init_norm_kwargs: conv norm kwargs.
        dense_init_norm_kwargs: dense-layer norm kwargs (see ``fanin.dense_norm_kwargs``).
        first_conv_norm: see ``CnnDownStack``; only stack 0 can lack it.
        post_pool_groups: groups of each stack's post-pool GroupNorm.
    """

    def __init__(
        self,
        inshape: Sequence[int],
        chans: Sequence[int],
        outsize: int,
        nblock: int = 2,
        init_norm_kwargs: dict | None = None,
        dense_init_norm_kwargs: dict | None = None,
        first_conv_norm: bool = False,
        post_pool_groups: int | None = None,
    ) -> None:
        super().__init__()
        h, w, c = (int(v) for v in inshape)
        self.stacks = nn.ModuleList()
        for i, outchan in enumerate(chans):
            stack = CnnDownStack(
                c,
                nblock=nblock,
                outchan=int(outchan),
                init_scale=math.sqrt(len(chans)),
                post_pool_groups=post_pool_groups,
                init_norm_kwargs=init_norm_kwargs,
                first_conv_norm=first_conv_norm if i == 0 else True,
            )
            self.stacks.append(stack)
            c = int(outchan)
            h, w = CnnDownStack.output_hw(h, w)
        self.output_chw = (c, h, w)
        self.dense = FanInInitReLULayer(
            c * h * w, outsize, layer_type="linear", init_scale=1.4, **(dense_init_norm_kwargs or {})
        )
        self.outsize = outsize

    def forward_conv(self, x: torch.Tensor) -> torch.Tensor:
        """The conv stacks on an NCHW batch; returns (N, C, h, w)."""
        for stack in self.stacks:
            x = stack(x)
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, H, W, C) float -> (B, T, outsize)."""
        b, t = x.shape[:2]
        # (B*T, H, W, C) -> NCHW by permutation: a channels_last-strided view, no copy.
        x = x.reshape(b * t, *x.shape[2:]).permute(0, 3, 1, 2)
        x = self.forward_conv(x)
        # Reference quirk: the flattening before ``dense`` is channel-major (C, H, W).
        x = x.reshape(b, t, -1)
        return self.dense(x)


class ImageEncoder(nn.Module):
    """``net.img_process``: ImpalaCNN (-> 256) then ``linear`` (LayerNorm -> Linear -> ReLU).

    Args:
        inshape: (H, W, C) of the encoder input.
        chans: CNN stack widths (already multiplied by ``impala_width``).
        output_size: hidsize.
        init_norm_kwargs: conv norm kwargs.
        dense_init_norm_kwargs: dense-layer norm kwargs.
        first_conv_norm: see ``CnnDownStack``.
        post_pool_groups: ``impala_kwargs["post_pool_groups"]``.
        nblock: residual blocks per stack (2 in VPT).
    """

    def __init__(
        self,
        inshape: Sequence[int],
        chans: Sequence[int],
        output_size: int,
        init_norm_kwargs: dict | None = None,
        dense_init_norm_kwargs: dict | None = None,
        first_conv_norm: bool = False,
        post_pool_groups: int | None = None,
        nblock: int = 2,
    ) -> None:
        super().__init__()
        self.cnn = ImpalaCNN(
            inshape,
            chans,
            CNN_OUTSIZE,
            nblock=nblock,
            init_norm_kwargs=init_norm_kwargs,
            dense_init_norm_kwargs=dense_init_norm_kwargs,
            first_conv_norm=first_conv_norm,
            post_pool_groups=post_pool_groups,
        )
        self.linear = FanInInitReLULayer(
            CNN_OUTSIZE, output_size, layer_type="linear", **(dense_init_norm_kwargs or {})
        )

    def optimize_for_inference(
        self,
        *,
        channels_last: bool = True,
        winograd: bool = False,
        dtype: torch.dtype | None = None,
        compile: bool = False,
        int8: bool = False,
    ) -> None:
        """Speed settings of the CNN (shared by the policy and the IDM; the state dict is unchanged):
        channels-last conv weights, Winograd F(4x4, 3x3) for the 3x3 convs (``vpt.nn.winograd``,
        about 1e-5 relative change), an optional low-precision copy, an optional compiled copy and
        optional int8 convs (:meth:`set_inference_copy`)."""
        fmt = torch.channels_last if channels_last else torch.contiguous_format
        for m in self.cnn.modules():
            if isinstance(m, nn.Conv2d):
                m.weight.data = m.weight.data.contiguous(memory_format=fmt)
            if isinstance(m, Conv2d):
                m.set_winograd(winograd)
        self.set_inference_copy(dtype, compile=compile, int8=int8)

    def set_inference_copy(self, dtype: torch.dtype | None, *, compile: bool = False, int8: bool = False) -> None:
        """Run gradient-free calls on a copy of ``cnn``: in ``dtype`` (e.g. bfloat16; None: float32);
        with ``int8``, its convs int8 (``vpt.nn.int8``: x86 CPUs with AVX2, VNNI or AMX); with
        ``compile``, through ``torch.compile`` with inductor's weight freezing (weights folded in
        as constants, convs prepacked; a C++ compiler is needed, and the first call of each input
        shape compiles for a minute or more; with ``int8``, the norms and quantisation around the
        int8 convs are what compiles). None of them set: calls use ``cnn``.

        The copy lives outside the state dict and is rebuilt (recompiled) when the float32 weights
        change in place (optimizer step, ``load_state_dict``) or move. Calls with gradients
        enabled always use the float32 ``cnn``.
        """
        if int8 and (why := int8_unavailable_reason(next(self.cnn.parameters()).device)) is not None:
            raise RuntimeError(why)
        object.__setattr__(self, "_copy_dtype", dtype)
        object.__setattr__(self, "_copy_compile", compile)
        object.__setattr__(self, "_copy_int8", int8)
        object.__setattr__(self, "_copy", None)

    @property
    def compiled(self) -> bool:
        """Gradient-free calls go through ``torch.compile`` (callers keep input shapes few)."""
        return bool(self.__dict__.get("_copy_compile"))

    def _inference_cnn(self) -> Callable[[torch.Tensor], torch.Tensor] | None:
        """The copy gradient-free calls use (input in its dtype), or None for ``cnn`` itself."""
        dtype, compiled, int8 = self.__dict__.get("_copy_dtype"), self.compiled, self.__dict__.get("_copy_int8")
        if dtype is None and not compiled and not int8:
            return None
        version = tuple(weight_signature(p) for p in self.cnn.parameters())
        cached = self.__dict__.get("_copy")
        if cached is None or cached[0] != version:
            if int8:
                cached = (version, quantize_convs(self.cnn, dtype or torch.float32, compile=compiled))
            else:
                with torch.inference_mode(False):  # a plain copy, even when first needed in inference mode
                    cnn = copy.deepcopy(self.cnn).to(dtype or torch.float32).requires_grad_(False)
                cached = (version, _frozen_compiled(cnn) if compiled else cnn)
            object.__setattr__(self, "_copy", cached)
        return cached[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, H, W, C) float -> (B, T, output_size)."""
        cnn = self._inference_cnn() if not torch.is_grad_enabled() else None
        if cnn is None:
            y = self.cnn(x)
        else:
            y = cnn(x.to(self.__dict__["_copy_dtype"] or torch.float32)).float()
        return self.linear(y)


def _frozen_compiled(cnn: nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """``cnn`` through ``torch.compile`` with inductor's weight freezing (set for each call, so
    that a recompile for a new shape freezes too)."""
    import torch._inductor.config as inductor_config  # only here: a heavy import

    compiled = torch.compile(cnn, dynamic=False)

    def run(x: torch.Tensor) -> torch.Tensor:
        with inductor_config.patch(freezing=True):
            return compiled(x.contiguous())  # one stride pattern too: strides are compiled in

    return run

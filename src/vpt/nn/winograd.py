"""Winograd F(4x4, 3x3) convolution for gradient-free calls (Lavin & Gray, 2015).

A 3x3, stride-1, padding-1 convolution computed on 6x6 input tiles that each give a 4x4 output
tile: the 36 transformed points are 36 independent (tiles x C) @ (C x K) matrix products,
4x fewer multiplications than the direct convolution. Everything is expressed as three large
matrix products (the 2-D tile transforms applied separably, one axis per product) plus two
gathers, so it runs on the BLAS of any device. Float32 results differ
from the direct convolution by about 1e-5 relative (vs about 1e-6 for the direct one).
"""

from __future__ import annotations

import functools

import torch
import torch.nn.functional as F
from torch import nn

from vpt.nn.linear import weight_signature

_BT = torch.tensor(
    [
        [4, 0, -5, 0, 1, 0],
        [0, -4, -4, 1, 1, 0],
        [0, 4, -4, -1, 1, 0],
        [0, -2, -1, 2, 1, 0],
        [0, 2, -1, -2, 1, 0],
        [0, 4, 0, -5, 0, 1],
    ],
    dtype=torch.float64,
)
_G = torch.tensor(
    [
        [1 / 4, 0, 0],
        [-1 / 6, -1 / 6, -1 / 6],
        [-1 / 6, 1 / 6, -1 / 6],
        [1 / 24, 1 / 12, 1 / 6],
        [1 / 24, -1 / 12, 1 / 6],
        [0, 0, 1],
    ],
    dtype=torch.float64,
)
_AT = torch.tensor(
    [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 0], [0, 1, 1, 4, 4, 0], [0, 1, -1, 8, -8, 1]], dtype=torch.float64
)


@functools.lru_cache(maxsize=16)
def _transforms(device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    return _BT.to(device=device, dtype=dtype), _AT.to(device=device, dtype=dtype)


def winograd_weights(weight: torch.Tensor) -> torch.Tensor:
    """(K, C, 3, 3) conv weight -> (36, C, K) transformed weight ``G g G^T`` (computed in float64)."""
    g = _G.to(weight.device)
    u = torch.einsum("ij,kcjl,ml->imkc", g, weight.detach().double(), g)
    return u.reshape(36, weight.shape[0], weight.shape[1]).transpose(1, 2).to(weight.dtype).contiguous()


def winograd_conv3x3(x: torch.Tensor, u: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """3x3 / stride 1 / padding 1 convolution of NCHW ``x`` (H, W multiples of 4).

    Args:
        x: (N, C, H, W) input, any memory format (channels-last avoids one copy).
        u: (36, C, K) from ``winograd_weights``.
        bias: optional (K,).

    Returns:
        (N, K, H, W) output in channels-last memory format.
    """
    n, c, h, w = x.shape
    k = u.shape[2]
    th, tw = h // 4, w // 4
    p = n * th * tw
    bt, at = _transforms(x.device, x.dtype)
    xp = F.pad(x.permute(0, 2, 3, 1), (0, 0, 1, 1, 1, 1))  # (N, H+2, W+2, C) contiguous
    s_n, s_h, s_w, _ = xp.stride()
    # Overlapping 6x6 tiles at stride 4, laid out (tile row j, tile column k, tile, channel).
    tiles = xp.as_strided((6, 6, n, th, tw, c), (s_h, s_w, s_n, 4 * s_h, 4 * s_w, 1)).reshape(6, 6 * p * c)
    v = torch.matmul(bt, torch.mm(bt, tiles).view(6, 6, p * c))  # BT d B: (6, 6, P*C)
    m = torch.bmm(v.view(36, p, c), u)  # the 36 point-wise products: (36, P, K)
    y = torch.matmul(at, torch.mm(at, m.view(6, 6 * p * k)).view(4, 6, p * k))  # AT m A: (4, 4, P*K)
    y = y.view(4, 4, n, th, tw, k).permute(2, 3, 0, 4, 1, 5).reshape(n, h, w, k)
    if bias is not None:
        y = y + bias
    return y.permute(0, 3, 1, 2)


class Conv2d(nn.Conv2d):
    """Drop-in ``nn.Conv2d`` (same parameters and state-dict names) with an optional Winograd path.

    When enabled with ``set_winograd(True)``, gradient-free float32 calls of a 3x3 / stride 1 /
    padding 1 convolution on inputs whose height and width are multiples of 4 use
    ``winograd_conv3x3``.
    The transformed weights are cached outside the state dict and rebuilt when the weights change
    in place (optimizer step, ``load_state_dict``).
    """

    def set_winograd(self, enabled: bool, min_channels: int = 16) -> None:
        """Enable or disable the Winograd path (only for layers with >= ``min_channels`` inputs)."""
        ok = (
            enabled
            and self.kernel_size == (3, 3)
            and self.stride == (1, 1)
            and self.padding == (1, 1)
            and self.dilation == (1, 1)
            and self.groups == 1
            and self.padding_mode == "zeros"
            and self.in_channels >= min_channels
        )
        object.__setattr__(self, "_winograd", ok)
        object.__setattr__(self, "_winograd_cache", None)

    def _winograd_u(self) -> torch.Tensor:
        version = weight_signature(self.weight)
        cached = self.__dict__.get("_winograd_cache")
        if cached is None or cached[0] != version:
            cached = (version, winograd_weights(self.weight))
            object.__setattr__(self, "_winograd_cache", cached)
        return cached[1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if (
            self.__dict__.get("_winograd")
            and not torch.is_grad_enabled()
            and x.shape[-1] % 4 == 0
            and x.shape[-2] % 4 == 0
            and x.dtype == self.weight.dtype == torch.float32
        ):
            return winograd_conv3x3(x, self._winograd_u(), self.bias)
        return super().forward(x)

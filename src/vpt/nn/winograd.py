"""Winograd F(4x4, 3x3) convolution for gradient-free calls (Lavin & Gray, 2015).

A 3x3, stride-1, padding-1 convolution computed on 6x6 input tiles that each give a 4x4 output
tile: the 36 transformed points are 36 independent (tiles x C) @ (C x K) matrix products,
4x fewer multiplications than the direct convolution. Everything is expressed as three large
matrix products (the 2-D tile transforms applied separably, one axis per product) plus two
gathers, so it runs on the BLAS of any device. On CPUs the tile transforms are instead two
Numba kernels that read each input once and write each output once (the matrix-product form
moves every tile through memory four more times: slower than oneDNN's direct conv there), with
the 36 products one ``torch.bmm`` between them. Float32 results differ from the direct
convolution by about 1e-5 relative (vs about 1e-6 for the direct one).
"""

from __future__ import annotations

import functools

import numba as nb
import numpy as np
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


_TILES_PER_TASK = 16
"""Tiles a Numba task transforms in turn, reusing its scratch rows."""


@nb.njit(parallel=True, fastmath=True, cache=True)
def _input_transform(x, v, tiles_w):  # pragma: no cover - compiled
    """(N, H, W, C) -> ``v`` (36, P, C): ``BT d B`` of every 6x6 tile (stride 4, zero-padded by
    one pixel), tile p = (image, tile row, tile column) in that order."""
    n_img, h, w, c = x.shape
    per_image = (h // 4) * tiles_w
    n_tiles = n_img * per_image
    for task in nb.prange((n_tiles + _TILES_PER_TASK - 1) // _TILES_PER_TASK):
        d = np.empty((6, 6, c), np.float32)
        t = np.empty((6, 6, c), np.float32)
        for p in range(task * _TILES_PER_TASK, min(n_tiles, (task + 1) * _TILES_PER_TASK)):
            n = p // per_image
            ty = (p - n * per_image) // tiles_w
            tx = p - n * per_image - ty * tiles_w
            for k in range(6):
                yy = ty * 4 - 1 + k
                for j in range(6):
                    xx = tx * 4 - 1 + j
                    inside = 0 <= yy < h and 0 <= xx < w
                    for ch in range(c):
                        d[k, j, ch] = x[n, yy, xx, ch] if inside else 0.0
            for j in range(6):  # t = BT d (down each column)
                for ch in range(c):
                    d0, d1, d2, d3, d4, d5 = d[0, j, ch], d[1, j, ch], d[2, j, ch], d[3, j, ch], d[4, j, ch], d[5, j, ch]
                    t[0, j, ch] = 4.0 * d0 - 5.0 * d2 + d4
                    t[1, j, ch] = -4.0 * d1 - 4.0 * d2 + d3 + d4
                    t[2, j, ch] = 4.0 * d1 - 4.0 * d2 - d3 + d4
                    t[3, j, ch] = -2.0 * d1 - d2 + 2.0 * d3 + d4
                    t[4, j, ch] = 2.0 * d1 - d2 - 2.0 * d3 + d4
                    t[5, j, ch] = 4.0 * d1 - 5.0 * d3 + d5
            for i in range(6):  # v = t B (along each row)
                for ch in range(c):
                    d0, d1, d2, d3, d4, d5 = t[i, 0, ch], t[i, 1, ch], t[i, 2, ch], t[i, 3, ch], t[i, 4, ch], t[i, 5, ch]
                    v[6 * i, p, ch] = 4.0 * d0 - 5.0 * d2 + d4
                    v[6 * i + 1, p, ch] = -4.0 * d1 - 4.0 * d2 + d3 + d4
                    v[6 * i + 2, p, ch] = 4.0 * d1 - 4.0 * d2 - d3 + d4
                    v[6 * i + 3, p, ch] = -2.0 * d1 - d2 + 2.0 * d3 + d4
                    v[6 * i + 4, p, ch] = 2.0 * d1 - d2 - 2.0 * d3 + d4
                    v[6 * i + 5, p, ch] = 4.0 * d1 - 5.0 * d3 + d5


@nb.njit(parallel=True, fastmath=True, cache=True)
def _output_transform(m, bias, out, tiles_w):  # pragma: no cover - compiled
    """``m`` (36, P, K) -> ``out`` (N, H, W, K): ``AT m A`` of every tile, plus ``bias``."""
    n_img, h, w, k = out.shape
    per_image = (h // 4) * tiles_w
    n_tiles = n_img * per_image
    for task in nb.prange((n_tiles + _TILES_PER_TASK - 1) // _TILES_PER_TASK):
        s = np.empty((4, 6, k), np.float32)
        for p in range(task * _TILES_PER_TASK, min(n_tiles, (task + 1) * _TILES_PER_TASK)):
            n = p // per_image
            ty = (p - n * per_image) // tiles_w
            tx = p - n * per_image - ty * tiles_w
            for j in range(6):  # s = AT m (down each column)
                for ch in range(k):
                    m0, m1, m2 = m[j, p, ch], m[6 + j, p, ch], m[12 + j, p, ch]
                    m3, m4, m5 = m[18 + j, p, ch], m[24 + j, p, ch], m[30 + j, p, ch]
                    s[0, j, ch] = m0 + m1 + m2 + m3 + m4
                    s[1, j, ch] = m1 - m2 + 2.0 * m3 - 2.0 * m4
                    s[2, j, ch] = m1 + m2 + 4.0 * m3 + 4.0 * m4
                    s[3, j, ch] = m1 - m2 + 8.0 * m3 - 8.0 * m4 + m5
            for i in range(4):  # out = s A (along each row)
                yy = ty * 4 + i
                for ch in range(k):
                    m0, m1, m2, m3, m4, m5 = s[i, 0, ch], s[i, 1, ch], s[i, 2, ch], s[i, 3, ch], s[i, 4, ch], s[i, 5, ch]
                    b = bias[ch]
                    out[n, yy, tx * 4, ch] = m0 + m1 + m2 + m3 + m4 + b
                    out[n, yy, tx * 4 + 1, ch] = m1 - m2 + 2.0 * m3 - 2.0 * m4 + b
                    out[n, yy, tx * 4 + 2, ch] = m1 + m2 + 4.0 * m3 + 4.0 * m4 + b
                    out[n, yy, tx * 4 + 3, ch] = m1 - m2 + 8.0 * m3 - 8.0 * m4 + m5 + b


def _winograd_cpu(x: torch.Tensor, u: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """The CPU path: Numba tile transforms around one ``torch.bmm`` (float32)."""
    n, c, h, w = x.shape
    k = u.shape[2]
    p = n * (h // 4) * (w // 4)
    xl = x.permute(0, 2, 3, 1).contiguous()  # a view when x is channels-last
    v = torch.empty(36, p, c)
    m = torch.empty(36, p, k)
    out = torch.empty(n, h, w, k)
    b = torch.zeros(k) if bias is None else bias.detach().contiguous()
    # torch's thread budget (e.g. 1 per DDP process); these are the only parallel Numba kernels
    nb.set_num_threads(max(1, min(torch.get_num_threads(), nb.config.NUMBA_NUM_THREADS)))
    _input_transform(xl.numpy(), v.numpy(), w // 4)
    torch.bmm(v, u, out=m)
    _output_transform(m.numpy(), b.numpy(), out.numpy(), w // 4)
    return out.permute(0, 3, 1, 2)


def winograd_conv3x3(x: torch.Tensor, u: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """3x3 / stride 1 / padding 1 convolution of NCHW ``x`` (H, W multiples of 4).

    Args:
        x: (N, C, H, W) input, any memory format (channels-last avoids one copy).
        u: (36, C, K) from ``winograd_weights``.
        bias: optional (K,).

    Returns:
        (N, K, H, W) output in channels-last memory format.
    """
    if x.device.type == "cpu" and x.dtype == u.dtype == torch.float32:
        return _winograd_cpu(x, u, bias)
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

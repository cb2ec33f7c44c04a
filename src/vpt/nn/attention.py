"""Masked multi-head self-attention with a key/value memory and relative position bias.

This is the ``r`` module of each VPT transformer block (vpt.md §4.6): ``MaskedAttention`` owns
the episode/window mask and its state; ``SelfAttentionLayer`` (``r.orc_block`` in the state
dict) owns the projections, the K/V cache and the relative-position term.

Recurrent state of one layer is an ``AttentionState``: ``mask`` (B, 1, maxlen) bool (which cache
slots hold frames of the current episode), ``k`` and ``v`` (B, maxlen, hidsize).
"""

from __future__ import annotations

from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import nn

from vpt.nn.linear import Linear

MaskStyle = Literal["clipped_causal", "none"]
N_REL_BASIS = 10
"""Number of relative-position basis functions per head (rows of ``b_nd``)."""


class AttentionState(NamedTuple):
    """Recurrent state of one attention layer."""

    mask: torch.Tensor
    """(B, 1, maxlen) bool: cache slot holds a frame of the current episode."""
    k: torch.Tensor
    """(B, maxlen, hidsize) cached keys, oldest first."""
    v: torch.Tensor
    """(B, maxlen, hidsize) cached values, oldest first."""


def episode_ids(first: torch.Tensor) -> torch.Tensor:
    """(B, t) bool episode starts -> (B, t) int: how many starts happened at or before each step.

    Steps with id 0 continue the episode that was running before the call (the cache's).
    """
    return torch.cumsum(first.to(torch.int32), dim=1)


def clipped_causal_mask(
    first: torch.Tensor,
    state_mask: torch.Tensor,
    maxlen: int,
    *,
    reference_first_handling: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Allowed (query, key) pairs for one call, and the state mask after the call.

    Keys are ``[cache (maxlen) ; this call (t)]``. With ``d = maxlen + r - c`` the time
    distance between query ``r`` and key ``c``, a key is allowed iff ``0 <= d <= maxlen - 1``
    (each frame sees itself and the previous ``maxlen - 1`` frames) and the key belongs to the
    query's episode.

    Args:
        first: (B, t) bool episode-start flags.
        state_mask: (B, 1, maxlen) bool validity of the cache slots.
        maxlen: cache length / attention window.
        reference_first_handling: reproduce the reference, which only honours ``first[:, 0]``:
            a start later in the call is ignored, so frames after it still see the previous
            episode. The default resets memory at every start: from a start at step ``s`` on,
            the row sees neither the cache nor this call's frames before ``s``.

    Returns:
        ``(allowed, new_state_mask)``: (B, t, maxlen + t) bool and (B, 1, maxlen) bool.
    """
    b, t = first.shape
    dev = first.device
    r = torch.arange(t, device=dev)[:, None]
    c = torch.arange(maxlen + t, device=dev)[None, :]
    d = maxlen + r - c
    band = (d >= 0) & (d <= maxlen - 1)  # (t, T)
    cache_valid = state_mask[:, 0, :]  # (B, maxlen)
    if reference_first_handling:
        # Reference quirk: only the first step's flag of a multi-step call is consulted.
        not_first = ~first[:, :1]  # (B, 1)
        cache_ok = (cache_valid & not_first)[:, None, :].expand(b, t, maxlen)
        chunk_ok = torch.ones(b, t, t, dtype=torch.bool, device=dev)
        key_valid_after = torch.cat([cache_valid & not_first, torch.ones(b, t, dtype=torch.bool, device=dev)], 1)
    else:
        ep = episode_ids(first)  # (B, t)
        cache_ok = cache_valid[:, None, :] & (ep == 0)[:, :, None]  # (B, t, maxlen)
        chunk_ok = ep[:, :, None] == ep[:, None, :]  # (B, t, t)
        last = ep[:, -1:]
        key_valid_after = torch.cat([cache_valid & (last == 0), ep == last], 1)
    allowed = torch.cat([cache_ok, chunk_ok], dim=2) & band
    new_mask = key_valid_after[:, -maxlen:][:, None, :] if maxlen > 0 else state_mask
    return allowed, new_mask


def relative_logits(r_coef: torch.Tensor, b_nd: torch.Tensor, t: int, maxlen: int) -> torch.Tensor:
    """Relative-position term of the attention logits.

    Args:
        r_coef: (B, heads, t, 10) per-query basis coefficients (``r_layer`` output, split per head).
        b_nd: (10, maxlen) basis values per time distance.

    Returns:
        (B, heads, t, maxlen + t): ``rel[r, c] = r_coef[r] . b_nd[:, d]`` with
        ``d = maxlen + r - c`` when ``0 <= d < maxlen``, else 0.
    """
    full = torch.matmul(r_coef, b_nd)  # (B, h, t, maxlen), indexed by d
    # Column c = r + 1 + j holds distance d = maxlen - 1 - j: flip, then skew rows so that
    # row r starts at column r + 1 (pad 1 left, t right, then re-view with one column less).
    g = F.pad(full.flip(-1), (1, t))  # (B, h, t, maxlen + t + 1)
    width = maxlen + t
    flat = g.reshape(*g.shape[:-2], t * (width + 1))[..., : t * width]
    return flat.reshape(*g.shape[:-2], t, width)


class SelfAttentionLayer(nn.Module):
    """``orc_block``: Q/K/V projections, K/V cache, relative bias, softmax attention, ``proj_layer``.

    Returns ``x + attention(x)`` (the residual is added inside, as in the reference).

    Args:
        hidsize: model width.
        heads: number of heads (contiguous feature slices of size hidsize / heads).
        maxlen: cache length (memory size minus timesteps); 0 means no memory.
    """

    def __init__(self, hidsize: int, heads: int, maxlen: int) -> None:
        super().__init__()
        if hidsize % heads:
            raise ValueError(f"hidsize ({hidsize}) must be divisible by attention_heads ({heads})")
        self.hidsize, self.heads, self.maxlen = hidsize, heads, maxlen
        self.b_nd = nn.Parameter(torch.randn(N_REL_BASIS, maxlen) * 0.2)
        self.q_layer = Linear(hidsize, hidsize, bias=True)
        self.k_layer = Linear(hidsize, hidsize, bias=False)
        self.v_layer = Linear(hidsize, hidsize, bias=False)
        self.proj_layer = Linear(hidsize, hidsize, bias=True)
        self.r_layer = Linear(hidsize, N_REL_BASIS * heads, bias=True)

    def _split(self, x: torch.Tensor, width: int) -> torch.Tensor:
        b, t, _ = x.shape
        return x.reshape(b, t, self.heads, width).transpose(1, 2)

    def forward(
        self,
        x: torch.Tensor,
        cache: tuple[torch.Tensor, torch.Tensor],
        allowed: torch.Tensor | None,
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """One call.

        Args:
            x: (B, t, hidsize) normalised block input.
            cache: (K, V), each (B, maxlen, hidsize).
            allowed: (B, t, maxlen + t) bool, or None for no mask.

        Returns:
            ``(x + proj(attention), (new K, new V))``.
        """
        b, t, _ = x.shape
        dh = self.hidsize // self.heads
        q = self.q_layer(x)
        k = torch.cat([cache[0], self.k_layer(x)], dim=1)
        v = torch.cat([cache[1], self.v_layer(x)], dim=1)
        new_cache = (k[:, k.shape[1] - self.maxlen :], v[:, v.shape[1] - self.maxlen :])
        bias = relative_logits(self._split(self.r_layer(x), N_REL_BASIS).float(), self.b_nd.float(), t, self.maxlen)
        if allowed is not None:
            bias = bias.masked_fill(~allowed[:, None], float("-inf"))
        # Reference quirk: logits are scaled by 1/dh ("muP"), not 1/sqrt(dh); computed in fp32.
        a = F.scaled_dot_product_attention(
            self._split(q, dh).float(),
            self._split(k, dh).float(),
            self._split(v, dh).float(),
            attn_mask=bias,
            scale=1.0 / dh,
        ).to(x.dtype)
        a = a.transpose(1, 2).reshape(b, t, self.hidsize)
        return x + self.proj_layer(a), new_cache


class MaskedAttention(nn.Module):
    """``r``: the attention of one transformer block, with its mask and recurrent state.

    Args:
        hidsize: model width.
        heads: number of heads.
        memory_size: ``attention_memory_size`` (memory + timesteps).
        timesteps: training chunk length; ``maxlen = memory_size - timesteps``.
        mask: ``"clipped_causal"`` (policy) or ``"none"`` (IDM: full bidirectional attention).
        reference_first_handling: see ``clipped_causal_mask``.
    """

    def __init__(
        self,
        hidsize: int,
        heads: int,
        memory_size: int,
        timesteps: int,
        mask: MaskStyle = "clipped_causal",
        reference_first_handling: bool = False,
    ) -> None:
        super().__init__()
        if mask not in ("clipped_causal", "none"):
            raise ValueError(f"attention_mask_style must be 'clipped_causal' or 'none', got {mask!r}")
        self.maxlen = int(memory_size) - int(timesteps)
        if self.maxlen < 0:
            raise ValueError(
                f"attention_memory_size ({memory_size}) must be >= timesteps ({timesteps})"
            )
        if mask == "clipped_causal" and self.maxlen < 1:
            raise ValueError("the clipped_causal mask needs attention_memory_size > timesteps")
        self.mask_style = mask
        self.reference_first_handling = reference_first_handling
        self.orc_block = SelfAttentionLayer(hidsize, heads, self.maxlen)

    def initial_state(self, batch_size: int, device: torch.device | str | None = None) -> AttentionState:
        """Empty memory: no valid slot, zero K and V."""
        dtype = self.orc_block.q_layer.weight.dtype
        h = self.orc_block.hidsize
        return AttentionState(
            torch.zeros(batch_size, 1, self.maxlen, dtype=torch.bool, device=device),
            torch.zeros(batch_size, self.maxlen, h, dtype=dtype, device=device),
            torch.zeros(batch_size, self.maxlen, h, dtype=dtype, device=device),
        )

    def forward(
        self, x: torch.Tensor, first: torch.Tensor, state: AttentionState
    ) -> tuple[torch.Tensor, AttentionState]:
        """(B, t, hidsize), (B, t) bool, state -> (B, t, hidsize), new state."""
        if self.mask_style == "clipped_causal":
            allowed, new_mask = clipped_causal_mask(
                first, state.mask, self.maxlen, reference_first_handling=self.reference_first_handling
            )
        else:
            allowed, new_mask = None, state.mask
        out, (k, v) = self.orc_block(x, (state.k, state.v), allowed)
        return out, AttentionState(new_mask, k, v)

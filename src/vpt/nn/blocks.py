"""Residual transformer blocks of the VPT trunk (vpt.md §4.6): ``net.recurrent_layer``."""

from __future__ import annotations

import math

import torch
from torch import nn

from vpt.nn.attention import AttentionState, MaskedAttention, MaskStyle
from vpt.nn.fanin import FanInInitReLULayer


def pointwise_layers(
    hidsize: int, ratio: int, use_activation: bool, init_scale: float
) -> tuple[FanInInitReLULayer, FanInInitReLULayer]:
    """The per-frame MLP of a block, as the pair ``(mlp0, mlp1)``.

    ``mlp0`` = LayerNorm -> Linear(hid -> ratio*hid, no bias) -> ReLU;
    ``mlp1`` = Linear(ratio*hid -> hid, bias) -> optional ReLU. Returned separately because the
    block registers them as ``mlp0``/``mlp1`` (the reference state-dict names).
    """
    mlp0 = FanInInitReLULayer(hidsize, hidsize * ratio, layer_type="linear", layer_norm=True)
    mlp1 = FanInInitReLULayer(
        hidsize * ratio, hidsize, layer_type="linear", use_activation=use_activation, init_scale=init_scale
    )
    return mlp0, mlp1


class ResidualRecurrentBlock(nn.Module):
    """One transformer block: ``a = LN(x) + attn(LN(x))``; ``out = a + mlp1(mlp0(a))``.

    Reference quirk: the block's input ``x`` is not added back anywhere; the residual stream
    restarts from ``pre_r_ln(x)`` in every block.

    Args:
        hidsize: model width.
        heads: attention heads.
        memory_size: ``attention_memory_size``.
        timesteps: training chunk length.
        n_block: number of blocks in the stack (init scale only).
        mask: attention mask style.
        use_pointwise_layer: add the per-frame MLP.
        pointwise_ratio: MLP expansion.
        pointwise_use_activation: ReLU after ``mlp1``.
        is_residual: add the MLP's input to its output.
        reference_first_handling: see ``vpt.nn.attention.clipped_causal_mask``.
    """

    def __init__(
        self,
        hidsize: int,
        heads: int,
        memory_size: int,
        timesteps: int,
        n_block: int = 1,
        mask: MaskStyle = "clipped_causal",
        use_pointwise_layer: bool = True,
        pointwise_ratio: int = 4,
        pointwise_use_activation: bool = False,
        is_residual: bool = True,
        reference_first_handling: bool = False,
    ) -> None:
        super().__init__()
        init_scale = n_block ** -0.5 * (2 ** -0.5 if is_residual else 1.0)
        self.is_residual = is_residual
        self.use_pointwise_layer = use_pointwise_layer
        if use_pointwise_layer:
            self.mlp0, self.mlp1 = pointwise_layers(hidsize, pointwise_ratio, pointwise_use_activation, init_scale)
        self.pre_r_ln = nn.LayerNorm(hidsize)
        self.r = MaskedAttention(
            hidsize, heads, memory_size, timesteps, mask=mask, reference_first_handling=reference_first_handling
        )
        self._init_attention(init_scale)

    def _init_attention(self, s: float) -> None:
        """Normed-linear init of the attention projections (only matters for training from scratch)."""
        blk = self.r.orc_block
        with torch.no_grad():
            for layer, scale in (
                (blk.q_layer, 0.1),
                (blk.k_layer, 0.2),
                (blk.v_layer, math.sqrt(s)),
                (blk.proj_layer, math.sqrt(s)),
                (blk.r_layer, 0.1),
            ):
                layer.weight.mul_(scale / layer.weight.norm(dim=1, keepdim=True))
                if layer.bias is not None:
                    layer.bias.zero_()

    def forward(
        self, x: torch.Tensor, first: torch.Tensor, state: AttentionState
    ) -> tuple[torch.Tensor, AttentionState]:
        x = self.pre_r_ln(x)
        x, state = self.r(x, first, state)
        if self.use_pointwise_layer:
            y = self.mlp1(self.mlp0(x))
            x = x + y if self.is_residual else y
        return x, state


class ResidualRecurrentBlocks(nn.Module):
    """``n_block`` ``ResidualRecurrentBlock``s in sequence (``recurrent_layer.blocks.{i}``).

    ``forward`` returns the output, the per-layer states, and each block's output.
    """

    def __init__(self, n_block: int, **block_kwargs: object) -> None:
        super().__init__()
        self.blocks = nn.ModuleList(
            ResidualRecurrentBlock(n_block=n_block, **block_kwargs) for _ in range(n_block)  # type: ignore[arg-type]
        )

    def initial_state(self, batch_size: int, device: torch.device | str | None = None) -> tuple[AttentionState, ...]:
        return tuple(b.r.initial_state(batch_size, device) for b in self.blocks)

    def forward(
        self, x: torch.Tensor, first: torch.Tensor, state: tuple[AttentionState, ...]
    ) -> tuple[torch.Tensor, tuple[AttentionState, ...], tuple[torch.Tensor, ...]]:
        if len(state) != len(self.blocks):
            raise ValueError(f"state has {len(state)} layers, the network has {len(self.blocks)}")
        new_state, outs = [], []
        for block, s in zip(self.blocks, state):
            x, s = block(x, first, s)
            new_state.append(s)
            outs.append(x)
        return x, tuple(new_state), tuple(outs)

"""Categorical action heads (vpt.md §4.8, §7.2).

``CategoricalActionHead`` is one head (``pi_head.<name>.linear_layer``): a Linear layer whose
output is reshaped to ``output_shape + (num_actions,)``, divided by the temperature and
log-softmaxed in float32. ``ActionHeads`` is the ``pi_head`` dictionary of heads.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from vpt.nn.linear import Linear


class CategoricalActionHead(nn.Module):
    """Linear -> reshape -> / temperature -> log_softmax (float32).

    Args:
        input_dim: latent width.
        num_actions: options per categorical variable.
        output_shape: shape of the (factored) variables; ``()`` for a single joint categorical
            (policy), ``(20,)`` for the IDM's per-button heads, ``(2,)`` for its camera axes.
        temperature: logits are divided by it before the softmax.
    """

    def __init__(
        self, input_dim: int, num_actions: int, output_shape: Sequence[int] = (), temperature: float = 1.0
    ) -> None:
        super().__init__()
        if not temperature > 0:
            raise ValueError(f"temperature must be > 0, got {temperature!r}")
        self.num_actions = int(num_actions)
        self.output_shape = tuple(int(s) for s in output_shape)
        self.temperature = float(temperature)
        n = self.num_actions
        for s in self.output_shape:
            n *= s
        # Reference quirk: PyTorch's default Linear init; the reference's own reset is never called.
        self.linear_layer = Linear(input_dim, n)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., input_dim) -> (..., *output_shape, num_actions) log-probabilities."""
        logits = self.linear_layer(x)
        logits = logits.reshape(*logits.shape[:-1], *self.output_shape, self.num_actions)
        return F.log_softmax(logits.float() / self.temperature, dim=-1)

    @staticmethod
    def sample(logprob: torch.Tensor, deterministic: bool, generator: torch.Generator | None = None) -> torch.Tensor:
        """Argmax (deterministic) or Gumbel-max sample over the last dim."""
        if deterministic:
            return logprob.argmax(dim=-1)
        u = torch.rand(logprob.shape, generator=generator, device=logprob.device, dtype=logprob.dtype)
        # Reference quirk: u == 1 would give -log(0); it is replaced by 0.999 (and u == 0 by tiny).
        u = torch.where(u >= 1.0, torch.full_like(u, 0.999), u).clamp_min(torch.finfo(u.dtype).tiny)
        return (logprob - torch.log(-torch.log(u))).argmax(dim=-1)


class ActionHeads(nn.ModuleDict):
    """``pi_head``: named ``CategoricalActionHead``s, in state-dict order.

    Args:
        input_dim: latent width.
        spec: name -> (num_actions, output_shape), in registration order.
        temperature: shared temperature.
    """

    def __init__(
        self, input_dim: int, spec: Mapping[str, tuple[int, Sequence[int]]], temperature: float = 1.0
    ) -> None:
        super().__init__(
            {
                name: CategoricalActionHead(input_dim, n, shape, temperature)
                for name, (n, shape) in spec.items()
            }
        )

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:  # type: ignore[override]
        return {name: head(x) for name, head in self.items()}

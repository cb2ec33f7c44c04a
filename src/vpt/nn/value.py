"""Value head with an EWMA return normaliser (vpt.md §4.9): ``value_head``."""

from __future__ import annotations

import torch
from torch import nn

from vpt.nn.linear import Linear


class NormalizeEwma(nn.Module):
    """Exponentially-weighted running mean / mean-square of targets, debiased.

    The three statistics are stored as non-trainable ``nn.Parameter``s (not buffers), as in
    the reference, so they appear in ``parameters()`` with ``requires_grad=False``.

    Args:
        input_shape: shape of one target (``1`` for the value).
        norm_axes: leading axes averaged over in an update (batch, time).
        beta: EWMA decay per update.
        epsilon: floor of the debiasing term.
    """

    def __init__(self, input_shape: int = 1, norm_axes: int = 2, beta: float = 0.99999, epsilon: float = 1e-5) -> None:
        super().__init__()
        self.norm_axes, self.beta, self.epsilon = norm_axes, beta, epsilon
        self.running_mean = nn.Parameter(torch.zeros(input_shape), requires_grad=False)
        self.running_mean_sq = nn.Parameter(torch.zeros(input_shape), requires_grad=False)
        self.debiasing_term = nn.Parameter(torch.tensor(0.0), requires_grad=False)

    def mean_var(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Debiased mean and variance (variance floored at 0.01)."""
        debias = self.debiasing_term.clamp(min=self.epsilon)
        mean = self.running_mean / debias
        var = (self.running_mean_sq / debias - mean**2).clamp(min=1e-2)
        return mean, var

    def update(self, targets: torch.Tensor) -> None:
        """One EWMA step with the mean over the first ``norm_axes`` dims of ``targets``."""
        x = targets.detach().float()
        dims = tuple(range(self.norm_axes))
        with torch.no_grad():
            self.running_mean.mul_(self.beta).add_(x.mean(dim=dims) * (1 - self.beta))
            self.running_mean_sq.mul_(self.beta).add_((x**2).mean(dim=dims) * (1 - self.beta))
            self.debiasing_term.mul_(self.beta).add_(1 - self.beta)

    def forward(self, targets: torch.Tensor) -> torch.Tensor:
        """Normalise targets; in training mode, first update the statistics with them."""
        if self.training:
            self.update(targets)
        mean, var = self.mean_var()
        return (targets - mean) / torch.sqrt(var)

    def denormalize(self, x: torch.Tensor) -> torch.Tensor:
        """Map a normalised value back to return scale: ``x * std + mean``."""
        mean, var = self.mean_var()
        return x * torch.sqrt(var) + mean


class ScaledMSEHead(nn.Module):
    """``linear`` (hid -> 1) predicts the normalised value; ``normalizer`` maps it back.

    Args:
        input_dim: latent width.
        norm_kwargs: extra ``NormalizeEwma`` kwargs.
    """

    def __init__(self, input_dim: int, norm_kwargs: dict | None = None) -> None:
        super().__init__()
        self.linear = Linear(input_dim, 1)
        self.normalizer = NormalizeEwma(1, **(norm_kwargs or {}))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(..., input_dim) -> (..., 1) normalised value."""
        return self.linear(x)

    def denormalize(self, v: torch.Tensor) -> torch.Tensor:
        return self.normalizer.denormalize(v)

    def loss(self, prediction: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Elementwise MSE between the normalised prediction and the normalised target.

        In training mode this also updates the normaliser with ``target`` (as the reference).
        """
        return (prediction - self.normalizer(target)) ** 2

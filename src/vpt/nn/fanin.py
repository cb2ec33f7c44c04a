"""``FanInInitReLULayer``: the building block of every VPT network (vpt.md §4.2).

An optional norm applied to the *input*, then a conv / conv3d / linear layer, then an optional
ReLU. State-dict names are ``norm.{weight,bias}`` and ``layer.{weight[,bias]}``, exactly as in
the reference, so the released weights load into it.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn

from vpt.nn.linear import Linear
from vpt.nn.norm import GroupNorm
from vpt.nn.winograd import Conv2d

LayerType = Literal["conv", "conv3d", "linear"]

_LAYERS: dict[str, type[nn.Module]] = {"conv": Conv2d, "conv3d": nn.Conv3d, "linear": Linear}


class FanInInitReLULayer(nn.Module):
    """Norm (optional) -> conv/linear -> ReLU (optional), with fan-in initialisation.

    Args:
        inchan: input channels / features.
        outchan: output channels / features.
        *layer_args: extra positional arguments of the torch layer (e.g. kernel size).
        layer_type: ``"conv"`` (Conv2d), ``"conv3d"`` (Conv3d) or ``"linear"``.
        init_scale: L2 norm each output unit's weight vector is rescaled to at init.
        batch_norm: use ``BatchNorm2d(inchan)`` as input norm (highest priority).
        group_norm_groups: use ``GroupNorm(groups, inchan)`` as input norm.
        layer_norm: use ``LayerNorm(inchan)`` as input norm (lowest priority).
        use_activation: apply ReLU after the layer.
        **layer_kwargs: keyword arguments of the torch layer (``padding=1`` ...).
    """

    def __init__(
        self,
        inchan: int,
        outchan: int,
        *layer_args: object,
        layer_type: LayerType = "conv",
        init_scale: float = 1.0,
        batch_norm: bool = False,
        group_norm_groups: int | None = None,
        layer_norm: bool = False,
        use_activation: bool = True,
        **layer_kwargs: object,
    ) -> None:
        super().__init__()
        if layer_type not in _LAYERS:
            raise ValueError(f"layer_type must be one of {sorted(_LAYERS)}, got {layer_type!r}")
        self.norm: nn.Module | None = None
        if batch_norm:
            self.norm = nn.BatchNorm2d(inchan)
        elif group_norm_groups is not None:
            self.norm = GroupNorm(group_norm_groups, inchan)
        elif layer_norm:
            self.norm = nn.LayerNorm(inchan)
        # Reference quirk: the layer has a bias only when there is no norm in front of it.
        self.layer = _LAYERS[layer_type](inchan, outchan, *layer_args, bias=self.norm is None, **layer_kwargs)
        self.use_activation = use_activation
        with torch.no_grad():
            w = self.layer.weight
            w.mul_(init_scale / w.norm(dim=tuple(range(1, w.ndim)), p=2, keepdim=True))
            if self.layer.bias is not None:
                self.layer.bias.zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.norm is not None:
            x = self.norm(x)
        x = self.layer(x)
        if self.use_activation:
            x = F.relu_(x)  # in place: ``x`` is the layer's fresh output
        return x


def dense_norm_kwargs(init_norm_kwargs: dict) -> dict:
    """Norm kwargs for the dense (linear) layers, derived from the conv norm kwargs.

    Reference quirk: wherever the convs use group or batch norm, the dense layers use
    LayerNorm instead (vpt.md §4.2).
    """
    out = dict(init_norm_kwargs)
    if out.pop("group_norm_groups", None) is not None:
        out["layer_norm"] = True
    if out.pop("batch_norm", False):
        out["layer_norm"] = True
    return out

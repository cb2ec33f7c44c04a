"""Network building blocks shared by the VPT policy and the inverse dynamics model.

Every module reproduces the reference's state-dict names and numerics (vpt.md §4, §7), so the
released weights load into networks assembled from these parts. Behaviour the trained weights
depend on but that looks surprising is marked ``Reference quirk:`` in the source.

* ``FanInInitReLULayer`` (``fanin``): norm -> conv/conv3d/linear -> ReLU, the basic layer.
* ``Linear`` (``linear``): ``nn.Linear`` with an optional low-precision copy for fast acting.
* ``Conv2d`` (``winograd``): ``nn.Conv2d`` with an optional Winograd F(4x4, 3x3) fast path.
* ``GroupNorm`` (``norm``): ``nn.GroupNorm`` with a fast path for narrow channels-last bf16 inputs.
* ``ImpalaCNN``, ``ImageEncoder`` (``impala``): the image encoder.
* ``MaskedAttention``, ``SelfAttentionLayer``, ``AttentionState`` (``attention``): attention
  with K/V memory, clipped-causal or no mask, relative position bias.
* ``ResidualRecurrentBlock(s)`` (``blocks``): the transformer trunk.
* ``CategoricalActionHead``, ``ActionHeads`` (``heads``): joint or factored action heads.
* ``NormalizeEwma``, ``ScaledMSEHead`` (``value``): the value head.
"""

from vpt.nn.attention import AttentionState, MaskedAttention, SelfAttentionLayer, clipped_causal_mask
from vpt.nn.blocks import ResidualRecurrentBlock, ResidualRecurrentBlocks, pointwise_layers
from vpt.nn.fanin import FanInInitReLULayer, dense_norm_kwargs
from vpt.nn.heads import ActionHeads, CategoricalActionHead
from vpt.nn.linear import Linear
from vpt.nn.norm import GroupNorm
from vpt.nn.impala import CNN_OUTSIZE, CnnBasicBlock, CnnDownStack, ImageEncoder, ImpalaCNN
from vpt.nn.winograd import Conv2d, winograd_conv3x3, winograd_weights
from vpt.nn.value import NormalizeEwma, ScaledMSEHead

__all__ = [
    "CNN_OUTSIZE",
    "ActionHeads",
    "AttentionState",
    "GroupNorm",
    "CategoricalActionHead",
    "CnnBasicBlock",
    "Conv2d",
    "CnnDownStack",
    "FanInInitReLULayer",
    "ImageEncoder",
    "ImpalaCNN",
    "Linear",
    "MaskedAttention",
    "NormalizeEwma",
    "ResidualRecurrentBlock",
    "ResidualRecurrentBlocks",
    "ScaledMSEHead",
    "SelfAttentionLayer",
    "clipped_causal_mask",
    "dense_norm_kwargs",
    "pointwise_layers",
    "winograd_conv3x3",
    "winograd_weights",
]

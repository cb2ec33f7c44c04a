"""Policy architectures by name: OpenAI's released sizes and small ones that train on a CPU.

``1x``/``2x``/``3x`` are the kwargs of the released ``.model`` files (vpt.md §5; 2x is exact,
1x and 3x attested for width, heads assumed as in the manifests). ``tiny`` and ``small`` keep the
same layout at CPU scale, for the embedded-simulator pipeline.
"""

from __future__ import annotations

from typing import Any

import torch

from vpt.agent.policy import PolicyConfig, VPTPolicy

__all__ = ["POLICY_PRESETS", "policy_kwargs", "build_policy"]

_RELEASED = {
    "attention_mask_style": "clipped_causal", "diff_mlp_embedding": False, "img_shape": [128, 128, 3],
    "impala_chans": [16, 32, 32], "impala_kwargs": {"post_pool_groups": 1},
    "init_norm_kwargs": {"batch_norm": False, "group_norm_groups": 1}, "n_recurrence_layers": 4,
    "only_img_input": True, "pointwise_ratio": 4, "pointwise_use_activation": False,
    "recurrence_is_residual": True, "recurrence_type": "transformer", "use_pointwise_layer": True,
    "use_pre_lstm_ln": False, "attention_memory_size": 256, "timesteps": 128,
}  # fmt: skip

#: name -> the kwargs that differ from the released layout.
POLICY_PRESETS: dict[str, dict[str, Any]] = {
    "tiny": {"hidsize": 128, "impala_width": 1, "impala_chans": [8, 16, 16], "attention_heads": 4,
             "n_recurrence_layers": 2, "attention_memory_size": 64, "timesteps": 32},
    "small": {"hidsize": 256, "impala_width": 1, "attention_heads": 4, "n_recurrence_layers": 2,
              "attention_memory_size": 128, "timesteps": 64},
    "1x": {"hidsize": 1024, "impala_width": 4, "attention_heads": 8},
    "2x": {"hidsize": 2048, "impala_width": 8, "attention_heads": 16},
    "3x": {"hidsize": 3072, "impala_width": 12, "attention_heads": 24},
}  # fmt: skip


def policy_kwargs(name: str) -> dict[str, Any]:
    """The ``.model`` network kwargs of a preset."""
    if name not in POLICY_PRESETS:
        raise ValueError(f"unknown policy preset {name!r}; choose from {sorted(POLICY_PRESETS)}")
    return {**_RELEASED, **POLICY_PRESETS[name]}


def build_policy(name: str, *, temperature: float = 1.0, seed: int | None = None) -> VPTPolicy:
    """A freshly initialised policy of a preset (for training from scratch)."""
    if seed is not None:
        torch.manual_seed(seed)
    return VPTPolicy(PolicyConfig.from_kwargs(policy_kwargs(name), {"temperature": temperature}))

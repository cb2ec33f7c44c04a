"""``Linear``: ``nn.Linear`` that can keep a low-precision weight copy for small-batch inference.

At batch 1 the policy is memory-bound: every step streams all linear weights from RAM (284 MB
for the 1x model in float32). A float16 copy halves that traffic. The copy lives outside the
state dict, is only used when gradients are disabled and the call has at most ``max_rows`` rows,
and is rebuilt automatically when the float32 weights change in place (optimizer step,
``load_state_dict``).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def weight_signature(t: torch.Tensor) -> tuple:
    """Changes whenever ``t`` is modified in place, replaced, or moved: keys derived-weight caches.

    Inference tensors have no version counter; they can only change inside inference mode,
    which the caches' users never do to weights.
    """
    return (0 if t.is_inference() else t._version, t.data_ptr(), t.device, t.dtype)


class Linear(nn.Linear):
    """Drop-in ``nn.Linear`` (same parameters and state-dict names) with an optional fast path."""

    def set_inference_dtype(self, dtype: torch.dtype | None, max_rows: int | None = 1) -> None:
        """Use weights cast to ``dtype`` for gradient-free calls with at most ``max_rows`` rows.

        Args:
            dtype: e.g. ``torch.float16``; None disables the fast path.
            max_rows: largest number of input rows (product of leading dims) that uses the copy;
                None: any. Above it the float32 weights are used (on CPUs without native
                half-precision arithmetic, large half-precision matmuls are slower).
        """
        object.__setattr__(self, "_lowp_dtype", dtype)
        object.__setattr__(self, "_lowp_max_rows", max_rows)
        object.__setattr__(self, "_lowp", None)

    def _lowp_weights(self) -> tuple[torch.Tensor, torch.Tensor | None] | None:
        dtype = self.__dict__.get("_lowp_dtype")
        if dtype is None:
            return None
        version = weight_signature(self.weight)
        cached = self.__dict__.get("_lowp")
        if cached is None or cached[0] != version:
            w = self.weight.detach().to(dtype).contiguous()
            b = None if self.bias is None else self.bias.detach().to(dtype)
            cached = (version, w, b)
            object.__setattr__(self, "_lowp", cached)
        return cached[1], cached[2]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not torch.is_grad_enabled() and self.__dict__.get("_lowp_dtype") is not None:
            max_rows = self.__dict__.get("_lowp_max_rows")
            if max_rows is None or x.numel() <= max_rows * x.shape[-1]:
                w, b = self._lowp_weights()  # type: ignore[misc]
                return F.linear(x.to(w.dtype), w, b).to(x.dtype)
        return super().forward(x)

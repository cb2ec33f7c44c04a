"""``Agent``: MineRL observations in, MineRL actions out (vpt.md §8).

Each step resizes ``obs["pov"]`` to the policy's input size (OpenCV bilinear), runs one policy
step with the recurrent state, picks the joint action (Gumbel-max sample, or argmax when
``deterministic``) and converts it to the MineRL action dict with ``vpt.actions.policy_to_env``.
``get_action`` serves one environment (the reference's interface); ``get_actions`` serves a
vector of environments, with per-environment episode starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from vpt.actions import policy_to_env
from vpt.agent.files import PathLike, load_policy
from vpt.agent.policy import PolicyState, VPTPolicy
from vpt.data.frames import resize_to_agent
from vpt.nn import CategoricalActionHead


@dataclass
class AgentStep:
    """Everything one batched agent step produced (numpy, leading dim N = environments)."""

    env_action: dict[str, np.ndarray]
    """MineRL action: the 20 policy buttons, each (N,) int64, then ``camera`` (N, 2) degrees."""
    buttons: np.ndarray
    """(N,) int64 joint buttons index (0..8640)."""
    camera: np.ndarray
    """(N,) int64 joint camera index (0..120)."""
    log_prob: np.ndarray
    """(N,) float32 log-probability of the action (both heads, camera always included)."""
    vpred: np.ndarray
    """(N,) float32 denormalised value estimate."""


class Agent:
    """A VPT policy acting in a MineRL-compatible environment.

    Args:
        policy: the policy (moved to ``device`` and put in eval mode).
        device: torch device to run on.
        bf16: run the image encoder in bfloat16 from a bf16 copy of its weights (fast on GPUs
            and CPUs with native bf16; the rest stays float32). Outputs then differ from
            float32 by about 1e-2 in log-probabilities.
        channels_last: store the CNN weights channels-last (faster convolutions on CPU).
        winograd: compute the 3x3 convolutions by Winograd F(4x4, 3x3) (``vpt.nn.winograd``);
            float32 throughout, about 1e-5 relative change. None: on for CPU, off for GPU
            (where cuDNN is faster).
        fp16_weights: act with float16 copies of the linear-layer weights (batch-1 acting is
            bound by reading the weights from memory; this halves that). Log-probabilities
            then differ from float32 by about 1e-3.
        compile: run the image encoder through ``torch.compile`` with frozen weights (the first
            step of each batch size compiles, for a minute or more).
        int8: run the image encoder's convs in int8 (``vpt.nn.int8``: x86 CPUs with AVX2;
            elsewhere a RuntimeError); best with ``bf16`` and ``compile`` where bf16 is native. Log-probabilities then
            differ from float32 by a few 1e-2. On an AVX-512 VNNI CPU without AMX it acts at
            bf16's speed at the 1x size and 1.2x faster at 2x (README performance table).
        seed: seed of the action-sampling generator (None: nondeterministic).
        temperature: sampling temperature replacing the model file's (``VPTPolicy.set_temperature``;
            the policy object is changed). None: the file's own.
    """

    def __init__(
        self,
        policy: VPTPolicy,
        *,
        device: torch.device | str = "cpu",
        bf16: bool = False,
        channels_last: bool = True,
        winograd: bool | None = None,
        fp16_weights: bool = False,
        seed: int | None = None,
        compile: bool = False,
        temperature: float | None = None,
        int8: bool = False,
    ) -> None:
        self.device = torch.device(device)
        self.policy = policy.to(self.device).eval()
        if temperature is not None:
            self.policy.set_temperature(temperature)
        self.policy.optimize_for_inference(
            channels_last=channels_last,
            winograd=self.device.type == "cpu" if winograd is None else winograd,
            encoder_dtype=torch.bfloat16 if bf16 else None,
            linear_dtype=torch.float16 if fp16_weights else None,
            linear_max_rows=1 if self.device.type == "cpu" else None,
            compile=compile,
            int8=int8,
        )
        h, w, _ = policy.cfg.img_shape
        self.resolution = (w, h)
        self.generator = torch.Generator(device=self.device)
        if seed is not None:
            self.generator.manual_seed(seed)
        else:
            self.generator.seed()
        self.state: PolicyState = self.policy.initial_state(1)

    @classmethod
    def load(
        cls,
        model_path: PathLike,
        weights_path: PathLike,
        *,
        device: torch.device | str = "cpu",
        bf16: bool = False,
        channels_last: bool = True,
        winograd: bool | None = None,
        fp16_weights: bool = False,
        seed: int | None = None,
        compile: bool = False,
        temperature: float | None = None,
        int8: bool = False,
    ) -> Agent:
        """Load an official ``.model`` + ``.weights`` pair safely (see ``load_policy``)."""
        policy = load_policy(model_path, weights_path, device=device)
        return cls(
            policy,
            device=device,
            bf16=bf16,
            channels_last=channels_last,
            winograd=winograd,
            fp16_weights=fp16_weights,
            seed=seed,
            compile=compile,
            temperature=temperature,
            int8=int8,
        )

    @property
    def batch_size(self) -> int:
        return int(self.state[0].k.shape[0])

    def reset(self, batch_size: int = 1) -> None:
        """Forget all memory; the next call starts fresh episodes for ``batch_size`` environments."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.state = self.policy.initial_state(batch_size)

    def preprocess(self, pov: np.ndarray) -> np.ndarray:
        """(H, W, 3) or (N, H, W, 3) RGB uint8 -> (N, h, w, 3) uint8 at the policy resolution."""
        pov = np.asarray(pov)
        if pov.ndim == 3:
            pov = pov[None]
        if pov.ndim != 4 or pov.shape[-1] != 3:
            raise ValueError(f"obs['pov'] must be (H, W, 3) or (N, H, W, 3) RGB, got shape {pov.shape}")
        if pov.dtype != np.uint8:
            raise ValueError(f"obs['pov'] must be uint8, got {pov.dtype}")
        return np.stack([resize_to_agent(f, self.resolution) for f in pov])

    def act(
        self, obs: dict[str, Any], *, first: Any = None, deterministic: bool = False
    ) -> AgentStep:
        """One step for ``N`` environments (``N`` = ``batch_size`` set by ``reset``).

        Args:
            obs: ``{"pov": (N, H, W, 3) uint8}`` (or ``(H, W, 3)`` when N = 1); other keys ignored.
            first: (N,) bool, True where the observation starts a new episode (that
                environment's memory is dropped). None: all False, as the reference agent.
            deterministic: argmax instead of sampling.
        """
        if "pov" not in obs:
            raise KeyError("observation has no 'pov' entry")
        frames = self.preprocess(obs["pov"])
        n = frames.shape[0]
        if n != self.batch_size:
            raise ValueError(f"got {n} observations but the agent state holds {self.batch_size}; call reset({n})")
        first_np = np.zeros(n, dtype=bool) if first is None else np.asarray(first, dtype=bool).reshape(-1)
        if first_np.shape != (n,):
            raise ValueError(f"first must have {n} entries, got shape {np.shape(first)}")
        with torch.inference_mode():
            x = torch.from_numpy(frames).to(self.device)[:, None]
            f = torch.from_numpy(first_np).to(self.device)[:, None]
            out, self.state = self.policy(x, f, self.state)
            blp = out.buttons_logprob[:, 0]
            clp = out.camera_logprob[:, 0]
            buttons = CategoricalActionHead.sample(blp, deterministic, self.generator)
            camera = CategoricalActionHead.sample(clp, deterministic, self.generator)
            log_prob = blp.gather(-1, buttons[:, None])[:, 0] + clp.gather(-1, camera[:, None])[:, 0]
            vpred = out.vpred[:, 0]
        b_np, c_np = buttons.cpu().numpy(), camera.cpu().numpy()
        return AgentStep(
            env_action=policy_to_env({"buttons": b_np, "camera": c_np}),
            buttons=b_np,
            camera=c_np,
            log_prob=log_prob.float().cpu().numpy(),
            vpred=vpred.float().cpu().numpy(),
        )

    def get_action(self, obs: dict[str, Any], *, deterministic: bool = False) -> dict[str, np.ndarray]:
        """Single environment: MineRL obs -> MineRL action (20 buttons of shape (1,), camera (1, 2))."""
        if self.batch_size != 1:
            raise ValueError(f"get_action serves one environment; the agent holds {self.batch_size} (use get_actions)")
        return self.act(obs, deterministic=deterministic).env_action

    def get_actions(
        self, obs: dict[str, Any], *, first: Any = None, deterministic: bool = False
    ) -> dict[str, np.ndarray]:
        """Vector environments: batched obs ``{"pov": (N, H, W, 3)}`` -> batched MineRL action."""
        return self.act(obs, first=first, deterministic=deterministic).env_action

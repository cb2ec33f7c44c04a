"""PPO fine-tuning of the VPT policy with a KL penalty to the frozen prior (``vpt rl train``).

The VPT paper's recipe: start from a BC prior, run PPO on the item-sequence reward, and replace
the entropy bonus with a KL penalty that keeps the policy close to the prior (coefficient 0.2,
decayed by 0.9995 per iteration), after a value-only warm-up. Read top to bottom:

1. **setup** — vector environments (Gymnasium, sync or async, any backend), the policy (from a
   ``.model`` + ``.weights`` prior, or from scratch), a frozen copy as the prior.
2. **rollout** — every environment steps ``rollout_steps`` times; the transformer memory is
   carried across steps and iterations and reset where an episode starts. The memory at the
   start of the rollout is kept so that the update can replay it.
3. **prior** — the frozen prior runs over the same frames (with its own carried memory) and its
   full action distributions are kept for the KL.
4. **advantages** — GAE (γ 0.999, λ 0.95) on the denormalised values.
5. **update** — for each epoch and minibatch of environments, the rollout is replayed from its
   start memory in chunks (memory carried, gradients truncated between chunks): clipped policy
   loss, value loss on the normalised value head, KL(π ‖ π_prior) penalty. Before the first
   gradient step the replay reproduces the rollout's log-probabilities (tested).
6. **bookkeeping** — TensorBoard/metrics, episode returns and items obtained, atomic resumable
   checkpoints, official ``.model`` + ``.weights``, plots.

Episodes that end by truncation (time limit) are treated as terminal for GAE.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import gymnasium
import numpy as np
import torch

from vpt import actions
from vpt.agent.files import load_policy, save_policy
from vpt.agent.policy import PolicyState, VPTPolicy, detach_state
from vpt.agent.presets import build_policy
from vpt.nn import CategoricalActionHead
from vpt.nn.attention import AttentionState
from vpt.rl.plots import plot_runs
from vpt.train import RunDir, autocast, resolve_device, rng_state, seed_everything, set_rng_state

__all__ = ["PPOConfig", "Rollout", "gae", "make_vector_env", "collect_rollout", "replay", "train_ppo"]


@dataclass
class PPOConfig:
    """Settings of an RL run (saved as the run's ``config.json``)."""

    out: str
    task: str = "vpt/ObtainDiamondPickaxe-v0"
    env_kwargs: dict[str, Any] = field(default_factory=lambda: {"resolution": [128, 128]})
    init_model: str | None = None
    """The prior (``.model``); None: RL from scratch (then there is no KL term)."""
    init_weights: str | None = None
    preset: str = "tiny"
    """Architecture when training from scratch."""
    num_envs: int = 4
    async_envs: bool = True
    rollout_steps: int = 64
    iterations: int = 100
    epochs: int = 2
    minibatch_envs: int = 2
    chunk: int = 32
    gamma: float = 0.999
    gae_lambda: float = 0.95
    clip: float = 0.2
    vf_coef: float = 0.5
    kl_coef: float = 0.2
    kl_decay: float = 0.9995
    value_warmup: int = 0
    """Iterations at the start that train only the value head."""
    lr: float = 2e-5
    max_grad_norm: float = 1.0
    precision: str = "fp32"
    seed: int = 0
    device: str = "auto"
    checkpoint_every: int = 10


def make_vector_env(cfg: PPOConfig) -> gymnasium.vector.VectorEnv:
    """``num_envs`` copies of the task, each seeded ``seed + i``; autoreset in the same step."""
    import vpt.env  # noqa: F401  (registers the ids)

    fns = [lambda: gymnasium.make(cfg.task, **cfg.env_kwargs) for _ in range(cfg.num_envs)]
    kw = {"autoreset_mode": gymnasium.vector.AutoresetMode.SAME_STEP}
    return gymnasium.vector.AsyncVectorEnv(fns, **kw) if cfg.async_envs else gymnasium.vector.SyncVectorEnv(fns, **kw)



@dataclass
class Rollout:
    """``T`` steps of ``N`` environments (time-major arrays)."""

    frames: torch.Tensor
    """(N, T, H, W, 3) uint8."""
    first: torch.Tensor
    """(N, T) bool: the frame starts an episode."""
    buttons: torch.Tensor
    camera: torch.Tensor
    logprob: torch.Tensor
    """(N, T) log π(action) at rollout time."""
    vpred: torch.Tensor
    """(N, T) denormalised value at rollout time."""
    rewards: torch.Tensor
    dones: torch.Tensor
    """(N, T) bool: the step ended the episode (terminated or truncated)."""
    next_value: torch.Tensor
    """(N,) denormalised value of the observation after the last step."""
    start_state: PolicyState
    """Policy memory before the first step (replayed by the update)."""


def _clone_state(state: PolicyState) -> PolicyState:
    return tuple(AttentionState(s.mask.clone(), s.k.clone(), s.v.clone()) for s in state)


def _select_rows(state: PolicyState, rows: torch.Tensor) -> PolicyState:
    return tuple(AttentionState(s.mask[rows], s.k[rows], s.v[rows]) for s in state)



def action_logprob(out, buttons: torch.Tensor, camera: torch.Tensor) -> torch.Tensor:
    """log π of joint actions: both heads, the camera head always included (as the reference)."""
    return out.buttons_logprob.gather(-1, buttons[..., None])[..., 0] + out.camera_logprob.gather(-1, camera[..., None])[..., 0]


@torch.inference_mode()
def collect_rollout(
    policy: VPTPolicy,
    envs: gymnasium.vector.VectorEnv,
    obs: np.ndarray,
    first: np.ndarray,
    state: PolicyState,
    steps: int,
    generator: torch.Generator,
    on_episode: Callable[[int, dict[str, Any]], None] | None = None,
    episode_returns: np.ndarray | None = None,
) -> tuple[Rollout, np.ndarray, np.ndarray, PolicyState]:
    """Step every environment ``steps`` times with the policy (sampled actions).

    Returns the rollout and the observation, first flags and memory to continue from.
    ``on_episode(env_index, info)`` is called with the final ``info`` (plus ``"return"`` and
    ``"rollout_step"``, the steps into this rollout) of each finished episode.
    """
    dev = policy.device
    n = obs.shape[0]
    start_state = _clone_state(state)
    frames, firsts, bs, cs, lps, vs, rs, ds = ([] for _ in range(8))
    returns = episode_returns if episode_returns is not None else np.zeros(n)
    for t in range(steps):
        f = torch.as_tensor(obs, device=dev)[:, None]
        fl = torch.as_tensor(first, device=dev)[:, None]
        out, state = policy(f, fl, state)
        b = CategoricalActionHead.sample(out.buttons_logprob, False, generator)
        c = CategoricalActionHead.sample(out.camera_logprob, False, generator)
        env_action = actions.complete_batched(actions.policy_to_env({"buttons": b[:, 0].cpu(), "camera": c[:, 0].cpu()}), n)
        next_obs, reward, terminated, truncated, info = envs.step(env_action)
        done = np.logical_or(terminated, truncated)
        returns += reward
        if done.any() and on_episode is not None:
            final = info.get("final_info", info)
            for i in np.nonzero(done)[0]:
                ep = {k: v[i] for k, v in final.items() if not k.startswith("_") and isinstance(v, np.ndarray) and len(v) == n}
                ep["return"] = float(returns[i])
                ep["rollout_step"] = t + 1
                on_episode(int(i), ep)
        returns[done] = 0.0
        frames.append(f[:, 0]), firsts.append(fl[:, 0]), bs.append(b[:, 0]), cs.append(c[:, 0])
        lps.append(action_logprob(out, b, c)[:, 0]), vs.append(out.vpred[:, 0])
        rs.append(torch.as_tensor(reward, dtype=torch.float32, device=dev)), ds.append(torch.as_tensor(done, device=dev))
        obs, first = next_obs["pov"], done
    out, _ = policy(torch.as_tensor(obs, device=dev)[:, None], torch.as_tensor(first, device=dev)[:, None], state)
    stack = lambda xs: torch.stack(xs, dim=1)  # noqa: E731  (time second)
    rollout = Rollout(stack(frames), stack(firsts), stack(bs), stack(cs), stack(lps), stack(vs), stack(rs), stack(ds),
                      out.vpred[:, 0], start_state)  # fmt: skip
    return rollout, obs, first, state


def gae(rewards: torch.Tensor, values: torch.Tensor, dones: torch.Tensor, next_value: torch.Tensor, gamma: float, lam: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Generalised advantage estimation over (N, T) arrays; returns (advantages, returns).

    ``dones[:, t]`` means the step at ``t`` ended the episode: nothing is bootstrapped across it.
    """
    n, t = rewards.shape
    adv = torch.zeros_like(rewards)
    last = torch.zeros(n, dtype=rewards.dtype, device=rewards.device)
    for k in reversed(range(t)):
        nxt = next_value if k == t - 1 else values[:, k + 1]
        live = 1.0 - dones[:, k].to(rewards.dtype)
        delta = rewards[:, k] + gamma * nxt * live - values[:, k]
        last = delta + gamma * lam * live * last
        adv[:, k] = last
    return adv, adv + values


def replay(policy: VPTPolicy, frames: torch.Tensor, first: torch.Tensor, state: PolicyState, chunk: int, precision: str = "fp32"):
    """Run the policy over a recorded sequence from ``state`` in chunks of ``chunk`` steps
    (memory carried, gradients cut between chunks); yields ``(slice, output)`` per chunk."""
    for s in range(0, frames.shape[1], chunk):
        sl = slice(s, s + chunk)
        with autocast(frames.device, precision):
            out, state = policy(frames[:, sl], first[:, sl], state)
        yield sl, out
        state = detach_state(state)


def kl_to_prior(out, prior_buttons: torch.Tensor, prior_camera: torch.Tensor) -> torch.Tensor:
    """KL(π ‖ π_prior) per step, summed over both heads."""
    kb = (out.buttons_logprob.exp() * (out.buttons_logprob - prior_buttons)).sum(-1)
    kc = (out.camera_logprob.exp() * (out.camera_logprob - prior_camera)).sum(-1)
    return kb + kc


def train_ppo(cfg: PPOConfig, *, progress: Callable[[int, dict[str, float]], None] | None = None) -> dict[str, Any]:
    """Train (or resume) an RL run; returns a summary. See the module docstring for the story."""
    # --- 1. setup --------------------------------------------------------------------------------
    device = resolve_device(cfg.device)
    run = RunDir(cfg.out)
    run.write_config(asdict(cfg))
    seed_everything(cfg.seed)
    if cfg.init_model:
        weights = cfg.init_weights or str(Path(cfg.init_model).with_suffix(".weights"))
        policy = load_policy(cfg.init_model, weights, device)
        prior: VPTPolicy | None = load_policy(cfg.init_model, weights, device).eval()
        for p in prior.parameters():
            p.requires_grad_(False)
    else:
        policy, prior = build_policy(cfg.preset, seed=cfg.seed).to(device), None
    policy.train()
    optimizer = torch.optim.Adam([p for p in policy.parameters() if p.requires_grad], lr=cfg.lr)
    generator = torch.Generator(device=device)
    generator.manual_seed(cfg.seed)
    envs = make_vector_env(cfg)
    obs, _ = envs.reset(seed=cfg.seed)
    obs = obs["pov"]
    first = np.ones(cfg.num_envs, dtype=bool)
    state = policy.initial_state(cfg.num_envs, device)
    prior_state = prior.initial_state(cfg.num_envs, device) if prior is not None else None
    episodes: list[dict[str, Any]] = []
    iteration, env_steps = 0, 0

    ckpt = run.load_checkpoint(device)
    if ckpt is not None:
        # Environments cannot be snapshotted: the run continues with fresh episodes.
        policy.load_state_dict(ckpt["model"])
        optimizer.load_state_dict(ckpt["optimizer"])
        iteration, env_steps = int(ckpt["iteration"]), int(ckpt["env_steps"])
        episodes = json.loads(ckpt["episodes"])
        set_rng_state(ckpt["rng"])
        generator.set_state(ckpt["generator"])
        run.truncate_metrics(iteration)

    def on_episode(i: int, info: dict[str, Any]) -> None:
        items = info.get("items_obtained")
        ended_at = env_steps + info["rollout_step"] * cfg.num_envs  # env steps of all envs so far
        episodes.append({"iteration": iteration, "env_steps": ended_at, "return": info["return"],
                         "items": list(items) if items is not None else []})  # fmt: skip

    returns_acc = np.zeros(cfg.num_envs)
    while iteration < cfg.iterations:
        t0 = time.perf_counter()
        kl_coef = cfg.kl_coef * cfg.kl_decay**iteration
        warmup = iteration < cfg.value_warmup

        # --- 2. rollout ----------------------------------------------------------------------------
        policy.eval()
        ro, obs, first, state = collect_rollout(policy, envs, obs, first, state, cfg.rollout_steps, generator,
                                                on_episode, returns_acc)  # fmt: skip
        env_steps += cfg.num_envs * cfg.rollout_steps
        t_roll = time.perf_counter() - t0

        # --- 3. prior distributions over the same frames --------------------------------------------
        prior_b = prior_c = None
        if prior is not None:
            pb, pc = [], []
            with torch.inference_mode():
                for s in range(0, cfg.rollout_steps, cfg.chunk):
                    sl = slice(s, s + cfg.chunk)
                    out, prior_state = prior(ro.frames[:, sl], ro.first[:, sl], prior_state)
                    pb.append(out.buttons_logprob), pc.append(out.camera_logprob)
            prior_b, prior_c = torch.cat(pb, 1), torch.cat(pc, 1)

        # --- 4. advantages; value targets normalised once per iteration ---------------------------
        adv, ret = gae(ro.rewards, ro.vpred, ro.dones, ro.next_value, cfg.gamma, cfg.gae_lambda)
        normalizer = policy.value_head.normalizer
        normalizer.update(ret[..., None])
        mean, var = normalizer.mean_var()
        target_all = (ret - mean) / var.sqrt()

        # --- 5. update ----------------------------------------------------------------------------
        policy.train()
        stats: dict[str, list[float]] = {}
        for _epoch in range(cfg.epochs):
            for rows in torch.randperm(cfg.num_envs, device=device).split(cfg.minibatch_envs):
                optimizer.zero_grad(set_to_none=True)
                steps = rows.numel() * cfg.rollout_steps
                for sl, out in replay(policy, ro.frames[rows], ro.first[rows], _select_rows(ro.start_state, rows), cfg.chunk, cfg.precision):
                    a = adv[rows, sl]
                    target = target_all[rows, sl]
                    if warmup:
                        v = policy.value_head(out.final_latent.detach())[..., 0]
                        loss = cfg.vf_coef * ((v - target) ** 2).sum() / steps
                        parts = {"loss/value": loss.item()}
                    else:
                        logp = action_logprob(out, ro.buttons[rows, sl], ro.camera[rows, sl])
                        ratio = (logp - ro.logprob[rows, sl]).exp()
                        an = (a - adv.mean()) / (adv.std() + 1e-8)
                        pg = -torch.min(ratio * an, ratio.clamp(1 - cfg.clip, 1 + cfg.clip) * an)
                        vl = (out.vpred_normalized - target) ** 2
                        loss_t = pg + cfg.vf_coef * vl
                        parts = {"loss/policy": pg.mean().item(), "loss/value": vl.mean().item(),
                                 "clip_fraction": ((ratio - 1).abs() > cfg.clip).float().mean().item(),
                                 "approx_kl_old": (ro.logprob[rows, sl] - logp).mean().item()}  # fmt: skip
                        if prior_b is not None:
                            kl = kl_to_prior(out, prior_b[rows, sl], prior_c[rows, sl])
                            loss_t = loss_t + kl_coef * kl
                            parts["kl_prior"] = kl.mean().item()
                        loss = loss_t.sum() / steps
                    loss.backward()
                    for k, v in parts.items():
                        stats.setdefault(k, []).append(v)
                torch.nn.utils.clip_grad_norm_(policy.parameters(), cfg.max_grad_norm)
                optimizer.step()
        iteration += 1

        # --- 6. bookkeeping -----------------------------------------------------------------------
        dt = time.perf_counter() - t0
        recent = [e["return"] for e in episodes[-20:]]
        logs = {k: float(np.mean(v)) for k, v in stats.items()}
        logs.update({"env_steps": env_steps, "env_steps_per_s": cfg.num_envs * cfg.rollout_steps / dt,
                     "rollout_steps_per_s": cfg.num_envs * cfg.rollout_steps / t_roll, "kl_coef": kl_coef,
                     "episodes": len(episodes), "return_recent": float(np.mean(recent)) if recent else 0.0,
                     "reward_per_step": float(ro.rewards.mean())})  # fmt: skip
        run.log(iteration, logs)
        if progress is not None:
            progress(iteration, logs)
        if iteration % cfg.checkpoint_every == 0 or iteration == cfg.iterations:
            run.save_checkpoint({"iteration": iteration, "env_steps": env_steps, "model": policy.state_dict(),
                                 "optimizer": optimizer.state_dict(), "episodes": json.dumps(episodes),
                                 "rng": rng_state(), "generator": generator.get_state()})  # fmt: skip
            save_policy(policy, run.path / "policy.model", run.path / "policy.weights")
            (run.path / "episodes.jsonl").write_text("".join(json.dumps(e) + "\n" for e in episodes))
            plot_runs({Path(cfg.out).name: run.path}, run.path / "curves.png")
    envs.close()
    run.close()
    summary = {"iterations": iteration, "env_steps": env_steps, "episodes": len(episodes),
               "mean_return": float(np.mean([e["return"] for e in episodes])) if episodes else 0.0}  # fmt: skip
    run.write_summary(summary)
    return summary


"""Policy acting speed: batch-1 latency (steps/s) and batched throughput (frames/s).

Run: ``vpt bench agent [--sizes 1x 2x] [--steps 20] [--rounds 3] [--batch 8]``.

For each architecture (random weights, released kwargs of vpt.md §5) it times one acting step
(forward from the recurrent state + Gumbel-max sampling + log-probability, 128x128 input):

* ``reference``: a reference-style implementation timed in the same run: the reference's
  computation order (per-call mask building with ``repeat_interleave`` over heads, ``baddbmm``
  attention, -1e9 mask bias), ``torch.no_grad``, weights as built (contiguous);
* ``fp32``: ``VPTPolicy`` under ``torch.inference_mode`` with channels-last conv weights;
* ``winograd``: as ``fp32`` with the 3x3 convs computed by Winograd F(4x4, 3x3), still float32;
* ``fp16w``: as ``winograd`` plus float16 copies of the linear-layer weights (``Agent(fp16_weights=True)``);
* ``bf16``: as ``fp32`` plus the image encoder run from a bfloat16 copy (``Agent(bf16=True)``);
* ``int8``: as ``bf16`` with the convs in int8 and the rest of the encoder compiled
  (``Agent(bf16=True, int8=True, compile=True)``; x86 CPUs with AVX2, else skipped; where bf16
  is not native, the encoder's other layers stay float32: ``Agent(int8=True, compile=True)``).

All modes share one copy of the weights. They are timed in interleaved rounds (noise on a
shared machine hits all of them alike) and
the median per-step time is reported (and the best one, a hint of the uncontended speed). Before timing, every mode runs the same 6-step sequence
from the empty state and is compared with ``reference``: max |delta log-prob| over both heads,
KL(reference || mode) and argmax agreement.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch
import torch.nn.functional as F

from vpt.agent import PolicyConfig, VPTPolicy
from vpt.nn.attention import relative_logits
from vpt.nn.int8 import int8_unavailable_reason
from vpt.train import native_bf16

BASE_KWARGS = {
    "attention_heads": 16,
    "attention_mask_style": "clipped_causal",
    "attention_memory_size": 256,
    "diff_mlp_embedding": False,
    "hidsize": 2048,
    "img_shape": [128, 128, 3],
    "impala_chans": [16, 32, 32],
    "impala_kwargs": {"post_pool_groups": 1},
    "impala_width": 8,
    "init_norm_kwargs": {"batch_norm": False, "group_norm_groups": 1},
    "n_recurrence_layers": 4,
    "only_img_input": True,
    "pointwise_ratio": 4,
    "pointwise_use_activation": False,
    "recurrence_is_residual": True,
    "recurrence_type": "transformer",
    "timesteps": 128,
    "use_pointwise_layer": True,
    "use_pre_lstm_ln": False,
}
SIZES = {
    "1x": {**BASE_KWARGS, "hidsize": 1024, "impala_width": 4, "attention_heads": 8},
    "2x": BASE_KWARGS,
    "3x": {**BASE_KWARGS, "hidsize": 3072, "impala_width": 12, "attention_heads": 24},
}
MODES = ("reference", "fp32", "winograd", "fp16w", "bf16", "int8")

Step = Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


# --- the reference-style baseline ------------------------------------------------------------


def _ref_layer(layer: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """FanInInitReLULayer as the reference writes it: norm, layer, in-place ReLU."""
    if layer.norm is not None:
        x = layer.norm(x)
    x = layer.layer(x)
    return F.relu(x, inplace=True) if layer.use_activation else x


def _ref_mask(first: torch.Tensor, state_mask: torch.Tensor, t: int, maxlen: int, heads: int):
    T = t + maxlen
    b = first.shape[0]
    m = torch.ones(t, T, dtype=torch.bool).tril(T - t).triu(T - t - maxlen + 1)
    m_btT = m[None].repeat(b, 1, 1)
    not_first = ~first[:, [[0]]]  # (b, 1, 1): only the first step's flag counts
    m_btT[:, :, :-t] &= not_first
    m_btT[:, :, :-t] &= state_mask
    m_btT = m_btT[:, None].repeat_interleave(heads, dim=1).reshape(b * heads, t, T)
    new_mask = torch.cat([state_mask[:, :, t:] & not_first, torch.ones(b, 1, min(t, maxlen), dtype=torch.bool)], -1)
    return m_btT, new_mask


def _ref_attention(blk, x: torch.Tensor, first: torch.Tensor, state):
    mask, k_cache, v_cache = state
    orc = blk.r.orc_block
    b, t, e = x.shape
    h, maxlen = orc.heads, orc.maxlen
    m_btT, new_mask = _ref_mask(first, mask, t, maxlen, h)
    q, k, v = orc.q_layer(x), orc.k_layer(x), orc.v_layer(x)
    k = torch.cat([k_cache, k], 1)
    v = torch.cat([v_cache, v], 1)
    new_k, new_v = k[:, -maxlen:], v[:, -maxlen:]

    def split(z: torch.Tensor) -> torch.Tensor:
        n, s, f = z.shape
        return z.reshape(n, s, h, f // h).permute(0, 2, 1, 3).reshape(n * h, s, f // h)

    r = split(orc.r_layer(x).float())  # (b*h, t, 10)
    extra = relative_logits(r[None], orc.b_nd, t, maxlen)[0]
    qs, ks, vs = split(q).float(), split(k).float(), split(v)
    bias = (~m_btT).float() * -1e9
    logits = torch.baddbmm(bias, qs, ks.transpose(-1, -2), alpha=1 / qs.shape[-1]) + extra
    logits = logits - logits.max(dim=-1, keepdim=True)[0]
    a = torch.bmm(torch.softmax(logits, dim=-1).to(vs.dtype), vs)
    a = a.reshape(b, h, t, e // h).permute(0, 2, 1, 3).reshape(b, t, e)
    return x + orc.proj_layer(a), (new_mask, new_k, new_v)


def reference_style_forward(policy: VPTPolicy, frames: torch.Tensor, first: torch.Tensor, state):
    """The reference's forward, written its way; returns (buttons logp, camera logp, vpred, state)."""
    net = policy.net
    cnn = net.img_process.cnn
    x = frames.to(dtype=torch.float32) / 255.0
    b, t = x.shape[:2]
    x = x.reshape(b * t, *x.shape[2:]).permute(0, 3, 1, 2)
    for stack in cnn.stacks:
        x = _ref_layer(stack.firstconv, x)
        x = F.max_pool2d(x, kernel_size=3, stride=2, padding=1)
        x = stack.n(x)
        for blk in stack.blocks:
            x = x + _ref_layer(blk.conv1, _ref_layer(blk.conv0, x))
    x = x.reshape(b, t, *x.shape[1:]).reshape(b, t, -1)
    x = _ref_layer(net.img_process.linear, _ref_layer(cnn.dense, x))
    new_state = []
    for blk, s in zip(net.recurrent_layer.blocks, state):
        h = blk.pre_r_ln(x)
        x, s = _ref_attention(blk, h, first, s)
        x = x + blk.mlp1(blk.mlp0(x))
        new_state.append(s)
    x = net.final_ln(_ref_layer(net.lastlayer, F.relu(x)))
    logp = {}
    for name, head in policy.pi_head.items():
        z = head.linear_layer(x)
        z = z.reshape(*z.shape[:-1], 1, head.num_actions) / head.temperature
        logp[name] = F.log_softmax(z.float(), dim=-1)[..., 0, :]
    vpred = policy.value_head.denormalize(policy.value_head.linear(x))[..., 0]
    return logp["buttons"], logp["camera"], vpred, tuple(new_state)


# --- acting steps -----------------------------------------------------------------------------


def _sample(logp: torch.Tensor) -> torch.Tensor:
    u = torch.rand_like(logp)
    return (logp - torch.log(-torch.log(u))).argmax(-1)


def make_reference_step(policy: VPTPolicy, batch: int) -> Step:
    state = [
        (torch.zeros(batch, 1, s.mask.shape[-1], dtype=torch.bool), s.k, s.v) for s in policy.initial_state(batch)
    ]

    @torch.no_grad()
    def step(frames: torch.Tensor, first: torch.Tensor):
        nonlocal state
        bl, cl, vpred, state = reference_style_forward(policy, frames, first, state)
        bs, cs = _sample(bl), _sample(cl)
        return bl.gather(-1, bs[..., None]) + cl.gather(-1, cs[..., None]), bl

    return step


def make_fast_step(policy: VPTPolicy, batch: int) -> Step:
    state = policy.initial_state(batch)

    def step(frames: torch.Tensor, first: torch.Tensor):
        nonlocal state
        with torch.inference_mode():
            out, state = policy(frames, first, state)
            bs, cs = _sample(out.buttons_logprob), _sample(out.camera_logprob)
            lp = out.buttons_logprob.gather(-1, bs[..., None]) + out.camera_logprob.gather(-1, cs[..., None])
            return lp, out.buttons_logprob

    return step


def build_policy(size: str) -> VPTPolicy:
    """Random-weight policy of a released size (one copy shared by all modes: 1 GB for the 2x)."""
    torch.manual_seed(0)
    policy = VPTPolicy(PolicyConfig.from_kwargs(SIZES[size], {"temperature": 2.0})).eval()
    with torch.no_grad():  # a realistic value normaliser instead of the all-zero init
        policy.value_head.normalizer.debiasing_term.fill_(1.0)
        policy.value_head.normalizer.running_mean_sq.fill_(1.0)
    return policy


def configure(policy: VPTPolicy, mode: str) -> None:
    """Switch the shared policy to ``mode``'s settings (caches are rebuilt on the next call)."""
    settings = {
        "reference": {"channels_last": False},
        "fp32": {"channels_last": True},
        "winograd": {"channels_last": True, "winograd": True},
        "fp16w": {"channels_last": True, "winograd": True, "linear_dtype": torch.float16},
        "bf16": {"channels_last": True, "encoder_dtype": torch.bfloat16},
        "int8": {"channels_last": True, "encoder_dtype": torch.bfloat16 if native_bf16(torch.device("cpu")) else None,
                 "int8": True, "compile": True},
    }[mode]
    policy.optimize_for_inference(**settings)


def make_step(mode: str, policy: VPTPolicy, batch: int) -> Step:
    return (make_reference_step if mode == "reference" else make_fast_step)(policy, batch)


def agreement(policy: VPTPolicy, modes: list[str], frames: torch.Tensor) -> dict[str, tuple[float, float, float]]:
    """Per mode: (max |dlogp|, max KL(ref || mode), argmax agreement) over a 6-step sequence."""
    first = torch.zeros(frames.shape[:2], dtype=torch.bool)
    first[:, 0] = True
    logps = {}
    for mode in modes:
        configure(policy, mode)
        step = make_step(mode, policy, frames.shape[0])
        logps[mode] = torch.cat([step(frames[:, t : t + 1], first[:, t : t + 1])[1] for t in range(frames.shape[1])], 1)
    ref = logps["reference"]
    out = {}
    for mode, lp in logps.items():
        kl = (ref.exp() * (ref - lp)).sum(-1).max().item()
        agree = (lp.argmax(-1) == ref.argmax(-1)).float().mean().item()
        out[mode] = ((lp - ref).abs().max().item(), kl, agree)
    return out


def time_modes(
    policy: VPTPolicy, modes: list[str], batch: int, steps: int, rounds: int, slow: dict[str, int]
) -> dict[str, tuple[float, float]]:
    """(median, best) seconds per step of each mode, timed in interleaved rounds.

    Each round switches the policy to the mode and runs 2 untimed warm-up steps (caches, oneDNN
    primitives) before the timed ones.
    """
    gen = torch.Generator().manual_seed(1)
    frames = torch.randint(0, 256, (batch, 1, 128, 128, 3), dtype=torch.uint8, generator=gen)
    first = torch.zeros(batch, 1, dtype=torch.bool)
    stepfns = {m: make_step(m, policy, batch) for m in modes}
    times: dict[str, list[float]] = {m: [] for m in modes}
    for _ in range(rounds):
        for m, fn in stepfns.items():
            configure(policy, m)
            for _ in range(2 if m not in slow else 1):
                fn(frames, first)
            for _ in range(slow.get(m, steps)):
                t0 = time.perf_counter()
                fn(frames, first)
                times[m].append(time.perf_counter() - t0)
    return {m: (statistics.median(ts), min(ts)) for m, ts in times.items()}


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="vpt bench agent", description=__doc__.split("\n\n")[0])
    ap.add_argument("--sizes", nargs="+", default=["1x", "2x"], choices=sorted(SIZES))
    ap.add_argument("--modes", nargs="+", default=list(MODES), choices=MODES)
    ap.add_argument("--steps", type=int, default=15, help="timed steps per mode per round (batch 1)")
    ap.add_argument("--rounds", type=int, default=3, help="interleaved timing rounds")
    ap.add_argument("--batch", type=int, default=8, help="batch size of the throughput test (0: skip)")
    ap.add_argument("--bf16-steps", type=int, default=2, help="timed bf16 steps per round (slow on CPUs without bf16)")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's choice)")
    args = ap.parse_args(argv)
    if "reference" not in args.modes:
        args.modes.insert(0, "reference")
    if "int8" in args.modes and (why := int8_unavailable_reason(torch.device("cpu"))) is not None:
        print(f"int8 skipped: {why}")
        args.modes.remove("int8")
    if args.threads:
        torch.set_num_threads(args.threads)
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, mkldnn {torch.backends.mkldnn.is_available()}, "
        f"CPU capability {torch.backends.cpu.get_cpu_capability()}"
    )
    slow = {"bf16": args.bf16_steps}
    for size in args.sizes:
        policy = build_policy(size)
        n_params = sum(p.numel() for p in policy.parameters())
        print(f"\n{size}: {n_params / 1e6:.1f}M parameters")
        gen = torch.Generator().manual_seed(2)
        seq = torch.randint(0, 256, (1, 6, 128, 128, 3), dtype=torch.uint8, generator=gen)
        agree = agreement(policy, args.modes, seq)
        lat = time_modes(policy, args.modes, 1, args.steps, args.rounds, slow)
        thr = time_modes(policy, args.modes, args.batch, max(2, args.steps // 3), args.rounds, slow) if args.batch else {}
        print(f"{'mode':<10} {'steps/s (B=1)':>14} {'ms/step':>9} {'best ms':>8} {'vs ref':>7} "
              f"{'frames/s (B=%d)' % args.batch:>16} {'max|dlogp|':>11} {'max KL':>9} {'argmax':>7}")
        for m in args.modes:
            d, kl, ag = agree[m]
            (med, best), ref = lat[m], lat["reference"][0]
            tput = f"{args.batch / thr[m][0]:.1f}" if m in thr else "-"
            print(f"{m:<10} {1 / med:>14.1f} {1000 * med:>9.1f} {1000 * best:>8.1f} {ref / med:>6.2f}x {tput:>16} "
                  f"{d:>11.1e} {kl:>9.1e} {100 * ag:>6.0f}%")

"""BC training throughput: sequence training vs the reference demo's loop, in the same run.

Run: ``vpt bench bc [--preset tiny|small|1x] [--batch 8] [--chunk 32] [--repeats 3] [--device cuda]``.

* **reference style** — what OpenAI's ``behavioural_cloning.py`` does: one frame of one
  recording per forward call (T = 1, batch 1), the loss divided by the batch size and
  back-propagated per sample, one optimiser step per batch of ``--batch`` samples.
* **vpt bc** — ``--batch`` episode streams × ``--chunk`` frames per call, memory carried across
  chunks, one backward per chunk (``vpt.agent.bc``), channels-last convs.
* **vpt bc + bf16** (``--bf16``) — the same under bf16 autocast (``vpt bc train --precision
  bf16``): a win on GPUs and on CPUs with AMX, a loss on AVX2-only CPUs.

On a GPU (``--device cuda``, the reference demo's own device) every case runs there, its frames
copied from host memory each call as a data loader's would be, and each timing waits for the GPU.

Random weights and frames; frames/s = trained frames per second. Medians after a warm-up.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch

from vpt.agent.bc import Episode, EpisodeStreams, bc_loss
from vpt.agent.policy import detach_state
from vpt.agent.presets import build_policy
from vpt.train import autocast, resolve_device, synchronize


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="vpt bench bc", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="small")
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--chunk", type=int, default=32)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--bf16", action="store_true", help="also time sequence BC under bf16 autocast")
    ap.add_argument("--device", default="cpu", help="cpu, cuda or auto")
    args = ap.parse_args(argv)
    device = resolve_device(args.device)
    rng = np.random.default_rng(0)
    n = 4 * args.chunk
    eps = [Episode(f"e{i}", rng.integers(0, 256, (n, 128, 128, 3), dtype=np.uint8), rng.integers(0, 8641, n),
                   rng.integers(0, 121, n), np.ones(n, bool)) for i in range(args.batch)]  # fmt: skip

    # Reference style: one sample per call, per-sample backward, a step per batch.
    ref = build_policy(args.preset, seed=0).to(device).train()
    ref_opt = torch.optim.Adam(ref.parameters(), lr=1e-4)
    ref_states = [ref.initial_state(1, device=device) for _ in eps]
    ref_pos = [0] * len(eps)

    def reference_batch() -> int:
        for i, ep in enumerate(eps):
            t = ref_pos[i] % n
            f = torch.as_tensor(ep.frames[t : t + 1])[None].to(device)
            out, s = ref(f, torch.zeros(1, 1, dtype=torch.bool, device=device), ref_states[i])
            ref_states[i] = detach_state(s)
            target = [torch.as_tensor(a[t : t + 1])[None].to(device) for a in (ep.buttons, ep.camera)]
            loss, _ = bc_loss(out, *target, torch.ones(1, 1, dtype=torch.bool, device=device))
            (loss / len(eps)).backward()
            ref_pos[i] += 1
        ref_opt.step()
        ref_opt.zero_grad()
        return len(eps)

    def sequence_trainer(precision: str):
        """One call = one chunk of sequence BC, as ``vpt.agent.bc`` trains."""
        ours = build_policy(args.preset, seed=0).to(device).train()
        ours.optimize_for_inference(channels_last=True)
        opt = torch.optim.Adam(ours.parameters(), lr=1e-4)
        streams = EpisodeStreams(eps, args.batch)
        state = {"s": ours.initial_state(args.batch, device=device)}

        def sequence_batch() -> int:
            c = {k: torch.as_tensor(v).to(device) for k, v in streams.next_chunk(args.chunk).items()}
            with autocast(device, precision):
                out, s = ours(c["frames"], c["first"], state["s"])
            loss, _ = bc_loss(out, c["buttons"], c["camera"], c["mask"])
            loss.backward()
            opt.step()
            opt.zero_grad()
            state["s"] = detach_state(s)
            return c["frames"].shape[0] * c["frames"].shape[1]

        return sequence_batch

    cases = {"reference style (1 frame x 1 sample per call)": reference_batch,
             "vpt bc (streams x chunk, TBPTT)": sequence_trainer("fp32")}  # fmt: skip
    if args.bf16:
        cases["vpt bc + bf16 autocast"] = sequence_trainer("bf16")
    results: dict[str, list[float]] = {k: [] for k in cases}
    for fn in cases.values():
        fn(), fn()  # warm-up
    for _ in range(args.repeats):
        for name, fn in cases.items():
            synchronize(device)
            t = time.perf_counter()
            frames = fn()
            synchronize(device)
            results[name].append(frames / (time.perf_counter() - t))
    params = sum(p.numel() for p in ref.parameters())
    print(f"BC training, preset {args.preset} ({params / 1e6:.1f}M params), batch {args.batch}, chunk {args.chunk}, "
          f"device {device}, torch threads {torch.get_num_threads()}, median of {args.repeats}")  # fmt: skip
    base = statistics.median(results["reference style (1 frame x 1 sample per call)"])
    print(f"{'case':48s} {'frames/s':>10s} {'vs reference':>13s}")
    for name, v in results.items():
        m = statistics.median(v)
        print(f"{name:48s} {m:10.1f} {m / base:12.1f}x")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])

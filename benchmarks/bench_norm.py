"""Group-norm fast path: training steps with ``nn.GroupNorm`` against ``vpt.nn.GroupNorm``.

Run: ``vpt bench norm [--precision bf16] [--repeats 5] [--threads 1]``.

``vpt.nn.GroupNorm`` runs group norms of fewer than 16 channels on channels-last bf16 tensors on
an NCHW copy (PyTorch's channels-last kernel is several times slower there; ``vpt.nn.norm``).
This times one training step (forward, backward, optimiser) of the two models whose norms take
that path, the ``tiny`` IDM (2 windows x 32 frames, as ``scripts/idm_curve.sh`` trains it) and the
``tiny`` BC policy (4 streams x 32 frames), each once with the stock norm and once with ours, on
the same weights, interleaved; frames/s medians after two warm-up steps each.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable

import torch
from torch import nn

from vpt.agent.bc import bc_loss
from vpt.agent.presets import build_policy
from vpt.cli.bench import interleaved_medians
from vpt.idm import IDMConfig, InverseDynamicsModel
from vpt.idm.train import idm_loss, preset_kwargs
from vpt.nn.norm import GroupNorm
from vpt.train import autocast

CPU = torch.device("cpu")


def idm_step(precision: str) -> tuple[Callable[[], None], int]:
    torch.manual_seed(0)
    model = InverseDynamicsModel(IDMConfig.from_kwargs(preset_kwargs("tiny"), {"temperature": 1.0})).train()
    model.optimize_for_inference(channels_last=True)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    frames = torch.randint(0, 256, (2, 32, 128, 128, 3), dtype=torch.uint8)
    buttons, camera = torch.randint(0, 2, (2, 32, 20)), torch.randint(0, 11, (2, 32, 2))

    def step() -> None:
        with autocast(CPU, precision):
            out = model(frames)
        loss, _ = idm_loss(out, buttons, camera)
        loss.backward()
        opt.step()
        opt.zero_grad()

    return step, frames.shape[0] * frames.shape[1]


def bc_step(precision: str) -> tuple[Callable[[], None], int]:
    policy = build_policy("tiny", seed=0).train()
    policy.optimize_for_inference(channels_last=True)
    opt = torch.optim.Adam(policy.parameters(), lr=1e-4)
    b, t = 4, 32
    frames = torch.randint(0, 256, (b, t, 128, 128, 3), dtype=torch.uint8)
    first, mask = torch.zeros(b, t, dtype=torch.bool), torch.ones(b, t, dtype=torch.bool)
    buttons, camera = torch.randint(0, 8641, (b, t)), torch.randint(0, 121, (b, t))

    def step() -> None:
        with autocast(CPU, precision):
            out, _ = policy(frames, first, policy.initial_state(b))
        loss, _ = bc_loss(out, buttons, camera, mask)
        loss.backward()
        opt.step()
        opt.zero_grad()

    return step, b * t


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="vpt bench norm", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--precision", default="bf16", choices=["bf16", "fp32"], help="fp32 takes the stock path in both")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    ours = GroupNorm.forward
    norms = {"nn.GroupNorm": nn.GroupNorm.forward, "vpt.nn.GroupNorm": ours}
    print(f"tiny presets, {args.precision}, torch threads {torch.get_num_threads()}, median of {args.repeats}")
    print(f"{'model':10s} {'nn.GroupNorm':>14s} {'vpt.nn.GroupNorm':>18s} {'speed-up':>9s}   (frames/s)")
    try:
        for name, make in (("IDM", idm_step), ("BC policy", bc_step)):
            step, frames = make(args.precision)
            ways = {k: functools.partial(setattr, GroupNorm, "forward", forward) for k, forward in norms.items()}
            stock, fast = interleaved_medians(step, ways, args.repeats).values()
            print(f"{name:10s} {frames / stock:14.1f} {frames / fast:18.1f} {stock / fast:8.2f}x")
    finally:
        GroupNorm.forward = ours


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])

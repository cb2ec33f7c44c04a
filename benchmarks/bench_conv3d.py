"""The IDM's temporal conv: PyTorch's conv3d against the equal conv2d, in IDM training steps.

Run: ``vpt bench conv3d [--preset tiny] [--precision fp32|bf16] [--repeats 5] [--threads 1]``.

OpenAI's IDM starts with a conv3d of kernel (5, 1, 1): it mixes five frames and never pixels, so
it is a (5, 1) conv2d over (time, pixels) (``InverseDynamicsModel.temporal_conv2d``: by
default in training; at inference on CPUs the IDM calls oneDNN's conv3d directly). On CPUs
PyTorch runs such a conv3d on its slow unfold path (at batch 1 on one thread, and on more below
~54 frames a call); oneDNN runs the conv2d.
This times one training step (forward, backward, AdamW) of the IDM on 2 windows of the preset's
length, once each way on the same weights, interleaved; frames/s medians after two warm-up
rounds, and the largest difference between the two ways' outputs.
"""

from __future__ import annotations

import argparse
import functools

import torch

from vpt.cli.bench import interleaved_medians
from vpt.idm import IDMConfig, InverseDynamicsModel
from vpt.idm.train import idm_loss, preset_kwargs
from vpt.train import autocast

CPU = torch.device("cpu")


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="vpt bench conv3d", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="tiny", choices=["tiny", "small", "4x"])
    ap.add_argument("--precision", default="fp32", choices=["fp32", "bf16"])
    ap.add_argument("--windows", type=int, default=2, help="training windows a step")
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = InverseDynamicsModel(IDMConfig.from_kwargs(preset_kwargs(args.preset), {"temperature": 1.0})).train()
    model.optimize_for_inference(channels_last=True)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    w = model.cfg.window
    frames = torch.randint(0, 256, (args.windows, w, 128, 128, 3), dtype=torch.uint8)
    buttons, camera = torch.randint(0, 2, (args.windows, w, 20)), torch.randint(0, 11, (args.windows, w, 2))

    with torch.no_grad(), autocast(CPU, args.precision):
        outs = []
        for conv2d in (False, True):
            model.temporal_conv2d = conv2d
            outs.append(model._temporal_conv(frames).float())
    gap = (outs[0] - outs[1]).abs().max().item()

    def step() -> None:
        with autocast(CPU, args.precision):
            out = model(frames)
        loss, _ = idm_loss(out, buttons, camera)
        loss.backward()
        opt.step()
        opt.zero_grad()

    ways = {name: functools.partial(setattr, model, "temporal_conv2d", conv2d) for name, conv2d in (("conv3d", False), ("conv2d", True))}
    old, new = interleaved_medians(step, ways, args.repeats).values()
    n = frames.shape[0] * frames.shape[1]
    print(f"{args.preset} IDM training step ({args.windows} x {w} frames), {args.precision}, torch threads {torch.get_num_threads()}, median of {args.repeats}")
    print(f"{'conv3d':>10s} {'conv2d':>10s} {'speed-up':>9s}   (frames/s)")
    print(f"{n / old:10.1f} {n / new:10.1f} {old / new:8.2f}x")
    print(f"largest difference of the temporal conv's outputs: {gap:.2e}")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])

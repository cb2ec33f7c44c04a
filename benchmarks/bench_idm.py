"""IDM labelling and training throughput, against a reference-style baseline in the same run.

Run: ``vpt bench idm [--preset 4x|small|tiny] [--videos 2] [--frames 256] [--repeats 3]``.

* **reference style** — what OpenAI's demo does: one video at a time, decoded with OpenCV, cut
  into consecutive non-overlapping windows of ``timesteps`` frames, each window one fp32 call at
  batch 1 (PyTorch's conv3d + CNN + transformer), contiguous (NCHW) conv weights.
* **vpt label** — :func:`vpt.idm.label.label_videos`: decode-ahead threads, each frame's image
  features computed once, overlapping windows (every frame gets past and future context),
  channels-last convs; optionally the bf16 image encoder (``--bf16``: a win only on CPUs with
  AMX/AVX-512-BF16 or on GPUs) and the compiled encoder (``--compile``: ``torch.compile`` with
  frozen weights; compile time reported apart, not in frames/s) and the int8 convs (``--int8``:
  ``vpt.nn.int8``, x86 CPUs with AVX2, 7-bit weights without VNNI; with ``--bf16`` also int8
  convs between bf16 norms, with ``--compile`` also with the norms and quantisation compiled).
  Each low-precision case also reports how far its image features are from float32's (relative
  L2 on the first video).
* **training** — frames/s of ``idm_loss`` forward + backward + AdamW on random windows, fp32 and
  (with ``--bf16``) under bf16 autocast.

Random weights (speed does not depend on them). Medians of ``--repeats`` runs after a warm-up.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

from vpt.data import resize_to_agent
from vpt.data.synthetic import synthetic_frame
from vpt.data.video import write_video
from vpt.idm import IDMConfig, InverseDynamicsModel
from vpt.idm.label import label_videos
from vpt.idm.train import idm_loss, preset_kwargs
from vpt.train import autocast, resolve_device, synchronize


def reference_style(model: InverseDynamicsModel, videos: list[Path]) -> int:
    """OpenAI's demo loop: OpenCV decode, non-overlapping windows, batch 1, fp32."""
    n = 0
    window = model.cfg.window
    for path in videos:
        cap = cv2.VideoCapture(str(path))
        frames = []
        while True:
            ok, bgr = cap.read()
            if not ok:
                break
            frames.append(resize_to_agent(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)))
        cap.release()
        x = torch.as_tensor(np.stack(frames))
        with torch.inference_mode():
            for s in range(0, len(x), window):
                model(x[s : s + window][None].to(model.device))
        n += len(x)
    return n


def _sharing_all_but_the_encoder(model: InverseDynamicsModel) -> InverseDynamicsModel:
    """A copy of ``model`` with its own image encoder, sharing every other module (the 4x IDM's
    transformer is ~420M of its 482M parameters: a dozen full copies would not fit in memory)."""
    clone, net = copy.copy(model), copy.copy(model.net)
    clone._modules, net._modules = dict(model._modules), dict(model.net._modules)
    net._modules["img_process"] = copy.deepcopy(model.net.img_process)
    clone._modules["net"] = net
    return clone


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="vpt bench idm", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--preset", default="small", help="tiny, small or 4x (OpenAI's IDM size: slow on a CPU)")
    ap.add_argument("--videos", type=int, default=2)
    ap.add_argument("--frames", type=int, default=256, help="frames per video")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--bf16", action="store_true", help="also time the bf16 image encoder")
    ap.add_argument("--compile", action="store_true", help="also time the compiled encoder (fp32, and bf16 with --bf16)")
    ap.add_argument("--int8", action="store_true", help="also time int8 convs (and with --bf16 / --compile)")
    ap.add_argument("--train-batch", type=int, default=4, help="0: skip the training measurement")
    ap.add_argument("--train-window", type=int, default=0, help="frames per training window (0: the model's)")
    ap.add_argument("--device", default="auto")
    args = ap.parse_args(argv)
    device = resolve_device(args.device)
    torch.manual_seed(0)
    kwargs = preset_kwargs(args.preset)

    def fresh() -> InverseDynamicsModel:
        torch.manual_seed(0)
        return InverseDynamicsModel(IDMConfig.from_kwargs(kwargs, {"temperature": 1.0})).to(device).eval()

    results: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        videos = []
        for v in range(args.videos):
            p = Path(tmp) / f"web{v}.mp4"
            write_video(p, (synthetic_frame(i + 1000 * v) for i in range(args.frames)))
            videos.append(p)
        baseline = fresh()
        cases = {"reference style (fp32, batch 1, no overlap)": lambda: reference_style(baseline, videos)}
        low_precision: dict[str, InverseDynamicsModel] = {}  # their feature error is reported too

        def add(name: str, **settings: object) -> None:
            model = _sharing_all_but_the_encoder(baseline)
            model.optimize_for_inference(channels_last=True, **settings)
            cases[name] = lambda: label_videos(model, videos, Path(tmp) / f"l{time.time_ns()}").frames
            if settings.get("encoder_dtype") or settings.get("int8"):
                low_precision[name] = model

        add("vpt label (channels-last, overlap, decode-ahead)")
        add("vpt label + Winograd convs", winograd=True)
        dtypes = [("", None)] + ([(" bf16", torch.bfloat16)] if args.bf16 else [])
        if args.bf16:
            add("vpt label + bf16 encoder", encoder_dtype=torch.bfloat16)
        if args.compile:
            for name, dtype in dtypes:
                add(f"vpt label +{name} compiled encoder", encoder_dtype=dtype, compile=True)
        if args.int8:
            for name, dtype in dtypes:
                add(f"vpt label + int8 convs{name}", encoder_dtype=dtype, int8=True)
                if args.compile:
                    add(f"vpt label + int8 convs{name} compiled", encoder_dtype=dtype, int8=True, compile=True)
        baseline.temporal_conv2d = False  # the reference's nn.Conv3d (the cases above keep the model's default)
        first_run_s = {}
        for name, fn in cases.items():
            t = time.perf_counter()
            fn()  # warm-up (and compilation)
            first_run_s[name] = time.perf_counter() - t
        for _ in range(args.repeats):
            for name, fn in cases.items():
                t = time.perf_counter()
                n = fn()
                results.setdefault(name, []).append(n / (time.perf_counter() - t))

    # After the timed runs (a compiled case's first run is its compilation): each low-precision
    # encoder's features against float32's on the first 64 frames.
    feature_error: dict[str, float] = {}
    if low_precision:
        first = torch.as_tensor(np.stack([resize_to_agent(synthetic_frame(i)) for i in range(min(args.frames, 64))])).to(device)
        with torch.inference_mode():
            want = baseline.encode(first)
            for name, model in low_precision.items():
                feature_error[name] = float((model.encode(first) - want).norm() / want.norm())

    # Training throughput: fp32, and with --bf16 also bf16 autocast (what `vpt idm train --precision bf16` runs).
    w = args.train_window or baseline.cfg.window
    if args.train_batch:
        f = torch.randint(0, 256, (args.train_batch, w, 128, 128, 3), dtype=torch.uint8, device=device)
        b = torch.randint(0, 2, (args.train_batch, w, 20), device=device)
        c = torch.randint(0, 11, (args.train_batch, w, 2), device=device)
        for precision in ("fp32", "bf16") if args.bf16 else ("fp32",):
            model = fresh().train()
            model.optimize_for_inference(channels_last=True)
            opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
            times = []
            for i in range(args.repeats + 2):  # two warm-up steps
                synchronize(device)
                t = time.perf_counter()
                opt.zero_grad()
                with autocast(device, precision):
                    out = model(f)
                loss, _ = idm_loss(out, b, c)
                loss.backward()
                opt.step()
                synchronize(device)
                if i >= 2:
                    times.append(f.shape[0] * w / (time.perf_counter() - t))
            results[f"training {precision} (batch {args.train_batch} x {w} frames)"] = times

    base = statistics.median(results["reference style (fp32, batch 1, no overlap)"])
    params = sum(p.numel() for p in baseline.parameters())
    print(f"IDM preset {args.preset} ({params / 1e6:.1f}M params), {args.videos} videos x {args.frames} frames, "
          f"window {baseline.cfg.window}, device {device}, torch threads {torch.get_num_threads()}, median of {args.repeats}")  # fmt: skip
    print(f"{'case':52s} {'frames/s':>10s} {'vs reference':>13s}")
    for name, fps in results.items():
        m = statistics.median(fps)
        ratio = f"{m / base:12.2f}x" if not name.startswith("training") else ""
        warm = f"   (first run {first_run_s[name]:.0f} s: compiling)" if "compiled" in name else ""
        err = f"   (features {feature_error[name]:.1e} from fp32)" if name in feature_error else ""
        print(f"{name:52s} {m:10.1f} {ratio}{err}{warm}")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])

"""Decode + preprocess throughput (frames/s): PyAV (threaded and single-thread) vs OpenCV.

Run: ``vpt bench data [--frames 600] [--repeats 5]``. Generates a synthetic 640×360 H.264
recording, then times, side by side in one run, each way of turning the mp4 into the
networks' 128×128 RGB frames, and the whole ``load_recording`` (jsonl conversion and cursor
overlay included). Reports the median of ``--repeats`` runs after one warm-up.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import cv2

from vpt.data import load_recording, read_video, resize_to_agent
from vpt.data.synthetic import write_synthetic_recording


def opencv_reference_style(path: Path) -> int:
    """The reference loader's way: cv2.VideoCapture (BGR), BGR→RGB, resize."""
    cap = cv2.VideoCapture(str(path))
    n = 0
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frame = cv2.cvtColor(frame, cv2.COLOR_BGR2RGB)
        resize_to_agent(frame)
        n += 1
    cap.release()
    return n


def pyav(path: Path, threads: int | None) -> int:
    n = 0
    for frame in read_video(path, threads=threads):
        resize_to_agent(frame)
        n += 1
    return n


def main(argv: list[str]) -> None:
    ap = argparse.ArgumentParser(prog="vpt bench data", description=__doc__)
    ap.add_argument("--frames", type=int, default=600)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        mp4, _ = write_synthetic_recording(Path(tmp) / "bench", args.frames)
        cases = {
            "OpenCV VideoCapture (reference style)": lambda: opencv_reference_style(mp4),
            "PyAV, 1 thread": lambda: pyav(mp4, 1),
            "PyAV, threaded (AUTO)": lambda: pyav(mp4, None),
            "load_recording (PyAV + jsonl + cursor)": lambda: len(load_recording(mp4, skip_null=False)),
        }
        results: dict[str, list[float]] = {k: [] for k in cases}
        for fn in cases.values():  # warm-up
            fn()
        for _ in range(args.repeats):
            for name, fn in cases.items():
                t = time.perf_counter()
                n = fn()
                results[name].append(n / (time.perf_counter() - t))
    base = statistics.median(results["OpenCV VideoCapture (reference style)"])
    print(f"decode + preprocess to 128x128, {args.frames} frames of 640x360 H.264, median of {args.repeats}")
    print(f"{'method':42s} {'frames/s':>10s} {'vs OpenCV':>10s}")
    for name, fps in results.items():
        m = statistics.median(fps)
        print(f"{name:42s} {m:10.0f} {m / base:9.2f}x")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])

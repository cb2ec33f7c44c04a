"""``vpt bench env``: steps per second of the embedded simulator, next to Crafter's, in one run.

One process, random actions sampled before timing (so sampling is not counted), the default
128×128×64 world. Measured at 128×128 (what agents and RL use) and 640×360 (MineRL's size).
The envs run in turns, ``--repeats`` windows of ``--seconds`` of CPU time each, so that load
from other processes hits all of them alike; the table shows medians. ``steps/s`` is wall
clock, ``steps/CPU-s`` per second of this process's CPU time (one core), and the ratio to
Crafter is taken per window on CPU time. Rows:

* ``sim, uniform camera``: ``action_space.sample()`` as is — MineRL's random agent; its camera is
  uniform in ±180°, so the view is mostly clamped straight up or down.
* ``sim, human camera``: the same buttons with a small camera motion (normal, 5°), so the view
  stays around the horizon like a player's — the costlier case for the ray caster.
* ``sim, GUI open``: the inventory screen stays open (``inventory`` and ``ESC`` never pressed),
  the human-like camera moves the cursor and random ``attack``/``use`` presses click slots —
  what a GUI frame costs next to a world frame.
* ``crafter``: ``crafter.Env(size=...)`` with uniformly random actions (``pip install crafter``,
  the ``bench`` extra); the ratio column is sim / crafter at the same resolution.

The split columns (CPU ms per step) time the renderer (ray casting + HUD) inside the same
steps; "logic" is the rest of a step (action checks, physics, mining, info, the gymnasium
wrappers).
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


class _Sim:
    """One simulator env with pre-sampled random actions and a timer around its renderer."""

    def __init__(self, resolution: tuple[int, int], camera_std: float | None, seed: int = 0, gui: bool = False) -> None:
        import gymnasium

        import vpt.env  # noqa: F401

        self.env = gymnasium.make("vpt/HumanSurvival-v0", resolution=resolution)
        self.env.reset(seed=seed)
        self.env.action_space.seed(seed)
        rng = np.random.default_rng(seed)
        self.actions = []
        for _ in range(4096):
            a = self.env.action_space.sample()
            if camera_std is not None:
                a["camera"] = rng.normal(0.0, camera_std, 2).astype(np.float32)
            if gui:
                a["inventory"] = a["ESC"] = 0
            self.actions.append(a)
        if gui:
            self.env.step({"inventory": 1})
        self.i = 0
        self.gui = gui
        self.render_s = 0.0
        renderer = self.env.unwrapped.renderer
        render = renderer.render

        def timed(*args, **kwargs):
            t = time.process_time()
            out = render(*args, **kwargs)
            self.render_s += time.process_time() - t
            return out

        renderer.render = timed
        if gui:  # a GUI frame's drawing is render_screen (which calls render only for a new background)
            render_screen = renderer.render_screen

            def timed_screen(*args, **kwargs):
                t = time.process_time()
                out = render_screen(*args, **kwargs)
                self.render_s += time.process_time() - t
                return out

            renderer.render = render
            renderer.render_screen = timed_screen
        self.run(200)  # warm up: JIT caches, HUD cache

    def run(self, n: int) -> None:
        for _ in range(n):
            _, _, term, trunc, _ = self.env.step(self.actions[self.i % len(self.actions)])
            self.i += 1
            if term or trunc:
                self.env.reset()
                if self.gui:
                    self.env.step({"inventory": 1})


class _Crafter:
    def __init__(self, resolution: tuple[int, int], seed: int = 0) -> None:
        import crafter

        self.env = crafter.Env(size=resolution, seed=seed)
        self.env.reset()
        self.actions = np.random.default_rng(seed).integers(0, self.env.action_space.n, 4096)
        self.i = 0
        self.run(100)

    def run(self, n: int) -> None:
        for _ in range(n):
            _, _, done, _ = self.env.step(int(self.actions[self.i % len(self.actions)]))
            self.i += 1
            if done:
                self.env.reset()


def _measure(env, seconds: float) -> tuple[float, float, float]:
    """Run ``env`` for about ``seconds`` of CPU time: (steps, wall s, CPU s)."""
    n, chunk = 0, 16
    w0, c0 = time.perf_counter(), time.process_time()
    while time.process_time() - c0 < seconds:
        env.run(chunk)
        n += chunk
    return n, time.perf_counter() - w0, time.process_time() - c0


def main(argv: list[str]) -> None:
    """Run the benchmark and print a table (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="vpt bench env", description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4.0, help="length of one timing window")
    parser.add_argument("--repeats", type=int, default=3, help="timing windows per row (median reported)")
    parser.add_argument("--resolutions", default="128x128,640x360", help="comma-separated WxH list")
    args = parser.parse_args(argv)
    resolutions = [tuple(int(v) for v in r.split("x")) for r in args.resolutions.split(",")]
    try:
        import crafter  # noqa: F401
        have_crafter = True
    except ImportError:
        have_crafter = False
    print(f"{'resolution':>10} | {'env':<20} | {'steps/s':>8} | {'steps/CPU-s':>11} | {'x crafter':>9} "
          f"| {'render ms':>9} | {'logic ms':>8}")
    print("-" * 96)
    for res in resolutions:
        envs = {"sim, uniform camera": _Sim(res, None), "sim, human camera": _Sim(res, 5.0),
                "sim, GUI open": _Sim(res, 5.0, gui=True)}
        if have_crafter:
            envs["crafter"] = _Crafter(res)
        stats: dict[str, list[tuple[float, float, float, float]]] = {k: [] for k in envs}
        for _ in range(args.repeats):  # interleaved, so that load changes hit every env alike
            for name, env in envs.items():
                r0 = getattr(env, "render_s", 0.0)
                n, wall, cpu = _measure(env, args.seconds)
                stats[name].append((n / wall, n / cpu, (getattr(env, "render_s", 0.0) - r0) / n * 1e3, cpu / n * 1e3))
        med = {k: [statistics.median(col) for col in zip(*v)] for k, v in stats.items()}
        for name, (wall_rate, cpu_rate, r_ms, step_ms) in med.items():
            if have_crafter:
                ratios = [a[1] / b[1] for a, b in zip(stats[name], stats["crafter"])]
                ratio = f"{statistics.median(ratios):9.1f}"
            else:
                ratio = f"{'n/a':>9}"
            split = f"{r_ms:9.3f} | {step_ms - r_ms:8.3f}" if name != "crafter" else f"{'':>9} | {'':>8}"
            print(f"{res[0]:>4}x{res[1]:<5} | {name:<20} | {wall_rate:8.0f} | {cpu_rate:11.0f} | {ratio} | {split}")
        if not have_crafter:
            print(f"{res[0]:>4}x{res[1]:<5} | crafter not installed (pip install 'vpt[bench]')")
        for name, env in envs.items():
            if name != "crafter":  # crafter.Env has no close()
                env.env.close()

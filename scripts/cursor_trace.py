"""Where a policy's cursor leaves a screen's panel in play, and what it does there (docs/results §2, session 24).

Plays the evaluation task as `vpt eval` does (two environments, the RL world at gui_scale 2) and,
on every step with a screen open, records the cursor and the camera move the policy chose. It
prints the share of screen steps with the cursor off the panel, by the side it left from; the
policy's mean move there (a policy that finds its way back moves towards the panel, e.g. left
off the right side); and per screen visit how many ever leave and how many of their steps stay
off. Demonstrations leave the panel on ~1% of their screen frames (strays) and come straight back.

    .venv/bin/python scripts/cursor_trace.py MODEL WEIGHTS [--episodes 12] [--seed 2000] [--save T.npy]
"""

from __future__ import annotations

import argparse
import json

import gymnasium
import numpy as np

import vpt.env  # noqa: F401  (registers the tasks)
from vpt.agent.agent import Agent
from vpt.agent.evaluate import complete_batched
from vpt.env.sim.gui import GUI_SCALE, SCREEN_SIZE, screen_origin
from vpt.pipeline import SCALES

WORLD = {**SCALES["small"].world, **SCALES["small"].eval_world, "gui_scale": 2}
TASK = "vpt/ObtainDiamondPickaxe-v0"
#: columns of a trace row
COLUMNS = ("episode", "screen", "x", "y", "pitch", "yaw")


def trace(agent: Agent, *, episodes: int, seed: int, world: dict, max_steps: int = 1000, num_envs: int = 2) -> np.ndarray:
    """(steps, 6) rows of :data:`COLUMNS`, one per step of every episode: whether a screen was
    open in the observation acted on, the cursor there (1280×720 window pixels) and the move."""
    envs = gymnasium.vector.SyncVectorEnv([lambda: gymnasium.make(TASK, max_steps=max_steps, world=world)] * num_envs,
                                          autoreset_mode=gymnasium.vector.AutoresetMode.SAME_STEP)  # fmt: skip
    obs, _ = envs.reset(seed=seed)
    agent.reset(num_envs)
    first = np.ones(num_envs, bool)
    episode, started, active = np.arange(num_envs), num_envs, np.ones(num_envs, bool)
    screen, cursor = np.zeros(num_envs, bool), np.tile([640.0, 360.0], (num_envs, 1))
    rows = []
    while active.any():
        action = complete_batched(agent.get_actions(obs, first=first), num_envs)
        camera = np.asarray(action["camera"], dtype=float).reshape(num_envs, 2)
        rows += [(episode[i], screen[i], *cursor[i], *camera[i]) for i in np.nonzero(active)[0]]
        obs, _, terminated, truncated, info = envs.step(action)
        screen = np.asarray(info.get("gui_open", screen), bool)
        cursor = np.asarray(info.get("cursor", cursor), float).reshape(num_envs, 2)
        for i in np.nonzero((terminated | truncated) & active)[0]:
            if started < episodes:
                episode[i], started = started, started + 1
            else:
                active[i] = False
            screen[i], cursor[i] = False, (640.0, 360.0)  # the new episode's first observation
        first = terminated | truncated
    envs.close()
    return np.array(rows, dtype=float)


def panel_rect(gui_scale: int) -> tuple[float, float, float, float]:
    """The screen panel's window rectangle (left, top, right, bottom; right and bottom outside),
    where :func:`vpt.env.sim.gui.inside_screen` is true."""
    (ox, oy), px = screen_origin(gui_scale), GUI_SCALE * gui_scale
    return ox * px, oy * px, (ox + SCREEN_SIZE[0]) * px, (oy + SCREEN_SIZE[1]) * px


def summarize(rows: np.ndarray, gui_scale: int = 2) -> dict:
    """The numbers the module docstring describes, from :func:`trace`'s rows."""
    episode, screen, x, y, pitch, yaw = rows.T
    screen = screen.astype(bool)
    left, top, right, bottom = panel_rect(gui_scale)
    off = screen & ~((x >= left) & (x < right) & (y >= top) & (y < bottom))
    side = np.where(x < left, "left", np.where(x >= right, "right", np.where(y < top, "top", "bottom")))
    out = {"screen_steps": int(screen.sum()), "off_panel": float(off.sum() / max(1, screen.sum())), "sides": {}}
    for s in ("left", "right", "top", "bottom"):
        m = off & (side == s)
        if m.any():
            out["sides"][s] = {"steps": int(m.sum()), "mean_yaw": float(yaw[m].mean()), "mean_pitch": float(pitch[m].mean()),
                               "at_window_edge": float(np.mean((x[m] <= 0) | (x[m] >= 1279) | (y[m] <= 0) | (y[m] >= 719)))}  # fmt: skip
    visits = []  # (steps, steps off the panel) per stretch of consecutive screen steps of one episode
    for e in np.unique(episode):
        idx = np.nonzero(episode == e)[0]
        s_e, o_e = screen[idx], off[idx]
        starts = np.nonzero(s_e & ~np.r_[False, s_e[:-1]])[0]
        ends = np.nonzero(s_e & ~np.r_[s_e[1:], False])[0] + 1
        visits += [(b - a, int(o_e[a:b].sum())) for a, b in zip(starts, ends)]
    v = np.array(visits or [(0, 0)])
    out["visits"] = {"count": len(visits), "ever_off": float(np.mean(v[:, 1] > 0)),
                     "mostly_off": float(np.mean(v[:, 1] > v[:, 0] / 2))}  # fmt: skip
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("weights")
    ap.add_argument("--episodes", type=int, default=12)
    ap.add_argument("--seed", type=int, default=2000)
    ap.add_argument("--world", type=json.loads, default=WORLD)
    ap.add_argument("--save", help="also write the trace rows (.npy)")
    args = ap.parse_args()
    agent = Agent.load(args.model, args.weights, seed=args.seed)
    rows = trace(agent, episodes=args.episodes, seed=args.seed, world=args.world)
    if args.save:
        np.save(args.save, rows)
    print(json.dumps(summarize(rows, args.world.get("gui_scale", 1)), indent=1))


if __name__ == "__main__":
    main()

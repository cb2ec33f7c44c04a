"""How a policy moves the cursor on a screen it did not choose to open (docs/results §2, session 12).

Each episode opens the inventory on the first step, then lets the policy act (inventory and ESC
presses suppressed, so the screen stays open) and reports where the cursor goes, how often the
policy moves it, and its mean camera move on the screen. Demonstrations move the cursor on about
two thirds of screen frames and keep it between y = 242 and 495 of the 720-pixel window.

    .venv/bin/python scripts/cursor_probe.py MODEL WEIGHTS [--episodes 4] [--steps 150]
"""

from __future__ import annotations

import argparse
import json

import numpy as np

from vpt.actions import noop_env_action
from vpt.agent.agent import Agent
from vpt.env.sim.env import SimEnv
from vpt.pipeline import SCALES

#: the RL and evaluation world of docs/results §2-§3: the easy world with mining 10x faster
WORLD = {**SCALES["small"].world, **SCALES["small"].eval_world}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("weights")
    ap.add_argument("--episodes", type=int, default=4)
    ap.add_argument("--steps", type=int, default=150)
    ap.add_argument("--seed", type=int, default=100)
    ap.add_argument("--world", type=json.loads, default=WORLD)
    args = ap.parse_args()

    agent = Agent.load(args.model, args.weights, seed=0)
    env = SimEnv(resolution=(128, 128), world=args.world)
    moves = []
    for ep in range(args.episodes):
        env.reset(seed=args.seed + ep)
        agent.reset()
        open_inventory = {**noop_env_action(), "inventory": 1}
        obs, _, _, _, info = env.step(open_inventory)
        ys = []
        for _ in range(args.steps):
            action = {k: v[0] for k, v in agent.get_action(obs).items()}
            action["inventory"] = action["ESC"] = 0
            obs, _, _, _, info = env.step(action)
            if info.get("gui"):
                ys.append(float(info["cursor"][1]))
                moves.append(np.asarray(action["camera"], float))
        at = [ys[int(f * (len(ys) - 1))] for f in (0, 0.25, 0.5, 0.75, 1)] if ys else []
        print(f"episode {ep}: cursor y at 0/25/50/75/100% of the screen steps: {np.round(at).tolist()}"
              f"; at the top edge (y < 20) on {np.mean(np.array(ys) < 20):.0%} of them")
    cam = np.array(moves)
    print(f"screen steps: {len(cam)}; cursor moved on {np.mean(np.abs(cam).sum(1) > 0):.1%}; "
          f"mean camera (pitch, yaw) {cam.mean(0).round(2).tolist()} degrees")


if __name__ == "__main__":
    main()

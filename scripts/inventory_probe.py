"""When a policy would open the inventory, by the logs it holds (docs/results §2, session 13).

Teacher-forced on recordings (each episode played from its first frame, memory carried): on the
frames with no screen open, the policy's probability of pressing ``inventory``, grouped by how many
logs the player held (the recording's ``inventory`` field), next to how often the demonstrations
pressed it. A policy that opens the inventory before it has the logs to craft shows up here as a
high probability in the 0 and 1-2 rows.

    .venv/bin/python scripts/inventory_probe.py MODEL RECORDINGS [--weights W] [--table]

``--table`` splits each row by whether a crafting table is held (demonstrations made with the
tech-tree player's ``first_log_table`` open the inventory at the first log only without one).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from vpt import actions
from vpt.agent.bc import load_episodes
from vpt.agent.files import load_policy

BUCKETS = ("0", "1-2", "3+")


def _bucket(logs: int) -> str:
    return BUCKETS[0] if logs == 0 else (BUCKETS[1] if logs < 3 else BUCKETS[2])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model")
    ap.add_argument("recordings")
    ap.add_argument("--weights", default=None)
    ap.add_argument("--table", action="store_true", help="split the rows by crafting table held or not")
    args = ap.parse_args()
    buckets = [f"{b}{t}" for b in BUCKETS for t in ((", no table", ", table") if args.table else ("",))]

    policy = load_policy(args.model, args.weights or Path(args.model).with_suffix(".weights")).eval()
    frames, p_sum, presses = dict.fromkeys(buckets, 0), dict.fromkeys(buckets, 0.0), dict.fromkeys(buckets, 0)
    for ep in load_episodes(args.recordings):
        name, span = ep.name.split("[")
        lo = int(span.split(":")[0])
        lines = [json.loads(line) for line in open(Path(args.recordings) / f"{name}.jsonl")]
        logs = [sum(i["quantity"] for i in line["inventory"] if i["type"] == "oak_log") for line in lines]
        table = [any(i["type"] == "crafting_table" and i["quantity"] for i in line["inventory"]) for line in lines]
        first = torch.zeros(1, len(ep.frames), dtype=torch.bool)
        first[0, 0] = True
        with torch.no_grad():
            out, _ = policy(torch.as_tensor(ep.frames[None]), first, policy.initial_state(1))
        p_inv = out.buttons_logprob[0, :, actions.INVENTORY_INDEX].exp().numpy()
        for t in np.nonzero(~ep.gui)[0]:
            b = _bucket(logs[lo + t]) + ((", table" if table[lo + t] else ", no table") if args.table else "")
            frames[b] += 1
            p_sum[b] += float(p_inv[t])
            presses[b] += int(ep.buttons[t] == actions.INVENTORY_INDEX)
    print("logs held | world frames | policy p(inventory) | demonstrations' press rate")
    for b in buckets:
        n = max(frames[b], 1)
        print(f"{b:>9} | {frames[b]:12d} | {p_sum[b] / n:19.4f} | {presses[b] / n:.4f}")


if __name__ == "__main__":
    main()

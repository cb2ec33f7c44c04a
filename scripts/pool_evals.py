"""Pool `vpt eval` reports of the same policy (e.g. seed 0 and seed 1000 runs) and tabulate
per-item success with its standard error, the share of steps with a screen open and of those
with the cursor off the screen's panel, and the ratio of each policy to a reference with the
ratio's standard error (delta method, the two policies' episodes independent).

    python scripts/pool_evals.py --ref TRUE NAME=DIR[,DIR...] ...

32 episodes leave ±9 points of standard error on a 50% rate: pool ~100 before comparing.
"""

from __future__ import annotations

import argparse
import json
import math

ITEMS = ("log", "planks", "stick", "crafting_table")


def pooled(dirs: list[str]) -> dict:
    items, returns, gui, off = [], [], [], []
    for d in dirs:
        with open(f"{d}/report.json") as f:
            e = json.load(f)["episodes_detail"]
        items += [set(i) for i in e["items"]]
        returns += e["returns"]
        gui += e["gui_fraction"]
        off += e.get("cursor_off_screen", [])  # per episode that opened a screen (reports since session 23)
    n = len(items)
    row = {"episodes": n, "return": sum(returns) / n, "screens": sum(gui) / n if gui else float("nan"),
           "cursor_off": sum(off) / len(off) if off else float("nan")}
    for it in ITEMS:
        p = sum(it in s for s in items) / n
        row[it] = (p, math.sqrt(p * (1 - p) / n))
    return row


def ratio(a: tuple[float, float], b: tuple[float, float]) -> str:
    """``a / b`` of two success rates given as (rate, standard error), with the ratio's standard
    error to first order: r * sqrt((se_a / a)^2 + (se_b / b)^2); "–" where ``b`` is 0."""
    (p, se_p), (q, se_q) = a, b
    if not q:
        return "–"
    r = p / q
    return f"{r:.2f} ± {r * math.sqrt((se_p / p) ** 2 + (se_q / q) ** 2):.2f}" if p else f"{r:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("policies", nargs="+", help="NAME=DIR[,DIR...]")
    ap.add_argument("--ref", help="the NAME the ratios are taken against")
    a = ap.parse_args()
    rows = {spec.split("=", 1)[0]: pooled(spec.split("=", 1)[1].split(",")) for spec in a.policies}
    print("| policy | episodes | mean return | screens open | cursor off the panel | " + " | ".join(ITEMS) + " |")
    print("| --- " * (5 + len(ITEMS)) + "|")
    for name, r in rows.items():
        cells = [f"{100 * r[it][0]:.1f}% ± {100 * r[it][1]:.1f}" for it in ITEMS]
        print(f"| {name} | {r['episodes']} | {r['return']:.3f} | {100 * r['screens']:.0f}% | {100 * r['cursor_off']:.0f}% | "
              + " | ".join(cells) + " |")
    if a.ref:
        ref = rows[a.ref]
        for name, r in rows.items():
            if name != a.ref:
                ratios = [ratio(r[it], ref[it]) for it in ITEMS]
                print(f"{name} / {a.ref}: " + ", ".join(f"{it} {x}" for it, x in zip(ITEMS, ratios)))


if __name__ == "__main__":
    main()

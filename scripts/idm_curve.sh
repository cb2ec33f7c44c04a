#!/usr/bin/env bash
# docs/results/README.md §1, item 6 (issue 7): IDM accuracy against hours of training data at
# 3,000 steps per point with mirror augmentation, then where the best IDM's keypress misses come from.
#   bash scripts/idm_curve.sh [OUT]        (default OUT: runs/idm_curve)
# Every command resumes where it stopped when rerun. On a 2-core AMX machine (bf16 native) the data
# takes ~25 min and the four runs ~105 min (two at a time, one core each); without AMX,
# `--precision auto` trains in fp32, about 2.5x slower.
set -euo pipefail
OUT=${1:-runs/idm_curve}
VPT=${VPT:-.venv/bin/vpt}
# The RL world (results §3): the pipeline's easy world with mining 10x faster.
WORLD='{"size": [48, 48], "height": 40, "tree_density": 0.05, "caves": 0.5, "break_speed": 10}'
GEN=(--player tech-tree --max-steps 1000 --world "$WORLD" --workers 2)

# 120 recordings. The folder is read sorted, so the 80 of a-seed1000 come first: the smaller
# budgets train on them, and the last 14 of b-seed0 are the held-out recordings of every run.
$VPT data generate "${GEN[@]}" --episodes 80 --seed 1000 --out "$OUT/data/a-seed1000"
$VPT data generate "${GEN[@]}" --episodes 40 --seed 0 --out "$OUT/data/b-seed0"

# Four budgets of 1.47 h of training recordings (0 = all 106); the two commands are independent.
CURVE=(--data "$OUT/data" --out "$OUT/curve" --preset tiny --steps 3000 --batch-size 2 --window 32 --lr 1e-3
       --precision auto --val-recordings 14 --mirror-prob 0.5)
OMP_NUM_THREADS=1 $VPT idm curve "${CURVE[@]}" --hours 0,0.18 &
OMP_NUM_THREADS=1 $VPT idm curve "${CURVE[@]}" --hours 0.74,0.37
wait
$VPT idm curve "${CURVE[@]}" --hours 0,0.18,0.37,0.74  # all finished: only writes curve.md/.png

# Which buttons the all-data IDM gets wrong on the held-out recordings.
M="$OUT/curve/hours_0/idm"
$VPT idm eval --data "$OUT/data" --last 14 --model "$M.model" --weights "$M.weights" --window 32 --out "$OUT/curve/hours_0/eval.json"

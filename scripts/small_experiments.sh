#!/usr/bin/env bash
# The hour-scale experiments of docs/results/README.md, on the embedded simulator, on CPU.
#   bash scripts/small_experiments.sh [OUT]        (default OUT: runs/small)
# Every command resumes where it stopped when rerun. On a 2-core machine the whole script takes
# about two and a half hours; the steps marked "independent" may run side by side (one core each).
set -euo pipefail
OUT=${1:-runs/small}
VPT=${VPT:-.venv/bin/vpt}
WORLD='{"size": [48, 48], "height": 40, "tree_density": 0.05, "caves": 0.5}'  # the pipeline's easy world
mkdir -p "$OUT"

# 1. Data, with the seeds `vpt pipeline --scale small` uses (contractor 0, house 100000, web 200000).
$VPT data generate --player tech-tree --episodes 40 --max-steps 1000 --seed 0 --world "$WORLD" --workers 2 --out "$OUT/data/contractor"
$VPT data generate --player house --episodes 8 --max-steps 2400 --seed 100000 --world "$WORLD" --workers 2 --out "$OUT/data/house"
$VPT data generate --player tech-tree --web --episodes 20 --max-steps 1000 --seed 200000 --world "$WORLD" --workers 2 --out "$OUT/data/web"

# 2. IDM accuracy against hours of training data (issue 7). The last 14 recordings are held out.
#    The two commands are independent; hours 0 (all 26 training recordings) is the pipeline's IDM.
CURVE=(--data "$OUT/data/contractor" --out "$OUT/idm_curve" --preset tiny --steps 1500 --batch-size 2 --window 32 --lr 1e-3 --val-recordings 14)
OMP_NUM_THREADS=1 $VPT idm curve "${CURVE[@]}" --hours 0,0.025 &
OMP_NUM_THREADS=1 $VPT idm curve "${CURVE[@]}" --hours 0.135,0.065
wait
$VPT idm curve "${CURVE[@]}" --hours 0,0.025,0.065,0.135  # all finished: only writes curve.md/.png

# 3. The pipeline (issue 8) on that data and IDM: filter, BC on true and on IDM labels of the
#    held-out recordings, foundation BC on the IDM-labelled web videos, house fine-tune, evaluation.
$VPT pipeline --scale small --out "$OUT/pipeline" --contractor "$OUT/data/contractor" --web "$OUT/data/web" \
    --house "$OUT/data/house" --idm "$OUT/idm_curve/hours_0/idm.model"

# 4. RL (issue 9) at equal environment steps, from the pipeline's prior (bc_true).
bash "$(dirname "$0")/rl_compare.sh" "$OUT/pipeline/bc_true/policy" "$OUT/rl"

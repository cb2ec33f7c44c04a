#!/usr/bin/env bash
# docs/results/README.md §1 (issue 7): IDM accuracy against hours of training data, each point
# trained on both cores of a 2-core CPU (torchrun, 2 processes) for 4,000 steps (~50 min with
# bf16 on an AMX CPU), then where the all-data IDM's keypress misses come from.
#   bash scripts/idm_curve.sh [OUT]        (default OUT: runs/idm_curve)
#   KIND=g2 bash scripts/idm_curve.sh OUT  (models/idm_g2's data: gui_scale 2 demonstrations)
#   KIND=g2x bash scripts/idm_curve.sh OUT (the same, 3.2x the recordings: the curve's upper points)
#   LABELLER=1 ONLY_LABELLER=1 KIND=g2x bash scripts/idm_curve.sh OUT (models/idm_g2 trained on all of it)
# Every command resumes where it stopped when rerun; finished points are not trained again.
# On a 2-core AMX machine the data takes ~22 min (g2x: 24 min more) and each point ~50 min plus
# ~5 min of loading (decoding into OUT/frames the first time, mapping it afterwards).
# Without AMX, `--precision auto` trains in fp32, about 2.5x slower. STEPS and HOURS override
# the steps per point and the budgets, PRESET the IDM's size (tiny; small costs about the same
# per frame in bf16: README performance table).
set -euo pipefail
OUT=${1:-runs/idm_curve}
VPT=${VPT:-.venv/bin/vpt}
TORCHRUN=${TORCHRUN:-.venv/bin/torchrun}
KIND=${KIND:-g1}
# The RL world (results §3): the pipeline's easy world with mining 10x faster.
WORLD='{"size": [48, 48], "height": 40, "tree_density": 0.05, "caves": 0.5, "break_speed": 10}'
# g2 and g2x: models/idm_g2's data, the BC priors' demonstrations in kind (gui_scale 2, first_crafts).
G2_WORLD='{"size": [48, 48], "height": 40, "tree_density": 0.05, "caves": 0.5, "break_speed": 10, "gui_scale": 2}'
G2_GEN=(--player tech-tree --max-steps 600 --world "$G2_WORLD" --workers 2
        --player-options '{"first_crafts": ["oak_planks", "stick"], "peek_prob": 0, "peek_rate": 0.005}')
case $KIND in
  g1)  # the default tech-tree player at gui_scale 1, 1,000-step episodes
    HOURS=${HOURS:-0 0.37 0.74 0.18}  # 0 = all 106 training recordings (1.47 h)
    VAL=14
    GEN=(--player tech-tree --max-steps 1000 --world "$WORLD" --workers 2)
    # 120 recordings. The folder is read sorted, so the 80 of a-seed1000 come first: the smaller
    # budgets train on them, and the last 14 of b-seed0 are the held-out recordings of every run.
    $VPT data generate "${GEN[@]}" --episodes 80 --seed 1000 --out "$OUT/data/a-seed1000"
    $VPT data generate "${GEN[@]}" --episodes 40 --seed 0 --out "$OUT/data/b-seed0"
    ;;
  g2)  # models/idm_g2's data (above)
    HOURS=${HOURS:-0 0.66 0.33 0.17}  # 0 = all 160 training recordings (1.32 h)
    VAL=16
    GEN=("${G2_GEN[@]}")
    $VPT data generate "${GEN[@]}" --episodes 176 --seed 5000 --out "$OUT/data"
    ;;
  g2x)  # g2's data with 352 more episodes (seed 6000) before it: 4.2 h, the same 16 held out
    HOURS=${HOURS:-4.22 2.64}  # 4.22: all but the last ~2 of the 512 training recordings (4.24 h)
    ALL=4.22
    VAL=16
    GEN=("${G2_GEN[@]}")
    # The folder is read sorted: a-seed6000 first (the budgets train on it first), then g2's 176,
    # whose last 16 are every run's held-out recordings. g2's files are linked in when present
    # (KIND=g2 on the same OUT), otherwise generated again (identical: the same seeds).
    [ -d "$OUT/data" ] && [ ! -e "$OUT/data_x/b-seed5000" ] && mkdir -p "$OUT/data_x" && cp -al "$OUT/data" "$OUT/data_x/b-seed5000"
    $VPT data generate "${GEN[@]}" --episodes 176 --seed 5000 --out "$OUT/data_x/b-seed5000"
    $VPT data generate "${GEN[@]}" --episodes 352 --seed 6000 --out "$OUT/data_x/a-seed6000"
    ;;
  *) echo "unknown KIND $KIND (g1, g2 or g2x)" >&2; exit 2 ;;
esac
DATA=$OUT/data
[ "$KIND" = g2x ] && DATA=$OUT/data_x
ALL=${ALL:-0}  # the budget that trains on every recording: its IDM is scored per button below

# One run per budget, identical in everything else: 2 processes x 2 windows x 32 frames per step.
# The decoded recordings are kept in OUT/frames (--frame-cache): both processes of a run, and every
# later run, map one copy (g2x's 4.2 h are 15 GB of frames: twice that would not fit in 24 GB).
RUN=(--data "$DATA" --preset "${PRESET:-tiny}" --steps "${STEPS:-4000}" --batch-size 2 --window 32 --lr 1e-3 --precision auto
     --val-recordings $VAL --mirror-prob 0.5 --frame-cache "$OUT/frames")
[ "${ONLY_LABELLER:-0}" = 1 ] && HOURS=""
for H in $HOURS; do
  OMP_NUM_THREADS=1 $TORCHRUN --standalone --nproc_per_node 2 "$VPT" idm train "${RUN[@]}" --eval-every 1000 \
    --max-hours "$H" --out "$OUT/curve/hours_$H"
done
if [ -n "$HOURS" ]; then
  # Tabulate the finished points (curve.md, curve.json, curve.png); trains nothing more.
  $VPT idm curve "${RUN[@]}" --out "$OUT/curve" --hours "$(echo $HOURS | tr ' ' ',')"
  # Which buttons the all-data IDM gets wrong on the held-out recordings.
  M="$OUT/curve/hours_$ALL/idm"
  $VPT idm eval --data "$DATA" --last $VAL --model "$M.model" --weights "$M.weights" --window 32 \
    --out "$OUT/curve/hours_$ALL/eval.json"
fi

# g2x with LABELLER=1 (after the curve; ONLY_LABELLER=1 skips the curve): the labeller,
# models/idm_g2 (1.32 h, 9,000 steps) trained on for LABELLER_STEPS more on all of g2x's training
# recordings (3.2x the data), scored as issue 8's labels are made (--mirror --camera mean).
if [ "$KIND" = g2x ] && [ "${LABELLER:-0}" = 1 ]; then
  L="$OUT/labeller"
  OMP_NUM_THREADS=1 $TORCHRUN --standalone --nproc_per_node 2 "$VPT" idm train --data "$DATA" \
    --init-model models/idm_g2.model --init-weights models/idm_g2.weights --steps "${LABELLER_STEPS:-5000}" \
    --batch-size 2 --window 32 --lr 5e-4 --precision auto --val-recordings $VAL --mirror-prob 0.5 \
    --frame-cache "$OUT/frames" --eval-every 1000 --out "$L"
  $VPT idm eval --data "$DATA" --last $VAL --model "$L/idm.model" --weights "$L/idm.weights" --window 32 \
    --mirror --camera mean --out "$L/eval_mirror_mean.json"
fi

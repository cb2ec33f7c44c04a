#!/usr/bin/env bash
# docs/results/README.md §2 (issue 8's must-show): the same BC recipe on the same videos, trained
# once on their true labels and once on an IDM's pseudo-labels, evaluated in the same world.
#   bash scripts/idm_vs_true.sh OUT                        (IDM: models/idm_g2, trained on other recordings)
#   IDM=runs/x/idm/idm TRUE_PRIOR=models/sticks_prior_g2_320 EPISODES=32 bash scripts/idm_vs_true.sh OUT
#   STAGES="data label bc1 bc2" bash scripts/idm_vs_true.sh OUT   (a part: see below)
# The videos and the recipe are `models/sticks_prior_g2_320`'s (models/README.md), which is the
# true-label side: 320 scripted tech-tree demonstrations (seed 2000) at gui_scale 2; BC from
# scratch 3,000 steps (lr 1e-3) and 1,500 more (lr 5e-4) on the first 160, then 2,400 more on
# all 320 with screen frames weighted 2 (lr 5e-4). TRAIN_TRUE=1 retrains the true side too,
# with this script's exact commands, instead of evaluating TRUE_PRIOR.
# Where the IDM-labelled run needs whether a screen is open (`--gui-weight`), BC sees it in the
# pixels (`vpt.data.screen_open`), as it would in web footage; the true side reads isGuiOpen.
# Every stage resumes where it stopped; a stage whose policy files exist is skipped, so a run
# split over machines or sessions can be continued by copying a finished stage's policy.model
# and policy.weights into OUT/idm_labels/bcN (and the data is regenerated identically from its
# seeds). Times on 2 cores (AVX-512 BF16): data ~50 min, labels ~12 min, bc1-3 ~2 h, eval ~15 min
# per policy.
set -euo pipefail
OUT=${1:?usage: bash scripts/idm_vs_true.sh OUT}
VPT=${VPT:-.venv/bin/vpt}
TORCHRUN=${TORCHRUN:-.venv/bin/torchrun}
IDM=${IDM:-models/idm_g2}
TRUE_PRIOR=${TRUE_PRIOR:-models/sticks_prior_g2_320}
TRAIN_TRUE=${TRAIN_TRUE:-0}
EPISODES=${EPISODES:-32}
STAGES=${STAGES:-data label bc1 bc2 bc3 eval}
WORLD='{"size": [48, 48], "height": 40, "tree_density": 0.05, "caves": 0.5, "break_speed": 10, "gui_scale": 2}'
PLAYER='{"first_crafts": ["oak_planks", "stick"], "peek_prob": 0, "peek_rate": 0.005}'
GEN=(--player tech-tree --max-steps 600 --world "$WORLD" --workers 2 --player-options "$PLAYER")
for s in $STAGES; do
  case $s in data | label | bc1 | bc2 | bc3 | eval) ;; *) echo "unknown stage $s (data label bc1 bc2 bc3 eval)" >&2; exit 2 ;; esac
done
want() { [[ " $STAGES " == *" $1 "* ]]; }

if want data; then
  # The demonstrations: the first 160 are sticks_prior_g2's, all 320 sticks_prior_g2_320's.
  $VPT data generate "${GEN[@]}" --episodes 320 --seed 2000 --out "$OUT/data"
  $VPT data generate "${GEN[@]}" --episodes 16 --seed 9000 --out "$OUT/val"
fi

if want label; then
  # Two folders, so that the first two stages can train on the first 160 videos alone.
  videos=("$OUT"/data/*.mp4)
  [ ${#videos[@]} -eq 320 ] || { echo "expected 320 videos in $OUT/data, found ${#videos[@]}" >&2; exit 1; }
  $VPT idm label "${videos[@]:0:160}" --model "$IDM.model" --weights "$IDM.weights" --out "$OUT/labels/a"
  $VPT idm label "${videos[@]:160}" --model "$IDM.model" --weights "$IDM.weights" --out "$OUT/labels/b"
fi

# bc RUN STAGE: one stage of the recipe on RUN's data (labels or true recordings).
bc() {
  local run=$1 stage=$2 first=$3 all=$4 init=() args
  case $stage in
    bc1) args=(--data "$first" --preset tiny --steps 3000 --lr 1e-3 --eval-every 500) ;;
    bc2) args=(--data "$first" --steps 1500 --lr 5e-4 --eval-every 500) ;;
    bc3) args=(--data "$all" --steps 2400 --lr 5e-4 --gui-weight 2 --eval-every 400) ;;
  esac
  case $stage in
    bc2) init=(--init-model "$run/bc1/policy.model" --init-weights "$run/bc1/policy.weights") ;;
    bc3) init=(--init-model "$run/bc2/policy.model" --init-weights "$run/bc2/policy.weights") ;;
  esac
  [ -f "$run/$stage/policy.weights" ] && return 0
  OMP_NUM_THREADS=1 $TORCHRUN --standalone --nproc_per_node 2 "$VPT" bc train "${args[@]}" "${init[@]}" \
    --batch-size 4 --chunk 32 --precision auto --val-data "$OUT/val" --out "$run/$stage"
}
RUNS=("$OUT/idm_labels:$OUT/labels/a:$OUT/labels")
if [ "$TRAIN_TRUE" = 1 ]; then
  # True labels: the recordings of the first 160 videos, linked into a folder of their own.
  mkdir -p "$OUT/data_a"
  for v in $(ls "$OUT"/data/*.mp4 | head -160); do
    for f in "$v" "${v%.mp4}.jsonl"; do ln -sf "$(realpath "$f")" "$OUT/data_a/"; done
  done
  RUNS+=("$OUT/true_labels:$OUT/data_a:$OUT/data")
fi
for stage in bc1 bc2 bc3; do
  want $stage || continue
  for r in "${RUNS[@]}"; do
    IFS=: read -r run first all <<< "$r"
    bc "$run" $stage "$first" "$all"
  done
done

if want eval; then
  # Both policies in the RL world at gui_scale 2, the same seeds.
  EVAL=(--task vpt/ObtainDiamondPickaxe-v0 --episodes "$EPISODES" --num-envs 2 --max-steps 1000 --world "$WORLD" --videos 2)
  true_policy=$TRUE_PRIOR
  [ "$TRAIN_TRUE" = 1 ] && true_policy=$OUT/true_labels/bc3/policy
  $VPT eval --model "$OUT/idm_labels/bc3/policy.model" --weights "$OUT/idm_labels/bc3/policy.weights" "${EVAL[@]}" --out "$OUT/eval/idm_labels"
  $VPT eval --model "$true_policy.model" --weights "$true_policy.weights" "${EVAL[@]}" --out "$OUT/eval/true_labels"
fi

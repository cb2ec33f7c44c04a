#!/usr/bin/env bash
# docs/results/README.md §2, "A prior that crafts" (issues 8 and 9): BC on scripted tech-tree
# episodes recorded in the RL world, trained on both cores of a 2-core CPU for about an hour, then
# evaluated in that world.
#   bash scripts/bc_prior.sh [OUT]        (default OUT: runs/bc_prior)
#   GUI_SCALE=2 bash scripts/bc_prior.sh OUT   (hotbar and screens twice as large: world option gui_scale)
#   PLAYER_OPTIONS='{"first_log_table": true, "peek_prob": 0}' INIT=runs/x/bc/policy STEPS=1500 LR=5e-4 \
#     bash scripts/bc_prior.sh OUT   (other demonstrations; fine-tune INIT.model/.weights instead of from scratch)
# Every command resumes where it stopped when rerun. On a 2-core AMX machine: data 16-22 min,
# loading ~6 min, training ~55 min (3,000 steps; STEPS= to change), evaluation ~5 min.
set -euo pipefail
OUT=${1:-runs/bc_prior}
VPT=${VPT:-.venv/bin/vpt}
TORCHRUN=${TORCHRUN:-.venv/bin/torchrun}
STEPS=${STEPS:-3000}
GUI_SCALE=${GUI_SCALE:-1}
PLAYER_OPTIONS=${PLAYER_OPTIONS:-"{}"}
LR=${LR:-1e-3}
INIT_ARGS=()
if [ -n "${INIT:-}" ]; then INIT_ARGS=(--init-model "$INIT.model" --init-weights "$INIT.weights"); fi
# The RL world (results §3): the pipeline's easy world with mining 10x faster.
WORLD='{"size": [48, 48], "height": 40, "tree_density": 0.05, "caves": 0.5, "break_speed": 10, "gui_scale": '$GUI_SCALE'}'

# 160 episodes of 600 steps: the early tech tree (3-6 logs, planks, sticks, table, wooden pickaxe
# by step ~490), with little of the dig-down stage that follows it.
$VPT data generate --player tech-tree --max-steps 600 --world "$WORLD" --workers 2 --episodes 160 --seed 2000 \
  --player-options "$PLAYER_OPTIONS" --out "$OUT/data"
# 16 held-out episodes (another seed), scored during training (val/* in metrics.jsonl).
$VPT data generate --player tech-tree --max-steps 600 --world "$WORLD" --workers 2 --episodes 16 --seed 9000 \
  --player-options "$PLAYER_OPTIONS" --out "$OUT/val"

# 2 processes x 4 streams x 32 frames per step; 3,000 steps are 8 epochs.
OMP_NUM_THREADS=1 $TORCHRUN --standalone --nproc_per_node 2 "$VPT" bc train --data "$OUT/data" --preset tiny "${INIT_ARGS[@]}" \
  --steps "$STEPS" --batch-size 4 --chunk 32 --lr "$LR" --precision auto \
  --val-data "$OUT/val" --eval-every 500 --out "$OUT/bc"

$VPT eval --model "$OUT/bc/policy.model" --weights "$OUT/bc/policy.weights" --task vpt/ObtainDiamondPickaxe-v0 \
  --episodes 16 --num-envs 2 --max-steps 1000 --world "$WORLD" --videos 2 --out "$OUT/eval"

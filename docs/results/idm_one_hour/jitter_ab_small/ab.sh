#!/bin/bash
# Augmentation A/B at a small scale (sessions 34-35, AVX2 CPU, fp32): 40 training recordings
# (0.33 h) of g2's kind, the last 16 held out; tiny IDM, 1 process of 2 windows x 32 frames a
# arm, two arms side by side (one core each), 3,000 steps, lr 1e-3 cosine, mirror 0.5.
# Session 34 (default): arm A plain, arm B with --color-jitter 0.3. Session 35 (SHIFT_ARMS=1):
# arm C with --shift 4, arm D with --shift 4 --color-jitter 0.3 (on the same data, so they
# compare with A and B). Then each arm scored with --mirror --camera mean on the held-out
# recordings and on the first 16 training recordings. ~6 min of data and ~50 min of training on
# 2 cores.
#   bash docs/results/idm_one_hour/jitter_ab_small/ab.sh OUT     (from the repository root)
set -euo pipefail
D=${1:?usage: ab.sh OUT}
VPT=${VPT:-.venv/bin/vpt}
G2_WORLD='{"size": [48, 48], "height": 40, "tree_density": 0.05, "caves": 0.5, "break_speed": 10, "gui_scale": 2}'
[ -f "$D/data/manifest.json" ] && [ "$(ls "$D"/data/*.mp4 2>/dev/null | wc -l)" -ge 56 ] ||
  $VPT data generate --player tech-tree --max-steps 600 --world "$G2_WORLD" --workers 2 \
    --player-options '{"first_crafts": ["oak_planks", "stick"], "peek_prob": 0, "peek_rate": 0.005}' \
    --episodes 56 --seed 5000 --out "$D/data"
COMMON=(--data "$D/data" --preset tiny --batch-size 2 --window 32 --precision auto --val-recordings 16
        --mirror-prob 0.5 --steps "${STEPS:-3000}" --lr 1e-3 --eval-every 1000 --seed 0)
arm() {  # arm NAME [OPTIONS...]: one training run on one core
  OMP_NUM_THREADS=1 $VPT idm train "${COMMON[@]}" "${@:2}" --out "$D/$1" > "$D/$1.log" 2>&1
}
if [ "${SHIFT_ARMS:-0}" = 1 ]; then
  ARMS=(C D)
  arm C --shift 4 &
  arm D --shift 4 --color-jitter 0.3 &
else
  ARMS=(A B)
  arm A &
  arm B --color-jitter 0.3 &
fi
wait
mkdir -p "$D/train16"
for f in $(ls "$D"/data/*.mp4 | sort | head -16); do
  ln -sf "$(realpath "$f")" "$D/train16/"
  ln -sf "$(realpath "${f%.mp4}.jsonl")" "$D/train16/"
done
for r in "${ARMS[@]}"; do
  OMP_NUM_THREADS=1 $VPT idm eval --data "$D/data" --last 16 --model "$D/$r/idm.model" --weights "$D/$r/idm.weights" \
    --window 32 --mirror --camera mean --out "$D/$r/eval_mirror_mean.json" > "$D/$r/eval.log" 2>&1 &
  OMP_NUM_THREADS=1 $VPT idm eval --data "$D/train16" --model "$D/$r/idm.model" --weights "$D/$r/idm.weights" \
    --window 32 --mirror --camera mean --out "$D/$r/eval_mirror_mean_train16.json" > "$D/$r/eval_train.log" 2>&1 &
done
wait
echo done
